//! Component releases (seed 003): pack a directory into a reproducible tarball with a sha256
//! manifest, publish it to several stores, deploy it on a host into
//! `<root>/components/<type>/<version>/`, switch `current` atomically, roll back, clean up, and
//! keep the stable paths under `<root>/links/` right.
//!
//! Pack and publish run on the controller (local files). Everything that touches a host
//! (deploy, version, links, health) is written once against `&mut dyn Connection`, as POSIX sh
//! scripts, so the `yiqiu-release` CLI (local connection) and the `component_*` modules (SSH)
//! share it.

pub mod config;
pub mod deploy;
pub mod health;
pub mod links;
pub mod lock;
pub mod manifest;
pub mod pack;
pub mod publish;
pub mod remote;
pub mod s3;
pub mod state;
pub mod version;

use std::fmt;

/// What kind of failure, so callers can map it (exit codes, `failed` vs `unreachable`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad input: names, flags, config.
    Invalid,
    /// A file, version or source that does not exist.
    NotFound,
    /// A safety rule refused the action (unsafe archive, real dir as `current`, republish).
    Refused,
    /// No source gave a package with the expected checksum.
    Checksum,
    /// The component lock could not be taken in time.
    Locked,
    /// Local I/O, a host command or the network failed.
    Io,
    /// The host could not be reached.
    Unreachable,
}

#[derive(Clone, Debug)]
pub struct ReleaseError {
    pub kind: ErrorKind,
    pub message: String,
}

impl ReleaseError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> ReleaseError {
        ReleaseError {
            kind,
            message: message.into(),
        }
    }
    pub fn invalid(m: impl Into<String>) -> ReleaseError {
        ReleaseError::new(ErrorKind::Invalid, m)
    }
    pub fn io(m: impl Into<String>) -> ReleaseError {
        ReleaseError::new(ErrorKind::Io, m)
    }
    pub fn refused(m: impl Into<String>) -> ReleaseError {
        ReleaseError::new(ErrorKind::Refused, m)
    }
    pub fn not_found(m: impl Into<String>) -> ReleaseError {
        ReleaseError::new(ErrorKind::NotFound, m)
    }
}

impl fmt::Display for ReleaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One line: the CLI prints it as the reason.
        f.write_str(&self.message.replace('\n', " "))
    }
}

impl std::error::Error for ReleaseError {}

impl From<crate::connection::ConnError> for ReleaseError {
    fn from(e: crate::connection::ConnError) -> Self {
        match e {
            crate::connection::ConnError::Unreachable(m) => {
                ReleaseError::new(ErrorKind::Unreachable, m)
            }
            crate::connection::ConnError::Failed(m) => ReleaseError::io(m),
        }
    }
}

pub type Result<T, E = ReleaseError> = std::result::Result<T, E>;

/// Current UTC time as RFC 3339 with seconds (`2024-01-20T10:00:00Z`), the seed's format.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// A log line in seed 003 §12.1's shape: `2024-01-20 10:00:00 [INFO] message key=value`.
pub fn log_line(level: &str, message: &str) -> String {
    let ts = now_rfc3339()
        .replace('T', " ")
        .trim_end_matches('Z')
        .to_string();
    tracing::info!(target: "yiqiu::release", "{message}");
    format!("{ts} [{level}] {message}")
}

/// Component types and versions become path segments on hosts: allow only plain names.
pub fn check_name(what: &str, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._+-".contains(&b))
        && name != "current";
    if ok {
        Ok(())
    } else {
        Err(ReleaseError::invalid(format!(
            "invalid {what} {name:?}: use letters, digits, '.', '_', '+', '-' (not starting with a dot, not 'current')"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_would_escape_are_refused() {
        assert!(check_name("version", "1.0.0").is_ok());
        assert!(check_name("version", "1.0.0-rc1+b2").is_ok());
        for bad in ["", "..", ".hidden", "a/b", "current", "a b", "-x"] {
            assert!(check_name("version", bad).is_err(), "{bad}");
        }
    }
}
