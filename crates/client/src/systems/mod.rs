//! The systems a flow acquires from, one module each: its configuration
//! (what a scenario file says), its account (the requests, validated once)
//! and its steps. The `systems!` list below is the one place that names
//! them all; everything else reaches a system through [`SystemAccount`],
//! [`SystemConfig`] or the enums that list generates.

mod cess;
mod cognito;
mod idp;
mod vcd;
mod veeva;
mod venafi;

pub use cess::CessConfig;
pub use cognito::{CognitoConfig, DpopConfig, cognito_request};
pub use idp::{Idp, IdpConfig};
/// The Session form a `vcd` flow asks for.
pub use tokenprobe_protocol::vcd::SessionFormat as VcdFormat;
pub use vcd::{VcdAccount, VcdConfig};
pub use veeva::{VeevaAccount, VeevaConfig};
pub use venafi::VenafiConfig;

use serde::{Deserialize, Deserializer};
use tokenprobe_protocol::client_auth::ClientAuth;
use tokenprobe_protocol::venafi as venafi_wire;
use tokenprobe_protocol::{
    BaseUrl, Call, Grant, System, cess as cess_wire, cognito as cognito_wire,
};

use crate::error::{ClientError, ErrorKind};
use crate::flow::{FlowError, Step, StepTime};
use crate::tls::ClientIdentity;
use crate::transport::Exchange;

/// What a system's account does in a flow.
pub(crate) trait SystemFlow: Sized {
    /// Its configuration.
    type Config: SystemConfig;
    /// Reads the secrets and validates what can be before any request.
    fn new(config: &Self::Config) -> Result<Self, ClientError>;
    /// A commented flow table of this system (its client authenticated by
    /// `auth`, where it has a choice), for `tokenprobe new`.
    fn template(auth: ClientAuth) -> String;
    /// The commented keys of a check scenario's `[check]` table that are
    /// this system's own, for `tokenprobe new --check`.
    fn check_template() -> &'static str {
        ""
    }
    /// Where its first step's IdP token comes from, for a two-step system.
    fn idp(&self) -> Option<&Idp> {
        None
    }
    /// The names of its steps, in order: a token, or an IdP's then a
    /// session.
    fn steps(&self) -> &'static [Step] {
        self.idp().map_or(&[Step::Token], Idp::steps)
    }
    /// The credentials it holds, as configured: a two-step system's are
    /// its IdP's.
    fn secrets(&self) -> Vec<&str> {
        self.idp().map(Idp::secrets).unwrap_or_default()
    }
    /// The one request of a flow whose acquisitions all send the same
    /// bytes (no clock, nonce or per-request signature in them), and the
    /// step it is timed as: the flow encodes it once and sends copies
    /// ([`crate::flow::Prepared`]) instead of calling `acquire`. Only for a
    /// system whose `acquire` is that one `call` and nothing after it
    /// (Venafi's checks the clock skew of its grant: not here). `None`,
    /// the default, for every other flow.
    fn fixed(&self) -> Option<(Step, &(dyn Call<Output = Grant> + Sync))> {
        None
    }
    /// Runs every step, timing each into `steps`; the last one's grant.
    async fn acquire(
        &self,
        t: &impl Exchange,
        steps: &mut Vec<StepTime>,
        base: &BaseUrl,
    ) -> Result<Grant, FlowError>;
    /// Renews `grant` with its refresh token, where the system has one.
    async fn refresh(
        &self,
        _t: &impl Exchange,
        _steps: &mut Vec<StepTime>,
        _base: &BaseUrl,
        _grant: &Grant,
    ) -> Option<Result<Grant, FlowError>> {
        None
    }
}

/// Where a system's configuration says its requests go.
pub(crate) trait SystemConfig {
    /// Its own server, when given.
    fn base_url(&self) -> Option<&BaseUrl>;
    /// Its own server's slot, and its IdP step's configuration if any.
    fn parts_mut(&mut self) -> (&mut Option<BaseUrl>, Option<&mut IdpConfig>);
    /// Its IdP step's configuration, if it has one.
    fn idp(&self) -> Option<&IdpConfig> {
        None
    }
    /// Whether it authenticates with a TLS client certificate (RFC 8705):
    /// a two-step system's IdP may.
    fn mutual_tls(&self) -> bool {
        matches!(self.idp(), Some(IdpConfig::Cognito(c)) if c.auth.mutual_tls())
    }
    /// The client certificate its requests present (RFC 8705), read now:
    /// a two-step system's IdP's.
    fn client_identity(&self) -> Result<Option<ClientIdentity>, ClientError> {
        match self.idp() {
            Some(IdpConfig::Cognito(c)) => cognito::client_identity(c),
            _ => Ok(None),
        }
    }
    /// The client-credentials request whose endpoint discovery can find.
    fn discoverable(&mut self) -> Option<&mut CognitoConfig> {
        match self.parts_mut().1? {
            IdpConfig::Cognito(c) => Some(c),
            IdpConfig::Token(_) => None,
        }
    }
}

