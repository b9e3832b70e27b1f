//! One test per `req` and `resp` check id that the protocol layer decides
//! (the id leads each test's name), and the server-side rejections it owns.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, PRAGMA, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode};
use tokenprobe_protocol::client_auth::ClientAuth;
use tokenprobe_protocol::rfc6749::{ErrorCode, OAuthError};
use tokenprobe_protocol::venafi::{self, VenafiError};
use tokenprobe_protocol::{
    BaseUrl, DecodeError, GrantExtra, ProviderError, Secret, cess, cognito, vcd, veeva,
};

fn base() -> BaseUrl {
    "https://idp.example".parse().unwrap()
}

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    h
}

fn json() -> HeaderMap {
    headers(&[
        ("content-type", "application/json"),
        ("cache-control", "no-store"),
        ("pragma", "no-cache"),
    ])
}

fn warned(grant: &tokenprobe_protocol::Grant, check: &str) -> bool {
    grant.warnings.iter().any(|w| w.check == check)
}

fn jwt(claims: &str) -> String {
    format!(
        "{}.{}.c2ln",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","kid":"k1"}"#),
        URL_SAFE_NO_PAD.encode(claims)
    )
}

fn cognito_req() -> cognito::TokenRequest {
    cognito::TokenRequest::new("client-1", Secret::new("s3cret"), ClientAuth::Basic).unwrap()
}

