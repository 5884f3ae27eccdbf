//! Round 2: file lookups from inside roles, compared against ansible-core 2.19.

mod common;
use common::*;

#[test]
fn first_found_in_role_finds_task_files() {
    // The usual "OS-specific tasks with a default" idiom (setup_remote_tmp_dir uses it).
    let dir = project(&[
        (
            "site.yml",
            "- hosts: localhost\n  gather_facts: no\n  vars:\n    flavour: plan9\n  roles: [app]\n",
        ),
        ("hosts", LOCAL_INVENTORY),
        (
            "roles/app/tasks/main.yml",
            r#"
- include_tasks: "{{ lookup('first_found', ['setup-' ~ flavour ~ '.yml', 'setup-default.yml']) }}"
"#,
        ),
        (
            "roles/app/tasks/setup-default.yml",
            "- debug:\n    msg: generic setup for {{ flavour }}\n",
        ),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    r.out_contains("generic setup for plan9");
    r.assert_recap("localhost", "ok=2 failed=0");
}

#[test]
fn first_found_with_paths_loads_role_vars() {
    // Passes today: kept as a guard next to the failing variant above.
    let dir = project(&[
        (
            "site.yml",
            "- hosts: localhost\n  gather_facts: no\n  vars:\n    flavour: plan9\n  roles: [app]\n",
        ),
        ("hosts", LOCAL_INVENTORY),
        (
            "roles/app/tasks/main.yml",
            r#"
- include_vars: "{{ lookup('first_found', params) }}"
  vars:
    params:
      files: ["{{ flavour }}.yml", default.yml]
      paths: [vars]
- assert:
    that: pkg == 'nginx-default'
"#,
        ),
        ("roles/app/vars/default.yml", "pkg: nginx-default\n"),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    r.assert_recap("localhost", "ok=2 failed=0");
}

#[test]
fn fileglob_in_role_searches_playbook_dir() {
    let dir = project(&[
        (
            "site.yml",
            "- hosts: localhost\n  gather_facts: no\n  roles: [r]\n",
        ),
        ("hosts", LOCAL_INVENTORY),
        ("conf.txt", "next to the playbook\n"),
        ("files/extra.txt", "in the playbook's files/\n"),
        (
            "roles/r/tasks/main.yml",
            r#"
- assert:
    that:
      - q('fileglob', 'conf.*') | map('basename') | list == ['conf.txt']
      - q('fileglob', 'extra.*') | map('basename') | list == ['extra.txt']
"#,
        ),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    r.assert_recap("localhost", "ok=1 failed=0");
}

#[test]
fn include_tasks_loop_index_var_visible_inside() {
    let dir = project(&[
        (
            "site.yml",
            r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - include_tasks: step.yml
      loop: [a, b]
      loop_control:
        index_var: idx
"#,
        ),
        ("hosts", LOCAL_INVENTORY),
        (
            "step.yml",
            "- debug:\n    msg: \"step {{ idx }}={{ item }}\"\n",
        ),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    r.out_contains("\"msg\": \"step 0=a\"");
    r.out_contains("\"msg\": \"step 1=b\"");
    r.assert_recap("localhost", "ok=4 failed=0");
}

#[test]
fn failure_in_looped_include_stops_the_host() {
    let dir = project(&[
        (
            "site.yml",
            r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - include_tasks: step.yml
      loop: [1, 2, 3]
"#,
        ),
        ("hosts", LOCAL_INVENTORY),
        ("step.yml", "- fail:\n    msg: \"boom {{ item }}\"\n"),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(2);
    r.out_contains("boom 1");
    assert!(!r.stdout.contains("boom 2"), "{}", r.stdout);
    r.assert_recap("localhost", "ok=3 failed=1");
}
