//! `private_key_jwt` (RFC 7523) end to end: the client signs a fresh
//! assertion per request with an RS256 or ES256 PKCS#8 key and the stub
//! verifies it; every cognito check holds for such a client, negatives
//! and discovery included; a server that does not verify assertions fails exactly the
//! checks that send bad ones; a wrong key or a key that is not one is a
//! configuration error before anything is sent.

mod support;

use tokenprobe_client::{ErrorKind, Flow, HttpOptions, Transport};
use tokenprobe_conformance::run::{Outcome, Report};
use tokenprobe_stub::{Config, DEMO_KEY_CLIENT_ID, Stub};

const ES256: &str = "../../crates/stub/demo-keys/client-es256.pem";
const RS256: &str = "../../crates/stub/demo-keys/client-rs256.pem";
const ED25519: &str = "../../crates/stub/demo-keys/client-ed25519.pem";

fn key_flow(key: &str, extra: &str) -> tokenprobe_client::FlowConfig {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(key);
    support::flow(&format!(
        "system = \"cognito\"\nclient_id = \"{DEMO_KEY_CLIENT_ID}\"\nauth = \"private_key_jwt\"\n\
         private_key = {{ file = \"{}\" }}\nscopes = [\"tokenprobe/read\"]\n{extra}",
        path.display()
    ))
}

async fn cognito_checks(config: Config, key: &str) -> Report {
    support::assertions::cognito_checks(config, |issuer| key_flow(key, issuer)).await
}

#[tokio::test]
async fn every_cognito_check_holds_for_a_client_with_a_key() {
    for key in [ES256, RS256, ED25519] {
        let r = cognito_checks(support::fast_config(), key).await;
        support::assertions::every_cognito_check_holds(&r, &[]);
    }
}

#[tokio::test]
async fn a_server_that_does_not_verify_assertions_fails_the_checks_that_send_bad_ones() {
    let r = cognito_checks(support::assertions::lax_config(), ES256).await;
    support::assertions::only_the_bad_assertion_checks_fail(&r);
}

#[tokio::test]
async fn each_acquisition_signs_a_fresh_assertion() {
    // A kid in the header: the demo client's PEM keys have none and fit it.
    support::assertions::ten_fresh_assertions(key_flow(ES256, "key_id = \"any-kid\"\n")).await;
}

