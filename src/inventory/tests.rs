//! End-to-end checks on inventories in temporary directories. Expected values were taken
//! from ansible-core 2.19 (`ansible -i FILE PATTERN --list-hosts`, `ansible-playbook`).

use super::*;
use serde_json::json;
use std::fs;

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    if let Some(parent) = p.parent() {
        fs::create_dir_all(parent).unwrap();
    }
    fs::write(p, text).unwrap();
}

const PATTERN_INI: &str =
    "solo\n[web]\nweb[01:04]\n[db]\ndb1\ndb2\nweb02\n[app:children]\nweb\ndb\n\
                           [staging]\nweb03\ndb2\n";

fn pattern_inventory() -> (tempfile::TempDir, Inventory) {
    let t = tempfile::tempdir().unwrap();
    write(t.path(), "pat.ini", PATTERN_INI);
    let inv = Inventory::load(&[t.path().join("pat.ini")]).unwrap();
    (t, inv)
}

#[test]
fn patterns_match_ansible() {
    let (_t, inv) = pattern_inventory();
    let cases: &[(&str, &str)] = &[
        ("all", "solo web03 db2 web01 web02 web04 db1"),
        ("*", "solo web03 db2 web01 web02 web04 db1"),
        ("web", "web01 web02 web03 web04"),
        ("web:db", "web01 web02 web03 web04 db1 db2"),
        ("web,db", "web01 web02 web03 web04 db1 db2"),
        ("app:&staging", "web03 db2"),
        ("app:!staging", "web01 web02 web04 db1"),
        ("web*", "web01 web02 web03 web04"),
        ("~db\\d", "db1 db2"),
        ("web[0]", "web01"),
        ("web[-1]", "web04"),
        ("web[1:2]", "web02 web03"),
        ("app[3:]", "web04 db1 db2"),
        ("ungrouped", "solo"),
        ("db2", "db2"),
        ("nothing", ""),
        ("localhost", "localhost"),
        ("web:nothing", "web01 web02 web03 web04"),
        ("!web", "solo db2 db1"),
        ("&web", "web03 web01 web02 web04"),
        ("web0?", "web01 web02 web03 web04"),
        ("web[0]:db[0]", "web01 db1"),
        ("db*[0]", "db1"),
        ("solo,localhost", "solo localhost"),
        ("w*[1]", "web02"),
    ];
    for (pattern, expected) in cases {
        let got = inv.select(pattern).unwrap().join(" ");
        assert_eq!(&got, expected, "pattern {pattern}");
    }
    let (_, warnings) = inv.select_with_warnings("web:nothing").unwrap();
    assert_eq!(
        warnings,
        vec!["Could not match supplied host pattern, ignoring: nothing"]
    );
    let err = inv.select("app[9]").unwrap_err();
    assert_eq!(
        err.message,
        "No hosts matched the subscripted pattern 'app[9]'"
    );
}

#[test]
fn groups_and_group_names() {
    let (_t, inv) = pattern_inventory();
    assert_eq!(inv.group_names("solo"), vec!["ungrouped"]);
    assert_eq!(inv.group_names("web02"), vec!["app", "db", "web"]);
    assert_eq!(inv.group_names("web03"), vec!["app", "staging", "web"]);
    assert!(inv.group_names("localhost").is_empty());
    let g = inv.groups_map();
    assert_eq!(
        g.keys().cloned().collect::<Vec<_>>(),
        vec!["all", "ungrouped", "web", "db", "app", "staging"]
    );
    assert_eq!(g["db"], json!(["db1", "db2", "web02"]));
    assert_eq!(
        g["app"],
        json!(["web01", "web02", "web03", "web04", "db1", "db2"])
    );
    assert_eq!(g["ungrouped"], json!(["solo"]));
    assert!(inv.load_warnings().is_empty(), "{:?}", inv.load_warnings());
}

