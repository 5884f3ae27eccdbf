//! Executable inventory files run as inventory scripts (Ansible's `script` plugin): `--list`,
//! `--host H` only when `_meta.hostvars` is missing, failures as Ansible's warnings naming the
//! script.

mod common;
use common::*;
use serde_json::{json, Value};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn executable(dir: &Path, name: &str, body: &str) {
    let p = dir.join(name);
    std::fs::write(&p, body).expect("write script");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

const PY_META: &str = r#"#!/usr/bin/env python3
import json, sys
if sys.argv[1:] == ["--list"]:
    print(json.dumps({
        "web": {"hosts": ["w1", "w2"], "vars": {"ansible_connection": "local", "tier": "front"},
            "children": ["db"]},
        "db": ["d1"],
        "_meta": {"hostvars": {"w1": {"role": "primary"}}},
    }))
else:
    # With _meta, --host must never be asked for.
    open(sys.argv[0] + ".host-called", "w").write(" ".join(sys.argv[1:]))
    print("{}")
"#;

fn list(dir: &Path, inv: &str) -> (Run, Value) {
    let r = run_in(dir, &["inventory", "-i", inv, "--list"]);
    let v = serde_json::from_str(&r.stdout).unwrap_or(Value::Null);
    (r, v)
}

#[test]
fn a_python_script_with_meta() {
    let d = project(&[]);
    executable(d.path(), "inv.py", PY_META);
    let (r, v) = list(d.path(), "inv.py");
    r.assert_code(0);
    assert_eq!(v["web"]["hosts"], json!(["w1", "w2"]));
    assert_eq!(v["web"]["children"], json!(["db"]));
    assert_eq!(v["db"]["hosts"], json!(["d1"]));
    assert_eq!(v["_meta"]["hostvars"]["w1"]["role"], "primary");
    assert_eq!(v["_meta"]["hostvars"]["w2"]["tier"], "front");
    assert!(
        !d.path().join("inv.py.host-called").exists(),
        "--host was run although _meta was given"
    );
    // A play runs against it.
    std::fs::write(
        d.path().join("site.yml"),
        "- hosts: web\n  gather_facts: false\n  tasks:\n    - debug: msg=\"{{ inventory_hostname }} {{ tier }} {{ role | default('-') }}\"\n",
    )
    .expect("site.yml");
    let r = run_in(d.path(), &["-i", "inv.py", "site.yml"]);
    r.assert_code(0);
    r.out_contains("\"msg\": \"w1 front primary\"");
    r.out_contains("\"msg\": \"w2 front -\"");
    r.out_contains("\"msg\": \"d1 front -\"");
}

#[test]
fn a_shell_script_without_meta_is_asked_per_host() {
    let d = project(&[]);
    executable(
        d.path(),
        "inv",
        "#!/bin/sh\nif [ \"$1\" = --list ]; then echo '{\"g\": {\"hosts\": [\"a\", \"b\"]}}'; \
         else echo \"{\\\"asked_for\\\": \\\"$1 $2\\\"}\"; fi\n",
    );
    let (r, v) = list(d.path(), "inv");
    r.assert_code(0);
    assert_eq!(v["_meta"]["hostvars"]["a"]["asked_for"], "--host a");
    assert_eq!(v["_meta"]["hostvars"]["b"]["asked_for"], "--host b");
    let r = run_in(d.path(), &["inventory", "-i", "inv", "--host", "b"]);
    r.assert_code(0);
    r.out_contains("\"asked_for\": \"--host b\"");
}

#[test]
fn a_failing_script_and_bad_json_are_named_in_the_warning() {
    let d = project(&[]);
    executable(
        d.path(),
        "fails.sh",
        "#!/bin/sh\necho 'no backend' >&2\nexit 3\n",
    );
    executable(d.path(), "garbage.sh", "#!/bin/sh\necho '{not json'\n");
    let (r, v) = list(d.path(), "fails.sh");
    r.assert_code(0);
    let script = d.path().join("fails.sh");
    r.err_contains(
        "[WARNING]: Failed to parse inventory with 'script' plugin: Inventory script returned non-zero exit code 3.",
    );
    r.err_contains(&format!(
        "Origin: <inventory plugin 'script' with source '{}'>\n\nStandard error from inventory script:\nno backend\n",
        script.display()
    ));
    r.err_contains(&format!(
        "[WARNING]: Unable to parse {} as an inventory source",
        script.display()
    ));
    assert_eq!(v["all"]["children"], json!(["ungrouped"]));
    let (r, _) = list(d.path(), "garbage.sh");
    r.err_contains("Failed to parse inventory with 'script' plugin: Unable to get JSON decoder for inventory script result: Value could not be parsed as JSON");
    r.err_contains(&format!(
        "<inventory plugin 'script' with source '{}'>",
        d.path().join("garbage.sh").display()
    ));
    // Ansible's setting turns it into an error (exit 1, as ansible-inventory).
    std::fs::write(
        d.path().join("ansible.cfg"),
        "[inventory]\nany_unparsed_is_failed = true\n",
    )
    .expect("cfg");
    let (r, _) = list(d.path(), "fails.sh");
    r.assert_code(1);
}
