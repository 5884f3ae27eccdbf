//! The `yiqiu-release` binary as users run it: concurrent deploys, lock handling, and
//! `kill -9` at random points.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use yiqiu_play::connection::local::LocalConnection;
use yiqiu_play::release::lock::{Lock, LockOptions};
use yiqiu_play::release::remote::Layout;

const BIN: &str = env!("CARGO_BIN_EXE_yiqiu-release");

fn cli(args: &[&str]) -> std::process::Output {
    Command::new(BIN).args(args).output().unwrap()
}

/// A source tree with `files` small files, so extraction takes a little while.
fn pack_version(t: &Path, v: &str, files: usize) -> String {
    let src = t.join(format!("src-{v}"));
    std::fs::create_dir_all(src.join("data")).unwrap();
    for i in 0..files {
        std::fs::write(
            src.join(format!("data/f{i:04}.txt")),
            format!("{v} {i} ").repeat(50),
        )
        .unwrap();
    }
    std::fs::write(src.join("VERSION"), v).unwrap();
    let dest = t.join("dist");
    let out = cli(&[
        "pack",
        src.to_str().unwrap(),
        "--type",
        "model",
        "--version",
        v,
        "--dest",
        dest.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dest.join(format!("model-{v}.manifest.json"))
        .display()
        .to_string()
}

/// A version dir is complete when it has every file with the right content.
fn complete(dir: &Path, v: &str, files: usize) -> bool {
    if std::fs::read_to_string(dir.join("VERSION")).ok().as_deref() != Some(v) {
        return false;
    }
    (0..files).all(|i| {
        std::fs::read_to_string(dir.join(format!("data/f{i:04}.txt"))).ok()
            == Some(format!("{v} {i} ").repeat(50))
    })
}

#[test]
fn exit_codes_json_and_one_line_reasons() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    let m = pack_version(t.path(), "1.0.0", 3);
    let r = root.to_str().unwrap();
    let out = cli(&[
        "--json",
        "deploy",
        "--type",
        "model",
        "--version",
        "1.0.0",
        "--root",
        r,
        "--from",
        &m,
    ]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["changed"], true);
    assert_eq!(v["current"], "1.0.0");
    let out = cli(&["--json", "version", "list", "--type", "model", "--root", r]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["versions"][0]["version"], "1.0.0");
    assert_eq!(v["versions"][0]["current"], true);
    // Failure: non-zero, one line on stderr.
    let out = cli(&[
        "version",
        "switch",
        "--type",
        "model",
        "--root",
        r,
        "--version",
        "9.9.9",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("9.9.9"), "{err}");
    let out = cli(&["version", "rollback", "--type", "model", "--root", r]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no previous version"));
    let out = cli(&["links", "verify", "--root", r]);
    assert!(out.status.success());
    let out = cli(&["health", "--root", r]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn concurrent_deploys_serialize() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    let r = root.to_str().unwrap().to_string();
    let ms: Vec<String> = ["1.0.0", "2.0.0", "3.0.0"]
        .iter()
        .map(|v| pack_version(t.path(), v, 200))
        .collect();
    let children: Vec<_> = ["1.0.0", "2.0.0", "3.0.0"]
        .iter()
        .zip(&ms)
        .map(|(v, m)| {
            Command::new(BIN)
                .args([
                    "deploy",
                    "--type",
                    "model",
                    "--version",
                    v,
                    "--root",
                    &r,
                    "--from",
                    m,
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for v in ["1.0.0", "2.0.0", "3.0.0"] {
        assert!(
            complete(&root.join("components/model").join(v), v, 200),
            "{v}"
        );
    }
    let cur = std::fs::read_link(root.join("components/model/current")).unwrap();
    assert!(["1.0.0", "2.0.0", "3.0.0"].contains(&cur.to_str().unwrap()));
    // Serialized: each deploy saw the one before it, so the recorded previous versions form a
    // chain (None, a, b), never two deploys that both saw "no current".
    let hist = std::fs::read_to_string(root.join(".yiqiu/history.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = hist
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert!(lines[0].get("previous").is_none());
    assert_eq!(lines[1]["previous"], lines[0]["version"]);
    assert_eq!(lines[2]["previous"], lines[1]["version"]);
    assert_eq!(cur.to_str().unwrap(), lines[2]["version"]);
    assert!(!root.join(".yiqiu/locks/model.lock").exists());
}

#[test]
fn a_held_lock_blocks_and_a_dead_holder_does_not() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    let r = root.to_str().unwrap();
    let m = pack_version(t.path(), "1.0.0", 3);
    let layout = Layout::new(r);
    let mut c = LocalConnection;
    let held = Lock::acquire(
        &mut c,
        &layout,
        "model",
        &LockOptions {
            holder_pid: Some(std::process::id()),
            ..LockOptions::default()
        },
    )
    .unwrap();
    let out = cli(&[
        "--lock-timeout",
        "0",
        "deploy",
        "--type",
        "model",
        "--version",
        "1.0.0",
        "--root",
        r,
        "--from",
        &m,
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("locked"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!root.join("components/model/1.0.0").exists());
    held.release(&mut c).unwrap();
    // A lock left by a process that died (kill -9) is broken, not waited on forever.
    let mut dead = Command::new("true").spawn().unwrap();
    let dead_pid = dead.id();
    dead.wait().unwrap();
    let stale = Lock::acquire(
        &mut c,
        &layout,
        "model",
        &LockOptions {
            holder_pid: Some(dead_pid),
            ..LockOptions::default()
        },
    )
    .unwrap();
    std::mem::forget(stale);
    let out = cli(&[
        "--lock-timeout",
        "5",
        "deploy",
        "--type",
        "model",
        "--version",
        "1.0.0",
        "--root",
        r,
        "--from",
        &m,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn kill_9_at_random_points_always_leaves_current_complete() {
    const FILES: usize = 300;
    const ROUNDS: usize = 50;
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    let r = root.to_str().unwrap().to_string();
    let versions: Vec<String> = (0..=ROUNDS).map(|i| format!("1.0.{i}")).collect();
    let manifests: Vec<String> = versions
        .iter()
        .map(|v| pack_version(t.path(), v, FILES))
        .collect();
    let out = cli(&[
        "deploy",
        "--type",
        "model",
        "--version",
        &versions[0],
        "--root",
        &r,
        "--from",
        &manifests[0],
    ]);
    assert!(out.status.success());
    let comp = root.join("components/model");
    let mut killed_mid = 0;
    for i in 1..=ROUNDS {
        let mut child = Command::new(BIN)
            .args([
                "--lock-timeout",
                "60",
                "deploy",
                "--type",
                "model",
                "--version",
                &versions[i],
                "--root",
                &r,
                "--from",
                &manifests[i],
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(rand::random_range(0..250)));
        // The whole group: the CLI and the tar/sh it runs, as a real kill of the deploy would.
        unsafe {
            libc::kill(-(child.id() as i32), libc::SIGKILL);
        }
        let status = child.wait().unwrap();
        if !status.success() {
            killed_mid += 1;
        }
        let cur = std::fs::read_link(comp.join("current")).unwrap();
        let cur = cur.to_str().unwrap();
        assert!(
            versions.iter().any(|v| v == cur),
            "round {i}: current -> {cur}"
        );
        assert!(
            complete(&comp.join(cur), cur, FILES),
            "round {i}: current {cur} is incomplete"
        );
        // Every visible version dir is complete: they only appear by rename.
        for e in std::fs::read_dir(&comp).unwrap().flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.starts_with('.') || n == "current" {
                continue;
            }
            assert!(
                complete(&e.path(), &n, FILES),
                "round {i}: version dir {n} is incomplete"
            );
        }
    }
    assert!(killed_mid > 0, "no deploy was actually interrupted");
    // The next deploy breaks the dead lock, clears leftovers and works.
    let last = ROUNDS;
    let out = cli(&[
        "--lock-timeout",
        "60",
        "deploy",
        "--type",
        "model",
        "--version",
        &versions[last],
        "--root",
        &r,
        "--from",
        &manifests[last],
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_link(comp.join("current"))
            .unwrap()
            .to_str()
            .unwrap(),
        versions[last]
    );
    let leftovers: Vec<_> = std::fs::read_dir(&comp)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert!(!root.join(".yiqiu/locks/model.lock").exists());
    eprintln!("kill -9 rounds: {ROUNDS}, interrupted: {killed_mid}");
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn messages_say_what_happened_and_what_to_do() {
    let t = tempfile::tempdir().unwrap();
    let version = cli(&["--version"]);
    assert!(version.status.success());
    assert!(text(&version).starts_with("yiqiu-release "));
    let root = t.path().join("root");
    let root_s = root.to_str().unwrap();
    let missing = cli(&[
        "deploy",
        "--type",
        "model",
        "--version",
        "1",
        "--root",
        root_s,
        "--from",
        "/nonexistent/pkgs",
    ]);
    assert!(!missing.status.success());
    assert!(
        text(&missing).contains("/nonexistent/pkgs does not exist"),
        "{}",
        text(&missing)
    );
    for v in ["1", "2"] {
        let m = pack_version(t.path(), v, 2);
        let out = cli(&[
            "deploy",
            "--type",
            "model",
            "--version",
            v,
            "--root",
            root_s,
            "--from",
            &m,
        ]);
        assert!(out.status.success(), "{}", text(&out));
    }
    let back = cli(&["version", "rollback", "--type", "model", "--root", root_s]);
    assert!(
        text(&back).contains("current -> 1 (rolled back from 2"),
        "{}",
        text(&back)
    );
    let again = cli(&["version", "rollback", "--type", "model", "--root", root_s]);
    assert!(
        text(&again).contains("current -> 2 (rolled back from 1")
            && text(&again).contains("returns to 1"),
        "{}",
        text(&again)
    );
    let cleanup = cli(&["version", "cleanup", "--type", "model", "--root", root_s]);
    assert!(
        text(&cleanup).contains("no --keep or --keep-days given, so every version is kept: [1, 2]"),
        "{}",
        text(&cleanup)
    );
    let link = root.join("links/model");
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink("../components/model/1", &link).unwrap();
    let verify = cli(&["links", "verify", "--root", root_s]);
    assert!(!verify.status.success());
    let v = text(&verify);
    assert!(
        v.contains("points at ../components/model/1, expected ../components/model/current"),
        "{v}"
    );
    assert!(v.contains("links repair --root"), "{v}");
    assert!(!v.contains("rc="), "{v}");
    let repair = cli(&["links", "repair", "--root", root_s]);
    assert!(repair.status.success(), "{}", text(&repair));
    assert_eq!(
        std::fs::read_link(&link).unwrap(),
        Path::new("../components/model/current")
    );
}
