//! Shared by the load tests.

#![allow(dead_code, unreachable_pub)]

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
}
