//! `compare` on real runs against the stub (loopback, 8 s each: a p99
//! needs enough seconds to tell a one-second spike from a shift): a run
//! against itself is `same` everywhere; a latency fault on one flow is
//! `worse` on exactly that flow and breaks a p99 rule; clean runs of the
//! same scenario compare `same`, pair after pair (the false-alarm rate).

use std::path::PathBuf;

use tokenprobe_load::Plan;
use tokenprobe_load::compare::{Change, Comparison, compare, parse_rules};

mod support;

const FLOWS: &str = "[[flows]]\nsystem = \"cognito\"\nclient_id = \"tokenprobe-demo\"\n\
    client_secret = { value = \"demo-secret\" }\n\
    [[flows]]\nsystem = \"cess\"\nclient_id = \"tokenprobe-demo\"\n\
    client_secret = { value = \"demo-secret\" }\nusername = \"12345678909\"\notp = { value = \"123456\" }\n";

async fn run(name: &str, fault: &str) -> PathBuf {
    let out = std::env::temp_dir().join(format!("tokenprobe-compare-{}", std::process::id()));
    let text = format!(
        "output = \"{}\"\ntarget = \"stub\"\n[stub.jwt]\nalgorithm = \"ES256\"\n{fault}{FLOWS}\
         [load]\nmodel = \"open\"\nrate = 100\n[limits]\nduration = \"8s\"\n",
        out.display()
    );
    let plan = Plan::parse(&text, &format!("{name}.toml"), name).unwrap();
    let (_stop, options) = support::quiet();
    tokenprobe_load::run(&plan, options).await.unwrap().dir
}

fn verdicts<'a>(c: &'a Comparison, flow: &str) -> Vec<(&'a str, &'a str, Change)> {
    c.latency
        .iter()
        .filter(|r| r.scope.starts_with(&format!("{flow}/")))
        .map(|r| (r.scope.as_str(), r.metric.as_str(), r.verdict))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_tells_a_degraded_flow_from_noise() {
    let clean = [
        run("clean-a", "").await,
        run("clean-b", "").await,
        run("clean-c", "").await,
    ];
    let slow = run(
        "slow",
        "[stub.faults.cess]\nlatency = { distribution = \"fixed\", ms = 20 }\n",
    )
    .await;
    let rules = parse_rules("p99=10%,error_rate=1pp").unwrap();

    // A run against itself: nothing changed.
    let same = compare(&clean[0], &clean[0], &rules, 1).unwrap();
    assert!(
        same.latency.iter().all(|r| r.verdict == Change::Same),
        "{}",
        tokenprobe_load::compare::table(&same)
    );
    assert!(same.broken().is_empty());

    // 20 ms more on every CESS answer: worse there, and only there. Against
    // each clean run: the untouched flow is always `same`, the faulted one's
    // p50 and p90 always `worse`; its p99 too against a base that had no
    // stall of its own (a base whose halves differ by tens of ms hides a
    // 20 ms p99 change behind its drift, as it should).
    let calls: Vec<Comparison> = clean
        .iter()
        .map(|base| compare(base, &slow, &rules, 1).unwrap())
        .collect();
    for c in &calls {
        let table = tokenprobe_load::compare::table(c);
        for (scope, metric, v) in verdicts(c, "cognito") {
            assert_eq!(v, Change::Same, "{scope} {metric}\n{table}");
        }
        for (scope, metric, v) in verdicts(c, "cess").into_iter().filter(|r| r.1 != "p99") {
            assert_eq!(v, Change::Worse, "{scope} {metric}\n{table}");
        }
    }
    let tables: Vec<String> = calls.iter().map(tokenprobe_load::compare::table).collect();
    let c = calls
        .iter()
        .find(|c| verdicts(c, "cess").iter().all(|r| r.2 == Change::Worse))
        .unwrap_or_else(|| {
            panic!(
                "no clean base showed every cess row worse:\n{}",
                tables.join("\n")
            )
        });
    let table = tokenprobe_load::compare::table(c);
    assert!(c.broken().iter().any(|b| b.contains("cess/")), "{table}");
    tokenprobe_load::output::comparison(c, &slow).unwrap();
    assert!(slow.join("compare.json").exists() && slow.join("compare.html").exists());

    // Clean against clean, three pairs and three seeds each: false alarms
    // are rare (at most one row in twenty).
    let (mut rows, mut alarms) = (0, 0);
    for (a, b) in [(0, 1), (0, 2), (1, 2)] {
        for seed in 1..=3 {
            let c = compare(&clean[a], &clean[b], &rules, seed).unwrap();
            rows += c.latency.len();
            alarms += c
                .latency
                .iter()
                .filter(|r| r.verdict != Change::Same)
                .count();
        }
    }
    assert!(alarms * 20 <= rows, "{alarms} false alarms in {rows} rows");

    // A run of other flows is refused, naming them: the same run with
    // its cess flow taken out of the summary.
    let other =
        std::env::temp_dir().join(format!("tokenprobe-compare-other-{}", std::process::id()));
    std::fs::create_dir_all(&other).unwrap();
    std::fs::copy(clean[0].join("latency.hlog"), other.join("latency.hlog")).unwrap();
    let mut summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(clean[0].join("summary.json")).unwrap()).unwrap();
    summary["counts"]["per_flow"]
        .as_object_mut()
        .unwrap()
        .remove("cess");
    std::fs::write(other.join("summary.json"), summary.to_string()).unwrap();
    let e = compare(&clean[0], &other, &rules, 1)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("different flows:")
            && e.contains("has cess, cognito")
            && e.ends_with("has cognito"),
        "{e}"
    );
    // And a directory that is no report says which file it lacks.
    let none = other.join("nothing-here");
    let e = compare(&clean[0], &none, &rules, 1).unwrap_err();
    assert_eq!(e.path, Some(none.join("summary.json")), "{e}");
    assert!(
        matches!(&e.cause, tokenprobe_load::report::Cause::Io(io) if io.kind() == std::io::ErrorKind::NotFound),
        "{e}"
    );
}
