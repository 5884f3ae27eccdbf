//! Runs the real `yiqiu-play` binary on playbooks written into a temp dir.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub dir: PathBuf,
}

impl Run {
    /// The PLAY RECAP counters of `host`.
    pub fn recap(&self, host: &str) -> HashMap<String, u32> {
        let line = self
            .stdout
            .lines()
            .skip_while(|l| !l.starts_with("PLAY RECAP"))
            .find(|l| l.split_whitespace().next() == Some(host))
            .unwrap_or_else(|| {
                panic!("no recap row for {host}:\n{}\n{}", self.stdout, self.stderr)
            });
        line.split_whitespace()
            .filter_map(|w| w.split_once('='))
            .map(|(k, v)| (k.to_string(), v.parse().unwrap_or(u32::MAX)))
            .collect()
    }

    /// Asserts some recap counters, e.g. `"ok=3 changed=1 failed=0"`.
    pub fn assert_recap(&self, host: &str, expected: &str) {
        let got = self.recap(host);
        for pair in expected.split_whitespace() {
            let (k, v) = pair.split_once('=').expect("k=v");
            assert_eq!(
                got.get(k).copied(),
                Some(v.parse::<u32>().expect("number")),
                "recap {k} for {host}\nstdout:\n{}\nstderr:\n{}",
                self.stdout,
                self.stderr
            );
        }
    }

    pub fn assert_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code, code,
            "exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn out_contains(&self, needle: &str) -> &Run {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    pub fn err_contains(&self, needle: &str) -> &Run {
        assert!(
            self.stderr.contains(needle) || self.stdout.contains(needle),
            "output lacks {needle:?}\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }
}

pub const LOCAL_INVENTORY: &str = "localhost ansible_connection=local\n";

/// A temp project dir with `files` (relative path → content).
pub fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (path, content) in files {
        let p = dir.path().join(path);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&p, content).expect("write");
    }
    dir
}

/// Runs the binary in `dir` with a clean Ansible environment.
pub fn run_in(dir: &Path, args: &[&str]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_yiqiu-play"));
    for (k, _) in std::env::vars() {
        if k.starts_with("ANSIBLE_") || k == "NO_COLOR" {
            cmd.env_remove(k);
        }
    }
    cmd.env("HOME", dir)
        .env("ANSIBLE_NOCOLOR", "1")
        .current_dir(dir)
        .args(args);
    let out = cmd.output().expect("run yiqiu-play");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        dir: dir.to_path_buf(),
    }
}

/// Writes `site.yml` and a local inventory, runs it with `extra` args.
pub fn play(yaml: &str, extra: &[&str]) -> (tempfile::TempDir, Run) {
    let dir = project(&[("site.yml", yaml), ("hosts", LOCAL_INVENTORY)]);
    let mut args = vec!["-i", "hosts", "site.yml"];
    args.extend_from_slice(extra);
    let run = run_in(dir.path(), &args);
    (dir, run)
}
