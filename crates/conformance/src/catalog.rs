//! The catalog: one entry per contract a live server can break, as data.
//! Each names the systems it applies to, what it sends, what must come back
//! and where the rule comes from, so the table, the JSON evidence and the
//! JUnit file all describe a check the same way. The code that runs an
//! entry is in [`crate::checks`]; the rule itself is in `tokenprobe-protocol`.

use std::sync::LazyLock;

use serde::Serialize;
pub use tokenprobe_protocol::System;

use crate::checks::Check;

/// Where a rule comes from (`docs/contracts.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mark {
    /// The vendor documents it.
    Doc,
    /// RFC 6749 or RFC 6750 requires it.
    Rfc,
    /// Our best reading: a break is only a warning.
    Inferred,
}

impl Mark {
    /// As `docs/contracts.md` writes it.
    pub fn name(self) -> &'static str {
        match self {
            Mark::Doc => "doc",
            Mark::Rfc => "rfc",
            Mark::Inferred => "inferred",
        }
    }
}

/// One check: what it is, and the code that runs it. The code is a field,
/// so an entry cannot exist without it:
///
/// ```compile_fail,E0063
/// use tokenprobe_conformance::catalog::{Entry, Mark, System};
/// // No `check`: does not compile.
/// let entry = Entry {
///     id: "XX-01",
///     systems: &[System::Cognito],
///     title: "a rule with no code",
///     sends: "",
///     expects: "",
///     mark: Mark::Doc,
///     warn_on: &[],
///     negative: false,
///     change: None,
/// };
/// ```
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Entry {
    /// The contract id of `docs/contracts.md`.
    pub id: &'static str,
    /// The code that runs it.
    #[serde(skip)]
    pub check: Check,
    /// The systems it runs against.
    pub systems: &'static [System],
    /// The rule, in a few words.
    pub title: &'static str,
    /// What the check sends.
    pub sends: &'static str,
    /// What must come back.
    pub expects: &'static str,
    /// Where the rule comes from.
    pub mark: Mark,
    /// Systems on which a break is only a warning although the mark is not
    /// `inferred` (the rule itself says "a warning", or the body shape is
    /// inferred for that system).
    pub warn_on: &'static [System],
    /// It sends a wrong secret or password: it can lock a real account, so
    /// it runs only when asked for, once, spaced from the others.
    pub negative: bool,
    /// For a check that expects a refusal: the one thing its probe changes
    /// in the flow's working request, which must have succeeded first (a
    /// refusal of a request that differs in more proves nothing).
    pub change: Option<&'static str>,
}

impl Entry {
    /// Whether a break on `system` is a warning rather than a failure.
    pub fn warns(&self, system: System) -> bool {
        self.mark == Mark::Inferred || self.warn_on.contains(&system)
    }
}

/// A check function as the catalog holds it (boxed, so that every entry
/// has the same type).
macro_rules! check {
    ($f:path) => {
        |target| Box::pin($f(target))
    };
}
pub(crate) use check;

#[allow(clippy::too_many_arguments)]
pub(crate) const fn entry(
    id: &'static str,
    check: Check,
    systems: &'static [System],
    mark: Mark,
    title: &'static str,
    sends: &'static str,
    expects: &'static str,
) -> Entry {
    Entry {
        id,
        check,
        systems,
        title,
        sends,
        expects,
        mark,
        warn_on: &[],
        negative: false,
        change: None,
    }
}

pub(crate) const fn warn_on(mut e: Entry, systems: &'static [System]) -> Entry {
    e.warn_on = systems;
    e
}

pub(crate) const fn varies(mut e: Entry, change: &'static str) -> Entry {
    e.change = Some(change);
    e
}

pub(crate) const fn negative(mut e: Entry) -> Entry {
    e.negative = true;
    e
}

/// Every check, in the order they run: the rules several systems share,
/// then each system's own, each list kept in its module of
/// [`crate::checks`].
pub static ENTRIES: LazyLock<Vec<Entry>> = LazyLock::new(crate::checks::entries);

/// The entry for `id`.
pub fn entry_for(id: &str) -> Option<&'static Entry> {
    ENTRIES.iter().find(|e| e.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ids name checks in `--only`, reports and JUnit: one entry each. (An
    /// entry and its code cannot drift apart: the code is the entry's
    /// `check` field, and a check function no entry holds is dead code,
    /// which the build refuses.)
    #[test]
    fn each_id_is_one_entry() {
        let mut ids: Vec<&str> = ENTRIES.iter().map(|e| e.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), ENTRIES.len());
        for id in ids {
            assert_eq!(entry_for(id).map(|e| e.id), Some(id));
        }
    }
}
