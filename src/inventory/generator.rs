//! The builtin `generator` inventory plugin (`plugin: ansible.builtin.generator`): one host
//! per combination of the `layers:` values, its name and its parent groups (with their
//! vars) templated from that combination.

use super::graph::SourceInfo;
use super::ini::set_group_var;
use super::Inventory;
use crate::error::{Error, Result};
use crate::template::templar;
use minijinja::Value as MjValue;
use serde_json::{Map, Value};

/// At most this many hosts from one config (the product of the layers' lengths).
const MAX_HOSTS: usize = 1_000_000;

pub(crate) fn parse(inv: &mut Inventory, config: &Value, src: &SourceInfo) -> Result<()> {
    let layers = config
        .get("layers")
        .and_then(Value::as_object)
        .ok_or_else(|| Error::parse("generator: 'layers' must be a mapping", None))?;
    let hosts = config
        .get("hosts")
        .and_then(Value::as_object)
        .ok_or_else(|| Error::parse("generator: 'hosts' must be a mapping", None))?;
    let empty = Vec::new();
    let parents = hosts
        .get("parents")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    for vars in combinations(layers)? {
        let ctx = crate::vars::scope::to_mj(&Value::Object(vars.clone()));
        let name = text(hosts.get("name").unwrap_or(&Value::Null), &ctx)?;
        inv.ensure_host(&name, None, Some(src));
        add_parents(inv, &name, true, parents, &ctx)?;
    }
    Ok(())
}

/// `itertools.product` over the layers, in their order (the last layer varies fastest).
fn combinations(layers: &Map<String, Value>) -> Result<Vec<Map<String, Value>>> {
    let mut out = vec![Map::new()];
    for (key, values) in layers {
        let values = values.as_array().cloned().unwrap_or_default();
        if out.len().saturating_mul(values.len()) > MAX_HOSTS {
            return Err(Error::parse(
                format!("generator: the layers make more than {MAX_HOSTS} hosts"),
                None,
            ));
        }
        let mut next = Vec::with_capacity(out.len() * values.len());
        for partial in &out {
            for v in &values {
                let mut m = partial.clone();
                m.insert(key.clone(), v.clone());
                next.push(m);
            }
        }
        out = next;
    }
    Ok(out)
}

/// Adds `child` (a host at the first level, then a group) to each parent, recursively.
fn add_parents(
    inv: &mut Inventory,
    child: &str,
    child_is_host: bool,
    parents: &[Value],
    ctx: &MjValue,
) -> Result<()> {
    for parent in parents {
        let name = match parent.get("name") {
            Some(n) => text(n, ctx)?,
            None => String::new(),
        };
        if name.is_empty() {
            return Err(Error::parse(
                format!("Element {child} has a parent with no name."),
                None,
            ));
        }
        inv.ensure_group(&name);
        if let Some(vars) = parent.get("vars").and_then(Value::as_object) {
            for (k, v) in vars {
                set_group_var(inv, &name, k, native(v, ctx)?);
            }
        }
        if child_is_host {
            inv.put_host_in_group(child, &name);
        } else {
            inv.add_child(&name, child)
                .map_err(|e| Error::parse(e, None))?;
        }
        let grand = parent.get("parents").and_then(Value::as_array);
        add_parents(inv, &name, false, grand.map_or(&[][..], Vec::as_slice), ctx)?;
    }
    Ok(())
}

/// A templated name; a non-string is used as it is (printed).
fn text(v: &Value, ctx: &MjValue) -> Result<String> {
    match v {
        Value::String(s) => templar()
            .render_string(s, ctx)
            .map_err(|e| Error::parse(e.message, None)),
        Value::Null => Ok(String::new()),
        other => Ok(other.to_string()),
    }
}

/// A group var: strings are templated now with the layer values; other data stays as
/// written, to be templated when used (Ansible's pass-through).
fn native(v: &Value, ctx: &MjValue) -> Result<Value> {
    match v {
        Value::String(s) => templar()
            .render_native(s, ctx)
            .map_err(|e| Error::parse(e.message, None)),
        other => Ok(other.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn src() -> SourceInfo {
        SourceInfo {
            file: Value::Null,
            dir: Value::Null,
        }
    }

    #[test]
    fn hosts_and_parent_groups_from_the_layers() {
        let mut inv = Inventory::empty();
        let config = json!({
            "layers": {"op": ["build", "run"], "env": ["dev", "prod"]},
            "hosts": {"name": "{{ op }}_{{ env }}", "parents": [
                {"name": "{{ op }}", "parents": [{"name": "all_ops", "vars": {"e": "{{ env }}", "d": {"k": "{{ later }}"}}}]},
            ]},
        });
        parse(&mut inv, &config, &src()).unwrap();
        inv.reconcile();
        assert_eq!(inv.hosts.len(), 4);
        assert!(inv.groups["build"].hosts.contains("build_prod"));
        assert!(inv.groups["all_ops"].children.iter().any(|c| c == "run"));
        assert_eq!(inv.groups["all_ops"].vars["d"], json!({"k": "{{ later }}"}));
        let bad = json!({"layers": {"x": [1]}, "hosts": {"name": "h", "parents": [{}]}});
        let err = parse(&mut Inventory::empty(), &bad, &src()).unwrap_err();
        assert_eq!(err.message, "Element h has a parent with no name.");
    }
}
