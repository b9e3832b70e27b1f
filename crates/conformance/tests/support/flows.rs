//! Targets built as `tokenprobe check` builds them: from `[[flows]]`
//! configuration (the stub's demo accounts, in `fixtures/demo-flows.toml`,
//! or a test's own table). Shared with the stub's tests.

use serde::Deserialize;
use tokenprobe_client::{FlowConfig, HttpOptions, Transport};
use tokenprobe_conformance::endpoint::Target;
use tokenprobe_protocol::{BaseUrl, System};

/// The stub's demo accounts, one flow per system.
pub const DEMO_FLOWS: &str = include_str!("../fixtures/demo-flows.toml");

#[derive(Deserialize)]
struct Flows {
    flows: Vec<FlowConfig>,
}

/// The demo flow of `system`.
pub fn demo(system: System) -> FlowConfig {
    demo_replacing(system, &[])
}

/// The demo flow of `system`, with each `(from, to)` replaced in its text
/// first (another secret, another path).
pub fn demo_replacing(system: System, replace: &[(&str, &str)]) -> FlowConfig {
    let text = replace
        .iter()
        .fold(DEMO_FLOWS.to_owned(), |t, (from, to)| t.replace(from, to));
    let all: Flows = toml::from_str(&text).expect("the demo flows parse");
    all.flows
        .into_iter()
        .find(|f| f.system() == system)
        .expect("a demo flow per system")
}

/// One flow from the text of its `[[flows]]` table.
pub fn flow(table: &str) -> FlowConfig {
    let all: Flows = toml::from_str(&format!("[[flows]]\n{table}")).expect("the flow parses");
    all.flows.into_iter().next().expect("one flow")
}

/// A target for `config` at `base`, over a default transport.
pub fn target_at(base: &BaseUrl, config: &FlowConfig) -> Target {
    let transport = Transport::new(&HttpOptions::default()).expect("a transport");
    Target::from_config(config, base, transport).expect("the flow is valid")
}

/// A target for `config` at `base` as `check` builds it for a stub that
/// serves TLS with `ca`: its transport trusts the CA and presents the
/// flow's client certificate, if any, and its bare transport does not.
pub fn tls_target_at(base: &BaseUrl, config: &FlowConfig, ca: &str) -> Target {
    let options = HttpOptions::default();
    let identity = config.client_identity().expect("the certificate reads");
    let transport =
        Transport::with(&options, Some(ca.as_bytes()), identity.as_ref()).expect("a transport");
    let bare = Transport::with(&options, Some(ca.as_bytes()), None).expect("a transport");
    Target::from_config(config, base, transport)
        .expect("the flow is valid")
        .with_bare_transport(bare)
}
