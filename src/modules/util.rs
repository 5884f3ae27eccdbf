//! Helpers shared by several modules: timestamps in Ansible's format, running a script over
//! the connection, and turning command output into Ansible's result keys.

use super::{ModuleContext, ModuleError};
use crate::connection::{Command, ConnError, Output};
use serde_json::{Map, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A wall-clock instant, formatted the way Ansible's modules print `start`/`end`
/// (`2026-11-23 05:29:48.480627`, local time, like Python's `datetime.now()`).
#[derive(Clone, Copy, Debug)]
pub struct Stamp(pub SystemTime);

impl Stamp {
    pub fn now() -> Stamp {
        Stamp(SystemTime::now())
    }

    pub fn format(&self) -> String {
        let since = self.0.duration_since(UNIX_EPOCH).unwrap_or_default();
        let secs = since.as_secs() as libc::time_t;
        // SAFETY: localtime_r only writes into the zeroed struct we own.
        let mut tm: libc::tm = unsafe { std::mem::zeroed() };
        let ok = unsafe { !libc::localtime_r(&secs, &mut tm).is_null() };
        if !ok {
            return String::new();
        }
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}",
            tm.tm_year + 1900,
            tm.tm_mon + 1,
            tm.tm_mday,
            tm.tm_hour,
            tm.tm_min,
            tm.tm_sec,
            since.subsec_micros()
        )
    }
}

/// Python's `str(timedelta)`: `0:00:00.003456` (microseconds omitted when zero).
pub fn format_delta(d: Duration) -> String {
    let total = d.as_secs();
    let (days, rest) = (total / 86400, total % 86400);
    let base = format!("{}:{:02}:{:02}", rest / 3600, (rest % 3600) / 60, rest % 60);
    let micros = d.subsec_micros();
    let base = if micros == 0 {
        base
    } else {
        format!("{base}.{micros:06}")
    };
    match days {
        0 => base,
        1 => format!("1 day, {base}"),
        n => format!("{n} days, {base}"),
    }
}

/// Converts a connection error to the module error the executor understands.
pub fn conn_err(e: ConnError) -> ModuleError {
    match e {
        ConnError::Unreachable(m) => ModuleError::Unreachable(m),
        ConnError::Failed(m) => ModuleError::msg(m),
    }
}

/// Runs a shell script on the host with the task's environment and become settings.
pub fn exec_script(ctx: &mut ModuleContext, script: String) -> Result<Output, ModuleError> {
    let cmd = Command {
        script,
        env: ctx.env.clone(),
        become_: ctx.become_.clone(),
        ..Command::default()
    };
    ctx.conn.exec(&cmd).map_err(conn_err)
}

/// Whether `path` exists on the host (`test -e`, after `~` expansion like Ansible's
/// `os.path.expanduser`).
pub fn remote_exists(ctx: &mut ModuleContext, path: &str) -> Result<bool, ModuleError> {
    let out = exec_script(ctx, format!("test -e {}", shell_path(path)))?;
    Ok(out.rc == 0)
}

/// Quotes a path for the shell but leaves a leading `~` or `~/` to the shell's tilde
/// expansion, so `creates: ~/x` means the remote user's home.
pub fn shell_path(path: &str) -> String {
    use crate::connection::quote;
    if path == "~" {
        return "~".into();
    }
    if let Some(rest) = path.strip_prefix("~/") {
        return format!("~/{}", quote(rest));
    }
    quote(path)
}

/// Bytes to text, lossy (Ansible decodes with `surrogate_or_strict`; invalid UTF-8 is rare).
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Python's `str.splitlines()` as Ansible uses it for `stdout_lines`.
pub fn lines(s: &str) -> Value {
    Value::Array(
        s.lines()
            .map(|l| Value::String(l.strip_suffix('\r').unwrap_or(l).to_string()))
            .collect(),
    )
}

/// Puts `stdout`, `stderr` and their `_lines` into a result.
pub fn put_output(res: &mut Map<String, Value>, stdout: &str, stderr: &str) {
    res.insert("stderr".into(), Value::String(stderr.into()));
    res.insert("stderr_lines".into(), lines(stderr));
    res.insert("stdout".into(), Value::String(stdout.into()));
    res.insert("stdout_lines".into(), lines(stdout));
}

