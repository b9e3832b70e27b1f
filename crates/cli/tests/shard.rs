//! Three shards of one run, as three processes against one standalone
//! stub on loopback, merged: counts add up, percentiles equal those of one
//! histogram fed every sample, a missing shard and a foreign run are named.

use std::path::PathBuf;
use std::process::{Command, Output};

mod support;
use support::summary;

fn tokenprobe(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
        .args(args)
        .output()
        .unwrap()
}

fn report_dir(out: &Output) -> PathBuf {
    support::report_dir(&String::from_utf8_lossy(&out.stdout))
}

/// Every shard's interval log added into one histogram per key.
fn all_samples(dirs: &[PathBuf]) -> hdrhistogram::Histogram<u64> {
    let mut all = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
    for d in dirs {
        let log = std::fs::read(d.join("latency.hlog")).unwrap();
        tokenprobe_load::report::for_each_interval(&log, |_, _, key, h| {
            if key == tokenprobe_load::recorder::Key::all_ok() {
                all.add(&h).unwrap();
            }
            Ok(())
        })
        .unwrap();
    }
    all
}

#[tokio::test(flavor = "multi_thread")]
async fn three_shards_merge_losslessly_and_problems_are_named() {
    // One answer in five is a 503, so that the shards' errors over time
    // have something to merge.
    let stub = tokenprobe_stub::Stub::start(
        tokenprobe_config::stub_config(
            "[jwt]\nalgorithm = \"ES256\"\n\
             [faults.cess]\nerror = { probability = 0.2, status = 503 }\n",
            "shard stub",
        )
        .unwrap(),
    )
    .await
    .unwrap();
    let dir = std::env::temp_dir().join(format!("tokenprobe-shards-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let scenario = dir.join("s.toml");
    std::fs::write(
        &scenario,
        format!(
            "name = \"sharded\"\ntarget = \"{}\"\noutput = \"{}\"\n[[flows]]\nsystem = \"cess\"\n\
             client_id = \"tokenprobe-demo\"\nclient_secret = {{ value = \"demo-secret\" }}\n\
             username = \"12345678909\"\notp = {{ value = \"123456\" }}\n[load]\nmodel = \"open\"\nrate = 150\n\
             [limits]\nduration = \"2s\"\nacquisitions = 200\n",
            stub.base_url(),
            dir.join("reports").display()
        ),
    )
    .unwrap();
    let start = humantime::format_rfc3339_seconds(
        std::time::SystemTime::now() + std::time::Duration::from_secs(2),
    )
    .to_string();
    let s = scenario.to_str().unwrap().to_owned();
    let shards: Vec<_> = (1..=3)
        .map(|i| {
            let (s, start) = (s.clone(), start.clone());
            std::thread::spawn(move || {
                let shard = format!("{i}/3");
                tokenprobe(&[
                    "load",
                    "--quiet",
                    &s,
                    "--shard",
                    &shard,
                    "--run-id",
                    "r1",
                    "--start-at",
                    &start,
                ])
            })
        })
        .collect();
    let outs: Vec<Output> = shards.into_iter().map(|t| t.join().unwrap()).collect();
    for o in &outs {
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let dirs: Vec<PathBuf> = outs.iter().map(report_dir).collect();
    // 200 acquisitions split 67/67/66.
    let started: Vec<u64> = dirs
        .iter()
        .map(|d| summary(d)["counts"]["started"].as_u64().unwrap())
        .collect();
    assert_eq!(started, [67, 67, 66]);

    let merged = dir.join("merged");
    let mut args = vec!["merge".to_owned()];
    args.extend(dirs.iter().map(|d| d.display().to_string()));
    args.extend(["--out".into(), merged.display().to_string()]);
    let out = Command::new(env!("CARGO_BIN_EXE_tokenprobe"))
        .args(&args)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let m = summary(&merged);
    assert_eq!(m["counts"]["started"], 200);
    assert_eq!(
        m["counts"]["ok"].as_u64().unwrap()
            + m["counts"]["errors"]
                .as_object()
                .unwrap()
                .values()
                .map(|v| v.as_u64().unwrap())
                .sum::<u64>(),
        200
    );
    assert_eq!(m["shards"].as_array().unwrap().len(), 3);
    let row = m["latency"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["flow"] == "all" && r["outcome"] == "ok")
        .unwrap()
        .clone();
    let all = all_samples(&dirs);
    assert_eq!(row["count"].as_u64().unwrap(), all.len());
    for (q, field) in [(0.5, "p50_ms"), (0.99, "p99_ms"), (0.999, "p999_ms")] {
        assert_eq!(
            row[field].as_f64().unwrap(),
            all.value_at_quantile(q) as f64 / 1000.0,
            "{field}"
        );
    }
    assert_eq!(row["max_ms"].as_f64().unwrap(), all.max() as f64 / 1000.0);
    // The shards' errors over time merge into the run's: per label, the
    // merged errors.csv adds up to the merged counts, second by second from
    // the shards' own.
    let errors = |d: &PathBuf| {
        let text = std::fs::read_to_string(d.join("errors.csv")).unwrap();
        tokenprobe_load::report::read_error_log(&text)
    };
    let merged_errors = errors(&merged);
    let count = m["counts"]["errors"]["http_status(503)"].as_u64().unwrap();
    assert!(count > 0, "{m}");
    let label_sum = |rows: &[tokenprobe_load::report::ErrorInterval]| -> u64 {
        rows.iter()
            .filter(|e| e.label == "http_status(503)")
            .map(|e| e.count)
            .sum()
    };
    assert_eq!(label_sum(&merged_errors), count);
    assert_eq!(
        dirs.iter().map(|d| label_sum(&errors(d))).sum::<u64>(),
        count
    );
    assert!(
        std::fs::read_to_string(merged.join("report.html"))
            .unwrap()
            .contains("Errors over time, by label")
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("shard"));

    // A missing shard is reported, and the merged report is marked partial.
    let two = dir.join("two");
    let out = tokenprobe(&[
        "merge",
        dirs[0].to_str().unwrap(),
        dirs[2].to_str().unwrap(),
        "--out",
        two.to_str().unwrap(),
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("shard 2/3 of run r1 is missing"));
    assert_eq!(summary(&two)["partial"], true);

    // A shard of another run is refused.
    let other = dir.join("other");
    std::fs::create_dir_all(&other).unwrap();
    let mut foreign = summary(&dirs[1]);
    foreign["run_id"] = "r2".into();
    std::fs::write(
        other.join("summary.json"),
        serde_json::to_vec(&foreign).unwrap(),
    )
    .unwrap();
    std::fs::copy(dirs[1].join("latency.hlog"), other.join("latency.hlog")).unwrap();
    let out = tokenprobe(&[
        "merge",
        dirs[0].to_str().unwrap(),
        other.to_str().unwrap(),
        "--out",
        dir.join("x").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("refusing to merge different runs"));
}
