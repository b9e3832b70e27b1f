//! The stub's configuration: accounts, token lifetimes, the JWT key, and
//! faults and quirks per route. Every field has a default that works out of
//! the box; a TOML file replaces what it names. Unknown keys and bad values
//! are refused with the file, line and column.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use tokenprobe_protocol::Secret;
use tokenprobe_protocol::jwt::Algorithm;
use tokenprobe_protocol::taxid::TaxId;
use tokenprobe_protocol::venafi::Scope;

use crate::fault::RouteFaults;
use crate::route::{Quirk, RouteKey};

/// The whole configuration. `Config::default()` is the embedded demo.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Larger request bodies get `413` (not read further).
    pub max_body_bytes: usize,
    /// How Cognito-style access tokens are signed.
    pub jwt: JwtConfig,
    /// `true`: Vault and VCD take any bearer token; `false`: only tokens the
    /// stub's own `cognito` route signed and that have not expired.
    pub accept_any_token: bool,
    /// RFC 6749 client credentials.
    pub cognito: CognitoConfig,
    /// VaultID CESS.
    pub cess: CessConfig,
    /// Venafi TPP.
    pub venafi: VenafiConfig,
    /// Veeva Vault.
    pub veeva: VeevaConfig,
    /// VMware Cloud Director.
    pub vcd: VcdConfig,
    /// Faults and quirks per route; `all` applies to routes without their own.
    pub faults: BTreeMap<RouteKey, RouteFaults>,
    /// How long idle and slow clients may hold a connection, and how many
    /// connections there may be.
    pub connections: Connections,
}

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
            issuer: "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_tokenprobe".into(),
        }
    }
}

/// One RFC 6749 client.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CognitoClient {
    /// `client_id`.
    pub id: String,
    /// `client_secret`, for a client that authenticates with one (sent,
    /// or as the HS256 key of its `client_secret_jwt` assertions).
    #[serde(default)]
    pub secret: Option<Secret>,
    /// PEM public keys (P-256 or RSA) of a `private_key_jwt` client.
    #[serde(default)]
    pub public_keys: Vec<String>,
    /// …or its keys as a JWKS (JSON text), chosen by `kid`.
    #[serde(default)]
    pub jwks: Option<String>,
    /// Scopes the client may ask for.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Access token lifetime.
    #[serde(default = "one_hour")]
    pub lifetime_secs: u64,
}

/// The demo `private_key_jwt` client's id; its private keys are
/// `crates/stub/demo-keys/client-{es256,rs256}.pem` (demo only: public).
pub const DEMO_KEY_CLIENT_ID: &str = "tokenprobe-demo-key";

/// The `cognito` route's clients.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CognitoConfig {
    /// Known clients.
    pub clients: Vec<CognitoClient>,
}

impl Default for CognitoConfig {
    fn default() -> Self {
        CognitoConfig {
            clients: vec![
                CognitoClient {
                    id: DEMO_ID.into(),
                    secret: Some(Secret::new(DEMO_SECRET)),
                    public_keys: Vec::new(),
                    jwks: None,
                    scopes: vec!["tokenprobe/read".into(), "tokenprobe/write".into()],
                    lifetime_secs: 3600,
                },
                CognitoClient {
                    id: DEMO_KEY_CLIENT_ID.into(),
                    secret: None,
                    public_keys: vec![
                        include_str!("../demo-keys/client-es256.pub.pem").into(),
                        include_str!("../demo-keys/client-rs256.pub.pem").into(),
                    ],
                    jwks: None,
                    scopes: vec!["tokenprobe/read".into(), "tokenprobe/write".into()],
                    lifetime_secs: 3600,
                },
            ],
        }
    }
}

/// A CESS API client.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CessClient {
    /// `client_id`.
    pub id: String,
    /// `client_secret`.
    pub secret: Secret,
}

