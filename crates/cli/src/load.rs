//! `tokenprobe load` and `tokenprobe report`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use tokenprobe_load::scenario::Overrides;
use tokenprobe_load::{LoadModel, Plan, RunOptions};

/// Options of `load`.
#[derive(Args)]
pub(crate) struct LoadArgs {
    /// The scenario file (TOML); see scenarios/ for one per system.
    scenario: PathBuf,
    /// Override the open model's (starting) rate, acquisitions per second
    /// (0 to 1000000); a search finds its own.
    #[arg(long)]
    rate: Option<f64>,
    /// Override the run's duration, e.g. 30s or 2m (at most 30 days); for
    /// a search, each step's length.
    #[arg(long, value_parser = tokenprobe_config::duration::parse)]
    duration: Option<Duration>,
    /// Override the acquisition count.
    #[arg(long)]
    acquisitions: Option<u64>,
    /// Override where report directories go.
    #[arg(long)]
    output: Option<PathBuf>,
    /// No progress line.
    #[arg(long, short)]
    quiet: bool,
    /// Serve live OpenMetrics (counters, rate, latency histograms) on this
    /// address while the run lasts, e.g. 127.0.0.1:9464.
    #[arg(long, value_name = "ADDR")]
    metrics_listen: Option<std::net::SocketAddr>,
    /// Run as shard I of N of one run: every N-th arrival of the schedule
    /// (1/N of the rate and count), outputs tagged with --run-id; merge the
    /// shards with `tokenprobe merge`. A sharded search runs its ladder of
    /// rates without bisection, its steps aligned by --start-at.
    #[arg(long, value_name = "I/N", requires = "run_id")]
    shard: Option<String>,
    /// The run's id, the same for every shard.
    #[arg(long, value_name = "ID", requires = "shard")]
    run_id: Option<String>,
    /// When every shard starts (RFC 3339, e.g. 2026-11-23T10:00:00Z); at once when absent.
    #[arg(long, value_name = "RFC3339", requires = "shard", value_parser = rfc3339)]
    start_at: Option<std::time::SystemTime>,
}

fn rfc3339(s: &str) -> Result<std::time::SystemTime, String> {
    humantime::parse_rfc3339_weak(s).map_err(|e| e.to_string())
}

/// Options of `merge`.
#[derive(Args)]
pub(crate) struct MergeArgs {
    /// The shards' report directories (of a run, or of a search: then each
    /// step is merged and judged).
    #[arg(required = true)]
    dirs: Vec<PathBuf>,
    /// Where the merged report goes.
    #[arg(long)]
    out: PathBuf,
}

/// Options of `compare`.
#[derive(Args)]
pub(crate) struct CompareArgs {
    /// The base run's report directory (single or merged).
    base: PathBuf,
    /// The new run's.
    new: PathBuf,
    /// Rules that make it a gate, e.g. "p99=10%,p50=5%,error_rate=0.1pp":
    /// a row judged worse by more than its rule exits 1.
    #[arg(long, value_name = "RULES")]
    max_regression: Option<String>,
    /// Where compare.json and compare.html go [default: the new run's directory].
    #[arg(long)]
    out: Option<PathBuf>,
    /// The bootstrap's seed (the same seed, the same verdicts).
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// Options of `report`.
#[derive(Args)]
pub(crate) struct ReportArgs {
    /// A report directory written by `tokenprobe load`.
    dir: PathBuf,
}

/// Prints to stdout; a closed pipe (`| head`) is not an error worth a panic.
pub(crate) fn say(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
}

#[allow(clippy::print_stderr)]
pub(crate) async fn load(args: LoadArgs) -> ExitCode {
    let mut plan = match Plan::load(&args.scenario) {
        Ok(p) => p,
        Err(e) => return setup_error(&e),
    };
    let overrides = Overrides {
        rate: args.rate,
        duration: args.duration,
        acquisitions: args.acquisitions,
    };
    if let Err(e) = plan.apply(&overrides) {
        return setup_error(&e);
    }
    if let Some(o) = args.output {
        plan.scenario.output = o;
    }
    if let (Some(shard), Some(run_id)) = (&args.shard, args.run_id) {
        match tokenprobe_load::Shard::parse(shard, run_id, args.start_at) {
            Ok(s) => plan = plan.sharded(s),
            Err(e) => return setup_error(&e),
        }
    }
    for w in plan.warnings() {
        warn(&w);
    }
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        wait_for_signal().await;
        eprintln!("tokenprobe: stopping: no new acquisitions; waiting for those in flight");
        let _ = stop.send(true);
    });
    let options = RunOptions {
        quiet: args.quiet,
        stop: stopped,
        metrics_listen: args.metrics_listen,
    };
    if let LoadModel::Search { .. } = plan.scenario.load {
        return search(&plan, options).await;
    }
    match tokenprobe_load::run(&plan, options).await {
        Ok(done) => {
            let code = verdict(
                &done.summary,
                &format!("{}\nreport: {}", done.table, done.dir.display()),
            );
            // `partial`: stopped by the signal before the schedule's end.
            if done.summary.partial {
                eprintln!("tokenprobe: interrupted: the report is partial");
                ExitCode::from(INTERRUPTED)
            } else {
                code
            }
        }
        Err(e) => setup_error(&e),
    }
}

