//! Inventory layer: hosts, groups and their variables, from INI or YAML sources,
//! `group_vars/` and `host_vars/` directories, and host patterns.

use crate::error::Result;
use indexmap::IndexMap;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Default)]
pub struct Host {
    pub name: String,
    /// Variables set on the host in the inventory source itself.
    pub vars: Map<String, Value>,
}

#[derive(Clone, Debug, Default)]
pub struct Group {
    pub name: String,
    pub vars: Map<String, Value>,
    /// Hosts listed directly in this group, in inventory order.
    pub hosts: Vec<String>,
    pub children: Vec<String>,
}

#[derive(Clone, Debug, Default)]
pub struct Inventory {
    pub hosts: IndexMap<String, Host>,
    pub groups: IndexMap<String, Group>,
    /// Directories of the inventory sources (for `inventory_dir` and `group_vars/`).
    pub source_dirs: Vec<PathBuf>,
}

impl Inventory {
    /// Loads every source (file or directory); with no source, only the implicit localhost.
    pub fn load(sources: &[PathBuf]) -> Result<Inventory> {
        let _ = sources;
        let mut inv = Inventory::default();
        inv.groups.insert("all".into(), Group { name: "all".into(), ..Group::default() });
        inv.groups.insert("ungrouped".into(), Group { name: "ungrouped".into(), ..Group::default() });
        Ok(inv)
    }

    /// Hosts matching an Ansible host pattern, in inventory order.
    pub fn select(&self, pattern: &str) -> Result<Vec<String>> {
        let _ = pattern;
        Ok(self.hosts.keys().cloned().collect())
    }

    /// Adds (or updates) a host at runtime (`add_host`).
    pub fn add_host(&mut self, name: &str, groups: &[String], vars: Map<String, Value>) {
        let _ = (name, groups, vars);
    }

    /// Adds a host to a group, creating the group (`group_by`).
    pub fn add_to_group(&mut self, host: &str, group: &str) {
        let _ = (host, group);
    }

    /// Inventory-level variables of a host (precedence levels 3-10 merged, lowest first):
    /// inventory file group vars, group_vars/all (inventory then playbook dir), group_vars/* (same),
    /// inventory file host vars, host_vars/* (inventory then playbook dir).
    pub fn host_vars(&self, host: &str, playbook_dir: Option<&Path>) -> Result<Map<String, Value>> {
        let _ = playbook_dir;
        Ok(self.hosts.get(host).map(|h| h.vars.clone()).unwrap_or_default())
    }

    /// Groups the host belongs to, sorted, without `all` (`group_names`).
    pub fn group_names(&self, host: &str) -> Vec<String> {
        let _ = host;
        Vec::new()
    }

    /// Every group and its hosts (the `groups` magic variable), including `all` and `ungrouped`.
    pub fn groups_map(&self) -> Map<String, Value> {
        Map::new()
    }
}

impl Inventory {
    /// Makes `child` a child group of `parent`, creating both if needed (`group_by` parents).
    pub fn add_child_group(&mut self, parent: &str, child: &str) {
        let _ = (parent, child);
    }
}

impl Inventory {
    /// Narrows `hosts` to those matching `--limit`; matching nothing is an error.
    pub fn restrict(&self, hosts: Vec<String>, limit: &str) -> Result<Vec<String>> {
        let allowed = self.select(limit)?;
        Ok(hosts.into_iter().filter(|h| allowed.contains(h)).collect())
    }
}
