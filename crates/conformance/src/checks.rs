//! The code of each catalog entry: the requests it sends and how it reads
//! the answers. A check says how the contract was broken, or why it could
//! not tell; the rules themselves come from `tokenprobe-protocol`.

use http::{Method, StatusCode};
use serde_json::Value;
use tokenprobe_protocol::taxid::TaxId;
use tokenprobe_protocol::vcd::{self, ApiVersion};
use tokenprobe_protocol::{DecodeError, ProviderError, cess, cognito, jwt, rfc6749, venafi, wire};

use crate::catalog::System;
use crate::target::{Reply, Target};

/// Why a check did not pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// The contract is broken, as observed.
    Broken(String),
    /// A departure the contract itself calls a warning.
    Warning(String),
    /// The check does not apply to this server, and why.
    Skipped(String),
    /// The check could not run (transport failure, no IdP token, …).
    Errored(String),
}

impl From<String> for Finding {
    fn from(why: String) -> Self {
        Finding::Errored(why)
    }
}

impl From<&str> for Finding {
    fn from(why: &str) -> Self {
        Finding::Errored(why.to_owned())
    }
}

/// A check's verdict: `Err` says how it did not pass.
pub type Checked = Result<(), Finding>;

fn expect(cond: bool, why: impl FnOnce() -> String) -> Checked {
    if cond {
        Ok(())
    } else {
        Err(Finding::Broken(why()))
    }
}

fn broken<T>(why: impl Into<String>) -> Result<T, Finding> {
    Err(Finding::Broken(why.into()))
}

/// `401 {"error":"invalid_client"}` as a one-line reason (the runner
/// scrubs it of secrets).
fn answer(r: &Reply) -> String {
    format!("{} {}", r.status.as_u16(), wire::excerpt(&r.body))
}

fn is_session(r: &Reply) -> bool {
    r.status.is_success() && r.json()["responseStatus"] == "SUCCESS"
}

fn expires_in(v: &Value) -> Option<u64> {
    v["expires_in"]
        .as_u64()
        .or_else(|| v["expires_in"].as_str().and_then(|s| s.parse().ok()))
}

