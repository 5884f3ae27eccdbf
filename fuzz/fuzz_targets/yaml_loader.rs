//! The YAML 1.1 loader (`yiqiu_play::yaml::load_str`), then the tree's accessors and
//! `to_json`. An `Err` is a rejected input, never a finding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yiqiu_play::yaml::{self, Node};

fn walk(n: &Node, depth: usize) {
    let _ = n.type_name();
    let _ = n.key_string();
    let _ = n.is_null();
    if depth > 64 {
        return;
    }
    if let Some(items) = n.as_seq() {
        for i in items {
            walk(i, depth + 1);
        }
    }
    if let Some(pairs) = n.as_map() {
        for (k, v) in pairs {
            walk(k, depth + 1);
            walk(v, depth + 1);
        }
        let _ = n.get("hosts");
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = yaml::resolve_plain(text);
    if let Ok(node) = yaml::load_str(text, "fuzz.yml") {
        walk(&node, 0);
        let json = node.to_json();
        let _ = serde_json::to_string(&json);
    }
});
