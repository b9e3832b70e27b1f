//! The CPU figure of a run shows a known cost: a `private_key_jwt` flow
//! signs an RS256 assertion per acquisition, which a Basic flow does not,
//! so at the same rate its CPU per acquisition is higher by at least the
//! signing cost, measured here in the same process. A file of its own, so
//! that its process runs nothing else while it measures (the CPU figure is
//! the whole process's).

use std::path::Path;
use std::time::Duration;

use tokenprobe_client::{FlowConfig, cognito_request};
use tokenprobe_load::Plan;

mod support;

fn process_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

fn key_path() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../stub/demo-keys/client-rs256.pem")
        .display()
        .to_string()
}

const BASIC: &str =
    "client_id = \"tokenprobe-demo\"\nclient_secret = { value = \"demo-secret\" }\n";

fn key_flow() -> String {
    format!(
        "client_id = \"tokenprobe-demo-key\"\nauth = \"private_key_jwt\"\nprivate_key = {{ file = \"{}\" }}\n",
        key_path()
    )
}

/// CPU per acquisition of a 3 s run at 100/s of one cognito flow.
async fn cpu_per_acquisition(name: &str, flow: &str) -> f64 {
    let out = std::env::temp_dir().join(format!("tokenprobe-cpu-{}", std::process::id()));
    let text = format!(
        "output = \"{}\"\ntarget = \"stub\"\n[stub.jwt]\nalgorithm = \"ES256\"\n[[flows]]\nsystem = \"cognito\"\n{flow}\
         [load]\nmodel = \"open\"\nrate = 100\n[limits]\nduration = \"3s\"\n",
        out.display()
    );
    let plan = Plan::parse(&text, &format!("{name}.toml"), name).unwrap();
    let (_stop, options) = support::quiet();
    let s = tokenprobe_load::run(&plan, options).await.unwrap().summary;
    assert_eq!(s.counts.ok, s.counts.started, "{name}: {:?}", s.counts);
    s.cpu.unwrap().per_acquisition_us
}

/// The CPU one RS256 assertion costs the client: 300 of them, signed as
/// the flow signs them (a token request encoded), on this thread.
fn signing_us() -> f64 {
    #[derive(serde::Deserialize)]
    struct One {
        flow: FlowConfig,
    }
    let one: One =
        toml::from_str(&format!("[flow]\nsystem = \"cognito\"\n{}", key_flow())).unwrap();
    let FlowConfig::Cognito(config) = one.flow else {
        unreachable!("a cognito flow")
    };
    let request = cognito_request(&config).unwrap();
    let base = "http://127.0.0.1:1".parse().unwrap();
    let before = process_cpu();
    for _ in 0..300 {
        std::hint::black_box(request.encode(&base).unwrap());
    }
    (process_cpu() - before).as_secs_f64() * 1e6 / 300.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_each_assertion_shows_in_the_cpu_per_acquisition() {
    let sign = signing_us();
    // Three runs of each, taken in turn; the medians (a run's CPU moves by
    // a few hundred µs an acquisition with what else the machine does).
    let (mut basic, mut key) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        basic.push(cpu_per_acquisition("basic", BASIC).await);
        key.push(cpu_per_acquisition("rs256", &key_flow()).await);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[1]
    };
    let (basic, key) = (median(&mut basic), median(&mut key));
    let rise = key - basic;
    assert!(
        rise >= sign,
        "private_key_jwt {key:.0} µs, Basic {basic:.0} µs a acquisition: {rise:.0} µs more, less than one signature ({sign:.0} µs)"
    );
}
