//! The crate's error types: refused before sending, and what a response means.

use http::StatusCode;

use crate::rfc6749::OAuthError;
use crate::vcd::VcdError;
use crate::veeva::VaultFailure;
use crate::venafi::VenafiError;

/// A request refused before it is sent, because it would break the contract.
///
/// The message names the field and the rule; it never holds a secret's value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[error("{field}: {reason} ({check})")]
pub struct RequestError {
    /// The check id of the rule that refused it (`CE-03`, `VE-02`, …).
    pub check: &'static str,
    /// The offending field or parameter.
    pub field: &'static str,
    /// What is wrong, for a person.
    pub reason: String,
}

impl RequestError {
    /// A refusal of `field` under the rule `check`.
    pub fn new(check: &'static str, field: &'static str, reason: impl Into<String>) -> Self {
        RequestError {
            check,
            field,
            reason: reason.into(),
        }
    }
}

/// Why a response did not give a grant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProviderError {
    /// An RFC 6749 error body (`cognito`, `cess`).
    #[error("HTTP {status}: {error}")]
    OAuth {
        /// The HTTP status.
        status: StatusCode,
        /// The decoded error body.
        error: OAuthError,
    },
    /// Vault's `FAILURE` or `EXCEPTION` body, whatever the HTTP status.
    #[error("HTTP {status}: {failure}")]
    Vault {
        /// The HTTP status (often 200).
        status: StatusCode,
        /// The decoded failure body.
        failure: VaultFailure,
    },
    /// A Venafi error message.
    #[error("HTTP {status}: {error}")]
    Venafi {
        /// The HTTP status.
        status: StatusCode,
        /// The documented message, or the text as sent.
        error: VenafiError,
    },
    /// A Cloud Director `Error` document.
    #[error("HTTP {status}: {error}")]
    Vcd {
        /// The HTTP status.
        status: StatusCode,
        /// The decoded error document.
        error: VcdError,
    },
    /// An error status with a body that is none of the documented shapes
    /// (an HTML error page from a proxy, an empty body, …).
    #[error("HTTP {status}: {excerpt}")]
    Status {
        /// The HTTP status.
        status: StatusCode,
        /// The start of the body, as text, for a person to read.
        excerpt: String,
    },
    /// A response that claims success but breaks the contract.
    #[error(transparent)]
    Decode(#[from] DecodeError),
}

impl ProviderError {
    /// The HTTP status, where the error came with one.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            ProviderError::OAuth { status, .. }
            | ProviderError::Vault { status, .. }
            | ProviderError::Venafi { status, .. }
            | ProviderError::Vcd { status, .. }
            | ProviderError::Status { status, .. } => Some(*status),
            ProviderError::Decode(_) => None,
        }
    }

    /// The provider's own error code, for grouping in reports: the RFC 6749
    /// `error`, Vault's first error `type`, Venafi's message kind, VCD's
    /// `minorErrorCode`. `None` for bare statuses and decode errors.
    pub fn code(&self) -> Option<&str> {
        match self {
            ProviderError::OAuth { error, .. } => Some(error.code.as_str()),
            ProviderError::Vault { failure, .. } => failure.code(),
            ProviderError::Venafi { error, .. } => Some(error.code()),
            ProviderError::Vcd { error, .. } => Some(error.minor_code.as_str()),
            ProviderError::Status { .. } | ProviderError::Decode(_) => None,
        }
    }
}

/// A response that does not decode into what the contract promises.
///
/// Messages name members and rules, never values, so no secret leaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The body is not the JSON it should be.
    #[error("body is not valid JSON: {0}")]
    Json(String),
    /// The body is not the XML it should be.
    #[error("body is not valid XML: {0}")]
    Xml(String),
    /// A required member of the body is missing.
    #[error("missing member `{0}`")]
    MissingMember(&'static str),
    /// A required response header is missing.
    #[error("missing header `{0}`")]
    MissingHeader(&'static str),
    /// A member is present but its value breaks the contract.
    #[error("member `{member}`: {reason}")]
    Invalid {
        /// The member.
        member: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A rule that ties members together is broken (e.g. `CE-06`).
    #[error("{check}: {reason}")]
    Contract {
        /// The check id of the broken rule.
        check: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// Turns a serde_json error into a [`DecodeError`] that never quotes the
/// input: serde_json's messages can echo a string value, which might be a
/// token, so anything it quotes is blanked out.
pub(crate) fn json_error(err: &serde_json::Error) -> DecodeError {
    let what = match err.classify() {
        serde_json::error::Category::Io => "read error".to_owned(),
        serde_json::error::Category::Syntax => "syntax error".to_owned(),
        serde_json::error::Category::Eof => "truncated body".to_owned(),
        serde_json::error::Category::Data => {
            let text = err.to_string();
            let text = text
                .rsplit_once(" at line ")
                .map_or(text.as_str(), |(m, _)| m);
            blank_quoted(text)
        }
    };
    DecodeError::Json(format!(
        "{what} at line {} column {}",
        err.line(),
        err.column()
    ))
}

/// `invalid type: string "abc", expected u64` → `invalid type: string "…", expected u64`.
/// Member names in backticks are kept only in serde's "missing field" and
/// "duplicate field" messages, where they come from our own types.
fn blank_quoted(text: &str) -> String {
    let keeps_names = text.starts_with("missing field") || text.starts_with("duplicate field");
    let mut out = String::with_capacity(text.len());
    let mut quote = None;
    for c in text.chars() {
        match quote {
            None if c == '"' || (c == '`' && !keeps_names) => {
                quote = Some(c);
                out.push(c);
                out.push('…');
            }
            None => out.push(c),
            Some(q) if c == q => {
                quote = None;
                out.push(c);
            }
            Some(_) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_values_are_blanked_and_the_rest_kept() {
        assert_eq!(
            blank_quoted(r#"invalid type: string "s3cret", expected u64"#),
            r#"invalid type: string "…", expected u64"#
        );
        assert_eq!(
            blank_quoted("unknown variant `s3cret`, expected `a` or `b`"),
            "unknown variant `…`, expected `…` or `…`"
        );
        assert_eq!(
            blank_quoted("missing field `access_token`"),
            "missing field `access_token`"
        );
    }

    #[test]
    fn json_errors_name_members_but_never_values() {
        let err = serde_json::from_str::<u64>("\"hunter2\"").unwrap_err();
        let msg = json_error(&err).to_string();
        assert!(!msg.contains("hunter2"), "{msg}");
        assert!(msg.contains("invalid type"), "{msg}");
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct T {
            session_id: String,
        }
        let err = serde_json::from_str::<T>("{}").unwrap_err();
        assert!(
            json_error(&err)
                .to_string()
                .contains("missing field `session_id`")
        );
    }
}
