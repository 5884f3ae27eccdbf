//! `lineinfile`: ensures one line is present (or absent) in a text file.
//!
//! The text logic runs on the controller, ported from Ansible's module: one exec stats and
//! reads the file, and when it changed one exec (the new text on stdin) writes it back
//! (backup, validate, rename, attributes). [`load`] and [`save`] are shared with `blockinfile`
//! and `replace`.

use crate::connection::quote;
use crate::modules::copy::{attr_diff, sorted, write_replace};
use crate::modules::remote_file::{self, Attrs, Kind, RemoteStat};
use crate::modules::util::{exec_script, map, shell_path, text};
use crate::modules::{ArgKind, ArgSpec, Args, Module, ModuleContext, ModuleError, ModuleResult};
use regex::bytes::{Captures, Regex};
use serde_json::{Map, Value};

pub struct LineInFile;

const OWN_SPEC: &[ArgSpec] = &[
    ArgSpec::new("path", ArgKind::Path)
        .required()
        .aliases(&["dest", "destfile", "name"]),
    ArgSpec::new("state", ArgKind::Str).choices(&["absent", "present"]),
    ArgSpec::new("regexp", ArgKind::Str).aliases(&["regex"]),
    ArgSpec::new("search_string", ArgKind::Str),
    ArgSpec::new("line", ArgKind::Str).aliases(&["value"]),
    ArgSpec::new("insertafter", ArgKind::Str),
    ArgSpec::new("insertbefore", ArgKind::Str),
    ArgSpec::new("backrefs", ArgKind::Bool),
    ArgSpec::new("create", ArgKind::Bool),
    ArgSpec::new("backup", ArgKind::Bool),
    ArgSpec::new("firstmatch", ArgKind::Bool),
    ArgSpec::new("validate", ArgKind::Str),
];

/// Its own arguments and the file attributes.
fn spec() -> &'static [ArgSpec] {
    static CELL: std::sync::OnceLock<Vec<ArgSpec>> = std::sync::OnceLock::new();
    crate::modules::args::joined(OWN_SPEC, &super::FILE_ATTRIBUTES, &CELL)
}

/// A file read for editing: its stat (followed) and its bytes (None when absent).
pub struct Loaded {
    pub stat: RemoteStat,
    pub data: Option<Vec<u8>>,
    /// Where writes go: the real path when `path` is a symlink.
    pub target: String,
}

/// Stats and reads `path` in one exec (the stat lines, a marker line, then the bytes). A
/// directory fails with Ansible's `Path X is a directory !`.
pub fn load(ctx: &mut ModuleContext, path: &str) -> Result<Loaded, ModuleError> {
    let marker = format!("@@data-{}", unique_token());
    let q = shell_path(path);
    let script = format!(
        "{}{}if [ -e {q} ] && [ ! -d {q} ]; then printf '%s\\n' {m}; exec cat -- {q}; fi\n",
        remote_file::prelude(),
        remote_file::stat_fragment("p", path, true, None),
        m = quote(&marker),
    );
    let out = exec_script(ctx, script)?;
    let (head, body) = split_marker(&out.stdout, marker.as_bytes());
    let stat = remote_file::parse_stats(&text(head))
        .remove("p")
        .unwrap_or_default();
    if stat.kind == Kind::Dir {
        let mut m = map([
            (
                "msg",
                Value::String(format!("Path {path} is a directory !")),
            ),
            ("rc", Value::from(256)),
        ]);
        m.insert("changed".into(), Value::Bool(false));
        return Err(ModuleError::Failed(m));
    }
    let data = if stat.exists() {
        match body {
            Some(b) if out.rc == 0 => Some(b.to_vec()),
            _ => {
                return Err(ModuleError::msg(format!(
                    "could not read {path}: {}",
                    text(&out.stderr).trim()
                )))
            }
        }
    } else {
        None
    };
    let target = stat.real_path.clone().unwrap_or_else(|| path.to_string());
    Ok(Loaded { stat, data, target })
}

