//! `cognito`: RFC 6749 client credentials as Amazon Cognito serves it for
//! Vectara, and as any RFC 6749 token endpoint does (`POST /oauth2/token`,
//! form body, HTTP Basic or body client authentication → bearer token).

use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use serde::{Deserialize, Serialize};

use crate::base_url::BaseUrl;
use crate::client_auth::{self, ClientAuth, Credential};
use crate::dpop::{self, ProofKey};
use crate::error::{DecodeError, ProviderError, RequestError};
use crate::grant::{Grant, GrantExtra, GrantKind};
use crate::jwt;
use crate::rfc6749::{self, ErrorCode, ExpiresIn, Rejection};
use crate::secret::Secret;
use crate::wire;

/// Where Cognito (and the stub) publish the token signing keys.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";

/// The token endpoint's path.
pub const TOKEN_PATH: &str = "/oauth2/token";
/// The only grant type this flow sends.
pub const GRANT_TYPE: &str = "client_credentials";
/// How far `exp − iat` may stray from `expires_in` (CG-05).
pub const CLAIMS_TOLERANCE_SECS: u64 = 5;

/// A client-credentials token request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    client_id: String,
    credential: Credential,
    auth: ClientAuth,
    audience: Option<String>,
    scope: Option<String>,
    path: String,
    params: Vec<(String, String)>,
    /// The key each request proves possession of (DPoP), if any.
    dpop: Option<ProofKey>,
}

impl TokenRequest {
    /// A request for `client_id`, authenticated by `auth` with its
    /// credential: a secret, or the signer of a JWT method's assertions.
    pub fn new(
        client_id: impl Into<String>,
        credential: impl Into<Credential>,
        auth: ClientAuth,
    ) -> Result<Self, RequestError> {
        let client_id = client_id.into();
        let credential = credential.into();
        wire::require_text("CG-02", "client_id", &client_id)?;
        let text = match &credential {
            Credential::Secret(s) | Credential::Assertion(s) => s.expose(),
            Credential::Key(_) | Credential::Certificate(_) => "",
        };
        if text.chars().any(char::is_control) {
            return Err(RequestError::new(
                "CG-02",
                "client_secret",
                "must not hold control characters",
            ));
        }
        if !credential.fits(auth) {
            return Err(client_auth::mismatch(auth));
        }
        Ok(TokenRequest {
            client_id,
            credential,
            auth,
            audience: None,
            scope: None,
            path: TOKEN_PATH.to_owned(),
            params: Vec::new(),
            dpop: None,
        })
    }