fn cognito_body(token: &str) -> Vec<u8> {
    format!(r#"{{"access_token":"{token}","expires_in":3600,"token_type":"Bearer"}}"#).into_bytes()
}

fn good_jwt() -> String {
    jwt(
        r#"{"sub":"client-1","token_use":"access","scope":"api/read","exp":1003600,"iat":1000000,"client_id":"client-1"}"#,
    )
}

// ---- Common RFC rules --------------------------------------------------

#[test]
fn rfc_01_json_media_type_with_parameters_is_accepted_and_others_warned() {
    let h = headers(&[
        ("content-type", "application/json;charset=UTF-8"),
        ("cache-control", "no-store"),
        ("pragma", "no-cache"),
    ]);
    let g = cognito_req()
        .decode_response(StatusCode::OK, &h, &cognito_body(&good_jwt()))
        .unwrap();
    assert!(!warned(&g, "RFC-01"));
    let h = headers(&[
        ("content-type", "text/plain"),
        ("cache-control", "no-store"),
    ]);
    let g = cognito_req()
        .decode_response(StatusCode::OK, &h, &cognito_body(&good_jwt()))
        .unwrap();
    assert!(warned(&g, "RFC-01"));
}

#[test]
fn rfc_02_missing_no_store_and_pragma_are_reported() {
    let g = cognito_req()
        .decode_response(StatusCode::OK, &json(), &cognito_body(&good_jwt()))
        .unwrap();
    assert!(!warned(&g, "RFC-02"), "{:?}", g.warnings);
    let h = headers(&[
        ("content-type", "application/json"),
        ("cache-control", "no-store"),
    ]);
    let g = cognito_req()
        .decode_response(StatusCode::OK, &h, &cognito_body(&good_jwt()))
        .unwrap();
    assert_eq!(
        g.warnings.iter().filter(|w| w.check == "RFC-02").count(),
        1,
        "pragma only"
    );
    let h = headers(&[("content-type", "application/json")]);
    let g = cognito_req()
        .decode_response(StatusCode::OK, &h, &cognito_body(&good_jwt()))
        .unwrap();
    assert_eq!(g.warnings.iter().filter(|w| w.check == "RFC-02").count(), 2);
}

#[test]
fn rfc_03_token_type_is_case_insensitive() {
    for tt in ["bearer", "Bearer", "BEARER"] {
        let body = format!(r#"{{"access_token":"abc","expires_in":60,"token_type":"{tt}"}}"#);
        assert!(
            cognito_req()
                .decode_response(StatusCode::OK, &json(), body.as_bytes())
                .is_ok(),
            "{tt}"
        );
    }
    let body = br#"{"access_token":"abc","expires_in":60,"token_type":"mac"}"#;
    let err = cognito_req()
        .decode_response(StatusCode::OK, &json(), body)
        .unwrap_err();
    assert!(
        matches!(
            err,
            ProviderError::Decode(DecodeError::Contract { check: "CG-04", .. })
        ),
        "{err:?}"
    );
}

#[test]
fn rfc_04_unknown_members_are_ignored() {
    let body = br#"{"access_token":"abc","expires_in":60,"token_type":"Bearer","id_token":"x","nested":{"a":[1,2]}}"#;
    assert!(
        cognito_req()
            .decode_response(StatusCode::OK, &json(), body)
            .is_ok()
    );
    let err = br#"{"error":"invalid_client","error_description":"bad","extra":1}"#;
    assert!(matches!(
        cognito_req().decode_response(StatusCode::BAD_REQUEST, &json(), err),
        Err(ProviderError::OAuth { .. })
    ));
}

#[test]
fn rfc_05_error_body_members_and_unknown_codes() {
    let body =
        br#"{"error":"slow_down","error_description":"wait","error_uri":"https://e.example/err"}"#;
    let ProviderError::OAuth { status, error } = cognito_req()
        .decode_response(StatusCode::BAD_REQUEST, &json(), body)
        .unwrap_err()
    else {
        panic!()
    };
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error.code, ErrorCode::Other("slow_down".into()));
    assert_eq!(error.description.as_deref(), Some("wait"));
    assert_eq!(error.uri.as_deref(), Some("https://e.example/err"));
}

#[test]
fn rfc_06_expires_in_string_is_accepted_with_a_warning() {
    let body = br#"{"access_token":"abc","expires_in":"3600","token_type":"Bearer"}"#;
    let g = cognito_req()
        .decode_response(StatusCode::OK, &json(), body)
        .unwrap();
    assert_eq!(g.expires_in, Some(Duration::from_secs(3600)));
    assert!(warned(&g, "RFC-06"));
    let g = cognito_req()
        .decode_response(StatusCode::OK, &json(), &cognito_body("abc"))
        .unwrap();
    assert!(!warned(&g, "RFC-06"));
}

#[test]
fn rfc_07_basic_auth_form_encodes_id_and_secret() {
    let req =
        cognito::TokenRequest::new("id:1", Secret::new("p:a+s%s w\u{f6}rd"), ClientAuth::Basic)
            .unwrap();
    let http = req.encode(&base()).unwrap();
    let value = http.headers()[AUTHORIZATION].to_str().unwrap();
    let raw = STANDARD
        .decode(value.strip_prefix("Basic ").unwrap())
        .unwrap();
    assert_eq!(
        String::from_utf8(raw).unwrap(),
        "id%3A1:p%3Aa%2Bs%25s+w%C3%B6rd"
    );
    let back = cognito::parse_request(&http).unwrap();
    assert_eq!(back.client_secret().unwrap().expose(), "p:a+s%s w\u{f6}rd");
}

#[test]
fn rfc_08_a_401_after_basic_carries_www_authenticate() {
    let http = Request::builder()
        .method(Method::POST)
        .uri("/oauth2/token")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(AUTHORIZATION, "Basic !!!")
        .body(Bytes::from_static(b"grant_type=client_credentials"))
        .unwrap();
    let rejection = cognito::parse_request(&http).unwrap_err();
    assert_eq!(rejection.status, StatusCode::UNAUTHORIZED);
    assert!(
        rejection
            .to_response()
            .headers()
            .contains_key(WWW_AUTHENTICATE)
    );
}

#[test]
fn rfc_09_non_b64token_access_token_is_warned() {
    let g = cognito_req()
        .decode_response(StatusCode::OK, &json(), &cognito_body("a b"))
        .unwrap();
    assert!(warned(&g, "RFC-09"));
    let g = cognito_req()
        .decode_response(StatusCode::OK, &json(), &cognito_body(&good_jwt()))
        .unwrap();
    assert!(!warned(&g, "RFC-09"));
}

// ---- veeva -------------------------------------------------------------

#[test]
fn vv_01_profile_id_is_one_percent_encoded_segment() {
    let seed =
        veeva::SessionRequest::new("_9ad0a091-cbd6-4c59-ab5a-d4f2870f218c", Secret::new("t"))
            .unwrap();
    let http = seed.encode(&base()).unwrap();
    assert_eq!(http.method(), Method::POST);
    assert_eq!(
        http.uri().path(),
        "/auth/oauth/session/_9ad0a091-cbd6-4c59-ab5a-d4f2870f218c"
    );
    let odd = veeva::SessionRequest::new("a/b c?d", Secret::new("t")).unwrap();
    let http = odd.encode(&base()).unwrap();
    assert_eq!(http.uri().path(), "/auth/oauth/session/a%2Fb%20c%3Fd");
    assert_eq!(veeva::parse_request(&http).unwrap().profile_id(), "a/b c?d");
}

#[test]
fn vv_02_bearer_and_accept_and_no_body() {
    let http = veeva::SessionRequest::new("p", Secret::new("1C29326C3DF"))
        .unwrap()
        .encode(&base())
        .unwrap();
    assert_eq!(http.headers()[AUTHORIZATION], "Bearer 1C29326C3DF");
    assert!(http.headers()[AUTHORIZATION].is_sensitive());
    assert_eq!(http.headers()[ACCEPT], "application/json");
    assert!(http.body().is_empty());
    assert!(veeva::SessionRequest::new("p", Secret::new("has space")).is_err());
}

#[test]
fn vv_03_client_id_validated_and_sent_as_query() {
    let req = veeva::SessionRequest::new("p", Secret::new("t"))
        .unwrap()
        .with_client_id("Acme.app_1-x")
        .unwrap();
    assert_eq!(
        req.encode(&base()).unwrap().uri().query(),
        Some("client_id=Acme.app_1-x")
    );
    let long = "a".repeat(101);
    for bad in ["", "has space", "semi;colon", "é", long.as_str()] {
        let err = veeva::SessionRequest::new("p", Secret::new("t"))
            .unwrap()
            .with_client_id(bad)
            .unwrap_err();
        assert_eq!(err.check, "VV-03", "{bad}");
    }
    assert!(
        veeva::SessionRequest::new("p", Secret::new("t"))
            .unwrap()
            .with_client_id("a".repeat(100))
            .is_ok()
    );
}

fn vault_decode(
    status: StatusCode,
    body: &[u8],
) -> Result<tokenprobe_protocol::Grant, ProviderError> {
    veeva::SessionRequest::new("p", Secret::new("t"))
        .unwrap()
        .decode_response(status, &json(), body)
}

#[test]
fn vv_05_vault_id_outside_vault_ids_is_warned() {
    let body = br#"{"responseStatus":"SUCCESS","sessionId":"S","userId":1,"vaultIds":[{"id":1,"name":"a","url":"u"}],"vaultId":2}"#;
    assert!(warned(
        &vault_decode(StatusCode::OK, body).unwrap(),
        "VV-05"
    ));
}

#[test]
fn vv_06_failure_and_exception_with_http_200_are_errors() {
    let body = br#"{"responseStatus":"FAILURE","errors":[{"type":"INVALID_SESSION_ID","message":"Invalid or expired session ID."}],"errorType":"AUTHENTICATION_FAILED"}"#;
    let err = vault_decode(StatusCode::OK, body).unwrap_err();
    let (status, failure) = err.system::<veeva::VaultFailure>().unwrap();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(failure.errors[0].kind, "INVALID_SESSION_ID");
    assert_eq!(failure.errors[0].message, "Invalid or expired session ID.");
    assert_eq!(failure.error_type.as_deref(), Some("AUTHENTICATION_FAILED"));
    let body = br#"{"responseStatus":"EXCEPTION","errors":[{"type":"UNEXPECTED_ERROR","message":"boom"}]}"#;
    let err = vault_decode(StatusCode::OK, body).unwrap_err();
    assert_eq!(err.code(), Some("UNEXPECTED_ERROR"));
    // The stub's documented failures decode to themselves.
    for f in [
        veeva::VaultFailure::missing_authorization(),
        veeva::VaultFailure::invalid_token(),
        veeva::VaultFailure::unknown_profile(),
    ] {
        let res = f.to_response();
        let err = vault_decode(res.status(), res.body()).unwrap_err();
        assert_eq!(err.system(), Some((res.status(), &f)));
    }
}

#[test]
fn vv_07_missing_members_are_decode_errors_naming_them() {
    let err = vault_decode(StatusCode::OK, br#"{"responseStatus":"FAILURE"}"#).unwrap_err();
    assert_eq!(
        err,
        ProviderError::Decode(DecodeError::MissingMember("errors"))
    );
    let err = vault_decode(
        StatusCode::OK,
        br#"{"responseStatus":"SUCCESS","userId":1}"#,
    )
    .unwrap_err();
    assert_eq!(
        err,
        ProviderError::Decode(DecodeError::MissingMember("sessionId"))
    );
}

#[test]
fn vv_08_warning_with_session_id_is_a_grant_with_warnings() {
    let body = br#"{"responseStatus":"WARNING","sessionId":"S","warnings":[{"type":"API_LIMIT","message":"near the limit"}]}"#;
    let g = vault_decode(StatusCode::OK, body).unwrap();
    assert_eq!(g.secret.expose(), "S");
    assert!(
        g.warnings
            .iter()
            .any(|w| w.check == "VV-08" && w.message.contains("near the limit"))
    );
}

// ---- cess --------------------------------------------------------------

fn cess_req() -> cess::TokenRequest {
    cess::TokenRequest::new(
        "app",
        Secret::new("app-secret"),
        "52998224725",
        Secret::new("123456"),
    )
    .unwrap()
}

#[test]
fn ce_01_json_body_with_lifetime_as_integer() {
    let http = cess_req()
        .with_lifetime(3600)
        .unwrap()
        .with_provider("SOLUTIHOM")
        .unwrap()
        .encode(&base())
        .unwrap();
    assert_eq!(http.method(), Method::POST);
    assert_eq!(http.uri().path(), "/oauth");
    assert_eq!(http.headers()[CONTENT_TYPE], "application/json");
    assert_eq!(http.headers()[ACCEPT], "application/json");
    let v: serde_json::Value = serde_json::from_slice(http.body()).unwrap();
    assert_eq!(v["lifetime"], serde_json::json!(3600));
    for m in [
        "client_id",
        "client_secret",
        "username",
        "password",
        "grant_type",
        "provider",
    ] {
        assert!(v[m].is_string(), "{m}");
    }
}

#[test]
fn ce_02_grant_type_password_and_scope_omitted_when_unset() {
    let v: serde_json::Value =
        serde_json::from_slice(cess_req().encode(&base()).unwrap().body()).unwrap();
    assert_eq!(v["grant_type"], "password");
    assert!(v.get("scope").is_none());
    assert!(v.get("lifetime").is_none());
    let http = cess_req()
        .with_scopes(["signature_session", "service_2fa"])
        .unwrap()
        .encode(&base())
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(http.body()).unwrap();
    assert_eq!(v["scope"], "signature_session service_2fa");
}

#[test]
fn ce_03_username_must_be_a_valid_cpf_or_cnpj() {
    assert!(
        cess::TokenRequest::new("a", Secret::new("s"), "11222333000181", Secret::new("1")).is_ok()
    );
    for bad in [
        "52998224726",
        "5299822472",
        "11111111111",
        "529.982.247-25",
        "11222333000182",
        "",
    ] {
        let err =
            cess::TokenRequest::new("a", Secret::new("s"), bad, Secret::new("1")).unwrap_err();
        assert_eq!(err.check, "CE-03", "{bad}");
        assert!(!err.reason.is_empty());
    }
}

#[test]
fn ce_04_lifetime_limits_by_kind_of_user() {
    assert!(cess_req().with_lifetime(604_800).is_ok());
    assert_eq!(
        cess_req().with_lifetime(604_801).unwrap_err().check,
        "CE-04"
    );
    let company =
        cess::TokenRequest::new("a", Secret::new("s"), "11222333000181", Secret::new("1")).unwrap();
    assert!(company.clone().with_lifetime(2_592_000).is_ok());
    assert_eq!(company.with_lifetime(2_592_001).unwrap_err().check, "CE-04");
}

#[test]
fn ce_05_bearer_in_any_case_and_expires_in() {
    let body = cess::TokenBody::new(
        "tok",
        Duration::from_secs(600),
        "authentication_session",
        "P",
    );
    let res = body.to_response();
    let g = cess_req()
        .decode_response(res.status(), res.headers(), res.body())
        .unwrap();
    assert_eq!(g.token_type, "bearer");
    assert_eq!(g.expires_in, Some(Duration::from_secs(600)));
    assert!(g.warnings.is_empty(), "{:?}", g.warnings);
}

#[test]
fn ce_06_vcschema_mismatch_is_a_contract_failure() {
    let mut body = cess::TokenBody::new(
        "tok",
        Duration::from_secs(600),
        "authentication_session",
        "P",
    );
    body.authorization = Some(Secret::new(tokenprobe_protocol::vcschema::encode(
        "P",
        "other-token",
    )));
    let res = body.to_response();
    let err = cess_req()
        .decode_response(res.status(), res.headers(), res.body())
        .unwrap_err();
    assert!(
        matches!(
            err,
            ProviderError::Decode(DecodeError::Contract { check: "CE-06", .. })
        ),
        "{err:?}"
    );
    assert!(!err.to_string().contains("other-token"));
}

#[test]
fn ce_07_error_body_or_error_page_becomes_typed_error() {
    let err = cess_req()
        .decode_response(
            StatusCode::UNAUTHORIZED,
            &json(),
            br#"{"error":"invalid_grant","error_description":"OTP"}"#,
        )
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::UNAUTHORIZED));
    assert_eq!(err.code(), Some("invalid_grant"));
    let page = headers(&[("content-type", "text/html")]);
    let err = cess_req()
        .decode_response(
            StatusCode::BAD_GATEWAY,
            &page,
            b"<html><h1>502 Bad Gateway</h1></html>",
        )
        .unwrap_err();
    let ProviderError::Status { status, excerpt } = err else {
        panic!()
    };
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(excerpt.contains("502 Bad Gateway"));
}

