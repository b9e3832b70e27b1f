//! `tokenprobe load` and `tokenprobe report` as a user runs them: exit
//! codes, scenario mistakes with their place, a partial report after
//! SIGINT. Traffic goes only to the in-process stub on loopback.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

mod support;

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tokenprobe-cli-load-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn scenario(name: &str, body: &str) -> PathBuf {
    let d = dir(name);
    let path = d.join(format!("{name}.toml"));
    let text = format!("output = \"{}\"\n{body}", d.join("reports").display());
    std::fs::write(&path, text).unwrap();
    path
}

const RUN: &str = "target = \"stub\"\n[[flows]]\nsystem = \"cognito\"\nclient_id = \"tokenprobe-demo\"\n\
                   client_secret = { value = \"demo-secret\" }\n[load]\nmodel = \"open\"\nrate = 50\n\
                   [limits]\nduration = \"1s\"\n";

fn load(path: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
        .args(["load", "--quiet"])
        .arg(path)
        .output()
        .unwrap()
}

#[test]
fn thresholds_set_the_exit_status() {
    let pass = scenario(
        "pass",
        &format!("thresholds = [\"p99 < 1h\", \"error_rate < 1%\"]\n{RUN}"),
    );
    let out = load(&pass);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("PASS") && text.contains("accounting: started"),
        "{text}"
    );

    let fail = scenario("fail", &format!("thresholds = [\"p99 < 1us\"]\n{RUN}"));
    let out = load(&fail);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("FAIL"), "{text}");

    // The report re-renders from its saved data, with the same verdict.
    let report = support::report_dir(&text);
    let again = Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
        .arg("report")
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stdout).contains("FAIL"));
}

#[test]
fn scenario_mistakes_exit_2_with_file_line_and_column_before_any_traffic() {
    for (name, body, place) in [
        (
            "unknown-key",
            format!("colour = \"red\"\n{RUN}"),
            ":2:1: unknown field `colour`",
        ),
        ("bad-duration", RUN.replace("\"1s\"", "\"soon\""), ":11:12:"),
        (
            "bad-target",
            RUN.replace("\"stub\"", "\"ftp://x\""),
            ":2:10:",
        ),
        (
            "bad-threshold",
            format!("thresholds = [\"p99 fast\"]\n{RUN}"),
            ":2:15: no comparison",
        ),
        (
            "missing-var",
            RUN.replace("\"tokenprobe-demo\"", "\"${TOKENPROBE_UNSET_FOR_TEST}\""),
            ":5:14: environment variable",
        ),
    ] {
        let path = scenario(name, &body);
        let out = load(&path);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(
            err.contains(&format!("{}{place}", path.display())),
            "{name}: {err}"
        );
        assert!(
            !dir(name).join("reports").exists(),
            "{name}: no run started"
        );
    }
    // A flow the protocol refuses is also caught before traffic.
    let path = scenario(
        "refused",
        &RUN.replace(
            "system = \"cognito\"",
            "system = \"vcd\"\norg = \"a;b\"\nidp = { token = { value = \"t\" } }",
        )
        .replace(
            "client_id = \"tokenprobe-demo\"\nclient_secret = { value = \"demo-secret\" }\n",
            "",
        ),
    );
    let out = load(&path);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("VCD-02"));
}

