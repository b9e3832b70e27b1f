//! The working request and its variations. A refusal proves a rule only
//! when the probe differs from a request that succeeds in exactly the
//! property the rule is about; a probe built from scratch may be refused
//! for a missing scope or parameter instead, and then counts as the rule
//! kept. So every negative check first sees the flow's own request succeed
//! ([`Target::control`]) and then sends that request with one change.

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Uri};
use tokenprobe_protocol::dpop::{self, ProofKey};

use super::{Reply, Target, TargetError};

/// The members that authenticate the client in a body (RFC 6749 §2.3.1,
/// RFC 7523 §2.2).
const CREDENTIAL_MEMBERS: &[&str] = &[
    "client_id",
    "client_secret",
    "client_assertion_type",
    "client_assertion",
];

/// A form request to the token endpoint as the configured client sends it
/// (method, headers with the client authentication, every member), for a
/// check to change one thing in. Its `Debug` names the members and headers
/// without their values: they hold the credentials.
#[derive(Clone)]
pub struct WorkingForm {
    /// The method (`POST`).
    pub method: Method,
    /// The headers: content type and, for Basic, `Authorization`.
    pub headers: HeaderMap,
    /// The members, in order (`grant_type`, `scope`, the client's own).
    pub members: Vec<(String, String)>,
    /// The members travel in the query string (as `curl -G` sends them),
    /// not in the body; all but the client's credentials, which never go
    /// in a URL (servers log those), so they stay in the body.
    pub in_query: bool,
    /// The DPoP key whose fresh proof each request carries (so that no
    /// probe is refused as a replayed proof), if the flow sends proofs.
    pub dpop: Option<ProofKey>,
    uri: Uri,
}

impl std::fmt::Debug for WorkingForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkingForm")
            .field("method", &self.method)
            .field("uri", &self.uri)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field(
                "members",
                &self.members.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("in_query", &self.in_query)
            .finish()
    }
}

impl WorkingForm {
    /// Gives `name` the value `value`, in its place, or adds it.
    pub fn set(&mut self, name: &str, value: &str) {
        match self.members.iter_mut().find(|(k, _)| k == name) {
            Some(member) => member.1 = value.to_owned(),
            None => self.members.push((name.to_owned(), value.to_owned())),
        }
    }

    /// The value of member `name`, if it has one.
    pub fn member(&self, name: &str) -> Option<&str> {
        self.members
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The URL it goes to.
    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// Leaves `name` out.
    pub fn remove(&mut self, name: &str) {
        self.members.retain(|(k, _)| k != name);
    }

    /// The request it describes.
    pub(crate) fn request(&self) -> Result<Request<Bytes>, TargetError> {
        let encode = |members: &[&(String, String)]| {
            form_urlencoded::Serializer::new(String::new())
                .extend_pairs(members.iter().copied())
                .finish()
        };
        let all: Vec<&(String, String)> = self.members.iter().collect();
        let (uri, body) = match self.in_query {
            true => {
                let (credentials, rest): (Vec<_>, Vec<_>) = all
                    .into_iter()
                    .partition(|(k, _)| CREDENTIAL_MEMBERS.contains(&k.as_str()));
                let uri = format!("{}?{}", self.uri, encode(&rest));
                (
                    uri.parse().map_err(TargetError::build)?,
                    encode(&credentials),
                )
            }
            false => (self.uri.clone(), encode(&all)),
        };
        let mut req = Request::new(Bytes::from(body));
        *req.method_mut() = self.method.clone();
        *req.headers_mut() = self.headers.clone();
        if let Some(key) = &self.dpop {
            let proof = key.proof(&self.method, &uri).map_err(TargetError::build)?;
            let value = dpop::header_value(&proof).map_err(TargetError::build)?;
            req.headers_mut().insert(dpop::HEADER, value);
        }
        *req.uri_mut() = uri;
        Ok(req)
    }
}

impl Target {
    /// The answer to the flow's own request, which every negative check
    /// varies: without a success to compare with, a refusal would prove
    /// nothing, so the check errors ("no working request to vary").
    pub async fn control(&self) -> Result<Reply, TargetError> {
        self.success()
            .await
            .map_err(|e| TargetError::NoControl(e.to_string()))
    }

    /// The configured client-credentials request as it goes on the wire
    /// now (a fresh assertion for a key client), to change one thing in.
    pub fn working_form(&self) -> Result<WorkingForm, TargetError> {
        let account = self.client_credentials()?;
        let req = account.encode(&self.base)?;
        let mut headers = req.headers().clone();
        headers.remove(dpop::HEADER);
        Ok(WorkingForm {
            method: req.method().clone(),
            headers,
            members: form_urlencoded::parse(req.body()).into_owned().collect(),
            in_query: false,
            dpop: account.dpop().cloned(),
            uri: req.uri().clone(),
        })
    }

    /// Sends a (varied) working form. With DPoP, the nonce an answer gives
    /// is kept for the next proofs, and a request refused for want of it
    /// goes once more, as the client's flow does (RFC 9449 §8).
    pub async fn send_form(&self, form: &WorkingForm) -> Result<Reply, TargetError> {
        let reply = self.send(form.request()?).await?;
        let Some(key) = &form.dpop else {
            return Ok(reply);
        };
        key.observe(&reply.headers);
        if !dpop::asks_for_nonce(reply.status, &reply.body) {
            return Ok(reply);
        }
        // Once more with the nonce, and a fresh client assertion where
        // the client signs one: the first is spent (its jti seen).
        let mut again = form.clone();
        let fresh = self.working_form()?;
        if let Some(assertion) = fresh.member("client_assertion") {
            again.set("client_assertion", assertion);
        }
        self.send(again.request()?).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_changes_in_place_and_moves_to_the_query() {
        let mut form = WorkingForm {
            method: Method::POST,
            headers: HeaderMap::new(),
            members: vec![
                ("grant_type".into(), "client_credentials".into()),
                ("scope".into(), "a b".into()),
            ],
            in_query: false,
            dpop: None,
            uri: "http://127.0.0.1:1/oauth2/token".parse().unwrap(),
        };
        form.set("grant_type", "password");
        form.set("audience", "x");
        let req = form.request().unwrap();
        assert_eq!(
            req.body().as_ref(),
            b"grant_type=password&scope=a+b&audience=x"
        );
        form.remove("audience");
        form.method = Method::GET;
        form.in_query = true;
        let req = form.request().unwrap();
        assert_eq!(
            req.uri().to_string(),
            "http://127.0.0.1:1/oauth2/token?grant_type=password&scope=a+b"
        );
        assert!(req.body().is_empty());
        // A secret never goes in a URL.
        form.set("client_id", "c");
        form.set("client_secret", "s3cret");
        let req = form.request().unwrap();
        assert!(!req.uri().to_string().contains("s3cret"));
        assert!(!format!("{form:?}").contains("s3cret"), "{form:?}");
        assert_eq!(req.body().as_ref(), b"client_id=c&client_secret=s3cret");
    }
}
