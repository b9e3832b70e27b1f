//! DPoP (RFC 9449) end to end against the stub: the client proves its key
//! with a fresh proof per request and gets a token bound to it; the stub
//! refuses every proof that breaks a rule, so each DP check passes; with
//! a nonce, one round trip (the `dpop_nonce` step) and then none until
//! the nonce changes; client and stub agree for any client and either
//! algorithm.

mod support;

use support::route;

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

/// The RFC 7638 thumbprint of the flow's DPoP key, worked out here from
/// the members RFC 7638 §3.2 names, in its order, not by the crates'.
fn rfc7638(account: &Account) -> String {
    use base64::Engine;
    use sha2::Digest;
    let key = account
        .get::<cognito::TokenRequest>()
        .and_then(|r| r.dpop())
        .expect("a DPoP flow");
    let jwk = serde_json::to_value(key.signer.jwk()).unwrap();
    let m = |name: &str| jwk[name].as_str().unwrap().to_owned();
    let canonical = match m("kty").as_str() {
        "EC" => format!(
            r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
            m("crv"),
            m("x"),
            m("y")
        ),
        "OKP" => format!(r#"{{"crv":"{}","kty":"OKP","x":"{}"}}"#, m("crv"), m("x")),
        other => panic!("a DPoP key here is EC or OKP, not {other}"),
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(canonical))
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
    assert_eq!(jkt, Some(rfc7638(flow.account())));
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
    let dp_05 = |config: Config| async move {
        let stub = Stub::start(config).await.unwrap();
        let target = support::target_at(&stub.base_url(), &dpop_flow(""));
        let entry = tokenprobe_conformance::catalog::entry_for("DP-05").unwrap();
        tokenprobe_conformance::run::one(entry, &target).await
    };
    // A server with nonces that still holds iat to its window: a pass.
    let v = dp_05(nonce_config(3600)).await;
    assert_eq!(v.outcome, Outcome::Pass, "{}", report::line(&v));
    // With nonces, the nonce may date a proof instead (RFC 9449 §4.3 item
    // 11), as oidc-provider does: taking the old proof is no break.
    let lax = "[jwt]\nalgorithm = \"ES256\"\n[cognito]\ndpop_nonce_secs = 3600\n\
               [faults.cognito]\nquirks = [\"dpop-iat-ignored\"]\n";
    let v = dp_05(tokenprobe_config::stub_config(lax, "lax.toml").unwrap()).await;
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
    assert_eq!(stub.requests(route("cognito")), 5);
}

/// The same round trip at a VCD flow's IdP step is timed as `dpop_nonce`
/// too, and the flow names that step among its own, so that a load run
/// keeps a histogram for it (one it does not name is recorded nowhere).
#[tokio::test]
async fn an_idp_steps_nonce_round_trip_is_a_step_of_its_flow() {
    let stub = Stub::start(nonce_config(3600)).await.unwrap();
    let mut config = support::flow(
        "system = \"vcd\"\norg = \"Finance\"\n[flows.idp.cognito]\nclient_id = \"tokenprobe-demo-dpop\"\n\
         client_secret = { value = \"demo-secret\" }\ndpop = { bound = true }\n",
    );
    config.default_base_url(&stub.base_url());
    let flow = Flow::new(&config).unwrap();
    let first = flow.acquire(&transport()).await.unwrap();
    let ran: Vec<Step> = first.steps.iter().map(|s| s.step).collect();
    assert_eq!(ran, [Step::DpopNonce, Step::Idp, Step::Session]);
    for step in &ran {
        assert!(
            flow.steps().contains(step),
            "{step} is not a step of the flow"
        );
    }
}

/// Every cognito check, the DP ones included, passes for a DPoP flow, on
/// a stub that asks for a nonce it renews every second (the checks
/// follow it as the client does); the assertion and certificate checks
/// skip (the client sends its secret); no proof is kept in the evidence.
#[tokio::test]
async fn every_cognito_check_holds_for_a_dpop_flow_with_a_rotating_nonce() {
    let r = support::assertions::cognito_checks(nonce_config(1), dpop_flow).await;
    for v in &r.verdicts {
        let expected = match v.id.starts_with("PK-") || v.id.starts_with("MT-") {
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
            prop_assert_eq!(token.claims.cnf.and_then(|c| c.jkt), Some(rfc7638(flow.account())));
            Ok(())
        })?;
    }
}

/// A client that signs an assertion per request and proves a DPoP key, on
/// a server that asks for a nonce: each request the checks send once more
/// with the nonce carries a fresh assertion too (the first one's jti is
/// spent), so every check holds.
#[tokio::test]
async fn a_key_client_with_dpop_and_nonces_holds_every_check() {
    let key = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../crates/stub/demo-keys/client-es256.pem");
    let flow = |issuer: &str| {
        support::flow(&format!(
            "system = \"cognito\"\nclient_id = \"tokenprobe-demo-key\"\nauth = \"private_key_jwt\"\n\
             private_key = {{ file = \"{}\" }}\nscopes = [\"tokenprobe/read\"]\ndpop = {{ }}\n{issuer}",
            key.display()
        ))
    };
    let r = support::assertions::cognito_checks(nonce_config(3600), flow).await;
    for v in &r.verdicts {
        // RFC-08 is about Basic; the client is not registered as bound; it
        // has no certificate.
        let expected = match v.id {
            "RFC-08" | "DP-06" => Outcome::Skip,
            id if id.starts_with("MT-") => Outcome::Skip,
            _ => Outcome::Pass,
        };
        assert_eq!(v.outcome, expected, "{}", report::line(v));
    }
}
