//! `raw`: sends the text to the host's shell as is (no quoting, no checks).

use crate::connection::Command;
use crate::modules::util::{conn_err, map, put_output, text};
use crate::modules::{ArgKind, ArgSpec, Args, Module, ModuleContext, ModuleError, ModuleResult};
use serde_json::Value;

pub struct Raw;

const SPEC: &[ArgSpec] = &[
    ArgSpec::new("_raw_params", ArgKind::Str),
    ArgSpec::new("executable", ArgKind::Path),
];

impl Module for Raw {
    fn name(&self) -> &'static str {
        "raw"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn free_form(&self) -> bool {
        true
    }
    fn run(&self, args: &Args, ctx: &mut ModuleContext) -> ModuleResult {
        let script = args.string("_raw_params").unwrap_or_default();
        if script.trim().is_empty() {
            return Err(ModuleError::msg("the raw module requires a command"));
        }
        if ctx.check_mode {
            return Ok(map([
                ("changed", Value::Bool(false)),
                (
                    "msg",
                    Value::String("check mode not supported for raw".into()),
                ),
                ("skipped", Value::Bool(true)),
            ]));
        }
        let cmd = Command {
            script,
            executable: args.string("executable"),
            env: ctx.env.clone(),
            become_: ctx.become_.clone(),
            ..Command::default()
        };
        let out = ctx.conn.exec(&cmd).map_err(conn_err)?;
        let mut res = map([("changed", Value::Bool(true)), ("rc", Value::from(out.rc))]);
        // raw keeps the output untouched (trailing newline included), like Ansible.
        put_output(&mut res, &text(&out.stdout), &text(&out.stderr));
        if out.rc != 0 {
            res.insert("msg".into(), Value::String("non-zero return code".into()));
            return Err(ModuleError::Failed(res));
        }
        Ok(res)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::util::test_support::{failed, run, run_with, Opts};
    use serde_json::json;

    #[test]
    fn output_kept_as_is() {
        let r = run(&Raw, json!({"_raw_params": "echo hi"})).unwrap();
        assert_eq!(
            serde_json::Value::Object(r),
            json!({"changed": true, "rc": 0, "stderr": "", "stderr_lines": [], "stdout": "hi\n", "stdout_lines": ["hi"]})
        );
    }

    #[test]
    fn failure_and_check_mode() {
        let m = failed(run(&Raw, json!({"_raw_params": "echo x; exit 4"})));
        assert_eq!(m["rc"], json!(4));
        assert_eq!(m["msg"], json!("non-zero return code"));
        let opts = Opts {
            check: true,
            ..Opts::default()
        };
        let r = run_with(&Raw, json!({"_raw_params": "exit 1"}), opts).unwrap();
        assert_eq!(r["skipped"], json!(true));
    }
}
