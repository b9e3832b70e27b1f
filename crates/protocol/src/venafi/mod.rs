//! `venafi`: Venafi TPP's token authentication (VEDauth). `POST
//! /vedauth/authorize/oauth` with username, password and a scope in
//! Venafi's grammar → bearer and refresh token; refresh, revoke and verify.

mod scope;

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use serde::{Deserialize, Serialize};

pub use scope::{Privilege, Scope, ScopeError, ScopeItem, ScopeName};

use crate::base_url::BaseUrl;
use crate::error::{ProviderError, RequestError, SystemError};
use crate::grant::{Grant, GrantExtra, GrantKind, Refresh};
use crate::rfc6749::{self, ExpiresIn};
use crate::secret::Secret;
use crate::wire;

/// Where a grant is asked for.
pub const AUTHORIZE_PATH: &str = "/vedauth/authorize/oauth";
/// Where a refresh token is exchanged.
pub const REFRESH_PATH: &str = "/vedauth/authorize/token";
/// Where a token is revoked (`GET` with the bearer).
pub const REVOKE_PATH: &str = "/vedauth/revoke/token";
/// Where a token is verified (`GET` with the bearer).
pub const VERIFY_PATH: &str = "/vedauth/authorize/verify";
/// Skew between `expires` and now + `expires_in` above which VE-03 warns.
pub const EXPIRY_SKEW_SECS: u64 = 60;

/// `POST Authorize/OAuth`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizeRequest {
    client_id: String,
    username: String,
    password: Secret,
    scope: Scope,
    state: Option<String>,
}

impl AuthorizeRequest {
    /// A request; the scope is parsed with the grammar (VE-02).
    pub fn new(
        client_id: impl Into<String>,
        username: impl Into<String>,
        password: Secret,
        scope: &str,
    ) -> Result<Self, RequestError> {
        let (client_id, username) = (client_id.into(), username.into());
        wire::require_text("VE-01", "client_id", &client_id)?;
        wire::require_text("VE-01", "username", &username)?;
        if password.expose().is_empty() {
            return Err(RequestError::new("VE-01", "password", "must not be empty"));
        }
        let scope = scope
            .parse()
            .map_err(|e: ScopeError| RequestError::new("VE-02", "scope", e.to_string()))?;
        Ok(AuthorizeRequest {
            client_id,
            username,
            password,
            scope,
            state: None,
        })
    }

    /// The same request with a CSRF `state`.
    pub fn with_state(mut self, state: impl Into<String>) -> Self {
        self.state = Some(state.into());
        self
    }

    /// The Application ID of the API integration.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// `LDAP+ODSEE:Admin`, `AD+venqa:Administrator`, a UPN or `DOMAIN\user`.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The user's password.
    pub fn password(&self) -> &Secret {
        &self.password
    }

    /// What the token may do.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// The anti-CSRF state, if any.
    pub fn state(&self) -> Option<&str> {
        self.state.as_deref()
    }

    /// `POST {base}/vedauth/authorize/oauth`, JSON (VE-01).
    pub fn encode(&self, base: &BaseUrl) -> Result<Request<Bytes>, RequestError> {
        let body = AuthorizeBody {
            client_id: Some(self.client_id.as_str().into()),
            username: Some(self.username.as_str().into()),
            password: Some(self.password.expose().into()),
            scope: Some(self.scope.to_string().into()),
            state: self.state.as_deref().map(Cow::from),
        };
        json_request(base, AUTHORIZE_PATH, &body)
    }

    /// Decodes the answer (VE-03..05, VE-12 as a warning).
    pub fn decode_response(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Grant, ProviderError> {
        decode_token(status, headers, body, Some(&self.scope))
    }
}

/// `POST Authorize/Token`: a single-use refresh token for a new grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshRequest {
    /// The Application ID.
    pub client_id: String,
    /// The refresh token of the previous grant.
    pub refresh_token: Secret,
}

impl RefreshRequest {
    /// `POST {base}/vedauth/authorize/token`, JSON.
    pub fn encode(&self, base: &BaseUrl) -> Result<Request<Bytes>, RequestError> {
        let body = RefreshBody {
            client_id: Some(self.client_id.as_str().into()),
            refresh_token: Some(self.refresh_token.expose().into()),
        };
        json_request(base, REFRESH_PATH, &body)
    }

    /// Decodes the answer: the same shape as a first grant.
    pub fn decode_response(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Grant, ProviderError> {
        decode_token(status, headers, body, None)
    }
}

/// `GET Revoke/Token` or `GET Authorize/Verify`: a call that carries only the bearer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BearerCall {
    /// The access token.
    pub token: Secret,
}

