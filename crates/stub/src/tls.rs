//! Optional TLS: a certificate made at start, signed by a throwaway CA that
//! clients can be given, or a certificate and key from files.

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
pub(crate) fn server_config(tls: &Tls) -> Result<(Arc<ServerConfig>, Option<String>), TlsError> {
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
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(err)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(err)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok((Arc::new(config), ca))
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
