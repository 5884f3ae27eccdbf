//! `systemd` (also `service` and `systemd_service`): starts, stops, restarts, reloads,
//! enables and masks services.
//!
//! One round trip reads the state (`systemctl show` and `is-enabled`), one more changes what
//! differs. Where systemd is not running (`/run/systemd/system` missing: containers and CI
//! machines), a service that has a SysV init script is driven through that script (or the
//! `service` command), the way Ansible's `service` module falls back; anything else fails with
//! a clear message rather than pretending.
//!
//! Test seam: the init script directory is `$YIQIU_INITD_DIR` on the host when that is set
//! (e.g. through the task's `environment:`), else `/etc/init.d`.

use crate::connection::quote;
use crate::modules::util::{self, map};
use crate::modules::{ArgKind, ArgSpec, Args, Module, ModuleContext, ModuleError, ModuleResult};
use serde_json::{Map, Value};

pub struct Systemd;

const SPEC: &[ArgSpec] = &[
    ArgSpec::new("name", ArgKind::Str).aliases(&["service", "unit"]),
    ArgSpec::new("state", ArgKind::Str).choices(&["reloaded", "restarted", "started", "stopped"]),
    ArgSpec::new("enabled", ArgKind::Bool),
    ArgSpec::new("force", ArgKind::Bool),
    ArgSpec::new("masked", ArgKind::Bool),
    ArgSpec::new("daemon_reload", ArgKind::Bool).aliases(&["daemon-reload"]),
    ArgSpec::new("daemon_reexec", ArgKind::Bool).aliases(&["daemon-reexec"]),
    ArgSpec::new("scope", ArgKind::Str).choices(&["system", "user", "global"]),
    ArgSpec::new("no_block", ArgKind::Bool),
    // `service` module arguments, accepted so `service:` tasks validate.
    ArgSpec::new("pattern", ArgKind::Str),
    ArgSpec::new("sleep", ArgKind::Int),
    ArgSpec::new("arguments", ArgKind::Str).aliases(&["args"]),
    ArgSpec::new("runlevel", ArgKind::Str),
    ArgSpec::new("use", ArgKind::Str),
];

const MARK: &str = "@@yiqiu:";
pub const NO_SYSTEMD: &str = "systemd is not running on this host (no /run/systemd/system); service management needs systemd here";

