//! A token endpoint found from its issuer: the RFC 8414 metadata document,
//! else OpenID Connect's, read once before a run. What the documents must
//! say is `tokenprobe_protocol::discovery`'s.

use tokenprobe_protocol::discovery::{self, Metadata};
use tokenprobe_protocol::{BaseUrl, wire};

use crate::error::{ClientError, ErrorKind};
use crate::systems::{CognitoConfig, FlowConfig};
use crate::transport::Exchange;

/// The metadata of `issuer`, from the first location that answers with a
/// document naming it. The error lists what each location gave.
pub async fn discover(issuer: &str, t: &impl Exchange) -> Result<Metadata, ClientError> {
    let config = |why: String| ClientError::new(ErrorKind::Config, why);
    let mut tried = Vec::new();
    for url in discovery::locations(issuer).map_err(|e| config(e.to_string()))? {
        let req = wire::get_json(&url).map_err(|e| config(e.to_string()))?;
        match t.send(req).await {
            Ok(a) if a.status.is_success() => match Metadata::parse(issuer, &a.body) {
                Ok(m) => return Ok(m),
                Err(e) => tried.push(format!("{url}: {e}")),
            },
            Ok(a) => tried.push(format!("{url}: {}", a.status)),
            Err(e) => tried.push(format!("{url}: {e}")),
        }
    }
    Err(config(format!(
        "no metadata for issuer {issuer}: {}",
        tried.join("; ")
    )))
}

impl CognitoConfig {
    /// With `issuer`: the token endpoint from the issuer's metadata
    /// (`base_url` and `token_path` are then the metadata's to give).
    pub async fn discover(&mut self, t: &impl Exchange) -> Result<Option<Metadata>, ClientError> {
        let Some(issuer) = &self.issuer else {
            return Ok(None);
        };
        if self.base_url.is_some() || self.token_path.is_some() {
            return Err(ClientError::new(
                ErrorKind::Config,
                "issuer finds the token endpoint: give no base_url or token_path beside it",
            ));
        }
        let metadata = discover(issuer, t).await?;
        let config =
            |why: String| ClientError::new(ErrorKind::Config, format!("issuer {issuer}: {why}"));
        let endpoint = match self.auth.mutual_tls() {
            true => metadata.mtls_token_endpoint(),
            false => metadata.token_endpoint(),
        };
        let (base, path) = endpoint.map_err(|e| config(e.to_string()))?;
        // A document may send the credentials elsewhere (Cognito's token
        // endpoint is on another host than its issuer), but not in clear to
        // another machine the user never named.
        let issuer_host = issuer
            .parse::<BaseUrl>()
            .map(|b| b.authority().host().to_owned())
            .unwrap_or_default();
        if base.is_cleartext_off_machine() && base.authority().host() != issuer_host {
            return Err(config(format!(
                "its metadata sends the token requests to {base} in plain http: \
                 refused, the credentials would cross the network in clear"
            )));
        }
        self.base_url = Some(base);
        self.token_path = Some(path);
        Ok(Some(metadata))
    }
}

impl FlowConfig {
    /// Discovers the token endpoint of a `cognito` flow, or of a two-step
    /// flow's `cognito` IdP, that names an `issuer`; the metadata found.
    pub async fn discover(&mut self, t: &impl Exchange) -> Result<Option<Metadata>, ClientError> {
        match self.discoverable() {
            Some(c) => c.discover(t).await,
            None => Ok(None),
        }
    }
}
