//! `script`: copies a controller-side script into a fresh remote temp dir and runs it there
//! (with `executable` when given, in `chdir`), as Ansible's script action does; the temp
//! dir goes afterwards. `creates`/`removes` skip the task; check mode skips it unless one
//! of them is set. Two round trips: upload (on stdin), then run and clean up.

use crate::connection::{quote, Command};
use crate::modules::util::{self, map};
use crate::modules::{ArgKind, ArgSpec, Args, Module, ModuleContext, ModuleError, ModuleResult};
use serde_json::Map;
use std::path::{Path, PathBuf};

pub struct Script;

const SPEC: &[ArgSpec] = &[
    ArgSpec::new("_raw_params", ArgKind::Str),
    ArgSpec::new("cmd", ArgKind::Str),
    ArgSpec::new("creates", ArgKind::Str),
    ArgSpec::new("removes", ArgKind::Str),
    ArgSpec::new("chdir", ArgKind::Str),
    ArgSpec::new("executable", ArgKind::Str),
    ArgSpec::new("decrypt", ArgKind::Bool),
];

const MARK: &str = "@@yq-script-tmp ";

fn fail(msg: impl Into<String>) -> ModuleError {
    ModuleError::msg(msg)
}

fn skip(msg: String) -> ModuleResult {
    Ok(map([
        ("changed", false.into()),
        ("msg", msg.into()),
        ("skipped", true.into()),
    ]))
}

/// Where Ansible looks for a `files` needle: each base's `files/`, then the base.
fn candidates(rel: &str, search: &[PathBuf]) -> Vec<PathBuf> {
    if Path::new(rel).is_absolute() {
        return vec![PathBuf::from(rel)];
    }
    let bases = search.iter().filter(|p| {
        !matches!(
            p.file_name().and_then(|n| n.to_str()),
            Some("files" | "templates" | "vars")
        )
    });
    bases
        .flat_map(|b| [b.join("files").join(rel), b.join(rel)])
        .collect()
}

fn find_source(rel: &str, search: &[PathBuf]) -> Result<PathBuf, ModuleError> {
    let cands = candidates(rel, search);
    if let Some(found) = cands.iter().find(|c| c.is_file()) {
        return Ok(found.clone());
    }
    let searched: Vec<String> = cands.iter().map(|c| c.display().to_string()).collect();
    Err(fail(format!(
        "Could not find or access '{rel}'\nSearched in:\n\t{} on the Ansible Controller.\nIf you are using a module and expect the file to exist on the remote, see the remote_src option",
        searched.join("\n\t")
    )))
}

fn exec(
    ctx: &mut ModuleContext,
    script: String,
    stdin: Option<Vec<u8>>,
) -> Result<crate::connection::Output, ModuleError> {
    let cmd = Command {
        script,
        stdin,
        env: ctx.env.clone(),
        become_: ctx.become_.clone(),
        ..Command::default()
    };
    ctx.conn.exec(&cmd).map_err(util::conn_err)
}

/// Uploads the script into a new `~/.ansible/tmp/ansible-tmp-*` dir: the dir's path.
fn upload(ctx: &mut ModuleContext, data: Vec<u8>, name: &str) -> Result<String, ModuleError> {
    let file = quote(name);
    let script = format!(
        "umask 77\nmkdir -p ~/.ansible/tmp || exit 1\n\
         T=$(mktemp -d ~/.ansible/tmp/ansible-tmp-XXXXXXXXXX) || exit 1\n\
         cat >\"$T\"/{file} && chmod u+rx \"$T\"/{file} || {{ rm -rf \"$T\"; exit 1; }}\n\
         echo {MARK}\"$T\"\n"
    );
    let out = exec(ctx, script, Some(data))?;
    let stdout = util::text(&out.stdout);
    match stdout.lines().find_map(|l| l.strip_prefix(MARK)) {
        Some(dir) if out.rc == 0 => Ok(dir.to_string()),
        _ => Err(fail(format!(
            "failed to transfer the script: {}",
            util::text(&out.stderr).trim()
        ))),
    }
}

/// The `creates`/`removes` test (`_remote_file_exists`: a plain path, `~` expanded).
fn exists(ctx: &mut ModuleContext, path: &str) -> Result<bool, ModuleError> {
    util::remote_exists(ctx, path)
}

