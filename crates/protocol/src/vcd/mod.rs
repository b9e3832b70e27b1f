//! `vcd`: VMware Cloud Director's OAuth login. `POST
//! /cloudapi/1.0.0/sessions` with `Authorization: Bearer {token}; org={org}`
//! → the session token in `X-VMWARE-VCLOUD-*` headers and a Session document
//! (XML or JSON, by `Accept`); logout by `DELETE …/sessions/current`.

mod authorization;
mod documents;

use std::fmt;
use std::str::FromStr;

use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode};

pub use authorization::{format_authorization, parse_authorization, validate_org};
pub use documents::{Link, VcdError, VcdSession};

use crate::base_url::BaseUrl;
use crate::error::{DecodeError, ProviderError, RequestError, SystemError};
use crate::grant::{Grant, GrantExtra, GrantKind};
use crate::secret::Secret;
use crate::wire;

/// Tenant login.
pub const SESSIONS_PATH: &str = "/cloudapi/1.0.0/sessions";
/// System administrator login.
pub const PROVIDER_SESSIONS_PATH: &str = "/cloudapi/1.0.0/sessions/provider";
/// The current session, for logout.
pub const CURRENT_SESSION_PATH: &str = "/cloudapi/1.0.0/sessions/current";
/// The response header holding the session token.
pub const ACCESS_TOKEN_HEADER: &str = "x-vmware-vcloud-access-token";
/// The response header holding the session token's type.
pub const TOKEN_TYPE_HEADER: &str = "x-vmware-vcloud-token-type";
/// The XML namespace of Session and Error documents.
pub const NAMESPACE: &str = "http://www.vmware.com/vcloud/v1.5";

/// A Cloud Director API version, `major.minor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiVersion {
    /// e.g. 38
    pub major: u16,
    /// e.g. 0
    pub minor: u16,
}

impl ApiVersion {
    /// The first version with `/cloudapi/1.0.0/sessions`.
    pub const MIN_CLOUDAPI: ApiVersion = ApiVersion {
        major: 33,
        minor: 0,
    };
    /// The newest version this crate knows of.
    pub const NEWEST: ApiVersion = ApiVersion {
        major: 40,
        minor: 0,
    };
    /// What a client sends unless told otherwise: a current release.
    pub const DEFAULT: ApiVersion = ApiVersion {
        major: 38,
        minor: 0,
    };

    /// Whether `/cloudapi` serves this version (VCD-10).
    pub fn is_supported(self) -> bool {
        (Self::MIN_CLOUDAPI..=Self::NEWEST).contains(&self)
    }
}

impl Default for ApiVersion {
    fn default() -> Self {
        ApiVersion::DEFAULT
    }
}

impl FromStr for ApiVersion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (a, b) = s.trim().split_once('.').unwrap_or((s.trim(), "0"));
        match (a.parse(), b.parse()) {
            (Ok(major), Ok(minor)) => Ok(ApiVersion { major, minor }),
            _ => Err(format!("\"{s}\" is not an API version such as 38.0")),
        }
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// Which form of the Session document to ask for (`format = "xml"` or
/// `"json"` in a scenario).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionFormat {
    /// `application/json;version=…`: the `/cloudapi` form.
    Json,
    /// `application/*+xml;version=…`: the XML `Session` of the seed, and
    /// the default.
    #[default]
    Xml,
}

impl SessionFormat {
    /// The `Accept` value for this form and version (VCD-01).
    pub fn accept(self, version: ApiVersion) -> String {
        match self {
            SessionFormat::Json => format!("application/json;version={version}"),
            SessionFormat::Xml => format!("application/*+xml;version={version}"),
        }
    }

    /// [`SessionFormat::accept`] as a header value; `check` names the rule
    /// for the (impossible with a numeric version) refusal.
    fn accept_header(
        self,
        version: ApiVersion,
        check: &'static str,
    ) -> Result<HeaderValue, RequestError> {
        HeaderValue::from_str(&self.accept(version))
            .map_err(|_| RequestError::new(check, "version", "not a header value"))
    }