#[test]
fn limits() {
    let (t, inv) = pattern_inventory();
    let all = inv.select("all").unwrap();
    assert_eq!(inv.restrict(&all, "staging").unwrap(), vec!["web03", "db2"]);
    assert_eq!(
        inv.apply_limit(&all, "nothing").unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(
        inv.restrict(&all, "nothing").unwrap_err().message,
        ERR_NO_HOSTS
    );
    write(t.path(), "limit.txt", "db1\n\nsolo\n");
    let limit = format!("@{}", t.path().join("limit.txt").display());
    assert_eq!(inv.restrict(&all, &limit).unwrap(), vec!["solo", "db1"]);
    let missing = format!("@{}", t.path().join("nope").display());
    assert!(inv
        .restrict(&all, &missing)
        .unwrap_err()
        .message
        .starts_with("Unable to find limit file"));
    let (hosts, warnings) = inv.host_list("all", Some("db1,nothing")).unwrap();
    assert_eq!(hosts, vec!["db1"]);
    assert_eq!(
        warnings,
        vec!["Could not match supplied host pattern, ignoring: nothing"]
    );
    assert_eq!(
        inv.host_list("all", Some("nothing")).unwrap_err().message,
        ERR_NO_HOSTS
    );
}

#[test]
fn precedence_matches_ansible() {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    let mut ini = String::from("[all:vars]\n");
    for i in 1..=9 {
        ini.push_str(&format!("v{i}=L1\n"));
    }
    ini.push_str("[web]\nw01 v7=L7 v8=L7 v9=L7\nw02\n[web:vars]\n");
    for i in 2..=9 {
        ini.push_str(&format!("v{i}=L2\n"));
    }
    ini.push_str(
        "[a]\nw01\n[a:vars]\nansible_group_priority=10\npv=a\ndv=a\n[b]\nw01\n[b:vars]\npv=b\ndv=b\n\
         [c]\nw01\n[c:vars]\ndv=c\n[b:children]\nc\n",
    );
    write(r, "inv/hosts.ini", &ini);
    let levels = |from: usize, level: usize| -> String {
        (from..=9).map(|i| format!("v{i}: L{level}\n")).collect()
    };
    write(r, "inv/group_vars/all.yml", &levels(3, 3));
    write(r, "play/group_vars/all.yml", &levels(4, 4));
    write(r, "inv/group_vars/web/main.yml", &levels(5, 5));
    write(r, "play/group_vars/web.yml", &levels(6, 6));
    write(r, "inv/host_vars/w01.yml", &levels(8, 8));
    write(r, "play/host_vars/w01.yml", &levels(9, 9));
    let inv = Inventory::load(&[r.join("inv/hosts.ini")]).unwrap();
    let play = r.join("play");
    let v = inv.host_vars("w01", Some(&play)).unwrap();
    for i in 1..=9 {
        assert_eq!(v[&format!("v{i}")], json!(format!("L{i}")), "v{i}");
    }
    // Same depth: higher priority applies last; deeper groups apply after shallower ones.
    assert_eq!(v["pv"], json!("a"));
    assert_eq!(v["dv"], json!("c"));
    assert_eq!(
        v["inventory_file"],
        json!(r.join("inv/hosts.ini").display().to_string())
    );
    assert_eq!(
        v["inventory_dir"],
        json!(r.join("inv").display().to_string())
    );
    assert_eq!(inv.host_groups_chain("w01"), vec!["b", "web", "a", "c"]);
    let v2 = inv.host_vars("w02", Some(&play)).unwrap();
    assert_eq!(v2["v9"], json!("L6"));
    assert!(!v2.contains_key("pv"));
    // Without the playbook dir only the inventory's group_vars apply.
    let v3 = inv.host_vars("w02", None).unwrap();
    assert_eq!(v3["v9"], json!("L5"));
    assert_eq!(v3["v4"], json!("L3"));
}

#[test]
fn implicit_localhost() {
    let t = tempfile::tempdir().unwrap();
    write(t.path(), "hosts", "[web]\nw1\n[all:vars]\nx=1\n");
    write(t.path(), "group_vars/all.yml", "y: 2\n");
    let inv = Inventory::load(&[t.path().join("hosts")]).unwrap();
    assert_eq!(inv.select("localhost").unwrap(), vec!["localhost"]);
    assert_eq!(inv.select("all").unwrap(), vec!["w1"]);
    let v = inv.host_vars("localhost", None).unwrap();
    assert_eq!(v["ansible_connection"], json!("local"));
    assert_eq!(v["x"], json!(1));
    assert_eq!(v["y"], json!(2));
    assert!(inv.host_vars("unknown", None).unwrap().is_empty());
    // group_by on the implicit localhost: it joins the group but never `all`.
    let mut inv = inv;
    inv.add_to_group("localhost", "dyn");
    assert_eq!(inv.select("dyn").unwrap(), vec!["localhost"]);
    assert_eq!(inv.select("all").unwrap(), vec!["w1"]);
    assert_eq!(inv.group_names("localhost"), vec!["dyn"]);
    assert!(inv.groups_map()["ungrouped"].as_array().unwrap().is_empty());
}

#[test]
fn no_inventory_warnings() {
    let t = tempfile::tempdir().unwrap();
    let inv = Inventory::load(&[t.path().join("missing")]).unwrap();
    let missing = t.path().join("missing").display().to_string();
    assert_eq!(
        inv.load_warnings(),
        &[
            format!("Unable to parse {missing} as an inventory source"),
            WARN_NO_INVENTORY.to_string()
        ]
    );
    let (hosts, warnings) = inv.host_list("all", None).unwrap();
    assert!(hosts.is_empty());
    assert_eq!(warnings, vec![WARN_EMPTY_HOSTS]);
    let (hosts, warnings) = inv.host_list("localhost", None).unwrap();
    assert_eq!(hosts, vec!["localhost"]);
    assert!(warnings.is_empty());
    let inv = Inventory::load(&[]).unwrap();
    assert_eq!(inv.load_warnings(), &[WARN_NO_INVENTORY.to_string()]);
}

#[test]
fn unparsable_source_is_a_warning_with_details() {
    let t = tempfile::tempdir().unwrap();
    write(t.path(), "bad.ini", "[web]\na foo\n");
    let inv = Inventory::load(&[t.path().join("bad.ini")]).unwrap();
    let file = t.path().join("bad.ini").display().to_string();
    let w = inv.load_warnings();
    assert_eq!(w.len(), 3, "{w:?}");
    assert!(w[0].starts_with(
        "Failed to parse inventory with 'ini' plugin: Failed to parse inventory: Expected key=value host variable assignment, got: foo"
    ));
    assert!(w[0].ends_with(&format!("Origin: {file}\n")), "{}", w[0]);
    assert_eq!(
        w[1],
        format!("Unable to parse {file} as an inventory source")
    );
    assert_eq!(w[2], WARN_NO_INVENTORY);
    let err = &inv.parse_errors[0];
    assert_eq!(err.origin.as_ref().map(|o| o.line), Some(2));
    assert!(inv.hosts.is_empty(), "a failed source adds nothing");
}

#[test]
fn directory_sources_and_formats() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("inv");
    write(&d, "01-hosts", "[web]\nw1\n");
    write(
        &d,
        "02-more.yml",
        "all:\n  children:\n    db:\n      hosts:\n        d1:\n          z: 1\n",
    );
    write(
        &d,
        "03-json.json",
        "{\"extra\": {\"hosts\": {\"e1\": {\"j\": true}}}}",
    );
    // A file without extension that is YAML is read as YAML.
    write(&d, "04-noext", "other:\n  hosts:\n    o1:\n");
    write(&d, "README.md", "[junk]\nnot_a_host\n");
    write(&d, "old.bak", "[junk]\nnot_a_host\n");
    write(&d, "sub/05.ini", "[sub]\ns1\n");
    write(&d, "group_vars/web.yml", "gv: web\n");
    write(&d, "host_vars/d1/a.yml", "hv: 1\n");
    write(&d, "host_vars/d1/b.yml", "hv: 2\n");
    let inv = Inventory::load(std::slice::from_ref(&d)).unwrap();
    // `all: children:` links db under all while parsing; web joins all only at the end.
    assert_eq!(
        inv.select("all").unwrap(),
        vec!["d1", "w1", "e1", "o1", "s1"]
    );
    assert!(!inv.groups.contains_key("junk"));
    assert_eq!(inv.host_vars("w1", None).unwrap()["gv"], json!("web"));
    let d1 = inv.host_vars("d1", None).unwrap();
    assert_eq!(d1["hv"], json!(2));
    assert_eq!(d1["z"], json!(1));
    assert_eq!(inv.hosts["e1"].vars["j"], json!(true));
    assert_eq!(inv.source_dirs, vec![d.clone()]);
}

