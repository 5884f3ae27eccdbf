//! `copy`: puts content or a controller file (or a directory tree) on the host, idempotent by
//! sha1 checksum. One exec queries dest (stat + checksum), one `put` uploads to a temp name
//! beside dest, one exec validates, backs up, renames into place, applies attributes and
//! stats the result. `template` reuses [`install`].

use crate::connection::quote;
use crate::modules::remote_file::{self, Attrs, Kind, ModeArg, RemoteStat};
use crate::modules::util::{exec_script, map, shell_path, text};
use crate::modules::{ArgKind, ArgSpec, Args, Module, ModuleContext, ModuleError, ModuleResult};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

pub struct Copy;

const OWN_SPEC: &[ArgSpec] = &[
    ArgSpec::new("src", ArgKind::Path),
    ArgSpec::new("content", ArgKind::Raw),
    ArgSpec::new("dest", ArgKind::Path).required(),
    ArgSpec::new("backup", ArgKind::Bool),
    ArgSpec::new("force", ArgKind::Bool).aliases(&["thirsty"]),
    ArgSpec::new("directory_mode", ArgKind::Raw),
    ArgSpec::new("remote_src", ArgKind::Bool),
    ArgSpec::new("validate", ArgKind::Str),
    ArgSpec::new("follow", ArgKind::Bool),
    ArgSpec::new("local_follow", ArgKind::Bool),
    ArgSpec::new("checksum", ArgKind::Str),
    ArgSpec::new("decrypt", ArgKind::Bool),
];

/// Its own arguments and the file attributes.
fn spec() -> &'static [ArgSpec] {
    static CELL: std::sync::OnceLock<Vec<ArgSpec>> = std::sync::OnceLock::new();
    crate::modules::args::joined(OWN_SPEC, &super::FILE_ATTRIBUTES, &CELL)
}

/// Finds a controller file: absolute paths as is, relative ones in the search paths.
pub fn find_local(ctx: &ModuleContext, src: &str) -> Option<PathBuf> {
    let p = Path::new(src);
    if p.is_absolute() {
        return p.exists().then(|| p.to_path_buf());
    }
    ctx.search_paths
        .iter()
        .map(|d| d.join(p))
        .find(|c| c.exists())
        .or_else(|| p.exists().then(|| p.to_path_buf()))
}

/// `mode: preserve` means the source's mode: resolved here to that octal mode.
fn preserve_from(attrs: &Attrs, src_perm: Option<u32>) -> Attrs {
    match (&attrs.mode, src_perm) {
        (Some(ModeArg::Preserve), Some(p)) => Attrs {
            mode: Some(ModeArg::Octal(p & 0o7777)),
            ..attrs.clone()
        },
        _ => attrs.clone(),
    }
}

fn local_perm(p: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).ok().map(|m| m.permissions().mode())
}

/// Ansible's message for a controller `src` that is not there.
pub fn missing_src(src: &str) -> String {
    format!(
        "Could not find or access '{src}' on the Ansible Controller.\nIf you are using a module and expect the file to exist on the remote, see the remote_src option"
    )
}

