//! Every client-side decoder on arbitrary bodies, statuses and media types.
#![no_main]

use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue, StatusCode};
use libfuzzer_sys::fuzz_target;
use tokenprobe_protocol::client_auth::ClientAuth;
use tokenprobe_protocol::{Secret, cess, cognito, vcd, veeva, venafi};

const STATUSES: [u16; 8] = [200, 204, 400, 401, 403, 406, 500, 502];
const MEDIA: [&str; 4] = [
    "application/json",
    "application/vnd.vmware.vcloud.session+xml",
    "text/html",
    "",
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let status = StatusCode::from_u16(STATUSES[usize::from(selector & 7)]).unwrap();
    let mut headers = HeaderMap::new();
    let media = MEDIA[usize::from(selector >> 3 & 3)];
    if !media.is_empty() {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(media));
    }
    if selector & 0x20 != 0 {
        headers.insert(vcd::ACCESS_TOKEN_HEADER, HeaderValue::from_static("t"));
        headers.insert(vcd::TOKEN_TYPE_HEADER, HeaderValue::from_static("Bearer"));
    }
    let cess =
        cess::TokenRequest::new("a", Secret::new("s"), "52998224725", Secret::new("1")).unwrap();
    let _ = cess.decode_response(status, &headers, body);
    let cognito = cognito::TokenRequest::new("a", Secret::new("s"), ClientAuth::Basic).unwrap();
    let _ = cognito.decode_response(status, &headers, body);
    let venafi = venafi::AuthorizeRequest::new("a", "u", Secret::new("p"), "ssh").unwrap();
    let _ = venafi.decode_response(status, &headers, body);
    let veeva = veeva::SessionRequest::new("p", Secret::new("t")).unwrap();
    let _ = veeva.decode_response(status, &headers, body);
    let vcd = vcd::SessionRequest::new(Secret::new("t"), "Finance").unwrap();
    let _ = vcd.decode_response(status, &headers, body);
    let _ = vcd::VcdSession::from_xml(body);
    let _ = vcd::VcdError::from_xml(body);
});
