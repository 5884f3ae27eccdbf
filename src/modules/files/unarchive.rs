//! `unarchive`: unpacks a tar (plain, gz, bz2, xz, zst) or zip archive into an existing
//! directory on the host.
//!
//! Round trips: (1) `creates`, dest and a temp dir; the controller's archive is then
//! uploaded with `put_file`; (2) format detection by magic bytes and the listing; the
//! controller refuses unsafe entries here (see `archive_check`), before anything is written;
//! (3) one script compares the archive with dest (GNU `tar --diff` filtered like Ansible, or
//! a per-entry `cmp` for zip), extracts only when something differs (not in check mode),
//! applies mode/owner/group, prints dest's attributes and removes the temp dir.

use crate::connection::quote;
use crate::modules::archive_check::{self, Entry, Kind};
use crate::modules::util::{self, map};
use crate::modules::{ArgKind, ArgSpec, Args, Module, ModuleContext, ModuleError, ModuleResult};
use serde_json::{Map, Value};

pub struct Unarchive;

const OWN_SPEC: &[ArgSpec] = &[
    ArgSpec::new("src", ArgKind::Path).required(),
    ArgSpec::new("dest", ArgKind::Path).required(),
    ArgSpec::new("remote_src", ArgKind::Bool),
    ArgSpec::new("copy", ArgKind::Bool),
    ArgSpec::new("creates", ArgKind::Path),
    ArgSpec::new("list_files", ArgKind::Bool),
    ArgSpec::new("keep_newer", ArgKind::Bool),
    ArgSpec::new("exclude", ArgKind::List),
    ArgSpec::new("include", ArgKind::List),
    ArgSpec::new("extra_opts", ArgKind::List),
    ArgSpec::new("io_buffer_size", ArgKind::Int),
    ArgSpec::new("validate_certs", ArgKind::Bool),
    ArgSpec::new("decrypt", ArgKind::Bool),
];

/// Its own arguments and the file attributes.
fn spec() -> &'static [ArgSpec] {
    static CELL: std::sync::OnceLock<Vec<ArgSpec>> = std::sync::OnceLock::new();
    crate::modules::args::joined(OWN_SPEC, &super::FILE_ATTRIBUTES, &CELL)
}

const MARK: &str = "@@yiqiu:";
const SEC: &str = "@@yiqiu:sec ";

/// Ansible's handler class name and GNU tar's decompression flag for each format.
fn handler(format: &str) -> (&'static str, Option<&'static str>) {
    match format {
        "zip" => ("ZipArchive", None),
        "gz" => ("TgzArchive", Some("-z")),
        "bz2" => ("TarBzipArchive", Some("-j")),
        "xz" => ("TarXzArchive", Some("-J")),
        "zst" => ("TarZstdArchive", Some("--use-compress-program=zstd")),
        _ => ("TarArchive", None),
    }
}

/// Output split into `@@yiqiu:sec NAME` sections and `@@yiqiu:key value` marks.
struct Sections {
    marks: Map<String, Value>,
    secs: Vec<(String, String)>,
}

impl Sections {
    fn parse(text: &str) -> Sections {
        let mut marks = Map::new();
        let mut secs: Vec<(String, String)> = Vec::new();
        for line in text.split_inclusive('\n') {
            let bare = line.trim_end_matches('\n');
            if let Some(name) = bare.strip_prefix(SEC) {
                secs.push((name.to_string(), String::new()));
            } else if let Some(m) = bare.strip_prefix(MARK) {
                let (k, v) = m.split_once(' ').unwrap_or((m, ""));
                marks.insert(k.into(), Value::String(v.into()));
            } else if let Some((_, body)) = secs.last_mut() {
                body.push_str(line);
            }
        }
        Sections { marks, secs }
    }
    fn mark(&self, k: &str) -> Option<&str> {
        self.marks.get(k).and_then(Value::as_str)
    }
    fn sec(&self, k: &str) -> &str {
        self.secs
            .iter()
            .find(|(n, _)| n == k)
            .map_or("", |(_, b)| b.as_str())
    }
}

