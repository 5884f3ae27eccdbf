//! A play's `vars_files`, read per host: each entry is templated with that host's variables
//! (`vars/{{ os }}.yml`), a relative name is looked for under the play's `vars/` first, and
//! a list entry means its first file that exists, as Ansible's VariableManager does.

use super::play::PlayRun;
use crate::error::{Error, Result};
use crate::template::templar;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// Each host's variables from the play's `vars_files`; `first` is the batch's first host's,
/// for a host added to the play mid-batch (`add_host`).
#[derive(Default)]
pub struct VarsFiles {
    hosts: HashMap<String, Arc<Map<String, Value>>>,
    first: Arc<Map<String, Value>>,
}

impl PlayRun<'_> {
    /// Reads the play's `vars_files` for every host of the batch.
    pub(super) fn load_vars_files(&mut self, batch: &[String]) -> Result<()> {
        if self.play.vars_files.is_empty() {
            return Ok(());
        }
        let mut all = VarsFiles::default();
        for host in batch {
            let vars = Arc::new(self.host_vars_files(host)?);
            if all.hosts.is_empty() {
                all.first = vars.clone();
            }
            all.hosts.insert(host.clone(), vars);
        }
        self.vars_files = all;
        Ok(())
    }

    /// The `vars_files` layer of `host`'s scope.
    pub(super) fn vars_files_of(&self, host: &str) -> Arc<Map<String, Value>> {
        let files = &self.vars_files;
        files.hosts.get(host).unwrap_or(&files.first).clone()
    }

    /// `path_dwim_relative_stack(play dir, 'vars', name)`: `vars/<name>` first (unless the
    /// name already starts with `vars/`), then `<name>`.
    fn find_vars_file(&self, name: &str) -> Option<std::path::PathBuf> {
        let base = &self.play.playbook_dir;
        let mut candidates = Vec::new();
        if name.split('/').next() != Some("vars") {
            candidates.push(base.join("vars").join(name));
        }
        candidates.push(base.join(name));
        candidates.into_iter().find(|p| p.exists())
    }

    fn host_vars_files(&self, host: &str) -> Result<Map<String, Value>> {
        let scope = self.scope(None, host, Map::new());
        let ctx = scope.context();
        let mut merged = Map::new();
        for entry in &self.play.vars_files {
            // A list entry means: the first file of it that exists.
            let candidates: Vec<Value> = match entry {
                Value::Array(items) => items.clone(),
                other => vec![other.clone()],
            };
            let mut loaded = false;
            for c in &candidates {
                let name = templar()
                    .render_native(c.as_str().unwrap_or_default(), &ctx)
                    .map_err(|e| {
                        Error::parse(
                            format!("vars_files: {}", e.message),
                            Some(self.play.origin.clone()),
                        )
                    })?;
                let name = name.as_str().unwrap_or_default().to_string();
                if let Some(path) = self.find_vars_file(&name) {
                    let node = self.shared.loader.load_yaml(&path)?;
                    match node.to_json() {
                        Value::Object(m) => merged.extend(m),
                        Value::Null => {}
                        _ => {
                            return Err(Error::parse(
                                format!("vars file {name} must contain a dictionary"),
                                Some(node.origin.clone()),
                            ))
                        }
                    }
                    loaded = true;
                    break;
                }
            }
            if !loaded {
                return Err(Error::parse(
                    format!(
                        "vars file {} was not found",
                        serde_json::to_string(entry).unwrap_or_default()
                    ),
                    Some(self.play.origin.clone()),
                )
                .with_help("Paths in vars_files are relative to the playbook's directory."));
            }
        }
        Ok(merged)
    }
}
