//! Optional TLS: a certificate made at start, signed by a throwaway CA that
//! clients can be given, or a certificate and key from files. A client may
//! present a certificate (RFC 8705): the handshake proves it holds the
//! key, and the `cognito` route decides whether the certificate is one a
//! client registered ([`PeerCertificate`]).

use std::path::PathBuf;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// How the stub serves TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tls {
    /// A CA and a certificate for `localhost`, `127.0.0.1` and `::1`, made
    /// at start; the CA's PEM is on the handle.
    SelfSigned,
    /// PEM files: the certificate chain and its private key.
    Files {
        /// Certificate chain.
        cert: PathBuf,
        /// Private key (PKCS#8, PKCS#1 or SEC1).
        key: PathBuf,
    },
}

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("TLS: {0}")]
pub struct TlsError(String);

fn err(e: impl std::fmt::Display) -> TlsError {
    TlsError(e.to_string())
}

/// The server configuration and, when self-signed, the CA certificate's PEM.
/// `client_certificates`: ask clients for a certificate (some client
/// authenticates with one).
pub(crate) fn server_config(
    tls: &Tls,
    client_certificates: bool,
) -> Result<(Arc<ServerConfig>, Option<String>), TlsError> {
    let (chain, key, ca) = match tls {
        Tls::SelfSigned => {
            let (chain, key, ca) = self_signed().map_err(err)?;
            (chain, key, Some(ca))
        }
        Tls::Files { cert, key } => {
            let chain = CertificateDer::pem_file_iter(cert)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| TlsError(format!("{}: {e}", cert.display())))?;
            if chain.is_empty() {
                return Err(TlsError(format!("{}: no certificate", cert.display())));
            }
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| TlsError(format!("{}: {e}", key.display())))?;
            (chain, key, None)
        }
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(err)?;
    let builder = match client_certificates {
        true => builder.with_client_cert_verifier(Arc::new(AnyClientCertificate(provider))),
        false => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(chain, key).map_err(err)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok((Arc::new(config), ca))
}

/// The leaf certificate (DER) a client presented on the connection a
/// request came on: a request extension.
#[derive(Debug, Clone)]
pub(crate) struct PeerCertificate(pub(crate) bytes::Bytes);

/// Asks every client for a certificate and takes any, or none: which
/// certificate a client may use is the token endpoint's to say, per
/// client (a CA it registered, or the certificate itself). The handshake's
/// signature is still checked, so a presented certificate is one whose
/// key the client holds.
#[derive(Debug)]
struct AnyClientCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::server::danger::ClientCertVerifier for AnyClientCertificate {
    fn root_hint_subjects(&self) -> &[rustls::DistinguishedName] {
        &[]
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::server::danger::ClientCertVerified, rustls::Error> {
        Ok(rustls::server::danger::ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
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
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

type Generated = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>, String);

fn self_signed() -> Result<Generated, rcgen::Error> {
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "tokenprobe stub CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let leaf_key = KeyPair::generate()?;
    let mut leaf_params = CertificateParams::new(vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ])?;
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "tokenprobe stub");
    let leaf = leaf_params.signed_by(&leaf_key, &issuer)?;
    let key = PrivateKeyDer::try_from(leaf_key.serialize_der())
        .map_err(|e| rcgen::Error::PemError(format!("generated key: {e}")))?;
    Ok((
        vec![leaf.der().clone(), ca_cert.der().clone()],
        key,
        ca_cert.pem(),
    ))
}
