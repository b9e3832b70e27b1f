//! A `Flow` acquires a grant from one system in one or more steps, each
//! timed on its own. Configured from serde types (what scenario files
//! hold); requests that do not change are validated once, at `Flow::new`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Deserializer};
use tokenprobe_protocol::client_auth::{ClientAuth, Credential, Signer};
use tokenprobe_protocol::jwt::Algorithm;
use tokenprobe_protocol::vcd::{ApiVersion, SessionFormat};
use tokenprobe_protocol::{
    BaseUrl, Call, Grant, Redactor, Secret, System, cess, cognito, vcd, veeva, venafi,
};

use crate::client_key::ClientKey;
use crate::error::{ClientError, ErrorKind};
use crate::secret_source::SecretSource;
use crate::transport::Exchange;

fn base_url<'de, D: Deserializer<'de>>(d: D) -> Result<Option<BaseUrl>, D::Error> {
    let s = String::deserialize(d)?;
    s.parse().map(Some).map_err(serde::de::Error::custom)
}

fn need_base(b: &Option<BaseUrl>) -> Result<BaseUrl, ClientError> {
    b.clone().ok_or_else(|| {
        ClientError::new(
            ErrorKind::Config,
            "no base_url (give one, or a scenario target)",
        )
    })
}

/// Any RFC 6749 client-credentials endpoint (`cognito`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CognitoConfig {
    /// e.g. `https://auth.example.com`; a scenario's target when absent.
    #[serde(default, deserialize_with = "base_url")]
    pub base_url: Option<BaseUrl>,
    /// `client_id`.
    pub client_id: String,
    /// `client_secret` (for `basic`, `body` and `client_secret_jwt`).
    #[serde(default)]
    pub client_secret: Option<SecretSource>,
    /// HTTP Basic (`basic`, the default, or `client_secret_basic`), in the
    /// body (`body`, `client_secret_post`), an assertion signed with the
    /// secret (`client_secret_jwt`) or with a key (`private_key_jwt`).
    #[serde(default)]
    pub auth: ClientAuth,
    /// The PKCS#8 PEM private key that signs `private_key_jwt` assertions.
    #[serde(default)]
    pub private_key: Option<SecretSource>,
    /// `RS256` or `ES256` for a private key, by default the one the key is
    /// for; `HS256` (or nothing) for `client_secret_jwt`.
    #[serde(default)]
    pub key_algorithm: Option<Algorithm>,
    /// The assertion header's `kid`, when the server keeps several keys
    /// (or secrets) for the client.
    #[serde(default)]
    pub key_id: Option<String>,
    /// What assertions are addressed to (`aud`); by default the token
    /// endpoint's URL.
    #[serde(default)]
    pub audience: Option<String>,
    /// Scopes to ask for.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// The token endpoint's path under `base_url` (default `/oauth2/token`),
    /// for any other RFC 6749 server.
    #[serde(default)]
    pub token_path: Option<String>,
    /// The issuer whose metadata (RFC 8414, or OpenID Connect discovery)
    /// gives the token endpoint, instead of `base_url` and `token_path`.
    #[serde(default)]
    pub issuer: Option<String>,
    /// More form parameters, e.g. `{ audience = "https://api.example.com" }`
    /// for Auth0.
    #[serde(default)]
    pub params: std::collections::BTreeMap<String, String>,
}

/// VaultID CESS.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CessConfig {
    /// Base URL; a scenario's target when absent.
    #[serde(default, deserialize_with = "base_url")]
    pub base_url: Option<BaseUrl>,
    /// `client_id`.
    pub client_id: String,
    /// `client_secret`.
    pub client_secret: SecretSource,
    /// CPF or CNPJ.
    pub username: String,
    /// The OTP.
    pub otp: SecretSource,
    /// Scopes; left out when empty (the server's default applies).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Requested lifetime, seconds.
    pub lifetime: Option<u32>,
    /// The user's cloud.
    pub provider: Option<String>,
}

/// Venafi TPP.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VenafiConfig {
    /// Base URL; a scenario's target when absent.
    #[serde(default, deserialize_with = "base_url")]
    pub base_url: Option<BaseUrl>,
    /// The API integration's Application ID.
    pub client_id: String,
    /// User.
    pub username: String,
    /// Password.
    pub password: SecretSource,
    /// Scope in Venafi's grammar.
    pub scope: String,
}

