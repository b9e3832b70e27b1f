//! Every `req` check id: what the client sends, asserted exactly by a
//! wiremock server (method, path, headers, body encoding). Requests that
//! break a contract are refused before sending: the server sees nothing.
//! Flows are configured from TOML, as scenario files will hold them.

#![allow(non_snake_case)]

use base64::Engine;
use serde_json::json;
use tokenprobe_client::{ErrorKind, Flow, FlowConfig, HttpOptions, Transport};
use wiremock::matchers::{body_json, body_string, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const COGNITO_OK: &str =
    r#"{"access_token":"eyJhbGciOiJub25lIn0.e30.","expires_in":3600,"token_type":"Bearer"}"#;
const CESS_OK: &[u8] = include_bytes!("../../../tests/fixtures/cess/token-success.json");
const VEEVA_OK: &[u8] = include_bytes!("../../../tests/fixtures/veeva/session-success.json");
const VCD_OK: &[u8] = include_bytes!("../../../tests/fixtures/vcd/session.xml");
const VENAFI_OK: &str = r#"{"access_token":"abc","expires_in":3600,"token_type":"Bearer","scope":"certificate:manage"}"#;

fn flow(server: &MockServer, toml_body: &str) -> Result<Flow, tokenprobe_client::ClientError> {
    let text = format!("base_url = \"{}\"\n{toml_body}", server.uri());
    let config: FlowConfig = toml::from_str(&text).expect("the flow configuration parses");
    Flow::new(&config)
}

fn transport() -> Transport {
    Transport::new(&HttpOptions::default()).unwrap()
}

fn ok(body: &[u8], media: &str) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_raw(body.to_vec(), media)
        .insert_header("cache-control", "no-store")
}

/// Mounts `mock` expecting exactly one request, runs the flow, and checks.
async fn sends_exactly(server: &MockServer, mock: Mock, config: &str) {
    mock.expect(1).mount(server).await;
    let f = flow(server, config).unwrap();
    let got = f.acquire(&transport()).await;
    assert!(
        got.is_ok(),
        "the mock did not match: {:?}",
        got.err().map(|e| e.to_string())
    );
    server.verify().await;
}

/// The flow is refused before sending and the server saw nothing.
async fn refused(server: &MockServer, config: &str, check: &str) {
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(server)
        .await;
    let e = flow(server, config).expect_err("refused before sending");
    assert_eq!(e.kind(), ErrorKind::Refused, "{e}");
    assert!(e.to_string().contains(check), "{e} names {check}");
    server.verify().await;
}

fn no_header(name: &'static str) -> impl Fn(&Request) -> bool {
    move |r: &Request| !r.headers.contains_key(name)
}

const COGNITO: &str =
    "system = \"cognito\"\nclient_id = \"app\"\nclient_secret = { value = \"s3cret\" }\n";

#[tokio::test]
async fn CG_01_post_form_client_credentials() {
    let s = MockServer::start().await;
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("app:s3cret")
    );
    let m = Mock::given(method("POST"))
        .and(path("/oauth2/token"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(header("authorization", basic.as_str()))
        .and(body_string("grant_type=client_credentials"))
        .respond_with(ok(COGNITO_OK.as_bytes(), "application/json"));
    sends_exactly(&s, m, COGNITO).await;
}

#[tokio::test]
async fn CG_02_body_authentication_puts_id_and_secret_in_the_form_and_no_basic() {
    let s = MockServer::start().await;
    let m = Mock::given(method("POST"))
        .and(path("/oauth2/token"))
        .and(body_string(
            "grant_type=client_credentials&client_id=app&client_secret=s3cret",
        ))
        .and(no_header("authorization"))
        .respond_with(ok(COGNITO_OK.as_bytes(), "application/json"));
    sends_exactly(&s, m, &format!("{COGNITO}auth = \"body\"\n")).await;
}

#[tokio::test]
async fn CG_03_scopes_space_joined_and_left_out_when_empty() {
    let s = MockServer::start().await;
    let m = Mock::given(body_string(
        "grant_type=client_credentials&scope=api%2Fread+api%2Fwrite",
    ))
    .respond_with(ok(COGNITO_OK.as_bytes(), "application/json"));
    sends_exactly(
        &s,
        m,
        &format!("{COGNITO}scopes = [\"api/read\", \"api/write\"]\n"),
    )
    .await;
    let s = MockServer::start().await;
    let m = Mock::given(body_string("grant_type=client_credentials"))
        .respond_with(ok(COGNITO_OK.as_bytes(), "application/json"));
    sends_exactly(&s, m, &format!("{COGNITO}scopes = []\n")).await;
}

#[tokio::test]
async fn RFC_07_basic_form_encodes_id_and_secret() {
    let s = MockServer::start().await;
    // §2.3.1: form-encode each, then join with ':' and base64.
    let encoded = "my%3Aapp%2B1:p%25ss+w%3Ard%C3%A9";
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(encoded)
    );
    let m = Mock::given(header("authorization", basic.as_str()))
        .respond_with(ok(COGNITO_OK.as_bytes(), "application/json"));
    sends_exactly(
        &s,
        m,
        "system = \"cognito\"\nclient_id = \"my:app+1\"\nclient_secret = { value = \"p%ss w:rdé\" }\n",
    )
    .await;
}

