//! `stat`: facts about one remote path, from one `stat`+checksum script.

use crate::modules::remote_file::{self, Kind};
use crate::modules::util::map;
use crate::modules::{ArgKind, ArgSpec, Args, Module, ModuleContext, ModuleResult};
use serde_json::{Map, Value};

pub struct Stat;

const SPEC: &[ArgSpec] = &[
    ArgSpec::new("path", ArgKind::Path)
        .required()
        .aliases(&["dest", "name"]),
    ArgSpec::new("follow", ArgKind::Bool),
    ArgSpec::new("get_checksum", ArgKind::Bool),
    ArgSpec::new("checksum_algorithm", ArgKind::Str)
        .aliases(&["checksum", "checksum_algo"])
        .choices(&["md5", "sha1", "sha224", "sha256", "sha384", "sha512"]),
    ArgSpec::new("get_mime", ArgKind::Bool).aliases(&["mime", "mime_type", "mime-type"]),
    ArgSpec::new("get_attributes", ArgKind::Bool).aliases(&["attr", "attributes"]),
    ArgSpec::new("get_selinux_context", ArgKind::Bool),
];

impl Module for Stat {
    fn name(&self) -> &'static str {
        "stat"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn run(&self, args: &Args, ctx: &mut ModuleContext) -> ModuleResult {
        let path = args.str("path").unwrap_or_default().to_string();
        let follow = args.bool_or("follow", false);
        let algo = args.str("checksum_algorithm").unwrap_or("sha1");
        let sum = args.bool_or("get_checksum", true).then_some(algo);
        let mime = args.bool_or("get_mime", true);
        let with_attrs = args.bool_or("get_attributes", true);
        let script = format!(
            "{}{}",
            remote_file::prelude(),
            remote_file::stat_fragment_mime("p", &path, follow, sum, mime || with_attrs)
        );
        let out = crate::modules::util::exec_script(ctx, script)?;
        let st = remote_file::parse_stats(&crate::modules::util::text(&out.stdout))
            .remove("p")
            .unwrap_or_default();
        let mut res = map([("changed", Value::Bool(false))]);
        res.insert(
            "stat".into(),
            Value::Object(stat_dict(&path, &st, with_attrs, mime)),
        );
        Ok(res)
    }
}

/// Ansible's `stat` dictionary for `st`.
pub fn stat_dict(
    path: &str,
    st: &remote_file::RemoteStat,
    with_attrs: bool,
    mime: bool,
) -> Map<String, Value> {
    if !st.exists() {
        return map([("exists", Value::Bool(false))]);
    }
    let m = st.mode;
    let ty = m & 0o170000;
    let bit = |b: u32| Value::Bool(m & b != 0);
    let mut d = Map::new();
    let float = |f: f64| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number);
    d.insert("atime".into(), float(st.atime));
    if with_attrs {
        let (version, flags) = lsattr_parts(st.lsattr.as_deref());
        d.insert("attr_flags".into(), Value::String(flags.clone()));
        d.insert(
            "attributes".into(),
            Value::Array(
                flags
                    .chars()
                    .filter_map(attr_name)
                    .map(|n| Value::String(n.into()))
                    .collect(),
            ),
        );
        d.insert("version".into(), version.map_or(Value::Null, Value::String));
    }
    d.insert("block_size".into(), Value::from(st.block_size));
    d.insert("blocks".into(), Value::from(st.blocks));
    if let Some(m) = st.mime.as_ref().filter(|_| mime) {
        // `file -i`: "text/plain; charset=us-ascii".
        let cs = m.split_once(';').map_or("", |(_, c)| c);
        let cs = cs.trim().strip_prefix("charset=").unwrap_or("unknown");
        d.insert("charset".into(), Value::String(cs.to_string()));
    }
    if let Some(c) = &st.checksum {
        d.insert("checksum".into(), Value::String(c.clone()));
    }
    d.insert("ctime".into(), float(st.ctime));
    d.insert("dev".into(), Value::from(st.dev));
    d.insert("device_type".into(), Value::from(st.rdev));
    d.insert("executable".into(), Value::Bool(st.executable));
    d.insert("exists".into(), Value::Bool(true));
    d.insert("gid".into(), Value::from(st.gid));
    d.insert("gr_name".into(), Value::String(st.group.clone()));
    d.insert("inode".into(), Value::from(st.inode));
    d.insert("isblk".into(), Value::Bool(ty == 0o060000));
    d.insert("ischr".into(), Value::Bool(ty == 0o020000));
    d.insert("isdir".into(), Value::Bool(st.kind == Kind::Dir));
    d.insert("isfifo".into(), Value::Bool(ty == 0o010000));
    d.insert("isgid".into(), bit(0o2000));
    d.insert("islnk".into(), Value::Bool(st.kind == Kind::Link));
    d.insert("isreg".into(), Value::Bool(st.kind == Kind::File));
    d.insert("issock".into(), Value::Bool(ty == 0o140000));
    d.insert("isuid".into(), bit(0o4000));
    if st.kind == Kind::Link {
        let real = st.real_path.clone().or_else(|| st.link_target.clone());
        d.insert("lnk_source".into(), real.map_or(Value::Null, Value::String));
        d.insert(
            "lnk_target".into(),
            st.link_target.clone().map_or(Value::Null, Value::String),
        );
    }
    if let Some(m) = st.mime.as_ref().filter(|_| mime) {
        let ty = m.split_once(';').map_or(m.as_str(), |(t, _)| t);
        d.insert("mimetype".into(), Value::String(ty.trim().to_string()));
    }
    d.insert("mode".into(), Value::String(st.mode_str()));
    d.insert("mtime".into(), float(st.mtime));
    d.insert("nlink".into(), Value::from(st.nlink));
    d.insert("path".into(), Value::String(path.to_string()));
    d.insert("pw_name".into(), Value::String(st.owner.clone()));
    d.insert("readable".into(), Value::Bool(st.readable));
    d.insert("rgrp".into(), bit(0o040));
    d.insert("roth".into(), bit(0o004));
    d.insert("rusr".into(), bit(0o400));
    d.insert("size".into(), Value::from(st.size));
    d.insert("uid".into(), Value::from(st.uid));
    d.insert("wgrp".into(), bit(0o020));
    d.insert("woth".into(), bit(0o002));
    d.insert("writeable".into(), Value::Bool(st.writeable));
    d.insert("wusr".into(), bit(0o200));
    d.insert("xgrp".into(), bit(0o010));
    d.insert("xoth".into(), bit(0o001));
    d.insert("xusr".into(), bit(0o100));
    let mut sorted: Vec<(String, Value)> = d.into_iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    sorted.into_iter().collect()
}

