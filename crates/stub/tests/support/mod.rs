//! Shared by the stub's tests: a running stub, a reqwest client, and one
//! check per contract id that a live server can break. Each check sends
//! real HTTP over loopback and says `Err(why)` when the contract is broken.

#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use serde_json::{Value, json};
use tokenprobe_protocol::client_auth::{ClientAuth, basic_authorization};
use tokenprobe_protocol::vcd::{self, ApiVersion, SessionFormat, VcdError, VcdSession};
use tokenprobe_protocol::{
    BaseUrl, DecodeError, ProviderError, Secret, cess, cognito, veeva, wire,
};
use tokenprobe_stub::{
    Config, DEMO_ID, DEMO_OTP, DEMO_PASSWORD, DEMO_SECRET, JwtAlgorithm, Stub, StubHandle,
};

pub type Checked = Result<(), String>;

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A stub and a client for it.
pub struct Harness {
    pub stub: StubHandle,
    pub base: BaseUrl,
    pub http: reqwest::Client,
}

/// A demo configuration that starts fast (ES256 keys).
pub fn fast_config() -> Config {
    let mut c = Config::default();
    c.jwt.algorithm = JwtAlgorithm::ES256;
    c
}

impl Harness {
    pub async fn start(config: Config) -> Harness {
        let stub = Stub::start(config).await.expect("the stub starts");
        let base = stub.base_url();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        Harness { stub, base, http }
    }

    pub async fn send(&self, req: Request<Bytes>) -> Reply {
        self.try_send(req).await.expect("the stub answers")
    }

    pub async fn try_send(&self, req: Request<Bytes>) -> Result<Reply, reqwest::Error> {
        let res = self
            .http
            .execute(reqwest::Request::try_from(req).unwrap())
            .await?;
        Ok(Reply {
            status: res.status(),
            headers: res.headers().clone(),
            body: res.bytes().await?,
        })
    }

