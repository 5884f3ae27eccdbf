//! `assemble`: one file from a directory of fragments (sorted by name, optionally filtered
//! by a Python regex, joined with newlines and an optional delimiter), as ansible-core's
//! assemble module and action plugin build it. With `remote_src` (the default) the
//! fragments are read on the host (one round trip lists them and stats dest, one reads
//! them); otherwise they come from the controller and the result goes out through `copy`
//! (or `file` when dest already matches), as the action plugin does.

use super::copy::Copy;
use super::file::File;
use crate::connection::quote;
use crate::modules::remote_file::{self, Attrs};
use crate::modules::util::{self, exec_script, map, shell_path};
use crate::modules::{
    validate, ArgKind, ArgSpec, Args, Module, ModuleContext, ModuleError, ModuleResult,
};
use serde_json::{Map, Value};
use std::path::PathBuf;

pub struct Assemble;

const OWN_SPEC: &[ArgSpec] = &[
    ArgSpec::new("src", ArgKind::Path).required(),
    ArgSpec::new("delimiter", ArgKind::Str),
    ArgSpec::new("dest", ArgKind::Path).required(),
    ArgSpec::new("backup", ArgKind::Bool),
    ArgSpec::new("remote_src", ArgKind::Bool),
    ArgSpec::new("regexp", ArgKind::Str),
    ArgSpec::new("ignore_hidden", ArgKind::Bool),
    ArgSpec::new("validate", ArgKind::Str),
    ArgSpec::new("decrypt", ArgKind::Bool),
    ArgSpec::new("follow", ArgKind::Bool),
];

/// Its own arguments and the file attributes.
fn spec() -> &'static [ArgSpec] {
    static CELL: std::sync::OnceLock<Vec<ArgSpec>> = std::sync::OnceLock::new();
    crate::modules::args::joined(OWN_SPEC, &super::FILE_ATTRIBUTES, &CELL)
}

/// The action plugin's own options, dropped before copy/file run.
const ASSEMBLE_ONLY: [&str; 5] = [
    "remote_src",
    "regexp",
    "delimiter",
    "ignore_hidden",
    "decrypt",
];

fn fail(msg: impl Into<String>) -> ModuleError {
    ModuleError::msg(msg)
}

/// Python's `codecs.escape_decode`: `\n`, `\t`, `\\`, `\xNN`, octal, ... in the delimiter.
pub fn escape_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' || i + 1 >= b.len() {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let c = b[i + 1];
        i += 2;
        match c {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'v' => out.push(11),
            b'\\' => out.push(b'\\'),
            b'\'' => out.push(b'\''),
            b'"' => out.push(b'"'),
            b'\n' => {}
            b'x' if i + 2 <= b.len() => match u8::from_str_radix(&s[i..i + 2], 16) {
                Ok(v) => {
                    out.push(v);
                    i += 2;
                }
                Err(_) => out.extend_from_slice(b"\\x"),
            },
            b'0'..=b'7' => {
                let mut v = u32::from(c - b'0');
                let mut n = 1;
                while n < 3 && i < b.len() && (b'0'..=b'7').contains(&b[i]) {
                    v = v * 8 + u32::from(b[i] - b'0');
                    i += 1;
                    n += 1;
                }
                out.push((v & 0xff) as u8);
            }
            other => {
                out.push(b'\\');
                out.push(other);
            }
        }
    }
    out
}

/// `assemble_from_fragments` over fragments already in name order.
pub fn assemble(fragments: &[Vec<u8>], delimiter: Option<&str>) -> Vec<u8> {
    let delim = delimiter.filter(|d| !d.is_empty()).map(escape_decode);
    let mut out = Vec::new();
    let mut add_newline = false;
    for (i, frag) in fragments.iter().enumerate() {
        if add_newline {
            out.push(b'\n');
        }
        if let (true, Some(d)) = (i > 0, &delim) {
            out.extend_from_slice(d);
            if d.last() != Some(&b'\n') {
                out.push(b'\n');
            }
        }
        out.extend_from_slice(frag);
        add_newline = !frag.ends_with(b"\n");
    }
    out
}

