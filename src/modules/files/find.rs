//! `find`: lists files on the host that match name patterns, age, size, type and content.
//!
//! One round trip runs `find` under each path with GNU `stat --printf` (NUL-terminated, so
//! any file name parses); the filters run on the controller with Ansible's semantics
//! (`fnmatch` or `re.match` on the base name, `os.walk` order and depth, hidden names).
//! `contains` and `get_checksum` need the candidates' contents: one more round trip, only
//! for the files that passed the other filters.

use crate::connection::quote;
use crate::modules::util::{self, map};
use crate::modules::{ArgKind, ArgSpec, Args, Module, ModuleContext, ModuleError, ModuleResult};
use serde_json::{Map, Value};
use std::collections::HashMap;

pub struct Find;

const SPEC: &[ArgSpec] = &[
    ArgSpec::new("paths", ArgKind::List)
        .required()
        .aliases(&["name", "path"]),
    ArgSpec::new("patterns", ArgKind::List).aliases(&["pattern"]),
    ArgSpec::new("excludes", ArgKind::List).aliases(&["exclude"]),
    ArgSpec::new("contains", ArgKind::Str),
    ArgSpec::new("read_whole_file", ArgKind::Bool),
    ArgSpec::new("file_type", ArgKind::Str).choices(&["any", "directory", "file", "link"]),
    ArgSpec::new("recurse", ArgKind::Bool),
    ArgSpec::new("depth", ArgKind::Int),
    ArgSpec::new("hidden", ArgKind::Bool),
    ArgSpec::new("age", ArgKind::Str),
    ArgSpec::new("age_stamp", ArgKind::Str).choices(&["atime", "ctime", "mtime"]),
    ArgSpec::new("size", ArgKind::Str),
    ArgSpec::new("follow", ArgKind::Bool),
    ArgSpec::new("get_checksum", ArgKind::Bool),
    ArgSpec::new("checksum_algorithm", ArgKind::Str)
        .aliases(&["checksum", "checksum_algo"])
        .choices(&["md5", "sha1", "sha224", "sha256", "sha384", "sha512"]),
    ArgSpec::new("use_regex", ArgKind::Bool),
    ArgSpec::new("encoding", ArgKind::Str),
    ArgSpec::new("limit", ArgKind::Int),
    ArgSpec::new("mode", ArgKind::Raw),
    ArgSpec::new("exact_mode", ArgKind::Bool),
];

const ROOT: &str = "@@yiqiu:root ";
const SKIP: &str = "@@yiqiu:skip ";
/// `stat` fields, in the order [`Entry::parse`] reads them; the name comes last.
const STAT_FMT: &str = "%f %u %g %s %i %h %d %.9X %.9Y %.9Z %U %G %n\\0";

/// One file system entry as `stat` printed it.
#[derive(Clone, Debug)]
struct Entry {
    raw_mode: u32,
    uid: i64,
    gid: i64,
    size: i64,
    inode: i64,
    nlink: i64,
    dev: i64,
    atime: f64,
    mtime: f64,
    ctime: f64,
    owner: String,
    group: String,
    path: String,
}

