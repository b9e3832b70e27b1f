//! What a histogram holds, typed: a flow, a step (or the total) and an
//! outcome. Tags (`flow/step/ok`) exist only in the interval log.

use serde::{Deserialize, Serialize};
use tokenprobe_client::Step;

/// The flow name of the histograms over every flow.
pub const ALL_FLOWS: &str = "all";

/// Whether an acquisition succeeded. Errors sort first, as the rows of
/// `summary.json` always have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Failed (any error label).
    Err,
    /// Succeeded.
    Ok,
}

impl Outcome {
    /// `ok` or `err`, as tags and rows write it.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Err => "err",
        }
    }

    fn from_name(name: &str) -> Option<Outcome> {
        match name {
            "ok" => Some(Outcome::Ok),
            "err" => Some(Outcome::Err),
            _ => None,
        }
    }

    /// Its histogram in a slot's pair.
    pub(crate) fn index(self) -> usize {
        match self {
            Outcome::Ok => 0,
            Outcome::Err => 1,
        }
    }
}

/// What a histogram times: one step of a flow, or the whole acquisition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Part {
    /// One request of the flow.
    Step(Step),
    /// From the intended start to the grant (or the error): what the
    /// user of the token endpoint waited, coordinated omission corrected.
    Total,
    /// From the actual send to the grant (or the error): the service time,
    /// which leaves out any wait for the driver (in the closed model, the
    /// same as the total).
    Service,
}

impl Part {
    /// The step's name, `total` or `service`.
    pub fn name(self) -> &'static str {
        match self {
            Part::Step(s) => s.name(),
            Part::Total => "total",
            Part::Service => "service",
        }
    }

    /// The part a name stands for.
    pub fn from_name(name: &str) -> Option<Part> {
        match name {
            "total" => Some(Part::Total),
            "service" => Some(Part::Service),
            step => Step::from_name(step).map(Part::Step),
        }
    }
}

impl Serialize for Part {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Part {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Part::from_name(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown step {name:?}")))
    }
}

/// What a histogram holds: a flow (or [`ALL_FLOWS`]), a step (or the
/// total), and whether the acquisitions succeeded.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Key {
    /// Flow name, or `all`.
    pub flow: String,
    /// A step, or the total.
    pub step: Part,
    /// Success or error.
    pub outcome: Outcome,
}

impl Key {
    /// The interval log's tag: `flow/step/ok` or `flow/step/err`. Tags are
    /// the file format; in memory a key stays typed.
    pub fn tag(&self) -> String {
        format!("{}/{}/{}", self.flow, self.step.name(), self.outcome.name())
    }

    /// The key of a tag.
    pub fn from_tag(tag: &str) -> Option<Key> {
        let mut parts = tag.split('/');
        let (flow, step, outcome) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        Some(Key {
            flow: flow.to_owned(),
            step: Part::from_name(step)?,
            outcome: Outcome::from_name(outcome)?,
        })
    }

    /// `flow/step`, how thresholds and tables name it.
    pub fn scope(&self) -> String {
        format!("{}/{}", self.flow, self.step.name())
    }

    /// The successful whole acquisitions over every flow.
    pub fn all_ok() -> Key {
        Key {
            flow: ALL_FLOWS.into(),
            step: Part::Total,
            outcome: Outcome::Ok,
        }
    }
}
