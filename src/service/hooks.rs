//! Firing one hook in a unit's directory: its context files and environment, a timeout, the
//! tail of its output, and the data it publishes (read back only when it exits 0).

use crate::connection::{quote, Command, ConnError, Connection};
use serde_json::{Map, Value};
use std::time::Duration;

/// How much of a hook's output a failure shows.
const TAIL_BYTES: usize = 2000;
const RC_MARK: &str = "__YIQIU_HOOK_RC__";
const PUBLISH_MARK: &str = "__YIQIU_HOOK_PUBLISH__";
const MISSING_MARK: &str = "__YIQIU_HOOK_MISSING__";
const NEXT_MARK: &str = "__YIQIU_HOOK_NEXT__";

/// One hook to fire, and why.
#[derive(Debug, Clone)]
pub struct HookCall {
    pub name: String,
    pub reason: String,
    pub env: Vec<(String, String)>,
    /// Files written (relative to the unit dir) before the hook runs: config, relation data.
    pub files: Vec<(String, String)>,
    /// The relation this hook is about, whose published data it may set.
    pub relation: Option<String>,
}

#[derive(Debug, Clone)]
pub struct HookOutcome {
    pub rc: i32,
    pub tail: String,
    pub published: Option<Map<String, Value>>,
    /// The program has no such hook: the event is done, nothing ran.
    pub missing: bool,
}

/// Runs `call` in `unit_dir` with the program at `program_dir`.
pub fn run(
    conn: &mut dyn Connection,
    unit_dir: &str,
    program_dir: &str,
    call: &HookCall,
    timeout: Duration,
) -> Result<HookOutcome, ConnError> {
    let mut outcomes = run_batch(
        conn,
        unit_dir,
        program_dir,
        std::slice::from_ref(call),
        timeout,
    )?;
    Ok(outcomes.remove(0))
}

/// Runs `calls` one after the other in one round trip, stopping after the first that fails
/// (each in its own subshell: a hook's `cd` or variables never leak into the next). Returns
/// the outcomes of those that ran; at least one.
pub fn run_batch(
    conn: &mut dyn Connection,
    unit_dir: &str,
    program_dir: &str,
    calls: &[HookCall],
    timeout: Duration,
) -> Result<Vec<HookOutcome>, ConnError> {
    let secs = timeout.as_secs().max(1);
    let mut all = String::new();
    for call in calls {
        all.push_str(&format!(
            "( {} ) || exit 0\necho {NEXT_MARK}\n",
            script(unit_dir, program_dir, call, secs)
        ));
    }
    // An SSH exec request carries at most ~32 KiB (libssh2's packet payload): a long batch
    // (many relation hooks with their data) goes over stdin into a temp script instead.
    let (script, stdin) = if all.len() > 16 * 1024 {
        let runner = "t=$(mktemp) && cat > \"$t\" && sh \"$t\"; rc=$?; rm -f \"$t\"; exit $rc";
        (runner.to_string(), Some(all.into_bytes()))
    } else {
        (all, None)
    };
    let out = conn.exec(&Command {
        script,
        stdin,
        // The connection's own limit is the backstop when the host has no `timeout`.
        timeout: Some(timeout * calls.len().max(1) as u32 + Duration::from_secs(30)),
        ..Command::default()
    })?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut outcomes: Vec<HookOutcome> = text
        .split(NEXT_MARK)
        .filter(|part| part.contains(RC_MARK))
        .map(|part| parse(part, out.rc, &out.stderr))
        .collect();
    if outcomes.is_empty() {
        outcomes.push(parse(&text, out.rc, &out.stderr));
    }
    Ok(outcomes)
}

fn script(unit_dir: &str, program_dir: &str, call: &HookCall, secs: u64) -> String {
    let mut s = format!(
        "cd {dir} || exit 97\nmkdir -p .yiqiu/run && rm -f .yiqiu/run/publish\n",
        dir = quote(unit_dir)
    );
    for (path, content) in &call.files {
        s.push_str(&format!(
            "printf '%s' {} > {}\n",
            quote(content),
            quote(path)
        ));
    }
    for (k, v) in &call.env {
        s.push_str(&format!("{k}={}; export {k}\n", quote(v)));
    }
    s.push_str(&format!(
        "h={hook}\n\
         if [ -f \"$h\" ]; then\n\
           t=; command -v timeout >/dev/null 2>&1 && t=\"timeout -k 5 {secs}\"\n\
           if [ -x \"$h\" ]; then $t \"$h\"; else $t /bin/sh \"$h\"; fi >.yiqiu/run/out 2>&1 </dev/null\n\
           rc=$?\n\
         else rc=0; echo {MISSING_MARK}; : >.yiqiu/run/out; fi\n\
         echo \"{RC_MARK} $rc\"\n\
         tail -c {TAIL_BYTES} .yiqiu/run/out\n\
         echo; echo {PUBLISH_MARK}\n\
         [ \"$rc\" = 0 ] && [ -f .yiqiu/run/publish ] && cat .yiqiu/run/publish\n\
         exit \"$rc\"\n",
        hook = quote(&format!("{program_dir}/hooks/{}", call.name)),
    ));
    s
}

