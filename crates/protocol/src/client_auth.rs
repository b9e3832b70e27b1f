//! OAuth client authentication: HTTP Basic with the form-encoding of id
//! and secret, or both in the request body (RFC 6749 §2.3.1), a JWT the
//! client signs, with its secret (`client_secret_jwt`) or its private key
//! (`private_key_jwt`) (RFC 7523 §2.2, OpenID Connect Core §9), or its TLS
//! client certificate (RFC 8705 §2: `tls_client_auth`,
//! `self_signed_tls_client_auth`), which the transport presents.
//!
//! Sans-crypto like the rest of this crate: signing is behind
//! [`AssertionSigner`], which the client implements with its key; the
//! claims and the rules a server holds them to are defined here, once.

use std::fmt;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::HeaderValue;
use serde::{Deserialize, Deserializer, Serialize};

use crate::error::RequestError;
use crate::secret::Secret;
use crate::wire;

/// How the client authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// `Authorization: Basic base64(enc(id) ":" enc(secret))`: what RFC 6749
    /// prefers and every server must support.
    #[default]
    #[serde(alias = "client_secret_basic")]
    Basic,
    /// `client_id` and `client_secret` as form members.
    #[serde(alias = "client_secret_post")]
    Body,
    /// `client_assertion`: a short-lived JWT signed (HS256) with the
    /// client secret, fresh for every request; the secret itself never
    /// goes on the wire.
    ClientSecretJwt,
    /// `client_assertion`: a short-lived JWT signed with the client's
    /// private key, fresh for every request (RFC 7523 §2.2).
    PrivateKeyJwt,
    /// The TLS client certificate, issued by a CA the server trusts
    /// (RFC 8705 §2.1); the request names the client by `client_id`.
    TlsClientAuth,
    /// The TLS client certificate, self-signed and registered with the
    /// server (RFC 8705 §2.2).
    SelfSignedTlsClientAuth,
}

impl std::str::FromStr for ClientAuth {
    type Err = crate::UnknownName;

    /// By its RFC 8414 name (`client_secret_basic`, …): the one spelling
    /// on a command line (scenario files also take `basic` and `body`).
    fn from_str(name: &str) -> Result<ClientAuth, crate::UnknownName> {
        ClientAuth::ALL
            .into_iter()
            .find(|a| a.method_name() == name)
            .ok_or_else(|| {
                crate::UnknownName::among(name, ClientAuth::ALL.map(ClientAuth::method_name))
            })
    }
}

/// What a client configures for a method: its secret, or a private key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Material {
    /// `client_secret`.
    Secret,
    /// `private_key`.
    PrivateKey,
    /// `certificate`, with its `private_key`.
    Certificate,
}

impl Material {
    /// The configuration key that holds it.
    pub fn field(self) -> &'static str {
        match self {
            Material::Secret => "client_secret",
            Material::PrivateKey => "private_key",
            Material::Certificate => "certificate",
        }
    }
}

impl ClientAuth {
    /// Every method.
    pub const ALL: [ClientAuth; 6] = [
        ClientAuth::Basic,
        ClientAuth::Body,
        ClientAuth::ClientSecretJwt,
        ClientAuth::PrivateKeyJwt,
        ClientAuth::TlsClientAuth,
        ClientAuth::SelfSignedTlsClientAuth,
    ];

    /// The name RFC 8414's `token_endpoint_auth_methods_supported` uses.
    pub fn method_name(self) -> &'static str {
        match self {
            ClientAuth::Basic => "client_secret_basic",
            ClientAuth::Body => "client_secret_post",
            ClientAuth::ClientSecretJwt => "client_secret_jwt",
            ClientAuth::PrivateKeyJwt => "private_key_jwt",
            ClientAuth::TlsClientAuth => "tls_client_auth",
            ClientAuth::SelfSignedTlsClientAuth => "self_signed_tls_client_auth",
        }
    }

    /// What the client holds for it: a secret, a private key, or a
    /// certificate and its key.
    pub fn material(self) -> Material {
        match self {
            ClientAuth::PrivateKeyJwt => Material::PrivateKey,
            ClientAuth::TlsClientAuth | ClientAuth::SelfSignedTlsClientAuth => {
                Material::Certificate
            }
            _ => Material::Secret,
        }
    }

    /// Whether the TLS layer authenticates the client (RFC 8705).
    pub fn mutual_tls(self) -> bool {
        self.material() == Material::Certificate
    }

    /// Whether it sends a signed assertion rather than the secret.
    pub fn signs(self) -> bool {
        matches!(
            self,
            ClientAuth::ClientSecretJwt | ClientAuth::PrivateKeyJwt
        )
    }
}

