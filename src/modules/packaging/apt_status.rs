//! What apt and dpkg know about the packages an `apt` task names, read in one round trip
//! (`dpkg-query`, `apt-cache policy`, `apt-cache showpkg`), and the apt module's
//! `package_status` decision over it.

use super::debversion;
use crate::connection::quote;
use std::cmp::Ordering;

/// One package as the host's apt cache and dpkg database see it.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Known {
    /// dpkg's `db:Status-Abbrev` (`ii `, `rc `, ...), when dpkg knows the package.
    pub dpkg_status: Option<String>,
    pub dpkg_version: Option<String>,
    /// `Candidate:` of `apt-cache policy`, `None` for `(none)`.
    pub candidate: Option<String>,
    /// The version table, best first.
    pub versions: Vec<String>,
    /// Packages that provide this (virtual) name, with whether each is installed.
    pub providers: Vec<(String, bool)>,
}

const MARK: &str = "@@yq-apt ";

/// Shell text printing what [`parse`] reads for each of `names`.
pub fn query_script(names: &[String], default_release: Option<&str>) -> String {
    let release = default_release
        .map(|r| format!(" -o APT::Default-Release={}", quote(r)))
        .unwrap_or_default();
    let mut s = String::new();
    for n in names {
        let q = quote(n);
        s.push_str(&format!(
            "printf '{MARK}pkg %s\\n' {q}\n\
             dpkg-query -W -f='{MARK}dpkg ${{db:Status-Abbrev}}|${{Version}}\\n' {q} 2>/dev/null\n\
             apt-cache{release} policy {q} 2>/dev/null\n\
             for p in $(apt-cache showpkg {q} 2>/dev/null | sed -n '/^Reverse Provides:/,$p' | sed '1d' | cut -d' ' -f1 | sort -u); do\n\
             \x20 st=$(dpkg-query -W -f='${{db:Status-Abbrev}}' \"$p\" 2>/dev/null)\n\
             \x20 printf '{MARK}prov %s %s\\n' \"$p\" \"$st\"\n\
             done\n"
        ));
    }
    s
}

/// Parses [`query_script`]'s output, in the order of the names.
pub fn parse(out: &str) -> Vec<(String, Known)> {
    let mut all: Vec<(String, Known)> = Vec::new();
    let mut in_table = false;
    for line in out.lines() {
        if let Some(rest) = line.strip_prefix(MARK) {
            in_table = false;
            if let Some(name) = rest.strip_prefix("pkg ") {
                all.push((name.to_string(), Known::default()));
                continue;
            }
            let Some((_, k)) = all.last_mut() else {
                continue;
            };
            if let Some(d) = rest.strip_prefix("dpkg ") {
                let (st, ver) = d.split_once('|').unwrap_or((d, ""));
                k.dpkg_status = Some(st.to_string());
                k.dpkg_version = Some(ver.to_string()).filter(|v| !v.is_empty());
            } else if let Some(p) = rest.strip_prefix("prov ") {
                let (name, st) = p.split_once(' ').unwrap_or((p, ""));
                k.providers.push((name.to_string(), installed_status(st)));
            }
            continue;
        }
        let Some((_, k)) = all.last_mut() else {
            continue;
        };
        let trimmed = line.trim_start();
        if let Some(c) = trimmed.strip_prefix("Candidate:") {
            let c = c.trim();
            k.candidate = (c != "(none)" && !c.is_empty()).then(|| c.to_string());
        } else if trimmed.starts_with("Version table:") {
            in_table = true;
        } else if in_table {
            // Version lines are indented 5 (or ` *** `); their origins 8.
            let indent = line.len() - trimmed.len();
            let v = trimmed.strip_prefix("*** ").unwrap_or(trimmed);
            if indent <= 5 {
                if let Some(ver) = v.split_whitespace().next() {
                    k.versions.push(ver.to_string());
                }
            }
        }
    }
    all
}

fn installed_status(abbrev: &str) -> bool {
    abbrev.as_bytes().get(1) == Some(&b'i')
}

/// `package_split`: `name`, `name=version` or `name>=version`.
pub fn split_spec(spec: &str) -> (&str, Option<&str>, Option<&str>) {
    if let Some(i) = spec.find(">=") {
        if spec.find('=') == Some(i + 1) {
            return (&spec[..i], Some(">="), Some(&spec[i + 2..]));
        }
    }
    match spec.split_once('=') {
        Some((n, v)) => (n, Some("="), Some(v)),
        None => (spec, None, None),
    }
}

/// `package_status`'s answer.
#[derive(Debug, PartialEq)]
pub struct Status {
    pub installed: bool,
    /// Installed and matching the version asked for.
    pub version_installed: bool,
    /// The version to install: `Some("")` lets apt choose (a virtual package).
    pub installable: Option<String>,
    pub has_files: bool,
}

