//! Live OpenMetrics. While a run lasts (and until its report is written),
//! `--metrics-listen ADDR` serves the run's counters and latency histograms
//! in the OpenMetrics text format, for a Prometheus to scrape during a long
//! soak. Each scrape merges the recorder's shards, as an interval tick
//! does, so the counts at the end are the summary's.
//!
//! Latency buckets, in seconds, are chosen for token endpoints: a token
//! from a warm cache in a millisecond, a signed JWT in a few, an IdP round
//! trip in tens to hundreds, and a server in trouble in seconds.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::Recorder;
use crate::recorder::{Counts, Key};

/// The upper bounds of the latency buckets, seconds (then `+Inf`).
pub const BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The content type of the OpenMetrics text format.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// One histogram, as exposed: its key, the cumulative count at each of
/// [`BUCKETS`], the count and the sum (seconds).
#[derive(Debug, Clone, PartialEq)]
pub struct Exposed {
    /// Flow, step, outcome.
    pub key: Key,
    /// Values at or under each bucket's bound.
    pub buckets: [u64; BUCKETS.len()],
    /// All values.
    pub count: u64,
    /// Their sum, seconds.
    pub sum: f64,
}

impl Exposed {
    /// A histogram (values in µs) as exposed: counts at each bound, in
    /// seconds.
    pub fn of(key: Key, h: &Histogram<u64>) -> Exposed {
        let mut buckets = [0; BUCKETS.len()];
        for (n, bound) in buckets.iter_mut().zip(BUCKETS) {
            *n = h.count_between(0, (bound * 1e6) as u64);
        }
        Exposed {
            key,
            buckets,
            count: h.len(),
            sum: h.mean() * h.len() as f64 / 1e6,
        }
    }
}

/// The serving end; dropping it stops the server.
#[derive(Debug)]
pub struct MetricsServer {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Serves `recorder`'s metrics on `addr` until the returned handle drops.
pub async fn serve(
    addr: SocketAddr,
    recorder: Arc<Mutex<Recorder>>,
    started: Instant,
) -> std::io::Result<MetricsServer> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let (stop, mut stopped) = watch::channel(false);
    tokio::spawn(async move {
        loop {
            let (stream, _) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(_) => continue,
                },
                _ = stopped.changed() => return,
            };
            let recorder = recorder.clone();
            let service = service_fn(move |_req: Request<hyper::body::Incoming>| {
                let text = match recorder.lock() {
                    Ok(mut r) => {
                        let mut exposed = Vec::new();
                        r.each_histogram(|key, h| exposed.push(Exposed::of(key, h)));
                        render(&r.counts(), &exposed, started.elapsed().as_secs_f64())
                    }
                    Err(_) => "# EOF\n".to_owned(),
                };
                async move {
                    Response::builder()
                        .header(http::header::CONTENT_TYPE, CONTENT_TYPE)
                        .body(Full::new(Bytes::from(text)))
                }
            });
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(MetricsServer { addr, stop })
}

/// A label value, escaped as the text format wants.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The exposition: counters, the achieved rate, the histograms.
pub fn render(c: &Counts, histograms: &[Exposed], elapsed_secs: f64) -> String {
    let mut out = String::new();
    let mut counter = |name: &str, help: &str, value: u64| {
        let _ = writeln!(
            out,
            "# TYPE {name} counter\n# HELP {name} {help}\n{name}_total {value}"
        );
    };
    counter(
        "tokenprobe_acquisitions_started",
        "Acquisitions started.",
        c.started,
    );
    counter(
        "tokenprobe_acquisitions_ok",
        "Acquisitions that got a grant.",
        c.ok,
    );
    counter(
        "tokenprobe_acquisitions_dropped",
        "Arrivals the in-flight cap kept from starting.",
        c.dropped_in_flight_cap,
    );
    let _ = writeln!(
        out,
        "# TYPE tokenprobe_acquisition_errors counter\n\
         # HELP tokenprobe_acquisition_errors Failed acquisitions by error label (at most 32 per flow, then other)."
    );
    for (name, n) in &c.errors {
        let _ = writeln!(
            out,
            "tokenprobe_acquisition_errors_total{{label=\"{}\"}} {n}",
            label(&name.to_string())
        );
    }
    let _ = writeln!(
        out,
        "# TYPE tokenprobe_achieved_rate gauge\n\
         # HELP tokenprobe_achieved_rate Acquisitions started per second since the start.\n\
         tokenprobe_achieved_rate {}",
        c.started as f64 / elapsed_secs.max(1e-9)
    );
    let _ = writeln!(
        out,
        "# TYPE tokenprobe_latency_seconds histogram\n\
         # HELP tokenprobe_latency_seconds Acquisition latency by flow, step (total: from the intended start; service: from the actual send) and outcome."
    );
    for h in histograms {
        let labels = format!(
            "flow=\"{}\",step=\"{}\",outcome=\"{}\"",
            label(&h.key.flow),
            h.key.step.name(),
            h.key.outcome.name()
        );
        for (bound, n) in BUCKETS.iter().zip(h.buckets) {
            let _ = writeln!(
                out,
                "tokenprobe_latency_seconds_bucket{{{labels},le=\"{bound}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "tokenprobe_latency_seconds_bucket{{{labels},le=\"+Inf\"}} {}\n\
             tokenprobe_latency_seconds_count{{{labels}}} {}\n\
             tokenprobe_latency_seconds_sum{{{labels}}} {}",
            h.count, h.count, h.sum
        );
    }
    out.push_str("# EOF\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recorder::{Outcome, Part};

    /// Each bucket counts the values at or under its bound, in seconds;
    /// the sum is in seconds too.
    #[test]
    fn a_histogram_is_exposed_in_cumulative_buckets_of_seconds() {
        let ms = [1u64, 3, 20, 200];
        let mut h = crate::recorder::histogram();
        for m in ms {
            h.record(m * 1000).unwrap();
        }
        let key = Key {
            flow: "x".into(),
            step: Part::Total,
            outcome: Outcome::Ok,
        };
        let e = Exposed::of(key.clone(), &h);
        let expected: Vec<u64> = BUCKETS
            .iter()
            .map(|bound| ms.iter().filter(|m| **m as f64 / 1000.0 <= *bound).count() as u64)
            .collect();
        assert_eq!(e.buckets.to_vec(), expected);
        assert_eq!((e.key, e.count), (key, 4));
        assert!((e.sum - 0.224).abs() < 0.224 * 0.002, "{}", e.sum);
    }
}
