//! RFC 6749 client credentials as Cognito answers them: `POST
//! /oauth2/token` with signed JWT access tokens, the key set that verifies
//! them, the issuer's metadata, and what the token route keeps of its
//! clients (their keys, certificates and DPoP proofs).

use crate::config::{DEMO_ID, DEMO_SECRET, Invalid};
use serde::Deserialize;
use std::borrow::Cow;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response};
use tokenprobe_protocol::Secret;
use tokenprobe_protocol::client_auth::Credential;
use tokenprobe_protocol::cognito::{self, TokenBody, TokenRequest};
use tokenprobe_protocol::dpop::{self, ProofProblem};
use tokenprobe_protocol::jwt::{AccessTokenClaims, Confirmation};
use tokenprobe_protocol::rfc6749::{ErrorCode, Rejection};

use http::header::CONTENT_TYPE;
use http::{HeaderValue, StatusCode};
use tokenprobe_protocol::client_auth::ClientAuth;
use tokenprobe_protocol::discovery::{self, Metadata};

use super::{State, own_url, plain, with_body};
use crate::client_certs::ClientCerts;
use crate::client_keys::ClientKeys;
use crate::dpop::{Dpop, Lenient};
use crate::route::{DEMAND, Endpoint, Paths, Quirk, Route};
use crate::tls::PeerCertificate;
use crate::tokens::KeyError;
use crate::tokens::{now, random_id};

/// The `iss` of the stub's access tokens unless configured: Cognito's form.
pub(crate) const DEFAULT_ISSUER: &str =
    "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_tokenprobe";

/// `POST /oauth2/token`.
pub(crate) static TOKEN: Endpoint = Endpoint {
    name: "cognito",
    paths: Paths::Exact(&[cognito::TOKEN_PATH]),
    answer: token,
    breaks: &[
        (Quirk::NoCacheControl, "CG-07"),
        (Quirk::ExpiresInString, "RFC-06"),
        (Quirk::NoWwwAuthenticate, "RFC-08"),
        (Quirk::WrongContentType, "RFC-01"),
        (Quirk::RefreshTokenIssued, "CG-14"),
        (Quirk::JwtLifetimeMismatch, "CG-05"),
        (Quirk::JwtUnknownKid, "CG-15"),
        (Quirk::UnlistedScopeGranted, "CG-12"),
        (Quirk::AnyPasswordAccepted, "CG-08"),
        (Quirk::UnknownClientAccepted, "CG-09"),
        (Quirk::AnyGrantTypeAccepted, "CG-10"),
        (Quirk::GetAccepted, "CG-13"),
        (Quirk::GetWithQueryIssuesToken, "CG-13"),
        (Quirk::BasicChallengeWithoutRealm, "RFC-08"),
        (Quirk::BearerChallenge, "RFC-08"),
        // A demand, not a broken rule: it breaks no check of a client
        // that sends its working request, and must never make one pass.
        (Quirk::ScopeRequired, DEMAND),
        (Quirk::UnknownGrantInvalidGrant, "CG-10"),
        (Quirk::MissingGrantUnsupported, "CG-11"),
        (Quirk::DpopBearerTokenType, "DP-01"),
        (Quirk::DpopUnbound, "DP-01"),
        (Quirk::DpopReplayAccepted, "DP-02"),
        (Quirk::DpopHtuIgnored, "DP-03"),
        (Quirk::DpopHtmIgnored, "DP-04"),
        (Quirk::DpopIatIgnored, "DP-05"),
        (Quirk::DpopProofOptional, "DP-06"),
        (Quirk::DpopWeakAlgAccepted, "DP-07"),
        (Quirk::MtlsUnbound, "MT-01"),
        (Quirk::MtlsCertificateOptional, "MT-02"),
    ],
};
/// `GET /.well-known/jwks.json`: the keys the `cognito` route signs with.
pub(crate) static JWKS: Endpoint = Endpoint {
    name: "jwks",
    paths: Paths::Exact(&[cognito::JWKS_PATH]),
    answer: jwks,
    breaks: &[],
};
/// `GET /.well-known/oauth-authorization-server` and
/// `/.well-known/openid-configuration`: the `cognito` route's metadata.
pub(crate) static DISCOVERY: Endpoint = Endpoint {
    name: "discovery",
    paths: Paths::Exact(&[discovery::OAUTH_WELL_KNOWN, discovery::OIDC_WELL_KNOWN]),
    answer: metadata,
    breaks: &[],
};
const ROUTE: Route = Route(&TOKEN);