/// `client_assertion_type` for a JWT (RFC 7523 §2.2).
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How long the assertions a client here signs live: one request, with
/// room for the clocks of client and server to differ.
pub const ASSERTION_LIFETIME_SECS: u64 = 60;

/// The longest remaining lifetime a server here accepts (`exp − now`).
pub const ASSERTION_MAX_LIFETIME_SECS: u64 = 300;

/// How far a server here lets `iat` lie in its future (clock skew).
pub const ASSERTION_SKEW_SECS: u64 = 30;

/// The claims of a client assertion (RFC 7523 §3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssertionClaims {
    /// The client id.
    pub iss: String,
    /// The client id again.
    pub sub: String,
    /// The token endpoint (one string, or any of several).
    #[serde(deserialize_with = "one_or_many")]
    pub aud: Vec<String>,
    /// Unique per assertion, so that a server can refuse a replay.
    pub jti: String,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
    /// Issued at, seconds since the epoch.
    pub iat: u64,
}

fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

impl AssertionClaims {
    /// What a client signs for one request to `audience`.
    pub fn new(client_id: &str, audience: &str, now: u64, jti: String) -> AssertionClaims {
        AssertionClaims {
            iss: client_id.to_owned(),
            sub: client_id.to_owned(),
            aud: vec![audience.to_owned()],
            jti,
            exp: now + ASSERTION_LIFETIME_SECS,
            iat: now,
        }
    }

    /// Why a server refuses these claims from `client_id`, at `now`, when
    /// it answers at any of `audiences` (RFC 7523 §3); `None` when it
    /// takes them. The signature and replays are the server's to check.
    pub fn problem(&self, client_id: &str, audiences: &[String], now: u64) -> Option<String> {
        if self.iss != client_id || self.sub != client_id {
            return Some("iss and sub must both be the client id".into());
        }
        if !self.aud.iter().any(|a| audiences.contains(a)) {
            return Some(format!(
                "aud {:?} does not name this token endpoint",
                self.aud
            ));
        }
        if self.exp <= now {
            return Some("the assertion has expired".into());
        }
        if self.exp - now > ASSERTION_MAX_LIFETIME_SECS {
            return Some(format!(
                "exp is more than {ASSERTION_MAX_LIFETIME_SECS} s away"
            ));
        }
        if self.iat > now + ASSERTION_SKEW_SECS {
            return Some("iat is in the future".into());
        }
        if self.jti.is_empty() {
            return Some("no jti".into());
        }
        None
    }
}

/// A key that would not sign (the crypto library refused it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the key could not sign")]
pub struct SignError;

/// Signs client assertions with the client's key (the client crate holds
/// the key; this crate stays free of cryptography).
pub trait AssertionSigner: Send + Sync + fmt::Debug {
    /// What it signs with: HS256 for a secret, else a private key's.
    fn algorithm(&self) -> crate::jwt::Algorithm;
    /// The key material as the user gave it (the secret, or the PEM), so
    /// that whatever echoes it is scrubbed like any secret.
    fn material(&self) -> &Secret;
    /// The compact JWS of `claims`.
    fn sign(&self, claims: &AssertionClaims) -> Result<Secret, SignError>;
    /// A value never used before, for `jti`.
    fn unique_id(&self) -> String;
    /// Seconds since the epoch by the signer's clock, for `iat` and `exp`
    /// (this crate reads no clock).
    fn now(&self) -> u64;
}

/// A shared [`AssertionSigner`]; equal only to itself.
#[derive(Debug, Clone)]
pub struct Signer(pub Arc<dyn AssertionSigner>);

impl PartialEq for Signer {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Signer {}

/// What a client authenticates with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A client secret (Basic or body).
    Secret(Secret),
    /// A key that signs a fresh assertion per request (client side): the
    /// client secret (HS256) or a private key.
    Key(Signer),
    /// An assertion as received (server side).
    Assertion(Secret),
    /// The TLS client certificate the transport presents: the client side
    /// knows it, the server side reads it from the connection (`None`).
    Certificate(Option<ClientCertificate>),
}

/// A client certificate as a token request knows it: what a bound token's
/// `cnf` must name, and the key, for scrubbing (never sent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCertificate {
    /// Its SHA-256 thumbprint, base64url (RFC 8705 §3.1, `x5t#S256`).
    pub thumbprint: String,
    /// The private key's PEM, as the user gave it.
    pub key: Secret,
}

impl From<Secret> for Credential {
    fn from(s: Secret) -> Self {
        Credential::Secret(s)
    }
}

