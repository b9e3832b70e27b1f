//! Cloud Director's Session and Error documents, in XML and JSON.

use std::fmt;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Response, StatusCode};
use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use serde::{Deserialize, Serialize};

use super::{NAMESPACE, SessionFormat};
use crate::error::DecodeError;
use crate::wire;

/// A login's Session, normalized from either form.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VcdSession {
    /// `urn:vcloud:session:…` (JSON form).
    pub id: Option<String>,
    /// The user's name.
    pub user: String,
    /// `urn:vcloud:user:…`.
    pub user_urn: Option<String>,
    /// The organization's name.
    pub org: String,
    /// `urn:vcloud:org:…` (JSON form).
    pub org_urn: Option<String>,
    /// Role names.
    pub roles: Vec<String>,
    /// The site's location id (JSON form).
    pub location: Option<String>,
    /// `Link` children (XML form).
    pub links: Vec<Link>,
}

/// A `Link` of a Session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// `down`, `entityResolver`, `down:extensibility`, …
    pub rel: String,
    /// The media type of what it points at.
    pub media_type: Option<String>,
    /// A name, where given.
    pub name: Option<String>,
    /// The target.
    pub href: String,
}

/// The wanted attributes of an element: (local name, unescaped value).
type Attributes = Vec<(&'static str, String)>;

const SESSION_ATTRIBUTES: &[&str] = &["user", "org", "userUrn", "roles"];
const ERROR_ATTRIBUTES: &[&str] = &[
    "majorErrorCode",
    "minorErrorCode",
    "message",
    "vendorSpecificErrorCode",
    "stackTrace",
];
const LINK_ATTRIBUTES: &[&str] = &["rel", "href", "type", "name"];

fn xml_error(e: impl fmt::Display) -> DecodeError {
    DecodeError::Xml(e.to_string())
}

/// The `wanted` attributes of an element, read leniently: a valueless
/// attribute (the seed's `...` elision) does not fail the whole document.
/// Others are skipped without being unescaped or copied.
fn attributes(e: &BytesStart<'_>, wanted: &[&'static str]) -> Result<Attributes, DecodeError> {
    let mut out = Vec::with_capacity(wanted.len());
    for a in e.html_attributes() {
        let a = a.map_err(xml_error)?;
        let local = a.key.local_name();
        let Some(name) = wanted.iter().find(|w| w.as_bytes() == local.as_ref()) else {
            continue;
        };
        let value = a.unescape_value().map_err(xml_error)?.into_owned();
        out.push((*name, value));
    }
    Ok(out)
}

fn take(attrs: &mut Attributes, name: &str) -> Option<String> {
    let i = attrs.iter().position(|(k, _)| *k == name)?;
    Some(attrs.swap_remove(i).1)
}

/// The root element's attributes and its direct `Link` children.
fn read_root(
    xml: &[u8],
    root: &[u8],
    wanted: &[&'static str],
) -> Result<(Attributes, Vec<Link>), DecodeError> {
    let mut reader = Reader::from_reader(xml);
    let mut attrs = None;
    let mut links = Vec::new();
    let mut depth = 0usize;
    loop {
        let ev = reader.read_event().map_err(xml_error)?;
        let (start, empty) = match &ev {
            Event::Start(e) => (Some(e), false),
            Event::Empty(e) => (Some(e), true),
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                (None, false)
            }
            Event::Eof => break,
            _ => (None, false),
        };
        if let Some(e) = start {
            let name = e.local_name();
            if attrs.is_none() {
                if name.as_ref() != root {
                    return Err(DecodeError::Xml(format!(
                        "the root element is <{}>, expected <{}>",
                        String::from_utf8_lossy(name.as_ref()),
                        String::from_utf8_lossy(root)
                    )));
                }
                attrs = Some(attributes(e, wanted)?);
            } else if depth == 1 && name.as_ref() == b"Link" {
                let mut a = attributes(e, LINK_ATTRIBUTES)?;
                links.push(Link {
                    rel: take(&mut a, "rel").ok_or(DecodeError::MissingMember("Link/@rel"))?,
                    href: take(&mut a, "href").ok_or(DecodeError::MissingMember("Link/@href"))?,
                    media_type: take(&mut a, "type"),
                    name: take(&mut a, "name"),
                });
            }
            if !empty {
                depth += 1;
            }
        }
    }
    let attrs = attrs.ok_or_else(|| DecodeError::Xml("no root element".into()))?;
    Ok((attrs, links))
}

