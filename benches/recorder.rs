//! The driver's hot path: recording one finished acquisition (every
//! histogram and counter it touches), and a whole acquisition (the
//! request, exchange, decode, record) through an exchange that answers at
//! once, so
//! that what is measured is tokenprobe's own cost per acquisition; and
//! one histogram written to the interval log (each flow, step and outcome
//! every second), with the run's one compressor against hdrhistogram's
//! serializer, which makes a compressor each time.
//!
//! `cargo bench -p tokenprobe-benches --bench recorder`

use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use tokenprobe_client::{Answer, ClientError, Exchange, Flow, FlowConfig, Step, StepTime};
use tokenprobe_load::Recorder;
use tokenprobe_load::recorder::Acquisition;

fn record(c: &mut Criterion) {
    let log = std::env::temp_dir().join(format!("tokenprobe-bench-{}.hlog", std::process::id()));
    let flows: Vec<(String, &'static [Step])> = vec![
        ("cognito".into(), &[Step::Token]),
        ("veeva".into(), &[Step::Idp, Step::Session]),
    ];
    let mut r = Recorder::new(&log, Instant::now(), SystemTime::now(), &flows).unwrap();
    let steps = [
        StepTime {
            step: Step::Idp,
            elapsed: Duration::from_micros(850),
        },
        StepTime {
            step: Step::Session,
            elapsed: Duration::from_micros(230),
        },
    ];
    let failed = [StepTime {
        step: Step::Token,
        elapsed: Duration::from_micros(900),
    }];
    let mut g = c.benchmark_group("recorder");
    g.bench_function("record one two-step acquisition (ok)", |b| {
        b.iter(|| {
            r.record(black_box(&Acquisition {
                flow: 1,
                steps: &steps,
                queued: Duration::ZERO,
                total: Duration::from_micros(1100),
                error: None,
            }))
        })
    });
    g.bench_function("record one failed acquisition", |b| {
        b.iter(|| {
            r.record(black_box(&Acquisition {
                flow: 0,
                steps: &failed,
                queued: Duration::ZERO,
                total: Duration::from_micros(900),
                error: Some(tokenprobe_client::ErrorLabel::Provider(
                    "invalid_client".into(),
                )),
            }))
        })
    });
    g.finish();
    let _ = std::fs::remove_file(log);
}

/// Answers every request at once with a canned CESS grant (the seed example).
struct Instant200;

impl Exchange for Instant200 {
    async fn send(&self, _req: http::Request<Bytes>) -> Result<Answer, ClientError> {
        Ok(Answer::token_json(Bytes::from_static(include_bytes!(
            "../tests/fixtures/cess/token-success.json"
        ))))
    }
}

fn acquisition(c: &mut Criterion) {
    let log =
        std::env::temp_dir().join(format!("tokenprobe-bench-acq-{}.hlog", std::process::id()));
    let config: FlowConfig = toml::from_str(
        "system = \"cess\"\nbase_url = \"https://cess.example\"\nclient_id = \"a\"\n\
         client_secret = { value = \"s\" }\nusername = \"12345678909\"\notp = { value = \"1\" }\n",
    )
    .unwrap();
    let flow = Flow::new(&config).unwrap();
    let flows: Vec<(String, &'static [Step])> = vec![("cess".into(), flow.steps())];
    let mut r = Recorder::new(&log, Instant::now(), SystemTime::now(), &flows).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert!(rt.block_on(flow.acquire(&Instant200)).is_ok());
    let mut g = c.benchmark_group("driver");
    g.bench_function("one acquisition, instant exchange, recorded", |b| {
        b.iter(|| {
            let intended = Instant::now();
            let got = rt.block_on(flow.acquire(black_box(&Instant200)));
            let (steps, error) = match &got {
                Ok(a) => (&a.steps, None),
                Err(e) => (&e.steps, Some(e.error.label())),
            };
            r.record(&Acquisition {
                flow: 0,
                steps,
                queued: Duration::ZERO,
                total: intended.elapsed(),
                error,
            });
        })
    });
    g.finish();
    let _ = std::fs::remove_file(log);
}

/// One second's histogram of a flow's step at 500/s (500 values from 100
/// to 500 µs), written as the interval log writes it.
fn interval_log(c: &mut Criterion) {
    use hdrhistogram::Histogram;
    use hdrhistogram::serialization::{Serializer, V2DeflateSerializer};
    let mut h = Histogram::<u64>::new_with_bounds(1, 2_000, 3).unwrap();
    h.auto(true);
    for i in 0..500u64 {
        h.record(100 + (i * 37) % 400).unwrap();
    }
    let mut out = Vec::new();
    let mut g = c.benchmark_group("interval log");
    let mut kept = tokenprobe_load::recorder::ZlibV2::default();
    g.bench_function("one histogram, the run's compressor (ZlibV2)", |b| {
        b.iter(|| {
            out.clear();
            kept.serialize(black_box(&h), &mut out).unwrap()
        })
    });
    g.bench_function(
        "one histogram, a new compressor (V2DeflateSerializer)",
        |b| {
            b.iter(|| {
                out.clear();
                V2DeflateSerializer::new()
                    .serialize(black_box(&h), &mut out)
                    .unwrap()
            })
        },
    );
    g.finish();
}

criterion_group!(benches, record, acquisition, interval_log);
criterion_main!(benches);
