//! `script`: copies a controller-side script (looked up in `files/`) to a temporary dir on
//! the host and runs it there with the rest of the line as its arguments, as Ansible's
//! script action does: the first word of the line becomes the staged file's path and the
//! line then runs in the host's shell, through `executable` when given.

use super::command::py_shlex_split;
use crate::connection::Command;
use crate::modules::util::{conn_err, find_local_file, map, put_output, remote_exists, text};
use crate::modules::{ArgKind, ArgSpec, Args, Module, ModuleContext, ModuleError, ModuleResult};
use serde_json::Value;

pub struct Script;

const SPEC: &[ArgSpec] = &[
    ArgSpec::new("_raw_params", ArgKind::Str),
    ArgSpec::new("cmd", ArgKind::Str),
    ArgSpec::new("creates", ArgKind::Str),
    ArgSpec::new("removes", ArgKind::Str),
    ArgSpec::new("chdir", ArgKind::Str),
    ArgSpec::new("executable", ArgKind::Str),
    ArgSpec::new("decrypt", ArgKind::Bool),
];

fn skipped(msg: String) -> ModuleResult {
    Ok(map([
        ("changed", Value::Bool(false)),
        ("skipped", Value::Bool(true)),
        ("msg", Value::String(msg)),
    ]))
}

impl Module for Script {
    fn name(&self) -> &'static str {
        "script"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn free_form(&self) -> bool {
        true
    }
    fn supports_async(&self) -> bool {
        false
    }
    fn run(&self, args: &Args, ctx: &mut ModuleContext) -> ModuleResult {
        let line = match (args.string("_raw_params"), args.string("cmd")) {
            (Some(_), Some(_)) => {
                return Err(ModuleError::msg(
                    "parameters are mutually exclusive: _raw_params|cmd",
                ))
            }
            (Some(l), None) | (None, Some(l)) => l.trim().to_string(),
            (None, None) => {
                return Err(ModuleError::msg(
                    "one of the following is required: _raw_params, cmd",
                ))
            }
        };
        if let Some(creates) = args.str("creates") {
            if remote_exists(ctx, creates)? {
                return skipped(format!("{creates} exists, matching creates option"));
            }
        }
        if let Some(removes) = args.str("removes") {
            if !remote_exists(ctx, removes)? {
                return skipped(format!("{removes} does not exist, matching removes option"));
            }
        }
        let chdir = args.string("chdir");
        if let Some(dir) = chdir.as_deref().filter(|d| !d.starts_with('/')) {
            return Err(ModuleError::msg(format!(
                "chdir {dir} must be an absolute path for a Unix-aware remote node"
            )));
        }
        let first = py_shlex_split(&line)
            .and_then(|w| w.into_iter().next())
            .ok_or_else(|| ModuleError::msg(format!("could not parse the script line: {line}")))?;
        let source = find_local_file(&ctx.search_paths, &first).ok_or_else(|| {
            ModuleError::msg(format!(
                "Could not find or access '{first}' on the Ansible Controller."
            ))
        })?;
        let data = crate::vault::read_file(&source).map_err(ModuleError::msg)?;
        if ctx.check_mode {
            if args.get("creates").is_some() || args.get("removes").is_some() {
                return Ok(map([("changed", Value::Bool(true))]));
            }
            return Ok(map([
                ("changed", Value::Bool(false)),
                ("skipped", Value::Bool(true)),
                (
                    "msg",
                    Value::from("Check mode is not supported for this task."),
                ),
            ]));
        }
        let name = source
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_else(|| "script".into());
        let dir = super::remote_tmp::stage(ctx, &name, data)?;
        // The user's line is shell text, as in Ansible's script action: the script's word
        // (unquoted, as shlex read it) is replaced by the staged path wherever it appears,
        // so `'space path/t.sh' -a` keeps its quotes around the new path.
        let mut run = line.replace(&first, &format!("{dir}/{name}"));
        if let Some(exe) = args.str("executable") {
            run = format!("{exe} {run}");
        }
        let out = ctx
            .conn
            .exec(&Command {
                script: super::remote_tmp::run_then_remove(&run, &dir),
                cwd: chdir,
                env: ctx.env.clone(),
                become_: ctx.become_.clone(),
                ..Command::default()
            })
            .map_err(conn_err)?;
        let mut res = map([("changed", Value::Bool(true)), ("rc", Value::from(out.rc))]);
        put_output(&mut res, &text(&out.stdout), &text(&out.stderr));
        if out.rc != 0 {
            res.insert("msg".into(), Value::from("non-zero return code"));
            return Err(ModuleError::Failed(res));
        }
        Ok(res)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::util::test_support::{failed, run_with, Opts};
    use serde_json::json;

    #[test]
    fn runs_the_staged_script_with_its_arguments_and_cleans_up() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("files")).unwrap();
        std::fs::write(
            d.path().join("files/s.sh"),
            "#!/bin/sh\necho \"args: $1 $2\"\necho \"$0\" > \"$3\"\nexit 0\n",
        )
        .unwrap();
        let marker = d.path().join("where");
        let opts = || Opts {
            search: vec![d.path().join("files")],
            ..Opts::default()
        };
        let line = format!("s.sh 'a b' c {}", marker.display());
        let r = run_with(&Script, json!({"_raw_params": line}), opts()).unwrap();
        assert_eq!(r["stdout"], json!("args: a b c\n"));
        assert_eq!(r["changed"], json!(true));
        let staged = std::fs::read_to_string(&marker).unwrap();
        assert!(!std::path::Path::new(staged.trim()).exists(), "{staged}");
        let m = failed(run_with(
            &Script,
            json!({"_raw_params": "s.sh x", "executable": "/bin/false"}),
            opts(),
        ));
        assert_eq!(m["msg"], json!("non-zero return code"));
    }

    #[test]
    fn a_quoted_script_path_with_a_space_keeps_its_quotes_around_the_staged_path() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("files/space path")).unwrap();
        std::fs::write(
            d.path().join("files/space path/t.sh"),
            "#!/bin/sh\necho \"ran $1\"\n",
        )
        .unwrap();
        let opts = Opts {
            search: vec![d.path().join("files")],
            ..Opts::default()
        };
        let r = run_with(
            &Script,
            json!({"_raw_params": "'space path/t.sh' 'x y'"}),
            opts,
        )
        .unwrap();
        assert_eq!(r["stdout"], json!("ran x y\n"));
    }
}
