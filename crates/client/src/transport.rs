//! The wire: a reqwest client with rustls, timeouts, connection reuse or a
//! fresh connection per request, and the trust settings the user chose.
//! The options here are shared with [`crate::DirectTransport`], the load
//! path's leaner transport on hyper.

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use serde::Deserialize;

use tokenprobe_protocol::BaseUrl;

use crate::error::{ClientError, ErrorKind};
use crate::tls::ClientIdentity;

/// How requests go out. TLS verification stays on unless `insecure` is set.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpOptions {
    /// Connect timeout (TCP and TLS), milliseconds.
    pub connect_timeout_ms: u64,
    /// Whole-request timeout, milliseconds.
    pub timeout_ms: u64,
    /// `false`: every request opens a new connection (TLS handshake
    /// included), as a fresh client of the token endpoint would.
    pub reuse_connections: bool,
    /// Extra trusted CA certificates (PEM), e.g. the stub's.
    pub ca_file: Option<PathBuf>,
    /// Accept any certificate. Only for a test server you trust.
    pub insecure: bool,
    /// The largest response body read, in bytes; a larger one is the
    /// error `too_large`, read no further.
    pub max_body_bytes: u64,
    /// Speak HTTP/2 on every connection (ALPN `h2` over TLS, prior
    /// knowledge in clear); HTTP/1.1 otherwise.
    pub http2: bool,
}

/// 1 MiB: a token answer is a few kilobytes; anything near this is a
/// broken or hostile server.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 1 << 20;

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            connect_timeout_ms: 5_000,
            timeout_ms: 30_000,
            reuse_connections: true,
            ca_file: None,
            insecure: false,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            http2: false,
        }
    }
}

impl HttpOptions {
    /// What a user must hear before any traffic: verification turned off,
    /// credentials sent in clear to another machine.
    pub fn warnings<'a>(&self, urls: impl IntoIterator<Item = &'a BaseUrl>) -> Vec<String> {
        let mut out = Vec::new();
        if self.insecure {
            out.push(
                "TLS certificate verification is OFF ([http] insecure = true): anyone on the \
                 path can pose as the server and read the credentials"
                    .to_owned(),
            );
        }
        let mut seen = Vec::new();
        for url in urls {
            if url.is_cleartext_off_machine() && !seen.contains(&url) {
                seen.push(url);
                out.push(format!(
                    "{url}: plain http to another machine: credentials and tokens cross the \
                     network in clear"
                ));
            }
        }
        out
    }
}

/// An answer, read whole. Its `Debug` leaves out the body and the header
/// values: a token answer carries the token.
#[derive(Clone)]
pub struct Answer {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Bytes,
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Answer")
            .field("status", &self.status)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

impl Answer {
    /// A `200` JSON answer with the headers RFC 6749 §5.1 asks of a token
    /// response (`Cache-Control: no-store`, `Pragma: no-cache`): what an
    /// exchange that answers without a server (a bench, a test) gives.
    pub fn token_json(body: Bytes) -> Answer {
        let mut headers = HeaderMap::with_capacity(3);
        headers.extend(tokenprobe_protocol::wire::no_store_headers());
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static(tokenprobe_protocol::wire::JSON),
        );
        Answer {
            status: StatusCode::OK,
            headers,
            body,
        }
    }

    /// `Retry-After` in seconds or as an HTTP date.
    pub fn retry_after(&self) -> Option<Duration> {
        let v = self.headers.get(http::header::RETRY_AFTER)?.to_str().ok()?;
        match v.trim().parse::<u64>() {
            Ok(secs) => Some(Duration::from_secs(secs)),
            Err(_) => httpdate::parse_http_date(v)
                .ok()?
                .duration_since(std::time::SystemTime::now())
                .ok(),
        }
    }
}

/// What a flow sends its requests through: the network ([`Transport`]), or
/// anything that answers a request, such as a bench's instant answer.
pub trait Exchange {
    /// Sends one request and reads the whole answer.
    fn send(
        &self,
        req: Request<Bytes>,
    ) -> impl std::future::Future<Output = Result<Answer, ClientError>> + Send;
}

impl Exchange for Transport {
    fn send(
        &self,
        req: Request<Bytes>,
    ) -> impl std::future::Future<Output = Result<Answer, ClientError>> + Send {
        Transport::send(self, req)
    }
}

