//! Whom the client trusts: the platform's certificate store (so a corporate
//! CA installed on the machine works), plus the CAs in `ca_file`; the
//! compiled-in Mozilla roots only where the platform has no store at all.
//! And who the client is, where it authenticates with a certificate
//! (RFC 8705): a [`ClientIdentity`]. One crypto provider, aws-lc-rs, for
//! the whole binary.

use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::{ClientError, ErrorKind};

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The platform's roots, read once per process (reading them parses every
/// certificate on the machine); empty where the machine has no store.
fn platform_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| rustls_native_certs::load_native_certs().certs)
}

/// Why a CA file or text gives no certificate.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CaError {
    /// It could not be read.
    #[error("{0}")]
    Read(#[from] std::io::Error),
    /// It is not PEM.
    #[error("not PEM certificates ({0})")]
    NotPem(#[from] rustls::pki_types::pem::Error),
    /// It is PEM without a certificate.
    #[error("holds no PEM certificate (-----BEGIN CERTIFICATE-----)")]
    Empty,
}

/// The CA certificates in a PEM text; none is an error, since a file with
/// no certificate would make every request fail with `tls` later.
pub(crate) fn pem_certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, CaError> {
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(pem).collect::<Result<_, _>>()?;
    if certs.is_empty() {
        return Err(CaError::Empty);
    }
    Ok(certs)
}

/// The CA certificates of `[http] ca_file`, read now; a file that holds
/// none is an error naming it.
pub(crate) fn ca_file_roots(
    path: Option<&std::path::Path>,
) -> Result<Vec<CertificateDer<'static>>, ClientError> {
    let Some(path) = path else {
        return Ok(Vec::new());
    };
    std::fs::read(path)
        .map_err(CaError::from)
        .and_then(|pem| pem_certificates(&pem))
        .map_err(|e| {
            ClientError::new(
                ErrorKind::Config,
                format!("CA file {}: {e}", path.display()),
            )
        })
}

/// The CA certificates in `pem`, if given.
pub(crate) fn pem_roots(pem: Option<&[u8]>) -> Result<Vec<CertificateDer<'static>>, ClientError> {
    match pem {
        Some(pem) => pem_certificates(pem)
            .map_err(|e| ClientError::new(ErrorKind::Config, format!("CA certificates: {e}"))),
        None => Ok(Vec::new()),
    }
}

/// A client certificate (its chain, leaf first) and its private key, read
/// once from PEM, that the transport presents to a server that asks. Its
/// `Debug` shows the leaf's thumbprint only.
pub struct ClientIdentity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl Clone for ClientIdentity {
    fn clone(&self) -> Self {
        ClientIdentity {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
        }
    }
}

impl std::fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("x5t#S256", &self.thumbprint())
            .finish_non_exhaustive()
    }
}

impl ClientIdentity {
    /// The certificates of `certificate` (leaf first) and the key of
    /// `key` (PKCS#8, PKCS#1 or SEC 1 PEM). Errors never quote either.
    pub fn from_pem(certificate: &[u8], key: &[u8]) -> Result<ClientIdentity, ClientError> {
        let config = |why: String| ClientError::new(ErrorKind::Config, why);
        let chain =
            pem_certificates(certificate).map_err(|e| config(format!("certificate: {e}")))?;
        let key = PrivateKeyDer::from_pem_slice(key)
            .map_err(|_| config("private_key: not a PEM private key".into()))?;
        // A key that is not the certificate's fails here, not at the
        // first handshake (no roots needed for that: `insecure`).
        let identity = ClientIdentity { chain, key };
        client_config(&[], true, false, Some(&identity))?;
        Ok(identity)
    }

    /// The leaf's `x5t#S256`, what a token bound to it names.
    pub fn thumbprint(&self) -> String {
        tokenprobe_protocol::mtls::thumbprint(self.chain[0].as_ref())
    }
}

/// The rustls configuration for `extra` CAs on top of the platform's, or
/// one that accepts any certificate when `insecure`; ALPN offers HTTP/2
/// alone when `http2`, else HTTP/1.1; `identity` is presented to a server
/// that asks for a client certificate.
pub(crate) fn client_config(
    extra: &[CertificateDer<'static>],
    insecure: bool,
    http2: bool,
    identity: Option<&ClientIdentity>,
) -> Result<ClientConfig, ClientError> {
    let config_error = |e: rustls::Error| ClientError::new(ErrorKind::Config, format!("TLS: {e}"));
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(config_error)?;
    let builder = if insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider())))
    } else {
        let mut roots = RootCertStore::empty();
        let platform = platform_roots();
        if platform.is_empty() {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        // A platform store often holds a few certificates rustls cannot
        // use; the others still count.
        roots.add_parsable_certificates(platform.iter().cloned());
        for cert in extra {
            roots
                .add(cert.clone())
                .map_err(|e| ClientError::new(ErrorKind::Config, format!("CA certificate: {e}")))?;
        }
        builder.with_root_certificates(roots)
    };
    let mut config = match identity {
        Some(id) => builder
            .with_client_auth_cert(id.chain.clone(), id.key.clone_key())
            .map_err(|e| {
                ClientError::new(
                    ErrorKind::Config,
                    format!("certificate and private_key: {e}"),
                )
            })?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = match http2 {
        true => vec![b"h2".to_vec()],
        false => vec![b"http/1.1".to_vec()],
    };
    Ok(config)
}

/// `insecure = true`: any certificate, any name. The handshake's
/// signatures are still checked, so the connection is at least to the
/// holder of the key the certificate names.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_with_no_certificate_is_refused() {
        assert!(pem_certificates(b"").is_err());
        assert!(pem_certificates(b"just some text\n").is_err());
        let e = pem_certificates(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
            .unwrap_err();
        assert!(matches!(e, CaError::Empty), "{e}");
    }
}
