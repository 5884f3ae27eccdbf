//! The builtin `constructed` inventory plugin (`plugin: ansible.builtin.constructed`): over
//! the hosts the earlier sources made, `compose` sets variables from expressions, `groups`
//! adds hosts to groups whose condition holds, and `keyed_groups` makes groups named after
//! variable values (`prefix_value`, `key_value` for a mapping, one per list item).

use super::Inventory;
use crate::error::{Error, Result};
use crate::template::pyfmt::to_str;
use crate::template::templar;
use serde_json::{Map, Value};

struct Options<'a> {
    strict: bool,
    use_vars_plugins: bool,
    leading_separator: bool,
    config: &'a Value,
}

pub(crate) fn parse(inv: &mut Inventory, config: &Value) -> Result<()> {
    let flag = |k: &str, default: bool| config.get(k).and_then(Value::as_bool).unwrap_or(default);
    let opts = Options {
        strict: flag("strict", false),
        use_vars_plugins: flag("use_vars_plugins", false),
        leading_separator: flag("leading_separator", true),
        config,
    };
    inv.reconcile();
    let hosts: Vec<String> = inv.hosts.keys().cloned().collect();
    for host in hosts {
        construct_host(inv, &host, &opts)?;
    }
    Ok(())
}

fn construct_host(inv: &mut Inventory, host: &str, opts: &Options) -> Result<()> {
    if let Some(compose) = opts.config.get("compose").and_then(Value::as_object) {
        let vars = host_vars(inv, host, opts)?;
        for (name, expr) in compose {
            match evaluate(expr, &vars) {
                Ok(v) => {
                    if let Some(h) = inv.hosts.get_mut(host) {
                        h.vars.insert(name.clone(), v);
                    }
                }
                Err(e) if opts.strict => {
                    return Err(Error::parse(
                        format!("Could not set {name} for host {host}: {e}"),
                        None,
                    ))
                }
                Err(_) => {}
            }
        }
    }
    let vars = host_vars(inv, host, opts)?;
    if let Some(groups) = opts.config.get("groups").and_then(Value::as_object) {
        let ctx = crate::vars::scope::to_mj(&Value::Object(vars.clone()));
        for (name, cond) in groups {
            let group = sanitize(name);
            match templar().eval_condition(cond, &ctx) {
                Ok(true) => add_host(inv, host, &group),
                Ok(false) => {}
                Err(e) if opts.strict => {
                    return Err(Error::parse(
                        format!("Could not add host {host} to group {group}: {}", e.message),
                        None,
                    ))
                }
                Err(_) => {}
            }
        }
    }
    if let Some(keyed) = opts.config.get("keyed_groups").and_then(Value::as_array) {
        for entry in keyed {
            keyed_group(inv, host, entry, &vars, opts)?;
        }
    }
    Ok(())
}

