//! The crate's error types: refused before sending, and what a response means.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use http::StatusCode;

use crate::rfc6749::OAuthError;

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
    /// A system's own documented error body, decoded by its module (Vault's
    /// `FAILURE`, whatever the HTTP status; Venafi's messages; Cloud
    /// Director's `Error` document). [`SystemError::get`] gives it back typed.
    #[error("HTTP {status}: {error}")]
    System {
        /// The HTTP status (often 200 for Vault).
        status: StatusCode,
        /// The decoded body.
        error: SystemError,
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
            | ProviderError::System { status, .. }
            | ProviderError::Status { status, .. } => Some(*status),
            ProviderError::Decode(_) => None,
        }
    }

    /// The provider's own error code, for grouping in reports: the RFC 6749
    /// `error`, or the system's ([`Documented::code`]). `None` for bare
    /// statuses and decode errors.
    pub fn code(&self) -> Option<&str> {
        match self {
            ProviderError::OAuth { error, .. } => Some(error.code.as_str()),
            ProviderError::System { error, .. } => error.code(),
            ProviderError::Status { .. } | ProviderError::Decode(_) => None,
        }
    }

    /// A system's own error body of type `T`, with its status.
    pub fn system<T: Documented + PartialEq>(&self) -> Option<(StatusCode, &T)> {
        match self {
            ProviderError::System { status, error } => Some((*status, error.get()?)),
            _ => None,
        }
    }
}

/// A system's documented error body, as its module decodes it. Its
/// `Display` is what reports and error messages show: an implementation
/// must not put a credential in it (a server's own text, as sent, is
/// shown as the report's other excerpts are).
pub trait Documented: fmt::Display + fmt::Debug + Send + Sync + 'static {
    /// The system's own error code, for grouping in reports (Vault's first
    /// error `type`, Venafi's message kind, VCD's `minorErrorCode`).
    fn code(&self) -> Option<&str>;
}

/// What [`SystemError`] holds: a [`Documented`] that can be compared and
/// given back typed.
trait Erased: Documented {
    fn as_any(&self) -> &dyn Any;
    fn same(&self, other: &dyn Erased) -> bool;
}

impl<T: Documented + PartialEq> Erased for T {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn same(&self, other: &dyn Erased) -> bool {
        other.as_any().downcast_ref::<T>() == Some(self)
    }
}

/// A system's documented error body, whichever system: the one shape
/// [`ProviderError`] needs for all of them, so that adding a system adds
/// no variant here.
#[derive(Clone)]
pub struct SystemError(Arc<dyn Erased>);

impl SystemError {
    /// Wraps a system's decoded error body.
    pub fn new(error: impl Documented + PartialEq) -> Self {
        SystemError(Arc::new(error))
    }

    /// The body as its system's type, if it is one.
    pub fn get<T: Documented + PartialEq>(&self) -> Option<&T> {
        self.0.as_any().downcast_ref()
    }

    /// The system's own error code.
    pub fn code(&self) -> Option<&str> {
        self.0.code()
    }
}

impl PartialEq for SystemError {
    fn eq(&self, other: &Self) -> bool {
        self.0.same(&*other.0)
    }
}

impl Eq for SystemError {}

impl fmt::Debug for SystemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for SystemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
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
    use crate::vcd::VcdError;
    use crate::venafi::VenafiError;

    #[test]
    fn a_system_error_is_itself_and_no_other() {
        let vcd = SystemError::new(VcdError::missing_authorization());
        let venafi = SystemError::new(VenafiError::decode(StatusCode::BAD_REQUEST, b"x"));
        assert_eq!(vcd.get(), Some(&VcdError::missing_authorization()));
        assert_eq!(vcd.get::<VenafiError>(), None);
        assert_eq!(vcd, vcd.clone());
        assert_ne!(vcd, venafi);
        assert_ne!(vcd, SystemError::new(VcdError::invalid_credentials()));
        assert_eq!(
            vcd.code(),
            Some(VcdError::missing_authorization().minor_code.as_str())
        );
        assert_eq!(
            vcd.to_string(),
            VcdError::missing_authorization().to_string()
        );
        assert_eq!(
            format!("{vcd:?}"),
            format!("{:?}", VcdError::missing_authorization())
        );
    }

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
