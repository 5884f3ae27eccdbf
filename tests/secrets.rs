//! Secrets stay secret: `no_log` hides diffs and the round-trip trace, `environment:` values
//! never show in a process's argv on the host, and a killed controller leaves no temp files.
//! Real sshd servers on loopback (`support/sshd.rs`).

mod common;
#[path = "support/lab_run.rs"]
mod lab_run;
#[path = "support/sshd.rs"]
mod sshd;

use lab_run::{run, run_args, run_with_hook};
use sshd::Lab;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

const SECRET: &str = "s3cr3t-7f1d09ab";
/// The argv probe scans every process on the machine, and other tests in this binary run
/// `echo SECRET` at the same time, so this test's token is its own.
const ENV_TOKEN: &str = "env-t0ken-5c2e81";

fn copy_play(lab: &Lab, no_log: bool) -> String {
    format!(
        "- hosts: targets\n  gather_facts: false\n  tasks:\n    - copy: content={SECRET} dest={}/secret.txt\n      no_log: {no_log}\n",
        lab.user_dir("out").display()
    )
}

#[test]
fn no_log_hides_the_diff() {
    let lab = Lab::new(1);
    let inv = lab.inventory(sshd::USER);
    std::fs::remove_file(lab.user_dir("out").join("secret.txt")).ok();
    let shown = run_args(&lab, &inv, &copy_play(&lab, false), &["--diff"], &[]);
    shown.assert_code(0);
    // The control run: without no_log the diff shows the new content.
    shown.out_contains(SECRET);
    std::fs::remove_file(lab.user_dir("out").join("secret.txt")).expect("written by the play");
    let hidden = run_args(&lab, &inv, &copy_play(&lab, true), &["--diff"], &[]);
    hidden.assert_code(0);
    hidden.assert_recap("host0", "changed=1");
    assert!(
        !hidden.stdout.contains(SECRET) && !hidden.stderr.contains(SECRET),
        "{}\n{}",
        hidden.stdout,
        hidden.stderr
    );
    assert_eq!(
        std::fs::read_to_string(lab.user_dir("out").join("secret.txt")).expect("secret.txt"),
        SECRET
    );
}

