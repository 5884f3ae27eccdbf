//! Running the real `yiqiu-play` binary against a [`Lab`] of sshd hosts: plainly, or with a
//! hook called when a line of output shows (to stop, kill or probe a host mid-run).
//!
//! Use it with `mod common; #[path = "support/sshd.rs"] mod sshd;
//! #[path = "support/lab_run.rs"] mod lab_run;`.
#![allow(dead_code)]

use crate::common::Run;
use crate::sshd::Lab;
use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;

pub const BIN: &str = env!("CARGO_BIN_EXE_yiqiu-play");

/// A run that has not ended after this long is killed (`timeout -s KILL`, exit 137), so a
/// hang fails its test instead of stalling the suite.
pub const HANG_LIMIT_SECS: &str = "300";

/// The yiqiu-play command line, under the hang guard.
fn guarded(lab: &Lab) -> std::process::Command {
    let mut cmd = lab.command("timeout");
    cmd.args([
        "-s",
        "KILL",
        HANG_LIMIT_SECS,
        BIN,
        "-i",
        "hosts",
        "site.yml",
    ]);
    cmd
}

/// `yiqiu-play -i hosts site.yml ARGS` in the lab's HOME with `env` set.
pub fn run(lab: &Lab, inventory: &str, play: &str, env: &[(&str, &str)]) -> Run {
    run_args(lab, inventory, play, &[], env)
}

pub fn run_args(
    lab: &Lab,
    inventory: &str,
    play: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> Run {
    lab.write("hosts", inventory);
    lab.write("site.yml", play);
    let mut cmd = guarded(lab);
    cmd.args(args).envs(env.iter().copied());
    let out = cmd.output().expect("run yiqiu-play");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        dir: lab.home.clone(),
    }
}

/// Starts the play, calls `at` once stdout shows a line containing `marker`, then waits.
pub fn run_with_hook(
    lab: &Lab,
    inventory: &str,
    play: &str,
    marker: &str,
    at: impl FnOnce(),
) -> Run {
    lab.write("hosts", inventory);
    lab.write("site.yml", play);
    let mut cmd = guarded(lab);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn yiqiu-play");
    let mut stderr = child.stderr.take().expect("stderr pipe");
    let err_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let mut reader = BufReader::new(child.stdout.take().expect("stdout pipe"));
    let mut stdout = String::new();
    let mut at = Some(at);
    let mut line = String::new();
    while reader.read_line(&mut line).unwrap_or(0) > 0 {
        if line.contains(marker) {
            if let Some(f) = at.take() {
                f();
            }
        }
        stdout.push_str(&line);
        line.clear();
    }
    let status = child.wait().expect("wait for yiqiu-play");
    let stderr = err_thread.join().unwrap_or_default();
    assert!(
        at.is_none(),
        "marker {marker:?} never showed:\n{stdout}\n{stderr}"
    );
    Run {
        code: status.code().unwrap_or(-1),
        stdout,
        stderr,
        dir: lab.home.clone(),
    }
}