impl Entry {
    fn parse(rec: &str) -> Option<Entry> {
        let mut it = rec.splitn(13, ' ');
        let mut next = || it.next();
        Some(Entry {
            raw_mode: u32::from_str_radix(next()?, 16).ok()?,
            uid: next()?.parse().ok()?,
            gid: next()?.parse().ok()?,
            size: next()?.parse().ok()?,
            inode: next()?.parse().ok()?,
            nlink: next()?.parse().ok()?,
            dev: next()?.parse().ok()?,
            atime: next()?.parse().ok()?,
            mtime: next()?.parse().ok()?,
            ctime: next()?.parse().ok()?,
            owner: next()?.to_string(),
            group: next()?.to_string(),
            path: next()?.to_string(),
        })
    }
    fn kind(&self) -> u32 {
        self.raw_mode & 0o170000
    }
    fn is_dir(&self) -> bool {
        self.kind() == 0o040000
    }
    fn is_reg(&self) -> bool {
        self.kind() == 0o100000
    }
    fn is_lnk(&self) -> bool {
        self.kind() == 0o120000
    }
    fn name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }
    fn parent(&self) -> &str {
        self.path.rsplit_once('/').map_or("", |(p, _)| p)
    }

    /// Ansible's `statinfo()` keys.
    fn to_json(&self) -> Map<String, Value> {
        let m = self.raw_mode;
        let bit = |b: u32| Value::Bool(m & b != 0);
        let float = |f: f64| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number);
        map([
            ("path", Value::String(self.path.clone())),
            ("mode", Value::String(format!("{:04o}", m & 0o7777))),
            ("isdir", Value::Bool(self.is_dir())),
            ("ischr", Value::Bool(self.kind() == 0o020000)),
            ("isblk", Value::Bool(self.kind() == 0o060000)),
            ("isreg", Value::Bool(self.is_reg())),
            ("isfifo", Value::Bool(self.kind() == 0o010000)),
            ("islnk", Value::Bool(self.is_lnk())),
            ("issock", Value::Bool(self.kind() == 0o140000)),
            ("uid", Value::from(self.uid)),
            ("gid", Value::from(self.gid)),
            ("size", Value::from(self.size)),
            ("inode", Value::from(self.inode)),
            ("dev", Value::from(self.dev)),
            ("nlink", Value::from(self.nlink)),
            ("atime", float(self.atime)),
            ("mtime", float(self.mtime)),
            ("ctime", float(self.ctime)),
            ("gr_name", Value::String(self.group.clone())),
            ("pw_name", Value::String(self.owner.clone())),
            ("wusr", bit(0o200)),
            ("rusr", bit(0o400)),
            ("xusr", bit(0o100)),
            ("wgrp", bit(0o020)),
            ("rgrp", bit(0o040)),
            ("xgrp", bit(0o010)),
            ("woth", bit(0o002)),
            ("roth", bit(0o004)),
            ("xoth", bit(0o001)),
            ("isuid", bit(0o4000)),
            ("isgid", bit(0o2000)),
        ])
    }
}

/// `age`/`size` values: a number with an optional unit suffix; negative means "at most".
fn parse_scaled(s: &str, units: &[(char, f64)], what: &str) -> Result<f64, ModuleError> {
    let s = s.trim();
    let (num, scale) = match s.chars().last() {
        Some(c) if c.is_ascii_alphabetic() => {
            let lc = c.to_ascii_lowercase();
            let scale = units
                .iter()
                .find(|(u, _)| *u == lc)
                .map(|(_, f)| *f)
                .ok_or_else(|| ModuleError::msg(format!("failed to process {what}")))?;
            (&s[..s.len() - 1], scale)
        }
        _ => (s, 1.0),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| ModuleError::msg(format!("failed to process {what}")))?;
    Ok(n * scale)
}

/// Name filters: `fnmatch` globs or regexes (`re.match`, anchored at the start).
enum NameFilter {
    Globs(Vec<glob::Pattern>),
    Regexes(Vec<regex::Regex>),
}

impl NameFilter {
    fn new(pats: &[String], use_regex: bool) -> Result<NameFilter, ModuleError> {
        if use_regex {
            pats.iter()
                .map(|p| {
                    regex::Regex::new(&format!("^(?:{p})"))
                        .map_err(|e| ModuleError::msg(format!("invalid pattern {p:?}: {e}")))
                })
                .collect::<Result<_, _>>()
                .map(NameFilter::Regexes)
        } else {
            pats.iter()
                .map(|p| {
                    glob::Pattern::new(p)
                        .map_err(|e| ModuleError::msg(format!("invalid pattern {p:?}: {e}")))
                })
                .collect::<Result<_, _>>()
                .map(NameFilter::Globs)
        }
    }
    fn any(&self, name: &str) -> bool {
        let opts = glob::MatchOptions {
            case_sensitive: true,
            require_literal_separator: false,
            require_literal_leading_dot: false,
        };
        match self {
            NameFilter::Globs(g) => g.iter().any(|p| p.matches_with(name, opts)),
            NameFilter::Regexes(r) => r.iter().any(|p| p.is_match(name)),
        }
    }
    fn is_empty(&self) -> bool {
        match self {
            NameFilter::Globs(g) => g.is_empty(),
            NameFilter::Regexes(r) => r.is_empty(),
        }
    }
}

