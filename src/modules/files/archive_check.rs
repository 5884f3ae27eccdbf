//! Archive listings and the safety rules `unarchive` applies before it extracts anything.
//!
//! Listings come from the host (`tar -tv --quoting-style=c`, `unzip -Z`/`-Z1`) so one code
//! path serves controller and remote sources. An entry is refused when its name is absolute
//! or has a `..` component, when it is a device or fifo, or when it is a link whose target
//! leaves the destination.

/// What an archive entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    Hardlink,
    /// Character or block device, fifo, socket, or anything else tar can make.
    Special,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub kind: Kind,
    /// The link target for symlinks and hard links.
    pub target: Option<String>,
}

fn kind_of(c: char) -> Kind {
    match c {
        '-' => Kind::File,
        'd' => Kind::Dir,
        'l' => Kind::Symlink,
        'h' => Kind::Hardlink,
        _ => Kind::Special,
    }
}

/// Reads one C-quoted string (`"a\"b\n"`) at the start of `s`; returns it and the rest.
fn c_unquote(s: &str) -> Option<(String, &str)> {
    let mut bytes = Vec::new();
    let rest = s.strip_prefix('"')?;
    let mut it = rest.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        match c {
            '"' => return Some((String::from_utf8_lossy(&bytes).into_owned(), &rest[i + 1..])),
            '\\' => {
                let (_, e) = it.next()?;
                let b = match e {
                    'n' => b'\n',
                    't' => b'\t',
                    'r' => b'\r',
                    'a' => 7,
                    'b' => 8,
                    'f' => 12,
                    'v' => 11,
                    '0'..='7' => {
                        let mut v = e.to_digit(8)?;
                        for _ in 0..2 {
                            match it.peek() {
                                Some((_, d @ '0'..='7')) => {
                                    v = v * 8 + d.to_digit(8)?;
                                    it.next();
                                }
                                _ => break,
                            }
                        }
                        u8::try_from(v).ok()?
                    }
                    other => {
                        let mut buf = [0u8; 4];
                        bytes.extend_from_slice(other.encode_utf8(&mut buf).as_bytes());
                        continue;
                    }
                };
                bytes.push(b);
            }
            other => {
                let mut buf = [0u8; 4];
                bytes.extend_from_slice(other.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    None
}

/// Parses GNU `tar -tv --quoting-style=c` output. Errors name the line it could not read:
/// an unreadable listing is refused rather than guessed at.
pub fn parse_tar_listing(text: &str) -> Result<Vec<Entry>, String> {
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let kind = kind_of(line.chars().next().unwrap_or('?'));
        let q = line
            .find(" \"")
            .ok_or_else(|| format!("cannot read the archive listing line: {line}"))?;
        let (name, rest) = c_unquote(&line[q + 1..])
            .ok_or_else(|| format!("cannot read the archive listing line: {line}"))?;
        let target = if let Some(t) = rest.strip_prefix(" -> ") {
            Some(
                c_unquote(t)
                    .map(|(t, _)| t)
                    .ok_or_else(|| format!("cannot read the link target in: {line}"))?,
            )
        } else if let Some(t) = rest.strip_prefix(" link to ") {
            Some(
                c_unquote(t)
                    .map(|(t, _)| t)
                    .ok_or_else(|| format!("cannot read the link target in: {line}"))?,
            )
        } else {
            None
        };
        out.push(Entry { name, kind, target });
    }
    Ok(out)
}

/// Pairs `unzip -Z` entry lines (for the type) with `unzip -Z1` names (exact).
pub fn parse_zip_listing(long: &str, names: &str) -> Result<Vec<Entry>, String> {
    let kinds: Vec<Kind> = long
        .lines()
        .filter(|l| {
            let mut f = l.split_whitespace();
            let (Some(perm), Some(ver)) = (f.next(), f.next()) else {
                return false;
            };
            perm.len() >= 7
                && ver.split('.').count() == 2
                && ver.replace('.', "").chars().all(|c| c.is_ascii_digit())
        })
        // Entries made on other systems show `?` or DOS bits: only unix special types count.
        .map(|l| match l.chars().next() {
            Some('l') => Kind::Symlink,
            Some('c' | 'b' | 'p' | 's') => Kind::Special,
            _ => Kind::File,
        })
        .collect();
    let names: Vec<&str> = names.lines().collect();
    if kinds.len() != names.len() {
        return Err(format!(
            "cannot read the zip listing ({} entries, {} names)",
            kinds.len(),
            names.len()
        ));
    }
    Ok(names
        .into_iter()
        .zip(kinds)
        .map(|(n, k)| {
            // Zip directories are the names ending in `/`, whatever the host system bits say.
            let kind = if n.ends_with('/') {
                Kind::Dir
            } else if k == Kind::Dir {
                Kind::File
            } else {
                k
            };
            Entry {
                name: n.to_string(),
                kind,
                target: None,
            }
        })
        .collect())
}

/// `path`'s components after lexical normalisation, or `None` when it climbs above its
/// starting point (or is absolute).
fn normalize(path: &str) -> Option<Vec<&str>> {
    if path.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    Some(parts)
}

/// Why `e` must not be extracted, if it must not.
pub fn refusal(e: &Entry) -> Option<String> {
    let name = &e.name;
    if name.starts_with('/') {
        return Some(format!("'{name}' is an absolute path"));
    }
    if name.split('/').any(|c| c == "..") {
        return Some(format!("'{name}' has a '..' component"));
    }
    match e.kind {
        Kind::Special => Some(format!("'{name}' is a device, fifo or socket")),
        Kind::Symlink => {
            let t = e.target.as_deref().unwrap_or("");
            if t.starts_with('/') {
                return Some(format!(
                    "symlink '{name}' points to the absolute path '{t}'"
                ));
            }
            let parent = name
                .trim_end_matches('/')
                .rsplit_once('/')
                .map_or("", |(p, _)| p);
            let joined = if parent.is_empty() {
                t.to_string()
            } else {
                format!("{parent}/{t}")
            };
            normalize(&joined)
                .is_none()
                .then(|| format!("symlink '{name}' points to '{t}', outside the destination"))
        }
        Kind::Hardlink => {
            let t = e.target.as_deref().unwrap_or("");
            (t.starts_with('/') || t.split('/').any(|c| c == ".."))
                .then(|| format!("hard link '{name}' points to '{t}', outside the destination"))
        }
        Kind::File | Kind::Dir => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tar_listing_with_quotes_links_and_specials() {
        let l = "drwxr-xr-x root/root         0 2026-11-23 05:55 \"d/\"\n\
                 -rw-r--r-- a b/c         3 2026-11-23 05:55 \"d/it\\\"s \\303\\251\"\n\
                 lrwxrwxrwx root/root         0 2026-11-23 05:55 \"d/l\" -> \"../x\"\n\
                 hrw-r--r-- root/root         0 2026-11-23 05:55 \"d/h\" link to \"d/f\"\n\
                 prw-r--r-- root/root         0 2026-11-23 05:55 \"d/p\"\n";
        let e = parse_tar_listing(l).unwrap();
        assert_eq!(e[1].name, "d/it\"s é");
        assert_eq!(e[1].kind, Kind::File);
        assert_eq!(
            e[2],
            Entry {
                name: "d/l".into(),
                kind: Kind::Symlink,
                target: Some("../x".into())
            }
        );
        assert_eq!(e[3].target.as_deref(), Some("d/f"));
        assert_eq!(e[4].kind, Kind::Special);
        assert!(refusal(&e[2]).is_none(), "d/../x stays inside");
        assert!(refusal(&e[4]).is_some());
        assert!(parse_tar_listing("garbage line").is_err());
    }

    #[test]
    fn refusals() {
        let f = |n: &str| Entry {
            name: n.into(),
            kind: Kind::File,
            target: None,
        };
        let l = |n: &str, t: &str| Entry {
            name: n.into(),
            kind: Kind::Symlink,
            target: Some(t.into()),
        };
        assert!(refusal(&f("../evil")).is_some());
        assert!(refusal(&f("a/../../evil")).is_some());
        assert!(refusal(&f("/etc/passwd")).is_some());
        assert!(refusal(&f("./a/b..c")).is_none());
        assert!(refusal(&l("a/l", "../../etc")).is_some());
        assert!(refusal(&l("l", "/etc")).is_some());
        assert!(refusal(&l("a/b/l", "../c")).is_none());
        let h = Entry {
            name: "h".into(),
            kind: Kind::Hardlink,
            target: Some("../x".into()),
        };
        assert!(refusal(&h).is_some());
    }

    #[test]
    fn zip_listing_pairs_types_and_names() {
        let long = "Archive:  a.zip\nZip file size: 270 bytes, number of entries: 3\n\
                    drwxr-xr-x  2.0 unx        0 b- stor 26-Nov-23 05:55 d/\n\
                    -rw-r--r--  2.0 unx        3 b- stor 26-Nov-23 05:55 d/f  x\n\
                    lrwxrwxrwx  2.0 unx        1 b- stor 80-Jan-01 00:00 d/l\n\
                    3 files, 4 bytes uncompressed, 4 bytes compressed:  0.0%\n";
        let e = parse_zip_listing(long, "d/\nd/f  x\nd/l\n").unwrap();
        assert_eq!(
            e.iter().map(|e| e.kind).collect::<Vec<_>>(),
            vec![Kind::Dir, Kind::File, Kind::Symlink]
        );
        assert_eq!(e[1].name, "d/f  x");
        assert!(parse_zip_listing(long, "d/\n").is_err());
    }
}
