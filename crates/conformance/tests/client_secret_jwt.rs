//! `client_secret_jwt` (RFC 7523 §2.2 with OpenID Connect Core §9's HS256)
//! end to end: the client signs a fresh assertion per request with its
//! secret, which never goes on the wire; the stub verifies it with the
//! client's secret; every cognito check holds for such a client; a server
//! that does not verify assertions fails exactly the checks that send bad
//! ones; an HS256 assertion keyed with a public key (the algorithm
//! confusion attack) and a wrong secret are `invalid_client`.

mod support;

use std::time::Duration;

use tokenprobe_client::{ErrorKind, Flow, HttpOptions, Transport};
use tokenprobe_conformance::catalog::{ENTRIES, System};
use tokenprobe_conformance::endpoint::Target;
use tokenprobe_conformance::report;
use tokenprobe_conformance::run::{Outcome, Report, Selection, run};
use tokenprobe_stub::{Config, DEMO_ID, DEMO_KEY_CLIENT_ID, DEMO_SECRET, Stub};

fn secret_jwt_flow(client_id: &str, secret: &str, extra: &str) -> tokenprobe_client::FlowConfig {
    support::flow(&format!(
        "system = \"cognito\"\nclient_id = \"{client_id}\"\nauth = \"client_secret_jwt\"\n\
         client_secret = {{ value = {secret:?} }}\nscopes = [\"tokenprobe/read\"]\n{extra}"
    ))
}

async fn cognito_checks(config: Config) -> Report {
    let stub = Stub::start(config).await.unwrap();
    // Found by its issuer, so that the discovery checks run too.
    let flow = secret_jwt_flow(
        DEMO_ID,
        DEMO_SECRET,
        &format!("issuer = \"{}\"\n", stub.base_url()),
    );
    let transport = Transport::new(&HttpOptions::default()).unwrap();
    let target = Target::discover(&flow, &stub.base_url(), transport)
        .await
        .unwrap();
    let selection = Selection {
        include_negative: true,
        spacing: Duration::ZERO,
        ..Selection::default()
    };
    run(&[target], &selection, |_| {}).await
}

#[tokio::test]
async fn every_cognito_check_holds_for_a_client_that_signs_with_its_secret() {
    let r = cognito_checks(support::fast_config()).await;
    let cognito = ENTRIES
        .iter()
        .filter(|e| e.systems.contains(&System::Cognito))
        .count();
    assert_eq!(r.verdicts.len(), cognito, "{}", report::table(&r));
    for v in &r.verdicts {
        // RFC-08 is about a client that used HTTP Basic.
        let expected = match v.id {
            "RFC-08" => Outcome::Skip,
            _ => Outcome::Pass,
        };
        assert_eq!(v.outcome, expected, "{}", report::line(v));
        for e in &v.evidence {
            let text = format!("{e:?}");
            assert!(
                !text.contains("eyJ") && !text.contains(DEMO_SECRET),
                "{}: {text}",
                v.id
            );
        }
    }
}

#[tokio::test]
async fn a_server_that_does_not_verify_assertions_fails_the_checks_that_send_bad_ones() {
    let config = Config::from_toml(
        "[jwt]\nalgorithm = \"ES256\"\n[faults.cognito]\nquirks = [\"any-password-accepted\"]\n",
        "q.toml",
    )
    .unwrap();
    let r = cognito_checks(config).await;
    let not_passed: Vec<(&str, Outcome)> = r
        .verdicts
        .iter()
        .filter(|v| v.outcome != Outcome::Pass && v.id != "RFC-08")
        .map(|v| (v.id, v.outcome))
        .collect();
    assert_eq!(
        not_passed,
        [
            ("CG-08", Outcome::Fail),
            ("PK-01", Outcome::Fail),
            ("PK-02", Outcome::Fail),
            ("PK-03", Outcome::Warn),
        ],
        "{}",
        report::table(&r)
    );
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

/// The stub refuses a jti it has seen: ten in a row means ten assertions.
#[tokio::test]
async fn each_acquisition_signs_a_fresh_assertion() {
    let stub = Stub::start(support::fast_config()).await.unwrap();
    let mut config = secret_jwt_flow(DEMO_ID, DEMO_SECRET, "");
    config.default_base_url(&stub.base_url());
    let flow = Flow::new(&config).unwrap();
    let transport = Transport::new(&HttpOptions::default()).unwrap();
    for _ in 0..10 {
        flow.acquire(&transport).await.unwrap();
    }
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
