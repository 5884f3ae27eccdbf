//! Playbook structure (roles, imports, hosts) compared against ansible-core 2.19.

mod common;
use common::*;

#[test]
fn empty_hosts_list_is_an_error() {
    let (_d, r) = play(
        r#"
- hosts: []
  gather_facts: no
  tasks:
    - debug:
        msg: must not run
"#,
        &[],
    );
    r.assert_code(4);
    r.err_contains("Hosts list cannot be empty");
    assert!(!r.stdout.contains("must not run"), "{}", r.stdout);
}

#[test]
fn playbook_without_plays_is_an_error() {
    let (_d, r) = play("[]\n", &[]);
    r.assert_code(4);
    r.err_contains("A playbook must contain at least one play");
}

#[test]
fn role_include_shorthand_name_param() {
    let dir = project(&[
        (
            "site.yml",
            r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - include_role: name=web
    - import_role: name=web
"#,
        ),
        (
            "roles/web/tasks/main.yml",
            "- debug:\n    msg: web role ran\n",
        ),
        ("hosts", LOCAL_INVENTORY),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    r.assert_recap("localhost", "ok=3 failed=0");
}

#[test]
fn import_playbook_vars_reach_imported_plays() {
    let dir = project(&[
        (
            "site.yml",
            r#"
- import_playbook: deploy.yml
  vars:
    k8s_ns: planet-ns
"#,
        ),
        (
            "deploy.yml",
            r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - assert:
        that: k8s_ns == 'planet-ns'
"#,
        ),
        ("hosts", LOCAL_INVENTORY),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    r.assert_recap("localhost", "ok=1 failed=0");
}

#[test]
fn set_fact_templated_key() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - set_fact:
        "{{ key_name }}": "{{ key_value }}"
      vars:
        key_name: image_tag
        key_value: v1.2
    - assert:
        that: image_tag == 'v1.2'
"#,
        &[],
    );
    r.assert_code(0);
    r.assert_recap("localhost", "ok=2 failed=0");
}

#[test]
fn role_defaults_vars_and_tags() {
    let dir = project(&[
        (
            "site.yml",
            r#"
- hosts: localhost
  gather_facts: no
  roles:
    - role: app
      tags: [initialize]
"#,
        ),
        ("roles/app/defaults/main.yml", "replicas: 1\nns: default\n"),
        ("roles/app/vars/main.yml", "ns: planet\n"),
        (
            "roles/app/tasks/main.yml",
            "- assert:\n    that:\n      - replicas == 1\n      - ns == 'planet'\n",
        ),
        ("hosts", LOCAL_INVENTORY),
    ]);
    let r = run_in(
        dir.path(),
        &["-i", "hosts", "site.yml", "--tags", "initialize"],
    );
    r.assert_code(0);
    r.assert_recap("localhost", "ok=1 failed=0");
}
