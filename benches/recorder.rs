//! The driver's hot path: recording one finished acquisition (every
//! histogram and counter it touches).
//!
//! `cargo bench -p tokenprobe-benches --bench recorder`

use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime};

use criterion::{Criterion, criterion_group, criterion_main};
use tokenprobe_load::Recorder;
use tokenprobe_load::recorder::Outcome;

fn record(c: &mut Criterion) {
    let log = std::env::temp_dir().join(format!("tokenprobe-bench-{}.hlog", std::process::id()));
    let flows: Vec<(String, &'static [&'static str])> = vec![
        ("cognito".into(), &["token"]),
        ("veeva".into(), &["idp", "session"]),
    ];
    let mut r = Recorder::new(&log, Instant::now(), SystemTime::now(), &flows).unwrap();
    let steps = [Duration::from_micros(850), Duration::from_micros(230)];
    let mut g = c.benchmark_group("recorder");
    g.bench_function("record one two-step acquisition (ok)", |b| {
        b.iter(|| {
            r.record(black_box(&Outcome {
                flow: 1,
                steps: &steps,
                total: Duration::from_micros(1100),
                error: None,
            }))
        })
    });
    g.bench_function("record one failed acquisition", |b| {
        b.iter(|| {
            r.record(black_box(&Outcome {
                flow: 0,
                steps: &steps[..1],
                total: Duration::from_micros(900),
                error: Some("provider(invalid_client)".into()),
            }))
        })
    });
    g.finish();
    let _ = std::fs::remove_file(log);
}

criterion_group!(benches, record);
criterion_main!(benches);
