//! The in-process stub and catalog targets for it.

#![allow(dead_code, unreachable_pub)]

pub mod assertions;
mod flows;

#[allow(unused_imports)]
pub use flows::{demo, demo_replacing, flow, target_at, tls_target_at};
use tokenprobe_conformance::catalog::{System, entry_for};
use tokenprobe_conformance::endpoint::Target;
use tokenprobe_conformance::run::{Outcome, Verdict, one};
use tokenprobe_protocol::jwt::Algorithm as JwtAlgorithm;
use tokenprobe_stub::{Config, Stub, StubHandle};

/// The demo configuration with ES256 keys (fast to make).
pub fn fast_config() -> Config {
    let mut c = Config::default();
    c.jwt.algorithm = JwtAlgorithm::ES256;
    c
}

/// A target for `system` on a running stub, as the demo accounts.
pub fn target(stub: &StubHandle, system: System) -> Target {
    target_at(&stub.base_url(), &demo(system))
}

/// One target per system on a running stub.
pub fn targets(stub: &StubHandle) -> Vec<Target> {
    System::ALL.iter().map(|s| target(stub, *s)).collect()
}

/// The stub's DPoP-bound demo client, its proofs made with a key of the
/// run's own.
pub const DPOP_FLOW: &str = "system = \"cognito\"\nclient_id = \"tokenprobe-demo-dpop\"\n\
                             client_secret = { value = \"demo-secret\" }\ndpop = { bound = true }";

/// The stub's `tls_client_auth` demo client, its certificate issued by
/// the demo client CA (paths from the crate's directory).
pub const MTLS_FLOW: &str = "system = \"cognito\"\nclient_id = \"tokenprobe-demo-mtls\"\n\
                             auth = \"tls_client_auth\"\n\
                             certificate = { file = \"../../crates/stub/demo-keys/client-mtls.pem\" }\n\
                             private_key = { file = \"../../crates/stub/demo-keys/client-mtls.key.pem\" }";

/// The stub's `self_signed_tls_client_auth` demo client.
pub const SELF_SIGNED_FLOW: &str = "system = \"cognito\"\nclient_id = \"tokenprobe-demo-self-signed\"\n\
                             auth = \"self_signed_tls_client_auth\"\n\
                             certificate = { file = \"../../crates/stub/demo-keys/client-self-signed.pem\" }\n\
                             private_key = { file = \"../../crates/stub/demo-keys/client-self-signed.key.pem\" }";

/// A stub that serves TLS (a CA made for it), for the mutual-TLS flows.
pub async fn tls_stub(config: Config) -> StubHandle {
    Stub::builder(config)
        .tls(tokenprobe_stub::Tls::SelfSigned)
        .start()
        .await
        .expect("the stub starts")
}

/// Every kind of target on a stub that serves TLS: one per system, a
/// `cognito` one that sends DPoP proofs, one that authenticates with a
/// certificate.
pub fn targets_with_bindings(stub: &StubHandle) -> Vec<Target> {
    let ca = stub.ca_pem().expect("a stub with TLS");
    let base = stub.base_url();
    let mut all: Vec<Target> = System::ALL
        .iter()
        .map(|s| tls_target_at(&base, &demo(*s), ca))
        .collect();
    all.push(tls_target_at(&base, &flow(DPOP_FLOW), ca));
    all.push(tls_target_at(&base, &flow(MTLS_FLOW), ca));
    all
}

/// A running stub and a `cognito` target for it (the request helpers work
/// for every system).
pub async fn stub(config: Config) -> (StubHandle, Target) {
    let stub = Stub::start(config).await.expect("the stub starts");
    let target = target(&stub, System::Cognito);
    (stub, target)
}

/// Runs check `id` against each system it applies to on a fresh stub.
pub async fn verdicts(config: Config, id: &str) -> Vec<Verdict> {
    let stub = Stub::start(config).await.expect("the stub starts");
    let entry = entry_for(id).expect("a catalog entry");
    let mut out = Vec::new();
    for system in entry.systems {
        out.push(one(entry, &target(&stub, *system)).await);
    }
    out
}

/// Panics unless every verdict passed (or was skipped with a reason).
pub fn assert_holds(verdicts: &[Verdict]) {
    for v in verdicts {
        let skipped_with_reason = v.outcome == Outcome::Skip && !v.reason.is_empty();
        assert!(
            v.outcome == Outcome::Pass || skipped_with_reason,
            "{} on {}: {} {}",
            v.id,
            v.system,
            v.outcome.name(),
            v.reason
        );
    }
}

/// The stub's route configuration calls `name`.
pub fn route(name: &str) -> tokenprobe_stub::Route {
    tokenprobe_stub::Route::named(name).expect("a route of the stub")
}
