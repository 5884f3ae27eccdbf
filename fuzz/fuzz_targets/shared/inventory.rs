//! The body both inventory targets share: write the input to a file with the given extension
//! (which picks the inventory plugin), load it as a source, then evaluate host patterns and
//! per-host vars. An `Err` is a rejected input, never a finding.

use std::path::PathBuf;
use std::sync::OnceLock;
use yiqiu_play::inventory::Inventory;

fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("yiqiu-fuzz-inventory-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&d);
        d
    })
}

pub fn load_and_query(data: &[u8], extension: &str) {
    if data.len() > 16 * 1024 || std::str::from_utf8(data).is_err() {
        return;
    }
    let path = dir().join(format!("hosts.{extension}"));
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
}
