//! Properties: every system's request survives encode → server parse; every
//! decoder and parser is total on arbitrary bytes; check digits; Basic auth.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode};
use proptest::prelude::*;

#[path = "support/exercise.rs"]
mod exercise;
use tokenprobe_protocol::client_auth::{self, ClientAuth};
use tokenprobe_protocol::taxid::TaxId;
use tokenprobe_protocol::venafi::{Privilege, Scope, ScopeItem, ScopeName};
use tokenprobe_protocol::{BaseUrl, Secret, cess, cognito, vcd, veeva, venafi};

/// At least 2,000 cases for every property, as CI asks; more with PROPTEST_CASES.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(2_000);
    let persistence = prop::test_runner::FileFailurePersistence::Direct(
        "tests/proptest-regressions/properties.txt",
    );
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(persistence)),
        ..ProptestConfig::default()
    }
}

fn base() -> BaseUrl {
    "https://idp.example/p".parse().unwrap()
}

/// Text with no control characters, not blank: user names, secrets, ids.
fn text(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[^\\p{{Cc}}]{{1,{max}}}"))
        .unwrap()
        .prop_filter("not blank", |s| !s.trim().is_empty())
}

fn scope_tokens() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec("[!#-\\[\\]-~]{1,12}", 0..4)
}

fn cpf() -> impl Strategy<Value = TaxId> {
    "[0-9]{9}".prop_filter_map("repeated digits", |b| TaxId::complete(&b).ok())
}

fn cnpj() -> impl Strategy<Value = TaxId> {
    "[0-9A-Z]{12}".prop_filter_map("repeated", |b| TaxId::complete(&b).ok())
}

