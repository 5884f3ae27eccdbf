//! `shell`: runs a command line through `/bin/sh` (or `executable`).

use crate::connection::quote;
use crate::modules::command::{command_text, run_prepared, Prepared};
use crate::modules::{ArgKind, ArgSpec, Args, Module, ModuleContext, ModuleResult};
use serde_json::Value;

pub struct Shell;

const SPEC: &[ArgSpec] = &[
    ArgSpec::new("_raw_params", ArgKind::Str),
    ArgSpec::new("cmd", ArgKind::Str),
    // Ansible's shell is command with a shell, so it accepts argv too (joined, quoted).
    ArgSpec::new("argv", ArgKind::List),
    ArgSpec::new("expand_argument_vars", ArgKind::Bool),
    ArgSpec::new("chdir", ArgKind::Path),
    ArgSpec::new("creates", ArgKind::Path),
    ArgSpec::new("removes", ArgKind::Path),
    ArgSpec::new("executable", ArgKind::Path),
    ArgSpec::new("stdin", ArgKind::Str),
    ArgSpec::new("stdin_add_newline", ArgKind::Bool),
    ArgSpec::new("strip_empty_ends", ArgKind::Bool),
];

impl Module for Shell {
    fn name(&self) -> &'static str {
        "shell"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn free_form(&self) -> bool {
        true
    }
    fn run(&self, args: &Args, ctx: &mut ModuleContext) -> ModuleResult {
        // Accepted by the shared spec, refused by Ansible's shell action: it is command's.
        if args.get("expand_argument_vars").is_some() {
            return Err(crate::modules::ModuleError::msg(
                "Unsupported parameters for (shell) module: expand_argument_vars",
            ));
        }
        let argv_text = args.list("argv").map(|l| {
            let words: Vec<String> = l
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string())
                })
                .collect();
            crate::connection::join_argv(&words)
        });
        let text = command_text(args)?.or(argv_text);
        let Some(text) = text.filter(|s| !s.trim().is_empty()) else {
            return Err(crate::modules::command::no_command());
        };
        let exe = args.str("executable").unwrap_or("/bin/sh");
        // A separate shell keeps the user's script apart from the prelude (its syntax errors,
        // `set` options and traps cannot affect the creates/chdir checks).
        let prepared = Prepared {
            cmd: Value::String(text.clone()),
            run: format!("exec {} -c {}", quote(exe), quote(&text)),
            program: args.get("executable").map(|_| quote(exe)),
            joined: text,
        };
        run_prepared(prepared, args, ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::util::test_support::{failed, run, run_with, Opts};
    use serde_json::json;

    #[test]
    fn runs_through_shell() {
        let r = run(
            &Shell,
            json!({"_raw_params": "echo hi | tr a-z A-Z; echo err >&2"}),
        )
        .unwrap();
        assert_eq!(r["cmd"], json!("echo hi | tr a-z A-Z; echo err >&2"));
        assert_eq!(r["stdout"], json!("HI"));
        assert_eq!(r["stderr"], json!("err"));
        assert_eq!(r["stderr_lines"], json!(["err"]));
        assert_eq!(r["changed"], json!(true));
    }

    #[test]
    fn non_zero_rc() {
        let m = failed(run(&Shell, json!({"cmd": "echo hi; echo err >&2; exit 3"})));
        assert_eq!(m["rc"], json!(3));
        assert_eq!(m["msg"], json!("non-zero return code"));
        assert_eq!(m["stdout"], json!("hi"));
    }

    #[test]
    fn environment_executable_and_chdir() {
        let opts = Opts {
            env: vec![("YQ_X".into(), "it's".into())],
            ..Opts::default()
        };
        let r = run_with(
            &Shell,
            json!({"_raw_params": "echo \"$YQ_X\"; pwd", "chdir": "/tmp"}),
            opts,
        )
        .unwrap();
        assert_eq!(r["stdout_lines"], json!(["it's", "/tmp"]));
        if std::path::Path::new("/bin/bash").exists() {
            let r = run(
                &Shell,
                json!({"_raw_params": "echo ${BASH_VERSION:+bash}", "executable": "/bin/bash"}),
            )
            .unwrap();
            assert_eq!(r["stdout"], json!("bash"));
        }
    }

    #[test]
    fn check_mode_and_creates() {
        let opts = Opts {
            check: true,
            ..Opts::default()
        };
        let r = run_with(
            &Shell,
            json!({"_raw_params": "echo hi", "creates": "/"}),
            opts,
        )
        .unwrap();
        assert_eq!(r["msg"], json!("Would not run command since '/' exists"));
        assert_eq!(r["cmd"], json!("echo hi"));
        let raw = json!({"_raw_params": "x", "creates2": "x"})
            .as_object()
            .cloned()
            .unwrap();
        assert!(crate::modules::validate("shell", SPEC, raw).is_err());
        let m = failed(run(&Shell, json!({"_raw_params": "x", "argv": ["x"]})));
        assert_eq!(
            m["msg"],
            json!("parameters are mutually exclusive: _raw_params|cmd|argv")
        );
        let r = run(&Shell, json!({"argv": ["echo", "a;b"]})).unwrap();
        assert_eq!(r["stdout"], json!("a;b"));
    }
}
