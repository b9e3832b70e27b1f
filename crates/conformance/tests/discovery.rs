//! Discovery (RFC 8414, OpenID Connect): a flow that names its issuer gets
//! its token endpoint from the metadata, and the DS checks compare what is
//! advertised with what is served, against the stub (which passes) and
//! against servers that break each rule (the stub's quirks, wiremock).

mod support;

use tokenprobe_client::{ErrorKind, HttpOptions, Transport};
use tokenprobe_conformance::catalog::entry_for;
use tokenprobe_conformance::endpoint::Target;
use tokenprobe_conformance::run::{Outcome, one};
use tokenprobe_protocol::BaseUrl;
use tokenprobe_stub::{Config, Stub};
use wiremock::matchers::{header_exists, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn issuer_flow(issuer: &str) -> tokenprobe_client::FlowConfig {
    support::flow(&format!(
        "system = \"cognito\"\nissuer = \"{issuer}\"\nclient_id = \"tokenprobe-demo\"\n\
         client_secret = {{ value = \"demo-secret\" }}\nscopes = [\"tokenprobe/read\"]\n"
    ))
}

async fn target(issuer: &str) -> Result<Target, tokenprobe_client::ClientError> {
    let transport = Transport::new(&HttpOptions::default()).unwrap();
    let base: BaseUrl = "http://127.0.0.1:9".parse().unwrap();
    Target::discover(&issuer_flow(issuer), &base, transport).await
}

async fn outcome(t: &Target, id: &str) -> (Outcome, String) {
    let v = one(entry_for(id).unwrap(), t).await;
    (v.outcome, v.reason)
}

/// OpenID Connect metadata on `server` advertising `methods`, its token
/// endpoint at `/token`.
async fn advertise(server: &MockServer, methods: &[&str]) {
    let issuer = server.uri();
    Mock::given(method("GET"))
        .and(path("/.well-known/openid-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "issuer": issuer,
            "token_endpoint": format!("{issuer}/token"),
            "token_endpoint_auth_methods_supported": methods,
        })))
        .mount(server)
        .await;
}

fn quirked(quirk: &str) -> Config {
    tokenprobe_config::stub_config(
        &format!("[jwt]\nalgorithm = \"ES256\"\n[faults.cognito]\nquirks = [\"{quirk}\"]\n"),
        "q.toml",
    )
    .unwrap()
}

#[tokio::test]
async fn the_stub_is_found_by_its_issuer_and_keeps_what_it_advertises() {
    let stub = Stub::start(support::fast_config()).await.unwrap();
    let issuer = stub.base_url().to_string();
    let t = target(&issuer).await.unwrap();
    // Found by discovery, not by the default base URL (a dead port).
    assert_eq!(t.base, stub.base_url());
    let m = t.metadata().unwrap();
    assert_eq!(m.issuer, issuer);
    for id in ["DS-01", "DS-02", "DS-03", "DS-04"] {
        let (o, reason) = outcome(&t, id).await;
        assert_eq!(o, Outcome::Pass, "{id}: {reason}");
    }
    // Without an issuer they skip, saying why.
    let plain = support::target(&stub, tokenprobe_protocol::System::Cognito);
    let (o, reason) = outcome(&plain, "DS-01").await;
    assert_eq!(o, Outcome::Skip);
    assert!(reason.contains("issuer"), "{reason}");
}

#[tokio::test]
async fn a_document_naming_another_issuer_or_none_is_a_clear_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/.well-known/oauth-authorization-server"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "issuer": "https://impostor.example",
            "token_endpoint": "https://impostor.example/token"
        })))
        .mount(&server)
        .await;
    let e = target(&server.uri()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    let text = e.to_string();
    assert!(
        text.contains("impostor.example") && text.contains("404"),
        "{text}"
    );
    // A dead issuer: every location is named with why it failed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let e = target(&format!("http://127.0.0.1:{port}"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("openid-configuration"), "{e}");
}

