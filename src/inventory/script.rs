//! Executable inventory files, as ansible-core's `script` inventory plugin runs them:
//! `SCRIPT --list` prints `{"group": {"hosts": [...], "vars": {...}, "children": [...]},
//! "_meta": {"hostvars": {"h": {...}}}}`; without `_meta.hostvars`, `SCRIPT --host H` is run
//! for each host. A failed run or output that is not JSON is an error naming the script, with
//! the script's stderr as help (the caller turns it into Ansible's warning).

use super::graph::SourceInfo;
use super::ini::set_group_var;
use super::Inventory;
use crate::error::{Error, Result};
use crate::template::filters::type_name;
use serde_json::{Map, Value};
use std::path::Path;
use std::process::{Command, Stdio};

/// Whether the file is run as a script (the plugin's `verify_file`: executable).
pub(crate) fn is_script(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Runs the script and adds what it prints to `inv`.
pub(crate) fn parse(inv: &mut Inventory, path: &Path, src: &SourceInfo) -> Result<()> {
    let (out, help) = run(path, &["--list"])?;
    let data: Value = serde_json::from_str(&out).map_err(|e| {
        with_help(
            Error::parse(
                format!(
                    "Unable to get JSON decoder for inventory script result: Value could not be parsed as JSON: {e}"
                ),
                None,
            ),
            &help,
        )
    })?;
    let Value::Object(top) = data else {
        return Err(with_help(
            Error::parse(
                format!(
                    "Unable to get JSON decoder for inventory script result: Value is '{}' instead of 'dict'.",
                    type_name(&data)
                ),
                None,
            ),
            &help,
        ));
    };
    let mut meta: Option<Map<String, Value>> = None;
    let mut hosts: Vec<String> = Vec::new();
    for (group, gdata) in &top {
        if group == "_meta" {
            match gdata.get("hostvars") {
                Some(Value::Object(m)) => meta = Some(m.clone()),
                other => {
                    return Err(Error::parse(
                        format!(
                            "Value contains '_meta.hostvars' which is '{}' instead of 'dict'.",
                            type_name(other.unwrap_or(&Value::Null))
                        ),
                        None,
                    ))
                }
            }
        } else {
            parse_group(inv, group, gdata, src, &mut hosts)?;
        }
    }
    for host in hosts {
        let vars = match &meta {
            Some(m) => m
                .get(&host)
                .cloned()
                .unwrap_or_else(|| Value::Object(Map::new())),
            None => host_vars(path, &host)?,
        };
        let Value::Object(vars) = vars else {
            return Err(Error::parse(
                format!(
                    "Host variables for '{host}' are '{}' instead of 'dict'.",
                    type_name(&vars)
                ),
                None,
            ));
        };
        if let Some(h) = inv.hosts.get_mut(&host) {
            h.vars.extend(vars);
        }
    }
    Ok(())
}

/// One group of the `--list` output (`_parse_group`): a list means its hosts; a mapping
/// without `hosts`/`vars`/`children` is an old-style single host with those vars.
fn parse_group(
    inv: &mut Inventory,
    group: &str,
    data: &Value,
    src: &SourceInfo,
    hosts: &mut Vec<String>,
) -> Result<()> {
    inv.ensure_group(group);
    let data = match data {
        Value::Object(m)
            if ["hosts", "vars", "children"]
                .iter()
                .any(|k| m.contains_key(*k)) =>
        {
            m.clone()
        }
        Value::Object(m) => Map::from_iter([
            ("hosts".to_string(), Value::from(vec![group.to_string()])),
            ("vars".to_string(), Value::Object(m.clone())),
        ]),
        other => Map::from_iter([("hosts".to_string(), other.clone())]),
    };
    let wrong = |key: &str, v: &Value, want: &str| {
        Error::parse(
            format!(
                "Value contains '{group}.{key}' which is '{}' instead of '{want}'.",
                type_name(v)
            ),
            None,
        )
    };
    if let Some(h) = data.get("hosts") {
        let Value::Array(list) = h else {
            return Err(wrong("hosts", h, "list"));
        };
        for name in list {
            let name = match name {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            inv.ensure_host(&name, None, Some(src));
            inv.put_host_in_group(&name, group);
            if !hosts.contains(&name) {
                hosts.push(name);
            }
        }
    }
    if let Some(v) = data.get("vars") {
        let Value::Object(vars) = v else {
            return Err(wrong("vars", v, "dict"));
        };
        for (k, val) in vars {
            set_group_var(inv, group, k, val.clone());
        }
    }
    if let Some(Value::Array(children)) = data.get("children") {
        for child in children {
            let child = child
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| child.to_string());
            inv.ensure_group(&child);
            inv.add_child(group, &child)
                .map_err(|m| Error::parse(m, None))?;
        }
    }
    Ok(())
}

/// `SCRIPT --host H` (only when `_meta.hostvars` is missing); empty output is no vars.
fn host_vars(path: &Path, host: &str) -> Result<Value> {
    let (out, help) = run(path, &["--host", host])?;
    if out.trim().is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    serde_json::from_str(&out).map_err(|e| {
        with_help(
            Error::parse(
                format!(
                    "Inventory script result for host '{host}' could not be parsed as JSON: {e}"
                ),
                None,
            ),
            &help,
        )
    })
}

/// Runs the script; returns its stdout and the help text made of its stderr.
fn run(path: &Path, args: &[&str]) -> Result<(String, Option<String>)> {
    let out = Command::new(path)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            Error::parse(
                format!(
                    "Failed to execute inventory script command '{} {}': {e}",
                    path.display(),
                    args.join(" ")
                ),
                None,
            )
        })?;
    let mut stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if !stderr.is_empty() && !stderr.ends_with('\n') {
        stderr.push('\n');
    }
    let help = (!stderr.trim().is_empty())
        .then(|| format!("Standard error from inventory script:\n{stderr}"));
    if !out.status.success() {
        let code = out
            .status
            .code()
            .map(|c| c.to_string())
            .unwrap_or_else(|| "-1".into());
        return Err(with_help(
            Error::parse(
                format!("Inventory script returned non-zero exit code {code}."),
                None,
            ),
            &help,
        ));
    }
    let text = String::from_utf8(out.stdout).map_err(|_| {
        with_help(
            Error::parse(
                "Inventory script result contained characters that cannot be interpreted as UTF-8.",
                None,
            ),
            &help,
        )
    })?;
    Ok((text, help))
}

