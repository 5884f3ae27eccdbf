//! Round 4 (part 2): role dedup across `roles:` and `import_role`, and ad-hoc `include_role`,
//! as ansible-core 2.19's `roles` and `handlers` runme.sh targets show them.

mod common;
use common::*;

fn lines(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn an_imported_roles_dependency_already_run_by_the_roles_section_is_not_run_again() {
    let shell = |n: &str| format!("- shell: echo {n} >> {{{{ playbook_dir }}}}/ran.txt\n");
    let dir = project(&[
        (
            "site.yml",
            "- hosts: localhost\n  gather_facts: no\n  roles:\n    - a\n    - b\n  tasks:\n    - import_role: name=c\n",
        ),
        ("hosts", "localhost ansible_connection=local\n"),
        ("roles/a/tasks/main.yml", &shell("a")),
        ("roles/b/tasks/main.yml", &shell("b")),
        ("roles/b/meta/main.yml", "dependencies: [a]\n"),
        ("roles/c/tasks/main.yml", &shell("c")),
        ("roles/c/meta/main.yml", "dependencies: [a]\n"),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    assert_eq!(lines(&dir.path().join("ran.txt")), ["a", "b", "c"]);
}

#[test]
fn two_imported_roles_share_a_dependency_once() {
    let shell = |n: &str| format!("- shell: echo {n} >> {{{{ playbook_dir }}}}/ran.txt\n");
    let dir = project(&[
        (
            "site.yml",
            "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - import_role: name=b\n    - import_role: name=c\n",
        ),
        ("hosts", "localhost ansible_connection=local\n"),
        ("roles/a/tasks/main.yml", &shell("a")),
        ("roles/b/tasks/main.yml", &shell("b")),
        ("roles/b/meta/main.yml", "dependencies: [a]\n"),
        ("roles/c/tasks/main.yml", &shell("c")),
        ("roles/c/meta/main.yml", "dependencies: [a]\n"),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    assert_eq!(lines(&dir.path().join("ran.txt")), ["a", "b", "c"]);
}

#[test]
fn adhoc_include_role_runs_the_roles_tasks_and_handlers() {
    let dir = project(&[
        ("hosts", "localhost ansible_connection=local\n"),
        (
            "roles/r/tasks/main.yml",
            "- command: touch {{ playbook_dir }}/task.txt\n  notify: h\n",
        ),
        (
            "roles/r/handlers/main.yml",
            "- name: h\n  command: touch {{ playbook_dir }}/handler.txt\n",
        ),
    ]);
    let r = run_in(
        dir.path(),
        &[
            "adhoc",
            "-i",
            "hosts",
            "localhost",
            "-m",
            "include_role",
            "-a",
            "name=r",
        ],
    );
    r.assert_code(0);
    // The include's own result, then the role's command printed as a command.
    r.out_contains("\"include_args\": {\n        \"name\": \"r\"\n    }");
    r.out_contains("localhost | CHANGED | rc=0 >>");
    assert!(dir.path().join("task.txt").exists());
    assert!(dir.path().join("handler.txt").exists());
}

/// Checked with ansible-playbook 2.19: a role included from an included role sees the
/// including role's defaults and vars, in its tasks and its handlers (the dep chain).
#[test]
fn a_role_included_by_an_included_role_sees_the_parents_defaults_and_vars() {
    let dir = project(&[
        (
            "site.yml",
            "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - include_role:\n        name: r1\n",
        ),
        ("hosts", "localhost ansible_connection=local\n"),
        ("roles/r1/defaults/main.yml", "v: from-defaults\n"),
        ("roles/r1/vars/main.yml", "w: from-vars\n"),
        ("roles/r1/tasks/main.yml", "- include_role:\n    name: r2\n"),
        (
            "roles/r2/tasks/main.yml",
            "- shell: echo task {{ v }} {{ w }} >> {{ playbook_dir }}/seen.txt\n  notify: h\n",
        ),
        (
            "roles/r2/handlers/main.yml",
            "- name: h\n  shell: echo handler {{ v }} {{ w }} >> {{ playbook_dir }}/seen.txt\n",
        ),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    assert_eq!(
        lines(&dir.path().join("seen.txt")),
        [
            "task from-defaults from-vars",
            "handler from-defaults from-vars"
        ]
    );
}

/// Checked with ansible-playbook 2.19 (`handlers` target, tagged_play.yml): with
/// ANSIBLE_DEBUG the implicit flushes log whether they trigger; the implicit flush is tagged
/// `always` under the play's tags, so skipping the play's tag logs nothing.
#[test]
fn ansible_debug_logs_the_implicit_handler_flushes() {
    let dir = project(&[
        (
            "site.yml",
            "- hosts: localhost\n  gather_facts: no\n  tags: whole\n  tasks:\n    - debug:\n      changed_when: true\n      notify: h1\n      tags: t\n  handlers:\n    - name: h1\n      shell: echo ran >> {{ playbook_dir }}/h1.txt\n",
        ),
        ("hosts", "localhost ansible_connection=local\n"),
    ]);
    let run = |extra: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_yiqiu-play"))
            .env("HOME", dir.path())
            .env("ANSIBLE_DEBUG", "1")
            .current_dir(dir.path())
            .args(["-i", "hosts", "site.yml"])
            .args(extra)
            .output()
            .expect("run yiqiu-play");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let count = |out: &str, needle: &str| out.lines().filter(|l| l.contains(needle)).count();
    let skipped = run(&["--skip-tags", "whole"]);
    assert_eq!(count(&skipped, "META: triggered running handlers"), 0);
    assert_eq!(count(&skipped, "No handler notifications for"), 0);
    assert!(!dir.path().join("h1.txt").exists());
    let tagged = run(&["--tags", "t"]);
    assert_eq!(
        count(&tagged, "META: triggered running handlers for localhost"),
        1,
        "{tagged}"
    );
    assert_eq!(lines(&dir.path().join("h1.txt")), ["ran"]);
}

/// Checked with ansible-playbook 2.19 (`handlers` target, test_run_once.yml): a `run_once`
/// handler runs for the first notified host in the play's order, whichever host's
/// notification arrived first.
#[test]
fn a_run_once_handler_runs_for_the_first_host_in_play_order() {
    let dir = project(&[
        (
            "site.yml",
            "- hosts: all\n  gather_facts: no\n  tasks:\n    - shell: sleep {{ delay }}\n      notify: h\n  handlers:\n    - name: h\n      run_once: true\n      shell: echo {{ inventory_hostname }} >> {{ playbook_dir }}/h.txt\n",
        ),
        (
            "hosts",
            "A ansible_connection=local delay=1\nB ansible_connection=local delay=0\n",
        ),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    assert_eq!(lines(&dir.path().join("h.txt")), ["A"]);
    r.assert_recap("A", "ok=2");
    r.assert_recap("B", "ok=1");
}
