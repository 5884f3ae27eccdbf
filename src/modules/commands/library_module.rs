//! A task's module found as a non-Python file in `library/` (a shell script, a binary),
//! run the way Ansible runs modules it cannot wrap in AnsiballZ (`module_common.py`,
//! `ActionBase._execute_module`):
//! - "old" style (the default): the arguments go to a file as `k=v` words (shell-quoted
//!   Python `str()` values) and its path is the module's `$1`;
//! - `WANT_JSON` in the text, or a binary: the same file holds the arguments as JSON;
//! - `<<INCLUDE_ANSIBLE_MODULE_JSON_ARGS>>` in the text: replaced by the JSON, no file.
//!
//! The module is run with the interpreter of its shebang and prints one JSON object.

use crate::connection::{quote, Command};
use crate::modules::util::conn_err;
use crate::modules::{ArgKind, ArgSpec, Args, Module, ModuleContext, ModuleError, ModuleResult};
use crate::template::pyfmt;
use serde_json::{Map, Value};
use std::path::PathBuf;

const SPEC: &[ArgSpec] = &[ArgSpec::new("_raw_params", ArgKind::Raw), ArgSpec::any()];
const JSON_ARGS_MARKER: &[u8] = b"<<INCLUDE_ANSIBLE_MODULE_JSON_ARGS>>";
/// The version new-style markers and `_ansible_version` report.
const ANSIBLE_VERSION: &str = "2.19.14";

pub struct LibraryModule {
    /// The module name as the task wrote it (`helloworld`).
    pub name: String,
    pub path: PathBuf,
}

#[derive(Debug, PartialEq, Eq)]
enum Style {
    Old,
    WantJson,
    JsonArgs,
    Binary,
}

/// Python's `_is_binary`: a control byte other than the usual whitespace in the first KiB.
fn is_binary(data: &[u8]) -> bool {
    data.iter()
        .take(1024)
        .any(|b| *b == 0x7f || (*b < 0x20 && ![7, 8, 9, 10, 12, 13, 27].contains(b)))
}

fn style(data: &[u8]) -> Style {
    let has = |needle: &[u8]| data.windows(needle.len()).any(|w| w == needle);
    if is_binary(data) {
        Style::Binary
    } else if has(JSON_ARGS_MARKER) {
        Style::JsonArgs
    } else if has(b"WANT_JSON") {
        Style::WantJson
    } else {
        Style::Old
    }
}

/// The shebang's interpreter words, each quoted (`#!/usr/bin/env bash` → `/usr/bin/env bash`).
fn interpreter(data: &[u8]) -> Option<String> {
    let first = data.split(|b| *b == b'\n').next()?;
    let line = String::from_utf8_lossy(first.strip_prefix(b"#!")?).into_owned();
    let words: Vec<String> = line.split_whitespace().map(quote).collect();
    (!words.is_empty()).then(|| words.join(" "))
}

/// The arguments the module sees: the task's plus the `_ansible_*` keys Ansible adds
/// (`_update_module_args`) that a script could act on.
fn module_args(args: &Args, name: &str, ctx: &ModuleContext) -> Map<String, Value> {
    let mut all = args.0.clone();
    all.insert("_ansible_check_mode".into(), Value::Bool(ctx.check_mode));
    all.insert("_ansible_diff".into(), Value::Bool(ctx.diff_mode));
    all.insert("_ansible_verbosity".into(), Value::from(ctx.verbosity));
    all.insert("_ansible_version".into(), Value::from(ANSIBLE_VERSION));
    all.insert("_ansible_module_name".into(), Value::from(name));
    all
}

/// `k=v ` per argument, as `args_data += '%s=%s ' % (k, shlex.quote(str(v)))`.
fn old_style_args(args: &Map<String, Value>) -> String {
    args.iter()
        .map(|(k, v)| format!("{k}={} ", quote(&pyfmt::to_str(v))))
        .collect()
}

fn json_args(args: &Map<String, Value>) -> String {
    pyfmt::json_dumps(&Value::Object(args.clone()), pyfmt::JsonOptions::default())
}

/// `_filter_non_json_lines(objects_only=True)`: from the first line starting with `{` to
/// the last line ending with `}`.
fn json_part(stdout: &str) -> Result<String, &'static str> {
    let lines: Vec<&str> = stdout.split('\n').collect();
    let start = lines
        .iter()
        .position(|l| l.trim().starts_with('{'))
        .ok_or("No start of json char found")?;
    let end = lines
        .iter()
        .rposition(|l| l.trim().ends_with('}'))
        .filter(|e| *e >= start)
        .ok_or("No end of json char found")?;
    Ok(lines[start..=end].join("\n"))
}

