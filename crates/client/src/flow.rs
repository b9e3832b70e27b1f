//! A `Flow` acquires a grant from one system in one or more steps, each
//! timed on its own. Configured from serde types (what scenario files
//! hold, one per system in [`crate::systems`]); requests that do not
//! change are validated once, at `Flow::new`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Request;
use tokenprobe_protocol::{BaseUrl, Call, Grant, Redactor, Secret, System, dpop};

use crate::error::ClientError;
use crate::systems::{Account, FlowConfig};
use crate::transport::Exchange;

/// One request of a flow, timed on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Step {
    /// The one token request (`cognito`, `cess`).
    Token,
    /// The IdP token of a two-step system.
    Idp,
    /// The session for an IdP token (`veeva`, `vcd`).
    Session,
    /// Venafi's grant.
    Authorize,
    /// Venafi's refresh.
    Refresh,
    /// A DPoP request the server answered with a nonce to use: the round
    /// trip before the token request that carries it.
    DpopNonce,
}

impl Step {
    /// Every step.
    pub const ALL: [Step; 6] = [
        Step::Token,
        Step::Idp,
        Step::Session,
        Step::Authorize,
        Step::Refresh,
        Step::DpopNonce,
    ];

    /// As reports and thresholds name it.
    pub fn name(self) -> &'static str {
        match self {
            Step::Token => "token",
            Step::Idp => "idp",
            Step::Session => "session",
            Step::Authorize => "authorize",
            Step::Refresh => "refresh",
            Step::DpopNonce => "dpop_nonce",
        }
    }

    /// The step a name stands for.
    pub fn from_name(name: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|s| s.name() == name)
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How long one step took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepTime {
    /// Which.
    pub step: Step,
    /// Wall time of its request, answer read.
    pub elapsed: Duration,
}

/// A grant and how its steps went.
#[derive(Debug, Clone)]
pub struct Acquired {
    /// The grant.
    pub grant: Grant,
    /// The steps, in order.
    pub steps: Vec<StepTime>,
}

/// A failed acquisition: which step, why, and the steps' times (the failed
/// one included).
#[derive(Debug, Clone)]
pub struct FlowError {
    /// The failing step.
    pub step: Step,
    /// Why.
    pub error: ClientError,
    /// Times of the steps up to and including the failed one.
    pub steps: Vec<StepTime>,
}

impl std::fmt::Display for FlowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "step {}: {}", self.step, self.error)
    }
}

impl std::error::Error for FlowError {}

/// A configured, validated flow. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Flow {
    base: BaseUrl,
    account: Account,
    /// Knows the account's secrets in every form a server may echo them.
    redactor: Arc<Redactor>,
    /// The one request of a flow that always sends the same bytes,
    /// encoded once.
    prepared: Option<Arc<Prepared>>,
}

/// A request encoded once, sent as copies: its body and URI are shared
/// (`Bytes`), so a copy costs its header map. It holds the credentials as
/// the wire needs them for the flow's life, as the account's `Secret`s
/// do; unlike those, its bytes are not wiped when it is dropped.
pub(crate) struct Prepared {
    step: Step,
    request: Request<Bytes>,
}

// It holds the request's credentials: only what says nothing of them.
impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("step", &self.step)
            .field("method", self.request.method())
            .finish_non_exhaustive()
    }
}

impl Flow {
    /// Reads the secrets and validates what can be validated before any
    /// request: a `refused` error here means nothing would be sent.
    pub fn new(config: &FlowConfig) -> Result<Flow, ClientError> {
        let base = config.own_base()?;
        let account = config.account()?;
        let redactor = Arc::new(Redactor::knowing(account.secrets()));
        // A request that does not encode here is left to each acquisition,
        // which reports why as it always has.
        let prepared = account.fixed().and_then(|(step, call)| {
            let request = call.encode(&base).ok()?;
            Some(Arc::new(Prepared { step, request }))
        });
        Ok(Flow {
            base,
            account,
            redactor,
            prepared,
        })
    }

    /// The server it sends to (an IdP may be elsewhere).
    pub fn base(&self) -> &BaseUrl {
        &self.base
    }

    /// The account it acquires with.
    pub fn account(&self) -> &Account {
        &self.account
    }

    /// The system it acquires from.
    pub fn system(&self) -> System {
        self.account.system()
    }

