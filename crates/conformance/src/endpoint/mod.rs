//! Where the checks run and as whom: one flow's server and account (built
//! by the client's own [`Flow`], so `check` sends what `load` sends), a
//! transport, and what the checks share. Split by job:
//!
//! - this module sends ([`Target::send`]), keeps the evidence in a
//!   [`Journal`], and asks once for the answers several checks read
//!   ([`Target::successes`], [`Target::refusal`]);
//! - [`requests`] sends a system's requests, built from the account (each
//!   system's own helpers are in its module of [`crate::checks`]);
//! - [`working`] gives the negative checks the working request to vary,
//!   and its answer ([`Target::control`]);
//! - [`sessions`] remembers the sessions the checks opened, so that
//!   [`Target::end_sessions`] can end them.

mod error;
mod requests;
mod sessions;
mod working;

use std::time::Instant;

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use serde_json::Value;
use tokenprobe_client::{Account, ClientError, Flow, FlowConfig, Transport};
use tokenprobe_protocol::discovery::Metadata;
use tokenprobe_protocol::{BaseUrl, Call, ProviderError, Secret, System};
use tokio::sync::OnceCell;

pub use error::TargetError;
pub use working::WorkingForm;

use crate::evidence::{Capture, Journal};
use sessions::Sessions;

/// How the `cognito` checks read the server.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Any RFC 6749 server, not Amazon Cognito: the Cognito-only claims
    /// (`token_use`, `client_id`) are not required.
    pub generic: bool,
    /// The JWKS path under the base URL (default `/.well-known/jwks.json`).
    pub jwks_path: Option<String>,
}

/// An answer, read whole, its body parsed as JSON once (`null` when it is
/// not JSON). Its `Debug` shows no body or header values: they may hold
/// tokens.
#[derive(Clone)]
pub struct Reply {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Bytes,
    json: Value,
}

