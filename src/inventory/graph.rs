//! The group graph: membership, parent/child links, depth, and the host order Ansible
//! derives from them.

use super::{Group, Host, Inventory};
use serde_json::Value;
use std::collections::{HashMap, HashSet};

impl Inventory {
    /// Creates the group when missing.
    pub(crate) fn ensure_group(&mut self, name: &str) -> &mut Group {
        let key = self.group_key(name).into_owned();
        if !self.groups.contains_key(&key) {
            self.check_group_name(name);
        }
        self.groups
            .entry(key.clone())
            .or_insert_with(|| Group::new(&key))
    }

    /// Creates the host when missing; `port` and `source` apply only to a new host
    /// (Ansible sets them once, when it first meets the host).
    pub(crate) fn ensure_host(
        &mut self,
        name: &str,
        port: Option<u16>,
        source: Option<&SourceInfo>,
    ) -> &mut Host {
        self.hosts.entry(name.to_string()).or_insert_with(|| {
            let mut h = Host {
                name: name.to_string(),
                ..Host::default()
            };
            if let Some(src) = source {
                h.vars.insert("inventory_file".into(), src.file.clone());
                h.vars.insert("inventory_dir".into(), src.dir.clone());
            }
            if let Some(p) = port {
                h.vars.insert("ansible_port".into(), Value::from(p));
            }
            h
        })
    }

    pub(crate) fn put_host_in_group(&mut self, host: &str, group: &str) {
        // A set: membership is checked for every host added (a 10,000-host range was
        // quadratic, found by the inventory_ini fuzz target).
        let group = self.group_key(group).into_owned();
        if let Some(g) = self.groups.get_mut(&group) {
            if !g.hosts.contains(host) {
                g.hosts.insert(host.to_string());
            }
        }
    }

    /// Links `child` under `parent`; both must exist. Refuses self-links and loops with
    /// Ansible's message.
    pub(crate) fn add_child(&mut self, parent: &str, child: &str) -> Result<(), String> {
        let (parent, child) = (
            self.group_key(parent).into_owned(),
            self.group_key(child).into_owned(),
        );
        let (parent, child) = (parent.as_str(), child.as_str());
        if parent == child {
            return Err(format!("can't add group to itself: {parent}"));
        }
        if !self.groups.contains_key(parent) || !self.groups.contains_key(child) {
            return Err(format!(
                "Could not find group {parent} or {child} in inventory"
            ));
        }
        if self.groups[parent].children.iter().any(|c| c == child) {
            return Ok(());
        }
        if self.ancestors(parent).contains(child) {
            return Err(format!(
                "Adding group '{child}' as child to '{parent}' creates a recursive dependency loop."
            ));
        }
        if let Some(p) = self.groups.get_mut(parent) {
            p.children.push(child.to_string());
        }
        if let Some(c) = self.groups.get_mut(child) {
            if !c.parents.iter().any(|p| p == parent) {
                c.parents.push(parent.to_string());
            }
        }
        Ok(())
    }

    /// Every group above `group` (not itself).
    pub(crate) fn ancestors(&self, group: &str) -> HashSet<String> {
        let mut seen = HashSet::new();
        let mut todo: Vec<&str> = vec![group];
        while let Some(g) = todo.pop() {
            if let Some(grp) = self.groups.get(g) {
                for p in &grp.parents {
                    if seen.insert(p.clone()) {
                        todo.push(p);
                    }
                }
            }
        }
        seen
    }

    /// Ansible's `reconcile_inventory`: top-level groups go under `all`; hosts in no named
    /// group go to `ungrouped`, and leave it once they join another group.
    pub(crate) fn reconcile(&mut self) {
        let orphans: Vec<String> = self
            .groups
            .values()
            .filter(|g| g.name != "all" && g.parents.is_empty())
            .map(|g| g.name.clone())
            .collect();
        for g in orphans {
            // Cannot loop: the group has no parent, so `all` is not below it... unless it
            // is above `all`, which `add_child` refuses.
            let _ = self.add_child("all", &g);
        }
        let mut direct: HashMap<&str, Vec<&str>> = HashMap::new();
        for g in self.groups.values() {
            for h in &g.hosts {
                direct.entry(h.as_str()).or_default().push(g.name.as_str());
            }
        }
        let mut leave = Vec::new();
        let mut join = Vec::new();
        for h in self.hosts.values() {
            let groups = direct.get(h.name.as_str()).cloned().unwrap_or_default();
            let named = groups.iter().any(|g| *g != "all" && *g != "ungrouped");
            let in_ungrouped = groups.contains(&"ungrouped");
            if in_ungrouped && named {
                leave.push(h.name.clone());
            } else if !in_ungrouped && !named && !h.implicit {
                join.push(h.name.clone());
            }
        }
        if let Some(u) = self.groups.get_mut("ungrouped") {
            u.hosts.retain(|h| !leave.contains(h));
            u.hosts.extend(join);
        }
    }

