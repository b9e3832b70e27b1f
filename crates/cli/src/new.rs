//! `tokenprobe new`: a commented scenario for one system, every key it
//! takes shown, that runs as written against the built-in stub (its demo
//! accounts inline) and says beside each secret how staging gives it.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use tokenprobe_client::FlowConfig;
use tokenprobe_protocol::System;
use tokenprobe_protocol::client_auth::ClientAuth;

use crate::load::{say, setup_error};

/// Options of `new`.
#[derive(Args)]
pub(crate) struct NewArgs {
    /// The system: cognito, cess, venafi, veeva or vcd.
    #[arg(required_unless_present = "list")]
    system: Option<System>,
    /// A `check` scenario (with `[check]`, without load settings).
    #[arg(long)]
    check: bool,
    /// For cognito: client_secret_basic (default), client_secret_post,
    /// client_secret_jwt, private_key_jwt, tls_client_auth or
    /// self_signed_tls_client_auth (`--list` names them all).
    #[arg(long)]
    auth: Option<ClientAuth>,
    /// Write it here instead of to standard output (an existing file is
    /// left alone).
    #[arg(long, short)]
    out: Option<PathBuf>,
    /// Name the systems and the client-authentication methods, and exit.
    #[arg(long, exclusive = true)]
    list: bool,
}

pub(crate) fn new(args: NewArgs) -> ExitCode {
    if args.list {
        let mut out = String::from("systems:\n");
        for s in System::ALL {
            let _ = writeln!(out, "  {}", s.name());
        }
        let _ = writeln!(
            out,
            "client authentication (--auth, for {}):",
            client_credentials().join(", ")
        );
        for a in ClientAuth::ALL {
            let _ = writeln!(out, "  {}", a.method_name());
        }
        say(out.trim_end());
        return ExitCode::SUCCESS;
    }
    let Some(system) = args.system else {
        return setup_error(&"new: which system?");
    };
    if args.auth.is_some() && !System::CLIENT_CREDENTIALS.contains(&system) {
        return setup_error(&format!(
            "new: --auth is for {}",
            client_credentials().join(", ")
        ));
    }
    let text = scenario(system, args.auth.unwrap_or_default(), args.check);
    match &args.out {
        None => {
            say(text.trim_end());
            ExitCode::SUCCESS
        }
        Some(path) => {
            let written = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
                .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()));
            match written {
                Ok(()) => {
                    say(&format!("wrote {}", path.display()));
                    ExitCode::SUCCESS
                }
                Err(e) => setup_error(&format!("{}: {e}", path.display())),
            }
        }
    }
}

/// The names of the systems `--auth` applies to.
fn client_credentials() -> Vec<&'static str> {
    System::CLIENT_CREDENTIALS
        .iter()
        .map(|s| s.name())
        .collect()
}

/// The whole file.
pub(crate) fn scenario(system: System, auth: ClientAuth, check: bool) -> String {
    let name = system.name();
    let mut out = format!(
        "# A {name} scenario, written by `tokenprobe new`. As written it runs against\n\
         # the built-in stub (target = \"stub\") with the stub's demo account:\n\
         #\n#   tokenprobe {} {name}.toml\n#\n\
         # Against staging: set `target` to the server's base URL and give every\n\
         # secret from the environment, as the `staging:` comments show; never\n\
         # keep a real secret in the file. The keys commented out are optional.\n\n\
         name = \"{name}\"\n\
         target = \"stub\"                 # staging: \"https://idp.example.com\" or \"${{TARGET_URL}}\"\n",
        if check { "check" } else { "load" },
    );
    if !check {
        out.push_str(
            "thresholds = [\"p99 < 250ms\", \"error_rate < 1%\", \"achieved_rate >= 95%\"]\n",
        );
    }
    out.push_str(
        "\n[http]\ntimeout_ms = 5000\n# reuse_connections = true      # keep-alive between acquisitions\n\
         # insecure = false              # true skips TLS verification (test servers only)\n",
    );
    if check {
        out.push_str("\n[check]\n");
        out.push_str(FlowConfig::check_template(system));
        out.push_str("spacing = \"2s\"                  # the pause before each negative check\n");
    } else {
        out.push_str(
            "\n[load]\nmodel = \"open\"                  # a constant rate; or \"closed\" (users, think_time)\n\
             rate = 20                        # acquisitions per second\n\
             # stages = [{ duration = \"30s\", rate = 100 }]   # ramps after the start\n\
             # max_in_flight = 1000\n\n\
             [limits]\nduration = \"30s\"\n# grace = \"6s\"                  # for acquisitions in flight at the end\n",
        );
    }
    out.push_str("\n[[flows]]\n");
    out.push_str(&FlowConfig::template(system, auth));
    out
}
