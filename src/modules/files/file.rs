//! `file`: files, directories, links, touch and removal, with mode/owner/group.
//!
//! One exec stats the path (and `src` for links); one exec makes the change and stats the
//! result. Check mode only compares.

use crate::connection::quote;
use crate::modules::copy::{attr_diff, sorted, DiffPair};
use crate::modules::remote_file::{self, Attrs, Kind, ModeArg, RemoteStat};
use crate::modules::util::{exec_script, map, shell_path, text};
use crate::modules::{ArgKind, ArgSpec, Args, Module, ModuleContext, ModuleError, ModuleResult};
use serde_json::{Map, Value};

pub struct File;

const OWN_SPEC: &[ArgSpec] = &[
    ArgSpec::new("path", ArgKind::Path)
        .required()
        .aliases(&["dest", "name"]),
    ArgSpec::new("state", ArgKind::Str).choices(&[
        "absent",
        "directory",
        "file",
        "hard",
        "link",
        "touch",
    ]),
    ArgSpec::new("src", ArgKind::Path),
    ArgSpec::new("recurse", ArgKind::Bool),
    ArgSpec::new("force", ArgKind::Bool),
    ArgSpec::new("follow", ArgKind::Bool),
    ArgSpec::new("modification_time", ArgKind::Str),
    ArgSpec::new("modification_time_format", ArgKind::Str),
    ArgSpec::new("access_time", ArgKind::Str),
    ArgSpec::new("access_time_format", ArgKind::Str),
    ArgSpec::new("_original_basename", ArgKind::Str),
    ArgSpec::new("_diff_peek", ArgKind::Str),
];

/// Its own arguments and the file attributes.
fn spec() -> &'static [ArgSpec] {
    static CELL: std::sync::OnceLock<Vec<ArgSpec>> = std::sync::OnceLock::new();
    crate::modules::args::joined(OWN_SPEC, &super::FILE_ATTRIBUTES, &CELL)
}

fn fail_with(msg: String, extra: Map<String, Value>) -> ModuleError {
    let mut m = extra;
    m.insert("msg".into(), Value::String(msg));
    ModuleError::Failed(sorted(m))
}

/// Ansible's `initial_diff`.
fn initial_diff(path: &str, state: &str, prev: &str) -> (Map<String, Value>, Map<String, Value>) {
    let mut before = map([("path", Value::String(path.into()))]);
    let mut after = before.clone();
    if state != prev {
        before.insert("state".into(), Value::String(prev.into()));
        after.insert("state".into(), Value::String(state.into()));
    }
    (before, after)
}

fn diff_value(before: Map<String, Value>, after: Map<String, Value>) -> Value {
    Value::Object(map([
        ("after", Value::Object(after)),
        ("before", Value::Object(before)),
    ]))
}

/// Merges the attribute diff into the state diff.
fn merge(into: &mut Map<String, Value>, from: Map<String, Value>) {
    for (k, v) in from {
        if k != "path" {
            into.insert(k, v);
        }
    }
}

/// A `touch -t` time from Ansible's time argument (`now`/`preserve` handled by the caller).
fn touch_time(value: &str, format: &str) -> Result<String, ModuleError> {
    // The default format is exactly touch's CCYYMMDDhhmm.SS.
    if format == "%Y%m%d%H%M.%S" {
        let ok = value.len() == 15
            && value.bytes().enumerate().all(|(i, b)| {
                if i == 12 {
                    b == b'.'
                } else {
                    b.is_ascii_digit()
                }
            });
        if ok {
            return Ok(value.to_string());
        }
    }
    Err(ModuleError::msg(format!(
        "Error while obtaining timestamp for time {value} using format {format}: unsupported time or format"
    )))
}

struct Run<'a> {
    path: &'a str,
    attrs: Attrs,
    check: bool,
    /// What the first exec already applied, when it could decide on the host (see
    /// [`speculate`]): exactly the change this run's plan makes, so the plan uses its
    /// outcome instead of a second exec.
    applied: Option<Applied>,
}

/// The outcome of the change the first exec made: its status, stderr and the stat after.
#[derive(Clone, Debug)]
struct Applied {
    rc: i32,
    stderr: String,
    after: RemoteStat,
}

impl Run<'_> {
    /// Runs `fragment` then stats the path, or takes what the first exec already did.
    fn apply(&self, ctx: &mut ModuleContext, fragment: &str) -> Result<RemoteStat, ModuleError> {
        match &self.applied {
            Some(a) if a.rc != 0 => Err(ModuleError::msg(a.stderr.trim().to_string())),
            Some(a) => Ok(a.after.clone()),
            None => remote_file::run_then_stat(ctx, fragment, self.path, false, None),
        }
    }
}