#[tokio::test]
async fn ds_01_metadata_not_labelled_json_is_broken() {
    let server = MockServer::start().await;
    let issuer = server.uri();
    let document = serde_json::json!({
        "issuer": issuer,
        "token_endpoint": format!("{issuer}/token"),
    });
    Mock::given(method("GET"))
        .and(path("/.well-known/oauth-authorization-server"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(document.to_string(), "text/plain"))
        .mount(&server)
        .await;
    let t = target(&issuer).await.unwrap();
    assert_eq!(t.base.to_string(), issuer);
    let (o, reason) = outcome(&t, "DS-01").await;
    assert_eq!(o, Outcome::Fail, "{reason}");
    assert!(reason.contains("JSON"), "{reason}");
}

#[tokio::test]
async fn ds_02_an_advertised_method_the_server_refuses_is_broken() {
    // Advertises Basic and body, takes only Basic.
    let server = MockServer::start().await;
    let issuer = server.uri();
    advertise(&server, &["client_secret_basic", "client_secret_post"]).await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .and(header_exists("authorization"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "opaque-token-1", "token_type": "Bearer", "expires_in": 60
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(serde_json::json!({"error": "invalid_client"})),
        )
        .mount(&server)
        .await;
    let t = target(&issuer).await.unwrap();
    let (o, reason) = outcome(&t, "DS-02").await;
    assert_eq!(o, Outcome::Fail, "{reason}");
    assert!(reason.contains("client_secret_post"), "{reason}");
}

#[tokio::test]
async fn ds_03_a_token_the_advertised_keys_do_not_verify_is_broken() {
    let stub = Stub::start(quirked("jwt-unknown-kid")).await.unwrap();
    let t = target(&stub.base_url().to_string()).await.unwrap();
    let (o, reason) = outcome(&t, "DS-03").await;
    assert_eq!(o, Outcome::Fail, "{reason}");
    assert!(reason.contains("not-in-the-jwks"), "{reason}");
}

#[tokio::test]
async fn ds_04_a_grant_not_advertised_but_served_is_broken() {
    let stub = Stub::start(quirked("any-grant-type-accepted"))
        .await
        .unwrap();
    let t = target(&stub.base_url().to_string()).await.unwrap();
    let (o, reason) = outcome(&t, "DS-04").await;
    assert_eq!(o, Outcome::Fail, "{reason}");
    assert!(reason.contains("grant_type=password"), "{reason}");
}

/// oauth2-mock-server advertises only `none` and takes Basic: the method
/// that works but is not advertised is a warning (it was a skip).
#[tokio::test]
async fn ds_02_a_working_method_left_unadvertised_is_a_warning() {
    let server = MockServer::start().await;
    let issuer = server.uri();
    advertise(&server, &["none"]).await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "opaque-token-2", "token_type": "Bearer", "expires_in": 60
        })))
        .mount(&server)
        .await;
    let t = target(&issuer).await.unwrap();
    let (o, reason) = outcome(&t, "DS-02").await;
    assert_eq!(o, Outcome::Warn, "{reason}");
    assert!(
        reason.contains("client_secret_basic") && reason.contains("none"),
        "{reason}"
    );
}

/// A document that would send the client's secret in clear to a machine
/// the user never named is refused before any token request (192.0.2.1 is
/// TEST-NET-1 and is never contacted: the refusal comes first).
#[tokio::test]
async fn metadata_that_sends_credentials_in_clear_elsewhere_is_refused() {
    let server = MockServer::start().await;
    let issuer = server.uri();
    Mock::given(method("GET"))
        .and(path("/.well-known/oauth-authorization-server"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "issuer": issuer,
            "token_endpoint": "http://192.0.2.1/oauth2/token",
        })))
        .mount(&server)
        .await;
    let e = target(&issuer).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.to_string().contains("in clear"), "{e}");
    // Only the metadata was asked for.
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

/// DS-05 against metadata that lists only RS256 (the flow signs ES256),
/// then none at all, then the stub's (which lists ES256).
#[tokio::test]
async fn ds_05_the_flows_dpop_algorithm_must_be_advertised() {
    let dpop_target = |issuer: String| async move {
        let flow = support::flow(&format!(
            "system = \"cognito\"\nissuer = \"{issuer}\"\nclient_id = \"tokenprobe-demo-dpop\"\n\
             client_secret = {{ value = \"demo-secret\" }}\ndpop = {{ algorithm = \"ES256\" }}\n"
        ));
        let transport = Transport::new(&HttpOptions::default()).unwrap();
        let base: BaseUrl = "http://127.0.0.1:9".parse().unwrap();
        Target::discover(&flow, &base, transport).await.unwrap()
    };
    for (algs, expected) in [(Some(vec!["RS256"]), Outcome::Fail), (None, Outcome::Warn)] {
        let server = MockServer::start().await;
        let issuer = server.uri();
        let mut doc = serde_json::json!({
            "issuer": issuer,
            "token_endpoint": format!("{issuer}/token"),
        });
        if let Some(algs) = algs {
            doc["dpop_signing_alg_values_supported"] = serde_json::json!(algs);
        }
        Mock::given(method("GET"))
            .and(path("/.well-known/openid-configuration"))
            .respond_with(ResponseTemplate::new(200).set_body_json(doc))
            .mount(&server)
            .await;
        let (o, reason) = outcome(&dpop_target(issuer).await, "DS-05").await;
        assert_eq!(o, expected, "{reason}");
    }
    let stub = Stub::start(quirked("no-cache-control")).await.unwrap();
    let (o, reason) = outcome(&dpop_target(stub.base_url().to_string()).await, "DS-05").await;
    assert_eq!(o, Outcome::Pass, "{reason}");
}

/// RFC 8705 §5: a client that authenticates with its certificate sends to
/// the `mtls_endpoint_aliases` token endpoint; any other to the token
/// endpoint.
#[tokio::test]
async fn an_mtls_client_sends_to_the_alias_the_metadata_gives() {
    let server = MockServer::start().await;
    let issuer = server.uri();
    Mock::given(method("GET"))
        .and(path("/.well-known/openid-configuration"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "issuer": issuer,
            "token_endpoint": format!("{issuer}/token"),
            "mtls_endpoint_aliases": { "token_endpoint": format!("{issuer}/mtls/token") },
        })))
        .mount(&server)
        .await;
    let transport = Transport::new(&HttpOptions::default()).unwrap();
    for (flow, expected) in [
        (support::MTLS_FLOW, "/mtls/token"),
        (support::DPOP_FLOW, "/token"),
    ] {
        let mut config = support::flow(&format!("{flow}\nissuer = \"{issuer}\""));
        config.discover(&transport).await.unwrap();
        let tokenprobe_client::FlowConfig::Cognito(c) = config else {
            unreachable!("a cognito flow")
        };
        assert_eq!(c.token_path.as_deref(), Some(expected));
    }
}
