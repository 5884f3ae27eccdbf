//! `ansible.cfg` syntax: a port of Python's `configparser.ConfigParser(inline_comment_prefixes=(';',))`,
//! which is what ansible-core 2.19 reads it with.
//!
//! Hand-written rather than a crate because the details that users hit are Python's own:
//! `;` starts a comment only at line start or after whitespace (`#` only at line start),
//! indented lines continue the previous value, keys are case-insensitive, `[DEFAULT]` values
//! fall through to every section, and a repeated section or key is an error (strict mode).

use indexmap::IndexMap;

/// A parsed INI file: section name (case-sensitive) → lowercased key → value.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Ini {
    defaults: IndexMap<String, String>,
    sections: IndexMap<String, IndexMap<String, String>>,
}

impl Ini {
    /// The value of `key` in `section`, falling back to `[DEFAULT]`, as `parser.get(raw=True)`.
    pub fn get(&self, section: &str, key: &str) -> Option<&str> {
        let key = key.to_lowercase();
        let sect = self.sections.get(section)?;
        sect.get(&key)
            .or_else(|| self.defaults.get(&key))
            .map(String::as_str)
    }

    pub fn has_section(&self, section: &str) -> bool {
        self.sections.contains_key(section)
    }
}

/// Parses INI text. `name` is used in error messages only.
pub fn parse(text: &str, name: &str) -> Result<Ini, String> {
    let mut ini = Ini::default();
    // Values are collected as lines and joined at the end, as configparser does.
    let mut defaults: IndexMap<String, Vec<String>> = IndexMap::new();
    let mut sections: IndexMap<String, IndexMap<String, Vec<String>>> = IndexMap::new();
    // None: before any header; Some(None): [DEFAULT]; Some(Some(name)): a section.
    let mut cur: Option<Option<String>> = None;
    let mut optname: Option<String> = None;
    let mut indent_level = usize::MAX;
    let mut seen_sections: Vec<String> = Vec::new();
    let mut seen_options: Vec<(String, String)> = Vec::new();
    let mut bad_lines: Vec<String> = Vec::new();

    for (idx, line) in text.lines().enumerate() {
        let lineno = idx + 1;
        let comment_start = comment_start(line);
        let value = line[..comment_start.unwrap_or(line.len())].trim();
        if value.is_empty() {
            // An empty line inside a value is kept (empty_lines_in_values=True), a comment is not.
            if comment_start.is_none() {
                if let (Some(sect), Some(opt)) = (&cur, &optname) {
                    let target = match sect {
                        None => defaults.get_mut(opt),
                        Some(s) => sections.get_mut(s).and_then(|m| m.get_mut(opt)),
                    };
                    if let Some(lines) = target {
                        lines.push(String::new());
                    }
                }
            }
            continue;
        }
        let cur_indent = line.len() - line.trim_start().len();
        if cur.is_some() && optname.is_some() && cur_indent > indent_level {
            let (Some(sect), Some(opt)) = (&cur, &optname) else {
                continue;
            };
            let target = match sect {
                None => defaults.get_mut(opt),
                Some(s) => sections.get_mut(s).and_then(|m| m.get_mut(opt)),
            };
            if let Some(lines) = target {
                lines.push(value.to_string());
            }
            continue;
        }
        indent_level = cur_indent;
        if let Some(header) = section_header(value) {
            if header == "DEFAULT" {
                cur = Some(None);
            } else {
                if seen_sections.iter().any(|s| s == header) {
                    return Err(format!(
                        "While reading from '{name}' [line {lineno:2}]: section '{header}' already exists"
                    ));
                }
                seen_sections.push(header.to_string());
                sections.entry(header.to_string()).or_default();
                cur = Some(Some(header.to_string()));
            }
            optname = None;
            continue;
        }
        let Some(sect) = &cur else {
            return Err(format!(
                "File contains no section headers.\nfile: '{name}', line: {lineno}\n{line:?}"
            ));
        };
        match split_option(value) {
            Some((key, val)) => {
                let key = key.to_lowercase();
                let sect_name = sect.clone().unwrap_or_else(|| "DEFAULT".into());
                if seen_options
                    .iter()
                    .any(|(s, k)| *s == sect_name && *k == key)
                {
                    return Err(format!(
                        "While reading from '{name}' [line {lineno:2}]: option '{key}' in section '{sect_name}' already exists"
                    ));
                }
                seen_options.push((sect_name, key.clone()));
                let lines = vec![val.to_string()];
                match sect {
                    None => {
                        defaults.insert(key.clone(), lines);
                    }
                    Some(s) => {
                        sections
                            .entry(s.clone())
                            .or_default()
                            .insert(key.clone(), lines);
                    }
                }
                optname = Some(key);
            }
            None => bad_lines.push(format!("\t[line {lineno:2}]: {line:?}")),
        }
    }
    if !bad_lines.is_empty() {
        return Err(format!(
            "Source contains parsing errors: '{name}'\n{}",
            bad_lines.join("\n")
        ));
    }
    let join = |lines: Vec<String>| lines.join("\n").trim_end().to_string();
    ini.defaults = defaults.into_iter().map(|(k, v)| (k, join(v))).collect();
    ini.sections = sections
        .into_iter()
        .map(|(s, m)| (s, m.into_iter().map(|(k, v)| (k, join(v))).collect()))
        .collect();
    Ok(ini)
}