/// Shell that, in the same exec as the first stat, makes the change the plan would make
/// for the states the host can decide alone, and prints `@@applied=<rc>` when it did. It
/// mirrors the Rust plan exactly: a directory or touched file created with its attributes,
/// attributes of an existing plain path (`__yq_setattrs`), removal, a new or retargeted symlink,
/// a new hard link. Everything else (recursion, symlinks followed, symbolic modes, force
/// conversions, errors) prints nothing and goes the two-exec way.
#[allow(clippy::too_many_arguments)]
fn speculate(
    state: &str,
    path: &str,
    attrs: &Attrs,
    src: Option<(&str, &str)>,
    force: bool,
    recurse: bool,
    args: &Args,
) -> Option<String> {
    let q = shell_path(path);
    let absent = format!("[ ! -e {q} ] && [ ! -h {q} ]");
    let plain = format!("[ -e {q} ] && [ ! -h {q} ]");
    let done = "__yq_rc=$?; echo \"@@applied=$__yq_rc\"\n";
    let branch = |cond: &str, body: &str| format!("if {cond}; then (\nset -e\n{body}); {done}");
    // The stat after a change (under `a`); attributes that were already right need none.
    let after = remote_file::stat_fragment("a", path, false, None);
    let set = || {
        attrs
            .shell_apply("p", path)
            .map(|l| format!("{l}[ -z \"$__yq_did\" ] || {after}"))
    };
    let body = match state {
        "absent" => {
            return Some(format!(
                "if [ -e {q} ] || [ -h {q} ]; then rm -rf -- {q}; {done}fi\n"
            ))
        }
        "directory" if !recurse => {
            let set = set()?;
            let fresh = RemoteStat {
                kind: Kind::Dir,
                mode: 0o040755,
                ..RemoteStat::default()
            };
            let create = format!(
                "{}{}{after}",
                mkdir_each(path, attrs),
                attrs.fragment(path, &fresh, true).ok()?
            );
            format!(
                "{}el{}",
                branch(&absent, &create),
                branch(&format!("[ -d {q} ] && [ ! -h {q} ]"), &set)
            )
        }
        "file" => {
            let set = set()?;
            branch(&format!("{plain} && [ ! -d {q} ]"), &set)
        }
        "touch" => {
            let times = touch_lines(path, args).ok()?;
            // Touching changes the path whatever its attributes: then always stat after.
            let set = if times.is_empty() {
                set()?
            } else {
                format!("{times}{}{after}", attrs.shell_apply("p", path)?)
            };
            let fresh = RemoteStat {
                kind: Kind::File,
                mode: 0o100644,
                ..RemoteStat::default()
            };
            let create = format!(
                ": >> {q}\n{times}{}{after}",
                attrs.fragment(path, &fresh, true).ok()?
            );
            format!("{}el{}", branch(&absent, &create), branch(&plain, &set))
        }
        "link" | "hard" => {
            let (src, abs) = src?;
            let qs = quote(src);
            let hard = state == "hard";
            let mut cond = if hard {
                absent
            } else {
                // `$__yq_lnk_p`: the target the first stat read.
                format!(
                    "{{ {{ {absent}; }} || {{ [ -h {q} ] && [ \"$__yq_lnk_p\" != {qs} ]; }}; }}"
                )
            };
            if hard || !force {
                cond.push_str(&format!(" && [ -e {} ]", shell_path(abs)));
            }
            let make = if hard {
                format!("ln -f -- {qs} {q}\n{after}")
            } else {
                format!("rm -f -- {q}\nln -s -- {qs} {q}\n{after}")
            };
            branch(&cond, &make)
        }
        _ => return None,
    };
    Some(format!("{body}fi\n"))
}

impl Module for File {
    fn name(&self) -> &'static str {
        "file"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        spec()
    }
    fn run(&self, args: &Args, ctx: &mut ModuleContext) -> ModuleResult {
        let path = args.str("path").unwrap_or_default().to_string();
        let follow = args.bool_or("follow", true);
        let force = args.bool_or("force", false);
        let recurse = args.bool_or("recurse", false);
        let src = args.str("src").map(str::to_string);
        let attrs = Attrs::from_args(args)?;
        if matches!(attrs.mode, Some(ModeArg::Preserve)) {
            return Err(ModuleError::msg(
                "mode 'preserve' is only valid for copy and template",
            ));
        }

        // One exec: the path (not followed), and src for links; outside check mode also the
        // change itself when the host can decide it (see `speculate`), and the stat after.
        let mut script = remote_file::prelude().to_string();
        script.push_str(&remote_file::stat_fragment("p", &path, false, None));
        let abs = src.as_ref().map(|s| {
            if s.starts_with('/') {
                s.clone()
            } else {
                let dir = path
                    .rsplit_once('/')
                    .map_or(".", |(d, _)| if d.is_empty() { "/" } else { d });
                format!("{dir}/{s}")
            }
        });
        if let Some(abs) = &abs {
            script.push_str(&remote_file::stat_fragment("s", abs, true, None));
        }
        // Only where the argument checks below pass whatever the host holds.
        let speculation = match (args.str("state"), ctx.check_mode) {
            (Some(state), false)
                if (src.is_none() || matches!(state, "link" | "hard"))
                    && (!recurse || state == "directory") =>
            {
                speculate(
                    state,
                    &path,
                    &attrs,
                    src.as_deref().zip(abs.as_deref()),
                    force,
                    recurse,
                    args,
                )
            }
            _ => None,
        };
        if let Some(sp) = &speculation {
            script.push_str(sp);
        }
        let out = exec_script(ctx, script)?;
        let stdout = text(&out.stdout);
        let mut all = remote_file::parse_stats(&stdout);
        let cur = all.remove("p").unwrap_or_default();
        let src_st = all.remove("s").unwrap_or_default();
        let prev = cur.state_name();
        let applied = stdout.lines().find_map(|l| {
            l.strip_prefix("@@applied=").map(|rc| Applied {
                rc: rc.trim().parse().unwrap_or(1),
                stderr: text(&out.stderr),
                after: all.remove("a").unwrap_or_default(),
            })
        });

        let state = match args.str("state") {
            Some(s) => s.to_string(),
            None if cur.exists() => prev.to_string(),
            None if recurse => "directory".into(),
            None => "file".into(),
        };
        if src.is_some() && !matches!(state.as_str(), "link" | "hard") {
            return Err(ModuleError::msg(
                "src option requires state to be 'link' or 'hard'",
            ));
        }
        if recurse && state != "directory" {
            return Err(ModuleError::msg(
                "recurse option requires state to be 'directory'",
            ));
        }
        let run = Run {
            path: &path,
            attrs,
            check: ctx.check_mode,
            applied,
        };
        match state.as_str() {
            "absent" => absent(ctx, &run, &cur),
            "file" => ensure_file(ctx, &run, &cur, follow),
            "directory" => ensure_dir(ctx, &run, &cur, follow, recurse),
            "link" | "hard" => {
                let Some(src) = src else {
                    return Err(ModuleError::msg(format!(
                        "src is required for creating new {}s",
                        if state == "link" {
                            "symlink"
                        } else {
                            "hard link"
                        }
                    )));
                };
                ensure_link(ctx, &run, &cur, &src, &src_st, state == "hard", force)
            }
            _ => touch(ctx, &run, &cur, args),
        }
    }
}

