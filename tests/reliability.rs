//! A bad day for the fleet: hosts that are unreachable inside loops, hosts that freeze
//! mid-task (sshd stopped with SIGSTOP, TCP still up), hosts that accept TCP but never speak
//! SSH, connections dropped mid-transfer. Real sshd servers on loopback (`support/sshd.rs`);
//! every run is under a hang guard (`support/lab_run.rs`), so a hang fails instead of stalling.

mod common;
#[path = "support/lab_run.rs"]
mod lab_run;
#[path = "support/sshd.rs"]
mod sshd;

use lab_run::{run, run_with_hook};
use sshd::Lab;
use std::time::Duration;

/// Keepalives every second, two unanswered ones make a host hung: detection in ~2 s.
const FAST_ALIVE: &str =
    "[targets:vars]\nansible_ssh_common_args='-o ServerAliveInterval=1 -o ServerAliveCountMax=2'\n";

/// host1's key is not in known_hosts, so it cannot be reached; host0 is fine.
fn lab_with_unknown_host_key() -> Lab {
    let lab = Lab::new(2);
    lab.write_known_hosts(&[lab.hosts[0].known_hosts_line()]);
    lab
}

fn assert_unreachable_not_ok(r: &common::Run) {
    r.assert_code(4);
    r.assert_recap("host1", "ok=0 changed=0 unreachable=1 failed=0");
    r.assert_recap("host0", "ok=2 unreachable=0 failed=0");
    r.out_contains("fatal: [host1]: UNREACHABLE!");
    assert!(
        !r.stdout.contains("ok: [host1]"),
        "an unreachable host reported ok:\n{}",
        r.stdout
    );
    // The host is out of the play: the next task ran on host0 only.
    assert_eq!(r.stdout.matches("after loop").count(), 1, "{}", r.stdout);
}

#[test]
fn unreachable_host_inside_a_loop_is_unreachable() {
    let lab = lab_with_unknown_host_key();
    let play = r#"
- hosts: targets
  gather_facts: false
  tasks:
    - name: looped
      command: echo {{ item }}
      loop: [a, b, c]
    - debug: msg="after loop"
"#;
    let r = run(&lab, &lab.inventory(sshd::USER), play, &[]);
    assert_unreachable_not_ok(&r);
    for item in ["a", "b", "c"] {
        r.out_contains(&format!("failed: [host1] (item={item}) => {{"));
    }
    r.out_contains("\"msg\": \"All items completed\"");
    r.out_contains("\"unreachable\": true");
}

#[test]
fn unreachable_host_in_with_items_and_until_is_unreachable() {
    let lab = lab_with_unknown_host_key();
    let play = r#"
- hosts: targets
  gather_facts: false
  tasks:
    - name: with_items
      command: echo {{ item }}
      with_items: [a, b]
"#;
    let r = run(
        &lab,
        &lab.inventory(sshd::USER),
        &format!("{play}    - debug: msg=\"after loop\"\n"),
        &[],
    );
    assert_unreachable_not_ok(&r);

    let until = r#"
- hosts: targets
  gather_facts: false
  tasks:
    - name: retried
      command: echo hi
      register: out
      until: out.rc == 0
      retries: 3
      delay: 0
    - debug: msg="after loop"
"#;
    let r = run(&lab, &lab.inventory(sshd::USER), until, &[]);
    assert_unreachable_not_ok(&r);
    // A connection failure is not retried.
    assert!(
        !r.stdout.contains("FAILED - RETRYING: [host1]"),
        "{}",
        r.stdout
    );
}

#[test]
fn ignore_unreachable_in_a_loop_counts_ok_and_ignored() {
    let lab = lab_with_unknown_host_key();
    let play = r#"
- hosts: targets
  gather_facts: false
  tasks:
    - command: echo {{ item }}
      loop: [a]
      ignore_unreachable: true
    - debug: msg="after loop"
"#;
    let r = run(&lab, &lab.inventory(sshd::USER), play, &[]);
    r.assert_code(0);
    r.assert_recap("host1", "ok=2 unreachable=0 ignored=1");
}

