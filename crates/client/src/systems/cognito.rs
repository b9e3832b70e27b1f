//! RFC 6749 client credentials (`system = "cognito"`): one token request,
//! authenticated by any [`ClientAuth`] method.

use std::sync::Arc;

use serde::Deserialize;
use tokenprobe_protocol::client_auth::{ClientAuth, ClientCertificate, Credential, Signer};
use tokenprobe_protocol::cognito::TokenRequest;
use tokenprobe_protocol::dpop::ProofKey;
use tokenprobe_protocol::jwt::Algorithm;
use tokenprobe_protocol::{BaseUrl, Call, Grant, Secret};

use super::{SystemConfig, SystemFlow, base_url};
use crate::client_key::ClientKey;
use crate::dpop_key::DpopKey;
use crate::error::{ClientError, ErrorKind};
use crate::flow::{FlowError, Step, StepTime, call};
use crate::secret_source::SecretSource;
use crate::systems::IdpConfig;
use crate::tls::ClientIdentity;
use crate::transport::Exchange;

/// Any RFC 6749 client-credentials endpoint (`cognito`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CognitoConfig {
    /// e.g. `https://auth.example.com`; a scenario's target when absent.
    #[serde(default, deserialize_with = "base_url")]
    pub base_url: Option<BaseUrl>,
    /// `client_id`.
    pub client_id: String,
    /// `client_secret` (for `basic`, `body` and `client_secret_jwt`).
    #[serde(default)]
    pub client_secret: Option<SecretSource>,
    /// HTTP Basic (`basic`, the default, or `client_secret_basic`), in the
    /// body (`body`, `client_secret_post`), an assertion signed with the
    /// secret (`client_secret_jwt`) or with a key (`private_key_jwt`).
    #[serde(default)]
    pub auth: ClientAuth,
    /// The PKCS#8 PEM private key that signs `private_key_jwt` assertions,
    /// or the key of the `certificate` for `tls_client_auth` and
    /// `self_signed_tls_client_auth`.
    #[serde(default)]
    pub private_key: Option<SecretSource>,
    /// The client certificate (PEM, leaf first) the TLS handshake presents
    /// for `tls_client_auth` and `self_signed_tls_client_auth` (RFC 8705).
    #[serde(default)]
    pub certificate: Option<SecretSource>,
    /// `RS256` or `ES256` for a private key, by default the one the key is
    /// for; `HS256` (or nothing) for `client_secret_jwt`.
    #[serde(default)]
    pub key_algorithm: Option<Algorithm>,
    /// The assertion header's `kid`, when the server keeps several keys
    /// (or secrets) for the client.
    #[serde(default)]
    pub key_id: Option<String>,
    /// What assertions are addressed to (`aud`); by default the token
    /// endpoint's URL.
    #[serde(default)]
    pub audience: Option<String>,
    /// Scopes to ask for.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// The token endpoint's path under `base_url` (default `/oauth2/token`),
    /// for any other RFC 6749 server.
    #[serde(default)]
    pub token_path: Option<String>,
    /// The issuer whose metadata (RFC 8414, or OpenID Connect discovery)
    /// gives the token endpoint, instead of `base_url` and `token_path`.
    #[serde(default)]
    pub issuer: Option<String>,
    /// More form parameters, e.g. `{ audience = "https://api.example.com" }`
    /// for Auth0.
    #[serde(default)]
    pub params: std::collections::BTreeMap<String, String>,
    /// Prove possession of a key with DPoP (RFC 9449) on every request.
    #[serde(default)]
    pub dpop: Option<DpopConfig>,
}

/// DPoP for a flow: the key its proofs are signed with.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DpopConfig {
    /// `ES256` (the default) or `EdDSA`; the key's own when it is given.
    #[serde(default)]
    pub algorithm: Option<Algorithm>,
    /// A PKCS#8 PEM key (P-256 or Ed25519); a new one is made for the run
    /// when absent.
    #[serde(default)]
    pub private_key: Option<SecretSource>,
    /// The server registered the client as DPoP-bound: it must refuse the
    /// client's requests without a proof (what DP-06 checks).
    #[serde(default)]
    pub bound: bool,
}

impl SystemConfig for CognitoConfig {
    fn base_url(&self) -> Option<&BaseUrl> {
        self.base_url.as_ref()
    }

    fn parts_mut(&mut self) -> (&mut Option<BaseUrl>, Option<&mut IdpConfig>) {
        (&mut self.base_url, None)
    }

    fn discoverable(&mut self) -> Option<&mut CognitoConfig> {
        Some(self)
    }

    fn mutual_tls(&self) -> bool {
        self.auth.mutual_tls()
    }

