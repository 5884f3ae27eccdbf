//! `pause`: waits for a time, or for a prompt answer when there is a terminal.
//!
//! Without an interactive stdin a prompt does not wait, as in Ansible (with its warning).

use crate::modules::util::{map, Stamp};
use crate::modules::{ArgKind, ArgSpec, Args, Module, ModuleContext, ModuleError, ModuleResult};
use serde_json::Value;
use std::io::{BufRead, IsTerminal, Write};
use std::time::{Duration, Instant};

pub struct Pause;

const SPEC: &[ArgSpec] = &[
    ArgSpec::new("minutes", ArgKind::Int),
    ArgSpec::new("seconds", ArgKind::Int),
    ArgSpec::new("prompt", ArgKind::Str),
    ArgSpec::new("echo", ArgKind::Bool),
];

/// Python's `repr(round(x, 2))` for a float: `1.0`, `0.02`.
fn py_float(x: f64) -> String {
    let r = (x * 100.0).round() / 100.0;
    if r.fract() == 0.0 {
        format!("{r:.1}")
    } else {
        format!("{r}")
    }
}

impl Module for Pause {
    fn name(&self) -> &'static str {
        "pause"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn controller_only(&self) -> bool {
        true
    }
    fn bypass_host_loop(&self) -> bool {
        true
    }
    fn run(&self, args: &Args, ctx: &mut ModuleContext) -> ModuleResult {
        if args.get("minutes").is_some() && args.get("seconds").is_some() {
            return Err(ModuleError::msg(
                "parameters are mutually exclusive: minutes|seconds",
            ));
        }
        let echo = args.bool_or("echo", true);
        // Ansible waits at least one second when a duration is given.
        let (wait, unit) = match (args.int("minutes"), args.int("seconds")) {
            (Some(m), _) => (Some((m * 60).max(1)), "minutes"),
            (_, Some(s)) => (Some(s.max(1)), "seconds"),
            _ => (None, "minutes"),
        };
        let start = Stamp::now();
        let began = Instant::now();
        let mut user_input = String::new();
        let mut warnings = Vec::new();
        match wait {
            Some(secs) => {
                // Ansible's lines, printed before the wait whether or not stdin is a terminal.
                let hidden = if echo { "" } else { " (output is hidden)" };
                let mut text = format!("Pausing for {secs} seconds{hidden}\n");
                if args.str("prompt").is_some() {
                    text.push_str(
                        "(ctrl+C then 'C' = continue early, ctrl+C then 'A' = abort)\r\n",
                    );
                }
                let mut out = std::io::stdout();
                let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
                std::thread::sleep(Duration::from_secs(secs.unsigned_abs()))
            }
            None => {
                let stdin = std::io::stdin();
                if stdin.is_terminal() {
                    let prompt = args
                        .str("prompt")
                        .unwrap_or("Press enter to continue, Ctrl+C to interrupt");
                    let mut out = std::io::stdout();
                    let _ = write!(out, "[{}]\n{prompt}:\n", ctx.host);
                    let _ = out.flush();
                    let mut line = String::new();
                    let _ = stdin.lock().read_line(&mut line);
                    user_input = line.trim_end_matches(['\r', '\n']).to_string();
                } else {
                    warnings.push(Value::String(
                        "Not waiting for response to prompt as stdin is not interactive".into(),
                    ));
                }
            }
        }
        let elapsed = began.elapsed().as_secs_f64();
        let stop = Stamp::now();
        let shown = if unit == "minutes" {
            elapsed / 60.0
        } else {
            elapsed
        };
        let mut res = map([
            ("changed", Value::Bool(false)),
            ("delta", Value::from(elapsed as i64)),
            ("echo", Value::Bool(echo)),
            ("rc", Value::from(0)),
            ("start", Value::String(start.format())),
            ("stderr", Value::String(String::new())),
            (
                "stdout",
                Value::String(format!("Paused for {} {unit}", py_float(shown))),
            ),
            ("stop", Value::String(stop.format())),
            ("user_input", Value::String(user_input)),
        ]);
        if !warnings.is_empty() {
            res.insert("warnings".into(), Value::Array(warnings));
        }
        Ok(res)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::util::test_support::{failed, run};
    use serde_json::json;

    #[test]
    fn float_repr() {
        assert_eq!(py_float(1.0004), "1.0");
        assert_eq!(py_float(0.0167), "0.02");
    }

    #[test]
    fn seconds_result_keys() {
        let r = run(&Pause, json!({"seconds": "0", "echo": "no"})).unwrap();
        assert_eq!(r["echo"], json!(false));
        assert_eq!(r["rc"], json!(0));
        assert!(r["stdout"].as_str().unwrap().starts_with("Paused for "));
        assert!(r["stdout"].as_str().unwrap().ends_with(" seconds"));
        for k in ["start", "stop", "delta", "user_input", "stderr"] {
            assert!(r.contains_key(k), "{k}");
        }
    }

    #[test]
    fn prompt_without_terminal_does_not_wait() {
        // cargo test runs with a non-terminal stdin in CI; skip the check on a terminal.
        if std::io::stdin().is_terminal() {
            return;
        }
        let r = run(&Pause, json!({"prompt": "Enter"})).unwrap();
        assert_eq!(r["user_input"], json!(""));
        assert_eq!(r["stdout"], json!("Paused for 0.0 minutes"));
        assert!(r["warnings"][0]
            .as_str()
            .unwrap()
            .contains("not interactive"));
    }

    #[test]
    fn minutes_and_seconds_conflict() {
        let m = failed(run(&Pause, json!({"minutes": 1, "seconds": 1})));
        assert!(m["msg"].as_str().unwrap().contains("mutually exclusive"));
    }
}