/// The [`SystemConfig`] of a configuration whose server is its `base_url`
/// field, and whose IdP step, for a two-step system, its `idp` field.
macro_rules! config_parts {
    ($config:ty) => {
        impl $crate::systems::SystemConfig for $config {
            fn base_url(&self) -> Option<&tokenprobe_protocol::BaseUrl> {
                self.base_url.as_ref()
            }

            fn parts_mut(
                &mut self,
            ) -> (
                &mut Option<tokenprobe_protocol::BaseUrl>,
                Option<&mut $crate::systems::IdpConfig>,
            ) {
                (&mut self.base_url, None)
            }
        }
    };
    ($config:ty, idp) => {
        impl $crate::systems::SystemConfig for $config {
            fn base_url(&self) -> Option<&tokenprobe_protocol::BaseUrl> {
                self.base_url.as_ref()
            }

            fn parts_mut(
                &mut self,
            ) -> (
                &mut Option<tokenprobe_protocol::BaseUrl>,
                Option<&mut $crate::systems::IdpConfig>,
            ) {
                (&mut self.base_url, Some(&mut self.idp))
            }

            fn idp(&self) -> Option<&$crate::systems::IdpConfig> {
                Some(&self.idp)
            }
        }
    };
}
use config_parts;

/// A system's account type, reached from an [`Account`] of that system:
/// how `check` asks for the account it varies.
pub trait SystemAccount {
    /// The system it belongs to.
    const SYSTEM: System;
    /// This system's account in `account`, if it is one.
    fn of(account: &Account) -> Option<&Self>;
}