/// Where the two-step flows get their identity provider's token.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum IdpConfig {
    /// A fixed token (from the environment or a file).
    Token(SecretSource),
    /// An RFC 6749 client-credentials endpoint, asked on every acquisition.
    Cognito(Box<CognitoConfig>),
}

/// Veeva Vault.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VeevaConfig {
    /// The Vault's base URL; a scenario's target when absent.
    #[serde(default, deserialize_with = "base_url")]
    pub base_url: Option<BaseUrl>,
    /// The OAuth 2.0 / OIDC profile id.
    pub profile_id: String,
    /// Tracking client id.
    pub client_id: Option<String>,
    /// The first step.
    pub idp: IdpConfig,
}

/// The Session form.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VcdFormat {
    /// XML (the default).
    #[default]
    Xml,
    /// JSON.
    Json,
}

/// VMware Cloud Director.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VcdConfig {
    /// Base URL; a scenario's target when absent.
    #[serde(default, deserialize_with = "base_url")]
    pub base_url: Option<BaseUrl>,
    /// Organization.
    pub org: String,
    /// `/sessions/provider`.
    #[serde(default)]
    pub provider: bool,
    /// API version, e.g. `38.0`.
    pub version: Option<String>,
    /// Session form.
    #[serde(default)]
    pub format: VcdFormat,
    /// The first step.
    pub idp: IdpConfig,
}

/// One system's flow, as a scenario file names it (`system = "…"`).
#[derive(Debug, Clone)]
pub enum FlowConfig {
    /// RFC 6749 client credentials.
    Cognito(CognitoConfig),
    /// VaultID CESS.
    Cess(CessConfig),
    /// Venafi TPP.
    Venafi(VenafiConfig),
    /// Veeva Vault (two steps).
    Veeva(VeevaConfig),
    /// Cloud Director (two steps).
    Vcd(VcdConfig),
}

/// A flow table is read key by key, `system` as the [`System`] it names
/// (so an unknown one is placed at its value), the rest then as that
/// system's configuration, so that a mistake in it names its key
/// (`unknown variant, expected … (at client_secret)`): serde's internally tagged enums
/// lose both on the way.
impl<'de> Deserialize<'de> for FlowConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(FlowVisitor)
    }
}

struct FlowVisitor;

impl<'de> serde::de::Visitor<'de> for FlowVisitor {
    type Value = FlowConfig;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a flow table with `system`")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<FlowConfig, A::Error> {
        use serde::de::Error as _;
        let mut system = None;
        let mut rest = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "system" => system = Some(map.next_value::<System>()?),
                _ => {
                    rest.insert(key, map.next_value()?);
                }
            }
        }
        let rest = serde_json::Value::Object(rest);
        fn read<T: serde::de::DeserializeOwned, E: serde::de::Error>(
            rest: serde_json::Value,
        ) -> Result<T, E> {
            // The key goes last: serde's own message comes first, as the
            // config crate's rewriting (which takes the values out) expects.
            serde_path_to_error::deserialize(rest).map_err(|e| {
                let path = e.path().to_string();
                match path.as_str() {
                    "." => E::custom(e.into_inner()),
                    _ => E::custom(format!("{} (at {path})", e.into_inner())),
                }
            })
        }
        Ok(
            match system.ok_or_else(|| A::Error::missing_field("system"))? {
                System::Cognito => FlowConfig::Cognito(read(rest)?),
                System::Cess => FlowConfig::Cess(read(rest)?),
                System::Venafi => FlowConfig::Venafi(read(rest)?),
                System::Veeva => FlowConfig::Veeva(read(rest)?),
                System::Vcd => FlowConfig::Vcd(read(rest)?),
            },
        )
    }
}

impl FlowConfig {
    /// Gives every step without a `base_url` (the flow's, and a cognito
    /// IdP's) this one: how a scenario points its flows at its target.
    pub fn default_base_url(&mut self, base: &BaseUrl) {
        let fill = |b: &mut Option<BaseUrl>| {
            b.get_or_insert_with(|| base.clone());
        };
        let idp = match self {
            FlowConfig::Cognito(c) => return fill(&mut c.base_url),
            FlowConfig::Cess(c) => return fill(&mut c.base_url),
            FlowConfig::Venafi(c) => return fill(&mut c.base_url),
            FlowConfig::Veeva(c) => {
                fill(&mut c.base_url);
                &mut c.idp
            }
            FlowConfig::Vcd(c) => {
                fill(&mut c.base_url);
                &mut c.idp
            }
        };
        if let IdpConfig::Cognito(c) = idp {
            fill(&mut c.base_url);
        }
    }

