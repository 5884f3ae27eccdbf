//! What each unit has seen, kept in `<unit>/.yiqiu/unit.json` on its own host: its program
//! version and config, its status, its member id, and per relation the remote units (and
//! their data) it has been told about. One command per host reads every unit's file.

use crate::connection::{quote, Command, ConnError, Connection};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

pub const STATE_FILE: &str = ".yiqiu/unit.json";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RelationState {
    pub endpoint: String,
    pub remote_service: String,
    /// Remote unit id -> the data this unit was last told about it.
    #[serde(default)]
    pub seen: BTreeMap<String, Value>,
    /// An external endpoint's data as last told.
    #[serde(default)]
    pub service_data: Option<Value>,
    /// This unit's own data on this relation, as its hooks published it.
    #[serde(default)]
    pub published: Map<String, Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UnitState {
    pub unit: String,
    pub service: String,
    pub host: String,
    /// Where the unit listens (`ansible_host`), for hooks run after it left the topology.
    #[serde(default)]
    pub address: String,
    pub port: u16,
    pub dir: String,
    /// none / deploying / installed / running / stopped / error (seed 000).
    pub status: String,
    pub program: String,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub config: Option<Map<String, Value>>,
    #[serde(default)]
    pub member_id: Option<u64>,
    /// The highest member id this unit knows was ever given in its service.
    #[serde(default)]
    pub member_high_water: u64,
    /// The leader this unit was last told about.
    #[serde(default)]
    pub leader: Option<String>,
    #[serde(default)]
    pub relations: BTreeMap<String, RelationState>,
    /// The hook that failed last and will be retried first.
    #[serde(default)]
    pub pending: Option<String>,
}

/// Every unit state under `root` on the host: one round trip.
pub fn read_all(conn: &mut dyn Connection, root: &str) -> Result<Vec<UnitState>, String> {
    let script = format!(
        "for f in {root}/*/{STATE_FILE}; do [ -f \"$f\" ] && cat \"$f\" && echo; done; exit 0",
        root = quote(root)
    );
    let out = conn
        .exec(&Command {
            script,
            ..Command::default()
        })
        .map_err(conn_msg)?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut states = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        match serde_json::from_str::<UnitState>(line) {
            Ok(s) => states.push(s),
            Err(e) => tracing::warn!("skipping an unreadable unit state under {root}: {e}"),
        }
    }
    Ok(states)
}

/// Writes the states (each atomically, by rename) in one round trip.
pub fn write_all(conn: &mut dyn Connection, states: &[&UnitState]) -> Result<(), String> {
    if states.is_empty() {
        return Ok(());
    }
    let mut script = String::from("set -e\n");
    for s in states {
        let json = serde_json::to_string(s).map_err(|e| e.to_string())?;
        let file = format!("{}/{STATE_FILE}", s.dir);
        script.push_str(&format!(
            "mkdir -p {dir}/.yiqiu && printf '%s\\n' {json} > {tmp} && mv -f {tmp} {file}\n",
            dir = quote(&s.dir),
            json = quote(&json),
            tmp = quote(&format!("{file}.tmp")),
            file = quote(&file),
        ));
    }
    let out = conn
        .exec(&Command {
            script,
            ..Command::default()
        })
        .map_err(conn_msg)?;
    if out.rc != 0 {
        return Err(format!(
            "writing unit state failed (exit {}): {}",
            out.rc,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}

pub fn conn_msg(e: ConnError) -> String {
    match e {
        ConnError::Unreachable(m) | ConnError::Failed(m) => m,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::local::LocalConnection;

    #[test]
    fn states_round_trip_through_the_host() {
        let root = std::env::temp_dir().join(format!("yiqiu-state-{}", std::process::id()));
        let dir = root.join("memcache_11211").display().to_string();
        let mut s = UnitState {
            unit: "memcache_11211@h".into(),
            service: "memcache".into(),
            dir: dir.clone(),
            status: "running".into(),
            ..UnitState::default()
        };
        s.relations.insert(
            "r".into(),
            RelationState {
                published: serde_json::from_str(r#"{"k":"it's"}"#).unwrap(),
                ..RelationState::default()
            },
        );
        let mut conn = LocalConnection;
        write_all(&mut conn, &[&s]).unwrap();
        let back = read_all(&mut conn, &root.display().to_string()).unwrap();
        assert_eq!(back, vec![s]);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
