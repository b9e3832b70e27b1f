//! The small text parsers: tax ids, scopes, VCSchema, JWTs, URLs, versions,
//! `Accept` and `Authorization` values. Each must return, never panic, and
//! what parses must format back to something that parses to the same value.
#![no_main]

use http::HeaderValue;
use libfuzzer_sys::fuzz_target;
use tokenprobe_protocol::taxid::TaxId;
use tokenprobe_protocol::venafi::Scope;
use tokenprobe_protocol::{BaseUrl, client_auth, jwt, vcd, vcschema};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(id) = TaxId::parse(s) {
        assert_eq!(TaxId::parse(id.as_str()).as_ref(), Ok(&id));
    }
    if let Ok(scope) = s.parse::<Scope>() {
        assert_eq!(scope.to_string().parse::<Scope>().as_ref(), Ok(&scope));
    }
    if let Ok((p, t)) = vcschema::decode(s) {
        assert_eq!(vcschema::decode(&vcschema::encode(&p, &t)), Ok((p, t)));
    }
    let _ = jwt::decode_unverified(s);
    if let Ok(url) = s.parse::<BaseUrl>() {
        let _ = url.join("/oauth2/token");
    }
    let _ = s.parse::<vcd::ApiVersion>();
    let _ = vcd::SessionFormat::from_accept(s);
    if let Ok(v) = HeaderValue::from_str(s) {
        let _ = client_auth::parse_basic_authorization(&v);
        let _ = vcd::parse_authorization(&v);
    }
});
