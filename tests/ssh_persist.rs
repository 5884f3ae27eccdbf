//! Sessions kept between runs (Ansible's default `ControlPersist=60s`): a second run reuses
//! the first run's SSH session through its connection keeper, `ControlPersist=no` (or ssh args
//! without it) does not, a restarted server is reconnected to, an unreachable host reads the
//! same either way, and an idle keeper goes away. The proof of reuse is the server's view:
//! `$SSH_CLIENT` names the client's TCP port, which only the same session keeps.

mod common;
#[path = "support/lab_run.rs"]
mod lab_run;
#[path = "support/sshd.rs"]
mod sshd;

use std::time::{Duration, Instant};

const PLAY: &str = "- hosts: all\n  gather_facts: false\n  tasks:\n    - raw: echo \"port=${SSH_CLIENT#* }\"\n      register: r\n    - debug: {msg: \"{{ r.stdout | trim }}\"}\n";

/// The client port the server saw, from the debug line (`"msg": "port=54321 2222"`).
fn client_port(run: &common::Run) -> String {
    run.assert_code(0);
    let line = run
        .stdout
        .lines()
        .find(|l| l.contains("\"msg\": \"port="))
        .unwrap_or_else(|| panic!("no port line:\n{}", run.stdout));
    line.split("port=")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_string()
}

/// Keeper processes serving sockets under this lab's HOME.
fn keepers(lab: &sshd::Lab) -> Vec<String> {
    let out = std::process::Command::new("pgrep")
        .args(["-a", "-f", "__keep-connection"])
        .output()
        .expect("pgrep (procps)");
    let home = lab.home.display().to_string();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(&home))
        .map(str::to_string)
        .collect()
}

fn wait_until(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ok() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_second_run_reuses_the_first_runs_session() {
    let lab = sshd::Lab::new(1);
    let inv = lab.inventory(sshd::USER);
    let first = client_port(&lab_run::run(&lab, &inv, PLAY, &[]));
    assert_eq!(keepers(&lab).len(), 1, "one keeper for the host");
    let second = client_port(&lab_run::run(&lab, &inv, PLAY, &[]));
    assert_eq!(first, second, "the second run opened a new SSH session");
    assert_eq!(keepers(&lab).len(), 1);
    let socks: Vec<_> = std::fs::read_dir(lab.home.join(".yiqiu-play/cp"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(socks.len(), 1);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(lab.home.join(".yiqiu-play/cp"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700, "the socket dir is private");

    // The server restarts: the kept session is gone, the next run connects anew.
    lab.hosts[0].restart();
    let third = client_port(&lab_run::run(&lab, &inv, PLAY, &[]));
    assert_ne!(third, second);
}

#[test]
fn ssh_args_without_control_persist_open_a_session_per_run() {
    let lab = sshd::Lab::new(1);
    let inv = lab.inventory(sshd::USER);
    for args in ["-o ControlPersist=no", "-C -o StrictHostKeyChecking=yes"] {
        let env = [("ANSIBLE_SSH_ARGS", args)];
        let a = client_port(&lab_run::run(&lab, &inv, PLAY, &env));
        let b = client_port(&lab_run::run(&lab, &inv, PLAY, &env));
        assert_ne!(a, b, "{args}: the session was kept");
        assert!(keepers(&lab).is_empty(), "{args}: a keeper was started");
    }
}

#[test]
fn an_idle_keeper_exits_and_removes_its_socket() {
    let lab = sshd::Lab::new(1);
    let inv = lab.inventory(sshd::USER);
    let env = [(
        "ANSIBLE_SSH_ARGS",
        "-o ControlMaster=auto -o ControlPersist=1s",
    )];
    client_port(&lab_run::run(&lab, &inv, PLAY, &env));
    wait_until("the idle keeper exits", || keepers(&lab).is_empty());
    let left = std::fs::read_dir(lab.home.join(".yiqiu-play/cp"))
        .unwrap()
        .count();
    assert_eq!(left, 0, "the socket was left behind");
}

#[test]
fn an_unreachable_host_reads_the_same_with_and_without_a_keeper() {
    let lab = sshd::Lab::new(1);
    let inv = lab.inventory(sshd::USER);
    lab.hosts[0].kill();
    let kept = lab_run::run(&lab, &inv, PLAY, &[]);
    let direct = lab_run::run(
        &lab,
        &inv,
        PLAY,
        &[("ANSIBLE_SSH_ARGS", "-o ControlPersist=no")],
    );
    kept.assert_code(4);
    direct.assert_code(4);
    kept.assert_recap("host0", "unreachable=1");
    let fatal = |r: &common::Run| {
        r.stdout
            .lines()
            .find(|l| l.starts_with("fatal:"))
            .map(str::to_string)
            .unwrap_or_default()
    };
    assert!(fatal(&kept).contains("UNREACHABLE!"), "{}", kept.stdout);
    assert_eq!(fatal(&kept), fatal(&direct));
    assert!(
        keepers(&lab).is_empty(),
        "a keeper outlived its failed connect"
    );
}