impl Reply {
    /// This answer as `call`'s answer reads.
    pub fn read<C: Call>(&self, call: &C) -> Result<C::Output, ProviderError> {
        call.decode(self.status, &self.headers, &self.body)
    }
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
    /// An answer; its body is parsed here, once.
    pub fn new(status: StatusCode, headers: HeaderMap, body: Bytes) -> Reply {
        let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            json,
        }
    }

    /// The body as JSON, or `null`.
    pub fn json(&self) -> &Value {
        &self.json
    }

    /// A string member of the JSON body (`access_token`, `scope`, …).
    pub fn member(&self, name: &str) -> Option<&str> {
        self.json[name].as_str()
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// An answer several checks read: the route, the answer and its evidence.
pub(crate) type Shared = (&'static str, Reply, Capture);

/// The answers asked for once per target, or why there are none.
type Asked = Result<Vec<Shared>, TargetError>;

/// One flow's server, and who the checks are there.
#[derive(Debug)]
pub struct Target {
    /// The system.
    pub system: System,
    /// The server.
    pub base: BaseUrl,
    /// How to reach it.
    pub transport: Transport,
    /// The same without the client certificate, for a mutual-TLS flow:
    /// how MT-02 asks without it.
    bare: Option<Transport>,
    /// How to read it.
    pub options: Options,
    flow: Flow,
    metadata: Option<Metadata>,
    journal: Journal,
    sessions: Sessions,
    successes: OnceCell<Asked>,
    refusal: OnceCell<Asked>,
    idp: OnceCell<Result<Secret, TargetError>>,
}

impl Target {
    /// A target for a configured flow; its secrets are learnt by the
    /// redactor before anything is sent.
    pub fn new(flow: Flow, transport: Transport) -> Target {
        let journal = Journal::default();
        for secret in flow.account().secrets() {
            journal.learn(secret);
        }
        Target {
            system: flow.system(),
            base: flow.base().clone(),
            transport,
            bare: None,
            options: Options::default(),
            flow,
            metadata: None,
            journal,
            sessions: Sessions::default(),
            successes: OnceCell::new(),
            refusal: OnceCell::new(),
            idp: OnceCell::new(),
        }
    }

    /// A target for a scenario flow: its base URL (or `default_base`),
    /// its credentials (secrets read now) and its IdP, as [`Flow::new`]
    /// reads them.
    pub fn from_config(
        config: &FlowConfig,
        default_base: &BaseUrl,
        transport: Transport,
    ) -> Result<Target, ClientError> {
        let mut config = config.clone();
        config.default_base_url(default_base);
        Ok(Target::new(Flow::new(&config)?, transport))
    }

    /// A target for a scenario flow whose token endpoint may come from its
    /// `issuer`'s metadata (RFC 8414, OpenID Connect discovery), which the
    /// discovery checks then compare with what is served.
    pub async fn discover(
        config: &FlowConfig,
        default_base: &BaseUrl,
        transport: Transport,
    ) -> Result<Target, ClientError> {
        let mut config = config.clone();
        let metadata = config.discover(&transport).await?;
        let mut target = Target::from_config(&config, default_base, transport)?;
        target.metadata = metadata;
        Ok(target)
    }

    /// The same target, with `bare`: its transport without the client
    /// certificate (for a flow that authenticates with one).
    pub fn with_bare_transport(mut self, bare: Transport) -> Target {
        self.bare = Some(bare);
        self
    }

    /// The issuer's metadata, when the flow names an issuer.
    pub fn metadata(&self) -> Option<&Metadata> {
        self.metadata.as_ref()
    }

    /// The same target read with `options`.
    pub fn with_options(mut self, options: Options) -> Target {
        self.options = options;
        self
    }

    /// The server it checks.
    pub fn base(&self) -> &BaseUrl {
        &self.base
    }

    /// The account its requests come from.
    pub fn account(&self) -> &Account {
        self.flow.account()
    }

    /// Sends a request, keeping its evidence; a transport failure is an
    /// `Err` with its reason, scrubbed.
    pub async fn send(&self, req: Request<Bytes>) -> Result<Reply, TargetError> {
        self.send_on(&self.transport, req).await
    }

    /// Whether it has a transport without the client certificate.
    pub fn has_bare_transport(&self) -> bool {
        self.bare.is_some()
    }

    /// [`Target::send`] without the client certificate; an error for a
    /// target that has no such transport.
    pub async fn send_bare(&self, req: Request<Bytes>) -> Result<Reply, TargetError> {
        let bare = self.bare.as_ref().ok_or(TargetError::Build(
            "no transport without the client certificate".into(),
        ))?;
        self.send_on(bare, req).await
    }

    async fn send_on(
        &self,
        transport: &Transport,
        req: Request<Bytes>,
    ) -> Result<Reply, TargetError> {
        let mut capture = self.journal.request(&req);
        let started = Instant::now();
        let result = transport.send(req).await;
        capture.elapsed = started.elapsed();
        match result {
            Ok(a) => {
                let reply = Reply::new(a.status, a.headers, a.body);
                self.journal.answer(
                    &mut capture,
                    reply.status.as_u16(),
                    &reply.headers,
                    &reply.body,
                );
                self.journal.keep(capture);
                Ok(reply)
            }
            Err(e) => {
                let why = self.scrub(&e.to_string());
                capture.error = Some(why.clone());
                self.journal.keep(capture);
                Err(TargetError::Transport(why))
            }
        }
    }

    /// Ends every session the checks opened and left open (Venafi revoke,
    /// VCD logout); returns how many ended, and the reasons of those that
    /// did not. Vault sessions are left to expire: ending one needs the
    /// Vault API, not this endpoint.
    pub async fn end_sessions(&self) -> (usize, Vec<String>) {
        let (mut ended, mut failed) = (0, Vec::new());
        for session in self.sessions.take() {
            let sent = crate::checks::end_session(self, &session).await;
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
    pub fn take_evidence(&self) -> Vec<Capture> {
        self.journal.take()
    }

    /// `text` with every secret and token seen so far replaced.
    pub fn scrub(&self, text: &str) -> String {
        self.journal.scrub(text)
    }

    /// The plain successful answers of this system (one token request, two
    /// for Venafi with a refresh; a session for Vault and Cloud Director),
    /// asked for once and shared by the checks that only read them. Not-successful answers are left out; none at
    /// all is an error.
    pub async fn successes(&self) -> Result<Vec<(&'static str, Reply)>, TargetError> {
        self.shared(&self.successes, self.ask_successes()).await
    }

    /// The first of [`Target::successes`].
    pub async fn success(&self) -> Result<Reply, TargetError> {
        let mut all = self.successes().await?;
        Ok(all.remove(0).1)
    }

    /// This system's answer to its working request with one non-secret
    /// change (`cognito`: no `grant_type`; `cess`: another `grant_type`;
    /// `venafi`: no `client_id`), asked for once, after the working request
    /// itself succeeded: no wrong credential is ever sent.
    pub async fn refusal(&self) -> Result<Reply, TargetError> {
        let mut all = self.shared(&self.refusal, self.ask_refusal()).await?;
        Ok(all.remove(0).1)
    }

    /// Runs `ask` once per target; every later caller gets the same
    /// answers, their evidence marked shared.
    async fn shared(
        &self,
        cell: &OnceCell<Asked>,
        ask: impl Future<Output = Asked>,
    ) -> Result<Vec<(&'static str, Reply)>, TargetError> {
        let mut first = false;
        let all = cell
            .get_or_init(|| async {
                first = true;
                ask.await
            })
            .await
            .clone()?;
        let mut out = Vec::new();
        for (route, reply, capture) in all {
            if !first {
                self.journal.keep(Capture {
                    shared: true,
                    ..capture
                });
            }
            out.push((route, reply));
        }
        Ok(out)
    }

    async fn ask_refusal(&self) -> Asked {
        self.control().await?;
        let (route, r) = crate::checks::refusal(self).await?;
        let capture = self
            .journal
            .last()
            .ok_or(TargetError::Build("no evidence".into()))?;
        Ok(vec![(route, r, capture)])
    }

    async fn ask_successes(&self) -> Asked {
        let mut out = Vec::new();
        crate::checks::successes(self, &mut out).await?;
        if out.is_empty() {
            let last = self.journal.last().and_then(|c| c.status);
            return Err(TargetError::NoSuccess(
                last.map_or("none".into(), |s| s.to_string()),
            ));
        }
        Ok(out)
    }

    /// Keeps `r`, the answer just received on `route`, among the plain
    /// successes when it is one.
    pub(crate) fn keep_success(&self, route: &'static str, r: Reply, out: &mut Vec<Shared>) {
        if let (true, Some(capture)) = (r.status.is_success(), self.journal.last()) {
            out.push((route, r, capture));
        }
    }

    /// Notes a session the server opened, known by the credential that
    /// ends it, so that [`Target::end_sessions`] ends it.
    pub(crate) fn session_opened(&self, key: Secret) {
        self.sessions.opened(key);
    }

    /// Forgets a session that ended.
    pub(crate) fn session_ended(&self, key: &Secret) {
        self.sessions.ended(key);
    }
}
