//! The YAML (and JSON) inventory format, as ansible-core's `yaml` inventory plugin reads it:
//!
//! ```yaml
//! all:
//!   hosts: {h1: {x: 1}, "web[01:03]": }
//!   vars: {v: 2}
//!   children:
//!     db: {hosts: {d1: }, vars: {}, children: {}}
//! ```

use super::graph::SourceInfo;
use super::host_range::expand_hostpattern;
use super::ini::set_group_var;
use super::Inventory;
use crate::error::{Error, Result};
use crate::yaml::{Node, NodeValue};

/// Python's type names, for messages that mirror Ansible's.
fn py_type(node: &Node) -> &'static str {
    match node.value {
        NodeValue::Null => "<class 'NoneType'>",
        NodeValue::Bool(_) => "<class 'bool'>",
        NodeValue::Int(_) => "<class 'int'>",
        NodeValue::Float(_) => "<class 'float'>",
        NodeValue::Str(_) => "<class 'str'>",
        NodeValue::Seq(_) => "<class 'list'>",
        NodeValue::Map(_) => "<class 'dict'>",
    }
}

/// Parses a YAML document into the inventory; warnings go to `inv.warnings`.
pub(crate) fn parse(inv: &mut Inventory, doc: &Node, source: &SourceInfo) -> Result<()> {
    let Some(top) = doc.as_map() else {
        if doc.is_null() {
            return Err(Error::parse(
                "Parsed empty YAML file",
                Some(doc.origin.clone()),
            ));
        }
        return Err(Error::parse(
            format!(
                "YAML inventory has invalid structure, it should be a dictionary, got: {}",
                py_type(doc)
            ),
            Some(doc.origin.clone()),
        ));
    };
    if top.is_empty() {
        return Err(Error::parse(
            "Parsed empty YAML file",
            Some(doc.origin.clone()),
        ));
    }
    if doc.get("plugin").is_some_and(|p| !p.is_null()) {
        return Err(Error::parse(
            "Plugin configuration YAML file, not YAML inventory",
            Some(doc.origin.clone()),
        ));
    }
    for (k, v) in top {
        parse_group(inv, &k.key_string(), v, source, 0)?;
    }
    Ok(())
}

/// A string-valued section (`hosts: h1`) means a mapping with that one key.
fn section_entries(section: &Node) -> Vec<(Node, Node)> {
    match &section.value {
        NodeValue::Map(m) => m.clone(),
        NodeValue::Str(_) => vec![(
            section.clone(),
            Node {
                value: NodeValue::Null,
                origin: section.origin.clone(),
            },
        )],
        _ => Vec::new(),
    }
}

