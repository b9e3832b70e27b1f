//! Live OpenMetrics, scraped during a run and at its end, parsed with a
//! Prometheus text-format parser: the counters grow while it runs, and at
//! the end they and the histograms equal `summary.json`. Loopback only.

use std::collections::HashMap;
use std::time::Duration;

use prometheus_parse::{Scrape, Value};
use tokenprobe_load::{Plan, RunOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// GET the metrics page, read whole.
async fn scrape(addr: std::net::SocketAddr) -> (String, Scrape) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).await.unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(head.contains("application/openmetrics-text"), "{head}");
    assert!(body.ends_with("# EOF\n"), "{body}");
    let lines = body.lines().map(|l| Ok(l.to_owned()));
    (body.to_owned(), Scrape::parse(lines).unwrap())
}

fn counter(scrape: &Scrape, name: &str) -> f64 {
    scrape
        .samples
        .iter()
        .find(|s| s.metric == name)
        .map(|s| match s.value {
            Value::Counter(v) | Value::Untyped(v) | Value::Gauge(v) => v,
            _ => panic!("{name} is not a counter"),
        })
        .unwrap_or_else(|| panic!("no {name}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_grow_during_the_run_and_equal_the_summary_at_its_end() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let out = std::env::temp_dir().join(format!("tokenprobe-metrics-{}", std::process::id()));
    let text = format!(
        "output = \"{}\"\ntarget = \"stub\"\n[stub.jwt]\nalgorithm = \"ES256\"\n\
         [stub.faults.cess]\nerror = {{ probability = 0.2, status = 503 }}\n\
         [[flows]]\nsystem = \"cess\"\nclient_id = \"tokenprobe-demo\"\n\
         client_secret = {{ value = \"demo-secret\" }}\nusername = \"12345678909\"\n\
         otp = {{ value = \"123456\" }}\n[load]\nmodel = \"open\"\nrate = 100\n\
         [limits]\nduration = \"3s\"\n",
        out.display()
    );
    let plan = Plan::parse(&text, "metrics.toml", "metrics").unwrap();
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    let run = tokio::spawn(async move {
        tokenprobe_load::run(
            &plan,
            RunOptions {
                quiet: true,
                stop: stopped,
                metrics_listen: Some(addr),
            },
        )
        .await
        .unwrap()
    });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (_, during) = scrape(addr).await;
    let started = counter(&during, "tokenprobe_acquisitions_started_total");
    assert!(started > 0.0, "counts grow while the run lasts");
    let done = run.await.unwrap();
    let (body, end) = scrape(done.metrics.as_ref().unwrap().addr).await;
    let c = &done.summary.counts;
    assert!(c.started as f64 > started);
    assert_eq!(
        counter(&end, "tokenprobe_acquisitions_started_total"),
        c.started as f64
    );
    assert_eq!(
        counter(&end, "tokenprobe_acquisitions_ok_total"),
        c.ok as f64
    );
    let errors: HashMap<String, f64> = end
        .samples
        .iter()
        .filter(|s| s.metric == "tokenprobe_acquisition_errors_total")
        .map(|s| {
            let (Value::Counter(v) | Value::Untyped(v)) = s.value else {
                panic!("not a counter")
            };
            (s.labels.get("label").unwrap().to_owned(), v)
        })
        .collect();
    assert_eq!(errors.len(), c.errors.len(), "{body}");
    for (label, n) in &c.errors {
        assert_eq!(errors[&label.to_string()], *n as f64, "{label}");
    }
    // The whole acquisition's histogram counts what the summary's row does.
    let all_ok = done
        .summary
        .latency
        .iter()
        .find(|r| r.key == tokenprobe_load::recorder::Key::all_ok())
        .unwrap();
    let count = end
        .samples
        .iter()
        .find(|s| {
            s.metric == "tokenprobe_latency_seconds"
                && s.labels.get("flow") == Some("all")
                && s.labels.get("step") == Some("total")
                && s.labels.get("outcome") == Some("ok")
        })
        .map(|s| match &s.value {
            Value::Histogram(buckets) => buckets.last().unwrap().count,
            other => panic!("{other:?}"),
        })
        .expect("the all/total/ok histogram");
    assert_eq!(count, all_ok.count as f64, "{body}");
    drop(done);
    let _ = std::fs::remove_dir_all(out);
}
