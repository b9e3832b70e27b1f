//! Load runs of token acquisition: a scenario file ([`Plan`]) drives the
//! client's flows at a controlled rate ([`driver`]), a [`Recorder`] keeps
//! coordinated-omission-correct HDR histograms per flow, step and outcome
//! and accounts for every acquisition, and [`report`] turns the saved data
//! into a table, `summary.json`, `latency.hlog` and `report.html`, with
//! thresholds that set the exit status. [`search`] runs a plan step by
//! step to find the highest rate that keeps its thresholds.

pub mod compare;
pub mod driver;
pub(crate) mod html;
pub mod merge;
pub mod metrics;
pub mod output;
pub mod recorder;
pub mod report;
pub mod scenario;
pub mod schedule;
pub mod search;
#[cfg(test)]
mod testdata;
pub mod threshold;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use tokenprobe_client::{DirectTransport, Flow, Step};
use tokenprobe_protocol::BaseUrl;
use tokio::sync::watch;

pub use recorder::Recorder;
use report::{At, Cause};
pub use report::{ReportError, Summary};
pub use scenario::{LoadModel, Plan, Shard};

use driver::NamedFlow;

/// Why a run could not start or finish.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The scenario's flows or target (before any traffic).
    #[error("{0}")]
    Setup(String),
    /// Writing the report.
    #[error("report: {0}")]
    Report(#[from] ReportError),
}

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// No progress line.
    pub quiet: bool,
    /// Changes to `true` to stop early (Ctrl-C, SIGTERM).
    pub stop: watch::Receiver<bool>,
    /// Serve live OpenMetrics here while the run lasts ([`metrics`]).
    pub metrics_listen: Option<std::net::SocketAddr>,
}

/// A finished run.
#[derive(Debug)]
pub struct Finished {
    /// Where the report is.
    pub dir: PathBuf,
    /// What it says.
    pub summary: Summary,
    /// The terminal table.
    pub table: String,
    /// The live metrics, still served until this is dropped (their counts
    /// are now the summary's).
    pub metrics: Option<metrics::MetricsServer>,
}

/// `YYYYMMDDTHHMMSSZ`.
fn stamp(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t)
        .to_string()
        .chars()
        .filter(|c| !matches!(c, '-' | ':'))
        .collect()
}

/// Runs a plan, in four stages: start the target (the embedded stub if
/// asked), build the flows, drive the load while recording, and write the
/// report directory and render it.
pub async fn run(plan: &Plan, options: RunOptions) -> Result<Finished, LoadError> {
    let (started, flows, transport, workers) = prepare(plan).await?;
    wait_for_shards(plan, &options).await;
    let recorded = match run_dir(plan, SystemTime::now()) {
        Ok(dir) => drive(plan, dir, flows, transport, &workers, &options).await,
        Err(e) => Err(e),
    };
    if let Some(stub) = started.stub {
        stub.shutdown().await;
    }
    let mut recorded = recorded?;
    let summary = summarize(plan, &recorded);
    let mut finished = write_reports(&recorded.dir, &summary)?;
    finished.metrics = recorded.metrics.take();
    Ok(finished)
}

/// What every run and search starts with: the target started, the flows
/// built against it, the transport, and the load threads.
pub(crate) async fn prepare(
    plan: &Plan,
) -> Result<
    (
        tokenprobe_config::Started,
        Vec<NamedFlow>,
        DirectTransport,
        driver::Workers,
    ),
    LoadError,
> {
    let started = plan
        .scenario
        .setup
        .start()
        .await
        .map_err(|e| LoadError::Setup(format!("the stub: {e}")))?;
    let identity = client_identity(&plan.scenario.setup.flows)?;
    let transport = DirectTransport::with(
        &plan.scenario.setup.http,
        started.ca_pem.as_deref().map(str::as_bytes),
        identity.as_ref(),
    )
    .map_err(|e| LoadError::Setup(e.to_string()))?;
    let flows = build_flows(plan, &started.base, &transport).await?;
    // Every server the flows send to: each flow's own, and an IdP's.
    let servers = flows.iter().map(|f| f.flow.base());
    let idps = plan.scenario.setup.flows.iter().flat_map(|c| c.base_urls());
    let share = driver::Share::of(&plan.scenario.load, servers.chain(idps));
    let workers = driver::Workers::start(share)
        .map_err(|e| LoadError::Setup(format!("cannot start the load threads: {e}")))?;
    Ok((started, flows, transport, workers))
}

