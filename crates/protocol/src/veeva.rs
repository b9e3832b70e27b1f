//! `veeva`: Veeva Vault's OAuth 2.0 / OIDC session. `POST
//! /auth/oauth/session/{profile}` with the IdP's bearer token → a Vault
//! `sessionId`. Vault reports failures in the body, usually with HTTP 200.

use std::fmt;

use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use serde::{Deserialize, Serialize};

use crate::base_url::BaseUrl;
use crate::error::{DecodeError, ProviderError, RequestError, SystemError};
use crate::grant::{Grant, GrantExtra, GrantKind};
use crate::secret::Secret;
use crate::{rfc6749, wire};

/// The path before the profile id.
pub const SESSION_PATH_PREFIX: &str = "/auth/oauth/session/";
/// The header that may carry the tracking client id (the query parameter wins).
pub const CLIENT_ID_HEADER: &str = "X-VaultAPI-ClientID";
/// The longest client id Vault accepts.
pub const CLIENT_ID_MAX: usize = 100;

/// Everything but RFC 3986 unreserved characters is escaped in the profile segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A request for a Vault session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRequest {
    profile_id: String,
    access_token: Secret,
    client_id: Option<String>,
}

impl SessionRequest {
    /// A request; the profile id must not be blank and the token must be
    /// header-safe (VV-01, VV-02).
    pub fn new(profile_id: impl Into<String>, access_token: Secret) -> Result<Self, RequestError> {
        let profile_id = profile_id.into();
        wire::require_text("VV-01", "profile_id", &profile_id)?;
        rfc6749::require_bearer_token("VV-02", "access_token", access_token.expose())?;
        Ok(SessionRequest {
            profile_id,
            access_token,
            client_id: None,
        })
    }

    /// Adds the tracking client id: letters, digits, `.`, `_`, `-`, at most
    /// 100 characters (VV-03).
    pub fn with_client_id(mut self, id: impl Into<String>) -> Result<Self, RequestError> {
        let id = id.into();
        if let Some(reason) = client_id_problem(&id) {
            return Err(RequestError::new("VV-03", "client_id", reason));
        }
        self.client_id = Some(id);
        Ok(self)
    }

    /// The OAuth 2.0 / OIDC profile id.
    pub fn profile_id(&self) -> &str {
        &self.profile_id
    }

    /// The IdP's access token.
    pub fn access_token(&self) -> &Secret {
        &self.access_token
    }

    /// The tracking client id, if any.
    pub fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref()
    }

    /// `POST {base}/auth/oauth/session/{profile}` with the bearer, no body (VV-01..03).
    pub fn encode(&self, base: &BaseUrl) -> Result<Request<Bytes>, RequestError> {
        let mut path = format!(
            "{SESSION_PATH_PREFIX}{}",
            utf8_percent_encode(&self.profile_id, SEGMENT)
        );
        if let Some(id) = &self.client_id {
            path.push_str("?client_id=");
            path.push_str(id);
        }
        let auth = rfc6749::bearer_header("VV-02", "access_token", &self.access_token)?;
        let headers = [
            (AUTHORIZATION, auth),
            (ACCEPT, HeaderValue::from_static(wire::JSON)),
        ];
        Ok(wire::request(
            Method::POST,
            base.join(&path)?,
            headers,
            Bytes::new(),
        ))
    }

    /// Decodes the answer by `responseStatus`, not by HTTP status (VV-04..08).
    pub fn decode_response(
        &self,
        status: StatusCode,
        _headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Grant, ProviderError> {
        decode(status, body)
    }
}

fn client_id_problem(id: &str) -> Option<String> {
    if id.is_empty() {
        Some("must not be empty".into())
    } else if id.chars().count() > CLIENT_ID_MAX {
        Some(format!(
            "is {} characters long; at most {CLIENT_ID_MAX}",
            id.chars().count()
        ))
    } else if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        Some("may hold only letters, digits, `.`, `_` and `-`".into())
    } else {
        None
    }
}

