//! Inputs that used to take the controller down end in clear errors: YAML alias bombs, deep
//! nesting, include recursion, long variable chains, huge template results, closed stdout
//! pipes, non-UTF-8 files. Each test checks the exit code and that nothing panicked or
//! overflowed its stack (exit 134 / 101).

mod common;

use common::{play, project, run_in};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_yiqiu-play");

fn assert_no_crash(r: &common::Run) {
    assert!(
        !r.stderr.contains("panicked") && !r.stderr.contains("overflowed its stack"),
        "crashed:\n{}",
        r.stderr
    );
}

#[test]
fn yaml_alias_bomb_is_refused_with_file_and_line() {
    let mut bomb = String::from("lol0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..8 {
        bomb.push_str(&format!(
            "lol{i}: &l{i} [{}]\n",
            vec![format!("*l{}", i - 1); 9].join(", ")
        ));
    }
    let d = project(&[
        ("bomb.yml", &bomb),
        (
            "site.yml",
            "- hosts: localhost\n  gather_facts: no\n  vars_files: [bomb.yml]\n  tasks:\n    - debug: msg={{ lol7 | length }}\n",
        ),
    ]);
    let r = run_in(d.path(), &["site.yml"]);
    assert_no_crash(&r);
    r.assert_code(4);
    r.err_contains("aliases expand to more than 1000000 nodes");
    r.err_contains("bomb.yml:7:");
}

/// A play with `depth` blocks nested in each other around one debug task.
fn nested_blocks(depth: usize, msg: &str) -> String {
    let mut yaml = String::from("- hosts: localhost\n  gather_facts: no\n  tasks:\n");
    let mut indent = String::from("    ");
    for _ in 0..depth {
        yaml.push_str(&format!("{indent}- block:\n"));
        indent.push_str("    ");
    }
    yaml.push_str(&format!("{indent}- debug: msg={msg}\n"));
    yaml
}

#[test]
fn deep_yaml_nesting_is_an_error() {
    let (_d, r) = play(&nested_blocks(400, "deep"), &[]);
    assert_no_crash(&r);
    r.assert_code(4);
    r.err_contains("collections nest deeper than 200 levels");
}

#[test]
fn nested_blocks_within_the_limit_run() {
    let (_d, r) = play(&nested_blocks(60, "deep-inside"), &[]);
    assert_no_crash(&r);
    r.assert_code(0);
    r.out_contains("deep-inside");
}

#[test]
fn include_recursion_stops_with_the_chain() {
    let d = project(&[
        (
            "site.yml",
            "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - include_tasks: again.yml\n",
        ),
        ("again.yml", "- include_tasks: again.yml\n"),
    ]);
    let r = run_in(d.path(), &["site.yml"]);
    assert_no_crash(&r);
    r.assert_code(2);
    r.out_contains("Includes nest deeper than 100 levels:");
    r.out_contains("again.yml -> ");
    r.assert_recap("localhost", "failed=1");
}

fn chain_play(n: usize) -> String {
    let mut yaml = String::from("- hosts: localhost\n  gather_facts: no\n  vars:\n");
    for i in 1..n {
        yaml.push_str(&format!("    v{i}: \"{{{{ v{} }}}}\"\n", i + 1));
    }
    yaml.push_str(&format!(
        "    v{n}: the-end\n  tasks:\n    - debug: msg={{{{ v1 }}}}\n"
    ));
    yaml
}

#[test]
fn long_variable_chains_resolve_and_endless_ones_fail_as_ansible_words_it() {
    // Longer than ansible-playbook manages (about 87), within our limit.
    let (_d, r) = play(&chain_play(300), &[]);
    assert_no_crash(&r);
    r.assert_code(0);
    r.out_contains("\"msg\": \"the-end\"");
    let (_d, r) = play(&chain_play(3000), &[]);
    assert_no_crash(&r);
    r.assert_code(2);
    r.out_contains("Recursive loop detected in template: maximum recursion depth exceeded");
    let (_d, r) = play(
        "- hosts: localhost\n  gather_facts: no\n  vars:\n    a: '{{ b }}'\n    b: '{{ a }}'\n  tasks:\n    - debug: msg={{ a }}\n",
        &[],
    );
    r.assert_code(2);
    r.out_contains("Recursive loop detected in template: a -> b -> a");
}