#[test]
fn ce_08_ce_12_default_scope_and_lifetime_are_observed() {
    let decode = |req: &cess::TokenRequest, secs: u64, scope: &str| {
        let res = cess::TokenBody::new("tok", Duration::from_secs(secs), scope, "P").to_response();
        req.decode_response(res.status(), res.headers(), res.body())
            .unwrap()
    };
    assert!(!warned(
        &decode(&cess_req(), 60, "authentication_session signature_session"),
        "CE-08"
    ));
    assert!(warned(
        &decode(&cess_req(), 60, "signature_session"),
        "CE-08"
    ));
    let asked = cess_req().with_scopes(["signature_session"]).unwrap();
    assert!(
        !warned(&decode(&asked, 60, "signature_session"), "CE-08"),
        "a scope was asked for"
    );
    let short = cess_req().with_lifetime(600).unwrap();
    assert!(!warned(&decode(&short, 600, cess::DEFAULT_SCOPE), "CE-12"));
    assert!(warned(&decode(&short, 601, cess::DEFAULT_SCOPE), "CE-12"));
}

// ---- venafi ------------------------------------------------------------

fn venafi_req() -> venafi::AuthorizeRequest {
    venafi::AuthorizeRequest::new(
        "my-app",
        "LDAP+ODSEE:Admin",
        Secret::new("pw"),
        "certificate:manage,discover;configuration",
    )
    .unwrap()
}

