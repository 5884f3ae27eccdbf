//! Ansible's `k=v` argument strings: `yiqiu_play::playbook::kv::{split_args, parse_kv,
//! parse_kv_free_form}`. An `Err` is a rejected input, never a finding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yiqiu_play::playbook::kv;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = kv::split_args(text);
    let _ = kv::parse_kv(text);
    let _ = kv::parse_kv_free_form(text);
});
