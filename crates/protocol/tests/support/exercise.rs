//! Every parser of the protocol crate, called once: shared by the proptest
//! properties and the cargo-fuzz targets, so a new parser is covered by both.
// Each fuzz target uses one of these functions.
#![allow(dead_code)]

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, StatusCode};
use tokenprobe_protocol::client_auth::{self, ClientAuth};
use tokenprobe_protocol::taxid::TaxId;
use tokenprobe_protocol::venafi::Scope;
use tokenprobe_protocol::{
    BaseUrl, Secret, cess, cognito, discovery, jwt, vcd, vcschema, veeva, venafi,
};

/// Every client-side decoder on one response.
pub(crate) fn decoders(status: StatusCode, headers: &HeaderMap, body: &[u8]) {
    let cess = cess::TokenRequest::new("a", Secret::new("s"), "52998224725", Secret::new("1"))
        .and_then(|r| r.with_lifetime(60));
    if let Ok(r) = cess {
        let _ = r.decode_response(status, headers, body);
    }
    if let Ok(r) = cognito::TokenRequest::new("a", Secret::new("s"), ClientAuth::Basic) {
        let _ = r.decode_response(status, headers, body);
    }
    if let Ok(r) = venafi::AuthorizeRequest::new("a", "u", Secret::new("p"), "ssh") {
        let _ = r.decode_response(status, headers, body);
    }
    if let Ok(r) = veeva::SessionRequest::new("p", Secret::new("t")) {
        let _ = r.decode_response(status, headers, body);
    }
    if let Ok(r) = vcd::SessionRequest::new(Secret::new("t"), "Finance") {
        let _ = r.decode_response(status, headers, body);
    }
    let _ = vcd::VcdSession::from_xml(body);
    let _ = vcd::VcdError::from_xml(body);
    let _ = vcd::VcdError::from_json(body);
    let _ = venafi::VenafiError::decode(status, body);
    if let Ok(m) = discovery::Metadata::parse("https://as.example", body) {
        let _ = m.token_endpoint();
        let _ = (m.auth_methods(), m.grant_types());
    }
    let _ = serde_json::from_slice::<client_auth::AssertionClaims>(body)
        .map(|c| c.problem("a", &["https://as.example/token".to_owned()], 1_000));
}

/// Every server-side parser on one request, and the response each rejection gives.
pub(crate) fn server_parsers(req: &Request<Bytes>) {
    let _ = cognito::parse_request(req).map_err(|r| r.to_response());
    let _ = cess::parse_request(req).map_err(|r| r.to_response());
    let _ = venafi::parse_authorize(req).map_err(|e| e.to_response());
    let _ = venafi::parse_refresh(req).map_err(|e| e.to_response());
    let _ = venafi::BearerCall::parse(req).map_err(|e| e.to_response());
    let _ = veeva::parse_request(req).map_err(|f| f.to_response());
    let _ = vcd::parse_request(req).map_err(|e| e.to_response(vcd::SessionFormat::Xml));
    let _ = vcd::LogoutRequest::parse(req).map_err(|e| e.to_response(vcd::SessionFormat::Json));
}

/// Every parser of a short text, with round trips where a value parsed.
pub(crate) fn text_parsers(s: &str) {
    if let Ok(id) = TaxId::parse(s) {
        assert_eq!(TaxId::parse(id.as_str()).as_ref(), Ok(&id));
    }
    if let Ok(scope) = s.parse::<Scope>() {
        assert_eq!(scope.to_string().parse::<Scope>().as_ref(), Ok(&scope));
    }
    match vcschema::decode(s) {
        Ok((p, t)) => {
            assert_eq!(
                vcschema::decode(&vcschema::encode(&p, &t)),
                Ok((p.clone(), t.clone()))
            );
            assert_eq!(vcschema::encodes(s, &p, &t), Ok(true));
        }
        Err(e) => assert_eq!(vcschema::encodes(s, "p", "t"), Err(e)),
    }
    let _ = jwt::decode_unverified(s);
    let _ = discovery::locations(s);
    if let Ok(url) = s.parse::<BaseUrl>() {
        let _ = url.join("/oauth2/token");
    }
    let _ = s.parse::<vcd::ApiVersion>();
    let _ = vcd::SessionFormat::from_accept(s);
    if let Ok(v) = HeaderValue::from_str(s) {
        let _ = client_auth::parse_basic_authorization(&v);
        let _ = vcd::parse_authorization(&v);
    }
}