/// A result map from key/value pairs.
pub fn map<const N: usize>(pairs: [(&str, Value); N]) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// Whether `s` is a valid Python identifier in the ASCII subset Ansible accepts for
/// variable names.
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The shell text that prints a path's attributes for [`parse_attrs`] (GNU `stat`, one line:
/// uid, gid, owner, group, octal mode, size, type).
pub fn attrs_script(quoted_path: &str) -> String {
    format!("stat -c '%u %g %U %G %a %s %F' {quoted_path}")
}

/// Parses one line printed by [`attrs_script`] into Ansible's file keys (`uid`, `gid`,
/// `owner`, `group`, `mode`, `size`, `state`).
pub fn parse_attrs(line: &str) -> Option<Map<String, Value>> {
    let mut it = line.trim().splitn(7, ' ');
    let uid: i64 = it.next()?.parse().ok()?;
    let gid: i64 = it.next()?.parse().ok()?;
    let owner = it.next()?.to_string();
    let group = it.next()?.to_string();
    let mode = u32::from_str_radix(it.next()?, 8).ok()?;
    let size: i64 = it.next()?.parse().ok()?;
    let state = match it.next()? {
        "directory" => "directory",
        "symbolic link" => "link",
        _ => "file",
    };
    Some(map([
        ("gid", Value::from(gid)),
        ("group", Value::String(group)),
        ("mode", Value::String(format!("{mode:04o}"))),
        ("owner", Value::String(owner)),
        ("size", Value::from(size)),
        ("state", Value::String(state.into())),
        ("uid", Value::from(uid)),
    ]))
}