/// A CESS user: a CPF or CNPJ and the OTP it accepts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CessUser {
    /// CPF or CNPJ with valid check digits.
    #[serde(deserialize_with = "tax_id")]
    pub username: TaxId,
    /// The one OTP the stub accepts for this user.
    pub otp: Secret,
    /// The user's cloud, echoed as `provider`.
    #[serde(default = "demo_provider")]
    pub provider: String,
}

/// VaultID CESS.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CessConfig {
    /// Known clients.
    pub clients: Vec<CessClient>,
    /// Known users.
    pub users: Vec<CessUser>,
    /// `expires_in` when no `lifetime` is asked (capped by the user's
    /// limit). A `lifetime` above the limit is refused with 400 (CE-11).
    pub lifetime_secs: u32,
}

impl Default for CessConfig {
    fn default() -> Self {
        CessConfig {
            clients: vec![CessClient {
                id: DEMO_ID.into(),
                secret: Secret::new(DEMO_SECRET),
            }],
            users: vec![CessUser {
                username: demo_tax_id(),
                otp: Secret::new(DEMO_OTP),
                provider: demo_provider(),
            }],
            lifetime_secs: 604_800,
        }
    }
}

/// A Venafi API integration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VenafiApplication {
    /// The Application ID sent as `client_id`.
    pub client_id: String,
    /// The widest scope the integration allows.
    #[serde(deserialize_with = "venafi_scope")]
    pub scope: Scope,
    /// Whether refresh tokens are issued.
    #[serde(default = "yes")]
    pub refresh: bool,
    /// Access token lifetime.
    #[serde(default = "one_hour")]
    pub lifetime_secs: u64,
    /// How long the refresh token works.
    #[serde(default = "ninety_days")]
    pub refresh_lifetime_secs: u64,
}

/// A Venafi user.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VenafiUser {
    /// e.g. `local:admin`.
    pub username: String,
    /// The password.
    pub password: Secret,
    /// Sent back as `identity`.
    pub identity: String,
}

/// Venafi TPP.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VenafiConfig {
    /// `false`: every authorize gets 400 "Username/Password authentication not enabled".
    pub password_auth: bool,
    /// API integrations.
    pub applications: Vec<VenafiApplication>,
    /// Users.
    pub users: Vec<VenafiUser>,
}

impl Default for VenafiConfig {
    fn default() -> Self {
        VenafiConfig {
            password_auth: true,
            applications: vec![VenafiApplication {
                client_id: DEMO_ID.into(),
                scope: "certificate:discover,manage,delete,revoke;configuration:manage;ssh:manage;statistics"
                    .parse()
                    .expect("the demo scope follows the grammar"),
                refresh: true,
                lifetime_secs: 3600,
                refresh_lifetime_secs: ninety_days(),
            }],
            users: vec![VenafiUser {
                username: "local:admin".into(),
                password: Secret::new(DEMO_PASSWORD),
                identity: "local:{3a6c5d2e-1f0b-4c47-9a53-6d2b8e1f4c7a}".into(),
            }],
        }
    }
}

/// A Vault security profile and the session it gives.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VeevaProfile {
    /// The profile id in the path.
    pub id: String,
    /// `userId`.
    pub user_id: u64,
    /// `vaultId`.
    pub vault_id: u64,
    /// `vaultIds`.
    pub vaults: Vec<VeevaVault>,
}

/// One vault of a profile.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VeevaVault {
    /// Id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// API base URL.
    pub url: String,
}

/// Veeva Vault.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VeevaConfig {
    /// Known profiles.
    pub profiles: Vec<VeevaProfile>,
}

impl Default for VeevaConfig {
    fn default() -> Self {
        let vault = |id, name: &str, host: &str| VeevaVault {
            id,
            name: name.into(),
            url: format!("https://{host}-veevapharm.veevavault.com/api"),
        };
        VeevaConfig {
            profiles: vec![VeevaProfile {
                id: DEMO_ID.into(),
                user_id: 12021,
                vault_id: 1776,
                vaults: vec![
                    vault(1776, "PromoMats", "promomats"),
                    vault(1777, "eTMF", "etmf"),
                    vault(1779, "QualityDocs", "qualitydocs"),
                ],
            }],
        }
    }
}