fn md5_hex(data: &[u8]) -> String {
    use md5::{Digest, Md5};
    Md5::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A temp name beside `dest`, so the final `mv` is an atomic rename on one filesystem.
fn temp_beside(dest: &str) -> String {
    let (dir, name) = match dest.rfind('/') {
        Some(i) => (&dest[..=i], &dest[i + 1..]),
        None => ("", dest),
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{dir}.{name}.yiqiu-{}-{nanos}", std::process::id())
}

/// What [`install`] needs besides the data.
pub struct InstallOpts<'a> {
    pub attrs: Attrs,
    pub backup: bool,
    pub force: bool,
    pub validate: Option<&'a str>,
    /// The result's `src`.
    pub src_label: String,
    /// The diff's `after_header` (copy: dest; template: the template path).
    pub after_header: Option<String>,
}

/// Stats `dest` (and `dest/<basename>` in case dest is a directory) in one exec, with checksums.
pub fn query_dest(
    ctx: &mut ModuleContext,
    dest: &str,
    basename: Option<&str>,
) -> Result<(RemoteStat, Option<RemoteStat>), ModuleError> {
    let mut script = remote_file::prelude().to_string();
    script.push_str(&remote_file::stat_fragment("d", dest, true, Some("sha1")));
    if let Some(b) = basename {
        let inner = format!("{}/{b}", dest.trim_end_matches('/'));
        script.push_str(&remote_file::stat_fragment("i", &inner, true, Some("sha1")));
    }
    let out = exec_script(ctx, script)?;
    let mut all = remote_file::parse_stats(&text(&out.stdout));
    Ok((all.remove("d").unwrap_or_default(), all.remove("i")))
}

/// What the one-exec install ([`query_or_install`]) did on the host: the status of the change,
/// its output (backup name) and the stat after.
struct Applied {
    rc: i32,
    stdout: String,
    stderr: String,
    after: RemoteStat,
}

impl Applied {
    /// The new stat and backup name of a write, or its failure (as [`finalize_outcome`]).
    fn outcome(&self, dest: &str) -> Result<(RemoteStat, Option<String>), ModuleError> {
        if self.rc != 0 {
            if self.stdout.lines().any(|l| l == "@@nodir") {
                return Err(no_parent(&parent_dir(dest)));
            }
            return Err(ModuleError::msg(self.stderr.trim().to_string()));
        }
        Ok((self.after.clone(), remote_file::parse_backup(&self.stdout)))
    }
}

/// What [`query_or_install`] found: the task is done, or the stats of dest (and
/// `dest/<basename>`) for the caller's usual path.
pub enum Quick {
    Done(ModuleResult),
    Stats(Box<(RemoteStat, Option<RemoteStat>)>),
}

/// Installs `data` at `dest` in ONE exec when the host can decide alone: the data goes on
/// stdin; the script stats dest with its checksum and, unless dest is a directory or a
/// symlink (or exists and `force` is off), either applies the attributes (same checksum) or
/// writes a temp file, validates, backs up, renames and applies the attributes — what
/// [`install`] would do in two or three. Check mode, diff mode, large data and anything
/// only the controller can decide (a symbolic mode) take the query-then-install way.
pub fn query_or_install(
    ctx: &mut ModuleContext,
    data: &[u8],
    dest: &str,
    basename: Option<&str>,
    opts: &InstallOpts,
) -> Result<Quick, ModuleError> {
    let Some(script) = quick_script(ctx, data, dest, basename, opts) else {
        let (d, inner) = query_dest(ctx, dest, basename)?;
        return Ok(Quick::Stats(Box::new((d, inner))));
    };
    let cmd = crate::connection::Command {
        script,
        stdin: Some(data.to_vec()),
        env: ctx.env.clone(),
        become_: ctx.become_.clone(),
        ..Default::default()
    };
    let out = ctx
        .conn
        .exec(&cmd)
        .map_err(crate::modules::util::conn_err)?;
    let stdout = text(&out.stdout);
    let mut all = remote_file::parse_stats(&stdout);
    let d = all.remove("d").unwrap_or_default();
    let inner = all.remove("i");
    let rc = stdout
        .lines()
        .find_map(|l| l.strip_prefix("@@applied="))
        .map(|rc| rc.trim().parse().unwrap_or(1));
    let Some(rc) = rc else {
        return Ok(Quick::Stats(Box::new((d, inner))));
    };
    let applied = Applied {
        rc,
        after: all.remove("a").unwrap_or_default(),
        stdout,
        stderr: text(&out.stderr),
    };
    Ok(Quick::Done(install_with(
        ctx,
        data,
        dest,
        &d,
        opts,
        Some(&applied),
    )))
}

/// The script of [`query_or_install`], or None when it does not apply.
fn quick_script(
    ctx: &ModuleContext,
    data: &[u8],
    dest: &str,
    basename: Option<&str>,
    opts: &InstallOpts,
) -> Option<String> {
    if ctx.check_mode || ctx.diff_mode || data.len() > INLINE_MAX || dest.ends_with('/') {
        return None;
    }
    if opts.validate.is_some_and(|v| !v.contains("%s")) {
        return None;
    }
    // `preserve` without a source mode means "keep dest's", as no mode does.
    let attrs = Attrs {
        mode: match &opts.attrs.mode {
            Some(ModeArg::Preserve) => None,
            m => m.clone(),
        },
        ..opts.attrs.clone()
    };
    let same_attrs = attrs.shell_apply("d", dest)?;
    let want = match &attrs.mode {
        Some(ModeArg::Octal(m)) => Some(format!("{m:o}")),
        None => None,
        Some(_) => return None,
    };
    let q = shell_path(dest);
    let tmp = temp_beside(dest);
    let parent = parent_dir(dest);
    let checksum = remote_file::sha1_hex(data);
    // Stats follow symlinks but skip `readlink -f`: a symlinked dest is left to the controller.
    let mut s = remote_file::prelude().to_string();
    if let Some(b) = basename {
        let inner = format!("{}/{b}", dest.trim_end_matches('/'));
        s.push_str(&remote_file::stat_fragment_noreal(
            "i",
            &inner,
            Some("sha1"),
        ));
    }
    // Last, so `$__yq_sumv` is dest's checksum.
    s.push_str(&remote_file::stat_fragment_noreal("d", dest, Some("sha1")));
    let after = remote_file::stat_fragment_noreal("a", dest, None);
    let done = "__yq_rc=$?; echo \"@@applied=$__yq_rc\"\n";
    // Replacing: keep the old mode (unless one is given) and ownership, from the first stat
    // (`%f|%u|%g|...`, GNU; BSD prints the octal mode after a `B`); the mode is written back
    // as octal digits by arithmetic, without a subshell.
    let replace = format!(
        "__yq_x=$__yq_st_d; __yq_m=${{__yq_x%%|*}}; __yq_x=${{__yq_x#*|}}; __yq_u=${{__yq_x%%|*}}; __yq_x=${{__yq_x#*|}}; __yq_g=${{__yq_x%%|*}}\n\
         case $__yq_m in B*) __yq_m=$(( 0${{__yq_m#B}} & 4095 ));; *) __yq_m=$(( 0x$__yq_m & 4095 ));; esac\n\
         __yq_m=$(( (__yq_m >> 9 & 7) * 1000 + (__yq_m >> 6 & 7) * 100 + (__yq_m >> 3 & 7) * 10 + (__yq_m & 7) ))\n{}{}{after}",
        inline_write_lines(&tmp, &parent, Some(want.as_deref().unwrap_or("\"$__yq_m\""))),
        finalize_lines(
            dest,
            &tmp,
            Some("\"$__yq_u:$__yq_g\""),
            &attrs,
            opts.backup,
            opts.validate
        )
        .ok()?
    );
    let create = format!(
        "{}{}{after}",
        inline_write_lines(&tmp, &parent, want.as_deref()),
        finalize_lines(dest, &tmp, None, &attrs, false, opts.validate).ok()?
    );
    // A directory, a symlink or (without force) an existing dest: the stats are all the
    // controller needs. The data on stdin is left unread: it fits the channel window.
    s.push_str(&format!("if [ -d {q} ] || [ -h {q} ]; then :\n"));
    if !opts.force {
        s.push_str(&format!("elif [ -e {q} ]; then :\n"));
    }
    s.push_str(&format!(
        "elif [ -e {q} ] && [ \"$__yq_sumv\" = {checksum} ]; then (\nset -e\n{same_attrs}[ -z \"$__yq_did\" ] || {after}); {done}\
         elif [ -e {q} ]; then (\nset -e\n{replace}); {done}\
         else (\nset -e\n{create}); {done}fi\n"
    ));
    Some(s)
}

/// Installs `data` at `dest` (a file path; the caller resolved directories) like Ansible's
/// copy module: unchanged when the checksum matches (attributes still applied), else
/// backup/validate/atomic rename. `cur` is dest's stat (followed, with sha1 checksum).
pub fn install(
    ctx: &mut ModuleContext,
    data: &[u8],
    dest: &str,
    cur: &RemoteStat,
    opts: &InstallOpts,
) -> ModuleResult {
    install_with(ctx, data, dest, cur, opts, None)
}

/// [`install`], taking the change from `applied` when the first exec already made it.
fn install_with(
    ctx: &mut ModuleContext,
    data: &[u8],
    dest: &str,
    cur: &RemoteStat,
    opts: &InstallOpts,
    applied: Option<&Applied>,
) -> ModuleResult {
    let checksum = remote_file::sha1_hex(data);
    if cur.kind == Kind::Dir {
        return Err(ModuleError::msg(format!(
            "Destination {dest} is a directory; cannot write a file over it"
        )));
    }
    if cur.exists() && !opts.force {
        // Ansible's action skips an existing dest without even a module run.
        return Ok(map([
            ("changed", Value::Bool(false)),
            ("dest", Value::String(dest.into())),
            ("src", Value::String(opts.src_label.clone())),
        ]));
    }
    let same = cur.exists() && cur.checksum.as_deref() == Some(checksum.as_str());
    if same {
        return apply_file_attrs(ctx, dest, cur, &opts.attrs, Some(&checksum), applied);
    }

    let mut res = Map::new();
    if ctx.diff_mode {
        if let Some(d) = content_diff(ctx, dest, cur, data, opts.after_header.as_deref())? {
            res.insert("diff".into(), Value::Array(vec![d]));
        }
    }
    if ctx.check_mode {
        // Ansible's copy action reports only the change (and diff) in check mode.
        res.insert("changed".into(), Value::Bool(true));
        return Ok(sorted(res));
    }

    let (after, backup) = match applied {
        Some(a) => a.outcome(dest)?,
        None => write_replace(
            ctx,
            data,
            dest,
            cur,
            &opts.attrs,
            opts.backup,
            opts.validate,
        )?,
    };
    if let Some(b) = backup {
        res.insert("backup_file".into(), Value::String(b));
    }
    res.insert("changed".into(), Value::Bool(true));
    res.insert("checksum".into(), Value::String(checksum));
    res.insert("dest".into(), Value::String(dest.into()));
    res.insert("md5sum".into(), Value::String(md5_hex(data)));
    res.insert("src".into(), Value::String(opts.src_label.clone()));
    after.add_path_info(&mut res);
    Ok(sorted(res))
}

/// Data up to this size travels on the stdin of the one exec that writes, validates, backs
/// up and renames it: an upload first (SFTP) costs several round trips more. Larger data is
/// streamed by `put` and finalized by a second exec.
pub const INLINE_MAX: usize = 1 << 20;

/// Replaces `dest` (currently `cur`) with `data` through a temp name beside it: validate
/// (`%s` is the temp file), back up, keep the old ownership and mode unless asked otherwise,
/// rename into place, apply owner/group and stat the result. Small data takes one exec (the
/// data on stdin); large data is uploaded first. Returns the new stat and the backup name.
pub fn write_replace(
    ctx: &mut ModuleContext,
    data: &[u8],
    dest: &str,
    cur: &RemoteStat,
    attrs: &Attrs,
    backup: bool,
    validate: Option<&str>,
) -> Result<(RemoteStat, Option<String>), ModuleError> {
    let want = wanted_file_mode(cur, attrs)?;
    let tmp = temp_beside(dest);
    let qt = quote(&tmp);
    let parent = parent_dir(dest);
    if data.len() > INLINE_MAX {
        if let Err(e) = remote_file::write(ctx, data, &tmp, want) {
            // Most often the parent is missing: say so the way Ansible does.
            let out = exec_script(ctx, format!("test -d {}", shell_path(&parent)))?;
            if out.rc != 0 {
                return Err(no_parent(&parent));
            }
            return Err(e);
        }
        if let Some(v) = validate.filter(|v| !v.contains("%s")) {
            let _ = exec_script(ctx, format!("rm -f -- {qt}"));
            return Err(ModuleError::msg(format!("validate must contain %s: {v}")));
        }
        let body = finalize_fragment(dest, &tmp, cur, attrs, backup, validate)?;
        let script = format!("__yq_t={qt}; trap 'rm -f -- \"$__yq_t\"' EXIT\n{body}");
        return run_finalize(ctx, script, dest, &parent);
    }
    if let Some(v) = validate.filter(|v| !v.contains("%s")) {
        return Err(ModuleError::msg(format!("validate must contain %s: {v}")));
    }
    let script = format!(
        "{}{}",
        inline_write_fragment(&tmp, &parent, want),
        finalize_fragment(dest, &tmp, cur, attrs, backup, validate)?
    );
    let cmd = crate::connection::Command {
        script: format!(
            "{}set -e\n{script}set +e\n{}",
            remote_file::prelude(),
            remote_file::stat_fragment("p", dest, true, None)
        ),
        stdin: Some(data.to_vec()),
        env: ctx.env.clone(),
        become_: ctx.become_.clone(),
        ..Default::default()
    };
    let out = ctx
        .conn
        .exec(&cmd)
        .map_err(crate::modules::util::conn_err)?;
    finalize_outcome(out, &parent)
}

/// The mode a rewritten file gets: an explicit mode, else the replaced file's (None: a new
/// file with the default mode).
fn wanted_file_mode(cur: &RemoteStat, attrs: &Attrs) -> Result<Option<u32>, ModuleError> {
    let base = if cur.exists() { cur.perm() } else { 0o644 };
    Ok(match &attrs.mode {
        Some(ModeArg::Octal(m)) => Some(*m),
        Some(ModeArg::Symbolic(s)) => {
            Some(remote_file::symbolic_mode(s, base, false).map_err(ModuleError::msg)?)
        }
        _ if cur.exists() => Some(cur.perm()),
        _ => None,
    })
}

fn parent_dir(dest: &str) -> String {
    dest.rsplit_once('/')
        .map_or(".", |(d, _)| if d.is_empty() { "/" } else { d })
        .to_string()
}

fn no_parent(parent: &str) -> ModuleError {
    ModuleError::msg(format!("Destination directory {parent} does not exist"))
}

/// Shell lines that write stdin to the temp file `tmp` (removed on exit unless renamed) with
/// mode `want`; a missing parent directory prints `@@nodir` (stdin is drained first so the
/// sender never writes into a closed channel).
fn inline_write_fragment(tmp: &str, parent: &str, want: Option<u32>) -> String {
    inline_write_lines(tmp, parent, want.map(|m| format!("{m:o}")).as_deref())
}

/// [`inline_write_fragment`] with the mode as a shell word.
fn inline_write_lines(tmp: &str, parent: &str, want: Option<&str>) -> String {
    let qt = quote(tmp);
    let mut s = format!(
        "__yq_t={qt}; trap 'rm -f -- \"$__yq_t\"' EXIT\n\
         if [ ! -d {p} ]; then cat >/dev/null; echo @@nodir; exit 1; fi\n\
         cat > \"$__yq_t\"\n",
        p = shell_path(parent)
    );
    if let Some(m) = want {
        s.push_str(&format!("chmod -- {m} \"$__yq_t\"\n"));
    }
    s
}

/// Validate, backup, ownership, rename and owner/group of the temp file `tmp` (in
/// `$__yq_t`), run under `set -e`.
fn finalize_fragment(
    dest: &str,
    tmp: &str,
    cur: &RemoteStat,
    attrs: &Attrs,
    backup: bool,
    validate: Option<&str>,
) -> Result<String, ModuleError> {
    let keep = cur.exists().then(|| format!("{}:{}", cur.uid, cur.gid));
    finalize_lines(
        dest,
        tmp,
        keep.as_deref(),
        attrs,
        backup && cur.exists(),
        validate,
    )
}

/// [`finalize_fragment`] with the ownership to keep (`uid:gid` as a shell word, None for a
/// new file) and whether to back up decided by the caller.
fn finalize_lines(
    dest: &str,
    tmp: &str,
    keep: Option<&str>,
    attrs: &Attrs,
    backup: bool,
    validate: Option<&str>,
) -> Result<String, ModuleError> {
    let qt = quote(tmp);
    let qd = shell_path(dest);
    let mut script = String::new();
    if let Some(v) = validate {
        let cmd = v.replace("%s", &qt);
        script.push_str(&format!(
            "__yq_v=$( {cmd} 2>&1 ) || {{ __yq_rc=$?; printf 'failed to validate: rc:%s error:%s\\n' \"$__yq_rc\" \"$__yq_v\" >&2; exit 1; }}\n"
        ));
    }
    if backup {
        script.push_str(&remote_file::backup_fragment(dest));
    }
    if let Some(k) = keep {
        // Keep the replaced file's ownership (works as root; harmless otherwise).
        script.push_str(&format!("chown {k} -- {qt} 2>/dev/null || true\n"));
    }
    let owner_group = Attrs {
        mode: None,
        ..attrs.clone()
    };
    script.push_str(&format!("mv -f -- {qt} {qd}\n"));
    // What an interrupted earlier run left beside dest (ours is renamed by now).
    script.push_str(&crate::connection::remove_stale_temps(dest));
    script.push('\n');
    script.push_str(&owner_group.fragment(dest, &RemoteStat::default(), false)?);
    Ok(script)
}

fn run_finalize(
    ctx: &mut ModuleContext,
    script: String,
    dest: &str,
    parent: &str,
) -> Result<(RemoteStat, Option<String>), ModuleError> {
    let full = format!(
        "{}set -e\n{script}set +e\n{}",
        remote_file::prelude(),
        remote_file::stat_fragment("p", dest, true, None)
    );
    let out = exec_script(ctx, full)?;
    finalize_outcome(out, parent)
}

/// The new stat and backup name a finalize script printed, or its failure.
fn finalize_outcome(
    out: crate::connection::Output,
    parent: &str,
) -> Result<(RemoteStat, Option<String>), ModuleError> {
    let stdout = text(&out.stdout);
    if out.rc != 0 {
        if stdout.lines().any(|l| l == "@@nodir") {
            return Err(no_parent(parent));
        }
        return Err(ModuleError::msg(text(&out.stderr).trim().to_string()));
    }
    let after = remote_file::parse_stats(&stdout)
        .remove("p")
        .unwrap_or_default();
    Ok((after, remote_file::parse_backup(&stdout)))
}

/// The content diff entry Ansible's copy action shows.
fn content_diff(
    ctx: &mut ModuleContext,
    dest: &str,
    cur: &RemoteStat,
    data: &[u8],
    after_header: Option<&str>,
) -> Result<Option<Value>, ModuleError> {
    let Some(after) = remote_file::diff_text(data) else {
        return Ok(None);
    };
    let mut d = Map::new();
    d.insert("after".into(), Value::String(after));
    d.insert(
        "after_header".into(),
        Value::String(after_header.unwrap_or(dest).to_string()),
    );
    if cur.exists() {
        let before = remote_file::read(ctx, dest)?;
        let Some(before) = remote_file::diff_text(&before) else {
            return Ok(None);
        };
        d.insert("before".into(), Value::String(before));
        d.insert("before_header".into(), Value::String(dest.into()));
    } else {
        d.insert("before".into(), Value::String(String::new()));
    }
    Ok(Some(Value::Object(d)))
}

/// Sorts a result's keys, as Ansible's output shows them.
pub fn sorted(m: Map<String, Value>) -> Map<String, Value> {
    let mut v: Vec<(String, Value)> = m.into_iter().collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v.into_iter().collect()
}

/// The unchanged-content path: apply mode/owner/group like the file module and report it.
fn apply_file_attrs(
    ctx: &mut ModuleContext,
    dest: &str,
    cur: &RemoteStat,
    attrs: &Attrs,
    checksum: Option<&str>,
    applied: Option<&Applied>,
) -> ModuleResult {
    let attrs = Attrs {
        mode: match &attrs.mode {
            Some(ModeArg::Preserve) => None,
            m => m.clone(),
        },
        ..attrs.clone()
    };
    let fragment = attrs.fragment(dest, cur, false)?;
    let (before, after) = attr_diff(ctx, dest, cur, &attrs)?;
    let changed = !fragment.is_empty();
    let st = if changed && !ctx.check_mode {
        match applied {
            Some(a) if a.rc != 0 => return Err(ModuleError::msg(a.stderr.trim().to_string())),
            Some(a) => a.after.clone(),
            None => remote_file::run_then_stat(ctx, &fragment, dest, true, None)?,
        }
    } else {
        cur.clone()
    };
    let mut res = Map::new();
    res.insert("changed".into(), Value::Bool(changed));
    if let Some(c) = checksum {
        res.insert("checksum".into(), Value::String(c.into()));
    }
    res.insert("dest".into(), Value::String(dest.into()));
    let mut diff = Map::new();
    diff.insert("after".into(), Value::Object(after));
    diff.insert("before".into(), Value::Object(before));
    res.insert("diff".into(), Value::Object(diff));
    res.insert("path".into(), Value::String(dest.into()));
    st.add_path_info(&mut res);
    if changed && ctx.check_mode {
        if let Ok(Some(m)) = attrs.wanted_mode(cur) {
            res.insert("mode".into(), Value::String(format!("{m:04o}")));
        }
    }
    Ok(sorted(res))
}

/// A diff's `before` and `after` maps.
pub type DiffPair = (Map<String, Value>, Map<String, Value>);

/// The file module's attribute diff: `{path, mode/owner/group before and after}`.
pub fn attr_diff(
    ctx: &mut ModuleContext,
    path: &str,
    cur: &RemoteStat,
    attrs: &Attrs,
) -> Result<DiffPair, ModuleError> {
    let mut before = map([("path", Value::String(path.into()))]);
    let mut after = before.clone();
    if let Some(o) = &attrs.owner {
        if cur.exists() && o != &cur.owner && o.parse::<u64>().ok() != Some(cur.uid) {
            before.insert("owner".into(), Value::from(cur.uid));
            after.insert("owner".into(), resolve_id(ctx, o, false)?);
        }
    }
    if let Some(g) = &attrs.group {
        if cur.exists() && g != &cur.group && g.parse::<u64>().ok() != Some(cur.gid) {
            before.insert("group".into(), Value::from(cur.gid));
            after.insert("group".into(), resolve_id(ctx, g, true)?);
        }
    }
    if cur.exists() && cur.kind != Kind::Link {
        if let Some(m) = attrs.wanted_mode(cur)? {
            if m != cur.perm() {
                before.insert("mode".into(), Value::String(cur.mode_str()));
                after.insert("mode".into(), Value::String(format!("{m:04o}")));
            }
        }
    }
    Ok((before, after))
}

/// A user or group name as its numeric id on the host (Ansible's diff shows ids); the
/// name itself when it does not resolve. Only runs when an owner/group actually changes.
fn resolve_id(ctx: &mut ModuleContext, name: &str, group: bool) -> Result<Value, ModuleError> {
    if let Ok(n) = name.parse::<u64>() {
        return Ok(Value::from(n));
    }
    let q = quote(name);
    let script = if group {
        let line = quote(&format!("^{name}:"));
        format!("{{ getent group {q} 2>/dev/null || grep -- {line} /etc/group; }} | cut -d: -f3")
    } else {
        format!("id -u -- {q} 2>/dev/null")
    };
    let out = exec_script(ctx, script)?;
    let t = text(&out.stdout);
    Ok(t.trim()
        .lines()
        .next()
        .and_then(|l| l.trim().parse::<u64>().ok())
        .map_or_else(|| Value::String(name.into()), Value::from))
}

/// `content:` as bytes: strings as is, other values as JSON (Ansible dumps them).
fn content_bytes(v: &Value) -> Vec<u8> {
    match v {
        Value::String(s) => s.as_bytes().to_vec(),
        other => other.to_string().into_bytes(),
    }
}

impl Module for Copy {
    fn name(&self) -> &'static str {
        "copy"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        spec()
    }
    fn run(&self, args: &Args, ctx: &mut ModuleContext) -> ModuleResult {
        let dest = args.str("dest").unwrap_or_default().to_string();
        let content = args.0.get("content").filter(|v| !v.is_null());
        let src = args.str("src").filter(|s| !s.is_empty());
        if content.is_some() && src.is_some() {
            return Err(ModuleError::msg("src and content are mutually exclusive"));
        }
        if content.is_none() && src.is_none() {
            return Err(ModuleError::msg("src (or content) is required"));
        }
        let attrs = Attrs::from_args(args)?;
        let opts = InstallOpts {
            attrs,
            backup: args.bool_or("backup", false),
            force: args.bool_or("force", true),
            validate: args.str("validate"),
            src_label: String::new(),
            after_header: None,
        };
        if let Some(c) = content {
            if dest.ends_with('/') {
                return Err(ModuleError::msg("can not use content with a dir as dest"));
            }
            let data = content_bytes(c);
            let opts = InstallOpts {
                src_label: dest.clone(),
                ..opts
            };
            return match query_or_install(ctx, &data, &dest, None, &opts)? {
                Quick::Done(r) => r,
                Quick::Stats(b) => install(ctx, &data, &dest, &b.0, &opts),
            };
        }
        let Some(src) = src else {
            return Err(ModuleError::msg("src (or content) is required"));
        };
        if args.bool_or("remote_src", false) {
            return remote_copy(ctx, src, &dest, &opts);
        }
        let Some(local) = find_local(ctx, src) else {
            return Err(ModuleError::msg(missing_src(src)));
        };
        if local.is_dir() {
            return copy_tree(ctx, args, src, &local, &dest, &opts);
        }
        let data = read_local(&local, args.bool_or("decrypt", true))?;
        let basename = local
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let opts = InstallOpts {
            src_label: local.display().to_string(),
            attrs: preserve_from(&opts.attrs, local_perm(&local)),
            ..opts
        };
        let follow = args.bool_or("follow", false);
        let (d, inner) = if follow {
            // The written path is dest's real path: decided on the controller.
            query_dest(ctx, &dest, Some(&basename))?
        } else {
            match query_or_install(ctx, &data, &dest, Some(&basename), &opts)? {
                Quick::Done(r) => return r,
                Quick::Stats(b) => *b,
            }
        };
        let (target, cur) = if dest.ends_with('/') || d.kind == Kind::Dir {
            if !d.exists() && !ctx.check_mode {
                exec_mkdir(ctx, &dest)?;
            }
            (
                format!("{}/{basename}", dest.trim_end_matches('/')),
                inner.unwrap_or_default(),
            )
        } else if follow {
            // follow: write through a symlinked dest to its target.
            (d.real_path.clone().unwrap_or_else(|| dest.clone()), d)
        } else {
            (dest.clone(), d)
        };
        install(ctx, &data, &target, &cur, &opts)
    }
}

