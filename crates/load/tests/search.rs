//! Capacity searches against the stub with a known capacity (a fixed
//! number of slots, each request served for a fixed time): a first rate
//! that fails ends the search, a driver that falls behind is named as the
//! bottleneck, and shards run one ladder (the knee itself is found in
//! `search_knee.rs`, alone). Loopback only; each search is bounded by its
//! steps.

mod support;
use support::search::{out_dir, scenario, search};
use tokenprobe_load::Plan;
use tokenprobe_load::search::Ending;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_rate_that_fails_ends_the_search_with_status_1() {
    let load =
        "from = 400\nmax = 800\nstep = \"1s\"\nwarmup = \"0s\"\ndriver_lag_limit = \"100ms\"\n";
    let done = search(&scenario(load, "\"p99 < 60ms\""), "from").await;
    assert_eq!(done.result.ending, Ending::FromFails, "{}", done.table);
    assert_eq!(done.result.steps.len(), 1);
    assert_eq!(done.result.capacity, None);
    assert_eq!(done.result.exit_code(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_driver_that_falls_behind_is_named_not_the_server() {
    // No driver is on time to the nanosecond: the limit makes the
    // driver the bottleneck at the first step, whatever the server does.
    let load = "from = 20\nmax = 80\nstep = \"1s\"\nwarmup = \"0s\"\ndriver_lag_limit = \"1ns\"\n";
    let done = search(&scenario(load, "\"p99 < 1s\""), "driver").await;
    assert_eq!(
        done.result.ending,
        Ending::DriverBottleneck,
        "{}",
        done.table
    );
    assert_eq!(done.result.exit_code(), 1);
    assert!(
        done.result
            .conclusion()
            .contains("the driver, not the server"),
        "{}",
        done.table
    );
}

/// Two shards run the same ladder of steps at the same times, each at half
/// of every rate, against one server; `merge` judges the merged steps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shards_run_one_ladder_and_merge_judges_each_step() {
    let stub = tokenprobe_stub::Stub::start(
        tokenprobe_config::stub_config(
            "[jwt]\nalgorithm = \"ES256\"\n[faults.cess]\ncapacity = { slots = 3, service_ms = 20 }\n",
            "capacity.toml",
        )
        .unwrap(),
    )
    .await
    .unwrap();
    let load = "from = 40\nfactor = 2\nmax = 320\nstep = \"1s\"\nwarmup = \"500ms\"\n\
                driver_lag_limit = \"100ms\"\n";
    let text = scenario(load, "\"p99 < 60ms\"")
        .replace("target = \"stub\"", &format!("target = \"{}\"", stub.base_url()))
        .replace(
            "[stub.jwt]\nalgorithm = \"ES256\"\n[stub.faults.cess]\ncapacity = { slots = 3, service_ms = 20 }\n",
            "",
        );
    let start_at = std::time::SystemTime::now() + std::time::Duration::from_secs(1);
    let shard = |i: u32| {
        let text = format!("output = \"{}\"\n{text}", out_dir("shards").display());
        let plan = Plan::parse(&text, "shards.toml", "shards").unwrap();
        let shard = tokenprobe_load::Shard::parse(&format!("{i}/2"), "r1".into(), Some(start_at));
        plan.sharded(shard.unwrap())
    };
    let (a, b) = (shard(1), shard(2));
    let run = |plan: Plan| async move {
        let (_stop, options) = support::quiet();
        tokenprobe_load::search::run(&plan, options).await.unwrap()
    };
    let (one, two) = tokio::join!(run(a), run(b));
    let rates: Vec<f64> = one.result.steps.iter().map(|s| s.rate).collect();
    assert_eq!(rates, [40.0, 80.0, 160.0, 320.0], "{}", one.table);
    for (x, y) in one.result.steps.iter().zip(&two.result.steps) {
        // Each shard took half of every step's arrivals.
        assert!(x.started.abs_diff(y.started) <= 1, "{x:?} {y:?}");
    }
    // Step k's slot starts at start_at + k · (warm-up 0.5 s + step 1 s +
    // grace 2 s + 1 s); its measured part after the warm-up.
    for (k, step) in one.result.steps.iter().enumerate() {
        assert_eq!(step.index, k + 1);
        assert_eq!(step.dir, format!("step-{:02}-{:.1}", k + 1, step.rate));
        let summary: tokenprobe_load::Summary = serde_json::from_slice(
            &std::fs::read(one.dir.join(&step.dir).join("summary.json")).unwrap(),
        )
        .unwrap();
        let started = humantime::parse_rfc3339_weak(&summary.started_at).unwrap();
        let due = start_at + std::time::Duration::from_millis(4500 * k as u64 + 500);
        // The summary's time is to the millisecond; a loaded machine may
        // start late, never early, and never a whole second late.
        let late = started
            .duration_since(due - std::time::Duration::from_millis(1))
            .unwrap_or_else(|e| panic!("step {k} started {:?} early", e.duration()));
        assert!(late.as_millis() < 900, "step {k} started {late:?} late");
    }
    let out = out_dir("shards-merged");
    let merged = tokenprobe_load::search::merge(&[&one.dir, &two.dir], &out).unwrap();
    let r = &merged.result;
    assert_eq!(r.steps.len(), 4);
    assert_eq!(
        r.steps[0].started,
        one.result.steps[0].started + two.result.steps[0].started
    );
    assert_eq!(
        (r.capacity, r.first_failing),
        (Some(80.0), Some(160.0)),
        "{}",
        merged.table
    );
    assert_eq!(r.ending, Ending::Found);
    assert!(out.join("search.json").exists());
    stub.shutdown().await;
}

/// The steps of a search (and their warm-ups) share the load threads and
/// their connections: a server sees one or two connections, however many
/// steps the search takes. (It guards the worker design: workers started
/// afresh for each drive opened one connection a drive. The driver before
/// the workers passed it too, through one shared pool; the one-worker rule
/// itself is `driver::open`'s unit test.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_steps_of_a_search_keep_their_connections() {
    let stub = tokenprobe_stub::Stub::start(
        tokenprobe_config::stub_config("[jwt]\nalgorithm = \"ES256\"\n", "plain.toml").unwrap(),
    )
    .await
    .unwrap();
    let load =
        "from = 20\nmax = 80\nstep = \"500ms\"\nwarmup = \"300ms\"\ndriver_lag_limit = \"1s\"\n";
    let text = scenario(load, "\"p99 < 1s\"")
        .replace("target = \"stub\"", &format!("target = \"{}\"", stub.base_url()))
        .replace(
            "[stub.jwt]\nalgorithm = \"ES256\"\n[stub.faults.cess]\ncapacity = { slots = 3, service_ms = 20 }\n",
            "",
        );
    let done = search(&text, "connections").await;
    // Three steps (20, 40, 80/s), each after its warm-up: six drives, on
    // one worker (a worker per 10,000/s), whose connection they share (a
    // second only if two acquisitions ever overlap).
    assert_eq!(done.result.steps.len(), 3, "{}", done.table);
    let drives = 2 * done.result.steps.len() as u64;
    assert!(
        stub.connections() <= 2,
        "{} connections for {drives} drives",
        stub.connections()
    );
    stub.shutdown().await;
}
