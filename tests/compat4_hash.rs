//! Round 4: `hash_behaviour = merge`, found running ansible-core 2.19.14's `hash` target
//! side by side. Each test asserts Ansible's behaviour.

mod common;
use common::*;

/// A project whose `test_hash` dict is set in five layers; the play writes what it sees.
fn layered_project(cfg: &str) -> tempfile::TempDir {
    project(&[
        ("ansible.cfg", cfg),
        ("hosts", "localhost ansible_connection=local\n"),
        ("group_vars/all.yml", "test_hash: {group: g, shared: {a: g}}\n"),
        ("roles/r/defaults/main.yml", "test_hash: {defaults: d}\n"),
        ("roles/r/vars/main.yml", "test_hash: {role_vars: rv}\n"),
        (
            "roles/r/tasks/main.yml",
            "- copy:\n    content: \"{{ test_hash | to_json }}\"\n    dest: \"{{ playbook_dir }}/out.json\"\n",
        ),
        ("v.yml", "test_hash: {vars_file: vf, shared: {b: vf}}\n"),
        (
            "site.yml",
            r#"
- hosts: localhost
  gather_facts: no
  vars_files: [v.yml]
  vars:
    test_hash: {play: p}
  roles:
    - role: r
      test_hash: {param: rp}
"#,
        ),
    ])
}

fn seen(dir: &tempfile::TempDir) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.path().join("out.json")).expect("out.json");
    serde_json::from_str(&text).expect("json")
}

#[test]
fn merge_combines_dicts_of_every_layer_recursively() {
    let dir = layered_project("[defaults]\nhash_behaviour = merge\n");
    let r = run_in(
        dir.path(),
        &[
            "-i",
            "hosts",
            "site.yml",
            "-e",
            r#"{"test_hash": {"extra": "e"}}"#,
        ],
    );
    r.assert_code(0);
    assert_eq!(
        seen(&dir),
        serde_json::json!({
            "defaults": "d", "group": "g", "shared": {"a": "g", "b": "vf"}, "vars_file": "vf",
            "play": "p", "role_vars": "rv", "param": "rp", "extra": "e"
        })
    );
}

#[test]
fn replace_is_the_default_and_the_highest_layer_wins() {
    let dir = layered_project("[defaults]\n");
    let r = run_in(
        dir.path(),
        &[
            "-i",
            "hosts",
            "site.yml",
            "-e",
            r#"{"test_hash": {"extra": "e"}}"#,
        ],
    );
    r.assert_code(0);
    assert_eq!(seen(&dir), serde_json::json!({"extra": "e"}));
}

#[test]
fn merge_combines_a_host_var_set_by_two_inventory_sources() {
    let inv1 = "all:\n  hosts:\n    localhost: {ansible_connection: local, h: {one: 1, both: 1}}\n  vars:\n    g: {one: 1, both: 1}\n";
    let inv2 = "all:\n  hosts:\n    localhost: {h: {both: 2}}\n  vars:\n    g: {both: 2}\n";
    let site = r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - copy:
        content: "{{ {'h': hostvars['localhost']['h'], 'g': g} | to_json }}"
        dest: "{{ playbook_dir }}/out.json"
"#;
    for (cfg, want) in [
        (
            "[defaults]\nhash_behaviour = merge\n",
            serde_json::json!({"h": {"one": 1, "both": 2}, "g": {"one": 1, "both": 2}}),
        ),
        (
            "[defaults]\nhash_behaviour = replace\n",
            serde_json::json!({"h": {"both": 2}, "g": {"both": 2}}),
        ),
    ] {
        let dir = project(&[
            ("ansible.cfg", cfg),
            ("inv1.yml", inv1),
            ("inv2.yml", inv2),
            ("site.yml", site),
        ]);
        let r = run_in(
            dir.path(),
            &["-i", "inv1.yml", "-i", "inv2.yml", "site.yml"],
        );
        r.assert_code(0);
        assert_eq!(seen(&dir), want, "{cfg}");
    }
}

#[test]
fn an_unknown_hash_behaviour_is_an_error() {
    let dir = layered_project("[defaults]\nhash_behaviour = deep\n");
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    assert_ne!(r.code, 0);
    assert!(!dir.path().join("out.json").exists());
}

#[test]
fn vvv_exec_line_of_a_become_task_shows_the_sudo_command() {
    // Ansible logs the command it runs, become wrapper included (the `var_templating`
    // target greps for it); become comes from templated connection variables.
    let dir = project(&[
        ("hosts", LOCAL_INVENTORY),
        (
            "site.yml",
            r#"
- hosts: localhost
  gather_facts: no
  vars:
    my: {become: 1, method: sudo}
    ansible_become: "{{ my.become }}"
    ansible_become_method: "{{ my.method }}"
  tasks:
    - command: echo hi
      ignore_errors: yes
    - command: echo plain
      become: no
"#,
        ),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml", "-vvvv"]);
    r.assert_code(0);
    let exec: Vec<&str> = r.stdout.lines().filter(|l| l.contains("EXEC ")).collect();
    assert!(
        exec.iter()
            .any(|l| l.contains("sudo -H -S -n -u root /bin/sh -c") && !l.contains("plain")),
        "{}",
        r.stdout
    );
    assert!(
        !exec
            .iter()
            .any(|l| l.contains("plain") && l.contains("sudo")),
        "{}",
        r.stdout
    );
}

#[test]
fn unsafe_values_are_never_templated_and_fail_as_expressions() {
    // `!unsafe` text renders as itself; as a conditional or a `debug: var` expression it
    // is refused as untrusted (ansible-core 2.19).
    let dir = project(&[
        ("hosts", LOCAL_INVENTORY),
        (
            "site.yml",
            r#"
- hosts: localhost
  gather_facts: no
  vars:
    raw_text: !unsafe '{{ "not " + "a template" }}'
    who: x
  tasks:
    - copy:
        content: "{{ raw_text }}|"
        dest: "{{ playbook_dir }}/out.txt"
    - debug:
      when: !unsafe 1 == 1
      ignore_errors: true
      register: cond
    - debug:
        var: !unsafe who
      ignore_errors: true
      register: var
    - debug:
        var: {not: a string}
      ignore_errors: true
      register: dict_var
    - assert:
        that:
          - cond is failed
          - "'untrusted template or expression' in cond.msg"
          - var is failed
          - "'untrusted template or expression' in var.msg"
          - dict_var is failed
          - "'is not a string and conversion is not allowed' in dict_var.msg"
"#,
        ),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    r.assert_recap(
        "localhost",
        "ok=5 changed=1 failed=0 skipped=0 rescued=0 ignored=3",
    );
    let out = std::fs::read_to_string(dir.path().join("out.txt")).expect("out.txt");
    assert_eq!(out, r#"{{ "not " + "a template" }}|"#);
}