fn venafi_scope() -> impl Strategy<Value = Scope> {
    let item = (
        0..ScopeName::ALL.len(),
        prop::sample::subsequence(Privilege::ALL.to_vec(), 0..=Privilege::ALL.len()),
    )
        .prop_map(|(i, privileges)| ScopeItem {
            name: ScopeName::ALL[i],
            privileges,
        });
    prop::collection::vec(item, 1..5)
        .prop_filter_map("duplicate names", |items| Scope::new(items).ok())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn cognito_request_round_trips(id in "[A-Za-z0-9._-]{1,30}", secret in text(30), body in any::<bool>(), scopes in scope_tokens()) {
        let auth = if body { ClientAuth::Body } else { ClientAuth::Basic };
        let req = cognito::TokenRequest::new(id, Secret::new(secret), auth).unwrap().with_scopes(&scopes).unwrap();
        prop_assert_eq!(cognito::parse_request(&req.encode(&base()).unwrap()).unwrap(), req);
    }

    #[test]
    fn cess_request_round_trips(
        user in prop_oneof![cpf(), cnpj()], secret in text(20), otp in "[0-9]{6}",
        scopes in scope_tokens(), lifetime in prop::option::of(1u32..=2_592_000), provider in prop::option::of("[A-Z]{1,12}"),
    ) {
        let mut req = cess::TokenRequest::new("app", Secret::new(secret), user.as_str(), Secret::new(otp)).unwrap()
            .with_scopes(&scopes).unwrap();
        if let Some(l) = lifetime.filter(|l| *l <= user.max_lifetime()) {
            req = req.with_lifetime(l).unwrap();
        }
        if let Some(p) = provider {
            req = req.with_provider(p).unwrap();
        }
        prop_assert_eq!(cess::parse_request(&req.encode(&base()).unwrap()).unwrap(), req);
    }

    #[test]
    fn venafi_request_round_trips(user in text(30), password in text(30), scope in venafi_scope(), state in prop::option::of(text(10))) {
        let mut req = venafi::AuthorizeRequest::new("app-id", user, Secret::new(password), &scope.to_string()).unwrap();
        prop_assert_eq!(req.scope(), &scope);
        if let Some(s) = state {
            req = req.with_state(s);
        }
        prop_assert_eq!(venafi::parse_authorize(&req.encode(&base()).unwrap()).unwrap(), req);
    }

    #[test]
    fn veeva_request_round_trips(profile in text(40), token in "[!-~]{1,60}", client_id in prop::option::of("[A-Za-z0-9._-]{1,100}")) {
        let mut req = veeva::SessionRequest::new(profile, Secret::new(token)).unwrap();
        if let Some(id) = client_id {
            req = req.with_client_id(id).unwrap();
        }
        prop_assert_eq!(veeva::parse_request(&req.encode(&base()).unwrap()).unwrap(), req);
    }

    #[test]
    fn vcd_request_round_trips(
        token in "[A-Za-z0-9._~+/-]{1,60}", org in "[A-Za-z0-9][A-Za-z0-9 _.-]{0,20}[A-Za-z0-9]",
        major in 33u16..=40, xml in any::<bool>(), provider in any::<bool>(),
    ) {
        let mut req = vcd::SessionRequest::new(Secret::new(token), org).unwrap();
        req.version = vcd::ApiVersion { major, minor: 0 };
        req.format = if xml { vcd::SessionFormat::Xml } else { vcd::SessionFormat::Json };
        req.provider = provider;
        prop_assert_eq!(vcd::parse_request(&req.encode(&base()).unwrap()).unwrap(), req);
    }

    #[test]
    fn valid_tax_ids_are_accepted_and_a_changed_check_digit_is_refused(id in prop_oneof![cpf(), cnpj()], pos in 0usize..2, d in 1u8..10) {
        let s = id.as_str();
        prop_assert_eq!(TaxId::parse(s).unwrap(), id.clone());
        let mut bytes = s.as_bytes().to_vec();
        let i = bytes.len() - 2 + pos;
        bytes[i] = b'0' + (bytes[i] - b'0' + d) % 10;
        prop_assert!(TaxId::parse(std::str::from_utf8(&bytes).unwrap()).is_err());
    }

    /// The official rule maps remainders 0 and 1 both to the digit 0. The
    /// first check digit's weights (2..=10) are never 0 mod 11, so changing
    /// one base digit always changes its remainder: the change can slip
    /// through only when that remainder moves between 0 and 1, i.e. when the
    /// first check digit is 0 (e.g. `35462247605` → `25462247605`).
    #[test]
    fn a_changed_base_digit_is_refused_unless_the_first_check_digit_is_zero(
        id in prop_oneof![cpf(), cnpj()], pos in 0usize..12, d in 1u8..10,
    ) {
        let s = id.as_str();
        let mut bytes = s.as_bytes().to_vec();
        let digits: Vec<usize> = (0..bytes.len() - 2).filter(|&i| bytes[i].is_ascii_digit()).collect();
        prop_assume!(!digits.is_empty());
        let i = digits[pos % digits.len()];
        bytes[i] = b'0' + (bytes[i] - b'0' + d) % 10;
        let changed = std::str::from_utf8(&bytes).unwrap();
        if TaxId::parse(changed).is_ok() {
            prop_assert_eq!(s.as_bytes()[s.len() - 2], b'0', "{} → {} accepted", s, changed);
        }
    }

    #[test]
    fn basic_auth_round_trips_any_secret(id in "[^\\p{Cc}]{1,20}", secret in "[:+% a-zA-Z0-9\u{e9}\u{4e2d}\u{1f600}]{0,30}") {
        let value = client_auth::basic_authorization(&id, &Secret::new(secret.clone())).unwrap();
        let (id2, secret2) = client_auth::parse_basic_authorization(&value).unwrap();
        prop_assert_eq!((id2, secret2.expose().to_owned()), (id, secret));
    }

    #[test]
    fn decoders_are_total(body in prop::collection::vec(any::<u8>(), 0..512), status in prop::sample::select(vec![200u16, 204, 400, 401, 403, 406, 500]), ct in 0usize..4) {
        let status = StatusCode::from_u16(status).unwrap();
        let mut h = HeaderMap::new();
        let media = ["application/json", "application/vnd.vmware.vcloud.session+xml", "text/html", ""][ct];
        if !media.is_empty() {
            h.insert(CONTENT_TYPE, HeaderValue::from_static(media));
        }
        h.insert(vcd::ACCESS_TOKEN_HEADER, HeaderValue::from_static("t"));
        h.insert(vcd::TOKEN_TYPE_HEADER, HeaderValue::from_static("Bearer"));
        exercise::decoders(status, &h, &body);
    }

    #[test]
    fn decoders_are_total_on_truncated_and_mutated_documents(doc in 0usize..6, cut in 0usize..1000, flip in any::<(usize, u8)>()) {
        let docs: [&[u8]; 6] = [
            include_bytes!("../../../tests/fixtures/veeva/session-success.json"),
            include_bytes!("../../../tests/fixtures/cess/token-success.json"),
            include_bytes!("../../../tests/fixtures/vcd/session.xml"),
            br#"{"access_token":"AT","refresh_token":"R","expires_in":7775999,"expires":1,"token_type":"Bearer","scope":"ssh","identity":"x","refresh_until":2}"#,
            br#"<Error xmlns="http://www.vmware.com/vcloud/v1.5" minorErrorCode="UNAUTHORIZED" message="m" majorErrorCode="401"/>"#,
            br#"{"responseStatus":"FAILURE","errors":[{"type":"INVALID_SESSION_ID","message":"m"}],"errorType":"AUTHENTICATION_FAILED"}"#,
        ];
        let mut body = docs[doc][..cut.min(docs[doc].len())].to_vec();
        if !body.is_empty() {
            let i = flip.0 % body.len();
            body[i] ^= flip.1;
        }
        for status in [StatusCode::OK, StatusCode::UNAUTHORIZED] {
            exercise::decoders(status, &HeaderMap::new(), &body);
        }
    }

    #[test]
    fn server_parsers_are_total(
        body in prop::collection::vec(any::<u8>(), 0..512), ct in 0usize..4, auth in prop::option::of(prop::collection::vec(32u8..127, 0..80)),
        accept in prop::option::of("[ -~]{0,60}"), method in prop::sample::select(vec![Method::POST, Method::GET, Method::DELETE]),
        path in "/[ -~]{0,40}",
    ) {
        let mut b = Request::builder().method(method).uri(http::Uri::try_from(path.replace(' ', "%20")).unwrap_or_else(|_| http::Uri::from_static("/")));
        let media = ["application/json", "application/x-www-form-urlencoded", "text/plain", ""][ct];
        if !media.is_empty() {
            b = b.header(CONTENT_TYPE, media);
        }
        if let Some(a) = auth.and_then(|a| HeaderValue::from_bytes(&a).ok()) {
            b = b.header(AUTHORIZATION, a);
        }
        if let Some(a) = accept.and_then(|a| HeaderValue::from_str(&a).ok()) {
            b = b.header(ACCEPT, a);
        }
        exercise::server_parsers(&b.body(Bytes::from(body)).unwrap());
    }

    #[test]
    fn small_parsers_are_total(s in "\\PC{0,80}") {
        exercise::text_parsers(&s);
    }

    /// A Bearer value's token is what follows the scheme, never empty and
    /// never padded, whatever blanks surround either.
    #[test]
    fn a_bearer_token_is_never_empty_or_padded(pad in "[ \t]{0,3}", gap in " [ \t]{0,3}", scheme in "(?i)bearer|basic", token in "[ \t!-~]{0,20}", tail in "[ \t]{0,3}") {
        let value = format!("{pad}{scheme}{gap}{token}{tail}");
        let expected = token.trim();
        let got = tokenprobe_protocol::rfc6749::bearer_credentials(&value);
        if scheme.eq_ignore_ascii_case("bearer") && !expected.is_empty() {
            prop_assert_eq!(got, Some(expected));
        } else {
            prop_assert_eq!(got, None);
        }
    }
}
