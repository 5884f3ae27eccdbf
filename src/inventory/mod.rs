//! Inventory layer: hosts, groups and their variables, from INI or YAML sources,
//! `group_vars/` and `host_vars/` directories, and host patterns.
//!
//! The model follows ansible-core 2.19's `InventoryData`: every group but `all` has a parent
//! (top-level groups hang under `all`), hosts in no named group sit in `ungrouped`, and the
//! implicit `localhost` exists only when a pattern names it.

mod cloud;
mod constructed;
mod generator;
mod graph;
mod group_names;
mod host_range;
mod ini;
pub(crate) mod literal;
mod pattern;
mod refresh;
mod script;
pub mod sizes;
mod sources;
mod vars_dirs;
pub mod views;
mod yaml_source;

use crate::error::{Error, Result};
use indexmap::IndexMap;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

pub use host_range::{expand_hostname_range, expand_hostpattern, parse_address};
pub use literal::{literal_eval, parse_value};
pub use pattern::split_host_pattern;
pub use refresh::DynamicChange;
pub use views::ViewVars;

/// Names Ansible treats as the local machine (`C.LOCALHOST`).
pub const LOCALHOST_NAMES: [&str; 3] = ["127.0.0.1", "localhost", "::1"];

/// Printed when no source could be parsed.
pub use group_names::GroupChars;

/// How sources are read: the enabled plugins and the group name rule.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadSettings {
    pub plugins: Vec<String>,
    pub group_chars: GroupChars,
}

impl Default for LoadSettings {
    fn default() -> Self {
        LoadSettings {
            plugins: default_plugins(),
            group_chars: GroupChars::default(),
        }
    }
}

/// Ansible's default `[inventory] enable_plugins`.
pub fn default_plugins() -> Vec<String> {
    ["host_list", "script", "auto", "yaml", "ini", "toml"]
        .iter()
        .map(|p| p.to_string())
        .collect()
}

pub const WARN_NO_INVENTORY: &str = "No inventory was parsed, only implicit localhost is available";
/// Printed by `ansible-playbook` when the inventory has no host at all.
pub const WARN_EMPTY_HOSTS: &str = "provided hosts list is empty, only localhost is available. \
     Note that the implicit localhost does not match 'all'";
/// The error when `--limit` (or the pattern) leaves no host.
pub const ERR_NO_HOSTS: &str =
    "Specified inventory, host pattern and/or --limit leaves us with no hosts to target.";

#[derive(Clone, Debug, Default)]
pub struct Host {
    pub name: String,
    /// Variables set on the host in the inventory source itself (including `ansible_port`
    /// from `host:port`, and `inventory_file`/`inventory_dir`, as Ansible sets them).
    pub vars: Map<String, Value>,
    /// The implicit localhost: never part of `all` and never matched as an inventory host.
    pub implicit: bool,
}

#[derive(Clone, Debug)]
pub struct Group {
    pub name: String,
    pub vars: Map<String, Value>,
    /// Hosts listed directly in this group, in inventory order.
    pub hosts: indexmap::IndexSet<String>,
    pub children: Vec<String>,
    pub parents: Vec<String>,
    /// `ansible_group_priority` (default 1): orders groups of the same depth when merging vars.
    pub priority: i64,
}

impl Default for Group {
    fn default() -> Group {
        Group {
            name: String::new(),
            vars: Map::new(),
            hosts: indexmap::IndexSet::new(),
            children: Vec::new(),
            parents: Vec::new(),
            priority: 1,
        }
    }
}

impl Group {
    pub fn new(name: &str) -> Group {
        Group {
            name: name.to_string(),
            ..Group::default()
        }
    }
}

