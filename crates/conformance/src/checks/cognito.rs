//! Amazon Cognito client credentials (or, in `rfc6749` mode, any RFC 6749
//! client-credentials server): claims, refusals, scopes and signing keys.

use http::{Method, StatusCode};
use tokenprobe_protocol::client_auth::{Credential, Signer};
use tokenprobe_protocol::{DecodeError, ProviderError, Secret, cognito, jwt, wire};

use super::discovery::verified_by;
use super::{
    Checked, Finding, access_token, answer, broken, expires_in, invalid_client, judged, require,
    rfc7523,
};
use crate::catalog::{Entry, Mark, check, entry, negative, varies};
use crate::endpoint::{Reply, Shared, Target, TargetError};
use tokenprobe_protocol::System::Cognito;

impl Target {
    /// The working client-credentials request: what the client-
    /// authentication, DPoP, mutual-TLS and discovery checks build on, for
    /// the systems that take one (`System::CLIENT_CREDENTIALS`).
    pub fn client_credentials(&self) -> Result<&cognito::TokenRequest, TargetError> {
        self.account_of()
    }

    /// The configured request as another client or with another
    /// credential.
    pub fn client_request_as(
        &self,
        client_id: &str,
        credential: impl Into<Credential>,
    ) -> Result<cognito::TokenRequest, TargetError> {
        Ok(self
            .client_credentials()?
            .clone()
            .with_client(client_id, credential)?)
    }

    /// The configured client's key, when it authenticates with one.
    pub fn client_key(&self) -> Option<&Signer> {
        match self.client_credentials().ok()?.credential() {
            Credential::Key(signer) => Some(signer),
            _ => None,
        }
    }
}

/// The plain success: the configured request.
pub(crate) async fn successes(target: &Target, out: &mut Vec<Shared>) -> Result<(), TargetError> {
    let r = target.send_form(&target.working_form()?).await?;
    target.keep_success("cognito", r, out);
    Ok(())
}

/// The refusal: the working form without `grant_type`.
pub(crate) async fn refusal(target: &Target) -> Result<(&'static str, Reply), TargetError> {
    let mut form = target.working_form()?;
    form.remove("grant_type");
    Ok(("cognito", target.send_form(&form).await?))
}

/// CG-04: the success reads as the protocol reads it (the load flow's
/// own decoder: 200, JSON, Bearer in any case, a positive `expires_in`).
/// The other checks of a success each judge one rule and let any other
/// departure pass, so without this one a success that no flow can read
/// (idpy-oidc's `token_type` "access_token") passed them all while every
/// acquisition of a load run failed. A rule another check owns (DP-01's
/// DPoP token type and binding, MT-01's certificate binding) is that
/// check's verdict, and a missing `expires_in` RFC-06's: each departure
/// one verdict.
pub(crate) async fn success_reads(target: &Target) -> Checked {
    let request = target.client_credentials()?;
    let reply = target.success().await?;
    match reply.read(request) {
        Ok(_) => Ok(()),
        Err(ProviderError::Decode(DecodeError::Contract {
            check: "CG-04",
            reason,
        })) => broken(reason),
        Err(ProviderError::Decode(DecodeError::Contract { check, reason })) => Err(
            Finding::Skipped(format!("{check} judges this success: {reason}")),
        ),
        Err(e) => broken(e.to_string()),
    }
}

/// CG-05: the protocol's claims rule on Cognito; in generic mode only the
/// lifetime, and only for JWTs.
pub(crate) async fn claims(target: &Target) -> Checked {
    let reply = target.success().await?;
    let Ok(token) = jwt::decode_unverified(access_token(&reply)) else {
        return match target.options.generic {
            true => Err(Finding::Skipped(
                "the access token is opaque, not a JWT".into(),
            )),
            false => broken("the access token is not a JWT"),
        };
    };
    if target.options.generic {
        let (Some(exp), Some(iat), Some(lifetime)) =
            (token.claims.exp, token.claims.iat, expires_in(&reply))
        else {
            return Err(Finding::Skipped(
                "the JWT or the answer has no exp, iat or expires_in".into(),
            ));
        };
        let claimed = exp.saturating_sub(iat);
        return require(
            claimed.abs_diff(lifetime) <= cognito::CLAIMS_TOLERANCE_SECS,
            || format!("exp − iat is {claimed} s, expires_in {lifetime} s"),
        );
    }
    let request = target.client_credentials()?;
    match reply.read(request) {
        Ok(grant) => match grant.warnings.iter().find(|w| w.check == "CG-05") {
            Some(w) => broken(w.message.clone()),
            None => Ok(()),
        },
        Err(ProviderError::Decode(DecodeError::Contract {
            check: "CG-05",
            reason,
        })) => broken(reason),
        Err(_) => Ok(()),
    }
}

/// CG-07: the success is not cached.
pub(crate) async fn not_cached(target: &Target) -> Checked {
    let reply = target.success().await?;
    require(wire::has_no_store(&reply.headers), || {
        "no `Cache-Control: no-store` on the success".into()
    })
}

