//! The ssh connection end to end: the real `yiqiu-play` binary against real OpenSSH servers
//! on loopback addresses (see `support/sshd.rs`).

mod common;
#[path = "support/lab_run.rs"]
mod lab_run;
#[path = "support/sshd.rs"]
mod sshd;

use lab_run::{run, run_with_hook};
use sshd::Lab;
use std::time::{Duration, Instant};

#[test]
fn commands_and_shell_run_on_three_hosts() {
    let lab = Lab::new(3);
    let play = r#"
- hosts: targets
  gather_facts: false
  tasks:
    - command: id -un
      register: who
    - assert:
        that: who.stdout == 'yiqiu'
    - shell: 'echo "$GREETING|$(pwd)|$((6*7))"; echo oops >&2; exit 3'
      args:
        chdir: /tmp
      environment:
        GREETING: "it's a b"
      register: sh
      failed_when: false
    - assert:
        that:
          - sh.stdout == "it's a b|/tmp|42"
          - sh.stderr == 'oops'
          - sh.rc == 3
    - command: cat
      args:
        stdin: "from stdin"
      register: cat
    - assert:
        that: cat.stdout == 'from stdin'
"#;
    let r = run(&lab, &lab.inventory(sshd::USER), play, &[]);
    r.assert_code(0);
    for h in ["host0", "host1", "host2"] {
        r.assert_recap(h, "ok=6 failed=0 unreachable=0");
    }
}

#[test]
fn become_with_passwordless_sudo() {
    let lab = Lab::new(1);
    let play = r#"
- hosts: targets
  gather_facts: false
  tasks:
    - command: id -un
      become: true
      register: root
    - command: whoami
      become: true
      become_user: nobody
      register: nobody
    - assert:
        that:
          - root.stdout == 'root'
          - nobody.stdout == 'nobody'
"#;
    let r = run(&lab, &lab.inventory(sshd::USER), play, &[]);
    r.assert_code(0);
    r.assert_recap("host0", "ok=3 failed=0");
}

#[test]
fn become_with_a_sudo_password() {
    let lab = Lab::new(1);
    let inv = format!(
        "{}\n[targets:vars]\nansible_become_password={}\n",
        lab.inventory(sshd::PW_USER),
        sshd::PW_PASSWORD
    );
    let play = r#"
- hosts: targets
  gather_facts: false
  tasks:
    - command: id -un
      become: true
      register: root
    - command: cat
      become: true
      args:
        stdin: "piped after the password"
      register: cat
    - assert:
        that:
          - root.stdout == 'root'
          - "'password' not in root.stderr"
          - cat.stdout == 'piped after the password'
"#;
    let r = run(&lab, &inv, play, &[]);
    r.assert_code(0);
    r.assert_recap("host0", "ok=3 failed=0");
}

#[test]
fn wrong_sudo_password_fails_clearly() {
    let lab = Lab::new(1);
    let inv = format!(
        "{}\n[targets:vars]\nansible_become_password=not-the-password\n",
        lab.inventory(sshd::PW_USER)
    );
    let play = "- hosts: targets\n  gather_facts: false\n  tasks:\n    - command: id -un\n      become: true\n";
    let r = run(&lab, &inv, play, &[]);
    r.assert_code(2).err_contains("Incorrect sudo password");
    r.assert_recap("host0", "ok=0 failed=1 unreachable=0");
}

#[test]
fn missing_sudo_password_fails_clearly() {
    let lab = Lab::new(1);
    let play = "- hosts: targets\n  gather_facts: false\n  tasks:\n    - command: id -un\n      become: true\n";
    let r = run(&lab, &lab.inventory(sshd::PW_USER), play, &[]);
    r.assert_code(2).err_contains("Missing sudo password");
}

const PING: &str = "- hosts: targets\n  gather_facts: false\n  tasks:\n    - command: 'true'\n";

#[test]
fn changed_host_key_is_refused() {
    let lab = Lab::new(2);
    // host0's address recorded with host1's key, on line 2.
    lab.write_known_hosts(&[
        lab.hosts[1].known_hosts_line(),
        format!(
            "[{}]:{} {}",
            lab.hosts[0].addr, lab.hosts[0].port, lab.hosts[1].host_key
        ),
    ]);
    let r = run(&lab, &lab.inventory(sshd::USER), PING, &[]);
    r.assert_code(4)
        .err_contains("REMOTE HOST IDENTIFICATION HAS CHANGED")
        .err_contains(&format!("{}:2", lab.known_hosts_path().display()));
    r.assert_recap("host0", "ok=0 unreachable=1");
    r.assert_recap("host1", "ok=1 unreachable=0");
}