/// One RFC 6749 client.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CognitoClient {
    /// `client_id`.
    pub id: String,
    /// `client_secret`, for a client that authenticates with one (sent,
    /// or as the HS256 key of its `client_secret_jwt` assertions).
    #[serde(default)]
    pub secret: Option<Secret>,
    /// PEM public keys (P-256 or RSA) of a `private_key_jwt` client.
    #[serde(default)]
    pub public_keys: Vec<String>,
    /// …or its keys as a JWKS (JSON text), chosen by `kid`.
    #[serde(default)]
    pub jwks: Option<String>,
    /// Scopes the client may ask for.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Access token lifetime.
    #[serde(default = "crate::config::one_hour")]
    pub lifetime_secs: u64,
    /// Registered as DPoP-bound (RFC 9449 §5.2): a request without a
    /// proof is refused.
    #[serde(default)]
    pub dpop_bound: bool,
    /// `self_signed_tls_client_auth` (RFC 8705 §2.2): the PEM certificates
    /// the client may present.
    #[serde(default)]
    pub tls_certificates: Vec<String>,
    /// `tls_client_auth` (RFC 8705 §2.1): the PEM CA that issues the
    /// client's certificates (any certificate it issued authenticates the
    /// client: the stub matches no subject).
    #[serde(default)]
    pub tls_client_ca: Option<String>,
}

/// The demo `private_key_jwt` client's id; its private keys are
/// `crates/stub/demo-keys/client-{es256,rs256,ed25519}.pem` (demo only: public).
pub const DEMO_KEY_CLIENT_ID: &str = "tokenprobe-demo-key";

/// The demo `tls_client_auth` client's id: any certificate the demo
/// client CA (`crates/stub/demo-keys/client-ca.pem`) issued, such as
/// `client-mtls.pem`, authenticates it (demo only: public).
pub const DEMO_MTLS_CLIENT_ID: &str = "tokenprobe-demo-mtls";

/// The demo `self_signed_tls_client_auth` client's id: its certificate is
/// `crates/stub/demo-keys/client-self-signed.pem` (demo only: public).
pub const DEMO_SELF_SIGNED_CLIENT_ID: &str = "tokenprobe-demo-self-signed";

/// The demo DPoP-bound client's id (the demo secret): its requests
/// without a proof are refused.
pub const DEMO_DPOP_CLIENT_ID: &str = "tokenprobe-demo-dpop";

/// The `cognito` route's clients.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CognitoConfig {
    /// Known clients.
    pub clients: Vec<CognitoClient>,
    /// Ask DPoP proofs for a nonce (RFC 9449 §8), a new one this often,
    /// in seconds; none is asked for when absent.
    pub dpop_nonce_secs: Option<u64>,
}

impl CognitoClient {
    /// A client `id` with both demo scopes and hour-long tokens, and
    /// nothing yet to authenticate it.
    fn demo(id: &str) -> CognitoClient {
        CognitoClient {
            id: id.into(),
            secret: None,
            public_keys: Vec::new(),
            jwks: None,
            scopes: vec!["tokenprobe/read".into(), "tokenprobe/write".into()],
            lifetime_secs: 3600,
            dpop_bound: false,
            tls_certificates: Vec::new(),
            tls_client_ca: None,
        }
    }
}

