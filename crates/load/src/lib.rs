//! Load runs of token acquisition: a scenario file ([`Plan`]) drives the
//! client's flows at a controlled rate ([`driver`]), a [`Recorder`] keeps
//! coordinated-omission-correct HDR histograms per flow, step and outcome
//! and accounts for every acquisition, and [`report`] turns the saved data
//! into a table, `summary.json`, `latency.hlog` and `report.html`, with
//! thresholds that set the exit status.

pub mod driver;
mod html;
pub mod merge;
pub mod recorder;
pub mod report;
pub mod scenario;
pub mod schedule;
pub mod threshold;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use tokenprobe_client::{Flow, Transport};
use tokenprobe_stub::{Config as StubConfig, JwtAlgorithm, Stub};
use tokio::sync::watch;

pub use recorder::Recorder;
pub use report::Summary;
pub use scenario::{LoadModel, Plan, Shard, Target};

use driver::NamedFlow;

/// Why a run could not start or finish.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The scenario's flows or target (before any traffic).
    #[error("{0}")]
    Setup(String),
    /// Writing the report.
    #[error("report: {0}")]
    Report(String),
}

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// No progress line.
    pub quiet: bool,
    /// Changes to `true` to stop early (Ctrl-C, SIGTERM).
    pub stop: watch::Receiver<bool>,
}

/// A finished run.
#[derive(Debug, Clone)]
pub struct Finished {
    /// Where the report is.
    pub dir: PathBuf,
    /// What it says.
    pub summary: Summary,
    /// The terminal table.
    pub table: String,
}

/// `YYYYMMDDTHHMMSSZ`.
fn stamp(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t)
        .to_string()
        .chars()
        .filter(|c| !matches!(c, '-' | ':'))
        .collect()
}

