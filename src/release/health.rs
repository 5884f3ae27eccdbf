//! `health`: is this deployment root in a good state? (seed 003 §12.3)

use super::links;
use super::remote::{q, run_ok, Layout};
use super::version;
use super::Result;
use crate::connection::Connection;
use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct Check {
    pub name: String,
    /// ok, warn, fail.
    pub status: String,
    pub detail: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct HealthReport {
    pub healthy: bool,
    pub checks: Vec<Check>,
}

fn check(name: &str, status: &str, detail: String) -> Check {
    Check {
        name: name.into(),
        status: status.into(),
        detail,
    }
}

/// Free space below this is a warning.
const LOW_SPACE_KB: u64 = 1024 * 1024;

pub fn health(conn: &mut dyn Connection, root: &str, keep: usize) -> Result<HealthReport> {
    let layout = Layout::new(root);
    let script = format!(
        r#"r={r}; t="$r/.yiqiu/.health-$$"
if mkdir -p "$r/.yiqiu" 2>/dev/null && : > "$t" 2>/dev/null; then rm -f "$t"; echo "writable=1"; else echo "writable=0"; fi
echo "avail=$(df -Pk "$r" 2>/dev/null | awk 'NR==2 {{print $4}}')"
n=0; b=0; bad=0; for f in {cache}/*; do [ -f "$f" ] || continue; case "$f" in *.bad-*) bad=$((bad+1));; *.part-*) ;; *) n=$((n+1)); b=$((b + $(wc -c < "$f")));; esac; done
echo "cache=$n $b $bad"
for d in {comps}/*; do [ -d "$d" ] && echo "comp=$(basename "$d")"; done; exit 0"#,
        r = q(root),
        cache = q(&layout.cache()),
        comps = q(&layout.components()),
    );
    let out = run_ok(conn, &script, "health probe")?;
    let mut checks = Vec::new();
    let mut comps = Vec::new();
    for line in out.lines() {
        if let Some(v) = line.strip_prefix("writable=") {
            checks.push(if v == "1" {
                check("root_writable", "ok", format!("{root} is writable"))
            } else {
                check(
                    "root_writable",
                    "fail",
                    format!("{root} is not writable by this user"),
                )
            });
        } else if let Some(v) = line.strip_prefix("avail=") {
            let kb: u64 = v.trim().parse().unwrap_or(0);
            // 0 means df could not tell: worth a look too.
            let st = if kb < LOW_SPACE_KB { "warn" } else { "ok" };
            checks.push(check(
                "free_space",
                st,
                format!("{} MB available", kb / 1024),
            ));
        } else if let Some(v) = line.strip_prefix("cache=") {
            let f: Vec<u64> = v.split(' ').map(|x| x.parse().unwrap_or(0)).collect();
            let (n, b, bad) = (
                f.first().copied().unwrap_or(0),
                f.get(1).copied().unwrap_or(0),
                f.get(2).copied().unwrap_or(0),
            );
            checks.push(check(
                "cache",
                if bad > 0 { "warn" } else { "ok" },
                format!(
                    "{n} packages, {} in the cache; {bad} bad downloads kept aside",
                    super::deploy::human_size(b)
                ),
            ));
        } else if let Some(c) = line.strip_prefix("comp=") {
            comps.push(c.to_string());
        }
    }
    let broken = links::verify(conn, root)?;
    checks.push(if broken.is_empty() {
        check("links", "ok", "all links valid".into())
    } else {
        check(
            "links",
            "fail",
            broken
                .iter()
                .map(|l| format!("{} {}", l.path, l.status))
                .collect::<Vec<_>>()
                .join(", "),
        )
    });
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut cleanable = Vec::new();
    for c in &comps {
        if let Ok(l) = version::list(conn, root, c) {
            for v in version::cleanable(&l, Some(keep), None, now) {
                cleanable.push(format!("{c}/{v}"));
            }
        }
    }
    checks.push(check(
        "cleanable_versions",
        "ok",
        if cleanable.is_empty() {
            "none".into()
        } else {
            cleanable.join(", ")
        },
    ));
    let healthy = checks.iter().all(|c| c.status != "fail");
    Ok(HealthReport { healthy, checks })
}