fn exec_mkdir(ctx: &mut ModuleContext, dir: &str) -> Result<(), ModuleError> {
    let out = exec_script(ctx, format!("mkdir -p -- {}", shell_path(dir)))?;
    if out.rc != 0 {
        return Err(ModuleError::msg(text(&out.stderr).trim().to_string()));
    }
    Ok(())
}

/// `remote_src: true` for a single file: compares checksums remotely, copies with `cp`.
fn remote_copy(ctx: &mut ModuleContext, src: &str, dest: &str, opts: &InstallOpts) -> ModuleResult {
    let mut script = remote_file::prelude().to_string();
    script.push_str(&remote_file::stat_fragment("s", src, true, Some("sha1")));
    script.push_str(&remote_file::stat_fragment("d", dest, true, Some("sha1")));
    let out = exec_script(ctx, script)?;
    let mut all = remote_file::parse_stats(&text(&out.stdout));
    let s = all.remove("s").unwrap_or_default();
    let mut d = all.remove("d").unwrap_or_default();
    if !s.exists() {
        return Err(ModuleError::msg(format!("Source {src} not found")));
    }
    if s.kind == Kind::Dir {
        return remote_copy_tree(ctx, src, dest);
    }
    let attrs = preserve_from(&opts.attrs, Some(s.perm()));
    let opts = &InstallOpts {
        attrs,
        backup: opts.backup,
        force: opts.force,
        validate: opts.validate,
        src_label: opts.src_label.clone(),
        after_header: None,
    };
    let mut target = dest.to_string();
    if d.kind == Kind::Dir || dest.ends_with('/') {
        let base = src.rsplit('/').next().unwrap_or(src);
        target = format!("{}/{base}", dest.trim_end_matches('/'));
        d = remote_file::stat(ctx, &target, true, Some("sha1"))?;
    }
    if d.exists() && (d.checksum == s.checksum || !opts.force) {
        return apply_file_attrs(ctx, &target, &d, &opts.attrs, s.checksum.as_deref(), None);
    }
    // Read through the connection so the rest (backup, validate, rename) is shared.
    let data = remote_file::read(ctx, src)?;
    let opts = InstallOpts {
        src_label: src.to_string(),
        attrs: opts.attrs.clone(),
        backup: opts.backup,
        force: opts.force,
        validate: opts.validate,
        after_header: None,
    };
    install(ctx, &data, &target, &d, &opts)
}

