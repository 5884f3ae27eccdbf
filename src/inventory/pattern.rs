//! Host patterns (`hosts:`, `--limit`), evaluated the way ansible-core's
//! `InventoryManager.get_hosts` does: `a:b`/`a,b` union, `&` intersection, `!` exclusion
//! (positive patterns first, then `&`, then `!`), globs, `~regex`, and `[i]`/`[i:j]`
//! subscripts with an inclusive end.

use super::host_range::parse_address;
use super::{Inventory, LOCALHOST_NAMES};
use crate::error::{Error, Result};
use regex::Regex;
use std::collections::HashSet;
use std::sync::OnceLock;

/// `split_host_pattern`: commas split; otherwise colons split, except inside brackets and
/// in an address (IPv6, `host:port`) that must stay whole.
pub fn split_host_pattern(pattern: &str) -> Vec<String> {
    let parts: Vec<String> = if pattern.contains(',') {
        pattern.split(',').map(str::to_string).collect()
    } else if parse_address(pattern).is_some() {
        vec![pattern.to_string()]
    } else {
        static R: OnceLock<Regex> = OnceLock::new();
        let r = R.get_or_init(|| {
            Regex::new(r"(?:[^\s:\[\]]|\[[^\]]*\])+")
                .unwrap_or_else(|e| panic!("built-in regex: {e}"))
        });
        r.find_iter(pattern)
            .map(|m| m.as_str().to_string())
            .collect()
    };
    parts
        .into_iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// The patterns of a `--limit`: `@file` items read one pattern per line.
pub(crate) fn limit_patterns(limit: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for p in split_host_pattern(limit) {
        if let Some(file) = p.strip_prefix('@') {
            let path = std::path::Path::new(file);
            if !path.exists() {
                return Err(Error::other(format!("Unable to find limit file {file}")));
            }
            if !path.is_file() {
                return Err(Error::other(format!(
                    "Limit starting with \"@\" must be a file, not a directory: {file}"
                )));
            }
            let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
            out.extend(text.split('\n').map(|l| l.trim().to_string()));
        } else {
            out.push(p);
        }
    }
    Ok(out)
}

/// Evaluates already split patterns: the hosts, deduplicated in order, and the
/// "Could not match" warnings.
pub(crate) fn evaluate(inv: &Inventory, patterns: &[String]) -> Result<(Vec<String>, Vec<String>)> {
    let mut regular = Vec::new();
    let mut intersect = Vec::new();
    let mut exclude = Vec::new();
    for p in patterns.iter().filter(|p| !p.is_empty()) {
        if p.starts_with('!') {
            exclude.push(p.as_str());
        } else if p.starts_with('&') {
            intersect.push(p.as_str());
        } else {
            regular.push(p.as_str());
        }
    }
    // Only `&`/`!` patterns apply to everything.
    if regular.is_empty() {
        regular.push("all");
    }
    let mut warnings = Vec::new();
    let mut hosts: Vec<String> = Vec::new();
    for p in regular.into_iter().chain(intersect).chain(exclude) {
        if inv.hosts.get(p).is_some_and(|h| !h.implicit) {
            hosts.push(p.to_string());
            continue;
        }
        let that = match_one(inv, p, &mut warnings)?;
        if p.starts_with('!') {
            let that: HashSet<&String> = that.iter().collect();
            hosts.retain(|h| !that.contains(h));
        } else if p.starts_with('&') {
            let that: HashSet<&String> = that.iter().collect();
            hosts.retain(|h| that.contains(h));
        } else {
            let existing: HashSet<String> = hosts.iter().cloned().collect();
            hosts.extend(that.into_iter().filter(|h| !existing.contains(h)));
        }
    }
    let mut seen = HashSet::new();
    hosts.retain(|h| seen.insert(h.clone()));
    Ok((hosts, warnings))
}

/// One pattern, without its `&`/`!`, with its subscript applied.
fn match_one(inv: &Inventory, pattern: &str, warnings: &mut Vec<String>) -> Result<Vec<String>> {
    let pattern = pattern.strip_prefix(['&', '!']).unwrap_or(pattern);
    if pattern.is_empty() {
        return Ok(Vec::new());
    }
    let (expr, sub) = split_subscript(pattern);
    let hosts = enumerate(inv, &expr, warnings)?;
    apply_subscript(hosts, sub).ok_or_else(|| {
        Error::other(format!(
            "No hosts matched the subscripted pattern '{pattern}'"
        ))
    })
}

/// `[i]` or `[start:end]` (end inclusive; missing end means the last host).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Subscript {
    Index(i64),
    Range(usize, Option<usize>),
}

