//! One request of a system and how its answer reads: what the client's
//! flow sends step by step and what the checks send and judge, through one
//! interface, whatever the system. Sans-I/O: a call encodes to an
//! `http::Request` and decodes a status, headers and body; sending is the
//! caller's.

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};

use crate::base_url::BaseUrl;
use crate::dpop::ProofKey;
use crate::error::{ProviderError, RequestError};

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

    /// The DPoP key its requests prove, if any: a sender then keeps the
    /// nonce each answer gives and, refused for want of it, sends the
    /// request once more (RFC 9449 §8).
    fn proof_key(&self) -> Option<&ProofKey> {
        None
    }
}

/// A system module's request types, each a [`Call`] through its own
/// `encode` and `decode_response`: `calls! { TokenRequest => Grant }`.
macro_rules! calls {
    ($($request:ty => $output:ty),* $(,)?) => {$(
        impl $crate::Call for $request {
            type Output = $output;

            fn encode(
                &self,
                base: &$crate::BaseUrl,
            ) -> Result<http::Request<bytes::Bytes>, $crate::RequestError> {
                <$request>::encode(self, base)
            }

            fn decode(
                &self,
                status: http::StatusCode,
                headers: &http::HeaderMap,
                body: &[u8],
            ) -> Result<$output, $crate::ProviderError> {
                self.decode_response(status, headers, body)
            }
        }
    )*};
}

pub(crate) use calls;