fn absent(ctx: &mut ModuleContext, run: &Run, cur: &RemoteStat) -> ModuleResult {
    let (before, after) = initial_diff(run.path, "absent", cur.state_name());
    let changed = cur.exists();
    if changed && !run.check {
        let (rc, stderr) = match &run.applied {
            Some(a) => (a.rc, a.stderr.clone()),
            None => {
                let out = exec_script(ctx, format!("rm -rf -- {}", shell_path(run.path)))?;
                (out.rc, text(&out.stderr))
            }
        };
        if rc != 0 {
            return Err(ModuleError::msg(format!(
                "rmtree failed: {}",
                stderr.trim()
            )));
        }
    }
    let mut res = map([
        ("changed", Value::Bool(changed)),
        ("diff", diff_value(before, after)),
        ("path", Value::String(run.path.into())),
        ("state", Value::String("absent".into())),
    ]);
    if run.check {
        // The path is still there: Ansible reports what it is now.
        cur.add_path_info(&mut res);
    }
    Ok(sorted(res))
}

/// What Ansible reports when check mode would create the path: no attributes yet.
fn created_in_check(mut res: Map<String, Value>, diff: DiffPair) -> Map<String, Value> {
    res.insert("changed".into(), Value::Bool(true));
    res.insert("diff".into(), diff_value(diff.0, diff.1));
    sorted(res)
}

/// Applies attributes to `target` (currently `cur`) and builds the result.
fn finish(
    ctx: &mut ModuleContext,
    run: &Run,
    cur: &RemoteStat,
    pre: &str,
    mut diff: (Map<String, Value>, Map<String, Value>),
    mut res: Map<String, Value>,
) -> ModuleResult {
    let target = run.path;
    let fragment = run.attrs.fragment(target, cur, true)?;
    let (ab, aa) = attr_diff(ctx, target, cur, &run.attrs)?;
    merge(&mut diff.0, ab);
    merge(&mut diff.1, aa);
    let mut changed = !pre.is_empty() || !fragment.is_empty();
    let st = if run.check || !changed {
        cur.clone()
    } else {
        run.apply(ctx, &format!("{pre}{fragment}"))?
    };
    if res.get("changed") == Some(&Value::Bool(true)) {
        changed = true;
    }
    res.insert("changed".into(), Value::Bool(changed));
    res.insert("diff".into(), diff_value(diff.0, diff.1));
    st.add_path_info(&mut res);
    Ok(sorted(res))
}

fn ensure_file(ctx: &mut ModuleContext, run: &Run, cur: &RemoteStat, follow: bool) -> ModuleResult {
    let path_res = map([("path", Value::String(run.path.into()))]);
    match cur.kind {
        Kind::Absent => {
            let mut extra = path_res;
            extra.insert("state".into(), Value::String("absent".into()));
            return Err(fail_with(
                format!("file ({}) is absent, cannot continue", run.path),
                extra,
            ));
        }
        Kind::Link if follow => {
            let real = cur.real_path.clone().unwrap_or_default();
            let st = remote_file::stat(ctx, &real, false, None)?;
            if st.kind != Kind::File {
                return Err(fail_with(
                    format!(
                        "file ({}) is {}, cannot continue",
                        run.path,
                        st.state_name()
                    ),
                    path_res,
                ));
            }
            let inner = Run {
                path: &real,
                attrs: run.attrs.clone(),
                check: run.check,
                applied: None,
            };
            let diff = initial_diff(&real, "file", "file");
            return finish(
                ctx,
                &inner,
                &st,
                "",
                diff,
                map([("path", Value::String(real.clone()))]),
            );
        }
        Kind::File | Kind::Other => {}
        _ => {
            return Err(fail_with(
                format!(
                    "file ({}) is {}, cannot continue",
                    run.path,
                    cur.state_name()
                ),
                path_res,
            ))
        }
    }
    let diff = initial_diff(run.path, "file", "file");
    finish(ctx, run, cur, "", diff, path_res)
}

