//! `client_secret_jwt` (RFC 7523 §2.2 with OpenID Connect Core §9's HS256)
//! end to end: the client signs a fresh assertion per request with its
//! secret, which never goes on the wire; the stub verifies it with the
//! client's secret; every cognito check holds for such a client; a server
//! that does not verify assertions fails exactly the checks that send bad
//! ones; an HS256 assertion keyed with a public key (the algorithm
//! confusion attack) and a wrong secret are `invalid_client`.

mod support;

use tokenprobe_client::{ErrorKind, Flow, HttpOptions, Transport};
use tokenprobe_conformance::run::Report;
use tokenprobe_stub::{Config, DEMO_ID, DEMO_KEY_CLIENT_ID, DEMO_SECRET, Stub};

fn secret_jwt_flow(client_id: &str, secret: &str, extra: &str) -> tokenprobe_client::FlowConfig {
    support::flow(&format!(
        "system = \"cognito\"\nclient_id = \"{client_id}\"\nauth = \"client_secret_jwt\"\n\
         client_secret = {{ value = {secret:?} }}\nscopes = [\"tokenprobe/read\"]\n{extra}"
    ))
}

async fn cognito_checks(config: Config) -> Report {
    support::assertions::cognito_checks(config, |issuer| {
        secret_jwt_flow(DEMO_ID, DEMO_SECRET, issuer)
    })
    .await
}

#[tokio::test]
async fn every_cognito_check_holds_for_a_client_that_signs_with_its_secret() {
    let r = cognito_checks(support::fast_config()).await;
    support::assertions::every_cognito_check_holds(&r, &[DEMO_SECRET]);
}

#[tokio::test]
async fn a_server_that_does_not_verify_assertions_fails_the_checks_that_send_bad_ones() {
    let r = cognito_checks(support::assertions::lax_config()).await;
    support::assertions::only_the_bad_assertion_checks_fail(&r);
}

async fn acquire(
    config: &tokenprobe_client::FlowConfig,
) -> Result<(), tokenprobe_client::ClientError> {
    let stub = Stub::start(support::fast_config()).await.unwrap();
    let mut config = config.clone();
    config.default_base_url(&stub.base_url());
    let flow = Flow::new(&config).unwrap();
    let transport = Transport::new(&HttpOptions::default()).unwrap();
    flow.acquire(&transport)
        .await
        .map(|_| ())
        .map_err(|e| e.error)
}

#[tokio::test]
async fn each_acquisition_signs_a_fresh_assertion() {
    support::assertions::ten_fresh_assertions(secret_jwt_flow(DEMO_ID, DEMO_SECRET, "")).await;
}

/// A wrong secret, and the key client's public key used as an HMAC secret
/// (an HS256 assertion a server that verifies by the header's `alg` with
/// whatever key it holds would take): both `invalid_client`.
#[tokio::test]
async fn a_wrong_secret_or_a_public_key_as_secret_is_invalid_client() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let public =
        std::fs::read_to_string(root.join("../../crates/stub/demo-keys/client-es256.pub.pem"))
            .unwrap();
    for (client, secret) in [
        (DEMO_ID, "not-the-secret"),
        (DEMO_KEY_CLIENT_ID, public.as_str()),
    ] {
        let e = acquire(&secret_jwt_flow(client, secret, ""))
            .await
            .unwrap_err();
        assert_eq!(e.code(), Some("invalid_client"), "{client}: {e}");
    }
    acquire(&secret_jwt_flow(DEMO_ID, DEMO_SECRET, ""))
        .await
        .unwrap();
}

#[test]
fn what_does_not_fit_the_method_is_a_configuration_error() {
    let base = "base_url = \"http://127.0.0.1:9\"\n";
    let refused = |extra: &str, says: &str| {
        let config = secret_jwt_flow("a", "s", &format!("{base}{extra}"));
        let e = Flow::new(&config).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(e.to_string().contains(says), "{extra}: {e}");
    };
    refused("key_algorithm = \"RS256\"\n", "HS256");
    refused("private_key = { value = \"k\" }\n", "client_secret");
    let no_secret = support::flow(&format!(
        "system = \"cognito\"\nclient_id = \"a\"\nauth = \"client_secret_jwt\"\n{base}"
    ));
    let e = Flow::new(&no_secret).unwrap_err();
    assert!(e.to_string().contains("client_secret"), "{e}");
}
