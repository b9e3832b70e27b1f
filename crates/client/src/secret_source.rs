//! Where a secret comes from, so that none need sit in a scenario file.

use std::path::PathBuf;

use serde::Deserialize;
use tokenprobe_protocol::Secret;

use crate::error::{ClientError, ErrorKind};

/// `{ env = "VAR" }`, `{ file = "path" }` (trailing newline dropped), or,
/// for throwaway test credentials only, `{ value = "…" }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum SecretSource {
    /// An environment variable.
    Env(String),
    /// A file.
    File(PathBuf),
    /// Inline.
    Value(Secret),
}

impl SecretSource {
    /// Reads it. Errors name the variable or file, never a value.
    pub fn resolve(&self) -> Result<Secret, ClientError> {
        match self {
            SecretSource::Env(var) => std::env::var(var).map(Secret::new).map_err(|_| {
                ClientError::new(
                    ErrorKind::Config,
                    format!("environment variable {var} is not set (or not UTF-8)"),
                )
            }),
            SecretSource::File(path) => std::fs::read_to_string(path)
                .map(|s| Secret::new(s.trim_end_matches(['\n', '\r'])))
                .map_err(|e| {
                    ClientError::new(
                        ErrorKind::Config,
                        format!("secret file {}: {e}", path.display()),
                    )
                }),
            SecretSource::Value(s) => Ok(s.clone()),
        }
    }
}

impl From<Secret> for SecretSource {
    fn from(s: Secret) -> Self {
        SecretSource::Value(s)
    }
}

impl From<&str> for SecretSource {
    fn from(s: &str) -> Self {
        SecretSource::Value(Secret::new(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_source_and_files_lose_their_newline() {
        let e = SecretSource::Env("TOKENPROBE_SURELY_UNSET_VAR".into())
            .resolve()
            .unwrap_err();
        assert!(e.to_string().contains("TOKENPROBE_SURELY_UNSET_VAR"), "{e}");
        let path = std::env::temp_dir().join(format!("tokenprobe-secret-{}", std::process::id()));
        std::fs::write(&path, "s3cret\n").unwrap();
        let s = SecretSource::File(path.clone()).resolve().unwrap();
        assert_eq!(s.expose(), "s3cret");
        std::fs::remove_file(&path).unwrap();
        let e = SecretSource::File(path.clone()).resolve().unwrap_err();
        assert!(e.to_string().contains(&path.display().to_string()), "{e}");
        assert!(!format!("{:?}", SecretSource::Value(Secret::new("s3cret"))).contains("s3cret"));
    }
}
