//! Host names as inventory files write them: `web[01:10]`, `db-[a:c]`, `host:2222`,
//! `[::1]:22`, with Ansible's range rules (inclusive ends, zero padding, optional step).

use regex::Regex;
use std::sync::OnceLock;

/// Splits an optional port off a host entry and expands its ranges.
/// Like Ansible, an entry that is not a valid address is taken whole as one name.
pub fn expand_hostpattern(pattern: &str) -> Result<(Vec<String>, Option<u16>), String> {
    let (name, port) = match parse_address(pattern) {
        Some((h, p)) => (h, p),
        None => (pattern.to_string(), None),
    };
    let names = if name.contains('[') {
        expand_hostname_range(&name)?
    } else {
        vec![name]
    };
    Ok((names, port))
}

fn re(cell: &'static OnceLock<Regex>, src: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(src).unwrap_or_else(|e| panic!("bad built-in regex {src}: {e}")))
}

/// Ansible's `parse_address(allow_ranges=True)`: `(host, port)`, or `None` when the text is
/// not a hostname, IPv4 or IPv6 address (ranges allowed).
pub fn parse_address(address: &str) -> Option<(String, Option<u16>)> {
    static BRACKETED: OnceLock<Regex> = OnceLock::new();
    static HOSTPORT: OnceLock<Regex> = OnceLock::new();
    let bracketed = re(&BRACKETED, r"^\[(.+)\]:([0-9]+)$");
    let hostport = re(&HOSTPORT, r"^((?:[^:\[\]]|\[[^\]]*\])*):([0-9]+)$");
    let mut host = address.to_string();
    let mut port = None;
    // Both are tried in turn, as Ansible does.
    for r in [bracketed, hostport] {
        if let Some(c) = r.captures(&host.clone()) {
            host = c[1].to_string();
            port = Some(c[2].parse::<u16>().ok()?);
        }
    }
    if is_ipv4(&host) || is_ipv6(&host) || is_hostname(&host) {
        Some((host, port))
    } else {
        None
    }
}

const NUMERIC_RANGE: &str = r"\[[0-9]+:[0-9]+(?::[0-9]+)?\]";
const HEX_RANGE: &str = r"\[[0-9a-fA-F]+:[0-9a-fA-F]+(?::[0-9]+)?\]";
const ALNUM_RANGE: &str = r"\[(?:[a-zA-Z]:[a-zA-Z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]";

fn is_ipv4(s: &str) -> bool {
    static R: OnceLock<Regex> = OnceLock::new();
    let comp = format!(r"(?:[01]?[0-9]{{1,2}}|2[0-4][0-9]|25[0-5]|{NUMERIC_RANGE})");
    re(&R, &format!(r"^(?:{comp}\.){{3}}{comp}$")).is_match(s)
}

/// A loose IPv6 check: hex groups (or hex ranges) separated by colons, at least two colons,
/// optionally ending in an IPv4 address.
fn is_ipv6(s: &str) -> bool {
    static R: OnceLock<Regex> = OnceLock::new();
    let comp = format!(r"(?:[0-9a-fA-F]{{1,4}}|{HEX_RANGE})");
    let r = re(
        &R,
        &format!(r"^(?:{comp}|:)(?::(?:{comp})?)+(?::[0-9]{{1,3}}(?:\.[0-9]{{1,3}}){{3}})?$"),
    );
    s.matches(':').count() >= 2 && r.is_match(s)
}

fn is_hostname(s: &str) -> bool {
    static R: OnceLock<Regex> = OnceLock::new();
    let label = format!(r"(?:[\w]|{ALNUM_RANGE})(?:[\w-]|{ALNUM_RANGE})*");
    let r = re(&R, &format!(r"^{label}(?:\.{label})*\.?$"));
    // Labels may not end with '-' or '_' (Python's negative lookbehind).
    r.is_match(s)
        && s.trim_end_matches('.')
            .split('.')
            .all(|l| !l.ends_with('-') && !l.ends_with('_'))
}

const ASCII_LETTERS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// Ansible's `expand_hostname_range`: expands the first `[a:b(:step)]`, then recurses.
/// The most hosts one range line may expand to, over all its brackets.
pub const MAX_RANGE_HOSTS: usize = 1_000_000;