/// A 5-host play; while the first task runs, host2's sshd (listener and session processes)
/// is stopped. It must be reported unreachable, the others must finish, the run must end.
fn hung_host_play(strategy: &str) {
    let lab = Lab::new(5);
    let inv = format!("{}{FAST_ALIVE}", lab.inventory(sshd::USER));
    let play = format!(
        r#"
- hosts: targets
  gather_facts: false
  strategy: {strategy}
  tasks:
    - name: slow
      command: sleep 4
    - name: second
      command: echo second
    - name: third
      debug: msg=done
"#
    );
    let r = run_with_hook(&lab, &inv, &play, "TASK [slow]", || {
        std::thread::sleep(Duration::from_millis(800));
        lab.hosts[2].signal("STOP");
    });
    lab.hosts[2].signal("CONT");
    r.assert_code(4);
    r.assert_recap("host2", "ok=0 unreachable=1 failed=0");
    for h in ["host0", "host1", "host3", "host4"] {
        r.assert_recap(h, "ok=3 changed=2 unreachable=0 failed=0");
    }
    r.out_contains("fatal: [host2]: UNREACHABLE!");
    r.out_contains("not responding: no reply for");
    r.out_contains("PLAY RECAP");
}

#[test]
fn hung_host_is_unreachable_and_the_run_ends_linear() {
    hung_host_play("linear");
}

#[test]
fn hung_host_is_unreachable_and_the_run_ends_free() {
    hung_host_play("free");
}

#[test]
fn host_that_never_speaks_ssh_is_unreachable() {
    let lab = Lab::new(1);
    // Accepts TCP connections and never says a word.
    let mute = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = mute.local_addr().expect("addr").port();
    let holder = std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in mute.incoming().take(4).flatten() {
            held.push(c);
        }
        std::thread::sleep(Duration::from_secs(30));
    });
    let inv = format!(
        "{}mute ansible_host=127.0.0.1 ansible_port={port} ansible_timeout=2 ansible_host_key_checking=false\n",
        lab.inventory(sshd::USER)
    );
    let play = "- hosts: all\n  gather_facts: false\n  tasks:\n    - ping:\n";
    let r = run(&lab, &inv, play, &[]);
    r.assert_code(4);
    r.assert_recap("mute", "ok=0 unreachable=1");
    r.assert_recap("host0", "ok=1 unreachable=0");
    r.out_contains("fatal: [mute]: UNREACHABLE!");
    r.out_contains("Connection timed out during banner exchange");
    drop(holder);
}

#[test]
fn connection_dropped_mid_transfer_is_unreachable_and_cleaned_up_next_run() {
    let lab = Lab::new(1);
    let dest_dir = lab.user_dir("dest");
    // Incompressible data, large enough that the upload is still running when sshd dies.
    let big = lab.dir.path().join("big.bin");
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "head -c 400000000 /dev/urandom > '{}' && chmod 0644 '{}'",
            big.display(),
            big.display()
        ))
        .status()
        .expect("make big file");
    assert!(status.success());
    let play = format!(
        "- hosts: targets\n  gather_facts: false\n  tasks:\n    - name: upload\n      copy: src={} dest={}/big.bin\n",
        big.display(),
        dest_dir.display()
    );
    let inv = lab.inventory(sshd::USER);
    let leftovers = |dir: &std::path::Path| -> Vec<String> {
        std::fs::read_dir(dir)
            .expect("read dest")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".yiqiu-"))
            .collect()
    };
    let r = run_with_hook(&lab, &inv, &play, "TASK [upload]", || {
        // Kill sshd once the upload's temp file exists, i.e. mid-transfer.
        for _ in 0..600 {
            if !leftovers(&dest_dir).is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        lab.hosts[0].kill();
    });
    r.assert_code(4);
    r.assert_recap("host0", "ok=0 unreachable=1 failed=0");
    r.out_contains("fatal: [host0]: UNREACHABLE!");
    assert!(
        !leftovers(&dest_dir).is_empty(),
        "the interrupted upload left no temp file: the test did not interrupt it\n{}\n{}",
        r.stdout,
        r.stderr
    );
    // The next run that touches the path removes the stale temp file and succeeds.
    lab.hosts[0].restart();
    let small = format!(
        "- hosts: targets\n  gather_facts: false\n  tasks:\n    - copy: content=fresh dest={}/big.bin\n",
        dest_dir.display()
    );
    let r = run(&lab, &inv, &small, &[]);
    r.assert_code(0);
    assert_eq!(
        std::fs::read_to_string(dest_dir.join("big.bin")).expect("dest"),
        "fresh"
    );
    assert_eq!(leftovers(&dest_dir), Vec::<String>::new());
}

