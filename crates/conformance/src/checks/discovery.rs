//! What an issuer's metadata (RFC 8414, OpenID Connect discovery)
//! advertises against what its token endpoint serves. They run for a
//! `cognito` flow that names an `issuer`, and skip otherwise.

use tokenprobe_protocol::client_auth::ClientAuth;
use tokenprobe_protocol::discovery::{self, Metadata};
use tokenprobe_protocol::wire;

use super::{Checked, Finding, access_token, answer, broken, judged, require};
use crate::catalog::{Entry, Mark, check, entry, varies};
use crate::endpoint::{Target, TargetError};
use serde_json::Value;
use tokenprobe_protocol::System;

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
    let account = target.client_credentials()?.clone();
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
    let account = target.client_credentials()?;
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

/// Gets a token and the key set `keys` asks for, and verifies the token
/// with the key its header names (CG-15, DS-03). `hint` follows the reason
/// when there is no key set.
pub(super) async fn verified_by(
    target: &Target,
    keys: http::Request<bytes::Bytes>,
    hint: &str,
) -> Checked {
    let reply = target.success().await?;
    let token = access_token(&reply);
    let Ok(header) = jsonwebtoken::decode_header(token) else {
        return Err(Finding::Skipped(
            "the access token is opaque, not a JWT".into(),
        ));
    };
    let at = keys.uri().to_string();
    let keys = target.send(keys).await?;
    if !keys.status.is_success() {
        return Err(Finding::Skipped(format!(
            "no JWKS at {at} ({}){hint}",
            keys.status.as_u16()
        )));
    }
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_slice(&keys.body)
        .map_err(|e| Finding::Broken(format!("{at} is not a JWKS: {e}")))?;
    let kid = header
        .kid
        .ok_or(Finding::Broken("the JWT header has no kid".into()))?;
    let jwk = set
        .find(&kid)
        .ok_or_else(|| Finding::Broken(format!("kid {kid} is not in the JWKS")))?;
    let alg = key_algorithm(jwk)?;
    if alg != header.alg {
        return broken(format!(
            "the JWT header says {:?}, its key in the JWKS is for {alg:?}",
            header.alg
        ));
    }
    let key =
        jsonwebtoken::DecodingKey::from_jwk(jwk).map_err(|e| Finding::Broken(e.to_string()))?;
    let mut validation = jsonwebtoken::Validation::new(alg);
    validation.validate_aud = false;
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .map(|_| ())
        .map_err(|e| Finding::Broken(format!("signature: {e}")))
}

/// The algorithm a published key verifies with, taken from the key (its
/// `alg`, else its type and curve), never from the token's header alone: a
/// token that names `HS256` must not get its public key used as an HMAC
/// secret. A symmetric (`oct`) key has no place in a public key set.
fn key_algorithm(jwk: &jsonwebtoken::jwk::Jwk) -> Result<jsonwebtoken::Algorithm, Finding> {
    use jsonwebtoken::Algorithm;
    use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve};
    let named = jwk
        .common
        .key_algorithm
        .map(|a| a.to_string().parse::<Algorithm>());
    let from_type = match &jwk.algorithm {
        AlgorithmParameters::OctetKey(_) => {
            return broken("the JWKS publishes a symmetric (oct) key");
        }
        AlgorithmParameters::RSA(_) => None,
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => Some(Algorithm::ES256),
            EllipticCurve::P384 => Some(Algorithm::ES384),
            _ => None,
        },
        AlgorithmParameters::OctetKeyPair(_) => Some(Algorithm::EdDSA),
    };
    let family_ok = |a: Algorithm| match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => matches!(
            a,
            Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512
        ),
        _ => Some(a) == from_type,
    };
    match (named, from_type) {
        (Some(Ok(a)), _) if family_ok(a) => Ok(a),
        (Some(_), _) => broken("the key's alg does not fit its key type"),
        (None, Some(a)) => Ok(a),
        // An RSA key without `alg`: RS256, the default of every
        // authorization server this checks.
        (None, None) if matches!(jwk.algorithm, AlgorithmParameters::RSA(_)) => {
            Ok(Algorithm::RS256)
        }
        (None, None) => broken("a key of a type this check cannot verify"),
    }
}

/// This module's entries of the catalog, in the order they run.
pub(crate) const ENTRIES: &[Entry] = &[
    entry(
        "DS-01",
        check!(metadata_served),
        System::CLIENT_CREDENTIALS,
        Mark::Rfc,
        "the issuer's metadata is served",
        "GET of the issuer's RFC 8414 and OpenID Connect metadata locations",
        "a JSON document whose `issuer` is the issuer (RFC 8414 §3.3) and whose `token_endpoint` is https or on this machine (skipped without `issuer`)",
    ),
    entry(
        "DS-02",
        check!(advertised_auth_methods_work),
        System::CLIENT_CREDENTIALS,
        Mark::Rfc,
        "advertised client auth methods work",
        "a token request by each advertised method the credential fits (Basic and body for a secret, client_secret_jwt for a secret that signs, private_key_jwt for a key)",
        "a token each time; the configured method unadvertised is a warning (RFC 8414 §2)",
    ),
    entry(
        "DS-03",
        check!(advertised_jwks_verifies),
        System::CLIENT_CREDENTIALS,
        Mark::Rfc,
        "the advertised jwks_uri verifies tokens",
        "a valid token request, then a GET of the metadata's `jwks_uri`",
        "a signature that verifies with the key named by `kid` (skipped for opaque tokens or without `jwks_uri`)",
    ),
    varies(
        entry(
            "DS-04",
            check!(unadvertised_grant_refused),
            System::CLIENT_CREDENTIALS,
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
        System::CLIENT_CREDENTIALS,
        Mark::Rfc,
        "the advertised DPoP algorithms hold the flow's",
        "nothing: the metadata, read at start",
        "the flow's DPoP `alg` among `dpop_signing_alg_values_supported`; the member absent is a warning (skipped without `issuer` or `dpop`)",
    ),
];
