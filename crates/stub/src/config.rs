//! The stub's own settings (the JWT key, connection limits, faults and
//! quirks per route) and the checks of a whole configuration; the
//! [`Config`] itself, with a table per system, is declared beside the
//! systems (`systems/mod.rs`). Every field has a default that works out of
//! the box; a TOML file replaces what it names (read by the config crate,
//! which places a mistake by file, line and column).

use std::ops::Range;
use std::path::PathBuf;

use serde::Deserialize;
use tokenprobe_protocol::Secret;
use tokenprobe_protocol::jwt::Algorithm;

use crate::fault::RouteFaults;
use crate::route::{Quirk, RouteKey};

pub use crate::systems::Config;
use crate::systems::DEFAULT_ISSUER;

/// `[connections]`: what keeps idle or slow clients from taking the server
/// down. A connection that sends nothing, trickles its headers or stalls
/// its TLS handshake is closed after its timeout; at the cap, the
/// connection idle the longest is closed to make room.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Connections {
    /// At most this many open connections.
    pub max: usize,
    /// From a connection's first byte of a request to its last header.
    pub header_read_timeout_ms: u64,
    /// A connection with no request in flight for this long is closed
    /// (also one that never sent anything).
    pub idle_timeout_ms: u64,
    /// The TLS handshake, from accept.
    pub tls_handshake_timeout_ms: u64,
}

impl Default for Connections {
    fn default() -> Self {
        Connections {
            max: 10_000,
            header_read_timeout_ms: 10_000,
            idle_timeout_ms: 30_000,
            tls_handshake_timeout_ms: 10_000,
        }
    }
}

/// The algorithms the stub signs access tokens with: RS256, what Cognito
/// uses, or ES256, far cheaper to sign, for high rates. HS256 would let
/// anyone who verifies sign, and the stub publishes its keys as a JWKS.
fn token_algorithm<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Algorithm, D::Error> {
    match Algorithm::deserialize(d)? {
        a @ (Algorithm::RS256 | Algorithm::ES256) => Ok(a),
        other => Err(serde::de::Error::custom(format!(
            "the stub signs tokens with RS256 or ES256, not {other}"
        ))),
    }
}

/// The JWT signing key and claims.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JwtConfig {
    /// `RS256` (default) or `ES256`.
    #[serde(deserialize_with = "token_algorithm")]
    pub algorithm: Algorithm,
    /// A PKCS#8 PEM private key; generated at start when absent.
    pub key_file: Option<PathBuf>,
    /// The `kid`; by default the key's RFC 7638 thumbprint.
    pub kid: Option<String>,
    /// The `iss` claim.
    pub issuer: String,
}

impl Default for JwtConfig {
    fn default() -> Self {
        JwtConfig {
            algorithm: Algorithm::RS256,
            key_file: None,
            kid: None,
            issuer: DEFAULT_ISSUER.into(),
        }
    }
}

/// The demo client id every system knows by default.
pub const DEMO_ID: &str = "tokenprobe-demo";
/// The demo secret of the default clients.
pub const DEMO_SECRET: &str = "demo-secret";
/// The OTP of the default CESS user.
pub const DEMO_OTP: &str = "123456";
/// The password of the default Venafi user.
pub const DEMO_PASSWORD: &str = "demo-password";

/// Whether a secret is one of the built-in demo ones (which may be shown).
pub(crate) fn is_demo_secret(s: &Secret) -> bool {
    [DEMO_SECRET, DEMO_OTP, DEMO_PASSWORD].contains(&s.expose())
}

/// A default lifetime, seconds.
pub(crate) fn one_hour() -> u64 {
    3600
}

/// A mistake in a configuration that serde alone cannot see, at a byte
/// range of the TOML it was read from (`0..0` when it has no one place).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Invalid {
    /// Where, in the text the configuration was read from.
    pub span: Range<usize>,
    /// What is wrong.
    pub message: String,
}

impl Config {
    /// What serde alone cannot see: a quirk on a route it does not apply to,
    /// a stall window that ends before it starts. The reader places the
    /// mistake in its file, so a `[stub]` table inside a scenario gets the
    /// same checks as `serve --config`.
    pub fn validate(&self) -> Result<(), Invalid> {
        let error = |span, message| Invalid { span, message };
        let c = &self.connections;
        if c.max == 0
            || [
                c.header_read_timeout_ms,
                c.idle_timeout_ms,
                c.tls_handshake_timeout_ms,
            ]
            .contains(&0)
        {
            return Err(error(
                0..0,
                "[connections]: max and every timeout must be above 0".into(),
            ));
        }
        self.validate_systems()?;
        for (route, faults) in &self.faults {
            for quirk in &faults.quirks {
                if !route
                    .routes()
                    .iter()
                    .any(|r| quirk.get_ref().applies_to(*r))
                {
                    return Err(error(
                        quirk.span(),
                        format!(
                            "quirk `{}` does not apply to route `{}`; it applies to: {}",
                            quirk.get_ref().name(),
                            route.name(),
                            quirk.get_ref().route_names().join(", ")
                        ),
                    ));
                }
            }
            if let Some(w) = &faults.stall_window
                && w.get_ref().until_ms <= w.get_ref().from_ms
            {
                return Err(error(
                    w.span(),
                    "stall_window: until_ms must be after from_ms".into(),
                ));
            }
        }
        Ok(())
    }

    /// The faults of a route: its own entry, else `all`.
    pub(crate) fn faults_for(&self, key: RouteKey) -> Option<&RouteFaults> {
        self.faults
            .get(&key)
            .or_else(|| self.faults.get(&RouteKey::All))
    }

    /// Whether a quirk is on for a route.
    pub(crate) fn quirk(&self, key: RouteKey, quirk: Quirk) -> bool {
        self.faults_for(key)
            .is_some_and(|f| f.quirks.iter().any(|q| *q.get_ref() == quirk))
    }
}
