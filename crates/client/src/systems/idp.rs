//! The first step of the two-step systems (`veeva`, `vcd`): an identity
//! provider's access token, fixed or asked for on every acquisition.

use serde::Deserialize;
use tokenprobe_protocol::{BaseUrl, Call, Grant, RequestError, Secret, cognito};

use super::{CognitoConfig, SystemFlow, cognito_request, need_base};
use crate::error::ClientError;
use crate::flow::{FlowError, Step, StepTime, call, refused, without_token};
use crate::secret_source::SecretSource;
use crate::transport::Exchange;

/// Where the two-step flows get their identity provider's token.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum IdpConfig {
    /// A fixed token (from the environment or a file).
    Token(SecretSource),
    /// An RFC 6749 client-credentials endpoint, asked on every acquisition.
    Cognito(Box<CognitoConfig>),
}

/// Where a two-step system's IdP token comes from.
#[derive(Debug, Clone)]
pub enum Idp {
    /// A fixed token.
    Token(Secret),
    /// A client-credentials request, and the server it goes to.
    ClientCredentials(Box<cognito::TokenRequest>, BaseUrl),
}

impl Idp {
    /// The configured IdP, its secrets read now.
    pub(crate) fn new(c: &IdpConfig) -> Result<Idp, ClientError> {
        Ok(match c {
            IdpConfig::Token(s) => Idp::Token(s.resolve()?),
            IdpConfig::Cognito(c) => Idp::ClientCredentials(
                Box::new(cognito_request(c)?),
                need_base(c.base_url.as_ref())?,
            ),
        })
    }

    /// The steps of a flow whose first step this is.
    pub(crate) fn steps(&self) -> &'static [Step] {
        match self {
            Idp::Token(_) => &[Step::Session],
            // The IdP's nonce round trip is a step too (RFC 9449 §8).
            Idp::ClientCredentials(r, _) if r.dpop().is_some() => {
                &[Step::DpopNonce, Step::Idp, Step::Session]
            }
            Idp::ClientCredentials(..) => &[Step::Idp, Step::Session],
        }
    }

    /// The credentials it holds.
    pub(crate) fn secrets(&self) -> Vec<&str> {
        match self {
            Idp::Token(t) => vec![t.expose()],
            // Whatever the method, and a DPoP key file: cognito's own list.
            Idp::ClientCredentials(r, _) => SystemFlow::secrets(&**r),
        }
    }

    /// The two steps: the token, then the session request `session` makes
    /// of it, whose failure is scrubbed of the token it carried (`token`
    /// finds it in the request).
    pub(crate) async fn then_session<C: Call<Output = Grant>>(
        &self,
        t: &impl Exchange,
        steps: &mut Vec<StepTime>,
        base: &BaseUrl,
        session: impl FnOnce(Secret) -> Result<C, RequestError>,
        token: impl Fn(&C) -> &Secret,
    ) -> Result<Grant, FlowError> {
        let got = self.token(t, steps).await?;
        let r = session(got).map_err(|e| refused(Step::Session, e.into(), steps))?;
        call(t, steps, Step::Session, &r, base)
            .await
            .map_err(|e| without_token(e, token(&r)))
    }

    /// The token: the fixed one, or a client-credentials grant's, timed as
    /// the `idp` step.
    pub(crate) async fn token(
        &self,
        t: &impl Exchange,
        steps: &mut Vec<StepTime>,
    ) -> Result<Secret, FlowError> {
        match self {
            Idp::Token(s) => Ok(s.clone()),
            Idp::ClientCredentials(r, base) => call(t, steps, Step::Idp, r.as_ref(), base)
                .await
                .map(|g| g.secret),
        }
    }
}

/// The commented first step of a two-step flow, for `tokenprobe new`.
pub(crate) const TEMPLATE: &str = "[flows.idp.cognito]               # step 1: any RFC 6749 client-credentials endpoint…\n\
client_id = \"tokenprobe-demo\"\n\
client_secret = { value = \"demo-secret\" }   # staging: { env = \"IDP_SECRET\" }\n\
# base_url = \"https://idp.example.com\"     # the IdP, when not the target\n\
# …or a token you already hold:  idp = { token = { env = \"IDP_TOKEN\" } }\n";
