//! A check scenario: the setup `load` reads too (`target`, `[http]`,
//! `[[flows]]`, `[stub]`) and the `[check]` table; the targets it names,
//! one per flow. What `tokenprobe check` and the `live` test target read,
//! so a file checks the same under both.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use tokenprobe_client::{ClientError, Transport};
use tokenprobe_config::{ConfigError, Expanded, Setup, Started, Tables, duration};

use crate::endpoint::{Options, Target};

/// Why the checks could not start.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The built-in stub did not start.
    #[error("the stub: {0}")]
    Stub(#[from] tokenprobe_config::StartError),
    /// The transport could not be built from `[http]`.
    #[error(transparent)]
    Transport(#[from] ClientError),
    /// A flow could not be built (a secret, a key, discovery).
    #[error("flow {index} ({system}): {error}")]
    Flow {
        /// Its place in the file, from 1.
        index: usize,
        /// Its system.
        system: tokenprobe_protocol::System,
        /// Why.
        error: ClientError,
    },
}

/// The tables only checks read; a load scenario's own are accepted, so
/// that one file serves both.
#[derive(Deserialize, Default)]
struct CheckTables {
    #[serde(default)]
    check: Settings,
}

impl Tables for CheckTables {
    const KEYS: &'static [&'static str] = &["check", "load", "limits", "thresholds", "output"];
}

/// `[check]`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `cognito` (Amazon Cognito's contract) or `rfc6749` (any
    /// client-credentials server: Cognito-only claims not required).
    #[serde(default)]
    pub mode: Mode,
    /// The JWKS path under the `cognito` base URL.
    pub jwks_path: Option<String>,
    /// The pause before each negative check.
    #[serde(default, deserialize_with = "duration::optional")]
    pub spacing: Option<Duration>,
}

/// Which contract a `cognito` flow is held to.
#[derive(Debug, Deserialize, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Amazon Cognito's.
    #[default]
    Cognito,
    /// RFC 6749's alone.
    Rfc6749,
}

/// A check scenario, read and checked.
#[derive(Debug)]
pub struct Scenario {
    /// What `load` reads too.
    pub setup: Setup,
    /// `[check]`.
    pub settings: Settings,
}

impl Scenario {
    /// Reads `path`, `${VAR}`s expanded; errors placed by line and column.
    pub fn read(path: &Path) -> Result<Scenario, ConfigError> {
        let text = tokenprobe_config::read_text(path)?;
        let origin = path.display().to_string();
        let (setup, tables): (Setup, CheckTables) = Expanded::new(&text, &origin)?.read()?;
        Ok(Scenario {
            setup,
            settings: tables.check,
        })
    }

    /// Starts the target (the stub in-process when it is `stub`) and
    /// builds one target per flow, each found by its issuer when it names
    /// one.
    pub async fn targets(&self) -> Result<(Started, Vec<Target>), SetupError> {
        let started = self.setup.start().await?;
        let options = Options {
            generic: self.settings.mode == Mode::Rfc6749,
            jwks_path: self.settings.jwks_path.clone(),
        };
        let mut targets = Vec::new();
        for (i, flow) in self.setup.flows.iter().enumerate() {
            let ca = started.ca_pem.as_deref().map(str::as_bytes);
            let identity = flow.client_identity()?;
            let transport = Transport::with(&self.setup.http, ca, identity.as_ref())?;
            let bare = match identity {
                Some(_) => Some(Transport::with(&self.setup.http, ca, None)?),
                None => None,
            };
            let target = Target::discover(flow, &started.base, transport)
                .await
                .map_err(|error| SetupError::Flow {
                    index: i + 1,
                    system: flow.system(),
                    error,
                })?;
            let target = match bare {
                Some(bare) => target.with_bare_transport(bare),
                None => target,
            };
            targets.push(target.with_options(options.clone()));
        }
        Ok((started, targets))
    }
}
