//! `set_stats`: custom statistics for the run (or, with `per_host`, the host), shown after
//! the recap under `CUSTOM STATS` when `show_custom_stats` is on. The executor keeps them
//! (see `apply_custom_stats`); this returns Ansible's `ansible_stats` result.

use crate::modules::util::{is_identifier, map};
use crate::modules::{ArgKind, ArgSpec, Args, Module, ModuleContext, ModuleError, ModuleResult};
use serde_json::{Map, Value};

pub struct SetStats;

const SPEC: &[ArgSpec] = &[
    ArgSpec::new("data", ArgKind::Raw),
    ArgSpec::new("per_host", ArgKind::Raw),
    ArgSpec::new("aggregate", ArgKind::Raw),
];

impl Module for SetStats {
    fn name(&self) -> &'static str {
        "set_stats"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn controller_only(&self) -> bool {
        true
    }
    fn run(&self, args: &Args, _ctx: &mut ModuleContext) -> ModuleResult {
        let data = match args.get("data") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(_) => {
                return Err(ModuleError::msg(
                    "The 'data' option needs to be a dictionary/hash",
                ))
            }
        };
        if let Some(k) = data.keys().find(|k| !is_identifier(k)) {
            return Err(ModuleError::msg(format!(
                "Task failed: Invalid variable name '{k}'."
            )));
        }
        // Non-booleans go through Ansible's lenient `boolean()`: "x" is false.
        let flag = |key: &str, default: bool| match args.get(key) {
            None | Some(Value::Null) => default,
            Some(v) => crate::modules::args::to_bool(v).unwrap_or(false),
        };
        let stats = map([
            ("data", Value::Object(data)),
            ("per_host", flag("per_host", false).into()),
            ("aggregate", flag("aggregate", true).into()),
        ]);
        Ok(map([
            ("changed", false.into()),
            ("ansible_stats", Value::Object(stats)),
        ]))
    }
}