/// The names to take, in Python's sorted order: regular files, matching `regexp`
/// (searched, as `re.search`), hidden ones dropped with `ignore_hidden`.
fn select(
    mut names: Vec<String>,
    regexp: Option<&regex::Regex>,
    ignore_hidden: bool,
) -> Vec<String> {
    names.sort();
    names
        .into_iter()
        .filter(|n| regexp.is_none_or(|r| r.is_match(n)))
        .filter(|n| !(ignore_hidden && n.starts_with('.')))
        .collect()
}

fn compile(regexp: Option<&str>) -> Result<Option<regex::Regex>, ModuleError> {
    regexp
        .map(|r| {
            crate::template::filters::python_regex(r, false, false)
                .map_err(|e| fail(format!("Invalid Regexp ({e}) in \"{r}\"")))
        })
        .transpose()
}

impl Module for Assemble {
    fn name(&self) -> &'static str {
        "assemble"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        spec()
    }
    fn supports_async(&self) -> bool {
        false
    }
    fn run(&self, args: &Args, ctx: &mut ModuleContext) -> ModuleResult {
        if args.bool_or("remote_src", true) {
            remote(args, ctx)
        } else {
            local(args, ctx)
        }
    }
}

const MARK: &str = "@@yq-asm ";

/// The host's fragments (names NUL-separated after a marker) and dest's stat.
fn list_script(src: &str, dest: &str, follow: bool) -> String {
    let s = shell_path(src);
    format!(
        "{}{}\
         [ -e {s} ] || {{ echo '{MARK}missing'; exit 0; }}\n\
         [ -d {s} ] || {{ echo '{MARK}notdir'; exit 0; }}\n\
         echo '{MARK}names'\n\
         cd {s} || exit 1\n\
         for f in * .[!.]* ..?*; do [ -f \"$f\" ] && printf '%s\\0' \"$f\"; done\n",
        remote_file::prelude(),
        remote_file::stat_fragment("dest", dest, follow, Some("sha1")),
    )
}

fn read_script(src: &str, names: &[String]) -> String {
    let mut s = format!("cd {} || exit 1\n", shell_path(src));
    for n in names {
        let q = quote(n);
        s.push_str(&format!("wc -c <{q} && cat {q} || exit 1\n"));
    }
    s
}

/// Splits `SIZE\nBYTES` records in order.
fn parse_contents(mut out: &[u8], count: usize) -> Result<Vec<Vec<u8>>, ModuleError> {
    let mut frags = Vec::with_capacity(count);
    for _ in 0..count {
        let nl = out
            .iter()
            .position(|b| *b == b'\n')
            .ok_or_else(|| fail("assemble: short read of the fragments"))?;
        let size: usize = std::str::from_utf8(&out[..nl])
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(|| fail("assemble: bad fragment size"))?;
        let rest = &out[nl + 1..];
        if rest.len() < size {
            return Err(fail("assemble: short read of the fragments"));
        }
        frags.push(rest[..size].to_vec());
        out = &rest[size..];
    }
    Ok(frags)
}

fn sha1_md5(data: &[u8]) -> (String, String) {
    use md5::{Digest, Md5};
    let md5: String = Md5::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    (remote_file::sha1_hex(data), md5)
}

