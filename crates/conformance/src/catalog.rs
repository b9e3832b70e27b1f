//! The contract catalog: one check per id of `docs/contracts.md` that a
//! live server can break (every `srv` id, and the response-side ids a
//! server decides), each runnable against any base URL. A check sends real
//! requests and says `Err(why)` when the contract is broken.
//!
//! The accounts default to the stub's demo accounts; a live target gives
//! its own.

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use serde_json::{Value, json};
use tokenprobe_client::Transport;
use tokenprobe_protocol::client_auth::{ClientAuth, basic_authorization};
use tokenprobe_protocol::vcd::{self, ApiVersion, SessionFormat, VcdError, VcdSession};
use tokenprobe_protocol::{
    BaseUrl, DecodeError, ProviderError, Secret, cess, cognito, veeva, wire,
};

/// A check's verdict: `Err` says how the contract was broken.
pub type Checked = Result<(), String>;

/// The credentials and names the checks use.
#[derive(Debug, Clone)]
pub struct Accounts {
    /// Client id (the same for every system, as in the stub's demo).
    pub client_id: String,
    /// Its secret.
    pub client_secret: Secret,
    /// A CESS user (CPF or CNPJ).
    pub cess_username: String,
    /// Its OTP.
    pub cess_otp: Secret,
    /// A Venafi user.
    pub venafi_username: String,
    /// Its password.
    pub venafi_password: Secret,
    /// A scope the Venafi application may have.
    pub venafi_scope: String,
    /// A Vault profile.
    pub veeva_profile: String,
    /// A VCD org.
    pub vcd_org: String,
}

impl Default for Accounts {
    /// The stub's demo accounts.
    fn default() -> Self {
        Accounts {
            client_id: "tokenprobe-demo".into(),
            client_secret: Secret::new("demo-secret"),
            cess_username: "12345678909".into(),
            cess_otp: Secret::new("123456"),
            venafi_username: "local:admin".into(),
            venafi_password: Secret::new("demo-password"),
            venafi_scope: "certificate:manage".into(),
            veeva_profile: "tokenprobe-demo".into(),
            vcd_org: "Finance".into(),
        }
    }
}

/// An answer, read whole.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Bytes,
}

impl Reply {
    /// The body as JSON, or `null`.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Where the checks run, and as whom.
#[derive(Debug, Clone)]
pub struct Target {
    /// The server.
    pub base: BaseUrl,
    /// How to reach it.
    pub transport: Transport,
    /// Who to be.
    pub accounts: Accounts,
}

impl Target {
    /// Sends a request; a transport failure is the check's failure.
    pub async fn send(&self, req: Request<Bytes>) -> Result<Reply, String> {
        let a = self.transport.send(req).await.map_err(|e| e.to_string())?;
        Ok(Reply {
            status: a.status,
            headers: a.headers,
            body: a.body,
        })
    }

