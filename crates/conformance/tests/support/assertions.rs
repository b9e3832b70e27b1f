//! The client-assertion methods' shared proofs: every cognito check for a
//! flow, found by the stub's issuer, and the one set of checks a server
//! that verifies no assertion fails.

use std::time::Duration;

use tokenprobe_client::{Flow, FlowConfig, HttpOptions, Transport};
use tokenprobe_conformance::catalog::{ENTRIES, System};
use tokenprobe_conformance::endpoint::Target;
use tokenprobe_conformance::report;
use tokenprobe_conformance::run::{Outcome, Report, Selection, run};
use tokenprobe_stub::{Config, Stub};

/// Every cognito check, negatives included and unspaced, for the flow
/// `flow` makes from its issuer (the stub's URL), so that the discovery
/// checks run too.
pub async fn cognito_checks(config: Config, flow: impl Fn(&str) -> FlowConfig) -> Report {
    let stub = Stub::start(config).await.unwrap();
    let flow = flow(&format!("issuer = \"{}\"\n", stub.base_url()));
    let transport = Transport::new(&HttpOptions::default()).unwrap();
    let target = Target::discover(&flow, &stub.base_url(), transport)
        .await
        .unwrap();
    let selection = Selection {
        include_negative: true,
        spacing: Duration::ZERO,
        ..Selection::default()
    };
    run(&[target], &selection, |_| {}).await
}

/// A stub that takes any credential, assertions included.
pub fn lax_config() -> Config {
    tokenprobe_config::stub_config(
        "[jwt]\nalgorithm = \"ES256\"\n[faults.cognito]\nquirks = [\"any-password-accepted\"]\n",
        "q.toml",
    )
    .unwrap()
}

/// Against a server that verifies no assertion, exactly the checks that
/// send a bad one fail (a replay is only a warning: RFC 7523 lets a
/// server skip replay detection).
pub fn only_the_bad_assertion_checks_fail(r: &Report) {
    let not_passed: Vec<(&str, Outcome)> = r
        .verdicts
        .iter()
        .filter(|v| v.outcome != Outcome::Pass && v.id != "RFC-08" && !needs_another_flow(v.id))
        .map(|v| (v.id, v.outcome))
        .collect();
    assert_eq!(
        not_passed,
        [
            ("CG-08", Outcome::Fail),
            ("PK-01", Outcome::Fail),
            ("PK-02", Outcome::Fail),
            ("PK-03", Outcome::Warn),
        ],
        "{}",
        report::table(r)
    );
}

/// The checks of DPoP and mutual TLS, which a flow that uses neither
/// skips.
pub fn needs_another_flow(id: &str) -> bool {
    id.starts_with("DP-") || id.starts_with("MT-") || id == "DS-05"
}

/// Every cognito check ran and passed (RFC-08, about HTTP Basic, and the
/// DPoP ones skipped);
/// no assertion, and none of `secrets`, in any evidence.
pub fn every_cognito_check_holds(r: &Report, secrets: &[&str]) {
    let cognito = ENTRIES
        .iter()
        .filter(|e| e.systems.contains(&System::Cognito))
        .count();
    assert_eq!(r.verdicts.len(), cognito, "{}", report::table(r));
    for v in &r.verdicts {
        // RFC-08 is about HTTP Basic; the DP checks need a DPoP flow.
        let expected = match v.id {
            "RFC-08" => Outcome::Skip,
            id if needs_another_flow(id) => Outcome::Skip,
            _ => Outcome::Pass,
        };
        assert_eq!(v.outcome, expected, "{}", report::line(v));
        for e in &v.evidence {
            let text = format!("{e:?}");
            assert!(!text.contains("eyJ"), "{}: {text}", v.id);
            for secret in secrets {
                assert!(!text.contains(secret), "{}: {text}", v.id);
            }
        }
    }
}

/// Ten acquisitions in a row by `config` on the stub: its replay memory
/// refuses a `jti` it has seen, so each must sign a fresh assertion.
pub async fn ten_fresh_assertions(mut config: FlowConfig) {
    let stub = Stub::start(crate::support::fast_config()).await.unwrap();
    config.default_base_url(&stub.base_url());
    let flow = Flow::new(&config).unwrap();
    let transport = Transport::new(&HttpOptions::default()).unwrap();
    for _ in 0..10 {
        flow.acquire(&transport).await.unwrap();
    }
}