fn strings(args: &Args, key: &str) -> Vec<String> {
    args.list(key)
        .map(|l| {
            l.iter()
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Orders entries like `os.walk` (top-down; in each directory its non-directories, then its
/// directories, then each subdirectory's contents), keeping `find`'s readdir order.
fn walk_order(root: &str, entries: Vec<Entry>) -> Vec<Entry> {
    let mut children: HashMap<String, Vec<Entry>> = HashMap::new();
    for e in entries {
        children.entry(e.parent().to_string()).or_default().push(e);
    }
    let mut out = Vec::new();
    let mut stack = vec![root.trim_end_matches('/').to_string()];
    if root == "/" {
        stack = vec![String::new()];
    }
    while let Some(dir) = stack.pop() {
        let Some(kids) = children.remove(&dir) else {
            continue;
        };
        let (dirs, files): (Vec<Entry>, Vec<Entry>) = kids.into_iter().partition(Entry::is_dir);
        for d in dirs.iter().rev() {
            stack.push(d.path.clone());
        }
        out.extend(files);
        out.extend(dirs);
    }
    out
}

/// `os.walk` visits a directory's entries before descending; our stack pops the first
/// subdirectory first, which is the same top-down order.
fn depth_of(root: &str, path: &str) -> usize {
    let base = root.trim_end_matches('/').matches('/').count();
    path.matches('/').count() - base
}

impl Module for Find {
    fn name(&self) -> &'static str {
        "find"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn run(&self, args: &Args, ctx: &mut ModuleContext) -> ModuleResult {
        let paths = strings(args, "paths");
        let patterns =
            NameFilter::new(&strings(args, "patterns"), args.bool_or("use_regex", false))?;
        let excludes =
            NameFilter::new(&strings(args, "excludes"), args.bool_or("use_regex", false))?;
        let file_type = args.str("file_type").unwrap_or("file");
        let recurse = args.bool_or("recurse", false);
        let depth = args.int("depth").filter(|d| *d > 0).map(|d| d as usize);
        let hidden = args.bool_or("hidden", false);
        let age = match args.str("age") {
            Some(a) => Some(parse_scaled(
                a,
                &[
                    ('s', 1.0),
                    ('m', 60.0),
                    ('h', 3600.0),
                    ('d', 86400.0),
                    ('w', 604800.0),
                ],
                "age",
            )?),
            None => None,
        };
        let size = match args.str("size") {
            Some(s) => Some(parse_scaled(
                s,
                &[
                    ('b', 1.0),
                    ('k', 1024.0),
                    ('m', 1048576.0),
                    ('g', 1073741824.0),
                    ('t', 1099511627776.0),
                ],
                "size",
            )?),
            None => None,
        };
        let want_mode = match args.get("mode") {
            None => None,
            Some(v) => {
                let m = util::mode_arg(v).unwrap_or_default();
                Some(u32::from_str_radix(&m, 8).map_err(|_| {
                    ModuleError::msg(format!("find: only octal modes are supported, got {m}"))
                })?)
            }
        };
        let exact_mode = args.bool_or("exact_mode", true);
        let read_whole = args.bool_or("read_whole_file", false);
        // Line by line it is `re.match` (anchored at the line start), whole file `re.search`.
        let contains =
            match args.str("contains") {
                Some(c) => {
                    let pat = if read_whole {
                        c.to_string()
                    } else {
                        format!("^(?:{c})")
                    };
                    Some(regex::Regex::new(&pat).map_err(|e| {
                        ModuleError::msg(format!("invalid contains regex {c:?}: {e}"))
                    })?)
                }
                None => None,
            };
        let get_checksum = args.bool_or("get_checksum", false);
        let algo = args.str("checksum_algorithm").unwrap_or("sha1");
        let limit = args.int("limit").filter(|l| *l > 0).map(|l| l as usize);

        // Entries one level deeper than `depth` are listed too: Ansible counts them as
        // examined (os.walk lists them) without matching them.
        let maxdepth = match (recurse, depth) {
            (false, _) => " -maxdepth 1".to_string(),
            (true, Some(d)) => format!(" -maxdepth {}", d + 1),
            (true, None) => String::new(),
        };
        let follow = if args.bool_or("follow", false) {
            " -L"
        } else {
            ""
        };
        let mut script = String::from("for __yq_p in");
        for p in &paths {
            script.push(' ');
            script.push_str(&util::shell_path(p));
        }
        script.push_str(&format!(
            "; do\n  if [ -d \"$__yq_p\" ]; then printf '{ROOT}%s\\0' \"$__yq_p\"\n    \
             find{follow} \"$__yq_p\" -mindepth 1{maxdepth} -exec stat --printf '{STAT_FMT}' {{}} + 2>/dev/null\n  \
             else printf '{SKIP}%s\\0' \"$__yq_p\"; fi\ndone\n"
        ));
        let out = util::exec_script(ctx, script)?;
        let stdout = util::text(&out.stdout);

        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or_default();
        let mut skipped = Map::new();
        let mut examined = 0usize;
        let mut matched: Vec<Entry> = Vec::new();
        let mut roots: Vec<(String, Vec<Entry>)> = Vec::new();
        for rec in stdout.split('\0').filter(|r| !r.is_empty()) {
            if let Some(root) = rec.strip_prefix(ROOT) {
                roots.push((root.to_string(), Vec::new()));
            } else if let Some(p) = rec.strip_prefix(SKIP) {
                skipped.insert(p.into(), Value::String(format!("'{p}' is not a directory")));
            } else if let (Some(e), Some((_, list))) = (Entry::parse(rec), roots.last_mut()) {
                list.push(e);
            }
        }
        for (root, entries) in roots {
            for e in walk_order(&root, entries) {
                examined += 1;
                if depth.is_some_and(|d| depth_of(&root, &e.path) > d) {
                    continue;
                }
                let name = e.name();
                if name.starts_with('.') && !hidden {
                    continue;
                }
                let type_ok = match file_type {
                    "any" => true,
                    "directory" => e.is_dir(),
                    "link" => e.is_lnk(),
                    _ => e.is_reg(),
                };
                if !type_ok {
                    continue;
                }
                let name_ok = (patterns.is_empty() || patterns.any(name))
                    && (excludes.is_empty() || !excludes.any(name));
                let stamp = match args.str("age_stamp").unwrap_or("mtime") {
                    "atime" => e.atime,
                    "ctime" => e.ctime,
                    _ => e.mtime,
                };
                let age_ok = age.is_none_or(|a| {
                    if a >= 0.0 {
                        now - stamp >= a
                    } else {
                        now - stamp <= a.abs()
                    }
                });
                let size_ok = size.is_none_or(|s| {
                    if s >= 0.0 {
                        e.size as f64 >= s
                    } else {
                        e.size as f64 <= s.abs()
                    }
                });
                let mode_ok = want_mode.is_none_or(|m| {
                    let have = e.raw_mode & 0o7777;
                    if exact_mode {
                        have == m
                    } else {
                        have & m == m
                    }
                });
                // Ansible applies size only to files; directories pass the size filter.
                let size_ok = size_ok || !e.is_reg();
                if name_ok && age_ok && size_ok && mode_ok {
                    matched.push(e);
                }
            }
        }

        // Content and checksums: one more round trip for the candidates that need them.
        let needs_content = contains.is_some();
        let regular: Vec<&Entry> = matched
            .iter()
            .filter(|e| e.is_reg() && (needs_content || get_checksum))
            .collect();
        let mut extra: HashMap<String, (Option<String>, Option<String>)> = HashMap::new();
        if !regular.is_empty() {
            let sum = format!("{algo}sum");
            let mut s = String::from("for __yq_f in");
            for e in &regular {
                s.push(' ');
                s.push_str(&quote(&e.path));
            }
            let sum_cmd = if get_checksum {
                format!("$({sum} < \"$__yq_f\" 2>/dev/null | cut -d' ' -f1)")
            } else {
                "-".into()
            };
            let cat = if needs_content {
                "cat \"$__yq_f\" 2>/dev/null"
            } else {
                ":"
            };
            s.push_str(&format!(
                "; do\n  __yq_n=$(wc -c < \"$__yq_f\" 2>/dev/null || echo 0)\n  \
                 printf '%s %s\\n' {sum_cmd} $__yq_n\n  [ {content} = 1 ] && {cat}\ndone\n",
                content = u8::from(needs_content),
            ));
            let out = util::exec_script(ctx, s)?;
            let mut rest: &[u8] = &out.stdout;
            for e in &regular {
                let Some(nl) = rest.iter().position(|b| *b == b'\n') else {
                    break;
                };
                let head = util::text(&rest[..nl]);
                rest = &rest[nl + 1..];
                let mut parts = head.split(' ');
                let sum = parts
                    .next()
                    .filter(|s| *s != "-" && !s.is_empty())
                    .map(str::to_string);
                let n: usize = parts
                    .next()
                    .and_then(|n| n.trim().parse().ok())
                    .unwrap_or(0);
                let body = if needs_content {
                    let take = n.min(rest.len());
                    let b = util::text(&rest[..take]);
                    rest = &rest[take..];
                    Some(b)
                } else {
                    None
                };
                extra.insert(e.path.clone(), (sum, body));
            }
        }

        let mut files = Vec::new();
        for e in matched {
            let (sum, body) = extra.remove(&e.path).unwrap_or((None, None));
            if let Some(re) = &contains {
                if !e.is_reg() && file_type != "any" {
                    continue;
                }
                if e.is_reg() {
                    let text = body.unwrap_or_default();
                    let found = if read_whole {
                        // Python's `$` also matches just before a final newline.
                        re.is_match(&text)
                            || text.strip_suffix('\n').is_some_and(|t| re.is_match(t))
                    } else {
                        text.lines().any(|l| re.is_match(l))
                    };
                    if !found {
                        continue;
                    }
                }
            }
            let mut j = e.to_json();
            if let Some(s) = sum {
                j.insert("checksum".into(), Value::String(s));
            }
            files.push(Value::Object(j));
            if limit.is_some_and(|l| files.len() >= l) {
                break;
            }
        }
        let msg = if skipped.is_empty() {
            "All paths examined"
        } else {
            "Not all paths examined, check warnings for details"
        };
        let warnings: Vec<Value> = skipped
            .iter()
            .map(|(p, why)| {
                Value::String(format!(
                    "Skipped '{p}' path due to this access issue: {}",
                    why.as_str().unwrap_or_default()
                ))
            })
            .collect();
        let mut res = map([
            ("changed", Value::Bool(false)),
            ("examined", Value::from(examined)),
            ("matched", Value::from(files.len())),
            ("files", Value::Array(files)),
            ("msg", Value::String(msg.into())),
            ("skipped_paths", Value::Object(skipped)),
        ]);
        if !warnings.is_empty() {
            res.insert("warnings".into(), Value::Array(warnings));
        }
        Ok(res)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::util::test_support::run;
    use serde_json::json;
    use std::fs;

    fn tree() -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        fs::create_dir_all(r.join("sub/deeper")).unwrap();
        fs::create_dir_all(r.join(".hid")).unwrap();
        fs::write(r.join("a.txt"), "hello\nport=80\n").unwrap();
        fs::write(r.join("b.log"), "x").unwrap();
        fs::write(r.join(".dot.txt"), "").unwrap();
        fs::write(r.join("sub/c.txt"), "port 81").unwrap();
        fs::write(r.join("sub/deeper/d.txt"), "dd").unwrap();
        fs::write(r.join(".hid/e.txt"), "e").unwrap();
        fs::write(r.join("it's; $(x).txt"), "q").unwrap();
        t
    }

    fn paths(r: &Map<String, Value>) -> Vec<String> {
        let mut v: Vec<String> = r["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                f["path"]
                    .as_str()
                    .unwrap()
                    .rsplit_once("/")
                    .unwrap()
                    .1
                    .to_string()
            })
            .collect();
        v.sort();
        v
    }

    #[test]
    fn patterns_recurse_depth_hidden() {
        let t = tree();
        let root = t.path().to_str().unwrap();
        let r = run(&Find, json!({"paths": root, "patterns": "*.txt"})).unwrap();
        assert_eq!(paths(&r), vec!["a.txt", "it's; $(x).txt"]);
        assert_eq!(r["examined"], json!(6));
        assert_eq!(r["matched"], json!(2));
        assert_eq!(r["msg"], json!("All paths examined"));
        let f = &r["files"][0];
        assert_eq!(f["isreg"], json!(true));
        assert_eq!(f["mode"], json!("0644"));
        assert!(f["mtime"].as_f64().unwrap() > 1e9);

        let r = run(
            &Find,
            json!({"paths": [root], "patterns": ["*.txt"], "recurse": true}),
        )
        .unwrap();
        assert_eq!(
            paths(&r),
            vec!["a.txt", "c.txt", "d.txt", "e.txt", "it's; $(x).txt"]
        );
        let r = run(
            &Find,
            json!({"paths": [root], "patterns": ["*.txt"], "recurse": true, "depth": 1}),
        )
        .unwrap();
        assert_eq!(paths(&r), vec!["a.txt", "it's; $(x).txt"]);
        let r = run(
            &Find,
            json!({"paths": [root], "patterns": ["*.txt"], "hidden": true}),
        )
        .unwrap();
        assert_eq!(paths(&r), vec![".dot.txt", "a.txt", "it's; $(x).txt"]);
        let r = run(
            &Find,
            json!({"paths": [root], "file_type": "directory", "recurse": true}),
        )
        .unwrap();
        assert_eq!(paths(&r), vec!["deeper", "sub"]);
        let r = run(&Find, json!({"paths": [root], "patterns": ["^[ab]\\."], "use_regex": true, "excludes": "b.*"})).unwrap();
        assert_eq!(paths(&r), vec!["a.txt"]);
    }

    #[test]
    fn contains_size_age_checksum_and_missing_paths() {
        let t = tree();
        let root = t.path().to_str().unwrap();
        let r = run(
            &Find,
            json!({"paths": root, "recurse": true, "contains": "port"}),
        )
        .unwrap();
        assert_eq!(paths(&r), vec!["a.txt", "c.txt"]);
        let r = run(
            &Find,
            json!({"paths": root, "recurse": true, "contains": "p.rt=8", "read_whole_file": true}),
        )
        .unwrap();
        assert_eq!(paths(&r), vec!["a.txt"]);
        let r = run(&Find, json!({"paths": root, "size": "10"})).unwrap();
        assert_eq!(paths(&r), vec!["a.txt"]);
        let r = run(&Find, json!({"paths": root, "size": "-1b"})).unwrap();
        assert_eq!(paths(&r), vec!["b.log", "it's; $(x).txt"]);
        // Everything was just written: nothing is a day old, everything is younger.
        let r = run(&Find, json!({"paths": root, "age": "1d"})).unwrap();
        assert_eq!(r["matched"], json!(0));
        let r = run(
            &Find,
            json!({"paths": root, "age": "-1d", "patterns": "a.*"}),
        )
        .unwrap();
        assert_eq!(paths(&r), vec!["a.txt"]);
        let r = run(
            &Find,
            json!({"paths": root, "patterns": "b.log", "get_checksum": true}),
        )
        .unwrap();
        assert_eq!(
            r["files"][0]["checksum"],
            json!("11f6ad8ec52a2984abaafd7c3b516503785c2072")
        );
        let r = run(
            &Find,
            json!({"paths": [root, "/nonexistent/x"], "patterns": "b.log"}),
        )
        .unwrap();
        assert_eq!(
            r["msg"],
            json!("Not all paths examined, check warnings for details")
        );
        assert_eq!(
            r["skipped_paths"]["/nonexistent/x"],
            json!("'/nonexistent/x' is not a directory")
        );
        assert_eq!(r["matched"], json!(1));
    }

    #[test]
    fn walk_order_lists_files_before_subdirectories() {
        let e = |p: &str, dir: bool| {
            Entry::parse(&format!(
                "{} 0 0 0 0 0 0 0 0 0 u g {p}",
                if dir { "41ed" } else { "81a4" }
            ))
            .unwrap()
        };
        let out = walk_order(
            "/r",
            vec![e("/r/d", true), e("/r/d/x", false), e("/r/f", false)],
        );
        let names: Vec<&str> = out.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(names, vec!["/r/f", "/r/d", "/r/d/x"]);
    }
}