#[test]
fn host_list_source() {
    let inv = Inventory::load(&[PathBuf::from("a, b:2222,")]).unwrap();
    assert_eq!(inv.select("all").unwrap(), vec!["a", "b"]);
    assert_eq!(inv.group_names("a"), vec!["ungrouped"]);
    assert_eq!(
        inv.host_vars("b", None).unwrap()["ansible_port"],
        json!(2222)
    );
    assert!(inv.load_warnings().is_empty());
}

#[test]
fn runtime_add_host() {
    let (_t, mut inv) = pattern_inventory();
    let mut vars = Map::new();
    vars.insert("k".into(), json!("v"));
    inv.add_host("new1", &["newgroup".into()], vars);
    assert_eq!(inv.select("newgroup").unwrap(), vec!["new1"]);
    assert_eq!(inv.host_vars("new1", None).unwrap()["k"], json!("v"));
    assert_eq!(
        inv.groups["all"].children.last().map(String::as_str),
        Some("newgroup")
    );
    inv.add_host("new2", &[], Map::new());
    assert_eq!(inv.group_names("new2"), vec!["ungrouped"]);
    inv.add_to_group("new2", "web");
    assert_eq!(inv.group_names("new2"), vec!["app", "web"]);
    assert_eq!(inv.select("web[-1]").unwrap(), vec!["new2"]);
    inv.add_child_group("newgroup", "staging").unwrap();
    assert!(inv.add_child_group("staging", "newgroup").is_err());
}