fn ensure_dir(
    ctx: &mut ModuleContext,
    run: &Run,
    cur: &RemoteStat,
    follow: bool,
    recurse: bool,
) -> ModuleResult {
    let mut res = map([("path", Value::String(run.path.into()))]);
    let mut cur = cur.clone();
    let mut path = run.path.to_string();
    if cur.kind == Kind::Link && follow {
        let real = cur.real_path.clone().unwrap_or_default();
        cur = remote_file::stat(ctx, &real, false, None)?;
        path = real;
    }
    let diff = initial_diff(run.path, "directory", cur.state_name());
    let mut pre = String::new();
    match cur.kind {
        Kind::Dir => {}
        Kind::Absent => {
            // Ansible applies the mode to every directory it creates.
            pre.push_str(&mkdir_each(&path, &run.attrs));
        }
        _ => {
            let mut extra = res.clone();
            cur.add_path_info(&mut extra);
            return Err(fail_with(
                format!("{} already exists as a {}", run.path, cur.state_name()),
                extra,
            ));
        }
    }
    // A followed symlink is never applied by the first exec (it only changes plain paths).
    let run = Run {
        path: &path,
        attrs: run.attrs.clone(),
        check: run.check,
        applied: if path == run.path {
            run.applied.clone()
        } else {
            None
        },
    };
    if recurse {
        let changed = recurse_attrs(ctx, &run)?;
        if changed {
            res.insert("changed".into(), Value::Bool(true));
        }
    }
    if run.check && !cur.exists() {
        return Ok(created_in_check(res, diff));
    }
    let cur_for_attrs = if cur.exists() {
        cur
    } else {
        // The new directory: mode and ownership will be set by `pre`; compare against that.
        RemoteStat {
            kind: Kind::Dir,
            mode: 0o040755,
            ..RemoteStat::default()
        }
    };
    finish(ctx, &run, &cur_for_attrs, &pre, diff, res)
}

/// `mkdir` for each missing component of `path`, with the mode/owner/group applied to each.
fn mkdir_each(path: &str, attrs: &Attrs) -> String {
    let mut script = String::new();
    let absolute = path.starts_with('/');
    let mut cur = String::new();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        if !cur.is_empty() || absolute {
            cur.push('/');
        }
        cur.push_str(part);
        let q = shell_path(&cur);
        let fresh = RemoteStat {
            kind: Kind::Dir,
            mode: 0o755,
            ..RemoteStat::default()
        };
        let mode = attrs.wanted_mode(&fresh).ok().flatten();
        script.push_str(&format!("if [ ! -d {q} ]; then {}\n", mkdir_one(&q, mode)));
        if let Some(o) = &attrs.owner {
            script.push_str(&format!("chown -- {} {q}\n", quote(o)));
        }
        if let Some(g) = &attrs.group {
            script.push_str(&format!("chgrp -- {} {q}\n", quote(g)));
        }
        script.push_str("fi\n");
    }
    script
}

/// `mkdir` of one directory (`q` quoted) with `mode` (`mkdir -m`: the same end state as
/// mkdir + chmod, one process less). Another process may create it at the same moment: that
/// is fine (it then gets the mode by chmod); a real failure is reported by the last mkdir.
fn mkdir_one(q: &str, mode: Option<u32>) -> String {
    match mode {
        Some(m) => format!(
            "mkdir -m {m:o} -- {q} 2>/dev/null || {{ [ -d {q} ] && chmod -- {m:o} {q}; }} || mkdir -m {m:o} -- {q}"
        ),
        None => format!("mkdir -- {q} 2>/dev/null || [ -d {q} ] || mkdir -- {q}"),
    }
}

