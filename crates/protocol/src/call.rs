//! One request of a system and how its answer reads: what the client's
//! flow sends step by step and what the checks send and judge, through one
//! interface, whatever the system. Sans-I/O: a call encodes to an
//! `http::Request` and decodes a status, headers and body; sending is the
//! caller's.

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};

use crate::base_url::BaseUrl;
use crate::error::{ProviderError, RequestError};
use crate::grant::Grant;
use crate::{cess, cognito, vcd, veeva, venafi};

/// A request a system answers, and the reading of its answer.
pub trait Call {
    /// What a good answer gives.
    type Output;

    /// The request, sent to `base`.
    fn encode(&self, base: &BaseUrl) -> Result<Request<Bytes>, RequestError>;

    /// The answer read: the output, or the provider's refusal (or why the
    /// answer does not read).
    fn decode(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Self::Output, ProviderError>;
}

/// Each system's request types: their own `encode` and `decode_response`.
macro_rules! calls {
    ($($request:ty => $output:ty),* $(,)?) => {$(
        impl Call for $request {
            type Output = $output;

            fn encode(&self, base: &BaseUrl) -> Result<Request<Bytes>, RequestError> {
                <$request>::encode(self, base)
            }

            fn decode(
                &self,
                status: StatusCode,
                headers: &HeaderMap,
                body: &[u8],
            ) -> Result<$output, ProviderError> {
                self.decode_response(status, headers, body)
            }
        }
    )*};
}

calls! {
    cognito::TokenRequest => Grant,
    cess::TokenRequest => Grant,
    venafi::AuthorizeRequest => Grant,
    venafi::RefreshRequest => Grant,
    veeva::SessionRequest => Grant,
    vcd::SessionRequest => Grant,
}
