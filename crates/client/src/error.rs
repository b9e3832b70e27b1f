//! One error type for everything that can go wrong acquiring a token, with
//! a short stable kind that reports count by. Classified once, here.

use std::fmt;
use std::time::Duration;

use http::StatusCode;
use tokenprobe_protocol::{ProviderError, Redactor, RequestError, wire};

/// The longest provider error code a label shows, in characters.
pub const MAX_CODE_CHARS: usize = 48;

/// A failure's name in counts, reports and metrics: its kind, with the
/// server's error code or the HTTP status where the kind has one. Typed
/// from the driver to the report's edge, which writes it as text
/// (`connect`, `provider(invalid_client)`, `http_status(503)`) and reads
/// it back ([`FromStr`](std::str::FromStr)).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ErrorLabel {
    /// A failure of a kind that carries nothing more.
    Kind(ErrorKind),
    /// The provider's error code, printable and cut to [`MAX_CODE_CHARS`].
    Provider(String),
    /// An HTTP error status with no body the protocol recognizes.
    HttpStatus(u16),
    /// Still in flight when a load run's grace period ended.
    Cancelled,
    /// A flow's labels past those a report keeps for it.
    Other,
}

impl ErrorLabel {
    /// How it sorts: by name as written (`connect` < `http_status(503)` <
    /// `provider(x)`), without writing it: a prefix, a provider's code
    /// (compared with the `)` that closes it), a status (three digits, so
    /// its number sorts as its text does).
    fn sort_key(&self) -> (&str, &str, u16) {
        match self {
            ErrorLabel::Kind(k) => (k.as_str(), "", 0),
            ErrorLabel::Provider(code) => ("provider(", code, 0),
            ErrorLabel::HttpStatus(s) => ("http_status(", "", *s),
            ErrorLabel::Cancelled => ("cancelled", "", 0),
            ErrorLabel::Other => ("other", "", 0),
        }
    }
}

/// By name, as reports list labels and as a flow keeps them at a tie.
impl Ord for ErrorLabel {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let ((a, code_a, n_a), (b, code_b, n_b)) = (self.sort_key(), other.sort_key());
        a.cmp(b)
            .then_with(|| closed(code_a).cmp(closed(code_b)))
            .then(n_a.cmp(&n_b))
    }
}

/// A provider's code as its label writes it, closed by `)`.
fn closed(code: &str) -> impl Iterator<Item = u8> + '_ {
    code.bytes().chain(*b")")
}

impl PartialOrd for ErrorLabel {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for ErrorLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorLabel::Kind(k) => f.write_str(k.as_str()),
            ErrorLabel::Provider(code) => write!(f, "provider({code})"),
            ErrorLabel::HttpStatus(s) => write!(f, "http_status({s})"),
            ErrorLabel::Cancelled => f.write_str("cancelled"),
            ErrorLabel::Other => f.write_str("other"),
        }
    }
}

/// A label no version of tokenprobe writes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an error label")]
pub struct UnknownLabel(pub String);

impl std::str::FromStr for ErrorLabel {
    type Err = UnknownLabel;

    fn from_str(s: &str) -> Result<Self, UnknownLabel> {
        let inner = |prefix: &str| s.strip_prefix(prefix)?.strip_suffix(')');
        if let Some(code) = inner("provider(") {
            return Ok(ErrorLabel::Provider(code.to_owned()));
        }
        if let Some(status) = inner("http_status(").and_then(|n| n.parse().ok()) {
            return Ok(ErrorLabel::HttpStatus(status));
        }
        match s {
            "cancelled" => Ok(ErrorLabel::Cancelled),
            "other" => Ok(ErrorLabel::Other),
            _ => ErrorKind::ALL
                .into_iter()
                .find(|k| k.as_str() == s)
                .map(ErrorLabel::Kind)
                .ok_or_else(|| UnknownLabel(s.to_owned())),
        }
    }
}

