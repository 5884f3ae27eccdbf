//! `add_host`: adds a host (and its groups and variables) to the in-memory inventory.
//!
//! Any key other than the name and groups is a host variable: the spec ends with
//! [`ArgSpec::any`].

use crate::modules::util::map;
use crate::modules::{ArgKind, ArgSpec, Args, Module, ModuleContext, ModuleError, ModuleResult};
use serde_json::{Map, Value};

pub struct AddHost;

const SPEC: &[ArgSpec] = &[
    ArgSpec::new("name", ArgKind::Str).aliases(&["host", "hostname"]),
    ArgSpec::new("groups", ArgKind::List).aliases(&["group", "groupname"]),
    ArgSpec::any(),
];

/// Splits `host:port` (or `[v6]:port`) like Ansible's `parse_address`.
fn split_port(name: &str) -> (String, Option<i64>) {
    if let Some(rest) = name.strip_prefix('[') {
        if let Some((host, port)) = rest.split_once("]:") {
            if let Ok(p) = port.parse() {
                return (host.to_string(), Some(p));
            }
        }
        return (rest.trim_end_matches(']').to_string(), None);
    }
    if name.matches(':').count() == 1 {
        if let Some((host, port)) = name.split_once(':') {
            if let Ok(p) = port.parse() {
                return (host.to_string(), Some(p));
            }
        }
    }
    (name.to_string(), None)
}

impl Module for AddHost {
    fn name(&self) -> &'static str {
        "add_host"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn controller_only(&self) -> bool {
        true
    }
    fn bypass_host_loop(&self) -> bool {
        true
    }
    fn run(&self, args: &Args, _ctx: &mut ModuleContext) -> ModuleResult {
        let Some(name) = args.string("name") else {
            return Err(ModuleError::msg("name or host is required"));
        };
        let (host_name, port) = split_port(&name);
        let groups: Vec<Value> = args
            .list("groups")
            .map(|g| {
                g.iter()
                    .map(|v| match v {
                        Value::String(s) => Value::String(s.clone()),
                        other => Value::String(other.to_string()),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut host_vars = Map::new();
        for (k, v) in &args.0 {
            if k != "name" && k != "groups" {
                host_vars.insert(k.clone(), v.clone());
            }
        }
        // The name Ansible's add_host action gives it (the connection reads both).
        if let Some(p) = port {
            host_vars.insert("ansible_ssh_port".into(), Value::from(p));
        }
        Ok(map([
            (
                "add_host",
                Value::Object(map([
                    ("groups", Value::Array(groups)),
                    ("host_name", Value::String(host_name)),
                    ("host_vars", Value::Object(host_vars)),
                ])),
            ),
            ("changed", Value::Bool(true)),
        ]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::util::test_support::{failed, run};
    use serde_json::json;

    #[test]
    fn host_groups_and_vars() {
        let r = run(
            &AddHost,
            json!({"hostname": "foo", "groups": "g1,g2", "myvar": "3"}),
        )
        .unwrap();
        assert_eq!(
            serde_json::Value::Object(r),
            json!({"add_host": {"groups": ["g1", "g2"], "host_name": "foo", "host_vars": {"myvar": "3"}}, "changed": true})
        );
    }

    #[test]
    fn port_in_name() {
        let r = run(&AddHost, json!({"name": "db:2222", "group": "x"})).unwrap();
        assert_eq!(r["add_host"]["host_name"], json!("db"));
        assert_eq!(r["add_host"]["host_vars"]["ansible_ssh_port"], json!(2222));
        assert_eq!(split_port("[::1]:22"), ("::1".to_string(), Some(22)));
        assert_eq!(split_port("fe80::1"), ("fe80::1".to_string(), None));
    }

    #[test]
    fn name_missing() {
        let m = failed(run(&AddHost, json!({"groups": "g"})));
        assert!(m["msg"].as_str().unwrap().contains("name"));
    }
}