/// Generates [`FlowConfig`] and [`Account`] (a variant per system) and
/// their dispatch to each system's [`SystemFlow`] and [`SystemConfig`].
macro_rules! systems {
    ($( $(#[$doc:meta])* $name:ident($config:ty, $account:ty), )*) => {
        /// One system's flow, as a scenario file names it (`system = "…"`).
        #[derive(Debug, Clone)]
        pub enum FlowConfig { $( $(#[$doc])* $name($config), )* }

        /// One system's account as a flow uses it: the requests it sends,
        /// built from the configuration and validated once. `check` reads
        /// the same value to vary its requests, so both send what the
        /// scenario describes.
        #[derive(Debug, Clone)]
        pub enum Account { $( $(#[$doc])* $name($account), )* }

        impl FlowConfig {
            /// The system it configures.
            pub fn system(&self) -> System {
                match self { $( FlowConfig::$name(_) => System::$name, )* }
            }

            /// `system`'s configuration from the rest of a flow table.
            pub(crate) fn read<E: serde::de::Error>(
                system: System,
                rest: serde_json::Value,
            ) -> Result<Self, E> {
                Ok(match system { $( System::$name => FlowConfig::$name(read(rest)?), )* })
            }

            fn config(&self) -> &dyn SystemConfig {
                match self { $( FlowConfig::$name(c) => c, )* }
            }

            fn config_mut(&mut self) -> &mut dyn SystemConfig {
                match self { $( FlowConfig::$name(c) => c, )* }
            }

            /// A commented flow table of `system` (its client authenticated
            /// by `auth`, where it has a choice), for `tokenprobe new`.
            pub fn template(system: System, auth: ClientAuth) -> String {
                match system { $( System::$name => <$account as SystemFlow>::template(auth), )* }
            }

            /// The `[check]` keys that are `system`'s own, commented, for
            /// `tokenprobe new --check`.
            pub fn check_template(system: System) -> &'static str {
                match system { $( System::$name => <$account as SystemFlow>::check_template(), )* }
            }

            /// The account it describes, its secrets read now.
            pub(crate) fn account(&self) -> Result<Account, ClientError> {
                Ok(match self {
                    $( FlowConfig::$name(c) => Account::$name(<$account as SystemFlow>::new(c)?), )*
                })
            }
        }

        impl Account {
            /// The system it belongs to.
            pub fn system(&self) -> System {
                match self { $( Account::$name(_) => System::$name, )* }
            }

            /// The credentials it holds, as configured: the one list that
            /// error scrubbing and the checks' redactor learn from.
            pub fn secrets(&self) -> Vec<&str> {
                match self { $( Account::$name(a) => a.secrets(), )* }
            }

            /// Where its IdP token comes from, for a two-step system.
            pub fn idp(&self) -> Option<&Idp> {
                match self { $( Account::$name(a) => a.idp(), )* }
            }

            /// The names of its steps, in order.
            pub fn steps(&self) -> &'static [Step] {
                match self { $( Account::$name(a) => a.steps(), )* }
            }

            /// Its one request, when every acquisition sends the same bytes.
            pub(crate) fn fixed(&self) -> Option<(Step, &(dyn Call<Output = Grant> + Sync))> {
                match self { $( Account::$name(a) => a.fixed(), )* }
            }

            pub(crate) async fn acquire(
                &self,
                t: &impl Exchange,
                steps: &mut Vec<StepTime>,
                base: &BaseUrl,
            ) -> Result<Grant, FlowError> {
                match self { $( Account::$name(a) => a.acquire(t, steps, base).await, )* }
            }

            pub(crate) async fn refresh(
                &self,
                t: &impl Exchange,
                steps: &mut Vec<StepTime>,
                base: &BaseUrl,
                grant: &Grant,
            ) -> Option<Result<Grant, FlowError>> {
                match self { $( Account::$name(a) => a.refresh(t, steps, base, grant).await, )* }
            }
        }

        $(
            impl SystemAccount for $account {
                const SYSTEM: System = System::$name;
                fn of(account: &Account) -> Option<&Self> {
                    match account {
                        Account::$name(a) => Some(a),
                        #[allow(unreachable_patterns)]
                        _ => None,
                    }
                }
            }
        )*
    };
}

systems! {
    /// RFC 6749 client credentials.
    Cognito(CognitoConfig, cognito_wire::TokenRequest),
    /// VaultID CESS: a password grant with an OTP.
    Cess(CessConfig, cess_wire::TokenRequest),
    /// Venafi TPP: a grant, and its refresh.
    Venafi(VenafiConfig, venafi_wire::AuthorizeRequest),
    /// Veeva Vault: an IdP token, then a session.
    Veeva(VeevaConfig, VeevaAccount),
    /// VMware Cloud Director: an IdP token, then a session.
    Vcd(VcdConfig, VcdAccount),
}

impl FlowConfig {
    /// Gives every step without a `base_url` (the flow's, and a cognito
    /// IdP's) this one: how a scenario points its flows at its target.
    pub fn default_base_url(&mut self, base: &BaseUrl) {
        let (own, idp) = self.config_mut().parts_mut();
        own.get_or_insert_with(|| base.clone());
        if let Some(IdpConfig::Cognito(c)) = idp {
            c.base_url.get_or_insert_with(|| base.clone());
        }
    }

    /// Every base URL the flow sends to (its own, and a cognito IdP's).
    pub fn base_urls(&self) -> Vec<&BaseUrl> {
        let config = self.config();
        let idp = match config.idp() {
            Some(IdpConfig::Cognito(c)) => c.base_url.as_ref(),
            _ => None,
        };
        config.base_url().into_iter().chain(idp).collect()
    }

    /// The client-credentials configuration whose endpoint discovery can
    /// find: a `cognito` flow's own, or a two-step flow's IdP.
    pub(crate) fn discoverable(&mut self) -> Option<&mut CognitoConfig> {
        self.config_mut().discoverable()
    }

    /// Whether the flow authenticates with a TLS client certificate.
    pub fn mutual_tls(&self) -> bool {
        self.config().mutual_tls()
    }

    /// The client certificate the flow's transport must present, if it
    /// authenticates with one (RFC 8705); its files are read now.
    pub fn client_identity(&self) -> Result<Option<ClientIdentity>, ClientError> {
        self.config().client_identity()
    }

    /// This flow's own server.
    pub(crate) fn own_base(&self) -> Result<BaseUrl, ClientError> {
        need_base(self.config().base_url())
    }
}

impl Account {
    /// This system's account, if it is one.
    pub fn get<A: SystemAccount>(&self) -> Option<&A> {
        A::of(self)
    }
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
        let system = system.ok_or_else(|| A::Error::missing_field("system"))?;
        FlowConfig::read(system, rest)
    }
}

/// A system's configuration from a flow table without its `system` key.
fn read<T: serde::de::DeserializeOwned, E: serde::de::Error>(
    rest: serde_json::Value,
) -> Result<T, E> {
    // The key goes last: serde's own message comes first, as the config
    // crate's rewriting (which takes the values out) expects.
    serde_path_to_error::deserialize(rest).map_err(|e| {
        let path = e.path().to_string();
        match path.as_str() {
            "." => E::custom(e.into_inner()),
            _ => E::custom(format!("{} (at {path})", e.into_inner())),
        }
    })
}

/// A `base_url` key, parsed.
fn base_url<'de, D: Deserializer<'de>>(d: D) -> Result<Option<BaseUrl>, D::Error> {
    let s = String::deserialize(d)?;
    s.parse().map(Some).map_err(serde::de::Error::custom)
}

fn need_base(b: Option<&BaseUrl>) -> Result<BaseUrl, ClientError> {
    b.cloned().ok_or_else(|| {
        ClientError::new(
            ErrorKind::Config,
            "no base_url (give one, or a scenario target)",
        )
    })
}