    /// The form and version an `Accept` value asks for (server side).
    pub fn from_accept(accept: &str) -> (SessionFormat, Option<ApiVersion>) {
        let mut first = None;
        for range in accept.split(',') {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let format = if media.contains("json") {
                SessionFormat::Json
            } else {
                SessionFormat::Xml
            };
            let version = parts
                .filter_map(|p| p.split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("version"))
                .and_then(|(_, v)| v.trim().trim_matches('"').parse().ok());
            if version.is_some() {
                return (format, version);
            }
            first.get_or_insert(format);
        }
        (first.unwrap_or_default(), None)
    }
}

/// A login request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRequest {
    /// The IdP's access token.
    pub token: Secret,
    /// The organization's name, validated (VCD-02).
    pub org: String,
    /// The API version in `Accept`.
    pub version: ApiVersion,
    /// The Session form asked for.
    pub format: SessionFormat,
    /// `/sessions/provider` (system administrators) rather than `/sessions`.
    pub provider: bool,
}

impl SessionRequest {
    /// A tenant login to `org` with the IdP's token.
    pub fn new(token: Secret, org: impl Into<String>) -> Result<Self, RequestError> {
        let org = org.into();
        validate_org(&org)?;
        authorization::validate_token(token.expose())?;
        Ok(SessionRequest {
            token,
            org,
            version: ApiVersion::DEFAULT,
            format: SessionFormat::Json,
            provider: false,
        })
    }

    /// `POST {base}/cloudapi/1.0.0/sessions` (VCD-01).
    pub fn encode(&self, base: &BaseUrl) -> Result<Request<Bytes>, RequestError> {
        let path = if self.provider {
            PROVIDER_SESSIONS_PATH
        } else {
            SESSIONS_PATH
        };
        let auth = format_authorization(&self.token, &self.org)?;
        let accept = self.format.accept_header(self.version, "VCD-01")?;
        Ok(wire::request(
            Method::POST,
            base.join(path)?,
            [(AUTHORIZATION, auth), (ACCEPT, accept)],
            Bytes::new(),
        ))
    }

    /// Decodes the answer (VCD-03..06; VCD-09 as a warning).
    pub fn decode_response(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Grant, ProviderError> {
        if status != StatusCode::OK {
            return Err(decode_error(status, headers, body));
        }
        let token = wire::header_str(headers, ACCESS_TOKEN_HEADER)
            .ok_or(DecodeError::MissingHeader("X-VMWARE-VCLOUD-ACCESS-TOKEN"))?;
        let token_type = wire::header_str(headers, TOKEN_TYPE_HEADER)
            .ok_or(DecodeError::MissingHeader("X-VMWARE-VCLOUD-TOKEN-TYPE"))?;
        let session = if is_xml(headers, body) {
            VcdSession::from_xml(body)?
        } else {
            VcdSession::from_json(body)?
        };
        let mut grant = Grant::new(GrantKind::VcdSession, Secret::new(token), token_type);
        if session.org != self.org {
            grant.warn(
                "VCD-09",
                format!(
                    "the session is for org \"{}\", not \"{}\"",
                    session.org, self.org
                ),
            );
        }
        grant.extra = GrantExtra::Vcd(Box::new(session));
        Ok(grant)
    }
}

/// Whether a body is XML: by media type, else by its first non-blank byte.
fn is_xml(headers: &HeaderMap, body: &[u8]) -> bool {
    match wire::media_type(headers) {
        Some(m) if wire::ends_with_ignore_case(m, "xml") => true,
        Some(m)
            if m.as_bytes()
                .windows(4)
                .any(|w| w.eq_ignore_ascii_case(b"json")) =>
        {
            false
        }
        _ => body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<'),
    }
}

/// An error answer: an `Error` document (XML or JSON), else a bare status (VCD-06).
fn decode_error(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> ProviderError {
    let doc = if is_xml(headers, body) {
        VcdError::from_xml(body)
    } else {
        VcdError::from_json(body)
    };
    match doc {
        Ok(error) => ProviderError::System {
            status,
            error: SystemError::new(error),
        },
        Err(_) => ProviderError::Status {
            status,
            excerpt: wire::excerpt(body),
        },
    }
}

/// `DELETE /cloudapi/1.0.0/sessions/current` with the session (VCD-11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutRequest {
    /// `{type} {token}`, as [`Grant::authorization`] gives it.
    pub authorization: Secret,
    /// The API version in `Accept`.
    pub version: ApiVersion,
}

impl LogoutRequest {
    /// The request.
    pub fn encode(&self, base: &BaseUrl) -> Result<Request<Bytes>, RequestError> {
        let auth = wire::secret_header("VCD-11", "authorization", self.authorization.expose())?;
        let accept = SessionFormat::Json.accept_header(self.version, "VCD-11")?;
        Ok(wire::request(
            Method::DELETE,
            base.join(CURRENT_SESSION_PATH)?,
            [(AUTHORIZATION, auth), (ACCEPT, accept)],
            Bytes::new(),
        ))
    }

