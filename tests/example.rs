//! The bundled example (README's first command) runs, is idempotent, scales and cleans up.

mod common;

use std::path::Path;
use std::process::Command;

fn run(root: &Path, args: &[&str]) -> common::Run {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_yiqiu-play"));
    for (k, _) in std::env::vars() {
        if k.starts_with("ANSIBLE_") {
            cmd.env_remove(k);
        }
    }
    let out = cmd
        .current_dir(repo)
        .env("YIQIU_DEMO_ROOT", root)
        .env("ANSIBLE_NOCOLOR", "1")
        .args(args)
        .output()
        .expect("run yiqiu-play");
    common::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        dir: root.to_path_buf(),
    }
}

#[test]
fn site_deploys_is_idempotent_scales_and_cleans() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("demo");
    let r = run(&root, &["playbooks/site.yaml"]);
    r.assert_code(0);
    r.assert_recap("localhost", "failed=0 changed=8");
    let conf = std::fs::read_to_string(root.join("fileserver.conf")).expect("fileserver.conf");
    assert!(conf.contains("namespace = planet-graph-ns"), "{conf}");
    let unit =
        std::fs::read_to_string(root.join("units/planet-graph_8602/unit.conf")).expect("unit");
    assert!(
        unit.contains("port = 8602") && unit.contains("workers = 4"),
        "{unit}"
    );

    let again = run(&root, &["playbooks/site.yaml"]);
    again.assert_code(0);
    again.assert_recap("localhost", "changed=0 failed=0");

    let scaled = run(
        &root,
        &["playbooks/scale_service.yaml", "-e", "scaled_replicas=3"],
    );
    scaled.assert_code(0);
    assert!(
        root.join("units/planet-graph_8603/unit.conf").is_file(),
        "{}",
        scaled.stdout
    );

    let debug_only = run(&root, &["playbooks/site.yaml", "--tags", "debug"]);
    debug_only.assert_code(0);
    debug_only.out_contains("TASK [Show what runs where]");

    let clean = run(&root, &["playbooks/clean.yaml"]);
    clean.assert_code(0);
    assert!(!root.exists(), "{}", clean.stdout);
}
