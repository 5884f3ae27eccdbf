//! The `jsonfile` fact cache (`fact_caching = jsonfile`): each host's persistent facts
//! (gathered, and `set_fact` with `cacheable: true`) in `<connection>/<prefix><host>` as
//! JSON, read back by later runs while younger than `fact_caching_timeout`; `--flush-cache`
//! deletes the inventory's entries first. Any other plugin name keeps facts in memory only.

use serde_json::{Map, Value};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

#[derive(Clone, Debug, PartialEq)]
pub struct FactCacheSettings {
    /// `fact_caching` (`ANSIBLE_CACHE_PLUGIN`): `memory` (default) or `jsonfile`.
    pub plugin: String,
    /// `fact_caching_connection`: the cache directory.
    pub connection: Option<PathBuf>,
    /// `fact_caching_prefix`.
    pub prefix: String,
    /// `fact_caching_timeout` in seconds; 0 never expires.
    pub timeout: u64,
    /// `--flush-cache`.
    pub flush: bool,
}

impl Default for FactCacheSettings {
    fn default() -> Self {
        FactCacheSettings {
            plugin: "memory".into(),
            connection: None,
            prefix: "ansible_facts".into(),
            timeout: 86400,
            flush: false,
        }
    }
}

impl FactCacheSettings {
    fn dir(&self) -> Option<&PathBuf> {
        let plugin = self.plugin.trim_start_matches("ansible.builtin.");
        (plugin == "jsonfile")
            .then_some(self.connection.as_ref())
            .flatten()
    }

    fn file(&self, host: &str) -> Option<PathBuf> {
        self.dir().map(|d| d.join(format!("{}{host}", self.prefix)))
    }

    /// A host's cached facts (variable names, `ansible_x`), if fresh.
    pub fn load(&self, host: &str) -> Option<Map<String, Value>> {
        let path = self.file(host)?;
        let meta = std::fs::metadata(&path).ok()?;
        if self.timeout > 0 {
            let age = meta
                .modified()
                .ok()
                .and_then(|m| SystemTime::now().duration_since(m).ok())
                .unwrap_or_default();
            if age > Duration::from_secs(self.timeout) {
                return None;
            }
        }
        let text = std::fs::read_to_string(&path).ok()?;
        match serde_json::from_str(&text) {
            Ok(Value::Object(m)) => Some(m),
            _ => None,
        }
    }

    /// Writes a host's facts; a cache that cannot be written is a warning, not a failure.
    pub fn save(&self, host: &str, facts: &Map<String, Value>) {
        let Some(path) = self.file(host) else {
            return;
        };
        let text = crate::output::pyjson::dumps(
            &Value::Object(facts.clone()),
            crate::output::pyjson::DumpOptions {
                indent: Some(4),
                sort_keys: true,
                ensure_ascii: false,
            },
        );
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&path, text));
        if let Err(e) = written {
            eprintln!(
                "[WARNING]: error in 'jsonfile' cache plugin while trying to write to '{}' : {e}",
                path.display()
            );
        }
    }

    /// `--flush-cache`: the hosts' entries are removed.
    pub fn flush_hosts<'a>(&self, hosts: impl Iterator<Item = &'a String>) {
        for h in hosts {
            if let Some(path) = self.file(h) {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn roundtrip_and_flush() {
        let t = tempfile::tempdir().unwrap();
        let s = FactCacheSettings {
            plugin: "jsonfile".into(),
            connection: Some(t.path().to_path_buf()),
            prefix: "p_".into(),
            ..Default::default()
        };
        let mut m = Map::new();
        m.insert("ansible_x".into(), json!(1));
        s.save("h", &m);
        assert!(t.path().join("p_h").is_file());
        assert_eq!(s.load("h"), Some(m));
        s.flush_hosts(["h".to_string()].iter());
        assert_eq!(s.load("h"), None);
        let memory = FactCacheSettings::default();
        assert_eq!(memory.load("h"), None);
    }
}