/// Where a comment starts: a line whose stripped form starts with `#` or `;`, or a `;`
/// at column 0 or after whitespace.
fn comment_start(line: &str) -> Option<usize> {
    let stripped = line.trim();
    if stripped.starts_with('#') || stripped.starts_with(';') {
        return Some(0);
    }
    let mut prev: Option<char> = None;
    for (i, c) in line.char_indices() {
        if c == ';' && prev.is_none_or(char::is_whitespace) {
            return Some(i);
        }
        prev = Some(c);
    }
    None
}

/// `[name]` at the start of a stripped line; like Python's `\[(?P<header>.+)\]` with `match`,
/// the name runs to the last `]`.
fn section_header(value: &str) -> Option<&str> {
    let rest = value.strip_prefix('[')?;
    let end = rest.rfind(']')?;
    let header = &rest[..end];
    (!header.is_empty()).then_some(header)
}

/// `key = value` or `key: value`, split at the first delimiter; the key must not be empty.
fn split_option(value: &str) -> Option<(&str, &str)> {
    let pos = value.find(['=', ':'])?;
    let key = value[..pos].trim_end();
    if key.is_empty() {
        return None;
    }
    Some((key, value[pos + 1..].trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_follow_configparser_rules() {
        let ini = parse(
            "# top\n  ; indented\n[defaults]\nforks = 7 ; inline\nuser = bob#x\nt: 33;x\n",
            "t",
        )
        .unwrap();
        assert_eq!(ini.get("defaults", "forks"), Some("7"));
        assert_eq!(ini.get("defaults", "user"), Some("bob#x"));
        assert_eq!(ini.get("defaults", "t"), Some("33;x"));
    }

    #[test]
    fn keys_are_case_insensitive_sections_are_not() {
        let ini = parse("[defaults]\nTimeout = 3\n", "t").unwrap();
        assert_eq!(ini.get("defaults", "timeout"), Some("3"));
        assert_eq!(ini.get("Defaults", "timeout"), None);
    }

    #[test]
    fn continuation_lines_and_default_section() {
        let ini = parse(
            "[DEFAULT]\nshared = s\n[defaults]\nroles_path = a:\n   b\n\n   c\nnext = n\n",
            "t",
        )
        .unwrap();
        assert_eq!(ini.get("defaults", "roles_path"), Some("a:\nb\n\nc"));
        assert_eq!(ini.get("defaults", "next"), Some("n"));
        assert_eq!(ini.get("defaults", "shared"), Some("s"));
        assert!(ini.has_section("defaults"));
        assert!(!ini.has_section("DEFAULT"));
    }

    #[test]
    fn strict_duplicates_and_missing_header_are_errors() {
        let e = parse("[a]\nx=1\nX=2\n", "f.cfg").unwrap_err();
        assert!(
            e.contains("option 'x' in section 'a' already exists"),
            "{e}"
        );
        let e = parse("[a]\n[a]\n", "f.cfg").unwrap_err();
        assert!(e.contains("section 'a' already exists"), "{e}");
        let e = parse("x = 1\n", "f.cfg").unwrap_err();
        assert!(e.contains("no section headers"), "{e}");
        let e = parse("[a]\njust a line\n", "f.cfg").unwrap_err();
        assert!(e.contains("parsing errors"), "{e}");
    }
}
