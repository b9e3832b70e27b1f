//! `tokenprobe load` and `tokenprobe report`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use tokenprobe_load::{LoadModel, Plan, RunOptions};

/// Options of `load`.
#[derive(Args)]
pub(crate) struct LoadArgs {
    /// The scenario file (TOML); see scenarios/ for one per system.
    scenario: PathBuf,
    /// Override the open model's (starting) rate, acquisitions per second.
    #[arg(long)]
    rate: Option<f64>,
    /// Override the run's duration, e.g. 30s or 2m.
    #[arg(long, value_parser = humantime_duration)]
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
}

fn humantime_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| e.to_string())
}

/// Options of `report`.
#[derive(Args)]
pub(crate) struct ReportArgs {
    /// A report directory written by `tokenprobe load`.
    dir: PathBuf,
}

/// Prints to stdout; a closed pipe (`| head`) is not an error worth a panic.
fn say(text: &str) {
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
    if let (Some(r), LoadModel::Open { rate, .. }) = (args.rate, &mut plan.scenario.load) {
        *rate = r;
    }
    if let Some(d) = args.duration {
        plan.duration = d;
    }
    if let Some(n) = args.acquisitions {
        plan.scenario.limits.acquisitions = Some(n);
    }
    if let Some(o) = args.output {
        plan.scenario.output = o;
    }
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        wait_for_signal().await;
        eprintln!("tokenprobe: stopping: no new acquisitions; waiting for those in flight");
        let _ = stop.send(true);
    });
    match tokenprobe_load::run(
        &plan,
        RunOptions {
            quiet: args.quiet,
            stop: stopped,
        },
    )
    .await
    {
        Ok(done) => verdict(
            &done.summary,
            &format!("{}\nreport: {}", done.table, done.dir.display()),
        ),
        Err(e) => setup_error(&e),
    }
}

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
fn setup_error(e: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("tokenprobe: {e}");
    ExitCode::from(2)
}

/// Ctrl-C or SIGTERM.
async fn wait_for_signal() {
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
    match tokenprobe_load::report::render_dir(&args.dir) {
        Ok((summary, table)) => verdict(&summary, &table),
        Err(e) => setup_error(&e),
    }
}