/// What to do when inventory sources cannot be parsed (both off: warn and go on, as Ansible).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UnparsedPolicy {
    /// `INVENTORY_UNPARSED_IS_FAILED`: fail when no source at all was parsed.
    pub all_failed: bool,
    /// `INVENTORY_ANY_UNPARSED_IS_FAILED`: fail when any source was not parsed.
    pub any_failed: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Inventory {
    pub hosts: IndexMap<String, Host>,
    pub groups: IndexMap<String, Group>,
    /// Directories of the inventory sources (for `group_vars/` and `host_vars/`).
    pub source_dirs: Vec<PathBuf>,
    /// Warnings from loading, each to be printed as `[WARNING]: <text>`.
    pub warnings: Vec<String>,
    /// The parse failures behind the "Unable to parse" warnings, with file and line.
    pub parse_errors: Vec<Error>,
    /// The sources that could not be parsed, in order (for `any_unparsed_is_failed`).
    pub failed_sources: Vec<String>,
    /// Whether at least one source was parsed (for `unparsed_is_failed`).
    pub parsed_any: bool,
    /// The run's `add_host` / `group_by` changes, kept for `meta: refresh_inventory`.
    pub dynamic: Vec<DynamicChange>,
    /// The enabled inventory plugins (`[inventory] enable_plugins`), short names.
    pub plugins: Vec<String>,
    /// Messages shown from a verbosity on (`-vvv`: 3).
    pub verbose: Vec<(u8, String)>,
    /// What to do with group names that are not valid variable names.
    pub group_chars: GroupChars,
    vars_cache: vars_dirs::VarsCache,
}

impl Inventory {
    /// An inventory with only `all` and `ungrouped` (a child of `all`).
    pub fn empty() -> Inventory {
        let mut inv = Inventory::default();
        inv.groups.insert("all".into(), Group::new("all"));
        inv.groups
            .insert("ungrouped".into(), Group::new("ungrouped"));
        // Cannot fail: two fresh groups.
        let _ = inv.add_child("all", "ungrouped");
        inv
    }

    /// Loads every source: a file (YAML or INI), a directory of such files, or a
    /// comma-separated host list (`a,b,`). A source that cannot be parsed is skipped with a
    /// warning, as Ansible does; with no usable source only the implicit localhost exists.
    pub fn load(sources: &[PathBuf]) -> Result<Inventory> {
        Inventory::load_with(sources, &LoadSettings::default())
    }

    /// [`Inventory::load`] with the given plugins and group name rules.
    pub fn load_with(sources: &[PathBuf], settings: &LoadSettings) -> Result<Inventory> {
        let mut inv = Inventory::empty();
        inv.plugins = settings
            .plugins
            .iter()
            .map(|p| p.trim().trim_start_matches("ansible.builtin.").to_string())
            .collect();
        inv.group_chars = settings.group_chars;
        sources::load_all(&mut inv, sources)?;
        Ok(inv)
    }

    /// Ansible's `[inventory] unparsed_is_failed` (no source parsed) and
    /// `any_unparsed_is_failed` (some source not parsed): the run stops with Ansible's error
    /// (exit 1) instead of going on with fewer hosts.
    pub fn check_unparsed(&self, policy: UnparsedPolicy) -> Result<()> {
        if policy.any_failed {
            if let Some(src) = self.failed_sources.first() {
                return Err(Error::other(format!(
                    "Completely failed to parse inventory source {src}"
                )));
            }
        }
        if policy.all_failed && !self.parsed_any {
            return Err(Error::other(
                "No inventory was parsed, please check your configuration and options.",
            ));
        }
        Ok(())
    }

    /// The warnings collected while loading, to print as `[WARNING]: ...`.
    pub fn load_warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Hosts matching an Ansible host pattern, in inventory order. Patterns that match
    /// nothing are ignored (see [`Inventory::select_with_warnings`] for the warnings).
    pub fn select(&self, pattern: &str) -> Result<Vec<String>> {
        Ok(self.select_with_warnings(pattern)?.0)
    }

    /// Like `select`, also returning Ansible's
    /// `Could not match supplied host pattern, ignoring: X` warnings.
    pub fn select_with_warnings(&self, pattern: &str) -> Result<(Vec<String>, Vec<String>)> {
        let patterns = split_host_pattern(pattern);
        pattern::evaluate(self, &patterns)
    }

    /// `list_hosts`: like `select`, but a localhost name that matches nothing is the
    /// implicit localhost.
    pub fn list_hosts(&self, pattern: &str) -> Result<Vec<String>> {
        let hosts = self.select(pattern)?;
        if hosts.is_empty() && LOCALHOST_NAMES.contains(&pattern) {
            return Ok(vec![pattern.to_string()]);
        }
        Ok(hosts)
    }

