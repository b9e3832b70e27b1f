//! Every `resp` check id: a wiremock server answers with the documented
//! response (the vendors' own examples and every documented error case,
//! with real status codes and content types) and the client's typed result
//! is asserted.

#![allow(non_snake_case)]

use tokenprobe_client::{Acquired, ErrorKind, Flow, FlowConfig, FlowError, HttpOptions, Transport};
use tokenprobe_protocol::venafi::VenafiError;
use tokenprobe_protocol::{GrantExtra, GrantKind, ProviderError};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

const CESS_OK: &[u8] = include_bytes!("../../../tests/fixtures/cess/token-success.json");
const VEEVA_OK: &[u8] = include_bytes!("../../../tests/fixtures/veeva/session-success.json");
const VCD_OK: &[u8] = include_bytes!("../../../tests/fixtures/vcd/session.xml");

const COGNITO: &str =
    "system = \"cognito\"\nclient_id = \"app\"\nclient_secret = { value = \"s\" }\n";
const CESS: &str = "system = \"cess\"\nclient_id = \"app\"\nclient_secret = { value = \"s\" }\n\
                    username = \"12345678909\"\notp = { value = \"1\" }\n";
const VENAFI: &str = "system = \"venafi\"\nclient_id = \"app\"\nusername = \"u\"\n\
                      password = { value = \"p\" }\nscope = \"certificate:manage\"\n";
const VEEVA: &str = "system = \"veeva\"\nprofile_id = \"p\"\nidp = { token = { value = \"t\" } }\n";
const VCD: &str = "system = \"vcd\"\norg = \"Finance\"\nidp = { token = { value = \"t\" } }\n";

/// Serves `answer` to the flow configured by `config` and acquires.
async fn against(answer: ResponseTemplate, config: &str) -> Result<Acquired, FlowError> {
    let s = MockServer::start().await;
    Mock::given(any()).respond_with(answer).mount(&s).await;
    let text = format!("base_url = \"{}\"\n{config}", s.uri());
    let config: FlowConfig = toml::from_str(&text).unwrap();
    let flow = Flow::new(&config).unwrap();
    flow.acquire(&Transport::new(&HttpOptions::default()).unwrap())
        .await
}

fn json(status: u16, body: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_raw(body.as_bytes().to_vec(), "application/json;charset=UTF-8")
        .insert_header("cache-control", "no-store")
        .insert_header("pragma", "no-cache")
}

fn warned(a: &Acquired, check: &str) -> bool {
    a.grant.warnings.iter().any(|w| w.check == check)
}