    /// Every base URL the flow sends to (its own, and a cognito IdP's).
    pub fn base_urls(&self) -> Vec<&BaseUrl> {
        let (own, idp) = match self {
            FlowConfig::Cognito(c) => (&c.base_url, None),
            FlowConfig::Cess(c) => (&c.base_url, None),
            FlowConfig::Venafi(c) => (&c.base_url, None),
            FlowConfig::Veeva(c) => (&c.base_url, Some(&c.idp)),
            FlowConfig::Vcd(c) => (&c.base_url, Some(&c.idp)),
        };
        let idp = match idp {
            Some(IdpConfig::Cognito(c)) => c.base_url.as_ref(),
            _ => None,
        };
        own.iter().chain(idp).collect()
    }

    /// The system it configures.
    pub fn system(&self) -> System {
        match self {
            FlowConfig::Cognito(_) => System::Cognito,
            FlowConfig::Cess(_) => System::Cess,
            FlowConfig::Venafi(_) => System::Venafi,
            FlowConfig::Veeva(_) => System::Veeva,
            FlowConfig::Vcd(_) => System::Vcd,
        }
    }
}

/// One request of a flow, timed on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Step {
    /// The one token request (`cognito`, `cess`).
    Token,
    /// The IdP token of a two-step system.
    Idp,
    /// The session for an IdP token (`veeva`, `vcd`).
    Session,
    /// Venafi's grant.
    Authorize,
    /// Venafi's refresh.
    Refresh,
}

impl Step {
    /// Every step.
    pub const ALL: [Step; 5] = [
        Step::Token,
        Step::Idp,
        Step::Session,
        Step::Authorize,
        Step::Refresh,
    ];

    /// As reports and thresholds name it.
    pub fn name(self) -> &'static str {
        match self {
            Step::Token => "token",
            Step::Idp => "idp",
            Step::Session => "session",
            Step::Authorize => "authorize",
            Step::Refresh => "refresh",
        }
    }

    /// The step a name stands for.
    pub fn from_name(name: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|s| s.name() == name)
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How long one step took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepTime {
    /// Which.
    pub step: Step,
    /// Wall time of its request, answer read.
    pub elapsed: Duration,
}

/// A grant and how its steps went.
#[derive(Debug, Clone)]
pub struct Acquired {
    /// The grant.
    pub grant: Grant,
    /// The steps, in order.
    pub steps: Vec<StepTime>,
}

/// A failed acquisition: which step, why, and the steps' times (the failed
/// one included).
#[derive(Debug, Clone)]
pub struct FlowError {
    /// The failing step.
    pub step: Step,
    /// Why.
    pub error: ClientError,
    /// Times of the steps up to and including the failed one.
    pub steps: Vec<StepTime>,
}

impl std::fmt::Display for FlowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "step {}: {}", self.step, self.error)
    }
}

impl std::error::Error for FlowError {}

/// Where a two-step system's IdP token comes from.
#[derive(Debug, Clone)]
pub enum Idp {
    /// A fixed token.
    Token(Secret),
    /// A client-credentials request, and the server it goes to.
    Cognito(Box<cognito::TokenRequest>, BaseUrl),
}

/// One system's account as a flow uses it: the requests it sends, built
/// from the configuration and validated once. `check` reads the same value
/// to vary its requests, so both send what the scenario describes.
#[derive(Debug, Clone)]
pub enum Account {
    /// A client-credentials request.
    Cognito(cognito::TokenRequest),
    /// A CESS password grant.
    Cess(cess::TokenRequest),
    /// A Venafi authorize request.
    Venafi(venafi::AuthorizeRequest),
    /// A Vault session for an IdP token.
    Veeva {
        /// Where the IdP token comes from.
        idp: Idp,
        /// The Vault profile.
        profile_id: String,
        /// The tracking `client_id`, if any.
        client_id: Option<String>,
    },
    /// A VCD session for an IdP token.
    Vcd {
        /// Where the IdP token comes from.
        idp: Idp,
        /// The organization.
        org: String,
        /// A system-administrator session (`/sessions/provider`).
        provider: bool,
        /// The API version asked for.
        version: ApiVersion,
        /// The body format asked for.
        format: SessionFormat,
    },
}