#[derive(Serialize, Deserialize, Default)]
struct Named {
    #[serde(default)]
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    user: Option<Named>,
    org: Option<Named>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    location: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
}

impl VcdSession {
    /// Parses the XML `Session` (VCD-04).
    pub fn from_xml(xml: &[u8]) -> Result<VcdSession, DecodeError> {
        let (mut a, links) = read_root(xml, b"Session", SESSION_ATTRIBUTES)?;
        Ok(VcdSession {
            user: take(&mut a, "user").ok_or(DecodeError::MissingMember("Session/@user"))?,
            org: take(&mut a, "org").ok_or(DecodeError::MissingMember("Session/@org"))?,
            user_urn: take(&mut a, "userUrn"),
            roles: take(&mut a, "roles")
                .map(|r| {
                    r.split(',')
                        .map(|s| s.trim().to_owned())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            links,
            ..VcdSession::default()
        })
    }

    /// Parses the JSON Session of `/cloudapi` (VCD-05).
    pub fn from_json(json: &[u8]) -> Result<VcdSession, DecodeError> {
        let s: SessionJson = wire::decode_json(json)?;
        let user = s.user.ok_or(DecodeError::MissingMember("user"))?;
        let org = s.org.ok_or(DecodeError::MissingMember("org"))?;
        Ok(VcdSession {
            id: s.id,
            user: user.name,
            user_urn: user.id,
            org: org.name,
            org_urn: org.id,
            roles: s.roles,
            location: s.location,
            links: Vec::new(),
        })
    }

    /// The XML form, in the shape of the seed.
    pub fn to_xml(&self) -> Vec<u8> {
        let mut root = BytesStart::new("Session");
        root.push_attribute(("xmlns", NAMESPACE));
        if let Some(urn) = &self.user_urn {
            root.push_attribute(("userUrn", urn.as_str()));
        }
        root.push_attribute(("user", self.user.as_str()));
        root.push_attribute(("org", self.org.as_str()));
        if !self.roles.is_empty() {
            root.push_attribute(("roles", self.roles.join(",").as_str()));
        }
        let mut w = quick_xml::Writer::new(Vec::from(
            &b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"[..],
        ));
        // Writing into a Vec cannot fail.
        let _ = w.write_event(Event::Start(root));
        for l in &self.links {
            let mut e = BytesStart::new("Link");
            e.push_attribute(("rel", l.rel.as_str()));
            if let Some(t) = &l.media_type {
                e.push_attribute(("type", t.as_str()));
            }
            if let Some(n) = &l.name {
                e.push_attribute(("name", n.as_str()));
            }
            e.push_attribute(("href", l.href.as_str()));
            let _ = w.write_event(Event::Empty(e));
        }
        let _ = w.write_event(Event::End(quick_xml::events::BytesEnd::new("Session")));
        w.into_inner()
    }

    /// The JSON form of `/cloudapi`.
    pub fn to_json(&self) -> Vec<u8> {
        let s = SessionJson {
            id: self.id.clone(),
            user: Some(Named {
                name: self.user.clone(),
                id: self.user_urn.clone(),
            }),
            org: Some(Named {
                name: self.org.clone(),
                id: self.org_urn.clone(),
            }),
            location: self.location.clone(),
            roles: self.roles.clone(),
        };
        serde_json::to_vec(&s).unwrap_or_default()
    }
}

/// Cloud Director's `Error` document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VcdError {
    /// Matches the HTTP status.
    #[serde(rename = "majorErrorCode")]
    pub major_code: u16,
    /// `ACCESS_TO_RESOURCE_IS_FORBIDDEN`, `UNAUTHORIZED`, …
    #[serde(rename = "minorErrorCode")]
    pub minor_code: String,
    /// Text for a person.
    pub message: String,
    /// Vendor code, where sent.
    #[serde(
        rename = "vendorSpecificErrorCode",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub vendor_code: Option<String>,
    /// Server stack trace, where sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_trace: Option<String>,
}

impl VcdError {
    /// An error document.
    pub fn new(major_code: u16, minor_code: &str, message: &str) -> Self {
        VcdError {
            major_code,
            minor_code: minor_code.into(),
            message: message.into(),
            vendor_code: None,
            stack_trace: None,
        }
    }