#[test]
fn ve_01_exact_lower_case_member_names() {
    let http = venafi_req().with_state("xyz").encode(&base()).unwrap();
    assert_eq!(http.method(), Method::POST);
    assert_eq!(http.uri().path(), "/vedauth/authorize/oauth");
    assert_eq!(http.headers()[CONTENT_TYPE], "application/json");
    let v: serde_json::Value = serde_json::from_slice(http.body()).unwrap();
    let mut keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        ["client_id", "password", "scope", "state", "username"]
    );
    assert_eq!(v["scope"], "certificate:manage,discover;configuration");
}

#[test]
fn ve_02_bad_scopes_are_refused_before_sending() {
    for bad in [
        "",
        "certificate;",
        "certificate:",
        "certificate:manage,",
        "certficate",
        "ssh:fly",
    ] {
        let err = venafi::AuthorizeRequest::new("a", "u", Secret::new("p"), bad).unwrap_err();
        assert_eq!(err.check, "VE-02", "{bad}");
    }
}

fn venafi_body(extra: &str) -> Vec<u8> {
    format!(r#"{{"access_token":"AT","expires_in":7775999,"token_type":"Bearer","scope":"certificate:manage","identity":"local:{{1}}"{extra}}}"#)
        .into_bytes()
}

#[test]
fn ve_03_success_parses_and_expiry_skew_is_reported() {
    let g = venafi_req()
        .decode_response(
            StatusCode::OK,
            &json(),
            &venafi_body(r#","expires":1007775999"#),
        )
        .unwrap();
    assert_eq!(g.expires_in, Some(Duration::from_secs(7_775_999)));
    assert_eq!(g.expires_at, Some(1_007_775_999));
    assert!(matches!(&g.extra, GrantExtra::Venafi { identity: Some(i) } if i == "local:{1}"));
    assert!(venafi::check_expiry_skew(&g, 1_000_000_000).is_none());
    assert!(venafi::check_expiry_skew(&g, 1_000_000_030).is_none());
    let w = venafi::check_expiry_skew(&g, 1_000_000_100).unwrap();
    assert_eq!(w.check, "VE-03");
}

#[test]
fn ve_04_refresh_token_needs_refresh_until_after_expires() {
    let ok = venafi_body(r#","expires":100,"refresh_token":"RT","refresh_until":200"#);
    let g = venafi_req()
        .decode_response(StatusCode::OK, &json(), &ok)
        .unwrap();
    assert_eq!(g.refresh.as_ref().unwrap().token.expose(), "RT");
    assert!(!warned(&g, "VE-04"));
    let none = venafi_body(r#","expires":100,"refresh_token":"RT""#);
    assert!(warned(
        &venafi_req()
            .decode_response(StatusCode::OK, &json(), &none)
            .unwrap(),
        "VE-04"
    ));
    let early = venafi_body(r#","expires":100,"refresh_token":"RT","refresh_until":50"#);
    assert!(warned(
        &venafi_req()
            .decode_response(StatusCode::OK, &json(), &early)
            .unwrap(),
        "VE-04"
    ));
}

#[test]
fn ve_05_documented_messages_become_typed_errors() {
    let cases = [
        (
            400,
            "Application identifier is missing",
            VenafiError::ApplicationIdMissing,
        ),
        (
            400,
            "Missing username or password",
            VenafiError::MissingUsernameOrPassword,
        ),
        (
            400,
            "Username/Password authentication not enabled",
            VenafiError::PasswordAuthNotEnabled,
        ),
        (
            401,
            "Failed to issue grant: user locked",
            VenafiError::FailedToIssueGrant("user locked".into()),
        ),
        (
            401,
            "Username/password combination not valid",
            VenafiError::InvalidCredentials,
        ),
    ];
    for (status, message, expected) in cases {
        let status = StatusCode::from_u16(status).unwrap();
        let body = serde_json::to_vec(&OAuthError::new(ErrorCode::InvalidGrant).describe(message))
            .unwrap();
        let err = venafi_req()
            .decode_response(status, &json(), &body)
            .unwrap_err();
        let (s, error) = err.system::<venafi::VenafiError>().unwrap();
        assert_eq!((s, error), (status, &expected));
        assert_eq!(error.status(), status, "kind fixed by status");
        assert_eq!(error.message(), message);
        // The same message as bare text.
        let err = venafi_req()
            .decode_response(status, &HeaderMap::new(), message.as_bytes())
            .unwrap_err();
        assert_eq!(err.system(), Some((status, &expected)));
    }
}

#[test]
fn ve_12_granted_scope_beyond_the_request_is_warned() {
    let body = br#"{"access_token":"AT","expires_in":60,"token_type":"Bearer","scope":"certificate:delete"}"#;
    assert!(warned(
        &venafi_req()
            .decode_response(StatusCode::OK, &json(), body)
            .unwrap(),
        "VE-12"
    ));
    let body = br#"{"access_token":"AT","expires_in":60,"token_type":"Bearer","scope":"certificate:manage"}"#;
    assert!(!warned(
        &venafi_req()
            .decode_response(StatusCode::OK, &json(), body)
            .unwrap(),
        "VE-12"
    ));
}

fn json_post(path: &str, body: &str) -> Request<Bytes> {
    Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(CONTENT_TYPE, "application/json")
        .body(Bytes::from(body.to_owned()))
        .unwrap()
}

#[test]
fn ve_06_ve_07_server_side_documented_400s() {
    let e = venafi::parse_authorize(&json_post(
        "/vedauth/authorize/oauth",
        r#"{"username":"u","password":"p","scope":"ssh"}"#,
    ))
    .unwrap_err();
    assert_eq!(e, VenafiError::ApplicationIdMissing);
    let res = e.to_response();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let v: serde_json::Value = serde_json::from_slice(res.body()).unwrap();
    assert_eq!(v["error_description"], "Application identifier is missing");
    let e = venafi::parse_authorize(&json_post(
        "/",
        r#"{"client_id":"a","username":"u","scope":"ssh"}"#,
    ))
    .unwrap_err();
    assert_eq!(e, VenafiError::MissingUsernameOrPassword);
    assert_eq!(e.to_response().status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        VenafiError::InvalidCredentials.to_response().status(),
        StatusCode::UNAUTHORIZED
    );
}

// ---- cognito -----------------------------------------------------------

#[test]
fn cg_01_form_post_with_client_credentials() {
    let http = cognito_req()
        .encode(
            &"https://d.auth.us-west-2.amazoncognito.com"
                .parse()
                .unwrap(),
        )
        .unwrap();
    assert_eq!(http.method(), Method::POST);
    assert_eq!(
        http.uri().to_string(),
        "https://d.auth.us-west-2.amazoncognito.com/oauth2/token"
    );
    assert_eq!(
        http.headers()[CONTENT_TYPE],
        "application/x-www-form-urlencoded"
    );
    assert_eq!(http.body().as_ref(), b"grant_type=client_credentials");
}

/// Other RFC 6749 servers: another token path, extra parameters (Auth0's
/// `audience`); a relative path or a parameter the request sets itself is
/// refused before sending.
#[test]
fn cg_01_another_servers_path_and_parameters() {
    let http = cognito_req()
        .with_path("/realms/demo/protocol/openid-connect/token")
        .unwrap()
        .with_params([("audience", "https://api.example.com")])
        .unwrap()
        .encode(&"https://kc.example.com/auth".parse().unwrap())
        .unwrap();
    assert_eq!(
        http.uri().to_string(),
        "https://kc.example.com/auth/realms/demo/protocol/openid-connect/token"
    );
    assert_eq!(
        http.body().as_ref(),
        b"grant_type=client_credentials&audience=https%3A%2F%2Fapi.example.com"
    );
    let e = cognito_req().with_path("oauth/token").unwrap_err();
    assert!(e.to_string().contains("token_path"), "{e}");
    let e = cognito_req()
        .with_params([("grant_type", "password")])
        .unwrap_err();
    assert!(e.to_string().contains("grant_type"), "{e}");
}

#[test]
fn cg_02_basic_or_body_never_both() {
    let basic = cognito_req().encode(&base()).unwrap();
    assert!(basic.headers().contains_key(AUTHORIZATION));
    assert!(
        !std::str::from_utf8(basic.body())
            .unwrap()
            .contains("client_secret")
    );
    let body = cognito::TokenRequest::new("client-1", Secret::new("a b&c"), ClientAuth::Body)
        .unwrap()
        .encode(&base())
        .unwrap();
    assert!(!body.headers().contains_key(AUTHORIZATION));
    assert_eq!(
        body.body().as_ref(),
        b"grant_type=client_credentials&client_id=client-1&client_secret=a+b%26c"
    );
}

#[test]
fn cg_03_scope_space_joined_and_omitted_when_empty() {
    let http = cognito_req()
        .with_scopes(["vectara/query", "vectara/index"])
        .unwrap()
        .encode(&base())
        .unwrap();
    assert_eq!(
        http.body().as_ref(),
        b"grant_type=client_credentials&scope=vectara%2Fquery+vectara%2Findex"
    );
    let http = cognito_req()
        .with_scopes(Vec::<String>::new())
        .unwrap()
        .encode(&base())
        .unwrap();
    assert!(!std::str::from_utf8(http.body()).unwrap().contains("scope"));
    assert_eq!(
        cognito_req().with_scopes(["has space"]).unwrap_err().check,
        "CG-03"
    );
}

#[test]
fn cg_04_success_parses_and_expires_in_must_be_positive() {
    let g = cognito_req()
        .decode_response(StatusCode::OK, &json(), &cognito_body(&good_jwt()))
        .unwrap();
    assert_eq!(g.expires_in, Some(Duration::from_secs(3600)));
    assert_eq!(g.authorization().expose(), format!("Bearer {}", good_jwt()));
    let body = br#"{"access_token":"a","expires_in":0,"token_type":"Bearer"}"#;
    assert!(
        cognito_req()
            .decode_response(StatusCode::OK, &json(), body)
            .is_err()
    );
    let body = br#"{"access_token":"a","token_type":"Bearer"}"#;
    // RFC 6749 only recommends expires_in: a grant without a known lifetime, reported.
    let g = cognito_req()
        .decode_response(StatusCode::OK, &json(), body)
        .unwrap();
    assert_eq!(g.expires_in, None);
    // Under RFC-06, as docs/contracts.md gives it, not CG-04.
    assert!(
        warned(&g, "RFC-06") && !warned(&g, "CG-04"),
        "RFC-06 judges a missing one"
    );
}

#[test]
fn cg_05_jwt_claims_are_checked() {
    let g = cognito_req()
        .decode_response(StatusCode::OK, &json(), &cognito_body(&good_jwt()))
        .unwrap();
    assert!(!warned(&g, "CG-05"), "{:?}", g.warnings);
    let GrantExtra::Jwt(jwt_parts) = &g.extra else {
        panic!()
    };
    assert_eq!(jwt_parts.header.kid.as_deref(), Some("k1"));
    assert_eq!(
        g.scope.as_deref(),
        Some("api/read"),
        "scope from the claims"
    );
    for bad in [
        r#"{"token_use":"access","exp":1007200,"iat":1000000,"client_id":"client-1"}"#,
        r#"{"token_use":"id","exp":1003600,"iat":1000000,"client_id":"client-1"}"#,
        r#"{"token_use":"access","exp":1003600,"iat":1000000,"client_id":"someone-else"}"#,
    ] {
        let g = cognito_req()
            .decode_response(StatusCode::OK, &json(), &cognito_body(&jwt(bad)))
            .unwrap();
        assert!(warned(&g, "CG-05"), "{bad}");
    }
    let near = jwt(r#"{"token_use":"access","exp":1003604,"iat":1000000,"client_id":"client-1"}"#);
    assert!(!warned(
        &cognito_req()
            .decode_response(StatusCode::OK, &json(), &cognito_body(&near))
            .unwrap(),
        "CG-05"
    ));
}

#[test]
fn cg_06_every_error_code_maps_with_status_and_description() {
    for code in ErrorCode::DOCUMENTED {
        for status in [StatusCode::BAD_REQUEST, StatusCode::UNAUTHORIZED] {
            let body =
                serde_json::to_vec(&OAuthError::new(code.clone()).describe(format!("d-{code}")))
                    .unwrap();
            let ProviderError::OAuth { status: s, error } = cognito_req()
                .decode_response(status, &json(), &body)
                .unwrap_err()
            else {
                panic!()
            };
            assert_eq!(s, status);
            assert_eq!(error.code, code);
            assert_eq!(error.description.unwrap(), format!("d-{code}"));
        }
    }
}

#[test]
fn cg_14_a_refresh_token_for_client_credentials_is_reported() {
    let body = br#"{"access_token":"a","expires_in":60,"token_type":"Bearer","refresh_token":"r"}"#;
    assert!(warned(
        &cognito_req()
            .decode_response(StatusCode::OK, &json(), body)
            .unwrap(),
        "CG-14"
    ));
    assert!(!warned(
        &cognito_req()
            .decode_response(StatusCode::OK, &json(), &cognito_body("a"))
            .unwrap(),
        "CG-14"
    ));
}

fn form_post(body: &'static str) -> Request<Bytes> {
    Request::builder()
        .method(Method::POST)
        .uri("/oauth2/token")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(AUTHORIZATION, "Basic Y2xpZW50LTE6czNjcmV0")
        .body(Bytes::from_static(body.as_bytes()))
        .unwrap()
}

#[test]
fn cg_07_success_response_forbids_caching() {
    let res = cognito::TokenBody::new("t", Duration::from_secs(3600)).to_response();
    assert_eq!(res.headers()[CACHE_CONTROL], "no-store");
    assert_eq!(res.headers()[PRAGMA], "no-cache");
    assert_eq!(
        res.body().as_ref(),
        br#"{"access_token":"t","expires_in":3600,"token_type":"Bearer"}"#
    );
}

#[test]
fn cg_10_cg_11_cg_13_server_side_grant_type_and_method() {
    let r = cognito::parse_request(&form_post("grant_type=password")).unwrap_err();
    assert_eq!(
        (r.status, r.error.code),
        (StatusCode::BAD_REQUEST, ErrorCode::UnsupportedGrantType)
    );
    let r = cognito::parse_request(&form_post("scope=a")).unwrap_err();
    assert_eq!(
        (r.status, r.error.code),
        (StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest)
    );
    let mut get = form_post("grant_type=client_credentials");
    *get.method_mut() = Method::GET;
    assert!(
        cognito::parse_request(&get)
            .unwrap_err()
            .status
            .is_client_error()
    );
    let ok = cognito::parse_request(&form_post("grant_type=client_credentials")).unwrap();
    assert_eq!(ok.client_id(), "client-1");
}

// ---- vcd ---------------------------------------------------------------

fn vcd_req() -> vcd::SessionRequest {
    vcd::SessionRequest::new(Secret::new("OAuth-token"), "Finance").unwrap()
}

#[test]
fn vcd_01_bearer_with_org_and_versioned_accept() {
    let http = vcd_req()
        .encode(&"https://vcloud.example.com".parse().unwrap())
        .unwrap();
    assert_eq!(http.method(), Method::POST);
    assert_eq!(
        http.uri().to_string(),
        "https://vcloud.example.com/cloudapi/1.0.0/sessions"
    );
    assert_eq!(
        http.headers()[AUTHORIZATION],
        "Bearer OAuth-token; org=Finance"
    );
    assert_eq!(http.headers()[ACCEPT], "application/json;version=38.0");
    let mut xml = vcd_req();
    xml.format = vcd::SessionFormat::Xml;
    xml.version = vcd::ApiVersion {
        major: 39,
        minor: 0,
    };
    xml.provider = true;
    let http = xml.encode(&base()).unwrap();
    assert_eq!(http.headers()[ACCEPT], "application/*+xml;version=39.0");
    assert_eq!(http.uri().path(), "/cloudapi/1.0.0/sessions/provider");
}

#[test]
fn vcd_02_org_names_that_break_the_header_are_refused() {
    for bad in ["", "a;b", "a=b", "a,b", "a\nb", "a\u{7f}", " pad"] {
        let err = vcd::SessionRequest::new(Secret::new("t"), bad).unwrap_err();
        assert_eq!(err.check, "VCD-02", "{bad:?}");
    }
    assert!(vcd::SessionRequest::new(Secret::new("t"), "Finance Dept-2").is_ok());
}

fn session() -> vcd::VcdSession {
    vcd::VcdSession {
        id: Some("urn:vcloud:session:1".into()),
        user: "bob".into(),
        user_urn: Some("urn:vcloud:user:fe50b0b5".into()),
        org: "Finance".into(),
        org_urn: Some("urn:vcloud:org:9".into()),
        roles: vec!["Organization Administrator".into()],
        location: Some("site-1".into()),
        links: vec![],
    }
}

#[test]
fn vcd_03_both_token_headers_are_required() {
    let res = vcd::session_response(
        "TOKEN",
        "Bearer",
        &session(),
        vcd::SessionFormat::Json,
        vcd::ApiVersion::DEFAULT,
    );
    let g = vcd_req()
        .decode_response(res.status(), res.headers(), res.body())
        .unwrap();
    assert_eq!(g.authorization().expose(), "Bearer TOKEN");
    for (drop, name) in [
        (vcd::ACCESS_TOKEN_HEADER, "X-VMWARE-VCLOUD-ACCESS-TOKEN"),
        (vcd::TOKEN_TYPE_HEADER, "X-VMWARE-VCLOUD-TOKEN-TYPE"),
    ] {
        let mut h = res.headers().clone();
        h.remove(drop);
        assert_eq!(
            vcd_req()
                .decode_response(StatusCode::OK, &h, res.body())
                .unwrap_err(),
            ProviderError::Decode(DecodeError::MissingHeader(name))
        );
    }
}

fn vcd_grant(session: &vcd::VcdSession, format: vcd::SessionFormat) -> tokenprobe_protocol::Grant {
    let res = vcd::session_response("T", "Bearer", session, format, vcd::ApiVersion::DEFAULT);
    vcd_req()
        .decode_response(res.status(), res.headers(), res.body())
        .unwrap()
}

fn vcd_session_of(grant: &tokenprobe_protocol::Grant) -> &vcd::VcdSession {
    let GrantExtra::Vcd(s) = &grant.extra else {
        panic!("not a VCD session: {:?}", grant.extra)
    };
    s
}

#[test]
fn vcd_05_json_session_parses_to_the_same_fields() {
    let g = vcd_grant(&session(), vcd::SessionFormat::Json);
    assert_eq!(*vcd_session_of(&g), session());
    assert!(!warned(&g, "VCD-09"));
    let g = vcd_grant(&session(), vcd::SessionFormat::Xml);
    let x = vcd_session_of(&g);
    assert_eq!(
        (x.user.as_str(), x.org.as_str(), x.user_urn.as_deref()),
        ("bob", "Finance", Some("urn:vcloud:user:fe50b0b5"))
    );
}

#[test]
fn vcd_06_error_documents_in_both_forms() {
    let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
<Error xmlns="http://www.vmware.com/vcloud/v1.5" minorErrorCode="UNAUTHORIZED" message="Bad token &amp; more" majorErrorCode="401" vendorSpecificErrorCode="X1" stackTrace="trace"/>"#;
    let h = headers(&[(
        "content-type",
        "application/vnd.vmware.vcloud.error+xml;version=38.0",
    )]);
    let err = vcd_req()
        .decode_response(StatusCode::UNAUTHORIZED, &h, xml)
        .unwrap_err();
    let (status, error) = err.system::<vcd::VcdError>().unwrap();
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        (
            error.major_code,
            error.minor_code.as_str(),
            error.message.as_str()
        ),
        (401, "UNAUTHORIZED", "Bad token & more")
    );
    assert_eq!(error.vendor_code.as_deref(), Some("X1"));
    let json_doc = br#"{"minorErrorCode":"ACCESS_TO_RESOURCE_IS_FORBIDDEN","message":"denied","majorErrorCode":403,"stackTrace":null}"#;
    let err = vcd_req()
        .decode_response(StatusCode::FORBIDDEN, &json(), json_doc)
        .unwrap_err();
    assert_eq!(err.code(), Some("ACCESS_TO_RESOURCE_IS_FORBIDDEN"));
    for e in [
        vcd::VcdError::missing_authorization(),
        vcd::VcdError::invalid_credentials(),
        vcd::VcdError::unsupported_version(),
    ] {
        for f in [vcd::SessionFormat::Json, vcd::SessionFormat::Xml] {
            let res = e.to_response(f);
            assert_eq!(res.status().as_u16(), e.major_code);
            let err = vcd_req()
                .decode_response(res.status(), res.headers(), res.body())
                .unwrap_err();
            assert_eq!(err.system(), Some((res.status(), &e)));
        }
    }
}

fn vcd_post(accept: &str, auth: Option<&str>) -> Request<Bytes> {
    let mut b = Request::builder()
        .method(Method::POST)
        .uri("/cloudapi/1.0.0/sessions")
        .header(ACCEPT, accept);
    if let Some(a) = auth {
        b = b.header(AUTHORIZATION, a);
    }
    b.body(Bytes::new()).unwrap()
}

#[test]
fn vcd_07_vcd_10_server_side_refusals() {
    assert_eq!(
        vcd::parse_request(&vcd_post("application/json;version=38.0", None))
            .unwrap_err()
            .major_code,
        403
    );
    assert_eq!(
        vcd::parse_request(&vcd_post(
            "application/*;version=9.0",
            Some("Bearer t; org=Finance")
        ))
        .unwrap_err()
        .major_code,
        406
    );
    assert_eq!(
        vcd::parse_request(&vcd_post("application/json", Some("Bearer t; org=Finance")))
            .unwrap_err()
            .major_code,
        406
    );
    assert_eq!(
        vcd::parse_request(&vcd_post("application/json;version=38.0", Some("Bearer t")))
            .unwrap_err()
            .major_code,
        401
    );
    let ok = vcd::parse_request(&vcd_post(
        "application/*+xml;version=38.0",
        Some("Bearer t; org=Finance"),
    ))
    .unwrap();
    assert_eq!(
        (ok.org.as_str(), ok.format),
        ("Finance", vcd::SessionFormat::Xml)
    );
}

#[test]
fn vcd_09_session_for_another_org_is_warned() {
    let mut other = session();
    other.org = "Sales".into();
    assert!(warned(
        &vcd_grant(&other, vcd::SessionFormat::Json),
        "VCD-09"
    ));
}

// ---- secrets -----------------------------------------------------------

#[test]
fn secrets_never_reach_debug_or_error_text() {
    let secret = "PLANTED-SECRET-42";
    let req = cognito::TokenRequest::new("c", Secret::new(secret), ClientAuth::Basic).unwrap();
    let http = req.encode(&base()).unwrap();
    assert!(!format!("{req:?} {http:?}").contains(secret));
    let g = cognito_req()
        .decode_response(StatusCode::OK, &json(), &cognito_body(secret))
        .unwrap();
    assert!(!format!("{g:?}").contains(secret));
    let body =
        format!(r#"{{"access_token":{{"x":"{secret}"}},"expires_in":1,"token_type":"Bearer"}}"#);
    let err = cognito_req()
        .decode_response(StatusCode::OK, &json(), body.as_bytes())
        .unwrap_err();
    assert!(!format!("{err} {err:?}").contains(secret));
    let v = venafi::AuthorizeRequest::new("a", "u", Secret::new(secret), "ssh").unwrap();
    assert!(!format!("{v:?}").contains(secret));
    // Response bodies, as a server builds them or a client reads them.
    let bodies = format!(
        "{:?} {:?} {:?}",
        cognito::TokenBody::new(secret, Duration::from_secs(60)),
        cess::TokenBody::new(secret, Duration::from_secs(60), "s", "P"),
        veeva::SessionBody::new(secret, 1, vec![], 1),
    );
    assert!(!bodies.contains(secret), "{bodies}");
    let venafi_body = format!(
        r#"{{"access_token":"{secret}","refresh_token":"{secret}","token_type":"Bearer"}}"#
    );
    let parsed: venafi::TokenBody = serde_json::from_str(&venafi_body).unwrap();
    assert!(!format!("{parsed:?}").contains(secret));
    assert_eq!(parsed.access_token.expose(), secret);
    let vv = vcd::SessionRequest::new(Secret::new(secret), "Finance").unwrap();
    assert!(!format!("{vv:?} {:?}", vv.encode(&base()).unwrap()).contains(secret));
}

// ---- coverage of the contract reference --------------------------------

/// Every `req` and `resp` id in docs/contracts.md has a test in this crate
/// whose name starts with it (`rfc_07_…`, `vcd_04_…`).
#[test]
fn every_req_and_resp_id_has_a_test() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let reference = std::fs::read_to_string(format!("{root}/docs/contracts.md")).unwrap();
    let mut sources = String::new();
    for dir in [
        "crates/protocol/tests",
        "crates/protocol/src",
        "crates/protocol/src/venafi",
        "crates/protocol/src/vcd",
    ] {
        for entry in std::fs::read_dir(format!("{root}/{dir}")).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "rs") {
                sources.push_str(&std::fs::read_to_string(path).unwrap());
            }
        }
    }
    let mut ids = Vec::new();
    for line in reference.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if let [_, id, kind, ..] = cells.as_slice()
            && (*kind == "req" || *kind == "resp")
        {
            ids.push(id.to_string());
        }
    }
    assert!(
        ids.len() >= 40,
        "the reference lists {} req/resp ids",
        ids.len()
    );
    let missing: Vec<&String> = ids
        .iter()
        .filter(|id| {
            let prefix = id.to_lowercase().replace('-', "_");
            !sources.contains(&format!("fn {prefix}_")) && !sources.contains(&format!("_{prefix}_"))
        })
        .collect();
    assert!(missing.is_empty(), "ids without a test: {missing:?}");
}

// ---- DPoP (RFC 9449) -----------------------------------------------------

/// A proof signer with a fixed P-256 public key and no real signature:
/// the decoder reads the thumbprint and the nonce, never the signature.
#[derive(Debug, Default)]
struct FixedProofKey {
    nonce: std::sync::Mutex<Option<String>>,
}

impl tokenprobe_protocol::dpop::ProofSigner for FixedProofKey {
    fn algorithm(&self) -> tokenprobe_protocol::jwt::Algorithm {
        tokenprobe_protocol::jwt::Algorithm::ES256
    }
    fn jwk(&self) -> &tokenprobe_protocol::dpop::Jwk {
        static JWK: std::sync::OnceLock<tokenprobe_protocol::dpop::Jwk> =
            std::sync::OnceLock::new();
        JWK.get_or_init(|| tokenprobe_protocol::dpop::Jwk::Ec {
            crv: "P-256".into(),
            x: "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU".into(),
            y: "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0".into(),
        })
    }
    fn sign(
        &self,
        header: &str,
        claims: &tokenprobe_protocol::dpop::ProofClaims,
    ) -> Result<Secret, tokenprobe_protocol::client_auth::SignError> {
        Ok(Secret::new(tokenprobe_protocol::jwt::compact(
            header,
            claims,
            |_| b"sig".to_vec(),
        )))
    }
    fn unique_id(&self) -> String {
        "jti-1".into()
    }
    fn now(&self) -> u64 {
        1_000_000
    }
    fn nonce(&self) -> Option<String> {
        self.nonce.lock().unwrap().clone()
    }
    fn set_nonce(&self, nonce: String) {
        *self.nonce.lock().unwrap() = Some(nonce);
    }
    fn material(&self) -> Option<&Secret> {
        None
    }
}

/// DP-01: with a proof, the grant must be `token_type` DPoP (any case)
/// and a JWT's `cnf.jkt` the key's thumbprint (RFC 7638, worked out here
/// by hand from the members, not by the crate); an answer's `DPoP-Nonce`
/// goes into the next proof. RFC 7638 §3's own example is the crate's
/// unit test.
#[test]
fn dp_01_a_dpop_grant_is_typed_dpop_and_bound_to_the_key() {
    use sha2::Digest;
    let signer = std::sync::Arc::new(FixedProofKey::default());
    let key = tokenprobe_protocol::dpop::ProofKey::new(signer.clone(), false);
    let req = cognito_req().with_dpop(key);
    let members = r#"{"crv":"P-256","kty":"EC","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#;
    let jkt = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(members.as_bytes()));
    let token = |cnf: &str| {
        jwt(&format!(
            r#"{{"sub":"client-1","token_use":"access","exp":1003600,"iat":1000000,"client_id":"client-1"{cnf}}}"#
        ))
    };
    let body = |token: &str, kind: &str| {
        format!(r#"{{"access_token":"{token}","expires_in":3600,"token_type":"{kind}"}}"#)
            .into_bytes()
    };
    let bound = token(&format!(r#","cnf":{{"jkt":"{jkt}"}}"#));
    let read = |b: Vec<u8>| req.decode_response(StatusCode::OK, &json(), &b);
    assert!(read(body(&bound, "DPoP")).is_ok());
    assert!(read(body(&bound, "dpop")).is_ok());
    assert!(
        read(body(&bound, "Bearer")).is_err(),
        "a Bearer token for a proof"
    );
    assert!(read(body(&token(""), "DPoP")).is_err(), "no cnf");
    let other = token(r#","cnf":{"jkt":"not-this-key"}"#);
    assert!(read(body(&other, "DPoP")).is_err(), "another key's jkt");
    // The nonce of any answer is kept, and the next proof carries it.
    let mut h = json();
    h.insert("dpop-nonce", HeaderValue::from_static("n-7"));
    let _ = req.decode_response(
        StatusCode::BAD_REQUEST,
        &h,
        br#"{"error":"use_dpop_nonce"}"#,
    );
    let sent = req.encode(&base()).unwrap();
    let proof = sent.headers()["dpop"].to_str().unwrap();
    let claims = proof.split('.').nth(1).unwrap();
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).unwrap()).unwrap();
    assert_eq!(claims["nonce"], "n-7");
    assert_eq!(claims["htm"], "POST");
    assert_eq!(claims["htu"], "https://idp.example/oauth2/token");
}

// ---- Mutual TLS (RFC 8705) -----------------------------------------------

/// MT-01: a certificate client's grant names its certificate in `cnf`
/// `x5t#S256`: another one is an error, none a warning.
#[test]
fn mt_01_a_certificate_clients_token_names_its_certificate() {
    use tokenprobe_protocol::client_auth::{ClientCertificate, Credential};
    let thumbprint = "x5t-of-the-client-certificate".to_owned();
    let req = cognito::TokenRequest::new(
        "client-1",
        Credential::Certificate(Some(ClientCertificate {
            thumbprint: thumbprint.clone(),
            key: Secret::new("-----BEGIN PRIVATE KEY-----"),
        })),
        ClientAuth::TlsClientAuth,
    )
    .unwrap();
    // The form names the client, and carries no secret.
    let sent = req.encode(&base()).unwrap();
    assert_eq!(
        sent.body().as_ref(),
        b"grant_type=client_credentials&client_id=client-1"
    );
    assert!(sent.headers().get(AUTHORIZATION).is_none());
    let token = |cnf: &str| {
        jwt(&format!(
            r#"{{"sub":"client-1","token_use":"access","exp":1003600,"iat":1000000,"client_id":"client-1"{cnf}}}"#
        ))
    };
    let read = |t: String| req.decode_response(StatusCode::OK, &json(), &cognito_body(&t));
    let bound = read(token(&format!(r#","cnf":{{"x5t#S256":"{thumbprint}"}}"#))).unwrap();
    assert!(!warned(&bound, "MT-01"));
    assert!(read(token(r#","cnf":{"x5t#S256":"another"}"#)).is_err());
    assert!(warned(&read(token("")).unwrap(), "MT-01"));
}
