//! What `ansible-inventory --list / --graph / --host` 2.19 shows of an inventory, built from
//! the same model the runner uses (so the views are what a play sees).

use super::Inventory;
use crate::error::Result;
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::path::Path;

/// Ansible's `C.INTERNAL_STATIC_VARS`: magic names `ansible-inventory` leaves out.
const INTERNAL_VARS: [&str; 33] = [
    "ansible_async_path",
    "ansible_collection_name",
    "ansible_config_file",
    "ansible_dependent_role_names",
    "ansible_diff_mode",
    "ansible_facts",
    "ansible_forks",
    "ansible_inventory_sources",
    "ansible_limit",
    "ansible_play_batch",
    "ansible_play_hosts",
    "ansible_play_hosts_all",
    "ansible_play_role_names",
    "ansible_playbook_python",
    "ansible_role_name",
    "ansible_role_names",
    "ansible_run_tags",
    "ansible_skip_tags",
    "ansible_verbosity",
    "ansible_version",
    "group_names",
    "groups",
    "hostvars",
    "inventory_dir",
    "inventory_file",
    "inventory_hostname",
    "inventory_hostname_short",
    "play_hosts",
    "playbook_dir",
    "role_name",
    "role_names",
    "role_path",
    "role_uuid",
];

/// Where the views read variables from: `--playbook-dir` and `-e`.
pub struct ViewVars<'a> {
    pub playbook_dir: Option<&'a Path>,
    pub extra_vars: &'a Map<String, Value>,
    /// `--export`: each host and group with only its own variables (not merged down).
    pub export: bool,
}

impl Inventory {
    /// A host's variables as `ansible-inventory --host` shows them: inventory vars (with
    /// group_vars/host_vars), then extra vars, without Ansible's internal names.
    pub fn display_vars(&self, host: &str, v: &ViewVars) -> Result<Map<String, Value>> {
        let mut vars = self.host_vars(host, v.playbook_dir)?;
        for (k, val) in v.extra_vars {
            vars.insert(k.clone(), val.clone());
        }
        vars.retain(|k, _| !INTERNAL_VARS.contains(&k.as_str()));
        Ok(vars)
    }

    /// `--list`: every group reachable from `all` with its hosts (those in `available`, the
    /// hosts left by `--limit`) and children, empty ones dropped, and `_meta.hostvars`.
    pub fn list_json(&self, available: &[String], v: &ViewVars) -> Result<Value> {
        let avail: HashSet<&str> = available.iter().map(String::as_str).collect();
        let mut out = Map::new();
        let mut seen = HashSet::new();
        self.format_group("all", &avail, &mut seen, &mut out);
        if v.export {
            self.add_group_vars(&mut out);
        }
        let mut hostvars = Map::new();
        for h in available {
            let vars = if v.export {
                self.own_vars(h)
            } else {
                self.display_vars(h, v)?
            };
            if !vars.is_empty() {
                hostvars.insert(h.clone(), Value::Object(vars));
            }
        }
        let mut meta = Map::new();
        meta.insert("hostvars".into(), Value::Object(hostvars));
        // The serialisation profile 2.19 names in every listing.
        meta.insert("profile".into(), Value::from("inventory_legacy"));
        out.insert("_meta".into(), Value::Object(meta));
        Ok(Value::Object(out))
    }

    /// A host's own variables, as `--export` lists them.
    fn own_vars(&self, host: &str) -> Map<String, Value> {
        let mut vars = self
            .hosts
            .get(host)
            .map(|h| h.vars.clone())
            .unwrap_or_default();
        vars.retain(|k, _| !INTERNAL_VARS.contains(&k.as_str()));
        vars
    }

