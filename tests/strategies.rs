//! Strategies, failure limits, meta actions, no_log and inherited block keywords.

mod common;
use common::*;

fn two_hosts(yaml: &str, extra: &[&str]) -> (tempfile::TempDir, Run) {
    let d = project(&[
        (
            "hosts",
            "[pair]\nh1 ansible_connection=local\nh2 ansible_connection=local\n",
        ),
        ("site.yml", yaml),
    ]);
    let mut args = vec!["-i", "hosts", "site.yml"];
    args.extend_from_slice(extra);
    let r = run_in(d.path(), &args);
    (d, r)
}

#[test]
fn free_strategy_runs_every_host_to_the_end() {
    let (_d, r) = two_hosts(
        "- hosts: pair\n  gather_facts: no\n  strategy: free\n  tasks:\n    - command: echo a\n    - command: echo b\n    - debug: msg=done\n",
        &[],
    );
    r.assert_code(0);
    r.assert_recap("h1", "ok=3 changed=2");
    r.assert_recap("h2", "ok=3 changed=2");
}

#[test]
fn max_fail_percentage_aborts_the_batch() {
    let (_d, r) = two_hosts(
        "- hosts: pair\n  gather_facts: no\n  max_fail_percentage: 10\n  tasks:\n    - fail: msg=x\n      when: inventory_hostname == 'h1'\n    - debug: msg=after\n",
        &[],
    );
    r.assert_code(2);
    r.out_contains("NO MORE HOSTS LEFT");
    r.assert_recap("h2", "ok=0");
}

#[test]
fn meta_end_host_and_end_play() {
    let (_d, r) = two_hosts(
        r#"
- hosts: pair
  gather_facts: no
  tasks:
    - meta: end_host
      when: inventory_hostname == 'h1'
    - debug: msg=after-end-host
- hosts: pair
  gather_facts: no
  tasks:
    - meta: end_play
    - fail: msg=never
- hosts: pair
  gather_facts: no
  tasks:
    - debug: msg=third-play
"#,
        &[],
    );
    r.assert_code(0);
    r.assert_recap("h1", "ok=1 failed=0");
    r.assert_recap("h2", "ok=2 failed=0");
}

#[test]
fn no_log_hides_results() {
    let (_d, r) = play(
        "- hosts: localhost\n  gather_facts: no\n  vars: { s1: topsecret, s2: secret-fail }\n  tasks:\n    - command: echo {{ s1 }}\n      no_log: true\n    - fail: msg={{ s2 }}\n      no_log: true\n      ignore_errors: true\n",
        &["-v"],
    );
    r.assert_code(0);
    assert!(!r.stdout.contains("topsecret"), "{}", r.stdout);
    assert!(!r.stdout.contains("secret-fail"), "{}", r.stdout);
    r.out_contains("the output has been hidden");
}

#[test]
fn block_keywords_are_inherited() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - block:
        - debug: msg=one
        - debug: msg=two
      when: false
    - block:
        - shell: echo "$INHERITED"
          register: env_out
      environment: { INHERITED: from-block }
      vars: { block_var: 1 }
    - assert: { that: "env_out.stdout == 'from-block'" }
    - block:
        - fail: msg=ignored-inside
      ignore_errors: true
"#,
        &[],
    );
    r.assert_code(0);
    r.assert_recap("localhost", "skipped=2 ignored=1");
}

#[test]
fn check_mode_skips_commands_but_reports_them() {
    let (d, r) = play(
        "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - command: touch should-not-exist\n      register: r\n    - assert: { that: r is skipped }\n",
        &["--check"],
    );
    r.assert_code(0);
    assert!(!d.path().join("should-not-exist").exists());
}

#[test]
fn unreachable_host_is_counted_and_exit_code_is_4() {
    let d = project(&[
        ("hosts", "good ansible_connection=local\nbad ansible_host=127.0.0.1 ansible_port=1 ansible_connection=ssh\n"),
        ("site.yml", "- hosts: all\n  gather_facts: no\n  tasks:\n    - command: echo hi\n    - debug: msg=after\n"),
    ]);
    let r = run_in(d.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(4);
    r.assert_recap("bad", "unreachable=1");
    r.assert_recap("good", "ok=2 changed=1");
    r.out_contains("fatal: [bad]: UNREACHABLE!");
}
