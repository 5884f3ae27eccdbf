//! `blockinfile`: a marker-delimited block of lines, inserted, updated or removed.
//! Text logic ported from Ansible's module, run on the controller (see `lineinfile`).

use crate::modules::copy::sorted;
use crate::modules::lineinfile::{attrs_message, compile, diff_list, load, save};
use crate::modules::remote_file::Attrs;
use crate::modules::util::map;
use crate::modules::{ArgKind, ArgSpec, Args, Module, ModuleContext, ModuleError, ModuleResult};
use serde_json::Value;

pub struct BlockInFile;

const OWN_SPEC: &[ArgSpec] = &[
    ArgSpec::new("path", ArgKind::Path)
        .required()
        .aliases(&["dest", "destfile", "name"]),
    ArgSpec::new("state", ArgKind::Str).choices(&["absent", "present"]),
    ArgSpec::new("marker", ArgKind::Str),
    ArgSpec::new("block", ArgKind::Str).aliases(&["content"]),
    ArgSpec::new("insertafter", ArgKind::Str),
    ArgSpec::new("insertbefore", ArgKind::Str),
    ArgSpec::new("create", ArgKind::Bool),
    ArgSpec::new("backup", ArgKind::Bool),
    ArgSpec::new("validate", ArgKind::Str),
    ArgSpec::new("marker_begin", ArgKind::Str),
    ArgSpec::new("marker_end", ArgKind::Str),
    ArgSpec::new("append_newline", ArgKind::Bool),
    ArgSpec::new("prepend_newline", ArgKind::Bool),
];

/// Its own arguments and the file attributes.
fn spec() -> &'static [ArgSpec] {
    static CELL: std::sync::OnceLock<Vec<ArgSpec>> = std::sync::OnceLock::new();
    crate::modules::args::joined(OWN_SPEC, &super::FILE_ATTRIBUTES, &CELL)
}

