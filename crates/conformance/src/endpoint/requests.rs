//! Each system's requests, built from the target's account with the
//! protocol crate's encoders; the variations the checks need (a wrong
//! secret, another scope, a missing member) start from those. The helpers
//! that open or end a session note it in [`super::sessions`].

use bytes::Bytes;
use http::{Method, Request};
use serde_json::Value;
use tokenprobe_client::{Account, Idp};
use tokenprobe_protocol::client_auth::{Credential, Signer};
use tokenprobe_protocol::vcd::{self, ApiVersion, SessionFormat};
use tokenprobe_protocol::{Call, Secret, System, cess, cognito, veeva, venafi};

use super::sessions::Session;
use super::{Reply, Target, TargetError};

impl Target {
    fn other_system(&self, wanted: System) -> TargetError {
        TargetError::OtherSystem {
            wanted,
            system: self.system,
        }
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
    async fn with_json(&self, working: Request<Bytes>, body: &Value) -> Result<Reply, TargetError> {
        let (parts, _) = working.into_parts();
        self.send(Request::from_parts(parts, Bytes::from(body.to_string())))
            .await
    }

    /// The configured client-credentials request.
    pub fn cognito_account(&self) -> Result<&cognito::TokenRequest, TargetError> {
        match self.account() {
            Account::Cognito(r) => Ok(r),
            _ => Err(self.other_system(System::Cognito)),
        }
    }

    /// The configured request as another client or with another
    /// credential.
    pub fn client_request_as(
        &self,
        client_id: &str,
        credential: impl Into<Credential>,
    ) -> Result<cognito::TokenRequest, TargetError> {
        Ok(self
            .cognito_account()?
            .clone()
            .with_client(client_id, credential)?)
    }

    /// The configured client's key, when it authenticates with one.
    pub fn client_key(&self) -> Option<&Signer> {
        match self.cognito_account().ok()?.credential() {
            Credential::Key(signer) => Some(signer),
            _ => None,
        }
    }

    /// Sends a system's request to the target.
    pub async fn call(&self, call: &impl Call) -> Result<Reply, TargetError> {
        self.send(call.encode(&self.base)?).await
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
        let (base, req) = match self.account() {
            Account::Veeva { idp, .. } | Account::Vcd { idp, .. } => match idp {
                Idp::Token(t) => return Ok(t.clone()),
                Idp::Cognito(req, base) => (base, &**req),
            },
            Account::Cognito(req) => (&self.base, req),
            Account::Cess(_) | Account::Venafi(_) => return Err(self.other_system(System::Vcd)),
        };
        let r = self.send(req.encode(base)?).await?;
        r.read(req)
            .map(|g| g.secret)
            .map_err(|e| TargetError::NoIdpToken(e.to_string()))
    }

    /// The configured CESS password grant.
    pub fn cess_account(&self) -> Result<&cess::TokenRequest, TargetError> {
        match self.account() {
            Account::Cess(r) => Ok(r),
            _ => Err(self.other_system(System::Cess)),
        }
    }

    /// The body of the configured CESS grant, as JSON to vary.
    pub fn cess_body(&self) -> Result<Value, TargetError> {
        let req = self.cess_account()?.encode(&self.base)?;
        serde_json::from_slice(req.body()).map_err(TargetError::build)
    }

    /// POSTs a CESS body.
    pub async fn cess(&self, body: &Value) -> Result<Reply, TargetError> {
        let working = self.cess_account()?.encode(&self.base)?;
        self.with_json(working, body).await
    }

    /// The configured Venafi authorize request.
    pub fn venafi_account(&self) -> Result<&venafi::AuthorizeRequest, TargetError> {
        match self.account() {
            Account::Venafi(r) => Ok(r),
            _ => Err(self.other_system(System::Venafi)),
        }
    }

    /// The body of an authorize request, for another scope or the
    /// account's own, as JSON to vary.
    pub fn venafi_body(&self, scope: Option<&str>) -> Result<Value, TargetError> {
        let account = self.venafi_account()?;
        let req = match scope {
            Some(scope) => &venafi::AuthorizeRequest::new(
                account.client_id(),
                account.username(),
                account.password().clone(),
                scope,
            )?,
            None => account,
        };
        let req = req.encode(&self.base)?;
        serde_json::from_slice(req.body()).map_err(TargetError::build)
    }

    /// POSTs an authorize body; a grant it gets is a session to end.
    pub async fn venafi_authorize(&self, body: &Value) -> Result<Reply, TargetError> {
        let working = self.venafi_account()?.encode(&self.base)?;
        let r = self.with_json(working, body).await?;
        self.note_venafi_grant(&r);
        Ok(r)
    }

    /// A grant for the account.
    pub async fn venafi_grant(&self) -> Result<Reply, TargetError> {
        let r = self
            .send(self.venafi_account()?.encode(&self.base)?)
            .await?;
        self.note_venafi_grant(&r);
        Ok(r)
    }

    /// A refresh with a grant's refresh token; the new grant is a session.
    pub async fn venafi_refresh(&self, refresh_token: &str) -> Result<Reply, TargetError> {
        let req = venafi::RefreshRequest {
            client_id: self.venafi_account()?.client_id().to_owned(),
            refresh_token: Secret::new(refresh_token),
        };
        let r = self.send(req.encode(&self.base)?).await?;
        self.note_venafi_grant(&r);
        Ok(r)
    }

    async fn venafi_bearer(&self, path: &str, token: &str) -> Result<Reply, TargetError> {
        let req = venafi::BearerCall {
            token: Secret::new(token),
        };
        self.send(req.encode(&self.base, path)?).await
    }

    /// Verifies an access token.
    pub async fn venafi_verify(&self, token: &str) -> Result<Reply, TargetError> {
        self.venafi_bearer(venafi::VERIFY_PATH, token).await
    }

    /// Revokes an access token, which ends its session.
    pub async fn venafi_revoke(&self, token: &str) -> Result<Reply, TargetError> {
        let r = self.venafi_bearer(venafi::REVOKE_PATH, token).await?;
        if r.status.is_success() {
            self.sessions.ended(&Session::Venafi(Secret::new(token)));
        }
        Ok(r)
    }

    /// The configured Vault session request (tracking client id
    /// included) for `profile` (the configured one by default) with the
    /// IdP token `token`.
    pub fn veeva_request(
        &self,
        profile: Option<&str>,
        token: &str,
    ) -> Result<Request<Bytes>, TargetError> {
        let Account::Veeva {
            profile_id,
            client_id,
            ..
        } = self.account()
        else {
            return Err(self.other_system(System::Veeva));
        };
        let mut req =
            veeva::SessionRequest::new(profile.unwrap_or(profile_id), Secret::new(token))?;
        if let Some(id) = client_id {
            req = req.with_client_id(id.clone())?;
        }
        Ok(req.encode(&self.base)?)
    }

    /// The configured VCD organization, provider flag, API version and
    /// body format.
    fn vcd_account(&self) -> Result<(&str, bool, ApiVersion, SessionFormat), TargetError> {
        match self.account() {
            Account::Vcd {
                org,
                provider,
                version,
                format,
                ..
            } => Ok((org, *provider, *version, *format)),
            _ => Err(self.other_system(System::Vcd)),
        }
    }

    /// The configured VCD API version.
    pub fn vcd_version(&self) -> Result<ApiVersion, TargetError> {
        Ok(self.vcd_account()?.2)
    }

    /// The configured VCD `Accept`.
    pub fn vcd_accept(&self) -> Result<String, TargetError> {
        let (_, _, version, format) = self.vcd_account()?;
        Ok(format.accept(version))
    }

    /// A VCD login with the IdP token `token`, asking for API `version`; a
    /// session it opens is noted.
    pub async fn vcd_login(
        &self,
        token: &str,
        version: ApiVersion,
    ) -> Result<(vcd::SessionRequest, Reply), TargetError> {
        let (org, provider, _, format) = self.vcd_account()?;
        let mut req = vcd::SessionRequest::new(Secret::new(token), org)?;
        req.version = version;
        req.format = format;
        req.provider = provider;
        let r = self.send(req.encode(&self.base)?).await?;
        self.note_vcd_session(&r);
        Ok((req, r))
    }

    /// A VCD login without `Authorization` (a session it opens all the
    /// same is noted).
    pub async fn vcd_login_anonymous(&self) -> Result<Reply, TargetError> {
        let path = match self.vcd_account()?.1 {
            true => vcd::PROVIDER_SESSIONS_PATH,
            false => vcd::SESSIONS_PATH,
        };
        let accept = self.vcd_accept()?;
        let r = self
            .send(self.raw(Method::POST, path, &[("accept", &accept)], "")?)
            .await?;
        self.note_vcd_session(&r);
        Ok(r)
    }

    /// The current session, for its `Authorization` value.
    pub async fn vcd_current(&self, authorization: &str) -> Result<Reply, TargetError> {
        let accept = self.vcd_accept()?;
        let req = self.raw(
            Method::GET,
            vcd::CURRENT_SESSION_PATH,
            &[("authorization", authorization), ("accept", &accept)],
            "",
        )?;
        self.send(req).await
    }

    /// A VCD logout with the session's `Authorization` value, which ends it.
    pub async fn vcd_logout(&self, authorization: &str) -> Result<Reply, TargetError> {
        let req = vcd::LogoutRequest {
            authorization: Secret::new(authorization),
            version: self.vcd_version()?,
        };
        let r = self.send(req.encode(&self.base)?).await?;
        if r.status.is_success() {
            self.sessions
                .ended(&Session::Vcd(Secret::new(authorization)));
        }
        Ok(r)
    }

    /// Notes the VCD session a successful login opened: its
    /// `Authorization` value, from the token headers.
    fn note_vcd_session(&self, r: &Reply) {
        let header = |n| r.headers.get(n).and_then(|v| v.to_str().ok());
        if let (true, Some(token)) = (r.status.is_success(), header(vcd::ACCESS_TOKEN_HEADER)) {
            let kind = header(vcd::TOKEN_TYPE_HEADER).unwrap_or("Bearer");
            self.sessions
                .opened(Session::Vcd(Secret::new(format!("{kind} {token}"))));
        }
    }
}