#[tokio::test]
async fn a_key_the_server_does_not_know_is_invalid_client() {
    let stub = Stub::start(support::fast_config()).await.unwrap();
    let other = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let dir = std::env::temp_dir().join(format!("tokenprobe-pkj-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pem = dir.join("other.pem");
    std::fs::write(&pem, other.serialize_pem()).unwrap();
    let mut config = key_flow(pem.to_str().unwrap(), "");
    config.default_base_url(&stub.base_url());
    let flow = Flow::new(&config).unwrap();
    let transport = Transport::new(&HttpOptions::default()).unwrap();
    let e = flow.acquire(&transport).await.unwrap_err();
    assert_eq!(e.error.code(), Some("invalid_client"), "{e}");
}

#[test]
fn keys_that_do_not_fit_are_configuration_errors() {
    // An RSA key asked to sign ES256.
    let base = "base_url = \"http://127.0.0.1:9\"\n";
    let wrong = key_flow(RS256, &format!("{base}key_algorithm = \"ES256\"\n"));
    let e = Flow::new(&wrong).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.to_string().contains("P-256"), "{e}");
    // A secret beside a key, or a key without private_key_jwt.
    let both = key_flow(
        ES256,
        &format!("{base}client_secret = {{ value = \"s\" }}\n"),
    );
    assert!(Flow::new(&both).is_err());
    let no_key = support::flow(&format!(
        "system = \"cognito\"\nclient_id = \"a\"\nauth = \"private_key_jwt\"\n\
         client_secret = {{ value = \"s\" }}\n{base}"
    ));
    let e = Flow::new(&no_key).unwrap_err();
    assert!(e.to_string().contains("private_key"), "{e}");
}

/// Check `id` for the ES256 key client, on the demo stub and on one that
/// takes any credential: (outcome there, outcome here).
async fn on_both(id: &str) -> (Outcome, Outcome) {
    let entry = tokenprobe_conformance::catalog::entry_for(id).unwrap();
    let lax = support::assertions::lax_config();
    let mut outcomes = Vec::new();
    for config in [support::fast_config(), lax] {
        let stub = Stub::start(config).await.unwrap();
        let target = support::target_at(&stub.base_url(), &key_flow(ES256, ""));
        outcomes.push(
            tokenprobe_conformance::run::one(entry, &target)
                .await
                .outcome,
        );
    }
    (outcomes[0], outcomes[1])
}

#[tokio::test]
async fn pk_01_an_assertion_for_another_audience_is_refused() {
    assert_eq!(on_both("PK-01").await, (Outcome::Pass, Outcome::Fail));
}

#[tokio::test]
async fn pk_02_an_expired_assertion_is_refused() {
    assert_eq!(on_both("PK-02").await, (Outcome::Pass, Outcome::Fail));
}

#[tokio::test]
async fn pk_03_a_replayed_assertion_is_refused_or_warned() {
    assert_eq!(on_both("PK-03").await, (Outcome::Pass, Outcome::Warn));
}

/// The stub takes a client's keys as a JWKS too, choosing the key by the
/// assertion's `kid`: the configured `key_id` that names it gets a token,
/// one that names no key of the client is `invalid_client`.
#[tokio::test]
async fn the_stub_takes_a_jwks_and_chooses_by_kid() {
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let pem =
        std::fs::read_to_string(root.join("../../crates/stub/demo-keys/client-es256.pub.pem"))
            .unwrap();
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let spki = STANDARD.decode(body).unwrap();
    // A P-256 SubjectPublicKeyInfo ends with the point: 0x04 ‖ x ‖ y.
    let point = &spki[spki.len() - 65..];
    let jwks = serde_json::json!({"keys": [{
        "kty": "EC", "crv": "P-256", "kid": "k1", "use": "sig", "alg": "ES256",
        "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
        "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
    }]});
    let config = tokenprobe_config::stub_config(
        &format!(
            "[jwt]\nalgorithm = \"ES256\"\n[[cognito.clients]]\nid = \"jwks-client\"\njwks = '{jwks}'\n"
        ),
        "jwks.toml",
    )
    .unwrap();
    let stub = Stub::start(config).await.unwrap();
    let transport = Transport::new(&HttpOptions::default()).unwrap();
    for (kid, works) in [("k1", true), ("k2", false)] {
        let mut flow = key_flow(ES256, &format!("key_id = \"{kid}\"\n"));
        if let tokenprobe_client::FlowConfig::Cognito(c) = &mut flow {
            c.client_id = "jwks-client".into();
            c.scopes.clear();
        }
        flow.default_base_url(&stub.base_url());
        let result = Flow::new(&flow).unwrap().acquire(&transport).await;
        match works {
            true => assert!(result.is_ok(), "{kid}: {:?}", result.err()),
            false => assert_eq!(
                result.unwrap_err().error.code(),
                Some("invalid_client"),
                "{kid}"
            ),
        }
    }
}

/// A hostile server echoes the client's fresh assertion in its error: the
/// acquisition's error (what reports and logs show) holds no part of it.
#[tokio::test]
async fn an_echoed_assertion_never_reaches_the_error() {
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, Request, ResponseTemplate};
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(|req: &Request| {
            let assertion = form_urlencoded::parse(&req.body)
                .find(|(k, _)| k == "client_assertion")
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
            ResponseTemplate::new(400).set_body_json(serde_json::json!({
                "error": "invalid_client",
                "error_description": format!("rejected {assertion}"),
            }))
        })
        .mount(&server)
        .await;
    let mut config = key_flow(ES256, "");
    config.default_base_url(&server.uri().parse().unwrap());
    let transport = Transport::new(&HttpOptions::default()).unwrap();
    let e = Flow::new(&config)
        .unwrap()
        .acquire(&transport)
        .await
        .unwrap_err();
    let shown = format!("{e} {:?} {}", e.error, e.error.label());
    let sent = &server.received_requests().await.unwrap()[0];
    let body = String::from_utf8_lossy(&sent.body).into_owned();
    let assertion = form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == "client_assertion")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    for part in assertion.split('.') {
        assert!(!shown.contains(part), "{shown}");
    }
    assert!(shown.contains("[redacted]"), "{shown}");
}