impl serde::Serialize for ErrorLabel {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for ErrorLabel {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// What kind of failure, as reports name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorKind {
    /// No connection, or it broke before an answer's headers.
    Connect,
    /// The answer's body was cut short: the connection closed or was reset
    /// after the headers, or a chunk was malformed.
    Body,
    /// The answer's body was over the limit (`[http] max_body_bytes`).
    TooLarge,
    /// The TLS handshake failed (certificate, protocol).
    Tls,
    /// The connect or total timeout passed.
    Timeout,
    /// An HTTP error status with no body the protocol recognizes.
    HttpStatus,
    /// The provider refused, in its own documented error form.
    Provider,
    /// An answer that breaks the contract or does not parse.
    Decode,
    /// Refused before sending: the request would break the contract.
    Refused,
    /// A secret could not be read (environment variable or file).
    Config,
}

impl ErrorKind {
    /// Every kind.
    pub const ALL: [ErrorKind; 10] = [
        ErrorKind::Connect,
        ErrorKind::Body,
        ErrorKind::TooLarge,
        ErrorKind::Tls,
        ErrorKind::Timeout,
        ErrorKind::HttpStatus,
        ErrorKind::Provider,
        ErrorKind::Decode,
        ErrorKind::Refused,
        ErrorKind::Config,
    ];

    /// The short name used in reports: `connect`, `body`, `too_large`, `tls`, `timeout`,
    /// `http_status`, `provider`, `decode`, `refused`, `config`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Connect => "connect",
            ErrorKind::Body => "body",
            ErrorKind::TooLarge => "too_large",
            ErrorKind::Tls => "tls",
            ErrorKind::Timeout => "timeout",
            ErrorKind::HttpStatus => "http_status",
            ErrorKind::Provider => "provider",
            ErrorKind::Decode => "decode",
            ErrorKind::Refused => "refused",
            ErrorKind::Config => "config",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed step. Its text never holds a secret: request errors name the
/// field, provider errors carry what the server said about it, transport
/// errors carry no URL credentials (base URLs cannot hold any).
#[derive(Debug, Clone)]
pub struct ClientError {
    kind: ErrorKind,
    status: Option<StatusCode>,
    code: Option<String>,
    retry_after: Option<Duration>,
    message: String,
    provider: Option<Box<ProviderError>>,
}

impl ClientError {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ClientError {
            kind,
            status: None,
            code: None,
            retry_after: None,
            message: message.into(),
            provider: None,
        }
    }

    /// The kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The HTTP status, where there was an answer.
    pub fn status(&self) -> Option<StatusCode> {
        self.status
    }

    /// The provider's error code (`invalid_client`, `INVALID_SESSION_ID`, …).
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// The answer's `Retry-After`, where it had one.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// The protocol's typed reading of the answer, for provider and decode errors.
    pub fn provider_error(&self) -> Option<&ProviderError> {
        self.provider.as_deref()
    }

    /// `kind` or `kind(code)` / `kind(status)`: how reports group errors.
    /// The code is the server's word: it is shown [`printable`] and cut to
    /// [`MAX_CODE_CHARS`], so no server can drive the terminal or fill a
    /// report with one label.
    ///
    /// [`printable`]: tokenprobe_protocol::wire::printable
    pub fn label(&self) -> ErrorLabel {
        match (&self.code, self.status) {
            (Some(c), _) if self.kind == ErrorKind::Provider => {
                ErrorLabel::Provider(wire::printable_cut(c, MAX_CODE_CHARS))
            }
            (_, Some(s)) if self.kind == ErrorKind::HttpStatus => {
                ErrorLabel::HttpStatus(s.as_u16())
            }
            _ => ErrorLabel::Kind(self.kind),
        }
    }

    /// The same error with what `redactor` finds taken out of what the
    /// server said (its code and the message), and the typed reading
    /// dropped if it held any: a server that echoes the client secret as
    /// its error code, plain, percent-encoded or in base64, must not put
    /// it in a report's error label.
    pub(crate) fn without(mut self, redactor: &Redactor) -> Self {
        let mut echoed = false;
        let mut scrub = |text: &mut String| {
            let clean = redactor.scrub(text);
            if clean != *text {
                *text = clean;
                echoed = true;
            }
        };
        if let Some(code) = &mut self.code {
            scrub(code);
        }
        scrub(&mut self.message);
        if echoed {
            self.provider = None;
        }
        self
    }

    pub(crate) fn with_status(mut self, status: StatusCode) -> Self {
        self.status = Some(status);
        self
    }

