//! A run's report in the three forms `tokenprobe check` writes: the table
//! for people, JSON with all the evidence, and JUnit XML for CI systems
//! (one testcase per check id and system, grouped by system).

use std::fmt::Write as _;

use tokenprobe_protocol::wire::printable;

use quick_junit::{NonSuccessKind, Report as Junit, TestCase, TestCaseStatus, TestSuite};

use crate::catalog::System;
use crate::run::{Outcome, Report, Verdict};

/// The catalog itself, for `check --list`: each entry with the systems it
/// runs on, its mark, whether it is negative, what it sends and expects.
pub fn catalog() -> String {
    let mut s = String::new();
    for e in crate::catalog::ENTRIES.iter() {
        let systems: Vec<&str> = e.systems.iter().map(|s| s.name()).collect();
        let _ = writeln!(
            s,
            "{:<7} {:<20} {:<8} {:<8} {}",
            e.id,
            systems.join(","),
            e.mark.name(),
            if e.negative { "negative" } else { "" },
            e.title
        );
        let _ = writeln!(s, "        sends:   {}", e.sends);
        let _ = writeln!(s, "        expects: {}", e.expects);
        if let Some(change) = e.change {
            let _ = writeln!(s, "        varies:  {change} (from the working request)");
        }
    }
    s
}

/// The table's header line.
pub fn header() -> String {
    format!(
        "{:<7} {:<8} {:<6} {:<48} {}",
        "ID", "SYSTEM", "RESULT", "CHECK", "REASON"
    )
}

/// One verdict as a table line.
pub fn line(v: &Verdict) -> String {
    let mut title: String = v.title.chars().take(48).collect();
    if v.title.chars().count() > 48 {
        title.pop();
        title.push('…');
    }
    format!(
        "{:<7} {:<8} {:<6} {:<48} {}",
        v.id,
        v.system.name(),
        v.outcome.name(),
        title,
        printable(&v.reason)
    )
    .trim_end()
    .to_owned()
}

/// The closing lines: counts, sessions, and what the exit status means.
pub fn summary(r: &Report) -> String {
    let mut s = format!(
        "{} checks: {} pass, {} fail, {} warn, {} skip, {} error",
        r.verdicts.len(),
        r.count(Outcome::Pass),
        r.count(Outcome::Fail),
        r.count(Outcome::Warn),
        r.count(Outcome::Skip),
        r.count(Outcome::Error),
    );
    let _ = write!(
        s,
        "\nsessions opened by the checks and ended: {}",
        r.sessions_ended
    );
    for left in &r.sessions_left {
        let _ = write!(s, "\nsession NOT ended: {left}");
    }
    if r.interrupted {
        s.push_str("\ninterrupted: the checks not run are `skip`");
    }
    for w in &r.warnings {
        let _ = write!(s, "\nwarning: {w}");
    }
    s
}

/// The whole table.
pub fn table(r: &Report) -> String {
    let mut s = header();
    for v in &r.verdicts {
        s.push('\n');
        s.push_str(&line(v));
    }
    s.push('\n');
    s.push_str(&summary(r));
    s
}

/// The report as JSON, evidence included (`docs/check-schema.md`).
pub fn json(r: &Report) -> String {
    let doc = serde_json::json!({
        "schema": "tokenprobe.check/1",
        "tool": "tokenprobe check",
        "version": env!("CARGO_PKG_VERSION"),
        "summary": {
            "checks": r.verdicts.len(),
            "pass": r.count(Outcome::Pass),
            "fail": r.count(Outcome::Fail),
            "warn": r.count(Outcome::Warn),
            "skip": r.count(Outcome::Skip),
            "error": r.count(Outcome::Error),
        },
        "report": r,
    });
    serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// The report as JUnit XML: a testsuite per system, a testcase per check.
pub fn junit(r: &Report) -> Result<String, quick_junit::SerializeError> {
    let mut report = Junit::new("tokenprobe check");
    for system in System::ALL {
        let verdicts: Vec<&Verdict> = r.verdicts.iter().filter(|v| v.system == system).collect();
        if verdicts.is_empty() {
            continue;
        }
        let mut suite = TestSuite::new(format!("tokenprobe.{system}"));
        for v in verdicts {
            suite.add_test_case(testcase(v));
        }
        report.add_test_suite(suite);
    }
    report.to_string()
}

fn testcase(v: &Verdict) -> TestCase {
    let status = match v.outcome {
        Outcome::Pass | Outcome::Warn => TestCaseStatus::success(),
        Outcome::Skip => {
            let mut s = TestCaseStatus::skipped();
            s.set_message(printable(&v.reason));
            s
        }
        Outcome::Fail | Outcome::Error => {
            let kind = match v.outcome {
                Outcome::Fail => NonSuccessKind::Failure,
                _ => NonSuccessKind::Error,
            };
            let mut s = TestCaseStatus::non_success(kind);
            s.set_message(format!("{} {}: {}", v.id, v.title, printable(&v.reason)));
            s.set_type(v.id);
            s.set_description(evidence_text(v));
            s
        }
    };
    let mut case = TestCase::new(format!("{} {}", v.id, v.title), status);
    case.set_classname(format!("tokenprobe.{}", v.system));
    case.set_time(v.elapsed);
    let mut out = format!("expects: {}\n", v.expects);
    if v.outcome == Outcome::Warn {
        let _ = writeln!(out, "warning: {}", printable(&v.reason));
    }
    out.push_str(&evidence_text(v));
    case.set_system_out(out);
    case
}

/// The evidence as plain text, one exchange after another, with what the
/// server sent made [`printable`].
pub fn evidence_text(v: &Verdict) -> String {
    let mut out = String::new();
    for line in raw_evidence(v).lines() {
        out.push_str(&printable(line));
        out.push('\n');
    }
    out
}

fn raw_evidence(v: &Verdict) -> String {
    let mut s = String::new();
    for e in &v.evidence {
        let _ = writeln!(
            s,
            "> {}{}",
            e.request,
            if e.shared { " (shared)" } else { "" }
        );
        for (k, val) in &e.request_headers {
            let _ = writeln!(s, "> {k}: {val}");
        }
        if let Some(b) = &e.request_body {
            let _ = writeln!(s, "> {b}");
        }
        match (e.status, &e.error) {
            (Some(status), _) => {
                let _ = writeln!(s, "< {status} ({:.1} ms)", e.elapsed.as_secs_f64() * 1000.0);
            }
            (None, Some(err)) => {
                let _ = writeln!(s, "< no answer: {err}");
            }
            (None, None) => {}
        }
        for (k, val) in &e.response_headers {
            let _ = writeln!(s, "< {k}: {val}");
        }
        if let Some(b) = &e.response_body {
            let _ = writeln!(s, "< {b}");
        }
    }
    s
}
