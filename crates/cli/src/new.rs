//! `tokenprobe new`: a commented scenario for one system, every key it
//! takes shown, that runs as written against the built-in stub (its demo
//! accounts inline) and says beside each secret how staging gives it.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
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
    /// client_secret_jwt or private_key_jwt.
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
        out.push_str("client authentication (cognito, --auth):\n");
        for a in ClientAuth::ALL {
            let _ = writeln!(out, "  {}", a.method_name());
        }
        say(out.trim_end());
        return ExitCode::SUCCESS;
    }
    let Some(system) = args.system else {
        return setup_error(&"new: which system?");
    };
    if args.auth.is_some() && system != System::Cognito {
        return setup_error(&"new: --auth is for cognito");
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
        if system == System::Cognito {
            out.push_str(
                "mode = \"cognito\"                # or \"rfc6749\": any client-credentials server\n\
                 # jwks_path = \"/.well-known/jwks.json\"\n",
            );
        }
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
    out.push_str(&match system {
        System::Cognito => cognito(auth),
        System::Cess => CESS.to_owned(),
        System::Venafi => VENAFI.to_owned(),
        System::Veeva => format!("{VEEVA}{IDP}"),
        System::Vcd => format!("{VCD}{IDP}"),
    });
    out
}

fn cognito(auth: ClientAuth) -> String {
    let credential = match auth {
        ClientAuth::PrivateKeyJwt => {
            "client_id = \"tokenprobe-demo-key\"\n\
             auth = \"private_key_jwt\"\n\
             # The stub's demo key, in tokenprobe's repository (public: never use it elsewhere);\n\
             # the path is from the directory tokenprobe runs in: the repository's root.\n\
             private_key = { file = \"crates/stub/demo-keys/client-es256.pem\" }   # staging: { file = \"client.pem\" } or { env = \"CLIENT_KEY\" }\n\
             # key_algorithm = \"ES256\"       # or RS256; by default the key's\n\
             # key_id = \"…\"                  # the assertion's kid\n\
             # audience = \"…\"                # aud, when not the token endpoint's URL\n"
        }
        ClientAuth::ClientSecretJwt => {
            "client_id = \"tokenprobe-demo\"\n\
             auth = \"client_secret_jwt\"     # an HS256 assertion; the secret never goes on the wire\n\
             client_secret = { value = \"demo-secret\" }   # staging: { env = \"CLIENT_SECRET\" }\n\
             # key_id = \"…\"                  # the assertion's kid\n\
             # audience = \"…\"                # aud, when not the token endpoint's URL\n"
        }
        ClientAuth::Basic | ClientAuth::Body => {
            if auth == ClientAuth::Body {
                "client_id = \"tokenprobe-demo\"\n\
                 auth = \"client_secret_post\"    # id and secret in the body\n\
                 client_secret = { value = \"demo-secret\" }   # staging: { env = \"CLIENT_SECRET\" }\n"
            } else {
                "client_id = \"tokenprobe-demo\"\n\
                 auth = \"client_secret_basic\"   # HTTP Basic; or client_secret_post, client_secret_jwt, private_key_jwt\n\
                 client_secret = { value = \"demo-secret\" }   # staging: { env = \"CLIENT_SECRET\" }\n"
            }
        }
    };
    format!(
        "system = \"cognito\"               # RFC 6749 client credentials (Amazon Cognito, or any server)\n\
         {credential}\
         scopes = [\"tokenprobe/read\"]\n\
         # base_url = \"https://idp.example.com\"   # this flow's server, when not the target\n\
         # token_path = \"/oauth2/token\"    # for another RFC 6749 server\n\
         # issuer = \"https://idp.example.com\"     # find the token endpoint by RFC 8414 discovery instead\n\
         # params = {{ audience = \"https://api.example.com\" }}   # more form members (Auth0)\n"
    )
}

const CESS: &str = "system = \"cess\"                  # VaultID CESS: password grant, CPF/CNPJ + OTP\n\
client_id = \"tokenprobe-demo\"\n\
client_secret = { value = \"demo-secret\" }   # staging: { env = \"CESS_SECRET\" }\n\
username = \"12345678909\"         # a CPF (11 digits) or CNPJ (14), check digits valid\n\
otp = { value = \"123456\" }        # staging: { env = \"CESS_OTP\" }\n\
# scopes = [\"signature_session\"] # the server's default (authentication_session) when absent\n\
# lifetime = 3600                # seconds; at most 604800 (CPF) or 2592000 (CNPJ)\n\
# provider = \"…\"                # the user's cloud\n\
# base_url = \"https://idp.example.com\"   # this flow's server, when not the target\n";

const VENAFI: &str = "system = \"venafi\"                # Venafi TPP: OAuth grant, Venafi's scope grammar\n\
client_id = \"tokenprobe-demo\"   # the API integration's Application ID\n\
username = \"local:admin\"\n\
password = { value = \"demo-password\" }   # staging: { env = \"VENAFI_PASSWORD\" }\n\
scope = \"certificate:manage\"     # e.g. \"certificate:discover,manage;configuration\"\n\
# base_url = \"https://idp.example.com\"   # this flow's server, when not the target\n";

const VEEVA: &str = "system = \"veeva\"                 # Veeva Vault: an IdP token, then a Vault session\n\
profile_id = \"tokenprobe-demo\"   # the Vault's OAuth 2.0 / OIDC profile\n\
# client_id = \"tokenprobe-load\"  # Vault's tracking client id\n\
# base_url = \"https://myvault.veevavault.com\"   # the Vault, when not the target\n";

const VCD: &str = "system = \"vcd\"                   # VMware Cloud Director: an IdP token, then a session\n\
org = \"Finance\"\n\
# provider = false               # true: /sessions/provider (the system org)\n\
# version = \"38.0\"               # the API version of the Accept header\n\
# format = \"xml\"                 # or \"json\"\n\
# base_url = \"https://vcd.example.com\"   # Cloud Director, when not the target\n";

/// The first step of the two-step systems.
const IDP: &str = "[flows.idp.cognito]               # step 1: any RFC 6749 client-credentials endpoint…\n\
client_id = \"tokenprobe-demo\"\n\
client_secret = { value = \"demo-secret\" }   # staging: { env = \"IDP_SECRET\" }\n\
# base_url = \"https://idp.example.com\"     # the IdP, when not the target\n\
# …or a token you already hold:  idp = { token = { env = \"IDP_TOKEN\" } }\n";
