//! `group_vars/` and `host_vars/` directories (ansible-core's `host_group_vars` vars plugin).
//!
//! For an entity `name` under `<base>/group_vars/`, the first of `name` (a file, or a
//! directory read recursively in sorted order), `name.yml`, `name.yaml`, `name.json` is used.
//! Results are cached per directory and entity: the playbook directory is only known when
//! variables are asked for, and every task asks again.

use crate::error::{Error, Result};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

const EXTENSIONS: [&str; 3] = [".yml", ".yaml", ".json"];

type Key = (PathBuf, String);
type Vars = Arc<Map<String, Value>>;

/// Shared cache of parsed vars files, keyed by (`<base>/group_vars`, entity name).
#[derive(Clone, Debug, Default)]
pub(crate) struct VarsCache {
    found: Arc<Mutex<HashMap<Key, Vars>>>,
}

impl VarsCache {
    /// The variables of each entity, merged in order, over every base directory in order.
    pub(crate) fn entity_vars(
        &self,
        bases: &[PathBuf],
        subdir: &str,
        names: &[String],
    ) -> Result<Map<String, Value>> {
        let mut out = Map::new();
        for base in bases {
            // Ansible resolves the base with realpath; a missing base has nothing to offer.
            let base = std::fs::canonicalize(base).unwrap_or_else(|_| base.clone());
            let dir = base.join(subdir);
            for name in names {
                for (k, v) in self.lookup(&dir, name)?.iter() {
                    out.insert(k.clone(), v.clone());
                }
            }
        }
        Ok(out)
    }

    fn lookup(&self, dir: &Path, name: &str) -> Result<Vars> {
        let key = (dir.to_path_buf(), name.to_string());
        if let Ok(cache) = self.found.lock() {
            if let Some(v) = cache.get(&key) {
                return Ok(v.clone());
            }
        }
        let vars = Arc::new(load_entity(dir, name)?);
        if let Ok(mut cache) = self.found.lock() {
            cache.insert(key, vars.clone());
        }
        Ok(vars)
    }
}

/// Reads the variables for one entity from one `group_vars`/`host_vars` directory.
pub(crate) fn load_entity(dir: &Path, name: &str) -> Result<Map<String, Value>> {
    // Entities named like absolute paths (chroot-style hosts) are skipped, as in Ansible.
    if name.is_empty() || name.starts_with('/') || !dir.is_dir() {
        return Ok(Map::new());
    }
    let mut out = Map::new();
    for file in find_vars_files(dir, name) {
        let doc = crate::yaml::load_file(&file)?;
        match doc.to_json() {
            Value::Null => {}
            Value::Object(m) => {
                for (k, v) in m {
                    out.insert(k, v);
                }
            }
            other => {
                let kind = match other {
                    Value::Array(_) => "list",
                    Value::String(_) => "str",
                    Value::Bool(_) => "bool",
                    _ => "number",
                };
                // Empty strings and `false` count as empty in Python: skipped like null.
                if other == Value::String(String::new()) || other == Value::Bool(false) {
                    continue;
                }
                return Err(Error::parse(
                    format!(
                        "Invalid vars in {}: expected a dictionary, got a {kind}",
                        file.display()
                    ),
                    Some(doc.origin.clone()),
                ));
            }
        }
    }
    Ok(out)
}

/// `DataLoader.find_vars_files`: the first existing candidate wins.
pub(crate) fn find_vars_files(dir: &Path, name: &str) -> Vec<PathBuf> {
    let base = dir.join(name);
    let mut candidates = vec![base.clone()];
    for ext in EXTENSIONS {
        let mut s = base.clone().into_os_string();
        s.push(ext);
        candidates.push(PathBuf::from(s));
    }
    for c in candidates {
        if c.is_dir() {
            return dir_vars_files(&c);
        }
        if c.exists() {
            return vec![c];
        }
    }
    Vec::new()
}

/// Files of a vars directory, sorted by name, recursing into subdirectories; hidden files,
/// backups (`~`) and files with other extensions are skipped.
fn dir_vars_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = rd
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut out = Vec::new();
    for n in names {
        if n.starts_with('.') || n.ends_with('~') {
            continue;
        }
        let ext = Path::new(&n)
            .extension()
            .map(|e| format!(".{}", e.to_string_lossy()))
            .unwrap_or_default();
        let full = dir.join(&n);
        if full.is_dir() && ext.is_empty() {
            out.extend(dir_vars_files(&full));
        } else if full.is_file() && (ext.is_empty() || EXTENSIONS.contains(&ext.as_str())) {
            out.push(full);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::fs;

    #[test]
    fn file_forms_and_directories() {
        let t = tempfile::tempdir().unwrap();
        let gv = t.path().join("group_vars");
        fs::create_dir_all(gv.join("web/sub")).unwrap();
        fs::write(gv.join("all.yml"), "a: 1\nb: 1\n").unwrap();
        fs::write(gv.join("all"), "a: 0\n").unwrap();
        fs::write(gv.join("db.json"), "{\"d\": true}").unwrap();
        fs::write(gv.join("web/10.yml"), "w: 1\nx: 1\n").unwrap();
        fs::write(gv.join("web/sub/z.yaml"), "w: 3\n").unwrap();
        fs::write(gv.join("web/20"), "w: 2\n").unwrap();
        fs::write(gv.join("web/notes.txt"), "w: 99\n").unwrap();
        fs::write(gv.join("web/30.yml~"), "w: 99\n").unwrap();
        fs::write(gv.join("web/.hidden.yml"), "w: 99\n").unwrap();
        fs::write(gv.join("empty.yml"), "").unwrap();
        // The bare name is tried first.
        assert_eq!(
            load_entity(&gv, "all").unwrap(),
            *json!({"a": 0}).as_object().unwrap()
        );
        assert_eq!(load_entity(&gv, "db").unwrap()["d"], json!(true));
        // 10.yml, 20, sub/z.yaml in sorted order: sub comes last.
        let web = load_entity(&gv, "web").unwrap();
        assert_eq!(web["w"], json!(3));
        assert_eq!(web["x"], json!(1));
        assert!(load_entity(&gv, "empty").unwrap().is_empty());
        assert!(load_entity(&gv, "nothing").unwrap().is_empty());
    }

    #[test]
    fn non_mapping_is_an_error() {
        let t = tempfile::tempdir().unwrap();
        fs::write(t.path().join("h.yml"), "- 1\n").unwrap();
        let e = load_entity(t.path(), "h").unwrap_err();
        assert!(e.message.contains("expected a dictionary"), "{}", e.message);
        assert!(e.origin.is_some());
    }

    #[test]
    fn cache_merges_bases_in_order() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        for (d, v) in [(&a, 1), (&b, 2)] {
            fs::create_dir_all(d.path().join("host_vars")).unwrap();
            fs::write(
                d.path().join("host_vars/h1.yml"),
                format!("v: {v}\nonly{v}: x\n"),
            )
            .unwrap();
        }
        let cache = VarsCache::default();
        let bases = vec![a.path().to_path_buf(), b.path().to_path_buf()];
        let m = cache
            .entity_vars(&bases, "host_vars", &["h1".into()])
            .unwrap();
        assert_eq!(m["v"], json!(2));
        assert!(m.contains_key("only1") && m.contains_key("only2"));
    }
}
