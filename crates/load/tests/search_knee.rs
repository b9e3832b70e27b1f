//! The capacity search finds a known knee: a timing test, in a binary of
//! its own so that no sibling test's load runs beside it (on a 2-core
//! clean-clone run, `a_driver_that_falls_behind_is_named_not_the_server`
//! beside it delayed the driver 35 ms at a rate it should have passed).

use tokenprobe_load::recorder::Key;
use tokenprobe_load::report::read_hlog;
use tokenprobe_load::search::{Ending, SearchResult};

mod support;
use support::accounted;
use support::search::{KNEE, scenario, search};

/// A stall of the shared machine can fail a step at or below the knee
/// (its p99, or the driver's lag): the search is then tried again, up to
/// three times. A search that misses the knee every time, or finds a
/// capacity above it once, fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_search_finds_the_known_knee_within_its_precision() {
    let load = "from = 40\nfactor = 2\nmax = 640\nstep = \"2s\"\nwarmup = \"500ms\"\n\
                precision = 0.1\ndriver_lag_limit = \"100ms\"\n";
    let mut missed = Vec::new();
    let done = loop {
        let done = search(&scenario(load, "\"p99 < 60ms\""), "knee").await;
        let r = &done.result;
        assert!(
            !matches!(r.ending, Ending::AboveMax | Ending::Interrupted),
            "{}",
            done.table
        );
        // The stub serves exactly its capacity, and evenly spaced arrivals
        // queue only past it: the highest passing rate is at most the knee
        // and within the precision of it, the first failing one above it.
        if r.ending == Ending::Found {
            let found = r.capacity.expect("a search that found names a capacity");
            assert!(
                found <= KNEE,
                "found {found}/s for a knee of {KNEE}/s\n{}",
                done.table
            );
            if found >= (1.0 - 0.1) * KNEE && r.first_failing.is_some_and(|f| f > KNEE) {
                break done;
            }
        }
        missed.push(format!("ended {:?}:\n{}", r.ending, done.table));
        assert!(
            missed.len() < 3,
            "no search found the knee of {KNEE}/s (within 10 %, the first failing rate above it) in three tries:\n{}",
            missed.join("\n")
        );
    };
    let r: &SearchResult = &done.result;
    assert_eq!(r.broke_first.as_deref(), Some("p99 < 60ms"));
    assert_eq!(done.result.exit_code(), 0);
    // Every step is a report of its own: accounted, and its interval log
    // holds what its row says.
    for step in &r.steps {
        let dir = done.dir.join(&step.dir);
        let summary: tokenprobe_load::Summary =
            serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
        accounted(&summary);
        assert_eq!(summary.counts.started, step.started);
        let totals = read_hlog(&std::fs::read(dir.join("latency.hlog")).unwrap())
            .unwrap()
            .totals;
        let logged = totals.get(&Key::all_ok()).map_or(0, |h| h.len());
        assert_eq!(logged, summary.counts.ok, "{}", step.dir);
    }
    assert!(done.dir.join("search.json").exists() && done.dir.join("report.html").exists());
    assert!(done.table.contains("capacity"), "{}", done.table);
}
