//! Round 2: play flow (serial, handlers, meta), compared against ansible-core 2.19.

mod common;
use common::*;

const TWO_LOCAL_HOSTS: &str =
    "localhost ansible_connection=local\ntesthost ansible_connection=local\n";

fn run_two_hosts(yaml: &str, extra: &[(&str, &str)]) -> (tempfile::TempDir, Run) {
    let mut files = vec![("site.yml", yaml), ("hosts", TWO_LOCAL_HOSTS)];
    files.extend_from_slice(extra);
    let dir = project(&files);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    (dir, r)
}

#[test]
fn end_play_with_serial_skips_later_batches() {
    let (_d, r) = run_two_hosts(
        r#"
- hosts: localhost,testhost
  gather_facts: no
  serial: 1
  tasks:
    - debug:
        msg: "batch {{ inventory_hostname }}"
    - meta: end_play
    - fail:
        msg: never
"#,
        &[],
    );
    r.assert_code(0);
    r.out_contains("batch localhost");
    assert!(!r.stdout.contains("batch testhost"), "{}", r.stdout);
    assert!(
        !r.stdout.contains("\ntesthost "),
        "testhost must not appear in the recap:\n{}",
        r.stdout
    );
}

#[test]
fn handler_included_tasks_use_handler_banner() {
    let (_d, r) = run_two_hosts(
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - command: "true"
      notify: cleanup
  handlers:
    - name: cleanup
      include_tasks: cleanup.yml
"#,
        &[("cleanup.yml", "- debug:\n    msg: cleaning\n")],
    );
    r.assert_code(0);
    r.out_contains("RUNNING HANDLER [cleanup] ***");
    r.out_contains("RUNNING HANDLER [debug] ***");
    assert!(!r.stdout.contains("TASK [debug]"), "{}", r.stdout);
    r.assert_recap("localhost", "ok=3 changed=1");
}

#[test]
fn templated_action_module_per_host() {
    let (_d, r) = run_two_hosts(
        r#"
- hosts: localhost,testhost
  gather_facts: no
  tasks:
    - set_fact:
        mod: "{{ 'debug' if inventory_hostname == 'localhost' else 'ping' }}"
    - action:
        module: "{{ mod }}"
      register: out
    - assert:
        that: "('msg' in out) == (inventory_hostname == 'localhost')"
"#,
        &[],
    );
    r.assert_code(0);
    r.assert_recap("localhost", "ok=3 failed=0");
    r.assert_recap("testhost", "ok=3 failed=0");
}

#[test]
fn ini_inventory_python_set_literals() {
    let dir = project(&[
        (
            "site.yml",
            r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - assert:
        that:
          - empty_set == []
          - some_set == [1, 2]
          - value_tuple == [1, 2]
"#,
        ),
        (
            "hosts",
            "localhost ansible_connection=local empty_set=set() some_set={1,2} value_tuple=(1,2)\n",
        ),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    r.assert_recap("localhost", "ok=1 failed=0");
}
