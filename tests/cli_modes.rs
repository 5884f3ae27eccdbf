//! Ad-hoc mode, the json and profile_tasks callbacks, ansible.cfg discovery and --version.

mod common;
use common::*;

#[test]
fn adhoc_shell_and_ping_print_like_ansible() {
    let d = project(&[("hosts", "[web]\nweb1 ansible_connection=local\n")]);
    let r = run_in(
        d.path(),
        &[
            "adhoc",
            "-i",
            "hosts",
            "all",
            "-m",
            "shell",
            "-a",
            "echo hi; echo err >&2",
        ],
    );
    r.assert_code(0);
    assert_eq!(r.stdout, "web1 | CHANGED | rc=0 >>\nhierr\n");
    let r = run_in(d.path(), &["adhoc", "-i", "hosts", "web", "-m", "ping"]);
    r.assert_code(0);
    assert_eq!(
        r.stdout,
        "web1 | SUCCESS => {\n    \"changed\": false,\n    \"ping\": \"pong\"\n}\n"
    );
    let r = run_in(
        d.path(),
        &[
            "adhoc", "-i", "hosts", "all", "-m", "command", "-a", "false",
        ],
    );
    r.assert_code(2);
    assert_eq!(r.stdout, "web1 | FAILED | rc=1 >>\nnon-zero return code\n");
}

#[test]
fn adhoc_unknown_module_is_refused_with_a_suggestion() {
    let d = project(&[("hosts", "web1 ansible_connection=local\n")]);
    let r = run_in(
        d.path(),
        &["adhoc", "-i", "hosts", "all", "-m", "shel", "-a", "true"],
    );
    r.assert_code(4);
    r.err_contains("Did you mean 'shell'");
}

#[test]
fn json_callback_from_environment() {
    let d = project(&[
        ("hosts", LOCAL_INVENTORY),
        ("site.yml", "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - name: t1\n      command: echo hi\n"),
    ]);
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_yiqiu-play"));
    let out = cmd
        .current_dir(d.path())
        .env("HOME", d.path())
        .env("ANSIBLE_STDOUT_CALLBACK", "json")
        .args(["-i", "hosts", "site.yml"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    assert_eq!(doc["stats"]["localhost"]["changed"], 1);
    assert_eq!(doc["plays"][0]["tasks"][0]["task"]["name"], "t1");
    assert_eq!(
        doc["plays"][0]["tasks"][0]["hosts"]["localhost"]["stdout"],
        "hi"
    );
}

#[test]
fn profile_flag_prints_timings_and_total() {
    let (_d, r) = play(
        "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - name: quick\n      command: \"true\"\n",
        &["--profile"],
    );
    r.assert_code(0);
    r.out_contains("Playbook run took 0 days, 0 hours, 0 minutes, ");
    r.out_contains("quick ");
}

#[test]
fn ansible_cfg_in_cwd_sets_inventory_and_forks() {
    let d = project(&[
        ("ansible.cfg", "[defaults]\ninventory = inv/hosts\nforks = 3\n"),
        ("inv/hosts", "[g]\nh1 ansible_connection=local\n"),
        ("site.yml", "- hosts: g\n  gather_facts: no\n  tasks:\n    - assert: { that: \"ansible_forks == 3 and inventory_hostname == 'h1'\" }\n"),
    ]);
    let r = run_in(d.path(), &["site.yml"]);
    r.assert_code(0);
    r.assert_recap("h1", "ok=1");
}

#[test]
fn version_flag() {
    let d = project(&[]);
    let r = run_in(d.path(), &["--version"]);
    r.assert_code(0);
    r.out_contains("yiqiu-play");
}

#[test]
fn adhoc_command_modules_need_arguments_like_ansible() {
    let d = project(&[("hosts", "web1 ansible_connection=local\n")]);
    for module in ["shell", "command", "raw"] {
        let r = run_in(d.path(), &["adhoc", "-i", "hosts", "all", "-m", module]);
        r.assert_code(5);
        r.err_contains(&format!("[ERROR]: No argument passed to {module} module"));
        assert!(!r.stdout.contains("web1"), "{}", r.stdout);
    }
}

#[test]
fn start_at_task_without_a_match_says_so() {
    let (_d, r) = play(
        "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - name: real\n      debug: msg=hi\n",
        &["--start-at-task", "imaginary"],
    );
    r.assert_code(0);
    r.err_contains(
        "[ERROR]: No matching task \"imaginary\" found. Note: --start-at-task can only follow static includes.",
    );
    assert!(!r.stdout.contains("TASK [real]"), "{}", r.stdout);
}

#[test]
fn pause_prints_ansibles_lines() {
    let (_d, r) = play(
        "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - pause:\n        seconds: 1\n        prompt: Waiting\n    - pause:\n        seconds: 1\n        echo: false\n",
        &[],
    );
    r.assert_code(0);
    r.out_contains(
        "TASK [pause] *******************************************************************\nPausing for 1 seconds\n(ctrl+C then 'C' = continue early, ctrl+C then 'A' = abort)\r\nok: [localhost]",
    );
    r.out_contains("Pausing for 1 seconds (output is hidden)\nok: [localhost]");
}

/// `ansible PATTERN --list-hosts` (ansible-core 2.19's output): the hosts, nothing run.
#[test]
fn adhoc_list_hosts_lists_without_running() {
    let d = project(&[(
        "hosts",
        "[web]\nweb1 ansible_connection=local\nweb2 ansible_connection=local\n[db]\ndb1 ansible_connection=local\n",
    )]);
    let marker = d.path().join("ran");
    let touch = format!("touch {}", marker.display());
    let r = run_in(
        d.path(),
        &[
            "adhoc",
            "-i",
            "hosts",
            "web*",
            "-m",
            "shell",
            "-a",
            &touch,
            "--list-hosts",
        ],
    );
    r.assert_code(0);
    assert_eq!(r.stdout, "  hosts (2):\n    web1\n    web2\n");
    assert!(!marker.exists(), "--list-hosts ran the module");
    let r = run_in(
        d.path(),
        &[
            "adhoc",
            "-i",
            "hosts",
            "all",
            "--limit",
            "db1",
            "--list-hosts",
        ],
    );
    assert_eq!(r.stdout, "  hosts (1):\n    db1\n");
    let r = run_in(
        d.path(),
        &["adhoc", "-i", "hosts", "nomatch", "--list-hosts"],
    );
    r.assert_code(0);
    assert_eq!(r.stdout, "  hosts (0):\n");
    r.err_contains("Could not match supplied host pattern, ignoring: nomatch");
    r.err_contains("No hosts matched, nothing to do");
}
