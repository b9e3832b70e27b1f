//! DPoP (RFC 9449): a proof of possession of a key, sent with each token
//! request, and the token bound to that key. Sans-I/O like the rest: the
//! proof's header and claims, the rules a server checks them by, the
//! key's thumbprint (RFC 7638) and how an answer says which nonce to use.
//! The signing is the client's ([`ProofSigner`]), the verifying the
//! server's.

use std::fmt;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderMap, Method, Uri};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::client_auth::SignError;
use crate::error::DecodeError;
use crate::jwt::{AccessTokenClaims, Algorithm};
use crate::{Secret, wire};

/// The request header that carries a proof.
pub const HEADER: &str = "dpop";
/// The answer header that gives the nonce to put in the next proofs.
pub const NONCE_HEADER: &str = "dpop-nonce";

/// A proof as the value of its `DPoP` header, marked sensitive (kept out
/// of `Debug` output and header tables).
pub fn header_value(proof: &Secret) -> Result<http::HeaderValue, crate::RequestError> {
    wire::secret_header("DP-01", HEADER, proof.expose())
}
/// A proof's `typ`.
pub const TYP: &str = "dpop+jwt";
/// The error of a server that wants a (new) nonce in the proof (§8).
pub const USE_NONCE: &str = "use_dpop_nonce";
/// The error of a server that refuses the proof (§5).
pub const INVALID_PROOF: &str = "invalid_dpop_proof";
/// A bound token's `token_type` (§5), compared without case.
pub const TOKEN_TYPE: &str = "DPoP";
/// How far a proof's `iat` may be from the server's clock, either way.
pub const IAT_WINDOW_SECS: u64 = 60;

/// A public key as a proof's header carries it (RFC 7517): P-256, RSA or
/// Ed25519, the members RFC 7638 hashes and nothing private.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kty")]
pub enum Jwk {
    /// An elliptic-curve key.
    #[serde(rename = "EC")]
    Ec {
        /// `P-256`.
        crv: String,
        /// The x coordinate, base64url.
        x: String,
        /// The y coordinate, base64url.
        y: String,
    },
    /// An RSA key.
    #[serde(rename = "RSA")]
    Rsa {
        /// The modulus, base64url.
        n: String,
        /// The exponent, base64url.
        e: String,
    },
    /// An octet key pair (`Ed25519`).
    #[serde(rename = "OKP")]
    Okp {
        /// `Ed25519`.
        crv: String,
        /// The public key, base64url.
        x: String,
    },
}

impl Jwk {
    /// The RFC 7638 thumbprint: SHA-256 of the required members in
    /// lexicographic order, without spaces, base64url. What a bound
    /// token's `cnf.jkt` holds.
    pub fn thumbprint(&self) -> String {
        // serde_json writes each string escaped as JSON: the members are
        // base64url and curve names, so no escaping happens.
        let canonical = match self {
            Jwk::Ec { crv, x, y } => {
                serde_json::json!({ "crv": crv, "kty": "EC", "x": x, "y": y })
            }
            Jwk::Rsa { n, e } => serde_json::json!({ "e": e, "kty": "RSA", "n": n }),
            Jwk::Okp { crv, x } => serde_json::json!({ "crv": crv, "kty": "OKP", "x": x }),
        };
        // `json!` keeps members sorted (no `preserve_order`): the order
        // RFC 7638 asks for.
        let text = canonical.to_string();
        URL_SAFE_NO_PAD.encode(Sha256::digest(text.as_bytes()))
    }
}

/// A proof's JOSE header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofHeader {
    /// [`TYP`].
    pub typ: String,
    /// The signing algorithm, as written (a server must refuse `none` and
    /// the symmetric ones).
    pub alg: String,
    /// The public key that verifies the proof.
    pub jwk: Jwk,
}

impl ProofHeader {
    /// The header of a proof signed with `alg` by the key `jwk`.
    pub fn new(alg: Algorithm, jwk: Jwk) -> ProofHeader {
        ProofHeader {
            typ: TYP.into(),
            alg: alg.name().into(),
            jwk,
        }
    }

    /// The header as a compact JWS carries it.
    pub fn encoded(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    /// Why a server refuses this header; `None` when it takes it. The
    /// algorithm must be an asymmetric one this workspace verifies (§4.3
    /// item 5: not `none`, no MAC).
    pub fn problem(&self) -> Option<ProofProblem> {
        if !self.typ.eq_ignore_ascii_case(TYP) {
            return Some(ProofProblem::Typ);
        }
        match Algorithm::from_name(&self.alg) {
            Some(a) if !a.is_symmetric() => None,
            _ => Some(ProofProblem::Alg),
        }
    }
}

/// A proof's claims (§4.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofClaims {
    /// Unique per proof, so that a server can refuse a replay.
    pub jti: String,
    /// The request's method.
    pub htm: String,
    /// The request's URL without query or fragment.
    pub htu: String,
    /// When it was made, seconds since the epoch.
    pub iat: u64,
    /// The server's nonce, when it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
}

