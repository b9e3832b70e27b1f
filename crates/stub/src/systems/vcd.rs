//! VMware Cloud Director: `POST /cloudapi/1.0.0/sessions[/provider]` for an
//! identity provider's token, and the current session (`GET`, or `DELETE`
//! to log out).

use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION};
use http::{HeaderValue, Method, Request, Response};
use serde::Deserialize;
use tokenprobe_protocol::vcd::{
    self, ApiVersion, Link, LogoutRequest, SessionFormat, VcdError, VcdSession,
};

use super::{State, with_body};
use crate::route::{Endpoint, Paths, Quirk, Route};
use crate::tokens::{Opaque, Use, now, random_id};

/// `POST /cloudapi/1.0.0/sessions[/provider]`.
pub(crate) static LOGIN: Endpoint = Endpoint {
    name: "vcd-login",
    paths: Paths::Exact(&[vcd::SESSIONS_PATH, vcd::PROVIDER_SESSIONS_PATH]),
    answer: login,
    breaks: &[
        (Quirk::InvalidTokenAccepted, "VCD-08"),
        (Quirk::MissingHeaderWrongStatus, "VCD-07"),
        (Quirk::WrongOrg, "VCD-09"),
        (Quirk::OldVersionAccepted, "VCD-10"),
    ],
};
/// `GET` (the session) or `DELETE` (logout) `/cloudapi/1.0.0/sessions/current`.
pub(crate) static CURRENT: Endpoint = Endpoint {
    name: "vcd-current",
    paths: Paths::Exact(&[vcd::CURRENT_SESSION_PATH]),
    answer: current,
    breaks: &[(Quirk::LogoutIgnored, "VCD-11")],
};

/// VMware Cloud Director.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VcdConfig {
    /// Tenant organizations.
    pub orgs: Vec<String>,
    /// The user named in every Session.
    pub user: String,
    /// Session lifetime.
    pub session_lifetime_secs: u64,
}

impl Default for VcdConfig {
    fn default() -> Self {
        VcdConfig {
            orgs: vec!["Finance".into(), "System".into()],
            user: "bob".into(),
            session_lifetime_secs: 1800,
        }
    }
}

impl VcdConfig {
    /// A working `curl` for the first organization, with `$TOKEN`.
    pub(crate) fn example(&self, url: &str, curl: &str) -> Option<String> {
        let org = self.orgs.first()?;
        Some(format!(
            "# vcd\n{curl} -i -X POST -H \"Authorization: Bearer $TOKEN; org={org}\" -H 'Accept: application/*+xml;version=38.0' {url}/cloudapi/1.0.0/sessions"
        ))
    }
}

/// The org system administrators log in to.
const SYSTEM_ORG: &str = "System";

fn asked_format(req: &Request<Bytes>) -> (SessionFormat, ApiVersion) {
    let accept = req
        .headers()
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let (format, version) = SessionFormat::from_accept(accept);
    (format, version.unwrap_or(ApiVersion::DEFAULT))
}

pub(super) fn login(state: &State, req: &Request<Bytes>) -> Response<Bytes> {
    let format = asked_format(req).0;
    match open(state, req) {
        Ok(res) => res,
        Err(e) => e.to_response(format),
    }
}

fn parse(state: &State, req: &Request<Bytes>) -> Result<vcd::SessionRequest, VcdError> {
    let quirk = |q| state.quirk(Route(&LOGIN), q);
    if !req.headers().contains_key(AUTHORIZATION)
        && req.method() == Method::POST
        && quirk(Quirk::MissingHeaderWrongStatus)
    {
        return Err(VcdError::invalid_credentials());
    }
    match vcd::parse_request(req) {
        Err(e) if e.major_code == 406 && quirk(Quirk::OldVersionAccepted) => {
            let mut newer = with_body(req, Method::POST, |b| Some(b.to_vec())).ok_or(e)?;
            let accept = SessionFormat::from_accept(
                req.headers()
                    .get(ACCEPT)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default(),
            )
            .0
            .accept(ApiVersion::DEFAULT);
            if let Ok(v) = HeaderValue::from_str(&accept) {
                newer.headers_mut().insert(ACCEPT, v);
            }
            vcd::parse_request(&newer)
        }
        other => other,
    }
}

