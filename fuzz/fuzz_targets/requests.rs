//! Every server-side parser on arbitrary requests: the first line of the
//! input is `METHOD PATH`, then `name: value` header lines, a blank line and
//! the body.
#![no_main]

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Request};
use libfuzzer_sys::fuzz_target;

#[path = "../../crates/protocol/tests/support/exercise.rs"]
mod exercise;

fn request(data: &[u8]) -> Option<Request<Bytes>> {
    let split = data
        .windows(2)
        .position(|w| w == b"\n\n")
        .unwrap_or(data.len());
    let (head, body) = data.split_at(split);
    let head = std::str::from_utf8(head).ok()?;
    let mut lines = head.lines();
    let (method, path) = lines.next()?.split_once(' ')?;
    let mut b = Request::builder()
        .method(Method::from_bytes(method.as_bytes()).ok()?)
        .uri(path);
    for line in lines {
        let (k, v) = line.split_once(':')?;
        b = b.header(
            HeaderName::from_bytes(k.trim().as_bytes()).ok()?,
            HeaderValue::from_str(v.trim()).ok()?,
        );
    }
    b.body(Bytes::copy_from_slice(body.get(2..).unwrap_or_default()))
        .ok()
}

fuzz_target!(|data: &[u8]| {
    if let Some(req) = request(data) {
        exercise::server_parsers(&req);
    }
});
