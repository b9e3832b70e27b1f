//! `tokenprobe check`: the contract catalog against a live endpoint (or
//! the built-in stub), from a scenario-style file.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use tokenprobe_config::duration;
use tokenprobe_conformance::catalog::System;
use tokenprobe_conformance::report;
use tokenprobe_conformance::run::{Outcome, Selection, run};
use tokenprobe_conformance::scenario::Scenario;

use crate::load::{say, setup_error, wait_for_signal};

/// Options of `check`.
#[derive(Args)]
pub(crate) struct CheckArgs {
    /// A scenario-style file: `target`, `[http]`, `[[flows]]` with the
    /// credentials, and an optional `[check]` table. A load scenario works
    /// as it is; its load settings are not used.
    #[arg(required_unless_present = "list")]
    config: Option<PathBuf>,
    /// Print the catalog (id, systems, mark, what each check sends and
    /// expects, and for a check that expects a refusal the one change it
    /// makes to the working request) and exit.
    #[arg(long, exclusive = true)]
    list: bool,
    /// Print the evidence (redacted) under each check that did not pass.
    #[arg(long, short)]
    verbose: bool,
    /// Only the flows of these systems (comma-separated).
    #[arg(long, value_delimiter = ',')]
    system: Vec<System>,
    /// Only these check ids (comma-separated), e.g. CG-07,RFC-02.
    #[arg(long, value_delimiter = ',', value_name = "IDS")]
    only: Vec<String>,
    /// Also run the checks that send a wrong secret, password, OTP or client
    /// assertion (one wrong request each, spaced out): they can lock a real
    /// account.
    #[arg(long)]
    include_negative: bool,
    /// The pause before each negative check [default: [check] spacing, or 2s].
    #[arg(long, value_parser = duration::parse)]
    spacing: Option<Duration>,
    /// Write every verdict with its evidence (secrets redacted) as JSON.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write JUnit XML, one testcase per check id and system.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
}

#[allow(clippy::print_stderr)]
pub(crate) async fn check(args: CheckArgs) -> ExitCode {
    let Some(path) = &args.config else {
        say(report::catalog().trim_end());
        return ExitCode::SUCCESS;
    };
    let scenario = match Scenario::read(path) {
        Ok(c) => c,
        Err(e) => return setup_error(&e),
    };
    let (setup, settings) = (&scenario.setup, &scenario.settings);
    let warnings = setup.warnings();
    for w in &warnings {
        eprintln!("tokenprobe: warning: {w}");
    }
    let (started, targets) = match scenario.targets().await {
        Ok(t) => t,
        Err(e) => return setup_error(&e),
    };
    let stub = started.stub;
    if let Some(stub) = &stub {
        eprintln!(
            "tokenprobe: checking the built-in stub at {}",
            stub.base_url()
        );
    }
    let configured: Vec<System> = targets.iter().map(|t| t.system).collect();
    let missing: Vec<&str> = args
        .system
        .iter()
        .filter(|s| !configured.contains(s))
        .map(|s| s.name())
        .collect();
    if !missing.is_empty() {
        return setup_error(&format!(
            "--system {}: the config has no flow for it",
            missing.join(",")
        ));
    }
    let selection = Selection {
        only: (!args.only.is_empty())
            .then(|| args.only.iter().map(|s| s.trim().to_uppercase()).collect()),
        systems: (!args.system.is_empty())
            .then(|| args.system.iter().copied().collect::<BTreeSet<_>>()),
        include_negative: args.include_negative,
        spacing: args
            .spacing
            .or(settings.spacing)
            .unwrap_or(Duration::from_secs(2)),
        ..Selection::default()
    };
    let in_scope: Vec<System> = configured
        .iter()
        .copied()
        .filter(|s| selection.systems.as_ref().is_none_or(|w| w.contains(s)))
        .collect();
    let unknown = selection.unknown_ids(&in_scope);
    if !unknown.is_empty() {
        return setup_error(&format!(
            "--only {}: no such check for the systems checked ({})",
            unknown.join(","),
            in_scope
                .iter()
                .map(|s| s.name())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let stop = selection.stop.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        eprintln!("tokenprobe: stopping after the check in flight; ending its sessions");
        stop.store(true, Ordering::SeqCst);
    });

    say(&report::header());
    let mut r = run(&targets, &selection, |v| {
        say(&report::line(v));
        if args.verbose && v.outcome != Outcome::Pass {
            for l in report::evidence_text(v).lines() {
                say(&format!("        {l}"));
            }
        }
    })
    .await;
    r.insecure = setup.http.insecure;
    r.warnings = warnings;
    say(&report::summary(&r));
    drop(stub);

    if let Err(e) = write_outputs(&args, &r) {
        return setup_error(&format!("{e:#}"));
    }
    if r.ok() && !r.interrupted {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn write_outputs(args: &CheckArgs, r: &tokenprobe_conformance::run::Report) -> anyhow::Result<()> {
    let write = |path: &Path, text: &str| {
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
    };
    if let Some(path) = &args.json {
        write(path, &report::json(r))?;
        say(&format!("evidence: {}", path.display()));
    }
    if let Some(path) = &args.junit {
        let xml = report::junit(r).context("JUnit")?;
        write(path, &xml)?;
        say(&format!("junit: {}", path.display()));
    }
    Ok(())
}