impl BearerCall {
    /// `GET {base}{path}` with `Authorization: Bearer …`; `path` is
    /// [`REVOKE_PATH`] or [`VERIFY_PATH`].
    pub fn encode(&self, base: &BaseUrl, path: &str) -> Result<Request<Bytes>, RequestError> {
        let auth = rfc6749::bearer_header("VE-11", "token", &self.token)?;
        Ok(wire::request(
            Method::GET,
            base.join(path)?,
            [(AUTHORIZATION, auth)],
            Bytes::new(),
        ))
    }

    /// Server side: the bearer token of a revoke or verify call.
    pub fn parse(req: &Request<Bytes>) -> Result<BearerCall, VenafiError> {
        let token = rfc6749::bearer_token(req.headers()).ok_or(VenafiError::InvalidToken)?;
        Ok(BearerCall {
            token: Secret::new(token),
        })
    }
}

fn json_request<T: Serialize>(
    base: &BaseUrl,
    path: &str,
    body: &T,
) -> Result<Request<Bytes>, RequestError> {
    let json =
        serde_json::to_vec(body).map_err(|e| RequestError::new("VE-01", "body", e.to_string()))?;
    let headers = [
        (CONTENT_TYPE, HeaderValue::from_static(wire::JSON)),
        (ACCEPT, HeaderValue::from_static(wire::JSON)),
    ];
    Ok(wire::request(Method::POST, base.join(path)?, headers, json))
}

fn decode_token(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    asked: Option<&Scope>,
) -> Result<Grant, ProviderError> {
    if status != StatusCode::OK {
        return Err(ProviderError::System {
            status,
            error: SystemError::new(VenafiError::decode(status, body)),
        });
    }
    let b: TokenBody = wire::decode_json(body)?;
    rfc6749::require_bearer("VE-03", &b.token_type)?;
    let mut grant = Grant::new(GrantKind::AccessToken, b.access_token, b.token_type);
    rfc6749::observe_success(&mut grant, headers);
    if let Some(e) = b.expires_in {
        e.apply(&mut grant);
    }
    grant.expires_at = b.expires;
    if let Some(token) = b.refresh_token {
        match (b.refresh_until, b.expires) {
            (None, _) => grant.warn("VE-04", "a refresh_token came without refresh_until"),
            (Some(until), Some(expires)) if until < expires => {
                grant.warn(
                    "VE-04",
                    format!("refresh_until {until} is before expires {expires}"),
                );
            }
            _ => {}
        }
        grant.refresh = Some(Refresh {
            token,
            until: b.refresh_until,
        });
    }
    if let (Some(asked), Some(granted)) = (asked, b.scope.as_deref()) {
        match granted.parse::<Scope>() {
            Ok(g) if g.is_within(asked) => {}
            Ok(_) => grant.warn(
                "VE-12",
                format!("granted scope \"{granted}\" exceeds the requested \"{asked}\""),
            ),
            Err(e) => grant.warn(
                "VE-12",
                format!("granted scope \"{granted}\" does not parse: {e}"),
            ),
        }
    }
    grant.scope = b.scope;
    grant.extra = GrantExtra::Venafi {
        identity: b.identity,
    };
    Ok(grant)
}

/// VE-03: how far the server's `expires` is from `now + expires_in`, as a
/// warning when it is more than [`EXPIRY_SKEW_SECS`]. `now` is the epoch
/// second the response arrived (this crate reads no clock).
pub fn check_expiry_skew(grant: &Grant, now: u64) -> Option<crate::grant::Warning> {
    let expected = now.checked_add(grant.expires_in?.as_secs())?;
    let skew = grant.expires_at?.abs_diff(expected);
    (skew > EXPIRY_SKEW_SECS).then(|| {
        crate::grant::Warning::new(
            "VE-03",
            format!("`expires` is {skew} s away from now + expires_in"),
        )
    })
}

/// The authorize request body, one definition for both directions: a client
/// sends borrowed text, a server receives owned text. Every member is
/// optional so a server can name the one that is missing.
#[derive(Serialize, Deserialize)]
struct AuthorizeBody<'a> {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client_id: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    username: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    password: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scope: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    state: Option<Cow<'a, str>>,
}

/// The refresh request body, for both directions as [`AuthorizeBody`].
#[derive(Serialize, Deserialize)]
struct RefreshBody<'a> {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client_id: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<Cow<'a, str>>,
}

/// The success body, members in the documented order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenBody {
    /// The bearer access token.
    pub access_token: Secret,
    /// Only when refresh is enabled for the integration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<Secret>,
    /// Seconds until the access token expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<ExpiresIn>,
    /// Expiry, epoch seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<u64>,
    /// `Bearer`.
    pub token_type: String,
    /// The granted scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Identity provider and GUID of the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// When the refresh token stops working, epoch seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_until: Option<u64>,
}

