//! `-e/--extra-vars` values: `yiqiu_play::cli::extra_vars::load_extra_vars`. The input is
//! split on NUL bytes into several `-e` values, parsed in order. `@file` values are only
//! kept when they name a plain file in the per-process fixture dir (`vars.yml`,
//! `vars.json`, `list.yml`), so the fuzzer never reads devices or files elsewhere. An `Err`
//! is a rejected input, never a finding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::OnceLock;
use yiqiu_play::cli::extra_vars::load_extra_vars;

fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("yiqiu-fuzz-extra-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&d);
        let _ = std::fs::write(d.join("vars.yml"), "a: 1\nb: [x, y]\nc: {d: yes}\n");
        let _ = std::fs::write(d.join("vars.json"), "{\"a\": 1, \"b\": [\"x\"]}\n");
        let _ = std::fs::write(d.join("list.yml"), "- 1\n- 2\n");
        d
    })
}

fn safe_file_ref(v: &str) -> bool {
    match v.strip_prefix('@') {
        None => true,
        Some(name) => {
            !name.starts_with('.')
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let values: Vec<String> = text.split('\0').map(str::to_string).collect();
    if !values.iter().all(|v| safe_file_ref(v)) {
        return;
    }
    let _ = load_extra_vars(&values, dir());
});
