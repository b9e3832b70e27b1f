//! Each quirk breaks exactly the contract it names, on each route it
//! applies to: every other check still passes.

mod support;

use std::collections::BTreeSet;

use support::stub;
use tokenprobe_conformance::catalog::{CHECKS, check};
use tokenprobe_stub::{Config, Quirk};

async fn broken_checks(config: Config) -> BTreeSet<String> {
    let (_stub, h) = stub(config).await;
    let mut broken = BTreeSet::new();
    for id in CHECKS {
        if check(&h, id).await.is_err() {
            broken.insert((*id).to_owned());
        }
    }
    broken
}

#[tokio::test]
async fn each_quirk_breaks_exactly_its_contract() {
    let mut mismatches = Vec::new();
    for quirk in Quirk::ALL {
        for (route, id) in quirk.breaks() {
            let text = format!(
                "[jwt]\nalgorithm = \"ES256\"\n[faults.{}]\nquirks = [\"{}\"]\n",
                route.name(),
                quirk.name()
            );
            let config = Config::from_toml(&text, "quirk.toml").unwrap();
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
    let e = Config::from_toml(text, "stub.toml").unwrap_err();
    assert_eq!((e.line, e.column), (Some(2), Some(11)), "{e}");
    assert!(
        e.to_string()
            .starts_with("stub.toml:2:11: quirk `wrong-org` does not apply to route `cess`"),
        "{e}"
    );
}