fn parse_group(
    inv: &mut Inventory,
    group: &str,
    data: &Node,
    source: &SourceInfo,
    depth: usize,
) -> Result<()> {
    if depth > 200 {
        return Err(Error::parse(
            format!("The group named '{group}' is nested too deeply"),
            Some(data.origin.clone()),
        ));
    }
    let Some(pairs) = (match &data.value {
        NodeValue::Map(m) => Some(m.as_slice()),
        NodeValue::Null => Some(&[][..]),
        _ => None,
    }) else {
        inv.warnings.push(format!(
            "Skipping '{group}' as this is not a valid group definition"
        ));
        return Ok(());
    };
    if group.is_empty() {
        return Err(Error::parse(
            format!(
                "Unable to add group {group}: Invalid empty/false group name provided: {group}"
            ),
            Some(data.origin.clone()),
        ));
    }
    inv.ensure_group(group);
    for section in ["vars", "children", "hosts"] {
        if let Some(node) = data.get(section) {
            if !matches!(
                node.value,
                NodeValue::Map(_) | NodeValue::Null | NodeValue::Str(_)
            ) {
                return Err(Error::parse(
                    format!(
                        "Invalid \"{section}\" entry for \"{group}\" group, requires a dictionary, found \"{}\" instead.",
                        py_type(node)
                    ),
                    Some(node.origin.clone()),
                ));
            }
        }
    }
    for (k, v) in pairs {
        let key = k.key_string();
        if !matches!(
            v.value,
            NodeValue::Map(_) | NodeValue::Null | NodeValue::Str(_)
        ) || (matches!(v.value, NodeValue::Str(_))
            && !["vars", "children", "hosts"].contains(&key.as_str()))
        {
            inv.warnings.push(format!(
                "Skipping key ({key}) in group ({group}) as it is not a mapping, it is a {}",
                py_type(v)
            ));
            continue;
        }
        if v.is_null() {
            continue;
        }
        match key.as_str() {
            "vars" => {
                for (vk, vv) in section_entries(v) {
                    set_group_var(inv, group, &vk.key_string(), vv.to_json());
                }
            }
            "children" => {
                for (ck, cv) in section_entries(v) {
                    let child = ck.key_string();
                    parse_group(inv, &child, &cv, source, depth + 1)?;
                    if inv.groups.contains_key(&child) {
                        inv.add_child(group, &child)
                            .map_err(|m| Error::parse(m, Some(ck.origin.clone())))?;
                    }
                }
            }
            "hosts" => {
                for (hk, hv) in section_entries(v) {
                    let Some(pattern) = hk.as_str() else {
                        return Err(Error::parse(
                            format!(
                                "Host pattern {} must be a string. Enclose integers/floats in quotation marks.",
                                hk.key_string()
                            ),
                            Some(hk.origin.clone()),
                        ));
                    };
                    let (names, port) =
                        expand_hostpattern(pattern).map_err(|m| Error::parse(m, Some(hk.origin.clone())))?;
                    let vars = match &hv.value {
                        NodeValue::Map(m) => m.clone(),
                        NodeValue::Null => Vec::new(),
                        _ => {
                            return Err(Error::parse(
                                format!(
                                    "Invalid data from file, expected dictionary and got:\n\n{}",
                                    hv.to_json()
                                ),
                                Some(hv.origin.clone()),
                            ))
                        }
                    };
                    for name in names {
                        inv.ensure_host(&name, port, Some(source));
                        inv.put_host_in_group(&name, group);
                        if let Some(h) = inv.hosts.get_mut(&name) {
                            for (vk, vv) in &vars {
                                crate::vars::combine::set_var(&mut h.vars, vk.key_string(), vv.to_json());
                            }
                        }
                    }
                }
            }
            _ => inv.warnings.push(format!(
                "Skipping unexpected key ({key}) in group ({group}), only \"vars\", \"children\" and \"hosts\" are valid"
            )),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn load(text: &str) -> Result<Inventory> {
        let mut inv = Inventory::empty();
        let doc = crate::yaml::load_str(text, "inv.yml")?;
        let src = SourceInfo {
            file: json!("inv.yml"),
            dir: json!("."),
        };
        parse(&mut inv, &doc, &src)?;
        inv.reconcile();
        Ok(inv)
    }

    #[test]
    fn full_structure() {
        let inv = load(
            "all:\n  hosts:\n    a:\n      x: 1\n    'web[1:2]:2222':\n  vars:\n    v: 2\n  children:\n    db:\n      hosts:\n        d1: {y: [1]}\n      children:\n        sub:\n          hosts: s1\n    empty:\nother:\n  hosts:\n    o1:\n",
        )
        .unwrap();
        assert_eq!(
            inv.groups["all"].hosts.iter().collect::<Vec<_>>(),
            vec!["a", "web1", "web2"]
        );
        assert_eq!(inv.hosts["a"].vars["x"], json!(1));
        assert_eq!(inv.hosts["web2"].vars["ansible_port"], json!(2222));
        assert_eq!(inv.groups["all"].vars["v"], json!(2));
        assert_eq!(inv.groups["db"].children, vec!["sub"]);
        assert_eq!(
            inv.groups["sub"].hosts.iter().collect::<Vec<_>>(),
            vec!["s1"]
        );
        assert!(inv.groups.contains_key("empty"));
        assert_eq!(
            inv.groups["all"].children,
            vec!["ungrouped", "db", "empty", "other"]
        );
        // Hosts listed directly under `all` are also in `ungrouped`.
        assert_eq!(
            inv.groups["ungrouped"].hosts.iter().collect::<Vec<_>>(),
            vec!["a", "web1", "web2"]
        );
    }

    #[test]
    fn bad_shapes() {
        let e = load("all:\n  hosts: [a, b]\n").unwrap_err();
        assert!(
            e.message
                .starts_with("Invalid \"hosts\" entry for \"all\" group"),
            "{}",
            e.message
        );
        assert_eq!(e.origin.as_ref().map(|o| o.line), Some(2));
        let e = load("- a\n").unwrap_err();
        assert!(
            e.message.contains("should be a dictionary"),
            "{}",
            e.message
        );
        let e = load("").unwrap_err();
        assert_eq!(e.message, "Parsed empty YAML file");
        let e = load("all:\n  hosts:\n    1: \n").unwrap_err();
        assert!(e.message.contains("must be a string"), "{}", e.message);
    }

    #[test]
    fn warnings_for_unknown_keys() {
        let inv = load("all:\n  hots:\n    a:\n  bad: 3\n").unwrap();
        assert_eq!(inv.warnings.len(), 2, "{:?}", inv.warnings);
        assert!(inv.warnings[0].contains("Skipping unexpected key (hots)"));
        assert!(inv.warnings[1].contains("Skipping key (bad) in group (all)"));
    }
}