fn words(args: &Args, key: &str) -> Vec<String> {
    args.list(key)
        .map(|l| {
            l.iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn fail(msg: impl Into<String>) -> ModuleError {
    ModuleError::msg(msg)
}

/// Python's `str(list)` is not needed; `cmd` is returned as a list like Ansible's.
fn argv_value(argv: &[String]) -> Value {
    Value::Array(argv.iter().cloned().map(Value::String).collect())
}

impl Unarchive {
    fn cleanup(ctx: &mut ModuleContext, tmp: &str) {
        if !tmp.is_empty() {
            // Best effort: a leftover temp dir must not turn a result into a failure.
            let _ = util::exec_script(ctx, format!("rm -rf {}", quote(tmp)));
        }
    }

    /// The tar argv (after `tar`) shared by list, diff and extract.
    fn tar_common(args: &Args, flag: Option<&str>) -> Vec<String> {
        let mut v = Vec::new();
        if let Some(f) = flag {
            v.push(f.to_string());
        }
        let opts = words(args, "extra_opts");
        if !opts.is_empty() {
            v.push("--show-transformed-names".into());
            v.extend(opts);
        }
        v
    }

    fn tar_excludes(args: &Args) -> Vec<String> {
        words(args, "exclude")
            .into_iter()
            .map(|e| format!("--exclude={e}"))
            .collect()
    }
}

impl Module for Unarchive {
    fn name(&self) -> &'static str {
        "unarchive"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        spec()
    }
    fn run(&self, args: &Args, ctx: &mut ModuleContext) -> ModuleResult {
        let src = args.str("src").unwrap_or_default().to_string();
        let dest = args.str("dest").unwrap_or_default().to_string();
        // `copy: no` is the old spelling of `remote_src: yes`.
        let remote = args
            .bool("remote_src")
            .unwrap_or(!args.bool_or("copy", true));
        if remote && src.contains("://") {
            return Err(fail(
                "unarchive: downloading a remote_src URL is not supported; use get_url first",
            ));
        }
        if args.get("include").is_some() && args.get("exclude").is_some() {
            return Err(fail("parameters are mutually exclusive: exclude|include"));
        }
        let local = if remote {
            None
        } else {
            Some(
                util::find_local_file(&ctx.search_paths, &src).ok_or_else(|| {
                    fail(format!(
                        "Could not find or access '{src}' on the Ansible Controller."
                    ))
                })?,
            )
        };
        if let Some(l) = &local {
            if l.is_dir() {
                return Err(fail(format!(
                    "Source '{src}' is a directory, not an archive"
                )));
            }
        }

        // (1) creates, dest, temp dir, our uid.
        let creates = match args.str("creates") {
            Some(c) => format!(
                "[ -e {} ] && {{ echo {MARK}exists; exit 0; }}\n",
                util::shell_path(c)
            ),
            None => String::new(),
        };
        let script = format!(
            "{creates}[ -d {d} ] || {{ echo {MARK}nodest; exit 0; }}\n\
             T=$(mktemp -d) || exit 1\necho {MARK}tmp \"$T\"\necho {MARK}uid \"$(id -u)\"\n",
            d = util::shell_path(&dest)
        );
        let out = util::exec_script(ctx, script)?;
        let s = Sections::parse(&util::text(&out.stdout));
        if s.mark("exists").is_some() {
            let c = args.str("creates").unwrap_or_default();
            return Ok(map([
                ("changed", Value::Bool(false)),
                ("msg", Value::String(format!("skipped, since {c} exists"))),
                ("skipped", Value::Bool(true)),
            ]));
        }
        if s.mark("nodest").is_some() {
            return Err(fail(format!("dest '{dest}' must be an existing dir")));
        }
        let tmp = s.mark("tmp").unwrap_or_default().to_string();
        if out.rc != 0 || tmp.is_empty() {
            return Err(fail(format!(
                "could not create a temporary directory on the host: {}",
                util::text(&out.stderr).trim()
            )));
        }
        let run_uid = s.mark("uid").unwrap_or("0").to_string();
        let result = self.unpack(args, ctx, &src, &dest, local.as_deref(), &tmp, &run_uid);
        Self::cleanup(ctx, &tmp);
        result
    }
}

impl Unarchive {
    #[allow(clippy::too_many_arguments)]
    fn unpack(
        &self,
        args: &Args,
        ctx: &mut ModuleContext,
        src: &str,
        dest: &str,
        local: Option<&std::path::Path>,
        tmp: &str,
        run_uid: &str,
    ) -> ModuleResult {
        let remote_src = match local {
            Some(path) => {
                let target = format!("{tmp}/source");
                ctx.conn
                    .put_file(path, &target, Some(0o600), &ctx.become_)
                    .map_err(util::conn_err)?;
                target
            }
            None => src.to_string(),
        };
        let qs = util::shell_path(&remote_src);
        let qd = util::shell_path(dest);

        // (2) format and listing.
        let common_for = |fmt: &str| Self::tar_common(args, handler(fmt).1);
        let list_cmd = |fmt: &str| {
            // `-P`: list names as stored, so absolute names are seen (and refused), not stripped.
            let mut v: Vec<String> = vec![
                "tar".into(),
                "-t".into(),
                "-v".into(),
                "-P".into(),
                "--quoting-style=c".into(),
            ];
            v.extend(common_for(fmt));
            v.extend(Self::tar_excludes(args));
            v.push("-f".into());
            let include: Vec<String> = words(args, "include").iter().map(|w| quote(w)).collect();
            format!(
                "{} {qs} {}",
                v.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" "),
                include.join(" ")
            )
        };
        let script = format!(
            r#"T={tq}
[ -f {qs} ] || {{ echo {MARK}nosrc; exit 0; }}
M=$(od -An -tx1 -N6 {qs} | tr -d ' \n')
case "$M" in 504b*) H=zip;; 1f8b*) H=gz;; 425a68*) H=bz2;; fd377a585a00*) H=xz;; 28b52ffd*) H=zst;; *) H=tar;; esac
echo {MARK}format "$H"
if [ "$H" = zip ]; then
  command -v unzip >/dev/null 2>&1 || {{ echo {MARK}notool unzip; exit 0; }}
  echo {MARK}bin "$(command -v unzip)"
  echo '{SEC}long'; unzip -Z {qs}; echo {MARK}listrc $?
  echo '{SEC}names'; unzip -Z1 {qs}
  exit 0