    /// `--export`: each listed group's own variables under `vars`.
    fn add_group_vars(&self, out: &mut Map<String, Value>) {
        for (name, group) in &self.groups {
            if group.vars.is_empty() {
                continue;
            }
            let entry = out
                .entry(name.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(m) = entry {
                m.insert("vars".into(), Value::Object(group.vars.clone()));
            }
        }
    }

    fn format_group(
        &self,
        name: &str,
        avail: &HashSet<&str>,
        seen: &mut HashSet<String>,
        out: &mut Map<String, Value>,
    ) {
        let Some(group) = self.groups.get(name) else {
            return;
        };
        let mut entry = Map::new();
        if name != "all" {
            let hosts: Vec<Value> = group
                .hosts
                .iter()
                .filter(|h| avail.contains(h.as_str()))
                .map(|h| Value::from(h.as_str()))
                .collect();
            if !hosts.is_empty() {
                entry.insert("hosts".into(), Value::Array(hosts));
            }
        }
        let children: Vec<Value> = group
            .children
            .iter()
            .map(|c| Value::from(c.as_str()))
            .collect();
        for child in &group.children {
            if seen.insert(child.clone()) {
                self.format_group(child, avail, seen, out);
            }
        }
        if !children.is_empty() {
            entry.insert("children".into(), Value::Array(children));
        }
        if !entry.is_empty() {
            out.insert(name.to_string(), Value::Object(entry));
        }
    }

    /// `--graph [GROUP]`: `@group:` lines with children first, then direct hosts, indented
    /// by `  |` per level; with `--vars` (`vars`), each host's variables under it and each
    /// group's own after its members, as `{name = value}`. `--limit` does not apply here (as
    /// in Ansible). `None` when the group does not exist.
    pub fn graph(&self, group: &str, vars: Option<&ViewVars>) -> Result<Option<String>> {
        if !self.groups.contains_key(group) {
            return Ok(None);
        }
        let mut lines = Vec::new();
        self.graph_group(group, 0, vars, &mut lines)?;
        Ok(Some(lines.join("\n")))
    }

    fn graph_group(
        &self,
        name: &str,
        depth: usize,
        vars: Option<&ViewVars>,
        lines: &mut Vec<String>,
    ) -> Result<()> {
        let Some(group) = self.groups.get(name) else {
            return Ok(());
        };
        lines.push(graph_name(&format!("@{name}:"), depth));
        for child in &group.children {
            self.graph_group(child, depth + 1, vars, lines)?;
        }
        if name != "all" {
            for h in &group.hosts {
                lines.push(graph_name(h, depth + 1));
                if let Some(v) = vars {
                    show_vars(&self.display_vars(h, v)?, depth + 2, lines);
                }
            }
        }
        if let Some(v) = vars {
            show_vars(&self.group_display_vars(name, v)?, depth + 1, lines);
        }
        Ok(())
    }

    /// A group's own variables as ansible-inventory shows them: the inventory's, then its
    /// `group_vars/` (inventory dirs, then `--playbook-dir`), and a non-default priority.
    fn group_display_vars(&self, name: &str, v: &ViewVars) -> Result<Map<String, Value>> {
        let mut out = self
            .groups
            .get(name)
            .map(|g| g.vars.clone())
            .unwrap_or_default();
        let names = [name.to_string()];
        let play_dirs: Vec<std::path::PathBuf> = v
            .playbook_dir
            .map(|p| vec![p.to_path_buf()])
            .unwrap_or_default();
        for dirs in [&self.source_dirs, &play_dirs] {
            for (k, val) in self.vars_cache.entity_vars(dirs, "group_vars", &names)? {
                out.insert(k, val);
            }
        }
        if let Some(g) = self.groups.get(name).filter(|g| g.priority != 1) {
            out.insert("ansible_group_priority".into(), Value::from(g.priority));
        }
        out.retain(|k, _| !INTERNAL_VARS.contains(&k.as_str()));
        Ok(out)
    }
}

/// `{name = value}` lines, sorted by name, values as Python's `str()`.
fn show_vars(vars: &Map<String, Value>, depth: usize, lines: &mut Vec<String>) {
    let mut names: Vec<&String> = vars.keys().collect();
    names.sort();
    for n in names {
        let text = format!("{{{n} = {}}}", crate::template::pyfmt::to_str(&vars[n]));
        lines.push(graph_name(&text, depth));
    }
}

fn graph_name(name: &str, depth: usize) -> String {
    if depth == 0 {
        return name.to_string();
    }
    format!("{}--{name}", "  |".repeat(depth))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn inv() -> Inventory {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hosts");
        std::fs::write(
            &path,
            "u1\n[web]\nw1 x=1\n[prod:children]\nweb\n[empty]\n[all:vars]\nv=3\n",
        )
        .unwrap();
        Inventory::load(&[path]).unwrap()
    }

    #[test]
    fn list_drops_empty_groups_and_internal_vars() {
        let inv = inv();
        let extra = Map::new();
        let v = ViewVars {
            export: false,
            playbook_dir: None,
            extra_vars: &extra,
        };
        let all = inv.select("all").unwrap();
        let list = inv.list_json(&all, &v).unwrap();
        assert_eq!(
            list["all"],
            json!({"children": ["ungrouped", "prod", "empty"]})
        );
        assert_eq!(list["prod"], json!({"children": ["web"]}));
        assert!(list.get("empty").is_none());
        assert_eq!(list["_meta"]["hostvars"]["w1"], json!({"v": 3, "x": 1}));
        let limited = inv.list_json(&["w1".to_string()], &v).unwrap();
        assert!(limited.get("ungrouped").is_none());
    }

    #[test]
    fn graph_lines() {
        let inv = inv();
        assert_eq!(
            inv.graph("all", None).unwrap().unwrap(),
            "@all:\n  |--@ungrouped:\n  |  |--u1\n  |--@prod:\n  |  |--@web:\n  |  |  |--w1\n  |--@empty:"
        );
        assert!(inv.graph("nope", None).unwrap().is_none());
    }
}
