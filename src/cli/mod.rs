//! Command-line layer: flags (`args`, `adhoc`), `ansible.cfg` and `ANSIBLE_*` settings
//! (`config`, `ini`), `-e` values (`extra_vars`) and the merged run options (`options`).
//!
//! Typical use from `main`:
//! `parse_cli(argv)` → `load_config(&env, &cwd, home)` → `resolve(&args, &cfg)` →
//! `load_extra_vars(&opts.extra_vars, &cwd)`.

pub mod adhoc;
pub mod args;
pub mod config;
pub mod extra_vars;
pub mod ini;
pub mod interrupt;
pub mod inventory_cmd;
pub mod options;
pub mod paths;
pub mod plugin_filters;
pub mod print;
pub mod topology_cmd;
pub mod vault_cmd;
pub mod vault_setup;

pub use adhoc::{parse_module_args, AdhocArgs};
pub use args::{parse_adhoc, parse_cli, version_text, Invocation, PlaybookArgs};
pub use config::{load_config, parse_bool, Config, Gathering};
pub use extra_vars::load_extra_vars;
pub use options::{resolve, resolve_adhoc, split_list, Options};
pub mod adhoc_run;
pub mod run;

pub use run::main_with_args;
