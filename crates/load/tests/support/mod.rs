//! Shared by the load tests.

#![allow(dead_code, unreachable_pub)]

pub mod search;

use tokenprobe_load::report::Summary;

/// Every acquisition in exactly one bucket: `started = ok + errors`, and
/// (open model) `scheduled = started + dropped`.
pub fn accounted(s: &Summary) {
    let c = &s.counts;
    assert_eq!(
        c.started,
        c.ok + c.error_total(),
        "started = ok + errors: {c:?}"
    );
    if s.model == "open" {
        assert_eq!(
            s.scheduled,
            c.started + c.dropped_in_flight_cap,
            "scheduled = started + dropped"
        );
    }
    // Every run says what it cost: CPU over the run, per acquisition.
    let cpu = s.cpu.as_ref().expect("a run reports its CPU");
    assert!(cpu.secs > 0.0 && cpu.cores >= 1, "{cpu:?}");
    let per = cpu.secs * 1e6 / c.started.max(1) as f64;
    assert!(
        (cpu.per_acquisition_us - per).abs() < 1e-6 * per.max(1.0),
        "{cpu:?}"
    );
}

/// Options for a run nothing stops early: quiet, no live metrics. The
/// sender must live as long as the run.
pub fn quiet() -> (
    tokio::sync::watch::Sender<bool>,
    tokenprobe_load::RunOptions,
) {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let options = tokenprobe_load::RunOptions {
        quiet: true,
        stop: stopped,
        metrics_listen: None,
    };
    (stop, options)
}

/// The stub's route configuration calls `name`.
pub fn route(name: &str) -> tokenprobe_stub::Route {
    tokenprobe_stub::Route::named(name).expect("a route of the stub")
}
