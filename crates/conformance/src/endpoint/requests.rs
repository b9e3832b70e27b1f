//! Requests built from the target's account with the protocol crate's
//! encoders: any system's ([`Target::call`], [`Target::account_of`]) and
//! the IdP token of the two-step systems. Each system's own helpers (the
//! variations its checks need, the sessions they open) are in its module
//! of [`crate::checks`].

use bytes::Bytes;
use http::{Method, Request};
use serde_json::Value;
use tokenprobe_client::{Idp, SystemAccount};
use tokenprobe_protocol::{Call, Secret, dpop};

use super::{Reply, Target, TargetError};

impl Target {
    /// The configured account of system `A`'s type: `cess::TokenRequest`,
    /// `VcdAccount`, ….
    pub fn account_of<A: SystemAccount>(&self) -> Result<&A, TargetError> {
        self.account().get::<A>().ok_or(TargetError::OtherSystem {
            wanted: A::SYSTEM,
            system: self.system,
        })
    }

    /// A request to `path` with the given method, headers and body.
    pub fn raw(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Result<Request<Bytes>, TargetError> {
        let mut b = Request::builder()
            .method(method)
            .uri(self.base.join(path).map_err(TargetError::build)?);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(body.into()).map_err(TargetError::build)
    }

    /// The working request `working` with its JSON body replaced by
    /// `body`: the same method, URL and headers.
    pub(crate) async fn with_json(
        &self,
        working: Request<Bytes>,
        body: &Value,
    ) -> Result<Reply, TargetError> {
        let (parts, _) = working.into_parts();
        self.send(Request::from_parts(parts, Bytes::from(body.to_string())))
            .await
    }

    /// Sends a system's request to the target.
    pub async fn call(&self, call: &impl Call) -> Result<Reply, TargetError> {
        let reply = self.send(call.encode(&self.base)?).await?;
        let Some(key) = call.proof_key() else {
            return Ok(reply);
        };
        key.observe(&reply.headers);
        match dpop::asks_for_nonce(reply.status, &reply.body) {
            true => self.send(call.encode(&self.base)?).await,
            false => Ok(reply),
        }
    }

    /// An IdP access token for the two-step systems, read as the client
    /// reads it (a `cognito` target's own client credentials serve too);
    /// asked for once, so that every probe carries the token of the
    /// working request it varies.
    pub async fn idp_token(&self) -> Result<String, TargetError> {
        let token = self.idp.get_or_init(|| self.ask_idp_token()).await;
        token.clone().map(|t| t.expose().to_owned())
    }

    async fn ask_idp_token(&self) -> Result<Secret, TargetError> {
        let (base, req) = match self.account().idp() {
            Some(Idp::Token(t)) => return Ok(t.clone()),
            Some(Idp::ClientCredentials(req, base)) => (base, &**req),
            None => (&self.base, self.client_credentials()?),
        };
        let r = self.send(req.encode(base)?).await?;
        r.read(req)
            .map(|g| g.secret)
            .map_err(|e| TargetError::NoIdpToken(e.to_string()))
    }
}
