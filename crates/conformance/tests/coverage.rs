//! Every id of the project's contract reference has a test in this suite,
//! named after it (`CG_07_…`, `fn ce_03_…`).

use std::path::Path;

#[test]
fn every_contract_id_has_a_test_named_after_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let reference = std::fs::read_to_string(root.join("../../docs/contracts.md")).unwrap();
    let ids: Vec<String> = reference
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let is_row = cells.len() > 3 && ["req", "resp", "srv"].contains(&cells[2]);
            is_row.then(|| cells[1].to_owned())
        })
        .collect();
    assert!(ids.len() >= 69, "the reference parses: {} ids", ids.len());

    let mut tests = String::new();
    for entry in std::fs::read_dir(root.join("tests")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            tests.push_str(&std::fs::read_to_string(path).unwrap().to_lowercase());
        }
    }
    let missing: Vec<&String> = ids
        .iter()
        .filter(|id| {
            let name = format!("{}_", id.to_lowercase().replace('-', "_"));
            !(tests.contains(&format!("fn {name}")) || tests.contains(&format!("    {name}")))
        })
        .collect();
    assert!(missing.is_empty(), "ids without a test: {missing:?}");
}

/// Each negative check's change, as the catalog states it, is the one the
/// reference gives for its id.
#[test]
fn the_reference_states_each_negative_checks_change() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let reference = std::fs::read_to_string(root.join("../../docs/contracts.md")).unwrap();
    let rows: Vec<(String, String)> = reference
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (cells.len() == 4).then(|| (cells[1].to_owned(), cells[2].to_owned()))
        })
        .collect();
    let mut stated = 0;
    for e in tokenprobe_conformance::catalog::ENTRIES.iter() {
        let Some(change) = e.change else { continue };
        stated += 1;
        assert!(
            rows.iter().any(|(id, c)| id == e.id && c == change),
            "{}: `{change}` is not in docs/contracts.md",
            e.id
        );
    }
    assert!(stated >= 29, "{stated}");
}
