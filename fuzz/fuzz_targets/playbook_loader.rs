//! A whole playbook through `yiqiu_play::playbook::Loader::load_playbook`. The loader only
//! takes a path (there is no public in-memory entry point for a playbook), so each input is
//! written to a per-process temp dir and loaded with a fresh `Loader` (its file cache is keyed
//! by path). An `Err` is a rejected input, never a finding.
//!
//! Inputs that could make the loader read a device or a pseudo file outside the temp dir
//! (`import_playbook: /dev/zero`, `/proc/...`, hex escapes that could spell such a path) are
//! skipped: a hang there is the harness's environment, not a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::OnceLock;
use yiqiu_play::playbook::Loader;

fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("yiqiu-fuzz-playbook-{}", std::process::id()));
        let _ = std::fs::create_dir_all(d.join("pb"));
        d.join("pb")
    })
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle))
}

fuzz_target!(|data: &[u8]| {
    if data.len() > 16 * 1024 || std::str::from_utf8(data).is_err() {
        return;
    }
    for bad in [&b"dev"[..], b"proc", b"sys", b"stdin", b"fd/", b"\\x", b"\\u"] {
        if contains(data, bad) {
            return;
        }
    }
    let path = dir().join("site.yml");
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let loader = Loader::new(Vec::new());
    if let Ok(pb) = loader.load_playbook(&path) {
        let _ = format!("{:?}", pb.plays.len());
    }
});