impl Account {
    /// The credentials it holds, as configured: the one list that error
    /// scrubbing and the checks' redactor learn from.
    pub fn secrets(&self) -> Vec<&str> {
        fn idp(idp: &Idp) -> Vec<&str> {
            match idp {
                Idp::Token(t) => vec![t.expose()],
                Idp::Cognito(r, _) => cognito(r),
            }
        }
        // Whatever the method: the secret, or the signer's secret or key.
        fn cognito(r: &cognito::TokenRequest) -> Vec<&str> {
            r.credential()
                .secrets()
                .into_iter()
                .map(Secret::expose)
                .collect()
        }
        match self {
            Account::Cognito(r) => cognito(r),
            Account::Cess(r) => vec![r.client_secret().expose(), r.password().expose()],
            Account::Venafi(r) => vec![r.password().expose()],
            Account::Veeva { idp: i, .. } | Account::Vcd { idp: i, .. } => idp(i),
        }
    }

    /// The system it belongs to.
    pub fn system(&self) -> System {
        match self {
            Account::Cognito(_) => System::Cognito,
            Account::Cess(_) => System::Cess,
            Account::Venafi(_) => System::Venafi,
            Account::Veeva { .. } => System::Veeva,
            Account::Vcd { .. } => System::Vcd,
        }
    }
}

/// A configured, validated flow. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Flow {
    base: BaseUrl,
    account: Account,
    /// Knows the account's secrets in every form a server may echo them.
    redactor: Arc<Redactor>,
}

/// The request a `cognito` configuration describes (its secret or key
/// read now).
pub fn cognito_request(c: &CognitoConfig) -> Result<cognito::TokenRequest, ClientError> {
    let config = |why: &str| ClientError::new(ErrorKind::Config, why.to_owned());
    let credential = match (c.auth, &c.client_secret, &c.private_key) {
        (ClientAuth::PrivateKeyJwt, None, Some(pem)) => {
            let key = ClientKey::from_pem(&pem.resolve()?, c.key_algorithm, c.key_id.clone())?;
            Credential::Key(Signer(Arc::new(key)))
        }
        (ClientAuth::PrivateKeyJwt, _, _) => {
            return Err(config(
                "auth = \"private_key_jwt\" takes a private_key and no client_secret",
            ));
        }
        (ClientAuth::ClientSecretJwt, Some(secret), None) => {
            if c.key_algorithm.is_some_and(|a| a != Algorithm::HS256) {
                return Err(config(
                    "auth = \"client_secret_jwt\" signs with HS256 (key_algorithm is for a private_key)",
                ));
            }
            let key = ClientKey::hmac(&secret.resolve()?, c.key_id.clone())?;
            Credential::Key(Signer(Arc::new(key)))
        }
        (_, Some(secret), None) => Credential::Secret(secret.resolve()?),
        (_, _, _) => {
            return Err(config(
                "a client_secret is needed (a private_key is only for auth = \"private_key_jwt\")",
            ));
        }
    };
    let mut r = cognito::TokenRequest::new(c.client_id.clone(), credential, c.auth)?
        .with_scopes(c.scopes.iter().map(String::as_str))?;
    if let Some(path) = &c.token_path {
        r = r.with_path(path.clone())?;
    }
    if let Some(audience) = &c.audience {
        r = r.with_audience(audience.clone());
    }
    Ok(r.with_params(c.params.clone())?)
}

fn idp(c: &IdpConfig) -> Result<Idp, ClientError> {
    Ok(match c {
        IdpConfig::Token(s) => Idp::Token(s.resolve()?),
        IdpConfig::Cognito(c) => {
            Idp::Cognito(Box::new(cognito_request(c)?), need_base(&c.base_url)?)
        }
    })
}

