//! DPoP (RFC 9449) end to end against the stub: the client proves its key
//! with a fresh proof per request and gets a token bound to it; the stub
//! refuses every proof that breaks a rule, so each DP check passes; with
//! a nonce, one round trip (the `dpop_nonce` step) and then none until
//! the nonce changes; client and stub agree for any client and either
//! algorithm.

mod support;

use std::time::Duration;

use proptest::prelude::*;
use tokenprobe_client::{Account, Flow, FlowConfig, HttpOptions, Step, Transport};
use tokenprobe_conformance::report;
use tokenprobe_conformance::run::{Outcome, Selection, run};
use tokenprobe_protocol::{cognito, jwt};
use tokenprobe_stub::{Config, Stub};

fn transport() -> Transport {
    Transport::new(&HttpOptions::default()).unwrap()
}

fn dpop_flow(extra: &str) -> FlowConfig {
    support::flow(&format!("{}\n{extra}", support::DPOP_FLOW))
}

/// The thumbprint of the flow's DPoP key, by jsonwebtoken (for a P-256
/// key: its OKP thumbprint leaves out the quotes around `crv`).
fn their_thumbprint(account: &Account) -> String {
    let key = account
        .get::<cognito::TokenRequest>()
        .and_then(|r| r.dpop())
        .expect("a DPoP flow");
    let jwk: jsonwebtoken::jwk::Jwk =
        serde_json::from_value(serde_json::to_value(key.signer.jwk()).unwrap()).unwrap();
    jwk.thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256)
}

#[tokio::test]
async fn dp_01_a_dpop_token_is_bound_to_the_proofs_key() {
    let stub = Stub::start(support::fast_config()).await.unwrap();
    let mut config = dpop_flow("");
    config.default_base_url(&stub.base_url());
    let flow = Flow::new(&config).unwrap();
    let got = flow.acquire(&transport()).await.unwrap();
    assert!(
        got.grant.token_type.eq_ignore_ascii_case("dpop"),
        "{}",
        got.grant.token_type
    );
    let token = jwt::decode_unverified(got.grant.secret.expose()).unwrap();
    let jkt = token.claims.cnf.and_then(|c| c.jkt);
    assert_eq!(jkt, Some(their_thumbprint(flow.account())));
}

/// Each DP check passes against the stub, which refuses every broken
/// proof; `quirks.rs` holds that each quirk breaks exactly one of them.
async fn passes(id: &str) {
    let stub = Stub::start(support::fast_config()).await.unwrap();
    let target = support::target_at(&stub.base_url(), &dpop_flow(""));
    let selection = Selection {
        only: Some([id.to_owned()].into()),
        include_negative: true,
        spacing: Duration::ZERO,
        ..Selection::default()
    };
    let r = run(&[target], &selection, |_| {}).await;
    assert_eq!(r.verdicts.len(), 1);
    assert_eq!(
        r.verdicts[0].outcome,
        Outcome::Pass,
        "{}",
        report::table(&r)
    );
}

#[tokio::test]
async fn dp_02_a_replayed_proof_is_refused() {
    passes("DP-02").await;
}

#[tokio::test]
async fn dp_03_a_proof_for_another_url_is_refused() {
    passes("DP-03").await;
}

#[tokio::test]
async fn dp_04_a_proof_for_another_method_is_refused() {
    passes("DP-04").await;
}

#[tokio::test]
async fn dp_05_an_old_proof_is_refused_unless_nonces_date_the_proofs() {
    passes("DP-05").await;
    // With nonces, the nonce dates a proof (RFC 9449 §4.3 item 11), as
    // oidc-provider does: nothing to hold iat to.
    let stub = Stub::start(nonce_config(3600)).await.unwrap();
    let target = support::target_at(&stub.base_url(), &dpop_flow(""));
    let entry = tokenprobe_conformance::catalog::entry_for("DP-05").unwrap();
    let v = tokenprobe_conformance::run::one(entry, &target).await;
    assert_eq!(v.outcome, Outcome::Skip, "{}", report::line(&v));
    assert!(v.reason.contains("nonce"), "{}", v.reason);
}

