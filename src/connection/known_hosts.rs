//! Host key verification against OpenSSH known_hosts files.
//!
//! Matching (hashed `|1|salt|hash` entries, `[host]:port` entries, markers) is libssh2's
//! `KnownHosts`, so we parse nothing ourselves. To name the offending line of a mismatch, which
//! libssh2 does not report, each line is re-checked on its own: that only happens on the
//! (rare) refusal path.

use super::ConnError;
use ssh2::{CheckResult, HashType, HostKeyType, KnownHostFileKind, Session};
use std::path::{Path, PathBuf};

/// What to do about host keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Known keys only (the default; `StrictHostKeyChecking yes`).
    Strict,
    /// Unknown hosts are accepted (not recorded), changed keys refused (`accept-new`).
    AcceptNew,
    /// Anything goes (`host_key_checking = False`, `StrictHostKeyChecking no`).
    Off,
}

/// Checks the server key of an established `session` for `host`:`port` against `files`.
pub fn verify(
    session: &Session,
    host: &str,
    port: u16,
    files: &[PathBuf],
    policy: Policy,
) -> Result<(), ConnError> {
    if policy == Policy::Off {
        return Ok(());
    }
    let Some((key, key_type)) = session.host_key() else {
        return Err(ConnError::Unreachable(format!(
            "Failed to connect to {host} port {port}: the server sent no host key"
        )));
    };
    let fingerprint = session
        .host_key_hash(HashType::Sha256)
        .map(|h| {
            use base64::Engine;
            let b64 = base64::engine::general_purpose::STANDARD_NO_PAD.encode(h);
            format!("SHA256:{b64}")
        })
        .unwrap_or_else(|| "(no fingerprint)".into());
    let kind = key_type_name(key_type);
    let mut mismatch: Option<(PathBuf, Option<usize>)> = None;
    for file in files {
        if !file.exists() {
            continue;
        }
        let mut kh = session
            .known_hosts()
            .map_err(|e| ConnError::Unreachable(format!("libssh2 known_hosts: {e}")))?;
        if kh.read_file(file, KnownHostFileKind::OpenSSH).is_err() {
            // A file libssh2 cannot parse as a whole: fall back to line by line below.
            if let Some(found) = check_lines(session, file, host, port, key)? {
                match found {
                    LineCheck::Match => return Ok(()),
                    LineCheck::Mismatch(line) => {
                        mismatch = mismatch.or(Some((file.clone(), Some(line))))
                    }
                }
            }
            continue;
        }
        match kh.check_port(host, port, key) {
            CheckResult::Match => return Ok(()),
            CheckResult::Mismatch => {
                if mismatch.is_none() {
                    let line = match check_lines(session, file, host, port, key)? {
                        Some(LineCheck::Mismatch(l)) => Some(l),
                        _ => None,
                    };
                    mismatch = Some((file.clone(), line));
                }
            }
            CheckResult::NotFound | CheckResult::Failure => {}
        }
    }
    let shown = if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    };
    if let Some((file, line)) = mismatch {
        let at = match line {
            Some(l) => format!("{}:{l}", file.display()),
            None => file.display().to_string(),
        };
        return Err(ConnError::Unreachable(format!(
            "Failed to connect to the host via ssh: @@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@ \
             The {kind} host key for {shown} is now {fingerprint}, which differs from the key recorded in {at}. \
             Someone could be eavesdropping on you (man-in-the-middle attack), or the host key has just been changed. \
             If the change is expected, remove the old entry with `ssh-keygen -R '{shown}' -f {}` and add the new key. \
             Host key verification failed.",
            file.display()
        )));
    }
    if policy == Policy::AcceptNew {
        return Ok(());
    }
    let where_ = files
        .first()
        .map(|f| f.display().to_string())
        .unwrap_or_else(|| "~/.ssh/known_hosts".into());
    Err(ConnError::Unreachable(format!(
        "Failed to connect to the host via ssh: the authenticity of host '{shown}' can't be established: \
         its {kind} key {fingerprint} is not in {where_}. Add it after checking the fingerprint, e.g. \
         `ssh-keyscan -p {port} {host} >> ~/.ssh/known_hosts`, or disable the check with \
         host_key_checking = False (ANSIBLE_HOST_KEY_CHECKING=False). Host key verification failed."
    )))
}

enum LineCheck {
    Match,
    /// 1-based line number.
    Mismatch(usize),
}

/// Checks every line of `file` on its own; the first match wins, else the first mismatch.
fn check_lines(
    session: &Session,
    file: &Path,
    host: &str,
    port: u16,
    key: &[u8],
) -> Result<Option<LineCheck>, ConnError> {
    let Ok(text) = std::fs::read_to_string(file) else {
        return Ok(None);
    };
    let mut first_mismatch = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let mut kh = session
            .known_hosts()
            .map_err(|e| ConnError::Unreachable(format!("libssh2 known_hosts: {e}")))?;
        if kh.read_str(trimmed, KnownHostFileKind::OpenSSH).is_err() {
            continue;
        }
        match kh.check_port(host, port, key) {
            CheckResult::Match => return Ok(Some(LineCheck::Match)),
            CheckResult::Mismatch if first_mismatch.is_none() => first_mismatch = Some(i + 1),
            _ => {}
        }
    }
    Ok(first_mismatch.map(LineCheck::Mismatch))
}

fn key_type_name(t: HostKeyType) -> &'static str {
    match t {
        HostKeyType::Rsa => "RSA",
        HostKeyType::Dss => "DSA",
        HostKeyType::Ecdsa256 | HostKeyType::Ecdsa384 | HostKeyType::Ecdsa521 => "ECDSA",
        HostKeyType::Ed25519 => "ED25519",
        HostKeyType::Unknown => "unknown",
    }
}