impl Default for CognitoConfig {
    fn default() -> Self {
        let secret = || Some(Secret::new(DEMO_SECRET));
        CognitoConfig {
            clients: vec![
                CognitoClient {
                    secret: secret(),
                    ..CognitoClient::demo(DEMO_ID)
                },
                CognitoClient {
                    secret: secret(),
                    dpop_bound: true,
                    ..CognitoClient::demo(DEMO_DPOP_CLIENT_ID)
                },
                CognitoClient {
                    tls_client_ca: Some(include_str!("../../demo-keys/client-ca.pem").into()),
                    ..CognitoClient::demo(DEMO_MTLS_CLIENT_ID)
                },
                CognitoClient {
                    tls_certificates: vec![
                        include_str!("../../demo-keys/client-self-signed.pem").into(),
                    ],
                    ..CognitoClient::demo(DEMO_SELF_SIGNED_CLIENT_ID)
                },
                CognitoClient {
                    public_keys: vec![
                        include_str!("../../demo-keys/client-es256.pub.pem").into(),
                        include_str!("../../demo-keys/client-rs256.pub.pem").into(),
                        include_str!("../../demo-keys/client-ed25519.pub.pem").into(),
                    ],
                    ..CognitoClient::demo(DEMO_KEY_CLIENT_ID)
                },
            ],
            dpop_nonce_secs: None,
        }
    }
}

/// What the token route keeps beside its configuration, made at start:
/// what verifies client assertions (the `private_key_jwt` clients' keys,
/// the `client_secret_jwt` clients' secrets) and remembers the ones seen,
/// the certificates and CAs of the mutual-TLS clients, and the DPoP proofs
/// seen with the nonce asked for.
pub(crate) struct Clients {
    keys: ClientKeys,
    certs: ClientCerts,
    dpop: Dpop,
}

impl Clients {
    pub(crate) fn new(config: &super::Config) -> Result<Clients, KeyError> {
        let c = &config.cognito;
        Ok(Clients {
            keys: ClientKeys::new(c)?,
            certs: ClientCerts::new(c)?,
            dpop: Dpop::new(c.dpop_nonce_secs, now()),
        })
    }

    /// Whether a client authenticates with a certificate (so TLS asks for one).
    pub(crate) fn take_certificates(&self) -> bool {
        !self.certs.is_empty()
    }
}

impl CognitoConfig {
    /// Each client must have something to authenticate with.
    pub(crate) fn validate(&self) -> Result<(), Invalid> {
        match self.clients.iter().find(|c| {
            c.secret.is_none()
                && c.public_keys.is_empty()
                && c.jwks.is_none()
                && c.tls_certificates.is_empty()
                && c.tls_client_ca.is_none()
        }) {
            Some(c) => Err(Invalid {
                span: 0..0,
                message: format!(
                    "[[cognito.clients]] {}: give a secret (Basic, body or client_secret_jwt), public_keys / jwks for private_key_jwt, or tls_certificates / tls_client_ca for mutual TLS",
                    c.id
                ),
            }),
            None => Ok(()),
        }
    }

    /// A working `curl` for the first client with a secret, and the
    /// `TOKEN=` line that gets a token the same way.
    pub(crate) fn example(&self, url: &str, curl: &str) -> Option<(String, String)> {
        let (client, secret) = self
            .clients
            .iter()
            .find_map(|c| Some((c, c.secret.as_ref()?)))?;
        let cognito = format!(
            "{curl} -u '{}:{}' -d grant_type=client_credentials {url}/oauth2/token",
            client.id,
            super::shown(secret, "COGNITO_SECRET")
        );
        Some((
            format!("# cognito (RFC 6749 client credentials)\n{cognito}"),
            format!("TOKEN=$({cognito} | sed 's/.*\"access_token\":\"\\([^\"]*\\)\".*/\\1/')"),
        ))
    }
}

pub(super) fn token(state: &State, req: &Request<Bytes>) -> Response<Bytes> {
    match grant(state, req) {
        Ok(res) => res,
        Err(rejection) => miscoded(state, req, rejection).to_response(),
    }
}

