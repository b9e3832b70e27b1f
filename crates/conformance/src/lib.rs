//! Conformance: the contract catalog ([`catalog`]), one check per contract
//! id a live server can break, runnable against the stub in tests or
//! against a staging endpoint; and (in `tests/`) the suite: wiremock tests
//! for every `req` and `resp` id, the catalog against the in-process stub for
//! every `srv` id, and end-to-end runs of the client against the stub.

pub mod catalog;
