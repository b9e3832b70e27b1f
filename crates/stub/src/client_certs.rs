//! Mutual-TLS client authentication on the stub's side (RFC 8705 §2):
//! which certificate each client may present. A `tls_client_auth` client
//! registers the CA that issues its certificates (the chain is checked
//! with rustls's WebPKI verifier); a `self_signed_tls_client_auth` client
//! registers the certificates themselves, compared by thumbprint. The
//! handshake has already proven that the client holds the key.

use std::collections::HashMap;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::ClientCertVerifier;
use tokenprobe_protocol::mtls;

use crate::systems::CognitoConfig;
use crate::tokens::KeyError;

/// What a client registered for mutual TLS.
#[derive(Default)]
struct Registered {
    /// `self_signed_tls_client_auth`: the certificates' thumbprints.
    thumbprints: Vec<String>,
    /// `tls_client_auth`: its CA.
    issuer: Option<Arc<dyn ClientCertVerifier>>,
}

/// Every client's registered certificates and CA.
#[derive(Default)]
pub(crate) struct ClientCerts {
    by_client: HashMap<String, Registered>,
}

impl ClientCerts {
    /// Reads every client's `tls_certificates` and `tls_client_ca`.
    pub(crate) fn new(config: &CognitoConfig) -> Result<ClientCerts, KeyError> {
        let mut by_client = HashMap::new();
        for c in &config.clients {
            let bad = |what: &str| KeyError::Key(format!("client {}: {what}", c.id));
            let mut registered = Registered::default();
            for pem in &c.tls_certificates {
                let der = CertificateDer::from_pem_slice(pem.as_bytes()).map_err(|_| {
                    bad("tls_certificates holds a text that is not a PEM certificate")
                })?;
                registered.thumbprints.push(mtls::thumbprint(&der));
            }
            if let Some(pem) = &c.tls_client_ca {
                let mut roots = RootCertStore::empty();
                for der in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                    let der = der.map_err(|_| bad("tls_client_ca is not a PEM certificate"))?;
                    roots
                        .add(der)
                        .map_err(|e| bad(&format!("tls_client_ca: {e}")))?;
                }
                let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                        .build()
                        .map_err(|e| bad(&format!("tls_client_ca: {e}")))?;
                registered.issuer = Some(verifier);
            }
            if !registered.thumbprints.is_empty() || registered.issuer.is_some() {
                by_client.insert(c.id.clone(), registered);
            }
        }
        Ok(ClientCerts { by_client })
    }

    /// Whether no client authenticates with a certificate.
    pub(crate) fn is_empty(&self) -> bool {
        self.by_client.is_empty()
    }

    /// The thumbprint of `presented` (the connection's leaf certificate,
    /// DER) when it authenticates `client`; why not, otherwise.
    pub(crate) fn verify(
        &self,
        client: &str,
        presented: Option<&[u8]>,
    ) -> Result<String, &'static str> {
        let registered = self
            .by_client
            .get(client)
            .ok_or("the client authenticates with no certificate")?;
        let leaf = presented.ok_or("no client certificate on the connection")?;
        let thumbprint = mtls::thumbprint(leaf);
        if registered.thumbprints.contains(&thumbprint) {
            return Ok(thumbprint);
        }
        match &registered.issuer {
            Some(verifier) => verifier
                .verify_client_cert(&CertificateDer::from(leaf), &[], UnixTime::now())
                .map(|_| thumbprint)
                .map_err(|_| "the client certificate is not issued by the client's CA"),
            None => Err("the client certificate is not one the client registered"),
        }
    }
}
