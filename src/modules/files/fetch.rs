//! `fetch`: copies a remote file to the controller, under `dest/<inventory_hostname>/<src>`
//! unless `flat`. One exec stats and checksums the remote file; `get` reads it only when the
//! local copy differs.

use crate::modules::copy::find_local;
use crate::modules::remote_file::{self, Kind};
use crate::modules::util::map;
use crate::modules::{ArgKind, ArgSpec, Args, Module, ModuleContext, ModuleError, ModuleResult};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

pub struct Fetch;

const SPEC: &[ArgSpec] = &[
    ArgSpec::new("src", ArgKind::Str).required(),
    ArgSpec::new("dest", ArgKind::Str).required(),
    ArgSpec::new("flat", ArgKind::Bool),
    ArgSpec::new("fail_on_missing", ArgKind::Bool),
    ArgSpec::new("validate_checksum", ArgKind::Bool),
];

/// Python's `os.path.normpath` for absolute or relative paths.
fn normpath(p: &str) -> String {
    let abs = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." if parts.last().is_some_and(|l| *l != "..") => {
                parts.pop();
            }
            ".." if abs => {}
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (abs, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

fn md5_file(p: &Path) -> Option<String> {
    use md5::{Digest, Md5};
    let data = std::fs::read(p).ok()?;
    Some(
        Md5::digest(&data)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    )
}

fn sha1_file(p: &Path) -> Option<String> {
    std::fs::read(p).ok().map(|d| remote_file::sha1_hex(&d))
}

/// A relative dest is relative to the playbook dir (the last search path), like
/// Ansible's `path_dwim`.
fn dwim(ctx: &ModuleContext, dest: &str) -> String {
    if dest.starts_with('/') {
        return dest.to_string();
    }
    if let Some(found) = find_local(ctx, dest) {
        return found.display().to_string();
    }
    match ctx.search_paths.last() {
        Some(base) => base.join(dest).display().to_string(),
        None => dest.to_string(),
    }
}

impl Module for Fetch {
    fn name(&self) -> &'static str {
        "fetch"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn run(&self, args: &Args, ctx: &mut ModuleContext) -> ModuleResult {
        if ctx.check_mode {
            return Ok(map([
                ("changed", Value::Bool(false)),
                (
                    "msg",
                    Value::String("check mode not (yet) supported for this module".into()),
                ),
                ("skipped", Value::Bool(true)),
            ]));
        }
        let src = args.str("src").unwrap_or_default().to_string();
        let dest_arg = args.str("dest").unwrap_or_default().to_string();
        let flat = args.bool_or("flat", false);
        let fail_on_missing = args.bool_or("fail_on_missing", true);
        let validate = args.bool_or("validate_checksum", true);

        let st = remote_file::stat(ctx, &src, true, Some("sha1"))?;
        let missing = |msg: &str| -> ModuleResult {
            let mut m = Map::new();
            m.insert("changed".into(), Value::Bool(false));
            m.insert("file".into(), Value::String(src.clone()));
            m.insert("msg".into(), Value::String(msg.to_string()));
            if fail_on_missing {
                Err(ModuleError::Failed(m))
            } else {
                Ok(m)
            }
        };
        match st.kind {
            Kind::Absent => {
                return missing("the remote file does not exist, not transferring, ignored")
            }
            Kind::Dir => {
                let msg = "remote file is a directory, fetch cannot work on directories";
                if fail_on_missing {
                    return Err(ModuleError::Failed(map([
                        ("changed", Value::Bool(false)),
                        ("msg", Value::String(msg.into())),
                    ])));
                }
                return Ok(map([(
                    "msg",
                    Value::String(format!("{msg}, not transferring, ignored")),
                )]));
            }
            _ => {}
        }
        let mut remote_data = None;
        let remote_checksum = match st.checksum.clone() {
            Some(c) if !c.is_empty() => c,
            // Unreadable for the stat (permissions): read it and hash here, like slurp.
            _ => {
                let data = remote_file::read(ctx, &src)?;
                let c = remote_file::sha1_hex(&data);
                remote_data = Some(data);
                c
            }
        };

        let dest = if flat {
            let mut d = dest_arg.clone();
            if Path::new(&d).is_dir() && !d.ends_with('/') {
                return Err(ModuleError::msg(
                    "dest is an existing directory, use a trailing slash if you want to fetch src into that directory",
                ));
            }
            if d.ends_with('/') {
                let base = src.rsplit('/').next().unwrap_or(&src);
                d = format!("{d}{base}");
                if Path::new(&d).is_dir() {
                    return Err(ModuleError::msg(format!(
                        "calculated dest '{d}' is an existing directory, use another path that does not point to an existing directory"
                    )));
                }
            }
            dwim(ctx, &d)
        } else {
            format!("{}/{}/{}", dwim(ctx, &dest_arg), ctx.host, src)
        };
        let dest = normpath(&dest);
        let dest_path = PathBuf::from(&dest);
        let local_checksum = sha1_file(&dest_path);
        if local_checksum.as_deref() == Some(remote_checksum.as_str()) {
            return Ok(map([
                ("changed", Value::Bool(false)),
                ("checksum", Value::String(remote_checksum)),
                ("dest", Value::String(dest)),
                ("file", Value::String(src)),
                (
                    "md5sum",
                    md5_file(&dest_path).map_or(Value::Null, Value::String),
                ),
            ]));
        }
        let data = match remote_data {
            Some(d) => d,
            None => remote_file::read(ctx, &src)?,
        };
        if let Some(parent) = dest_path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| {
                ModuleError::msg(format!("Failed to create {}: {e}", parent.display()))
            })?;
        }
        std::fs::write(&dest_path, &data)
            .map_err(|e| ModuleError::msg(format!("Failed to fetch the file: {e}")))?;
        let new_checksum = remote_file::sha1_hex(&data);
        let md5 = md5_file(&dest_path).map_or(Value::Null, Value::String);
        if validate && new_checksum != remote_checksum {
            return Err(ModuleError::Failed(map([
                ("checksum", Value::String(new_checksum)),
                ("dest", Value::String(dest)),
                ("file", Value::String(src)),
                ("md5sum", md5),
                ("msg", Value::String("checksum mismatch".into())),
                ("remote_checksum", Value::String(remote_checksum)),
                ("remote_md5sum", Value::Null),
            ])));
        }
        Ok(map([
            ("changed", Value::Bool(true)),
            ("checksum", Value::String(new_checksum)),
            ("dest", Value::String(dest)),
            ("md5sum", md5),
            ("remote_checksum", Value::String(remote_checksum)),
            ("remote_md5sum", Value::Null),
        ]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::util::test_support::{failed, run, run_with, Opts};
    use serde_json::json;

    #[test]
    fn normpath_like_python() {
        assert_eq!(normpath("/a//b/./c/../d"), "/a/b/d");
        assert_eq!(normpath("x/localhost//tmp/a"), "x/localhost/tmp/a");
    }

    #[test]
    fn fetch_per_host_tree_then_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("remote $(x)");
        std::fs::write(&src, "a\nb\n").unwrap();
        let out = dir.path().join("fetched");
        let args = json!({"src": src.to_str().unwrap(), "dest": out.to_str().unwrap()});
        let r = run(&Fetch, args.clone()).unwrap();
        assert_eq!(r["changed"], json!(true));
        let want = format!("{}/localhost{}", out.display(), src.display());
        assert_eq!(r["dest"], json!(want));
        assert_eq!(r["checksum"], r["remote_checksum"]);
        assert_eq!(r["remote_md5sum"], json!(null));
        assert_eq!(std::fs::read_to_string(&want).unwrap(), "a\nb\n");
        let r = run(&Fetch, args.clone()).unwrap();
        assert_eq!(r["changed"], json!(false));
        assert_eq!(r["file"], json!(src.to_str().unwrap()));
        let r = run_with(
            &Fetch,
            args,
            Opts {
                check: true,
                ..Opts::default()
            },
        )
        .unwrap();
        assert_eq!(r["skipped"], json!(true));
    }

    #[test]
    fn flat_and_missing() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("f");
        std::fs::write(&src, "x").unwrap();
        let out = format!("{}/flat/", dir.path().display());
        let r = run(
            &Fetch,
            json!({"src": src.to_str().unwrap(), "dest": out, "flat": true}),
        )
        .unwrap();
        assert_eq!(r["dest"], json!(format!("{out}f")));
        assert_eq!(std::fs::read_to_string(format!("{out}f")).unwrap(), "x");
        let missing = dir.path().join("nope");
        let e = failed(run(
            &Fetch,
            json!({"src": missing.to_str().unwrap(), "dest": out}),
        ));
        assert_eq!(
            e["msg"],
            json!("the remote file does not exist, not transferring, ignored")
        );
        let r = run(
            &Fetch,
            json!({"src": missing.to_str().unwrap(), "dest": out, "fail_on_missing": false}),
        )
        .unwrap();
        assert_eq!(r["changed"], json!(false));
    }
}
