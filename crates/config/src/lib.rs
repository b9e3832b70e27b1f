//! Scenario files, as every command reads them. A file names a target, how
//! to reach it (`[http]`), the flows with their credentials (`[[flows]]`)
//! and, for the built-in stub, its configuration (`[stub]`): that is the
//! [`Setup`], read and validated here once. Each command adds its own
//! tables on top ([`Tables`]: `load` its model, limits and thresholds,
//! `check` its `[check]`), and one file can serve both.
//!
//! `${VAR}` expands from the environment before parsing, and every mistake
//! is a [`ConfigError`] with the file, line and column of the original
//! text, never the value found there (it may be a secret).

pub mod duration;
mod error;
mod expand;

use std::collections::BTreeSet;
use std::path::Path;

use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Deserializer};
use serde_spanned::Spanned;
use tokenprobe_client::{FlowConfig, HttpOptions};
use tokenprobe_protocol::BaseUrl;
use tokenprobe_protocol::jwt::Algorithm;
use tokenprobe_stub::{Config as StubConfig, Stub, StubHandle, Tls};

pub use error::{ConfigError, toml_message};
pub use expand::Expanded;
pub use tokenprobe_stub::StartError;

/// Where the traffic goes: the file's `target`.
#[derive(Debug, Clone, PartialEq)]
pub enum Endpoint {
    /// The embedded stub, started in-process on loopback.
    Stub,
    /// A server.
    Url(BaseUrl),
}

impl<'de> Deserialize<'de> for Endpoint {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s == "stub" {
            return Ok(Endpoint::Stub);
        }
        s.parse().map(Endpoint::Url).map_err(|_| {
            serde::de::Error::custom(
                "target: expected `stub` or a base URL such as https://idp.example.com \
                     (http or https, a host, no credentials, no query)",
            )
        })
    }
}

/// What every command reads from a scenario file.
#[derive(Debug, Clone, Deserialize)]
pub struct Setup {
    /// Names the run; the file's stem when absent.
    pub name: Option<String>,
    /// `stub` or a base URL; flows without a `base_url` use it.
    pub target: Endpoint,
    /// The embedded stub's configuration (faults, quirks, accounts).
    #[serde(default)]
    pub stub: Option<StubConfig>,
    /// Timeouts, connection mode, TLS trust.
    #[serde(default)]
    pub http: HttpOptions,
    /// The flows, in order.
    pub flows: Vec<FlowConfig>,
}

/// The top-level keys of [`Setup`].
const SETUP_KEYS: &[&str] = &["name", "target", "stub", "http", "flows"];

/// A command's own tables, read from the same file as the [`Setup`].
pub trait Tables: DeserializeOwned {
    /// The top-level keys the command reads, or accepts so that one file
    /// serves several commands; any other key is a mistake.
    const KEYS: &'static [&'static str];
}

/// A running target: the stub's handle when it is the stub, and the base
/// URL flows without their own use.
pub struct Started {
    /// The stub, when the target is `stub`; dropping it stops it.
    pub stub: Option<StubHandle>,
    /// The CA of a stub that serves TLS (for a flow that authenticates
    /// with a client certificate), which the transports then trust.
    pub ca_pem: Option<String>,
    /// Where flows without a `base_url` send.
    pub base: BaseUrl,
}

impl Setup {
    /// Starts the target: the stub in-process (its `[stub]` configuration,
    /// or the demo with ES256 keys, which are fast to make; over TLS with a
    /// CA made for the run when a flow authenticates with a certificate),
    /// or nothing for a URL.
    pub async fn start(&self) -> Result<Started, StartError> {
        match &self.target {
            Endpoint::Url(base) => Ok(Started {
                stub: None,
                ca_pem: None,
                base: base.clone(),
            }),
            Endpoint::Stub => {
                let config = self.stub.clone().unwrap_or_else(|| {
                    let mut c = StubConfig::default();
                    c.jwt.algorithm = Algorithm::ES256;
                    c
                });
                let mut builder = Stub::builder(config);
                if self.flows.iter().any(FlowConfig::mutual_tls) {
                    builder = builder.tls(Tls::SelfSigned);
                }
                let stub = builder.start().await?;
                let base = stub.base_url();
                Ok(Started {
                    ca_pem: stub.ca_pem().map(str::to_owned),
                    stub: Some(stub),
                    base,
                })
            }
        }
    }

    /// What to warn of before any traffic: TLS verification off, or
    /// credentials sent in clear to another machine.
    pub fn warnings(&self) -> Vec<String> {
        let target = match &self.target {
            Endpoint::Url(u) => Some(u),
            Endpoint::Stub => None,
        };
        let mut out = self.http.warnings(
            self.flows
                .iter()
                .flat_map(FlowConfig::base_urls)
                .chain(target),
        );
        let tls = self.flows.iter().filter(|f| f.mutual_tls()).count();
        if target.is_none() && tls > 0 && tls < self.flows.len() {
            out.push(
                "the built-in stub serves TLS for the mutual-TLS flows: the other flows \
                 go over TLS too, and their latencies include it"
                    .to_owned(),
            );
        }
        out
    }