/// Ansible's `parse_systemctl_show`: `Key=value` lines; a value opening with `{` runs until
/// a line ending with `}`.
pub fn parse_systemctl_show(text: &str) -> Map<String, Value> {
    let mut out = Map::new();
    let mut pending: Option<(String, Vec<String>)> = None;
    for line in text.lines() {
        if let Some((k, mut lines)) = pending.take() {
            lines.push(line.to_string());
            if line.trim_end().ends_with('}') {
                out.insert(k, Value::String(lines.join("\n").trim().to_string()));
            } else {
                pending = Some((k, lines));
            }
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        if v.trim_start().starts_with('{') && !v.trim_end().ends_with('}') {
            pending = Some((k.to_string(), vec![v.to_string()]));
        } else {
            out.insert(k.to_string(), Value::String(v.to_string()));
        }
    }
    out
}

/// What the query round trip found.
enum Found {
    Systemd {
        status: Map<String, Value>,
        is_enabled: String,
        is_enabled_rc: i32,
    },
    /// A SysV service: the command prefix (`'/etc/init.d/x'` or `service 'x'`) and whether
    /// `status` said it runs, and whether a start link exists in /etc/rc?.d.
    Sysv {
        runner: String,
        running: bool,
        enabled: bool,
    },
    Missing,
    NoSystemd,
}

fn not_found(name: &str) -> ModuleError {
    ModuleError::msg(format!("Could not find the requested service {name}: host"))
}

impl Systemd {
    fn systemctl(args: &Args) -> String {
        let mut s = String::from("systemctl");
        match args.str("scope") {
            Some("user") => s.push_str(" --user"),
            Some("global") => s.push_str(" --global"),
            _ => {}
        }
        if args.bool_or("no_block", false) {
            s.push_str(" --no-block");
        }
        if args.bool_or("force", false) {
            s.push_str(" --force");
        }
        s
    }

    fn query(args: &Args, name: &str, ctx: &mut ModuleContext) -> Result<Found, ModuleError> {
        let q = quote(name);
        let sc = Self::systemctl(args);
        let script = format!(
            r#"if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  echo {MARK}systemd
  {sc} show -- {q} 2>/dev/null
  echo {MARK}is-enabled "$({sc} is-enabled -- {q} 2>/dev/null; echo " $?")"
  exit 0
fi
D="${{YIQIU_INITD_DIR:-/etc/init.d}}"
if [ -f "$D"/{q} ]; then
  echo {MARK}sysv-script "$D"/{q}
  "$D"/{q} status >/dev/null 2>&1; echo {MARK}status $?
elif command -v service >/dev/null 2>&1 && [ -z "${{YIQIU_INITD_DIR:-}}" ]; then
  out=$(service {q} status 2>&1); rc=$?
  case "$out" in *nrecognized*|*"not found"*|*"does not exist"*) echo {MARK}missing; exit 0;; esac
  [ "$rc" = 4 ] && {{ echo {MARK}missing; exit 0; }}
  echo {MARK}sysv-service; echo {MARK}status $rc
else
  echo {MARK}missing; exit 0
fi
for f in /etc/rc[2345].d/S*{q}; do [ -e "$f" ] && {{ echo {MARK}enabled; break; }}; done
exit 0
"#
        );
        let out = util::exec_script(ctx, script)?;
        let text = util::text(&out.stdout);
        let mut lines = text.lines();
        let first = lines.next().unwrap_or_default();
        if first == format!("{MARK}systemd") {
            let rest: Vec<&str> = lines.collect();
            let (show, tail): (Vec<&str>, Vec<&str>) =
                rest.iter().partition(|l| !l.starts_with(MARK));
            let status = parse_systemctl_show(&show.join("\n"));
            let ie = tail
                .iter()
                .find_map(|l| l.strip_prefix(&format!("{MARK}is-enabled ")))
                .unwrap_or("");
            // `<state> <rc>` (state may be empty, then only ` rc`).
            let (state, rc) = ie.trim().rsplit_once(' ').unwrap_or(("", ie.trim()));
            let rc: i32 = rc.trim().parse().unwrap_or(1);
            let load = status.get("LoadState").and_then(Value::as_str);
            if status.is_empty() || load == Some("not-found") {
                return Ok(Found::Missing);
            }
            return Ok(Found::Systemd {
                status,
                is_enabled: state.trim().to_string(),
                is_enabled_rc: rc,
            });
        }
        let has = |m: &str| text.lines().any(|l| l == format!("{MARK}{m}"));
        let status_rc = text
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{MARK}status ")))
            .and_then(|s| s.trim().parse::<i32>().ok());
        let runner = if let Some(script) = text
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{MARK}sysv-script ")))
        {
            quote(script)
        } else if has("sysv-service") {
            format!("service {q}")
        } else {
            // No systemd and nothing the SysV fallback could drive.
            return Ok(Found::NoSystemd);
        };
        Ok(Found::Sysv {
            runner,
            running: status_rc == Some(0),
            enabled: has("enabled"),
        })
    }

    fn act(ctx: &mut ModuleContext, script: String, what: &str) -> Result<(), ModuleError> {
        let out = util::exec_script(ctx, script)?;
        if out.rc != 0 {
            let err = format!("{}{}", util::text(&out.stdout), util::text(&out.stderr));
            return Err(ModuleError::msg(format!("{what}: {}", err.trim())));
        }
        Ok(())
    }

    fn run_systemd(
        args: &Args,
        name: &str,
        status: Map<String, Value>,
        is_enabled: (String, i32),
        ctx: &mut ModuleContext,
    ) -> ModuleResult {
        let sc = Self::systemctl(args);
        let q = quote(name);
        let mut res = map([
            ("name", Value::String(name.into())),
            ("changed", Value::Bool(false)),
        ]);
        if let Some(err) = status.get("LoadError").and_then(Value::as_str) {
            if status.get("LoadState").and_then(Value::as_str) != Some("masked") {
                return Err(ModuleError::msg(format!(
                    "Error loading unit file '{name}': {err}"
                )));
            }
        }
        let mut changed = false;
        let mut commands = Vec::new();
        if let Some(want) = args.bool("masked") {
            let masked = is_enabled.0 == "masked";
            if masked != want {
                changed = true;
                commands.push((
                    format!("{sc} {} -- {q}", if want { "mask" } else { "unmask" }),
                    format!(
                        "Failed to {} the service ({name})",
                        if want { "mask" } else { "unmask" }
                    ),
                ));
            }
        }
        if let Some(want) = args.bool("enabled") {
            let enabled = is_enabled.1 == 0
                && !matches!(
                    is_enabled.0.as_str(),
                    "enabled-runtime" | "indirect" | "alias"
                );
            res.insert("enabled".into(), Value::Bool(enabled));
            if enabled != want {
                changed = true;
                let action = if want { "enable" } else { "disable" };
                commands.push((
                    format!("{sc} {action} -- {q}"),
                    format!("Unable to {action} service {name}"),
                ));
                res.insert("enabled".into(), Value::Bool(want));
            }
        }
        if let Some(state) = args.str("state") {
            let active = status
                .get("ActiveState")
                .and_then(Value::as_str)
                .unwrap_or("");
            let running = matches!(active, "active" | "activating");
            let mut shown = state;
            let action = match state {
                "started" => (!running).then_some("start"),
                "stopped" => (running || active == "deactivating").then_some("stop"),
                _ => {
                    shown = "started";
                    Some(if !running {
                        "start"
                    } else if state == "restarted" {
                        "restart"
                    } else {
                        "reload"
                    })
                }
            };
            res.insert("state".into(), Value::String(shown.into()));
            if let Some(a) = action {
                changed = true;
                commands.push((
                    format!("{sc} {a} -- {q}"),
                    format!("Unable to {a} service {name}"),
                ));
            }
        }
        if !ctx.check_mode {
            for (cmd, what) in commands {
                Self::act(ctx, cmd, &what)?;
            }
        }
        res.insert("changed".into(), Value::Bool(changed));
        res.insert("status".into(), Value::Object(status));
        Ok(res)
    }

    fn run_sysv(
        args: &Args,
        name: &str,
        runner: &str,
        running: bool,
        enabled: bool,
        ctx: &mut ModuleContext,
    ) -> ModuleResult {
        let mut res = map([
            ("name", Value::String(name.into())),
            ("changed", Value::Bool(false)),
        ]);
        let mut changed = false;
        let mut commands = Vec::new();
        if let Some(want) = args.bool("enabled") {
            res.insert("enabled".into(), Value::Bool(want));
            if want != enabled {
                changed = true;
                let q = quote(name);
                let (ur, ck) = if want {
                    ("defaults", "on")
                } else {
                    ("remove", "off")
                };
                let verb = if want { "enable" } else { "disable" };
                commands.push((
                    format!(
                        "if command -v update-rc.d >/dev/null 2>&1; then update-rc.d {q} {ur}; \
                         elif command -v chkconfig >/dev/null 2>&1; then chkconfig {q} {ck}; \
                         else echo 'neither update-rc.d nor chkconfig is available' >&2; exit 1; fi"
                    ),
                    format!("Unable to {verb} service {name}"),
                ));
            }
        }
        if let Some(state) = args.str("state") {
            res.insert("state".into(), Value::String(state.into()));
            let action = match state {
                "started" => (!running).then_some("start"),
                "stopped" => running.then_some("stop"),
                "restarted" => Some("restart"),
                _ => Some(if running { "reload" } else { "start" }),
            };
            if let Some(a) = action {
                changed = true;
                let extra = args
                    .str("arguments")
                    .map(|s| format!(" {s}"))
                    .unwrap_or_default();
                commands.push((
                    format!("{runner} {a}{extra}"),
                    format!("Unable to {a} service {name}"),
                ));
            }
        }
        if args.bool("masked").is_some() {
            return Err(ModuleError::msg(format!(
                "masked needs systemd; {name} is managed by a SysV init script here"
            )));
        }
        if !ctx.check_mode {
            for (cmd, what) in commands {
                Self::act(ctx, cmd, &what)?;
            }
        }
        res.insert("changed".into(), Value::Bool(changed));
        Ok(res)
    }
}