fn jwks(state: &State, req: &Request<Bytes>) -> Response<Bytes> {
    if req.method() != Method::GET {
        return plain(StatusCode::METHOD_NOT_ALLOWED, "use GET");
    }
    let mut res = Response::new(Bytes::copy_from_slice(state.signer.jwks()));
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res
}

/// The metadata of the `cognito` route (RFC 8414 and OpenID Connect
/// discovery alike): its issuer is the URL the request came to, so that a
/// client discovering it finds this stub wherever it listens.
fn metadata(state: &State, req: &Request<Bytes>) -> Response<Bytes> {
    if req.method() != Method::GET {
        return plain(StatusCode::METHOD_NOT_ALLOWED, "use GET");
    }
    let issuer = own_url(state, req);
    // Mutual TLS only where there is TLS.
    let methods = ClientAuth::ALL
        .iter()
        .filter(|a| state.tls || !a.mutual_tls())
        .map(|a| a.method_name().to_owned());
    Metadata {
        token_endpoint: Some(format!("{issuer}{}", cognito::TOKEN_PATH)),
        jwks_uri: Some(format!("{issuer}{}", cognito::JWKS_PATH)),
        token_endpoint_auth_methods_supported: Some(methods.collect()),
        grant_types_supported: Some(vec![cognito::GRANT_TYPE.into()]),
        dpop_signing_alg_values_supported: Some(
            ["ES256", "EdDSA", "RS256"].map(str::to_owned).to_vec(),
        ),
        tls_client_certificate_bound_access_tokens: Some(state.tls),
        mtls_endpoint_aliases: None,
        issuer,
    }
    .to_response()
}

/// The error codes real servers were found to send instead of RFC 6749's
/// (the interop harness's departures), when told to.
fn miscoded(state: &State, req: &Request<Bytes>, mut r: Rejection) -> Rejection {
    let quirk = |q| state.quirk(ROUTE, q);
    let code = &r.error.code;
    let no_grant_type = || !form_urlencoded::parse(req.body()).any(|(k, _)| k == "grant_type");
    if *code == ErrorCode::UnsupportedGrantType && quirk(Quirk::UnknownGrantInvalidGrant) {
        r.error.code = ErrorCode::InvalidGrant;
    } else if *code == ErrorCode::InvalidRequest
        && quirk(Quirk::MissingGrantUnsupported)
        && no_grant_type()
    {
        r.error.code = ErrorCode::UnsupportedGrantType;
    }
    r
}

fn parse(state: &State, req: &Request<Bytes>) -> Result<TokenRequest, Rejection> {
    let quirk = |q| state.quirk(ROUTE, q);
    if req.method() == Method::GET {
        let form = match (quirk(Quirk::GetAccepted), req.uri().query()) {
            (true, _) => Some(req.body().to_vec()),
            (false, Some(q)) if quirk(Quirk::GetWithQueryIssuesToken) => {
                Some(q.as_bytes().to_vec())
            }
            _ => None,
        };
        if let Some(mut post) = form.and_then(|f| with_body(req, Method::POST, |_| Some(f))) {
            post.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static(tokenprobe_protocol::wire::FORM),
            );
            return cognito::parse_request(&post);
        }
    }
    match cognito::parse_request(req) {
        Err(r)
            if r.error.code == ErrorCode::UnsupportedGrantType
                && quirk(Quirk::AnyGrantTypeAccepted) =>
        {
            let swapped = with_body(req, Method::POST, |body| {
                let pairs = form_urlencoded::parse(body).map(|(k, v)| match k.as_ref() {
                    "grant_type" => (k, Cow::Borrowed(cognito::GRANT_TYPE)),
                    _ => (k, v),
                });
                Some(
                    form_urlencoded::Serializer::new(String::new())
                        .extend_pairs(pairs)
                        .finish()
                        .into_bytes(),
                )
            });
            swapped.map_or(Err(r), |req| cognito::parse_request(&req))
        }
        other => other,
    }
}