    /// Keeps the hosts (in their order) that the limit pattern (`--limit`) selects.
    /// `@file` items read one pattern per line from the file.
    pub fn apply_limit(&self, hosts: &[String], limit: &str) -> Result<Vec<String>> {
        let patterns = pattern::limit_patterns(limit)?;
        let (allowed, _) = pattern::evaluate(self, &patterns)?;
        Ok(hosts
            .iter()
            .filter(|h| allowed.contains(h))
            .cloned()
            .collect())
    }

    /// `apply_limit`, failing with Ansible's message when no host is left.
    pub fn restrict(&self, hosts: &[String], limit: &str) -> Result<Vec<String>> {
        let left = self.apply_limit(hosts, limit)?;
        if left.is_empty() {
            return Err(Error::other(ERR_NO_HOSTS));
        }
        Ok(left)
    }

    /// What `ansible-playbook` checks before running (`CLI.get_host_list`): the hosts of
    /// `pattern` within the limit, and the warnings to print. An inventory with no host
    /// gives a warning rather than an error; a limit that leaves nothing is an error.
    pub fn host_list(
        &self,
        pattern: &str,
        limit: Option<&str>,
    ) -> Result<(Vec<String>, Vec<String>)> {
        let mut warnings = Vec::new();
        let no_hosts = self.hosts.values().all(|h| h.implicit);
        if no_hosts && !LOCALHOST_NAMES.contains(&pattern) {
            warnings.push(WARN_EMPTY_HOSTS.to_string());
        }
        let (mut hosts, w) = self.select_with_warnings(pattern)?;
        warnings.extend(w);
        if let Some(limit) = limit {
            let patterns = pattern::limit_patterns(limit)?;
            let (allowed, w) = pattern::evaluate(self, &patterns)?;
            warnings.extend(w);
            hosts.retain(|h| allowed.contains(h));
        }
        if hosts.is_empty() && LOCALHOST_NAMES.contains(&pattern) {
            hosts.push(pattern.to_string());
        }
        if hosts.is_empty() && !no_hosts {
            return Err(Error::other(ERR_NO_HOSTS));
        }
        Ok((hosts, warnings))
    }

    /// Adds (or updates) a host at runtime (`add_host`): it joins each group (created when
    /// missing) and its variables are merged over the ones it has.
    /// Whether `add_host` with these arguments would change anything: a new host, a group it
    /// is not in yet, or a variable with another value (Ansible reports `changed` only then).
    pub fn add_host_changes(
        &self,
        name: &str,
        groups: &[String],
        vars: &Map<String, Value>,
    ) -> bool {
        let Some(h) = self.hosts.get(name).filter(|h| !h.implicit) else {
            return true;
        };
        let new_group = groups.iter().any(|g| {
            self.groups
                .get(g)
                .is_none_or(|group| !group.hosts.contains(name))
        });
        new_group || vars.iter().any(|(k, v)| h.vars.get(k) != Some(v))
    }

    /// `add_host` at run time: as [`Inventory::add_host`], and a new host also joins `all`
    /// itself (Ansible's `add_dynamic_host`), whose own hosts come before its children's, so
    /// `all` names it first. Kept for `meta: refresh_inventory`.
    pub fn add_dynamic_host(&mut self, name: &str, groups: &[String], vars: Map<String, Value>) {
        self.dynamic.push(DynamicChange::AddHost {
            name: name.to_string(),
            groups: groups.to_vec(),
            vars: vars.clone(),
        });
        if self.hosts.get(name).is_none_or(|h| h.implicit) {
            self.ensure_host(name, None, None);
            self.put_host_in_group(name, "all");
        }
        self.add_host(name, groups, vars);
    }

    pub fn add_host(&mut self, name: &str, groups: &[String], vars: Map<String, Value>) {
        if !self.hosts.contains_key(name) || self.hosts.get(name).is_some_and(|h| h.implicit) {
            let h = self.ensure_host(name, None, None);
            h.implicit = false;
        }
        if let Some(h) = self.hosts.get_mut(name) {
            for (k, v) in vars {
                h.vars.insert(k, v);
            }
        }
        for g in groups {
            self.ensure_group(g);
            self.put_host_in_group(name, g);
        }
        self.reconcile();
    }