/// The one client certificate a run's transport presents: the flows that
/// authenticate with one must share it (the driver has one transport).
fn client_identity(
    flows: &[tokenprobe_client::FlowConfig],
) -> Result<Option<tokenprobe_client::ClientIdentity>, LoadError> {
    let mut found: Option<tokenprobe_client::ClientIdentity> = None;
    for flow in flows {
        let identity = flow
            .client_identity()
            .map_err(|e| LoadError::Setup(format!("flow {}: {e}", flow.system())))?;
        match (&found, identity) {
            (Some(a), Some(b)) if a.thumbprint() != b.thumbprint() => {
                return Err(LoadError::Setup(
                    "the flows name different client certificates: a load run presents one".into(),
                ));
            }
            (None, Some(b)) => found = Some(b),
            _ => {}
        }
    }
    Ok(found)
}

/// The plan's flows, named as reports name them: a token endpoint from
/// the flow's `issuer` where it names one, else its base URL, else `base`.
async fn build_flows(
    plan: &Plan,
    base: &BaseUrl,
    transport: &DirectTransport,
) -> Result<Vec<NamedFlow>, LoadError> {
    let setup = &plan.scenario.setup;
    let mut flows = Vec::new();
    for (config, name) in setup.flows.iter().zip(plan.flow_names()) {
        let setup_error =
            |e: tokenprobe_client::ClientError| LoadError::Setup(format!("flow {name}: {e}"));
        let mut config = config.clone();
        config.discover(transport).await.map_err(setup_error)?;
        config.default_base_url(base);
        let flow = Flow::new(&config).map_err(setup_error)?;
        flows.push(NamedFlow { name, flow });
    }
    Ok(flows)
}

/// Waits for the common start of a sharded run, so that every shard's
/// intervals line up (a stop ends the wait).
async fn wait_for_shards(plan: &Plan, options: &RunOptions) {
    let Some(at) = plan.shard.as_ref().and_then(|s| s.start_at) else {
        return;
    };
    if let Ok(wait) = at.duration_since(SystemTime::now()) {
        let mut stop = options.stop.clone();
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = stop.changed() => {}
        }
    }
}

/// A new directory for a run (or a search) of `plan` starting at `wall`:
/// `<name>-<UTC time>`, with the run id and shard for a shard.
pub(crate) fn run_dir(plan: &Plan, wall: SystemTime) -> Result<PathBuf, LoadError> {
    let shard = plan.shard.as_ref().map_or(String::new(), |s| {
        format!("-{}-shard{}of{}", s.run_id, s.index, s.count)
    });
    let name = format!("{}-{}{shard}", plan.name, stamp(wall));
    Ok(new_dir(&plan.scenario.output, &name)?)
}

/// A new report directory `name` under `output`: `name-2`, `name-3`… when
/// another run of the same scenario took it in the same second, so that
/// two runs never write one log.
pub(crate) fn new_dir(output: &Path, name: &str) -> Result<PathBuf, ReportError> {
    std::fs::create_dir_all(output).at(output)?;
    for n in 1..=1000 {
        let dir = match n {
            1 => output.join(name),
            n => output.join(format!("{name}-{n}")),
        };
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).at(&dir),
        }
    }
    Err(Cause::Refused(format!("1000 runs named {name} already"))).at(output)
}

/// What a drive left: where its data went, and what it counted.
pub(crate) struct Recorded {
    dir: PathBuf,
    wall: SystemTime,
    layout: Vec<String>,
    stats: driver::DriverStats,
    counts: recorder::Counts,
    lag: hdrhistogram::Histogram<u64>,
    /// Acquisitions sent later than the late bound.
    late: u64,
    /// The live metrics server, if asked for.
    metrics: Option<metrics::MetricsServer>,
    /// The process's CPU time while the driver ran.
    cpu: Duration,
}