/// Decodes a session response: SUCCESS or WARNING with a `sessionId` is a
/// grant; FAILURE and EXCEPTION are errors whatever the HTTP status.
fn decode(status: StatusCode, body: &[u8]) -> Result<Grant, ProviderError> {
    let b: ResponseBody = match serde_json::from_slice(body) {
        Ok(b) => b,
        Err(_) if status != StatusCode::OK => {
            return Err(ProviderError::Status {
                status,
                excerpt: wire::excerpt(body),
            });
        }
        Err(e) => return Err(crate::error::json_error(&e).into()),
    };
    match b.response_status.as_str() {
        "SUCCESS" | "WARNING" => {}
        "FAILURE" | "EXCEPTION" => {
            let errors = b
                .errors
                .filter(|e| !e.is_empty())
                .ok_or(DecodeError::MissingMember("errors"))?;
            let failure = VaultFailure {
                status: if b.response_status == "FAILURE" {
                    ResponseStatus::Failure
                } else {
                    ResponseStatus::Exception
                },
                message: b.response_message,
                errors,
                error_type: b.error_type,
            };
            return Err(ProviderError::System {
                status,
                error: SystemError::new(failure),
            });
        }
        other => {
            return Err(DecodeError::Invalid {
                member: "responseStatus",
                reason: format!("unknown value \"{other}\""),
            }
            .into());
        }
    }
    let session_id = b
        .session_id
        .ok_or(DecodeError::MissingMember("sessionId"))?;
    let mut grant = Grant::new(GrantKind::VaultSession, session_id, "");
    if b.response_status == "WARNING" {
        for w in b.warnings.iter().chain(b.errors.iter()).flatten() {
            grant.warn("VV-08", format!("{}: {}", w.kind, w.message));
        }
        if grant.warnings.is_empty() {
            grant.warn("VV-08", "responseStatus is WARNING");
        }
    }
    if let Some(id) = b.vault_id
        && !b.vault_ids.iter().any(|v| v.id == id)
    {
        grant.warn("VV-05", format!("vaultId {id} is not among vaultIds"));
    }
    grant.extra = GrantExtra::Vault(VaultSession {
        user_id: b.user_id,
        vault_ids: b.vault_ids,
        vault_id: b.vault_id,
    });
    Ok(grant)
}

/// What a Vault session response says beyond the session id.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VaultSession {
    /// The user's id.
    pub user_id: Option<u64>,
    /// The vaults the user may open.
    pub vault_ids: Vec<VaultRef>,
    /// The vault this session is for.
    pub vault_id: Option<u64>,
}

/// One entry of `vaultIds`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VaultRef {
    /// The vault id.
    pub id: u64,
    /// Its name.
    pub name: String,
    /// Its API base URL.
    pub url: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResponseBody {
    response_status: String,
    response_message: Option<String>,
    session_id: Option<Secret>,
    user_id: Option<u64>,
    #[serde(default)]
    vault_ids: Vec<VaultRef>,
    vault_id: Option<u64>,
    errors: Option<Vec<VaultErrorItem>>,
    warnings: Option<Vec<VaultErrorItem>>,
    error_type: Option<String>,
}

/// The success body, members in the seed's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionBody {
    response_status: &'static str,
    /// The session id.
    pub session_id: Secret,
    /// The user's id.
    pub user_id: u64,
    /// The vaults the user may open.
    pub vault_ids: Vec<VaultRef>,
    /// The vault this session is for.
    pub vault_id: u64,
}

impl SessionBody {
    /// A `SUCCESS` body.
    pub fn new(
        session_id: impl Into<String>,
        user_id: u64,
        vault_ids: Vec<VaultRef>,
        vault_id: u64,
    ) -> Self {
        SessionBody {
            response_status: "SUCCESS",
            session_id: Secret::new(session_id),
            user_id,
            vault_ids,
            vault_id,
        }
    }

    /// The `200` response.
    pub fn to_response(&self) -> Response<Bytes> {
        wire::json_response(StatusCode::OK, self, [])
    }
}

/// `FAILURE` (a user error) or `EXCEPTION` (a system error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseStatus {
    /// `FAILURE`
    Failure,
    /// `EXCEPTION`
    Exception,
}

/// One `{type, message}` of `errors` or `warnings`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VaultErrorItem {
    /// `INVALID_SESSION_ID`, `INSUFFICIENT_ACCESS`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// Text for a person.
    pub message: String,
}

/// Vault's failure body: `responseStatus`, `errors`, and on authentication
/// failures `errorType`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultFailure {
    /// FAILURE or EXCEPTION.
    pub status: ResponseStatus,
    /// `responseMessage`, where sent.
    pub message: Option<String>,
    /// At least one error.
    pub errors: Vec<VaultErrorItem>,
    /// `AUTHENTICATION_FAILED` and the like.
    pub error_type: Option<String>,
}

impl VaultFailure {
    fn auth_failed(kind: &str, message: &str) -> Self {
        VaultFailure {
            status: ResponseStatus::Failure,
            message: None,
            errors: vec![VaultErrorItem {
                kind: kind.into(),
                message: message.into(),
            }],
            error_type: Some("AUTHENTICATION_FAILED".into()),
        }
    }

