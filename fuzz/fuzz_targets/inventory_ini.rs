//! An INI inventory through `yiqiu_play::inventory::Inventory::load`. The INI parser itself
//! (`inventory::ini::parse`) is `pub(crate)`, so the input is written to a `.ini` file (that
//! extension goes straight to the INI plugin) and loaded as a source.
#![no_main]

#[path = "shared/inventory.rs"]
mod inventory;

libfuzzer_sys::fuzz_target!(|data: &[u8]| inventory::load_and_query(data, "ini"));