fn split_subscript(pattern: &str) -> (String, Option<Subscript>) {
    if pattern.starts_with('~') {
        return (pattern.to_string(), None);
    }
    static R: OnceLock<Regex> = OnceLock::new();
    let r = R.get_or_init(|| {
        Regex::new(r"^(.+)\[(?:(-?[0-9]+)|([0-9]+)([:-])([0-9]*))\]$")
            .unwrap_or_else(|e| panic!("built-in regex: {e}"))
    });
    let Some(c) = r.captures(pattern) else {
        return (pattern.to_string(), None);
    };
    let expr = c[1].to_string();
    if let Some(idx) = c.get(2) {
        return match idx.as_str().parse() {
            Ok(i) => (expr, Some(Subscript::Index(i))),
            Err(_) => (pattern.to_string(), None),
        };
    }
    let start = c[3].parse().unwrap_or(usize::MAX);
    let end = c.get(5).map(|m| m.as_str()).filter(|s| !s.is_empty());
    let end = end.map(|e| e.parse().unwrap_or(usize::MAX));
    (expr, Some(Subscript::Range(start, end)))
}

/// `None` when a single index is out of range (Ansible's IndexError).
fn apply_subscript(hosts: Vec<String>, sub: Option<Subscript>) -> Option<Vec<String>> {
    let Some(sub) = sub else {
        return Some(hosts);
    };
    if hosts.is_empty() {
        return Some(hosts);
    }
    let len = hosts.len();
    let single = |i: i64| -> Option<Vec<String>> {
        let idx = if i < 0 { len as i64 + i } else { i };
        if idx < 0 || idx as usize >= len {
            return None;
        }
        Some(vec![hosts[idx as usize].clone()])
    };
    match sub {
        Subscript::Index(i) => single(i),
        // `[n:0]` is a single index in Ansible (a zero end reads as "no end").
        Subscript::Range(start, Some(0)) => single(start as i64),
        Subscript::Range(start, end) => {
            let end = end.unwrap_or(len - 1).saturating_add(1).min(len);
            if start >= end {
                return Some(Vec::new());
            }
            Some(hosts[start..end].to_vec())
        }
    }
}

/// A compiled pattern: a glob (fnmatch) or a `~regex` anchored at the start.
struct Matcher(Regex);

impl Matcher {
    fn new(pattern: &str) -> Result<Matcher> {
        let src = match pattern.strip_prefix('~') {
            Some(re) => format!("^(?:{re})"),
            None => glob_to_regex(pattern),
        };
        Regex::new(&src)
            .map(Matcher)
            .map_err(|_| Error::other(format!("Invalid host list pattern: {pattern}")))
    }
    fn is_match(&self, s: &str) -> bool {
        self.0.is_match(s)
    }
}

/// Python's `fnmatch.translate`: `*`, `?`, `[seq]`, `[!seq]`, whole-string match.
fn glob_to_regex(pat: &str) -> String {
    let chars: Vec<char> = pat.chars().collect();
    let mut out = String::from(r"(?s)^(?:");
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '*' => out.push_str(".*"),
            '?' => out.push('.'),
            '[' => {
                let mut j = i;
                if j < chars.len() && chars[j] == '!' {
                    j += 1;
                }
                if j < chars.len() && chars[j] == ']' {
                    j += 1;
                }
                while j < chars.len() && chars[j] != ']' {
                    j += 1;
                }
                if j >= chars.len() {
                    out.push_str(r"\[");
                } else {
                    let inner: String = chars[i..j].iter().collect();
                    i = j + 1;
                    let (neg, body) = match inner.strip_prefix('!') {
                        Some(rest) => (true, rest.to_string()),
                        None => (false, inner),
                    };
                    let body = body.replace('\\', r"\\").replace('[', r"\[");
                    if body.is_empty() {
                        // `[]` never matches; `[!]` matches any character.
                        out.push_str(if neg { "." } else { "(?!)" });
                    } else if neg {
                        out.push_str(&format!("[^{body}]"));
                    } else {
                        out.push_str(&format!("[{body}]"));
                    }
                }
            }
            other => out.push_str(&regex::escape(&other.to_string())),
        }
    }
    out.push_str(")$");
    out
}