/// The process's CPU time so far (user and system, every thread).
fn process_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0),
    )
}

/// The cores this process may run on (its CPU affinity, as `taskset`
/// sets it).
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// Records into `dir`'s interval log while the driver runs the load model,
/// and closes the log. A log that cannot be
/// written (a full disk) fails the run: its report would be wrong.
pub(crate) async fn drive(
    plan: &Plan,
    dir: PathBuf,
    flows: Vec<NamedFlow>,
    transport: DirectTransport,
    workers: &driver::Workers,
    options: &RunOptions,
) -> Result<Recorded, LoadError> {
    let hlog = dir.join("latency.hlog");
    let wall = SystemTime::now();
    let started = Instant::now();
    let cpu_before = process_cpu();
    let layout: Vec<(String, &'static [Step])> = flows
        .iter()
        .map(|f| (f.name.clone(), f.flow.steps()))
        .collect();
    let recorder = Recorder::new(&hlog, started, wall, &layout).at(&hlog)?;
    let errors_csv = dir.join("errors.csv");
    let recorder = recorder.with_error_log(&errors_csv).at(&errors_csv)?;
    let recorder = Arc::new(Mutex::new(recorder));
    let metrics = match options.metrics_listen {
        Some(addr) => Some(
            metrics::serve(addr, recorder.clone(), started)
                .await
                .map_err(|e| LoadError::Setup(format!("--metrics-listen {addr}: {e}")))?,
        ),
        None => None,
    };

    let ticker = tokio::spawn(rotate_every(recorder.clone(), Duration::from_secs(1)));
    let progress = (!options.quiet && std::io::stdout().is_terminal())
        .then(|| tokio::spawn(show_progress(recorder.clone(), plan.clone(), started)));
    let stats = driver::drive(
        plan,
        workers,
        flows,
        transport,
        recorder.clone(),
        started,
        options.stop.clone(),
    )
    .await;
    let cpu = process_cpu().saturating_sub(cpu_before);
    if let Some(p) = progress {
        p.abort();
    }
    let rotated = match ticker.is_finished() {
        true => ticker.await.unwrap_or(Ok(())),
        false => {
            ticker.abort();
            Ok(())
        }
    };
    rotated.at(&hlog)?;
    // Late results (after the grace period) are no longer recorded, so the
    // recorder can be closed while their tasks wind down. A poisoned lock
    // (a panic while recording) leaves data that cannot be trusted.
    let mut recorder = recorder.lock().map_err(|_| {
        ReportError::refused("the recorder lock was poisoned: a thread panicked while recording")
    })?;
    let (counts, lag) = recorder.finish().at(&hlog)?;
    let late = recorder.late_sends();
    drop(recorder);
    Ok(Recorded {
        dir,
        wall,
        layout: layout.into_iter().map(|(name, _)| name).collect(),
        stats,
        counts,
        lag,
        late,
        cpu,
        metrics,
    })
}

/// The run's `summary.json`, before its latency rows and verdicts (which
/// the report renders from the saved data).
pub(crate) fn summarize(plan: &Plan, r: &Recorded) -> Summary {
    let (stats, counts, lag) = (&r.stats, &r.counts, &r.lag);
    let elapsed = stats.elapsed.as_secs_f64().max(1e-9);
    let window = stats.window.as_secs_f64().max(1e-9);
    let open = matches!(plan.scenario.load, LoadModel::Open { .. });
    let weights = plan.weights();
    let flows = r
        .layout
        .iter()
        .enumerate()
        .map(|(i, name)| {
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
    let cpu = report::Cpu::new(
        r.cpu.as_secs_f64(),
        elapsed,
        cores(),
        counts.started,
        plan.scenario.setup.target == tokenprobe_config::Endpoint::Stub,
    );
    let mut warnings = plan.warnings();
    warnings.extend(cpu.warning());
    Summary {
        schema: report::SCHEMA.into(),
        scenario: plan.name.clone(),
        started_at: humantime::format_rfc3339_millis(r.wall).to_string(),
        elapsed_secs: elapsed,
        window_secs: window,
        grace_secs: (elapsed - window).max(0.0),
        flows,
        partial: stats.partial,
        model: match plan.scenario.load {
            // A search's steps are run as open-model plans.
            LoadModel::Open { .. } | LoadModel::Search { .. } => "open".into(),
            LoadModel::Closed { .. } => "closed".into(),
        },
        target_rate: open.then(|| stats.scheduled as f64 / window),
        achieved_rate: counts.started as f64 / window,
        scheduled: stats.scheduled,
        counts: counts.clone(),
        driver_lag_ms: [q(0.5), q(0.99), lag.max() as f64 / 1000.0],
        criteria: plan.thresholds.clone(),
        latency: Vec::new(),
        thresholds: Vec::new(),
        run_id: plan.shard.as_ref().map(|s| s.run_id.clone()),
        shard: plan.shard.as_ref().map(|s| [s.index, s.count]),
        shards: Vec::new(),
        insecure: plan.scenario.setup.http.insecure,
        warnings,
        late: match &plan.scenario.load {
            LoadModel::Open { late_bound, .. } => Some(report::LateSends {
                bound_ms: late_bound.as_secs_f64() * 1000.0,
                count: r.late,
            }),
            LoadModel::Search { .. } | LoadModel::Closed { .. } => None,
        },
        cpu: Some(cpu),
    }
}

/// Writes `summary.json`, then renders the directory (latency rows,
/// verdicts, `report.html`, the table) from what was saved.
pub(crate) fn write_reports(dir: &Path, summary: &Summary) -> Result<Finished, LoadError> {
    report::write_json(&dir.join("summary.json"), summary)?;
    let (summary, table) = output::report(dir)?;
    Ok(Finished {
        dir: dir.to_owned(),
        summary,
        table,
        metrics: None,
    })
}

/// Writes the recorder's interval histograms every `period`, until the
/// first write that fails, whose error it returns (the run then fails
/// rather than report less than it measured).
async fn rotate_every(recorder: Arc<Mutex<Recorder>>, period: Duration) -> std::io::Result<()> {
    let mut tick = tokio::time::interval(period);
    tick.tick().await;
    loop {
        tick.tick().await;
        if let Ok(mut r) = recorder.lock() {
            r.rotate()?;
        }
    }
}

async fn show_progress(recorder: Arc<Mutex<Recorder>>, plan: Plan, started: Instant) {
    let bar = indicatif::ProgressBar::new_spinner();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tick.tick().await;
        let Ok(mut r) = recorder.lock() else { return };
        let (p50, p99, errors) = r.live();
        let t = started.elapsed();
        let done = r.started();
        drop(r);
        let target = match &plan.scenario.load {
            LoadModel::Open { .. } => format!(" target {:.0}/s", plan.rate_at(t)),
            LoadModel::Search { .. } => " searching".into(),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The once-a-second writer stops at the first failed write and hands
    /// its error over, so that the run fails instead of reporting a log
    /// with holes (it used to drop the error).
    /// Two runs of one scenario in the same second get a directory each.
    #[test]
    fn report_directories_are_never_shared() {
        let out = std::env::temp_dir().join(format!("tokenprobe-dirs-{}", std::process::id()));
        let a = new_dir(&out, "demo-20261201T120000Z").unwrap();
        let b = new_dir(&out, "demo-20261201T120000Z").unwrap();
        assert_ne!(a, b);
        assert!(b.ends_with("demo-20261201T120000Z-2"), "{}", b.display());
        let _ = std::fs::remove_dir_all(out);
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn the_interval_writer_returns_its_first_error() {
        let layout = [("x".to_owned(), &[Step::Token][..])];
        let recorder = Recorder::new(
            Path::new("/dev/full"),
            Instant::now(),
            SystemTime::now(),
            &layout,
        )
        .unwrap();
        let recorder = Arc::new(Mutex::new(recorder));
        let ticker = tokio::spawn(rotate_every(recorder, Duration::from_millis(10)));
        let ended = tokio::time::timeout(Duration::from_secs(10), ticker)
            .await
            .expect("the writer stops by itself")
            .unwrap();
        assert!(ended.is_err());
    }
}
