//! Why a target could not give a check what it asked for.

use tokenprobe_protocol::{RequestError, System};

/// A request a check needed did not get an answer to read. The check then
/// errors (it cannot tell whether the contract holds); it never passes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// No answer came (connect, timeout, TLS, an unreadable body); the
    /// reason is scrubbed of secrets.
    #[error("{0}")]
    Transport(String),
    /// The protocol crate refused to build the request.
    #[error(transparent)]
    Request(#[from] RequestError),
    /// A request the check varies could not be built (its URL, a header,
    /// its JSON body).
    #[error("{0}")]
    Build(String),
    /// The target gave no successful token answer to read (the last
    /// status, or `none`).
    #[error("no successful token response to inspect (status {0}); check the credentials")]
    NoSuccess(String),
    /// A negative check's working request did not succeed, so a refusal of
    /// its variation would prove nothing.
    #[error("no working request to vary: {0}")]
    NoControl(String),
    /// A two-step system's IdP did not issue a token.
    #[error("no IdP token: {0}")]
    NoIdpToken(String),
    /// The system has no JSON token endpoint to refuse a request.
    #[error("no JSON token endpoint")]
    NoTokenEndpoint,
    /// A request for one system asked of another's target.
    #[error("a {wanted} request asked of a {system} target")]
    OtherSystem {
        /// The system the request is for.
        wanted: System,
        /// The target's system.
        system: System,
    },
}

impl TargetError {
    /// A building error, as text.
    pub(crate) fn build(e: impl std::fmt::Display) -> TargetError {
        TargetError::Build(e.to_string())
    }
}