impl ProofClaims {
    /// What a client signs for one `method` request to `uri` at `now`.
    pub fn new(
        method: &Method,
        uri: &Uri,
        now: u64,
        jti: String,
        nonce: Option<String>,
    ) -> ProofClaims {
        ProofClaims {
            jti,
            htm: method.as_str().to_owned(),
            htu: htu(uri),
            iat: now,
            nonce,
        }
    }

    /// Why a server at `now` refuses these claims on a `method` request to
    /// `uri` (§4.3); `None` when it takes them. `nonce` is the one it asks
    /// for, if it asks for one: a proof without it, or with another, is
    /// answered [`USE_NONCE`] (§8). Replays are the server's to remember.
    pub fn problem(
        &self,
        method: &Method,
        uri: &Uri,
        now: u64,
        nonce: Option<&str>,
    ) -> Option<ProofProblem> {
        if self.jti.is_empty() {
            return Some(ProofProblem::NoJti);
        }
        if self.htm != method.as_str() {
            return Some(ProofProblem::Htm);
        }
        if self.htu != htu(uri) {
            return Some(ProofProblem::Htu);
        }
        if self.iat.abs_diff(now) > IAT_WINDOW_SECS {
            return Some(ProofProblem::Iat);
        }
        match nonce {
            Some(n) if self.nonce.as_deref() != Some(n) => Some(ProofProblem::Nonce),
            _ => None,
        }
    }
}

/// Why a proof is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProofProblem {
    /// No proof where the client must send one.
    #[error("a DPoP proof is required")]
    Missing,
    /// Not a compact JWS with a proof's header and claims.
    #[error("the DPoP proof is not a JWS with a proof's header and claims")]
    Shape,
    /// `typ` is not `dpop+jwt`.
    #[error("the DPoP proof's typ is not dpop+jwt")]
    Typ,
    /// `none`, a MAC, or an algorithm not supported.
    #[error("the DPoP proof's alg is none, symmetric or not supported")]
    Alg,
    /// The signature does not verify with the header's key.
    #[error("the DPoP proof's signature does not verify")]
    Signature,
    /// No `jti`.
    #[error("the DPoP proof has no jti")]
    NoJti,
    /// `htm` is not the request's method.
    #[error("the DPoP proof's htm is not this request's method")]
    Htm,
    /// `htu` is not the request's URL.
    #[error("the DPoP proof's htu is not this endpoint")]
    Htu,
    /// `iat` outside the server's window.
    #[error("the DPoP proof's iat is outside the accepted window")]
    Iat,
    /// The proof's `jti` was seen before.
    #[error("the DPoP proof was used before (a replay)")]
    Replay,
    /// The nonce is missing or not the server's current one.
    #[error("the DPoP proof must carry the server's nonce")]
    Nonce,
}

impl ProofProblem {
    /// The OAuth error a server answers with (§5, §8).
    pub fn error_code(self) -> &'static str {
        match self {
            ProofProblem::Nonce => USE_NONCE,
            _ => INVALID_PROOF,
        }
    }
}

/// DP-01: a bound token's `token_type` is `DPoP` (any case).
pub(crate) fn require_dpop_type(token_type: &str) -> Result<(), DecodeError> {
    match token_type.eq_ignore_ascii_case(TOKEN_TYPE) {
        true => Ok(()),
        false => Err(DecodeError::Contract {
            check: "DP-01",
            reason: format!("`token_type` is \"{token_type}\", expected DPoP for a DPoP request"),
        }),
    }
}

/// DP-01: a JWT access token for a DPoP request names the key's
/// thumbprint in `cnf.jkt` (§6.1).
pub(crate) fn require_binding(
    claims: &AccessTokenClaims,
    key: &ProofKey,
) -> Result<(), DecodeError> {
    let jkt = claims.cnf.as_ref().and_then(|c| c.jkt.as_deref());
    match jkt == Some(key.thumbprint()) {
        true => Ok(()),
        false => Err(DecodeError::Contract {
            check: "DP-01",
            reason: match jkt {
                None => "the token's cnf has no jkt: it is not bound to the DPoP key".into(),
                Some(_) => "the token's cnf.jkt is not the DPoP key's thumbprint".into(),
            },
        }),
    }
}

/// Whether an answer refuses a request for want of the server's (new)
/// nonce alone (§8): `400` with the OAuth error `use_dpop_nonce`.
pub fn asks_for_nonce(status: http::StatusCode, body: &[u8]) -> bool {
    status == http::StatusCode::BAD_REQUEST
        && serde_json::from_slice::<crate::rfc6749::OAuthError>(body)
            .is_ok_and(|e| e.code.as_str() == USE_NONCE)
}