    /// The same request sent to another token path, for RFC 6749 servers
    /// other than Cognito (Keycloak's `/realms/{realm}/protocol/openid-connect/token`,
    /// Okta's `/oauth2/default/v1/token`, Auth0's `/oauth/token`).
    pub fn with_path(mut self, path: impl Into<String>) -> Result<Self, RequestError> {
        let path = path.into();
        if !path.starts_with('/') || path.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(RequestError::new(
                "CG-01",
                "token_path",
                format!("{path:?} is not an absolute path (it starts with `/`, no spaces)"),
            ));
        }
        self.path = path;
        Ok(self)
    }

    /// The same request with more form parameters, which some servers
    /// require (Auth0's `audience`, RFC 8707's `resource`). The ones this
    /// request sets itself are refused.
    pub fn with_params<I, K, V>(mut self, params: I) -> Result<Self, RequestError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        for (k, v) in params {
            let (k, v) = (k.into(), v.into());
            let own = [
                "grant_type",
                "scope",
                "client_id",
                "client_secret",
                "client_assertion",
                "client_assertion_type",
            ];
            if own.contains(&k.as_str()) {
                return Err(RequestError::new(
                    "CG-01",
                    "params",
                    format!("`{k}` is set by the request itself"),
                ));
            }
            self.params.push((k, v));
        }
        Ok(self)
    }

    /// The token endpoint's path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The same request asking for these scopes, space-joined; none means
    /// the parameter is left out (CG-03).
    pub fn with_scopes<I, S>(mut self, scopes: I) -> Result<Self, RequestError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.scope = rfc6749::join_scopes("CG-03", scopes)?;
        Ok(self)
    }

    /// The same request as another client, or with another secret or key
    /// (checked as [`TokenRequest::new`] checks them); scopes, path and
    /// parameters are kept.
    pub fn with_client(
        self,
        client_id: impl Into<String>,
        credential: impl Into<Credential>,
    ) -> Result<Self, RequestError> {
        let other = TokenRequest::new(client_id, credential, self.auth)?;
        Ok(TokenRequest {
            client_id: other.client_id,
            credential: other.credential,
            ..self
        })
    }

    /// The same request authenticated by `auth` (with the same secret or
    /// key, which must fit it).
    pub fn with_auth(self, auth: ClientAuth) -> Result<Self, RequestError> {
        let other = TokenRequest::new(self.client_id.clone(), self.credential.clone(), auth)?;
        Ok(TokenRequest {
            auth: other.auth,
            ..self
        })
    }

    /// The same request with its assertions addressed to `audience`
    /// instead of the token endpoint's URL (some servers ask for their
    /// issuer).
    pub fn with_audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// What an assertion is addressed to: the configured audience, else
    /// the token endpoint's URL under `base`.
    pub fn audience(&self, base: &BaseUrl) -> Result<String, RequestError> {
        match &self.audience {
            Some(a) => Ok(a.clone()),
            None => Ok(base.join(&self.path)?.to_string()),
        }
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The space-joined scope, if any.
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// How the client authenticates.
    pub fn auth(&self) -> ClientAuth {
        self.auth
    }

    /// The client secret, when it authenticates with one.
    pub fn client_secret(&self) -> Option<&Secret> {
        self.credential.secret()
    }

    /// What it authenticates with.
    pub fn credential(&self) -> &Credential {
        &self.credential
    }

    /// The same request with a DPoP proof by `key` (RFC 9449), made anew
    /// for every request: the token is then bound to the key.
    pub fn with_dpop(mut self, key: ProofKey) -> Self {
        self.dpop = Some(key);
        self
    }

    /// The key its requests prove possession of, if any.
    pub fn dpop(&self) -> Option<&ProofKey> {
        self.dpop.as_ref()
    }

    /// `POST {base}{path}` (`/oauth2/token` unless set), form-encoded (CG-01..03).
    pub fn encode(&self, base: &BaseUrl) -> Result<Request<Bytes>, RequestError> {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", GRANT_TYPE);
        if let Some(scope) = &self.scope {
            form.append_pair("scope", scope);
        }
        for (k, v) in &self.params {
            form.append_pair(k, v);
        }
        let mut headers = vec![
            (CONTENT_TYPE, HeaderValue::from_static(wire::FORM)),
            (ACCEPT, HeaderValue::from_static(wire::JSON)),
        ];
        let audience = match self.auth.signs() {
            true => self.audience(base)?,
            false => String::new(),
        };
        if let Some(basic) = client_auth::authenticate(
            self.auth,
            &self.client_id,
            &self.credential,
            &audience,
            &mut form,
        )? {
            headers.push((AUTHORIZATION, basic));
        }
        let uri = base.join(&self.path)?;
        if let Some(key) = &self.dpop {
            let proof = key
                .proof(&Method::POST, &uri)
                .map_err(|e| RequestError::new("DP-01", "dpop", e.to_string()))?;
            let value = dpop::header_value(&proof)?;
            headers.push((http::HeaderName::from_static(dpop::HEADER), value));
        }
        Ok(wire::request(Method::POST, uri, headers, form.finish()))
    }

    /// Decodes the answer (CG-04..06, RFC-01..06, RFC-09). The claims checks
    /// of CG-05 give warnings: a generic RFC 6749 server may send an opaque token.
    pub fn decode_response(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Grant, ProviderError> {
        if let Some(key) = &self.dpop {
            key.observe(headers);
        }
        if status.is_success() && status != StatusCode::OK {
            // Not the body: a success carries the token.
            return Err(DecodeError::Contract {
                check: "CG-04",
                reason: format!("HTTP {}, not 200", status.as_u16()),
            }
            .into());
        }
        if status != StatusCode::OK {
            return Err(rfc6749::decode_error(status, body));
        }
        let b: TokenBody = wire::decode_json(body)?;
        match &self.dpop {
            Some(_) => dpop::require_dpop_type(&b.token_type)?,
            None => rfc6749::require_bearer("CG-04", &b.token_type)?,
        }
        // RFC 6749 only recommends `expires_in`; Cognito always sends it.
        if b.expires_in.is_some_and(|e| e.seconds() == 0) {
            return Err(DecodeError::Invalid {
                member: "expires_in",
                reason: "must be > 0".into(),
            }
            .into());
        }
        let mut grant = Grant::new(GrantKind::AccessToken, b.access_token, b.token_type);
        match b.expires_in {
            Some(e) => e.apply(&mut grant),
            None => grant.warn("RFC-06", "no `expires_in`: the token's lifetime is unknown"),
        }
        rfc6749::observe_success(&mut grant, headers);
        if b.refresh_token.is_some() {
            grant.warn(
                "CG-14",
                "a refresh_token was issued for client credentials (RFC 6749 §4.4.3)",
            );
        }
        grant.scope = b.scope;
        match jwt::decode_unverified(grant.secret.expose()) {
            Ok(token) => {
                if let Some(key) = &self.dpop {
                    dpop::require_binding(&token.claims, key)?;
                }
                if let Credential::Certificate(Some(cert)) = &self.credential {
                    crate::mtls::check_binding(&mut grant, &token.claims, &cert.thumbprint)?;
                }
                self.check_claims(&mut grant, &token.claims);
                if grant.scope.is_none() {
                    grant.scope.clone_from(&token.claims.scope);
                }
                grant.extra = GrantExtra::Jwt(Box::new(token));
            }
            Err(e) => grant.warn(
                "CG-05",
                format!("the access token is not a readable JWT: {e}"),
            ),
        }
        Ok(grant)
    }

    fn check_claims(&self, grant: &mut Grant, c: &jwt::AccessTokenClaims) {
        let expires_in = grant.expires_in.map(|d| d.as_secs());
        match (c.exp, c.iat, expires_in) {
            (_, _, None) => {}
            (Some(exp), Some(iat), Some(expires_in)) => {
                let lifetime = exp.saturating_sub(iat);
                if lifetime.abs_diff(expires_in) > CLAIMS_TOLERANCE_SECS {
                    grant.warn(
                        "CG-05",
                        format!("exp − iat is {lifetime} s but expires_in is {expires_in} s"),
                    );
                }
            }
            _ => grant.warn("CG-05", "the JWT has no exp or no iat"),
        }
        if c.token_use.as_deref() != Some("access") {
            grant.warn("CG-05", "the JWT's token_use is not \"access\"");
        }
        if c.client_id.as_deref() != Some(self.client_id.as_str()) {
            grant.warn("CG-05", "the JWT's client_id is not the client that asked");
        }
    }
}

/// The success body: `{"access_token", "expires_in", "token_type"}`, plus
/// `scope` and `refresh_token` where a generic server sends them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenBody {
    /// The access token (a JWT at Cognito).
    pub access_token: Secret,
    /// Seconds of validity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<ExpiresIn>,
    /// `Bearer`.
    pub token_type: String,
    /// Granted scope, where sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Never for client credentials (CG-14); decoded to report it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<Secret>,
}