fn open(state: &State, req: &Request<Bytes>) -> Result<Response<Bytes>, VcdError> {
    let asked = parse(state, req)?;
    if !state.accepts_idp_token(Route(&LOGIN), asked.token.expose()) {
        return Err(VcdError::invalid_credentials());
    }
    let config = &state.config.vcd;
    let org = config
        .orgs
        .iter()
        .find(|o| o.eq_ignore_ascii_case(&asked.org))
        .filter(|o| !asked.provider || o.eq_ignore_ascii_case(SYSTEM_ORG))
        .ok_or_else(VcdError::invalid_credentials)?;
    let now = now();
    let session = Opaque {
        kind: Use::VcdSession,
        jti: random_id(),
        gid: random_id(),
        cid: String::new(),
        sub: config.user.clone(),
        scope: if state.quirk(Route(&LOGIN), Quirk::WrongOrg) {
            format!("Not{org}")
        } else {
            org.clone()
        },
        iat: now,
        exp: now + config.session_lifetime_secs,
    };
    let token = state.opaque.issue(&session);
    Ok(vcd::session_response(
        &token,
        "Bearer",
        &document(state, &session),
        asked.format,
        asked.version,
    ))
}

/// The Session document of a session token's content.
fn document(state: &State, s: &Opaque) -> VcdSession {
    let base = "https://vcd.tokenprobe.invalid";
    let uuid = |id: &str| {
        let h = id.get(..32).unwrap_or(id);
        format!(
            "{}-{}-{}-{}-{}",
            h.get(..8).unwrap_or(h),
            h.get(8..12).unwrap_or_default(),
            h.get(12..16).unwrap_or_default(),
            h.get(16..20).unwrap_or_default(),
            h.get(20..).unwrap_or_default()
        )
    };
    let org_id = uuid(&format!("{:0>32x}", name_hash(&s.scope)));
    let link = |rel: &str, media: &str, href: String| Link {
        rel: rel.into(),
        media_type: Some(media.into()),
        name: None,
        href,
    };
    VcdSession {
        id: Some(format!("urn:vcloud:session:{}", uuid(&s.gid))),
        user: s.sub.clone(),
        user_urn: Some(format!(
            "urn:vcloud:user:{}",
            uuid(&format!("{:0>32x}", name_hash(&s.sub)))
        )),
        org: s.scope.clone(),
        org_urn: Some(format!("urn:vcloud:org:{org_id}")),
        roles: vec![if s.scope.eq_ignore_ascii_case(SYSTEM_ORG) {
            "System Administrator".into()
        } else {
            "Organization Administrator".into()
        }],
        location: Some(format!(
            "{}@vcd",
            state.config.vcd.orgs.first().map_or("site", String::as_str)
        )),
        links: vec![
            link(
                "down",
                "application/vnd.vmware.vcloud.orgList+xml",
                format!("{base}/api/org/"),
            ),
            link(
                "remove",
                "application/json",
                format!("{base}/cloudapi/1.0.0/sessions/current"),
            ),
            link(
                "down",
                "application/vnd.vmware.vcloud.query.queryList+xml",
                format!("{base}/api/query"),
            ),
            link(
                "entityResolver",
                "application/vnd.vmware.vcloud.entity+xml",
                format!("{base}/api/entity/"),
            ),
        ],
    }
}

/// A stable number for a name, so an org or user keeps its URN.
fn name_hash(s: &str) -> u128 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325_u128, |h, b| {
        (h ^ u128::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

pub(super) fn current(state: &State, req: &Request<Bytes>) -> Response<Bytes> {
    let (format, version) = asked_format(req);
    let result = (|| {
        let token = LogoutRequest::parse(req)?;
        let live = || {
            state
                .opaque
                .recognize(token.expose(), Use::VcdSession, true)
                .ok_or_else(VcdError::invalid_credentials)
        };
        match *req.method() {
            Method::GET => {
                let s = live()?;
                Ok(vcd::session_response(
                    token.expose(),
                    "Bearer",
                    &document(state, &s),
                    format,
                    version,
                ))
            }
            Method::DELETE => {
                let s = live()?;
                if !state.quirk(Route(&CURRENT), Quirk::LogoutIgnored) {
                    state.opaque.kill(&s.gid, s.exp);
                }
                Ok(vcd::logout_response())
            }
            _ => Err(VcdError::new(
                405,
                "METHOD_NOT_ALLOWED",
                "Use GET or DELETE on the current session.",
            )),
        }
    })();
    result.unwrap_or_else(|e| e.to_response(format))
}
