//! `tokenprobe`: the one binary. Subcommands: `check` (the contract
//! catalog against an endpoint), `load` (a load run and its report),
//! `report` (re-render a report), `merge` (join shards), `compare` (two
//! runs), `serve` (the stub server), `new` (a scenario to start from);
//! `completions` and `man` describe it
//! to shells and to `man`.

mod check;
mod load;
mod new;
mod serve;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

/// Conformance checks, load runs and a stub server for OAuth-style token
/// endpoints (Veeva Vault, VaultID CESS, Venafi TPP, RFC 6749 client
/// credentials / Amazon Cognito, VMware Cloud Director).
#[derive(Parser)]
#[command(name = "tokenprobe", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check an endpoint against its documented contract, check by check
    /// (exit 0: nothing failed, 1: a check failed or could not run, 2: the
    /// config or the command line is wrong).
    Check(check::CheckArgs),
    /// Run a load scenario and write its report (exit 0: thresholds hold,
    /// 1: a threshold failed, 2: the scenario, a flag or the setup is wrong,
    /// 130: interrupted by SIGINT or SIGTERM, the partial report written).
    Load(load::LoadArgs),
    /// Re-render a report directory from its saved data.
    Report(load::ReportArgs),
    /// Merge the shards of one run or search (`load --shard I/N --run-id ID`)
    /// into one report, with a row per shard.
    Merge(load::MergeArgs),
    /// Compare a new run with a base run (flow by flow, against the noise
    /// both show); with --max-regression, a gate: 1 when a rule is broken.
    Compare(load::CompareArgs),
    /// Serve the five systems on one port, as documented, with faults and
    /// quirks from a configuration file.
    Serve(serve::ServeArgs),
    /// Write a commented scenario for a system, runnable as written against
    /// the built-in stub (`--list`: the systems and client-authentication
    /// methods).
    New(new::NewArgs),
    /// Print a completion script for SHELL (e.g. `tokenprobe completions
    /// bash > ~/.local/share/bash-completion/completions/tokenprobe`).
    Completions {
        /// bash, zsh, fish, powershell or elvish.
        shell: clap_complete::Shell,
    },
    /// Print the man page, in roff (e.g. `tokenprobe man > tokenprobe.1`),
    /// or a subcommand's (`tokenprobe man load > tokenprobe-load.1`).
    Man {
        /// The subcommand; the whole binary's page without it.
        subcommand: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut text = Vec::new();
    match cli.command {
        Command::New(args) => return new::new(args),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "tokenprobe", &mut text);
            return print(&text);
        }
        Command::Man { subcommand } => {
            let cli = Cli::command();
            let page = match subcommand {
                None => cli,
                Some(name) => match cli.find_subcommand(&name) {
                    Some(sub) => sub
                        .clone()
                        .name(format!("tokenprobe-{name}"))
                        .bin_name(format!("tokenprobe {name}"))
                        .version(env!("CARGO_PKG_VERSION")),
                    None => return fail(&format!("man: no subcommand {name:?}")),
                },
            };
            return match clap_mangen::Man::new(page).render(&mut text) {
                Ok(()) => print(&text),
                Err(e) => fail(&format!("writing the man page: {e}")),
            };
        }
        _ => {}
    }
    // One crypto provider for every TLS connection the binary makes.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    // Every connection is a descriptor: the stub serving thousands of
    // clients, or a load run opening a connection per acquisition, must
    // not stop at the soft limit (often 1024) when the hard one is higher.
    #[cfg(unix)]
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start the runtime: {e}")),
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Check(args) => Ok(Some(check::check(args).await)),
            Command::Serve(args) => serve::run(args).await,
            Command::Load(args) => Ok(Some(load::load(args).await)),
            Command::Report(args) => Ok(Some(load::report(args))),
            Command::Merge(args) => Ok(Some(load::merge(args))),
            Command::Compare(args) => Ok(Some(load::compare(args))),
            Command::New(_) | Command::Completions { .. } | Command::Man { .. } => Ok(None),
        }
    });
    match result {
        Ok(Some(code)) => code,
        Ok(None) => ExitCode::SUCCESS,
        Err(e) => fail(&format!("{e:#}")),
    }
}

/// Writes `text` to stdout; a reader that stopped early (`| head`) is not
/// an error.
fn print(text: &[u8]) -> ExitCode {
    use std::io::Write as _;
    match std::io::stdout().write_all(text) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => fail(&format!("stdout: {e}")),
        _ => ExitCode::SUCCESS,
    }
}

#[allow(clippy::print_stderr)]
fn fail(message: &str) -> ExitCode {
    eprintln!("tokenprobe: {message}");
    ExitCode::FAILURE
}
