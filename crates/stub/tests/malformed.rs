//! Malformed requests of every kind get a documented 4xx (or Vault's
//! FAILURE body), never a 5xx and never a crash; a proptest sends arbitrary
//! bodies and headers to every route.

mod support;

use support::route;

use http::{Method, StatusCode};
use proptest::prelude::*;
use support::{Harness, fast_config};
use tokenprobe_conformance::endpoint::Reply;
use tokenprobe_stub::Route;

/// A path for each route, written here from the documents (not taken
/// from the stub's table), and checked to route back.
fn path(route: Route) -> &'static str {
    let path = match route.name() {
        "cognito" => "/oauth2/token",
        "jwks" => "/.well-known/jwks.json",
        "discovery" => "/.well-known/oauth-authorization-server",
        "cess" => "/oauth",
        "venafi-authorize" => "/vedauth/authorize/oauth",
        "venafi-refresh" => "/vedauth/authorize/token",
        "venafi-revoke" => "/vedauth/revoke/token",
        "venafi-verify" => "/vedauth/authorize/verify",
        "veeva" => "/auth/oauth/session/tokenprobe-demo",
        "vcd-login" => "/cloudapi/1.0.0/sessions",
        "vcd-current" => "/cloudapi/1.0.0/sessions/current",
        other => panic!("no path written for route {other}"),
    };
    assert_eq!(Route::of(path), Some(route), "{path}");
    path
}

fn refused(r: &Reply) -> bool {
    let vault_failure = r.status == StatusCode::OK && r.json()["responseStatus"] == "FAILURE";
    r.status.is_client_error() || vault_failure
}

#[tokio::test]
async fn malformed_requests_are_refused_with_a_4xx() {
    let h = Harness::start(fast_config()).await;
    let huge = vec![b'a'; 65 * 1024];
    let bodies: [(&str, &str, Vec<u8>); 7] = [
        ("bad JSON", "application/json", b"{\"client_id\": ".to_vec()),
        (
            "JSON of the wrong shape",
            "application/json",
            b"[1, 2, 3]".to_vec(),
        ),
        ("missing fields", "application/json", b"{}".to_vec()),
        (
            "invalid UTF-8",
            "application/json",
            vec![0xff, 0xfe, b'{', 0x80],
        ),
        ("wrong content type", "text/xml", b"<a/>".to_vec()),
        (
            "form where JSON is due",
            "application/x-www-form-urlencoded",
            b"a=b&c".to_vec(),
        ),
        ("huge body", "application/json", huge),
    ];
    let documents = [route("jwks"), route("discovery")];
    for route in Route::all()
        .iter()
        .copied()
        .filter(|r| !documents.contains(r))
    {
        for (what, media, body) in &bodies {
            let r = h
                .send(
                    h.raw(
                        Method::POST,
                        path(route),
                        &[("content-type", media)],
                        body.clone(),
                    )
                    .unwrap(),
                )
                .await
                .unwrap();
            assert!(refused(&r), "{route}, {what}: {} {}", r.status, r.text());
            if *what == "huge body" {
                assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{route}");
            }
        }
    }
    let r = h
        .send(h.raw(Method::GET, "/no/such/endpoint", &[], "").unwrap())
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(h.stub.unrouted_requests(), 1);
}

#[tokio::test]
async fn wrong_methods_are_refused_with_a_4xx() {
    let h = Harness::start(fast_config()).await;
    for &route in Route::all() {
        for method in [Method::PUT, Method::PATCH, Method::OPTIONS] {
            let r = h
                .send(h.raw(method.clone(), path(route), &[], "").unwrap())
                .await
                .unwrap();
            assert!(refused(&r), "{method} {route}: {}", r.status);
        }
    }
}

fn header_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("content-type".to_owned()),
        Just("authorization".to_owned()),
        Just("accept".to_owned()),
        Just("x-vaultapi-clientid".to_owned()),
        "[a-z][a-z0-9-]{0,15}",
    ]
}

fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("application/json".to_owned()),
        Just("application/x-www-form-urlencoded".to_owned()),
        Just("Bearer x; org=Finance".to_owned()),
        Just("Basic Og==".to_owned()),
        Just("application/*+xml;version=38.0".to_owned()),
        "[ -~]{0,40}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_requests_never_get_a_5xx(
        route in proptest::sample::select(Route::all().to_vec()),
        method in proptest::sample::select(vec![Method::GET, Method::POST, Method::DELETE]),
        headers in proptest::collection::vec((header_name(), header_value()), 0..4),
        body in proptest::collection::vec(any::<u8>(), 0..512),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let h = Harness::start(fast_config()).await;
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let r = h.send(h.raw(method.clone(), path(route), &headers, body).unwrap()).await.unwrap();
            prop_assert!(!r.status.is_server_error(), "{method} {route}: {}", r.status);
            Ok(())
        })?;
    }
}
