//! Mutual TLS (RFC 8705) end to end against the stub serving TLS: a
//! client authenticates with a certificate its CA issued
//! (`tls_client_auth`) or a self-signed one it registered
//! (`self_signed_tls_client_auth`), and gets a token bound to it; without
//! the certificate, or with another, it gets nothing; every cognito check
//! holds for such a client; client and stub agree for any client and any
//! self-signed certificate.

mod support;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use proptest::prelude::*;
use sha2::Digest;
use tokenprobe_client::{Flow, FlowConfig, HttpOptions, Transport};
use tokenprobe_conformance::report;
use tokenprobe_conformance::run::{Outcome, Selection, run};
use tokenprobe_protocol::jwt;
use tokenprobe_stub::StubHandle;

/// The thumbprint of a PEM certificate, worked out here: SHA-256 of the
/// DER between the markers, base64url.
fn thumbprint_of(pem: &str) -> String {
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(STANDARD.decode(b64).unwrap()))
}

fn demo_cert(name: &str) -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(root.join("../../crates/stub/demo-keys").join(name)).unwrap()
}

async fn acquire(
    stub: &StubHandle,
    config: &FlowConfig,
) -> Result<tokenprobe_protocol::Grant, String> {
    let mut config = config.clone();
    config.default_base_url(&stub.base_url());
    let identity = config.client_identity().map_err(|e| e.to_string())?;
    let ca = stub.ca_pem().map(str::as_bytes);
    let t = Transport::with(&HttpOptions::default(), ca, identity.as_ref()).unwrap();
    let flow = Flow::new(&config).map_err(|e| e.to_string())?;
    flow.acquire(&t)
        .await
        .map(|a| a.grant)
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn mt_01_each_method_gets_a_token_bound_to_its_certificate() {
    let stub = support::tls_stub(support::fast_config()).await;
    for (flow, cert) in [
        (support::MTLS_FLOW, "client-mtls.pem"),
        (support::SELF_SIGNED_FLOW, "client-self-signed.pem"),
    ] {
        let grant = acquire(&stub, &support::flow(flow)).await.unwrap();
        let token = jwt::decode_unverified(grant.secret.expose()).unwrap();
        let bound = token.claims.cnf.and_then(|c| c.x5t_s256);
        assert_eq!(bound, Some(thumbprint_of(&demo_cert(cert))), "{cert}");
        assert!(grant.warnings.is_empty(), "{:?}", grant.warnings);
    }
}

/// The other method's certificate, or none, authenticates neither
/// client: the CA did not issue the self-signed one, and the CA-issued
/// one is not the one the self-signed client registered.
#[tokio::test]
async fn mt_02_without_its_own_certificate_no_client_gets_a_token() {
    let stub = support::tls_stub(support::fast_config()).await;
    let swapped = |flow: &str, from: &str, to: &str| support::flow(&flow.replace(from, to));
    for config in [
        swapped(support::MTLS_FLOW, "client-mtls", "client-self-signed"),
        swapped(
            support::SELF_SIGNED_FLOW,
            "client-self-signed",
            "client-mtls",
        ),
    ] {
        let e = acquire(&stub, &config).await.unwrap_err();
        assert!(e.contains("invalid_client"), "{e}");
    }
    // And the check, which sends the working request without it.
    let target = support::tls_target_at(
        &stub.base_url(),
        &support::flow(support::MTLS_FLOW),
        stub.ca_pem().unwrap(),
    );
    let selection = Selection {
        only: Some(["MT-02".to_owned()].into()),
        spacing: Duration::ZERO,
        ..Selection::default()
    };
    let r = run(&[target], &selection, |_| {}).await;
    assert_eq!(
        r.verdicts[0].outcome,
        Outcome::Pass,
        "{}",
        report::table(&r)
    );
}

/// Every cognito check passes or skips with its reason for a client that
/// authenticates with its certificate: the secret, assertion and DPoP
/// ones skip; the MT ones pass.
#[tokio::test]
async fn every_cognito_check_holds_for_a_certificate_client() {
    let stub = support::tls_stub(support::fast_config()).await;
    let target = support::tls_target_at(
        &stub.base_url(),
        &support::flow(support::MTLS_FLOW),
        stub.ca_pem().unwrap(),
    );
    let selection = Selection {
        include_negative: true,
        spacing: Duration::ZERO,
        ..Selection::default()
    };
    let r = run(&[target], &selection, |_| {}).await;
    for v in &r.verdicts {
        assert!(
            matches!(v.outcome, Outcome::Pass | Outcome::Skip),
            "{}",
            report::line(v)
        );
        if v.id.starts_with("MT-") {
            assert_eq!(v.outcome, Outcome::Pass, "{}", report::line(v));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    /// Any client the protocol accepts, with a self-signed certificate
    /// made for the case and registered with the stub, gets a token bound
    /// to it.
    #[test]
    fn client_and_stub_agree_on_self_signed_certificates(id in "[a-zA-Z0-9._-]{1,20}", name in "[a-z]{1,12}") {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let key = rcgen::KeyPair::generate().unwrap();
            let cert = rcgen::CertificateParams::new(vec![format!("{name}.example")])
                .unwrap()
                .self_signed(&key)
                .unwrap();
            let dir = std::env::temp_dir().join(format!("tokenprobe-mtls-{}-{name}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let (cert_path, key_path) = (dir.join("c.pem"), dir.join("k.pem"));
            std::fs::write(&cert_path, cert.pem()).unwrap();
            std::fs::write(&key_path, key.serialize_pem()).unwrap();
            let mut config = support::fast_config();
            let mut client = config.cognito.clients[0].clone();
            client.id = id.clone();
            client.secret = None;
            client.tls_certificates = vec![cert.pem()];
            config.cognito.clients = vec![client];
            let stub = support::tls_stub(config).await;
            let flow = support::flow(&format!(
                "system = \"cognito\"\nclient_id = {id:?}\nauth = \"self_signed_tls_client_auth\"\n\
                 certificate = {{ file = {:?} }}\nprivate_key = {{ file = {:?} }}",
                cert_path.display().to_string(),
                key_path.display().to_string()
            ));
            let got = acquire(&stub, &flow).await;
            let _ = std::fs::remove_dir_all(&dir);
            prop_assert!(got.is_ok(), "{:?}", got.as_ref().err());
            let token = jwt::decode_unverified(got.unwrap().secret.expose()).unwrap();
            prop_assert_eq!(token.claims.cnf.and_then(|c| c.x5t_s256), Some(thumbprint_of(&cert.pem())));
            Ok(())
        })?;
    }
}

/// A server that does not bind its tokens to the certificate: MT-01 warns,
/// unless the server's metadata (read through the flow's `issuer`) says it
/// binds them (RFC 8705 §3.3), where it fails, saying so.
#[tokio::test]
async fn mt_01_an_unbound_token_fails_where_the_metadata_promised_binding() {
    let config = tokenprobe_config::stub_config(
        "[jwt]\nalgorithm = \"ES256\"\n[faults.cognito]\nquirks = [\"mtls-unbound\"]\n",
        "unbound.toml",
    )
    .unwrap();
    let stub = support::tls_stub(config).await;
    let ca = stub.ca_pem().unwrap();
    let base = stub.base_url();
    let entry = tokenprobe_conformance::catalog::entry_for("MT-01").unwrap();
    // No issuer: nothing was promised.
    let plain = support::tls_target_at(&base, &support::flow(support::MTLS_FLOW), ca);
    let unpromised = tokenprobe_conformance::run::one(entry, &plain).await;
    assert_eq!(
        unpromised.outcome,
        Outcome::Warn,
        "{}",
        report::line(&unpromised)
    );
    // The issuer's metadata says `tls_client_certificate_bound_access_tokens`.
    let flow = support::flow(&format!("{}\nissuer = \"{base}\"\n", support::MTLS_FLOW));
    let identity = flow.client_identity().unwrap();
    let transport = Transport::with(
        &HttpOptions::default(),
        Some(ca.as_bytes()),
        identity.as_ref(),
    )
    .unwrap();
    let discovered = tokenprobe_conformance::endpoint::Target::discover(&flow, &base, transport)
        .await
        .unwrap();
    let promised = discovered
        .metadata()
        .and_then(|m| m.tls_client_certificate_bound_access_tokens);
    assert_eq!(promised, Some(true));
    let verdict = tokenprobe_conformance::run::one(entry, &discovered).await;
    assert_eq!(verdict.outcome, Outcome::Fail, "{}", report::line(&verdict));
    assert!(verdict.reason.contains("metadata"), "{}", verdict.reason);
    stub.shutdown().await;
}