const CESS: &str = "system = \"cess\"\nclient_id = \"app\"\nclient_secret = { value = \"s3cret\" }\n\
                    username = \"12345678909\"\notp = { value = \"654321\" }\n";

#[tokio::test]
async fn CE_01_post_json_with_an_integer_lifetime() {
    let s = MockServer::start().await;
    let m = Mock::given(method("POST"))
        .and(path("/oauth"))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "client_id": "app", "client_secret": "s3cret", "username": "12345678909",
            "password": "654321", "grant_type": "password", "lifetime": 3600,
        })))
        .respond_with(ok(CESS_OK, "application/json"));
    sends_exactly(&s, m, &format!("{CESS}lifetime = 3600\n")).await;
}

#[tokio::test]
async fn CE_02_password_grant_and_scope_only_when_configured() {
    let s = MockServer::start().await;
    let m = Mock::given(body_json(json!({
        "client_id": "app", "client_secret": "s3cret", "username": "12345678909",
        "password": "654321", "grant_type": "password",
    })))
    .respond_with(ok(CESS_OK, "application/json"));
    sends_exactly(&s, m, CESS).await;
    let s = MockServer::start().await;
    let m = Mock::given(body_json(json!({
        "client_id": "app", "client_secret": "s3cret", "username": "12345678909",
        "password": "654321", "grant_type": "password", "scope": "signature_session service_2fa",
    })))
    .respond_with(ok(CESS_OK, "application/json"));
    sends_exactly(
        &s,
        m,
        &format!("{CESS}scopes = [\"signature_session\", \"service_2fa\"]\n"),
    )
    .await;
}

#[tokio::test]
async fn CE_03_an_invalid_cpf_is_refused_before_sending() {
    let s = MockServer::start().await;
    refused(&s, &CESS.replace("12345678909", "12345678900"), "CE-03").await;
}

#[tokio::test]
async fn CE_04_a_lifetime_above_the_limit_is_refused_before_sending() {
    let s = MockServer::start().await;
    refused(&s, &format!("{CESS}lifetime = 604801\n"), "CE-04").await;
}

const VENAFI: &str = "system = \"venafi\"\nclient_id = \"app\"\nusername = \"local:admin\"\n\
                      password = { value = \"pw\" }\n";

#[tokio::test]
async fn VE_01_post_json_with_exact_member_names() {
    let s = MockServer::start().await;
    let m = Mock::given(method("POST"))
        .and(path("/vedauth/authorize/oauth"))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "client_id": "app", "username": "local:admin", "password": "pw",
            "scope": "certificate:discover,manage;configuration",
        })))
        .respond_with(ok(VENAFI_OK.as_bytes(), "application/json"));
    sends_exactly(
        &s,
        m,
        &format!("{VENAFI}scope = \"Certificate:Discover,Manage;configuration\"\n"),
    )
    .await;
}

#[tokio::test]
async fn VE_02_a_scope_outside_the_grammar_is_refused_before_sending() {
    for bad in [
        "certificate:",
        "certificate;;ssh",
        "certificate:manage,",
        "gardening",
    ] {
        let s = MockServer::start().await;
        refused(&s, &format!("{VENAFI}scope = \"{bad}\"\n"), "VE-02").await;
    }
}

const VEEVA: &str = "system = \"veeva\"\nprofile_id = \"my profile/1\"\nidp = { token = { value = \"idp-token\" } }\n";

#[tokio::test]
async fn VV_01_post_to_the_profile_as_one_encoded_segment() {
    let s = MockServer::start().await;
    let m = Mock::given(method("POST"))
        .and(|r: &Request| r.url.path() == "/auth/oauth/session/my%20profile%2F1")
        .respond_with(ok(VEEVA_OK, "application/json"));
    sends_exactly(&s, m, VEEVA).await;
}

#[tokio::test]
async fn VV_02_bearer_and_accept_json_and_no_body() {
    let s = MockServer::start().await;
    let m = Mock::given(header("authorization", "Bearer idp-token"))
        .and(header("accept", "application/json"))
        .and(|r: &Request| r.body.is_empty())
        .respond_with(ok(VEEVA_OK, "application/json"));
    sends_exactly(&s, m, VEEVA).await;
}

