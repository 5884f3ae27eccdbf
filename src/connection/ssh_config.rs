//! A reader for the parts of OpenSSH's `~/.ssh/config` that decide where and how to connect.
//!
//! Hand-written rather than a crate: the available parser (`ssh2-config`) does not expose
//! `UserKnownHostsFile` or `StrictHostKeyChecking`, and the subset we need is small. Semantics
//! follow ssh_config(5): the first value obtained for a keyword wins, except `IdentityFile`
//! and `UserKnownHostsFile` entries which accumulate; `Host` patterns take `*`, `?` and `!`
//! negation; `Match` blocks are not evaluated (their keywords are skipped).

use std::path::{Path, PathBuf};

/// What the config says about one host.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostConfig {
    pub host_name: Option<String>,
    pub user: Option<String>,
    pub port: Option<u16>,
    pub identity_files: Vec<PathBuf>,
    pub user_known_hosts_files: Vec<PathBuf>,
    /// `yes`, `no`, `accept-new`, `ask` (lower-cased).
    pub strict_host_key_checking: Option<String>,
    pub connect_timeout: Option<u64>,
    pub server_alive_interval: Option<u64>,
    pub server_alive_count_max: Option<u32>,
}

#[derive(Clone, Debug)]
struct Block {
    /// `None` for `Match` blocks, which we never apply.
    patterns: Option<Vec<String>>,
    entries: Vec<(String, String)>,
}

/// A parsed config file: blocks in file order.
#[derive(Clone, Debug, Default)]
pub struct SshConfig {
    blocks: Vec<Block>,
}

impl SshConfig {
    /// Reads `path`; a missing or unreadable file is an empty config (as for ssh).
    pub fn load(path: &Path) -> SshConfig {
        match std::fs::read_to_string(path) {
            Ok(text) => SshConfig::parse_with_base(&text, path.parent(), 0),
            Err(_) => SshConfig::default(),
        }
    }

    pub fn parse(text: &str) -> SshConfig {
        SshConfig::parse_with_base(text, None, 0)
    }

    fn parse_with_base(text: &str, base: Option<&Path>, depth: u32) -> SshConfig {
        // Lines before the first Host apply to every host.
        let mut blocks = vec![Block {
            patterns: Some(vec!["*".into()]),
            entries: Vec::new(),
        }];
        for line in text.lines() {
            let Some((key, value)) = split_line(line) else {
                continue;
            };
            match key.as_str() {
                "host" => blocks.push(Block {
                    patterns: Some(words(&value)),
                    entries: Vec::new(),
                }),
                "match" => blocks.push(Block {
                    patterns: None,
                    entries: Vec::new(),
                }),
                "include" if depth < 8 => {
                    // Included files are spliced in place, inside the current block.
                    for pattern in words(&value) {
                        let pattern = expand_tilde(&pattern);
                        let full = match (Path::new(&pattern).is_absolute(), base) {
                            (false, Some(b)) => b.join(&pattern),
                            _ => PathBuf::from(&pattern),
                        };
                        let Ok(paths) = glob::glob(&full.to_string_lossy()) else {
                            continue;
                        };
                        for path in paths.flatten() {
                            if let Ok(text) = std::fs::read_to_string(&path) {
                                let inner = SshConfig::parse_with_base(&text, base, depth + 1);
                                let mut iter = inner.blocks.into_iter();
                                if let (Some(first), Some(last)) = (iter.next(), blocks.last_mut())
                                {
                                    last.entries.extend(first.entries);
                                }
                                blocks.extend(iter);
                            }
                        }
                    }
                }
                _ => {
                    if let Some(last) = blocks.last_mut() {
                        last.entries.push((key, value));
                    }
                }
            }
        }
        SshConfig { blocks }
    }

