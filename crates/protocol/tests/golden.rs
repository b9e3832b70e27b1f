//! Golden tests on the seed documents' own examples (tests/fixtures).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue, StatusCode};
use tokenprobe_protocol::venafi::Scope;
use tokenprobe_protocol::{GrantExtra, GrantKind, Secret, cess, vcd, vcschema, veeva};

macro_rules! fixture {
    ($path:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/",
            $path
        ))
    };
}

fn json_headers() -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h
}

#[test]
fn vv_04_seed_session_parses() {
    let req = veeva::SessionRequest::new(
        "_9ad0a091-cbd6-4c59-ab5a-d4f2870f218c",
        Secret::new("1C29326C3DF"),
    )
    .unwrap();
    let grant = req
        .decode_response(
            StatusCode::OK,
            &json_headers(),
            fixture!("veeva/session-success.json"),
        )
        .unwrap();
    assert_eq!(grant.kind, GrantKind::VaultSession);
    assert_eq!(grant.secret.expose().len(), 128);
    assert!(grant.secret.expose().starts_with("3B3C45FD"));
    assert!(grant.warnings.is_empty(), "{:?}", grant.warnings);
    let GrantExtra::Vault(s) = &grant.extra else {
        panic!("not a Vault session: {:?}", grant.extra)
    };
    assert_eq!(s.user_id, Some(12021));
    assert_eq!(s.vault_id, Some(1776));
    let names: Vec<_> = s
        .vault_ids
        .iter()
        .map(|v| (v.id, v.name.as_str()))
        .collect();
    assert_eq!(
        names,
        [(1776, "PromoMats"), (1777, "eTMF"), (1779, "QualityDocs")]
    );
    assert_eq!(
        s.vault_ids[0].url,
        "https://promomats-veevapharm.veevavault.com/api"
    );
}

#[test]
fn ce_05_ce_06_seed_token_parses_and_vcschema_round_trips() {
    let body = fixture!("cess/token-success.json");
    let req = cess::TokenRequest::new(
        "app",
        Secret::new("s"),
        "52998224725",
        Secret::new("123456"),
    )
    .unwrap()
    .with_scopes(["signature_session", "service_2fa"])
    .unwrap();
    let grant = req
        .decode_response(StatusCode::OK, &json_headers(), body)
        .unwrap();
    assert_eq!(
        grant.secret.expose(),
        "41442a8c2bb0609d248cc467342c4f1b0a51c92c"
    );
    assert_eq!(grant.expires_in.unwrap().as_secs(), 604_800);
    assert_eq!(grant.token_type, "bearer");
    assert_eq!(
        grant.scope.as_deref(),
        Some("signature_session service_2fa")
    );
    let GrantExtra::Cess {
        provider,
        authorization,
    } = &grant.extra
    else {
        panic!()
    };
    assert_eq!(provider, "SOLUTIHOM");

    let seed_value =
        "VCSchema U09MVVRJSE9NLXw0MTQ0MmE4YzJiYjA2MDlkMjQ4Y2M0NjczNDJjNGYxYjBhNTFjOTJj";
    assert_eq!(authorization.expose(), seed_value);
    assert_eq!(grant.authorization().expose(), seed_value);
    let (p, t) = vcschema::decode(seed_value).unwrap();
    assert_eq!(
        (p.as_str(), t.as_str()),
        ("SOLUTIHOM", "41442a8c2bb0609d248cc467342c4f1b0a51c92c")
    );
    assert_eq!(vcschema::encode(&p, &t), seed_value);
}

#[test]
fn vcd_04_seed_session_xml_parses() {
    let s = vcd::VcdSession::from_xml(fixture!("vcd/session.xml")).unwrap();
    assert_eq!(s.user, "bob");
    assert_eq!(s.org, "Finance");
    assert!(
        s.user_urn
            .as_deref()
            .unwrap()
            .starts_with("urn:vcloud:user:")
    );
    let links: Vec<_> = s
        .links
        .iter()
        .map(|l| {
            (
                l.rel.as_str(),
                l.media_type.as_deref().unwrap(),
                l.name.as_deref(),
                l.href.as_str(),
            )
        })
        .collect();
    assert_eq!(
        links,
        [
            (
                "down",
                "application/vnd.vmware.vcloud.org+xml",
                Some("System"),
                "https://vcloud.example.com/api/org/5"
            ),
            (
                "down",
                "application/vnd.vmware.vcloud.query.queryList+xml",
                None,
                "https://vcloud.example.com/api/query"
            ),
            (
                "entityResolver",
                "application/vnd.vmware.vcloud.entity+xml",
                None,
                "https://vcloud.example.com/api/entity/"
            ),
            (
                "down:extensibility",
                "application/vnd.vmware.vcloud.apiextensibility+xml",
                None,
                "https://vcloud.example.com/api/extensibility"
            ),
        ]
    );
    // Our own XML form of the same session parses back to it.
    assert_eq!(vcd::VcdSession::from_xml(&s.to_xml()).unwrap(), s);
}

#[test]
fn ve_02_every_seed_scope_parses_and_formats_back() {
    let text = std::str::from_utf8(fixture!("venafi/scopes.txt")).unwrap();
    let examples: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(examples.len(), 4);
    for example in examples {
        let scope: Scope = example.parse().unwrap();
        assert_eq!(scope.to_string(), example);
    }
}

/// The seed's JSON with the white space between tokens removed.
fn minified(json: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let (mut in_string, mut escaped) = (false, false);
    for &b in json {
        if in_string {
            out.push(b);
            (in_string, escaped) = match (escaped, b) {
                (false, b'\\') => (true, true),
                (false, b'"') => (false, false),
                _ => (true, false),
            };
        } else if !b.is_ascii_whitespace() {
            in_string = b == b'"';
            out.push(b);
        }
    }
    out
}

#[test]
fn server_encoders_reproduce_the_seed_bodies_byte_for_byte() {
    let vaults = [
        (1776, "PromoMats", "promomats"),
        (1777, "eTMF", "etmf"),
        (1779, "QualityDocs", "qualitydocs"),
    ]
    .map(|(id, name, host)| veeva::VaultRef {
        id,
        name: name.into(),
        url: format!("https://{host}-veevapharm.veevavault.com/api"),
    })
    .to_vec();
    let session_id = "3B3C45FD240E26F0C3DB4F82BBB0C15C7EFE4B29EF9916AF41AF7E44B170BAA01F232B462BE5C2BE2ACB82F6704FDA216EBDD69996EB23A6050723D1EFE6FA2B";
    let vault = veeva::SessionBody::new(session_id, 12021, vaults, 1776).to_response();
    assert_eq!(
        vault.body().as_ref(),
        minified(fixture!("veeva/session-success.json"))
    );

    let cess = cess::TokenBody::new(
        "41442a8c2bb0609d248cc467342c4f1b0a51c92c",
        std::time::Duration::from_secs(604_800),
        "signature_session service_2fa",
        "SOLUTIHOM",
    )
    .to_response();
    assert_eq!(
        cess.body().as_ref(),
        minified(fixture!("cess/token-success.json"))
    );
    assert_eq!(
        cess.headers()[CONTENT_TYPE],
        "application/json;charset=UTF-8"
    );
}