#[test]
fn huge_template_results_fail_past_the_limit() {
    for expr in [
        "'a' | center(999999999)",
        "'x' * 10**9",
        "'7' .zfill(999999999)",
    ] {
        let yaml = format!(
            "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - debug: msg=\"{{{{ {expr} }}}}\"\n"
        );
        let (_d, r) = play(&yaml, &[]);
        assert_no_crash(&r);
        r.assert_code(2);
        assert!(
            r.stdout.contains("over the limit of 100000000 bytes")
                || r.stdout.contains("repeated string is too large"),
            "{expr}:\n{}",
            r.stdout
        );
    }
}

#[test]
fn non_utf8_playbook_is_a_parse_error() {
    let d = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        d.path().join("site.yml"),
        b"- hosts: localhost\n  tasks:\n    - name: caf\xff\n      debug: msg=hi\n",
    )
    .expect("write");
    let r = run_in(d.path(), &["site.yml"]);
    assert_no_crash(&r);
    r.assert_code(4);
    r.err_contains("not valid UTF-8");
    r.err_contains("site.yml:3:16");
}

/// Runs yiqiu-play with `args`, reads one line of stdout, closes the pipe, returns the exit
/// code and stderr.
fn first_line_then_close(dir: &std::path::Path, args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    out.read_line(&mut line).expect("first line");
    drop(out);
    let status = child.wait_with_output().expect("wait");
    (
        status.status.code(),
        String::from_utf8_lossy(&status.stderr).into_owned(),
    )
}

#[test]
fn closed_stdout_pipe_ends_quietly() {
    let hosts: String = (0..30000).map(|i| format!("h{i}\n")).collect();
    let tasks: String = (0..3000)
        .map(|i| format!("    - debug: msg={i}\n      tags: [t{i}]\n"))
        .collect();
    let d = project(&[
        ("hosts", &hosts),
        (
            "site.yml",
            &format!("- hosts: all\n  gather_facts: no\n  tasks:\n{tasks}"),
        ),
    ]);
    for mode in ["--list-hosts", "--list-tasks", "--list-tags"] {
        let (code, err) = first_line_then_close(d.path(), &["-i", "hosts", "site.yml", mode]);
        assert_eq!(code, Some(0), "{mode}: {err}");
        assert!(!err.contains("panicked"), "{mode}: {err}");
    }
    let (code, err) = first_line_then_close(d.path(), &["--version"]);
    assert!(!err.contains("panicked"), "--version: {err}");
    assert_eq!(code, Some(0), "--version: {err}");
}

/// Starts yiqiu-play with `args` in `dir` and reads stdout up to the line containing
/// `marker`; the child and the rest of its stdout (stderr is piped too).
fn spawn_until(
    dir: &std::path::Path,
    args: &[&str],
    marker: &str,
) -> (std::process::Child, BufReader<std::process::ChildStdout>) {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    while out.read_line(&mut line).unwrap_or(0) > 0 && !line.contains(marker) {
        line.clear();
    }
    (child, out)
}

#[test]
fn forks_are_capped_at_the_number_of_hosts() {
    let d = project(&[
        (
            "hosts",
            "a ansible_connection=local\nb ansible_connection=local\n",
        ),
        (
            "site.yml",
            "- hosts: all\n  gather_facts: no\n  tasks:\n    - command: sleep 2\n",
        ),
    ]);
    let (mut child, mut out) = spawn_until(
        d.path(),
        &["-i", "hosts", "site.yml", "-f", "200"],
        "TASK [command]",
    );
    std::thread::sleep(std::time::Duration::from_millis(500));
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).expect("status");
    let threads: usize = status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("Threads line");
    let _ = std::io::copy(&mut out, &mut std::io::sink());
    let _ = child.wait();
    // main + the run thread + 2 workers (+ a few for pipes); never 200.
    assert!(threads < 12, "{threads} threads for 2 hosts with -f 200");
}

#[test]
fn ctrl_c_ends_like_ansible_playbook() {
    let d = project(&[(
        "site.yml",
        "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - name: long\n      command: sleep 30\n",
    )]);
    let (child, _out) = spawn_until(d.path(), &["site.yml"], "TASK [long]");
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let output = child.wait_with_output().expect("wait");
    assert_eq!(output.status.code(), Some(99));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("[ERROR]: User interrupted execution"), "{err}");
}
