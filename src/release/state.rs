//! Per-host state under `<root>/.yiqiu/`: `state/<type>.json` (current, previous, pins,
//! versions deployed, dependencies, custom links) and `history.jsonl` (one JSON line per
//! deploy/switch/rollback/cleanup with its result).
//!
//! The `current` symlink is the truth for what runs; the state file records what the link
//! cannot: the previous version (rollback never guesses by mtime), pins and checksums.

use super::remote::{q, run, run_ok, Layout};
use super::Result;
use crate::connection::{Become, Connection};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct VersionRecord {
    #[serde(default)]
    pub checksum: String,
    #[serde(default)]
    pub deployed_at: String,
    /// Seconds since the epoch, for `--keep-days`.
    #[serde(default)]
    pub deployed_epoch: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ComponentState {
    #[serde(default)]
    pub current: Option<String>,
    #[serde(default)]
    pub previous: Option<String>,
    #[serde(default)]
    pub pinned: Vec<String>,
    #[serde(default)]
    pub versions: BTreeMap<String, VersionRecord>,
    /// Versions of other components this one needs: `{ "model": "1.0.0" }`. Cleanup of those
    /// components keeps them.
    #[serde(default)]
    pub depends: BTreeMap<String, String>,
    /// Custom links (absolute paths) that point at `<root>/links/<type>`.
    #[serde(default)]
    pub custom_links: Vec<String>,
}

impl ComponentState {
    pub fn parse(text: &str) -> ComponentState {
        // A damaged state file must not block a deploy: start over; the link stays the truth.
        serde_json::from_str(text).unwrap_or_default()
    }

    /// Brings the record in line with the `current` link. When a run was killed after the
    /// switch but before the state write, the recorded current is the version that was
    /// replaced, which is exactly the previous one.
    pub fn reconcile(&mut self, link_current: Option<&str>) {
        let link = link_current.map(str::to_string);
        if self.current != link {
            if let Some(old) = self.current.take() {
                if Some(&old) != link.as_ref() {
                    self.previous = Some(old);
                }
            }
            self.current = link;
        }
    }

    /// Records a switch from the current version to `to`.
    pub fn switched(&mut self, to: &str) {
        if self.current.as_deref() != Some(to) {
            self.previous = self.current.take();
            self.current = Some(to.to_string());
        }
    }
}

pub fn save(
    conn: &mut dyn Connection,
    layout: &Layout,
    t: &str,
    st: &ComponentState,
) -> Result<()> {
    let text = serde_json::to_string_pretty(st).unwrap_or_default() + "\n";
    let file = layout.state_file(t);
    if conn
        .put(text.as_bytes(), &file, Some(0o644), &Become::default())
        .is_err()
    {
        // A root that deploy did not create has no state dir yet (switch/pin on a hand-made
        // root): create it and write again. The common path keeps its single round trip.
        run_ok(
            conn,
            &format!("mkdir -p {}", q(&layout.state_dir())),
            "creating the state dir",
        )?;
        conn.put(text.as_bytes(), &file, Some(0o644), &Become::default())?;
    }
    Ok(())
}

/// Reads every component's state in one round trip: `(type, state)`.
pub fn load_all(
    conn: &mut dyn Connection,
    layout: &Layout,
) -> Result<Vec<(String, ComponentState)>> {
    let script = format!(
        r#"for f in {dir}/*.json; do [ -f "$f" ] || continue; n=$(basename "$f" .json); printf '\036%s\n' "$n"; cat "$f"; done; exit 0"#,
        dir = q(&layout.state_dir())
    );
    let out = run_ok(conn, &script, "reading state")?;
    Ok(out
        .split('\u{1e}')
        .filter(|s| !s.is_empty())
        .filter_map(|chunk| {
            let (name, body) = chunk.split_once('\n')?;
            Some((name.to_string(), ComponentState::parse(body)))
        })
        .collect())
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct HistoryEntry {
    pub time: String,
    pub component: String,
    /// deploy, switch, rollback, cleanup, pin, unpin.
    pub action: String,
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub checksum: String,
    /// ok, changed, failed.
    pub result: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Appends one line to the history. Lines are short, and `>>` appends of less than PIPE_BUF
/// bytes do not interleave between concurrent writers.
pub fn append_history(conn: &mut dyn Connection, layout: &Layout, e: &HistoryEntry) -> Result<()> {
    let line = serde_json::to_string(e).unwrap_or_default();
    let script = format!(
        "mkdir -p {meta} && printf '%s\\n' {line} >> {hist}",
        meta = q(&layout.meta()),
        line = q(&line),
        hist = q(&layout.history())
    );
    run_ok(conn, &script, "writing history").map(|_| ())
}

/// Reads the history (all components), oldest first.
pub fn read_history(conn: &mut dyn Connection, layout: &Layout) -> Result<Vec<HistoryEntry>> {
    let out = run(
        conn,
        &format!("cat {} 2>/dev/null; exit 0", q(&layout.history())),
    )?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconcile_after_a_kill_between_switch_and_state_write() {
        let mut st = ComponentState {
            current: Some("1".into()),
            previous: None,
            ..Default::default()
        };
        st.reconcile(Some("2"));
        assert_eq!(st.current.as_deref(), Some("2"));
        assert_eq!(st.previous.as_deref(), Some("1"));
        st.switched("3");
        assert_eq!(st.previous.as_deref(), Some("2"));
        st.switched("3");
        assert_eq!(st.previous.as_deref(), Some("2"));
    }
}