/// Sends requests. Cheap to clone (the connection pool is shared).
#[derive(Debug, Clone)]
pub struct Transport {
    client: reqwest::Client,
    max_body: u64,
}

impl Transport {
    /// A transport with `options`; the CA file is read now, and one that
    /// holds no certificate is an error naming it.
    pub fn new(options: &HttpOptions) -> Result<Transport, ClientError> {
        Transport::with(options, None, None)
    }

    /// A transport that also trusts the CA certificates in `ca_pem` (a
    /// stub started for the run) and presents `identity` to a server
    /// that asks for a client certificate.
    pub fn with(
        options: &HttpOptions,
        ca_pem: Option<&[u8]>,
        identity: Option<&ClientIdentity>,
    ) -> Result<Transport, ClientError> {
        let mut extra = crate::tls::ca_file_roots(options.ca_file.as_deref())?;
        extra.extend(crate::tls::pem_roots(ca_pem)?);
        let tls = crate::tls::client_config(&extra, options.insecure, options.http2, identity)?;
        let mut b = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .connect_timeout(Duration::from_millis(options.connect_timeout_ms))
            .timeout(Duration::from_millis(options.timeout_ms))
            .redirect(reqwest::redirect::Policy::none());
        if !options.reuse_connections {
            b = b.pool_max_idle_per_host(0);
        }
        if options.http2 {
            b = b.http2_prior_knowledge();
        }
        let client = b
            .build()
            .map_err(|e| ClientError::new(ErrorKind::Config, format!("HTTP client: {e}")))?;
        Ok(Transport {
            client,
            max_body: options.max_body_bytes,
        })
    }

    /// Sends one request and reads the whole answer, up to the body limit.
    pub async fn send(&self, req: Request<Bytes>) -> Result<Answer, ClientError> {
        let req = reqwest::Request::try_from(req)
            .map_err(|e| ClientError::new(ErrorKind::Refused, e.to_string()))?;
        let mut res = self
            .client
            .execute(req)
            .await
            .map_err(|e| ClientError::transport(&e))?;
        let (status, headers) = (res.status(), res.headers().clone());
        let too_large = || {
            ClientError::new(
                ErrorKind::TooLarge,
                format!("the response body is over {} bytes", self.max_body),
            )
            .with_status(status)
        };
        match res.content_length() {
            // A declared length over the limit is refused before any of it is read.
            Some(n) if n > self.max_body => return Err(too_large()),
            // hyper reads no more than the declared length: take it whole,
            // with no copy (the load driver's usual case).
            Some(_) => {
                let body = res
                    .bytes()
                    .await
                    .map_err(|e| ClientError::transport(&e).with_status(status))?;
                return Ok(Answer {
                    status,
                    headers,
                    body,
                });
            }
            None => {}
        }
        let mut body = bytes::BytesMut::new();
        while let Some(chunk) = res
            .chunk()
            .await
            .map_err(|e| ClientError::transport(&e).with_status(status))?
        {
            if (body.len() + chunk.len()) as u64 > self.max_body {
                // Dropping the response closes the connection: the rest is never read.
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Answer {
            status,
            headers,
            body: body.freeze(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(retry_after: &str) -> Answer {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::RETRY_AFTER, retry_after.parse().unwrap());
        Answer {
            status: StatusCode::SERVICE_UNAVAILABLE,
            headers,
            body: Bytes::new(),
        }
    }

    /// A token answer's `Debug` shows its shape, never the token.
    #[test]
    fn an_answer_debugs_without_its_body() {
        let a = Answer::token_json(Bytes::from_static(
            br#"{"access_token":"PLANTED-tok-9","token_type":"Bearer"}"#,
        ));
        let shown = format!("{a:?}");
        assert!(!shown.contains("PLANTED"), "{shown}");
        assert!(shown.contains("body_bytes: 54"), "{shown}");
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        assert_eq!(answer("7").retry_after(), Some(Duration::from_secs(7)));
        let later = std::time::SystemTime::now() + Duration::from_secs(120);
        let d = answer(&httpdate::fmt_http_date(later))
            .retry_after()
            .unwrap();
        assert!(
            d > Duration::from_secs(100) && d <= Duration::from_secs(120),
            "{d:?}"
        );
        assert_eq!(answer("soon").retry_after(), None);
        assert_eq!(
            answer("Wed, 21 Oct 2015 07:28:00 GMT").retry_after(),
            None,
            "a past date"
        );
    }
}