/// CG-08: a wrong secret is `invalid_client` (for a client with a key: an
/// assertion whose signature does not verify).
pub(crate) async fn wrong_secret_refused(target: &Target) -> Checked {
    let account = target.client_credentials()?;
    if let Credential::Certificate(_) = account.credential() {
        return Err(Finding::Skipped(
            "the client authenticates with its certificate: MT-02 sends the request without it"
                .into(),
        ));
    }
    let wrong = match account.client_secret() {
        Some(secret) => Credential::Secret(Secret::new(format!("{}-wrong", secret.expose()))),
        None => Credential::Assertion(rfc7523::forged(target, account.client_id())?),
    };
    let request = target.client_request_as(account.client_id(), wrong)?;
    invalid_client(target, &request).await
}

/// CG-09: an unknown client is `invalid_client` (with a key: an assertion
/// our key signed, naming a client the server does not have).
pub(crate) async fn unknown_client_refused(target: &Target) -> Checked {
    let credential = target.client_credentials()?.credential().clone();
    let request = target.client_request_as("tokenprobe-no-such-client", credential)?;
    invalid_client(target, &request).await
}

/// A grant type no authorization server knows: what CG-10 sends in
/// `rfc6749` mode, where `password` may well be a grant the server takes
/// (and then refuses for a missing `username`, which is no answer to CG-10).
pub(crate) const UNKNOWN_GRANT: &str = "urn:tokenprobe:unsupported";

/// CG-10: a grant type the server does not take is refused as such
/// (Cognito: `password`, which it does not have; any other server: a
/// grant type that does not exist).
pub(crate) async fn unsupported_grant_refused(target: &Target) -> Checked {
    target.control().await?;
    let grant = match target.options.generic {
        true => UNKNOWN_GRANT,
        false => "password",
    };
    let mut form = target.working_form()?;
    form.set("grant_type", grant);
    let reply = target.send_form(&form).await?;
    judged(&reply)?;
    let error = &reply.json()["error"];
    require(
        reply.status == StatusCode::BAD_REQUEST
            && (error == "unsupported_grant_type" || error == "unauthorized_client"),
        || answer(&reply),
    )
}

/// CG-11: no `grant_type` is `invalid_request`.
pub(crate) async fn missing_grant_type_refused(target: &Target) -> Checked {
    let reply = target.refusal().await?;
    judged(&reply)?;
    require(
        reply.status == StatusCode::BAD_REQUEST && reply.json()["error"] == "invalid_request",
        || answer(&reply),
    )
}

/// CG-12: a scope the client lacks is refused (400 `invalid_scope`) or left
/// out of the grant. A grant that names no scope at all claims the scope
/// asked for (RFC 6749 §5.1: `scope` may be left out only when it is
/// identical), unless its JWT says otherwise: a warning, as an opaque
/// token cannot show what it carries; another refusal says nothing of
/// scopes.
pub(crate) async fn unlisted_scope_not_granted(target: &Target) -> Checked {
    const UNLISTED: &str = "admin/everything";
    target.control().await?;
    let request = target
        .client_credentials()?
        .clone()
        .with_scopes([UNLISTED])
        .map_err(TargetError::from)?;
    let reply = target.call(&request).await?;
    judged(&reply)?;
    if reply.status == StatusCode::BAD_REQUEST {
        return require(reply.json()["error"] == "invalid_scope", || answer(&reply));
    }
    if !reply.status.is_success() {
        return Err(Finding::Warning(format!(
            "refused with {}, not 400 invalid_scope",
            answer(&reply)
        )));
    }
    let claimed = |s: &str| s.split(' ').any(|x| x == UNLISTED);
    let jwt_scope = jwt::decode_unverified(access_token(&reply))
        .ok()
        .and_then(|j| j.claims.scope);
    match (reply.member("scope"), jwt_scope.as_deref()) {
        // Whether the scope was granted cannot be seen, but the answer
        // breaks RFC 6749 §5.1 either way: a warning, not a pass.
        (None, None) => Err(Finding::Warning(format!(
            "a grant without `scope` for {UNLISTED}: RFC 6749 §5.1 reads that as the scope asked for (the server must name the scope it granted when it differs)"
        ))),
        (member, claims) => require(
            !member.is_some_and(claimed) && !claims.is_some_and(claimed),
            || format!("a grant claiming {UNLISTED}, which the client lacks"),
        ),
    }
}

/// CG-13: the working request sent by GET gets no token, whether its form
/// travels in the query string (as `curl -G` or a browser sends it) or in
/// the body; a token either way breaks RFC 6749 §3.2.
pub(crate) async fn get_refused(target: &Target) -> Checked {
    target.control().await?;
    for (in_query, form_name) in [(true, "the query string"), (false, "the body")] {
        let mut form = target.working_form()?;
        form.method = Method::GET;
        form.in_query = in_query;
        let reply = target.send_form(&form).await?;
        judged(&reply)?;
        require(
            reply.status.is_client_error() && reply.json()["access_token"].is_null(),
            || {
                format!(
                    "GET with the form in {form_name} gave {}{}",
                    reply.status,
                    match access_token(&reply).is_empty() {
                        true => "",
                        false => " and a token",
                    }
                )
            },
        )?;
    }
    Ok(())
}