/// VMware Cloud Director.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VcdConfig {
    /// Tenant organizations.
    pub orgs: Vec<String>,
    /// The user named in every Session.
    pub user: String,
    /// Session lifetime.
    pub session_lifetime_secs: u64,
}

impl Default for VcdConfig {
    fn default() -> Self {
        VcdConfig {
            orgs: vec!["Finance".into(), "System".into()],
            user: "bob".into(),
            session_lifetime_secs: 1800,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_body_bytes: 64 * 1024,
            jwt: JwtConfig::default(),
            accept_any_token: false,
            cognito: CognitoConfig::default(),
            cess: CessConfig::default(),
            venafi: VenafiConfig::default(),
            veeva: VeevaConfig::default(),
            vcd: VcdConfig::default(),
            faults: BTreeMap::new(),
            connections: Connections::default(),
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
pub fn is_demo_secret(s: &Secret) -> bool {
    [DEMO_SECRET, DEMO_OTP, DEMO_PASSWORD].contains(&s.expose())
}

fn demo_provider() -> String {
    "SOLUTIHOM".into()
}

fn demo_tax_id() -> TaxId {
    // 123.456.789-09: a CPF whose check digits are right.
    TaxId::complete("123456789").expect("a nine-digit CPF base")
}

fn one_hour() -> u64 {
    3600
}

fn ninety_days() -> u64 {
    90 * 86_400
}

fn yes() -> bool {
    true
}

fn tax_id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<TaxId, D::Error> {
    let s = String::deserialize(d)?;
    TaxId::parse(&s).map_err(|e| serde::de::Error::custom(format!("a CPF or CNPJ: {e}")))
}

fn venafi_scope<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Scope, D::Error> {
    let s = String::deserialize(d)?;
    s.parse().map_err(serde::de::Error::custom)
}

/// A configuration file that could not be used, with where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file (or `<inline>`).
    pub origin: String,
    /// 1-based line, where known.
    pub line: Option<usize>,
    /// 1-based column, where known.
    pub column: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "{}:{l}:{c}: {}", self.origin, self.message),
            _ => write!(f, "{}: {}", self.origin, self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// What a TOML reader said, with every value it quoted taken out: a
/// misplaced secret (`client_secret = "${SECRET}"` where a table was due)
/// must not reach a CI log through an error message. Keys and the expected
/// shape stay; what was found is named by its kind only.
pub fn toml_message(e: &toml::de::Error) -> String {
    without_values(e.message().trim_end())
}

/// `message` (a serde or TOML error) without the values it quotes.
///
/// serde's own shapes are rewritten exactly (`invalid type: string "…",
/// expected …` keeps `invalid type: string, expected …`); in any other
/// message, whatever stands in backticks or double quotes before the word
/// `expected` is a value found and is taken out, what comes after it is the
/// schema and stays.
fn without_values(message: &str) -> String {
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix) {
            // The found value may itself hold ", expected ": split at the last.
            let (found, expected) = rest.rsplit_once(", expected ").unwrap_or((rest, ""));
            let kind = found
                .split(['`', '"', '\''])
                .next()
                .unwrap_or_default()
                .trim();
            let kind = if kind.is_empty() { "value" } else { kind };
            return match expected {
                "" => format!("{prefix}{kind}"),
                e => format!("{prefix}{kind}, expected {e}"),
            };
        }
    }
    if let Some(rest) = message.strip_prefix("unknown variant `") {
        // The variant found may hold anything; the list after it does not
        // hold "`, expected " or "`, there are".
        return match ["`, expected ", "`, there are "]
            .iter()
            .find_map(|end| rest.rfind(end).map(|i| &rest[i + 3..]))
        {
            Some(tail) => format!("unknown variant, {tail}"),
            None => "unknown variant".to_owned(),
        };
    }
    // Key names are not values: serde's field messages stay as they are.
    if ["unknown field `", "missing field `", "duplicate field `"]
        .iter()
        .any(|p| message.starts_with(p))
    {
        return message.to_owned();
    }
    let (found, schema) = match message.find("expected") {
        Some(i) => message.split_at(i),
        None => (message, ""),
    };
    let mut out = String::with_capacity(message.len());
    let mut quote = None;
    for c in found.chars() {
        match quote {
            Some(q) if c == q => {
                quote = None;
                out.push('…');
            }
            Some(_) => {}
            None if c == '`' || c == '"' => quote = Some(c),
            None => out.push(c),
        }
    }
    out.push_str(schema);
    out
}

impl ConfigError {
    /// An error at byte range `span` of `text`, with its line and column.
    pub fn at(
        origin: &str,
        text: &str,
        span: Option<Range<usize>>,
        message: impl Into<String>,
    ) -> Self {
        let (line, column) = match span {
            Some(span) => {
                let before = text.get(..span.start).unwrap_or(text);
                let line = before.matches('\n').count() + 1;
                let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                (Some(line), Some(column))
            }
            None => (None, None),
        };
        ConfigError {
            origin: origin.into(),
            line,
            column,
            message: message.into(),
        }
    }
}

impl Config {
    /// Reads and checks a TOML file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            origin: origin.clone(),
            line: None,
            column: None,
            message: e.to_string(),
        })?;
        Config::from_toml(&text, &origin)
    }

    /// Parses and checks TOML text; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text)
            .map_err(|e| ConfigError::at(origin, text, e.span(), toml_message(&e)))?;
        config.validate(|span, msg| ConfigError::at(origin, text, Some(span), msg))?;
        Ok(config)
    }

    /// What serde alone cannot see: a quirk on a route it does not apply to,
    /// a stall window that ends before it starts. `error` places a message
    /// at a span of the text the configuration was read from, so a `[stub]`
    /// table inside a scenario gets the same checks as `serve --config`.
    pub fn validate(
        &self,
        error: impl Fn(Range<usize>, String) -> ConfigError,
    ) -> Result<(), ConfigError> {
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
        if let Some(c) = self
            .cognito
            .clients
            .iter()
            .find(|c| c.secret.is_none() && c.public_keys.is_empty() && c.jwks.is_none())
        {
            return Err(error(
                0..0,
                format!(
                    "[[cognito.clients]] {}: give a secret (Basic, body or client_secret_jwt), or public_keys / jwks for private_key_jwt",
                    c.id
                ),
            ));
        }
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
            if let Some(w) = &faults.stall_window {
                if w.get_ref().until_ms <= w.get_ref().from_ms {
                    return Err(error(
                        w.span(),
                        "stall_window: until_ms must be after from_ms".into(),
                    ));
                }
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

#[cfg(test)]
mod tests {
    use super::without_values;

    #[test]
    fn serde_messages_lose_the_values_they_quote() {
        for (said, shown) in [
            (
                "invalid type: string \"s3cr3t\", expected a map",
                "invalid type: string, expected a map",
            ),
            (
                "invalid type: integer `123456`, expected a string",
                "invalid type: integer, expected a string",
            ),
            (
                "invalid value: string \"a, expected b\", expected a rate",
                "invalid value: string, expected a rate",
            ),
            (
                "unknown variant `s3cr3t`, expected one of `env`, `file`, `value`",
                "unknown variant, expected one of `env`, `file`, `value`",
            ),
            (
                "unknown variant `s3cr3t`, there are no variants",
                "unknown variant, there are no variants",
            ),
            (
                "unknown field `colour`, expected one of `a`, `b`",
                "unknown field `colour`, expected one of `a`, `b`",
            ),
            (
                "unknown route `s3cr3t`; expected `all` or one of: cess",
                "unknown route …; expected `all` or one of: cess",
            ),
        ] {
            assert_eq!(without_values(said), shown);
        }
    }
}