/// The task result from the module's output, as `_parse_returned_data` and the task
/// executor make it (a non-zero `rc` in the result means failed).
fn result(stdout: &str, stderr: &str, rc: i32) -> ModuleResult {
    let parsed = json_part(stdout)
        .and_then(|j| serde_json::from_str::<Map<String, Value>>(&j).map_err(|_| "invalid JSON"));
    let data = match parsed {
        Ok(d) => d,
        Err(why) => {
            let mut m = Map::new();
            m.insert(
                "msg".into(),
                Value::from(format!("Module result deserialization failed: {why}")),
            );
            m.insert("module_stdout".into(), Value::from(stdout));
            m.insert("module_stderr".into(), Value::from(stderr));
            m.insert("rc".into(), Value::from(rc));
            return Err(ModuleError::Failed(m));
        }
    };
    let failed = match data.get("failed") {
        Some(v) => crate::modules::args::to_bool(v).unwrap_or(false),
        None => data
            .get("rc")
            .is_some_and(|r| r != &Value::from(0) && r != &Value::from("0")),
    };
    if failed {
        Err(ModuleError::Failed(data))
    } else {
        Ok(data)
    }
}

impl LibraryModule {
    fn file_name(&self) -> String {
        self.path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.name.clone())
    }
}

impl Module for LibraryModule {
    fn name(&self) -> &'static str {
        "library module"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn run(&self, args: &Args, ctx: &mut ModuleContext) -> ModuleResult {
        let mut data = std::fs::read(&self.path).map_err(|e| {
            ModuleError::msg(format!("could not read {}: {e}", self.path.display()))
        })?;
        let style = style(&data);
        let interp = match style {
            Style::Binary => None,
            _ => Some(interpreter(&data).ok_or_else(|| {
                ModuleError::msg(format!(
                    "module ({}) is missing interpreter line",
                    self.name
                ))
            })?),
        };
        let all = module_args(args, &self.name, ctx);
        let args_file = match style {
            Style::Old => Some(old_style_args(&all)),
            Style::WantJson | Style::Binary => Some(json_args(&all)),
            Style::JsonArgs => {
                let text = String::from_utf8_lossy(&data)
                    .replace("<<INCLUDE_ANSIBLE_MODULE_JSON_ARGS>>", &json_args(&all));
                data = text.into_bytes();
                None
            }
        };
        let dir = super::remote_tmp::stage(ctx, &format!("AnsiballZ_{}", self.file_name()), data)?;
        let module_path = format!("{dir}/AnsiballZ_{}", self.file_name());
        let mut line = interp.map(|i| format!("{i} ")).unwrap_or_default();
        line.push_str(&quote(&module_path));
        if let Some(text) = args_file {
            let path = format!("{dir}/args");
            ctx.conn
                .put(text.as_bytes(), &path, Some(0o600), &ctx.become_)
                .map_err(conn_err)?;
            line.push(' ');
            line.push_str(&quote(&path));
        }
        let script = super::remote_tmp::run_then_remove(&line, &dir);
        let out = ctx
            .conn
            .exec(&Command {
                script,
                env: ctx.env.clone(),
                become_: ctx.become_.clone(),
                ..Command::default()
            })
            .map_err(conn_err)?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        result(&stdout, &stderr, out.rc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::util::test_support::{failed, run};
    use serde_json::json;

    fn module(dir: &tempfile::TempDir, text: &str) -> LibraryModule {
        let path = dir.path().join("hello.sh");
        std::fs::write(&path, text).unwrap();
        LibraryModule {
            name: "hello".into(),
            path,
        }
    }

    #[test]
    fn old_style_reads_k_v_words_from_the_file_in_dollar_one() {
        let d = tempfile::tempdir().unwrap();
        let m = module(
            &d,
            "#!/bin/sh\n. \"$1\"\necho \"noise\"\necho \"{\\\"msg\\\": \\\"$greet, $who\\\", \\\"check\\\": \\\"$_ansible_check_mode\\\"}\"\n",
        );
        let r = run(&m, json!({"greet": "Hello there", "who": "it's me"})).unwrap();
        assert_eq!(r["msg"], json!("Hello there, it's me"));
        assert_eq!(r["check"], json!("False"));
    }

    #[test]
    fn want_json_gets_json_and_a_failed_result_fails() {
        let d = tempfile::tempdir().unwrap();
        let m = module(
            &d,
            "#!/bin/sh\n# WANT_JSON\nprintf '{\"failed\": true, \"got\": %s}' \"$(cat \"$1\")\"\nexit 3\n",
        );
        let r = failed(run(&m, json!({"n": 1})));
        assert_eq!(r["got"]["n"], json!(1));
        assert_eq!(r["got"]["_ansible_module_name"], json!("hello"));
    }

    #[test]
    fn json_args_marker_is_replaced_and_missing_json_is_reported() {
        let d = tempfile::tempdir().unwrap();
        let m = module(
            &d,
            "#!/bin/sh\necho '<<INCLUDE_ANSIBLE_MODULE_JSON_ARGS>>'\n",
        );
        let r = run(&m, json!({"k": "v"})).unwrap();
        assert_eq!(r["k"], json!("v"));
        let m = module(&d, "#!/bin/sh\necho not json\n");
        let r = failed(run(&m, json!({})));
        assert_eq!(
            r["msg"],
            json!("Module result deserialization failed: No start of json char found")
        );
        assert_eq!(r["module_stdout"], json!("not json\n"));
        let m = module(&d, "echo no shebang\n");
        let r = failed(run(&m, json!({})));
        assert_eq!(
            r["msg"],
            json!("module (hello) is missing interpreter line")
        );
    }
}