    /// The flows' names in order, as reports name them: the system, then
    /// `-2`, `-3`… for a second or third flow of one system.
    pub fn flow_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for f in &self.flows {
            let system = f.system().name();
            let n = names
                .iter()
                .filter(|n| n.as_str() == system || n.starts_with(&format!("{system}-")))
                .count();
            names.push(if n == 0 {
                system.to_owned()
            } else {
                format!("{system}-{}", n + 1)
            });
        }
        names
    }
}

/// The built-in stub's configuration (`serve --config`), read and
/// checked; `origin` names it in errors.
pub fn stub_config(text: &str, origin: &str) -> Result<StubConfig, ConfigError> {
    let config: StubConfig = toml::from_str(text)
        .map_err(|e| ConfigError::at(origin, text, e.span(), toml_message(&e)))?;
    config
        .validate()
        .map_err(|e| ConfigError::at(origin, text, Some(e.span), e.message))?;
    Ok(config)
}

/// [`stub_config`] from a file.
pub fn load_stub_config(path: &Path) -> Result<StubConfig, ConfigError> {
    stub_config(&read_text(path)?, &path.display().to_string())
}

/// Reads a file's text, placing a failure to read it by the file's name.
pub fn read_text(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path)
        .map_err(|e| ConfigError::at(&path.display().to_string(), "", None, e.to_string()))
}

impl Expanded<'_> {
    /// Reads the [`Setup`] and a command's [`Tables`], and checks what they
    /// share: only known keys at the top, at least one flow, a `[stub]`
    /// only for the stub and valid as `serve --config` takes it.
    pub fn read<T: Tables>(&self) -> Result<(Setup, T), ConfigError> {
        self.known_keys(T::KEYS)?;
        let setup: Setup = self.parse()?;
        if setup.flows.is_empty() {
            return Err(self.whole("no [[flows]]"));
        }
        if let Some(stub) = &setup.stub {
            if setup.target != Endpoint::Stub {
                return Err(self.whole("[stub] is only for target = \"stub\""));
            }
            stub.validate()
                .map_err(|e| self.error(Some(e.span), e.message))?;
        }
        Ok((setup, self.parse()?))
    }

    /// A top-level key neither the setup nor the command knows is an error
    /// at its place (every table below has its own list).
    fn known_keys(&self, own: &[&str]) -> Result<(), ConfigError> {
        let keys: std::collections::BTreeMap<Spanned<String>, IgnoredAny> = self.parse()?;
        let known: BTreeSet<&str> = SETUP_KEYS.iter().chain(own).copied().collect();
        match keys.keys().find(|k| !known.contains(k.get_ref().as_str())) {
            None => Ok(()),
            Some(k) => {
                let expected: Vec<String> = SETUP_KEYS
                    .iter()
                    .chain(own)
                    .map(|k| format!("`{k}`"))
                    .collect();
                Err(self.error(
                    Some(k.span()),
                    format!(
                        "unknown field `{}`, expected one of {}",
                        k.get_ref(),
                        expected.join(", ")
                    ),
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Own {
        #[serde(default)]
        extra: Option<u32>,
    }

    impl Tables for Own {
        const KEYS: &'static [&'static str] = &["extra"];
    }

    const MINIMAL: &str = "target = \"stub\"\n[[flows]]\nsystem = \"cognito\"\nclient_id = \"a\"\n\
                           client_secret = { value = \"s\" }\n";

    fn read(text: &str) -> Result<(Setup, Own), ConfigError> {
        Expanded::new(text, "f.toml")?.read()
    }

    #[test]
    fn the_setup_and_a_commands_tables_come_from_one_file() {
        let (setup, own) = read(&format!("extra = 3\n{MINIMAL}")).unwrap();
        assert_eq!((setup.flows.len(), own.extra), (1, Some(3)));
        assert_eq!(setup.flow_names(), ["cognito"]);
    }

    #[test]
    fn mistakes_are_placed_and_shared_rules_hold_for_every_command() {
        let e = read(&format!("name = \"n\"\ncolour = 1\n{MINIMAL}"))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "f.toml:2:1: unknown field `colour`, expected one of `name`, `target`, `stub`, \
             `http`, `flows`, `extra`"
        );
        let e = read("target = \"stub\"\nflows = []\n")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "f.toml:1:1: no [[flows]]");
        let url = MINIMAL.replace("\"stub\"", "\"https://idp.example.com\"");
        let e = read(&format!("{url}[stub]\nmax_body_bytes = 10\n"))
            .unwrap_err()
            .to_string();
        assert_eq!(e, "f.toml:1:1: [stub] is only for target = \"stub\"");
    }

    #[test]
    fn flows_of_one_system_are_numbered() {
        let twice = format!(
            "{MINIMAL}[[flows]]\nsystem = \"cognito\"\nclient_id = \"b\"\nclient_secret = {{ value = \"s\" }}\n"
        );
        let (setup, _) = read(&twice).unwrap();
        assert_eq!(setup.flow_names(), ["cognito", "cognito-2"]);
    }
}
