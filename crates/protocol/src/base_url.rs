//! Where an endpoint lives: scheme, host and an optional path prefix.

use std::fmt;
use std::str::FromStr;

use http::Uri;
use http::uri::{Authority, Scheme};

use crate::error::RequestError;

/// A validated base URL such as `https://tpp.example` or
/// `http://127.0.0.1:8080/prefix`. Documented paths are appended to it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BaseUrl {
    scheme: Scheme,
    authority: Authority,
    prefix: String,
}

impl BaseUrl {
    /// The absolute URI of `path_and_query` (which starts with `/`) under this base.
    pub fn join(&self, path_and_query: &str) -> Result<Uri, RequestError> {
        Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(format!("{}{}", self.prefix, path_and_query))
            .build()
            .map_err(|e| RequestError::new("URL", "path", e.to_string()))
    }

    /// The host and port.
    pub fn authority(&self) -> &Authority {
        &self.authority
    }

    /// `https` or `http`.
    pub fn scheme(&self) -> &Scheme {
        &self.scheme
    }

    /// Whether the host is this machine (`localhost`, `127.0.0.0/8`, `::1`).
    pub fn is_loopback(&self) -> bool {
        let host = self
            .authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }

    /// Plain `http://` to another machine: whatever is sent, credentials
    /// included, crosses the network in clear.
    pub fn is_cleartext_off_machine(&self) -> bool {
        self.scheme == Scheme::HTTP && !self.is_loopback()
    }
}

impl FromStr for BaseUrl {
    type Err = RequestError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // Never echo user:password@ back into an error message.
        let shown = match (s.find("://"), s.rfind('@')) {
            (Some(i), Some(j)) if j > i => format!(
                "{}***{}",
                s.get(..i + 3).unwrap_or_default(),
                s.get(j..).unwrap_or_default()
            ),
            (_, Some(_)) => "(a URL with credentials)".to_owned(),
            _ => s.to_owned(),
        };
        let bad =
            |reason: &str| RequestError::new("URL", "base_url", format!("`{shown}`: {reason}"));
        let uri: Uri = s.parse().map_err(|_| bad("not a URL"))?;
        let scheme = uri
            .scheme()
            .cloned()
            .ok_or_else(|| bad("no scheme (http or https)"))?;
        if scheme != Scheme::HTTP && scheme != Scheme::HTTPS {
            return Err(bad("the scheme must be http or https"));
        }
        let authority = uri.authority().cloned().ok_or_else(|| bad("no host"))?;
        if authority.as_str().contains('@') {
            return Err(bad(
                "credentials in the URL are not allowed; configure them apart",
            ));
        }
        if uri.query().is_some() {
            return Err(bad("a base URL takes no query"));
        }
        let prefix = uri.path().trim_end_matches('/').to_owned();
        Ok(BaseUrl {
            scheme,
            authority,
            prefix,
        })
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}{}", self.scheme, self.authority, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_paths_under_a_prefix() {
        let base: BaseUrl = "https://tpp.example/some/prefix/".parse().unwrap();
        assert_eq!(
            base.join("/vedauth/authorize/oauth").unwrap().to_string(),
            "https://tpp.example/some/prefix/vedauth/authorize/oauth"
        );
        assert_eq!(base.to_string(), "https://tpp.example/some/prefix");
    }

    #[test]
    fn credentials_in_a_url_never_reach_the_error() {
        let err = "https://user:hunter2@x.example/"
            .parse::<BaseUrl>()
            .unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert!(err.to_string().contains("x.example"));
    }

    #[test]
    fn knows_loopback_from_the_network() {
        for (url, clear) in [
            ("http://127.0.0.1:8080", false),
            ("http://localhost", false),
            ("http://[::1]:9", false),
            ("https://idp.example", false),
            ("http://idp.example", true),
            ("http://10.0.0.1", true),
        ] {
            let base: BaseUrl = url.parse().unwrap();
            assert_eq!(base.is_cleartext_off_machine(), clear, "{url}");
        }
    }

    #[test]
    fn refuses_what_is_not_a_base() {
        for bad in [
            "ftp://x",
            "tpp.example",
            "https://u:p@x",
            "https://x/?a=1",
            "",
        ] {
            assert!(bad.parse::<BaseUrl>().is_err(), "{bad}");
        }
    }
}