/// Recursive attributes: compares a listing of every entry before and after.
fn recurse_attrs(ctx: &mut ModuleContext, run: &Run) -> Result<bool, ModuleError> {
    let q = shell_path(run.path);
    let listing = format!(
        "find {q} -exec sh -c 'stat -c \"%a %u %g %U %G\" -- \"$@\" 2>/dev/null || stat -f \"%Lp %u %g %Su %Sg\" -- \"$@\"' sh {{}} + | cksum"
    );
    let mut change = String::new();
    if let Some(o) = &run.attrs.owner {
        change.push_str(&format!("chown -R -- {} {q}\n", quote(o)));
    }
    if let Some(g) = &run.attrs.group {
        change.push_str(&format!("chgrp -R -- {} {q}\n", quote(g)));
    }
    match &run.attrs.mode {
        Some(ModeArg::Octal(m)) => change.push_str(&format!("chmod -R -- {m:o} {q}\n")),
        Some(ModeArg::Symbolic(s)) => {
            // Ansible's symbolic modes ignore the umask; an explicit `a` does too in chmod.
            let s = s
                .split(',')
                .map(|c| {
                    if c.starts_with(['+', '-', '=']) {
                        format!("a{c}")
                    } else {
                        c.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join(",");
            change.push_str(&format!("chmod -R -- {} {q}\n", quote(&s)));
        }
        _ => {}
    }
    if change.is_empty() {
        return Ok(false);
    }
    if run.check {
        // Predicates find can test without changing anything.
        let mut preds = Vec::new();
        if let Some(o) = &run.attrs.owner {
            preds.push(format!("! -user {}", quote(o)));
        }
        if let Some(g) = &run.attrs.group {
            preds.push(format!("! -group {}", quote(g)));
        }
        if let Some(ModeArg::Octal(m)) = &run.attrs.mode {
            preds.push(format!("! -perm {m:o}"));
        }
        if preds.is_empty() {
            return Ok(true);
        }
        let out = exec_script(
            ctx,
            format!("find {q} \\( {} \\) -print | head -n 1", preds.join(" -o ")),
        )?;
        return Ok(!out.stdout.is_empty());
    }
    let script = format!("__yq_a=$({listing})\nset -e\n{change}set +e\n__yq_b=$({listing})\n[ \"$__yq_a\" = \"$__yq_b\" ] && echo same || echo changed");
    let out = exec_script(ctx, script)?;
    if out.rc != 0 {
        return Err(ModuleError::msg(text(&out.stderr).trim().to_string()));
    }
    Ok(text(&out.stdout).trim() == "changed")
}

fn ensure_link(
    ctx: &mut ModuleContext,
    run: &Run,
    cur: &RemoteStat,
    src: &str,
    src_st: &RemoteStat,
    hard: bool,
    force: bool,
) -> ModuleResult {
    let state = if hard { "hard" } else { "link" };
    let prev = cur.state_name();
    let mut res = map([
        ("dest", Value::String(run.path.into())),
        ("src", Value::String(src.into())),
    ]);
    let fail = |msg: String| {
        let mut extra = map([("path", Value::String(run.path.into()))]);
        cur.add_path_info(&mut extra);
        fail_with(msg, extra)
    };
    if !src_st.exists() && (hard || !force) {
        return Err(ModuleError::msg(format!(
            "src file does not exist, use \"force=yes\" if you really want to create the link: {src}"
        )));
    }
    let q = shell_path(run.path);
    let qs = quote(src);
    let mut diff = initial_diff(run.path, state, prev);
    let mut pre = String::new();
    let same = if hard {
        cur.kind != Kind::Link && cur.exists() && cur.inode == src_st.inode && cur.dev == src_st.dev
    } else {
        cur.kind == Kind::Link && cur.link_target.as_deref() == Some(src)
    };
    if !same {
        match cur.kind {
            Kind::Absent => {}
            Kind::Link => {
                diff.0.insert(
                    "src".into(),
                    Value::String(cur.link_target.clone().unwrap_or_default()),
                );
                diff.1.insert("src".into(), Value::String(src.into()));
            }
            Kind::Dir => {
                if !force {
                    return Err(fail(format!(
                        "refusing to convert from directory to {} for {}",
                        if hard { "hard link" } else { "symlink" },
                        run.path
                    )));
                }
                pre.push_str(&format!(
                    "rmdir -- {q} 2>/dev/null || {{ echo 'the directory {} is not empty, refusing to convert it' >&2; exit 1; }}\n",
                    run.path.replace('\'', "")
                ));
            }
            _ => {
                if !(force || (hard && cur.kind == Kind::File && prev == "hard")) {
                    return Err(fail(format!(
                        "refusing to convert from {prev} to {} for {}",
                        if hard { "hard link" } else { "symlink" },
                        run.path
                    )));
                }
            }
        }
        if hard {
            pre.push_str(&format!("ln -f -- {qs} {q}\n"));
        } else {
            pre.push_str(&format!("rm -f -- {q}\nln -s -- {qs} {q}\n"));
        }
    }
    let changed = !pre.is_empty();
    let mut r = if run.check || !changed {
        let mut r = res.clone();
        r.insert("changed".into(), Value::Bool(changed));
        r.insert("diff".into(), diff_value(diff.0.clone(), diff.1.clone()));
        cur.add_path_info(&mut r);
        r
    } else {
        let st = run.apply(ctx, &pre)?;
        res.insert("changed".into(), Value::Bool(true));
        res.insert("diff".into(), diff_value(diff.0.clone(), diff.1.clone()));
        st.add_path_info(&mut res);
        res
    };
    // Owner/group on the link itself (`chown -h`); a symlink's mode cannot change.
    if (run.attrs.owner.is_some() || run.attrs.group.is_some()) && !run.check {
        let st = remote_file::stat(ctx, run.path, false, None)?;
        let only_ids = Attrs {
            mode: None,
            ..run.attrs.clone()
        };
        let fragment = only_ids.fragment(run.path, &st, !hard)?;
        if !fragment.is_empty() {
            let st = remote_file::run_then_stat(ctx, &fragment, run.path, false, None)?;
            st.add_path_info(&mut r);
            r.insert("changed".into(), Value::Bool(true));
        }
    }
    if run.check && !cur.exists() {
        for k in ["gid", "group", "mode", "owner", "size", "state", "uid"] {
            r.remove(k);
        }
    }
    Ok(sorted(r))
}

/// The `touch` commands for the time arguments.
fn touch_lines(path: &str, args: &Args) -> Result<String, ModuleError> {
    let q = shell_path(path);
    let mtime = args.str("modification_time").unwrap_or("now");
    let atime = args.str("access_time").unwrap_or("now");
    let mfmt = args
        .str("modification_time_format")
        .unwrap_or("%Y%m%d%H%M.%S");
    let afmt = args.str("access_time_format").unwrap_or("%Y%m%d%H%M.%S");
    let mut lines = String::new();
    for (flag, value, fmt) in [("-m", mtime, mfmt), ("-a", atime, afmt)] {
        match value {
            "preserve" => {}
            "now" => lines.push_str(&format!("touch {flag} -- {q}\n")),
            t => lines.push_str(&format!("touch {flag} -t {} -- {q}\n", touch_time(t, fmt)?)),
        }
    }
    Ok(lines)
}

fn touch(ctx: &mut ModuleContext, run: &Run, cur: &RemoteStat, args: &Args) -> ModuleResult {
    let q = shell_path(run.path);
    let diff = initial_diff(run.path, "touch", cur.state_name());
    let mut pre = String::new();
    if !cur.exists() {
        pre.push_str(&format!(": >> {q}\n"));
    }
    pre.push_str(&touch_lines(run.path, args)?);
    let res = map([("dest", Value::String(run.path.into()))]);
    // A new file gets the usual 0644 before the mode is applied.
    let basis = if cur.exists() {
        cur.clone()
    } else {
        RemoteStat {
            kind: Kind::File,
            mode: 0o100644,
            ..RemoteStat::default()
        }
    };
    if run.check && !cur.exists() {
        return Ok(created_in_check(res, diff));
    }
    finish(ctx, run, &basis, &pre, diff, res)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::util::test_support::{failed, run, run_with, Opts};
    use serde_json::json;
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

    fn mode_of(p: &Path) -> u32 {
        std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
    }
    fn check() -> Opts {
        Opts {
            check: true,
            ..Opts::default()
        }
    }

    #[test]
    fn directory_create_mode_idempotent_and_absent() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("a $(x)/b 'c'");
        let p = d.to_str().unwrap();
        let args = json!({"path": p, "state": "directory", "mode": "0700"});
        let r = run_with(&File, args.clone(), check()).unwrap();
        assert_eq!(r["changed"], json!(true));
        assert!(!d.exists());
        let r = run(&File, args.clone()).unwrap();
        assert_eq!(r["changed"], json!(true));
        assert_eq!(r["state"], json!("directory"));
        assert_eq!(r["mode"], json!("0700"));
        assert_eq!(r["diff"]["before"]["state"], json!("absent"));
        assert_eq!(r["diff"]["after"]["state"], json!("directory"));
        assert_eq!(mode_of(&d), 0o700);
        assert_eq!(mode_of(d.parent().unwrap()), 0o700);
        let r = run(&File, args).unwrap();
        assert_eq!(r["changed"], json!(false));
        assert_eq!(
            r["diff"],
            json!({"after": {"path": p}, "before": {"path": p}})
        );
        let r = run_with(&File, json!({"path": p, "state": "absent"}), check()).unwrap();
        assert_eq!(r["changed"], json!(true));
        assert!(d.exists());
        let r = run(&File, json!({"path": p, "state": "absent"})).unwrap();
        assert_eq!(r["changed"], json!(true));
        assert!(!d.exists());
        let r = run(&File, json!({"path": p, "state": "absent"})).unwrap();
        assert_eq!(r["changed"], json!(false));
        assert_eq!(r["state"], json!("absent"));
    }

    #[test]
    fn file_state_errors_and_mode_change() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        let p = f.to_str().unwrap();
        let e = failed(run(&File, json!({"path": p, "state": "file"})));
        assert_eq!(
            e["msg"],
            json!(format!("file ({p}) is absent, cannot continue"))
        );
        assert_eq!(e["state"], json!("absent"));
        std::fs::write(&f, "x").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        let r = run_with(&File, json!({"path": p, "mode": "u+x,g-r"}), check()).unwrap();
        assert_eq!(r["changed"], json!(true));
        assert_eq!(mode_of(&f), 0o644);
        let r = run(&File, json!({"path": p, "mode": "u+x,g-r"})).unwrap();
        assert_eq!(r["changed"], json!(true));
        assert_eq!(r["mode"], json!("0704"));
        assert_eq!(r["diff"]["before"]["mode"], json!("0644"));
        assert_eq!(r["diff"]["after"]["mode"], json!("0704"));
        let r = run(&File, json!({"path": p, "mode": "u+x,g-r"})).unwrap();
        assert_eq!(r["changed"], json!(false));
        let e = failed(run(&File, json!({"path": p, "state": "directory"})));
        assert_eq!(e["msg"], json!(format!("{p} already exists as a file")));
    }

    #[test]
    fn links_and_force() {
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path().join("target");
        std::fs::write(&t, "x").unwrap();
        let l = dir.path().join("link $(y)");
        let (ts, ls) = (t.to_str().unwrap(), l.to_str().unwrap());
        let r = run(&File, json!({"path": ls, "src": ts, "state": "link"})).unwrap();
        assert_eq!(r["changed"], json!(true));
        assert_eq!(r["state"], json!("link"));
        assert_eq!(r["dest"], json!(ls));
        assert_eq!(r["src"], json!(ts));
        assert_eq!(std::fs::read_link(&l).unwrap(), t);
        let r = run(&File, json!({"path": ls, "src": ts, "state": "link"})).unwrap();
        assert_eq!(r["changed"], json!(false));
        // Converting a file needs force.
        let e = failed(run(&File, json!({"path": ts, "src": ls, "state": "link"})));
        assert_eq!(
            e["msg"],
            json!(format!("refusing to convert from file to symlink for {ts}"))
        );
        let h = dir.path().join("hard");
        let r = run(
            &File,
            json!({"path": h.to_str().unwrap(), "src": ts, "state": "hard"}),
        )
        .unwrap();
        assert_eq!(r["changed"], json!(true));
        assert_eq!(r["state"], json!("hard"));
        let r = run(
            &File,
            json!({"path": h.to_str().unwrap(), "src": ts, "state": "hard"}),
        )
        .unwrap();
        assert_eq!(r["changed"], json!(false));
        let e = failed(run(
            &File,
            json!({"path": ls, "src": "nope", "state": "link"}),
        ));
        assert!(e["msg"]
            .as_str()
            .unwrap()
            .contains("src file does not exist"));
        let r = run(
            &File,
            json!({"path": ls, "src": "nope", "state": "link", "force": true}),
        )
        .unwrap();
        assert_eq!(r["changed"], json!(true));
        assert_eq!(r["diff"]["before"]["src"], json!(ts));
        assert_eq!(std::fs::read_link(&l).unwrap(), Path::new("nope"));
    }

    #[test]
    fn touch_and_times() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("t 'q'");
        let p = f.to_str().unwrap();
        let r = run_with(&File, json!({"path": p, "state": "touch"}), check()).unwrap();
        assert_eq!(r["changed"], json!(true));
        assert!(!f.exists());
        let r = run(&File, json!({"path": p, "state": "touch", "mode": "0600"})).unwrap();
        assert_eq!(r["changed"], json!(true));
        assert_eq!(r["state"], json!("file"));
        assert_eq!(mode_of(&f), 0o600);
        let r = run(&File, json!({"path": p, "state": "touch", "modification_time": "preserve", "access_time": "preserve"})).unwrap();
        assert_eq!(r["changed"], json!(false));
        let r = run(&File, json!({"path": p, "state": "touch", "modification_time": "202001021304.05", "access_time": "preserve"})).unwrap();
        assert_eq!(r["changed"], json!(true));
        let m = std::fs::metadata(&f).unwrap().modified().unwrap();
        let secs = m.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        // 2020-01-02 in any time zone.
        assert!((1_577_800_000..1_578_100_000).contains(&secs), "{secs}");
    }

    #[test]
    fn symbolic_mode_on_new_paths_starts_from_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("new");
        let r = run(
            &File,
            json!({"path": f.to_str().unwrap(), "state": "touch", "mode": "u+rw,g-w"}),
        )
        .unwrap();
        assert_eq!(r["mode"], json!("0644"));
        let d = dir.path().join("d");
        let r = run(
            &File,
            json!({"path": d.to_str().unwrap(), "state": "directory", "mode": "0700"}),
        )
        .unwrap();
        assert_eq!(r["diff"]["before"]["mode"], json!("0755"));
        assert_eq!(r["diff"]["after"]["mode"], json!("0700"));
    }

    #[test]
    fn recurse_mode_and_owner() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("r");
        std::fs::create_dir_all(d.join("sub")).unwrap();
        std::fs::write(d.join("sub/f"), "x").unwrap();
        let p = d.to_str().unwrap();
        let args = json!({"path": p, "state": "directory", "recurse": true, "mode": "0750"});
        let r = run_with(&File, args.clone(), check()).unwrap();
        assert_eq!(r["changed"], json!(true));
        let r = run(&File, args.clone()).unwrap();
        assert_eq!(r["changed"], json!(true));
        assert_eq!(mode_of(&d.join("sub/f")), 0o750);
        let r = run(&File, args).unwrap();
        assert_eq!(r["changed"], json!(false));
        let root = unsafe { libc::geteuid() } == 0;
        let r = run(
            &File,
            json!({"path": p, "recurse": true, "owner": "nobody"}),
        );
        if root {
            let r = r.unwrap();
            assert_eq!(r["changed"], json!(true));
            assert_eq!(r["owner"], json!("nobody"));
            use std::os::unix::fs::MetadataExt;
            assert_ne!(std::fs::metadata(d.join("sub/f")).unwrap().uid(), 0);
        } else {
            assert!(failed(r)["msg"].as_str().is_some());
        }
    }

    #[test]
    fn one_exec_per_task_outside_check_mode() {
        use crate::modules::remote_file::counting;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("x y/z");
        let p = d.to_str().unwrap();
        let args = json!({"path": p, "state": "directory", "mode": "0750"});
        let (r, ops) = counting::run(&File, args.clone(), false, false);
        let r = r.unwrap();
        assert_eq!(ops, ["exec"]);
        assert_eq!(r["changed"], json!(true));
        assert_eq!(r["mode"], json!("0750"));
        assert_eq!(mode_of(&d), 0o750);
        let (r, ops) = counting::run(&File, args, false, false);
        assert_eq!(
            (r.unwrap()["changed"].clone(), ops.len()),
            (json!(false), 1)
        );
        // An existing directory whose mode differs: changed by the same exec.
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).unwrap();
        let (r, ops) = counting::run(
            &File,
            json!({"path": p, "state": "directory", "mode": 493}),
            false,
            false,
        );
        let r = r.unwrap();
        assert_eq!(ops.len(), 1);
        assert_eq!(r["changed"], json!(true));
        assert_eq!(r["diff"]["before"]["mode"], json!("0700"));
        assert_eq!(r["diff"]["after"]["mode"], json!("0755"));
        assert_eq!(mode_of(&d), 0o755);
        // Links: created, unchanged, retargeted.
        let l = dir.path().join("cur");
        let ls = l.to_str().unwrap();
        for (target, changed) in [(p, true), (p, false), ("elsewhere", true)] {
            let (r, ops) = counting::run(
                &File,
                json!({"path": ls, "src": target, "state": "link", "force": true}),
                false,
                false,
            );
            let r = r.unwrap();
            assert_eq!(ops.len(), 1, "{target}");
            assert_eq!(r["changed"], json!(changed));
            assert_eq!(r["state"], json!("link"));
            assert_eq!(std::fs::read_link(&l).unwrap(), Path::new(target));
        }
        // A missing src without force fails and changes nothing.
        let e = failed(
            counting::run(
                &File,
                json!({"path": ls, "src": "nope", "state": "link"}),
                false,
                false,
            )
            .0,
        );
        assert!(e["msg"]
            .as_str()
            .unwrap()
            .contains("src file does not exist"));
        assert_eq!(std::fs::read_link(&l).unwrap(), Path::new("elsewhere"));
        // touch, then absent.
        let t = dir.path().join("t");
        let ts = t.to_str().unwrap();
        let (r, ops) = counting::run(
            &File,
            json!({"path": ts, "state": "touch", "mode": "0600"}),
            false,
            false,
        );
        assert_eq!((r.unwrap()["mode"].clone(), ops.len()), (json!("0600"), 1));
        let (r, ops) = counting::run(&File, json!({"path": ts, "state": "absent"}), false, false);
        assert_eq!((r.unwrap()["changed"].clone(), ops.len()), (json!(true), 1));
        assert!(!t.exists());
        // Check mode never applies anything.
        let (r, ops) = counting::run(&File, json!({"path": ts, "state": "touch"}), true, false);
        assert_eq!((r.unwrap()["changed"].clone(), ops.len()), (json!(true), 1));
        assert!(!t.exists());
    }

    #[test]
    fn wrong_kinds_and_argument_errors_change_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, "x").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        let p = f.to_str().unwrap();
        let e = failed(run(
            &File,
            json!({"path": p, "state": "directory", "mode": "0700"}),
        ));
        assert_eq!(e["msg"], json!(format!("{p} already exists as a file")));
        assert_eq!(mode_of(&f), 0o644);
        let e = failed(run(
            &File,
            json!({"path": p, "state": "file", "recurse": true, "mode": "0700"}),
        ));
        assert!(e["msg"]
            .as_str()
            .unwrap()
            .contains("recurse option requires"));
        assert_eq!(mode_of(&f), 0o644);
        let e = failed(run(
            &File,
            json!({"path": p, "state": "file", "src": "/etc", "mode": "0700"}),
        ));
        assert!(e["msg"].as_str().unwrap().contains("src option requires"));
        assert_eq!(mode_of(&f), 0o644);
        // A file is not replaced by a symlink without force.
        let e = failed(run(
            &File,
            json!({"path": p, "src": "/etc", "state": "link"}),
        ));
        assert!(e["msg"].as_str().unwrap().contains("refusing to convert"));
        assert!(f.is_file());
    }

    #[test]
    fn owner_and_group_are_compared_on_the_host() {
        let root = unsafe { libc::geteuid() } == 0;
        if !root {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("owned");
        let p = d.to_str().unwrap();
        for owner in ["nobody", "65534", "0", "root"] {
            let (r, ops) = crate::modules::remote_file::counting::run(
                &File,
                json!({"path": p, "state": "directory", "owner": owner, "group": "0"}),
                false,
                false,
            );
            let r = r.unwrap();
            assert!(ops.len() <= 2, "{owner}: {ops:?}");
            let uid = if matches!(owner, "nobody" | "65534") {
                65534
            } else {
                0
            };
            assert_eq!(r["uid"], json!(uid), "{owner}");
            assert_eq!(r["gid"], json!(0));
        }
        // The same owner by name and by number is no change.
        let r = run(
            &File,
            json!({"path": p, "state": "directory", "owner": "0"}),
        )
        .unwrap();
        assert_eq!(r["changed"], json!(false));
        let r = run(
            &File,
            json!({"path": p, "state": "directory", "owner": "root"}),
        )
        .unwrap();
        assert_eq!(r["changed"], json!(false));
    }

    #[test]
    fn mkdir_tolerates_a_directory_created_meanwhile() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("raced");
        std::fs::create_dir(&d).unwrap();
        let q = shell_path(d.to_str().unwrap());
        // The line mkdir_each runs once `[ ! -d ]` said the directory was missing.
        for mode in [None, Some(0o700)] {
            let line = mkdir_one(&q, mode);
            let ok = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("set -e\n{line}\n"))
                .output()
                .unwrap();
            assert!(ok.status.success());
        }
        // The raced directory still gets the mode.
        assert_eq!(mode_of(&d), 0o700);
        let missing = dir.path().join("no/such");
        let line = mkdir_one(&shell_path(missing.to_str().unwrap()), Some(0o755));
        let bad = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("set -e\n{line}\n"))
            .output()
            .unwrap();
        assert!(!bad.status.success());
        assert!(String::from_utf8_lossy(&bad.stderr).contains("No such file"));
    }
}