/// The client's secret, or its assertion: signed by one of its keys, for
/// this token endpoint (as the request addressed it, or the issuer), unexpired
/// and not seen before.
fn authenticate(
    state: &State,
    client: &CognitoClient,
    asked: &TokenRequest,
    req: &Request<Bytes>,
) -> Result<(), Rejection> {
    let refused = |why: &str| Err(Rejection::invalid_client(why));
    // Any secret or assertion: a certificate is no password (MT-02 has a
    // quirk of its own).
    let any_password = state.quirk(ROUTE, Quirk::AnyPasswordAccepted);
    match asked.credential() {
        Credential::Secret(s) if any_password || client.secret.as_ref() == Some(s) => Ok(()),
        Credential::Secret(_) => refused("client authentication failed"),
        Credential::Assertion(_) if any_password => Ok(()),
        Credential::Assertion(assertion) => {
            let issuer = state.signer.issuer();
            let audiences = [
                format!("{}{}", own_url(state, req), cognito::TOKEN_PATH),
                issuer.to_owned(),
                format!("{issuer}{}", cognito::TOKEN_PATH),
            ];
            state
                .clients
                .keys
                .verify(&client.id, assertion.expose(), &audiences, now())
                .or_else(|why| refused(&why.to_string()))
        }
        Credential::Key(_) => refused("client authentication failed"),
        Credential::Certificate(_) => {
            let presented = req.extensions().get::<PeerCertificate>();
            state
                .clients
                .certs
                .verify(&client.id, presented.map(|p| &p.0[..]))
                .map(|_| ())
                .or_else(|why| {
                    let optional = state.quirk(ROUTE, Quirk::MtlsCertificateOptional);
                    match optional && presented.is_none() {
                        true => Ok(()),
                        false => refused(why),
                    }
                })
        }
    }
}

/// The thumbprint of the certificate that authenticated the client, for
/// the token's `cnf` (RFC 8705 §3.1).
fn bound_certificate(state: &State, asked: &TokenRequest, req: &Request<Bytes>) -> Option<String> {
    if !matches!(asked.credential(), Credential::Certificate(_))
        || state.quirk(ROUTE, Quirk::MtlsUnbound)
    {
        return None;
    }
    let presented = req.extensions().get::<PeerCertificate>()?;
    Some(tokenprobe_protocol::mtls::thumbprint(&presented.0))
}

/// Whether the form (body, or query string) has a member `name`.
fn has_member(req: &Request<Bytes>, name: &str) -> bool {
    let query = req.uri().query().unwrap_or_default().as_bytes();
    [req.body().as_ref(), query]
        .into_iter()
        .any(|form| form_urlencoded::parse(form).any(|(k, _)| k == name))
}