    /// A request to `path` with the given method, headers and body.
    pub fn raw(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Result<Request<Bytes>, String> {
        let mut b = Request::builder()
            .method(method)
            .uri(self.base.join(path).map_err(|e| e.to_string())?);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(body.into()).map_err(|e| e.to_string())
    }

    /// A client-credentials request for our client with `secret`.
    pub fn cognito_request(&self, secret: &str) -> Result<cognito::TokenRequest, String> {
        cognito::TokenRequest::new(
            self.accounts.client_id.clone(),
            Secret::new(secret),
            ClientAuth::Basic,
        )
        .map_err(|e| e.to_string())
    }

    /// Sends a client-credentials request.
    pub async fn cognito(&self, req: &cognito::TokenRequest) -> Result<Reply, String> {
        self.send(req.encode(&self.base).map_err(|e| e.to_string())?)
            .await
    }

    /// A form POST to the token endpoint with Basic for our client.
    pub async fn cognito_form(&self, method: Method, form: &str) -> Result<Reply, String> {
        let basic = basic_authorization(&self.accounts.client_id, &self.accounts.client_secret)
            .map_err(|e| e.to_string())?;
        let basic = basic.to_str().map_err(|e| e.to_string())?.to_owned();
        let req = self.raw(
            method,
            cognito::TOKEN_PATH,
            &[("authorization", &basic), ("content-type", wire::FORM)],
            form.to_owned(),
        )?;
        self.send(req).await
    }

    /// An access token from the `cognito` route, for the two-step systems.
    pub async fn idp_token(&self) -> Result<String, String> {
        let r = self
            .cognito(&self.cognito_request(self.accounts.client_secret.expose())?)
            .await?;
        r.json()["access_token"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("no IdP token: {} {}", r.status, r.text()))
    }

    /// A valid CESS body.
    pub fn cess_body(&self) -> Value {
        json!({
            "client_id": self.accounts.client_id,
            "client_secret": self.accounts.client_secret.expose(),
            "username": self.accounts.cess_username,
            "password": self.accounts.cess_otp.expose(),
            "grant_type": "password",
        })
    }

    /// POSTs a CESS body.
    pub async fn cess(&self, body: &Value) -> Result<Reply, String> {
        let req = self.raw(
            Method::POST,
            cess::TOKEN_PATH,
            &[("content-type", "application/json")],
            body.to_string(),
        )?;
        self.send(req).await
    }

    /// A valid Venafi authorize body for `scope`.
    pub fn venafi_body(&self, scope: &str) -> Value {
        json!({
            "client_id": self.accounts.client_id,
            "username": self.accounts.venafi_username,
            "password": self.accounts.venafi_password.expose(),
            "scope": scope,
        })
    }

    /// POSTs JSON to a Venafi path.
    pub async fn venafi(&self, path: &str, body: &Value) -> Result<Reply, String> {
        let req = self.raw(
            Method::POST,
            path,
            &[("content-type", "application/json")],
            body.to_string(),
        )?;
        self.send(req).await
    }

    /// A GET with the bearer token (revoke, verify).
    pub async fn venafi_bearer(&self, path: &str, token: &str) -> Result<Reply, String> {
        let auth = format!("Bearer {token}");
        let req = self.raw(Method::GET, path, &[("authorization", &auth)], "")?;
        self.send(req).await
    }

    /// A grant for the accounts' scope.
    pub async fn venafi_grant(&self) -> Result<Reply, String> {
        let body = self.venafi_body(&self.accounts.venafi_scope);
        self.venafi(tokenprobe_protocol::venafi::AUTHORIZE_PATH, &body)
            .await
    }

    /// A refresh of a new grant, if it came with a refresh token.
    pub async fn venafi_refreshed(&self) -> Result<Option<Reply>, String> {
        let grant = self.venafi_grant().await?.json();
        let Some(refresh) = grant["refresh_token"].as_str() else {
            return Ok(None);
        };
        let body = json!({"client_id": self.accounts.client_id, "refresh_token": refresh});
        self.venafi(tokenprobe_protocol::venafi::REFRESH_PATH, &body)
            .await
            .map(Some)
    }

    /// A Vault session request.
    pub async fn veeva(&self, profile: &str, auth: Option<&str>) -> Result<Reply, String> {
        let path = format!("{}{profile}", veeva::SESSION_PATH_PREFIX);
        let mut headers = vec![("accept", "application/json")];
        let auth = auth.map(|t| format!("Bearer {t}"));
        if let Some(a) = &auth {
            headers.push(("authorization", a));
        }
        let req = self.raw(Method::POST, &path, &headers, "")?;
        self.send(req).await
    }

    /// A VCD login.
    pub async fn vcd_login(&self, auth: Option<&str>, accept: &str) -> Result<Reply, String> {
        let mut headers = vec![("accept", accept)];
        if let Some(a) = auth {
            headers.push(("authorization", a));
        }
        let req = self.raw(Method::POST, vcd::SESSIONS_PATH, &headers, "")?;
        self.send(req).await
    }

    /// `Bearer {token}; org={org}`.
    pub fn vcd_auth(&self, token: &str) -> Result<String, String> {
        let v = vcd::format_authorization(&Secret::new(token), &self.accounts.vcd_org)
            .map_err(|e| e.to_string())?;
        v.to_str().map(str::to_owned).map_err(|e| e.to_string())
    }
}

/// The versioned XML `Accept` of a current VCD.
pub fn vcd_accept() -> String {
    SessionFormat::Xml.accept(ApiVersion::DEFAULT)
}

fn expect(cond: bool, why: impl FnOnce() -> String) -> Checked {
    if cond { Ok(()) } else { Err(why()) }
}

fn is_session(r: &Reply) -> bool {
    r.status.is_success() && r.json()["responseStatus"] == "SUCCESS"
}

fn expires_in(v: &Value) -> Option<u64> {
    v["expires_in"]
        .as_u64()
        .or_else(|| v["expires_in"].as_str().and_then(|s| s.parse().ok()))
}

/// The successful token responses of the JSON token routes other than
/// `cognito` (which has its own ids), paired with their route names.
async fn json_successes(
    h: &Target,
    with_cognito: bool,
) -> Result<Vec<(&'static str, Reply)>, String> {
    let mut out = Vec::new();
    if with_cognito {
        out.push((
            "cognito",
            h.cognito(&h.cognito_request(h.accounts.client_secret.expose())?)
                .await?,
        ));
    }
    out.push(("cess", h.cess(&h.cess_body()).await?));
    out.push(("venafi-authorize", h.venafi_grant().await?));
    if let Some(r) = h.venafi_refreshed().await? {
        out.push(("venafi-refresh", r));
    }
    out.retain(|(_, r)| r.status.is_success());
    Ok(out)
}

/// Every check id below, in catalog order.
pub const CHECKS: &[&str] = &[
    "RFC-01", "RFC-02", "RFC-06", "RFC-08", "VV-07", "VV-09", "VV-10", "VV-11", "CE-06", "CE-08",
    "CE-09", "CE-10", "CE-11", "CE-12", "VE-06", "VE-07", "VE-08", "VE-09", "VE-10", "VE-11",
    "VE-12", "CG-05", "CG-07", "CG-08", "CG-09", "CG-10", "CG-11", "CG-12", "CG-13", "CG-14",
    "CG-15", "VCD-07", "VCD-08", "VCD-09", "VCD-10", "VCD-11",
];

/// Runs check `id` against the target.
pub async fn check(h: &Target, id: &str) -> Checked {
    match id {
        "RFC-01" => {
            for (route, r) in json_successes(h, true).await? {
                expect(wire::is_json(&r.headers), || {
                    format!("{route}: success is not labelled JSON")
                })?;
            }
            let bad = h.cognito(&h.cognito_request("wrong")?).await?;
            expect(wire::is_json(&bad.headers), || {
                "cognito: error is not labelled JSON".into()
            })
        }
        "RFC-02" => {
            for (route, r) in json_successes(h, false).await? {
                expect(wire::has_no_store(&r.headers), || {
                    format!("{route}: no Cache-Control: no-store")
                })?;
            }
            Ok(())
        }
        "RFC-06" => {
            for (route, r) in json_successes(h, true).await? {
                expect(r.json()["expires_in"].is_u64(), || {
                    format!("{route}: expires_in is not a number")
                })?;
            }
            Ok(())
        }
        "RFC-08" => {
            let r = h
                .send(h.raw(
                    Method::POST,
                    cognito::TOKEN_PATH,
                    &[
                        ("authorization", "Basic !!not-base64!!"),
                        ("content-type", wire::FORM),
                    ],
                    "grant_type=client_credentials",
                )?)
                .await?;
            expect(r.status == StatusCode::UNAUTHORIZED, || {
                format!("status {}", r.status)
            })?;
            expect(
                r.headers.contains_key(http::header::WWW_AUTHENTICATE),
                || "a 401 without WWW-Authenticate".into(),
            )
        }
        "VV-07" => {
            let r = h.veeva(&h.accounts.veeva_profile, None).await?;
            let v = r.json();
            expect(
                v["responseStatus"] != "FAILURE"
                    || v["errors"].as_array().is_some_and(|e| !e.is_empty()),
                || format!("FAILURE without errors: {}", r.text()),
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
            let req = cess::TokenRequest::new(
                &h.accounts.client_id,
                Secret::new(h.accounts.client_secret.expose()),
                &h.accounts.cess_username,
                Secret::new(h.accounts.cess_otp.expose()),
            )
            .map_err(|e| e.to_string())?;
            let r = h
                .send(req.encode(&h.base).map_err(|e| e.to_string())?)
                .await?;
            match req.decode_response(r.status, &r.headers, &r.body) {
                Err(ProviderError::Decode(DecodeError::Contract {
                    check: "CE-06",
                    reason,
                })) => Err(reason),
                _ => Ok(()),
            }
        }
        "CE-08" => {
            let r = h.cess(&h.cess_body()).await?;
            let scope = r.json()["scope"].as_str().unwrap_or_default().to_owned();
            expect(scope.split(' ').any(|s| s == cess::DEFAULT_SCOPE), || {
                format!("scope {scope:?}")
            })
        }
        "CE-09" => {
            let mut b = h.cess_body();
            b["password"] = "000000".into();
            let r = h.cess(&b).await?;
            expect(r.status.is_client_error(), || {
                format!("wrong OTP: {}", r.status)
            })
        }
        "CE-10" => {
            let mut b = h.cess_body();
            b["grant_type"] = "client_credentials".into();
            let r = h.cess(&b).await?;
            expect(
                r.status == StatusCode::BAD_REQUEST
                    && r.json()["error"] == "unsupported_grant_type",
                || format!("{} {}", r.status, r.text()),
            )
        }
        "CE-11" => {
            let mut b = h.cess_body();
            b["lifetime"] = 604_801.into();
            let r = h.cess(&b).await?;
            expect(
                r.status == StatusCode::BAD_REQUEST
                    || (r.status.is_success()
                        && expires_in(&r.json()).is_some_and(|e| e <= 604_800)),
                || format!("{} {}", r.status, r.text()),
            )
        }
        "CE-12" => {
            let mut b = h.cess_body();
            b["lifetime"] = 3600.into();
            let r = h.cess(&b).await?;
            let e = expires_in(&r.json());
            expect(
                r.status.is_success() && e.is_some_and(|e| e <= 3600),
                || format!("expires_in {e:?}"),
            )
        }
        "VE-06" | "VE-07" | "VE-08" => {
            let mut b = h.venafi_body(&h.accounts.venafi_scope);
            let (status, message) = match id {
                "VE-06" => {
                    b.as_object_mut()
                        .ok_or("not a JSON object")?
                        .remove("client_id");
                    (400, "Application identifier is missing")
                }
                "VE-07" => {
                    b.as_object_mut()
                        .ok_or("not a JSON object")?
                        .remove("password");
                    (400, "Missing username or password")
                }
                _ => {
                    b["password"] = "wrong".into();
                    (401, "Username/password combination not valid")
                }
            };
            let r = h
                .venafi(tokenprobe_protocol::venafi::AUTHORIZE_PATH, &b)
                .await?;
            expect(
                r.status.as_u16() == status && r.text().contains(message),
                || format!("{} {}", r.status, r.text()),
            )
        }
        "VE-09" => {
            let r = h
                .venafi(
                    tokenprobe_protocol::venafi::AUTHORIZE_PATH,
                    &h.venafi_body("admin"),
                )
                .await?;
            expect(
                matches!(r.status.as_u16(), 400 | 401 | 403) && r.json()["access_token"].is_null(),
                || format!("{} for a scope the application lacks", r.status),
            )
        }
        "VE-10" => {
            let first = h.venafi_grant().await?.json();
            let refresh = first["refresh_token"].as_str().ok_or("no refresh token")?;
            let r = h
                .venafi(
                    tokenprobe_protocol::venafi::REFRESH_PATH,
                    &json!({"client_id": &h.accounts.client_id, "refresh_token": refresh}),
                )
                .await?;
            let new = r.json()["access_token"].as_str().map(str::to_owned);
            expect(
                r.status.is_success()
                    && new.is_some()
                    && new.as_deref() != first["access_token"].as_str(),
                || format!("refresh: {} {}", r.status, r.text()),
            )
        }
        "VE-11" => {
            let token = h.venafi_grant().await?.json()["access_token"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let before = h
                .venafi_bearer(tokenprobe_protocol::venafi::VERIFY_PATH, &token)
                .await?;
            expect(before.status.is_success(), || {
                format!("verify before revoke: {}", before.status)
            })?;
            let revoked = h
                .venafi_bearer(tokenprobe_protocol::venafi::REVOKE_PATH, &token)
                .await?;
            expect(revoked.status.is_success(), || {
                format!("revoke: {}", revoked.status)
            })?;
            let after = h
                .venafi_bearer(tokenprobe_protocol::venafi::VERIFY_PATH, &token)
                .await?;
            expect(after.status == StatusCode::UNAUTHORIZED, || {
                format!("verify after revoke: {}", after.status)
            })
        }
        "VE-12" => {
            let asked: tokenprobe_protocol::venafi::Scope = h
                .accounts
                .venafi_scope
                .parse()
                .map_err(|e: tokenprobe_protocol::venafi::ScopeError| e.to_string())?;
            let r = h.venafi_grant().await?;
            let granted = r.json()["scope"].as_str().unwrap_or_default().to_owned();
            let within = granted
                .parse::<tokenprobe_protocol::venafi::Scope>()
                .is_ok_and(|g| g.is_within(&asked));
            expect(within, || format!("granted {granted:?} for {asked}"))
        }
        "CG-05" => {
            let req = h.cognito_request(h.accounts.client_secret.expose())?;
            let r = h.cognito(&req).await?;
            match req.decode_response(r.status, &r.headers, &r.body) {
                Ok(g) => match g.warnings.iter().find(|w| w.check == "CG-05") {
                    Some(w) => Err(w.message.clone()),
                    None => Ok(()),
                },
                Err(ProviderError::Decode(DecodeError::Contract {
                    check: "CG-05",
                    reason,
                })) => Err(reason),
                Err(_) => Ok(()),
            }
        }
        "CG-07" => {
            let r = h
                .cognito(&h.cognito_request(h.accounts.client_secret.expose())?)
                .await?;
            expect(wire::has_no_store(&r.headers), || {
                "no Cache-Control: no-store".into()
            })
        }
        "CG-08" | "CG-09" => {
            let req = if id == "CG-08" {
                h.cognito_request("wrong-secret")?
            } else {
                cognito::TokenRequest::new(
                    "nobody",
                    Secret::new(h.accounts.client_secret.expose()),
                    ClientAuth::Basic,
                )
                .map_err(|e| e.to_string())?
            };
            let r = h.cognito(&req).await?;
            expect(
                matches!(r.status.as_u16(), 400 | 401) && r.json()["error"] == "invalid_client",
                || format!("{} {}", r.status, r.text()),
            )
        }
        "CG-10" => {
            let r = h.cognito_form(Method::POST, "grant_type=password").await?;
            let e = r.json()["error"].clone();
            expect(
                r.status == StatusCode::BAD_REQUEST
                    && (e == "unsupported_grant_type" || e == "unauthorized_client"),
                || format!("{} {}", r.status, r.text()),
            )
        }
        "CG-11" => {
            let r = h
                .cognito_form(Method::POST, "scope=tokenprobe%2Fread")
                .await?;
            expect(
                r.status == StatusCode::BAD_REQUEST && r.json()["error"] == "invalid_request",
                || format!("{} {}", r.status, r.text()),
            )
        }
        "CG-12" => {
            let req = h
                .cognito_request(h.accounts.client_secret.expose())?
                .with_scopes(["admin/everything"])
                .map_err(|e| e.to_string())?;
            let r = h.cognito(&req).await?;
            if r.status == StatusCode::BAD_REQUEST {
                return expect(r.json()["error"] == "invalid_scope", || r.text());
            }
            let token = r.json()["access_token"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let claims =
                tokenprobe_protocol::jwt::decode_unverified(&token).map(|j| j.claims.scope);
            let claimed =
                |s: Option<&str>| s.is_some_and(|s| s.split(' ').any(|x| x == "admin/everything"));
            expect(
                !claimed(r.json()["scope"].as_str())
                    && !claims.is_ok_and(|c| claimed(c.as_deref())),
                || "a grant claiming a scope the client lacks".into(),
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
            let r = h
                .cognito(&h.cognito_request(h.accounts.client_secret.expose())?)
                .await?;
            expect(r.json()["refresh_token"].is_null(), || {
                "a refresh_token for client credentials".into()
            })
        }
        "CG-15" => {
            let r = h
                .cognito(&h.cognito_request(h.accounts.client_secret.expose())?)
                .await?;
            let token = r.json()["access_token"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let jwks = h
                .send(h.raw(Method::GET, cognito::JWKS_PATH, &[], "")?)
                .await?;
            let set: jsonwebtoken::jwk::JwkSet =
                serde_json::from_slice(&jwks.body).map_err(|e| format!("JWKS: {e}"))?;
            let header = jsonwebtoken::decode_header(&token).map_err(|e| e.to_string())?;
            let kid = header.kid.ok_or("no kid")?;
            let jwk = set
                .find(&kid)
                .ok_or_else(|| format!("kid {kid} is not in the JWKS"))?;
            let key = jsonwebtoken::DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
            let mut v = jsonwebtoken::Validation::new(header.alg);
            v.validate_aud = false;
            jsonwebtoken::decode::<Value>(&token, &key, &v)
                .map(|_| ())
                .map_err(|e| format!("signature: {e}"))
        }
        "VCD-07" => {
            let r = h.vcd_login(None, &vcd_accept()).await?;
            expect(r.status == StatusCode::FORBIDDEN, || {
                format!("status {}", r.status)
            })
        }
        "VCD-08" => {
            let r = h
                .vcd_login(Some("Bearer not-a-token; org=Finance"), &vcd_accept())
                .await?;
            let major = VcdError::from_xml(&r.body).map(|e| e.major_code).ok();
            expect(
                r.status == StatusCode::UNAUTHORIZED && major == Some(401),
                || format!("{} {}", r.status, r.text()),
            )
        }
        "VCD-09" => {
            let token = h.idp_token().await?;
            let auth = h.vcd_auth(&token)?;
            let r = h.vcd_login(Some(&auth), &vcd_accept()).await?;
            let org = VcdSession::from_xml(&r.body)
                .map(|s| s.org)
                .map_err(|e| e.to_string())?;
            expect(org == h.accounts.vcd_org, || {
                format!("the Session names org {org:?}")
            })
        }
        "VCD-10" => {
            let token = h.idp_token().await?;
            let auth = h.vcd_auth(&token)?;
            let r = h
                .vcd_login(Some(&auth), "application/*+xml;version=9.0")
                .await?;
            expect(r.status == StatusCode::NOT_ACCEPTABLE, || {
                format!("status {}", r.status)
            })
        }
        "VCD-11" => {
            let token = h.idp_token().await?;
            let auth = h.vcd_auth(&token)?;
            let r = h.vcd_login(Some(&auth), &vcd_accept()).await?;
            let session = r
                .headers
                .get(vcd::ACCESS_TOKEN_HEADER)
                .ok_or("no session token")?;
            let bearer = format!("Bearer {}", session.to_str().map_err(|e| e.to_string())?);
            let current = |m| {
                h.raw(
                    m,
                    vcd::CURRENT_SESSION_PATH,
                    &[("authorization", &bearer), ("accept", &vcd_accept())],
                    "",
                )
            };
            let before = h.send(current(Method::GET)?).await?;
            expect(before.status.is_success(), || {
                format!("session before logout: {}", before.status)
            })?;
            let out = h.send(current(Method::DELETE)?).await?;
            expect(out.status == StatusCode::NO_CONTENT, || {
                format!("logout: {}", out.status)
            })?;
            let after = h.send(current(Method::GET)?).await?;
            expect(after.status == StatusCode::UNAUTHORIZED, || {
                format!("session after logout: {}", after.status)
            })
        }
        other => Err(format!("no check for {other}")),
    }
}
