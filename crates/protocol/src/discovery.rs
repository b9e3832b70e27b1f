//! Authorization server metadata: RFC 8414 and OpenID Connect Discovery 1.0.
//! Where an issuer's document lives, what it must say, and the members the
//! client and the checks use: `token_endpoint`, `jwks_uri`,
//! `token_endpoint_auth_methods_supported` and `grant_types_supported`.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use serde::{Deserialize, Serialize};

use crate::base_url::BaseUrl;
use crate::client_auth::ClientAuth;
use crate::wire;

/// RFC 8414 §3's well-known suffix.
pub const OAUTH_WELL_KNOWN: &str = "/.well-known/oauth-authorization-server";
/// OpenID Connect Discovery §4's.
pub const OIDC_WELL_KNOWN: &str = "/.well-known/openid-configuration";

/// The biggest metadata document read (real ones are a few KiB).
pub const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

/// Why an issuer's metadata cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// The issuer is not an `https` (or loopback `http`) URL without query.
    #[error("issuer {0}")]
    Issuer(String),
    /// Not a JSON object of metadata.
    #[error("the metadata is not a JSON object with a string `issuer` ({0})")]
    Json(String),
    /// RFC 8414 §3.3: the `issuer` member must be the issuer asked for.
    #[error("the metadata names issuer {found:?}, not {expected:?} (RFC 8414 §3.3)")]
    IssuerMismatch {
        /// Asked for.
        expected: String,
        /// Found.
        found: String,
    },
    /// No usable `token_endpoint`.
    #[error("token_endpoint: {0}")]
    TokenEndpoint(String),
    /// More than [`MAX_DOCUMENT_BYTES`]: not read.
    #[error("the metadata document is {0} bytes, more than {MAX_DOCUMENT_BYTES}")]
    TooLarge(usize),
}

/// The members used here; the rest of the document is ignored.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Metadata {
    /// The issuer identifier.
    pub issuer: String,
    /// The token endpoint's URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    /// Where the token signing keys are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// RFC 8414 §2: when absent, `client_secret_basic`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
    /// RFC 8414 §2: when absent, `authorization_code` and `implicit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_types_supported: Option<Vec<String>>,
    /// RFC 9449 §5.1: the algorithms DPoP proofs may be signed with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_signing_alg_values_supported: Option<Vec<String>>,
    /// RFC 8705 §3.3: tokens are bound to the client certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_client_certificate_bound_access_tokens: Option<bool>,
    /// RFC 8705 §5: where a client that authenticates with its
    /// certificate sends its requests instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtls_endpoint_aliases: Option<MtlsAliases>,
}

/// RFC 8705 §5's aliases; only the token endpoint matters here.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MtlsAliases {
    /// The token endpoint for mutual-TLS clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
}

/// The metadata URLs of `issuer`, in the order to try: RFC 8414's (the
/// well-known suffix between host and path), then OpenID Connect's (the
/// suffix after the path). They are the same for an issuer without a path.
pub fn locations(issuer: &str) -> Result<Vec<String>, DiscoveryError> {
    let base: BaseUrl = issuer
        .parse()
        .map_err(|e: crate::RequestError| DiscoveryError::Issuer(e.reason))?;
    let root = format!("{}://{}", base.scheme(), base.authority());
    let path = issuer
        .strip_prefix(&root)
        .unwrap_or_default()
        .trim_end_matches('/');
    Ok(vec![
        format!("{root}{OAUTH_WELL_KNOWN}{path}"),
        format!("{root}{path}{OIDC_WELL_KNOWN}"),
    ])
}

impl Metadata {
    /// Reads a metadata document fetched for `issuer` (any bytes: an
    /// error, never a panic).
    pub fn parse(issuer: &str, body: &[u8]) -> Result<Metadata, DiscoveryError> {
        if body.len() > MAX_DOCUMENT_BYTES {
            return Err(DiscoveryError::TooLarge(body.len()));
        }
        let m: Metadata =
            serde_json::from_slice(body).map_err(|e| DiscoveryError::Json(e.to_string()))?;
        if m.issuer != issuer {
            return Err(DiscoveryError::IssuerMismatch {
                expected: issuer.to_owned(),
                found: m.issuer,
            });
        }
        Ok(m)
    }