impl Module for Script {
    fn name(&self) -> &'static str {
        "script"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn free_form(&self) -> bool {
        true
    }
    fn supports_async(&self) -> bool {
        false
    }
    fn run(&self, args: &Args, ctx: &mut ModuleContext) -> ModuleResult {
        let raw = args.str("_raw_params").filter(|s| !s.is_empty());
        let cmd = args.str("cmd").filter(|s| !s.is_empty());
        let raw = match (raw, cmd) {
            (Some(_), Some(_)) => {
                return Err(fail("parameters are mutually exclusive: _raw_params|cmd"))
            }
            (None, None) => return Err(fail("one of the following is required: _raw_params, cmd")),
            (Some(r), None) | (None, Some(r)) => r,
        };
        if let Some(c) = args.str("creates").filter(|s| !s.is_empty()) {
            if exists(ctx, c)? {
                return skip(format!("{c} exists, matching creates option"));
            }
        }
        if let Some(r) = args.str("removes").filter(|s| !s.is_empty()) {
            if !exists(ctx, r)? {
                return skip(format!("{r} does not exist, matching removes option"));
            }
        }
        let chdir = args.str("chdir").filter(|s| !s.is_empty());
        if let Some(d) = chdir.filter(|d| !d.starts_with('/')) {
            return Err(fail(format!(
                "chdir {d} must be an absolute path for a Unix-aware remote node"
            )));
        }
        let words = shlex_split(raw.trim());
        let Some(first) = words.first().cloned() else {
            return Err(fail("one of the following is required: _raw_params, cmd"));
        };
        let source = find_source(&first, &ctx.search_paths)?;
        let data = match args.bool_or("decrypt", true) {
            true => crate::vault::read_file(&source),
            false => std::fs::read(&source).map_err(|e| e.to_string()),
        }
        .map_err(|e| fail(format!("{}: {e}", source.display())))?;
        if ctx.check_mode {
            if args.str("creates").is_some() || args.str("removes").is_some() {
                return Ok(map([("changed", true.into())]));
            }
            return skip("Check mode is not supported for this task.".into());
        }
        let name = source
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("script")
            .to_string();
        let dir = upload(ctx, data, &name)?;
        // As Ansible: the script's word in the task text becomes the uploaded path, the rest
        // of the text (and its quoting) is kept for the shell.
        let target = raw.trim().replace(&first, &format!("{dir}/{name}"));
        let run = match args.str("executable") {
            Some(e) => format!("{e} {target}"),
            None => target,
        };
        let cd = chdir
            .map(|d| format!("cd {} && ", quote(d)))
            .unwrap_or_default();
        let script = format!("( {cd}{run}\n)\nrc=$?\nrm -rf {}\nexit $rc", quote(&dir));
        let out = exec(ctx, script, None)?;
        let mut res = Map::new();
        res.insert("changed".into(), true.into());
        res.insert("rc".into(), out.rc.into());
        util::put_output(&mut res, &util::text(&out.stdout), &util::text(&out.stderr));
        if out.rc != 0 {
            res.insert("msg".into(), "non-zero return code".into());
            return Err(ModuleError::Failed(res));
        }
        Ok(res)
    }
}

/// A small `shlex.split` (POSIX mode: `'a b'`, `"a b"`, `a\ b`).
fn shlex_split(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut any = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                any = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    cur.push(q);
                }
            }
            '"' => {
                any = true;
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' => {
                            if let Some(n) = chars.next() {
                                cur.push(n);
                            }
                        }
                        q => cur.push(q),
                    }
                }
            }
            '\\' => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            c if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_lose_their_quotes() {
        assert_eq!(
            shlex_split("'space path/t.sh' -a \"b c\""),
            vec!["space path/t.sh", "-a", "b c"]
        );
        assert_eq!(shlex_split("a\\ b"), vec!["a b"]);
    }

    #[test]
    fn needles_are_looked_for_under_files_then_the_base() {
        let c = candidates(
            "x.sh",
            &[
                PathBuf::from("/r/files"),
                PathBuf::from("/r"),
                PathBuf::from("/p"),
            ],
        );
        assert_eq!(
            c,
            vec![
                PathBuf::from("/r/files/x.sh"),
                PathBuf::from("/r/x.sh"),
                PathBuf::from("/p/files/x.sh"),
                PathBuf::from("/p/x.sh")
            ]
        );
    }
}
