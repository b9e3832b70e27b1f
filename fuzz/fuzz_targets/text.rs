//! The small text parsers: tax ids, scopes, VCSchema, JWTs, URLs, versions,
//! `Accept` and `Authorization` values. Each must return, never panic, and
//! what parses must format back to something that parses to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/protocol/tests/support/exercise.rs"]
mod exercise;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        exercise::text_parsers(s);
    }
});