fi
command -v tar >/dev/null 2>&1 || {{ echo {MARK}notool tar; exit 0; }}
tar --version 2>/dev/null | grep -q 'GNU tar' || {{ echo {MARK}notgnu; exit 0; }}
echo {MARK}bin "$(command -v tar)"
[ "$H" = zst ] && {{ command -v zstd >/dev/null 2>&1 || {{ echo {MARK}notool zstd; exit 0; }}; }}
echo '{SEC}list'
case "$H" in
  gz) {gz} 2>"$T/err";; bz2) {bz2} 2>"$T/err";; xz) {xz} 2>"$T/err";; zst) {zst} 2>"$T/err";; *) {tar} 2>"$T/err";;
esac
echo {MARK}listrc $?
echo '{SEC}err'; cat "$T/err"
"#,
            gz = list_cmd("gz"),
            bz2 = list_cmd("bz2"),
            xz = list_cmd("xz"),
            zst = list_cmd("zst"),
            tar = list_cmd("tar"),
            tq = quote(tmp),
        );
        let out = util::exec_script(ctx, script)?;
        let s = Sections::parse(&util::text(&out.stdout));
        if s.mark("nosrc").is_some() {
            return Err(fail(format!("Source '{src}' does not exist")));
        }
        if let Some(t) = s.mark("notool") {
            return Err(fail(format!(
                "Unable to find required '{t}' binary in the path"
            )));
        }
        if s.mark("notgnu").is_some() {
            return Err(fail("Unable to find required 'gtar' binary in the path: unarchive needs GNU tar on the host for tar archives"));
        }
        let format = s.mark("format").unwrap_or("tar").to_string();
        let (handler_name, flag) = handler(&format);
        // The tool's full path, as Ansible reports it in `extract_results.cmd`.
        let default_bin = if format == "zip" { "unzip" } else { "tar" };
        let bin = s
            .mark("bin")
            .filter(|b| !b.is_empty())
            .unwrap_or(default_bin)
            .to_string();
        if s.mark("listrc") != Some("0") {
            return Err(fail(format!(
                "Failed to find handler for \"{remote_src}\". Make sure the required command to extract the file is installed.\n{}",
                s.sec("err").trim()
            )));
        }
        let mut entries: Vec<Entry> = if format == "zip" {
            archive_check::parse_zip_listing(s.sec("long"), s.sec("names")).map_err(fail)?
        } else {
            archive_check::parse_tar_listing(s.sec("list")).map_err(fail)?
        };
        // Zip symlink targets are the entries' contents: read them for the check.
        if format == "zip" && entries.iter().any(|e| e.kind == Kind::Symlink) {
            for e in entries.iter_mut().filter(|e| e.kind == Kind::Symlink) {
                let o = util::exec_script(
                    ctx,
                    format!("unzip -p {qs} {}", quote(&zip_literal(&e.name))),
                )?;
                e.target = Some(util::text(&o.stdout));
            }
        }
        let refused: Vec<String> = entries.iter().filter_map(archive_check::refusal).collect();
        if !refused.is_empty() {
            return Err(fail(format!(
                "Refusing to unpack {src}: unsafe archive entries, nothing was extracted: {}",
                refused.join("; ")
            )));
        }

        // (3) compare, extract, attributes, dest stat.
        let mode = args.get("mode").and_then(util::mode_arg);
        let owner = args.str("owner");
        let group = args.str("group");
        let keep_newer = args.bool_or("keep_newer", false);
        let (diff_script, extract_argv) = if format == "zip" {
            let mut x: Vec<String> = vec![bin.clone(), "-o".into()];
            x.extend(words(args, "extra_opts"));
            x.push(remote_src.clone());
            let inc = words(args, "include");
            x.extend(inc);
            let ex = words(args, "exclude");
            if !ex.is_empty() {
                x.push("-x".into());
                x.extend(ex);
            }
            x.extend(["-d".into(), dest.to_string()]);
            // Unchanged when every directory exists and every other entry's content is equal.
            // Excluded (or not included) entries are not compared: unzip will not write them.
            let mut filter = String::new();
            for e in words(args, "exclude") {
                filter.push_str(&format!(
                    "case \"$n\" in {}) continue;; esac\n  ",
                    sh_glob(&e)
                ));
            }
            let inc = words(args, "include");
            if !inc.is_empty() {
                let pats: Vec<String> = inc.iter().map(|p| sh_glob(p)).collect();
                filter.push_str(&format!(
                    "case \"$n\" in {}) ;; *) continue;; esac\n  ",
                    pats.join("|")
                ));
            }
            let diff = format!(
                "unzip -Z1 {qs} | while IFS= read -r n; do\n  {filter}\
                 case \"$n\" in */) [ -d {qd}/\"$n\" ] || echo \"$n: Warning: Cannot stat: No such file or directory\";;\n  \
                 *) if [ -L {qd}/\"$n\" ]; then [ \"$(readlink {qd}/\"$n\")\" = \"$(unzip -p {qs} \"$n\")\" ] || echo \"$n: Symlink differs\"; \
                 elif [ -f {qd}/\"$n\" ]; then unzip -p {qs} \"$n\" | cmp -s - {qd}/\"$n\" || echo \"$n: Contents differ\"; \
                 else echo \"$n: Warning: Cannot stat: No such file or directory\"; fi;;\n  esac\ndone\n"
            );
            (diff, x)
        } else {
            let mut tail: Vec<String> = Self::tar_common(args, flag);
            if let Some(o) = owner {
                tail.push(format!("--owner={o}"));
            }
            if let Some(g) = group {
                tail.push(format!("--group={g}"));
            }
            if keep_newer {
                tail.push("--keep-newer-files".into());
            }
            tail.extend(Self::tar_excludes(args));
            tail.extend(["-f".into(), remote_src.clone()]);
            tail.extend(words(args, "include"));
            let mut d: Vec<String> =
                vec!["tar".into(), "--diff".into(), "-C".into(), dest.to_string()];
            d.extend(tail.iter().cloned());
            let mut x: Vec<String> = vec![
                bin.clone(),
                "--extract".into(),
                "-C".into(),
                dest.to_string(),
            ];
            x.extend(tail);
            let d = d.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ");
            (
                format!("( cd {qd} && LANG=C LC_ALL=C LC_MESSAGES=C {d} 2>&1 )\n"),
                x,
            )
        };
        // The `tar --diff` lines Ansible counts as a difference.
        let mut kinds = vec![
            "Mod time differs",
            "Warning: Cannot stat: No such file or directory",
            "Symlink differs",
            "Contents differ",
            "Size differs",
            "Invalid owner",
            "Invalid group",
        ];
        if run_uid == "0" && owner.is_none() {
            kinds.push("Uid differs");
        }
        if run_uid == "0" && group.is_none() {
            kinds.push("Gid differs");
        }
        if mode.is_none() {
            kinds.push("Mode differs");
        }
        let ere = format!(": ({})$", kinds.join("|"));
        let extract = extract_argv
            .iter()
            .map(|w| quote(w))
            .collect::<Vec<_>>()
            .join(" ");
        let attrs = if mode.is_some() || owner.is_some() || group.is_some() {
            let list = if format == "zip" {
                format!("unzip -Z1 {qs}")
            } else {
                let mut v: Vec<String> =
                    vec!["tar".into(), "-t".into(), "--quoting-style=literal".into()];
                v.extend(Self::tar_common(args, flag));
                v.extend(Self::tar_excludes(args));
                v.push("-f".into());
                format!(
                    "{} {qs}",
                    v.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ")
                )
            };
            let mut ops = String::new();
            if let Some(o) = owner {
                ops.push_str(&format!("chown -h {} \"$p\"; ", quote(o)));
            }
            if let Some(g) = group {
                ops.push_str(&format!("chgrp -h {} \"$p\"; ", quote(g)));
            }
            if let Some(m) = &mode {
                ops.push_str(&format!("[ -L \"$p\" ] || chmod {} \"$p\"; ", quote(m)));
            }
            format!(
                "__yq_attrs() {{ {list} | while IFS= read -r n; do p={qd}/\"$n\"; [ -e \"$p\" ] || [ -L \"$p\" ] || continue; stat -c '%a %u %g' \"$p\"; done | cksum; }}\n\
                 B=$(__yq_attrs)\n\
                 [ \"$CHECK\" = 1 ] || {list} | while IFS= read -r n; do p={qd}/\"$n\"; [ -e \"$p\" ] || [ -L \"$p\" ] || continue; {ops}done\n\
                 [ \"$B\" = \"$(__yq_attrs)\" ] || echo {MARK}attrs-changed\n"
            )
        } else {
            String::new()
        };
        let tq = quote(tmp);
        let script = format!(
            r#"CHECK={check}
{diff} > {tq}/diff
echo '{SEC}diff'; grep -E {ere} {tq}/diff
if grep -qE {ere} {tq}/diff; then
  echo {MARK}differs
  if [ "$CHECK" = 0 ]; then
    {extract} > {tq}/out 2> {tq}/err; echo {MARK}rc $?
    echo '{SEC}out'; cat {tq}/out; echo '{SEC}err'; cat {tq}/err
  fi
fi
echo '{SEC}attrs'
{attrs}echo '{SEC}stat'
{stat}
"#,
            check = u8::from(ctx.check_mode),
            diff = diff_script.trim_end(),
            ere = quote(&ere),
            stat = util::attrs_script(&qd),
        );
        let out = util::exec_script(ctx, script)?;
        let s = Sections::parse(&util::text(&out.stdout));
        let differs = s.mark("differs").is_some();
        let mut res = map([("changed", Value::Bool(false))]);
        res.insert("dest".into(), Value::String(dest.to_string()));
        if differs && !ctx.check_mode {
            let rc: i64 = s.mark("rc").and_then(|r| r.parse().ok()).unwrap_or(-1);
            let strip = |t: &str| t.strip_suffix('\n').unwrap_or(t).to_string();
            let er = map([
                ("cmd", argv_value(&extract_argv)),
                ("err", Value::String(strip(s.sec("err")))),
                ("out", Value::String(strip(s.sec("out")))),
                ("rc", Value::from(rc)),
            ]);
            res.insert("extract_results".into(), Value::Object(er.clone()));
            if rc != 0 {
                let mut m = res.clone();
                m.insert("handler".into(), Value::String(handler_name.into()));
                m.insert("src".into(), Value::String(remote_src));
                m.insert(
                    "msg".into(),
                    Value::String(format!("failed to unpack {src} to {dest}")),
                );
                return Err(ModuleError::Failed(m));
            }
        }
        let changed = differs || s.marks.contains_key("attrs-changed");
        res.insert("changed".into(), Value::Bool(changed));
        if args.bool_or("list_files", false) {
            let files = entries
                .iter()
                .map(|e| Value::String(e.name.clone()))
                .collect();
            res.insert("files".into(), Value::Array(files));
        }
        if let Some(a) = s.sec("stat").lines().find_map(util::parse_attrs) {
            res.extend(a);
        }
        res.insert("handler".into(), Value::String(handler_name.into()));
        res.insert("src".into(), Value::String(remote_src));
        res.sort_keys();
        Ok(res)
    }
}