fn grant(state: &State, req: &Request<Bytes>) -> Result<Response<Bytes>, Rejection> {
    let quirk = |q| state.quirk(ROUTE, q);
    if quirk(Quirk::ScopeRequired) && !has_member(req, "scope") {
        return Err(Rejection::bad_request(
            ErrorCode::InvalidRequest,
            "scope is required",
        ));
    }
    let asked = parse(state, req)?;
    let known = state
        .config
        .cognito
        .clients
        .iter()
        .find(|c| c.id == asked.client_id());
    let stranger;
    let client = match known {
        Some(c) => {
            authenticate(state, c, &asked, req)?;
            c
        }
        None if quirk(Quirk::UnknownClientAccepted) => {
            stranger = CognitoClient {
                scopes: Vec::new(),
                ..CognitoClient::demo(asked.client_id())
            };
            &stranger
        }
        None => return Err(Rejection::invalid_client("unknown client")),
    };
    // Cognito grants every scope of the client when none is asked.
    let scope = match asked.scope() {
        None => client.scopes.join(" "),
        Some(asked_scope) => {
            let lacking = asked_scope
                .split(' ')
                .find(|s| !client.scopes.iter().any(|c| c == s));
            if let Some(s) = lacking.filter(|_| !quirk(Quirk::UnlistedScopeGranted)) {
                return Err(Rejection::bad_request(
                    ErrorCode::InvalidScope,
                    format!("the client may not have the scope {s}"),
                ));
            }
            asked_scope.to_owned()
        }
    };
    let jkt = match proven_key(state, req, client) {
        Ok(jkt) => jkt,
        Err(problem) => return Ok(refused_proof(state, problem)),
    };
    let lifetime = client.lifetime_secs;
    let iat = now();
    let stretch = if quirk(Quirk::JwtLifetimeMismatch) {
        2
    } else {
        1
    };
    let claims = AccessTokenClaims {
        sub: Some(client.id.clone()),
        token_use: Some("access".into()),
        scope: (!scope.is_empty()).then_some(scope),
        auth_time: Some(iat),
        iss: Some(state.signer.issuer().to_owned()),
        exp: Some(iat + stretch * lifetime),
        iat: Some(iat),
        version: Some(2),
        jti: Some(random_id()),
        client_id: Some(client.id.clone()),
        cnf: confirmation(
            jkt.clone().filter(|_| !quirk(Quirk::DpopUnbound)),
            bound_certificate(state, &asked, req),
        ),
    };
    let kid = quirk(Quirk::JwtUnknownKid).then_some("not-in-the-jwks");
    let mut body = TokenBody::new(
        state.signer.sign(&claims, kid),
        Duration::from_secs(lifetime),
    );
    if quirk(Quirk::RefreshTokenIssued) {
        body.refresh_token = Some(Secret::new(random_id()));
    }
    if jkt.is_some() && !quirk(Quirk::DpopBearerTokenType) {
        body.token_type = dpop::TOKEN_TYPE.into();
    }
    Ok(with_nonce(state, body.to_response()))
}

/// The thumbprint of the DPoP key the request proves, if it sends a
/// proof; why a proof that does not hold is refused, or none where the
/// client is bound.
fn proven_key(
    state: &State,
    req: &Request<Bytes>,
    client: &CognitoClient,
) -> Result<Option<String>, ProofProblem> {
    let quirk = |q| state.quirk(ROUTE, q);
    if !client.dpop_bound && !req.headers().contains_key(dpop::HEADER) {
        return Ok(None);
    }
    let lenient = Lenient {
        replay: quirk(Quirk::DpopReplayAccepted),
        htu: quirk(Quirk::DpopHtuIgnored),
        htm: quirk(Quirk::DpopHtmIgnored),
        iat: quirk(Quirk::DpopIatIgnored),
        weak_alg: quirk(Quirk::DpopWeakAlgAccepted),
    };
    let uri: http::Uri = format!("{}{}", own_url(state, req), cognito::TOKEN_PATH)
        .parse()
        .map_err(|_| ProofProblem::Htu)?;
    match state.clients.dpop.verify(req, &uri, now(), lenient)? {
        None if client.dpop_bound && !quirk(Quirk::DpopProofOptional) => Err(ProofProblem::Missing),
        jkt => Ok(jkt),
    }
}

/// The answer to a proof refused for `problem`: 400 with its RFC 9449
/// error, and the nonce to use (for a missing or stale one).
fn refused_proof(state: &State, problem: ProofProblem) -> Response<Bytes> {
    let code = ErrorCode::parse(problem.error_code());
    with_nonce(
        state,
        Rejection::bad_request(code, problem.to_string()).to_response(),
    )
}

/// The `cnf` of a token bound to a DPoP key, a certificate, or both.
fn confirmation(jkt: Option<String>, x5t_s256: Option<String>) -> Option<Confirmation> {
    (jkt.is_some() || x5t_s256.is_some()).then_some(Confirmation { jkt, x5t_s256 })
}

/// `res` with the nonce the stub asks DPoP proofs for, when it asks for
/// one (any answer may give it, RFC 9449 §8).
fn with_nonce(state: &State, mut res: Response<Bytes>) -> Response<Bytes> {
    if let Some(nonce) = state.clients.dpop.nonce(now())
        && let Ok(v) = http::HeaderValue::from_str(&nonce)
    {
        res.headers_mut().insert(dpop::NONCE_HEADER, v);
    }
    res
}
