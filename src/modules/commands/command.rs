//! `command`: runs a program with arguments, without a shell in between.
//!
//! The argv is quoted word by word into a tiny POSIX sh script that also does the `chdir`,
//! `creates`/`removes` checks and the "command not found" detection, so one round trip
//! does it all. `shell` shares the runner ([`run_prepared`]).

use crate::connection::{quote, Command};
use crate::modules::util::{self, map, put_output, Stamp};
use crate::modules::{ArgKind, ArgSpec, Args, Module, ModuleContext, ModuleError, ModuleResult};
use serde_json::Value;
use std::time::Instant;

pub struct CommandModule;

const SPEC: &[ArgSpec] = &[
    ArgSpec::new("_raw_params", ArgKind::Str),
    ArgSpec::new("cmd", ArgKind::Str),
    ArgSpec::new("argv", ArgKind::List),
    ArgSpec::new("chdir", ArgKind::Path),
    ArgSpec::new("creates", ArgKind::Path),
    ArgSpec::new("removes", ArgKind::Path),
    ArgSpec::new("stdin", ArgKind::Str),
    ArgSpec::new("stdin_add_newline", ArgKind::Bool),
    ArgSpec::new("strip_empty_ends", ArgKind::Bool),
    ArgSpec::new("expand_argument_vars", ArgKind::Bool),
    // Accepted for old playbooks and ignored with a warning, as Ansible does.
    ArgSpec::new("executable", ArgKind::Str),
];

/// Markers the prelude prints on stderr to tell its own outcomes from the command's.
const MARK_CHDIR: &str = "@@yiqiu:chdir-failed";
const MARK_NOT_FOUND: &str = "@@yiqiu:not-found";
const MARK_SKIP_CREATES: &str = "@@yiqiu:skip-creates";
const MARK_SKIP_REMOVES: &str = "@@yiqiu:skip-removes";

/// Python's `shlex.split` (no comment handling, unlike the shlex crate's default).
pub fn py_shlex_split(s: &str) -> Option<Vec<String>> {
    const HIDE: char = '\u{E000}';
    if !s.contains('#') || s.contains(HIDE) {
        return shlex::split(s);
    }
    let words = shlex::split(&s.replace('#', &HIDE.to_string()))?;
    Some(words.into_iter().map(|w| w.replace(HIDE, "#")).collect())
}

const HOLD_D: &str = "__yiqiu_d";
const HOLD_L: &str = "__yiqiu_l";
const HOLD_R: &str = "__yiqiu_r";
/// Shell variables (not exported) holding `$`, `{` and `}` for [`expand_word`].
pub const EXPAND_PRELUDE: &str = "__yiqiu_d='$' __yiqiu_l='{' __yiqiu_r='}'";

/// Quotes one argument so that the shell expands `$VAR`/`${VAR}` (only set variables, as
/// Python's `os.path.expandvars`) and a leading `~`, `~/` or `~user/` (`expanduser`), and
/// nothing else: no command substitution, globbing or word splitting.
pub fn expand_word(word: &str) -> String {
    let mut out = String::new();
    let mut rest = word;
    // Tilde prefix: left unquoted, the slash too, so the shell expands it.
    if let Some(after) = rest.strip_prefix('~') {
        let end = after.find('/').unwrap_or(after.len());
        let user = &after[..end];
        if user
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        {
            out.push('~');
            out.push_str(user);
            rest = &after[end..];
            if let Some(r) = rest.strip_prefix('/') {
                out.push('/');
                rest = r;
            }
        }
    }
    let mut literal = String::new();
    let flush = |lit: &mut String, out: &mut String| {
        if !lit.is_empty() {
            out.push_str(&quote(lit));
            lit.clear();
        }
    };
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('$') {
            let (name, text_len) = if let Some(inner) = after.strip_prefix('{') {
                match inner.find('}') {
                    Some(end) => (&inner[..end], end + 3),
                    None => ("", 0),
                }
            } else {
                let end = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                (&after[..end], end + 1)
            };
            let valid =
                !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if valid {
                flush(&mut literal, &mut out);
                // Set: its value, unsplit. Unset: the original text, as Python leaves it,
                // spelled with the `$ { }` holders that `EXPAND_PRELUDE` defines.
                let original = if rest[1..].starts_with('{') {
                    format!(
                        "${{{D}}}${{{L}}}{name}${{{R}}}",
                        D = HOLD_D,
                        L = HOLD_L,
                        R = HOLD_R
                    )
                } else {
                    format!("${{{HOLD_D}}}{name}")
                };
                out.push_str(&format!("\"${{{name}-{original}}}\""));
                rest = &rest[text_len..];
                continue;
            }
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            literal.push(c);
        }
        rest = chars.as_str();
    }
    flush(&mut literal, &mut out);
    if out.is_empty() {
        out.push_str("''");
    }
    out
}