/// Splits `out` at the line `marker`: what came before, and the bytes after (None when the
/// marker never came).
fn split_marker<'a>(out: &'a [u8], marker: &[u8]) -> (&'a [u8], Option<&'a [u8]>) {
    let mut line = marker.to_vec();
    line.push(b'\n');
    let at = out.windows(line.len()).position(|w| w == line.as_slice());
    match at {
        Some(i) if i == 0 || out[i - 1] == b'\n' => (&out[..i], Some(&out[i + line.len()..])),
        _ => (out, None),
    }
}

/// A token no file name printed by the stat lines is likely to contain.
fn unique_token() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{:x}{:x}", std::process::id(), nanos)
}

/// What [`save`] did.
pub struct Saved {
    pub attrs_changed: bool,
    pub backup: Option<String>,
    pub attr_diff: (Map<String, Value>, Map<String, Value>),
}

/// Writes `new` (when Some) and applies mode/owner/group, honoring check mode.
pub fn save(
    ctx: &mut ModuleContext,
    file: &Loaded,
    new: Option<&[u8]>,
    attrs: &Attrs,
    backup: bool,
    validate: Option<&str>,
) -> Result<Saved, ModuleError> {
    let path = file.target.as_str();
    // A file about to be created is compared with what the umask usually gives.
    let basis = if file.stat.exists() {
        file.stat.clone()
    } else {
        RemoteStat {
            kind: Kind::File,
            mode: 0o100644,
            ..RemoteStat::default()
        }
    };
    let mut fragment = attrs.fragment(path, &basis, false)?;
    if !file.stat.exists() {
        // Owner/group of a new file are unknown here; only the mode counts as a change.
        fragment = Attrs {
            owner: None,
            group: None,
            ..attrs.clone()
        }
        .fragment(path, &basis, false)?;
    }
    let (mut b, mut a) = attr_diff(ctx, path, &basis, attrs)?;
    // Unlike the file module's, these attribute diffs carry no path.
    b.remove("path");
    a.remove("path");
    let attr_diff = (b, a);
    let mut saved = Saved {
        attrs_changed: !fragment.is_empty(),
        backup: None,
        attr_diff,
    };
    if ctx.check_mode {
        return Ok(saved);
    }
    if let Some(data) = new {
        if !file.stat.exists() {
            if let Some((dir, _)) = path.rsplit_once('/').filter(|(d, _)| !d.is_empty()) {
                let out = exec_script(ctx, format!("mkdir -p -- {}", shell_path(dir)))?;
                if out.rc != 0 {
                    return Err(ModuleError::msg(format!(
                        "Error creating {dir} ({})",
                        text(&out.stderr).trim()
                    )));
                }
            }
        }
        let (_, b) = write_replace(
            ctx,
            data,
            path,
            &file.stat,
            attrs,
            backup && file.stat.exists(),
            validate,
        )?;
        saved.backup = b;
    } else if !fragment.is_empty() {
        remote_file::run_then_stat(ctx, &fragment, path, false, None)?;
    }
    Ok(saved)
}

/// The `[content diff, attribute diff]` list Ansible's line-editing modules return.
pub fn diff_list(path: &str, before: &[u8], after: &[u8], saved: &Saved) -> Value {
    let content = map([
        ("after", Value::String(text(after))),
        ("after_header", Value::String(format!("{path} (content)"))),
        ("before", Value::String(text(before))),
        ("before_header", Value::String(format!("{path} (content)"))),
    ]);
    let mut attrs = Map::new();
    if saved.attrs_changed {
        let (b, a) = &saved.attr_diff;
        attrs.insert("after".into(), Value::Object(a.clone()));
        attrs.insert("before".into(), Value::Object(b.clone()));
    }
    attrs.insert(
        "after_header".into(),
        Value::String(format!("{path} (file attributes)")),
    );
    attrs.insert(
        "before_header".into(),
        Value::String(format!("{path} (file attributes)")),
    );
    Value::Array(vec![Value::Object(content), Value::Object(attrs)])
}

