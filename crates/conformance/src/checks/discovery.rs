//! What an issuer's metadata (RFC 8414, OpenID Connect discovery)
//! advertises against what its token endpoint serves. They run for a
//! `cognito` flow that names an `issuer`, and skip otherwise.

use tokenprobe_protocol::client_auth::ClientAuth;
use tokenprobe_protocol::discovery::{self, Metadata};
use tokenprobe_protocol::{cognito, wire};

use super::cognito::verified_by;
use super::{Checked, Finding, access_token, answer, broken, judged, require};
use crate::catalog::{Entry, Mark, check, entry, varies};
use crate::endpoint::{Target, TargetError};
use tokenprobe_protocol::System::Cognito;

fn metadata(target: &Target) -> Result<&Metadata, Finding> {
    target
        .metadata()
        .ok_or_else(|| Finding::Skipped("the flow names no issuer".into()))
}

fn get(url: &str) -> Result<http::Request<bytes::Bytes>, Finding> {
    wire::get_json(url).map_err(|e| Finding::Broken(e.to_string()))
}

/// DS-01: the issuer's metadata is served labelled JSON, naming the issuer, and
/// its token endpoint is `https` (or on this machine).
pub(crate) async fn metadata_served(target: &Target) -> Checked {
    let issuer = metadata(target)?.issuer.clone();
    let mut answers = Vec::new();
    for url in discovery::locations(&issuer).map_err(|e| Finding::Broken(e.to_string()))? {
        let reply = target.send(get(&url)?).await?;
        if !reply.status.is_success() {
            answers.push(format!("{url}: {}", reply.status.as_u16()));
            continue;
        }
        if !wire::media_type_is(&reply.headers, wire::JSON) {
            return broken(format!("{url} is not labelled JSON (RFC 8414 §3.2)"));
        }
        let found = Metadata::parse(&issuer, &reply.body)
            .map_err(|e| Finding::Broken(format!("{url}: {e}")))?;
        let (base, _) = found
            .token_endpoint()
            .map_err(|e| Finding::Broken(format!("{url}: {e}")))?;
        return require(!base.is_cleartext_off_machine(), || {
            format!("token_endpoint {} is not https", base)
        });
    }
    broken(format!("no metadata: {}", answers.join("; ")))
}

/// DS-02: every advertised client authentication method that the
/// configured credential can use gets a token (a secret: Basic and body;
/// an HS256 signer: `client_secret_jwt`; a key: `private_key_jwt`); the
/// configured one unadvertised is a warning.
pub(crate) async fn advertised_auth_methods_work(target: &Target) -> Checked {
    let m = metadata(target)?.clone();
    let account = target.account_of::<cognito::TokenRequest>()?.clone();
    let usable: Vec<ClientAuth> = ClientAuth::ALL
        .into_iter()
        .filter(|a| account.credential().fits(*a) && m.advertises(*a))
        .collect();
    for auth in usable {
        let request = account.clone().with_auth(auth).map_err(TargetError::from)?;
        let reply = target.call(&request).await?;
        if !reply.status.is_success() || access_token(&reply).is_empty() {
            return broken(format!(
                "{} is advertised, but: {}",
                auth.method_name(),
                answer(&reply)
            ));
        }
    }
    if !m.advertises(account.auth()) {
        return Err(Finding::Warning(format!(
            "the configured {} works but is not advertised ({})",
            account.auth().method_name(),
            m.auth_methods().join(", ")
        )));
    }
    Ok(())
}

/// DS-03: the advertised `jwks_uri` verifies the access token (skipped
/// without one, or for an opaque token).
pub(crate) async fn advertised_jwks_verifies(target: &Target) -> Checked {
    let Some(uri) = metadata(target)?.jwks_uri.clone() else {
        return Err(Finding::Skipped("the metadata has no jwks_uri".into()));
    };
    verified_by(target, get(&uri)?, "").await
}

/// Grant types a client-credentials client may send without more
/// parameters than `grant_type`, in the order DS-04 tries them.
const PROBE_GRANTS: &[&str] = &[
    "password",
    "urn:ietf:params:oauth:grant-type:device_code",
    "urn:ietf:params:oauth:grant-type:token-exchange",
    "urn:ietf:params:oauth:grant-type:jwt-bearer",
    "refresh_token",
];