/// A path test for `creates`/`removes`: glob characters stay active (Ansible uses
/// `glob.glob`), everything else is quoted.
fn glob_test(path: &str) -> String {
    let is_glob = |c: char| matches!(c, '*' | '?' | '[' | ']');
    if !path.contains(is_glob) {
        return format!("test -e {}", util::shell_path(path));
    }
    let mut pattern = String::new();
    let mut lit = String::new();
    for c in path.chars() {
        if is_glob(c) {
            if !lit.is_empty() {
                pattern.push_str(&quote(&lit));
                lit.clear();
            }
            pattern.push(c);
        } else {
            lit.push(c);
        }
    }
    if !lit.is_empty() {
        pattern.push_str(&quote(&lit));
    }
    format!("{{ set -- {pattern}; test -e \"$1\"; }}")
}

/// What to run and how, shared by `command` and `shell`.
pub struct Prepared {
    /// The result's `cmd` (a list for command, the string for shell).
    pub cmd: Value,
    /// The shell text that runs it (after the prelude), e.g. `exec 'ls' '-l'`.
    pub run: String,
    /// For the "not found" check: the program word as the shell will see it.
    pub program: Option<String>,
    /// `cmd` joined, for the "Error executing command." failure.
    pub joined: String,
}

/// Runs a prepared command with the common options (`chdir`, `creates`, `removes`,
/// `stdin`, `stdin_add_newline`, `strip_empty_ends`) taken from `args`.
pub fn run_prepared(p: Prepared, args: &Args, ctx: &mut ModuleContext) -> ModuleResult {
    let mut script = String::new();
    if let Some(dir) = args.str("chdir") {
        // `-P`: Ansible's os.chdir resolves symlinks, so the command sees the physical
        // directory (and `$PWD` is reset to it).
        script.push_str(&format!(
            "cd -P {} 2>/dev/null || {{ printf %s {MARK_CHDIR} >&2; exit 1; }}\n",
            util::shell_path(dir)
        ));
    }
    let creates = args.str("creates");
    let removes = args.str("removes");
    if let Some(c) = creates {
        script.push_str(&format!(
            "if {}; then printf %s {MARK_SKIP_CREATES} >&2; exit 0; fi\n",
            glob_test(c)
        ));
    }
    if let Some(r) = removes {
        script.push_str(&format!(
            "if ! {}; then printf %s {MARK_SKIP_REMOVES} >&2; exit 0; fi\n",
            glob_test(r)
        ));
    }
    if ctx.check_mode {
        script.push_str("exit 0\n");
    } else {
        if let Some(prog) = &p.program {
            script.push_str(&format!(
                "command -v {prog} >/dev/null 2>&1 || {{ printf %s {MARK_NOT_FOUND} >&2; exit 127; }}\n"
            ));
        }
        script.push_str(&p.run);
        script.push('\n');
    }
    let stdin = args.string("stdin").map(|mut s| {
        if args.bool_or("stdin_add_newline", true) {
            s.push('\n');
        }
        s.into_bytes()
    });
    let cmd = Command {
        script,
        stdin,
        env: ctx.env.clone(),
        become_: ctx.become_.clone(),
        ..Command::default()
    };
    let start = Stamp::now();
    let began = Instant::now();
    let out = ctx.conn.exec(&cmd).map_err(util::conn_err)?;
    let delta = began.elapsed();
    let end = Stamp::now();
    let stderr_raw = util::text(&out.stderr);

    if stderr_raw == MARK_CHDIR {
        let mut res = map([
            ("changed", Value::Bool(false)),
            ("cmd", p.cmd),
            ("delta", Value::Null),
            ("end", Value::Null),
            (
                "msg",
                Value::String("Unable to change directory before execution.".into()),
            ),
            ("rc", Value::Null),
            ("start", Value::Null),
        ]);
        put_output(&mut res, "", "");
        return Err(ModuleError::Failed(res));
    }
    let skip = match stderr_raw.as_str() {
        MARK_SKIP_CREATES => creates.map(|c| (format!("'{c}' exists"), format!("{c} exists"))),
        MARK_SKIP_REMOVES => removes.map(|r| {
            (
                format!("'{r}' does not exist"),
                format!("{r} does not exist"),
            )
        }),
        _ => None,
    };
    if let Some((why, since)) = skip {
        let verb = if ctx.check_mode {
            "Would not"
        } else {
            "Did not"
        };
        let msg = format!("{verb} run command since {why}");
        let stdout = format!("skipped, since {since}");
        let mut res = map([
            ("changed", Value::Bool(false)),
            ("cmd", p.cmd),
            ("delta", Value::Null),
            ("end", Value::Null),
            ("msg", Value::String(msg)),
            ("rc", Value::from(0)),
            ("start", Value::Null),
        ]);
        put_output(&mut res, &stdout, "");
        return Ok(res);
    }
    if ctx.check_mode {
        let mut res = map([
            ("changed", Value::Bool(true)),
            ("cmd", p.cmd),
            ("delta", Value::Null),
            ("end", Value::Null),
            (
                "msg",
                Value::String("Command would have run if not in check mode".into()),
            ),
            ("rc", Value::from(0)),
            ("start", Value::Null),
        ]);
        if creates.is_none() && removes.is_none() {
            res.insert("changed".into(), Value::Bool(false));
            res.insert("skipped".into(), Value::Bool(true));
        }
        put_output(&mut res, "", "");
        return Ok(res);
    }
    if out.rc == 127 && stderr_raw == MARK_NOT_FOUND {
        let mut res = map([
            ("changed", Value::Bool(false)),
            ("cmd", Value::String(p.joined)),
            ("msg", Value::String("Error executing command.".into())),
            ("rc", Value::from(2)),
        ]);
        put_output(&mut res, "", "");
        return Err(ModuleError::Failed(res));
    }

    let mut stdout = util::text(&out.stdout);
    let mut stderr = stderr_raw;
    if args.bool_or("strip_empty_ends", true) {
        stdout.truncate(stdout.trim_end_matches(['\r', '\n']).len());
        stderr.truncate(stderr.trim_end_matches(['\r', '\n']).len());
    }
    let failed = out.rc != 0;
    let mut res = map([
        ("changed", Value::Bool(true)),
        ("cmd", p.cmd),
        ("delta", Value::String(util::format_delta(delta))),
        ("end", Value::String(end.format())),
        (
            "msg",
            Value::String(if failed {
                "non-zero return code".into()
            } else {
                String::new()
            }),
        ),
        ("rc", Value::from(out.rc)),
        ("start", Value::String(start.format())),
    ]);
    put_output(&mut res, &stdout, &stderr);
    if failed {
        Err(ModuleError::Failed(res))
    } else {
        Ok(res)
    }
}

