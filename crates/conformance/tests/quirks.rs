//! Each quirk breaks exactly the contract it names, on each route it
//! applies to: every other check still passes (or skips with a reason),
//! and the broken one says how, under its id.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use tokenprobe_conformance::catalog::ENTRIES;
use tokenprobe_conformance::report;
use tokenprobe_conformance::run::{Outcome, Selection, run};
use tokenprobe_stub::{Config, DEMAND, Quirk};

/// The ids that failed or warned, after checking that every non-pass
/// says why and that nothing errored.
async fn broken_checks(config: Config) -> BTreeSet<String> {
    let stub = support::tls_stub(config).await;
    let selection = Selection {
        include_negative: true,
        spacing: Duration::ZERO,
        ..Selection::default()
    };
    let targets = support::targets_with_bindings(&stub);
    let every: usize = targets
        .iter()
        .map(|t| {
            ENTRIES
                .iter()
                .filter(|e| e.systems.contains(&t.system))
                .count()
        })
        .sum();
    let r = run(&targets, &selection, |_| {}).await;
    assert_eq!(r.verdicts.len(), every, "{}", report::table(&r));
    let mut broken = BTreeSet::new();
    for v in &r.verdicts {
        assert_ne!(v.outcome, Outcome::Error, "{}", report::line(v));
        if v.outcome != Outcome::Pass {
            assert!(!v.reason.is_empty(), "{}", report::line(v));
        }
        if matches!(v.outcome, Outcome::Fail | Outcome::Warn) {
            assert!(report::line(v).starts_with(v.id));
            assert!(!v.evidence.is_empty(), "{} kept no evidence", v.id);
            broken.insert(v.id.to_owned());
        }
    }
    assert!(r.sessions_left.is_empty(), "{:?}", r.sessions_left);
    broken
}

#[tokio::test]
async fn each_quirk_breaks_exactly_its_contract() {
    let mut mismatches = Vec::new();
    for quirk in Quirk::ALL {
        // A demand breaks no rule; `negatives.rs` holds it to that.
        for (route, id) in quirk.breaks().iter().filter(|(_, id)| *id != DEMAND) {
            let text = format!(
                "[jwt]\nalgorithm = \"ES256\"\n[faults.{}]\nquirks = [\"{}\"]\n",
                route.name(),
                quirk.name()
            );
            let config = tokenprobe_config::stub_config(&text, "quirk.toml").unwrap();
            let broken = broken_checks(config).await;
            let expected = BTreeSet::from([(*id).to_owned()]);
            if broken != expected {
                mismatches.push(format!(
                    "{} on {route}: broke {broken:?}, expected {id}",
                    quirk.name()
                ));
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[tokio::test]
async fn the_demo_configuration_breaks_nothing() {
    let broken = broken_checks(support::fast_config()).await;
    assert!(broken.is_empty(), "{broken:?}");
}

#[test]
fn a_quirk_on_a_route_it_does_not_apply_to_is_refused_with_its_place() {
    let text = "[faults.cess]\nquirks = [\"wrong-org\"]\n";
    let e = tokenprobe_config::stub_config(text, "stub.toml").unwrap_err();
    assert_eq!((e.line, e.column), (Some(2), Some(11)), "{e}");
    assert!(
        e.to_string()
            .starts_with("stub.toml:2:11: quirk `wrong-org` does not apply to route `cess`"),
        "{e}"
    );
}
