//! Allocations per acquisition on the load path, counted by a global
//! allocator: a one-step flow with a fixed request (CESS), driven at a
//! fixed rate by the real driver (its worker threads, timer and
//! recorder), against a server on loopback over `DirectTransport`, and
//! against an exchange that answers at once (the driver and the flow
//! without HTTP). Two runs of different lengths; the difference in
//! allocations over the difference in acquisitions is the steady-state
//! cost, without what a run allocates once (threads, runtimes,
//! connections; a first drive, not counted, opens them for both). The
//! server is the bench's own, on the same (counted) runtime, and
//! allocates nothing per request.
//!
//!   cargo bench -p tokenprobe-benches --bench allocations

// The figures printed are what this bench is for.
#![allow(clippy::print_stdout)]

use std::alloc::System;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};
use tokenprobe_client::{Account, Answer, ClientError, DirectTransport, Exchange, Flow};
use tokenprobe_load::driver::{NamedFlow, Share, WorkerTransport, Workers, drive};
use tokenprobe_load::{Plan, Recorder};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Allocations and reallocations so far, every thread.
fn allocated() -> u64 {
    let s = GLOBAL.stats();
    (s.allocations + s.reallocations) as u64
}

const GRANT: &[u8] = include_bytes!("../tests/fixtures/cess/token-success.json");