/// DS-04: a grant type the metadata does not advertise gets no token.
pub(crate) async fn unadvertised_grant_refused(target: &Target) -> Checked {
    let m = metadata(target)?;
    if m.grant_types_supported.is_none() {
        return Err(Finding::Skipped(
            "the metadata has no grant_types_supported".into(),
        ));
    }
    let advertised = m.grant_types();
    let Some(grant) = PROBE_GRANTS.iter().find(|g| !advertised.contains(g)) else {
        return Err(Finding::Skipped(
            "every grant type it could send is advertised".into(),
        ));
    };
    target.control().await?;
    let mut form = target.working_form()?;
    form.set("grant_type", grant);
    let reply = target.send_form(&form).await?;
    judged(&reply)?;
    require(
        reply.status.is_client_error() && access_token(&reply).is_empty(),
        || format!("grant_type={grant} (not advertised) got {}", answer(&reply)),
    )?;
    // The grant's own parameters are missing from the probe (a password
    // grant has no username here), so only a refusal of the grant type
    // itself shows that it is not served.
    let error = &reply.json()["error"];
    match error == "unsupported_grant_type" || error == "unauthorized_client" {
        true => Ok(()),
        false => Err(Finding::Warning(format!(
            "grant_type={grant} (not advertised) refused, but not as unsupported: {}",
            answer(&reply)
        ))),
    }
}

/// DS-05: a DPoP flow's algorithm is among the advertised
/// `dpop_signing_alg_values_supported` (RFC 9449 §5.1); none advertised
/// is a warning (the member is optional, but then a client cannot know).
pub(crate) async fn advertised_dpop_algorithm(target: &Target) -> Checked {
    let m = metadata(target)?;
    let account = target.account_of::<cognito::TokenRequest>()?;
    let Some(key) = account.dpop() else {
        return Err(Finding::Skipped(
            "the flow sends no DPoP proof (no `dpop`)".into(),
        ));
    };
    let alg = key.signer.algorithm().name();
    match &m.dpop_signing_alg_values_supported {
        None => Err(Finding::Warning(
            "the metadata has no dpop_signing_alg_values_supported".into(),
        )),
        Some(algs) => require(algs.iter().any(|a| a == alg), || {
            format!("{alg} is not among the advertised {algs:?}")
        }),
    }
}

/// This module's entries of the catalog, in the order they run.
pub(crate) const ENTRIES: &[Entry] = &[
    entry(
        "DS-01",
        check!(metadata_served),
        &[Cognito],
        Mark::Rfc,
        "the issuer's metadata is served",
        "GET of the issuer's RFC 8414 and OpenID Connect metadata locations",
        "a JSON document whose `issuer` is the issuer (RFC 8414 §3.3) and whose `token_endpoint` is https or on this machine (skipped without `issuer`)",
    ),
    entry(
        "DS-02",
        check!(advertised_auth_methods_work),
        &[Cognito],
        Mark::Rfc,
        "advertised client auth methods work",
        "a token request by each advertised method the credential fits (Basic and body for a secret, client_secret_jwt for a secret that signs, private_key_jwt for a key)",
        "a token each time; the configured method unadvertised is a warning (RFC 8414 §2)",
    ),
    entry(
        "DS-03",
        check!(advertised_jwks_verifies),
        &[Cognito],
        Mark::Rfc,
        "the advertised jwks_uri verifies tokens",
        "a valid token request, then a GET of the metadata's `jwks_uri`",
        "a signature that verifies with the key named by `kid` (skipped for opaque tokens or without `jwks_uri`)",
    ),
    varies(
        entry(
            "DS-04",
            check!(unadvertised_grant_refused),
            &[Cognito],
            Mark::Rfc,
            "a grant not advertised is refused",
            "a token request with the first of password, device_code, token-exchange, jwt-bearer, refresh_token that `grant_types_supported` lacks",
            "400 `unsupported_grant_type` or `unauthorized_client` (another refusal is a warning: the probe lacks the grant's own parameters; skipped without `grant_types_supported`)",
        ),
        "`grant_type` set to one the metadata does not advertise",
    ),
    entry(
        "DS-05",
        check!(advertised_dpop_algorithm),
        &[Cognito],
        Mark::Rfc,
        "the advertised DPoP algorithms hold the flow's",
        "nothing: the metadata, read at start",
        "the flow's DPoP `alg` among `dpop_signing_alg_values_supported`; the member absent is a warning (skipped without `issuer` or `dpop`)",
    ),
];