/// Why a package cannot even be looked at.
pub enum StatusError {
    NoSuchPackage,
}

fn fnmatch(pattern: &str, text: &str) -> bool {
    glob::Pattern::new(pattern).is_ok_and(|p| p.matches(text))
}

/// The apt module's `package_status` (for `install` when `install` is true, else `remove`).
pub fn status(
    k: &Known,
    cmp: Option<&str>,
    version: Option<&str>,
    install: bool,
) -> Result<Status, StatusError> {
    let installed = k.dpkg_status.as_deref().is_some_and(installed_status);
    let in_cache = installed || !k.versions.is_empty();
    if !in_cache {
        if !install {
            return Ok(Status {
                installed: false,
                version_installed: false,
                installable: None,
                has_files: false,
            });
        }
        if k.providers.is_empty() {
            return Err(StatusError::NoSuchPackage);
        }
        // A virtual package that one installed package provides counts as that one.
        let satisfied = k.providers.len() == 1 && k.providers[0].1;
        return Ok(Status {
            installed: satisfied,
            version_installed: satisfied,
            installable: (!satisfied).then(String::new),
            has_files: false,
        });
    }
    let has_files = k
        .dpkg_status
        .as_deref()
        .is_some_and(|s| s.as_bytes().get(1).is_some_and(|c| *c != b'n'));
    let best = match (cmp, version) {
        // A pin on the version (Ansible gives it priority 1001): the best matching version.
        (Some("="), Some(v)) => k.versions.iter().find(|x| fnmatch(v, x)).cloned(),
        _ => k.candidate.clone(),
    };
    if !installed {
        return Ok(Status {
            installed,
            version_installed: false,
            installable: best,
            has_files,
        });
    }
    let current = k.dpkg_version.clone().unwrap_or_default();
    let newer = best.filter(|b| *b != current);
    let (version_installed, installable) = match (cmp, version) {
        (Some("="), Some(v)) => (fnmatch(v, &current), newer.filter(|b| fnmatch(v, b))),
        (Some(">="), Some(v)) => (
            debversion::compare(&current, v) != Ordering::Less,
            newer.filter(|b| debversion::compare(b, v) != Ordering::Less),
        ),
        _ => (true, newer),
    };
    Ok(Status {
        installed,
        version_installed,
        installable,
        has_files,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUT: &str = "@@yq-apt pkg cron
@@yq-apt dpkg ii |3.0pl1-162
cron:
  Installed: 3.0pl1-162
  Candidate: 3.0pl1-163
  Version table:
     3.0pl1-163 500
        500 http://deb.example/debian bookworm/main amd64 Packages
 *** 3.0pl1-162 100
        100 /var/lib/dpkg/status
@@yq-apt pkg mta
mta:
  Installed: (none)
  Candidate: (none)
  Version table:
@@yq-apt prov postfix ii 
@@yq-apt pkg nosuch
";

    #[test]
    fn parses_policy_dpkg_and_providers() {
        let all = parse(OUT);
        assert_eq!(all.len(), 3);
        let cron = &all[0].1;
        assert_eq!(cron.candidate.as_deref(), Some("3.0pl1-163"));
        assert_eq!(cron.versions, vec!["3.0pl1-163", "3.0pl1-162"]);
        assert_eq!(cron.dpkg_version.as_deref(), Some("3.0pl1-162"));
        assert_eq!(all[1].1.providers, vec![("postfix".to_string(), true)]);
        assert!(all[2].1.versions.is_empty() && all[2].1.providers.is_empty());
    }

    #[test]
    fn status_follows_package_status() {
        let all = parse(OUT);
        let cron = status(&all[0].1, None, None, true).ok().expect("status");
        assert!(cron.installed && cron.version_installed);
        assert_eq!(cron.installable.as_deref(), Some("3.0pl1-163"));
        let pinned = status(&all[0].1, Some("="), Some("3.0pl1-16*"), true)
            .ok()
            .expect("s");
        assert_eq!(pinned.installable.as_deref(), Some("3.0pl1-163"));
        let mta = status(&all[1].1, None, None, true).ok().expect("virtual");
        assert!(mta.installed);
        assert!(status(&all[2].1, None, None, true).is_err());
        assert!(
            !status(&all[2].1, None, None, false)
                .ok()
                .expect("remove")
                .installed
        );
        assert_eq!(split_spec("foo>=1.0"), ("foo", Some(">="), Some("1.0")));
        assert_eq!(split_spec("foo=1.*"), ("foo", Some("="), Some("1.*")));
    }
}