/// `htu` of a request to `uri` (§4.2): its URL without query or fragment.
pub fn htu(uri: &Uri) -> String {
    match (uri.scheme_str(), uri.authority()) {
        (Some(scheme), Some(authority)) => format!("{scheme}://{authority}{}", uri.path()),
        _ => uri.path().to_owned(),
    }
}

/// The nonce an answer gives for the next proofs (§8), if it gives one
/// of visible ASCII, as §8.1's grammar has it.
pub fn nonce_of(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(NONCE_HEADER)?.to_str().ok()?;
    wire::is_visible_ascii(value).then(|| value.to_owned())
}

/// Makes proofs with the client's key (the client crate holds it; this
/// crate stays free of signing) and keeps the server's latest nonce.
pub trait ProofSigner: Send + Sync + fmt::Debug {
    /// The algorithm it signs with.
    fn algorithm(&self) -> Algorithm;
    /// Its public key, as the proof's header carries it.
    fn jwk(&self) -> &Jwk;
    /// The compact JWS of `claims` under `header` (already encoded).
    fn sign(&self, header: &str, claims: &ProofClaims) -> Result<Secret, SignError>;
    /// A value never used before, for `jti`.
    fn unique_id(&self) -> String;
    /// Seconds since the epoch by the client's clock, for `iat`.
    fn now(&self) -> u64;
    /// The nonce the server gave last, if any.
    fn nonce(&self) -> Option<String>;
    /// Keeps a nonce the server gave, for the next proofs.
    fn set_nonce(&self, nonce: String);
    /// The private key as the user gave it, if they gave one (a key made
    /// for the run never leaves memory), so that whatever echoes it is
    /// scrubbed like any secret.
    fn material(&self) -> Option<&Secret>;
}

/// What a token request holds to prove its key: a shared
/// [`ProofSigner`], and whether the server registered the client as
/// bound (RFC 9449 §5.2, `dpop_bound_access_tokens`), so that it must
/// refuse the client's requests without a proof.
#[derive(Debug, Clone)]
pub struct ProofKey {
    /// Signs the proofs.
    pub signer: Arc<dyn ProofSigner>,
    /// The client is registered as bound.
    pub bound: bool,
    /// The proofs' header, encoded once: the same for every proof.
    header: Arc<str>,
    /// The key's thumbprint, worked out once.
    thumbprint: Arc<str>,
}

impl PartialEq for ProofKey {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.signer, &other.signer) && self.bound == other.bound
    }
}

impl Eq for ProofKey {}

impl ProofKey {
    /// The proofs `signer` makes, for a client the server registered as
    /// `bound` or not.
    pub fn new(signer: Arc<dyn ProofSigner>, bound: bool) -> ProofKey {
        let header = ProofHeader::new(signer.algorithm(), signer.jwk().clone()).encoded();
        let thumbprint = signer.jwk().thumbprint();
        ProofKey {
            signer,
            bound,
            header: header.into(),
            thumbprint: thumbprint.into(),
        }
    }

    /// A fresh proof for a `method` request to `uri`, carrying the
    /// server's latest nonce.
    pub fn proof(&self, method: &Method, uri: &Uri) -> Result<Secret, SignError> {
        let key = &self.signer;
        let claims = ProofClaims::new(method, uri, key.now(), key.unique_id(), key.nonce());
        key.sign(&self.header, &claims)
    }

    /// Its key's thumbprint, which a bound token's `cnf.jkt` must equal.
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// Keeps the nonce `headers` give, if any (any answer may, §8).
    pub fn observe(&self, headers: &HeaderMap) {
        if let Some(n) = nonce_of(headers) {
            self.signer.set_nonce(n);
        }
    }
}

/// A proof as a server reads it before checking its signature: its
/// header and claims, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedProof {
    /// The header.
    pub header: ProofHeader,
    /// The claims.
    pub claims: ProofClaims,
}