fn token_of(r: &Reply) -> String {
    r.json()["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The target's refusal, for the checks that read an error answer; a
/// server that does not refuse leaves nothing to read.
async fn refused(h: &Target) -> Result<Reply, Finding> {
    let e = h.refusal().await?;
    if e.status.is_client_error() {
        Ok(e)
    } else {
        Err(Finding::Skipped(format!(
            "no error to inspect: {}",
            answer(&e)
        )))
    }
}

/// Runs check `id` against `h`. An id that does not apply to the target's
/// system is an error, not a pass.
pub async fn check(h: &Target, id: &str) -> Checked {
    match id {
        "RFC-01" => {
            for (route, r) in h.successes().await? {
                expect(wire::is_json(&r.headers), || {
                    format!("{route}: success labelled {}", media(&r))
                })?;
            }
            let e = refused(h).await?;
            match (wire::is_json(&e.headers), h.system) {
                (true, _) => Ok(()),
                // Venafi's error body is only documented as "a message".
                (false, System::Venafi) => {
                    Err(Finding::Warning(format!("error labelled {}", media(&e))))
                }
                (false, _) => broken(format!("error labelled {}", media(&e))),
            }
        }
        "RFC-02" => {
            let mut no_pragma = Vec::new();
            for (route, r) in h.successes().await? {
                expect(wire::has_no_store(&r.headers), || {
                    format!("{route}: no `Cache-Control: no-store`")
                })?;
                if !wire::has_pragma_no_cache(&r.headers) {
                    no_pragma.push(route);
                }
            }
            match no_pragma.is_empty() {
                true => Ok(()),
                false => Err(Finding::Warning(format!(
                    "{}: no `Pragma: no-cache` (RFC 6749; OAuth 2.1 drops it)",
                    no_pragma.join(", ")
                ))),
            }
        }
        "RFC-05" => {
            let e = refused(h).await?;
            let v = e.json();
            let string_or_absent = |k: &str| v.get(k).is_none_or(Value::is_string);
            expect(
                v["error"].as_str().is_some_and(|c| !c.is_empty())
                    && string_or_absent("error_description")
                    && string_or_absent("error_uri"),
                || format!("error body {}", answer(&e)),
            )
        }
        "RFC-06" => {
            let mut notes = Vec::new();
            for (route, r) in h.successes().await? {
                match &r.json()["expires_in"] {
                    Value::Number(n) if n.is_u64() => {}
                    Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
                        notes.push(format!("{route}: expires_in is the string {s:?}"));
                    }
                    Value::Null => notes.push(format!("{route}: no expires_in")),
                    other => return broken(format!("{route}: expires_in is {other}")),
                }
            }
            match notes.is_empty() {
                true => Ok(()),
                false => Err(Finding::Warning(notes.join("; "))),
            }
        }
        "RFC-08" => {
            let r = h
                .send(h.raw(
                    Method::POST,
                    &h.accounts.token_path,
                    &[
                        ("authorization", "Basic !!not-base64!!"),
                        ("content-type", wire::FORM),
                    ],
                    "grant_type=client_credentials",
                )?)
                .await?;
            if r.status != StatusCode::UNAUTHORIZED {
                return Err(Finding::Skipped(format!(
                    "the server answers malformed Basic with {}, not 401",
                    r.status.as_u16()
                )));
            }
            expect(
                r.headers.contains_key(http::header::WWW_AUTHENTICATE),
                || "a 401 without WWW-Authenticate".into(),
            )
        }
        "RFC-09" => {
            for (route, r) in h.successes().await? {
                let token = token_of(&r);
                expect(rfc6749::is_b64token(&token), || {
                    format!("{route}: the access token has characters outside b64token")
                })?;
            }
            Ok(())
        }
        "VV-07" => {
            let r = h.veeva(&h.accounts.veeva_profile, None).await?;
            let v = r.json();
            expect(
                v["responseStatus"] != "FAILURE"
                    || v["errors"].as_array().is_some_and(|e| !e.is_empty()),
                || format!("FAILURE without errors: {}", answer(&r)),
            )
        }
        "VV-09" => {
            let r = h.veeva(&h.accounts.veeva_profile, None).await?;
            expect(!is_session(&r), || "a session without Authorization".into())
        }
        "VV-10" => {
            let r = h
                .veeva(&h.accounts.veeva_profile, Some("not-a-token"))
                .await?;
            expect(!is_session(&r), || "a session for an invalid token".into())
        }
        "VV-11" => {
            let token = h.idp_token().await?;
            let r = h.veeva("no-such-profile", Some(&token)).await?;
            expect(!is_session(&r), || {
                "a session for an unknown profile".into()
            })
        }
        "CE-06" => {
            let req = h.cess_request()?;
            let (_, r) = h.successes().await?.remove(0);
            match req.decode_response(r.status, &r.headers, &r.body) {
                Err(ProviderError::Decode(DecodeError::Contract {
                    check: "CE-06",
                    reason,
                })) => broken(reason),
                _ => Ok(()),
            }
        }
        "CE-08" => {
            let (_, r) = h.successes().await?.remove(0);
            let scope = r.json()["scope"].as_str().unwrap_or_default().to_owned();
            expect(scope.split(' ').any(|s| s == cess::DEFAULT_SCOPE), || {
                format!("granted scope {scope:?}")
            })
        }
        "CE-09" => {
            let mut b = h.cess_body()?;
            let wrong = if h.accounts.cess_otp.expose() == "000000" {
                "999999"
            } else {
                "000000"
            };
            b["password"] = wrong.into();
            let r = h.cess(&b).await?;
            expect(
                r.status.is_client_error() && r.json()["access_token"].is_null(),
                || format!("a wrong OTP: {}", r.status),
            )
        }
        "CE-10" => {
            let r = h.refusal().await?;
            expect(
                r.status == StatusCode::BAD_REQUEST
                    && r.json()["error"] == "unsupported_grant_type",
                || answer(&r),
            )
        }
        "CE-11" => {
            let limit = TaxId::parse(&h.accounts.cess_username)
                .map(|t| t.max_lifetime())
                .map_err(|e| e.to_string())?;
            let mut b = h.cess_body()?;
            b["lifetime"] = (u64::from(limit) + 1).into();
            let r = h.cess(&b).await?;
            expect(
                r.status == StatusCode::BAD_REQUEST
                    || (r.status.is_success()
                        && expires_in(&r.json()).is_some_and(|e| e <= u64::from(limit))),
                || format!("lifetime {}: {}", u64::from(limit) + 1, answer(&r)),
            )
        }
        "CE-12" => {
            let mut b = h.cess_body()?;
            b["lifetime"] = 3600.into();
            let r = h.cess(&b).await?;
            if !r.status.is_success() {
                return Err(format!("no grant for lifetime 3600: {}", answer(&r)).into());
            }
            let e = expires_in(&r.json());
            expect(e.is_some_and(|e| e <= 3600), || {
                format!("expires_in {e:?} for lifetime 3600")
            })
        }
        "VE-06" | "VE-07" | "VE-08" => {
            let (status, message) = match id {
                "VE-06" => (400, "Application identifier is missing"),
                "VE-07" => (400, "Missing username or password"),
                _ => (401, "Username/password combination not valid"),
            };
            let r = if id == "VE-06" {
                h.refusal().await?
            } else {
                let mut b = h.venafi_body(&h.accounts.venafi_scope)?;
                let o = b.as_object_mut().ok_or("not a JSON object")?;
                if id == "VE-07" {
                    o.remove("password");
                } else {
                    let wrong = format!("{}-wrong", h.accounts.venafi_password.expose());
                    o.insert("password".into(), wrong.into());
                }
                h.venafi(venafi::AUTHORIZE_PATH, &b).await?
            };
            expect(
                r.status.as_u16() == status && r.text().contains(message),
                || answer(&r),
            )
        }
        "VE-09" => {
            let r = h
                .venafi(venafi::AUTHORIZE_PATH, &h.venafi_body("admin")?)
                .await?;
            expect(
                matches!(r.status.as_u16(), 400 | 401 | 403) && r.json()["access_token"].is_null(),
                || format!("{} for a scope the application lacks", r.status),
            )
        }
        "VE-10" => {
            let first = h.venafi_grant().await?;
            if !first.status.is_success() {
                return Err(format!("no grant: {}", answer(&first)).into());
            }
            let first = first.json();
            let Some(refresh) = first["refresh_token"].as_str() else {
                return Err(Finding::Skipped(
                    "the grant has no refresh_token (refresh is off for this application)".into(),
                ));
            };
            let r = h.venafi_refresh(refresh).await?;
            let new = r.json()["access_token"].as_str().map(str::to_owned);
            expect(
                r.status.is_success()
                    && new.is_some()
                    && new.as_deref() != first["access_token"].as_str(),
                || format!("refresh: {}", answer(&r)),
            )
        }
        "VE-11" => {
            let grant = h.venafi_grant().await?;
            if !grant.status.is_success() {
                return Err(format!("no grant: {}", answer(&grant)).into());
            }
            let token = token_of(&grant);
            let before = h.venafi_bearer(venafi::VERIFY_PATH, &token).await?;
            expect(before.status.is_success(), || {
                format!("verify before revoke: {}", before.status)
            })?;
            let revoked = h.venafi_bearer(venafi::REVOKE_PATH, &token).await?;
            expect(revoked.status.is_success(), || {
                format!("revoke: {}", revoked.status)
            })?;
            let after = h.venafi_bearer(venafi::VERIFY_PATH, &token).await?;
            expect(after.status == StatusCode::UNAUTHORIZED, || {
                format!("verify after revoke: {}", after.status)
            })
        }
        "VE-12" => {
            let asked: venafi::Scope = h
                .accounts
                .venafi_scope
                .parse()
                .map_err(|e: venafi::ScopeError| e.to_string())?;
            let (_, r) = h.successes().await?.remove(0);
            let granted = r.json()["scope"].as_str().unwrap_or_default().to_owned();
            let within = granted
                .parse::<venafi::Scope>()
                .is_ok_and(|g| g.is_within(&asked));
            expect(within, || format!("granted {granted:?} for {asked}"))
        }
        "CG-05" => claims(h).await,
        "CG-07" => {
            let (_, r) = h.successes().await?.remove(0);
            expect(wire::has_no_store(&r.headers), || {
                "no `Cache-Control: no-store` on the success".into()
            })
        }
        "CG-08" | "CG-09" => {
            let req = if id == "CG-08" {
                let wrong = format!("{}-wrong", h.accounts.client_secret.expose());
                h.client_request_as(&h.accounts.client_id, &wrong)?
            } else {
                h.client_request_as(
                    "tokenprobe-no-such-client",
                    h.accounts.client_secret.expose(),
                )?
            };
            let r = h.cognito(&req).await?;
            expect(
                matches!(r.status.as_u16(), 400 | 401) && r.json()["error"] == "invalid_client",
                || answer(&r),
            )
        }
        "CG-10" => {
            let r = h.cognito_form(Method::POST, "grant_type=password").await?;
            let e = r.json()["error"].clone();
            expect(
                r.status == StatusCode::BAD_REQUEST
                    && (e == "unsupported_grant_type" || e == "unauthorized_client"),
                || answer(&r),
            )
        }
        "CG-11" => {
            let r = h.refusal().await?;
            expect(
                r.status == StatusCode::BAD_REQUEST && r.json()["error"] == "invalid_request",
                || answer(&r),
            )
        }
        "CG-12" => {
            const UNLISTED: &str = "admin/everything";
            let req = h
                .client_request()?
                .with_scopes([UNLISTED])
                .map_err(|e| e.to_string())?;
            let r = h.cognito(&req).await?;
            if r.status == StatusCode::BAD_REQUEST {
                return expect(r.json()["error"] == "invalid_scope", || answer(&r));
            }
            let token = token_of(&r);
            let claims = jwt::decode_unverified(&token).map(|j| j.claims.scope);
            let claimed = |s: Option<&str>| s.is_some_and(|s| s.split(' ').any(|x| x == UNLISTED));
            expect(
                !claimed(r.json()["scope"].as_str())
                    && !claims.is_ok_and(|c| claimed(c.as_deref())),
                || format!("a grant claiming {UNLISTED}, which the client lacks"),
            )
        }
        "CG-13" => {
            let r = h
                .cognito_form(Method::GET, "grant_type=client_credentials")
                .await?;
            expect(
                r.status.is_client_error() && r.json()["access_token"].is_null(),
                || format!("GET gave {}", r.status),
            )
        }
        "CG-14" => {
            let (_, r) = h.successes().await?.remove(0);
            expect(r.json()["refresh_token"].is_null(), || {
                "a refresh_token for client credentials".into()
            })
        }
        "CG-15" => jwks(h).await,
        "VCD-07" => {
            let r = h.vcd_login_anonymous().await?;
            expect(r.status == StatusCode::FORBIDDEN, || {
                format!("status {}", r.status)
            })
        }
        "VCD-08" => {
            let (req, r) = h.vcd_login("not-a-token", h.accounts.vcd_version).await?;
            match req.decode_response(r.status, &r.headers, &r.body) {
                Err(ProviderError::Vcd { status, error })
                    if status == StatusCode::UNAUTHORIZED && error.major_code == 401 =>
                {
                    Ok(())
                }
                _ => broken(answer(&r)),
            }
        }
        "VCD-09" => {
            let token = h.idp_token().await?;
            let (req, r) = h.vcd_login(&token, h.accounts.vcd_version).await?;
            if !r.status.is_success() {
                return Err(format!("no session: {}", answer(&r)).into());
            }
            let grant = req
                .decode_response(r.status, &r.headers, &r.body)
                .map_err(|e| Finding::Broken(e.to_string()))?;
            match grant.warnings.iter().find(|w| w.check == "VCD-09") {
                Some(w) => broken(w.message.clone()),
                None => Ok(()),
            }
        }
        "VCD-10" => {
            let token = h.idp_token().await?;
            let old = ApiVersion { major: 9, minor: 0 };
            let (_, r) = h.vcd_login(&token, old).await?;
            expect(r.status == StatusCode::NOT_ACCEPTABLE, || {
                format!("version 9.0 gave {}", r.status)
            })
        }
        "VCD-11" => logout(h).await,
        other => Err(format!("no check for {other}").into()),
    }
}

fn media(r: &Reply) -> String {
    wire::media_type(&r.headers).unwrap_or("nothing").to_owned()
}

/// CG-05: the protocol's claims rule on Cognito; in generic mode only the
/// lifetime, and only for JWTs.
async fn claims(h: &Target) -> Checked {
    let (_, r) = h.successes().await?.remove(0);
    let token = token_of(&r);
    let Ok(jwt) = jwt::decode_unverified(&token) else {
        return match h.options.generic {
            true => Err(Finding::Skipped(
                "the access token is opaque, not a JWT".into(),
            )),
            false => broken("the access token is not a JWT"),
        };
    };
    if h.options.generic {
        let (Some(exp), Some(iat), Some(e)) =
            (jwt.claims.exp, jwt.claims.iat, expires_in(&r.json()))
        else {
            return Err(Finding::Skipped(
                "the JWT or the answer has no exp, iat or expires_in".into(),
            ));
        };
        let lifetime = exp.saturating_sub(iat);
        return expect(
            lifetime.abs_diff(e) <= cognito::CLAIMS_TOLERANCE_SECS,
            || format!("exp − iat is {lifetime} s, expires_in {e} s"),
        );
    }
    let req = h.client_request()?;
    match req.decode_response(r.status, &r.headers, &r.body) {
        Ok(g) => match g.warnings.iter().find(|w| w.check == "CG-05") {
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

/// CG-15: the JWKS names the token's key and the signature verifies.
async fn jwks(h: &Target) -> Checked {
    let (_, r) = h.successes().await?.remove(0);
    let token = token_of(&r);
    let Ok(header) = jsonwebtoken::decode_header(&token) else {
        return Err(Finding::Skipped(
            "the access token is opaque, not a JWT".into(),
        ));
    };
    let path = h.options.jwks_path.as_deref().unwrap_or(cognito::JWKS_PATH);
    let keys = h.send(h.raw(Method::GET, path, &[], "")?).await?;
    if !keys.status.is_success() {
        return Err(Finding::Skipped(format!(
            "no JWKS at {path} ({}); set [check] jwks_path",
            keys.status.as_u16()
        )));
    }
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_slice(&keys.body)
        .map_err(|e| Finding::Broken(format!("{path} is not a JWKS: {e}")))?;
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
    let mut v = jsonwebtoken::Validation::new(alg);
    v.validate_aud = false;
    jsonwebtoken::decode::<Value>(&token, &key, &v)
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

/// VCD-11: a session, then logout, then the session is refused.
async fn logout(h: &Target) -> Checked {
    let token = h.idp_token().await?;
    let (req, r) = h.vcd_login(&token, h.accounts.vcd_version).await?;
    let session = req
        .decode_response(r.status, &r.headers, &r.body)
        .map_err(|e| format!("no session to end: {e}"))?
        .authorization();
    let accept = h.vcd_accept();
    let current = || {
        h.raw(
            Method::GET,
            vcd::CURRENT_SESSION_PATH,
            &[("authorization", session.expose()), ("accept", &accept)],
            "",
        )
    };
    let before = h.send(current()?).await?;
    expect(before.status.is_success(), || {
        format!("session before logout: {}", before.status)
    })?;
    let out = h.vcd_logout(session.expose()).await?;
    expect(out.status == StatusCode::NO_CONTENT, || {
        format!("logout: {}", out.status)
    })?;
    let after = h.send(current()?).await?;
    expect(after.status == StatusCode::UNAUTHORIZED, || {
        format!("session after logout: {}", after.status)
    })
}
