//! Round 4: command line, output, ad-hoc and connection edge cases found by running
//! ansible-core's integration targets side by side. Each test asserts what ansible-playbook
//! 2.19 does on the same small playbook.

mod common;
use common::*;

#[test]
fn a_shell_that_backgrounds_a_child_returns_when_the_shell_exits() {
    // The background child keeps the task's stdout open for a minute; Ansible's
    // run_command returns once the shell has exited and the pipes are quiet, well inside
    // the task's timeout. The child is still running when the play ends.
    let (d, r) = play(
        "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - shell: 'sleep 60 & echo $! > bg.pid; echo started'\n      timeout: 20\n      register: out\n    - debug: var=out.stdout\n",
        &[],
    );
    r.assert_code(0);
    r.out_contains("\"out.stdout\": \"started\"");
    r.assert_recap("localhost", "ok=2 changed=1 failed=0");
    let pid = std::fs::read_to_string(d.path().join("bg.pid")).expect("bg.pid");
    let pid = pid.trim();
    let alive = std::process::Command::new("kill")
        .args(["-0", pid])
        .status()
        .is_ok_and(|s| s.success());
    let _ = std::process::Command::new("kill")
        .args(["-9", pid])
        .status();
    assert!(alive, "the task waited for the background child to end");
}

#[test]
fn a_shell_script_in_library_runs_as_an_old_style_module() {
    let module = "#!/bin/sh\nif [ -f \"$1\" ]; then . \"$1\"; else echo '{\"msg\": \"no args file\", \"failed\": true}'; exit 1; fi\n\
                  echo \"$name\" > \"$dest\"\necho \"{\\\"msg\\\": \\\"Hello, ${name:-World}!\\\", \\\"changed\\\": true}\"\n";
    let dir = project(&[
        (
            "site.yml",
            "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - hello: name='Ansible Rocks' dest={{ playbook_dir }}/out.txt\n      register: r\n    - assert:\n        that: r.msg == 'Hello, Ansible Rocks!'\n    - command: /bin/sh {{ playbook_dir }}/library/hello.sh\n      register: direct\n      ignore_errors: true\n    - assert:\n        that: direct is failed and (direct.stdout | from_json).msg == 'no args file'\n",
        ),
        ("hosts", LOCAL_INVENTORY),
        ("library/hello.sh", module),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    r.assert_recap("localhost", "ok=4 changed=2 failed=0 ignored=1");
    let written = std::fs::read_to_string(dir.path().join("out.txt")).expect("out.txt");
    assert_eq!(written, "Ansible Rocks\n");
}

#[test]
fn a_python_library_module_is_refused_by_name() {
    let dir = project(&[
        (
            "site.yml",
            "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - pymod: x=1\n",
        ),
        ("hosts", LOCAL_INVENTORY),
        ("library/pymod.py", "#!/usr/bin/python\nprint('{}')\n"),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(4);
    r.err_contains("Python plugins are not supported by yiqiu-play");
}

#[test]
fn adhoc_task_timeout_fails_the_command_as_ansible_prints_it() {
    let d = project(&[("hosts", LOCAL_INVENTORY)]);
    let r = run_in(
        d.path(),
        &[
            "adhoc",
            "-i",
            "hosts",
            "localhost",
            "-a",
            "sleep 30",
            "--task-timeout",
            "1",
        ],
    );
    r.assert_code(2);
    // command/shell/raw results print as text even without rc (Ansible's `rc=-1`).
    assert_eq!(
        r.stdout,
        "localhost | FAILED | rc=-1 >>\nTask failed: Timed out after 1 second(s).\n"
    );
}

#[test]
fn log_path_records_the_run_in_ansibles_format_and_keeps_no_log_secrets_out() {
    let dir = project(&[
        (
            "ansible.cfg",
            "[defaults]\nlog_path = ./run.log\nlog_verbosity = 3\n",
        ),
        (
            "site.yml",
            "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - name: normal task\n      command: echo visible\n    - name: secret task\n      command: echo hunter2-secret\n      no_log: true\n    - name: warn\n      debug: msg=x\n      when: \"{{ 1 == 1 }}\"\n",
        ),
        ("hosts", LOCAL_INVENTORY),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    // The screen is at verbosity 0: no EXEC lines there.
    assert!(!r.stdout.contains("EXEC"), "{}", r.stdout);
    let log = std::fs::read_to_string(dir.path().join("run.log")).expect("run.log");
    let task_line = log
        .lines()
        .find(|l| l.contains("| TASK [normal task]"))
        .unwrap_or_else(|| panic!("no task banner in the log:\n{log}"));
    // `2026-01-02 10:11:12,345 p=PID u=USER n=ansible INFO| TASK [...] ***`
    let (stamp, rest) = task_line.split_at(23);
    assert_eq!(stamp.as_bytes()[19], b',', "{task_line}");
    assert!(rest.starts_with(" p="), "{task_line}");
    assert!(
        rest.contains(" n=ansible INFO| TASK [normal task] *"),
        "{task_line}"
    );
    assert!(log.contains("INFO| [DEPRECATION WARNING]: Conditionals should not be surrounded"));
    // log_verbosity 3 logs the connection's commands the screen did not show.
    assert!(log.contains("> EXEC /bin/sh -c "), "{log}");
    assert!(log.contains("(censored due to no_log)"), "{log}");
    assert!(!log.contains("hunter2-secret"), "{log}");
}

#[test]
fn a_stray_bracket_after_a_json_vars_file_is_libyamls_document_start_error() {
    let dir = project(&[
        (
            "site.yml",
            "- hosts: localhost\n  gather_facts: no\n  vars_files: [bad.json]\n  tasks:\n    - debug: msg=never\n",
        ),
        ("bad.json", "{ }}\n"),
        ("hosts", LOCAL_INVENTORY),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(4);
    r.err_contains("YAML parsing failed: Did not find expected <document start>.");
    r.err_contains("bad.json:1:4");
    assert!(!r.stdout.contains("never"), "{}", r.stdout);
}

#[test]
fn hosts_templated_to_a_list_targets_each_pattern_of_it() {
    let dir = project(&[
        (
            "site.yml",
            "- hosts: \"{{ targets }}\"\n  gather_facts: no\n  tasks:\n    - command: touch ran-{{ inventory_hostname }}\n",
        ),
        ("hosts", "42 ansible_connection=local\nb ansible_connection=local\nc ansible_connection=local\n"),
    ]);
    let r = run_in(
        dir.path(),
        &[
            "-i",
            "hosts",
            "site.yml",
            "-e",
            r#"{"targets": ["42", "b"]}"#,
        ],
    );
    r.assert_code(0);
    r.assert_recap("42", "ok=1 changed=1");
    r.assert_recap("b", "ok=1 changed=1");
    assert!(dir.path().join("ran-42").exists() && dir.path().join("ran-b").exists());
    assert!(!dir.path().join("ran-c").exists());
    assert!(!r.stderr.contains("Could not match"), "{}", r.stderr);
}

#[test]
fn include_vars_of_a_vaulted_file_hides_the_whole_adhoc_result() {
    let dir = project(&[
        ("hosts", LOCAL_INVENTORY),
        ("pass", "letmein\n"),
        ("d/plain.yml", "porter: cable\n"),
        ("d/secret.yml", "token: i-am-a-secret\n"),
    ]);
    run_in(
        dir.path(),
        &[
            "vault",
            "encrypt",
            "d/secret.yml",
            "--vault-password-file",
            "pass",
        ],
    )
    .assert_code(0);
    let r = run_in(
        dir.path(),
        &[
            "adhoc",
            "-i",
            "hosts",
            "localhost",
            "-m",
            "include_vars",
            "-a",
            "dir=d",
            "--vault-password-file",
            "pass",
        ],
    );
    r.assert_code(0);
    r.out_contains("the output has been hidden due to the fact that 'no_log: true' was specified");
    assert!(!r.stdout.contains("i-am-a-secret"), "{}", r.stdout);
    assert!(!r.stdout.contains("cable"), "{}", r.stdout);
    // Without a vaulted file the values show.
    let r = run_in(
        dir.path(),
        &[
            "adhoc",
            "-i",
            "hosts",
            "localhost",
            "-m",
            "include_vars",
            "-a",
            "d/plain.yml",
        ],
    );
    r.out_contains("\"porter\": \"cable\"");
}

const FOUR_HOSTS: &str = "[g]\nh1\nh2\nh3\nh4\n[g:vars]\nansible_connection=local\n";

#[test]
fn throttle_one_runs_the_hosts_one_at_a_time_through_a_script() {
    let dir = project(&[
        (
            "site.yml",
            "- hosts: g\n  gather_facts: no\n  tasks:\n    - block:\n        - script: mark.sh {{ playbook_dir }}/log {{ inventory_hostname }}\n      throttle: \"{{ 1 }}\"\n",
        ),
        (
            "files/mark.sh",
            "#!/bin/sh\necho \"start $2\" >> \"$1\"\nsleep 0.3\necho \"end $2\" >> \"$1\"\n",
        ),
        ("hosts", FOUR_HOSTS),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml", "--forks", "4"]);
    r.assert_code(0);
    r.assert_recap("h3", "ok=1 changed=1");
    let log = std::fs::read_to_string(dir.path().join("log")).expect("log");
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 8, "{log}");
    for pair in lines.chunks(2) {
        let host = pair[0].strip_prefix("start ").expect("a start line");
        assert_eq!(
            pair[1],
            format!("end {host}"),
            "two hosts overlapped:\n{log}"
        );
    }
}

#[test]
fn a_throttle_that_is_not_an_integer_stops_the_run() {
    let (_d, r) = play(
        "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - debug: msg=never\n      throttle: \"{{ 'nope' }}\"\n    - debug: msg=after\n",
        &[],
    );
    r.assert_code(1);
    r.err_contains(
        "Failed to convert the throttle value to an integer: invalid literal for int() with base 10: 'nope'",
    );
    assert!(
        !r.stdout.contains("never") && !r.stdout.contains("after"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("PLAY RECAP"), "{}", r.stdout);
}

#[test]
fn an_action_string_may_name_its_module_with_a_variable() {
    let dir = project(&[
        (
            "site.yml",
            "- hosts: localhost\n  gather_facts: no\n  vars:\n    writer: copy\n  tasks:\n    - action: \"{{ writer }} content={{ text }} dest={{ playbook_dir }}/out.txt\"\n      vars:\n        text: written-by-copy\n",
        ),
        ("hosts", LOCAL_INVENTORY),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    r.assert_recap("localhost", "ok=1 changed=1");
    let out = std::fs::read_to_string(dir.path().join("out.txt")).expect("out.txt");
    assert_eq!(out, "written-by-copy");
}

#[test]
fn a_module_in_the_plugin_filter_reject_list_cannot_be_used() {
    let dir = project(&[
        ("ansible.cfg", "[defaults]\nplugin_filters_cfg = ./filters.yml\n"),
        ("filters.yml", "filter_version: 1.0\nmodule_rejectlist:\n  - copy\n"),
        (
            "site.yml",
            "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - copy: content=x dest={{ playbook_dir }}/out.txt\n",
        ),
        (
            "other.yml",
            "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - file: path={{ playbook_dir }}/made state=touch\n",
        ),
        ("hosts", LOCAL_INVENTORY),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(4);
    r.err_contains("couldn't resolve module/action 'copy'");
    assert!(!dir.path().join("out.txt").exists());
    // Modules not in the list run.
    run_in(dir.path(), &["-i", "hosts", "other.yml"]).assert_code(0);
    assert!(dir.path().join("made").exists());
    // stat may not be rejected.
    std::fs::write(
        dir.path().join("filters.yml"),
        "filter_version: '1.0'\nmodule_rejectlist: [stat]\n",
    )
    .expect("write");
    let r = run_in(dir.path(), &["-i", "hosts", "other.yml"]);
    assert_ne!(r.code, 0);
    r.err_contains("but Ansible will not function without the stat module.  Please remove stat from the reject list.");
}

#[test]
fn a_loops_templated_ignore_unreachable_is_decided_over_its_unreachable_items() {
    let hosts = "down ansible_host=127.0.0.1 ansible_port=1 ansible_connection=ssh\n";
    let task = |flags: &str| {
        format!(
            "- hosts: down\n  gather_facts: no\n  tasks:\n    - ping:\n      ignore_unreachable: \"{{{{ item }}}}\"\n      loop: {flags}\n    - debug: msg=still-here\n"
        )
    };
    let dir = project(&[
        ("all_true.yml", &task("[true, true]")),
        ("last_false.yml", &task("[true, false]")),
        ("hosts", hosts),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "all_true.yml"]);
    r.assert_recap("down", "ok=2 unreachable=0 ignored=1");
    r.out_contains("still-here");
    let r = run_in(dir.path(), &["-i", "hosts", "last_false.yml"]);
    r.assert_code(4);
    r.assert_recap("down", "ok=0 unreachable=1 ignored=0");
    assert!(!r.stdout.contains("still-here"), "{}", r.stdout);
}

/// Waits up to 30 s for `cond`; false if it never held.
fn eventually(mut cond: impl FnMut() -> bool) -> bool {
    for _ in 0..300 {
        if cond() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    false
}

#[test]
fn sigint_ends_the_run_and_the_pipe_lookups_it_started() {
    let d = project(&[("hosts", LOCAL_INVENTORY)]);
    let pid_file = d.path().join("lookup.pid");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_yiqiu-play"))
        .current_dir(d.path())
        .env("HOME", d.path())
        .env_remove("ANSIBLE_CONFIG")
        .args([
            "adhoc",
            "-i",
            "hosts",
            "localhost",
            "-m",
            "debug",
            "-a",
            "msg={{ lookup('pipe', 'echo $$ > lookup.pid; exec sleep 60') }}",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start yiqiu-play");
    let read_pid = || {
        std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|t| t.trim().parse::<i32>().ok())
    };
    assert!(
        eventually(|| read_pid().is_some()),
        "the lookup never started"
    );
    let lookup = read_pid().unwrap_or_default();
    // SAFETY: kill(2) on the child we started.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(99));
    assert!(String::from_utf8_lossy(&out.stderr).contains("User interrupted execution"));
    let gone = eventually(|| !std::path::Path::new(&format!("/proc/{lookup}")).exists());
    if !gone {
        // SAFETY: ending the leftover sleep so the test leaves nothing behind.
        unsafe { libc::kill(lookup, libc::SIGKILL) };
    }
    assert!(
        gone,
        "the pipe lookup's process outlived the interrupted run"
    );
}