    /// `Ok` for the documented 204 (any 2xx), else the error.
    pub fn decode_response(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(), ProviderError> {
        if status.is_success() {
            Ok(())
        } else {
            Err(decode_error(status, headers, body))
        }
    }

    /// Server side: the session token of a logout, or 401 when there is none.
    pub fn parse(req: &Request<Bytes>) -> Result<Secret, VcdError> {
        // Any scheme: the session's own type is sent back as it came.
        wire::header_str(req.headers(), AUTHORIZATION.as_str())
            .and_then(wire::split_authorization)
            .map(|(_, token)| Secret::new(token))
            .ok_or_else(VcdError::invalid_credentials)
    }
}

/// Server side of login: the typed request, or the documented Error
/// (VCD-07 403 without `Authorization`, 401 for a malformed one, VCD-10 406
/// for an unsupported version, 405 for another method).
pub fn parse_request(req: &Request<Bytes>) -> Result<SessionRequest, VcdError> {
    if req.method() != Method::POST {
        return Err(VcdError::new(
            405,
            "METHOD_NOT_ALLOWED",
            "Use POST to create a session.",
        ));
    }
    let (format, version) = SessionFormat::from_accept(
        wire::header_str(req.headers(), ACCEPT.as_str()).unwrap_or_default(),
    );
    let version = version
        .filter(|v| v.is_supported())
        .ok_or_else(VcdError::unsupported_version)?;
    let value = req
        .headers()
        .get(AUTHORIZATION)
        .ok_or_else(VcdError::missing_authorization)?;
    let (token, org) = parse_authorization(value).map_err(|_| VcdError::invalid_credentials())?;
    let mut out = SessionRequest::new(token, org).map_err(|_| VcdError::invalid_credentials())?;
    out.version = version;
    out.format = format;
    out.provider = req.uri().path().ends_with("/provider");
    Ok(out)
}

/// The documented `200`: the token headers and the Session in the asked form.
pub fn session_response(
    token: &str,
    token_type: &str,
    session: &VcdSession,
    format: SessionFormat,
    version: ApiVersion,
) -> Response<Bytes> {
    let (media, body) = match format {
        SessionFormat::Json => (
            format!("application/json;version={version}"),
            session.to_json(),
        ),
        SessionFormat::Xml => (
            format!("application/vnd.vmware.vcloud.session+xml;version={version}"),
            session.to_xml(),
        ),
    };
    let mut headers = Vec::new();
    for (name, value) in [
        (CONTENT_TYPE.as_str(), media.as_str()),
        (ACCESS_TOKEN_HEADER, token),
        (TOKEN_TYPE_HEADER, token_type),
    ] {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.push((n, v));
        }
    }
    wire::response(StatusCode::OK, headers, body)
}

/// The documented logout answer.
pub fn logout_response() -> Response<Bytes> {
    wire::response(StatusCode::NO_CONTENT, [], Bytes::new())
}

crate::call::calls! {
    SessionRequest => Grant,
}
