//! `ping`: proves the host is reachable and can run a command.

use crate::modules::util::{exec_script, map, text};
use crate::modules::{ArgKind, ArgSpec, Args, Module, ModuleContext, ModuleError, ModuleResult};
use serde_json::Value;

pub struct Ping;

const SPEC: &[ArgSpec] = &[ArgSpec::new("data", ArgKind::Str)];

impl Module for Ping {
    fn name(&self) -> &'static str {
        "ping"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn run(&self, args: &Args, ctx: &mut ModuleContext) -> ModuleResult {
        let data = args.str("data").unwrap_or("pong").to_string();
        if data == "crash" {
            // Ansible's ping raises an exception on purpose; 2.19 registers it like this.
            return Err(ModuleError::msg("Task failed: Module failed: boom"));
        }
        let out = exec_script(ctx, "true".into())?;
        if out.rc != 0 {
            let mut m = map([
                ("changed", Value::Bool(false)),
                (
                    "msg",
                    Value::String(format!("ping failed: {}", text(&out.stderr).trim())),
                ),
            ]);
            m.insert("rc".into(), Value::from(out.rc));
            return Err(ModuleError::Failed(m));
        }
        Ok(map([
            ("changed", Value::Bool(false)),
            ("ping", Value::String(data)),
        ]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::util::test_support::{failed, run};
    use serde_json::json;

    #[test]
    fn pong_and_data() {
        let r = run(&Ping, json!({})).unwrap();
        assert_eq!(
            serde_json::Value::Object(r),
            json!({"changed": false, "ping": "pong"})
        );
        let r = run(&Ping, json!({"data": "foo"})).unwrap();
        assert_eq!(r["ping"], json!("foo"));
    }

    #[test]
    fn crash_fails() {
        let m = failed(run(&Ping, json!({"data": "crash"})));
        assert!(m["msg"].as_str().unwrap().contains("boom"));
    }
}