/// Ansible's `check_file_attrs` message rule.
pub fn attrs_message(changed: bool, msg: String, saved: &Saved) -> (bool, String) {
    if !saved.attrs_changed {
        return (changed, msg);
    }
    let mut msg = msg;
    if changed {
        msg.push_str(" and ");
    }
    msg.push_str("ownership, perms or SE linux context changed");
    (true, msg)
}

/// Compiles a Python-style pattern with the Rust regex engine.
pub fn compile(pattern: &str) -> Result<Regex, ModuleError> {
    Regex::new(pattern)
        .map_err(|e| ModuleError::msg(format!("invalid regular expression '{pattern}': {e}")))
}

/// Python's `match.expand(template)`: `\1`, `\g<1>`, `\g<name>` and the usual escapes.
pub fn expand(caps: &Captures, template: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    let group = |name: &[u8], out: &mut Vec<u8>| {
        let s = String::from_utf8_lossy(name);
        let m = match s.parse::<usize>() {
            Ok(n) => caps.get(n),
            Err(_) => caps.name(&s),
        };
        if let Some(m) = m {
            out.extend_from_slice(m.as_bytes());
        }
    };
    while i < template.len() {
        let c = template[i];
        if c != b'\\' || i + 1 >= template.len() {
            out.push(c);
            i += 1;
            continue;
        }
        let n = template[i + 1];
        match n {
            b'0'..=b'9' => {
                let mut j = i + 1;
                while j < template.len() && j < i + 3 && template[j].is_ascii_digit() {
                    j += 1;
                }
                group(&template[i + 1..j], &mut out);
                i = j;
            }
            b'g' if template.get(i + 2) == Some(&b'<') => {
                match template[i + 3..].iter().position(|&b| b == b'>') {
                    Some(end) => {
                        group(&template[i + 3..i + 3 + end], &mut out);
                        i = i + 4 + end;
                    }
                    None => {
                        out.extend_from_slice(b"\\g");
                        i += 2;
                    }
                }
            }
            b'n' => {
                out.push(b'\n');
                i += 2;
            }
            b't' => {
                out.push(b'\t');
                i += 2;
            }
            b'r' => {
                out.push(b'\r');
                i += 2;
            }
            b'\\' => {
                out.push(b'\\');
                i += 2;
            }
            _ => {
                out.push(b'\\');
                i += 1;
            }
        }
    }
    out
}

/// Python's `bytes.readlines()`: lines with their `\n`.
pub fn split_lines(data: &[u8]) -> Vec<Vec<u8>> {
    data.split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

fn strip_eol(l: &[u8]) -> &[u8] {
    let mut end = l.len();
    while end > 0 && (l[end - 1] == b'\n' || l[end - 1] == b'\r') {
        end -= 1;
    }
    &l[..end]
}

/// A regex search on one line; `$` should match before the line's newline, as in Python.
fn search<'a>(re: &Regex, line: &'a [u8]) -> Option<Captures<'a>> {
    let body = line.strip_suffix(b"\n").unwrap_or(line);
    re.captures(body)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

struct Present<'a> {
    regexp: Option<&'a Regex>,
    search_string: Option<&'a [u8]>,
    line: &'a [u8],
    insertafter: Option<&'a str>,
    insertbefore: Option<&'a str>,
    ins_re: Option<Regex>,
    backrefs: bool,
    firstmatch: bool,
}

