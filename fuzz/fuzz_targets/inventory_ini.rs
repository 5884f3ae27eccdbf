//! An INI inventory through `yiqiu_play::inventory::Inventory::load`. The INI parser itself
//! (`inventory::ini::parse`) is `pub(crate)`, so the input is written to a `.ini` file (that
//! extension goes straight to the INI plugin) and loaded as a source; then host patterns and
//! per-host vars are evaluated. An `Err` is a rejected input, never a finding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::OnceLock;
use yiqiu_play::inventory::Inventory;

fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("yiqiu-fuzz-ini-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&d);
        d
    })
}

fuzz_target!(|data: &[u8]| {
    if data.len() > 16 * 1024 || std::str::from_utf8(data).is_err() {
        return;
    }
    let path = dir().join("hosts.ini");
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let Ok(inv) = Inventory::load(&[path]) else {
        return;
    };
    let _ = inv.load_warnings();
    let _ = inv.groups_map();
    // No `~regex` or `*` glob patterns: each compiles a regex per call, which took most of
    // the time per input and is not the inventory parser.
    for pattern in ["all", "ungrouped", "all:!web", "web:&db", "web[0]", "all[1:]"] {
        let _ = inv.select_with_warnings(pattern);
    }
    let hosts: Vec<String> = inv.hosts.keys().take(8).cloned().collect();
    for h in &hosts {
        let _ = inv.host_vars(h, None);
        let _ = inv.group_names(h);
    }
});