#[test]
fn numeric_flags_out_of_range_are_refused_before_any_traffic() {
    let path = scenario("flags", RUN);
    for flags in [
        &["--rate", "NaN"][..],
        &["--rate", "inf"],
        &["--rate", "-1"],
        &["--rate", "1e12"],
        &["--duration", "0s"],
        &["--duration", "100years"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
            .args(["load", "--quiet"])
            .args(flags)
            .arg(&path)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {err}");
        assert!(!err.contains("panicked"), "{flags:?}: {err}");
        assert!(
            !dir("flags").join("reports").exists(),
            "{flags:?}: no run started"
        );
    }
}

#[test]
fn limits_may_be_left_out_when_stages_say_how_long() {
    let path = scenario(
        "no-limits",
        &RUN.replace(
            "rate = 50\n",
            "rate = 0\nstages = [{ duration = \"1s\", rate = 40 }]\n",
        )
        .replace("[limits]\nduration = \"1s\"\n", ""),
    );
    let out = load(&path);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A ramp from 0 to 40/s over 1 s: 20 arrivals, not 1.
    assert!(text.contains("20 started"), "{text}");
}

#[test]
fn sigint_mid_run_leaves_a_report_marked_partial() {
    let path = scenario("partial", &RUN.replace("\"1s\"", "\"60s\""));
    let mut child = Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
        .args(["load", "--quiet"])
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let status = support::interrupt(&mut child, Duration::from_secs(30));
    // An interrupted run is not a pass, whatever its thresholds say.
    assert_eq!(status.code(), Some(130), "{status:?}");
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let lines: Vec<String> = stdout.lines().map(Result::unwrap).collect();
    assert!(lines[0].contains("PARTIAL"), "{lines:?}");
    let summary = support::summary(&support::report_dir(&lines.join("\n")));
    assert_eq!(summary["partial"], true);
    let started = summary["counts"]["started"].as_u64().unwrap();
    assert!(
        started > 20 && started < 50 * 60,
        "stopped early after {started}"
    );
}

/// A search prints its steps and its result; its status says whether a
/// capacity was found (here, even the first rate fails: 1), and the
/// mistakes only a search can make are refused before any traffic (2).
#[test]
fn a_search_reports_its_steps_and_sets_the_status() {
    const SEARCH: &str = "target = \"stub\"\nthresholds = [\"p99 < 1us\"]\n[[flows]]\nsystem = \"cognito\"\n\
        client_id = \"tokenprobe-demo\"\nclient_secret = { value = \"demo-secret\" }\n\
        [load]\nmodel = \"search\"\nfrom = 20\nmax = 40\nstep = \"1s\"\nwarmup = \"0s\"\n\
        driver_lag_limit = \"1s\"\n";
    let path = scenario("search-from", SEARCH);
    let out = load(&path);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("even the first rate 20.0/s failed: p99 < 1us"),
        "{stdout}"
    );
    for (bad, says) in [
        (
            SEARCH.replace("thresholds = [\"p99 < 1us\"]\n", ""),
            "a search needs thresholds",
        ),
        (
            SEARCH.replace("max = 40", "max = 10"),
            "`max` at least `from`",
        ),
        (
            SEARCH.replace("from = 20", "from = 20\nfactor = 2\nincrement = 5"),
            "not both",
        ),
    ] {
        let out = load(&scenario("search-bad", &bad));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(says), "{stderr}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
        .args(["load", "--quiet", "--rate", "5"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("a search finds the rate"));
}

/// `compare`: a run against itself breaks no rule (0); a rule that does
/// not parse, or a directory that is not a report, is a usage error (2).
#[test]
fn compare_is_a_gate_with_usage_errors() {
    let path = scenario("compare", RUN);
    assert_eq!(load(&path).status.code(), Some(0));
    let reports = dir("compare").join("reports");
    let run = std::fs::read_dir(&reports)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let compare = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
            .arg("compare")
            .args(args)
            .output()
            .unwrap()
    };
    let run = run.to_str().unwrap();
    let out = compare(&[run, run, "--max-regression", "p99=10%"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("no rule broken") && stdout.contains("Same"),
        "{stdout}"
    );
    assert_eq!(
        compare(&[run, run, "--max-regression", "p99"])
            .status
            .code(),
        Some(2)
    );
    let nowhere = reports.join("no-such-run");
    assert_eq!(
        compare(&[run, nowhere.to_str().unwrap()]).status.code(),
        Some(2)
    );

    // A run 30 ms slower breaks `p50=5%`: exit 1, naming the row.
    let slow = scenario(
        "compare-slow",
        &RUN.replace(
            "[[flows]]",
            "[stub.faults.cognito]\nlatency = { distribution = \"fixed\", ms = 30 }\n[[flows]]",
        )
        .replace("\"1s\"", "\"3s\""),
    );
    let base = scenario("compare-base", &RUN.replace("\"1s\"", "\"3s\""));
    for s in [&slow, &base] {
        assert_eq!(load(s).status.code(), Some(0));
    }
    let only_run = |name: &str| {
        let reports = dir(name).join("reports");
        let entry = std::fs::read_dir(reports).unwrap().next().unwrap().unwrap();
        entry.path().to_str().unwrap().to_owned()
    };
    let (base, slow) = (only_run("compare-base"), only_run("compare-slow"));
    let out = compare(&[&base, &slow, "--max-regression", "p50=5%"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("broken: p50=5% by all/total p50"),
        "{stdout}"
    );
    // The same pair without a rule is no gate.
    assert_eq!(compare(&[&base, &slow]).status.code(), Some(0));
}
