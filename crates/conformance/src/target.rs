//! Where the checks run and as whom: a base URL, a transport and one
//! system's accounts, with request helpers the checks share. Every request
//! goes through [`Target::send`], which keeps redacted evidence and notes
//! the sessions the checks open, so that [`Target::end_sessions`] can end
//! them on the server.

use std::sync::Mutex;
use std::time::Instant;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use serde_json::Value;
use tokenprobe_client::{FlowConfig, IdpConfig, Transport, VcdFormat, cognito_request};
use tokenprobe_protocol::client_auth::{ClientAuth, basic_authorization};
use tokenprobe_protocol::vcd::{self, ApiVersion, SessionFormat};
use tokenprobe_protocol::{BaseUrl, Secret, cess, cognito, rfc6749, veeva, venafi, wire};
use tokio::sync::OnceCell;

use crate::catalog::System;
use crate::evidence::{Exchange, Redactor};

/// The credentials and names the checks use. Only the fields of the
/// target's system matter.
#[derive(Debug, Clone)]
pub struct Accounts {
    /// Client id.
    pub client_id: String,
    /// Its secret.
    pub client_secret: Secret,
    /// How a `cognito` client authenticates.
    pub client_auth: ClientAuth,
    /// Scopes a `cognito` client asks for.
    pub scopes: Vec<String>,
    /// The `cognito` token path.
    pub token_path: String,
    /// More `cognito` form parameters (Auth0's `audience`).
    pub params: Vec<(String, String)>,
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
    /// VCD system-administrator sessions (`/sessions/provider`).
    pub vcd_provider: bool,
    /// The VCD API version and body format to ask for.
    pub vcd_format: SessionFormat,
    /// The VCD API version.
    pub vcd_version: ApiVersion,
    /// Where `veeva` and `vcd` get their IdP token; this target's own
    /// client-credentials endpoint with the client above when `None`.
    pub idp: Option<Idp>,
}

impl Default for Accounts {
    /// The stub's demo accounts.
    fn default() -> Self {
        Accounts {
            client_id: "tokenprobe-demo".into(),
            client_secret: Secret::new("demo-secret"),
            client_auth: ClientAuth::Basic,
            scopes: Vec::new(),
            token_path: cognito::TOKEN_PATH.into(),
            params: Vec::new(),
            cess_username: "12345678909".into(),
            cess_otp: Secret::new("123456"),
            venafi_username: "local:admin".into(),
            venafi_password: Secret::new("demo-password"),
            venafi_scope: "certificate:manage".into(),
            veeva_profile: "tokenprobe-demo".into(),
            vcd_org: "Finance".into(),
            vcd_provider: false,
            vcd_format: SessionFormat::Xml,
            vcd_version: ApiVersion::DEFAULT,
            idp: None,
        }
    }
}

/// Where a two-step system's IdP token comes from.
#[derive(Debug, Clone)]
pub enum Idp {
    /// A fixed token.
    Token(Secret),
    /// A client-credentials endpoint.
    Cognito(BaseUrl, cognito::TokenRequest),
}

/// How the `cognito` checks read the server.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Any RFC 6749 server, not Amazon Cognito: the Cognito-only claims
    /// (`token_use`, `client_id`) are not required.
    pub generic: bool,
    /// The JWKS path under the base URL (default `/.well-known/jwks.json`).
    pub jwks_path: Option<String>,
}

/// An answer, read whole. Its `Debug` shows no body or header values:
/// they may hold tokens.
#[derive(Clone)]
pub struct Reply {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Bytes,
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reply")
            .field("status", &self.status)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("body_bytes", &self.body.len())
            .finish()
    }
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

/// A session a check opened on the server.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Session {
    /// A Venafi grant, ended by revoking its access token.
    Venafi(Secret),
    /// A VCD session, ended by logging out: its `Authorization` value.
    Vcd(Secret),
}