/// `lsattr -vd` output: the version and the set flags (dashes dropped).
fn lsattr_parts(out: Option<&str>) -> (Option<String>, String) {
    let Some(out) = out else {
        return (None, String::new());
    };
    let mut words = out.split_whitespace();
    let version = words.next().map(str::to_string);
    let flags = words.next().unwrap_or("").replace('-', "");
    (version, flags)
}

/// Ansible's `FILE_ATTRIBUTES` names for lsattr flags.
fn attr_name(c: char) -> Option<&'static str> {
    Some(match c {
        'A' => "noatime",
        'a' => "append",
        'c' => "compressed",
        'C' => "nocow",
        'd' => "nodump",
        'D' => "dirsync",
        'e' => "extents",
        'E' => "encrypted",
        'h' => "blocksize",
        'i' => "immutable",
        'I' => "indexed",
        'j' => "journalled",
        'N' => "inline",
        's' => "zero",
        'S' => "synchronous",
        't' => "notail",
        'T' => "blockroot",
        'u' => "undelete",
        'X' => "compressedraw",
        'Z' => "compresseddirty",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::util::test_support::run;
    use serde_json::json;

    #[test]
    fn regular_file_with_checksum_and_mode() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a b $(x) 'q'");
        std::fs::write(&p, "hello\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
        let r = run(&Stat, json!({"path": p.to_str().unwrap()})).unwrap();
        let s = &r["stat"];
        assert_eq!(s["exists"], json!(true));
        assert_eq!(s["isreg"], json!(true));
        assert_eq!(s["isdir"], json!(false));
        assert_eq!(s["mode"], json!("0640"));
        assert_eq!(s["size"], json!(6));
        assert_eq!(
            s["checksum"],
            json!("f572d396fae9206628714fb2ce00f72e94f2258f")
        );
        assert_eq!(s["rusr"], json!(true));
        assert_eq!(s["roth"], json!(false));
        assert!(s["mtime"].as_f64().unwrap() > 1.0e9);
        assert_eq!(r["changed"], json!(false));
        let r = run(
            &Stat,
            json!({"path": p.to_str().unwrap(), "checksum_algorithm": "sha256"}),
        )
        .unwrap();
        assert_eq!(
            r["stat"]["checksum"],
            json!("5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03")
        );
        let r = run(
            &Stat,
            json!({"path": p.to_str().unwrap(), "get_checksum": false}),
        )
        .unwrap();
        assert!(r["stat"].get("checksum").is_none());
    }

    #[test]
    fn missing_and_links() {
        let dir = tempfile::tempdir().unwrap();
        let r = run(
            &Stat,
            json!({"path": dir.path().join("nope").to_str().unwrap()}),
        )
        .unwrap();
        assert_eq!(r["stat"], json!({"exists": false}));
        let target = dir.path().join("t");
        std::fs::write(&target, "x").unwrap();
        let link = dir.path().join("l");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let r = run(&Stat, json!({"path": link.to_str().unwrap()})).unwrap();
        assert_eq!(r["stat"]["islnk"], json!(true));
        assert_eq!(r["stat"]["lnk_target"], json!(target.to_str().unwrap()));
        assert!(r["stat"].get("checksum").is_none());
        let r = run(
            &Stat,
            json!({"path": link.to_str().unwrap(), "follow": true}),
        )
        .unwrap();
        assert_eq!(r["stat"]["islnk"], json!(false));
        assert_eq!(r["stat"]["isreg"], json!(true));
        assert!(r["stat"].get("checksum").is_some());
        let r = run(&Stat, json!({"path": dir.path().to_str().unwrap()})).unwrap();
        assert_eq!(r["stat"]["isdir"], json!(true));
    }
}
