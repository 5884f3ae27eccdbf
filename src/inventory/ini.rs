//! The INI inventory format, as ansible-core's `ini` inventory plugin reads it.
//!
//! ```ini
//! top_host              # before any section: in `ungrouped`
//! [web]
//! web[01:10] x=23       # a range, with inline vars (Python literals)
//! db1:2222              # a port
//! [web:vars]
//! v = some value        # the whole rest of the line, then literal_eval
//! [all_servers:children]
//! web
//! later                 # children may be declared further down
//! ```

use super::graph::SourceInfo;
use super::host_range::expand_hostpattern;
use super::literal::parse_value;
use super::Inventory;
use regex::Regex;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::OnceLock;

/// A parse failure: message and 1-based line.
#[derive(Debug, Clone, PartialEq)]
pub struct IniError {
    pub message: String,
    pub line: usize,
}

#[derive(Clone, Copy, PartialEq)]
enum State {
    Hosts,
    Children,
    Vars,
}

struct Pending {
    line: usize,
    vars: bool,
    parents: Vec<String>,
}

fn section_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| {
        Regex::new(r"^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$")
            .unwrap_or_else(|e| panic!("built-in regex: {e}"))
    })
}

fn groupname_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| {
        Regex::new(r"^([^:\]\s]+)\s*(?:#.*)?$").unwrap_or_else(|e| panic!("built-in regex: {e}"))
    })
}

/// Parses INI text into the inventory.
pub(crate) fn parse(inv: &mut Inventory, text: &str, source: &SourceInfo) -> Result<(), IniError> {
    let mut pending: IndexPending = IndexPending::default();
    let mut group = "ungrouped".to_string();
    let mut state = State::Hosts;
    for (idx, raw) in text.lines().enumerate() {
        let lineno = idx + 1;
        let err = |message: String| IniError {
            message,
            line: lineno,
        };
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(c) = section_re().captures(line) {
            group = c[1].to_string();
            let tag = c.get(2).map(|m| m.as_str()).unwrap_or("hosts");
            state = match tag {
                "hosts" => State::Hosts,
                "children" => State::Children,
                "vars" => State::Vars,
                other => {
                    return Err(err(format!(
                        "Section [{group}:{other}] has unknown type: {other}"
                    )))
                }
            };
            if !inv.groups.contains_key(&group) {
                // `[g:vars]` alone does not declare g: remember it, and check at the end.
                if state == State::Vars && !pending.map.contains_key(&group) {
                    pending.insert(
                        &group,
                        Pending {
                            line: lineno,
                            vars: true,
                            parents: Vec::new(),
                        },
                    );
                }
                inv.ensure_group(&group);
            }
            if state != State::Vars {
                if let Some(p) = pending.map.get(&group) {
                    if p.vars {
                        pending.remove(&group);
                    } else {
                        add_pending_children(inv, &group, &mut pending).map_err(err)?;
                    }
                }
            }
            continue;
        }
        if line.starts_with('[') && line.ends_with(']') {
            return Err(err(format!(
                "Invalid section entry: '{line}'. Please make sure that there are no spaces in the \
                 section entry, and that there are no other invalid characters"
            )));
        }
        match state {
            State::Hosts => {
                let (hosts, port, vars) = parse_host_line(line).map_err(err)?;
                for h in hosts {
                    inv.ensure_host(&h, port, Some(source));
                    inv.put_host_in_group(&h, &group);
                    if let Some(host) = inv.hosts.get_mut(&h) {
                        for (k, v) in &vars {
                            crate::vars::combine::set_var(&mut host.vars, k.clone(), v.clone());
                        }
                    }
                }
            }
            State::Vars => {
                let Some((k, v)) = line.split_once('=') else {
                    return Err(err(format!("Expected key=value, got: {line}")));
                };
                set_group_var(inv, &group, k.trim(), parse_value(v.trim()));
            }
            State::Children => {
                let Some(c) = groupname_re().captures(line) else {
                    return Err(err(format!("Expected group name, got: {line}")));
                };
                let child = c[1].to_string();
                if inv.groups.contains_key(&child) {
                    inv.add_child(&group, &child).map_err(err)?;
                } else if let Some(p) = pending.map.get_mut(&child) {
                    p.parents.push(group.clone());
                } else {
                    pending.insert(
                        &child,
                        Pending {
                            line: lineno,
                            vars: false,
                            parents: vec![group.clone()],
                        },
                    );
                }
            }
        }
    }
    // Anything still pending was never declared; report the first, like Ansible.
    if let Some(name) = pending.order.first() {
        if let Some(p) = pending.map.get(name) {
            let message = if p.vars {
                format!("Section [{name}:vars] not valid for undefined group '{name}'.")
            } else {
                let parent = p.parents.last().cloned().unwrap_or_default();
                format!("Section [{parent}:children] includes undefined group '{name}'.")
            };
            return Err(IniError {
                message,
                line: p.line,
            });
        }
    }
    Ok(())
}