    /// The advertised client authentication methods (RFC 8414's default
    /// when the member is absent).
    pub fn auth_methods(&self) -> Vec<&str> {
        match &self.token_endpoint_auth_methods_supported {
            Some(v) => v.iter().map(String::as_str).collect(),
            None => vec!["client_secret_basic"],
        }
    }

    /// Whether `auth` is advertised.
    pub fn advertises(&self, auth: ClientAuth) -> bool {
        self.auth_methods().contains(&auth.method_name())
    }

    /// The advertised grant types (RFC 8414's default when absent).
    pub fn grant_types(&self) -> Vec<&str> {
        match &self.grant_types_supported {
            Some(v) => v.iter().map(String::as_str).collect(),
            None => vec!["authorization_code", "implicit"],
        }
    }

    /// The token endpoint as a base URL and a path under it.
    pub fn token_endpoint(&self) -> Result<(BaseUrl, String), DiscoveryError> {
        self.endpoint(self.token_endpoint.as_deref())
    }

    /// Where a client that authenticates with its certificate sends: the
    /// `mtls_endpoint_aliases` token endpoint where there is one (RFC 8705
    /// §5), else the token endpoint.
    pub fn mtls_token_endpoint(&self) -> Result<(BaseUrl, String), DiscoveryError> {
        match self
            .mtls_endpoint_aliases
            .as_ref()
            .and_then(|a| a.token_endpoint.as_deref())
        {
            Some(alias) => self.endpoint(Some(alias)),
            None => self.token_endpoint(),
        }
    }

    fn endpoint(&self, url: Option<&str>) -> Result<(BaseUrl, String), DiscoveryError> {
        let url = url.ok_or_else(|| DiscoveryError::TokenEndpoint("not in the metadata".into()))?;
        let bad = |why: &str| DiscoveryError::TokenEndpoint(format!("{url:?}: {why}"));
        let uri: http::Uri = url.parse().map_err(|_| bad("not a URL"))?;
        let (Some(scheme), Some(authority)) = (uri.scheme(), uri.authority()) else {
            return Err(bad("not an absolute URL"));
        };
        let base: BaseUrl = format!("{scheme}://{authority}")
            .parse()
            .map_err(|e: crate::RequestError| bad(&e.reason))?;
        let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
        Ok((base, path))
    }

    /// The document as a server sends it: `200`, JSON.
    pub fn to_response(&self) -> Response<Bytes> {
        let headers = [(
            http::header::CACHE_CONTROL,
            HeaderValue::from_static("max-age=300"),
        )];
        wire::json_response(StatusCode::OK, self, headers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_follow_rfc_8414_then_oidc() {
        assert_eq!(
            locations("https://as.example").unwrap(),
            [
                "https://as.example/.well-known/oauth-authorization-server",
                "https://as.example/.well-known/openid-configuration"
            ]
        );
        assert_eq!(
            locations("https://as.example/realms/demo/").unwrap(),
            [
                "https://as.example/.well-known/oauth-authorization-server/realms/demo",
                "https://as.example/realms/demo/.well-known/openid-configuration"
            ]
        );
        assert!(locations("ftp://as.example").is_err());
        assert!(locations("https://u:p@as.example").is_err());
    }

    #[test]
    fn metadata_must_name_its_issuer_and_defaults_are_rfc_8414s() {
        let body = br#"{"issuer":"https://as.example","token_endpoint":"https://as.example/oauth/token?x=1","extra":[1]}"#;
        let m = Metadata::parse("https://as.example", body).unwrap();
        assert_eq!(m.auth_methods(), ["client_secret_basic"]);
        assert!(m.advertises(ClientAuth::Basic) && !m.advertises(ClientAuth::Body));
        assert_eq!(m.grant_types(), ["authorization_code", "implicit"]);
        let (base, path) = m.token_endpoint().unwrap();
        assert_eq!(
            (base.to_string().as_str(), path.as_str()),
            ("https://as.example", "/oauth/token?x=1")
        );
        assert!(matches!(
            Metadata::parse("https://other.example", body),
            Err(DiscoveryError::IssuerMismatch { .. })
        ));
        for bad in [&b"[]"[..], b"{}", b"{\"issuer\":1}", b"\xff", b""] {
            assert!(Metadata::parse("https://as.example", bad).is_err());
        }
        let relative = Metadata {
            token_endpoint: Some("/token".into()),
            ..m
        };
        assert!(relative.token_endpoint().is_err());
    }
}
