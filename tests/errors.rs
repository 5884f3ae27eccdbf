//! Bad input gets a clear error with file:line:col and the right exit code, never a panic.

mod common;
use common::*;

#[test]
fn malformed_yaml_exits_4_with_origin() {
    let (_d, r) = play(
        "- hosts: localhost\n  tasks:\n    - debug: msg=\"unclosed\n",
        &[],
    );
    r.assert_code(4);
    r.err_contains("[ERROR]");
    r.err_contains("site.yml:");
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
}

#[test]
fn unknown_module_suggests_closest() {
    let (_d, r) = play("- hosts: localhost\n  tasks:\n    - debugg: msg=hi\n", &[]);
    r.assert_code(4);
    r.err_contains("couldn't resolve module/action 'debugg'");
    r.err_contains("Did you mean 'debug'");
    r.err_contains("site.yml:3:7");
}

#[test]
fn unknown_play_keyword_is_named() {
    let (_d, r) = play("- hosts: localhost\n  gather_fact: no\n  tasks: []\n", &[]);
    r.assert_code(4);
    r.err_contains("'gather_fact' is not a valid attribute for a Play");
    r.err_contains("Did you mean 'gather_facts'");
}

#[test]
fn unknown_module_argument_fails_the_task() {
    let (_d, r) = play(
        "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - debug: mgs=hi\n",
        &[],
    );
    r.assert_code(2);
    r.out_contains("Unsupported parameters for (debug) module: mgs");
}

#[test]
fn undefined_variable_names_variable_and_origin() {
    let (_d, r) = play(
        "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - name: use it\n      debug: msg=\"{{ nope }}\"\n",
        &[],
    );
    r.assert_code(2);
    r.out_contains("'nope' is undefined");
    r.out_contains("site.yml:4:7");
}

#[test]
fn variable_cycle_is_reported_with_chain() {
    let (_d, r) = play(
        "- hosts: localhost\n  gather_facts: no\n  vars: { a: \"{{ b }}\", b: \"{{ a }}\" }\n  tasks:\n    - debug: msg=\"{{ a }}\"\n",
        &[],
    );
    r.assert_code(2);
    r.out_contains("Recursive loop detected in template");
}

#[test]
fn missing_playbook_exits_1() {
    let d = project(&[]);
    let r = run_in(d.path(), &["nope.yml"]);
    r.assert_code(1);
    r.err_contains("nope.yml");
}

#[test]
fn bad_option_exits_2() {
    let d = project(&[("site.yml", "[]\n")]);
    let r = run_in(d.path(), &["--no-such-flag", "site.yml"]);
    r.assert_code(2);
}

#[test]
fn missing_role_is_a_parse_error() {
    let (_d, r) = play("- hosts: localhost\n  roles: [ghost]\n", &[]);
    r.assert_code(4);
    r.err_contains("the role 'ghost' was not found");
}

#[test]
fn import_cycle_is_detected() {
    let d = project(&[
        ("hosts", LOCAL_INVENTORY),
        (
            "site.yml",
            "- hosts: localhost\n  tasks:\n    - import_tasks: a.yml\n",
        ),
        ("a.yml", "- import_tasks: b.yml\n"),
        ("b.yml", "- import_tasks: a.yml\n"),
    ]);
    let r = run_in(d.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(4);
    r.err_contains("import cycle");
}

#[test]
fn nothing_runs_when_a_later_playbook_is_bad() {
    let d = project(&[
        ("hosts", LOCAL_INVENTORY),
        (
            "good.yml",
            "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - command: touch ran\n",
        ),
        (
            "bad.yml",
            "- hosts: localhost\n  tasks:\n    - nosuchmodule: {}\n",
        ),
    ]);
    let r = run_in(d.path(), &["-i", "hosts", "good.yml", "bad.yml"]);
    r.assert_code(4);
    assert!(!d.path().join("ran").exists());
}