    /// The names of the steps, in order.
    pub fn steps(&self) -> &'static [Step] {
        self.account.steps()
    }

    /// Runs every step and returns the grant of the last.
    pub async fn acquire(&self, t: &impl Exchange) -> Result<Acquired, FlowError> {
        let mut steps = Vec::with_capacity(2);
        // The request is the account's fixed one only when it was prepared.
        let fixed = self
            .prepared
            .as_deref()
            .and_then(|p| Some((p, self.account.fixed()?.1)));
        let result = match fixed {
            Some((p, call)) => exchange(t, &mut steps, p.step, call, p.request.clone()).await,
            None => self.account.acquire(t, &mut steps, &self.base).await,
        };
        match result {
            Ok(grant) => Ok(Acquired { grant, steps }),
            Err(e) => Err(self.scrubbed(e)),
        }
    }

    /// Uses the grant's refresh token, where the system has one (Venafi);
    /// `None` when there is nothing to refresh with.
    pub async fn refresh(
        &self,
        t: &impl Exchange,
        grant: &Grant,
    ) -> Option<Result<Acquired, FlowError>> {
        let mut steps = Vec::with_capacity(1);
        let result = self
            .account
            .refresh(t, &mut steps, &self.base, grant)
            .await?;
        Some(match result {
            Ok(grant) => Ok(Acquired { grant, steps }),
            Err(e) => Err(self.scrubbed(e)),
        })
    }

    /// A failure with the account's secrets taken out of what the server
    /// said (only failures pay for it).
    fn scrubbed(&self, mut e: FlowError) -> FlowError {
        e.error = e.error.without(&self.redactor);
        e
    }
}

/// A step's failure with the token it carried taken out (the IdP token of a
/// session step, the refresh token of a refresh): a credential the account
/// does not hold, made by an earlier step.
pub(crate) fn without_token(mut e: FlowError, token: &Secret) -> FlowError {
    e.error = e.error.without(&Redactor::knowing([token.expose()]));
    e
}

/// A step refused before anything was sent, with the times of the steps
/// before it.
pub(crate) fn refused(step: Step, error: ClientError, steps: &mut Vec<StepTime>) -> FlowError {
    FlowError {
        step,
        error,
        steps: std::mem::take(steps),
    }
}

/// Sends one step's request, times it, and decodes the answer. A request
/// that proves a DPoP key keeps the nonce each answer gives (its decoding
/// does); refused for want of it (RFC 9449 §8), that round trip is the
/// step `dpop_nonce`, and the request goes once more, with the nonce.
pub(crate) async fn call<C: Call>(
    t: &impl Exchange,
    steps: &mut Vec<StepTime>,
    name: Step,
    call: &C,
    base: &BaseUrl,
) -> Result<C::Output, FlowError> {
    let Some(key) = call.proof_key() else {
        return send(t, steps, name, call, base).await;
    };
    let first = send(t, steps, name, call, base).await;
    match first {
        Err(mut e) if e.error.code() == Some(dpop::USE_NONCE) && key.signer.nonce().is_some() => {
            if let Some(last) = e.steps.last_mut() {
                last.step = Step::DpopNonce;
            }
            *steps = std::mem::take(&mut e.steps);
            send(t, steps, name, call, base).await
        }
        other => other,
    }
}

/// One round trip of `call`, timed as `name`.
async fn send<C: Call>(
    t: &impl Exchange,
    steps: &mut Vec<StepTime>,
    name: Step,
    call: &C,
    base: &BaseUrl,
) -> Result<C::Output, FlowError> {
    match call.encode(base) {
        Ok(request) => exchange(t, steps, name, call, request).await,
        Err(e) => Err(refused(name, e.into(), steps)),
    }
}