/// The module's own path: fragments on the host.
fn remote(args: &Args, ctx: &mut ModuleContext) -> ModuleResult {
    let src = args.str("src").unwrap_or_default();
    let dest = args.str("dest").unwrap_or_default();
    let validate_cmd = args.str("validate");
    if let Some(v) = validate_cmd.filter(|v| !v.contains("%s")) {
        return Err(fail(format!("validate must contain %s: {v}")));
    }
    let re = compile(args.str("regexp"))?;
    let out = exec_script(ctx, list_script(src, dest, args.bool_or("follow", false)))?;
    let stdout = util::text(&out.stdout);
    if stdout.contains(&format!("{MARK}missing")) {
        return Err(fail(format!("Source ({src}) does not exist")));
    }
    if stdout.contains(&format!("{MARK}notdir")) {
        return Err(fail(format!("Source ({src}) is not a directory")));
    }
    let dest_stat = remote_file::parse_stats(&stdout)
        .remove("dest")
        .unwrap_or_default();
    let raw = out.stdout.as_slice();
    let marker = format!("{MARK}names\n");
    let names_part = raw
        .windows(marker.len())
        .position(|w| w == marker.as_bytes())
        .map(|i| &raw[i + marker.len()..])
        .unwrap_or_default();
    let names: Vec<String> = names_part
        .split(|b| *b == 0)
        .filter(|n| !n.is_empty())
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .collect();
    let names = select(names, re.as_ref(), args.bool_or("ignore_hidden", false));
    let frags = match names.is_empty() {
        true => Vec::new(),
        false => {
            let out = exec_script(ctx, read_script(src, &names))?;
            if out.rc != 0 {
                return Err(fail(util::text(&out.stderr).trim().to_string()));
            }
            parse_contents(&out.stdout, names.len())?
        }
    };
    let data = assemble(&frags, args.str("delimiter"));
    let (sha1, md5) = sha1_md5(&data);
    let mut res = map([
        ("src", src.into()),
        ("dest", dest.into()),
        ("checksum", sha1.clone().into()),
        ("md5sum", md5.into()),
    ]);
    let differs = dest_stat.checksum.as_deref() != Some(sha1.as_str());
    let mut changed = false;
    if differs {
        install(ctx, args, dest, &data, dest_stat.exists(), &mut res)?;
        changed = true;
    }
    let attrs = Attrs::from_args(args)?;
    let now = remote_file::stat(ctx, dest, false, None)?;
    let fix = if now.exists() {
        attrs.fragment(dest, &now, false)?
    } else {
        String::new()
    };
    let final_stat = if fix.is_empty() {
        now
    } else {
        changed = true;
        match ctx.check_mode {
            true => now,
            false => remote_file::run_then_stat(ctx, &fix, dest, false, None)?,
        }
    };
    res.insert("changed".into(), changed.into());
    res.insert("msg".into(), "OK".into());
    final_stat.add_path_info(&mut res);
    Ok(res)
}

/// Validates, backs up and writes the assembled file (check mode: nothing).
fn install(
    ctx: &mut ModuleContext,
    args: &Args,
    dest: &str,
    data: &[u8],
    dest_exists: bool,
    res: &mut Map<String, Value>,
) -> Result<(), ModuleError> {
    let validate_cmd = args.str("validate");
    let backup = args.bool_or("backup", false) && dest_exists;
    if validate_cmd.is_none() && !backup && ctx.check_mode {
        return Ok(());
    }
    let tmp = format!("{dest}.yiqiu-assemble.{}", std::process::id());
    if let Some(v) = validate_cmd {
        remote_file::write(ctx, data, &tmp, Some(0o600))?;
        let out = exec_script(ctx, v.replace("%s", &quote(&tmp)))?;
        let (so, se) = (util::text(&out.stdout), util::text(&out.stderr));
        res.insert(
            "validation".into(),
            Value::Object(map([
                ("rc", out.rc.into()),
                ("stdout", so.into()),
                ("stderr", se.clone().into()),
            ])),
        );
        let _ = exec_script(ctx, format!("rm -f {}", quote(&tmp)))?;
        if out.rc != 0 {
            return Err(fail(format!(
                "failed to validate: rc:{} error:{se}",
                out.rc
            )));
        }
    }
    if ctx.check_mode {
        return Ok(());
    }
    if backup {
        let out = exec_script(ctx, remote_file::backup_fragment(dest))?;
        if let Some(b) = remote_file::parse_backup(&util::text(&out.stdout)) {
            res.insert("backup_file".into(), b.into());
        }
    }
    remote_file::write(ctx, data, dest, None)
}

