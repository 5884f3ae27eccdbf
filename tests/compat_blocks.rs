//! Block / error-handling behaviour compared against ansible-core 2.19.

mod common;
use common::*;

const TWO_HOSTS: &str = "[web]\nalpha\nbeta\n[web:vars]\nansible_connection=local\n";

fn two_hosts(yaml: &str, extra: &[&str]) -> (tempfile::TempDir, Run) {
    let dir = project(&[("site.yml", yaml), ("hosts", TWO_HOSTS)]);
    let mut args = vec!["-i", "hosts", "site.yml"];
    args.extend_from_slice(extra);
    let run = run_in(dir.path(), &args);
    (dir, run)
}

#[test]
fn any_errors_fatal_still_runs_always() {
    let (_d, r) = two_hosts(
        r#"
- hosts: web
  gather_facts: no
  any_errors_fatal: true
  tasks:
    - block:
        - fail: msg=boom
          when: inventory_hostname == 'alpha'
      always:
        - name: cleanup
          debug: msg="cleanup ran"
    - name: next
      debug: msg="SHOULD NOT RUN"
"#,
        &[],
    );
    r.assert_code(2);
    assert!(!r.stdout.contains("SHOULD NOT RUN"), "{}", r.stdout);
    r.out_contains("ok: [alpha]");
    r.assert_recap("alpha", "ok=1 failed=1");
}

#[test]
fn any_errors_fatal_failure_in_rescue_still_runs_always() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  any_errors_fatal: true
  tasks:
    - block:
        - command: /bin/false
      rescue:
        - command: /bin/false
      always:
        - name: cleanup
          debug: msg="cleanup ran"
"#,
        &[],
    );
    r.assert_code(2);
    r.out_contains("cleanup ran");
    r.assert_recap("localhost", "ok=1 failed=1 rescued=1");
}

#[test]
fn clear_host_errors_resets_failed_hosts() {
    let (_d, r) = two_hosts(
        r#"
- hosts: web
  gather_facts: no
  tasks:
    - fail: msg=boom
      when: inventory_hostname == 'beta'
    - meta: clear_host_errors
    - name: after clear
      debug: msg=after
"#,
        &[],
    );
    // Ansible keeps failed=1 in the recap but the run succeeds.
    r.assert_code(0);
    r.assert_recap("beta", "failed=1");
}

#[test]
fn meta_task_prints_banner() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - meta: noop
    - debug: msg=x
"#,
        &[],
    );
    r.assert_code(0);
    r.out_contains("TASK [meta] ***");
}

#[test]
fn rescue_sees_failed_task_and_result() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - block:
        - name: breaks
          command: /bin/false
      rescue:
        - assert:
            that:
              - ansible_failed_task.name == 'breaks'
              - ansible_failed_result.rc == 1
      always:
        - debug: msg=always
"#,
        &[],
    );
    r.assert_code(0);
    r.assert_recap("localhost", "ok=2 changed=0 failed=0 rescued=1");
}

#[test]
fn nested_always_runs_after_inner_failure_then_play_fails() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - block:
        - block:
            - fail: msg=inner
          always:
            - debug: msg="inner always"
      always:
        - debug: msg="outer always"
    - debug: msg="SHOULD NOT RUN"
"#,
        &[],
    );
    r.assert_code(2);
    r.out_contains("inner always");
    r.out_contains("outer always");
    assert!(!r.stdout.contains("SHOULD NOT RUN"));
    r.assert_recap("localhost", "ok=2 failed=1");
}