impl TokenBody {
    /// The `200` response.
    pub fn to_response(&self) -> Response<Bytes> {
        wire::json_response(StatusCode::OK, self, wire::no_store_headers())
    }
}

/// The `200` of `GET Authorize/Verify` for a live token. Venafi's document
/// names the call but not its body; these are the members TPP sends, in its
/// spelling (inferred).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyBody {
    /// The API integration's Application ID.
    pub application: String,
    /// Identity provider and GUID of the user.
    pub identity: String,
    /// The token's scope.
    pub scope: String,
    /// Expiry, epoch seconds.
    pub expires_unix_time: u64,
    /// Seconds left.
    pub valid_for: u64,
}

impl VerifyBody {
    /// The `200` response.
    pub fn to_response(&self) -> Response<Bytes> {
        wire::json_response(StatusCode::OK, self, wire::no_store_headers())
    }
}

/// The answer to `GET Revoke/Token` for a live token: `200`, no body.
pub fn revoke_response() -> Response<Bytes> {
    wire::response(StatusCode::OK, wire::no_store_headers(), Bytes::new())
}

/// Venafi's documented error messages, and the text of any other.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum VenafiError {
    /// 400 "Application identifier is missing" (VE-06).
    ApplicationIdMissing,
    /// 400 "Missing username or password" (VE-07).
    MissingUsernameOrPassword,
    /// 400 "Username/Password authentication not enabled".
    PasswordAuthNotEnabled,
    /// 401 "Username/password combination not valid" (VE-08).
    InvalidCredentials,
    /// 401 "Failed to issue grant: {detail}".
    FailedToIssueGrant(String),
    /// 403: the application may not have the scope (inferred, VE-09).
    ScopeNotAllowed(String),
    /// 401 on verify or revoke with an expired or revoked token (VE-11).
    InvalidToken,
    /// A 400 whose text is not one of the documented ones (malformed body, bad scope).
    InvalidRequest(String),
    /// Any other text, as sent.
    Other(String),
}

const APP_ID_MISSING: &str = "Application identifier is missing";
const MISSING_USER_OR_PASSWORD: &str = "Missing username or password";
const PASSWORD_AUTH_DISABLED: &str = "Username/Password authentication not enabled";
const INVALID_CREDENTIALS: &str = "Username/password combination not valid";
const FAILED_TO_ISSUE: &str = "Failed to issue grant: ";
const SCOPE_NOT_ALLOWED: &str = "The application is not allowed the scope ";
const INVALID_TOKEN: &str = "Invalid or expired token";

impl VenafiError {
    /// The status a server sends it with.
    pub fn status(&self) -> StatusCode {
        match self {
            VenafiError::ApplicationIdMissing
            | VenafiError::MissingUsernameOrPassword
            | VenafiError::PasswordAuthNotEnabled
            | VenafiError::InvalidRequest(_)
            | VenafiError::Other(_) => StatusCode::BAD_REQUEST,
            VenafiError::InvalidCredentials
            | VenafiError::FailedToIssueGrant(_)
            | VenafiError::InvalidToken => StatusCode::UNAUTHORIZED,
            VenafiError::ScopeNotAllowed(_) => StatusCode::FORBIDDEN,
        }
    }