/// Ansible's `present()` text logic; returns the new lines and the message.
fn present(lines: &mut Vec<Vec<u8>>, p: &Present) -> &'static str {
    let mut index: [i64; 2] = [-1, -1];
    let mut matched: Option<Vec<u8>> = None;
    let mut matched_any = false;
    let mut exact_line_match = false;
    let nl = b"\n".as_slice();
    if let Some(re) = p.regexp {
        for (no, cur) in lines.iter().enumerate() {
            if let Some(c) = search(re, cur) {
                index[0] = no as i64;
                matched = Some(if p.backrefs {
                    expand(&c, p.line)
                } else {
                    p.line.to_vec()
                });
                matched_any = true;
                if p.firstmatch {
                    break;
                }
            }
        }
    }
    if let Some(s) = p.search_string {
        for (no, cur) in lines.iter().enumerate() {
            if contains(cur, s) {
                index[0] = no as i64;
                matched = Some(p.line.to_vec());
                matched_any = true;
                if p.firstmatch {
                    break;
                }
            }
        }
    }
    if !matched_any {
        for (no, cur) in lines.iter().enumerate() {
            if strip_eol(cur) == p.line {
                index[0] = no as i64;
                exact_line_match = true;
            } else if p.ins_re.as_ref().is_some_and(|r| search(r, cur).is_some()) {
                if p.insertafter.is_some() {
                    index[1] = no as i64 + 1;
                    if p.firstmatch {
                        break;
                    }
                }
                if p.insertbefore.is_some() {
                    index[1] = no as i64;
                    if p.firstmatch {
                        break;
                    }
                }
            }
        }
    }
    let with_nl = |l: &[u8]| {
        let mut v = l.to_vec();
        v.extend_from_slice(nl);
        v
    };
    let line = p.line;
    if index[0] != -1 {
        let mut new_line = if p.backrefs && matched_any {
            matched.clone().unwrap_or_default()
        } else {
            line.to_vec()
        };
        if !new_line.ends_with(nl) {
            new_line.extend_from_slice(nl);
        }
        let i0 = index[0] as usize;
        if p.regexp.is_none() && p.search_string.is_none() && !matched_any && !exact_line_match {
            // Unreachable in practice (index[0] is only set by a match); kept for parity.
            return "";
        }
        if lines[i0] != new_line {
            lines[i0] = new_line;
            return "line replaced";
        }
        return "";
    }
    if p.backrefs {
        return "";
    }
    if p.insertbefore == Some("BOF") || p.insertafter == Some("BOF") {
        lines.insert(0, with_nl(line));
        return "line added";
    }
    if p.insertafter == Some("EOF") || index[1] == -1 {
        if lines
            .last()
            .is_some_and(|l| !l.ends_with(b"\n") && !l.ends_with(b"\r"))
        {
            lines.push(nl.to_vec());
        }
        lines.push(with_nl(line));
        return "line added";
    }
    let i1 = index[1] as usize;
    if p.insertafter.is_some() {
        if lines.len() == i1 {
            if strip_eol(&lines[i1 - 1]) != line {
                lines.push(with_nl(line));
                return "line added";
            }
        } else if strip_eol(&lines[i1]) != line {
            lines.insert(i1, with_nl(line));
            return "line added";
        }
        return "";
    }
    lines.insert(i1, with_nl(line));
    "line added"
}

