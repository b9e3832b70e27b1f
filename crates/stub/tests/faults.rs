//! Fault injection over real HTTP, each within a stated tolerance over a
//! bounded number of requests (loopback only).

mod support;

use support::route;

use std::time::{Duration, Instant};

use http::StatusCode;
use support::Harness;
use tokenprobe_client::{ClientError, ErrorKind};
use tokenprobe_protocol::cognito;
use tokenprobe_stub::Config;

fn config(faults: &str) -> Config {
    let text = format!("[jwt]\nalgorithm = \"ES256\"\n{faults}");
    tokenprobe_config::stub_config(&text, "faults.toml").unwrap()
}

/// Five standard deviations of a binomial count: a false alarm about once
/// in 1.7 million runs.
fn tolerance(n: f64, p: f64) -> std::ops::RangeInclusive<f64> {
    let sd = (n * p * (1.0 - p)).sqrt();
    (n * p - 5.0 * sd)..=(n * p + 5.0 * sd)
}

#[tokio::test]
async fn an_error_rate_answers_its_status_body_and_retry_after_at_its_probability() {
    let h = Harness::start(config(
        "[faults.cess]\nerror = { probability = 0.3, status = 503, body = \"busy\", retry_after_secs = 2 }\n",
    ))
    .await;
    let n = 400;
    let mut errors = 0;
    for _ in 0..n {
        let r = h.cess_grant().await;
        match r.status {
            StatusCode::SERVICE_UNAVAILABLE => {
                errors += 1;
                assert_eq!(r.text(), "busy");
                assert_eq!(r.headers["retry-after"], "2");
            }
            StatusCode::OK => {}
            s => panic!("unexpected {s}"),
        }
    }
    assert!(
        tolerance(n as f64, 0.3).contains(&(errors as f64)),
        "{errors} errors of {n}"
    );
    assert_eq!(h.stub.requests(route("cess")), n);
}

#[tokio::test]
async fn resets_close_the_connection_without_an_answer_and_are_all_counted() {
    let h = Harness::start(config("[faults.cognito]\nreset = { probability = 0.2 }\n")).await;
    let n = 200;
    let mut failed = 0;
    for _ in 0..n {
        let req = h
            .account_of::<cognito::TokenRequest>()
            .unwrap()
            .encode(&h.base)
            .unwrap();
        match h.transport.send(req).await {
            Ok(r) => assert_eq!(r.status, StatusCode::OK),
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::Connect, "{e}");
                failed += 1;
            }
        }
    }
    assert!(
        tolerance(n as f64, 0.2).contains(&(failed as f64)),
        "{failed} resets of {n}"
    );
    assert_eq!(h.stub.resets(), failed);
    assert_eq!(h.stub.requests(route("cognito")), n);
}

#[tokio::test]
async fn a_stall_and_fixed_latency_hold_the_answer() {
    let h = Harness::start(config(
        "[faults.veeva]\nstall = { probability = 1.0, ms = 300 }\n\
         [faults.all]\nlatency = { distribution = \"fixed\", ms = 200 }\n",
    ))
    .await;
    let t = Instant::now();
    let veeva = h.on(tokenprobe_protocol::System::Veeva);
    let mut no_token = veeva.veeva_request(None, "x").unwrap();
    no_token.headers_mut().remove(http::header::AUTHORIZATION);
    let r = veeva.send(no_token).await.unwrap();
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );
    // `all` applies where a route has no entry of its own.
    let t = Instant::now();
    h.cess_grant().await;
    assert!(
        t.elapsed() >= Duration::from_millis(200),
        "{:?}",
        t.elapsed()
    );
}

/// A CESS token request sent on its own task, so that many are in flight.
fn spawn_cess(h: &Harness) -> tokio::task::JoinHandle<Result<StatusCode, ClientError>> {
    let req = h
        .raw(
            http::Method::POST,
            "/oauth",
            &[("content-type", "application/json")],
            h.on(tokenprobe_protocol::System::Cess)
                .cess_body()
                .unwrap()
                .to_string(),
        )
        .unwrap();
    let transport = h.transport.clone();
    tokio::spawn(async move { Ok(transport.send(req).await?.status) })
}

#[tokio::test]
async fn every_request_arriving_in_the_stall_window_is_answered_when_it_closes() {
    let started = Instant::now();
    let h = Harness::start(config(
        "[faults.all]\nstall_window = { from_ms = 0, until_ms = 1500 }\n",
    ))
    .await;
    let tasks: Vec<_> = (0..8).map(|_| spawn_cess(&h)).collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap(), StatusCode::OK);
        let done = started.elapsed();
        assert!(done >= Duration::from_millis(1500), "answered at {done:?}");
    }
    // After the window, no hold: well before another 1.5 s would pass.
    let t = Instant::now();
    h.cess_grant().await;
    assert!(
        t.elapsed() < Duration::from_millis(1500),
        "{:?}",
        t.elapsed()
    );
}

#[tokio::test]
async fn shutdown_finishes_requests_in_flight_then_refuses_connections() {
    let h = Harness::start(config(
        "[faults.cess]\nstall = { probability = 1.0, ms = 400 }\n",
    ))
    .await;
    let in_flight = spawn_cess(&h);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let addr = h.stub.addr();
    h.stub.shutdown().await;
    assert_eq!(in_flight.await.unwrap().unwrap(), StatusCode::OK);
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still listening"
    );
}

/// A capacity fault serves `slots` requests at once, each for its service
/// time, and queues the rest: six at once through two slots of 200 ms end
/// in three waves.
#[tokio::test]
async fn a_capacity_serves_its_slots_and_queues_the_rest() {
    let h = Harness::start(config(
        "[faults.cess]\ncapacity = { slots = 2, service_ms = 200 }\n",
    ))
    .await;
    let started = Instant::now();
    let tasks: Vec<_> = (0..6).map(|_| spawn_cess(&h)).collect();
    let mut ends = Vec::new();
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap(), StatusCode::OK);
        ends.push(started.elapsed());
    }
    let last = ends.iter().max().unwrap();
    assert!(*last >= Duration::from_millis(600), "{ends:?}");
    assert!(*last < Duration::from_millis(1500), "{ends:?}");
    let first = ends.iter().min().unwrap();
    assert!(*first >= Duration::from_millis(200), "{ends:?}");
    let bad = tokenprobe_config::stub_config(
        "[faults.cess]\ncapacity = { slots = 0, service_ms = 20 }\n",
        "bad.toml",
    );
    assert!(
        bad.unwrap_err()
            .to_string()
            .contains("capacity: slots from 1")
    );
}