    /// The OAuth-style `error` member that goes with it (inferred), used as
    /// this error's short code in reports.
    pub fn code(&self) -> &'static str {
        match self {
            VenafiError::ApplicationIdMissing
            | VenafiError::MissingUsernameOrPassword
            | VenafiError::InvalidRequest(_)
            | VenafiError::Other(_) => "invalid_request",
            VenafiError::PasswordAuthNotEnabled => "unauthorized_client",
            VenafiError::InvalidCredentials | VenafiError::FailedToIssueGrant(_) => "invalid_grant",
            VenafiError::ScopeNotAllowed(_) => "invalid_scope",
            VenafiError::InvalidToken => "invalid_token",
        }
    }

    /// The message text.
    pub fn message(&self) -> String {
        match self {
            VenafiError::ApplicationIdMissing => APP_ID_MISSING.into(),
            VenafiError::MissingUsernameOrPassword => MISSING_USER_OR_PASSWORD.into(),
            VenafiError::PasswordAuthNotEnabled => PASSWORD_AUTH_DISABLED.into(),
            VenafiError::InvalidCredentials => INVALID_CREDENTIALS.into(),
            VenafiError::FailedToIssueGrant(d) => format!("{FAILED_TO_ISSUE}{d}"),
            VenafiError::ScopeNotAllowed(s) => format!("{SCOPE_NOT_ALLOWED}{s}"),
            VenafiError::InvalidToken => INVALID_TOKEN.into(),
            VenafiError::InvalidRequest(t) | VenafiError::Other(t) => t.clone(),
        }
    }

    /// Reads an error response: the message from `error_description`, else
    /// `error`, else the body as text (VE-05).
    pub fn decode(status: StatusCode, body: &[u8]) -> VenafiError {
        #[derive(Deserialize)]
        struct Body {
            error: Option<String>,
            error_description: Option<String>,
        }
        let text = match serde_json::from_slice::<Body>(body) {
            Ok(Body {
                error_description: Some(d),
                ..
            }) => d,
            Ok(Body { error: Some(e), .. }) => e,
            _ => wire::excerpt(body),
        };
        VenafiError::from_message(status, text)
    }

    /// The documented variant for a message text, where it is one.
    pub fn from_message(status: StatusCode, text: String) -> VenafiError {
        match text.as_str() {
            APP_ID_MISSING => VenafiError::ApplicationIdMissing,
            MISSING_USER_OR_PASSWORD => VenafiError::MissingUsernameOrPassword,
            PASSWORD_AUTH_DISABLED => VenafiError::PasswordAuthNotEnabled,
            INVALID_CREDENTIALS => VenafiError::InvalidCredentials,
            INVALID_TOKEN => VenafiError::InvalidToken,
            t => match (
                t.strip_prefix(FAILED_TO_ISSUE),
                t.strip_prefix(SCOPE_NOT_ALLOWED),
            ) {
                (Some(detail), _) => VenafiError::FailedToIssueGrant(detail.to_owned()),
                (_, Some(scope)) => VenafiError::ScopeNotAllowed(scope.to_owned()),
                _ if status == StatusCode::FORBIDDEN => VenafiError::ScopeNotAllowed(text),
                _ if status == StatusCode::BAD_REQUEST => VenafiError::InvalidRequest(text),
                _ => VenafiError::Other(text),
            },
        }
    }

    /// The response a server sends: `{"error": …, "error_description": message}`.
    pub fn to_response(&self) -> Response<Bytes> {
        let body = rfc6749::OAuthError::new(rfc6749::ErrorCode::parse(self.code()))
            .describe(self.message());
        wire::json_response(self.status(), &body, wire::no_store_headers())
    }
}

impl fmt::Display for VenafiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

/// Server side of `POST Authorize/OAuth`: the typed request, or the
/// documented 400 (VE-06, VE-07; a body that is not JSON; a bad scope).
pub fn parse_authorize(req: &Request<Bytes>) -> Result<AuthorizeRequest, VenafiError> {
    let b: AuthorizeBody<'static> = parse_json_post(req)?;
    let client_id = b
        .client_id
        .filter(|s| !s.trim().is_empty())
        .ok_or(VenafiError::ApplicationIdMissing)?;
    let (Some(username), Some(password)) = (
        b.username.filter(|s| !s.trim().is_empty()),
        b.password.filter(|s| !s.is_empty()),
    ) else {
        return Err(VenafiError::MissingUsernameOrPassword);
    };
    let scope = b.scope.unwrap_or_default();
    let out = AuthorizeRequest::new(client_id, username, Secret::new(password), &scope)
        .map_err(|e| VenafiError::InvalidRequest(e.to_string()))?;
    Ok(match b.state {
        Some(s) => out.with_state(s),
        None => out,
    })
}

/// Server side of `POST Authorize/Token`.
pub fn parse_refresh(req: &Request<Bytes>) -> Result<RefreshRequest, VenafiError> {
    let b: RefreshBody<'static> = parse_json_post(req)?;
    let client_id = b
        .client_id
        .filter(|s| !s.trim().is_empty())
        .ok_or(VenafiError::ApplicationIdMissing)?;
    let token = b
        .refresh_token
        .filter(|s| !s.is_empty())
        .ok_or_else(|| VenafiError::InvalidRequest("Missing refresh_token".into()))?;
    Ok(RefreshRequest {
        client_id: client_id.into_owned(),
        refresh_token: Secret::new(token),
    })
}

fn parse_json_post<T: serde::de::DeserializeOwned>(req: &Request<Bytes>) -> Result<T, VenafiError> {
    if req.method() != Method::POST {
        return Err(VenafiError::InvalidRequest(
            "This endpoint takes POST".into(),
        ));
    }
    if !wire::is_json(req.headers()) {
        return Err(VenafiError::InvalidRequest(
            "Content-Type must be application/json".into(),
        ));
    }
    serde_json::from_slice(req.body()).map_err(|e| {
        VenafiError::InvalidRequest(format!(
            "Malformed JSON body: {}",
            crate::error::json_error(&e)
        ))
    })
}

crate::call::calls! {
    AuthorizeRequest => Grant,
    RefreshRequest => Grant,
}

impl crate::Documented for VenafiError {
    fn code(&self) -> Option<&str> {
        Some(VenafiError::code(self))
    }
}