impl Module for Systemd {
    fn name(&self) -> &'static str {
        "systemd"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn run(&self, args: &Args, ctx: &mut ModuleContext) -> ModuleResult {
        let name = args.str("name");
        let wants_unit = ["state", "enabled", "masked"]
            .iter()
            .any(|k| args.get(k).is_some());
        if !wants_unit
            && !args.bool_or("daemon_reload", false)
            && !args.bool_or("daemon_reexec", false)
        {
            return Err(ModuleError::msg(
                "one of the following is required: state, enabled, masked, daemon_reload, daemon_reexec",
            ));
        }
        if wants_unit && name.is_none() {
            return Err(ModuleError::msg(
                "missing parameter(s) required by 'state': name",
            ));
        }
        if let Some(n) = name {
            if let Some(g) = ['*', '?', '['].iter().find(|g| n.contains(**g)) {
                return Err(ModuleError::msg(format!(
                    "This module does not currently support using glob patterns, found '{g}' in service name: {n}"
                )));
            }
        }
        let mut reloads = Vec::new();
        if args.bool_or("daemon_reload", false) {
            reloads.push("daemon-reload");
        }
        if args.bool_or("daemon_reexec", false) {
            reloads.push("daemon-reexec");
        }
        if !reloads.is_empty() && !ctx.check_mode {
            let sc = Self::systemctl(args);
            let script = format!(
                "[ -d /run/systemd/system ] || {{ echo {} >&2; exit 1; }}\n{}",
                quote(NO_SYSTEMD),
                reloads
                    .iter()
                    .map(|r| format!(
                        "{sc} {r} || {{ rc=$?; echo \"failure $rc during {r}\" >&2; exit $rc; }}"
                    ))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
            let out = util::exec_script(ctx, script)?;
            if out.rc != 0 {
                return Err(ModuleError::msg(util::text(&out.stderr).trim().to_string()));
            }
        }
        let Some(name) = name else {
            return Ok(map([
                ("changed", Value::Bool(false)),
                ("name", Value::Null),
                ("status", Value::Object(Map::new())),
            ]));
        };
        match Self::query(args, name, ctx)? {
            Found::Systemd {
                status,
                is_enabled,
                is_enabled_rc,
            } => Self::run_systemd(args, name, status, (is_enabled, is_enabled_rc), ctx),
            Found::Sysv {
                runner,
                running,
                enabled,
            } => Self::run_sysv(args, name, &runner, running, enabled, ctx),
            Found::Missing => Err(not_found(name)),
            Found::NoSystemd => Err(ModuleError::msg(format!(
                "{NO_SYSTEMD}; no SysV init script for {name} was found either"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::util::test_support::{failed, run_with, Opts};
    use serde_json::json;
    use std::os::unix::fs::PermissionsExt;

    /// A real init script keeping its "running" state in a pid-like file.
    fn init_dir() -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        let state = t.path().join("running");
        let log = t.path().join("log");
        let script = format!(
            "#!/bin/sh\ncase \"$1\" in\n  start) touch '{s}'; echo start >> '{l}';;\n  stop) rm -f '{s}'; echo stop >> '{l}';;\n  \
             restart) touch '{s}'; echo restart >> '{l}';;\n  reload) echo reload >> '{l}';;\n  \
             status) [ -e '{s}' ] && exit 0; exit 3;;\n  *) exit 2;;\nesac\n",
            s = state.display(),
            l = log.display()
        );
        let p = t.path().join("demo");
        std::fs::write(&p, script).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        t
    }

    fn opts(dir: &std::path::Path, check: bool) -> Opts {
        Opts {
            check,
            env: vec![("YIQIU_INITD_DIR".into(), dir.to_str().unwrap().into())],
            ..Opts::default()
        }
    }

    fn log(dir: &std::path::Path) -> String {
        std::fs::read_to_string(dir.join("log")).unwrap_or_default()
    }

    #[test]
    fn sysv_fallback_is_idempotent_and_honours_check_mode() {
        if std::path::Path::new("/run/systemd/system").exists() {
            return; // systemd hosts take the systemctl path; the fallback is not used
        }
        let t = init_dir();
        let d = t.path();
        let r = run_with(
            &Systemd,
            json!({"name": "demo", "state": "started"}),
            opts(d, true),
        )
        .unwrap();
        assert_eq!(r["changed"], json!(true));
        assert_eq!(log(d), "");
        let r = run_with(
            &Systemd,
            json!({"name": "demo", "state": "started"}),
            opts(d, false),
        )
        .unwrap();
        assert_eq!(r["changed"], json!(true));
        assert_eq!(r["state"], json!("started"));
        assert_eq!(r["name"], json!("demo"));
        assert_eq!(log(d), "start\n");
        let r = run_with(
            &Systemd,
            json!({"name": "demo", "state": "started"}),
            opts(d, false),
        )
        .unwrap();
        assert_eq!(r["changed"], json!(false));
        let r = run_with(
            &Systemd,
            json!({"name": "demo", "state": "restarted"}),
            opts(d, false),
        )
        .unwrap();
        assert_eq!(r["changed"], json!(true));
        let r = run_with(
            &Systemd,
            json!({"name": "demo", "state": "stopped"}),
            opts(d, false),
        )
        .unwrap();
        assert_eq!(r["changed"], json!(true));
        assert!(!d.join("running").exists());
        let r = run_with(
            &Systemd,
            json!({"name": "demo", "state": "stopped"}),
            opts(d, false),
        )
        .unwrap();
        assert_eq!(r["changed"], json!(false));
        assert_eq!(log(d), "start\nrestart\nstop\n");
    }

    #[test]
    fn missing_service_without_systemd_fails_clearly() {
        if std::path::Path::new("/run/systemd/system").exists() {
            return;
        }
        let t = init_dir();
        let m = failed(run_with(
            &Systemd,
            json!({"name": "nosuch", "state": "started"}),
            opts(t.path(), false),
        ));
        let msg = m["msg"].as_str().unwrap();
        assert!(msg.starts_with(NO_SYSTEMD), "{msg}");
        let m = failed(run_with(
            &Systemd,
            json!({"daemon_reload": true}),
            opts(t.path(), false),
        ));
        assert_eq!(m["msg"], json!(NO_SYSTEMD));
        let m = failed(run_with(
            &Systemd,
            json!({"name": "a*", "state": "started"}),
            opts(t.path(), false),
        ));
        assert!(m["msg"].as_str().unwrap().contains("glob patterns"));
        let m = failed(run_with(
            &Systemd,
            json!({"name": "x"}),
            opts(t.path(), false),
        ));
        assert!(m["msg"]
            .as_str()
            .unwrap()
            .contains("one of the following is required"));
    }

    #[test]
    fn systemctl_show_parsing() {
        let s = parse_systemctl_show(
            "Id=x.service\nExecStart={ path=/bin/x ; argv[]=/bin/x\n  --flag }\nActiveState=active\nDescription=a=b\n",
        );
        assert_eq!(s["Id"], json!("x.service"));
        assert_eq!(s["ActiveState"], json!("active"));
        assert_eq!(s["Description"], json!("a=b"));
        assert_eq!(
            s["ExecStart"],
            json!("{ path=/bin/x ; argv[]=/bin/x\n  --flag }")
        );
    }
}