impl TokenBody {
    /// Cognito's success body for a token and its lifetime.
    pub fn new(access_token: impl Into<String>, expires_in: Duration) -> Self {
        TokenBody {
            access_token: Secret::new(access_token),
            expires_in: Some(ExpiresIn::Number(expires_in.as_secs())),
            token_type: "Bearer".into(),
            scope: None,
            refresh_token: None,
        }
    }

    /// The documented `200` response with `Cache-Control: no-store` (CG-07).
    pub fn to_response(&self) -> Response<Bytes> {
        wire::json_response(StatusCode::OK, self, wire::no_store_headers())
    }
}

/// Server side: the typed request, or the RFC 6749 rejection a server sends
/// (CG-10, CG-11, CG-13; wrong method, content type, client authentication).
pub fn parse_request(req: &Request<Bytes>) -> Result<TokenRequest, Rejection> {
    if req.method() != Method::POST {
        return Err(Rejection::method_not_allowed());
    }
    if !wire::media_type_is(req.headers(), wire::FORM) {
        return Err(Rejection::bad_request(
            ErrorCode::InvalidRequest,
            "Content-Type must be application/x-www-form-urlencoded",
        ));
    }
    let mut grant_type = None;
    let mut scope = None;
    let mut body_id = None;
    let mut body_secret = None;
    let mut assertion_type = None;
    let mut assertion = None;
    for (k, v) in form_urlencoded::parse(req.body()) {
        let slot = match k.as_ref() {
            "grant_type" => &mut grant_type,
            "scope" => &mut scope,
            "client_id" => &mut body_id,
            "client_secret" => &mut body_secret,
            "client_assertion_type" => &mut assertion_type,
            "client_assertion" => &mut assertion,
            _ => continue,
        };
        if slot.replace(v.into_owned()).is_some() {
            return Err(Rejection::bad_request(
                ErrorCode::InvalidRequest,
                format!("parameter {k} is repeated"),
            ));
        }
    }
    match grant_type.as_deref() {
        None => {
            return Err(Rejection::bad_request(
                ErrorCode::InvalidRequest,
                "grant_type is missing",
            ));
        }
        Some(GRANT_TYPE) => {}
        Some(_) => {
            return Err(Rejection::bad_request(
                ErrorCode::UnsupportedGrantType,
                "only client_credentials is supported",
            ));
        }
    }
    let invalid_client = |why: &str| Rejection::invalid_client(why);
    let basic = req.headers().get(AUTHORIZATION);
    if assertion_type.is_some() || assertion.is_some() {
        let req = assertion_request(
            basic.is_some() || body_secret.is_some(),
            body_id,
            assertion_type,
            assertion,
        )?;
        return with_scope(req, scope);
    }
    let (id, secret, auth) = match (basic, body_id, body_secret) {
        // A body `client_id` beside Basic identifies, it does not authenticate:
        // allowed when it names the same client (RFC 6749 §2.3.1, §3.2.1).
        (Some(h), body_id, None) => {
            let (id, secret) = client_auth::parse_basic_authorization(h)
                .map_err(|e| invalid_client(&e.to_string()))?;
            if body_id.is_some_and(|b| b != id) {
                return Err(Rejection::bad_request(
                    ErrorCode::InvalidRequest,
                    "client_id in the body differs from the Basic credentials",
                ));
            }
            (id, secret, ClientAuth::Basic)
        }
        (None, Some(id), Some(secret)) => (id, Secret::new(secret), ClientAuth::Body),
        // Only a client_id: the client may have authenticated with its TLS
        // certificate (RFC 8705 §2), which the server holds, not the form.
        (None, Some(id), None) => {
            let req =
                TokenRequest::new(id, Credential::Certificate(None), ClientAuth::TlsClientAuth)
                    .map_err(|e| invalid_client(&e.to_string()))?;
            return with_scope(req, scope);
        }
        (Some(_), _, _) => {
            return Err(Rejection::bad_request(
                ErrorCode::InvalidRequest,
                "more than one client authentication method",
            ));
        }
        (None, _, _) => return Err(invalid_client("no client authentication")),
    };
    let req = TokenRequest::new(id, secret, auth).map_err(|e| invalid_client(&e.to_string()))?;
    with_scope(req, scope)
}

