//! RFC 8705: a client that authenticates with its TLS certificate gets a
//! token bound to that certificate, and nothing without it. A flow that
//! authenticates otherwise skips these.

use tokenprobe_protocol::System;
use tokenprobe_protocol::client_auth::{ClientCertificate, Credential};
use tokenprobe_protocol::jwt;
use tokenprobe_protocol::mtls::{self, Binding};
use tokenprobe_protocol::rfc6749::ErrorCode;

use super::{Checked, Finding, access_token, broken, refused_as};
use crate::catalog::{Entry, Mark, check, entry, varies};
use crate::endpoint::Target;

fn certificate(target: &Target) -> Result<ClientCertificate, Finding> {
    match target.client_credentials()?.credential() {
        Credential::Certificate(Some(cert)) => Ok(cert.clone()),
        _ => Err(Finding::Skipped(
            "the client does not authenticate with a certificate (auth = \"tls_client_auth\" or \"self_signed_tls_client_auth\")"
                .into(),
        )),
    }
}

/// MT-01: the token names the certificate the client presented in `cnf`
/// `x5t#S256` (§3.1); not bound at all is a warning, unless the metadata
/// says the server binds its tokens (§3.3).
pub(crate) async fn token_is_bound(target: &Target) -> Checked {
    let cert = certificate(target)?;
    let reply = target.success().await?;
    let Ok(token) = jwt::decode_unverified(access_token(&reply)) else {
        return Err(Finding::Skipped("the access token is opaque".into()));
    };
    let promised = target
        .metadata()
        .and_then(|m| m.tls_client_certificate_bound_access_tokens)
        == Some(true);
    match mtls::binding(&token.claims, &cert.thumbprint) {
        Binding::Bound => Ok(()),
        Binding::Other => broken(mtls::OTHER_CERTIFICATE),
        Binding::Unbound if promised => broken(
            "the metadata says tokens are certificate-bound, but this one has no cnf x5t#S256",
        ),
        Binding::Unbound => Err(Finding::Warning(mtls::UNBOUND.into())),
    }
}

/// MT-02: the working request without the client certificate is refused
/// (§2): 400 or 401, no token.
pub(crate) async fn certificate_required(target: &Target) -> Checked {
    certificate(target)?;
    if !target.has_bare_transport() {
        return Err(Finding::Skipped(
            "no transport without the client certificate was given to this target".into(),
        ));
    }
    target.control().await?;
    let form = target.working_form()?;
    let reply = target.send_bare(form.request()?).await?;
    // Refused for the client's authentication (RFC 6749 §5.2), not for
    // something else about the request.
    refused_as(
        &reply,
        "a request without the certificate",
        ErrorCode::InvalidClient.as_str(),
    )
}

/// This module's entries of the catalog, in the order they run.
pub(crate) const ENTRIES: &[Entry] = &[
    entry(
        "MT-01",
        check!(token_is_bound),
        System::CLIENT_CREDENTIALS,
        Mark::Rfc,
        "a mutual-TLS token is bound to the certificate",
        "the working request over a connection with the client certificate",
        "a JWT whose `cnf` `x5t#S256` is the certificate's SHA-256 thumbprint (unbound: a warning, a failure where the metadata promises binding)",
    ),
    varies(
        entry(
            "MT-02",
            check!(certificate_required),
            System::CLIENT_CREDENTIALS,
            Mark::Rfc,
            "a request without the certificate is refused",
            "the working request over a connection without the client certificate",
            "400 or 401, no token",
        ),
        "the client certificate, left out of the TLS handshake",
    ),
];