    /// No `Authorization` header (VV-09; the error type is inferred).
    pub fn missing_authorization() -> Self {
        Self::auth_failed(
            "PARAMETER_REQUIRED",
            "Missing required header: Authorization",
        )
    }

    /// An invalid or expired bearer token (VV-10; the error type is inferred).
    pub fn invalid_token() -> Self {
        Self::auth_failed(
            "INVALID_SESSION_ID",
            "Invalid or expired OAuth access token.",
        )
    }

    /// An unknown profile id (VV-11; the error type is inferred).
    pub fn unknown_profile() -> Self {
        Self::auth_failed(
            "INVALID_DATA",
            "Unknown OAuth 2.0 / OpenID Connect profile.",
        )
    }

    /// A required parameter missing (`PARAMETER_REQUIRED`).
    pub fn parameter_required(name: &str) -> Self {
        VaultFailure {
            status: ResponseStatus::Failure,
            message: None,
            errors: vec![VaultErrorItem {
                kind: "PARAMETER_REQUIRED".into(),
                message: format!("Missing required parameter [{name}]"),
            }],
            error_type: None,
        }
    }

    /// A method other than POST.
    pub fn method_not_supported() -> Self {
        VaultFailure {
            status: ResponseStatus::Failure,
            message: None,
            errors: vec![VaultErrorItem {
                kind: "METHOD_NOT_SUPPORTED".into(),
                message: "Use POST.".into(),
            }],
            error_type: None,
        }
    }

    /// The first error's type, as this failure's short code.
    pub fn code(&self) -> Option<&str> {
        self.errors.first().map(|e| e.kind.as_str())
    }

    /// The body Vault sends, with HTTP 200 as Vault does.
    pub fn to_response(&self) -> Response<Bytes> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Body<'a> {
            response_status: &'static str,
            #[serde(skip_serializing_if = "Option::is_none")]
            response_message: Option<&'a str>,
            errors: &'a [VaultErrorItem],
            #[serde(skip_serializing_if = "Option::is_none")]
            error_type: Option<&'a str>,
        }
        let body = Body {
            response_status: match self.status {
                ResponseStatus::Failure => "FAILURE",
                ResponseStatus::Exception => "EXCEPTION",
            },
            response_message: self.message.as_deref(),
            errors: &self.errors,
            error_type: self.error_type.as_deref(),
        };
        wire::json_response(StatusCode::OK, &body, [])
    }
}

impl fmt::Display for VaultFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.status {
            ResponseStatus::Failure => "FAILURE",
            ResponseStatus::Exception => "EXCEPTION",
        })?;
        if let Some(t) = &self.error_type {
            write!(f, " ({t})")?;
        }
        for e in &self.errors {
            write!(f, "; {}: {}", e.kind, e.message)?;
        }
        Ok(())
    }
}

/// Server side: the typed request, or the FAILURE Vault answers (VV-09 for a
/// missing or non-Bearer `Authorization`). An invalid tracking client id is
/// not refused, as Vault only logs it; it is dropped from the typed request.
pub fn parse_request(req: &Request<Bytes>) -> Result<SessionRequest, VaultFailure> {
    if req.method() != Method::POST {
        return Err(VaultFailure::method_not_supported());
    }
    let path = req.uri().path();
    let raw = path
        .find(SESSION_PATH_PREFIX)
        .and_then(|i| path.get(i + SESSION_PATH_PREFIX.len()..))
        .filter(|s| !s.is_empty() && !s.contains('/'))
        .ok_or_else(VaultFailure::unknown_profile)?;
    let profile = percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| VaultFailure::unknown_profile())?;
    if !req.headers().contains_key(AUTHORIZATION) {
        return Err(VaultFailure::missing_authorization());
    }
    let token = rfc6749::bearer_token(req.headers()).ok_or_else(VaultFailure::invalid_token)?;
    let out = SessionRequest::new(profile.into_owned(), Secret::new(token)).map_err(|e| match e
        .field
    {
        "profile_id" => VaultFailure::unknown_profile(),
        _ => VaultFailure::invalid_token(),
    })?;
    let query_id = req.uri().query().and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "client_id")
            .map(|(_, v)| v.into_owned())
    });
    let client_id =
        query_id.or_else(|| wire::header_str(req.headers(), CLIENT_ID_HEADER).map(str::to_owned));
    Ok(match client_id {
        Some(id) => out.clone().with_client_id(id).unwrap_or(out),
        None => out,
    })
}

crate::call::calls! {
    SessionRequest => Grant,
}

impl crate::Documented for VaultFailure {
    fn code(&self) -> Option<&str> {
        VaultFailure::code(self)
    }
}