/// Runs a plan: starts the embedded stub if asked, drives the load, writes
/// the report directory and renders it.
pub async fn run(plan: &Plan, options: RunOptions) -> Result<Finished, LoadError> {
    let setup = |e: &dyn std::fmt::Display| LoadError::Setup(e.to_string());
    let s = &plan.scenario;
    let stub = match &s.target {
        scenario::Target::Stub => {
            let config = s.stub.clone().unwrap_or_else(|| {
                let mut c = StubConfig::default();
                c.jwt.algorithm = JwtAlgorithm::ES256;
                c
            });
            Some(Stub::start(config).await.map_err(|e| setup(&e))?)
        }
        scenario::Target::Url(_) => None,
    };
    let base = match (&s.target, &stub) {
        (scenario::Target::Url(u), _) => u.clone(),
        (_, Some(stub)) => stub.base_url(),
        _ => return Err(LoadError::Setup("no target".into())),
    };
    let mut flows = Vec::new();
    for (config, name) in s.flows.iter().zip(plan.flow_names()) {
        let mut config = config.clone();
        config.default_base_url(&base);
        let flow = Flow::new(&config).map_err(|e| LoadError::Setup(format!("flow {name}: {e}")))?;
        flows.push(NamedFlow { name, flow });
    }
    let transport = Transport::new(&s.http).map_err(|e| setup(&e))?;

    if let Some(at) = plan.shard.as_ref().and_then(|s| s.start_at) {
        // Every shard starts together, so their intervals line up.
        if let Ok(wait) = at.duration_since(SystemTime::now()) {
            let mut stop = options.stop.clone();
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = stop.changed() => {}
            }
        }
    }
    let wall = SystemTime::now();
    let shard_suffix = plan.shard.as_ref().map_or(String::new(), |s| {
        format!("-{}-shard{}of{}", s.run_id, s.index, s.count)
    });
    let dir = s
        .output
        .join(format!("{}-{}{shard_suffix}", plan.name, stamp(wall)));
    std::fs::create_dir_all(&dir)
        .map_err(|e| LoadError::Report(format!("{}: {e}", dir.display())))?;
    let started = Instant::now();
    let layout: Vec<(String, &'static [&'static str])> = flows
        .iter()
        .map(|f| (f.name.clone(), f.flow.steps()))
        .collect();
    let recorder = Recorder::new(&dir.join("latency.hlog"), started, wall, &layout)
        .map_err(|e| LoadError::Report(e.to_string()))?;
    let recorder = Arc::new(Mutex::new(recorder));

    let ticker = tokio::spawn(rotate_every_second(recorder.clone()));
    let progress = (!options.quiet && std::io::stdout().is_terminal())
        .then(|| tokio::spawn(show_progress(recorder.clone(), plan.clone(), started)));
    let stats = driver::drive(
        plan,
        flows,
        transport,
        recorder.clone(),
        started,
        options.stop.clone(),
    )
    .await;
    ticker.abort();
    if let Some(p) = progress {
        p.abort();
    }
    if let Some(stub) = stub {
        stub.shutdown().await;
    }
    // Late results (after the grace period) are no longer recorded, so the
    // recorder can be closed while their tasks wind down.
    let (counts, lag) = recorder
        .lock()
        .map_err(|_| LoadError::Report("the recorder lock was poisoned".into()))?
        .finish()
        .map_err(|e| LoadError::Report(e.to_string()))?;

    let elapsed = stats.elapsed.as_secs_f64().max(1e-9);
    let window = stats.window.as_secs_f64().max(1e-9);
    let open = matches!(s.load, LoadModel::Open { .. });
    let target_rate = open.then(|| stats.scheduled as f64 / window);
    let weights = plan.weights();
    let flow_rates = layout
        .iter()
        .enumerate()
        .map(|(i, (name, _))| {
            let (ok, errors) = counts.per_flow.get(name).copied().unwrap_or_default();
            let scheduled = stats.scheduled_per_flow.get(i).copied().unwrap_or_default();
            let rates = report::FlowRates {
                weight: weights.get(i).copied().unwrap_or(1.0),
                scheduled,
                started: ok + errors,
                asked_rate: open.then(|| scheduled as f64 / window),
                achieved_rate: (ok + errors) as f64 / window,
            };
            (name.clone(), rates)
        })
        .collect();
    let q = |q| lag.value_at_quantile(q) as f64 / 1000.0;
    let summary = Summary {
        schema: report::SCHEMA.into(),
        scenario: plan.name.clone(),
        started_at: humantime::format_rfc3339_millis(wall).to_string(),
        elapsed_secs: elapsed,
        window_secs: window,
        grace_secs: (elapsed - window).max(0.0),
        flows: flow_rates,
        partial: stats.partial,
        model: match &s.load {
            LoadModel::Open { .. } => "open".into(),
            LoadModel::Closed { .. } => "closed".into(),
        },
        target_rate,
        achieved_rate: counts.started as f64 / window,
        scheduled: stats.scheduled,
        counts,
        driver_lag_ms: [q(0.5), q(0.99), lag.max() as f64 / 1000.0],
        threshold_texts: plan.thresholds.iter().map(|t| t.text.clone()).collect(),
        latency: Vec::new(),
        thresholds: Vec::new(),
        run_id: plan.shard.as_ref().map(|s| s.run_id.clone()),
        shard: plan.shard.as_ref().map(|s| [s.index, s.count]),
        shards: Vec::new(),
        insecure: s.http.insecure,
        warnings: plan.warnings(),
    };
    let json = serde_json::to_vec_pretty(&summary).map_err(|e| LoadError::Report(e.to_string()))?;
    std::fs::write(dir.join("summary.json"), json).map_err(|e| LoadError::Report(e.to_string()))?;
    let (summary, table) = report::render_dir(&dir).map_err(LoadError::Report)?;
    Ok(Finished {
        dir,
        summary,
        table,
    })
}

async fn rotate_every_second(recorder: Arc<Mutex<Recorder>>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    loop {
        tick.tick().await;
        if let Ok(mut r) = recorder.lock() {
            let _ = r.rotate();
        }
    }
}

async fn show_progress(recorder: Arc<Mutex<Recorder>>, plan: Plan, started: Instant) {
    let bar = indicatif::ProgressBar::new_spinner();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tick.tick().await;
        let Ok(r) = recorder.lock() else { return };
        let (p50, p99, errors) = r.live();
        let t = started.elapsed();
        let done = r.started();
        drop(r);
        let target = match &plan.scenario.load {
            LoadModel::Open { .. } => format!(" target {:.0}/s", plan.rate_at(t)),
            LoadModel::Closed { users, .. } => format!(" {users} users"),
        };
        let f = |d: Option<Duration>| {
            d.map_or("-".into(), |d| format!("{:.1}ms", d.as_secs_f64() * 1000.0))
        };
        bar.set_message(format!(
            "{:>5.1}s{target} achieved {:.0}/s  p50 {}  p99 {}  errors {errors}",
            t.as_secs_f64(),
            done as f64 / t.as_secs_f64().max(1e-3),
            f(p50),
            f(p99),
        ));
        bar.tick();
    }
}
