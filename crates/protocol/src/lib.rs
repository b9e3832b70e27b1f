//! The wire contracts of five token endpoints, both sides, with no I/O.
//!
//! tokenprobe's client, stub server and conformance checks all build on this
//! crate, so each documented rule exists once. Like rustls or h11, it never
//! touches a socket or a clock: it turns typed requests into
//! [`http::Request`]s and responses into a [`Grant`] or a [`ProviderError`]
//! (the client side), and requests into typed requests or rejections and
//! grants into documented responses (the server side).
//!
//! | module | system | endpoint |
//! | --- | --- | --- |
//! | [`veeva`] | Veeva Vault | `POST /auth/oauth/session/{profile}` |
//! | [`cess`] | VaultID CESS | `POST /oauth` (JSON, password grant) |
//! | [`venafi`] | Venafi TPP | `POST /vedauth/authorize/oauth` and friends |
//! | [`cognito`] | Amazon Cognito, any RFC 6749 server | `POST /oauth2/token` (client credentials) |
//! | [`vcd`] | VMware Cloud Director | `POST /cloudapi/1.0.0/sessions` |
//!
//! Validation happens in the typed requests' constructors, so a request that
//! breaks a contract is refused before it is sent, with the check id of the
//! rule ([`RequestError`]). Decoders are total: any bytes give `Ok` or an
//! error, never a panic. Secrets are [`Secret`]s and never print; but an
//! encoded [`http::Request`] holds them as the wire needs them (sensitive
//! header values are marked so, yet CESS, Venafi and form-authenticated
//! Cognito bodies carry them in the clear), so log a request's method and
//! URI, never the request itself.
//!
//! ```
//! use http::{HeaderMap, StatusCode};
//! use tokenprobe_protocol::{BaseUrl, Secret, cess};
//!
//! let base: BaseUrl = "https://cess.lab.vaultid.com.br".parse()?;
//! let request = cess::TokenRequest::new("app", Secret::new("app-secret"), "52998224725", Secret::new("123456"))?
//!     .with_lifetime(3600)?;
//! let http_request = request.encode(&base)?;
//! assert_eq!(http_request.uri().path(), "/oauth");
//!
//! // A CPF with a wrong check digit never leaves the machine.
//! let refused = cess::TokenRequest::new("app", Secret::new("s"), "52998224726", Secret::new("1"));
//! assert_eq!(refused.unwrap_err().check, "CE-03");
//!
//! // The server's answer, decoded into the normalized grant.
//! let body = cess::TokenBody::new("41442a8c", std::time::Duration::from_secs(3600), "authentication_session", "SOLUTIHOM");
//! let response = body.to_response();
//! let grant = request.decode_response(response.status(), response.headers(), response.body())?;
//! assert_eq!(grant.secret.expose(), "41442a8c");
//! assert!(!format!("{grant:?}").contains("41442a8c"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic,
        clippy::string_slice,
        clippy::unreachable,
        clippy::todo,
        clippy::unimplemented
    )
)]
#![deny(missing_docs)]

mod base_url;
mod call;
mod error;
mod grant;
mod secret;

pub mod cess;
pub mod client_auth;
pub mod cognito;
pub mod discovery;
pub mod dpop;
pub mod jwt;
pub mod mtls;
pub mod redact;
pub mod rfc6749;
pub mod taxid;
pub mod vcd;
pub mod vcschema;
pub mod veeva;
pub mod venafi;
pub mod wire;

pub use base_url::BaseUrl;
pub use call::Call;
pub use error::{DecodeError, Documented, ProviderError, RequestError, SystemError};
pub use grant::{Grant, GrantExtra, GrantKind, Refresh, Warning};
pub use redact::Redactor;
pub use secret::Secret;

/// The five systems, by the names scenario files, reports and check
/// catalogs use. The one list of systems: the client's flows, the stub's
/// routes, the conformance catalog and the load reports all name theirs
/// with it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum System {
    /// Amazon Cognito (Vectara), or any RFC 6749 client-credentials endpoint.
    Cognito,
    /// VaultID CESS.
    Cess,
    /// Venafi TPP.
    Venafi,
    /// Veeva Vault.
    Veeva,
    /// VMware Cloud Director.
    Vcd,
}

impl System {
    /// All five, in catalog order.
    pub const ALL: [System; 5] = [
        System::Cognito,
        System::Cess,
        System::Venafi,
        System::Veeva,
        System::Vcd,
    ];

    /// The systems whose token endpoint takes an RFC 6749 client-credentials
    /// request ([`cognito::TokenRequest`]): the ones the client-authentication
    /// methods, DPoP, mutual TLS and discovery apply to. Only cognito (in
    /// `rfc6749` mode, any such server) today: a system with a request type
    /// of its own would also need the checks' `Target::client_credentials`
    /// to read it.
    pub const CLIENT_CREDENTIALS: &'static [System] = &[System::Cognito];

    /// The systems whose token endpoint answers with RFC 6749's JSON bodies
    /// (§5.1, §5.2): the ones the shared RFC 6749 and RFC 6750 rules apply to.
    pub const RFC6749_JSON: &'static [System] = &[System::Cognito, System::Cess, System::Venafi];

    /// The name (`cognito`, `cess`, …).
    pub fn name(self) -> &'static str {
        match self {
            System::Cognito => "cognito",
            System::Cess => "cess",
            System::Venafi => "venafi",
            System::Veeva => "veeva",
            System::Vcd => "vcd",
        }
    }

    /// The system a name stands for.
    pub fn from_name(name: &str) -> Option<System> {
        System::ALL.into_iter().find(|s| s.name() == name)
    }
}

impl std::fmt::Display for System {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for System {
    type Err = UnknownName;

    fn from_str(name: &str) -> Result<System, UnknownName> {
        System::from_name(name)
            .ok_or_else(|| UnknownName::among(name, System::ALL.map(System::name)))
    }
}

/// A name that is none of those a list knows (a system, a client
/// authentication method), said with the list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{given:?} is not one of {}", known.join(", "))]
pub struct UnknownName {
    /// The name given.
    pub given: String,
    /// The names known.
    pub known: Vec<&'static str>,
}

impl UnknownName {
    /// `given` is none of `known`.
    pub fn among(given: &str, known: impl IntoIterator<Item = &'static str>) -> UnknownName {
        UnknownName {
            given: given.to_owned(),
            known: known.into_iter().collect(),
        }
    }
}