/// Pending declarations in the order they were first seen.
#[derive(Default)]
struct IndexPending {
    map: HashMap<String, Pending>,
    order: Vec<String>,
}

impl IndexPending {
    fn insert(&mut self, name: &str, p: Pending) {
        self.order.push(name.to_string());
        self.map.insert(name.to_string(), p);
    }
    fn remove(&mut self, name: &str) -> Option<Pending> {
        self.order.retain(|n| n != name);
        self.map.remove(name)
    }
}

fn add_pending_children(
    inv: &mut Inventory,
    group: &str,
    pending: &mut IndexPending,
) -> Result<(), String> {
    let Some(p) = pending.remove(group) else {
        return Ok(());
    };
    for parent in p.parents {
        inv.add_child(&parent, group)?;
        if pending.map.get(&parent).is_some_and(|pp| !pp.vars) {
            add_pending_children(inv, &parent, pending)?;
        }
    }
    Ok(())
}

/// Sets a group variable; `ansible_group_priority` sets the group's priority instead.
pub(crate) fn set_group_var(inv: &mut Inventory, group: &str, key: &str, value: Value) {
    let g = inv.ensure_group(group);
    if key == "ansible_group_priority" {
        let prio = match &value {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        if let Some(p) = prio {
            g.priority = p;
        }
        return;
    }
    crate::vars::combine::set_var(&mut g.vars, key.to_string(), value);
}

type HostLine = (Vec<String>, Option<u16>, Map<String, Value>);

/// A host line: a name or range, optionally with a port, then `key=value` pairs.
fn parse_host_line(line: &str) -> Result<HostLine, String> {
    let tokens =
        shlex_split(line).map_err(|e| format!("Error parsing host definition '{line}': {e}"))?;
    let Some(first) = tokens.first() else {
        return Ok((Vec::new(), None, Map::new()));
    };
    let (hosts, port) = expand_hostpattern(first)?;
    if first.trim().ends_with(':') && port.is_none() {
        return Err(format!(
            "Invalid host pattern '{first}' supplied, ending in ':' is not allowed, this character is \
             reserved to provide a port."
        ));
    }
    if hosts.iter().any(|h| h.trim() == "---") {
        return Err(format!(
            "Invalid host pattern '{first}' supplied, '---' is normally a sign this is a YAML file."
        ));
    }
    let mut vars = Map::new();
    for t in &tokens[1..] {
        let Some((k, v)) = t.split_once('=') else {
            return Err(format!(
                "Expected key=value host variable assignment, got: {t}"
            ));
        };
        vars.insert(k.to_string(), parse_value(v));
    }
    Ok((hosts, port, vars))
}

/// Python's `shlex.split(line, comments=True)` (POSIX mode): quotes, backslash escapes,
/// and `#` starting a comment anywhere outside quotes.
pub(crate) fn shlex_split(line: &str) -> Result<Vec<String>, String> {
    let mut tokens = Vec::new();
    let mut cur = String::new();
    let mut in_token = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_token {
                    tokens.push(std::mem::take(&mut cur));
                    in_token = false;
                }
            }
            '#' => break,
            '\'' => {
                in_token = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(ch) => cur.push(ch),
                        None => return Err("No closing quotation".into()),
                    }
                }
            }
            '"' => {
                in_token = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(ch @ ('\\' | '"')) => cur.push(ch),
                            Some(ch) => {
                                cur.push('\\');
                                cur.push(ch);
                            }
                            None => return Err("No closing quotation".into()),
                        },
                        Some(ch) => cur.push(ch),
                        None => return Err("No closing quotation".into()),
                    }
                }
            }
            '\\' => {
                in_token = true;
                match chars.next() {
                    Some('\n') => {}
                    Some(ch) => cur.push(ch),
                    None => return Err("No escaped character".into()),
                }
            }
            other => {
                in_token = true;
                cur.push(other);
            }
        }
    }
    if in_token {
        tokens.push(cur);
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn src() -> SourceInfo {
        SourceInfo {
            file: json!("/x/hosts"),
            dir: json!("/x"),
        }
    }

    fn load(text: &str) -> Result<Inventory, IniError> {
        let mut inv = Inventory::empty();
        parse(&mut inv, text, &src())?;
        inv.reconcile();
        Ok(inv)
    }

    #[test]
    fn shlex_like_python() {
        assert_eq!(
            shlex_split("a b='c d' e=\"f\\\"g\"").unwrap(),
            vec!["a", "b=c d", "e=f\"g"]
        );
        assert_eq!(shlex_split("a x=1#c").unwrap(), vec!["a", "x=1"]);
        assert_eq!(shlex_split("a x=1 # c").unwrap(), vec!["a", "x=1"]);
        assert!(shlex_split("a 'b").is_err());
    }

    #[test]
    fn sections_hosts_vars_children() {
        let inv = load(
            "z1\n[web]\nw[01:02] x=23 y=1.5 t=True l=[1,2] d=\"{'a':1}\" s='quoted' u=a:b\n\
             ; comment\n[db]\nd1:2222 ansible_host=1.2.3.4\n[app:children]\nweb\nlater\n\
             [later]\nl1\n[app:vars]\nv = hello world # not a comment\n",
        )
        .unwrap();
        assert_eq!(
            inv.groups["ungrouped"].hosts.iter().collect::<Vec<_>>(),
            vec!["z1"]
        );
        assert_eq!(
            inv.groups["web"].hosts.iter().collect::<Vec<_>>(),
            vec!["w01", "w02"]
        );
        let w = &inv.hosts["w01"].vars;
        assert_eq!(w["x"], json!(23));
        assert_eq!(w["y"], json!(1.5));
        assert_eq!(w["t"], json!(true));
        assert_eq!(w["l"], json!([1, 2]));
        assert_eq!(w["d"], json!({"a": 1}));
        assert_eq!(w["s"], json!("quoted"));
        assert_eq!(w["u"], json!("a:b"));
        assert_eq!(w["inventory_file"], json!("/x/hosts"));
        assert_eq!(inv.hosts["d1"].vars["ansible_port"], json!(2222));
        assert_eq!(inv.groups["app"].children, vec!["web", "later"]);
        assert_eq!(
            inv.groups["app"].vars["v"],
            json!("hello world # not a comment")
        );
        assert_eq!(inv.groups["all"].children, vec!["ungrouped", "db", "app"]);
    }

    #[test]
    fn group_priority_is_not_a_var() {
        let inv = load("[a]\nh\n[a:vars]\nansible_group_priority=10\n").unwrap();
        assert_eq!(inv.groups["a"].priority, 10);
        assert!(inv.groups["a"].vars.is_empty());
    }

    #[test]
    fn errors_carry_lines() {
        let e = load("[web]\na foo\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert_eq!(
            e.message,
            "Expected key=value host variable assignment, got: foo"
        );
        let e = load("[g]\na\n[g:children]\nmissing\n").unwrap_err();
        assert_eq!(e.line, 4);
        assert_eq!(
            e.message,
            "Section [g:children] includes undefined group 'missing'."
        );
        let e = load("[g:vars]\nx=1\n").unwrap_err();
        assert_eq!(
            e.message,
            "Section [g:vars] not valid for undefined group 'g'."
        );
        let e = load("[g:bogus]\n").unwrap_err();
        assert!(e.message.contains("unknown type"), "{}", e.message);
        let e = load("[bad name]\n").unwrap_err();
        assert!(
            e.message.starts_with("Invalid section entry"),
            "{}",
            e.message
        );
        let e = load("all:\n  hosts:\n").unwrap_err();
        assert!(
            e.message.contains("ending in ':' is not allowed"),
            "{}",
            e.message
        );
    }

    #[test]
    fn vars_before_group_declared_later_is_fine() {
        let inv = load("[g:vars]\nx=1\n[g]\nh\n").unwrap();
        assert_eq!(inv.groups["g"].vars["x"], json!(1));
        assert_eq!(inv.groups["g"].hosts.iter().collect::<Vec<_>>(), vec!["h"]);
    }
}
