//! `tokenprobe serve`: the stub server in the foreground.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use tokenprobe_stub::{Config, Stub, StubHandle, Tls};
use tracing_subscriber::EnvFilter;

/// Options of `serve`.
#[derive(Args)]
pub(crate) struct ServeArgs {
    /// TOML configuration (accounts and client keys, token lifetimes, JWT
    /// algorithm, faults, quirks); the built-in demo accounts when absent.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Serve HTTPS with a certificate made at start, signed by a throwaway CA;
    /// clients may then authenticate with a certificate (mutual TLS, the demo
    /// clients tokenprobe-demo-mtls and tokenprobe-demo-self-signed).
    #[arg(long)]
    tls: bool,
    /// Serve HTTPS with this certificate chain (PEM) instead.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Write the generated CA certificate here, for clients to trust.
    #[arg(long, value_name = "FILE", requires = "tls")]
    write_ca: Option<PathBuf>,
    /// Do not log each request.
    #[arg(long, short)]
    quiet: bool,
}

pub(crate) async fn run(args: ServeArgs) -> anyhow::Result<Option<std::process::ExitCode>> {
    let level = if args.quiet { "warn" } else { "info" };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level)),
        )
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();

    let config = match &args.config {
        Some(path) => tokenprobe_config::load_stub_config(path)?,
        None => Config::default(),
    };
    let mut builder = Stub::builder(config).listen(args.listen);
    match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            builder = builder.tls(Tls::Files {
                cert: cert.clone(),
                key: key.clone(),
            });
        }
        _ if args.tls => builder = builder.tls(Tls::SelfSigned),
        _ => {}
    }
    let stub = builder.start().await?;
    if let (Some(path), Some(pem)) = (&args.write_ca, stub.ca_pem()) {
        std::fs::write(path, pem).with_context(|| format!("writing {}", path.display()))?;
    }
    // Listening before the banner says the stub is up: `ctrl_c()` would
    // only register when first polled, and a SIGINT sent in between (a
    // script that reads the banner, asks, and stops it) would kill the
    // process instead of stopping it cleanly.
    #[cfg(unix)]
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .context("listening for Ctrl-C")?;
    print_banner(&stub, args.write_ca.as_deref())?;

    #[cfg(unix)]
    interrupt.recv().await;
    #[cfg(not(unix))]
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    tracing::warn!("Ctrl-C: finishing requests in flight, then stopping");
    let stats = stub.stats();
    stub.shutdown().await;
    tracing::info!("{stats}");
    Ok(None)
}

/// The address and one working `curl` line per system. A secret is shown
/// only when it is the built-in demo one; others stay behind a variable.
fn print_banner(stub: &StubHandle, ca: Option<&std::path::Path>) -> anyhow::Result<()> {
    let c = stub.config();
    let url = stub.base_url().to_string();
    let url = url.trim_end_matches('/');
    let tls = match (stub.ca_pem(), ca) {
        (None, _) => String::new(),
        (Some(_), Some(path)) => format!(" --cacert {}", path.display()),
        (Some(_), None) => " --cacert CA.pem (see --write-ca)".into(),
    };
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "tokenprobe stub serving on {url} (JWT {:?})",
        c.jwt.algorithm
    )?;
    writeln!(out, "Ctrl-C stops it. Try:")?;
    for example in c.examples(url, &format!("curl -s{tls}")) {
        writeln!(out, "\n{example}")?;
    }
    writeln!(out)?;
    out.flush()?;
    Ok(())
}