    pub(crate) fn with_retry_after(mut self, d: Option<Duration>) -> Self {
        self.retry_after = d;
        self
    }

    /// Classifies a transport failure.
    pub(crate) fn transport(e: &reqwest::Error) -> Self {
        let kind = if e.is_timeout() {
            ErrorKind::Timeout
        } else if is_tls(e) {
            ErrorKind::Tls
        // reqwest reports a body that fails while read by `bytes()` or
        // `chunk()` as a decode error: the only decoding it does for us.
        } else if e.is_body() || e.is_decode() {
            ErrorKind::Body
        } else {
            ErrorKind::Connect
        };
        ClientError::new(kind, chain(e))
    }

    /// Classifies a provider's answer the protocol did not accept.
    pub(crate) fn provider(e: ProviderError) -> Self {
        let status = e.status();
        let (kind, code) = match &e {
            ProviderError::Decode(_) => (ErrorKind::Decode, None),
            ProviderError::Status { .. } => (ErrorKind::HttpStatus, None),
            other => (ErrorKind::Provider, other.code().map(str::to_owned)),
        };
        ClientError {
            kind,
            status,
            code,
            retry_after: None,
            message: e.to_string(),
            provider: Some(Box::new(e)),
        }
    }
}

impl From<RequestError> for ClientError {
    fn from(e: RequestError) -> Self {
        ClientError::new(ErrorKind::Refused, e.to_string())
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.label(), self.message)
    }
}

impl std::error::Error for ClientError {}

/// The error and its causes, one line.
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// Whether a rustls error is among the causes.
pub(crate) fn is_tls(e: &(dyn std::error::Error + 'static)) -> bool {
    has_cause(e, |c| c.downcast_ref::<rustls::Error>().is_some())
}

/// Whether `e` or one of its causes is `wanted`. `io::Error` hides its
/// payload from `source()`, so it is opened by hand (hyper-rustls nests two).
pub(crate) fn has_cause(
    e: &(dyn std::error::Error + 'static),
    wanted: impl Fn(&(dyn std::error::Error + 'static)) -> bool + Copy,
) -> bool {
    if wanted(e) {
        return true;
    }
    if let Some(inner) = e
        .downcast_ref::<std::io::Error>()
        .and_then(|io| io.get_ref())
    {
        let inner: &(dyn std::error::Error + 'static) = inner;
        if has_cause(inner, wanted) {
            return true;
        }
    }
    e.source().is_some_and(|s| has_cause(s, wanted))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Labels sort as their text does (the reference: the written labels,
    /// sorted as strings), codes with characters below `)` included.
    #[test]
    fn labels_sort_as_their_text() {
        let mut labels = vec![
            ErrorLabel::Provider("a".into()),
            ErrorLabel::Provider("a b".into()),
            ErrorLabel::Provider("a!".into()),
            ErrorLabel::Provider("a)".into()),
            ErrorLabel::Provider(String::new()),
            ErrorLabel::HttpStatus(503),
            ErrorLabel::HttpStatus(429),
            ErrorLabel::Kind(ErrorKind::Connect),
            ErrorLabel::Kind(ErrorKind::Timeout),
            ErrorLabel::Cancelled,
            ErrorLabel::Other,
        ];
        let mut texts: Vec<String> = labels.iter().map(ToString::to_string).collect();
        texts.sort();
        labels.sort();
        let sorted: Vec<String> = labels.iter().map(ToString::to_string).collect();
        assert_eq!(sorted, texts);
    }

    #[test]
    fn what_the_redactor_finds_leaves_the_code_and_message() {
        let said = "bad assertion eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl, try again";
        let e =
            ClientError::new(ErrorKind::Provider, said.to_owned()).without(&Redactor::default());
        assert!(!e.to_string().contains("eyJ"), "{e}");
        let mut e = ClientError::new(ErrorKind::Provider, "no: S3cr%2Fet-value");
        e.code = Some("bad_S3cr%2Fet-value".to_owned());
        let e = e.without(&Redactor::knowing(["S3cr/et-value"]));
        assert_eq!(e.label().to_string(), "provider(bad_[redacted])");
        assert_eq!(e.to_string(), "provider(bad_[redacted]): no: [redacted]");
    }
}