impl Module for LineInFile {
    fn name(&self) -> &'static str {
        "lineinfile"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        spec()
    }
    fn run(&self, args: &Args, ctx: &mut ModuleContext) -> ModuleResult {
        let path = args.str("path").unwrap_or_default().to_string();
        for (a, b) in [
            ("insertbefore", "insertafter"),
            ("regexp", "search_string"),
            ("backrefs", "search_string"),
        ] {
            let given = |k: &str| args.get(k).is_some() && args.get(k) != Some(&Value::Bool(false));
            if given(a) && given(b) {
                return Err(ModuleError::msg(format!(
                    "parameters are mutually exclusive: {a}|{b}"
                )));
            }
        }
        let regexp = args.str("regexp").map(compile).transpose()?;
        let search_string = args.str("search_string");
        let line = args.str("line");
        let backup = args.bool_or("backup", false);
        let attrs = Attrs::from_args(args)?;
        let validate = args.str("validate");
        let present_state = args.str("state").unwrap_or("present") == "present";

        if present_state {
            let backrefs = args.bool_or("backrefs", false);
            if backrefs && regexp.is_none() {
                return Err(ModuleError::msg("regexp is required with backrefs=true"));
            }
            let Some(line) = line else {
                return Err(ModuleError::msg("line is required with state=present"));
            };
            let file = load(ctx, &path)?;
            if !file.stat.exists() && !args.bool_or("create", false) {
                let mut m = map([
                    (
                        "msg",
                        Value::String(format!("Destination {path} does not exist !")),
                    ),
                    ("rc", Value::from(257)),
                ]);
                m.insert("changed".into(), Value::Bool(false));
                return Err(ModuleError::Failed(sorted(m)));
            }
            let (mut ins_aft, ins_bef) = (args.str("insertafter"), args.str("insertbefore"));
            if ins_aft.is_none() && ins_bef.is_none() {
                ins_aft = Some("EOF");
            }
            let ins_re = match (ins_aft, ins_bef) {
                (Some(a), _) if a != "BOF" && a != "EOF" => Some(compile(a)?),
                (None, Some(b)) if b != "BOF" => Some(compile(b)?),
                _ => None,
            };
            let before = file.data.clone().unwrap_or_default();
            let mut lines = split_lines(&before);
            let p = Present {
                regexp: regexp.as_ref(),
                search_string: search_string.map(str::as_bytes),
                line: line.as_bytes(),
                insertafter: ins_aft,
                insertbefore: ins_bef,
                ins_re,
                backrefs,
                firstmatch: args.bool_or("firstmatch", false),
            };
            let msg = present(&mut lines, &p);
            let after: Vec<u8> = lines.concat();
            let changed = !msg.is_empty();
            let saved = save(
                ctx,
                &file,
                changed.then_some(after.as_slice()),
                &attrs,
                backup,
                validate,
            )?;
            let (changed, msg) = attrs_message(changed, msg.to_string(), &saved);
            let mut res = map([
                (
                    "backup",
                    Value::String(saved.backup.clone().unwrap_or_default()),
                ),
                ("changed", Value::Bool(changed)),
            ]);
            if ctx.diff_mode {
                res.insert("diff".into(), diff_list(&path, &before, &after, &saved));
            }
            res.insert("msg".into(), Value::String(msg));
            return Ok(res);
        }

        if regexp.is_none() && search_string.is_none() && line.is_none() {
            return Err(ModuleError::msg(
                "one of line, search_string, or regexp is required with state=absent",
            ));
        }
        let file = load(ctx, &path)?;
        let Some(before) = file.data.clone() else {
            return Ok(map([
                ("changed", Value::Bool(false)),
                ("msg", Value::String("file not present".into())),
            ]));
        };
        let mut found = 0usize;
        let kept: Vec<Vec<u8>> = split_lines(&before)
            .into_iter()
            .filter(|l| {
                let hit = match (&regexp, search_string, line) {
                    (Some(re), _, _) => search(re, l).is_some(),
                    (None, Some(s), _) => contains(l, s.as_bytes()),
                    (None, None, Some(line)) => strip_eol(l) == line.as_bytes(),
                    _ => false,
                };
                found += usize::from(hit);
                !hit
            })
            .collect();
        let after = kept.concat();
        let changed = found > 0;
        let msg = if changed {
            format!("{found} line(s) removed")
        } else {
            String::new()
        };
        let saved = save(
            ctx,
            &file,
            changed.then_some(after.as_slice()),
            &attrs,
            backup,
            validate,
        )?;
        let (changed, msg) = attrs_message(changed, msg, &saved);
        let mut res = map([
            (
                "backup",
                Value::String(saved.backup.clone().unwrap_or_default()),
            ),
            ("changed", Value::Bool(changed)),
        ]);
        if ctx.diff_mode {
            res.insert("diff".into(), diff_list(&path, &before, &after, &saved));
        }
        res.insert("found".into(), Value::from(found));
        res.insert("msg".into(), Value::String(msg));
        Ok(res)
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use crate::connection::local::LocalConnection;
    use crate::modules::util::test_support::{failed, run, run_with, JsonEval, Opts};
    use serde_json::json;

    /// Runs a module in check and diff mode as asked.
    pub fn run_diff(module: &dyn Module, args: Value, check: bool) -> ModuleResult {
        let raw = args.as_object().cloned().unwrap_or_default();
        let args = crate::modules::validate(module.name(), module.spec(), raw).unwrap();
        let mut conn = LocalConnection;
        let eval = JsonEval(json!({}));
        let mut ctx = ModuleContext {
            host: "localhost",
            conn: &mut conn,
            check_mode: check,
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
        module.run(&args, &mut ctx)
    }

    fn lines_of(text: &str, p: Present) -> (String, &'static str) {
        let mut l = split_lines(text.as_bytes());
        let msg = present(&mut l, &p);
        (String::from_utf8(l.concat()).unwrap(), msg)
    }

    fn base<'a>(line: &'a str) -> Present<'a> {
        Present {
            regexp: None,
            search_string: None,
            line: line.as_bytes(),
            insertafter: Some("EOF"),
            insertbefore: None,
            ins_re: None,
            backrefs: false,
            firstmatch: false,
        }
    }

    #[test]
    fn marker_splits_stat_lines_from_data() {
        let out = b"@@p st=1\n@@M\nbody @@M\n\nend";
        let (head, body) = split_marker(out, b"@@M");
        assert_eq!(head, b"@@p st=1\n");
        assert_eq!(body, Some(&b"body @@M\n\nend"[..]));
        assert_eq!(split_marker(b"x@@M\n", b"@@M"), (&b"x@@M\n"[..], None));
        assert_eq!(split_marker(b"@@M\n", b"@@M"), (&b""[..], Some(&b""[..])));
    }

    #[test]
    fn loads_binary_data_and_empty_files_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("bin 'x'");
        let bytes: Vec<u8> = (0..=255u8).chain(b"\n@@data-0\n".iter().copied()).collect();
        std::fs::write(&f, &bytes).unwrap();
        let mut conn = crate::connection::local::LocalConnection;
        let eval = crate::modules::util::test_support::JsonEval(serde_json::json!({}));
        let mut ctx = ModuleContext {
            host: "localhost",
            conn: &mut conn,
            check_mode: false,
            diff_mode: false,
            verbosity: 0,
            become_: Default::default(),
            env: vec![],
            search_paths: vec![],
            role_path: None,
            task_dir: None,
            eval: &eval,
            fleet: None,
        };
        let l = load(&mut ctx, f.to_str().unwrap()).unwrap();
        assert_eq!(l.data.as_deref(), Some(bytes.as_slice()));
        assert_eq!(l.stat.size, bytes.len() as u64);
        std::fs::write(&f, b"").unwrap();
        let l = load(&mut ctx, f.to_str().unwrap()).unwrap();
        assert_eq!(l.data.as_deref(), Some(&b""[..]));
        let l = load(&mut ctx, dir.path().join("none").to_str().unwrap()).unwrap();
        assert!(l.data.is_none() && !l.stat.exists());
    }

    #[test]
    fn present_logic_matches_ansible() {
        assert_eq!(
            lines_of("a\nb\n", base("c")),
            ("a\nb\nc\n".into(), "line added")
        );
        assert_eq!(
            lines_of("a\nb", base("c")),
            ("a\nb\nc\n".into(), "line added")
        );
        assert_eq!(lines_of("a\nc\n", base("c")), ("a\nc\n".into(), ""));
        let re = compile("^b").unwrap();
        let p = Present {
            regexp: Some(&re),
            ..base("B")
        };
        assert_eq!(
            lines_of("a\nbx\nc\n", p),
            ("a\nB\nc\n".into(), "line replaced")
        );
        let re = compile("^#?Port (\\d+)$").unwrap();
        let p = Present {
            regexp: Some(&re),
            backrefs: true,
            ..base("Port \\1 ok")
        };
        assert_eq!(
            lines_of("#Port 22\n", p),
            ("Port 22 ok\n".into(), "line replaced")
        );
        let p = Present {
            regexp: Some(&re),
            backrefs: true,
            ..base("x")
        };
        assert_eq!(lines_of("nothing\n", p), ("nothing\n".into(), ""));
        let p = Present {
            insertafter: None,
            insertbefore: Some("BOF"),
            ..base("first")
        };
        assert_eq!(lines_of("a\n", p), ("first\na\n".into(), "line added"));
        let p = Present {
            insertafter: Some("^a"),
            ins_re: Some(compile("^a").unwrap()),
            ..base("x")
        };
        assert_eq!(
            lines_of("a\nb\na\nc\n", p),
            ("a\nb\na\nx\nc\n".into(), "line added")
        );
        let p = Present {
            insertafter: Some("^a"),
            ins_re: Some(compile("^a").unwrap()),
            firstmatch: true,
            ..base("x")
        };
        assert_eq!(
            lines_of("a\nb\na\nc\n", p),
            ("a\nx\nb\na\nc\n".into(), "line added")
        );
        let p = Present {
            insertafter: None,
            insertbefore: Some("^c"),
            ins_re: Some(compile("^c").unwrap()),
            ..base("x")
        };
        assert_eq!(lines_of("a\nc\n", p), ("a\nx\nc\n".into(), "line added"));
        let p = Present {
            search_string: Some(b"key="),
            ..base("key=2")
        };
        assert_eq!(lines_of("key=1\n", p), ("key=2\n".into(), "line replaced"));
    }

    #[test]
    fn module_present_absent_check_and_backup() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("conf $(x) 'y'");
        let p = f.to_str().unwrap();
        std::fs::write(&f, "a\nb\n").unwrap();
        let r = run_with(
            &LineInFile,
            json!({"path": p, "line": "foo"}),
            Opts {
                check: true,
                ..Opts::default()
            },
        )
        .unwrap();
        assert_eq!(r["changed"], json!(true));
        assert_eq!(r["msg"], json!("line added"));
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "a\nb\n");
        let r = run(&LineInFile, json!({"path": p, "line": "foo"})).unwrap();
        assert_eq!(r["msg"], json!("line added"));
        assert_eq!(r["backup"], json!(""));
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "a\nb\nfoo\n");
        let r = run(&LineInFile, json!({"path": p, "line": "foo"})).unwrap();
        assert_eq!(r["changed"], json!(false));
        assert_eq!(r["msg"], json!(""));
        let r = run_diff(
            &LineInFile,
            json!({"path": p, "line": "bar", "regexp": "^foo"}),
            false,
        )
        .unwrap();
        assert_eq!(r["msg"], json!("line replaced"));
        assert_eq!(r["diff"][0]["before"], json!("a\nb\nfoo\n"));
        assert_eq!(r["diff"][0]["after"], json!("a\nb\nbar\n"));
        assert_eq!(
            r["diff"][0]["before_header"],
            json!(format!("{p} (content)"))
        );
        assert_eq!(
            r["diff"][1]["after_header"],
            json!(format!("{p} (file attributes)"))
        );
        let r = run(
            &LineInFile,
            json!({"path": p, "regexp": "^(a|b)$", "state": "absent", "backup": true}),
        )
        .unwrap();
        assert_eq!(r["msg"], json!("2 line(s) removed"));
        assert_eq!(r["found"], json!(2));
        let b = r["backup"].as_str().unwrap();
        assert_eq!(std::fs::read_to_string(b).unwrap(), "a\nb\nbar\n");
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "bar\n");
        let r = run(
            &LineInFile,
            json!({"path": p, "line": "bar", "mode": "0600"}),
        )
        .unwrap();
        assert_eq!(r["changed"], json!(true));
        assert_eq!(
            r["msg"],
            json!("ownership, perms or SE linux context changed")
        );
    }

    #[test]
    fn create_and_missing() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("sub/new");
        let p = f.to_str().unwrap();
        let e = failed(run(&LineInFile, json!({"path": p, "line": "x"})));
        assert_eq!(e["msg"], json!(format!("Destination {p} does not exist !")));
        assert_eq!(e["rc"], json!(257));
        let r = run(&LineInFile, json!({"path": p, "line": "x", "create": true})).unwrap();
        assert_eq!(r["msg"], json!("line added"));
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "x\n");
        let r = run(&LineInFile, json!({"path": dir.path().join("none").to_str().unwrap(), "line": "x", "state": "absent"})).unwrap();
        assert_eq!(r["msg"], json!("file not present"));
        let e = failed(run(
            &LineInFile,
            json!({"path": dir.path().to_str().unwrap(), "line": "x"}),
        ));
        assert_eq!(e["rc"], json!(256));
    }
}