    /// A request to `path` with the given method, headers and body.
    pub fn raw(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Request<Bytes> {
        let mut b = Request::builder()
            .method(method)
            .uri(self.base.join(path).unwrap());
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(body.into()).unwrap()
    }

    // --- cognito -------------------------------------------------------

    pub fn cognito_request(&self, secret: &str) -> cognito::TokenRequest {
        cognito::TokenRequest::new(DEMO_ID, Secret::new(secret), ClientAuth::Basic).unwrap()
    }

    pub async fn cognito(&self, req: &cognito::TokenRequest) -> Reply {
        self.send(req.encode(&self.base).unwrap()).await
    }

    /// A form POST to the token endpoint with Basic for the demo client.
    pub async fn cognito_form(&self, method: Method, form: &str) -> Reply {
        let basic = basic_authorization(DEMO_ID, &Secret::new(DEMO_SECRET));
        let basic = basic.unwrap().to_str().unwrap().to_owned();
        self.send(self.raw(
            method,
            cognito::TOKEN_PATH,
            &[("authorization", &basic), ("content-type", wire::FORM)],
            form.to_owned(),
        ))
        .await
    }

    /// A valid identity provider token from the stub's own `cognito` route.
    pub async fn idp_token(&self) -> String {
        let r = self.cognito(&self.cognito_request(DEMO_SECRET)).await;
        r.json()["access_token"]
            .as_str()
            .expect("a token")
            .to_owned()
    }

    // --- cess ----------------------------------------------------------

    pub fn cess_body(&self) -> Value {
        json!({
            "client_id": DEMO_ID,
            "client_secret": DEMO_SECRET,
            "username": "12345678909",
            "password": DEMO_OTP,
            "grant_type": "password",
        })
    }

    pub async fn cess(&self, body: &Value) -> Reply {
        self.send(self.raw(
            Method::POST,
            cess::TOKEN_PATH,
            &[("content-type", "application/json")],
            body.to_string(),
        ))
        .await
    }

    // --- venafi --------------------------------------------------------

    pub fn venafi_body(&self, scope: &str) -> Value {
        json!({
            "client_id": DEMO_ID,
            "username": "local:admin",
            "password": DEMO_PASSWORD,
            "scope": scope,
        })
    }

    pub async fn venafi(&self, path: &str, body: &Value) -> Reply {
        self.send(self.raw(
            Method::POST,
            path,
            &[("content-type", "application/json")],
            body.to_string(),
        ))
        .await
    }

    pub async fn venafi_bearer(&self, path: &str, token: &str) -> Reply {
        let auth = format!("Bearer {token}");
        self.send(self.raw(Method::GET, path, &[("authorization", &auth)], ""))
            .await
    }

    /// A grant for `certificate:manage`, and a refresh of it.
    pub async fn venafi_grant(&self) -> Reply {
        self.venafi(
            tokenprobe_protocol::venafi::AUTHORIZE_PATH,
            &self.venafi_body("certificate:manage"),
        )
        .await
    }

    pub async fn venafi_refreshed(&self) -> Option<Reply> {
        let grant = self.venafi_grant().await.json();
        let refresh = grant["refresh_token"].as_str()?;
        Some(
            self.venafi(
                tokenprobe_protocol::venafi::REFRESH_PATH,
                &json!({"client_id": DEMO_ID, "refresh_token": refresh}),
            )
            .await,
        )
    }

    // --- veeva ---------------------------------------------------------

    pub async fn veeva(&self, profile: &str, auth: Option<&str>) -> Reply {
        let path = format!("{}{profile}", veeva::SESSION_PATH_PREFIX);
        let mut headers = vec![("accept", "application/json")];
        let auth = auth.map(|t| format!("Bearer {t}"));
        if let Some(a) = &auth {
            headers.push(("authorization", a));
        }
        self.send(self.raw(Method::POST, &path, &headers, "")).await
    }

    // --- vcd -----------------------------------------------------------

    pub async fn vcd_login(&self, auth: Option<&str>, accept: &str) -> Reply {
        let mut headers = vec![("accept", accept)];
        if let Some(a) = auth {
            headers.push(("authorization", a));
        }
        self.send(self.raw(Method::POST, vcd::SESSIONS_PATH, &headers, ""))
            .await
    }

    pub fn vcd_accept() -> String {
        SessionFormat::Xml.accept(ApiVersion::DEFAULT)
    }
}

/// `Bearer {token}; org=Finance`.
pub fn vcd_auth(token: &str) -> String {
    let v = vcd::format_authorization(&Secret::new(token), "Finance").unwrap();
    v.to_str().unwrap().to_owned()
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
async fn json_successes(h: &Harness, with_cognito: bool) -> Vec<(&'static str, Reply)> {
    let mut out = Vec::new();
    if with_cognito {
        out.push(("cognito", h.cognito(&h.cognito_request(DEMO_SECRET)).await));
    }
    out.push(("cess", h.cess(&h.cess_body()).await));
    out.push(("venafi-authorize", h.venafi_grant().await));
    if let Some(r) = h.venafi_refreshed().await {
        out.push(("venafi-refresh", r));
    }
    out.retain(|(_, r)| r.status.is_success());
    out
}

/// Every check id below, in catalog order.
pub const CHECKS: &[&str] = &[
    "RFC-01", "RFC-02", "RFC-06", "RFC-08", "VV-07", "VV-09", "VV-10", "VV-11", "CE-06", "CE-08",
    "CE-09", "CE-10", "CE-11", "CE-12", "VE-06", "VE-07", "VE-08", "VE-09", "VE-10", "VE-11",
    "VE-12", "CG-05", "CG-07", "CG-08", "CG-09", "CG-10", "CG-11", "CG-12", "CG-13", "CG-14",
    "CG-15", "VCD-07", "VCD-08", "VCD-09", "VCD-10", "VCD-11",
];

/// Runs one check against the harness's stub.
pub async fn check(h: &Harness, id: &str) -> Checked {
    match id {
        "RFC-01" => {
            for (route, r) in json_successes(h, true).await {
                expect(wire::is_json(&r.headers), || {
                    format!("{route}: success is not labelled JSON")
                })?;
            }
            let bad = h.cognito(&h.cognito_request("wrong")).await;
            expect(wire::is_json(&bad.headers), || {
                "cognito: error is not labelled JSON".into()
            })
        }
        "RFC-02" => {
            for (route, r) in json_successes(h, false).await {
                expect(wire::has_no_store(&r.headers), || {
                    format!("{route}: no Cache-Control: no-store")
                })?;
            }
            Ok(())
        }
        "RFC-06" => {
            for (route, r) in json_successes(h, true).await {
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
                ))
                .await;
            expect(r.status == StatusCode::UNAUTHORIZED, || {
                format!("status {}", r.status)
            })?;
            expect(
                r.headers.contains_key(http::header::WWW_AUTHENTICATE),
                || "a 401 without WWW-Authenticate".into(),
            )
        }
        "VV-07" => {
            let r = h.veeva(DEMO_ID, None).await;
            let v = r.json();
            expect(
                v["responseStatus"] != "FAILURE"
                    || v["errors"].as_array().is_some_and(|e| !e.is_empty()),
                || format!("FAILURE without errors: {}", r.text()),
            )
        }
        "VV-09" => {
            let r = h.veeva(DEMO_ID, None).await;
            expect(!is_session(&r), || "a session without Authorization".into())
        }
        "VV-10" => {
            let r = h.veeva(DEMO_ID, Some("not-a-token")).await;
            expect(!is_session(&r), || "a session for an invalid token".into())
        }
        "VV-11" => {
            let token = h.idp_token().await;
            let r = h.veeva("no-such-profile", Some(&token)).await;
            expect(!is_session(&r), || {
                "a session for an unknown profile".into()
            })
        }
        "CE-06" => {
            let req = cess::TokenRequest::new(
                DEMO_ID,
                Secret::new(DEMO_SECRET),
                "12345678909",
                Secret::new(DEMO_OTP),
            )
            .unwrap();
            let r = h.send(req.encode(&h.base).unwrap()).await;
            match req.decode_response(r.status, &r.headers, &r.body) {
                Err(ProviderError::Decode(DecodeError::Contract {
                    check: "CE-06",
                    reason,
                })) => Err(reason),
                _ => Ok(()),
            }
        }
        "CE-08" => {
            let r = h.cess(&h.cess_body()).await;
            let scope = r.json()["scope"].as_str().unwrap_or_default().to_owned();
            expect(scope.split(' ').any(|s| s == cess::DEFAULT_SCOPE), || {
                format!("scope {scope:?}")
            })
        }
        "CE-09" => {
            let mut b = h.cess_body();
            b["password"] = "000000".into();
            let r = h.cess(&b).await;
            expect(r.status.is_client_error(), || {
                format!("wrong OTP: {}", r.status)
            })
        }
        "CE-10" => {
            let mut b = h.cess_body();
            b["grant_type"] = "client_credentials".into();
            let r = h.cess(&b).await;
            expect(
                r.status == StatusCode::BAD_REQUEST
                    && r.json()["error"] == "unsupported_grant_type",
                || format!("{} {}", r.status, r.text()),
            )
        }
        "CE-11" => {
            let mut b = h.cess_body();
            b["lifetime"] = 604_801.into();
            let r = h.cess(&b).await;
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
            let r = h.cess(&b).await;
            let e = expires_in(&r.json());
            expect(
                r.status.is_success() && e.is_some_and(|e| e <= 3600),
                || format!("expires_in {e:?}"),
            )
        }
        "VE-06" | "VE-07" | "VE-08" => {
            let mut b = h.venafi_body("certificate:manage");
            let (status, message) = match id {
                "VE-06" => {
                    b.as_object_mut().unwrap().remove("client_id");
                    (400, "Application identifier is missing")
                }
                "VE-07" => {
                    b.as_object_mut().unwrap().remove("password");
                    (400, "Missing username or password")
                }
                _ => {
                    b["password"] = "wrong".into();
                    (401, "Username/password combination not valid")
                }
            };
            let r = h
                .venafi(tokenprobe_protocol::venafi::AUTHORIZE_PATH, &b)
                .await;
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
                .await;
            expect(
                matches!(r.status.as_u16(), 400 | 401 | 403) && r.json()["access_token"].is_null(),
                || format!("{} for a scope the application lacks", r.status),
            )
        }
        "VE-10" => {
            let first = h.venafi_grant().await.json();
            let refresh = first["refresh_token"].as_str().ok_or("no refresh token")?;
            let r = h
                .venafi(
                    tokenprobe_protocol::venafi::REFRESH_PATH,
                    &json!({"client_id": DEMO_ID, "refresh_token": refresh}),
                )
                .await;
            let new = r.json()["access_token"].as_str().map(str::to_owned);
            expect(
                r.status.is_success()
                    && new.is_some()
                    && new.as_deref() != first["access_token"].as_str(),
                || format!("refresh: {} {}", r.status, r.text()),
            )
        }
        "VE-11" => {
            let token = h.venafi_grant().await.json()["access_token"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let before = h
                .venafi_bearer(tokenprobe_protocol::venafi::VERIFY_PATH, &token)
                .await;
            expect(before.status.is_success(), || {
                format!("verify before revoke: {}", before.status)
            })?;
            let revoked = h
                .venafi_bearer(tokenprobe_protocol::venafi::REVOKE_PATH, &token)
                .await;
            expect(revoked.status.is_success(), || {
                format!("revoke: {}", revoked.status)
            })?;
            let after = h
                .venafi_bearer(tokenprobe_protocol::venafi::VERIFY_PATH, &token)
                .await;
            expect(after.status == StatusCode::UNAUTHORIZED, || {
                format!("verify after revoke: {}", after.status)
            })
        }
        "VE-12" => {
            let asked: tokenprobe_protocol::venafi::Scope = "certificate:manage".parse().unwrap();
            let r = h.venafi_grant().await;
            let granted = r.json()["scope"].as_str().unwrap_or_default().to_owned();
            let within = granted
                .parse::<tokenprobe_protocol::venafi::Scope>()
                .is_ok_and(|g| g.is_within(&asked));
            expect(within, || format!("granted {granted:?} for {asked}"))
        }
        "CG-05" => {
            let req = h.cognito_request(DEMO_SECRET);
            let r = h.cognito(&req).await;
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
            let r = h.cognito(&h.cognito_request(DEMO_SECRET)).await;
            expect(wire::has_no_store(&r.headers), || {
                "no Cache-Control: no-store".into()
            })
        }
        "CG-08" | "CG-09" => {
            let req = if id == "CG-08" {
                h.cognito_request("wrong-secret")
            } else {
                cognito::TokenRequest::new("nobody", Secret::new(DEMO_SECRET), ClientAuth::Basic)
                    .unwrap()
            };
            let r = h.cognito(&req).await;
            expect(
                matches!(r.status.as_u16(), 400 | 401) && r.json()["error"] == "invalid_client",
                || format!("{} {}", r.status, r.text()),
            )
        }
        "CG-10" => {
            let r = h.cognito_form(Method::POST, "grant_type=password").await;
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
                .await;
            expect(
                r.status == StatusCode::BAD_REQUEST && r.json()["error"] == "invalid_request",
                || format!("{} {}", r.status, r.text()),
            )
        }
        "CG-12" => {
            let req = h
                .cognito_request(DEMO_SECRET)
                .with_scopes(["admin/everything"])
                .unwrap();
            let r = h.cognito(&req).await;
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
                .await;
            expect(
                r.status.is_client_error() && r.json()["access_token"].is_null(),
                || format!("GET gave {}", r.status),
            )
        }
        "CG-14" => {
            let r = h.cognito(&h.cognito_request(DEMO_SECRET)).await;
            expect(r.json()["refresh_token"].is_null(), || {
                "a refresh_token for client credentials".into()
            })
        }
        "CG-15" => {
            let r = h.cognito(&h.cognito_request(DEMO_SECRET)).await;
            let token = r.json()["access_token"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let jwks = h
                .send(h.raw(Method::GET, tokenprobe_stub::JWKS_PATH, &[], ""))
                .await;
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
            let r = h.vcd_login(None, &Harness::vcd_accept()).await;
            expect(r.status == StatusCode::FORBIDDEN, || {
                format!("status {}", r.status)
            })
        }
        "VCD-08" => {
            let r = h
                .vcd_login(
                    Some("Bearer not-a-token; org=Finance"),
                    &Harness::vcd_accept(),
                )
                .await;
            let major = VcdError::from_xml(&r.body).map(|e| e.major_code).ok();
            expect(
                r.status == StatusCode::UNAUTHORIZED && major == Some(401),
                || format!("{} {}", r.status, r.text()),
            )
        }
        "VCD-09" => {
            let token = h.idp_token().await;
            let auth = vcd_auth(&token);
            let r = h.vcd_login(Some(&auth), &Harness::vcd_accept()).await;
            let org = VcdSession::from_xml(&r.body)
                .map(|s| s.org)
                .map_err(|e| e.to_string())?;
            expect(org == "Finance", || {
                format!("the Session names org {org:?}")
            })
        }
        "VCD-10" => {
            let token = h.idp_token().await;
            let auth = vcd_auth(&token);
            let r = h
                .vcd_login(Some(&auth), "application/*+xml;version=9.0")
                .await;
            expect(r.status == StatusCode::NOT_ACCEPTABLE, || {
                format!("status {}", r.status)
            })
        }
        "VCD-11" => {
            let token = h.idp_token().await;
            let auth = vcd_auth(&token);
            let r = h.vcd_login(Some(&auth), &Harness::vcd_accept()).await;
            let session = r
                .headers
                .get(vcd::ACCESS_TOKEN_HEADER)
                .ok_or("no session token")?;
            let bearer = format!("Bearer {}", session.to_str().unwrap());
            let current = |m| {
                h.raw(
                    m,
                    vcd::CURRENT_SESSION_PATH,
                    &[
                        ("authorization", &bearer),
                        ("accept", &Harness::vcd_accept()),
                    ],
                    "",
                )
            };
            let before = h.send(current(Method::GET)).await;
            expect(before.status.is_success(), || {
                format!("session before logout: {}", before.status)
            })?;
            let out = h.send(current(Method::DELETE)).await;
            expect(out.status == StatusCode::NO_CONTENT, || {
                format!("logout: {}", out.status)
            })?;
            let after = h.send(current(Method::GET)).await;
            expect(after.status == StatusCode::UNAUTHORIZED, || {
                format!("session after logout: {}", after.status)
            })
        }
        other => Err(format!("no check for {other}")),
    }
}
