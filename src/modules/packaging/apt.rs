//! `apt`: installs, upgrades and removes Debian packages with `apt-get`, the way
//! ansible-core's apt module decides (its `package_status`, `install`, `remove`, `upgrade`,
//! `cleanup`). One round trip reads the packages' state (see `apt_status`), one more runs
//! apt-get; `apt-mark manual` follows an install as in Ansible.

use super::apt_status::{self, Known, StatusError};
use crate::connection::{quote, Command};
use crate::modules::util::{self, map};
use crate::modules::{ArgKind, ArgSpec, Args, Module, ModuleContext, ModuleError, ModuleResult};
use serde_json::{Map, Value};

pub struct Apt;

pub const SPEC: &[ArgSpec] = &[
    ArgSpec::new("state", ArgKind::Str).choices(&[
        "absent",
        "build-dep",
        "fixed",
        "latest",
        "present",
    ]),
    ArgSpec::new("update_cache", ArgKind::Bool).aliases(&["update-cache"]),
    ArgSpec::new("update_cache_retries", ArgKind::Int),
    ArgSpec::new("update_cache_retry_max_delay", ArgKind::Int),
    ArgSpec::new("cache_valid_time", ArgKind::Int),
    ArgSpec::new("purge", ArgKind::Bool),
    ArgSpec::new("package", ArgKind::List).aliases(&["pkg", "name"]),
    ArgSpec::new("deb", ArgKind::Path),
    ArgSpec::new("default_release", ArgKind::Str).aliases(&["default-release"]),
    ArgSpec::new("install_recommends", ArgKind::Bool).aliases(&["install-recommends"]),
    ArgSpec::new("force", ArgKind::Bool),
    ArgSpec::new("upgrade", ArgKind::Str).choices(&["dist", "full", "no", "safe", "yes"]),
    ArgSpec::new("dpkg_options", ArgKind::Str),
    ArgSpec::new("autoremove", ArgKind::Bool),
    ArgSpec::new("autoclean", ArgKind::Bool),
    ArgSpec::new("fail_on_autoremove", ArgKind::Bool),
    ArgSpec::new("policy_rc_d", ArgKind::Int),
    ArgSpec::new("only_upgrade", ArgKind::Bool),
    ArgSpec::new("force_apt_get", ArgKind::Bool),
    ArgSpec::new("clean", ArgKind::Bool),
    ArgSpec::new("allow_unauthenticated", ArgKind::Bool).aliases(&["allow-unauthenticated"]),
    ArgSpec::new("allow_downgrade", ArgKind::Bool).aliases(&[
        "allow-downgrade",
        "allow_downgrades",
        "allow-downgrades",
    ]),
    ArgSpec::new("allow_change_held_packages", ArgKind::Bool),
    ArgSpec::new("lock_timeout", ArgKind::Int),
    ArgSpec::new("auto_install_module_deps", ArgKind::Bool),
];

const APT_GET_ZERO: &str = "\n0 upgraded, 0 newly installed, 0 to remove";
const STAMP: &str = "/var/lib/apt/periodic/update-success-stamp";
const LISTS: &str = "/var/lib/apt/lists";

/// The parsed arguments with Ansible's defaults.
struct Opts<'a> {
    args: &'a Args,
    check: bool,
    diff: bool,
    /// `dpkg_options` expanded, with the lock timeout (`-o "Dpkg::Options::=--x" ...`).
    dpkg: Vec<String>,
}

impl Opts<'_> {
    fn flag(&self, key: &str) -> bool {
        self.args.bool_or(key, false)
    }
}

/// apt's environment: non-interactive, a parsable locale.
fn apt_env(ctx: &ModuleContext) -> Vec<(String, String)> {
    let mut env = ctx.env.clone();
    for (k, v) in [
        ("DEBIAN_FRONTEND", "noninteractive"),
        ("DEBIAN_PRIORITY", "critical"),
        ("LANG", "C.UTF-8"),
        ("LC_ALL", "C.UTF-8"),
        ("LC_MESSAGES", "C.UTF-8"),
        ("LC_CTYPE", "C.UTF-8"),
        ("LANGUAGE", "C.UTF-8"),
    ] {
        env.push((k.into(), v.into()));
    }
    env
}