impl ReceivedProof {
    /// Decodes the proof in `headers`: `Ok(None)` when there is none, an
    /// error when there are several or one that is not a proof.
    pub fn of(headers: &HeaderMap) -> Result<Option<(ReceivedProof, String)>, ProofProblem> {
        let mut all = headers.get_all(HEADER).iter();
        let (Some(value), None) = (all.next(), all.next()) else {
            return match headers.contains_key(HEADER) {
                true => Err(ProofProblem::Shape),
                false => Ok(None),
            };
        };
        let text = value.to_str().map_err(|_| ProofProblem::Shape)?;
        let mut parts = text.split('.');
        let (Some(h), Some(c), Some(_), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(ProofProblem::Shape);
        };
        let json = |part: &str| {
            URL_SAFE_NO_PAD
                .decode(part)
                .map_err(|_| ProofProblem::Shape)
        };
        let header: ProofHeader =
            serde_json::from_slice(&json(h)?).map_err(|_| ProofProblem::Shape)?;
        let claims: ProofClaims =
            serde_json::from_slice(&json(c)?).map_err(|_| ProofProblem::Shape)?;
        Ok(Some((ReceivedProof { header, claims }, text.to_owned())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7638 §3.1's example key and its thumbprint.
    #[test]
    fn the_thumbprint_is_rfc_7638s() {
        let jwk = Jwk::Rsa {
            n: "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw".into(),
            e: "AQAB".into(),
        };
        assert_eq!(
            jwk.thumbprint(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    /// RFC 8037 Appendix A.3: an Ed25519 key's thumbprint.
    #[test]
    fn an_okp_thumbprint_is_rfc_8037s() {
        let jwk = Jwk::Okp {
            crv: "Ed25519".into(),
            x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo".into(),
        };
        assert_eq!(
            jwk.thumbprint(),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }

    #[test]
    fn htu_leaves_out_query_and_fragment() {
        let uri: Uri = "https://as.example.com:8443/oauth2/token?x=1#f"
            .parse()
            .unwrap();
        assert_eq!(htu(&uri), "https://as.example.com:8443/oauth2/token");
    }

    fn claims() -> ProofClaims {
        let uri: Uri = "https://as.example.com/token".parse().unwrap();
        ProofClaims::new(&Method::POST, &uri, 1000, "j1".into(), Some("n1".into()))
    }

    #[test]
    fn a_server_refuses_each_broken_claim() {
        let uri: Uri = "https://as.example.com/token?q".parse().unwrap();
        let ok = claims();
        assert_eq!(ok.problem(&Method::POST, &uri, 1000, Some("n1")), None);
        assert_eq!(ok.problem(&Method::POST, &uri, 1060, None), None);
        assert_eq!(
            ok.problem(&Method::GET, &uri, 1000, None),
            Some(ProofProblem::Htm)
        );
        let other: Uri = "https://as.example.com/other".parse().unwrap();
        assert_eq!(
            ok.problem(&Method::POST, &other, 1000, None),
            Some(ProofProblem::Htu)
        );
        assert_eq!(
            ok.problem(&Method::POST, &uri, 1061, None),
            Some(ProofProblem::Iat)
        );
        assert_eq!(
            ok.problem(&Method::POST, &uri, 1000, Some("n2")),
            Some(ProofProblem::Nonce)
        );
        assert_eq!(ProofProblem::Nonce.error_code(), USE_NONCE);
        assert_eq!(ProofProblem::Replay.error_code(), INVALID_PROOF);
    }

    #[test]
    fn a_server_refuses_none_and_mac_headers() {
        let jwk = Jwk::Okp {
            crv: "Ed25519".into(),
            x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo".into(),
        };
        let mut h = ProofHeader::new(Algorithm::EdDSA, jwk);
        assert_eq!(h.problem(), None);
        for alg in ["none", "HS256", "XX"] {
            h.alg = alg.into();
            assert_eq!(h.problem(), Some(ProofProblem::Alg), "{alg}");
        }
        h.alg = "ES256".into();
        h.typ = "JWT".into();
        assert_eq!(h.problem(), Some(ProofProblem::Typ));
    }

    #[test]
    fn one_proof_header_is_read_and_anything_else_is_refused() {
        let mut headers = HeaderMap::new();
        assert_eq!(ReceivedProof::of(&headers), Ok(None));
        let jwk = Jwk::Ec {
            crv: "P-256".into(),
            x: "x".into(),
            y: "y".into(),
        };
        let header = ProofHeader::new(Algorithm::ES256, jwk).encoded();
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims()).unwrap());
        let proof = format!("{header}.{body}.sig");
        headers.insert(HEADER, proof.parse().unwrap());
        let (read, text) = ReceivedProof::of(&headers).unwrap().unwrap();
        assert_eq!((read.claims, text), (claims(), proof.clone()));
        headers.append(HEADER, proof.parse().unwrap());
        assert_eq!(ReceivedProof::of(&headers), Err(ProofProblem::Shape));
        headers.insert(HEADER, "a.b".parse().unwrap());
        assert_eq!(ReceivedProof::of(&headers), Err(ProofProblem::Shape));
    }

    #[test]
    fn only_a_printable_nonce_is_kept() {
        let mut headers = HeaderMap::new();
        headers.insert(NONCE_HEADER, "eyJ7S_zG.8".parse().unwrap());
        assert_eq!(nonce_of(&headers).as_deref(), Some("eyJ7S_zG.8"));
        headers.insert(NONCE_HEADER, "".parse().unwrap());
        assert_eq!(nonce_of(&headers), None);
    }
}
