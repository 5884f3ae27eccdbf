//! Handler behaviour compared against ansible-core 2.19 (see tests/compat/NOTES.md).

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
fn notify_on_block_reaches_inner_tasks() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - name: restart group
      notify: reload service
      block:
        - name: config changed
          debug: msg=changed
          changed_when: true
  post_tasks:
    - assert:
        that: reloaded is defined
  handlers:
    - name: reload service
      set_fact:
        reloaded: 1
"#,
        &[],
    );
    r.assert_code(0);
    r.assert_recap("localhost", "ok=3 changed=1 failed=0");
    r.out_contains("RUNNING HANDLER [reload service]");
}

#[test]
fn flush_handlers_respects_when_false() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - command: echo hi
      notify: say
    - meta: flush_handlers
      when: false
    - fail: msg="stop here"
  handlers:
    - name: say
      debug: msg=handler ran
"#,
        &[],
    );
    r.assert_code(2);
    // The handler never gets a chance: the flush was skipped and the play failed.
    assert!(!r.stdout.contains("handler ran"), "{}", r.stdout);
    r.assert_recap("localhost", "ok=1 changed=1 failed=1");
}

#[test]
fn failed_host_does_not_run_its_handlers() {
    let (_d, r) = two_hosts(
        r#"
- hosts: web
  gather_facts: no
  tasks:
    - command: echo hi
      notify: h1
    - fail:
      when: inventory_hostname == 'beta'
    - meta: flush_handlers
  handlers:
    - name: h1
      debug: msg=handler1
"#,
        &[],
    );
    r.assert_code(2);
    r.assert_recap("alpha", "ok=2 changed=1 failed=0 skipped=1");
    r.assert_recap("beta", "ok=1 changed=1 failed=1");
}

#[test]
fn handler_failure_in_flush_goes_to_rescue() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - block:
        - debug: msg=go
          changed_when: true
          notify: broken
        - meta: flush_handlers
      rescue:
        - assert:
            that: ansible_failed_task is defined
  handlers:
    - name: broken
      fail: msg="handler broke"
"#,
        &[],
    );
    r.assert_code(0);
    r.assert_recap("localhost", "ok=2 changed=1 failed=0 rescued=1");
}

#[test]
fn any_errors_fatal_handler_failure_stops_all_hosts() {
    let (_d, r) = two_hosts(
        r#"
- hosts: web
  gather_facts: no
  any_errors_fatal: true
  tasks:
    - command: /bin/true
      notify: check
    - meta: flush_handlers
    - name: after flush
      debug: msg="SHOULD NOT RUN"
  handlers:
    - name: check
      command: "/bin/{{ (inventory_hostname == 'alpha') | ternary('true', 'false') }}"
"#,
        &[],
    );
    r.assert_code(2);
    // (The error block's source excerpt may quote the playbook line; the result must not.)
    assert!(
        !r.stdout.contains("\"msg\": \"SHOULD NOT RUN\""),
        "{}",
        r.stdout
    );
    r.assert_recap("alpha", "ok=2 changed=2 failed=0");
    r.assert_recap("beta", "ok=1 changed=1 failed=1");
}

#[test]
fn listen_topics_and_recursive_notify_match() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - command: echo one
      notify: web restart
  handlers:
    - name: first
      command: echo first
      listen: web restart
      notify: second
    - name: second
      debug: msg="second ran"
"#,
        &[],
    );
    r.assert_code(0);
    r.out_contains("RUNNING HANDLER [first]");
    r.out_contains("second ran");
    r.assert_recap("localhost", "ok=3 changed=2 failed=0");
}

/// `error_on_missing_handler` (default true): a notification of a handler that does not exist
/// ends the run; set to false it is a warning and the other notified handlers still run.
#[test]
fn missing_handler_is_an_error_unless_configured_otherwise() {
    let yaml = r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - command: "true"
      notify: [nope, present]
    - debug: msg=after
  handlers:
    - name: present
      debug: msg=handled
"#;
    let (_d, r) = play(yaml, &[]);
    // Ansible ends the whole run here: `[ERROR]`, exit 1, no result, no recap.
    r.assert_code(1);
    r.err_contains("[ERROR]: The requested handler 'nope' was not found in either the main handlers list nor in the listening handlers list");
    assert!(!r.stdout.contains("PLAY RECAP"), "{}", r.stdout);
    assert!(!r.stdout.contains("changed: [localhost]"), "{}", r.stdout);
    assert!(!r.stdout.contains("after"), "{}", r.stdout);
    assert!(!r.stdout.contains("handled"), "{}", r.stdout);
    let dir = project(&[
        ("site.yml", yaml),
        ("hosts", LOCAL_INVENTORY),
        (
            "ansible.cfg",
            "[defaults]\nerror_on_missing_handler = False\n",
        ),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(
        all.contains("[WARNING]: The requested handler 'nope' was not found"),
        "{all}"
    );
    r.out_contains("\"msg\": \"handled\"");
    r.assert_recap("localhost", "ok=3 changed=1 failed=0");
}