#[test]
fn unknown_host_is_refused_unless_checking_is_off() {
    let lab = Lab::new(1);
    lab.write_known_hosts(&[]);
    let r = run(&lab, &lab.inventory(sshd::USER), PING, &[]);
    r.assert_code(4)
        .err_contains("authenticity of host")
        .err_contains(&format!(
            "ssh-keyscan -p {} {}",
            lab.hosts[0].port, lab.hosts[0].addr
        ))
        .err_contains("host_key_checking = False");
    r.assert_recap("host0", "unreachable=1");

    let r = run(
        &lab,
        &lab.inventory(sshd::USER),
        PING,
        &[("ANSIBLE_HOST_KEY_CHECKING", "False")],
    );
    r.assert_code(0);
    r.assert_recap("host0", "ok=1 unreachable=0");
    let kh = std::fs::read_to_string(lab.known_hosts_path()).unwrap();
    assert_eq!(kh, "", "an unchecked key must not be recorded");
}

#[test]
fn hashed_known_hosts_entries_match() {
    let lab = Lab::new(1);
    let kh = lab.known_hosts_path();
    let out = std::process::Command::new("ssh-keygen")
        .arg("-H")
        .arg("-f")
        .arg(&kh)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&kh).unwrap();
    assert!(text.starts_with("|1|"), "hashed: {text}");
    let r = run(&lab, &lab.inventory(sshd::USER), PING, &[]);
    r.assert_code(0);
}

#[test]
fn wrong_key_is_unreachable_while_others_finish() {
    let lab = Lab::new(3);
    let inv = lab.inventory(sshd::USER).replacen(
        &format!("ansible_ssh_private_key_file={}", lab.key.display()),
        &format!("ansible_ssh_private_key_file={}", lab.wrong_key.display()),
        1,
    );
    let r = run(&lab, &inv, PING, &[]);
    r.assert_code(4).err_contains("Permission denied");
    r.assert_recap("host0", "ok=0 unreachable=1");
    r.assert_recap("host1", "ok=1 unreachable=0");
    r.assert_recap("host2", "ok=1 unreachable=0");
}

#[test]
fn closed_port_counts_unreachable() {
    let lab = Lab::new(2);
    // A port nobody listens on: bind one, note it, close it.
    let closed = std::net::TcpListener::bind(("127.0.0.1", 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let inv = format!(
        "{}deadhost ansible_host=127.0.0.1 ansible_port={closed} ansible_user=yiqiu ansible_ssh_private_key_file={}\n",
        lab.inventory(sshd::USER),
        lab.key.display()
    );
    let r = run(&lab, &inv, PING, &[]);
    r.assert_code(4).err_contains("Connection refused");
    r.assert_recap("deadhost", "ok=0 unreachable=1");
    r.assert_recap("host0", "ok=1 unreachable=0");
    r.assert_recap("host1", "ok=1 unreachable=0");
}

#[test]
fn reconnects_after_sshd_restart_between_tasks() {
    let lab = Lab::new(1);
    let play = r#"
- hosts: targets
  gather_facts: false
  tasks:
    - command: echo first
    - name: hold on
      pause:
        seconds: 2
    - command: echo second
      register: second
    - assert:
        that: second.stdout == 'second'
"#;
    let r = run_with_hook(
        &lab,
        &lab.inventory(sshd::USER),
        play,
        "TASK [hold on]",
        || lab.hosts[0].restart(),
    );
    r.assert_code(0);
    r.assert_recap("host0", "ok=4 failed=0 unreachable=0");
}

#[test]
fn sshd_killed_during_a_task_marks_only_that_host() {
    let lab = Lab::new(2);
    // Written by the remote (non-root) user.
    let shared = lab.dir.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(
        &shared,
        std::os::unix::fs::PermissionsExt::from_mode(0o1777),
    )
    .unwrap();
    let marker = shared.join("started-host0");
    let play = format!(
        r#"
- hosts: targets
  gather_facts: false
  tasks:
    - shell: 'if [ {{{{ inventory_hostname }}}} = host0 ]; then touch {m}; sleep 30; fi'
    - command: echo after
"#,
        m = marker.display()
    );
    let r = std::thread::scope(|scope| {
        scope.spawn(|| {
            let deadline = Instant::now() + Duration::from_secs(60);
            while !marker.exists() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            lab.hosts[0].kill();
        });
        run(&lab, &lab.inventory(sshd::USER), &play, &[])
    });
    assert!(
        marker.exists(),
        "the long task never started:\n{}\n{}",
        r.stdout,
        r.stderr
    );
    r.assert_code(4);
    r.assert_recap("host0", "unreachable=1");
    r.assert_recap("host1", "ok=2 failed=0 unreachable=0");
}
