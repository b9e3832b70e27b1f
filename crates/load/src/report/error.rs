//! Why a report directory could not be read or written: which file, and
//! what was wrong with it. One type for `report`, `merge`, `compare` and
//! `search`, so a caller can tell a missing file from a damaged one.

use std::fmt;
use std::path::{Path, PathBuf};

/// A file of a report directory (or the run as a whole, without a path)
/// and what went wrong.
#[derive(Debug)]
pub struct ReportError {
    /// The file or directory, when one is to blame.
    pub path: Option<PathBuf>,
    /// What went wrong.
    pub cause: Cause,
}

/// What went wrong with a report file.
#[derive(Debug, thiserror::Error)]
pub enum Cause {
    /// Reading or writing it.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// Its JSON.
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    /// Its interval log does not decode.
    #[error("{0}")]
    Log(String),
    /// Read, but not what this version reads, or not one run's.
    #[error("{0}")]
    Refused(String),
}

impl ReportError {
    /// A refusal of the inputs as a whole (not one file's fault).
    pub fn refused(why: impl Into<String>) -> ReportError {
        ReportError {
            path: None,
            cause: Cause::Refused(why.into()),
        }
    }
}

impl fmt::Display for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(path) => write!(f, "{}: {}", path.display(), self.cause),
            None => write!(f, "{}", self.cause),
        }
    }
}

impl std::error::Error for ReportError {}

/// Names the file a cause came from: `std::fs::read(&p).at(&p)?`.
pub trait At<T> {
    /// This result, its error blamed on `path`.
    fn at(self, path: &Path) -> Result<T, ReportError>;
}

impl<T, E: Into<Cause>> At<T> for Result<T, E> {
    fn at(self, path: &Path) -> Result<T, ReportError> {
        self.map_err(|e| ReportError {
            path: Some(path.to_owned()),
            cause: e.into(),
        })
    }
}