/// `remote_src` with a directory: the tree is copied with `cp -R` when any file's checksum
/// (or the set of files) differs. Trailing-slash semantics as for controller directories.
fn remote_copy_tree(ctx: &mut ModuleContext, src: &str, dest: &str) -> ModuleResult {
    let root = if src.ends_with('/') {
        dest.trim_end_matches('/').to_string()
    } else {
        let base = src.trim_end_matches('/').rsplit('/').next().unwrap_or(src);
        format!("{}/{base}", dest.trim_end_matches('/'))
    };
    let (qs, qr) = (shell_path(src), shell_path(&root));
    // Relative paths and checksums: equal for identical trees.
    let list = |q: &str| {
        format!(
            "(cd {q} 2>/dev/null && find . -type f | sort | while IFS= read -r f; do printf '%s ' \"$f\"; __yq_sum sha1 \"$f\"; done)"
        )
    };
    let script = format!(
        "{}__yq_a=$( {} )\n__yq_b=$( {} )\n[ \"$__yq_a\" = \"$__yq_b\" ] && echo same || echo differ",
        remote_file::prelude(),
        list(&qs),
        list(&qr)
    );
    let out = exec_script(ctx, script)?;
    let changed = text(&out.stdout).trim() == "differ";
    if changed && !ctx.check_mode {
        let out = exec_script(
            ctx,
            format!(
                "set -e\nmkdir -p -- {qr}\ncp -R -p -- {}/. {qr}/",
                shell_path(src.trim_end_matches('/'))
            ),
        )?;
        if out.rc != 0 {
            return Err(ModuleError::msg(text(&out.stderr).trim().to_string()));
        }
    }
    let shown_dest = if dest.ends_with('/') {
        dest.to_string()
    } else {
        format!("{dest}/")
    };
    Ok(map([
        ("changed", Value::Bool(changed)),
        ("dest", Value::String(shown_dest)),
        ("src", Value::String(src.to_string())),
    ]))
}