fn with_help(e: Error, help: &Option<String>) -> Error {
    match help {
        Some(h) => e.with_help(h.clone()),
        None => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn script(dir: &Path, body: &str) -> std::path::PathBuf {
        let p = dir.join("inv.sh");
        std::fs::write(&p, format!("#!/bin/sh\n{body}")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    fn src() -> SourceInfo {
        SourceInfo {
            file: Value::from("inv.sh"),
            dir: Value::Null,
        }
    }

    #[test]
    fn groups_hosts_children_and_meta() {
        let d = tempfile::tempdir().unwrap();
        let p = script(
            d.path(),
            r#"echo '{"web": {"hosts": ["w1"], "vars": {"p": 1}, "children": ["db"]}, "db": ["d1"], "_meta": {"hostvars": {"w1": {"r": "x"}}}}'"#,
        );
        assert!(is_script(&p));
        let mut inv = Inventory::empty();
        parse(&mut inv, &p, &src()).unwrap();
        assert_eq!(inv.hosts["w1"].vars["r"], "x");
        assert_eq!(inv.groups["web"].vars["p"], 1);
        assert!(inv.groups["db"].hosts.contains("d1"));
        assert!(inv.groups["web"].children.contains(&"db".to_string()));
    }

    #[test]
    fn without_meta_each_host_is_asked() {
        let d = tempfile::tempdir().unwrap();
        let p = script(
            d.path(),
            "if [ \"$1\" = --list ]; then echo '{\"g\": [\"a\", \"b\"]}'; else echo \"{\\\"me\\\": \\\"$2\\\"}\"; fi\n",
        );
        let mut inv = Inventory::empty();
        parse(&mut inv, &p, &src()).unwrap();
        assert_eq!(inv.hosts["a"].vars["me"], "a");
        assert_eq!(inv.hosts["b"].vars["me"], "b");
    }

    #[test]
    fn failures_say_what_went_wrong() {
        let d = tempfile::tempdir().unwrap();
        let p = script(d.path(), "echo broken >&2\nexit 3\n");
        let e = parse(&mut Inventory::empty(), &p, &src()).unwrap_err();
        assert_eq!(e.message, "Inventory script returned non-zero exit code 3.");
        assert_eq!(
            e.help.as_deref(),
            Some("Standard error from inventory script:\nbroken\n")
        );
        let p = script(d.path(), "echo not json\n");
        let e = parse(&mut Inventory::empty(), &p, &src()).unwrap_err();
        assert!(e.message.starts_with("Unable to get JSON decoder for inventory script result: Value could not be parsed as JSON"), "{}", e.message);
    }
}
