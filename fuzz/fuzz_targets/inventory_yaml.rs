//! A YAML inventory through `yiqiu_play::inventory::Inventory::load`. The YAML inventory
//! parser (`inventory::yaml_source::parse`) is `pub(crate)`, so the input is written to a
//! `.yml` file and loaded as a source (the loader tries the YAML plugin, then INI, as Ansible
//! does).
#![no_main]

#[path = "shared/inventory.rs"]
mod inventory;

libfuzzer_sys::fuzz_target!(|data: &[u8]| inventory::load_and_query(data, "yml"));
