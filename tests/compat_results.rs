//! Registered results, loops and conditionals compared against ansible-core 2.19.

mod common;
use common::*;

#[test]
fn registered_result_always_has_failed_key() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - shell: "true"
      register: out
    - assert:
        that:
          - "'failed' in out"
          - out.failed == false
"#,
        &[],
    );
    r.assert_code(0);
    r.assert_recap("localhost", "ok=2 changed=1 failed=0");
}

#[test]
fn contains_test_matches_substrings() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  vars:
    status: "deployment rolled out"
  tasks:
    - assert:
        that:
          - status is contains('rolled out')
          - status is not contains('failed')
          - "[1, 2] is contains(2)"
"#,
        &[],
    );
    r.assert_code(0);
    r.assert_recap("localhost", "ok=1 failed=0");
}

#[test]
fn ignored_changed_failure_counts_as_changed() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - command: /bin/false
      ignore_errors: true
"#,
        &[],
    );
    r.assert_code(0);
    r.assert_recap("localhost", "ok=1 changed=1 failed=0 ignored=1");
}

#[test]
fn loop_break_when_stops_after_item() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - debug: var=item
      loop: [1, 2, 3, 4]
      loop_control:
        break_when: item >= 2
      register: seen
    - assert:
        that: seen.results | length == 2
"#,
        &[],
    );
    r.assert_code(0);
    r.assert_recap("localhost", "ok=2 failed=0");
}

#[test]
fn loop_extended_vars_visible_in_failed_when() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - debug: msg="{{ item }}"
      loop: [a, b]
      loop_control:
        extended: true
      failed_when: ansible_loop.index > 5
      changed_when: ansible_loop.last
"#,
        &[],
    );
    r.assert_code(0);
    r.assert_recap("localhost", "ok=1 changed=1 failed=0");
}

#[test]
fn register_with_non_identifier_is_an_error() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - debug: msg=hi
      register: 200
"#,
        &[],
    );
    r.assert_code(4);
    r.err_contains("Invalid variable name");
}

#[test]
fn failed_when_sees_the_current_result() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - assert:
        that: 1 == 2
        fail_msg: boom
      register: res
      failed_when: res.msg != "boom" or res is not failed
    - shell: exit 3
      register: res
      failed_when: res.rc not in [0, 3]
      changed_when: false
"#,
        &[],
    );
    r.assert_code(0);
    r.assert_recap("localhost", "ok=2 changed=0 failed=0");
}