    /// 403 for a login without `Authorization` (VCD-07).
    pub fn missing_authorization() -> Self {
        Self::new(
            403,
            "ACCESS_TO_RESOURCE_IS_FORBIDDEN",
            "This operation is denied.",
        )
    }

    /// 401 for an invalid token or a malformed header (VCD-08).
    pub fn invalid_credentials() -> Self {
        Self::new(
            401,
            "UNAUTHORIZED",
            "The credentials supplied in the Authorization header are invalid.",
        )
    }

    /// 406 for an unsupported or missing API version (VCD-10, inferred).
    pub fn unsupported_version() -> Self {
        Self::new(
            406,
            "NOT_ACCEPTABLE",
            "The request has invalid accept header: Invalid API version requested.",
        )
    }

    /// Parses the XML form (VCD-06).
    pub fn from_xml(xml: &[u8]) -> Result<VcdError, DecodeError> {
        let (mut a, _) = read_root(xml, b"Error", ERROR_ATTRIBUTES)?;
        let major = take(&mut a, "majorErrorCode")
            .ok_or(DecodeError::MissingMember("Error/@majorErrorCode"))?;
        Ok(VcdError {
            major_code: major.trim().parse().map_err(|_| DecodeError::Invalid {
                member: "Error/@majorErrorCode",
                reason: "not a status code".into(),
            })?,
            minor_code: take(&mut a, "minorErrorCode")
                .ok_or(DecodeError::MissingMember("Error/@minorErrorCode"))?,
            message: take(&mut a, "message").unwrap_or_default(),
            vendor_code: take(&mut a, "vendorSpecificErrorCode"),
            stack_trace: take(&mut a, "stackTrace"),
        })
    }

    /// Parses the JSON form (VCD-06).
    pub fn from_json(json: &[u8]) -> Result<VcdError, DecodeError> {
        wire::decode_json(json)
    }

    /// The XML form.
    pub fn to_xml(&self) -> Vec<u8> {
        let mut e = BytesStart::new("Error");
        e.push_attribute(("xmlns", NAMESPACE));
        e.push_attribute(("minorErrorCode", self.minor_code.as_str()));
        e.push_attribute(("message", self.message.as_str()));
        e.push_attribute(("majorErrorCode", self.major_code.to_string().as_str()));
        if let Some(v) = &self.vendor_code {
            e.push_attribute(("vendorSpecificErrorCode", v.as_str()));
        }
        if let Some(s) = &self.stack_trace {
            e.push_attribute(("stackTrace", s.as_str()));
        }
        let mut w = quick_xml::Writer::new(Vec::from(
            &b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"[..],
        ));
        let _ = w.write_event(Event::Empty(e));
        w.into_inner()
    }

    /// The response a server sends, in the form the request asked for.
    pub fn to_response(&self, format: SessionFormat) -> Response<Bytes> {
        let status =
            StatusCode::from_u16(self.major_code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let (media, body) = match format {
            SessionFormat::Json => (
                "application/json",
                serde_json::to_vec(self).unwrap_or_default(),
            ),
            SessionFormat::Xml => ("application/vnd.vmware.vcloud.error+xml", self.to_xml()),
        };
        wire::response(
            status,
            [(CONTENT_TYPE, HeaderValue::from_static(media))],
            body,
        )
    }
}

impl fmt::Display for VcdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.major_code, self.minor_code, self.message
        )
    }
}

impl crate::Documented for VcdError {
    fn code(&self) -> Option<&str> {
        Some(self.minor_code.as_str())
    }
}