/// A capacity search: its table, then 0 when it found a capacity, 1 when
/// even its first rate failed or the driver was the bottleneck, 130 when
/// interrupted.
#[allow(clippy::print_stderr)]
async fn search(plan: &Plan, options: RunOptions) -> ExitCode {
    match tokenprobe_load::search::run(plan, options).await {
        Ok(done) => {
            say(&format!("{}report: {}", done.table, done.dir.display()));
            let code = done.result.exit_code();
            if code == INTERRUPTED {
                eprintln!("tokenprobe: interrupted: the search is partial");
            }
            ExitCode::from(code)
        }
        Err(e) => setup_error(&e),
    }
}

/// The exit status of a run stopped by SIGINT or SIGTERM (128 + SIGINT's
/// number, as shells report Ctrl-C), whatever its thresholds said: a
/// partial run is not a pass.
pub(crate) const INTERRUPTED: u8 = 130;

/// Prints the table; 0 when every threshold holds, else 1.
fn verdict(summary: &tokenprobe_load::Summary, table: &str) -> ExitCode {
    say(table);
    if summary.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// A scenario, setup or report error: exit 2.
#[allow(clippy::print_stderr)]
pub(crate) fn setup_error(e: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("tokenprobe: {e}");
    ExitCode::from(2)
}

/// Ctrl-C or SIGTERM.
pub(crate) async fn wait_for_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

pub(crate) fn report(args: ReportArgs) -> ExitCode {
    match tokenprobe_load::output::report(&args.dir) {
        Ok((summary, table)) => verdict(&summary, &table),
        Err(e) => setup_error(&e),
    }
}

/// Prints the comparison; 0 when no rule is broken, 1 when one is, 2 for
/// a usage error (different flows, an unreadable directory).
pub(crate) fn compare(args: CompareArgs) -> ExitCode {
    let rules =
        match tokenprobe_load::compare::parse_rules(args.max_regression.as_deref().unwrap_or("")) {
            Ok(r) => r,
            Err(e) => return setup_error(&e),
        };
    let done = tokenprobe_load::compare::compare(&args.base, &args.new, &rules, args.seed)
        .and_then(|c| {
            let out = args.out.as_ref().unwrap_or(&args.new);
            tokenprobe_load::output::comparison(&c, out).map(|()| (c, out.clone()))
        });
    match done {
        Ok((c, out)) => {
            say(&format!(
                "{}report: {}",
                tokenprobe_load::compare::table(&c),
                out.join("compare.html").display()
            ));
            match c.broken().is_empty() {
                true => ExitCode::SUCCESS,
                false => ExitCode::from(1),
            }
        }
        Err(e) => setup_error(&e),
    }
}

pub(crate) fn merge(args: MergeArgs) -> ExitCode {
    let dirs: Vec<&std::path::Path> = args.dirs.iter().map(PathBuf::as_path).collect();
    if dirs.first().is_some_and(|d| d.join("search.json").exists()) {
        return match tokenprobe_load::search::merge(&dirs, &args.out) {
            Ok(done) => {
                say(&format!("{}report: {}", done.table, done.dir.display()));
                ExitCode::from(done.result.exit_code())
            }
            Err(e) => setup_error(&e),
        };
    }
    match tokenprobe_load::output::merge(&dirs, &args.out) {
        Ok((m, table)) => {
            for w in &m.warnings {
                warn(w);
            }
            verdict(
                &m.summary,
                &format!("{table}\nreport: {}", args.out.display()),
            )
        }
        Err(e) => setup_error(&e),
    }
}

#[allow(clippy::print_stderr)]
fn warn(text: &str) {
    eprintln!("tokenprobe: warning: {text}");
}