impl Credential {
    /// The client secret, if that is what it is.
    pub fn secret(&self) -> Option<&Secret> {
        match self {
            Credential::Secret(s) => Some(s),
            _ => None,
        }
    }

    /// Every secret it holds, whatever the method: the secret, the
    /// signer's key material, the assertion. What scrubbing must know.
    pub fn secrets(&self) -> Vec<&Secret> {
        match self {
            Credential::Secret(s) | Credential::Assertion(s) => vec![s],
            Credential::Key(Signer(signer)) => vec![signer.material()],
            Credential::Certificate(cert) => cert.iter().map(|c| &c.key).collect(),
        }
    }

    /// Whether it fits `auth`: a secret for Basic and body, a signer of
    /// the method's kind (HS256 for `client_secret_jwt`, a private key's
    /// algorithm for `private_key_jwt`), an assertion for either.
    pub fn fits(&self, auth: ClientAuth) -> bool {
        match self {
            Credential::Secret(_) => auth.material() == Material::Secret && !auth.signs(),
            Credential::Key(Signer(signer)) => {
                let symmetric = signer.algorithm().is_symmetric();
                auth.signs() && symmetric == (auth.material() == Material::Secret)
            }
            Credential::Assertion(_) => auth.signs(),
            Credential::Certificate(_) => auth.mutual_tls(),
        }
    }
}

/// Adds client authentication to a token request: an `Authorization`
/// header, or form members. `audience` is the token endpoint's URL, what
/// an assertion is addressed to. The one place each method is written.
pub fn authenticate(
    auth: ClientAuth,
    client_id: &str,
    credential: &Credential,
    audience: &str,
    form: &mut form_urlencoded::Serializer<'_, String>,
) -> Result<Option<HeaderValue>, RequestError> {
    match (auth, credential) {
        (ClientAuth::Basic, Credential::Secret(secret)) => {
            basic_authorization(client_id, secret).map(Some)
        }
        (ClientAuth::Body, Credential::Secret(secret)) => {
            form.append_pair("client_id", client_id);
            form.append_pair("client_secret", secret.expose());
            Ok(None)
        }
        (ClientAuth::ClientSecretJwt | ClientAuth::PrivateKeyJwt, Credential::Key(signer))
            if credential.fits(auth) =>
        {
            let Signer(signer) = signer;
            let claims =
                AssertionClaims::new(client_id, audience, signer.now(), signer.unique_id());
            let field = auth.material().field();
            let assertion = signer
                .sign(&claims)
                .map_err(|why| RequestError::new("PK-01", field, why.to_string()))?;
            add_assertion(client_id, &assertion, form);
            Ok(None)
        }
        (
            ClientAuth::ClientSecretJwt | ClientAuth::PrivateKeyJwt,
            Credential::Assertion(assertion),
        ) => {
            add_assertion(client_id, assertion, form);
            Ok(None)
        }
        // The certificate goes in the handshake; the form names the client.
        (
            ClientAuth::TlsClientAuth | ClientAuth::SelfSignedTlsClientAuth,
            Credential::Certificate(_),
        ) => {
            form.append_pair("client_id", client_id);
            Ok(None)
        }
        _ => Err(mismatch(auth)),
    }
}

/// The error of a credential that does not fit `auth`.
pub fn mismatch(auth: ClientAuth) -> RequestError {
    let needs = auth.material().field();
    RequestError::new(
        "CG-02",
        "auth",
        format!("{} needs a {needs}", auth.method_name()),
    )
}

/// The form members of an assertion (RFC 7523 §2.2), with `client_id`,
/// which RFC 6749 §3.2.1 lets a client send and some servers require.
pub fn add_assertion(
    client_id: &str,
    assertion: &Secret,
    form: &mut form_urlencoded::Serializer<'_, String>,
) {
    form.append_pair("client_id", client_id);
    form.append_pair("client_assertion_type", ASSERTION_TYPE);
    form.append_pair("client_assertion", assertion.expose());
}

/// The `Authorization` value for HTTP Basic client authentication: id and
/// secret each `application/x-www-form-urlencoded` first (RFC-07), so a
/// secret holding `:`, `+`, `%`, space or non-ASCII round-trips.
pub fn basic_authorization(client_id: &str, secret: &Secret) -> Result<HeaderValue, RequestError> {
    let pair = format!(
        "{}:{}",
        form_encode(client_id),
        form_encode(secret.expose())
    );
    wire::secret_header(
        "RFC-07",
        "client_secret",
        &format!("Basic {}", STANDARD.encode(pair)),
    )
}