/// A `mode:` argument as chmod understands it: YAML's `0644` arrives as the number 420 and
/// means octal; strings (`"0644"`, `u+x`) are kept.
pub fn mode_arg(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => n.as_u64().map(|m| format!("{m:04o}")),
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// Shell text that applies `mode`/`owner`/`group` to `quoted_path` and prints
/// `@@yiqiu:attrs-changed` when anything differs afterwards (compared with `stat`, so a
/// mode that is already right reports no change). Empty when nothing is asked.
pub fn apply_attrs_script(
    quoted_path: &str,
    mode: Option<&str>,
    owner: Option<&str>,
    group: Option<&str>,
) -> String {
    use crate::connection::quote;
    if mode.is_none() && owner.is_none() && group.is_none() {
        return String::new();
    }
    let mut s = format!("__yq_b=$(stat -c '%a %u %g' {quoted_path})\n");
    if let Some(o) = owner {
        s.push_str(&format!("chown {} {quoted_path} || exit 1\n", quote(o)));
    }
    if let Some(g) = group {
        s.push_str(&format!("chgrp {} {quoted_path} || exit 1\n", quote(g)));
    }
    if let Some(m) = mode {
        s.push_str(&format!("chmod {} {quoted_path} || exit 1\n", quote(m)));
    }
    s.push_str(&format!(
        "[ \"$__yq_b\" = \"$(stat -c '%a %u %g' {quoted_path})\" ] || echo {ATTRS_CHANGED}\n"
    ));
    s
}

/// The result Ansible gives a module without check mode support when run in check mode.
pub fn check_mode_unsupported(module: &str) -> Map<String, Value> {
    map([
        ("changed", Value::Bool(false)),
        (
            "msg",
            Value::String(format!(
                "remote module ({module}) does not support check mode"
            )),
        ),
        ("skipped", Value::Bool(true)),
    ])
}

/// Printed by [`apply_attrs_script`] when it changed something.
pub const ATTRS_CHANGED: &str = "@@yiqiu:attrs-changed";

/// The first path in `search` (most specific first) where `rel` exists; absolute paths are
/// returned as is.
pub fn find_local_file(search: &[std::path::PathBuf], rel: &str) -> Option<std::path::PathBuf> {
    let p = std::path::Path::new(rel);
    if p.is_absolute() {
        return p.exists().then(|| p.to_path_buf());
    }
    search
        .iter()
        .map(|d| d.join(rel))
        .find(|c| c.exists())
        .or_else(|| p.exists().then(|| p.to_path_buf()))
}

#[cfg(test)]
pub mod test_support {
    //! A test evaluator over a JSON context and a ready-made context on the local connection.

    use super::super::{Args, Evaluator, Module, ModuleContext, ModuleResult};
    use crate::connection::local::LocalConnection;
    use crate::template::{single_expression, templar, to_json};
    use minijinja::Value as MjValue;
    use serde_json::Value;
    use std::path::PathBuf;

    pub struct JsonEval(pub Value);

    impl Evaluator for JsonEval {
        fn eval_expr(&self, expr: &str) -> Result<Value, String> {
            let expr = single_expression(expr).unwrap_or(expr);
            let ctx = MjValue::from(minijinja::value::Serde(&self.0));
            let v = templar().eval(expr, &ctx).map_err(|e| e.message)?;
            if v.is_undefined() {
                return Err(format!("'{expr}' is undefined"));
            }
            to_json(&v).map_err(|e| e.message)
        }
        fn eval_condition(&self, expr: &str) -> Result<bool, String> {
            let ctx = MjValue::from(minijinja::value::Serde(&self.0));
            templar()
                .eval_condition(&Value::String(expr.into()), &ctx)
                .map_err(|e| e.message)
        }
        fn render_template(
            &self,
            text: &str,
            _opts: &crate::template::FileOptions,
        ) -> Result<String, String> {
            let ctx = MjValue::from(minijinja::value::Serde(&self.0));
            templar().render_string(text, &ctx).map_err(|e| e.message)
        }
        fn render_string(&self, text: &str) -> Result<Value, String> {
            let ctx = MjValue::from(minijinja::value::Serde(&self.0));
            templar().render_native(text, &ctx).map_err(|e| e.message)
        }
    }

    /// Options for one test run.
    #[derive(Default)]
    pub struct Opts {
        pub check: bool,
        pub verbosity: u8,
        pub vars: Option<Value>,
        pub search: Vec<PathBuf>,
        pub env: Vec<(String, String)>,
    }

    /// Validates `args` against the module's spec, then runs it on the local connection.
    pub fn run_with(module: &dyn Module, args: Value, opts: Opts) -> ModuleResult {
        let raw = args.as_object().cloned().unwrap_or_default();
        let args: Args = super::super::validate(module.name(), module.spec(), raw)
            .unwrap_or_else(|e| panic!("validation failed: {e}"));
        let mut conn = LocalConnection;
        let eval = JsonEval(opts.vars.unwrap_or(Value::Object(Default::default())));
        let mut ctx = ModuleContext {
            host: "localhost",
            conn: &mut conn,
            check_mode: opts.check,
            diff_mode: false,
            verbosity: opts.verbosity,
            become_: Default::default(),
            env: opts.env,
            search_paths: opts.search,
            role_path: None,
            task_dir: None,
            eval: &eval,
            fleet: None,
        };
        module.run(&args, &mut ctx)
    }

    pub fn run(module: &dyn Module, args: Value) -> ModuleResult {
        run_with(module, args, Opts::default())
    }

    /// Unwraps a failure's result map.
    pub fn failed(r: ModuleResult) -> serde_json::Map<String, Value> {
        match r {
            Err(super::super::ModuleError::Failed(m)) => m,
            other => panic!("expected failure, got {other:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delta_like_python_timedelta() {
        assert_eq!(format_delta(Duration::from_micros(3456)), "0:00:00.003456");
        assert_eq!(format_delta(Duration::from_secs(3661)), "1:01:01");
        assert_eq!(format_delta(Duration::from_secs(90000)), "1 day, 1:00:00");
    }

    #[test]
    fn stamp_has_microseconds() {
        let s = Stamp(UNIX_EPOCH + Duration::from_micros(1_000_123)).format();
        assert!(s.ends_with(".000123"), "{s}");
        assert_eq!(s.len(), 26, "{s}");
    }

    #[test]
    fn identifiers() {
        assert!(is_identifier("_a1"));
        assert!(!is_identifier("1a"));
        assert!(!is_identifier("a-b"));
        assert!(!is_identifier(""));
    }

    #[test]
    fn tilde_left_to_the_shell() {
        assert_eq!(shell_path("~/a b"), "~/'a b'");
        assert_eq!(shell_path("/x;y"), "'/x;y'");
    }
}
