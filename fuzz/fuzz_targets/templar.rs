//! Template strings through the project's minijinja environment (`yiqiu_play::template::
//! templar()`): `render_native` (one `{{ expr }}` gives a native value, else text),
//! `render_file` (file semantics) and `eval_condition` (a `when:`), with a small fixed set
//! of variables. An `Err` is a rejected template, never a finding.
//!
//! Inputs over 4 KB are ignored. Inputs that could reach a lookup are skipped, because
//! `lookup('pipe', ...)` runs `/bin/sh` and `lookup('file', ...)` reads any path: any input
//! naming `lookup`, `query` or the identifier `q`, or using `include`/`import`/`extends`
//! (whose template names are sources here, so they could build such a call at run time).
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};
use std::sync::OnceLock;
use yiqiu_play::template::{mj_value, templar};

fn ctx() -> &'static minijinja::Value {
    static CTX: OnceLock<minijinja::Value> = OnceLock::new();
    CTX.get_or_init(|| {
        mj_value(json!({
            "s": "a-b c",
            "n": 3,
            "f": 1.5,
            "b": true,
            "none": null,
            "l": [1, "x", null, true, 1.5, [2, 3]],
            "d": {"k": "v", "n": {"m": [1, 2]}, "1": "one"},
            "hosts": ["web1", "web2"],
            "inventory_hostname": "web1",
            "groups": {"all": ["web1", "web2"], "web": ["web1"]},
            "hostvars": {"web1": {"ansible_host": "10.0.0.1"}, "web2": {}},
        }))
    })
}

fn has_word(text: &str, word: &str) -> bool {
    let b = text.as_bytes();
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut start = 0;
    while let Some(i) = text[start..].find(word) {
        let at = start + i;
        let end = at + word.len();
        let before = at == 0 || !ident(b[at - 1]);
        let after = end >= b.len() || !ident(b[end]);
        if before && after {
            return true;
        }
        start = at + 1;
        while !text.is_char_boundary(start) {
            start += 1;
        }
    }
    false
}

fuzz_target!(|data: &[u8]| {
    if data.len() > 4096 {
        return;
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let lower = text.to_ascii_lowercase();
    for bad in ["lookup", "query", "include", "import", "extends"] {
        if lower.contains(bad) {
            return;
        }
    }
    if has_word(text, "q") {
        return;
    }
    let t = templar();
    let ctx = ctx();
    let _ = t.render_native(text, ctx);
    let _ = t.render_file(text, ctx);
    let _ = t.eval_condition(&Value::String(text.to_string()), ctx);
});
