//! Running host-side shell scripts through a [`Connection`], and the small sh helpers they share.

use super::{ReleaseError, Result};
use crate::connection::{Command, Connection};

pub use crate::connection::quote as q;

/// A portable sha256 of a file: prints the hex digest (GNU coreutils, BSD/macOS, or openssl).
pub const SH_SHA256: &str = r#"h256() { if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d' ' -f1; elif command -v shasum >/dev/null 2>&1; then shasum -a 256 "$1" | cut -d' ' -f1; else openssl dgst -sha256 -r "$1" | cut -d' ' -f1; fi; }
"#;

/// `alink TARGET PATH`: points symlink PATH at TARGET atomically (temp link in the same dir,
/// then rename over PATH). Never `ln -sfn`, which unlinks then creates and leaves a window
/// where PATH does not exist. Refuses to replace anything that is not a symlink.
/// Prints `CHANGED PATH` when it changed something.
pub const SH_ALINK: &str = r#"alink() { if [ -L "$2" ] && [ "$(readlink "$2")" = "$1" ]; then return 0; fi
if [ -e "$2" ] && [ ! -L "$2" ]; then echo "$2 exists and is not a symlink: refusing to replace it" >&2; return 3; fi
_d=$(dirname "$2"); mkdir -p "$_d" || return 1
_t="$_d/.$(basename "$2").yiqiu-link-$$"; rm -f "$_t"
ln -s "$1" "$_t" || return 1
mv -T "$_t" "$2" 2>/dev/null || mv -Tf "$_t" "$2" || { rm -f "$_t"; return 1; }
echo "CHANGED $2"; }
"#;

/// Runs a script; returns its output whatever the exit code.
pub fn run(conn: &mut dyn Connection, script: &str) -> Result<crate::connection::Output> {
    Ok(conn.exec(&Command {
        script: script.to_string(),
        ..Command::default()
    })?)
}

/// Runs a script that must succeed; the error is its last stderr line.
pub fn run_ok(conn: &mut dyn Connection, script: &str, what: &str) -> Result<String> {
    let out = run(conn, script)?;
    if out.rc != 0 {
        let err = last_line(&out.stderr);
        return Err(ReleaseError::io(if err.is_empty() {
            format!("{what} failed with exit status {}", out.rc)
        } else {
            format!("{what} failed: {err}")
        }));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

pub fn last_line(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .to_string()
}

/// Host paths of one deployment root.
#[derive(Clone, Debug)]
pub struct Layout {
    pub root: String,
}

impl Layout {
    pub fn new(root: &str) -> Layout {
        Layout {
            root: root.trim_end_matches('/').to_string(),
        }
    }
    pub fn components(&self) -> String {
        format!("{}/components", self.root)
    }
    pub fn component(&self, t: &str) -> String {
        format!("{}/components/{t}", self.root)
    }
    pub fn links(&self) -> String {
        format!("{}/links", self.root)
    }
    pub fn meta(&self) -> String {
        format!("{}/.yiqiu", self.root)
    }
    pub fn cache(&self) -> String {
        format!("{}/.yiqiu/cache", self.root)
    }
    pub fn state_dir(&self) -> String {
        format!("{}/.yiqiu/state", self.root)
    }
    pub fn state_file(&self, t: &str) -> String {
        format!("{}/.yiqiu/state/{t}.json", self.root)
    }
    pub fn history(&self) -> String {
        format!("{}/.yiqiu/history.jsonl", self.root)
    }
    pub fn lock_dir(&self, t: &str) -> String {
        format!("{}/.yiqiu/locks/{t}.lock", self.root)
    }
}
