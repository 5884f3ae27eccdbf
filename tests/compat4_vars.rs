//! Round 4: variables and inventory differences found with ansible-core's runme.sh targets
//! (bench/compat/runme.sh). Each test asserts what ansible-playbook 2.19 does on the same
//! small case.

mod common;
use common::*;

#[test]
fn include_vars_folded_raw_params_and_hash_merge_with_existing_vars() {
    let dir = project(&[
        (
            "site.yml",
            concat!(
                "- hosts: localhost\n  gather_facts: no\n  tasks:\n",
                "    - include_vars: >\n        one.yml\n",
                "    - include_vars:\n        file: two.yml\n        hash_behaviour: merge\n",
                "    - assert:\n        that:\n          - \"cfg == {'a': 1, 'b': {'x': 1, 'y': 2}, 'c': 3}\"\n",
                // Within one include, files replace each other's keys; outside a role `dir` is
                // relative to the task's file.
                "    - include_vars:\n        dir: d\n        hash_behaviour: merge\n",
                "    - assert:\n        that:\n          - \"cfg == {'a': 1, 'b': {'x': 1, 'y': 2, 'z': 9}, 'c': 3}\"\n",
                // A single file loads whatever its extension.
                "    - include_vars: file=noext\n",
                "    - assert:\n        that:\n          - plain == 'yes'\n          - plain is ansible._protomatter.tagged_with('TrustedAsTemplate')\n",
            ),
        ),
        ("hosts", LOCAL_INVENTORY),
        ("vars/one.yml", "cfg: {a: 1, b: {x: 1}}\n"),
        ("vars/two.yml", "cfg: {b: {y: 2}, c: 3}\n"),
        ("d/1.yml", "cfg: {b: {q: 0}}\n"),
        ("d/2.yml", "cfg: {b: {z: 9}}\n"),
        ("vars/noext", "plain: 'yes'\n"),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    r.assert_recap("localhost", "ok=7 changed=0 failed=0");
}

#[test]
fn vars_files_are_templated_per_host() {
    let dir = project(&[
        (
            "site.yml",
            concat!(
                "- hosts: all\n  gather_facts: no\n",
                "  vars_files:\n    - [\"vars/{{ flavour }}.yml\", vars/default.yml]\n",
                "  tasks:\n    - copy:\n        content: \"{{ picked }}\"\n        dest: \"{{ playbook_dir }}/out_{{ inventory_hostname }}\"\n",
            ),
        ),
        (
            "hosts",
            "a ansible_connection=local flavour=red\nb ansible_connection=local flavour=blue\n",
        ),
        ("vars/red.yml", "picked: red\n"),
        ("vars/default.yml", "picked: default\n"),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    let read = |h: &str| std::fs::read_to_string(dir.path().join(format!("out_{h}"))).unwrap();
    assert_eq!(read("a"), "red");
    assert_eq!(read("b"), "default");
}

#[test]
fn ini_inventory_empty_set_literal_is_an_empty_list() {
    let dir = project(&[
        (
            "site.yml",
            "- hosts: all\n  gather_facts: no\n  tasks:\n    - assert:\n        that:\n          - e == []\n          - l == [[], 1]\n",
        ),
        (
            "hosts",
            "[g]\nlocalhost ansible_connection=local\n[g:vars]\ne=set()\nl=[set(), 1]\n",
        ),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    r.assert_recap("localhost", "ok=1 failed=0");
}

#[test]
fn set_fact_refuses_jinja_keywords_and_numbers_as_names() {
    let (_d, r) = play(
        concat!(
            "- hosts: localhost\n  gather_facts: no\n  tasks:\n",
            "    - set_fact:\n        \"{{ 'true' }}\": v\n      register: r1\n      ignore_errors: true\n",
            "    - set_fact:\n        \"{{ 1 }}\": v\n      register: r2\n      ignore_errors: true\n",
            "    - assert:\n        that:\n          - r1 is failed\n          - \"r1.msg is contains \\\"Invalid variable name 'true'\\\"\"\n          - \"r2.msg is contains \\\"Invalid variable name '1' of type 'int'\\\"\"\n",
        ),
        &[],
    );
    r.assert_code(0);
    r.assert_recap("localhost", "ok=3 failed=0 skipped=0 rescued=0 ignored=2");
}

#[test]
fn a_dependency_sees_the_params_of_the_role_that_depends_on_it() {
    let dir = project(&[
        (
            "site.yml",
            "- hosts: localhost\n  gather_facts: no\n  roles:\n    - { role: parent, p: from_parent }\n",
        ),
        ("hosts", LOCAL_INVENTORY),
        ("roles/parent/meta/main.yml", "dependencies:\n  - dep\n"),
        ("roles/parent/tasks/main.yml", "- debug: msg=parent\n"),
        (
            "roles/dep/tasks/main.yml",
            "- copy:\n    content: \"{{ p }}\"\n    dest: \"{{ playbook_dir }}/dep_saw\"\n",
        ),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    let saw = std::fs::read_to_string(dir.path().join("dep_saw")).unwrap();
    assert_eq!(saw, "from_parent");
}

#[test]
fn include_tasks_vars_are_include_params_above_set_fact_and_include_vars() {
    let dir = project(&[
        (
            "site.yml",
            concat!(
                "- hosts: localhost\n  gather_facts: no\n  tasks:\n",
                "    - set_fact: findme=set_fact\n",
                "    - include_vars: iv.yml\n",
                "    - include_tasks: inc.yml\n      vars:\n        findme: include_params\n",
            ),
        ),
        ("hosts", LOCAL_INVENTORY),
        ("iv.yml", "findme: include_vars\n"),
        (
            "inc.yml",
            "- block:\n    - assert:\n        that: findme == 'include_params'\n  vars:\n    findme: block_vars\n",
        ),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    r.assert_recap("localhost", "ok=4 failed=0");
}

fn run_env(dir: &std::path::Path, env: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_yiqiu-play"));
    for (k, _) in std::env::vars() {
        if k.starts_with("ANSIBLE_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("HOME", dir)
        .env("ANSIBLE_NOCOLOR", "1")
        .current_dir(dir);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.args(args).output().expect("run yiqiu-play")
}

#[test]
fn advanced_host_list_expands_ranges_only_when_enabled() {
    let dir = project(&[]);
    let adhoc = |env: &[(&str, &str)], inv: &str| {
        let out = run_env(
            dir.path(),
            env,
            &["adhoc", "-i", inv, "-m", "ping", "-c", "local", "all"],
        );
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    };
    let enabled = [
        ("ANSIBLE_INVENTORY_ENABLED", "advanced_host_list"),
        ("ANSIBLE_LOAD_CALLBACK_PLUGINS", "1"),
        ("ANSIBLE_STDOUT_CALLBACK", "oneline"),
    ];
    let out = adhoc(&enabled, "h[0:2],");
    for h in ["h0", "h1", "h2"] {
        assert!(
            out.contains(&format!(
                "{h} | SUCCESS => {{\"changed\": false,\"ping\": \"pong\"}}"
            )),
            "{out}"
        );
    }
    let out = adhoc(&enabled, "h[1:j],");
    assert!(
        out.contains("Failed to parse inventory with 'advanced_host_list' plugin: Invalid data from string, could not parse: invalid literal for int() with base 10: 'j'"),
        "{out}"
    );
    // The default host_list plugin takes the entry as one name.
    let out = adhoc(&[], "h[0:2],");
    assert!(out.contains("h[0:2] | SUCCESS"), "{out}");
}

#[test]
fn invalid_group_names_are_kept_or_replaced_as_transform_invalid_group_chars_says() {
    let dir = project(&[
        ("hosts", "[web-a]\nlocalhost ansible_connection=local\n"),
        (
            "site.yml",
            "- hosts: all\n  gather_facts: no\n  tasks:\n    - copy:\n        content: \"{{ group_names | join(',') }}\"\n        dest: \"{{ playbook_dir }}/groups\"\n",
        ),
    ]);
    let groups = || std::fs::read_to_string(dir.path().join("groups")).unwrap();
    let env = [("ANSIBLE_TRANSFORM_INVALID_GROUP_CHARS", "never")];
    let out = run_env(
        dir.path(),
        &env,
        &["-i", "hosts", "site.yml", "-l", "web-a"],
    );
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("[WARNING]: Invalid characters were found in group names but not replaced"),
        "{err}"
    );
    assert_eq!(groups(), "web-a");
    let env = [("ANSIBLE_TRANSFORM_INVALID_GROUP_CHARS", "always")];
    let out = run_env(
        dir.path(),
        &env,
        &["-i", "hosts", "site.yml", "-l", "web_a"],
    );
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Invalid characters were found in group names and automatically replaced"),
        "{err}"
    );
    assert_eq!(groups(), "web_a");
    let env = [("ANSIBLE_TRANSFORM_INVALID_GROUP_CHARS", "silently")];
    let out = run_env(dir.path(), &env, &["-i", "hosts", "site.yml"]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("Invalid characters"));
}

#[test]
fn a_failure_from_failed_when_is_the_actions_and_says_unknown_error() {
    let (_d, r) = play(
        concat!(
            "- hosts: localhost\n  gather_facts: no\n  tasks:\n",
            "    - ping:\n      failed_when: true\n      ignore_errors: true\n      register: r\n",
            "    - assert:\n        that:\n          - \"r.msg == 'Task failed: Action failed: Unknown error.'\"\n",
        ),
        &[],
    );
    r.assert_code(0);
    r.out_contains("[ERROR]: Task failed: Action failed: Unknown error.");
    r.assert_recap("localhost", "ok=2 failed=0 ignored=1");
}

#[test]
fn clear_host_errors_brings_failed_and_unreachable_hosts_into_the_next_play() {
    let dir = project(&[
        (
            "hosts",
            "a ansible_connection=local\nb ansible_connection=local\nc ansible_connection=ssh ansible_host=127.0.0.1 ansible_port=1\n",
        ),
        (
            "site.yml",
            concat!(
                "- hosts: all\n  gather_facts: no\n  tasks:\n",
                "    - ping:\n      failed_when: inventory_hostname == 'b'\n",
                "    - meta: clear_host_errors\n",
                "- hosts: all\n  gather_facts: no\n  tasks:\n",
                "    - ping:\n      failed_when: inventory_hostname == 'b'\n",
                "- hosts: all\n  gather_facts: no\n  tasks:\n",
                "    - copy:\n        content: \"{{ ansible_play_hosts | join(',') }} {{ ansible_play_hosts_all | join(',') }}\"\n        dest: \"{{ playbook_dir }}/seen\"\n",
            ),
        ),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(4);
    r.assert_recap("b", "ok=0 failed=2");
    r.assert_recap("c", "unreachable=2");
    let seen = std::fs::read_to_string(dir.path().join("seen")).unwrap();
    assert_eq!(seen, "a a,b,c");
}

fn inventory_cmd(dir: &std::path::Path, args: &[&str]) -> (String, String) {
    let mut all = vec!["inventory"];
    all.extend_from_slice(args);
    let out = run_env(dir, &[], &all);
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn generator_inventory_builds_hosts_and_groups_from_layers() {
    let dir = project(&[
        (
            "gen.yml",
            concat!(
                "plugin: ansible.builtin.generator\n",
                "hosts:\n  name: \"{{ op }}_{{ env }}\"\n  parents:\n",
                "    - name: \"{{ op }}\"\n      parents:\n        - name: ops\n",
                "    - name: \"{{ env }}\"\n      vars:\n        env_name: \"{{ env }}\"\n        later: {k: \"{{ play_var }}\"}\n",
                "layers:\n  op: [build, run]\n  env: [dev, prod]\n",
            ),
        ),
        (
            "site.yml",
            concat!(
                "- hosts: dev\n  gather_facts: no\n  connection: local\n  vars:\n    play_var: alive\n  tasks:\n",
                "    - assert:\n        that:\n          - groups.ops | sort == ['build_dev', 'build_prod', 'run_dev', 'run_prod']\n          - env_name == 'dev'\n          - later.k == 'alive'\n",
            ),
        ),
        (
            "bad.yml",
            "plugin: generator\nhosts:\n  name: h\n  parents:\n    - {}\nlayers:\n  x: [1]\n",
        ),
    ]);
    let r = run_in(dir.path(), &["-i", "gen.yml", "site.yml"]);
    r.assert_code(0);
    r.assert_recap("build_dev", "ok=1 failed=0");
    r.assert_recap("run_dev", "ok=1 failed=0");
    let (out, err) = inventory_cmd(dir.path(), &["-i", "bad.yml", "--list", "--export"]);
    assert!(
        err.contains(
            "Failed to parse inventory with 'auto' plugin: Element h has a parent with no name."
        ),
        "{err}"
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["_meta"]["hostvars"], serde_json::json!({}));
}

#[test]
fn constructed_inventory_keyed_groups_groups_and_compose() {
    let dir = project(&[
        (
            "static.yml",
            "all:\n  hosts:\n    h0:\n      tags: {name: web, status: ''}\n      roles: [db, '']\n      size: 3\n",
        ),
        (
            "cons.yml",
            concat!(
                "plugin: ansible.builtin.constructed\nstrict: true\n",
                "compose:\n  double: size * 2\n",
                "groups:\n  big: double > 5\n  small: double < 5\n",
                "keyed_groups:\n",
                "  - key: tags\n    prefix: tag\n",
                "  - key: tags\n    prefix: t2\n    default_value: none\n",
                "  - key: roles\n    prefix: role\n    default_value: other\n",
                "  - key: tags.name\n",
                "  - key: tags.name\n    separator: '-x-'\n",
            ),
        ),
    ]);
    let (out, err) = inventory_cmd(
        dir.path(),
        &["-i", "static.yml", "-i", "cons.yml", "--graph"],
    );
    for g in [
        "@tag_name_web:",
        "@tag_status_:",
        "@t2_status_none:",
        "@role_db:",
        "@role_other:",
        "@_web:",
        "@_x_web:",
        "@big:",
    ] {
        assert!(out.contains(g), "{g} missing in {out}\n{err}");
    }
    assert!(!out.contains("@small"), "{out}");
    let (out, _) = inventory_cmd(
        dir.path(),
        &["-i", "static.yml", "-i", "cons.yml", "--host", "h0"],
    );
    assert!(out.contains("\"double\": 6"), "{out}");
}

#[test]
fn a_role_with_only_vars_makes_them_visible_to_the_play() {
    let dir = project(&[
        (
            "site.yml",
            concat!(
                "- hosts: localhost\n  gather_facts: no\n  vars_files: [vf.yml]\n  roles: [onlyvars]\n  tasks:\n",
                "    - assert:\n        that: findme == 'role_var'\n",
            ),
        ),
        ("hosts", LOCAL_INVENTORY),
        ("vf.yml", "findme: vars_file\n"),
        ("roles/onlyvars/vars/main.yml", "findme: role_var\n"),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    r.assert_recap("localhost", "ok=1 failed=0");
}

#[test]
fn jsonfile_fact_cache_keeps_cacheable_facts_between_runs_until_flushed() {
    let dir = project(&[
        ("hosts", LOCAL_INVENTORY),
        (
            "one.yml",
            "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - set_fact:\n        ansible_kept: yes_kept\n        cacheable: true\n    - set_fact:\n        not_kept: x\n",
        ),
        (
            "two.yml",
            "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - assert:\n        that:\n          - ansible_kept == 'yes_kept'\n          - not_kept is undefined\n",
        ),
        (
            "three.yml",
            "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - assert:\n        that: ansible_kept is undefined\n",
        ),
    ]);
    let cache = dir.path().join("cache");
    let cache_s = cache.display().to_string();
    let env = [
        ("ANSIBLE_CACHE_PLUGIN", "jsonfile"),
        ("ANSIBLE_CACHE_PLUGIN_CONNECTION", cache_s.as_str()),
        ("ANSIBLE_CACHE_PLUGIN_PREFIX", "pre_"),
    ];
    let code = |args: &[&str]| run_env(dir.path(), &env, args).status.code();
    assert_eq!(code(&["-i", "hosts", "one.yml"]), Some(0));
    assert!(cache.join("pre_localhost").is_file());
    assert_eq!(code(&["-i", "hosts", "two.yml"]), Some(0));
    assert_eq!(
        code(&["-i", "hosts", "--flush-cache", "three.yml"]),
        Some(0)
    );
}

#[test]
fn task_args_may_not_start_with_the_reserved_ansible_prefix() {
    let (_d, r) = play(
        "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - set_fact:\n        _ansible_foo: bar\n      ignore_errors: yes\n",
        &[],
    );
    r.assert_code(1);
    r.err_contains("[ERROR]: Invalid parameter specified beginning with keyword '_ansible_' for action 'set_fact': '_ansible_foo'. The prefix '_ansible_' is reserved for internal use only.");
}
