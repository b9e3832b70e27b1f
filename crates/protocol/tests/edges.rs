//! Rules at their edges that no other test reached, each found by a
//! mutant that survived `scripts/mutants.sh protocol`: the documents' nesting,
//! the body sniffing, the errors' words, the server side's refusals.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode};
use tokenprobe_protocol::vcd::{self, VcdSession};
use tokenprobe_protocol::{
    ProviderError, Secret,
    taxid::{TaxId, TaxIdError},
    veeva, venafi, wire,
};

fn post(path: &str, headers: &[(&'static str, &str)], body: &str) -> Request<Bytes> {
    let mut req = Request::new(Bytes::from(body.to_owned()));
    *req.method_mut() = Method::POST;
    *req.uri_mut() = path.parse().unwrap();
    for (k, v) in headers {
        req.headers_mut()
            .insert(*k, HeaderValue::from_str(v).unwrap());
    }
    req
}

/// A Link is a child of the Session, wherever its siblings nest; one
/// deeper belongs to another element; other children need no `rel`.
#[test]
fn session_links_are_the_roots_children_only() {
    let xml = br#"<Session xmlns="http://www.vmware.com/vcloud/v1.5" user="u" org="o" roles="a, b,,c">
        <AuthorizedLocations><Location><Link rel="nested" href="https://x/n"/></Location></AuthorizedLocations>
        <Other/>
        <Link rel="down" href="https://x/org" type="application/vnd.vmware.vcloud.orgList+xml"/>
    </Session>"#;
    let s = VcdSession::from_xml(xml).unwrap();
    let rels: Vec<&str> = s.links.iter().map(|l| l.rel.as_str()).collect();
    assert_eq!(rels, ["down"]);
    assert_eq!(s.roles, ["a", "b", "c"]);
    // Written back: roles only when there are some.
    let again = VcdSession::from_xml(&s.to_xml()).unwrap();
    assert_eq!(again.roles, ["a", "b", "c"]);
    let bare = VcdSession {
        roles: Vec::new(),
        ..s
    };
    let text = String::from_utf8(bare.to_xml()).unwrap();
    assert!(!text.contains("roles="), "{text}");
}

/// Without a media type a body is XML when it starts with `<` (after
/// blanks); with one, the media type decides.
#[test]
fn a_session_body_is_sniffed_only_without_a_media_type() {
    let req = vcd::SessionRequest::new(Secret::new("idp-token"), "o").unwrap();
    let mut headers = HeaderMap::new();
    headers.insert(
        "x-vmware-vcloud-access-token",
        HeaderValue::from_static("t"),
    );
    headers.insert(
        "x-vmware-vcloud-token-type",
        HeaderValue::from_static("Bearer"),
    );
    let xml = b"  \n<Session user=\"u\" org=\"o\"/>";
    let json = br#"{"user":{"name":"u"},"org":{"name":"o"}}"#;
    let ok = |h: &HeaderMap, body: &[u8]| req.decode_response(StatusCode::OK, h, body).is_ok();
    assert!(ok(&headers, xml));
    assert!(ok(&headers, json));
    let mut labelled = headers.clone();
    labelled.insert("content-type", HeaderValue::from_static("application/json"));
    assert!(ok(&labelled, json));
    assert!(!ok(&labelled, xml));
    // A media type that says neither is sniffed.
    labelled.insert("content-type", HeaderValue::from_static("text/plain"));
    assert!(ok(&labelled, xml));
    assert!(ok(&labelled, json));
    labelled.insert(
        "content-type",
        HeaderValue::from_static("application/vnd.vmware.vcloud.session+xml"),
    );
    assert!(ok(&labelled, xml));
    assert!(!ok(&labelled, json));
}

/// A token that would end early before `; org=` is refused when the
/// request is made, not sent.
#[test]
fn a_vcd_token_with_a_separator_is_refused() {
    for bad in ["a;b", "a,b"] {
        let err = vcd::SessionRequest::new(Secret::new(bad), "o").unwrap_err();
        assert!(err.to_string().contains("`;` or `,`"), "{err}");
    }
}

#[test]
fn errors_display_their_parts() {
    let e = vcd::VcdError::new(401, "UNAUTHORIZED", "no session");
    assert_eq!(e.to_string(), "401 UNAUTHORIZED: no session");
    let f = veeva::VaultFailure::invalid_token();
    let text = f.to_string();
    assert!(text.starts_with("FAILURE"), "{text}");
    assert!(text.contains(": "), "{text}");
}

/// Vault's verdict is its `responseStatus`: a body that is not JSON is
/// an HTTP error under an error status and a broken contract under 200.
#[test]
fn a_vault_body_that_is_not_json_is_judged_by_its_status() {
    let req = veeva::SessionRequest::new("p", Secret::new("t")).unwrap();
    let decode = |status| req.decode_response(status, &HeaderMap::new(), b"<html>down</html>");
    assert!(matches!(
        decode(StatusCode::BAD_GATEWAY),
        Err(ProviderError::Status { status, .. }) if status == StatusCode::BAD_GATEWAY
    ));
    assert!(matches!(
        decode(StatusCode::OK),
        Err(ProviderError::Decode(_))
    ));
}

/// The server side reads a profile from the last path segment only, and
/// an id that is no profile id is an unknown profile, not a bad token.
#[test]
fn a_vault_session_path_names_one_profile() {
    let auth = [("authorization", "Bearer t")];
    let prefix = veeva::SESSION_PATH_PREFIX;
    assert_eq!(
        veeva::parse_request(&post(&format!("{prefix}p1"), &auth, ""))
            .unwrap()
            .profile_id(),
        "p1"
    );
    for path in [
        format!("{prefix}a/b"),
        prefix.to_owned(),
        format!("{prefix}%20"),
    ] {
        let err = veeva::parse_request(&post(&path, &auth, "")).unwrap_err();
        assert_eq!(err, veeva::VaultFailure::unknown_profile(), "{path}");
    }
}

#[test]
fn a_get_for_json_asks_for_json_at_its_url() {
    let req = wire::get_json("https://as.example/.well-known/x?y=1").unwrap();
    assert_eq!(req.method(), Method::GET);
    assert_eq!(req.uri(), "https://as.example/.well-known/x?y=1");
    assert_eq!(req.headers()["accept"], "application/json");
    assert!(req.body().is_empty());
    assert!(wire::get_json("not a url at all").is_err());
}

#[test]
fn a_venafi_scope_lists_its_items() {
    let s: venafi::Scope = "certificate:discover,manage;configuration".parse().unwrap();
    let names: Vec<String> = s.items().iter().map(|i| i.name.to_string()).collect();
    assert_eq!(names, ["certificate", "configuration"]);
    assert_eq!(s.items()[0].privileges.len(), 2);
}

/// A base of the wrong length names the length a whole id would have.
#[test]
fn a_tax_id_base_of_the_wrong_length_names_the_whole_length() {
    assert_eq!(TaxId::complete("1234"), Err(TaxIdError::Length(6)));
    assert!(TaxId::complete("123456789").is_ok());
}