    /// The groups a host is in, directly or through a child group (`all` included).
    pub(crate) fn groups_of(&self, host: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut seen = HashSet::new();
        for g in self.groups.values() {
            if g.hosts.iter().any(|h| h == host) {
                let mut chain: Vec<String> = vec![g.name.clone()];
                let mut anc: Vec<String> = self.ancestors(&g.name).into_iter().collect();
                anc.sort();
                chain.extend(anc);
                for name in chain {
                    if seen.insert(name.clone()) {
                        out.push(name);
                    }
                }
            }
        }
        out
    }

    /// Depth of a group: the longest path down from `all` (Ansible's `Group.depth`).
    pub(crate) fn depth(&self, group: &str, memo: &mut HashMap<String, usize>) -> usize {
        if let Some(d) = memo.get(group) {
            return *d;
        }
        // Guard against cycles (refused at insertion, but the fields are public).
        memo.insert(group.to_string(), 0);
        let parents = self
            .groups
            .get(group)
            .map(|g| g.parents.clone())
            .unwrap_or_default();
        let d = parents
            .iter()
            .map(|p| self.depth(p, memo) + 1)
            .max()
            .unwrap_or(0);
        memo.insert(group.to_string(), d);
        d
    }

    /// The host's groups without `all`, by (depth, priority, name).
    pub(crate) fn sorted_groups_of(&self, host: &str) -> Vec<String> {
        let mut memo = HashMap::new();
        let mut keyed: Vec<(usize, i64, String)> = self
            .groups_of(host)
            .into_iter()
            .filter(|g| g != "all")
            .map(|g| {
                let prio = self.groups.get(&g).map(|x| x.priority).unwrap_or(1);
                (self.depth(&g, &mut memo), prio, g)
            })
            .collect();
        keyed.sort();
        keyed.into_iter().map(|(_, _, g)| g).collect()
    }

    /// The group and its descendants, breadth first, children in declaration order.
    pub(crate) fn descendants(&self, group: &str) -> Vec<String> {
        let mut ordered = vec![group.to_string()];
        let mut seen: HashSet<String> = HashSet::from([group.to_string()]);
        let mut level = vec![group.to_string()];
        while !level.is_empty() {
            let mut next = Vec::new();
            for g in &level {
                if let Some(grp) = self.groups.get(g) {
                    for c in &grp.children {
                        if seen.insert(c.clone()) {
                            ordered.push(c.clone());
                            next.push(c.clone());
                        }
                    }
                }
            }
            level = next;
        }
        ordered
    }
}

/// Where a host was first found: its `inventory_file` and `inventory_dir`.
#[derive(Clone, Debug)]
pub(crate) struct SourceInfo {
    pub file: Value,
    pub dir: Value,
}

/// Ansible's `Group.get_hosts`: hosts of the group and its descendants, deduplicated;
/// `all` leaves out the implicit localhost.
pub(crate) fn group_hosts(inv: &Inventory, group: &str) -> Vec<String> {
    if !inv.groups.contains_key(group) {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for g in inv.descendants(group) {
        if let Some(grp) = inv.groups.get(&g) {
            for h in &grp.hosts {
                if !seen.insert(h.clone()) {
                    continue;
                }
                if group == "all" && inv.hosts.get(h).is_some_and(|x| x.implicit) {
                    continue;
                }
                out.push(h.clone());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconcile_moves_hosts_and_groups() {
        let mut inv = Inventory::empty();
        inv.ensure_host("a", None, None);
        inv.ensure_host("b", Some(22), None);
        inv.ensure_group("web");
        inv.put_host_in_group("b", "web");
        inv.put_host_in_group("a", "ungrouped");
        inv.reconcile();
        assert_eq!(inv.groups["all"].children, vec!["ungrouped", "web"]);
        assert_eq!(
            inv.groups["ungrouped"].hosts.iter().collect::<Vec<_>>(),
            vec!["a"]
        );
        assert_eq!(inv.hosts["b"].vars["ansible_port"], 22);
        inv.put_host_in_group("a", "web");
        inv.reconcile();
        assert!(inv.groups["ungrouped"].hosts.is_empty());
    }

    #[test]
    fn loops_are_refused() {
        let mut inv = Inventory::empty();
        inv.ensure_group("a");
        inv.ensure_group("b");
        inv.add_child("a", "b").unwrap();
        let err = inv.add_child("b", "a").unwrap_err();
        assert!(err.contains("recursive dependency loop"), "{err}");
        assert!(inv.add_child("a", "a").is_err());
    }

    #[test]
    fn depth_is_longest_path() {
        let mut inv = Inventory::empty();
        for g in ["a", "b", "c"] {
            inv.ensure_group(g);
        }
        inv.add_child("a", "b").unwrap();
        inv.add_child("b", "c").unwrap();
        inv.add_child("a", "c").unwrap();
        inv.reconcile();
        let mut memo = HashMap::new();
        assert_eq!(inv.depth("all", &mut memo), 0);
        assert_eq!(inv.depth("a", &mut memo), 1);
        assert_eq!(inv.depth("c", &mut memo), 3);
        assert_eq!(inv.descendants("a"), vec!["a", "b", "c"]);
    }
}