impl Flow {
    /// Reads the secrets and validates what can be validated before any
    /// request: a `refused` error here means nothing would be sent.
    pub fn new(config: &FlowConfig) -> Result<Flow, ClientError> {
        let (base, account) = match config {
            FlowConfig::Cognito(c) => (
                need_base(&c.base_url)?,
                Account::Cognito(cognito_request(c)?),
            ),
            FlowConfig::Cess(c) => {
                let mut r = cess::TokenRequest::new(
                    c.client_id.clone(),
                    c.client_secret.resolve()?,
                    &c.username,
                    c.otp.resolve()?,
                )?;
                if !c.scopes.is_empty() {
                    r = r.with_scopes(c.scopes.iter().map(String::as_str))?;
                }
                if let Some(l) = c.lifetime {
                    r = r.with_lifetime(l)?;
                }
                if let Some(p) = &c.provider {
                    r = r.with_provider(p.clone())?;
                }
                (need_base(&c.base_url)?, Account::Cess(r))
            }
            FlowConfig::Venafi(c) => (
                need_base(&c.base_url)?,
                Account::Venafi(venafi::AuthorizeRequest::new(
                    c.client_id.clone(),
                    c.username.clone(),
                    c.password.resolve()?,
                    &c.scope,
                )?),
            ),
            FlowConfig::Veeva(c) => {
                // Validate the profile and tracking id once, with a stand-in token.
                let probe = veeva::SessionRequest::new(c.profile_id.clone(), Secret::new("x"))?;
                if let Some(id) = &c.client_id {
                    probe.with_client_id(id.clone())?;
                }
                (
                    need_base(&c.base_url)?,
                    Account::Veeva {
                        idp: idp(&c.idp)?,
                        profile_id: c.profile_id.clone(),
                        client_id: c.client_id.clone(),
                    },
                )
            }
            FlowConfig::Vcd(c) => {
                vcd::validate_org(&c.org)?;
                let version = match &c.version {
                    Some(v) => v.parse().map_err(|_| {
                        ClientError::new(
                            ErrorKind::Refused,
                            format!("VCD-01: version {v:?} is not major.minor"),
                        )
                    })?,
                    None => ApiVersion::DEFAULT,
                };
                let format = match c.format {
                    VcdFormat::Xml => SessionFormat::Xml,
                    VcdFormat::Json => SessionFormat::Json,
                };
                (
                    need_base(&c.base_url)?,
                    Account::Vcd {
                        idp: idp(&c.idp)?,
                        org: c.org.clone(),
                        provider: c.provider,
                        version,
                        format,
                    },
                )
            }
        };
        let redactor = Arc::new(Redactor::knowing(account.secrets()));
        Ok(Flow {
            base,
            account,
            redactor,
        })
    }

    /// The server it sends to (an IdP may be elsewhere).
    pub fn base(&self) -> &BaseUrl {
        &self.base
    }

    /// The account it acquires with.
    pub fn account(&self) -> &Account {
        &self.account
    }

    /// The system it acquires from.
    pub fn system(&self) -> System {
        self.account.system()
    }