/// CG-14: client credentials get no refresh token.
pub(crate) async fn no_refresh_token(target: &Target) -> Checked {
    let reply = target.success().await?;
    require(reply.json()["refresh_token"].is_null(), || {
        "a refresh_token for client credentials".into()
    })
}

/// CG-15: the JWKS names the token's key and the signature verifies.
/// The key set is `[check] jwks_path`, else the issuer's `jwks_uri`, else
/// Cognito's path.
pub(crate) async fn signed_by_published_key(target: &Target) -> Checked {
    let advertised = target.metadata().and_then(|m| m.jwks_uri.as_deref());
    let keys = match (&target.options.jwks_path, advertised) {
        (None, Some(uri)) => wire::get_json(uri).map_err(TargetError::from)?,
        (path, _) => {
            let path = path.as_deref().unwrap_or(cognito::JWKS_PATH);
            target.raw(Method::GET, path, &[], "")?
        }
    };
    verified_by(target, keys, "; set [check] jwks_path").await
}

/// This module's entries of the catalog, in the order they run.
pub(crate) const ENTRIES: &[Entry] = &[
    entry(
        "CG-04",
        check!(success_reads),
        &[Cognito],
        Mark::Doc,
        "the success reads as a token response",
        "a valid client-credentials request",
        "200, JSON, `token_type` Bearer in any case (DP-01 judges a DPoP token's), `expires_in` > 0 where present (RFC-06 judges a missing one)",
    ),
    entry(
        "CG-05",
        check!(claims),
        &[Cognito],
        Mark::Doc,
        "the access token's JWT claims match the response",
        "a valid client-credentials request",
        "a JWT with `exp − iat` within 5 s of `expires_in`, `token_use` access and our `client_id` (generic mode: only the lifetime; skipped for opaque tokens)",
    ),
    entry(
        "CG-07",
        check!(not_cached),
        &[Cognito],
        Mark::Rfc,
        "success is not cached",
        "a valid client-credentials request",
        "`Cache-Control: no-store`",
    ),
    negative(varies(
        entry(
            "CG-08",
            check!(wrong_secret_refused),
            &[Cognito],
            Mark::Doc,
            "a wrong secret: invalid_client",
            "one token request with a wrong client secret (with a key: an assertion whose signature does not verify)",
            "400 or 401 `invalid_client`",
        ),
        "the client secret replaced (with a key: the assertion's signature broken)",
    )),
    negative(varies(
        entry(
            "CG-09",
            check!(unknown_client_refused),
            &[Cognito],
            Mark::Doc,
            "an unknown client: invalid_client",
            "one token request for a client id that does not exist",
            "400 or 401 `invalid_client`",
        ),
        "`client_id` replaced by one that does not exist",
    )),
    varies(
        entry(
            "CG-10",
            check!(unsupported_grant_refused),
            &[Cognito],
            Mark::Rfc,
            "an unsupported grant_type is refused",
            "`grant_type=password` (Cognito has none); in rfc6749 mode a grant type no server knows",
            "400 `unsupported_grant_type` or `unauthorized_client`",
        ),
        "`grant_type` set to `password` (rfc6749 mode: a grant type no server knows)",
    ),
    varies(
        entry(
            "CG-11",
            check!(missing_grant_type_refused),
            &[Cognito],
            Mark::Rfc,
            "a missing grant_type is refused",
            "a token request without `grant_type`",
            "400 `invalid_request`",
        ),
        "`grant_type` removed",
    ),
    varies(
        entry(
            "CG-12",
            check!(unlisted_scope_not_granted),
            &[Cognito],
            Mark::Rfc,
            "a scope the client lacks is never granted",
            "a token request for scope `admin/everything`",
            "400 `invalid_scope`, or a grant that leaves the scope out (a grant naming no scope, or another refusal, is a warning)",
        ),
        "`scope` replaced by `admin/everything`",
    ),
    varies(
        entry(
            "CG-13",
            check!(get_refused),
            &[Cognito],
            Mark::Rfc,
            "GET gives no token",
            "the working request by GET, its form in the query string, then in the body",
            "a 4xx without a token",
        ),
        "the method set to GET, the form in the query string, then in the body",
    ),
    entry(
        "CG-14",
        check!(no_refresh_token),
        &[Cognito],
        Mark::Rfc,
        "no refresh token for client credentials",
        "a valid client-credentials request",
        "no `refresh_token`",
    ),
    entry(
        "CG-15",
        check!(signed_by_published_key),
        &[Cognito],
        Mark::Doc,
        "the JWKS verifies the token",
        "a valid client-credentials request, then a GET of the JWKS",
        "a signature that verifies with the key named by `kid` (skipped for opaque tokens or without a JWKS)",
    ),
];