    fn client_identity(&self) -> Result<Option<ClientIdentity>, ClientError> {
        client_identity(self)
    }
}

/// The request a `cognito` configuration describes (its secret or key
/// read now).
pub fn cognito_request(c: &CognitoConfig) -> Result<TokenRequest, ClientError> {
    let config = |why: &str| ClientError::new(ErrorKind::Config, why.to_owned());
    let credential = match (c.auth, &c.client_secret, &c.private_key) {
        (ClientAuth::PrivateKeyJwt, None, Some(pem)) => {
            let key = ClientKey::from_pem(&pem.resolve()?, c.key_algorithm, c.key_id.clone())?;
            Credential::Key(Signer(Arc::new(key)))
        }
        (ClientAuth::PrivateKeyJwt, _, _) => {
            return Err(config(
                "auth = \"private_key_jwt\" takes a private_key and no client_secret",
            ));
        }
        (auth, None, Some(key)) if auth.mutual_tls() => {
            let identity = client_identity(c)?.ok_or_else(|| {
                config("a certificate is needed beside the private_key for mutual TLS")
            })?;
            Credential::Certificate(Some(ClientCertificate {
                thumbprint: identity.thumbprint(),
                key: key.resolve()?,
            }))
        }
        (auth, _, _) if auth.mutual_tls() => {
            return Err(config(&format!(
                "auth = \"{}\" takes a certificate and its private_key, and no client_secret",
                auth.method_name()
            )));
        }
        (ClientAuth::ClientSecretJwt, Some(secret), None) => {
            if c.key_algorithm.is_some_and(|a| a != Algorithm::HS256) {
                return Err(config(
                    "auth = \"client_secret_jwt\" signs with HS256 (key_algorithm is for a private_key)",
                ));
            }
            let key = ClientKey::hmac(&secret.resolve()?, c.key_id.clone())?;
            Credential::Key(Signer(Arc::new(key)))
        }
        (_, Some(secret), None) => Credential::Secret(secret.resolve()?),
        (_, _, _) => {
            return Err(config(
                "a client_secret is needed (a private_key is only for auth = \"private_key_jwt\")",
            ));
        }
    };
    let mut r = TokenRequest::new(c.client_id.clone(), credential, c.auth)?
        .with_scopes(c.scopes.iter().map(String::as_str))?;
    if let Some(path) = &c.token_path {
        r = r.with_path(path.clone())?;
    }
    if let Some(audience) = &c.audience {
        r = r.with_audience(audience.clone());
    }
    if let Some(d) = &c.dpop {
        let key = match &d.private_key {
            Some(pem) => DpopKey::from_pem(&pem.resolve()?, d.algorithm)?,
            None => DpopKey::generate(d.algorithm.unwrap_or(Algorithm::ES256))?,
        };
        r = r.with_dpop(ProofKey::new(Arc::new(key), d.bound));
    }
    Ok(r.with_params(c.params.clone())?)
}

impl SystemFlow for TokenRequest {
    type Config = CognitoConfig;

    fn new(config: &CognitoConfig) -> Result<Self, ClientError> {
        cognito_request(config)
    }

    fn template(auth: ClientAuth) -> String {
        template(auth)
    }

    fn check_template() -> &'static str {
        "mode = \"cognito\"                # or \"rfc6749\": any client-credentials server\n\
         # jwks_path = \"/.well-known/jwks.json\"\n"
    }

    fn steps(&self) -> &'static [Step] {
        match self.dpop() {
            Some(_) => &[Step::DpopNonce, Step::Token],
            None => &[Step::Token],
        }
    }

    // Whatever the method: the secret, or the signer's secret or key; and
    // a DPoP key read from a file.
    fn secrets(&self) -> Vec<&str> {
        let dpop = self.dpop().and_then(|k| k.signer.material());
        self.credential()
            .secrets()
            .into_iter()
            .chain(dpop)
            .map(Secret::expose)
            .collect()
    }

    // A signed assertion or a DPoP proof is new for every request; the
    // other methods send what is configured.
    fn fixed(&self) -> Option<(Step, &(dyn Call<Output = Grant> + Sync))> {
        (!self.auth().signs() && self.dpop().is_none()).then_some((Step::Token, self as _))
    }

    async fn acquire(
        &self,
        t: &impl Exchange,
        steps: &mut Vec<StepTime>,
        base: &BaseUrl,
    ) -> Result<Grant, FlowError> {
        call(t, steps, Step::Token, self, base).await
    }
}

