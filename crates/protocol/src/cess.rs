//! `cess`: VaultID CESS's OAuth2 password grant. `POST /oauth` with a JSON
//! body; the user is a CPF or CNPJ and the password an OTP; the answer holds
//! a ready `Authorization: VCSchema …` value.

use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use serde::{Deserialize, Serialize};

use crate::base_url::BaseUrl;
use crate::error::{DecodeError, ProviderError, RequestError};
use crate::grant::{Grant, GrantExtra, GrantKind};
use crate::rfc6749::{self, ErrorCode, ExpiresIn, Rejection};
use crate::secret::Secret;
use crate::taxid::TaxId;
use crate::{vcschema, wire};

/// The token endpoint's path.
pub const TOKEN_PATH: &str = "/oauth";
/// The fixed grant type.
pub const GRANT_TYPE: &str = "password";
/// The scope CESS grants when none is asked for (CE-08).
pub const DEFAULT_SCOPE: &str = "authentication_session";

/// A CESS token request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    client_id: String,
    client_secret: Secret,
    username: TaxId,
    password: Secret,
    scope: Option<String>,
    lifetime: Option<u32>,
    provider: Option<String>,
}

impl TokenRequest {
    /// A request for `username` (a CPF or CNPJ, checked here) with its OTP.
    pub fn new(
        client_id: impl Into<String>,
        client_secret: Secret,
        username: &str,
        otp: Secret,
    ) -> Result<Self, RequestError> {
        let client_id = client_id.into();
        wire::require_text("CE-01", "client_id", &client_id)?;
        let username = TaxId::parse(username)
            .map_err(|e| RequestError::new("CE-03", "username", e.to_string()))?;
        if otp.expose().is_empty() {
            return Err(RequestError::new(
                "CE-01",
                "password",
                "the OTP must not be empty",
            ));
        }
        Ok(TokenRequest {
            client_id,
            client_secret,
            username,
            password: otp,
            scope: None,
            lifetime: None,
            provider: None,
        })
    }

    /// Asks for these scopes (space-joined); none leaves `scope` out (CE-02).
    pub fn with_scopes<I, S>(mut self, scopes: I) -> Result<Self, RequestError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.scope = rfc6749::join_scopes("CE-02", scopes)?;
        Ok(self)
    }

    /// Asks for a lifetime in seconds, refused above the limit for the user's
    /// kind: 604800 for a CPF, 2592000 for a CNPJ (CE-04).
    pub fn with_lifetime(mut self, seconds: u32) -> Result<Self, RequestError> {
        let max = self.username.max_lifetime();
        if seconds == 0 || seconds > max {
            return Err(RequestError::new(
                "CE-04",
                "lifetime",
                format!("{seconds} s is outside 1..={max} s for this user"),
            ));
        }
        self.lifetime = Some(seconds);
        Ok(self)
    }

    /// Names the user's cloud.
    pub fn with_provider(mut self, provider: impl Into<String>) -> Result<Self, RequestError> {
        let provider = provider.into();
        wire::require_text("CE-01", "provider", &provider)?;
        self.provider = Some(provider);
        Ok(self)
    }

    /// The space-joined scope, if any.
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// The application's id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The application's secret.
    pub fn client_secret(&self) -> &Secret {
        &self.client_secret
    }

    /// The user: a CPF or CNPJ whose check digits were verified (CE-03).
    pub fn username(&self) -> &TaxId {
        &self.username
    }

    /// The user's OTP.
    pub fn password(&self) -> &Secret {
        &self.password
    }

    /// The user's cloud, if given.
    pub fn provider(&self) -> Option<&str> {
        self.provider.as_deref()
    }

    /// The requested lifetime, if any.
    pub fn lifetime(&self) -> Option<u32> {
        self.lifetime
    }

    /// `POST {base}/oauth` with the JSON body (CE-01, CE-02).
    pub fn encode(&self, base: &BaseUrl) -> Result<Request<Bytes>, RequestError> {
        let body = RequestBody {
            client_id: &self.client_id,
            client_secret: self.client_secret.expose(),
            username: self.username.as_str(),
            password: self.password.expose(),
            grant_type: GRANT_TYPE,
            scope: self.scope.as_deref(),
            lifetime: self.lifetime,
            provider: self.provider.as_deref(),
        };
        let json = serde_json::to_vec(&body)
            .map_err(|e| RequestError::new("CE-01", "body", e.to_string()))?;
        let headers = [
            (CONTENT_TYPE, HeaderValue::from_static(wire::JSON)),
            (ACCEPT, HeaderValue::from_static(wire::JSON)),
        ];
        Ok(wire::request(
            Method::POST,
            base.join(TOKEN_PATH)?,
            headers,
            json,
        ))
    }

    /// Decodes the answer (CE-05..07); CE-08 and CE-12 are warnings, since
    /// they concern the server and the token still works.
    pub fn decode_response(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Grant, ProviderError> {
        if status != StatusCode::OK {
            return Err(rfc6749::decode_error(status, body));
        }
        let b: TokenBody = wire::decode_json(body)?;
        rfc6749::require_bearer("CE-05", &b.token_type)?;
        let authorization = b
            .authorization
            .ok_or(DecodeError::MissingMember("Authorization"))?;
        let provider = b.provider.ok_or(DecodeError::MissingMember("provider"))?;
        let encodes = vcschema::encodes(authorization.expose(), &provider, b.access_token.expose())
            .map_err(|e| DecodeError::Contract {
                check: "CE-06",
                reason: format!("`Authorization` {e}"),
            })?;
        if !encodes {
            return Err(DecodeError::Contract {
                check: "CE-06",
                reason: "`Authorization` does not encode this provider and access token".into(),
            }
            .into());
        }
        let mut grant = Grant::new(GrantKind::AccessToken, b.access_token, b.token_type);
        rfc6749::observe_success(&mut grant, headers);
        if let Some(e) = b.expires_in {
            e.apply(&mut grant);
            if let Some(asked) = self.lifetime
                && e.seconds() > u64::from(asked)
            {
                grant.warn(
                    "CE-12",
                    format!(
                        "expires_in {} s exceeds the requested lifetime {asked} s",
                        e.seconds()
                    ),
                );
            }
        }
        if self.scope.is_none()
            && !b
                .scope
                .as_deref()
                .unwrap_or_default()
                .split(' ')
                .any(|s| s == DEFAULT_SCOPE)
        {
            grant.warn(
                "CE-08",
                format!("no scope was asked for, and the grant lacks {DEFAULT_SCOPE}"),
            );
        }
        grant.scope = b.scope;
        grant.extra = GrantExtra::Cess {
            provider,
            authorization,
        };
        Ok(grant)
    }
}