/// An answer several checks read: the route, the answer and its evidence.
type Shared = (&'static str, Reply, Exchange);

/// The answers asked for once per target, or why there are none.
type Asked = Result<Vec<Shared>, String>;

/// One system's server, and who the checks are there.
#[derive(Debug)]
pub struct Target {
    /// The system.
    pub system: System,
    /// The server.
    pub base: BaseUrl,
    /// How to reach it.
    pub transport: Transport,
    /// Who to be.
    pub accounts: Accounts,
    /// How to read it.
    pub options: Options,
    redactor: Mutex<Redactor>,
    journal: Mutex<Vec<Exchange>>,
    sessions: Mutex<Vec<Session>>,
    successes: OnceCell<Asked>,
    refusal: OnceCell<Asked>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Target {
    /// A target for `system` at `base`.
    pub fn new(system: System, base: BaseUrl, transport: Transport, accounts: Accounts) -> Target {
        let mut redactor = Redactor::default();
        for s in [
            &accounts.client_secret,
            &accounts.cess_otp,
            &accounts.venafi_password,
        ] {
            redactor.learn(s.expose());
        }
        match &accounts.idp {
            Some(Idp::Token(t)) => redactor.learn(t.expose()),
            Some(Idp::Cognito(_, r)) => redactor.learn(r.client_secret().expose()),
            None => {}
        }
        Target {
            system,
            base,
            transport,
            accounts,
            options: Options::default(),
            redactor: Mutex::new(redactor),
            journal: Mutex::new(Vec::new()),
            sessions: Mutex::new(Vec::new()),
            successes: OnceCell::new(),
            refusal: OnceCell::new(),
        }
    }

    /// The same target read with `options`.
    pub fn with_options(mut self, options: Options) -> Target {
        self.options = options;
        self
    }

    /// A target for a scenario flow: its base URL (or `default_base`), its
    /// credentials (secrets read now) and its IdP.
    pub fn from_flow(
        flow: &FlowConfig,
        default_base: &BaseUrl,
        transport: Transport,
    ) -> Result<Target, String> {
        let e = |e: tokenprobe_client::ClientError| e.to_string();
        let or_default = |b: &Option<BaseUrl>| b.clone().unwrap_or_else(|| default_base.clone());
        let idp = |c: &IdpConfig| -> Result<Idp, String> {
            Ok(match c {
                IdpConfig::Token(t) => Idp::Token(t.resolve().map_err(e)?),
                IdpConfig::Cognito(c) => {
                    Idp::Cognito(or_default(&c.base_url), cognito_request(c).map_err(e)?)
                }
            })
        };
        let mut a = Accounts::default();
        let (system, base) = match flow {
            FlowConfig::Cognito(c) => {
                let req = cognito_request(c).map_err(e)?;
                a.client_id = c.client_id.clone();
                a.client_secret = req.client_secret().clone();
                a.client_auth = c.auth;
                a.scopes = c.scopes.clone();
                a.token_path = req.path().to_owned();
                a.params = c.params.clone().into_iter().collect();
                (System::Cognito, &c.base_url)
            }
            FlowConfig::Cess(c) => {
                a.client_id = c.client_id.clone();
                a.client_secret = c.client_secret.resolve().map_err(e)?;
                a.cess_username = c.username.clone();
                a.cess_otp = c.otp.resolve().map_err(e)?;
                (System::Cess, &c.base_url)
            }
            FlowConfig::Venafi(c) => {
                a.client_id = c.client_id.clone();
                a.venafi_username = c.username.clone();
                a.venafi_password = c.password.resolve().map_err(e)?;
                a.venafi_scope = c.scope.clone();
                (System::Venafi, &c.base_url)
            }
            FlowConfig::Veeva(c) => {
                a.veeva_profile = c.profile_id.clone();
                a.idp = Some(idp(&c.idp)?);
                (System::Veeva, &c.base_url)
            }
            FlowConfig::Vcd(c) => {
                a.vcd_org = c.org.clone();
                a.vcd_provider = c.provider;
                a.vcd_format = match c.format {
                    VcdFormat::Xml => SessionFormat::Xml,
                    VcdFormat::Json => SessionFormat::Json,
                };
                if let Some(v) = &c.version {
                    a.vcd_version = v
                        .parse()
                        .map_err(|_| format!("vcd version {v:?} is not MAJOR.MINOR"))?;
                }
                a.idp = Some(idp(&c.idp)?);
                (System::Vcd, &c.base_url)
            }
        };
        Ok(Target::new(system, or_default(base), transport, a))
    }

    /// Sends a request, keeping its evidence; a transport failure is an
    /// `Err` with its reason.
    pub async fn send(&self, req: Request<Bytes>) -> Result<Reply, String> {
        let mut exchange = lock(&self.redactor).request(&req);
        let (method, path) = (req.method().clone(), req.uri().path().to_owned());
        let bearer = req
            .headers()
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let started = Instant::now();
        let result = self.transport.send(req).await;
        exchange.elapsed = started.elapsed();
        match result {
            Ok(a) => {
                let reply = Reply {
                    status: a.status,
                    headers: a.headers,
                    body: a.body,
                };
                lock(&self.redactor).answer(
                    &mut exchange,
                    reply.status.as_u16(),
                    &reply.headers,
                    &reply.body,
                );
                self.note_session(&method, &path, bearer.as_deref(), &reply);
                lock(&self.journal).push(exchange);
                Ok(reply)
            }
            Err(e) => {
                let why = self.scrub(&e.to_string());
                exchange.error = Some(why.clone());
                lock(&self.journal).push(exchange);
                Err(why)
            }
        }
    }

    /// Notes a session the answer opened, or forgets one it ended.
    fn note_session(&self, method: &Method, path: &str, auth: Option<&str>, r: &Reply) {
        if !r.status.is_success() {
            return;
        }
        let mut sessions = lock(&self.sessions);
        if path.ends_with(venafi::AUTHORIZE_PATH) || path.ends_with(venafi::REFRESH_PATH) {
            if let Some(t) = r.json()["access_token"].as_str() {
                sessions.push(Session::Venafi(Secret::new(t)));
            }
        } else if path.ends_with(venafi::REVOKE_PATH) {
            let revoked = auth
                .and_then(rfc6749::bearer_credentials)
                .map(|t| Session::Venafi(Secret::new(t)));
            sessions.retain(|s| Some(s) != revoked.as_ref());
        } else if *method == Method::POST && path.contains(vcd::SESSIONS_PATH) {
            let header = |n| r.headers.get(n).and_then(|v| v.to_str().ok());
            if let Some(token) = header(vcd::ACCESS_TOKEN_HEADER) {
                let kind = header(vcd::TOKEN_TYPE_HEADER).unwrap_or("Bearer");
                sessions.push(Session::Vcd(Secret::new(format!("{kind} {token}"))));
            }
        } else if *method == Method::DELETE && path.ends_with(vcd::CURRENT_SESSION_PATH) {
            let ended = auth.map(|a| Session::Vcd(Secret::new(a)));
            sessions.retain(|s| Some(s) != ended.as_ref());
        }
    }

    /// Ends every session the checks opened and left open (Venafi revoke,
    /// VCD logout); returns how many ended, and the reasons of those that
    /// did not. Vault sessions are left to expire: ending one needs the
    /// Vault API, not this endpoint.
    pub async fn end_sessions(&self) -> (usize, Vec<String>) {
        let open = std::mem::take(&mut *lock(&self.sessions));
        let (mut ended, mut failed) = (0, Vec::new());
        for s in open {
            let sent = match &s {
                Session::Venafi(t) => self.venafi_bearer(venafi::REVOKE_PATH, t.expose()).await,
                Session::Vcd(auth) => self.vcd_logout(auth.expose()).await,
            };
            match sent {
                // 401: the token no longer works, so the session is over
                // (a Venafi refresh and its grant end together).
                Ok(r) if r.status.is_success() || r.status == StatusCode::UNAUTHORIZED => {
                    ended += 1
                }
                Ok(r) => failed.push(format!("{}: {}", self.system, r.status)),
                Err(e) => failed.push(format!("{}: {e}", self.system)),
            }
        }
        (ended, failed)
    }

    /// The evidence kept since the last call.
    pub fn take_evidence(&self) -> Vec<Exchange> {
        std::mem::take(&mut *lock(&self.journal))
    }

    /// `text` with every secret and token seen so far replaced.
    pub fn scrub(&self, text: &str) -> String {
        lock(&self.redactor).scrub(text)
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

    /// The plain successful token answers of this system (one request, two
    /// for Venafi with a refresh), asked for once and shared by the checks
    /// that only read them. Not-successful answers are left out; none at
    /// all is an error.
    pub async fn successes(&self) -> Result<Vec<(&'static str, Reply)>, String> {
        self.shared(&self.successes, self.ask_successes()).await
    }

    /// This system's answer to a request refused for a non-secret reason
    /// (`cognito`: no `grant_type`; `cess`: another `grant_type`; `venafi`:
    /// no `client_id`), asked for once: no wrong credential is ever sent.
    pub async fn refusal(&self) -> Result<Reply, String> {
        let mut all = self.shared(&self.refusal, self.ask_refusal()).await?;
        Ok(all.remove(0).1)
    }

    /// Runs `ask` once per target; every later caller gets the same
    /// answers, their evidence marked shared.
    async fn shared(
        &self,
        cell: &OnceCell<Asked>,
        ask: impl Future<Output = Asked>,
    ) -> Result<Vec<(&'static str, Reply)>, String> {
        let mut first = false;
        let all = cell
            .get_or_init(|| async {
                first = true;
                ask.await
            })
            .await
            .clone()?;
        let mut journal = lock(&self.journal);
        let mut out = Vec::new();
        for (route, reply, exchange) in all {
            if !first {
                journal.push(Exchange {
                    shared: true,
                    ..exchange
                });
            }
            out.push((route, reply));
        }
        Ok(out)
    }

    async fn ask_refusal(&self) -> Asked {
        let (route, r) = match self.system {
            System::Cognito => {
                let scope = self.accounts.scopes.join(" ");
                let form = if scope.is_empty() {
                    String::new()
                } else {
                    form_urlencoded::Serializer::new(String::new())
                        .append_pair("scope", &scope)
                        .finish()
                };
                ("cognito", self.cognito_form(Method::POST, &form).await?)
            }
            System::Cess => {
                let mut b = self.cess_body()?;
                b["grant_type"] = "client_credentials".into();
                ("cess", self.cess(&b).await?)
            }
            System::Venafi => {
                let mut b = self.venafi_body(&self.accounts.venafi_scope)?;
                if let Some(o) = b.as_object_mut() {
                    o.remove("client_id");
                }
                (
                    "venafi-authorize",
                    self.venafi(venafi::AUTHORIZE_PATH, &b).await?,
                )
            }
            System::Veeva | System::Vcd => return Err("no JSON token endpoint".into()),
        };
        let e = lock(&self.journal).last().cloned().ok_or("no evidence")?;
        Ok(vec![(route, r, e)])
    }

    async fn ask_successes(&self) -> Asked {
        let mut out = Vec::new();
        let keep = |route, r: Reply, out: &mut Vec<_>| {
            let e = lock(&self.journal).last().cloned();
            if let (true, Some(e)) = (r.status.is_success(), e) {
                out.push((route, r, e));
            }
        };
        match self.system {
            System::Cognito => {
                let r = self.cognito(&self.client_request()?).await?;
                keep("cognito", r, &mut out);
            }
            System::Cess => {
                let req = self.cess_request()?;
                let r = self
                    .send(req.encode(&self.base).map_err(|e| e.to_string())?)
                    .await?;
                keep("cess", r, &mut out);
            }
            System::Venafi => {
                let grant = self.venafi_grant().await?;
                let refresh = grant.json()["refresh_token"].as_str().map(str::to_owned);
                keep("venafi-authorize", grant, &mut out);
                if let Some(refresh) = refresh {
                    let r = self.venafi_refresh(&refresh).await?;
                    keep("venafi-refresh", r, &mut out);
                }
            }
            System::Veeva | System::Vcd => {}
        }
        if out.is_empty() {
            let last = lock(&self.journal).last().and_then(|e| e.status);
            return Err(format!(
                "no successful token response to inspect (status {}); check the credentials",
                last.map_or("none".into(), |s| s.to_string())
            ));
        }
        Ok(out)
    }

    /// The configured client-credentials request.
    pub fn client_request(&self) -> Result<cognito::TokenRequest, String> {
        self.client_request_as(
            &self.accounts.client_id,
            self.accounts.client_secret.expose(),
        )
    }

    /// A client-credentials request as another client or with another secret.
    pub fn client_request_as(
        &self,
        id: &str,
        secret: &str,
    ) -> Result<cognito::TokenRequest, String> {
        cognito::TokenRequest::new(id, Secret::new(secret), self.accounts.client_auth)
            .and_then(|r| r.with_scopes(&self.accounts.scopes))
            .and_then(|r| r.with_path(self.accounts.token_path.clone()))
            .and_then(|r| r.with_params(self.accounts.params.clone()))
            .map_err(|e| e.to_string())
    }

    /// Sends a client-credentials request.
    pub async fn cognito(&self, req: &cognito::TokenRequest) -> Result<Reply, String> {
        self.send(req.encode(&self.base).map_err(|e| e.to_string())?)
            .await
    }

    /// A form to the token endpoint, our client authenticated as
    /// configured (HTTP Basic, or `client_id` and `client_secret` added to
    /// the form).
    pub async fn cognito_form(&self, method: Method, form: &str) -> Result<Reply, String> {
        let (id, secret) = (&self.accounts.client_id, &self.accounts.client_secret);
        let (auth, form) = match self.accounts.client_auth {
            ClientAuth::Basic => {
                let basic = basic_authorization(id, secret).map_err(|e| e.to_string())?;
                let basic = basic.to_str().map_err(|e| e.to_string())?.to_owned();
                (Some(basic), form.to_owned())
            }
            ClientAuth::Body => {
                let mut body = form_urlencoded::Serializer::for_suffix(form.to_owned(), 0);
                body.append_pair("client_id", id);
                body.append_pair("client_secret", secret.expose());
                (None, body.finish())
            }
        };
        let mut headers = vec![("content-type", wire::FORM)];
        if let Some(a) = &auth {
            headers.push(("authorization", a));
        }
        let req = self.raw(method, &self.accounts.token_path, &headers, form)?;
        self.send(req).await
    }

    /// An IdP access token, for the two-step systems, read as the client
    /// reads it.
    pub async fn idp_token(&self) -> Result<String, String> {
        let (base, req) = match &self.accounts.idp {
            Some(Idp::Token(t)) => return Ok(t.expose().to_owned()),
            Some(Idp::Cognito(base, req)) => (base, req.clone()),
            None => (&self.base, self.client_request()?),
        };
        let r = self
            .send(req.encode(base).map_err(|e| e.to_string())?)
            .await?;
        req.decode_response(r.status, &r.headers, &r.body)
            .map(|g| g.secret.expose().to_owned())
            .map_err(|e| format!("no IdP token: {e}"))
    }

    /// The configured CESS password grant.
    pub fn cess_request(&self) -> Result<cess::TokenRequest, String> {
        cess::TokenRequest::new(
            &self.accounts.client_id,
            self.accounts.client_secret.clone(),
            &self.accounts.cess_username,
            self.accounts.cess_otp.clone(),
        )
        .map_err(|e| e.to_string())
    }

    /// The body of the configured CESS grant, as JSON to vary.
    pub fn cess_body(&self) -> Result<Value, String> {
        let req = self
            .cess_request()?
            .encode(&self.base)
            .map_err(|e| e.to_string())?;
        serde_json::from_slice(req.body()).map_err(|e| e.to_string())
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

    fn venafi_request(&self, scope: &str) -> Result<venafi::AuthorizeRequest, String> {
        venafi::AuthorizeRequest::new(
            self.accounts.client_id.clone(),
            self.accounts.venafi_username.clone(),
            self.accounts.venafi_password.clone(),
            scope,
        )
        .map_err(|e| e.to_string())
    }

    /// The body of an authorize request for `scope`, as JSON to vary.
    pub fn venafi_body(&self, scope: &str) -> Result<Value, String> {
        let req = self
            .venafi_request(scope)?
            .encode(&self.base)
            .map_err(|e| e.to_string())?;
        serde_json::from_slice(req.body()).map_err(|e| e.to_string())
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

    /// A grant for the accounts' scope.
    pub async fn venafi_grant(&self) -> Result<Reply, String> {
        let req = self.venafi_request(&self.accounts.venafi_scope)?;
        self.send(req.encode(&self.base).map_err(|e| e.to_string())?)
            .await
    }

    /// A refresh with a grant's refresh token.
    pub async fn venafi_refresh(&self, refresh_token: &str) -> Result<Reply, String> {
        let req = venafi::RefreshRequest {
            client_id: self.accounts.client_id.clone(),
            refresh_token: Secret::new(refresh_token),
        };
        self.send(req.encode(&self.base).map_err(|e| e.to_string())?)
            .await
    }

    /// A call with the bearer token: revoke or verify.
    pub async fn venafi_bearer(&self, path: &str, token: &str) -> Result<Reply, String> {
        let req = venafi::BearerCall {
            token: Secret::new(token),
        };
        self.send(req.encode(&self.base, path).map_err(|e| e.to_string())?)
            .await
    }

    /// A Vault session request, with the IdP token `token` or none.
    pub async fn veeva(&self, profile: &str, token: Option<&str>) -> Result<Reply, String> {
        let req = match token {
            Some(t) => veeva::SessionRequest::new(profile, Secret::new(t))
                .and_then(|r| r.encode(&self.base))
                .map_err(|e| e.to_string())?,
            None => {
                let path = format!("{}{profile}", veeva::SESSION_PATH_PREFIX);
                self.raw(Method::POST, &path, &[("accept", wire::JSON)], "")?
            }
        };
        self.send(req).await
    }

    /// The configured VCD `Accept`.
    pub fn vcd_accept(&self) -> String {
        self.accounts.vcd_format.accept(self.accounts.vcd_version)
    }

    /// A VCD login for the accounts' org with the IdP token `token`, asking
    /// for API `version`.
    pub async fn vcd_login(
        &self,
        token: &str,
        version: ApiVersion,
    ) -> Result<(vcd::SessionRequest, Reply), String> {
        let mut req = vcd::SessionRequest::new(Secret::new(token), self.accounts.vcd_org.clone())
            .map_err(|e| e.to_string())?;
        req.version = version;
        req.format = self.accounts.vcd_format;
        req.provider = self.accounts.vcd_provider;
        let r = self
            .send(req.encode(&self.base).map_err(|e| e.to_string())?)
            .await?;
        Ok((req, r))
    }

    /// A VCD login without `Authorization`.
    pub async fn vcd_login_anonymous(&self) -> Result<Reply, String> {
        let path = if self.accounts.vcd_provider {
            vcd::PROVIDER_SESSIONS_PATH
        } else {
            vcd::SESSIONS_PATH
        };
        let accept = self.vcd_accept();
        self.send(self.raw(Method::POST, path, &[("accept", &accept)], "")?)
            .await
    }

    /// A VCD logout with the session's `Authorization` value.
    pub async fn vcd_logout(&self, authorization: &str) -> Result<Reply, String> {
        let req = vcd::LogoutRequest {
            authorization: Secret::new(authorization),
            version: self.accounts.vcd_version,
        };
        self.send(req.encode(&self.base).map_err(|e| e.to_string())?)
            .await
    }
}
