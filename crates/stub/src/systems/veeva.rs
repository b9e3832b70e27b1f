//! `POST /auth/oauth/session/{profile}`: a Vault session for an identity
//! provider's access token. Failures are FAILURE bodies with HTTP 200.

use crate::config::DEMO_ID;
use bytes::Bytes;
use http::{Request, Response};
use serde::Deserialize;
use tokenprobe_protocol::veeva::{self, SessionBody, VaultFailure, VaultRef};

use super::State;
use crate::route::{DEMAND, Endpoint, Paths, Quirk, Route};
use crate::tokens::random_id;

/// `POST /auth/oauth/session/{profile}`.
pub(crate) static SESSION: Endpoint = Endpoint {
    name: "veeva",
    paths: Paths::Prefix(veeva::SESSION_PATH_PREFIX),
    answer: session,
    breaks: &[
        (Quirk::ClientIdRequired, DEMAND),
        (Quirk::FailureWithoutErrors, "VV-07"),
        (Quirk::InvalidTokenAccepted, "VV-10"),
        (Quirk::UnknownProfileAccepted, "VV-11"),
    ],
};
const ROUTE: Route = Route(&SESSION);

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

impl VeevaConfig {
    /// A working `curl` for the first profile, with `$TOKEN`.
    pub(crate) fn example(&self, url: &str, curl: &str) -> Option<String> {
        let p = self.profiles.first()?;
        Some(format!(
            "# veeva\n{curl} -X POST -H \"Authorization: Bearer $TOKEN\" -H 'Accept: application/json' {url}/auth/oauth/session/{}",
            p.id
        ))
    }
}

pub(super) fn session(state: &State, req: &Request<Bytes>) -> Response<Bytes> {
    match open(state, req) {
        Ok(res) => res,
        Err(mut failure) => {
            if state.quirk(ROUTE, Quirk::FailureWithoutErrors) {
                failure.errors.clear();
                failure.error_type = None;
            }
            failure.to_response()
        }
    }
}

fn open(state: &State, req: &Request<Bytes>) -> Result<Response<Bytes>, VaultFailure> {
    let has_client_id = req.headers().contains_key(veeva::CLIENT_ID_HEADER)
        || form_urlencoded::parse(req.uri().query().unwrap_or_default().as_bytes())
            .any(|(k, _)| k == "client_id");
    if !has_client_id && state.quirk(ROUTE, Quirk::ClientIdRequired) {
        return Err(VaultFailure::parameter_required("client_id"));
    }
    let asked = veeva::parse_request(req)?;
    if !state.accepts_idp_token(ROUTE, asked.access_token().expose()) {
        return Err(VaultFailure::invalid_token());
    }
    let profiles = &state.config.veeva.profiles;
    let profile = profiles
        .iter()
        .find(|p| p.id == asked.profile_id())
        .or_else(|| {
            profiles
                .first()
                .filter(|_| state.quirk(ROUTE, Quirk::UnknownProfileAccepted))
        })
        .ok_or_else(VaultFailure::unknown_profile)?;
    // Vault session ids are 128 upper-case hex digits.
    let session_id: String = (0..4)
        .map(|_| random_id())
        .collect::<String>()
        .to_uppercase();
    let vaults = profile
        .vaults
        .iter()
        .map(|v| VaultRef {
            id: v.id,
            name: v.name.clone(),
            url: v.url.clone(),
        })
        .collect();
    Ok(SessionBody::new(session_id, profile.user_id, vaults, profile.vault_id).to_response())
}