/// The certificate and key a mutual-TLS flow presents, read now.
pub(crate) fn client_identity(c: &CognitoConfig) -> Result<Option<ClientIdentity>, ClientError> {
    match (&c.certificate, &c.private_key) {
        (Some(cert), Some(key)) if c.auth.mutual_tls() => Ok(Some(ClientIdentity::from_pem(
            cert.resolve()?.expose().as_bytes(),
            key.resolve()?.expose().as_bytes(),
        )?)),
        (Some(_), _) => Err(ClientError::new(
            ErrorKind::Config,
            "a certificate is for auth = \"tls_client_auth\" or \"self_signed_tls_client_auth\", with its private_key",
        )),
        _ => Ok(None),
    }
}

/// A commented flow table, for `tokenprobe new`.
pub(crate) fn template(auth: ClientAuth) -> String {
    let credential = match auth {
        ClientAuth::PrivateKeyJwt => {
            "client_id = \"tokenprobe-demo-key\"\n\
             auth = \"private_key_jwt\"\n\
             # The stub's demo key, in tokenprobe's repository (public: never use it elsewhere);\n\
             # the path is from the directory tokenprobe runs in: the repository's root.\n\
             private_key = { file = \"crates/stub/demo-keys/client-es256.pem\" }   # staging: { file = \"client.pem\" } or { env = \"CLIENT_KEY\" }\n\
             # key_algorithm = \"ES256\"       # or RS256; by default the key's\n\
             # key_id = \"…\"                  # the assertion's kid\n\
             # audience = \"…\"                # aud, when not the token endpoint's URL\n"
        }
        ClientAuth::ClientSecretJwt => {
            "client_id = \"tokenprobe-demo\"\n\
             auth = \"client_secret_jwt\"     # an HS256 assertion; the secret never goes on the wire\n\
             client_secret = { value = \"demo-secret\" }   # staging: { env = \"CLIENT_SECRET\" }\n\
             # key_id = \"…\"                  # the assertion's kid\n\
             # audience = \"…\"                # aud, when not the token endpoint's URL\n"
        }
        ClientAuth::TlsClientAuth => {
            "client_id = \"tokenprobe-demo-mtls\"\n\
             auth = \"tls_client_auth\"       # the TLS client certificate (RFC 8705); no secret\n\
             # The stub's demo certificate, issued by its demo client CA, in tokenprobe's\n\
             # repository (public: never use it elsewhere); paths from the repository's root.\n\
             # Against the built-in stub, a flow with a certificate makes the stub serve TLS.\n\
             certificate = { file = \"crates/stub/demo-keys/client-mtls.pem\" }   # staging: { file = \"client.crt\" }\n\
             private_key = { file = \"crates/stub/demo-keys/client-mtls.key.pem\" }   # staging: { file = \"client.key\" }\n"
        }
        ClientAuth::SelfSignedTlsClientAuth => {
            "client_id = \"tokenprobe-demo-self-signed\"\n\
             auth = \"self_signed_tls_client_auth\"   # a registered self-signed certificate (RFC 8705 §2.2)\n\
             # The stub's demo certificate (public: never use it elsewhere); paths from the\n\
             # repository's root. Against the built-in stub, the stub then serves TLS.\n\
             certificate = { file = \"crates/stub/demo-keys/client-self-signed.pem\" }\n\
             private_key = { file = \"crates/stub/demo-keys/client-self-signed.key.pem\" }\n"
        }
        ClientAuth::Basic | ClientAuth::Body => {
            if auth == ClientAuth::Body {
                "client_id = \"tokenprobe-demo\"\n\
                 auth = \"client_secret_post\"    # id and secret in the body\n\
                 client_secret = { value = \"demo-secret\" }   # staging: { env = \"CLIENT_SECRET\" }\n"
            } else {
                "client_id = \"tokenprobe-demo\"\n\
                 auth = \"client_secret_basic\"   # HTTP Basic; or client_secret_post, client_secret_jwt, private_key_jwt, tls_client_auth\n\
                 client_secret = { value = \"demo-secret\" }   # staging: { env = \"CLIENT_SECRET\" }\n"
            }
        }
    };
    format!(
        "system = \"cognito\"               # RFC 6749 client credentials (Amazon Cognito, or any server)\n\
         {credential}\
         scopes = [\"tokenprobe/read\"]\n\
         # base_url = \"https://idp.example.com\"   # this flow's server, when not the target\n\
         # token_path = \"/oauth2/token\"    # for another RFC 6749 server\n\
         # issuer = \"https://idp.example.com\"     # find the token endpoint by RFC 8414 discovery instead\n\
         # params = {{ audience = \"https://api.example.com\" }}   # more form members (Auth0)\n"
    )
}
