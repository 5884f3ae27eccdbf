//! `getent`: a name-service database (passwd, group, hosts, ...) as facts, from the host's
//! `getent` command, keyed and split the way Ansible's module does.

use crate::connection::quote;
use crate::modules::util::{self, map};
use crate::modules::{ArgKind, ArgSpec, Args, Module, ModuleContext, ModuleError, ModuleResult};
use serde_json::{Map, Value};

pub struct Getent;

const SPEC: &[ArgSpec] = &[
    ArgSpec::new("database", ArgKind::Str).required(),
    ArgSpec::new("key", ArgKind::Str),
    ArgSpec::new("service", ArgKind::Str),
    ArgSpec::new("split", ArgKind::Str),
    ArgSpec::new("fail_key", ArgKind::Bool),
];

/// The databases whose records are colon-separated.
const COLON: [&str; 4] = ["passwd", "shadow", "group", "gshadow"];

/// Python's `str.split(sep)` (or `split()` on whitespace when `sep` is None).
fn py_split(line: &str, sep: Option<&str>) -> Vec<Value> {
    let parts: Vec<&str> = match sep {
        Some(s) if !s.is_empty() => line.split(s).collect(),
        _ => line.split_whitespace().collect(),
    };
    parts.into_iter().map(|p| Value::String(p.into())).collect()
}

/// The records of getent's output: key → fields; a key seen again becomes a list of them.
fn records(out: &str, sep: Option<&str>) -> Map<String, Value> {
    let mut db = Map::new();
    let mut seen: std::collections::HashMap<String, usize> = Default::default();
    for line in out.lines() {
        let mut rec = py_split(line, sep);
        if rec.is_empty() {
            continue;
        }
        let key = util::text(rec.remove(0).as_str().unwrap_or_default().as_bytes());
        let count = seen.entry(key.clone()).or_insert(0);
        *count += 1;
        match (*count, db.get_mut(&key)) {
            (1, _) | (_, None) => {
                db.insert(key, Value::Array(rec));
            }
            (2, Some(first)) => {
                let prev = first.take();
                *first = Value::Array(vec![prev, Value::Array(rec)]);
            }
            (_, Some(Value::Array(list))) => list.push(Value::Array(rec)),
            (_, Some(_)) => {}
        }
    }
    db
}

impl Module for Getent {
    fn name(&self) -> &'static str {
        "getent"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn run(&self, args: &Args, ctx: &mut ModuleContext) -> ModuleResult {
        let database = args.str("database").unwrap_or_default();
        let key = args.str("key");
        let mut cmd = format!("getent {}", quote(database));
        if let Some(k) = key {
            cmd.push_str(&format!(" {}", quote(k)));
        }
        if let Some(s) = args.str("service") {
            cmd.push_str(&format!(" -s {}", quote(s)));
        }
        let script = format!(
            "command -v getent >/dev/null 2>&1 || {{ echo 'Failed to find required executable \"getent\" in paths: '\"$PATH\" >&2; exit 127; }}\n{cmd}"
        );
        // getent is a query: it runs in check mode too.
        let out = util::exec_script(ctx, script)?;
        let sep = match args.str("split") {
            Some(s) => Some(s),
            None if COLON.contains(&database) => Some(":"),
            None => None,
        };
        let tree = format!("getent_{database}");
        let facts = |db: Map<String, Value>| {
            let mut f = Map::new();
            f.insert(tree.clone(), Value::Object(db));
            Value::Object(f)
        };
        let msg = match out.rc {
            0 => {
                let db = records(&util::text(&out.stdout), sep);
                return Ok(map([
                    ("ansible_facts", facts(db)),
                    ("changed", false.into()),
                ]));
            }
            1 => "Missing arguments, or database unknown.",
            2 => {
                let msg = "One or more supplied key could not be found in the database.";
                if !args.bool_or("fail_key", true) {
                    let mut db = Map::new();
                    db.insert(key.unwrap_or_default().to_string(), Value::Null);
                    return Ok(map([
                        ("ansible_facts", facts(db)),
                        ("changed", false.into()),
                        ("msg", msg.into()),
                    ]));
                }
                msg
            }
            3 => "Enumeration not supported on this database.",
            127 => return Err(ModuleError::msg(util::text(&out.stderr).trim().to_string())),
            _ => "Unexpected failure!",
        };
        Err(ModuleError::msg(msg))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::util::test_support::{failed, run};
    use serde_json::json;

    #[test]
    fn passwd_root_has_six_fields() {
        let r = run(&Getent, json!({"database": "passwd", "key": "root"})).unwrap();
        let root = &r["ansible_facts"]["getent_passwd"]["root"];
        assert_eq!(root.as_array().map(Vec::len), Some(6), "{r:?}");
        assert_eq!(root[1], json!("0"));
    }

    #[test]
    fn missing_key_fails_unless_fail_key_is_false() {
        let args = json!({"database": "passwd", "key": "yiqiu-no-such-user"});
        let f = failed(run(&Getent, args));
        assert_eq!(
            f["msg"],
            json!("One or more supplied key could not be found in the database.")
        );
        let args = json!({"database": "passwd", "key": "yiqiu-no-such-user", "fail_key": false});
        let r = run(&Getent, args).unwrap();
        assert_eq!(
            r["ansible_facts"]["getent_passwd"],
            json!({"yiqiu-no-such-user": null})
        );
    }

    #[test]
    fn duplicate_keys_become_a_list() {
        let db = records("a 1\nb 2\na 3\na 4\n", None);
        assert_eq!(db["a"], json!([["1"], ["3"], ["4"]]));
        assert_eq!(db["b"], json!(["2"]));
    }
}