pub fn expand_hostname_range(line: &str) -> Result<Vec<String>, String> {
    let Some(open) = line.find('[') else {
        return Ok(vec![line.to_string()]);
    };
    let head = &line[..open];
    let rest = &line[open + 1..];
    let Some(close) = rest.find(']') else {
        return Err(format!("host range in '{line}' is missing its closing ']'"));
    };
    let nrange = &rest[..close];
    let tail = &rest[close + 1..];
    let bounds: Vec<&str> = nrange.split(':').collect();
    if bounds.len() != 2 && bounds.len() != 3 {
        return Err("host range must be begin:end or begin:end:step".into());
    }
    let beg = if bounds[0].is_empty() { "0" } else { bounds[0] };
    let end = bounds[1];
    let step: usize = match bounds.get(2) {
        Some(s) => s
            .parse()
            .map_err(|_| format!("invalid literal for int() with base 10: '{s}'"))?,
        None => 1,
    };
    if step == 0 {
        return Err("range() arg 3 must not be zero".into());
    }
    if end.is_empty() {
        return Err("host range must specify end value".into());
    }
    let pad = if beg.starts_with('0') && beg.len() > 1 {
        if beg.len() != end.len() {
            return Err("host range must specify equal-length begin and end formats".into());
        }
        beg.len()
    } else {
        0
    };
    let seq: Vec<String> = match (ASCII_LETTERS.find(beg), ASCII_LETTERS.find(end)) {
        (Some(b), Some(e)) if beg.len() == 1 && end.len() == 1 => {
            if b > e {
                return Err("host range must have begin <= end".into());
            }
            ASCII_LETTERS[b..=e]
                .chars()
                .step_by(step)
                .map(String::from)
                .collect()
        }
        _ => {
            let b: i64 = beg
                .parse()
                .map_err(|_| format!("invalid literal for int() with base 10: '{beg}'"))?;
            let e: i64 = end
                .parse()
                .map_err(|_| format!("invalid literal for int() with base 10: '{end}'"))?;
            if e.saturating_sub(b) > 1_000_000 {
                return Err(format!("host range [{nrange}] is too large"));
            }
            (b..=e)
                .step_by(step)
                .map(|i| format!("{i:0pad$}"))
                .collect()
        }
    };
    let mut all = Vec::new();
    for s in seq {
        let name = format!("{head}{s}{tail}");
        if name.contains('[') {
            all.extend(expand_hostname_range(&name)?);
        } else {
            all.push(name);
        }
        // Several brackets multiply (`h[0:999][0:999][0:999]` is 10^9 hosts).
        if all.len() > MAX_RANGE_HOSTS {
            return Err(format!(
                "host range {line} expands to more than {MAX_RANGE_HOSTS} hosts"
            ));
        }
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bracket_products_are_capped() {
        // Found reading the code after the inventory_ini fuzz run (fuzz/findings/).
        let e = expand_hostname_range("h[0:999][0:999][0:999]").unwrap_err();
        assert!(e.contains("expands to more than 1000000 hosts"), "{e}");
        assert_eq!(expand_hostname_range("h[0:9][0:9]").unwrap().len(), 100);
    }

    #[test]
    fn numeric_ranges_pad_and_step() {
        assert_eq!(
            expand_hostname_range("web[01:03]").unwrap(),
            vec!["web01", "web02", "web03"]
        );
        assert_eq!(
            expand_hostname_range("h[1:10:4].x").unwrap(),
            vec!["h1.x", "h5.x", "h9.x"]
        );
        assert_eq!(expand_hostname_range("h[:1]").unwrap(), vec!["h0", "h1"]);
        assert!(expand_hostname_range("h[01:100]").is_err());
        assert!(expand_hostname_range("h[1:]").is_err());
    }

    #[test]
    fn alpha_and_nested_ranges() {
        assert_eq!(
            expand_hostname_range("db-[a:c]").unwrap(),
            vec!["db-a", "db-b", "db-c"]
        );
        assert_eq!(
            expand_hostname_range("n[1:2]-[a:b]").unwrap(),
            vec!["n1-a", "n1-b", "n2-a", "n2-b"]
        );
        assert!(expand_hostname_range("x[c:a]").is_err());
    }

    #[test]
    fn ports_and_addresses() {
        assert_eq!(
            expand_hostpattern("db1:2222").unwrap(),
            (vec!["db1".to_string()], Some(2222))
        );
        assert_eq!(
            expand_hostpattern("web[1:2]:22").unwrap(),
            (vec!["web1".to_string(), "web2".to_string()], Some(22))
        );
        assert_eq!(
            expand_hostpattern("10.0.0.1:22").unwrap(),
            (vec!["10.0.0.1".to_string()], Some(22))
        );
        assert_eq!(
            expand_hostpattern("[::1]:2200").unwrap(),
            (vec!["::1".to_string()], Some(2200))
        );
        assert_eq!(
            expand_hostpattern("fe80::1").unwrap(),
            (vec!["fe80::1".to_string()], None)
        );
        assert_eq!(
            expand_hostpattern("weird!name").unwrap(),
            (vec!["weird!name".to_string()], None)
        );
        assert!(parse_address("web:db").is_none());
        assert!(parse_address("web-").is_none());
    }
}
