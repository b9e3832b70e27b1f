//! The server side beyond the check-id tests: parsers for every route a stub
//! serves, and the documented responses they pair with.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{Method, Request, StatusCode};
use tokenprobe_protocol::venafi::{self, VenafiError};
use tokenprobe_protocol::{BaseUrl, Secret, cess, vcd, veeva};

fn base() -> BaseUrl {
    "http://127.0.0.1:8080".parse().unwrap()
}

#[test]
fn venafi_refresh_revoke_and_verify_round_trip() {
    let refresh = venafi::RefreshRequest {
        client_id: "app".into(),
        refresh_token: Secret::new("RT-1"),
    };
    let http = refresh.encode(&base()).unwrap();
    assert_eq!(
        (http.method(), http.uri().path()),
        (&Method::POST, venafi::REFRESH_PATH)
    );
    assert_eq!(venafi::parse_refresh(&http).unwrap(), refresh);

    for path in [venafi::REVOKE_PATH, venafi::VERIFY_PATH] {
        let call = venafi::BearerCall {
            token: Secret::new("AT-1"),
        };
        let http = call.encode(&base(), path).unwrap();
        assert_eq!((http.method(), http.uri().path()), (&Method::GET, path));
        assert_eq!(venafi::BearerCall::parse(&http).unwrap(), call);
    }
    let bare = Request::get(venafi::VERIFY_PATH)
        .body(Bytes::new())
        .unwrap();
    assert_eq!(
        venafi::BearerCall::parse(&bare)
            .unwrap_err()
            .to_response()
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

#[test]
fn venafi_malformed_bodies_get_400_never_more() {
    for (ct, body) in [
        ("application/json", "{not json"),
        ("application/json", "[]"),
        ("text/plain", r#"{"client_id":"a"}"#),
        (
            "application/json",
            r#"{"client_id":"a","username":"u","password":"p","scope":"certificate:"}"#,
        ),
        ("application/json", r#"{"client_id":7}"#),
    ] {
        let req = Request::post(venafi::AUTHORIZE_PATH)
            .header(CONTENT_TYPE, ct)
            .body(Bytes::from(body))
            .unwrap();
        let res = venafi::parse_authorize(&req).unwrap_err().to_response();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{body}");
    }
}

#[test]
fn vault_client_id_from_query_wins_over_header_and_invalid_ones_are_dropped() {
    let req = |uri: &str, header: Option<&str>| {
        let mut b = Request::post(uri).header(AUTHORIZATION, "Bearer tok");
        if let Some(h) = header {
            b = b.header(veeva::CLIENT_ID_HEADER, h);
        }
        veeva::parse_request(&b.body(Bytes::new()).unwrap()).unwrap()
    };
    assert_eq!(
        req("/auth/oauth/session/p?client_id=q-id", Some("h-id")).client_id(),
        Some("q-id")
    );
    assert_eq!(
        req("/auth/oauth/session/p", Some("h-id")).client_id(),
        Some("h-id")
    );
    assert_eq!(
        req("/auth/oauth/session/p?client_id=bad%20id", None).client_id(),
        None
    );
    let no_auth = Request::post("/auth/oauth/session/p")
        .body(Bytes::new())
        .unwrap();
    assert_eq!(
        veeva::parse_request(&no_auth).unwrap_err(),
        veeva::VaultFailure::missing_authorization()
    );
    let get = Request::get("/auth/oauth/session/p")
        .header(AUTHORIZATION, "Bearer t")
        .body(Bytes::new())
        .unwrap();
    assert_eq!(
        veeva::parse_request(&get).unwrap_err().code(),
        Some("METHOD_NOT_SUPPORTED")
    );
}

#[test]
fn cess_accepts_a_numeric_username_and_refuses_bad_ones_with_400() {
    let post = |body: &str| {
        Request::post(cess::TOKEN_PATH)
            .header(CONTENT_TYPE, "application/json")
            .body(Bytes::from(body.to_owned()))
            .unwrap()
    };
    let ok = cess::parse_request(&post(r#"{"client_id":"a","client_secret":"s","username":52998224725,"password":"1","grant_type":"password"}"#)).unwrap();
    assert_eq!(ok.username().as_str(), "52998224725");
    for body in [
        r#"{"client_id":"a","client_secret":"s","username":"52998224726","password":"1","grant_type":"password"}"#,
        r#"{"client_id":"a","client_secret":"s","username":"52998224725","password":"1","grant_type":"password","lifetime":604801}"#,
        r#"{"client_id":"a","client_secret":"s","username":"52998224725","password":"1","grant_type":"password","lifetime":"60"}"#,
        r#"{"client_id":"a","username":"52998224725","password":"1","grant_type":"password"}"#,
        r#"{"client_id":"a","client_secret":"s","username":"52998224725","password":"1","grant_type":"client_credentials"}"#,
        "\u{0}\u{ff}",
    ] {
        let rejection = cess::parse_request(&post(body)).unwrap_err();
        assert_eq!(
            rejection.to_response().status(),
            StatusCode::BAD_REQUEST,
            "{body}"
        );
    }
}

#[test]
fn vcd_logout_round_trips_and_answers_204() {
    let logout = vcd::LogoutRequest {
        authorization: Secret::new("Bearer SESSION"),
        version: vcd::ApiVersion::DEFAULT,
    };
    let http = logout.encode(&base()).unwrap();
    assert_eq!(
        (http.method(), http.uri().path()),
        (&Method::DELETE, vcd::CURRENT_SESSION_PATH)
    );
    assert_eq!(
        vcd::LogoutRequest::parse(&http).unwrap().expose(),
        "SESSION"
    );
    let res = vcd::logout_response();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(
        logout
            .decode_response(res.status(), res.headers(), res.body())
            .is_ok()
    );
    let refused = vcd::VcdError::invalid_credentials().to_response(vcd::SessionFormat::Json);
    assert!(
        logout
            .decode_response(refused.status(), refused.headers(), refused.body())
            .is_err()
    );
}

#[test]
fn venafi_documented_errors_round_trip_through_their_responses() {
    for e in [
        VenafiError::ApplicationIdMissing,
        VenafiError::MissingUsernameOrPassword,
        VenafiError::PasswordAuthNotEnabled,
        VenafiError::InvalidCredentials,
        VenafiError::FailedToIssueGrant("locked".into()),
        VenafiError::ScopeNotAllowed("admin".into()),
        VenafiError::InvalidToken,
        VenafiError::InvalidRequest("Malformed JSON body".into()),
    ] {
        let res = e.to_response();
        assert_eq!(res.status(), e.status());
        assert_eq!(VenafiError::decode(res.status(), res.body()), e);
    }
}

#[test]
fn cognito_body_client_id_beside_basic_must_match() {
    use tokenprobe_protocol::cognito;
    let post = |body: &'static str| {
        Request::post(cognito::TOKEN_PATH)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(AUTHORIZATION, "Basic Y2xpZW50LTE6czNjcmV0")
            .body(Bytes::from_static(body.as_bytes()))
            .unwrap()
    };
    let ok =
        cognito::parse_request(&post("grant_type=client_credentials&client_id=client-1")).unwrap();
    assert_eq!(ok.client_id(), "client-1");
    for body in [
        "grant_type=client_credentials&client_id=other",
        "grant_type=client_credentials&client_id=client-1&client_secret=s3cret",
    ] {
        let r = cognito::parse_request(&post(body)).unwrap_err();
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
    }
    // The fields are private: a blank username can only be refused by `new`.
    let blank = venafi::AuthorizeRequest::new("a", " ", Secret::new("p"), "ssh");
    assert_eq!(blank.unwrap_err().check, "VE-01");
}