fn exec(ctx: &mut ModuleContext, script: String) -> Result<(i32, String, String), ModuleError> {
    let cmd = Command {
        script,
        env: apt_env(ctx),
        become_: ctx.become_.clone(),
        ..Command::default()
    };
    let out = ctx.conn.exec(&cmd).map_err(util::conn_err)?;
    Ok((out.rc, util::text(&out.stdout), util::text(&out.stderr)))
}

fn fail(msg: impl Into<String>) -> ModuleError {
    ModuleError::msg(msg)
}

fn fail_map(msg: String, out: &str, err: &str, rc: i32) -> Map<String, Value> {
    let mut m = map([("msg", msg.into()), ("rc", rc.into())]);
    util::put_output(&mut m, out, err);
    m
}

fn fail_out(msg: String, out: &str, err: &str, rc: i32) -> ModuleError {
    ModuleError::Failed(fail_map(msg, out, err, rc))
}

/// A command line as text, each word quoted for the shell.
fn line(words: &[String]) -> String {
    words
        .iter()
        .filter(|w| !w.is_empty())
        .map(|w| {
            if w.starts_with("-o ") {
                w.clone()
            } else {
                quote(w)
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs an apt-get command line, with `/usr/sbin/policy-rc.d` set for it when asked.
fn run_apt(
    ctx: &mut ModuleContext,
    o: &Opts,
    words: &[String],
) -> Result<(i32, String, String), ModuleError> {
    let cmd = line(words);
    let script = match o.args.int("policy_rc_d") {
        None => cmd,
        Some(code) => format!(
            "p=/usr/sbin/policy-rc.d; b=''\n\
             if [ -e \"$p\" ]; then b=$(mktemp -d /tmp/ansibleXXXXXX) && mv \"$p\" \"$b/\" || exit 1; fi\n\
             printf '#!/bin/sh\\nexit %d\\n' {code} >\"$p\" && chmod 0755 \"$p\" || exit 1\n\
             {cmd}\nrc=$?\n\
             if [ -n \"$b\" ]; then mv \"$b/policy-rc.d\" \"$p\" && rmdir \"$b\"; else rm -f \"$p\"; fi\n\
             exit $rc"
        ),
    };
    exec(ctx, script)
}

/// `parse_diff`: apt-get's output between "Reading state information..." and "N upgraded".
fn parse_diff(out: &str) -> Value {
    let lines: Vec<&str> = out.lines().collect();
    let start = lines
        .iter()
        .position(|l| *l == "Resolving dependencies...")
        .or_else(|| {
            lines
                .iter()
                .position(|l| *l == "Reading state information...")
        })
        .map_or(0, |i| i + 1);
    let end = lines
        .iter()
        .position(|l| {
            let mut w = l.split_whitespace();
            w.next()
                .is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()))
                && matches!(
                    (w.next(), w.next()),
                    (Some("upgraded,"), _) | (Some("packages"), Some("upgraded,"))
                )
        })
        .map_or(lines.len(), |i| i + 1);
    let prepared = lines
        .get(start..end.max(start))
        .unwrap_or_default()
        .join("\n");
    Value::Object(map([("prepared", prepared.into())]))
}

fn diff_of(o: &Opts, out: &str) -> Value {
    if o.diff {
        parse_diff(out)
    } else {
        Value::Object(Map::new())
    }
}

fn dpkg_options(args: &Args) -> Vec<String> {
    let opts = args
        .str("dpkg_options")
        .unwrap_or("force-confdef,force-confold");
    let mut out: Vec<String> = opts
        .split(',')
        .map(|o| format!("-o {}", quote(&format!("Dpkg::Options::=--{o}"))))
        .collect();
    out.push(format!(
        "-o DPkg::Lock::Timeout={}",
        args.int("lock_timeout").unwrap_or(60)
    ));
    out
}

impl Module for Apt {
    fn name(&self) -> &'static str {
        "apt"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn run(&self, args: &Args, ctx: &mut ModuleContext) -> ModuleResult {
        check_exclusive(args)?;
        let o = Opts {
            args,
            check: ctx.check_mode,
            diff: ctx.diff_mode,
            dpkg: dpkg_options(args),
        };
        if o.flag("clean") {
            let (rc, out, err) = exec(ctx, "apt-get clean".into())?;
            if rc != 0 || !err.is_empty() {
                let msg = if err.is_empty() {
                    "apt-get clean failed".to_string()
                } else {
                    format!("apt-get clean failed: {err}")
                };
                return Err(ModuleError::Failed(map([
                    ("msg", msg.into()),
                    ("stdout", out.into()),
                    ("rc", rc.into()),
                ])));
            }
            if args.get("package").is_none()
                && upgrade_mode(args).is_none()
                && args.get("deb").is_none()
            {
                let diff = diff_of(&o, &out);
                return Ok(map([
                    ("changed", true.into()),
                    ("msg", out.clone().into()),
                    ("stdout", out.into()),
                    ("stderr", err.into()),
                    ("diff", diff),
                ]));
            }
        }
        let (updated, cache_time) = update_cache(ctx, &o)?;
        let nothing_else = args.get("package").is_none()
            && upgrade_mode(args).is_none()
            && args.get("deb").is_none();
        if (o.flag("update_cache") || args.int("cache_valid_time").unwrap_or(0) > 0) && nothing_else
        {
            return Ok(map([
                ("changed", updated.into()),
                ("cache_updated", updated.into()),
                ("cache_update_time", cache_time.into()),
            ]));
        }
        if let Some(mode) = upgrade_mode(args) {
            return upgrade(ctx, &o, mode);
        }
        if args.get("deb").is_some() {
            return Err(fail(
                "apt: the deb option is not implemented by yiqiu-play yet",
            ));
        }
        let specs: Vec<String> = args
            .list("package")
            .map(|l| l.iter().map(crate::template::pyfmt::to_str).collect())
            .unwrap_or_default();
        let all_installed = specs.iter().any(|s| s == "*");
        let specs: Vec<String> = specs
            .into_iter()
            .filter(|s| s != "*")
            .map(|s| s.trim().to_string())
            .collect();
        let state = args.str("state").unwrap_or("present");
        if state == "latest" && all_installed {
            if !specs.is_empty() {
                return Err(fail(
                    "unable to install additional packages when upgrading all installed packages",
                ));
            }
            return upgrade(ctx, &o, "yes");
        }
        if let Some(bad) = specs.iter().find(|s| s.matches('=').count() > 1) {
            return Err(fail(format!("invalid package spec: {bad}")));
        }
        if specs.is_empty() {
            for op in ["autoclean", "autoremove"] {
                if o.flag(op) {
                    return cleanup(ctx, &o, op);
                }
            }
        }
        let specs = expand_fnmatches(ctx, &specs)?;
        if state == "absent" {
            return remove(ctx, &o, &specs);
        }
        // install()'s own result, failed or not, carries the cache keys (Ansible's retvals).
        let (ok, mut res) = install(ctx, &o, &specs, state)?;
        res.insert("cache_updated".into(), updated.into());
        res.insert("cache_update_time".into(), cache_time.into());
        match ok {
            true => Ok(res),
            false => Err(ModuleError::Failed(res)),
        }
    }
}

/// `mutually_exclusive` and `required_one_of`, over the arguments the task gave.
fn check_exclusive(args: &Args) -> Result<(), ModuleError> {
    let given: Vec<&str> = ["deb", "package", "upgrade"]
        .into_iter()
        .filter(|k| args.get(k).is_some_and(|v| !v.is_null()))
        .collect();
    if given.len() > 1 {
        return Err(fail(
            "parameters are mutually exclusive: deb|package|upgrade",
        ));
    }
    let one_of = ["autoremove", "deb", "package", "update_cache", "upgrade"];
    if !one_of
        .iter()
        .any(|k| args.get(k).is_some_and(|v| !v.is_null()))
    {
        return Err(fail(format!(
            "one of the following is required: {}",
            one_of.join(", ")
        )));
    }
    Ok(())
}

fn upgrade_mode(args: &Args) -> Option<&str> {
    args.str("upgrade").filter(|m| *m != "no")
}

/// Refreshes the lists when `update_cache` (or a stale `cache_valid_time`) asks for it:
/// whether the cache time moved, and that time (seconds since the epoch).
fn update_cache(ctx: &mut ModuleContext, o: &Opts) -> Result<(bool, i64), ModuleError> {
    let before = cache_mtime(ctx)?;
    let valid = o.args.int("cache_valid_time").unwrap_or(0);
    if !(o.flag("update_cache") || valid > 0) {
        return Ok((false, before));
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    if before + valid >= now {
        return Ok((false, before));
    }
    if o.check {
        return Ok((true, before));
    }
    let retries = o.args.int("update_cache_retries").unwrap_or(5).max(1);
    let max_delay = o.args.int("update_cache_retry_max_delay").unwrap_or(12) as u64;
    let mut err = String::new();
    for retry in 0..retries {
        let (rc, _out, e) = exec(ctx, "apt-get update -q".into())?;
        if rc == 0 {
            let after = cache_mtime(ctx)?;
            return Ok((after != before, after));
        }
        err = e.trim().to_string();
        if retry + 1 < retries {
            std::thread::sleep(std::time::Duration::from_secs(
                (1u64 << retry.min(6)).min(max_delay),
            ));
        }
    }
    let reason = if err.is_empty() {
        "unknown reason".to_string()
    } else {
        err
    };
    Err(fail(format!(
        "Failed to update apt cache after {retries} retries: {reason}"
    )))
}

fn cache_mtime(ctx: &mut ModuleContext) -> Result<i64, ModuleError> {
    let script = format!(
        "if [ -e {STAMP} ]; then stat -c %Y {STAMP}; elif [ -e {LISTS} ]; then stat -c %Y {LISTS}; else echo 0; fi"
    );
    let (_, out, _) = exec(ctx, script)?;
    Ok(out.trim().parse().unwrap_or(0))
}

/// `expand_pkgspec_from_fnmatches`: names with `*?[]!` stand for the matching packages.
fn expand_fnmatches(ctx: &mut ModuleContext, specs: &[String]) -> Result<Vec<String>, ModuleError> {
    let wild = |s: &str| {
        apt_status::split_spec(s)
            .0
            .contains(['*', '?', '[', ']', '!'])
    };
    if !specs.iter().any(|s| wild(s)) {
        return Ok(specs.to_vec());
    }
    let (_, names, _) = exec(ctx, "apt-cache pkgnames".into())?;
    let names: Vec<&str> = names.lines().collect();
    let mut out = Vec::new();
    for spec in specs {
        let pattern = apt_status::split_spec(spec).0;
        if !wild(spec) {
            out.push(spec.clone());
            continue;
        }
        let pat = glob::Pattern::new(pattern).map_err(|e| fail(format!("{pattern}: {e}")))?;
        let mut matches: Vec<String> = names
            .iter()
            .filter(|n| (pattern.contains(':') || !n.contains(':')) && pat.matches(n))
            .map(|n| n.to_string())
            .collect();
        if matches.is_empty() {
            return Err(fail(format!(
                "No package(s) matching '{pattern}' available"
            )));
        }
        matches.sort();
        out.extend(matches);
    }
    Ok(out)
}

fn query(
    ctx: &mut ModuleContext,
    o: &Opts,
    names: &[String],
) -> Result<Vec<(String, Known)>, ModuleError> {
    let script = apt_status::query_script(names, o.args.str("default_release"));
    let (_, out, _) = exec(ctx, script)?;
    Ok(apt_status::parse(&out))
}

/// Ansible's `install`: whether it succeeded, and its data; errors are `fail_json` exits.
fn install(
    ctx: &mut ModuleContext,
    o: &Opts,
    specs: &[String],
    state: &str,
) -> Result<(bool, Map<String, Value>), ModuleError> {
    let build_dep = state == "build-dep";
    let only_upgrade = o.flag("only_upgrade");
    let upgrade = state == "latest";
    let names: Vec<String> = specs
        .iter()
        .map(|s| apt_status::split_spec(s).0.to_string())
        .collect();
    let known = if build_dep {
        Vec::new()
    } else {
        query(ctx, o, &names)?
    };
    let mut pkgs: Vec<String> = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        if build_dep {
            pkgs.push(spec.clone());
            continue;
        }
        let (name, cmp, version) = apt_status::split_spec(spec);
        let k = known.get(i).map(|(_, k)| k.clone()).unwrap_or_default();
        let st = match apt_status::status(&k, cmp, version, true) {
            Ok(st) => st,
            Err(StatusError::NoSuchPackage) => {
                return Err(fail(format!("No package matching '{name}' is available")))
            }
        };
        if !st.installed && only_upgrade {
            continue;
        }
        if !st.version_installed && st.installable.is_none() {
            let msg = format!("no available installation candidate for {spec}");
            return Ok((false, map([("msg", msg.into())])));
        }
        match &st.installable {
            Some(v) if (!st.installed && !only_upgrade) || upgrade || !st.version_installed => {
                pkgs.push(match (v.as_str(), version) {
                    ("", Some(ver)) => format!("{name}={ver}"),
                    ("", None) => name.to_string(),
                    (v, _) => format!("{name}={v}"),
                });
            }
            Some(_) if st.version_installed && cmp == Some("=") => {
                pkgs.push(format!("{name}={}", version.unwrap_or_default()));
            }
            _ => {}
        }
    }
    let res = if pkgs.is_empty() {
        map([("changed", false.into())])
    } else {
        let mut words: Vec<String> = vec!["apt-get".into(), "-y".into()];
        words.extend(o.dpkg.iter().cloned());
        for (flag, word) in [
            (only_upgrade, "--only-upgrade"),
            (state == "fixed", "--fix-broken"),
            (o.flag("force"), "--force-yes"),
            (o.flag("autoremove") && !build_dep, "--auto-remove"),
            (o.flag("fail_on_autoremove"), "--no-remove"),
            (o.check, "--simulate"),
        ] {
            if flag {
                words.push(word.into());
            }
        }
        words.push(if build_dep { "build-dep" } else { "install" }.into());
        words.extend(pkgs.iter().cloned());
        if let Some(rel) = o.args.str("default_release") {
            words.extend(["-t".into(), rel.into()]);
        }
        match o.args.bool("install_recommends") {
            Some(false) => words.push("-o APT::Install-Recommends=no".into()),
            Some(true) => words.push("-o APT::Install-Recommends=yes".into()),
            None => {}
        }
        for (flag, word) in [
            ("allow_unauthenticated", "--allow-unauthenticated"),
            ("allow_downgrade", "--allow-downgrades"),
            ("allow_change_held_packages", "--allow-change-held-packages"),
        ] {
            if o.flag(flag) {
                words.push(word.into());
            }
        }
        let (rc, out, err) = run_apt(ctx, o, &words)?;
        if rc != 0 {
            let msg = format!("'{}' failed: {err}", line(&words));
            return Ok((false, fail_map(msg, &out, &err, rc)));
        }
        let changed = !build_dep || !out.contains(APT_GET_ZERO);
        let mut m = map([("changed", changed.into()), ("diff", diff_of(o, &out))]);
        util::put_output(&mut m, &out, &err);
        m
    };
    if !build_dep && !o.check && !names.is_empty() {
        mark_manual(ctx, &names)?;
    }
    Ok((true, res))
}

/// `mark_installed_manually`: `apt-mark manual` on every package the task named.
fn mark_manual(ctx: &mut ModuleContext, names: &[String]) -> Result<(), ModuleError> {
    let list = names.iter().map(|n| quote(n)).collect::<Vec<_>>().join(" ");
    let cmd = format!("apt-mark manual {list}");
    let (rc, out, err) = exec(ctx, cmd.clone())?;
    if rc != 0 {
        return Err(fail_out(format!("'{cmd}' failed: {err}"), &out, &err, rc));
    }
    Ok(())
}

fn remove(ctx: &mut ModuleContext, o: &Opts, specs: &[String]) -> ModuleResult {
    let names: Vec<String> = specs
        .iter()
        .map(|s| apt_status::split_spec(s).0.to_string())
        .collect();
    let known = query(ctx, o, &names)?;
    let purge = o.flag("purge");
    let mut pkgs = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let (_, cmp, version) = apt_status::split_spec(spec);
        let k = known.get(i).map(|(_, k)| k.clone()).unwrap_or_default();
        let Ok(st) = apt_status::status(&k, cmp, version, false) else {
            continue;
        };
        if st.version_installed || (st.has_files && purge) {
            pkgs.push(spec.clone());
        }
    }
    if pkgs.is_empty() {
        return Ok(map([("changed", false.into())]));
    }
    let mut words: Vec<String> = vec!["apt-get".into(), "-q".into(), "-y".into()];
    words.extend(o.dpkg.iter().cloned());
    for (flag, word) in [
        (purge, "--purge"),
        (o.flag("force"), "--force-yes"),
        (o.flag("autoremove"), "--auto-remove"),
        (o.check, "--simulate"),
        (
            o.flag("allow_change_held_packages"),
            "--allow-change-held-packages",
        ),
    ] {
        if flag {
            words.push(word.into());
        }
    }
    words.push("remove".into());
    words.extend(pkgs.iter().cloned());
    let (rc, out, err) = run_apt(ctx, o, &words)?;
    if rc != 0 {
        let list = pkgs
            .iter()
            .map(|p| format!("'{p}'"))
            .collect::<Vec<_>>()
            .join(" ");
        return Err(fail_out(
            format!("'apt-get remove {list}' failed: {err}"),
            &out,
            &err,
            rc,
        ));
    }
    let mut m = map([("changed", true.into()), ("diff", diff_of(o, &out))]);
    util::put_output(&mut m, &out, &err);
    Ok(m)
}

fn cleanup(ctx: &mut ModuleContext, o: &Opts, op: &str) -> ModuleResult {
    let mut words: Vec<String> = vec!["apt-get".into(), "-y".into()];
    words.extend(o.dpkg.iter().cloned());
    if o.flag("purge") {
        words.push("--purge".into());
    }
    if o.flag("force") {
        words.push("--force-yes".into());
    }
    words.push(op.into());
    if o.check {
        words.push("--simulate".into());
    }
    let (rc, out, err) = run_apt(ctx, o, &words)?;
    if rc != 0 {
        return Err(fail_out(
            format!("'apt-get {op}' failed: {err}"),
            &out,
            &err,
            rc,
        ));
    }
    let changed = match op {
        "autoremove" => !out.contains("0 upgraded, 0 newly installed, 0 to remove"),
        _ => out.contains("Del "),
    };
    let mut m = map([("changed", changed.into()), ("diff", diff_of(o, &out))]);
    util::put_output(&mut m, &out, &err);
    Ok(m)
}

/// `upgrade=yes|safe|full|dist` (and `name: '*'` with `state: latest`), with apt-get:
/// aptitude is not driven here, so `force_apt_get` is as good as always on.
fn upgrade(ctx: &mut ModuleContext, o: &Opts, mode: &str) -> ModuleResult {
    let mut words: Vec<String> = vec!["apt-get".into(), "-y".into()];
    words.extend(o.dpkg.iter().cloned());
    for (flag, word) in [
        (o.flag("force"), "--force-yes"),
        (o.flag("fail_on_autoremove"), "--no-remove"),
        (o.flag("allow_unauthenticated"), "--allow-unauthenticated"),
        (o.flag("allow_downgrade"), "--allow-downgrades"),
        (o.check, "--simulate"),
    ] {
        if flag {
            words.push(word.into());
        }
    }
    let sub = match mode {
        "dist" | "full" => vec!["dist-upgrade"],
        _ => vec!["upgrade", "--with-new-pkgs"],
    };
    words.extend(sub.iter().map(|s| s.to_string()));
    if o.flag("autoremove") {
        words.push("--auto-remove".into());
    }
    if let Some(rel) = o.args.str("default_release") {
        words.extend(["-t".into(), rel.into()]);
    }
    let (rc, out, err) = run_apt(ctx, o, &words)?;
    if rc != 0 {
        let mut m = map([
            (
                "msg",
                format!("'apt-get {}' failed: {err}", sub.join(" ")).into(),
            ),
            ("rc", rc.into()),
        ]);
        m.insert("stdout".into(), out.into());
        return Err(ModuleError::Failed(m));
    }
    let changed = !out.contains(APT_GET_ZERO);
    let mut m = map([("changed", changed.into()), ("msg", out.clone().into())]);
    if changed {
        m.insert("diff".into(), diff_of(o, &out));
    }
    util::put_output(&mut m, &out, &err);
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_is_the_plan_between_apt_get_markers() {
        let out = "Reading package lists...\nBuilding dependency tree...\nReading state information...\nThe following NEW packages will be installed:\n  foo\n0 upgraded, 1 newly installed, 0 to remove and 0 not upgraded.\nSetting up foo\n";
        assert_eq!(
            parse_diff(out)["prepared"],
            Value::String("The following NEW packages will be installed:\n  foo\n0 upgraded, 1 newly installed, 0 to remove and 0 not upgraded.".into())
        );
    }

    #[test]
    fn dpkg_options_expand_with_the_lock_timeout() {
        let args = Args(Map::new());
        assert_eq!(
            line(&dpkg_options(&args)),
            "-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold -o DPkg::Lock::Timeout=60"
        );
    }
}