/// A JWT with Cognito's claims for client `app`, unsigned (the client
/// decodes claims; it does not verify).
fn cognito_jwt(lifetime: u64) -> String {
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let claims = format!(
        r#"{{"sub":"app","token_use":"access","scope":"api/read","auth_time":1700000000,"iss":"https://cognito-idp.example","exp":{},"iat":1700000000,"version":2,"jti":"j","client_id":"app"}}"#,
        1_700_000_000 + lifetime
    );
    format!(
        "{}.{}.c2ln",
        b64(r#"{"kid":"k1","alg":"RS256"}"#),
        b64(&claims)
    )
}

fn cognito_ok(lifetime: u64, expires_in: &str) -> String {
    format!(
        r#"{{"access_token":"{}","expires_in":{expires_in},"token_type":"Bearer"}}"#,
        cognito_jwt(lifetime)
    )
}

#[tokio::test]
async fn RFC_01_json_media_types_with_parameters_are_fine_and_others_reported() {
    let a = against(json(200, &cognito_ok(3600, "3600")), COGNITO)
        .await
        .unwrap();
    assert!(!warned(&a, "RFC-01"));
    let plain = ResponseTemplate::new(200)
        .set_body_raw(cognito_ok(3600, "3600").into_bytes(), "text/plain")
        .insert_header("cache-control", "no-store");
    let a = against(plain, COGNITO).await.unwrap();
    assert!(warned(&a, "RFC-01"), "{:?}", a.grant.warnings);
}

#[tokio::test]
async fn RFC_02_missing_no_store_is_reported() {
    let bare = ResponseTemplate::new(200).set_body_raw(CESS_OK.to_vec(), "application/json");
    let a = against(bare, CESS).await.unwrap();
    assert!(warned(&a, "RFC-02"));
    let a = against(json(200, std::str::from_utf8(CESS_OK).unwrap()), CESS)
        .await
        .unwrap();
    assert!(!warned(&a, "RFC-02"), "{:?}", a.grant.warnings);
}

#[tokio::test]
async fn RFC_03_token_type_in_any_case() {
    for t in ["bearer", "BEARER", "Bearer"] {
        let body = cognito_ok(3600, "3600").replace("\"Bearer\"", &format!("\"{t}\""));
        assert!(against(json(200, &body), COGNITO).await.is_ok(), "{t}");
    }
    let mac = cognito_ok(3600, "3600").replace("\"Bearer\"", "\"mac\"");
    let e = against(json(200, &mac), COGNITO).await.unwrap_err();
    assert_eq!(e.error.kind(), ErrorKind::Decode);
}

#[tokio::test]
async fn RFC_04_unknown_members_are_ignored() {
    let body =
        cognito_ok(3600, "3600").replacen('{', r#"{"id_token_hint":"x","nested":{"a":[1]},"#, 1);
    assert!(against(json(200, &body), COGNITO).await.is_ok());
}

#[tokio::test]
async fn RFC_05_error_bodies_keep_code_description_and_unknown_codes() {
    let e = against(
        json(
            400,
            r#"{"error":"slow_down","error_description":"later","error_uri":"https://x"}"#,
        ),
        COGNITO,
    )
    .await
    .unwrap_err();
    assert_eq!(e.error.kind(), ErrorKind::Provider);
    assert_eq!(e.error.code(), Some("slow_down"));
    assert_eq!(e.error.status().map(|s| s.as_u16()), Some(400));
    assert_eq!(e.error.label().to_string(), "provider(slow_down)");
}

#[tokio::test]
async fn RFC_06_expires_in_as_a_digit_string_is_accepted_and_reported() {
    let a = against(json(200, &cognito_ok(3600, "\"3600\"")), COGNITO)
        .await
        .unwrap();
    assert!(warned(&a, "RFC-06"));
    assert_eq!(a.grant.expires_in.map(|d| d.as_secs()), Some(3600));
}

#[tokio::test]
async fn RFC_09_a_token_outside_b64token_is_reported() {
    let body = std::str::from_utf8(CESS_OK)
        .unwrap()
        .replace("41442a8c2bb0609d248cc467342c4f1b0a51c92c", "has space");
    // The VCSchema value then no longer matches; CE-06 refuses it first.
    let e = against(json(200, &body), CESS).await.unwrap_err();
    assert_eq!(e.error.kind(), ErrorKind::Decode);
    let body = cognito_ok(3600, "3600").replace("c2ln", "c2ln\u{e9}");
    let a = against(json(200, &body), COGNITO).await.unwrap();
    assert!(warned(&a, "RFC-09"), "{:?}", a.grant.warnings);
}

#[tokio::test]
async fn CG_04_success_parses_bearer_any_case_and_a_missing_expires_in_is_a_warning() {
    let a = against(json(200, &cognito_ok(3600, "3600")), COGNITO)
        .await
        .unwrap();
    assert_eq!(a.grant.kind, GrantKind::AccessToken);
    assert_eq!(a.grant.expires_in.map(|d| d.as_secs()), Some(3600));
    let body = format!(
        r#"{{"access_token":"{}","token_type":"bearer"}}"#,
        cognito_jwt(3600)
    );
    let a = against(json(200, &body), COGNITO).await.unwrap();
    assert!(
        warned(&a, "RFC-06") && !warned(&a, "CG-04"),
        "RFC-06 judges a missing one"
    );
}

#[tokio::test]
async fn CG_05_jwt_claims_are_checked_against_the_response() {
    let a = against(json(200, &cognito_ok(3600, "3600")), COGNITO)
        .await
        .unwrap();
    assert!(!warned(&a, "CG-05"), "{:?}", a.grant.warnings);
    assert!(matches!(a.grant.extra, GrantExtra::Jwt(_)));
    let a = against(json(200, &cognito_ok(7200, "3600")), COGNITO)
        .await
        .unwrap();
    assert!(warned(&a, "CG-05"), "exp − iat differs from expires_in");
}

#[tokio::test]
async fn CG_06_every_rfc6749_error_maps_with_status_and_description() {
    for (status, code) in [
        (400, "invalid_request"),
        (401, "invalid_client"),
        (400, "invalid_grant"),
        (400, "unauthorized_client"),
        (400, "unsupported_grant_type"),
        (400, "invalid_scope"),
    ] {
        let body = format!(r#"{{"error":"{code}","error_description":"why {code}"}}"#);
        let e = against(json(status, &body), COGNITO).await.unwrap_err();
        assert_eq!(e.error.kind(), ErrorKind::Provider, "{code}");
        assert_eq!(e.error.code(), Some(code));
        assert_eq!(e.error.status().map(|s| s.as_u16()), Some(status));
        assert!(
            e.error.to_string().contains(&format!("why {code}")),
            "{}",
            e.error
        );
    }
    let e = against(
        ResponseTemplate::new(502).set_body_string("<html>bad gateway</html>"),
        COGNITO,
    )
    .await
    .unwrap_err();
    assert_eq!(e.error.label().to_string(), "http_status(502)");
}

#[tokio::test]
async fn CE_05_the_documented_success_parses() {
    let a = against(json(200, std::str::from_utf8(CESS_OK).unwrap()), CESS)
        .await
        .unwrap();
    assert_eq!(a.grant.expires_in.map(|d| d.as_secs()), Some(604_800));
    assert_eq!(
        a.grant.scope.as_deref(),
        Some("signature_session service_2fa")
    );
    assert!(matches!(&a.grant.extra, GrantExtra::Cess { provider, .. } if provider == "SOLUTIHOM"));
}

#[tokio::test]
async fn CE_06_a_vcschema_value_naming_another_token_fails() {
    let body = std::str::from_utf8(CESS_OK)
        .unwrap()
        .replace("U09MVVRJSE9NLXw0", "U09MVVRJSE9NLXw1");
    let e = against(json(200, &body), CESS).await.unwrap_err();
    assert_eq!(e.error.kind(), ErrorKind::Decode);
    assert!(e.error.to_string().contains("CE-06"), "{}", e.error);
}

#[tokio::test]
async fn CE_07_error_bodies_and_error_pages_are_typed_with_their_status() {
    let e = against(
        json(
            401,
            r#"{"error":"invalid_grant","error_description":"OTP"}"#,
        ),
        CESS,
    )
    .await
    .unwrap_err();
    assert_eq!(
        (e.error.kind(), e.error.code()),
        (ErrorKind::Provider, Some("invalid_grant"))
    );
    let page = ResponseTemplate::new(503).set_body_raw(b"<h1>down</h1>".to_vec(), "text/html");
    let e = against(page, CESS).await.unwrap_err();
    assert_eq!(e.error.label().to_string(), "http_status(503)");
}

const VENAFI_OK: &str = r#"{"access_token":"abc","refresh_token":"def","expires_in":3600,"expires":EXP,"token_type":"Bearer","scope":"certificate:manage","identity":"local:{1}","refresh_until":UNTIL}"#;

fn venafi_ok(expires_skew: i64, until_after: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let exp = now + 3600 + expires_skew;
    VENAFI_OK
        .replace("EXP", &exp.to_string())
        .replace("UNTIL", &(exp + until_after).to_string())
}

#[tokio::test]
async fn VE_03_success_parses_and_a_skewed_expires_is_reported() {
    let a = against(json(200, &venafi_ok(0, 86_400)), VENAFI)
        .await
        .unwrap();
    assert!(!warned(&a, "VE-03"), "{:?}", a.grant.warnings);
    assert_eq!(a.grant.scope.as_deref(), Some("certificate:manage"));
    let a = against(json(200, &venafi_ok(600, 86_400)), VENAFI)
        .await
        .unwrap();
    assert!(warned(&a, "VE-03"));
}

#[tokio::test]
async fn VE_04_refresh_until_at_or_after_expires() {
    let a = against(json(200, &venafi_ok(0, 86_400)), VENAFI)
        .await
        .unwrap();
    assert!(a.grant.refresh.is_some());
    assert!(!warned(&a, "VE-04"));
    let a = against(json(200, &venafi_ok(0, -60)), VENAFI)
        .await
        .unwrap();
    assert!(warned(&a, "VE-04"));
}

#[tokio::test]
async fn VE_05_each_documented_message_is_typed_by_its_status() {
    for (status, message, code) in [
        (400, "Application identifier is missing", "invalid_request"),
        (400, "Missing username or password", "invalid_request"),
        (
            400,
            "Username/Password authentication not enabled",
            "unauthorized_client",
        ),
        (
            401,
            "Username/password combination not valid",
            "invalid_grant",
        ),
        (
            401,
            "Failed to issue grant: User is disabled",
            "invalid_grant",
        ),
    ] {
        let body = format!(r#"{{"error":"x","error_description":"{message}"}}"#);
        let e = against(json(status, &body), VENAFI).await.unwrap_err();
        assert_eq!(e.error.kind(), ErrorKind::Provider, "{message}");
        assert_eq!(e.error.code(), Some(code), "{message}");
        assert!(e.error.to_string().contains(message));
        assert!(
            e.error
                .provider_error()
                .and_then(ProviderError::system::<VenafiError>)
                .is_some()
        );
    }
    let text =
        ResponseTemplate::new(401).set_body_string("Username/password combination not valid");
    let e = against(text, VENAFI).await.unwrap_err();
    assert_eq!(e.error.code(), Some("invalid_grant"));
}

#[tokio::test]
async fn VV_04_the_documented_success_parses() {
    let a = against(json(200, std::str::from_utf8(VEEVA_OK).unwrap()), VEEVA)
        .await
        .unwrap();
    assert_eq!(a.grant.kind, GrantKind::VaultSession);
    let GrantExtra::Vault(v) = &a.grant.extra else {
        panic!("{:?}", a.grant.extra)
    };
    assert_eq!(
        (v.user_id, v.vault_id, v.vault_ids.len()),
        (Some(12021), Some(1776), 3)
    );
    assert!(a.grant.warnings.is_empty(), "{:?}", a.grant.warnings);
}

#[tokio::test]
async fn VV_05_a_vault_id_outside_vault_ids_is_a_warning() {
    let body = std::str::from_utf8(VEEVA_OK)
        .unwrap()
        .replace("\"vaultId\": 1776", "\"vaultId\": 9");
    let a = against(json(200, &body), VEEVA).await.unwrap();
    assert!(warned(&a, "VV-05"));
}

#[tokio::test]
async fn VV_06_failure_with_http_200_is_an_error_with_each_type() {
    let body = r#"{"responseStatus":"FAILURE","errors":[{"type":"INVALID_SESSION_ID","message":"Invalid or expired"}],"errorType":"AUTHENTICATION_FAILED"}"#;
    let e = against(json(200, body), VEEVA).await.unwrap_err();
    assert_eq!(e.error.kind(), ErrorKind::Provider);
    assert_eq!(e.error.code(), Some("INVALID_SESSION_ID"));
    let ex =
        r#"{"responseStatus":"EXCEPTION","errors":[{"type":"UNEXPECTED_ERROR","message":"boom"}]}"#;
    let e = against(json(200, ex), VEEVA).await.unwrap_err();
    assert_eq!(e.error.code(), Some("UNEXPECTED_ERROR"));
}

#[tokio::test]
async fn VV_07_failure_without_errors_or_success_without_session_id_is_a_decode_error() {
    for body in [
        r#"{"responseStatus":"FAILURE"}"#,
        r#"{"responseStatus":"SUCCESS","userId":1}"#,
    ] {
        let e = against(json(200, body), VEEVA).await.unwrap_err();
        assert_eq!(e.error.kind(), ErrorKind::Decode, "{body}");
    }
}

#[tokio::test]
async fn VV_08_warning_with_a_session_is_a_grant_that_keeps_its_warnings() {
    let body = std::str::from_utf8(VEEVA_OK)
        .unwrap()
        .replace("\"SUCCESS\"", "\"WARNING\"")
        .replacen(
            '{',
            r#"{"warnings":[{"type":"PASSWORD_EXPIRING","message":"soon"}],"#,
            1,
        );
    let a = against(json(200, &body), VEEVA).await.unwrap();
    assert!(warned(&a, "VV-08"));
}

fn vcd_ok(body: &[u8], media: &str) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_raw(body.to_vec(), media)
        .insert_header("x-vmware-vcloud-access-token", "vcd-token")
        .insert_header("x-vmware-vcloud-token-type", "Bearer")
}

#[tokio::test]
async fn VCD_03_both_token_headers_are_required() {
    let a = against(
        vcd_ok(VCD_OK, "application/vnd.vmware.vcloud.session+xml"),
        VCD,
    )
    .await
    .unwrap();
    assert_eq!(a.grant.authorization().expose(), "Bearer vcd-token");
    let one = ResponseTemplate::new(200)
        .set_body_raw(VCD_OK.to_vec(), "application/vnd.vmware.vcloud.session+xml")
        .insert_header("x-vmware-vcloud-access-token", "vcd-token");
    let e = against(one, VCD).await.unwrap_err();
    assert_eq!(e.error.kind(), ErrorKind::Decode);
    assert!(
        e.error
            .to_string()
            .to_lowercase()
            .contains("x-vmware-vcloud-token-type"),
        "{}",
        e.error
    );
}

#[tokio::test]
async fn VCD_04_the_documented_session_xml_parses() {
    let a = against(
        vcd_ok(VCD_OK, "application/vnd.vmware.vcloud.session+xml"),
        VCD,
    )
    .await
    .unwrap();
    let GrantExtra::Vcd(s) = &a.grant.extra else {
        panic!("{:?}", a.grant.extra)
    };
    assert_eq!(
        (s.user.as_str(), s.org.as_str(), s.links.len()),
        ("bob", "Finance", 4)
    );
    assert!(
        s.user_urn
            .as_deref()
            .is_some_and(|u| u.starts_with("urn:vcloud:user:"))
    );
}

#[tokio::test]
async fn VCD_05_the_json_session_parses_to_the_same_fields() {
    let body = br#"{"id":"urn:vcloud:session:1","user":{"name":"bob","id":"urn:vcloud:user:1"},"org":{"name":"Finance","id":"urn:vcloud:org:1"},"roles":["Organization Administrator"],"location":"site"}"#;
    let json_vcd = VCD.replace("org = \"Finance\"", "org = \"Finance\"\nformat = \"json\"");
    let a = against(vcd_ok(body, "application/json;version=38.0"), &json_vcd)
        .await
        .unwrap();
    let GrantExtra::Vcd(s) = &a.grant.extra else {
        panic!()
    };
    assert_eq!((s.user.as_str(), s.org.as_str()), ("bob", "Finance"));
}

#[tokio::test]
async fn VCD_06_error_documents_are_typed_with_major_and_minor_codes() {
    let xml = br#"<Error xmlns="http://www.vmware.com/vcloud/v1.5" majorErrorCode="401" minorErrorCode="UNAUTHORIZED" message="Bad token"/>"#;
    let e = against(
        ResponseTemplate::new(401)
            .set_body_raw(xml.to_vec(), "application/vnd.vmware.vcloud.error+xml"),
        VCD,
    )
    .await
    .unwrap_err();
    assert_eq!(e.error.kind(), ErrorKind::Provider);
    assert_eq!(e.error.code(), Some("UNAUTHORIZED"));
    let json_err = br#"{"majorErrorCode":403,"minorErrorCode":"ACCESS_TO_RESOURCE_IS_FORBIDDEN","message":"no"}"#;
    let e = against(
        ResponseTemplate::new(403).set_body_raw(json_err.to_vec(), "application/json"),
        VCD,
    )
    .await
    .unwrap_err();
    assert_eq!(e.error.code(), Some("ACCESS_TO_RESOURCE_IS_FORBIDDEN"));
}