/// A shell `case` pattern: `*?[]` stay active (unzip's wildcards), the rest is quoted.
fn sh_glob(pat: &str) -> String {
    let mut out = String::new();
    let mut lit = String::new();
    for c in pat.chars() {
        if matches!(c, '*' | '?' | '[' | ']') {
            if !lit.is_empty() {
                out.push_str(&quote(&lit));
                lit.clear();
            }
            out.push(c);
        } else {
            lit.push(c);
        }
    }
    if !lit.is_empty() {
        out.push_str(&quote(&lit));
    }
    if out.is_empty() {
        out.push_str("''");
    }
    out
}

/// An archive name as a literal `unzip` pattern (unzip treats `*?[` as wildcards).
fn zip_literal(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if matches!(c, '*' | '?' | '[' | ']') {
            out.push('[');
            out.push(c);
            out.push(']');
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::util::test_support::{failed, run, run_with, Opts};
    use serde_json::json;
    use std::fs;
    use std::path::Path;
    use std::process::Command as Proc;

    /// A source tree: `top/a.txt`, `top/sub/b.txt`, `top/link -> a.txt`.
    fn source_tree(root: &Path) -> std::path::PathBuf {
        let s = root.join("src");
        fs::create_dir_all(s.join("top/sub")).unwrap();
        fs::write(s.join("top/a.txt"), "alpha\n").unwrap();
        fs::write(s.join("top/sub/b.txt"), "beta\n").unwrap();
        std::os::unix::fs::symlink("a.txt", s.join("top/link")).unwrap();
        s
    }

    fn tar(root: &Path, name: &str, flag: &str) -> String {
        let s = source_tree(root);
        let out = root.join(name);
        let mut c = Proc::new("tar");
        c.arg("-c");
        if !flag.is_empty() {
            c.arg(flag);
        }
        let st = c
            .arg("-f")
            .arg(&out)
            .arg("-C")
            .arg(&s)
            .arg("top")
            .status()
            .unwrap();
        assert!(st.success());
        out.to_str().unwrap().to_string()
    }

    /// (name, typeflag, linkname, data).
    type RawEntry<'a> = (&'a str, u8, &'a str, &'a str);

    /// A raw ustar archive with the given (name, typeflag, linkname, data) entries, for
    /// entries no well-behaved tool would write.
    fn raw_tar(entries: &[RawEntry]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, kind, link, data) in entries {
            let mut h = [0u8; 512];
            h[..name.len()].copy_from_slice(name.as_bytes());
            h[100..107].copy_from_slice(b"0000644");
            h[108..115].copy_from_slice(b"0000000");
            h[116..123].copy_from_slice(b"0000000");
            h[124..135].copy_from_slice(format!("{:011o}", data.len()).as_bytes());
            h[136..147].copy_from_slice(b"14000000000");
            h[156] = *kind;
            h[157..157 + link.len()].copy_from_slice(link.as_bytes());
            h[257..263].copy_from_slice(b"ustar\0");
            h[263..265].copy_from_slice(b"00");
            h[148..156].copy_from_slice(b"        ");
            let sum: u32 = h.iter().map(|b| *b as u32).sum();
            h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
            out.extend_from_slice(&h);
            out.extend_from_slice(data.as_bytes());
            out.resize(out.len().div_ceil(512) * 512, 0);
        }
        out.resize(out.len() + 1024, 0);
        out
    }

    fn dest(root: &Path) -> String {
        let d = root.join("dest dir");
        fs::create_dir_all(&d).unwrap();
        d.to_str().unwrap().to_string()
    }

    #[test]
    fn tar_formats_extract_then_are_idempotent() {
        for (name, flag, handler) in [
            ("a.tar", "", "TarArchive"),
            ("a.tgz", "-z", "TgzArchive"),
            ("a.tar.xz", "-J", "TarXzArchive"),
            ("a.tar.bz2", "-j", "TarBzipArchive"),
        ] {
            let t = tempfile::tempdir().unwrap();
            let archive = tar(t.path(), name, flag);
            let d = dest(t.path());
            // Local source found through the search path, uploaded to the host.
            let opts = Opts {
                search: vec![t.path().to_path_buf()],
                ..Opts::default()
            };
            let r = run_with(
                &Unarchive,
                json!({"src": name, "dest": d, "list_files": true}),
                opts,
            )
            .unwrap();
            assert_eq!(r["changed"], json!(true), "{name}: {r:?}");
            assert_eq!(r["handler"], json!(handler));
            assert_eq!(r["extract_results"]["rc"], json!(0));
            assert_eq!(r["extract_results"]["cmd"][1], json!("--extract"));
            assert!(r["extract_results"]["cmd"][0]
                .as_str()
                .unwrap()
                .ends_with("/tar"));
            assert_eq!(r["state"], json!("directory"));
            let files = r["files"].as_array().unwrap();
            assert!(files.contains(&json!("top/sub/b.txt")), "{files:?}");
            assert_eq!(
                fs::read_to_string(format!("{d}/top/sub/b.txt")).unwrap(),
                "beta\n"
            );
            assert_eq!(
                fs::read_link(format!("{d}/top/link")).unwrap().to_str(),
                Some("a.txt")
            );
            // The uploaded copy is gone again.
            let src = r["src"].as_str().unwrap();
            assert!(!Path::new(src).exists(), "{src}");

            let r = run(&Unarchive, json!({"src": archive, "dest": d})).unwrap();
            assert_eq!(r["changed"], json!(false), "{name}: {r:?}");
            assert!(r.get("extract_results").is_none());

            // A changed file makes it differ again; remote_src reads the archive in place.
            fs::write(format!("{d}/top/a.txt"), "changed\n").unwrap();
            let opts = Opts {
                check: true,
                ..Opts::default()
            };
            let r = run_with(
                &Unarchive,
                json!({"src": archive, "dest": d, "remote_src": true}),
                opts,
            )
            .unwrap();
            assert_eq!(r["changed"], json!(true));
            assert_eq!(
                fs::read_to_string(format!("{d}/top/a.txt")).unwrap(),
                "changed\n"
            );
            let r = run(
                &Unarchive,
                json!({"src": archive, "dest": d, "remote_src": true}),
            )
            .unwrap();
            assert_eq!(r["changed"], json!(true));
            assert_eq!(r["src"], json!(archive));
            assert_eq!(
                fs::read_to_string(format!("{d}/top/a.txt")).unwrap(),
                "alpha\n"
            );
        }
    }

    #[test]
    fn options_exclude_extra_opts_mode_creates() {
        let t = tempfile::tempdir().unwrap();
        let archive = tar(t.path(), "a.tgz", "-z");
        let d = dest(t.path());
        let r = run(
            &Unarchive,
            json!({"src": archive, "dest": d, "extra_opts": ["--strip-components=1"], "exclude": ["sub"], "mode": "u=rwX,g=rX,o=", "list_files": true}),
        )
        .unwrap();
        assert_eq!(r["changed"], json!(true));
        assert!(Path::new(&format!("{d}/a.txt")).is_file());
        assert!(!Path::new(&format!("{d}/sub")).exists());
        use std::os::unix::fs::PermissionsExt;
        let m = fs::metadata(format!("{d}/a.txt"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(m, 0o640);
        assert!(!r["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f.as_str().unwrap().contains("sub")));
        let r = run(
            &Unarchive,
            json!({"src": archive, "dest": d, "creates": format!("{d}/a.txt")}),
        )
        .unwrap();
        assert_eq!(r["skipped"], json!(true));
        assert_eq!(r["msg"], json!(format!("skipped, since {d}/a.txt exists")));
        let m = failed(run(
            &Unarchive,
            json!({"src": archive, "dest": format!("{d}/nope")}),
        ));
        assert_eq!(
            m["msg"],
            json!(format!("dest '{d}/nope' must be an existing dir"))
        );
        let m = failed(run(&Unarchive, json!({"src": "missing.tgz", "dest": d})));
        assert!(m["msg"]
            .as_str()
            .unwrap()
            .contains("Could not find or access 'missing.tgz'"));
    }

    #[test]
    fn unsafe_archives_are_refused_with_nothing_written() {
        let cases: Vec<(&str, Vec<RawEntry>)> = vec![
            (
                "traversal",
                vec![("ok.txt", b'0', "", "fine"), ("../evil", b'0', "", "x")],
            ),
            (
                "absolute",
                vec![
                    ("ok.txt", b'0', "", "fine"),
                    ("/tmp/yiqiu-evil-abs", b'0', "", "x"),
                ],
            ),
            (
                "symlink",
                vec![("ok.txt", b'0', "", "fine"), ("esc", b'2', "../../etc", "")],
            ),
            ("abs-symlink", vec![("esc", b'2', "/etc", "")]),
            ("hardlink", vec![("h", b'1', "../x", "")]),
            ("fifo", vec![("p", b'6', "", "")]),
        ];
        for (what, entries) in cases {
            let t = tempfile::tempdir().unwrap();
            let a = t.path().join("evil.tar");
            fs::write(&a, raw_tar(&entries)).unwrap();
            let d = dest(t.path());
            let m = failed(run(
                &Unarchive,
                json!({"src": a.to_str().unwrap(), "dest": d}),
            ));
            let msg = m["msg"].as_str().unwrap();
            assert!(msg.starts_with("Refusing to unpack"), "{what}: {msg}");
            assert_eq!(
                fs::read_dir(&d).unwrap().count(),
                0,
                "{what}: something was written"
            );
            assert!(!t.path().join("evil").exists());
        }
        assert!(!Path::new("/tmp/yiqiu-evil-abs").exists());
        // The same builder makes a harmless archive that extracts: the check is not vacuous.
        let t = tempfile::tempdir().unwrap();
        let a = t.path().join("ok.tar");
        fs::write(
            &a,
            raw_tar(&[("ok.txt", b'0', "", "fine"), ("in", b'2', "ok.txt", "")]),
        )
        .unwrap();
        let d = dest(t.path());
        let r = run(&Unarchive, json!({"src": a.to_str().unwrap(), "dest": d})).unwrap();
        assert_eq!(r["changed"], json!(true));
        assert_eq!(fs::read_to_string(format!("{d}/in")).unwrap(), "fine");
    }

    /// Zip archives are built with Python's zipfile when python3 is on the machine (there is
    /// no zip writer among the crate's dependencies); without it the test has nothing to run.
    #[test]
    fn zip_extracts_idempotently_and_refuses_escaping_symlinks() {
        if Proc::new("python3")
            .arg("-c")
            .arg("1")
            .status()
            .map(|s| !s.success())
            .unwrap_or(true)
        {
            return;
        }
        let t = tempfile::tempdir().unwrap();
        let make = |name: &str, link: &str| {
            let p = t.path().join(name);
            let code = format!(
                "import zipfile\nz=zipfile.ZipFile({p:?},'w')\nz.writestr('d/','')\nz.writestr('d/f.txt','zip body\\n')\n\
                 i=zipfile.ZipInfo('d/l'); i.create_system=3; i.external_attr=0o120777<<16; z.writestr(i,{link:?})\nz.close()\n",
                p = p.to_str().unwrap()
            );
            assert!(Proc::new("python3")
                .arg("-c")
                .arg(code)
                .status()
                .unwrap()
                .success());
            p.to_str().unwrap().to_string()
        };
        let good = make("good.zip", "f.txt");
        let d = dest(t.path());
        let r = run(
            &Unarchive,
            json!({"src": good, "dest": d, "list_files": true}),
        )
        .unwrap();
        assert_eq!(r["changed"], json!(true));
        assert_eq!(r["handler"], json!("ZipArchive"));
        assert_eq!(r["files"], json!(["d/", "d/f.txt", "d/l"]));
        assert_eq!(
            fs::read_to_string(format!("{d}/d/f.txt")).unwrap(),
            "zip body\n"
        );
        let r = run(&Unarchive, json!({"src": good, "dest": d})).unwrap();
        assert_eq!(r["changed"], json!(false));
        // Excluded entries are neither written nor compared.
        let d3 = t.path().join("d3");
        fs::create_dir(&d3).unwrap();
        let args = json!({"src": good, "dest": d3.to_str().unwrap(), "exclude": ["d/l"]});
        assert_eq!(
            run(&Unarchive, args.clone()).unwrap()["changed"],
            json!(true)
        );
        assert!(!d3.join("d/l").exists() && d3.join("d/f.txt").exists());
        assert_eq!(run(&Unarchive, args).unwrap()["changed"], json!(false));
        let bad = make("bad.zip", "../../etc/passwd");
        let d2 = t.path().join("d2");
        fs::create_dir(&d2).unwrap();
        let m = failed(run(
            &Unarchive,
            json!({"src": bad, "dest": d2.to_str().unwrap()}),
        ));
        assert!(
            m["msg"]
                .as_str()
                .unwrap()
                .contains("outside the destination"),
            "{m:?}"
        );
        assert_eq!(fs::read_dir(&d2).unwrap().count(), 0);
    }
}
