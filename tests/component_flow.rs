//! The component_* modules through the real `yiqiu-play` binary: the example playbook
//! `playbooks/release_flow.yaml` (pack → publish → deploy → switch → rollback) against three
//! real sshd hosts, its re-run and its check mode; and argument validation.

mod common;
#[path = "support/sshd.rs"]
mod sshd;

use common::Run;
use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

const BIN: &str = env!("CARGO_BIN_EXE_yiqiu-play");

fn playbook() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("playbooks/release_flow.yaml")
}

fn run(lab: &sshd::Lab, work: &Path, extra: &[&str]) -> Run {
    let mut cmd = lab.command(BIN);
    cmd.arg("-i")
        .arg(lab.home.join("hosts"))
        .arg(playbook())
        .arg("-e")
        .arg(format!("work={}", work.display()))
        .args(extra);
    let out = cmd.output().expect("run yiqiu-play");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        dir: lab.home.clone(),
    }
}

/// A work dir whose per-host roots the login user owns.
fn work_dir(name: &str, hosts: usize) -> PathBuf {
    let w = PathBuf::from(format!("/tmp/yiqiu-compflow-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&w);
    std::fs::create_dir_all(w.join("hosts")).unwrap();
    for d in [w.as_path(), &w.join("hosts")] {
        std::fs::set_permissions(d, PermissionsExt::from_mode(0o755)).unwrap();
    }
    let uid = sshd_uid();
    for i in 0..hosts {
        let h = w.join(format!("hosts/host{i}"));
        std::fs::create_dir(&h).unwrap();
        std::os::unix::fs::chown(&h, Some(uid), Some(uid)).unwrap();
    }
    w
}

fn sshd_uid() -> u32 {
    let out = std::process::Command::new("id")
        .args(["-u", sshd::USER])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// Every path under `dir` with what identifies its content: a link's target, a file's size,
/// mtime and bytes. Directories count by existence (a read-only probe may touch their mtime).
fn snapshot(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            let key = p.strip_prefix(dir).unwrap().display().to_string();
            let v = if m.file_type().is_symlink() {
                format!("-> {}", std::fs::read_link(&p).unwrap().display())
            } else if m.is_dir() {
                stack.push(p.clone());
                "dir".into()
            } else {
                let bytes = std::fs::read(&p).unwrap();
                format!(
                    "{} {} {:x}",
                    m.size(),
                    m.mtime_nsec() + m.mtime() * 1_000_000_000,
                    {
                        use std::hash::{DefaultHasher, Hasher};
                        let mut h = DefaultHasher::new();
                        h.write(&bytes);
                        h.finish()
                    }
                )
            };
            out.insert(key, v);
        }
    }
    out
}

fn link(p: &Path) -> String {
    std::fs::read_link(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .display()
        .to_string()
}

#[test]
fn release_flow_on_three_ssh_hosts_rerun_and_check_mode() {
    let lab = sshd::Lab::new(3);
    lab.write("hosts", &lab.inventory(sshd::USER));

    // Check mode on a fresh fleet: the run passes and nothing at all is written.
    let fresh = work_dir("fresh", 3);
    let before = snapshot(&fresh);
    let r = run(&lab, &fresh, &["--check"]);
    r.assert_code(0);
    r.assert_recap("localhost", "changed=2 failed=0");
    for i in 0..3 {
        r.assert_recap(&format!("host{i}"), "changed=2 failed=0");
    }
    assert_eq!(
        snapshot(&fresh),
        before,
        "check mode wrote on a fresh fleet"
    );
    std::fs::remove_dir_all(&fresh).unwrap();

    // The whole flow.
    let w = work_dir("flow", 3);
    let r = run(&lab, &w, &[]);
    r.assert_code(0);
    r.assert_recap("localhost", "ok=3 changed=2 failed=0");
    for i in 0..3 {
        // deploy 1.0.0, deploy 1.0.1, switch, rollback.
        r.assert_recap(&format!("host{i}"), "ok=8 changed=4 failed=0");
    }
    let pkg = w.join("store/model/1.0.1/model-1.0.1.tar.gz");
    assert!(pkg.is_file(), "published package missing");
    for i in 0..3 {
        let root = w.join(format!("hosts/host{i}"));
        let c = root.join("components/model");
        assert_eq!(link(&c.join("current")), "1.0.0", "host{i}");
        assert_eq!(
            std::fs::read_to_string(c.join("current/bert/config.json")).unwrap(),
            "{\"hidden\": 768, \"release\": \"1.0.0\"}\n"
        );
        // 1.0.1 is there, complete, fetched from the store (the assert in the play checks
        // the source), owned by the login user.
        assert_eq!(
            std::fs::read_to_string(c.join("1.0.1/bert/vocab.txt")).unwrap(),
            "vocab-a\nvocab-b\nvocab-c\n"
        );
        assert_eq!(
            std::fs::metadata(c.join("1.0.1")).unwrap().uid(),
            sshd_uid()
        );
        assert_eq!(
            link(&root.join("links/model")),
            "../components/model/current"
        );
        assert_eq!(
            link(&root.join("app-model")),
            root.join("links/model").display().to_string()
        );
        // History: deploy, deploy, switch, rollback (a switch), in order.
        let hist = std::fs::read_to_string(root.join(".yiqiu/history.jsonl")).unwrap();
        let actions: Vec<String> = hist
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                format!(
                    "{} {}",
                    v["action"].as_str().unwrap(),
                    v["version"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(
            actions,
            [
                "deploy 1.0.0",
                "deploy 1.0.1",
                "switch 1.0.1",
                "switch 1.0.0"
            ],
            "host{i}"
        );
    }

    // Re-run of pack, publish and deploy: nothing changes.
    let r = run(&lab, &w, &["--tags", "build,deploy"]);
    r.assert_code(0);
    r.assert_recap("localhost", "changed=0 failed=0");
    for i in 0..3 {
        r.assert_recap(&format!("host{i}"), "ok=3 changed=0 failed=0");
    }

    // Check mode on the deployed fleet: the switch would change, nothing is written.
    let before = snapshot(&w);
    let r = run(&lab, &w, &["--check"]);
    r.assert_code(0);
    for i in 0..3 {
        r.assert_recap(&format!("host{i}"), "ok=8 changed=2 failed=0");
    }
    assert_eq!(snapshot(&w), before, "check mode changed the fleet");
    for i in 0..3 {
        assert_eq!(
            link(&w.join(format!("hosts/host{i}/components/model/current"))),
            "1.0.0"
        );
    }
    std::fs::remove_dir_all(&w).unwrap();
}

#[test]
fn unknown_argument_is_rejected_with_the_module_message() {
    let (_d, r) = common::play(
        r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - component_deploy:
        type: model
        version: "1.0"
        root: /tmp/yiqiu-never-created
        manifest: /nonexistent.json
        swich: false
"#,
        &[],
    );
    assert_ne!(r.code, 0);
    r.err_contains("Unsupported parameters for (component_deploy) module: swich.");
    r.err_contains("Did you mean 'switch'?");
    assert!(!Path::new("/tmp/yiqiu-never-created").exists());

    let (_d, r) = common::play(
        r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - component_version:
        action: promote
        type: model
        root: /tmp/x
"#,
        &[],
    );
    assert_ne!(r.code, 0);
    r.err_contains(
        "value of action must be one of: list, switch, rollback, cleanup, pin, unpin, got: promote",
    );
}