fn parse(text: &str, exec_rc: i32, stderr: &[u8]) -> HookOutcome {
    let Some((head, rest)) = text.split_once(RC_MARK) else {
        // The wrapper itself did not get to run the hook (no unit dir, shell error).
        return HookOutcome {
            rc: if exec_rc == 0 { 98 } else { exec_rc },
            tail: format!("{}{}", text.trim(), String::from_utf8_lossy(stderr).trim()),
            published: None,
            missing: false,
        };
    };
    let (rc_line, rest) = rest.split_once('\n').unwrap_or((rest, ""));
    let rc = rc_line.trim().parse().unwrap_or(99);
    let (tail, publish) = rest.split_once(PUBLISH_MARK).unwrap_or((rest, ""));
    HookOutcome {
        rc,
        tail: tail.trim_end().to_string(),
        published: (rc == 0).then(|| parse_published(publish)).flatten(),
        missing: head.contains(MISSING_MARK),
    }
}

/// A JSON object, or `key=value` lines (what a sh hook writes easily).
pub fn parse_published(text: &str) -> Option<Map<String, Value>> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if text.starts_with('{') {
        return serde_json::from_str(text).ok();
    }
    let map: Map<String, Value> = text
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), Value::String(v.trim().to_string())))
        .filter(|(k, _)| !k.is_empty())
        .collect();
    Some(map)
}

/// `KEY='value'` lines for sh, non-alphanumerics as `_` (and upper-cased when `upper`).
pub fn sh_assignments(prefix: &str, map: &Map<String, Value>, upper: bool) -> String {
    map.iter()
        .map(|(k, v)| format!("{prefix}{}={}\n", sh_name(k, upper), quote(&plain(v))))
        .collect()
}

pub fn sh_name(key: &str, upper: bool) -> String {
    key.chars()
        .map(|c| match c {
            c if c.is_ascii_alphanumeric() && upper => c.to_ascii_uppercase(),
            c if c.is_ascii_alphanumeric() => c,
            _ => '_',
        })
        .collect()
}

/// A value as a hook reads it: strings bare, the rest as JSON.
pub fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::local::LocalConnection;

    fn unit_dir(name: &str, hook: &str) -> (String, String) {
        let dir = std::env::temp_dir().join(format!("yiqiu-hook-{}-{name}", std::process::id()));
        let prog = dir.join("prog");
        std::fs::create_dir_all(prog.join("hooks")).unwrap();
        std::fs::write(prog.join("hooks/start"), hook).unwrap();
        (dir.display().to_string(), prog.display().to_string())
    }

    fn call(name: &str) -> HookCall {
        HookCall {
            name: name.into(),
            reason: String::new(),
            env: vec![("YIQIU_HOOK".into(), name.into())],
            files: vec![("config.sh".into(), "a='it'\\''s'\n".into())],
            relation: None,
        }
    }

    #[test]
    fn a_hook_publishes_only_when_it_exits_zero() {
        let (dir, prog) = unit_dir(
            "ok",
            ". ./config.sh; echo \"$YIQIU_HOOK $a\"; echo port=7 > \"$PWD/.yiqiu/run/publish\"",
        );
        let out = run(
            &mut LocalConnection,
            &dir,
            &prog,
            &call("start"),
            Duration::from_secs(9),
        )
        .unwrap();
        assert_eq!((out.rc, out.tail.as_str()), (0, "start it's"));
        assert_eq!(out.published.unwrap()["port"], "7");
        let (dir, prog) = unit_dir(
            "bad",
            "echo port=7 > .yiqiu/run/publish; echo boom >&2; exit 3",
        );
        let out = run(
            &mut LocalConnection,
            &dir,
            &prog,
            &call("start"),
            Duration::from_secs(9),
        )
        .unwrap();
        assert_eq!(
            (out.rc, out.tail.as_str(), out.published),
            (3, "boom", None)
        );
        let out = run(
            &mut LocalConnection,
            &dir,
            &prog,
            &call("stop"),
            Duration::from_secs(9),
        )
        .unwrap();
        assert!(out.missing && out.rc == 0);
    }

    #[test]
    fn a_long_batch_runs_in_order_and_stops_at_the_first_failure() {
        let (dir, prog) = unit_dir(
            "batch",
            "echo \"$YIQIU_HOOK\" >> log; [ \"$YIQIU_HOOK\" != start-29 ]",
        );
        let calls: Vec<HookCall> = (0..40)
            .map(|i| HookCall {
                files: vec![("big".into(), "x".repeat(2000))],
                env: vec![("YIQIU_HOOK".into(), format!("start-{i}"))],
                ..call("start")
            })
            .collect();
        let out = run_batch(
            &mut LocalConnection,
            &dir,
            &prog,
            &calls,
            Duration::from_secs(9),
        )
        .unwrap();
        assert_eq!(
            out.len(),
            30,
            "29 ran fine, the 30th failed, the rest never ran"
        );
        assert!(out[..29].iter().all(|o| o.rc == 0) && out[29].rc == 1);
        let log = std::fs::read_to_string(format!("{dir}/log")).unwrap();
        assert_eq!(log.lines().count(), 30);
    }

    #[test]
    fn a_hook_that_outlives_its_timeout_is_stopped() {
        let (dir, prog) = unit_dir("slow", "sleep 30");
        let out = run(
            &mut LocalConnection,
            &dir,
            &prog,
            &call("start"),
            Duration::from_secs(1),
        )
        .unwrap();
        assert_eq!(
            out.rc, 124,
            "timeout(1)'s exit status for a stopped command"
        );
    }
}
