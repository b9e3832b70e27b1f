//! Conformance: the contract catalog and what runs it against a live
//! server. [`catalog`] holds one entry per contract id a server can break,
//! each bound to its code in [`checks`] (the requests it sends and how it
//! reads the answers); [`run`] decides the order, the safety rules and the
//! verdicts, and [`report`] writes the table, JSON and JUnit forms.
//! [`target`] is one flow's server and account, built by the client's own
//! flow configuration; [`evidence`] keeps what was sent and received, with
//! every secret redacted.
//!
//! The suite (in `tests/`) proves the client right with wiremock tests for
//! every `req` and `resp` id, and the catalog right against the in-process
//! stub: every check passes on the demo configuration, and each stub quirk
//! breaks exactly the check it names.

pub mod catalog;
pub mod checks;
pub mod endpoint;
pub mod evidence;
pub mod report;
pub mod run;
pub mod scenario;