/// Recursive copy of a controller directory. `src` without a trailing slash copies the
/// directory itself into dest; with one, its contents.
/// A source file on the controller; a vaulted one is decrypted in memory (`decrypt`, on by
/// default, as Ansible), never into a temp file.
fn read_local(path: &Path, decrypt: bool) -> Result<Vec<u8>, ModuleError> {
    if decrypt {
        return crate::vault::read_file(path).map_err(ModuleError::msg);
    }
    std::fs::read(path)
        .map_err(|e| ModuleError::msg(format!("Could not read '{}': {e}", path.display())))
}

fn copy_tree(
    ctx: &mut ModuleContext,
    args: &Args,
    src: &str,
    local: &Path,
    dest: &str,
    opts: &InstallOpts,
) -> ModuleResult {
    let root = if src.ends_with('/') {
        dest.trim_end_matches('/').to_string()
    } else {
        let base = local
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        format!("{}/{base}", dest.trim_end_matches('/'))
    };
    let mut dirs = vec![String::new()];
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    walk(local, "", &mut dirs, &mut files)
        .map_err(|e| ModuleError::msg(format!("Could not read '{}': {e}", local.display())))?;

    // One exec: stat every target file and directory.
    let mut script = remote_file::prelude().to_string();
    for (i, d) in dirs.iter().enumerate() {
        script.push_str(&remote_file::stat_fragment(
            &format!("d{i}"),
            &join(&root, d),
            true,
            None,
        ));
    }
    for (i, (rel, _)) in files.iter().enumerate() {
        script.push_str(&remote_file::stat_fragment(
            &format!("f{i}"),
            &join(&root, rel),
            true,
            Some("sha1"),
        ));
    }
    let out = exec_script(ctx, script)?;
    let mut all = remote_file::parse_stats(&text(&out.stdout));
    let dir_mode = remote_file::parse_mode(args.get("directory_mode"))?;
    let mut changed = false;
    let mut mkdirs = String::new();
    for (i, d) in dirs.iter().enumerate() {
        let st = all.remove(&format!("d{i}")).unwrap_or_default();
        if !st.exists() {
            changed = true;
            let p = join(&root, d);
            mkdirs.push_str(&format!("mkdir -p -- {}\n", shell_path(&p)));
            if let Some(ModeArg::Octal(m)) = dir_mode {
                mkdirs.push_str(&format!("chmod -- {m:o} {}\n", shell_path(&p)));
            }
        }
    }
    if !mkdirs.is_empty() && !ctx.check_mode {
        let out = exec_script(ctx, format!("set -e\n{mkdirs}"))?;
        if out.rc != 0 {
            return Err(ModuleError::msg(text(&out.stderr).trim().to_string()));
        }
    }
    for (i, (rel, path)) in files.iter().enumerate() {
        let st = all.remove(&format!("f{i}")).unwrap_or_default();
        let data = read_local(path, args.bool_or("decrypt", true))?;
        let sub = InstallOpts {
            attrs: preserve_from(&opts.attrs, local_perm(path)),
            backup: opts.backup,
            force: opts.force,
            validate: opts.validate,
            src_label: path.display().to_string(),
            after_header: None,
        };
        let r = install(ctx, &data, &join(&root, rel), &st, &sub)?;
        changed |= r.get("changed") == Some(&Value::Bool(true));
    }
    let shown_dest = if dest.ends_with('/') {
        dest.to_string()
    } else {
        format!("{dest}/")
    };
    Ok(map([
        ("changed", Value::Bool(changed)),
        ("dest", Value::String(shown_dest)),
        ("src", Value::String(src.to_string())),
    ]))
}