#[test]
fn no_log_censors_the_round_trip_trace() {
    let lab = Lab::new(1);
    let play = format!(
        "- hosts: targets\n  gather_facts: false\n  tasks:\n    - command: echo {SECRET}\n      no_log: true\n    - command: echo visible-marker\n"
    );
    let r = run(
        &lab,
        &lab.inventory(sshd::USER),
        &play,
        &[("YIQIU_LOG", "yiqiu::roundtrip=debug")],
    );
    r.assert_code(0);
    // The trace is on: the task without no_log shows its command.
    assert!(r.stderr.contains("visible-marker"), "{}", r.stderr);
    assert!(
        r.stderr.contains("(censored due to no_log)"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains(SECRET) && !r.stdout.contains(SECRET));
}

/// Every process's command line on this machine (the sshd hosts are its loopback addresses).
fn all_command_lines() -> String {
    let mut all = String::new();
    for e in std::fs::read_dir("/proc").expect("/proc").flatten() {
        if let Ok(c) = std::fs::read(e.path().join("cmdline")) {
            all.push_str(&String::from_utf8_lossy(&c).replace('\0', " "));
            all.push('\n');
        }
    }
    all
}

#[test]
fn environment_values_never_reach_argv_on_the_host() {
    let lab = Lab::new(1);
    let out = lab.user_dir("out").join("env-out");
    let play = format!(
        r#"
- hosts: targets
  gather_facts: false
  tasks:
    - name: uses the token
      shell: sleep 2; printf '%s|%s' "$API_TOKEN" "$(id -un)" >> {out}; echo >> {out}
      environment:
        API_TOKEN: "{ENV_TOKEN} it's"
    - name: uses the token as root
      shell: sleep 2; printf '%s|%s' "$API_TOKEN" "$(id -un)" >> {out}; echo >> {out}
      become: true
      environment:
        API_TOKEN: "{ENV_TOKEN} it's"
"#,
        out = out.display()
    );
    let seen = std::sync::Mutex::new(Vec::new());
    let probe = |marker: &str| {
        std::thread::sleep(Duration::from_millis(900));
        seen.lock()
            .expect("lock")
            .push((marker.to_string(), all_command_lines()));
    };
    let r = run_with_hook(
        &lab,
        &lab.inventory(sshd::USER),
        &play,
        "TASK [uses the token]",
        || probe("plain"),
    );
    r.assert_code(0);
    let r2 = run_with_hook(
        &lab,
        &lab.inventory(sshd::USER),
        &play,
        "TASK [uses the token as root]",
        || probe("become"),
    );
    r2.assert_code(0);
    for (when, lines) in seen.lock().expect("lock").iter() {
        // The probe ran while the command was running.
        assert!(
            lines.contains("sleep 2"),
            "{when}: the task was not running"
        );
        assert!(
            !lines.contains(ENV_TOKEN),
            "{when}: the secret is in an argv:\n{lines}"
        );
    }
    let got = std::fs::read_to_string(&out).expect("env-out");
    let want = format!("{ENV_TOKEN} it's|{}\n{ENV_TOKEN} it's|root\n", sshd::USER);
    assert_eq!(got, format!("{want}{want}"));
}

#[test]
fn a_killed_controller_leaves_no_temp_files() {
    let lab = Lab::new(1);
    let tmp = lab.dir.path().join("controller-tmp");
    std::fs::create_dir_all(&tmp).expect("tmp");
    let play = format!(
        "- hosts: targets\n  gather_facts: false\n  tasks:\n    - copy: content={SECRET} dest={out}/s.txt\n      no_log: true\n    - template: src=t.j2 dest={out}/t.txt\n    - name: wait\n      command: sleep 30\n",
        out = lab.user_dir("out").display()
    );
    lab.write("t.j2", &format!("token={{{{ '{SECRET}' }}}}\n"));
    lab.write("hosts", &lab.inventory(sshd::USER));
    lab.write("site.yml", &play);
    let mut child = lab
        .command(lab_run::BIN)
        .args(["-i", "hosts", "site.yml"])
        .env("TMPDIR", &tmp)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let reader = BufReader::new(child.stdout.take().expect("stdout"));
    for line in reader.lines() {
        if line.expect("line").contains("TASK [wait]") {
            break;
        }
    }
    child.kill().expect("kill -9");
    let _ = child.wait();
    let left: Vec<_> = std::fs::read_dir(&tmp).expect("tmp").flatten().collect();
    assert!(left.is_empty(), "temp files left: {left:?}");
    assert_eq!(
        std::fs::read_to_string(lab.user_dir("out").join("t.txt")).expect("t.txt"),
        format!("token={SECRET}\n")
    );
}

#[test]
fn vvv_shows_connection_and_commands_with_secrets_masked() {
    let lab = Lab::new(1);
    let play = format!(
        "- hosts: targets\n  gather_facts: false\n  tasks:\n    - command: echo {SECRET}\n      no_log: true\n    - command: echo shown-at-vvv\n      environment:\n        TOKEN: {SECRET}\n"
    );
    let r = run_args(&lab, &lab.inventory(sshd::USER), &play, &["-vvv"], &[]);
    r.assert_code(0);
    let addr = &lab.hosts[0].addr;
    r.out_contains(&format!(
        "<{addr}> ESTABLISH SSH CONNECTION FOR USER: {}",
        sshd::USER
    ));
    r.out_contains(&format!("<{addr}> SSH: EXEC /bin/sh -c '"));
    r.out_contains("exec echo shown-at-vvv");
    r.out_contains("SSH: EXEC /bin/sh -c '(censored due to no_log)'");
    assert!(!r.stdout.contains(SECRET), "{}", r.stdout);
}