/// A loopback server that answers every request with the seed's CESS
/// grant and allocates nothing per request (one buffer per connection),
/// so that what is counted is the client's.
async fn grant_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let answer: &'static [u8] = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncache-control: no-store\r\n\
         pragma: no-cache\r\ncontent-length: {}\r\n\r\n{}",
        GRANT.len(),
        String::from_utf8_lossy(GRANT)
    )
    .into_bytes()
    .leak();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                let mut have = 0;
                loop {
                    match conn.read(&mut buf[have..]).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => have += n,
                    }
                    // Every whole request in the buffer: its head, then
                    // the body its content-length says.
                    loop {
                        let mut headers = [httparse::EMPTY_HEADER; 32];
                        let mut req = httparse::Request::new(&mut headers);
                        let Ok(httparse::Status::Complete(head)) = req.parse(&buf[..have]) else {
                            break;
                        };
                        let body = req
                            .headers
                            .iter()
                            .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                            .and_then(|h| std::str::from_utf8(h.value).ok())
                            .and_then(|v| v.parse::<usize>().ok())
                            .unwrap_or(0);
                        if have < head + body {
                            break;
                        }
                        if conn.write_all(answer).await.is_err() {
                            return;
                        }
                        buf.copy_within(head + body..have, 0);
                        have -= head + body;
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

/// Answers every request at once with the seed's CESS grant.
#[derive(Clone)]
struct Instant200;

impl Exchange for Instant200 {
    async fn send(&self, _req: http::Request<Bytes>) -> Result<Answer, ClientError> {
        Ok(Answer::token_json(Bytes::from_static(GRANT)))
    }
}

impl WorkerTransport for Instant200 {
    fn for_worker(&self, _: usize) -> Self {
        Instant200
    }
}

/// The bench's scenario: the one-step CESS flow against `base`, `count`
/// acquisitions at `rate`.
fn cess_plan(base: &str, rate: u64, count: u64) -> Plan {
    let text = format!(
        "target = \"{base}\"\n[[flows]]\nsystem = \"cess\"\nbase_url = \"{base}\"\n\
         client_id = \"tokenprobe-demo\"\nclient_secret = {{ value = \"demo-secret\" }}\n\
         username = \"12345678909\"\notp = {{ value = \"123456\" }}\n\
         [load]\nmodel = \"open\"\nrate = {rate}\n[limits]\nacquisitions = {count}\nduration = \"60s\"\n"
    );
    Plan::parse(&text, "allocations.toml", "allocations").unwrap()
}

/// One drive of `count` acquisitions at `rate`; allocations counted
/// from the drive's start to its end.
async fn allocations<T: WorkerTransport>(
    base: &str,
    workers: &Workers,
    transport: T,
    rate: u64,
    count: u64,
) -> u64 {
    let plan = cess_plan(base, rate, count);
    let flow = Flow::new(&plan.scenario.setup.flows[0]).unwrap();
    let hlog = std::env::temp_dir().join(format!(
        "tokenprobe-bench-allocations-{}.hlog",
        std::process::id()
    ));
    let started = Instant::now();
    let recorder = Recorder::new(
        &hlog,
        started,
        SystemTime::now(),
        &[("cess".to_owned(), flow.steps())],
    )
    .unwrap();
    let recorder = Arc::new(Mutex::new(recorder));
    let flows = vec![NamedFlow {
        name: "cess".into(),
        flow,
    }];
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    let before = allocated();
    let stats = drive(
        &plan,
        workers,
        flows,
        transport,
        recorder.clone(),
        started,
        stopped,
    )
    .await;
    let after = allocated();
    let (counts, _) = recorder.lock().unwrap().finish().unwrap();
    assert_eq!(stats.scheduled, count, "{stats:?}");
    assert_eq!(counts.ok, count, "every acquisition succeeds: {counts:?}");
    let _ = std::fs::remove_file(hlog);
    after - before
}

/// Allocations per call of the CESS request's encoding and of its
/// answer's decoding, alone: the flow decodes every answer, and encodes
/// the request once, at its start, sending copies (what the copies save
/// is the encoding less the copy's header map).
fn per_call_of_the_protocol(base: &str) -> (f64, f64) {
    const N: u64 = 1000;
    let flow = Flow::new(&cess_plan(base, 1, 1).scenario.setup.flows[0]).unwrap();
    let Account::Cess(request) = flow.account() else {
        unreachable!("the bench's flow is CESS")
    };
    let base = flow.base();
    let answer = Answer::token_json(Bytes::from_static(GRANT));
    let before = allocated();
    for _ in 0..N {
        std::hint::black_box(request.encode(base).unwrap());
    }
    let encoded = allocated();
    for _ in 0..N {
        let grant = request.decode_response(answer.status, &answer.headers, &answer.body);
        std::hint::black_box(grant.unwrap());
    }
    let decoded = allocated();
    (
        (encoded - before) as f64 / N as f64,
        (decoded - encoded) as f64 / N as f64,
    )
}

fn main() {
    // `cargo test --benches` runs it without `--bench`: then short.
    let quick = !std::env::args().any(|a| a == "--bench");
    let (short, long, rate) = match quick {
        true => (200, 1200, 2000),
        false => (2000, 22000, 5000),
    };
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let base = grant_server().await;
        println!(
            "allocations per acquisition, one-step CESS flow at {rate}/s \
             ({short} and {long} acquisitions):"
        );
        let http = DirectTransport::new(&tokenprobe_client::HttpOptions::default()).unwrap();
        let workers = Workers::start(Share::Equal).unwrap();
        // Connections opened before either counted drive.
        allocations(&base, &workers, http.clone(), rate, short).await;
        for (what, a, b) in [
            (
                "driver + flow + hyper over loopback (DirectTransport)",
                allocations(&base, &workers, http.clone(), rate, short).await,
                allocations(&base, &workers, http, rate, long).await,
            ),
            (
                "driver + flow, an exchange that answers at once",
                allocations(&base, &workers, Instant200, rate, short).await,
                allocations(&base, &workers, Instant200, rate, long).await,
            ),
        ] {
            let per = (b as f64 - a as f64) / (long - short) as f64;
            println!("  {what}: {per:.1} ({a} and {b} in all)");
        }
    });
    let (encode, decode) = per_call_of_the_protocol("http://127.0.0.1:8080");
    println!(
        "  of which the answer's decoding: {decode:.1}; the request, encoded once per flow, would take {encode:.1} a fresh encoding"
    );
}