#[derive(Serialize)]
struct RequestBody<'a> {
    client_id: &'a str,
    client_secret: &'a str,
    username: &'a str,
    password: &'a str,
    grant_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lifetime: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    provider: Option<&'a str>,
}

/// The request body as a server receives it: every member optional, so that
/// a missing one gets a clear rejection; `username` may be a JSON number.
#[derive(Deserialize)]
struct ReceivedBody {
    client_id: Option<String>,
    client_secret: Option<String>,
    username: Option<serde_json::Value>,
    password: Option<String>,
    grant_type: Option<String>,
    scope: Option<String>,
    lifetime: Option<serde_json::Value>,
    provider: Option<String>,
}

/// The success body, members in the documented order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenBody {
    /// The access token.
    pub access_token: Secret,
    /// Seconds of validity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<ExpiresIn>,
    /// `bearer`.
    pub token_type: String,
    /// Granted scopes, space-separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The user's cloud.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// `VCSchema base64(provider-|access_token)`.
    #[serde(
        rename = "Authorization",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub authorization: Option<Secret>,
}

impl TokenBody {
    /// The documented success body; the `Authorization` value is computed.
    pub fn new(access_token: &str, expires_in: Duration, scope: &str, provider: &str) -> Self {
        TokenBody {
            access_token: Secret::new(access_token),
            expires_in: Some(ExpiresIn::Number(expires_in.as_secs())),
            token_type: "bearer".into(),
            scope: Some(scope.to_owned()),
            provider: Some(provider.to_owned()),
            authorization: Some(Secret::new(vcschema::encode(provider, access_token))),
        }
    }

    /// The `200` response.
    pub fn to_response(&self) -> Response<Bytes> {
        wire::json_response(StatusCode::OK, self, wire::no_store_headers())
    }
}

/// Server side: the typed request, or a 400 RFC 6749 rejection (CE-10,
/// CE-11; a bad CPF/CNPJ, a missing member, a body that is not JSON).
pub fn parse_request(req: &Request<Bytes>) -> Result<TokenRequest, Rejection> {
    let bad = |code, text: String| Rejection::bad_request(code, text);
    if req.method() != Method::POST {
        return Err(Rejection::method_not_allowed());
    }
    if !wire::is_json(req.headers()) {
        return Err(bad(
            ErrorCode::InvalidRequest,
            "Content-Type must be application/json".into(),
        ));
    }
    let b: ReceivedBody =
        wire::decode_json(req.body()).map_err(|e| bad(ErrorCode::InvalidRequest, e.to_string()))?;
    match b.grant_type.as_deref() {
        Some(GRANT_TYPE) => {}
        None => {
            return Err(bad(
                ErrorCode::InvalidRequest,
                "grant_type is missing".into(),
            ));
        }
        Some(_) => {
            return Err(bad(
                ErrorCode::UnsupportedGrantType,
                "grant_type must be \"password\"".into(),
            ));
        }
    }
    let missing = |m: &str| bad(ErrorCode::InvalidRequest, format!("{m} is missing"));
    let username = match b.username.ok_or_else(|| missing("username"))? {
        serde_json::Value::String(s) => s,
        serde_json::Value::Number(n) if n.is_u64() => {
            let digits = n.to_string();
            if digits.len() <= 11 {
                format!("{digits:0>11}")
            } else {
                format!("{digits:0>14}")
            }
        }
        _ => {
            return Err(bad(
                ErrorCode::InvalidRequest,
                "username must be a string".into(),
            ));
        }
    };
    let refused = |e: RequestError| bad(ErrorCode::InvalidRequest, e.to_string());
    let mut out = TokenRequest::new(
        b.client_id.ok_or_else(|| missing("client_id"))?,
        Secret::new(b.client_secret.ok_or_else(|| missing("client_secret"))?),
        &username,
        Secret::new(b.password.ok_or_else(|| missing("password"))?),
    )
    .map_err(refused)?;
    if let Some(scope) = b.scope {
        out = out
            .with_scopes(scope.split(' ').filter(|s| !s.is_empty()))
            .map_err(refused)?;
    }
    if let Some(lifetime) = b.lifetime {
        let secs = lifetime
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| {
                bad(
                    ErrorCode::InvalidRequest,
                    "lifetime must be a whole number of seconds".into(),
                )
            })?;
        out = out.with_lifetime(secs).map_err(refused)?;
    }
    if let Some(p) = b.provider {
        out = out.with_provider(p).map_err(refused)?;
    }
    Ok(out)
}

crate::call::calls! {
    TokenRequest => Grant,
}