    /// The settings for `host` (the name as given, before `HostName`).
    pub fn query(&self, host: &str) -> HostConfig {
        let mut out = HostConfig::default();
        for block in &self.blocks {
            let Some(patterns) = &block.patterns else {
                continue;
            };
            if !host_matches(host, patterns) {
                continue;
            }
            for (key, value) in &block.entries {
                let first = words(value).into_iter().next().unwrap_or_default();
                match key.as_str() {
                    "hostname" => {
                        out.host_name.get_or_insert(first);
                    }
                    "user" => {
                        out.user.get_or_insert(first);
                    }
                    "port" if out.port.is_none() => out.port = first.parse().ok(),
                    "identityfile" => out.identity_files.push(PathBuf::from(expand_tilde(&first))),
                    // Only the first UserKnownHostsFile line counts; it may list several files.
                    "userknownhostsfile" if out.user_known_hosts_files.is_empty() => {
                        out.user_known_hosts_files = words(value)
                            .iter()
                            .map(|w| PathBuf::from(expand_tilde(w)))
                            .collect();
                    }
                    "stricthostkeychecking" => {
                        out.strict_host_key_checking
                            .get_or_insert(first.to_ascii_lowercase());
                    }
                    "connecttimeout" if out.connect_timeout.is_none() => {
                        out.connect_timeout = first.parse().ok();
                    }
                    "serveraliveinterval" if out.server_alive_interval.is_none() => {
                        out.server_alive_interval = first.parse().ok();
                    }
                    "serveralivecountmax" if out.server_alive_count_max.is_none() => {
                        out.server_alive_count_max = first.parse().ok();
                    }
                    _ => {}
                }
            }
        }
        out
    }
}

impl HostConfig {
    /// Applies `-o Key=Value` options from the command line (Ansible's `ssh_args`,
    /// `ssh_common_args`, `ssh_extra_args`): as for ssh, they win over the config file.
    pub fn override_with(&mut self, options: &[(String, String)]) {
        for (key, value) in options {
            match key.as_str() {
                "hostname" => self.host_name = Some(value.clone()),
                "user" => self.user = Some(value.clone()),
                "port" => self.port = value.parse().ok().or(self.port),
                "identityfile" => self
                    .identity_files
                    .insert(0, PathBuf::from(expand_tilde(value))),
                "userknownhostsfile" => {
                    self.user_known_hosts_files = words(value)
                        .iter()
                        .map(|w| PathBuf::from(expand_tilde(w)))
                        .collect()
                }
                "stricthostkeychecking" => {
                    self.strict_host_key_checking = Some(value.to_ascii_lowercase())
                }
                "connecttimeout" => self.connect_timeout = value.parse().ok(),
                "serveraliveinterval" => self.server_alive_interval = value.parse().ok(),
                "serveralivecountmax" => self.server_alive_count_max = value.parse().ok(),
                _ => {}
            }
        }
    }
}

/// The `-o Key=Value` / `-oKey=Value` / `-o "Key Value"` options in an ssh argument string,
/// keys lower-cased, the first occurrence of each key first (ssh keeps the first value).
pub fn parse_ssh_options(args: &str) -> Vec<(String, String)> {
    let words = shlex::split(args).unwrap_or_else(|| words(args));
    let mut out: Vec<(String, String)> = Vec::new();
    let mut iter = words.into_iter();
    while let Some(w) = iter.next() {
        let option = match w.strip_prefix("-o") {
            Some("") => iter.next(),
            Some(rest) => Some(rest.to_string()),
            None => None,
        };
        let Some(option) = option else { continue };
        let (key, value) = match option.split_once('=') {
            Some((k, v)) => (k.trim().to_string(), v.trim().to_string()),
            None => match option.trim().split_once(char::is_whitespace) {
                Some((k, v)) => (k.to_string(), v.trim().to_string()),
                None => continue,
            },
        };
        let key = key.to_ascii_lowercase();
        if !out.iter().any(|(k, _)| *k == key) {
            out.push((key, value));
        }
    }
    out
}

/// Expands `%` tokens ssh allows in file names: `%d` home, `%u` local user, `%h` host,
/// `%p` port, `%r` remote user, `%%`.
pub fn expand_tokens(path: &Path, host: &str, port: u16, remote_user: &str) -> PathBuf {
    let text = path.to_string_lossy();
    if !text.contains('%') {
        return path.to_path_buf();
    }
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('d') => out.push_str(&home_dir().to_string_lossy()),
            Some('u') => out.push_str(&super::ssh::local_user()),
            Some('h') => out.push_str(host),
            Some('p') => out.push_str(&port.to_string()),
            Some('r') => out.push_str(remote_user),
            Some('%') => out.push('%'),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    PathBuf::from(out)
}

/// `$HOME`, which tests point at a temp dir.
pub fn home_dir() -> PathBuf {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/"))
}

fn expand_tilde(path: &str) -> String {
    match path.strip_prefix("~/") {
        Some(rest) => home_dir().join(rest).to_string_lossy().into_owned(),
        None if path == "~" => home_dir().to_string_lossy().into_owned(),
        None => path.to_string(),
    }
}

