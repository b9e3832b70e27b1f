//! Venafi's scope grammar: items joined by `;`, each `name` or
//! `name:privilege,privilege,…`; a bare name grants read.

use std::fmt;
use std::str::FromStr;

macro_rules! word_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $var:ident = $text:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vm])* $var),* }
        impl $name {
            /// Every value, in documentation order.
            pub const ALL: &'static [$name] = &[$($name::$var),*];
            /// The word as sent (lower case).
            pub fn as_str(self) -> &'static str { match self { $($name::$var => $text),* } }
            /// The value for a word, in any case.
            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str().eq_ignore_ascii_case(s))
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

word_enum! {
    /// A documented scope name.
    ScopeName {
        /// `admin`
        Admin = "admin",
        /// `agent`
        Agent = "agent",
        /// `certificate`
        Certificate = "certificate",
        /// `codesign`
        Codesign = "codesign",
        /// `codesignclient`
        CodesignClient = "codesignclient",
        /// `configuration`
        Configuration = "configuration",
        /// `restricted`
        Restricted = "restricted",
        /// `security`
        Security = "security",
        /// `ssh`
        Ssh = "ssh",
        /// `statistics`
        Statistics = "statistics",
    }
}

word_enum! {
    /// A documented privilege.
    Privilege {
        /// `approve`
        Approve = "approve",
        /// `delete`
        Delete = "delete",
        /// `discover`
        Discover = "discover",
        /// `manage`
        Manage = "manage",
        /// `revoke`
        Revoke = "revoke",
    }
}

/// One `name[:priv,…]` item. Privileges keep the order they were given in,
/// so formatting gives back what was parsed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ScopeItem {
    /// The scope name.
    pub name: ScopeName,
    /// Its privileges; empty means read.
    pub privileges: Vec<Privilege>,
}

/// A whole scope value, such as `certificate:discover,manage;configuration`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope(Vec<ScopeItem>);

/// Why a scope value does not follow the grammar (VE-02).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScopeError {
    /// No item at all.
    #[error("the scope is empty")]
    Empty,
    /// `;;`, a leading or trailing `;`.
    #[error("item {0} is empty (stray `;`)")]
    EmptyItem(usize),
    /// `name:` with nothing after it, or `,,`.
    #[error("item {0} has an empty privilege (dangling `:` or `,`)")]
    EmptyPrivilege(usize),
    /// A name that is not documented.
    #[error("unknown scope name \"{0}\"")]
    UnknownName(String),
    /// A privilege that is not documented.
    #[error("unknown privilege \"{0}\"")]
    UnknownPrivilege(String),
    /// The same name twice.
    #[error("scope \"{0}\" appears twice")]
    Duplicate(ScopeName),
}

impl Scope {
    /// A scope of the given items.
    pub fn new(items: Vec<ScopeItem>) -> Result<Scope, ScopeError> {
        if items.is_empty() {
            return Err(ScopeError::Empty);
        }
        for (i, item) in items.iter().enumerate() {
            if items.iter().take(i).any(|x| x.name == item.name) {
                return Err(ScopeError::Duplicate(item.name));
            }
        }
        Ok(Scope(items))
    }

    /// The items.
    pub fn items(&self) -> &[ScopeItem] {
        &self.0
    }

    /// Whether every item and privilege of `self` is asked for in `requested`
    /// (VE-12: a server may narrow a scope, never widen it).
    pub fn is_within(&self, requested: &Scope) -> bool {
        self.0.iter().all(|g| {
            requested
                .0
                .iter()
                .find(|r| r.name == g.name)
                .is_some_and(|r| g.privileges.iter().all(|p| r.privileges.contains(p)))
        })
    }
}

impl FromStr for Scope {
    type Err = ScopeError;

    fn from_str(s: &str) -> Result<Scope, ScopeError> {
        if s.trim().is_empty() {
            return Err(ScopeError::Empty);
        }
        let mut items = Vec::new();
        for (i, raw) in s.split(';').enumerate() {
            let n = i + 1;
            let raw = raw.trim();
            if raw.is_empty() {
                return Err(ScopeError::EmptyItem(n));
            }
            let (name, privs) = match raw.split_once(':') {
                Some((name, privs)) => (name.trim(), Some(privs)),
                None => (raw, None),
            };
            let name =
                ScopeName::parse(name).ok_or_else(|| ScopeError::UnknownName(name.to_owned()))?;
            let mut privileges = Vec::new();
            if let Some(privs) = privs {
                for p in privs.split(',') {
                    let p = p.trim();
                    if p.is_empty() {
                        return Err(ScopeError::EmptyPrivilege(n));
                    }
                    let p = Privilege::parse(p)
                        .ok_or_else(|| ScopeError::UnknownPrivilege(p.to_owned()))?;
                    if !privileges.contains(&p) {
                        privileges.push(p);
                    }
                }
            }
            items.push(ScopeItem { name, privileges });
        }
        Scope::new(items)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, item) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(";")?;
            }
            f.write_str(item.name.as_str())?;
            for (j, p) in item.privileges.iter().enumerate() {
                f.write_str(if j == 0 { ":" } else { "," })?;
                f.write_str(p.as_str())?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ve_02_grammar_errors() {
        let cases = [
            ("", ScopeError::Empty),
            ("certificate;", ScopeError::EmptyItem(2)),
            (";certificate", ScopeError::EmptyItem(1)),
            ("certificate:", ScopeError::EmptyPrivilege(1)),
            ("certificate:manage,", ScopeError::EmptyPrivilege(1)),
            ("certficate", ScopeError::UnknownName("certficate".into())),
            ("ssh:fly", ScopeError::UnknownPrivilege("fly".into())),
            ("ssh;ssh:manage", ScopeError::Duplicate(ScopeName::Ssh)),
        ];
        for (input, err) in cases {
            assert_eq!(input.parse::<Scope>(), Err(err), "{input}");
        }
    }

    #[test]
    fn any_case_in_lower_case_out() {
        let s: Scope = "Certificate:MANAGE".parse().unwrap();
        assert_eq!(s.to_string(), "certificate:manage");
    }

    #[test]
    fn ve_12_within() {
        let req: Scope = "certificate:manage,discover;ssh".parse().unwrap();
        assert!(
            "certificate:discover"
                .parse::<Scope>()
                .unwrap()
                .is_within(&req)
        );
        assert!(
            !"certificate:delete"
                .parse::<Scope>()
                .unwrap()
                .is_within(&req)
        );
        assert!(!"configuration".parse::<Scope>().unwrap().is_within(&req));
    }
}
