//! Veeva Vault (`system = "veeva"`): an IdP token, then a Vault session
//! for it.

use serde::Deserialize;
use tokenprobe_protocol::client_auth::ClientAuth;
use tokenprobe_protocol::veeva::SessionRequest;
use tokenprobe_protocol::{BaseUrl, Grant, RequestError, Secret};

use super::{Idp, IdpConfig, SystemFlow, base_url};
use crate::error::ClientError;
use crate::flow::{FlowError, StepTime};
use crate::transport::Exchange;

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

super::config_parts!(VeevaConfig, idp);

/// A Vault session for an IdP token.
#[derive(Debug, Clone)]
pub struct VeevaAccount {
    /// Where the IdP token comes from.
    pub idp: Idp,
    /// The Vault profile.
    pub profile_id: String,
    /// The tracking `client_id`, if any.
    pub client_id: Option<String>,
}

impl VeevaAccount {
    /// The session request for the IdP token `token`, for `profile` (the
    /// configured one by default).
    pub fn session(
        &self,
        profile: Option<&str>,
        token: Secret,
    ) -> Result<SessionRequest, RequestError> {
        let r = SessionRequest::new(profile.unwrap_or(&self.profile_id).to_owned(), token)?;
        Ok(match &self.client_id {
            Some(id) => r.with_client_id(id.clone())?,
            None => r,
        })
    }
}

impl SystemFlow for VeevaAccount {
    type Config = VeevaConfig;

    fn new(c: &VeevaConfig) -> Result<Self, ClientError> {
        let account = VeevaAccount {
            idp: Idp::new(&c.idp)?,
            profile_id: c.profile_id.clone(),
            client_id: c.client_id.clone(),
        };
        // The profile and tracking id validated once, with a stand-in token.
        account.session(None, Secret::new("x"))?;
        Ok(account)
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
        let session = |token| self.session(None, token);
        self.idp
            .then_session(t, steps, base, session, |r| r.access_token())
            .await
    }
}

/// A commented flow table, for `tokenprobe new`.
pub(crate) const TEMPLATE: &str = "system = \"veeva\"                 # Veeva Vault: an IdP token, then a Vault session\n\
profile_id = \"tokenprobe-demo\"   # the Vault's OAuth 2.0 / OIDC profile\n\
# client_id = \"tokenprobe-load\"  # Vault's tracking client id\n\
# base_url = \"https://myvault.veevavault.com\"   # the Vault, when not the target\n";
