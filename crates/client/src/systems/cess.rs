//! VaultID CESS (`system = "cess"`): one password grant with an OTP.

use serde::Deserialize;
use tokenprobe_protocol::cess::TokenRequest;
use tokenprobe_protocol::client_auth::ClientAuth;
use tokenprobe_protocol::{BaseUrl, Call, Grant};

use super::{SystemFlow, base_url};
use crate::error::ClientError;
use crate::flow::{FlowError, Step, StepTime, call};
use crate::secret_source::SecretSource;
use crate::transport::Exchange;

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

super::config_parts!(CessConfig);

impl SystemFlow for TokenRequest {
    type Config = CessConfig;

    fn new(c: &CessConfig) -> Result<Self, ClientError> {
        let mut r = TokenRequest::new(
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
        Ok(r)
    }

    fn template(_auth: ClientAuth) -> String {
        TEMPLATE.to_owned()
    }

    fn secrets(&self) -> Vec<&str> {
        vec![self.client_secret().expose(), self.password().expose()]
    }

    // Its body is the configured fields, as they are.
    fn fixed(&self) -> Option<(Step, &(dyn Call<Output = Grant> + Sync))> {
        Some((Step::Token, self))
    }

    async fn acquire(
        &self,
        t: &impl Exchange,
        steps: &mut Vec<StepTime>,
        base: &BaseUrl,
    ) -> Result<Grant, FlowError> {
        call(t, steps, Step::Token, self, base).await
    }
}

/// A commented flow table, for `tokenprobe new`.
pub(crate) const TEMPLATE: &str = "system = \"cess\"                  # VaultID CESS: password grant, CPF/CNPJ + OTP\n\
client_id = \"tokenprobe-demo\"\n\
client_secret = { value = \"demo-secret\" }   # staging: { env = \"CESS_SECRET\" }\n\
username = \"12345678909\"         # a CPF (11 digits) or CNPJ (14), check digits valid\n\
otp = { value = \"123456\" }        # staging: { env = \"CESS_OTP\" }\n\
# scopes = [\"signature_session\"] # the server's default (authentication_session) when absent\n\
# lifetime = 3600                # seconds; at most 604800 (CPF) or 2592000 (CNPJ)\n\
# provider = \"…\"                # the user's cloud\n\
# base_url = \"https://idp.example.com\"   # this flow's server, when not the target\n";