#[tokio::test]
async fn VV_03_the_tracking_client_id_goes_in_the_query_and_is_validated() {
    let s = MockServer::start().await;
    let m = Mock::given(query_param("client_id", "acme-app_1.0"))
        .respond_with(ok(VEEVA_OK, "application/json"));
    sends_exactly(&s, m, &format!("{VEEVA}client_id = \"acme-app_1.0\"\n")).await;
    let s = MockServer::start().await;
    refused(&s, &format!("{VEEVA}client_id = \"acme app!\"\n"), "VV-03").await;
}

const VCD: &str =
    "system = \"vcd\"\norg = \"Finance\"\nidp = { token = { value = \"idp-token\" } }\n";

#[tokio::test]
async fn VCD_01_post_sessions_with_bearer_org_and_a_versioned_accept() {
    let s = MockServer::start().await;
    let m = Mock::given(method("POST"))
        .and(path("/cloudapi/1.0.0/sessions"))
        .and(header("authorization", "Bearer idp-token; org=Finance"))
        .and(header("accept", "application/*+xml;version=38.0"))
        .respond_with(
            ok(
                VCD_OK,
                "application/vnd.vmware.vcloud.session+xml;version=38.0",
            )
            .insert_header("x-vmware-vcloud-access-token", "vcd-token")
            .insert_header("x-vmware-vcloud-token-type", "Bearer"),
        );
    sends_exactly(&s, m, VCD).await;
    let s = MockServer::start().await;
    let m = Mock::given(path("/cloudapi/1.0.0/sessions/provider"))
        .and(header("accept", "application/json;version=36.0"))
        .respond_with(
            ok(
                br#"{"user":{"name":"admin"},"org":{"name":"System"}}"#,
                "application/json",
            )
            .insert_header("x-vmware-vcloud-access-token", "vcd-token")
            .insert_header("x-vmware-vcloud-token-type", "Bearer"),
        );
    sends_exactly(
        &s,
        m,
        "system = \"vcd\"\norg = \"System\"\nprovider = true\nversion = \"36.0\"\nformat = \"json\"\n\
         idp = { token = { value = \"idp-token\" } }\n",
    )
    .await;
}

#[tokio::test]
async fn VCD_02_an_org_with_separators_is_refused_before_sending() {
    for bad in ["Fin;ance", "a=b", "x,y"] {
        let s = MockServer::start().await;
        refused(&s, &VCD.replace("Finance", bad), "VCD-02").await;
    }
}

#[tokio::test]
async fn two_step_flows_send_the_idp_token_they_got() {
    let s = MockServer::start().await;
    Mock::given(path("/oauth2/token"))
        .respond_with(ok(COGNITO_OK.as_bytes(), "application/json"))
        .expect(1)
        .mount(&s)
        .await;
    Mock::given(path("/auth/oauth/session/p"))
        .and(header("authorization", "Bearer eyJhbGciOiJub25lIn0.e30."))
        .respond_with(ok(VEEVA_OK, "application/json"))
        .expect(1)
        .mount(&s)
        .await;
    let f = flow(
        &s,
        &format!(
            "system = \"veeva\"\nprofile_id = \"p\"\n[idp.cognito]\nbase_url = \"{}\"\nclient_id = \"app\"\n\
             client_secret = {{ value = \"s3cret\" }}\n",
            s.uri()
        ),
    )
    .unwrap();
    let got = f.acquire(&transport()).await.unwrap();
    let steps: Vec<_> = got.steps.iter().map(|s| s.step.name()).collect();
    assert_eq!(steps, ["idp", "session"]);
    s.verify().await;
}

/// A server that echoes the client secret as its error code: the label a
/// report counts it under, the error's text and its Debug never hold it.
#[tokio::test]
async fn an_echoed_secret_never_reaches_the_error_label() {
    let s = MockServer::start().await;
    const SECRET: &str = "Echoed-Secret-9f3k2";
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_raw(
            format!(r#"{{"error":"{SECRET}","error_description":"bad {SECRET}"}}"#),
            "application/json",
        ))
        .mount(&s)
        .await;
    let f = flow(
        &s,
        &format!(
            "system = \"cognito\"\nclient_id = \"app\"\n\
             client_secret = {{ value = \"{SECRET}\" }}\n"
        ),
    )
    .unwrap();
    let e = f.acquire(&transport()).await.unwrap_err();
    let shown = format!("{} {e} {e:?}", e.error.label());
    assert!(!shown.contains(SECRET), "{shown}");
    assert_eq!(e.error.label().to_string(), "provider([redacted])");
}