/// The action plugin's path: fragments on the controller, then copy or file.
fn local(args: &Args, ctx: &mut ModuleContext) -> ModuleResult {
    let src = args.str("src").unwrap_or_default();
    let dest = args.str("dest").unwrap_or_default();
    let dir =
        super::copy::find_local(ctx, src).ok_or_else(|| fail(super::copy::missing_src(src)))?;
    if !dir.is_dir() {
        return Err(fail(format!(
            "Source ({}) is not a directory",
            dir.display()
        )));
    }
    let re = compile(args.str("regexp"))?;
    let names = std::fs::read_dir(&dir)
        .map_err(|e| fail(format!("{}: {e}", dir.display())))?
        .filter_map(Result::ok)
        .filter(|e| e.path().is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    let names = select(names, re.as_ref(), args.bool_or("ignore_hidden", false));
    let decrypt = args.bool_or("decrypt", true);
    let mut frags = Vec::new();
    for n in &names {
        let p = dir.join(n);
        let data = match decrypt {
            true => crate::vault::read_file(&p),
            false => std::fs::read(&p).map_err(|e| e.to_string()),
        };
        frags.push(data.map_err(|e| fail(format!("{}: {e}", p.display())))?);
    }
    let data = assemble(&frags, args.str("delimiter"));
    let (sha1, _) = sha1_md5(&data);
    let dest_stat = remote_file::stat(ctx, dest, args.bool_or("follow", false), Some("sha1"))?;
    let mut rest: Map<String, Value> = args
        .0
        .iter()
        .filter(|(k, _)| !ASSEMBLE_ONLY.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if dest_stat.checksum.as_deref() == Some(sha1.as_str()) {
        for k in ["src", "backup", "validate", "decrypt"] {
            rest.remove(k);
        }
        let file_args = validate("file", File.spec(), rest).map_err(fail)?;
        return File.run(&file_args, ctx);
    }
    let tmp = LocalTemp::write(&data)?;
    rest.insert("src".into(), Value::String(tmp.0.display().to_string()));
    let copy_args = validate("copy", Copy.spec(), rest).map_err(fail)?;
    let mut res = Copy.run(&copy_args, ctx)?;
    // The action plugin puts its one before/after diff in place of copy's list.
    if let Some(Value::Array(diffs)) = res.get_mut("diff") {
        if let Some(first) = diffs.first().cloned() {
            res.insert("diff".into(), first);
        }
    }
    Ok(res)
}

/// The assembled file on the controller while copy sends it; removed when dropped.
struct LocalTemp(PathBuf);

impl LocalTemp {
    fn write(data: &[u8]) -> Result<LocalTemp, ModuleError> {
        use std::io::Write;
        let err = |e: std::io::Error| fail(format!("local temp file: {e}"));
        for n in 0..100u32 {
            let path = std::env::temp_dir().join(format!(
                "yiqiu-assemble-{}-{}-{n}",
                std::process::id(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.subsec_nanos())
            ));
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut f) => {
                    let tmp = LocalTemp(path);
                    f.write_all(data).map_err(err)?;
                    return Ok(tmp);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(err(e)),
            }
        }
        Err(fail("local temp file: no free name"))
    }
}

impl Drop for LocalTemp {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragments_join_with_newlines_and_the_delimiter() {
        let frags = vec![b"a\n".to_vec(), b"b".to_vec(), b"c\n".to_vec()];
        assert_eq!(assemble(&frags, None), b"a\nb\nc\n");
        assert_eq!(assemble(&frags, Some("#--#")), b"a\n#--#\nb\n#--#\nc\n");
        assert_eq!(assemble(&frags, Some("--\\n")), b"a\n--\nb\n--\nc\n");
    }

    #[test]
    fn escapes_decode_as_python() {
        assert_eq!(escape_decode("a\\tb\\x41\\101\\\\"), b"a\tbAA\\");
    }

    #[test]
    fn selection_is_sorted_and_filtered() {
        let names = vec!["b".into(), ".h".into(), "a1".into(), "fragment2".into()];
        let re = compile(Some("^[a-f]")).expect("regex");
        assert_eq!(
            select(names.clone(), re.as_ref(), false),
            vec!["a1", "b", "fragment2"]
        );
        assert_eq!(select(names, None, true), vec!["a1", "b", "fragment2"]);
    }
}
