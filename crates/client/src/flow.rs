//! A `Flow` acquires a grant from one system in one or more steps, each
//! timed on its own. Configured from serde types (what scenario files
//! hold, one per system in [`crate::systems`]); requests that do not
//! change are validated once, at `Flow::new`.

use std::sync::Arc;
use std::time::{Duration, Instant};

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
}

impl Flow {
    /// Reads the secrets and validates what can be validated before any
    /// request: a `refused` error here means nothing would be sent.
    pub fn new(config: &FlowConfig) -> Result<Flow, ClientError> {
        let base = config.own_base()?;
        let account = config.account()?;
        let redactor = Arc::new(Redactor::knowing(account.secrets()));
        Ok(Flow {
            base,
            account,
            redactor,
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
        match self.account.acquire(t, &mut steps, &self.base).await {
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
    let request = match call.encode(base) {
        Ok(r) => r,
        Err(e) => return Err(refused(name, e.into(), steps)),
    };
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