fn join(root: &str, rel: &str) -> String {
    if rel.is_empty() {
        root.to_string()
    } else {
        format!("{root}/{rel}")
    }
}

fn walk(
    dir: &Path,
    rel: &str,
    dirs: &mut Vec<String>,
    files: &mut Vec<(String, PathBuf)>,
) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        let r = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        let p = e.path();
        if p.is_dir() {
            dirs.push(r.clone());
            walk(&p, &r, dirs, files)?;
        } else {
            files.push((r, p));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::util::test_support::{failed, run, run_with, Opts};
    use serde_json::json;
    use std::os::unix::fs::PermissionsExt;

    fn mode_of(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn content_create_idempotent_and_mode() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("a b $(touch x) 'q'");
        let d = dest.to_str().unwrap();
        let r = run(
            &Copy,
            json!({"content": "hello\n", "dest": d, "mode": "0640"}),
        )
        .unwrap();
        assert_eq!(r["changed"], json!(true));
        assert_eq!(
            r["checksum"],
            json!("f572d396fae9206628714fb2ce00f72e94f2258f")
        );
        assert_eq!(r["md5sum"], json!("b1946ac92492d2347c6235b4d2611184"));
        assert_eq!(r["mode"], json!("0640"));
        assert_eq!(r["size"], json!(6));
        assert_eq!(r["state"], json!("file"));
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "hello\n");
        assert_eq!(mode_of(&dest), 0o640);
        assert!(!dir.path().join("x").exists());
        let r = run(
            &Copy,
            json!({"content": "hello\n", "dest": d, "mode": "0640"}),
        )
        .unwrap();
        assert_eq!(r["changed"], json!(false));
        assert_eq!(r["path"], json!(d));
        // Only the mode differs: changed, content untouched.
        let r = run(
            &Copy,
            json!({"content": "hello\n", "dest": d, "mode": "u+x"}),
        )
        .unwrap();
        assert_eq!(r["changed"], json!(true));
        assert_eq!(r["mode"], json!("0740"));
        assert_eq!(mode_of(&dest), 0o740);
        // No temp files left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn check_mode_changes_nothing_and_existing_mode_kept() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("f");
        let d = dest.to_str().unwrap();
        let r = run_with(
            &Copy,
            json!({"content": "x", "dest": d}),
            Opts {
                check: true,
                ..Opts::default()
            },
        )
        .unwrap();
        assert_eq!(r["changed"], json!(true));
        assert!(!dest.exists());
        std::fs::write(&dest, "old").unwrap();
        std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o600)).unwrap();
        let r = run(&Copy, json!({"content": "new", "dest": d})).unwrap();
        assert_eq!(r["changed"], json!(true));
        assert_eq!(mode_of(&dest), 0o600);
        let r = run(
            &Copy,
            json!({"content": "newer", "dest": d, "force": false}),
        )
        .unwrap();
        assert_eq!(r["changed"], json!(false));
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "new");
    }

    #[test]
    fn backup_and_validate() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("it's");
        let d = dest.to_str().unwrap();
        std::fs::write(&dest, "one\n").unwrap();
        let r = run(
            &Copy,
            json!({"content": "two\n", "dest": d, "backup": true}),
        )
        .unwrap();
        let b = r["backup_file"].as_str().unwrap();
        assert!(b.starts_with(&format!("{d}.")) && b.ends_with('~'), "{b}");
        assert!(b.contains('@'), "{b}");
        assert_eq!(std::fs::read_to_string(b).unwrap(), "one\n");
        let f = failed(run(
            &Copy,
            json!({"content": "three\n", "dest": d, "validate": "false %s"}),
        ));
        assert!(
            f["msg"].as_str().unwrap().contains("failed to validate"),
            "{f:?}"
        );
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "two\n");
        let r = run(
            &Copy,
            json!({"content": "three\n", "dest": d, "validate": "grep -q three %s"}),
        )
        .unwrap();
        assert_eq!(r["changed"], json!(true));
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "three\n");
    }

    #[test]
    fn src_file_into_directory_and_tree() {
        let dir = tempfile::tempdir().unwrap();
        let srcdir = dir.path().join("files");
        std::fs::create_dir_all(srcdir.join("tree/sub")).unwrap();
        std::fs::write(srcdir.join("one.txt"), "1\n").unwrap();
        std::fs::write(srcdir.join("tree/a"), "a\n").unwrap();
        std::fs::write(srcdir.join("tree/sub/b"), "b\n").unwrap();
        let out = dir.path().join("out");
        std::fs::create_dir(&out).unwrap();
        let opts = || Opts {
            search: vec![srcdir.clone()],
            ..Opts::default()
        };
        let r = run_with(
            &Copy,
            json!({"src": "one.txt", "dest": out.to_str().unwrap()}),
            opts(),
        )
        .unwrap();
        assert_eq!(r["changed"], json!(true));
        assert_eq!(std::fs::read_to_string(out.join("one.txt")).unwrap(), "1\n");
        // Directory without trailing slash: copied as a directory.
        let r = run_with(
            &Copy,
            json!({"src": "tree", "dest": format!("{}/", out.display())}),
            opts(),
        )
        .unwrap();
        assert_eq!(r["changed"], json!(true));
        assert_eq!(
            std::fs::read_to_string(out.join("tree/sub/b")).unwrap(),
            "b\n"
        );
        let r = run_with(
            &Copy,
            json!({"src": "tree", "dest": format!("{}/", out.display())}),
            opts(),
        )
        .unwrap();
        assert_eq!(r["changed"], json!(false));
        // With trailing slash: its contents.
        let d2 = out.join("d2");
        let r = run_with(
            &Copy,
            json!({"src": "tree/", "dest": d2.to_str().unwrap()}),
            opts(),
        )
        .unwrap();
        assert_eq!(r["changed"], json!(true));
        assert_eq!(r["dest"], json!(format!("{}/", d2.display())));
        assert_eq!(std::fs::read_to_string(d2.join("a")).unwrap(), "a\n");
        let f = failed(run_with(
            &Copy,
            json!({"src": "nope", "dest": "/tmp/x"}),
            opts(),
        ));
        assert!(f["msg"].as_str().unwrap().contains("Could not find"));
    }

    #[test]
    fn remote_src_tree_and_preserve() {
        let dir = tempfile::tempdir().unwrap();
        let s = dir.path().join("src dir");
        std::fs::create_dir_all(s.join("sub")).unwrap();
        std::fs::write(s.join("sub/f $(x)"), "1").unwrap();
        std::fs::set_permissions(s.join("sub/f $(x)"), std::fs::Permissions::from_mode(0o751))
            .unwrap();
        let d = dir.path().join("out");
        let args = json!({"src": format!("{}/", s.display()), "dest": d.to_str().unwrap(), "remote_src": true});
        let r = run(&Copy, args.clone()).unwrap();
        assert_eq!(r["changed"], json!(true));
        assert_eq!(std::fs::read_to_string(d.join("sub/f $(x)")).unwrap(), "1");
        assert_eq!(run(&Copy, args).unwrap()["changed"], json!(false));
        // mode: preserve takes the source file's mode.
        let one = dir.path().join("one");
        let r = run(
            &Copy,
            json!({"src": s.join("sub/f $(x)").to_str().unwrap(), "dest": one.to_str().unwrap(), "mode": "preserve"}),
        )
        .unwrap();
        assert_eq!(r["mode"], json!("0751"));
        assert_eq!(mode_of(&one), 0o751);
    }

    #[test]
    fn remote_src_and_owner() {
        let dir = tempfile::tempdir().unwrap();
        let s = dir.path().join("s");
        std::fs::write(&s, "data").unwrap();
        let d = dir.path().join("d");
        let args =
            json!({"src": s.to_str().unwrap(), "dest": d.to_str().unwrap(), "remote_src": true});
        assert_eq!(run(&Copy, args.clone()).unwrap()["changed"], json!(true));
        assert_eq!(std::fs::read_to_string(&d).unwrap(), "data");
        assert_eq!(run(&Copy, args).unwrap()["changed"], json!(false));
        let root = unsafe { libc::geteuid() } == 0;
        let r = run(
            &Copy,
            json!({"content": "data", "dest": d.to_str().unwrap(), "owner": "nobody"}),
        );
        if root {
            let r = r.unwrap();
            assert_eq!(r["owner"], json!("nobody"));
            assert_eq!(r["changed"], json!(true));
        } else {
            assert!(failed(r)["msg"].as_str().is_some());
        }
    }

    #[test]
    fn become_writes_as_the_become_user() {
        let root = unsafe { libc::geteuid() } == 0;
        let sudo = std::path::Path::new("/usr/bin/sudo").exists();
        if !(root && sudo) {
            // Needs root and sudo to switch to `nobody` without a password.
            assert!(!root || !sudo);
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
        let dest = dir.path().join("by nobody");
        let mut conn = crate::connection::local::LocalConnection;
        let eval = crate::modules::util::test_support::JsonEval(json!({}));
        let mut ctx = ModuleContext {
            host: "localhost",
            conn: &mut conn,
            check_mode: false,
            diff_mode: false,
            verbosity: 0,
            become_: crate::connection::Become {
                enabled: true,
                method: "sudo".into(),
                user: "nobody".into(),
                ..Default::default()
            },
            env: vec![],
            search_paths: vec![],
            role_path: None,
            task_dir: None,
            eval: &eval,
            fleet: None,
        };
        let args = crate::modules::validate(
            "copy",
            spec(),
            json!({"content": "x", "dest": dest.to_str().unwrap()})
                .as_object()
                .cloned()
                .unwrap(),
        )
        .unwrap();
        let r = Copy.run(&args, &mut ctx).unwrap();
        assert_eq!(r["owner"], json!("nobody"));
        use std::os::unix::fs::MetadataExt;
        assert_eq!(std::fs::metadata(&dest).unwrap().uid(), 65534);
        assert_eq!(Copy.run(&args, &mut ctx).unwrap()["changed"], json!(false));
    }

    #[test]
    fn diff_mode_shows_content() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("f");
        std::fs::write(&dest, "a\n").unwrap();
        let mut conn = crate::connection::local::LocalConnection;
        let eval = crate::modules::util::test_support::JsonEval(json!({}));
        let mut ctx = ModuleContext {
            host: "localhost",
            conn: &mut conn,
            check_mode: true,
            diff_mode: true,
            verbosity: 0,
            become_: Default::default(),
            env: vec![],
            search_paths: vec![],
            role_path: None,
            task_dir: None,
            eval: &eval,
            fleet: None,
        };
        let args = crate::modules::validate(
            "copy",
            spec(),
            json!({"content": "b\n", "dest": dest.to_str().unwrap()})
                .as_object()
                .cloned()
                .unwrap(),
        )
        .unwrap();
        let r = Copy.run(&args, &mut ctx).unwrap();
        let d = &r["diff"][0];
        assert_eq!(d["before"], json!("a\n"));
        assert_eq!(d["after"], json!("b\n"));
        assert_eq!(d["before_header"], json!(dest.to_str().unwrap()));
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "a\n");
    }

    #[test]
    fn content_installs_in_one_exec() {
        use crate::modules::remote_file::counting;
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("app $(x).sh");
        let d = dest.to_str().unwrap();
        let args = json!({"content": "#!/bin/sh\n", "dest": d, "mode": "0750"});
        let (r, ops) = counting::run(&Copy, args.clone(), false, false);
        let r = r.unwrap();
        assert_eq!(ops, ["exec"]);
        assert_eq!(r["changed"], json!(true));
        assert_eq!(r["mode"], json!("0750"));
        assert_eq!(r["state"], json!("file"));
        assert_eq!(r["checksum"], json!(remote_file::sha1_hex(b"#!/bin/sh\n")));
        assert_eq!(r["size"], json!(10));
        assert_eq!(mode_of(&dest), 0o750);
        let (r, ops) = counting::run(&Copy, args, false, false);
        let r = r.unwrap();
        assert_eq!(ops, ["exec"]);
        assert_eq!(r["changed"], json!(false));
        assert_eq!(r["path"], json!(d));
        // Same content, other mode: the attributes change in that exec.
        let (r, ops) = counting::run(
            &Copy,
            json!({"content": "#!/bin/sh\n", "dest": d, "mode": "0700"}),
            false,
            false,
        );
        let r = r.unwrap();
        assert_eq!(ops, ["exec"]);
        assert_eq!(r["changed"], json!(true));
        assert_eq!(r["diff"]["after"]["mode"], json!("0700"));
        assert_eq!(mode_of(&dest), 0o700);
        // New content without a mode keeps the old mode.
        let (r, ops) = counting::run(&Copy, json!({"content": "new\n", "dest": d}), false, false);
        let r = r.unwrap();
        assert_eq!(ops, ["exec"]);
        assert_eq!(
            (r["changed"].clone(), r["mode"].clone()),
            (json!(true), json!("0700"))
        );
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "new\n");
        // The sticky bit survives the host-side octal conversion (chown clears setuid/setgid, as before).
        std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o1751)).unwrap();
        let (r, _) = counting::run(
            &Copy,
            json!({"content": "newer\n", "dest": d}),
            false,
            false,
        );
        assert_eq!(r.unwrap()["mode"], json!("1751"));
        assert_eq!(mode_of(&dest), 0o1751);
        // force=false on an existing file: untouched.
        let (r, _) = counting::run(
            &Copy,
            json!({"content": "other\n", "dest": d, "force": false}),
            false,
            false,
        );
        assert_eq!(r.unwrap()["changed"], json!(false));
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "newer\n");
        // No stray temp files.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn one_exec_install_errors_and_fallbacks() {
        use crate::modules::remote_file::counting;
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no/such/f");
        let (r, ops) = counting::run(
            &Copy,
            json!({"content": "x", "dest": missing.to_str().unwrap()}),
            false,
            false,
        );
        assert_eq!(ops, ["exec"]);
        let parent = dir.path().join("no/such");
        assert_eq!(
            failed(r)["msg"],
            json!(format!(
                "Destination directory {} does not exist",
                parent.display()
            ))
        );
        // A symlinked dest is replaced by the file, as before (decided on the controller).
        let target = dir.path().join("target");
        std::fs::write(&target, "t").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let (r, ops) = counting::run(
            &Copy,
            json!({"content": "x", "dest": link.to_str().unwrap()}),
            false,
            false,
        );
        assert_eq!(r.unwrap()["changed"], json!(true));
        assert_eq!(ops, ["exec", "exec"]);
        assert!(!link.is_symlink());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "t");
        // A symbolic mode is computed on the controller: query, then write.
        let f = dir.path().join("sym");
        let (r, ops) = counting::run(
            &Copy,
            json!({"content": "x", "dest": f.to_str().unwrap(), "mode": "u=rw,go="}),
            false,
            false,
        );
        assert_eq!(r.unwrap()["mode"], json!("0600"));
        assert_eq!(ops, ["exec", "exec"]);
        // A failed validation leaves the old file and no temp file.
        let (r, ops) = counting::run(
            &Copy,
            json!({"content": "y", "dest": f.to_str().unwrap(), "validate": "false %s"}),
            false,
            false,
        );
        assert_eq!(ops, ["exec"]);
        assert!(failed(r)["msg"]
            .as_str()
            .unwrap()
            .contains("failed to validate: rc:1"));
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "x");
        let names = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(names, 3, "target, link, sym");
    }
}