/// One `keyed_groups` entry for one host, as Ansible's `_add_host_to_keyed_groups`.
fn keyed_group(
    inv: &mut Inventory,
    host: &str,
    entry: &Value,
    vars: &Map<String, Value>,
    opts: &Options,
) -> Result<()> {
    let Some(entry) = entry.as_object() else {
        return Err(Error::parse(
            format!("Invalid keyed group entry, it must be a dictionary: {entry} "),
            None,
        ));
    };
    let expr = entry.get("key").cloned().unwrap_or(Value::Null);
    let key = match evaluate(&expr, vars) {
        Ok(k) => k,
        Err(e) if opts.strict => {
            return Err(Error::parse(
                format!(
                    "Could not generate group for host {host} from {} entry: {e}",
                    to_str(&expr)
                ),
                None,
            ))
        }
        Err(_) => return Ok(()),
    };
    let default = entry.get("default_value").filter(|v| !v.is_null());
    let trailing = entry.get("trailing_separator").and_then(Value::as_bool);
    if entry.get("trailing_separator").is_some() && default.is_some() {
        return Err(Error::parse(
            "parameters are mutually exclusive for keyed groups: default_value|trailing_separator",
            None,
        ));
    }
    let empty = |v: &Value| v.is_null() || v.as_str() == Some("");
    let use_default = empty(&key) && default.is_some();
    if !truthy(&key) && !use_default {
        let blank = matches!(&key, Value::Array(a) if a.is_empty())
            || matches!(&key, Value::Object(m) if m.is_empty());
        if opts.strict && !blank {
            return Err(Error::parse(
                format!(
                    "No key or key resulted empty for {} in host {host}, invalid entry",
                    to_str(&expr)
                ),
                None,
            ));
        }
        return Ok(());
    }
    let prefix = entry.get("prefix").map(to_str).unwrap_or_default();
    let mut sep = entry
        .get("separator")
        .map(to_str)
        .unwrap_or_else(|| "_".into());
    let default_name = default.map(to_str);
    let mut names = Vec::new();
    match (&key, &default_name) {
        (_, Some(d)) if use_default => names.push(d.clone()),
        (Value::String(s), _) => names.push(s.clone()),
        (Value::Array(items), _) => {
            for item in items {
                match &default_name {
                    Some(d) if empty(item) => names.push(d.clone()),
                    _ => names.push(to_str(item)),
                }
            }
        }
        (Value::Object(m), _) => {
            for (gname, gval) in m {
                let name = match (&default_name, trailing) {
                    (Some(d), _) if empty(gval) => format!("{gname}{sep}{d}"),
                    (None, Some(false)) if empty(gval) => gname.clone(),
                    _ => format!("{gname}{sep}{}", to_str(gval)),
                };
                names.push(name);
            }
        }
        _ => {
            return Err(Error::parse(
                format!(
                    "Invalid group name format, expected a string or a list of them or dictionary, got: <class '{}'>",
                    crate::template::filters::type_name(&key)
                ),
                None,
            ))
        }
    }
    let parent = entry
        .get("parent_group")
        .map(|p| render(p, vars))
        .transpose()?
        .filter(|p| !p.is_empty());
    for bare in names {
        if prefix.is_empty() && !opts.leading_separator {
            sep = String::new();
        }
        let group = sanitize(&format!("{prefix}{sep}{bare}"));
        add_host(inv, host, &group);
        if let Some(p) = &parent {
            let p = sanitize(p);
            inv.ensure_group(&p);
            inv.add_child(&p, &group)
                .map_err(|e| Error::parse(e, None))?;
        }
    }
    Ok(())
}

fn add_host(inv: &mut Inventory, host: &str, group: &str) {
    inv.ensure_group(group);
    inv.put_host_in_group(host, group);
}

/// The variables a host has so far: its groups' then its own (with `use_vars_plugins`, the
/// group_vars/ and host_vars/ beside the sources too).
fn host_vars(inv: &Inventory, host: &str, opts: &Options) -> Result<Map<String, Value>> {
    if opts.use_vars_plugins {
        return inv.host_vars(host, None);
    }
    let mut out = Map::new();
    let mut groups = vec!["all".to_string()];
    groups.extend(inv.sorted_groups_of(host));
    for g in &groups {
        if let Some(group) = inv.groups.get(g) {
            out.extend(group.vars.clone());
        }
    }
    if let Some(h) = inv.hosts.get(host) {
        out.extend(h.vars.clone());
    }
    Ok(out)
}

/// `evaluate_expression`: a bare Jinja expression (a non-string is taken as it is).
fn evaluate(expr: &Value, vars: &Map<String, Value>) -> std::result::Result<Value, String> {
    let Value::String(s) = expr else {
        return Ok(expr.clone());
    };
    let ctx = crate::vars::scope::to_mj(&Value::Object(vars.clone()));
    templar()
        .render_native(&format!("{{{{ {s} }}}}"), &ctx)
        .map_err(|e| e.message)
}

fn render(v: &Value, vars: &Map<String, Value>) -> Result<String> {
    let ctx = crate::vars::scope::to_mj(&Value::Object(vars.clone()));
    match v {
        Value::String(s) => templar()
            .render_string(s, &ctx)
            .map_err(|e| Error::parse(e.message, None)),
        other => Ok(to_str(other)),
    }
}

/// Python truthiness of a key's value.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
    }
}

/// `_sanitize_group_name`: invalid characters always become `_`, silently.
fn sanitize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for (i, c) in name.chars().enumerate() {
        let word = c.is_alphanumeric() || c == '_';
        if !word || (i == 0 && c.is_numeric()) {
            out.push('_');
        } else {
            out.push(c);
        }
    }
    out
}