/// `_enumerate_matches`: groups whose name matches give all their hosts; hosts are matched
/// when no group matched or the pattern is a glob/regex; a localhost name that matches
/// nothing is the implicit localhost.
fn enumerate(inv: &Inventory, pattern: &str, warnings: &mut Vec<String>) -> Result<Vec<String>> {
    let m = Matcher::new(pattern)?;
    let mut results = Vec::new();
    let groups: Vec<&String> = inv.groups.keys().filter(|g| m.is_match(g)).collect();
    for g in &groups {
        results.extend(inv.group_hosts(g));
    }
    let special = pattern.starts_with('~') || pattern.contains(['.', '?', '*', '[']);
    if groups.is_empty() || special {
        results.extend(
            inv.hosts
                .values()
                .filter(|h| !h.implicit && m.is_match(&h.name))
                .map(|h| h.name.clone()),
        );
    }
    if results.is_empty() && LOCALHOST_NAMES.contains(&pattern) {
        results.push(pattern.to_string());
    }
    if results.is_empty() && groups.is_empty() && pattern != "all" {
        warnings.push(format!(
            "Could not match supplied host pattern, ignoring: {pattern}"
        ));
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitting() {
        assert_eq!(
            split_host_pattern("a,b[1], c[2:3] , d"),
            vec!["a", "b[1]", "c[2:3]", "d"]
        );
        assert_eq!(split_host_pattern("web:&db:!x"), vec!["web", "&db", "!x"]);
        assert_eq!(split_host_pattern("web[1:3]"), vec!["web[1:3]"]);
        assert_eq!(split_host_pattern("web*"), vec!["web*"]);
        assert_eq!(split_host_pattern("fe80::1"), vec!["fe80::1"]);
        assert_eq!(split_host_pattern("all:!db"), vec!["all", "!db"]);
        assert!(split_host_pattern("").is_empty());
    }

    #[test]
    fn subscripts() {
        let h: Vec<String> = ["a", "b", "c", "d"].iter().map(|s| s.to_string()).collect();
        let sub = |p: &str| split_subscript(p).1;
        assert_eq!(apply_subscript(h.clone(), sub("g[0]")).unwrap(), vec!["a"]);
        assert_eq!(apply_subscript(h.clone(), sub("g[-1]")).unwrap(), vec!["d"]);
        assert_eq!(
            apply_subscript(h.clone(), sub("g[1:2]")).unwrap(),
            vec!["b", "c"]
        );
        assert_eq!(
            apply_subscript(h.clone(), sub("g[2:]")).unwrap(),
            vec!["c", "d"]
        );
        assert_eq!(
            apply_subscript(h.clone(), sub("g[3:10]")).unwrap(),
            vec!["d"]
        );
        assert!(apply_subscript(h.clone(), sub("g[9]")).is_none());
        assert_eq!(split_subscript("~web[1]"), ("~web[1]".to_string(), None));
    }

    #[test]
    fn globs() {
        let m = Matcher::new("web*").unwrap();
        assert!(m.is_match("web01") && !m.is_match("xweb"));
        let m = Matcher::new("w?b[0-9]").unwrap();
        assert!(m.is_match("web1") && !m.is_match("web10"));
        let m = Matcher::new("h[!a]").unwrap();
        assert!(m.is_match("hb") && !m.is_match("ha"));
        let m = Matcher::new("a.b").unwrap();
        assert!(m.is_match("a.b") && !m.is_match("axb"));
        let m = Matcher::new("~(web|db)\\d").unwrap();
        assert!(m.is_match("db1x") && !m.is_match("xdb1"));
        assert!(Matcher::new("~(").is_err());
    }
}