/// The free-form text, or `cmd`, as one string; an error when more than one of free-form,
/// `cmd` and `argv` is given (Ansible's mutually exclusive check).
pub fn command_text(args: &Args) -> Result<Option<String>, ModuleError> {
    let given = ["_raw_params", "cmd", "argv"]
        .iter()
        .filter(|k| match args.get(k) {
            Some(Value::String(s)) => !s.trim().is_empty(),
            Some(_) => true,
            None => false,
        })
        .count();
    if given > 1 {
        return Err(ModuleError::msg(
            "parameters are mutually exclusive: _raw_params|cmd|argv",
        ));
    }
    Ok(args.string("_raw_params").or_else(|| args.string("cmd")))
}

/// No `_raw_params`, `cmd` or `argv` with something in it: the modules' `required_one_of`
/// check, worded as Ansible's argument spec words it.
pub fn no_command() -> ModuleError {
    ModuleError::msg("one of the following is required: _raw_params, cmd, argv")
}

impl Module for CommandModule {
    fn name(&self) -> &'static str {
        "command"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn free_form(&self) -> bool {
        true
    }
    fn run(&self, args: &Args, ctx: &mut ModuleContext) -> ModuleResult {
        let text = command_text(args)?.filter(|s| !s.trim().is_empty());
        let argv: Vec<String> = match (text, args.list("argv")) {
            (Some(t), _) => py_shlex_split(&t).ok_or_else(|| {
                ModuleError::msg(format!("Error parsing command (No closing quotation): {t}"))
            })?,
            (None, Some(list)) => list
                .iter()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect(),
            (None, None) => Vec::new(),
        };
        if argv.is_empty() {
            return Err(no_command());
        }
        let expand = args.bool_or("expand_argument_vars", true);
        let words: Vec<String> = argv
            .iter()
            .map(|w| if expand { expand_word(w) } else { quote(w) })
            .collect();
        let prepared = Prepared {
            cmd: Value::Array(argv.iter().cloned().map(Value::String).collect()),
            run: format!("{EXPAND_PRELUDE}\nexec {}", words.join(" ")),
            program: words.first().cloned(),
            joined: argv.join(" "),
        };
        let mut result = run_prepared(prepared, args, ctx);
        if let Some(exe) = args.str("executable") {
            let warning = Value::String(format!(
                "As of Ansible 2.4, the parameter 'executable' is no longer supported with the 'command' module. Not using '{exe}'."
            ));
            let map = match &mut result {
                Ok(m) => m,
                Err(ModuleError::Failed(m)) => m,
                Err(ModuleError::Unreachable(_)) => return result,
            };
            match map.get_mut("warnings").and_then(Value::as_array_mut) {
                Some(w) => w.push(warning),
                None => {
                    map.insert("warnings".into(), Value::Array(vec![warning]));
                }
            }
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::util::test_support::{failed, run, run_with, Opts};
    use serde_json::json;

    #[test]
    fn free_form_is_split_like_python_shlex() {
        assert_eq!(
            py_shlex_split(r#"echo "a b" c #d 'e#f'"#).unwrap(),
            vec!["echo", "a b", "c", "#d", "e#f"]
        );
        let r = run(&CommandModule, json!({"_raw_params": "echo \"a b\" c"})).unwrap();
        assert_eq!(r["cmd"], json!(["echo", "a b", "c"]));
        assert_eq!(r["stdout"], json!("a b c"));
        assert_eq!(r["stdout_lines"], json!(["a b c"]));
        assert_eq!(r["rc"], json!(0));
        assert_eq!(r["msg"], json!(""));
        assert_eq!(r["changed"], json!(true));
        let delta = r["delta"].as_str().unwrap();
        assert!(delta.starts_with("0:00:"), "{delta}");
        assert_eq!(r["start"].as_str().unwrap().len(), 26);
    }

    #[test]
    fn hostile_arguments_are_not_interpreted() {
        let t = tempfile::tempdir().unwrap();
        let victim = t.path().join("x");
        std::fs::write(&victim, "keep").unwrap();
        let arg = format!(
            "'; rm -rf {} $(touch {}/pwned) `id` *",
            victim.display(),
            t.path().display()
        );
        let r = run(&CommandModule, json!({"argv": ["echo", arg]})).unwrap();
        assert_eq!(r["stdout"], json!(arg));
        assert!(victim.exists());
        assert!(!t.path().join("pwned").exists());
        // Free-form too: the single-quoted word stays one literal argument.
        let r = run(
            &CommandModule,
            json!({"_raw_params": "echo \"'; rm -rf /tmp/x\" '$(id)'"}),
        )
        .unwrap();
        assert_eq!(r["stdout"], json!("'; rm -rf /tmp/x $(id)"));
    }

    #[test]
    fn hostile_paths_in_options_are_quoted() {
        let t = tempfile::tempdir().unwrap();
        let pwned = t.path().join("pwned");
        let evil = format!("/nonexist'; touch {}; echo '", pwned.display());
        let r = run(
            &CommandModule,
            json!({"_raw_params": "echo hi", "creates": evil.clone()}),
        )
        .unwrap();
        assert_eq!(r["stdout"], json!("hi"));
        let m = failed(run(
            &CommandModule,
            json!({"_raw_params": "echo hi", "chdir": evil.clone()}),
        ));
        assert_eq!(
            m["msg"],
            json!("Unable to change directory before execution.")
        );
        let r = run(
            &CommandModule,
            json!({"_raw_params": "echo hi", "removes": format!("{evil}*")}),
        )
        .unwrap();
        assert_eq!(r["changed"], json!(false));
        assert!(!pwned.exists());
        assert_eq!(
            expand_word("it's $HOME-${X Y}$"),
            format!("'it'\\''s '\"${{HOME-${{{HOLD_D}}}HOME}}\"'-${{X Y}}$'")
        );
    }

    #[test]
    fn argument_vars_expand_like_python() {
        let opts = Opts {
            env: vec![("YQ_SET".into(), "a b".into())],
            ..Opts::default()
        };
        let r = run_with(
            &CommandModule,
            json!({"argv": ["printf", "%s|", "$YQ_SET", "${YQ_SET}x", "$YQ_UNSET_VAR", "$(id)"]}),
            opts,
        )
        .unwrap();
        assert_eq!(r["stdout"], json!("a b|a bx|$YQ_UNSET_VAR|$(id)|"));
        let opts = Opts {
            env: vec![("YQ_SET".into(), "v".into())],
            ..Opts::default()
        };
        let r = run_with(
            &CommandModule,
            json!({"argv": ["echo", "$YQ_SET"], "expand_argument_vars": false}),
            opts,
        )
        .unwrap();
        assert_eq!(r["stdout"], json!("$YQ_SET"));
    }

    #[test]
    fn non_zero_rc_fails_with_full_result() {
        let m = failed(run(
            &CommandModule,
            json!({"_raw_params": "ls /nonexistent-yiqiu"}),
        ));
        assert_eq!(m["msg"], json!("non-zero return code"));
        assert_eq!(m["rc"], json!(2));
        assert!(!m["stderr"].as_str().unwrap().is_empty());
        assert_eq!(m["changed"], json!(true));
    }

    #[test]
    fn missing_program() {
        let m = failed(run(
            &CommandModule,
            json!({"_raw_params": "nosuchcmd-yiqiu a"}),
        ));
        assert_eq!(m["msg"], json!("Error executing command."));
        assert_eq!(m["rc"], json!(2));
        assert_eq!(m["cmd"], json!("nosuchcmd-yiqiu a"));
        let m = failed(run(&CommandModule, json!({})));
        assert_eq!(
            m["msg"],
            json!("one of the following is required: _raw_params, cmd, argv")
        );
        assert!(m.get("rc").is_none());
    }

    #[test]
    fn creates_and_removes() {
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("there");
        std::fs::write(&f, "").unwrap();
        let fs = f.display().to_string();
        let r = run(
            &CommandModule,
            json!({"_raw_params": "echo hi", "creates": fs}),
        )
        .unwrap();
        assert_eq!(
            r["msg"],
            json!(format!("Did not run command since '{fs}' exists"))
        );
        assert_eq!(r["stdout"], json!(format!("skipped, since {fs} exists")));
        assert_eq!(r["changed"], json!(false));
        assert_eq!(r["start"], json!(null));
        let r = run(
            &CommandModule,
            json!({"_raw_params": "echo hi", "removes": "/nonexist-yiqiu"}),
        )
        .unwrap();
        assert_eq!(
            r["msg"],
            json!("Did not run command since '/nonexist-yiqiu' does not exist")
        );
        let glob = format!("{}/th*", t.path().display());
        let r = run(
            &CommandModule,
            json!({"_raw_params": "echo hi", "creates": glob}),
        )
        .unwrap();
        assert_eq!(r["changed"], json!(false));
        let r = run(
            &CommandModule,
            json!({"_raw_params": "echo hi", "removes": fs}),
        )
        .unwrap();
        assert_eq!(r["stdout"], json!("hi"));
    }

    #[test]
    fn check_mode() {
        let opts = || Opts {
            check: true,
            ..Opts::default()
        };
        let t = tempfile::tempdir().unwrap();
        let marker = t.path().join("ran");
        let cmd = format!("touch {}", marker.display());
        let r = run_with(&CommandModule, json!({"_raw_params": cmd}), opts()).unwrap();
        assert_eq!(r["skipped"], json!(true));
        assert_eq!(
            r["msg"],
            json!("Command would have run if not in check mode")
        );
        assert!(!marker.exists());
        let r = run_with(
            &CommandModule,
            json!({"_raw_params": cmd, "creates": "/"}),
            opts(),
        )
        .unwrap();
        assert_eq!(r["msg"], json!("Would not run command since '/' exists"));
        let r = run_with(
            &CommandModule,
            json!({"_raw_params": cmd, "creates": "/nonexist-yiqiu"}),
            opts(),
        )
        .unwrap();
        assert_eq!(r["changed"], json!(true));
        assert!(!r.contains_key("skipped"));
        assert!(!marker.exists());
    }

    #[test]
    fn chdir_stdin_and_strip() {
        let r = run(
            &CommandModule,
            json!({"_raw_params": "pwd", "chdir": "/tmp"}),
        )
        .unwrap();
        assert_eq!(r["stdout"], json!("/tmp"));
        let r = run(
            &CommandModule,
            json!({"_raw_params": "cat", "stdin": "hello"}),
        )
        .unwrap();
        assert_eq!(r["stdout"], json!("hello"));
        let r = run(
            &CommandModule,
            json!({"argv": ["printf", "x\\n\\n"], "strip_empty_ends": false}),
        )
        .unwrap();
        assert_eq!(r["stdout"], json!("x\n\n"));
        let m = failed(run(
            &CommandModule,
            json!({"_raw_params": "pwd", "chdir": "/nonexist-yiqiu"}),
        ));
        assert!(m["msg"]
            .as_str()
            .unwrap()
            .starts_with("Unable to change directory"));
    }

    #[test]
    fn unknown_argument_and_both_forms() {
        let raw = json!({"_raw_params": "ls", "creates2": "/x"})
            .as_object()
            .cloned()
            .unwrap();
        let e = crate::modules::validate("command", SPEC, raw).unwrap_err();
        assert!(e.contains("Did you mean 'creates'"), "{e}");
        let m = failed(run(
            &CommandModule,
            json!({"_raw_params": "ls", "argv": ["ls"]}),
        ));
        assert_eq!(
            m["msg"],
            json!("parameters are mutually exclusive: _raw_params|cmd|argv")
        );
    }
}