    /// Adds a host to a group, creating the group (`group_by`). A localhost name not in the
    /// inventory joins as the implicit localhost, as in Ansible.
    pub fn add_to_group(&mut self, host: &str, group: &str) {
        self.dynamic.push(DynamicChange::AddToGroup {
            host: host.to_string(),
            group: group.to_string(),
        });
        if !self.hosts.contains_key(host) {
            if !LOCALHOST_NAMES.contains(&host) {
                return;
            }
            let h = self.ensure_host(host, None, None);
            h.implicit = true;
            h.vars
                .insert("ansible_connection".into(), Value::String("local".into()));
        }
        self.ensure_group(group);
        self.put_host_in_group(host, group);
        self.reconcile();
    }

    /// Adds `child` under `parent` (both created when missing), refusing loops.
    pub fn add_child_group(&mut self, parent: &str, child: &str) -> Result<()> {
        self.dynamic.push(DynamicChange::AddChildGroup {
            parent: parent.to_string(),
            child: child.to_string(),
        });
        self.ensure_group(parent);
        self.ensure_group(child);
        self.add_child(parent, child).map_err(Error::other)?;
        self.reconcile();
        Ok(())
    }

    /// Inventory-level variables of a host, lowest precedence first:
    /// inventory file group vars (`all`, then the other groups by depth, priority, name),
    /// `group_vars/all` (inventory dirs then playbook dir), `group_vars/<group>` (same),
    /// inventory file host vars, `host_vars/<host>` (inventory dirs then playbook dir).
    pub fn host_vars(&self, host: &str, playbook_dir: Option<&Path>) -> Result<Map<String, Value>> {
        let implicit_local = !self.hosts.contains_key(host) && LOCALHOST_NAMES.contains(&host);
        if !self.hosts.contains_key(host) && !implicit_local {
            return Ok(Map::new());
        }
        let mut out = Map::new();
        let merge = crate::vars::combine::combine_into;
        let groups = self.sorted_groups_of(host);
        let play_dirs: Vec<PathBuf> = playbook_dir
            .map(|p| vec![p.to_path_buf()])
            .unwrap_or_default();
        if let Some(all) = self.groups.get("all") {
            merge(&mut out, &all.vars);
        }
        for g in &groups {
            if let Some(group) = self.groups.get(g) {
                merge(&mut out, &group.vars);
            }
        }
        let all = ["all".to_string()];
        for dirs in [&self.source_dirs, &play_dirs] {
            merge(
                &mut out,
                &self.vars_cache.entity_vars(dirs, "group_vars", &all)?,
            );
        }
        for dirs in [&self.source_dirs, &play_dirs] {
            merge(
                &mut out,
                &self.vars_cache.entity_vars(dirs, "group_vars", &groups)?,
            );
        }
        if let Some(h) = self.hosts.get(host) {
            merge(&mut out, &h.vars);
        } else {
            // The implicit localhost only knows how to run locally.
            out.insert("ansible_connection".into(), Value::String("local".into()));
        }
        let me = [host.to_string()];
        for dirs in [&self.source_dirs, &play_dirs] {
            merge(
                &mut out,
                &self.vars_cache.entity_vars(dirs, "host_vars", &me)?,
            );
        }
        Ok(out)
    }

    /// Groups the host belongs to (directly or through children), sorted, without `all`
    /// (`group_names`; `ungrouped` is included for hosts in no other group).
    pub fn group_names(&self, host: &str) -> Vec<String> {
        let mut names: Vec<String> = self
            .groups_of(host)
            .into_iter()
            .filter(|g| g != "all")
            .collect();
        names.sort();
        names
    }

    /// The host's groups other than `all`, in the order their variables apply
    /// (Ansible's `sort_groups`: depth, then `ansible_group_priority`, then name).
    pub fn host_groups_chain(&self, host: &str) -> Vec<String> {
        self.sorted_groups_of(host)
    }

    /// Every group and its hosts (the `groups` magic variable), including `all` and
    /// `ungrouped`, each in inventory order.
    pub fn groups_map(&self) -> Map<String, Value> {
        self.groups
            .keys()
            .map(|g| {
                let hosts = self.group_hosts(g).into_iter().map(Value::String).collect();
                (g.clone(), Value::Array(hosts))
            })
            .collect()
    }

    /// All hosts of a group, its descendants' included, in Ansible's order.
    pub fn group_hosts(&self, group: &str) -> Vec<String> {
        graph::group_hosts(self, group)
    }
}

#[cfg(test)]
mod tests;