/// One round trip of `call`'s encoded `request`, timed as `name`.
async fn exchange<C: Call + ?Sized>(
    t: &impl Exchange,
    steps: &mut Vec<StepTime>,
    name: Step,
    call: &C,
    request: Request<Bytes>,
) -> Result<C::Output, FlowError> {
    let started = Instant::now();
    let answer = t.send(request).await;
    steps.push(StepTime {
        step: name,
        elapsed: started.elapsed(),
    });
    let answer = answer.map_err(|e| refused(name, e, steps))?;
    // Reading the answer keeps the nonce it gives, if any.
    call.decode(answer.status, &answer.headers, &answer.body)
        .map_err(|e| {
            let e = ClientError::provider(e).with_retry_after(answer.retry_after());
            refused(name, e, steps)
        })
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use http::{HeaderMap, Method, StatusCode, Uri, Version};
    use serde_json::json;

    use super::*;
    use crate::transport::Answer;

    /// Keeps what it is sent and answers each with `answer`.
    struct Recording(Mutex<Vec<Request<Bytes>>>, fn() -> Answer);

    impl Recording {
        fn refusing() -> Recording {
            Recording(Mutex::default(), || Answer {
                status: StatusCode::BAD_REQUEST,
                headers: HeaderMap::new(),
                body: Bytes::from_static(br#"{"error":"invalid_request"}"#),
            })
        }
    }

    impl Exchange for Recording {
        async fn send(&self, req: Request<Bytes>) -> Result<Answer, ClientError> {
            if let Ok(mut sent) = self.0.lock() {
                sent.push(req);
            }
            Ok(self.1())
        }
    }

    fn flow(table: serde_json::Value) -> Flow {
        let config: FlowConfig = serde_json::from_value(table).expect("a flow table");
        Flow::new(&config).expect("a valid flow")
    }

    fn cess() -> Flow {
        flow(json!({
            "system": "cess", "base_url": "http://127.0.0.1:9",
            "client_id": "app", "client_secret": { "value": "app-secret" },
            "username": "52998224725", "otp": { "value": "123456" },
        }))
    }

    fn cognito(extra: serde_json::Value) -> Flow {
        let mut table = json!({
            "system": "cognito", "base_url": "http://127.0.0.1:9",
            "client_id": "app", "client_secret": { "value": "app-secret" },
            "scopes": ["read"],
        });
        if let (Some(t), Some(e)) = (table.as_object_mut(), extra.as_object()) {
            t.extend(e.clone());
        }
        flow(table)
    }

    /// What a request is on the wire, extensions aside.
    fn wire(r: &Request<Bytes>) -> (Method, Uri, Version, HeaderMap, Bytes) {
        (
            r.method().clone(),
            r.uri().clone(),
            r.version(),
            r.headers().clone(),
            r.body().clone(),
        )
    }

    /// A flow that always sends the same bytes sends, every time, what
    /// the protocol crate encodes for it afresh.
    #[tokio::test]
    async fn a_fixed_request_is_sent_as_the_protocol_encodes_it() {
        for flow in [
            cess(),
            cognito(json!({})),
            cognito(json!({ "auth": "client_secret_post" })),
        ] {
            assert!(flow.prepared.is_some(), "{:?}", flow.system());
            let t = Recording::refusing();
            for _ in 0..2 {
                let e = flow.acquire(&t).await.expect_err("refused");
                assert_eq!((e.step, e.steps.len()), (Step::Token, 1));
                assert_eq!(e.error.code(), Some("invalid_request"));
            }
            let Some((_, call)) = flow.account.fixed() else {
                panic!("{:?} is fixed", flow.system())
            };
            let fresh = call.encode(&flow.base).expect("it encodes");
            let sent = t.0.lock().expect("the requests");
            assert_eq!(sent.len(), 2);
            for r in sent.iter() {
                assert_eq!(wire(r), wire(&fresh), "{:?}", flow.system());
                // Equality of header values leaves their flag out.
                for (name, value) in fresh.headers() {
                    assert_eq!(r.headers()[name].is_sensitive(), value.is_sensitive());
                }
            }
        }
    }

    /// The copies are what is sent (a mark put on the prepared request
    /// reaches the wire), and a success reads through them as it does
    /// through `acquire`.
    #[tokio::test]
    async fn the_copy_is_sent_and_its_answer_read() {
        let mut flow = cess();
        let Some(mut prepared) = flow.prepared.take().and_then(Arc::into_inner) else {
            panic!("cess is fixed")
        };
        prepared
            .request
            .headers_mut()
            .insert("x-mark", http::HeaderValue::from_static("prepared"));
        flow.prepared = Some(Arc::new(prepared));
        let t = Recording(Mutex::default(), || {
            let ok = tokenprobe_protocol::cess::TokenBody::new(
                "tok",
                Duration::from_secs(60),
                "authentication_session",
                "SOLUTIHOM",
            )
            .to_response();
            Answer {
                status: ok.status(),
                headers: ok.headers().clone(),
                body: ok.body().clone(),
            }
        });
        let got = flow.acquire(&t).await.expect("a grant");
        assert_eq!(got.grant.secret.expose(), "tok");
        assert_eq!(
            got.steps.iter().map(|s| s.step).collect::<Vec<_>>(),
            [Step::Token]
        );
        let sent = t.0.lock().expect("the requests");
        assert_eq!(sent[0].headers()["x-mark"], "prepared");
    }

    /// An assertion or a proof is new for each request: such a flow
    /// encodes each time, and no two of its requests are the same.
    #[tokio::test]
    async fn a_signed_or_proven_request_is_encoded_each_time() {
        for flow in [
            cognito(json!({ "auth": "client_secret_jwt" })),
            cognito(json!({ "dpop": {} })),
        ] {
            assert!(flow.prepared.is_none());
            let t = Recording::refusing();
            for _ in 0..2 {
                let _ = flow.acquire(&t).await;
            }
            let sent = t.0.lock().expect("the requests");
            assert_eq!(sent.len(), 2);
            assert_ne!(wire(&sent[0]), wire(&sent[1]));
        }
    }

    /// The copy's `Debug` says nothing of the credentials it holds.
    #[test]
    fn a_prepared_request_debugs_without_its_credentials() {
        let flow = cess();
        let shown = format!("{flow:?}");
        assert!(
            !shown.contains("app-secret") && !shown.contains("123456"),
            "{shown}"
        );
    }
}
