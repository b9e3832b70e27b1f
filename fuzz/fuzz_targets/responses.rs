//! Every client-side decoder on arbitrary bodies, statuses and media types.
#![no_main]

use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue, StatusCode};
use libfuzzer_sys::fuzz_target;
use tokenprobe_protocol::vcd;

#[path = "../../crates/protocol/tests/support/exercise.rs"]
mod exercise;

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
    exercise::decoders(status, &headers, body);
});