/// Python's `bytes.splitlines(True)`: splits after `\n`, `\r\n` and `\r`.
pub fn splitlines_keep(data: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < data.len() {
        match data[i] {
            b'\n' => {
                out.push(data[start..=i].to_vec());
                start = i + 1;
            }
            b'\r' => {
                let end = if data.get(i + 1) == Some(&b'\n') {
                    i + 1
                } else {
                    i
                };
                out.push(data[start..=end].to_vec());
                i = end;
                start = end + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if start < data.len() {
        out.push(data[start..].to_vec());
    }
    out
}

/// The options of one blockinfile run that shape the text.
pub struct BlockOpts<'a> {
    pub present: bool,
    pub block: &'a str,
    pub marker: &'a str,
    pub marker_begin: &'a str,
    pub marker_end: &'a str,
    pub insertafter: Option<&'a str>,
    pub insertbefore: Option<&'a str>,
    pub append_newline: bool,
    pub prepend_newline: bool,
}

/// Ansible's block placement; returns the new text.
pub fn apply_block(original: &[u8], o: &BlockOpts) -> Result<Vec<u8>, ModuleError> {
    let nl: &[u8] = b"\n";
    let mut lines = splitlines_keep(original);
    let (mut insertafter, insertbefore) = (o.insertafter, o.insertbefore);
    if insertafter.is_none() && insertbefore.is_none() {
        insertafter = Some("EOF");
    }
    let insertre = match (insertafter, insertbefore) {
        (Some(a), _) if a != "EOF" => Some(compile(a)?),
        (None, Some(b)) if b != "BOF" => Some(compile(b)?),
        _ => None,
    };
    let mark = |m: &str| {
        let mut v = o.marker.replace("{mark}", m).into_bytes();
        v.extend_from_slice(nl);
        v
    };
    let (marker0, marker1) = (mark(o.marker_begin), mark(o.marker_end));
    let mut blocklines = Vec::new();
    if o.present && !o.block.is_empty() {
        let mut block = o.block.as_bytes().to_vec();
        if !block.ends_with(nl) {
            block.extend_from_slice(nl);
        }
        blocklines.push(marker0.clone());
        blocklines.extend(splitlines_keep(&block));
        blocklines.push(marker1.clone());
    }
    let (mut n0, mut n1) = (None, None);
    for (i, l) in lines.iter().enumerate() {
        if *l == marker0 {
            n0 = Some(i);
        }
        if *l == marker1 {
            n1 = Some(i);
        }
    }
    let mut at = match (n0, n1) {
        (Some(a), Some(b)) if a < b => {
            lines.drain(a..=b);
            a
        }
        (Some(a), Some(b)) => {
            lines.drain(b..=a);
            b
        }
        _ => match &insertre {
            Some(re) => {
                let mut found = None;
                if o.insertafter
                    .or(o.insertbefore)
                    .is_some_and(|p| p.contains("(?m"))
                {
                    // A multiline pattern searches the whole text.
                    if let Some(m) = re.find(original) {
                        let upto = if insertafter.is_some() {
                            m.end()
                        } else {
                            m.start()
                        };
                        found = Some(original[..upto].iter().filter(|&&b| b == b'\n').count());
                    }
                } else {
                    for (i, l) in lines.iter().enumerate() {
                        if re.is_match(l.strip_suffix(nl).unwrap_or(l)) {
                            found = Some(i);
                        }
                    }
                }
                match found {
                    None => lines.len(),
                    Some(i) if insertafter.is_some() => i + 1,
                    Some(i) => i,
                }
            }
            None if insertbefore.is_some() => 0,
            None => lines.len(),
        },
    };
    if at > 0 && !lines[at - 1].ends_with(nl) {
        lines[at - 1].extend_from_slice(nl);
    }
    if o.prepend_newline && o.present && at != 0 && lines[at - 1] != nl {
        lines.insert(at, nl.to_vec());
        at += 1;
    }
    let count = blocklines.len();
    lines.splice(at..at, blocklines);
    if o.append_newline && o.present {
        let after = at + count;
        if after < lines.len() && lines[after] != nl {
            lines.insert(after, nl.to_vec());
        }
    }
    Ok(lines.concat())
}

impl Module for BlockInFile {
    fn name(&self) -> &'static str {
        "blockinfile"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        spec()
    }
    fn run(&self, args: &Args, ctx: &mut ModuleContext) -> ModuleResult {
        let path = args.str("path").unwrap_or_default().to_string();
        if args.get("insertafter").is_some() && args.get("insertbefore").is_some() {
            return Err(ModuleError::msg(
                "parameters are mutually exclusive: insertbefore|insertafter",
            ));
        }
        let file = load(ctx, &path)?;
        let present = args.str("state").unwrap_or("present") == "present";
        if !file.stat.exists() {
            if !args.bool_or("create", false) {
                let mut m = map([
                    (
                        "msg",
                        Value::String(format!("Path {path} does not exist !")),
                    ),
                    ("rc", Value::from(257)),
                ]);
                m.insert("changed".into(), Value::Bool(false));
                return Err(ModuleError::Failed(sorted(m)));
            }
            if !present {
                return Ok(map([
                    ("changed", Value::Bool(false)),
                    ("msg", Value::String(format!("File {path} not present"))),
                ]));
            }
        }
        let block = args.string("block").unwrap_or_default();
        let opts = BlockOpts {
            present,
            block: &block,
            marker: args
                .str("marker")
                .unwrap_or("# {mark} ANSIBLE MANAGED BLOCK"),
            marker_begin: args.str("marker_begin").unwrap_or("BEGIN"),
            marker_end: args.str("marker_end").unwrap_or("END"),
            insertafter: args.str("insertafter"),
            insertbefore: args.str("insertbefore"),
            append_newline: args.bool_or("append_newline", false),
            prepend_newline: args.bool_or("prepend_newline", false),
        };
        let original = file.data.clone();
        let before = original.clone().unwrap_or_default();
        let result = apply_block(&before, &opts)?;
        let (changed, msg) = match &original {
            Some(o) if *o == result => (false, ""),
            None => (true, "File created"),
            _ if !present || block.is_empty() => (true, "Block removed"),
            _ => (true, "Block inserted"),
        };
        let attrs = Attrs::from_args(args)?;
        let saved = save(
            ctx,
            &file,
            changed.then_some(result.as_slice()),
            &attrs,
            args.bool_or("backup", false),
            args.str("validate"),
        )?;
        let (changed, msg) = attrs_message(changed, msg.to_string(), &saved);
        let mut res = map([("changed", Value::Bool(changed))]);
        if let Some(b) = &saved.backup {
            res.insert("backup_file".into(), Value::String(b.clone()));
        }
        if ctx.diff_mode {
            res.insert("diff".into(), diff_list(&path, &before, &result, &saved));
        }
        res.insert("msg".into(), Value::String(msg));
        Ok(sorted(res))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::lineinfile::tests::run_diff;
    use crate::modules::util::test_support::{failed, run};
    use serde_json::json;

    fn opts<'a>(block: &'a str) -> BlockOpts<'a> {
        BlockOpts {
            present: true,
            block,
            marker: "# {mark} ANSIBLE MANAGED BLOCK",
            marker_begin: "BEGIN",
            marker_end: "END",
            insertafter: None,
            insertbefore: None,
            append_newline: false,
            prepend_newline: false,
        }
    }

    fn s(v: Vec<u8>) -> String {
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn placement() {
        let m = "# BEGIN ANSIBLE MANAGED BLOCK\nx\ny\n# END ANSIBLE MANAGED BLOCK\n";
        assert_eq!(
            s(apply_block(b"a\nb", &opts("x\ny")).unwrap()),
            format!("a\nb\n{m}")
        );
        // Replaced in place.
        let text = format!("a\n{}c\n", m.replace("x\n", "old\n"));
        assert_eq!(
            s(apply_block(text.as_bytes(), &opts("x\ny")).unwrap()),
            format!("a\n{m}c\n")
        );
        let o = BlockOpts {
            insertbefore: Some("BOF"),
            ..opts("x\ny")
        };
        assert_eq!(s(apply_block(b"a\n", &o).unwrap()), format!("{m}a\n"));
        let o = BlockOpts {
            insertafter: Some("^a"),
            ..opts("x\ny")
        };
        assert_eq!(s(apply_block(b"a\nb\n", &o).unwrap()), format!("a\n{m}b\n"));
        let o = BlockOpts {
            present: false,
            ..opts("x\ny")
        };
        assert_eq!(
            s(apply_block(format!("a\n{m}b\n").as_bytes(), &o).unwrap()),
            "a\nb\n"
        );
    }

    #[test]
    fn module_insert_idempotent_remove() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("b $(x)");
        let p = f.to_str().unwrap();
        std::fs::write(&f, "a\nb\n").unwrap();
        let r = run_diff(&BlockInFile, json!({"path": p, "block": "x\ny"}), true).unwrap();
        assert_eq!(r["msg"], json!("Block inserted"));
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "a\nb\n");
        assert_eq!(
            r["diff"][0]["after"],
            json!("a\nb\n# BEGIN ANSIBLE MANAGED BLOCK\nx\ny\n# END ANSIBLE MANAGED BLOCK\n")
        );
        let r = run(
            &BlockInFile,
            json!({"path": p, "block": "x\ny", "backup": true}),
        )
        .unwrap();
        assert_eq!(r["changed"], json!(true));
        assert!(std::fs::read_to_string(r["backup_file"].as_str().unwrap()).unwrap() == "a\nb\n");
        let r = run(&BlockInFile, json!({"path": p, "block": "x\ny"})).unwrap();
        assert_eq!(r["changed"], json!(false));
        assert_eq!(r["msg"], json!(""));
        let r = run(&BlockInFile, json!({"path": p, "state": "absent"})).unwrap();
        assert_eq!(r["msg"], json!("Block removed"));
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "a\nb\n");
        let n = dir.path().join("new");
        let e = failed(run(
            &BlockInFile,
            json!({"path": n.to_str().unwrap(), "block": "x"}),
        ));
        assert_eq!(e["rc"], json!(257));
        let r = run(
            &BlockInFile,
            json!({"path": n.to_str().unwrap(), "block": "x", "create": true}),
        )
        .unwrap();
        assert_eq!(r["msg"], json!("File created"));
    }
}