#[tokio::test]
async fn dp_06_a_bound_clients_request_without_a_proof_is_refused() {
    passes("DP-06").await;
}

#[tokio::test]
async fn dp_07_a_proof_signed_with_none_or_a_mac_is_refused() {
    passes("DP-07").await;
}

fn nonce_config(secs: u64) -> Config {
    let text = format!("[jwt]\nalgorithm = \"ES256\"\n[cognito]\ndpop_nonce_secs = {secs}\n");
    tokenprobe_config::stub_config(&text, "nonce.toml").unwrap()
}

/// A server that asks for a nonce costs the first acquisition one round
/// trip, timed as `dpop_nonce`; the next ones carry the nonce it gave.
#[tokio::test]
async fn a_nonce_costs_one_round_trip_of_its_own_then_none() {
    let stub = Stub::start(nonce_config(3600)).await.unwrap();
    let mut config = dpop_flow("");
    config.default_base_url(&stub.base_url());
    let flow = Flow::new(&config).unwrap();
    let t = transport();
    let steps =
        |a: &tokenprobe_client::Acquired| a.steps.iter().map(|s| s.step).collect::<Vec<_>>();
    let first = flow.acquire(&t).await.unwrap();
    assert_eq!(steps(&first), [Step::DpopNonce, Step::Token]);
    for _ in 0..3 {
        assert_eq!(steps(&flow.acquire(&t).await.unwrap()), [Step::Token]);
    }
    assert_eq!(stub.requests(tokenprobe_stub::Route::Cognito), 5);
}

/// Every cognito check, the DP ones included, passes for a DPoP flow, on
/// a stub that asks for a nonce it renews every second (the checks
/// follow it as the client does); the assertion and certificate checks
/// skip (the client sends its secret); no proof is kept in the evidence.
#[tokio::test]
async fn every_cognito_check_holds_for_a_dpop_flow_with_a_rotating_nonce() {
    let r = support::assertions::cognito_checks(nonce_config(1), dpop_flow).await;
    for v in &r.verdicts {
        // DP-05: a server with nonces may judge a proof's age by them.
        let expected = match v.id.starts_with("PK-") || v.id.starts_with("MT-") || v.id == "DP-05" {
            true => Outcome::Skip,
            false => Outcome::Pass,
        };
        assert_eq!(v.outcome, expected, "{}", report::line(v));
        for e in &v.evidence {
            let text = format!("{e:?}");
            assert!(!text.contains("eyJ"), "{}: {text}", v.id);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Any client the protocol accepts, with either algorithm, gets a token
    /// bound to its key from a stub that knows it as bound.
    #[test]
    fn client_and_stub_agree_on_dpop(id in "[a-zA-Z0-9._-]{1,20}", secret in "[a-zA-Z0-9:+%/ ~._-]{1,20}", eddsa in any::<bool>()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let mut config = support::fast_config();
            let mut client = config.cognito.clients[0].clone();
            client.id = id.clone();
            client.secret = Some(tokenprobe_protocol::Secret::new(secret.clone()));
            client.dpop_bound = true;
            config.cognito.clients = vec![client];
            let stub = Stub::start(config).await.unwrap();
            let alg = if eddsa { "EdDSA" } else { "ES256" };
            let mut flow = support::flow(&format!(
                "system = \"cognito\"\nclient_id = {id:?}\nclient_secret = {{ value = {secret:?} }}\n\
                 dpop = {{ algorithm = \"{alg}\", bound = true }}"
            ));
            flow.default_base_url(&stub.base_url());
            let flow = Flow::new(&flow).unwrap();
            let got = flow.acquire(&transport()).await;
            prop_assert!(got.is_ok(), "{:?}", got.err().map(|e| e.to_string()));
            let grant = got.unwrap().grant;
            let token = jwt::decode_unverified(grant.secret.expose()).unwrap();
            let key = flow.account().get::<cognito::TokenRequest>().and_then(|r| r.dpop()).unwrap();
            prop_assert_eq!(token.claims.cnf.and_then(|c| c.jkt), Some(key.thumbprint()));
            Ok(())
        })?;
    }
}