/// Whether a process whose command line contains `needle` is running on this machine (the
/// sshd hosts are loopback addresses of it).
fn process_running(needle: &str) -> bool {
    let out = std::process::Command::new("pgrep")
        .args(["-f", needle])
        .output()
        .expect("pgrep");
    out.status.success()
}

#[test]
fn task_timeout_kills_the_remote_command_and_the_connection_stays_usable() {
    let lab = Lab::new(1);
    let play = r#"
- hosts: targets
  gather_facts: false
  tasks:
    - name: too slow
      shell: sleep 3737; echo never
      timeout: 2
      ignore_errors: true
    - name: next
      command: echo still here
      register: next
    - assert:
        that: next.stdout == 'still here'
"#;
    let r = run(&lab, &lab.inventory(sshd::USER), play, &[]);
    r.assert_code(0);
    r.assert_recap("host0", "ok=3 failed=0 ignored=1 unreachable=0");
    r.out_contains("[ERROR]: Task failed: Timed out after 2 second(s).");
    r.out_contains(
        r#""msg": "Task failed: Timed out after 2 second(s).", "timedout": {"frame": "Configure `DISPLAY_TRACEBACK` to see a traceback on timeout errors.", "period": 2}}"#,
    );
    assert!(
        !process_running("sleep 3737"),
        "the timed-out command still runs on the host\n{}\n{}",
        r.stdout,
        r.stderr
    );
}

#[test]
fn task_timeout_on_the_local_connection_kills_the_command() {
    let lab = Lab::new(1);
    let play = r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - shell: sleep 3838 & sleep 3839
      timeout: 1
"#;
    let r = run(&lab, "localhost ansible_connection=local\n", play, &[]);
    r.assert_code(2);
    r.assert_recap("localhost", "ok=0 failed=1");
    r.out_contains("Timed out after 1 second(s).");
    assert!(
        !process_running("sleep 383[89]"),
        "the command group survived"
    );
}

#[test]
fn full_disk_says_no_space_left_on_device() {
    let lab = Lab::new(1);
    let small = lab.user_dir("small");
    let mount = |args: &[&str]| {
        std::process::Command::new(args[0])
            .args(&args[1..])
            .status()
            .expect("mount")
            .success()
    };
    let path = small.display().to_string();
    assert!(
        mount(&[
            "mount",
            "-t",
            "tmpfs",
            "-o",
            "size=1m,mode=0777",
            "tmpfs",
            &path
        ]),
        "this test mounts a 1 MB tmpfs and needs root"
    );
    let big = lab.dir.path().join("three-mb.bin");
    std::fs::write(&big, vec![7u8; 3 << 20]).expect("big file");
    let play = format!(
        "- hosts: targets\n  gather_facts: false\n  tasks:\n    - copy: src={} dest={path}/big.bin\n",
        big.display()
    );
    let r = run(&lab, &lab.inventory(sshd::USER), &play, &[]);
    let left: Vec<_> = std::fs::read_dir(&small)
        .map(|d| d.flatten().count())
        .into_iter()
        .collect();
    mount(&["umount", &path]);
    r.assert_code(2);
    r.assert_recap("host0", "failed=1 unreachable=0");
    r.out_contains("No space left on device");
    assert_eq!(left, vec![0], "the failed upload left files behind");
}

#[test]
fn host_frozen_between_tasks_is_unreachable_with_alive_settings_from_ssh_config() {
    let lab = Lab::new(3);
    // The keepalive settings come from ~/.ssh/config this time.
    lab.write(
        ".ssh/config",
        "Host *\n  ServerAliveInterval 1\n  ServerAliveCountMax 2\n",
    );
    let play = r#"
- hosts: targets
  gather_facts: false
  tasks:
    - name: first
      command: echo first
    - name: pause here
      pause:
        seconds: 2
    - name: after the freeze
      command: echo second
"#;
    let r = run_with_hook(
        &lab,
        &lab.inventory(sshd::USER),
        play,
        "TASK [pause here]",
        || {
            lab.hosts[1].signal("STOP");
        },
    );
    lab.hosts[1].signal("CONT");
    r.assert_code(4);
    // `pause` runs once, for the first host (Ansible's BYPASS_HOST_LOOP): only host0 counts it.
    r.assert_recap("host1", "ok=1 unreachable=1 failed=0");
    r.assert_recap("host0", "ok=3 unreachable=0");
    r.assert_recap("host2", "ok=2 unreachable=0");
    r.out_contains("fatal: [host1]: UNREACHABLE!");
    r.out_contains("ServerAliveInterval=1, ServerAliveCountMax=2");
}
