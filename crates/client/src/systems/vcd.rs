//! VMware Cloud Director (`system = "vcd"`): an IdP token, then a session
//! for it, in XML or JSON.

use serde::Deserialize;
use tokenprobe_protocol::client_auth::ClientAuth;
use tokenprobe_protocol::vcd::{self, ApiVersion, SessionFormat, SessionRequest};
use tokenprobe_protocol::{BaseUrl, Grant, RequestError, Secret};

use super::{Idp, IdpConfig, SystemFlow, base_url};
use crate::error::{ClientError, ErrorKind};
use crate::flow::{FlowError, StepTime};
use crate::transport::Exchange;

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
    pub format: SessionFormat,
    /// The first step.
    pub idp: IdpConfig,
}

super::config_parts!(VcdConfig, idp);

/// A VCD session for an IdP token.
#[derive(Debug, Clone)]
pub struct VcdAccount {
    /// Where the IdP token comes from.
    pub idp: Idp,
    /// The organization.
    pub org: String,
    /// A system-administrator session (`/sessions/provider`).
    pub provider: bool,
    /// The API version asked for.
    pub version: ApiVersion,
    /// The body format asked for.
    pub format: SessionFormat,
}

impl VcdAccount {
    /// The login for the IdP token `token`, asking for API `version`.
    pub fn session(
        &self,
        token: Secret,
        version: ApiVersion,
    ) -> Result<SessionRequest, RequestError> {
        let mut r = SessionRequest::new(token, self.org.clone())?;
        r.provider = self.provider;
        r.version = version;
        r.format = self.format;
        Ok(r)
    }
}

impl SystemFlow for VcdAccount {
    type Config = VcdConfig;

    fn new(c: &VcdConfig) -> Result<Self, ClientError> {
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
        Ok(VcdAccount {
            idp: Idp::new(&c.idp)?,
            org: c.org.clone(),
            provider: c.provider,
            version,
            format: c.format,
        })
    }

    fn template(_auth: ClientAuth) -> String {
        format!("{TEMPLATE}{}", super::idp::TEMPLATE)
    }

    fn idp(&self) -> Option<&Idp> {
        Some(&self.idp)
    }

    async fn acquire(
        &self,
        t: &impl Exchange,
        steps: &mut Vec<StepTime>,
        base: &BaseUrl,
    ) -> Result<Grant, FlowError> {
        let session = |token| self.session(token, self.version);
        self.idp
            .then_session(t, steps, base, session, |r| &r.token)
            .await
    }
}

/// A commented flow table, for `tokenprobe new`.
pub(crate) const TEMPLATE: &str = "system = \"vcd\"                   # VMware Cloud Director: an IdP token, then a session\n\
org = \"Finance\"\n\
# provider = false               # true: /sessions/provider (the system org)\n\
# version = \"38.0\"               # the API version of the Accept header\n\
# format = \"xml\"                 # or \"json\"\n\
# base_url = \"https://vcd.example.com\"   # Cloud Director, when not the target\n";