/// Why an `Authorization: Basic` value could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BasicAuthError {
    /// The scheme is not `Basic`.
    #[error("the Authorization scheme is not Basic")]
    NotBasic,
    /// Not base64, not UTF-8, no `:`, or a bad percent-escape.
    #[error("the Basic credentials are malformed")]
    Malformed,
}

/// Reads HTTP Basic client credentials, undoing the form-encoding (server side).
pub fn parse_basic_authorization(value: &HeaderValue) -> Result<(String, Secret), BasicAuthError> {
    let text = value.to_str().map_err(|_| BasicAuthError::Malformed)?;
    let (scheme, rest) = wire::split_authorization(text).ok_or(BasicAuthError::NotBasic)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(BasicAuthError::NotBasic);
    }
    let raw = STANDARD
        .decode(rest)
        .map_err(|_| BasicAuthError::Malformed)?;
    let raw = String::from_utf8(raw).map_err(|_| BasicAuthError::Malformed)?;
    let (id, secret) = raw.split_once(':').ok_or(BasicAuthError::Malformed)?;
    let id = form_decode(id).ok_or(BasicAuthError::Malformed)?;
    let secret = form_decode(secret).ok_or(BasicAuthError::Malformed)?;
    Ok((id, Secret::new(secret)))
}

fn form_encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Reverses [`form_encode`]: `+` is a space, `%XX` a byte. Strict: a `%` not
/// followed by two hex digits, or bytes that are not UTF-8, give `None`.
fn form_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = bytes.iter();
    while let Some(&b) = i.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = hex(*i.next()?)?;
                let lo = hex(*i.next()?)?;
                out.push(hi << 4 | lo);
            }
            _ => out.push(b),
        }
    }
    String::from_utf8(out).ok()
}

fn hex(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_07_basic_form_encodes_before_base64() {
        let v = basic_authorization("my client", &Secret::new("a:b+c%d é")).unwrap();
        let expected = format!(
            "Basic {}",
            STANDARD.encode("my+client:a%3Ab%2Bc%25d+%C3%A9")
        );
        assert_eq!(v.to_str().unwrap(), expected);
        assert!(v.is_sensitive());
        let (id, secret) = parse_basic_authorization(&v).unwrap();
        assert_eq!(id, "my client");
        assert_eq!(secret.expose(), "a:b+c%d é");
    }

    #[test]
    fn rfc_7523_claims_are_held_to_their_rules() {
        let aud = vec!["https://as.example/token".to_owned()];
        let ok = AssertionClaims::new("c1", &aud[0], 1000, "j1".into());
        assert_eq!(ok.problem("c1", &aud, 1000), None);
        assert!(ok.problem("c2", &aud, 1000).is_some(), "another client");
        assert!(
            ok.problem("c1", &["https://other/token".into()], 1000)
                .is_some()
        );
        assert!(
            ok.problem("c1", &aud, 1000 + ASSERTION_LIFETIME_SECS)
                .is_some(),
            "expired"
        );
        let far = AssertionClaims {
            exp: 1000 + ASSERTION_MAX_LIFETIME_SECS + 1,
            ..ok.clone()
        };
        assert!(far.problem("c1", &aud, 1000).is_some());
        let no_jti = AssertionClaims {
            jti: String::new(),
            ..ok.clone()
        };
        assert!(no_jti.problem("c1", &aud, 1000).is_some());
        // `aud` may be one string or a list.
        let many: AssertionClaims = serde_json::from_str(
            r#"{"iss":"c1","sub":"c1","aud":["x","https://as.example/token"],"jti":"j","exp":1060,"iat":1000}"#,
        )
        .unwrap();
        assert_eq!(many.problem("c1", &aud, 1000), None);
    }

    #[test]
    fn a_method_without_its_credential_is_an_error() {
        let mut form = form_urlencoded::Serializer::new(String::new());
        let secret = Credential::Secret(Secret::new("s"));
        assert!(authenticate(ClientAuth::PrivateKeyJwt, "c", &secret, "a", &mut form).is_err());
        let assertion = Credential::Assertion(Secret::new("h.c.s"));
        assert!(authenticate(ClientAuth::Basic, "c", &assertion, "a", &mut form).is_err());
        authenticate(ClientAuth::PrivateKeyJwt, "c", &assertion, "a", &mut form).unwrap();
        let body = form.finish();
        assert!(body.contains("client_assertion=h.c.s") && body.contains("jwt-bearer"));
    }

    #[test]
    fn malformed_basic_values_are_errors() {
        for bad in ["Bearer x", "Basic !!!", "Basic YWJj", "Basic JTpa"] {
            let v = HeaderValue::from_static(bad);
            assert!(parse_basic_authorization(&v).is_err(), "{bad}");
        }
    }
}
