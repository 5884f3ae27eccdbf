//! `links list|verify|repair`: the stable paths under `<root>/links/` and the custom links.

use super::deploy::ensure_links;
use super::remote::{q, run_ok, Layout};
use super::state;
use super::Result;
use crate::connection::Connection;
use serde::Serialize;

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LinkStatus {
    pub path: String,
    pub component: String,
    /// What it should point at.
    pub expected: String,
    /// What it points at (`None`: missing or not a symlink).
    pub actual: Option<String>,
    /// ok, missing, wrong, dangling, not_a_link.
    pub status: String,
}

/// Every expected link with its state. One round trip after reading state.
pub fn list(conn: &mut dyn Connection, root: &str) -> Result<Vec<LinkStatus>> {
    let layout = Layout::new(root);
    let states = state::load_all(conn, &layout)?;
    // Components on disk count even without a state file (deployed by hand or by an older run).
    let out = run_ok(
        conn,
        &format!(
            r#"for d in {}/*; do [ -d "$d" ] && basename "$d"; done; exit 0"#,
            q(&layout.components())
        ),
        "listing components",
    )?;
    let mut wanted: Vec<(String, String, String)> = Vec::new();
    let mut comps: Vec<String> = out.lines().map(str::to_string).collect();
    for (t, _) in &states {
        if !comps.contains(t) {
            comps.push(t.clone());
        }
    }
    comps.sort();
    for t in &comps {
        wanted.push((
            format!("{}/{t}", layout.links()),
            t.clone(),
            format!("../components/{t}/current"),
        ));
        if let Some((_, st)) = states.iter().find(|(n, _)| n == t) {
            for l in &st.custom_links {
                wanted.push((l.clone(), t.clone(), format!("{}/{t}", layout.links())));
            }
        }
    }
    let mut script = String::new();
    for (p, _, _) in &wanted {
        script.push_str(&format!(
            "p={p}; if [ -L \"$p\" ]; then if [ -e \"$p\" ]; then e=ok; else e=dangling; fi; printf '%s\\t%s\\n' \"$e\" \"$(readlink \"$p\")\"; elif [ -e \"$p\" ]; then printf 'not_a_link\\t\\n'; else printf 'missing\\t\\n'; fi\n",
            p = q(p)
        ));
    }
    let out = if script.is_empty() {
        String::new()
    } else {
        run_ok(conn, &script, "reading links")?
    };
    let mut res = Vec::new();
    for ((path, component, expected), line) in wanted.into_iter().zip(out.lines()) {
        let (kind, target) = line.split_once('\t').unwrap_or((line, ""));
        let actual = (!target.is_empty()).then(|| target.to_string());
        let status = match kind {
            "ok" if actual.as_deref().map(|a| a.trim_end_matches('/'))
                == Some(expected.as_str()) =>
            {
                "ok"
            }
            "ok" => "wrong",
            "dangling" if actual.as_deref() != Some(expected.as_str()) => "wrong",
            k => k,
        };
        res.push(LinkStatus {
            path,
            component,
            expected,
            actual,
            status: status.to_string(),
        });
    }
    Ok(res)
}

/// Links that are not `ok`.
pub fn verify(conn: &mut dyn Connection, root: &str) -> Result<Vec<LinkStatus>> {
    Ok(list(conn, root)?
        .into_iter()
        .filter(|l| l.status != "ok")
        .collect())
}

#[derive(Clone, Debug, Serialize)]
pub struct RepairReport {
    pub changed: bool,
    pub repaired: Vec<String>,
    /// Still broken after repair (e.g. the component has no `current`), with the reason.
    pub remaining: Vec<LinkStatus>,
}

/// Recreates missing or wrong links atomically. Never replaces a real file or directory.
pub fn repair(conn: &mut dyn Connection, root: &str) -> Result<RepairReport> {
    let layout = Layout::new(root);
    let bad = verify(conn, root)?;
    let mut repaired = Vec::new();
    let mut comps: Vec<&str> = bad
        .iter()
        .filter(|l| l.status != "not_a_link")
        .map(|l| l.component.as_str())
        .collect();
    comps.dedup();
    for c in comps {
        let custom: Vec<String> = bad
            .iter()
            .filter(|l| {
                l.component == c && l.status != "not_a_link" && !l.path.starts_with(&layout.links())
            })
            .map(|l| l.path.clone())
            .collect();
        repaired.extend(ensure_links(conn, &layout, c, &custom)?);
    }
    let remaining = verify(conn, root)?;
    Ok(RepairReport {
        changed: !repaired.is_empty(),
        repaired,
        remaining,
    })
}