/// A client-assertion request as received (`private_key_jwt`, or
/// `client_secret_jwt` for an HMAC one): the assertion unverified (the
/// server checks it with the client's key or secret), the client named by
/// the body's `client_id` or else the assertion's `sub`.
fn assertion_request(
    other_method: bool,
    body_id: Option<String>,
    assertion_type: Option<String>,
    assertion: Option<String>,
) -> Result<TokenRequest, Rejection> {
    let invalid_client = |why: &str| Rejection::invalid_client(why);
    if other_method {
        return Err(Rejection::bad_request(
            ErrorCode::InvalidRequest,
            "more than one client authentication method",
        ));
    }
    if assertion_type.as_deref() != Some(client_auth::ASSERTION_TYPE) {
        return Err(invalid_client("client_assertion_type must be jwt-bearer"));
    }
    let assertion = assertion.ok_or_else(|| invalid_client("no client_assertion"))?;
    let decoded = jwt::decode_unverified(&assertion)
        .map_err(|e| invalid_client(&format!("client_assertion: {e}")))?;
    // HMAC is signed with the client secret: client_secret_jwt.
    let symmetric =
        jwt::Algorithm::from_name(&decoded.header.alg).is_some_and(jwt::Algorithm::is_symmetric);
    let auth = match symmetric {
        true => ClientAuth::ClientSecretJwt,
        false => ClientAuth::PrivateKeyJwt,
    };
    let sub = decoded.claims.sub;
    let id = match (body_id, sub) {
        (Some(id), Some(sub)) if id != sub => {
            return Err(invalid_client("client_id differs from the assertion's sub"));
        }
        (Some(id), _) | (None, Some(id)) => id,
        (None, None) => return Err(invalid_client("the assertion has no sub")),
    };
    TokenRequest::new(id, Credential::Assertion(Secret::new(assertion)), auth)
        .map_err(|e| invalid_client(&e.to_string()))
}

fn with_scope(req: TokenRequest, scope: Option<String>) -> Result<TokenRequest, Rejection> {
    let scopes: Vec<&str> = scope
        .as_deref()
        .map(|s| s.split(' ').collect())
        .unwrap_or_default();
    req.with_scopes(scopes.into_iter().filter(|s| !s.is_empty()))
        .map_err(|e| Rejection::bad_request(ErrorCode::InvalidScope, e.reason))
}

impl crate::Call for TokenRequest {
    type Output = Grant;

    fn encode(&self, base: &BaseUrl) -> Result<Request<Bytes>, RequestError> {
        TokenRequest::encode(self, base)
    }

    fn decode(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Grant, ProviderError> {
        self.decode_response(status, headers, body)
    }

    fn proof_key(&self) -> Option<&ProofKey> {
        self.dpop.as_ref()
    }
}