/// `Keyword value` or `Keyword=value`, keyword lower-cased; comments and blanks are `None`.
fn split_line(line: &str) -> Option<(String, String)> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let end = line
        .find(|c: char| c.is_whitespace() || c == '=')
        .unwrap_or(line.len());
    let key = line[..end].to_ascii_lowercase();
    let rest = line[end..].trim_start();
    let rest = rest.strip_prefix('=').unwrap_or(rest).trim();
    Some((key, rest.to_string()))
}

/// Splits a value into words, honouring double quotes.
fn words(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in value.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}

/// Whether `host` matches a `Host` line: any positive pattern matches and no negated one does.
fn host_matches(host: &str, patterns: &[String]) -> bool {
    let mut matched = false;
    for p in patterns {
        // A pattern-list entry may itself be comma-separated.
        for p in p.split(',') {
            if let Some(neg) = p.strip_prefix('!') {
                if wildcard(neg, host) {
                    return false;
                }
            } else if wildcard(p, host) {
                matched = true;
            }
        }
    }
    matched
}

/// Glob match with `*` and `?`, case-insensitive like ssh.
fn wildcard(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let t: Vec<char> = text.to_lowercase().chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_options_from_ansible_args() {
        let o = parse_ssh_options(
            "-C -o ControlMaster=auto -oServerAliveInterval=2 -o 'ServerAliveCountMax 4' -o ServerAliveInterval=9",
        );
        assert_eq!(
            o,
            vec![
                ("controlmaster".to_string(), "auto".to_string()),
                ("serveraliveinterval".to_string(), "2".to_string()),
                ("serveralivecountmax".to_string(), "4".to_string()),
            ]
        );
        let mut h = SshConfig::parse("Host *\n  ServerAliveInterval 30\n  ServerAliveCountMax 5\n")
            .query("web");
        assert_eq!(
            (h.server_alive_interval, h.server_alive_count_max),
            (Some(30), Some(5))
        );
        h.override_with(&o);
        assert_eq!(
            (h.server_alive_interval, h.server_alive_count_max),
            (Some(2), Some(4))
        );
    }

    const CONFIG: &str = "\
# global
ConnectTimeout 7
Host web-* !web-secret
    HostName %h.example.org
    User deploy
    Port=2222
    IdentityFile ~/.ssh/web_key
Match host foo
    User matched
Host web-1 db
    User other
    IdentityFile /keys/second
    UserKnownHostsFile /kh/one \"/kh/two words\"
    StrictHostKeyChecking No
Host *
    User fallback
    Port 22
";

    #[test]
    fn first_value_wins_and_identity_files_accumulate() {
        let c = SshConfig::parse(CONFIG);
        let h = c.query("web-1");
        assert_eq!(h.user.as_deref(), Some("deploy"));
        assert_eq!(h.port, Some(2222));
        assert_eq!(h.host_name.as_deref(), Some("%h.example.org"));
        assert_eq!(h.identity_files.len(), 2);
        assert!(h.identity_files[0].ends_with(".ssh/web_key"));
        assert_eq!(h.identity_files[1], PathBuf::from("/keys/second"));
        assert_eq!(
            h.user_known_hosts_files,
            vec![PathBuf::from("/kh/one"), PathBuf::from("/kh/two words")]
        );
        assert_eq!(h.strict_host_key_checking.as_deref(), Some("no"));
        assert_eq!(h.connect_timeout, Some(7));
    }

    #[test]
    fn negation_and_match_blocks_are_respected() {
        let c = SshConfig::parse(CONFIG);
        let h = c.query("web-secret");
        assert_eq!(h.user.as_deref(), Some("fallback"));
        assert_eq!(h.port, Some(22));
        let foo = c.query("foo");
        assert_eq!(
            foo.user.as_deref(),
            Some("fallback"),
            "Match blocks are skipped"
        );
        assert_eq!(
            c.query("DB").user.as_deref(),
            Some("other"),
            "case-insensitive"
        );
    }

    #[test]
    fn wildcards() {
        assert!(wildcard("*", "anything"));
        assert!(wildcard("10.0.?.*", "10.0.1.25"));
        assert!(!wildcard("10.0.?.*", "10.0.12.25"));
        assert!(wildcard("*.lan", "a.b.lan"));
        assert!(!wildcard("*.lan", "a.b.lanx"));
    }

    #[test]
    fn tokens_expand() {
        let p = expand_tokens(Path::new("/k/%h-%p-%r-%%"), "h1", 2200, "bob");
        assert_eq!(p, PathBuf::from("/k/h1-2200-bob-%"));
    }
}
