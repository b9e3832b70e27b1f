//! Venafi TPP (`system = "venafi"`): an authorize request, and the refresh
//! of the grant it gives.

use serde::Deserialize;
use tokenprobe_protocol::client_auth::ClientAuth;
use tokenprobe_protocol::venafi::{self, AuthorizeRequest, RefreshRequest};
use tokenprobe_protocol::{BaseUrl, Grant};

use super::{SystemFlow, base_url};
use crate::error::ClientError;
use crate::flow::{FlowError, Step, StepTime, call, without_token};
use crate::secret_source::SecretSource;
use crate::transport::Exchange;

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

super::config_parts!(VenafiConfig);

impl SystemFlow for AuthorizeRequest {
    type Config = VenafiConfig;

    fn new(c: &VenafiConfig) -> Result<Self, ClientError> {
        Ok(AuthorizeRequest::new(
            c.client_id.clone(),
            c.username.clone(),
            c.password.resolve()?,
            &c.scope,
        )?)
    }

    fn template(_auth: ClientAuth) -> String {
        TEMPLATE.to_owned()
    }

    fn steps(&self) -> &'static [Step] {
        &[Step::Authorize]
    }

    fn secrets(&self) -> Vec<&str> {
        vec![self.password().expose()]
    }

    async fn acquire(
        &self,
        t: &impl Exchange,
        steps: &mut Vec<StepTime>,
        base: &BaseUrl,
    ) -> Result<Grant, FlowError> {
        call(t, steps, Step::Authorize, self, base)
            .await
            .map(with_skew_check)
    }

    async fn refresh(
        &self,
        t: &impl Exchange,
        steps: &mut Vec<StepTime>,
        base: &BaseUrl,
        grant: &Grant,
    ) -> Option<Result<Grant, FlowError>> {
        let req = RefreshRequest {
            client_id: self.client_id().to_owned(),
            refresh_token: grant.refresh.as_ref()?.token.clone(),
        };
        let result = call(t, steps, Step::Refresh, &req, base)
            .await
            .map(with_skew_check)
            .map_err(|e| without_token(e, &req.refresh_token));
        Some(result)
    }
}

/// VE-03: `expires` against the clock at receipt (the protocol crate
/// reads no clock).
fn with_skew_check(mut grant: Grant) -> Grant {
    if let Some(w) = venafi::check_expiry_skew(&grant, crate::unix_now()) {
        grant.warnings.push(w);
    }
    grant
}

/// A commented flow table, for `tokenprobe new`.
pub(crate) const TEMPLATE: &str = "system = \"venafi\"                # Venafi TPP: OAuth grant, Venafi's scope grammar\n\
client_id = \"tokenprobe-demo\"   # the API integration's Application ID\n\
username = \"local:admin\"\n\
password = { value = \"demo-password\" }   # staging: { env = \"VENAFI_PASSWORD\" }\n\
scope = \"certificate:manage\"     # e.g. \"certificate:discover,manage;configuration\"\n\
# base_url = \"https://idp.example.com\"   # this flow's server, when not the target\n";