    /// The names of the steps, in order.
    pub fn steps(&self) -> &'static [Step] {
        match &self.account {
            Account::Cognito(_) | Account::Cess(_) => &[Step::Token],
            Account::Venafi(_) => &[Step::Authorize],
            Account::Veeva {
                idp: Idp::Token(_), ..
            }
            | Account::Vcd {
                idp: Idp::Token(_), ..
            } => &[Step::Session],
            Account::Veeva { .. } | Account::Vcd { .. } => &[Step::Idp, Step::Session],
        }
    }

    /// Runs every step and returns the grant of the last.
    pub async fn acquire(&self, t: &impl Exchange) -> Result<Acquired, FlowError> {
        self.steps_of(t).await.map_err(|e| self.scrubbed(e))
    }

    /// A failure with the account's secrets taken out of what the server
    /// said (only failures pay for it).
    fn scrubbed(&self, mut e: FlowError) -> FlowError {
        e.error = e.error.without(&self.redactor);
        e
    }

    async fn steps_of(&self, t: &impl Exchange) -> Result<Acquired, FlowError> {
        let mut steps = Vec::with_capacity(2);
        let grant = match &self.account {
            Account::Cognito(r) => call(t, &mut steps, Step::Token, r, &self.base).await?,
            Account::Cess(r) => call(t, &mut steps, Step::Token, r, &self.base).await?,
            Account::Venafi(r) => {
                with_skew_check(call(t, &mut steps, Step::Authorize, r, &self.base).await?)
            }
            Account::Veeva {
                idp,
                profile_id,
                client_id,
            } => {
                let token = idp_token(t, &mut steps, idp).await?;
                let r = veeva::SessionRequest::new(profile_id.clone(), token).and_then(|r| {
                    match client_id {
                        Some(id) => r.with_client_id(id.clone()),
                        None => Ok(r),
                    }
                });
                let r = match r {
                    Ok(r) => r,
                    Err(e) => return Err(refused(Step::Session, e.into(), steps)),
                };
                call(t, &mut steps, Step::Session, &r, &self.base)
                    .await
                    .map_err(|e| without_token(e, r.access_token()))?
            }
            Account::Vcd {
                idp,
                org,
                provider,
                version,
                format,
            } => {
                let token = idp_token(t, &mut steps, idp).await?;
                let mut r = match vcd::SessionRequest::new(token, org.clone()) {
                    Ok(r) => r,
                    Err(e) => return Err(refused(Step::Session, e.into(), steps)),
                };
                r.provider = *provider;
                r.version = *version;
                r.format = *format;
                call(t, &mut steps, Step::Session, &r, &self.base)
                    .await
                    .map_err(|e| without_token(e, &r.token))?
            }
        };
        Ok(Acquired { grant, steps })
    }

    /// Uses the grant's refresh token, where the system has one (Venafi);
    /// `None` when there is nothing to refresh with.
    pub async fn refresh(
        &self,
        t: &impl Exchange,
        grant: &Grant,
    ) -> Option<Result<Acquired, FlowError>> {
        let Account::Venafi(r) = &self.account else {
            return None;
        };
        let result = self.refresh_with(t, r, grant).await?;
        Some(result.map_err(|e| self.scrubbed(e)))
    }

    async fn refresh_with(
        &self,
        t: &impl Exchange,
        r: &venafi::AuthorizeRequest,
        grant: &Grant,
    ) -> Option<Result<Acquired, FlowError>> {
        let token = grant.refresh.as_ref()?.token.clone();
        let req = venafi::RefreshRequest {
            client_id: r.client_id().to_owned(),
            refresh_token: token,
        };
        let mut steps = Vec::with_capacity(1);
        let result = call(t, &mut steps, Step::Refresh, &req, &self.base)
            .await
            .map(with_skew_check)
            .map_err(|e| without_token(e, &req.refresh_token));
        Some(result.map(|grant| Acquired { grant, steps }))
    }
}

/// Venafi's VE-03: `expires` against the clock at receipt (the protocol
/// crate reads no clock).
fn with_skew_check(mut grant: Grant) -> Grant {
    if let Some(w) = venafi::check_expiry_skew(&grant, crate::unix_now()) {
        grant.warnings.push(w);
    }
    grant
}

/// A step's failure with the token it carried taken out (the IdP token of a
/// session step, the refresh token of a refresh): a credential the account
/// does not hold, made by an earlier step.
fn without_token(mut e: FlowError, token: &Secret) -> FlowError {
    e.error = e.error.without(&Redactor::knowing([token.expose()]));
    e
}

fn refused(step: Step, error: ClientError, steps: Vec<StepTime>) -> FlowError {
    FlowError { step, error, steps }
}

async fn idp_token(
    t: &impl Exchange,
    steps: &mut Vec<StepTime>,
    idp: &Idp,
) -> Result<Secret, FlowError> {
    match idp {
        Idp::Token(s) => Ok(s.clone()),
        Idp::Cognito(r, base) => call(t, steps, Step::Idp, r.as_ref(), base)
            .await
            .map(|g| g.secret),
    }
}

/// Sends one step's request, times it, and decodes the answer.
async fn call<C: Call>(
    t: &impl Exchange,
    steps: &mut Vec<StepTime>,
    name: Step,
    call: &C,
    base: &BaseUrl,
) -> Result<C::Output, FlowError> {
    let fail = |error, steps: &mut Vec<StepTime>| FlowError {
        step: name,
        error,
        steps: std::mem::take(steps),
    };
    let request = match call.encode(base) {
        Ok(r) => r,
        Err(e) => return Err(fail(e.into(), steps)),
    };
    let started = Instant::now();
    let answer = t.send(request).await;
    steps.push(StepTime {
        step: name,
        elapsed: started.elapsed(),
    });
    let answer = answer.map_err(|e| fail(e, steps))?;
    call.decode(answer.status, &answer.headers, &answer.body)
        .map_err(|e| {
            let e = ClientError::provider(e).with_retry_after(answer.retry_after());
            fail(e, steps)
        })
}
