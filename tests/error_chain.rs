//! Runtime errors point where they are written, with ansible-core 2.19's
//! `<<< caused by >>>` chain: an undefined variable in an argument at the value, a bad
//! conditional at its `when:` item. Expected texts are ansible-playbook 2.19.14's output
//! for the same playbooks.

mod common;
use common::*;

fn error_block(r: &Run) -> String {
    let start = r.stdout.find("[ERROR]: ").expect("an [ERROR] block");
    let end = r.stdout[start..].find("\nfatal: ").expect("a fatal line") + start;
    r.stdout[start..end].to_string()
}

#[test]
fn undefined_variable_in_a_mapping_argument_points_at_the_value() {
    let (d, r) = play(
        "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - name: t\n      debug:\n        msg: \"{{ foo.bar }}\"\n",
        &[],
    );
    r.assert_code(2);
    let f = d.path().join("site.yml");
    let f = f.display();
    assert_eq!(
        error_block(&r),
        format!(
            "[ERROR]: Task failed: Finalization of task args for 'ansible.builtin.debug' failed: Error while resolving value for 'msg': 'foo' is undefined

Task failed.
Origin: {f}:4:7

2   gather_facts: no
3   tasks:
4     - name: t
        ^ column 7

<<< caused by >>>

Finalization of task args for 'ansible.builtin.debug' failed.
Origin: {f}:5:7

3   tasks:
4     - name: t
5       debug:
        ^ column 7

<<< caused by >>>

Error while resolving value for 'msg': 'foo' is undefined
Origin: {f}:6:14

4     - name: t
5       debug:
6         msg: \"{{{{ foo.bar }}}}\"
               ^ column 14
"
        )
    );
}

#[test]
fn undefined_variable_in_key_value_arguments_merges_links_at_one_place() {
    let (d, r) = play(
        "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - debug: msg={{ foo }}\n",
        &[],
    );
    r.assert_code(2);
    let f = d.path().join("site.yml");
    let block = error_block(&r);
    assert!(
        block.contains(&format!(
            "\n\nTask failed: Finalization of task args for 'ansible.builtin.debug' failed.\nOrigin: {}:4:7\n",
            f.display()
        )),
        "{block}"
    );
    assert!(
        block.contains(&format!(
            "<<< caused by >>>\n\nError while resolving value for 'msg': 'foo' is undefined\nOrigin: {}:4:14\n",
            f.display()
        )),
        "{block}"
    );
}

#[test]
fn undefined_name_in_a_when_list_points_at_that_item() {
    let (d, r) = play(
        "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - name: t\n      debug: msg={{ item }}\n      loop: [1, 2]\n      when:\n        - item > 0\n        - nope\n",
        &[],
    );
    r.assert_code(2);
    let f = d.path().join("site.yml");
    let block = error_block(&r);
    assert!(
        block.starts_with(
            "[ERROR]: Task failed: Error while evaluating conditional: 'nope' is undefined\n\nTask failed.\n"
        ),
        "{block}"
    );
    assert!(
        block.contains(&format!(
            "<<< caused by >>>\n\nError while evaluating conditional: 'nope' is undefined\nOrigin: {}:9:11\n",
            f.display()
        )),
        "{block}"
    );
}

/// 2.19: a `failed_when` / `changed_when` that cannot be evaluated fails the task as an
/// action, keeps the module's own `msg`, and records the error in `<keyword>_result`.
#[test]
fn failing_changed_when_and_failed_when_keep_the_result() {
    let (_d, r) = play(
        r#"- hosts: localhost
  gather_facts: no
  tasks:
    - name: t
      debug: msg=hi
      failed_when: nope.x == 1
      register: r
      ignore_errors: true
    - name: c
      command: echo hi
      changed_when: nope.y
      register: c
      ignore_errors: true
    - assert:
        that:
          - r.failed and r.msg == 'hi'
          - "r.failed_when_result == \"Error while evaluating conditional: 'nope' is undefined\""
          - c.failed and c.stdout == 'hi' and c.changed
          - "c.changed_when_result == \"Error while evaluating conditional: 'nope' is undefined\""
"#,
        &[],
    );
    r.assert_code(0);
    r.out_contains("[ERROR]: Task failed: Action failed: hi\n");
    r.out_contains("[ERROR]: Task failed: Action failed.\n");
    r.assert_recap("localhost", "ok=3 failed=0 ignored=2");
}

/// debug `var`: an undefined name is shown inline with a warning that points at the
/// expression; a failing filter fails the task (ansible-core 2.19).
#[test]
fn debug_var_undefined_warns_at_the_expression_and_a_failing_filter_fails() {
    let (d, r) = play(
        "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - debug: var=nope\n    - debug:\n        var: \"'x' | urlsplit('bad')\"\n      ignore_errors: true\n",
        &[],
    );
    r.assert_code(0);
    r.err_contains(&format!(
        "[WARNING]: Encountered 1 template error.\nerror 1 - 'nope' is undefined\nOrigin: {}:4:14\n",
        d.path().join("site.yml").display()
    ));
    r.out_contains("\"nope\": \"<< error 1 - 'nope' is undefined >>\"");
    r.out_contains(
        "Task failed: Error while resolving `var` expression: urlsplit: unknown URL component: bad",
    );
    r.assert_recap("localhost", "ok=2 failed=0 ignored=1");
}
