//! The one normalized result of every flow.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::jwt::Jwt;
use crate::secret::Secret;
use crate::vcd::VcdSession;
use crate::veeva::VaultSession;

/// What a successful acquisition gave, alike for all five systems.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Grant {
    /// What the secret is.
    pub kind: GrantKind,
    /// The access token or session id.
    pub secret: Secret,
    /// The token type as the server sent it (`Bearer`, `bearer`, …), empty
    /// for a Vault session id, which has none.
    pub token_type: String,
    /// Lifetime as granted, counted from when the response arrived.
    pub expires_in: Option<Duration>,
    /// Absolute expiry in epoch seconds, where the server states one (Venafi).
    pub expires_at: Option<u64>,
    /// A refresh token, where the system issues one (Venafi).
    pub refresh: Option<Refresh>,
    /// The granted scope, as sent.
    pub scope: Option<String>,
    /// What only one system returns.
    pub extra: GrantExtra,
    /// Departures from the contract that did not prevent the grant, each
    /// with the check id it concerns (`RFC-06`, `VV-05`, …).
    pub warnings: Vec<Warning>,
}

impl Grant {
    pub(crate) fn new(kind: GrantKind, secret: Secret, token_type: impl Into<String>) -> Self {
        Grant {
            kind,
            secret,
            token_type: token_type.into(),
            expires_in: None,
            expires_at: None,
            refresh: None,
            scope: None,
            extra: GrantExtra::None,
            warnings: Vec::new(),
        }
    }

    /// The `Authorization` header value that the next API call sends: the
    /// `VCSchema …` value for CESS, the bare session id for Vault, and
    /// `{token_type} {token}` otherwise.
    pub fn authorization(&self) -> Secret {
        match (&self.kind, &self.extra) {
            (_, GrantExtra::Cess { authorization, .. }) => authorization.clone(),
            (GrantKind::VaultSession, _) => self.secret.clone(),
            _ => Secret::new(format!("{} {}", self.token_type, self.secret.expose())),
        }
    }

    /// When the grant expires, given when its response arrived: the earlier of
    /// `expires_in` after `received` and the server's absolute `expires_at`.
    pub fn expiry(&self, received: SystemTime) -> Option<SystemTime> {
        let relative = self.expires_in.and_then(|d| received.checked_add(d));
        let absolute = self
            .expires_at
            .and_then(|s| UNIX_EPOCH.checked_add(Duration::from_secs(s)));
        match (relative, absolute) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub(crate) fn warn(&mut self, check: &'static str, message: impl Into<String>) {
        self.warnings.push(Warning::new(check, message));
    }
}

/// What kind of credential a [`Grant`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GrantKind {
    /// An OAuth-style bearer access token (`cognito`, `cess`, `venafi`).
    AccessToken,
    /// A Vault `sessionId` (`veeva`).
    VaultSession,
    /// A Cloud Director session token (`vcd`).
    VcdSession,
}

/// A refresh token and how long it can be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refresh {
    /// The single-use refresh token.
    pub token: Secret,
    /// Epoch seconds after which the refresh token no longer works.
    pub until: Option<u64>,
}

/// System-specific parts of a [`Grant`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum GrantExtra {
    /// Nothing beyond the common fields.
    None,
    /// The access token is a JWT; its header and claims, unverified.
    Jwt(Box<Jwt>),
    /// Vault's user and vaults.
    Vault(VaultSession),
    /// CESS's provider and the ready-made `Authorization` value.
    Cess {
        /// The cloud id of the user.
        provider: String,
        /// `VCSchema base64(provider-|token)`: it holds the token, so it is secret.
        authorization: Secret,
    },
    /// Venafi's identity of the user.
    Venafi {
        /// The identity provider and GUID.
        identity: Option<String>,
    },
    /// Cloud Director's session document.
    Vcd(Box<VcdSession>),
}

/// A departure from the contract that still gave a grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The check id it concerns.
    pub check: &'static str,
    /// What was seen. Never holds a secret.
    pub message: String,
}

impl Warning {
    /// A warning under `check`.
    pub fn new(check: &'static str, message: impl Into<String>) -> Self {
        Warning {
            check,
            message: message.into(),
        }
    }
}
