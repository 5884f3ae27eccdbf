//! `version list|switch|rollback|cleanup|pin|unpin` for one component on a host.

use super::deploy::switch_current;
use super::lock::{with_lock, LockOptions};
use super::remote::{q, run_ok, Layout};
use super::state::{self, ComponentState, HistoryEntry};
use super::{check_name, ReleaseError, Result};
use crate::connection::Connection;
use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct VersionInfo {
    pub version: String,
    pub size_kb: u64,
    /// When it was deployed (state record), else the directory's mtime.
    pub deployed_epoch: u64,
    pub current: bool,
    pub previous: bool,
    pub pinned: bool,
    /// Other components that declare they need this version.
    pub required_by: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct VersionList {
    pub component: String,
    pub current: Option<String>,
    pub previous: Option<String>,
    pub pinned: Vec<String>,
    pub versions: Vec<VersionInfo>,
}

/// Versions on the host, oldest deploy first. One round trip for the directory, one for state.
pub fn list(conn: &mut dyn Connection, root: &str, component: &str) -> Result<VersionList> {
    check_name("component type", component)?;
    let layout = Layout::new(root);
    let script = format!(
        r#"c={c}; [ -d "$c" ] || {{ echo "component {t} is not deployed under {r}" >&2; exit 4; }}
[ -L "$c/current" ] && echo "@current $(readlink "$c/current")"
for d in "$c"/*; do [ -d "$d" ] && [ ! -L "$d" ] || continue
n=$(basename "$d"); s=$(du -sk "$d" 2>/dev/null | cut -f1); m=$(stat -c %Y "$d" 2>/dev/null || stat -f %m "$d" 2>/dev/null || echo 0)
echo "$n ${{s:-0}} ${{m:-0}}"; done"#,
        c = q(&layout.component(component)),
        t = component,
        r = root,
    );
    let out = run_ok(conn, &script, "listing versions")
        .map_err(|e| ReleaseError::new(super::ErrorKind::NotFound, e.message))?;
    let all = state::load_all(conn, &layout)?;
    let mut st = all
        .iter()
        .find(|(t, _)| t == component)
        .map(|(_, s)| s.clone())
        .unwrap_or_default();
    let mut link = None;
    let mut rows = Vec::new();
    for line in out.lines() {
        if let Some(v) = line.strip_prefix("@current ") {
            link = Some(v.trim_end_matches('/').to_string());
            continue;
        }
        let mut it = line.split(' ');
        let (Some(n), Some(s), Some(m)) = (it.next(), it.next(), it.next()) else {
            continue;
        };
        rows.push((
            n.to_string(),
            s.parse().unwrap_or(0),
            m.parse().unwrap_or(0),
        ));
    }
    st.reconcile(link.as_deref());
    let mut versions: Vec<VersionInfo> = rows
        .into_iter()
        .map(|(n, size, mtime): (String, u64, u64)| VersionInfo {
            deployed_epoch: st
                .versions
                .get(&n)
                .map(|r| r.deployed_epoch)
                .filter(|e| *e > 0)
                .unwrap_or(mtime),
            size_kb: size,
            current: st.current.as_deref() == Some(n.as_str()),
            previous: st.previous.as_deref() == Some(n.as_str()),
            pinned: st.pinned.contains(&n),
            required_by: all
                .iter()
                .filter(|(t, s)| t != component && s.depends.get(component) == Some(&n))
                .map(|(t, _)| t.clone())
                .collect(),
            version: n,
        })
        .collect();
    versions.sort_by(|a, b| {
        a.deployed_epoch
            .cmp(&b.deployed_epoch)
            .then(a.version.cmp(&b.version))
    });
    Ok(VersionList {
        component: component.to_string(),
        current: st.current.clone(),
        previous: st.previous.clone(),
        pinned: st.pinned.clone(),
        versions,
    })
}

#[derive(Clone, Debug, Serialize)]
pub struct SwitchReport {
    pub changed: bool,
    pub component: String,
    pub current: String,
    pub previous: Option<String>,
}

fn load_one(
    conn: &mut dyn Connection,
    layout: &Layout,
    component: &str,
) -> Result<(ComponentState, Option<String>)> {
    let script = format!(
        r#"c={c}; [ -L "$c/current" ] && echo "@current $(readlink "$c/current")"; echo "--state--"; cat {s} 2>/dev/null; exit 0"#,
        c = q(&layout.component(component)),
        s = q(&layout.state_file(component)),
    );
    let out = run_ok(conn, &script, "reading state")?;
    let (head, body) = out.split_once("--state--\n").unwrap_or((&out, ""));
    let link = head
        .lines()
        .find_map(|l| l.strip_prefix("@current "))
        .map(|v| v.trim_end_matches('/').to_string());
    let mut st = ComponentState::parse(body);
    st.reconcile(link.as_deref());
    Ok((st, link))
}

fn history(
    conn: &mut dyn Connection,
    layout: &Layout,
    component: &str,
    action: &str,
    version: &str,
    previous: Option<String>,
    res: &Result<bool>,
) {
    let _ = state::append_history(
        conn,
        layout,
        &HistoryEntry {
            time: super::now_rfc3339(),
            component: component.into(),
            action: action.into(),
            version: version.into(),
            previous,
            checksum: String::new(),
            result: match res {
                Ok(true) => "changed".into(),
                Ok(false) => "ok".into(),
                Err(_) => "failed".into(),
            },
            error: res.as_ref().err().map(|e| e.message.clone()),
        },
    );
}

/// Makes `version` current. The target must be a complete version (they only appear by
/// rename of a finished extraction). Records the version it replaces as previous.
pub fn switch(
    conn: &mut dyn Connection,
    root: &str,
    component: &str,
    version: &str,
    lock: &LockOptions,
) -> Result<SwitchReport> {
    check_name("component type", component)?;
    check_name("version", version)?;
    let layout = Layout::new(root);
    let res = with_lock(conn, &layout, component, lock, |conn| {
        let (mut st, link) = load_one(conn, &layout, component)?;
        if link.as_deref() == Some(version) {
            return Ok((false, st));
        }
        switch_current(conn, &layout, component, version, &st.custom_links)?;
        st.switched(version);
        if let Err(e) = state::save(conn, &layout, component, &st) {
            // Put the old version back: a switch is all or nothing.
            if let Some(old) = &link {
                let _ = switch_current(conn, &layout, component, old, &st.custom_links);
            }
            return Err(e);
        }
        Ok((true, st))
    });
    let flag = res.as_ref().map(|(c, _)| *c).map_err(Clone::clone);
    let prev = res.as_ref().ok().and_then(|(_, s)| s.previous.clone());
    history(conn, &layout, component, "switch", version, prev, &flag);
    let (changed, st) = res?;
    Ok(SwitchReport {
        changed,
        component: component.into(),
        current: version.into(),
        previous: st.previous,
    })
}

/// Switches back to the recorded previous version (never a guess by mtime).
pub fn rollback(
    conn: &mut dyn Connection,
    root: &str,
    component: &str,
    lock: &LockOptions,
) -> Result<SwitchReport> {
    check_name("component type", component)?;
    let layout = Layout::new(root);
    let (st, _) = load_one(conn, &layout, component)?;
    let prev = st.previous.clone().ok_or_else(|| {
        ReleaseError::not_found(format!(
            "{component}: no previous version recorded to roll back to"
        ))
    })?;
    let mut r = switch(conn, root, component, &prev, lock)?;
    r.changed = true;
    Ok(r)
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct CleanupReport {
    pub changed: bool,
    pub removed: Vec<String>,
    pub kept: Vec<String>,
}

/// Which versions cleanup would remove: all but the newest `keep` and those younger than
/// `keep_days`; never current, previous, pinned, or required by another component.
pub fn cleanable(
    list: &VersionList,
    keep: Option<usize>,
    keep_days: Option<u64>,
    now: u64,
) -> Vec<String> {
    let n = list.versions.len();
    list.versions
        .iter()
        .enumerate()
        .filter(|(i, v)| {
            let newest_n = keep.is_some_and(|k| n - i <= k);
            let young = keep_days.is_some_and(|d| now.saturating_sub(v.deployed_epoch) < d * 86400);
            let nothing_said = keep.is_none() && keep_days.is_none();
            !(v.current
                || v.previous
                || v.pinned
                || !v.required_by.is_empty()
                || newest_n
                || young
                || nothing_said)
        })
        .map(|(_, v)| v.version.clone())
        .collect()
}

pub fn cleanup(
    conn: &mut dyn Connection,
    root: &str,
    component: &str,
    keep: Option<usize>,
    keep_days: Option<u64>,
    dry_run: bool,
    lock: &LockOptions,
) -> Result<CleanupReport> {
    let layout = Layout::new(root);
    with_lock(conn, &layout, component, lock, |conn| {
        let list = list(conn, root, component)?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let gone = cleanable(&list, keep, keep_days, now);
        let kept = list
            .versions
            .iter()
            .map(|v| v.version.clone())
            .filter(|v| !gone.contains(v))
            .collect();
        if gone.is_empty() || dry_run {
            return Ok(CleanupReport {
                changed: false,
                removed: gone,
                kept,
            });
        }
        // Rename away first, then delete: a half-deleted dir never looks like a version.
        let c = layout.component(component);
        let mut script = String::new();
        for v in &gone {
            script.push_str(&format!(
                "mv {c}/{v} {c}/.{v}.tmp-rm-$$ && rm -rf {c}/.{v}.tmp-rm-$$ || exit 1\n",
                c = q(&c),
                v = q(v)
            ));
        }
        run_ok(conn, &script, "removing versions")?;
        let (mut st, _) = load_one(conn, &layout, component)?;
        for v in &gone {
            st.versions.remove(v);
        }
        state::save(conn, &layout, component, &st)?;
        for v in &gone {
            history(conn, &layout, component, "cleanup", v, None, &Ok(true));
        }
        Ok(CleanupReport {
            changed: true,
            removed: gone,
            kept,
        })
    })
}

/// Pins (`pin = true`) or unpins a version: pinned versions survive every cleanup.
pub fn pin(
    conn: &mut dyn Connection,
    root: &str,
    component: &str,
    version: &str,
    pin: bool,
    lock: &LockOptions,
) -> Result<bool> {
    check_name("version", version)?;
    let layout = Layout::new(root);
    with_lock(conn, &layout, component, lock, |conn| {
        let (mut st, _) = load_one(conn, &layout, component)?;
        let has = st.pinned.iter().any(|v| v == version);
        if has == pin {
            return Ok(false);
        }
        if pin {
            st.pinned.push(version.to_string());
        } else {
            st.pinned.retain(|v| v != version);
        }
        state::save(conn, &layout, component, &st)?;
        history(
            conn,
            &layout,
            component,
            if pin { "pin" } else { "unpin" },
            version,
            None,
            &Ok(true),
        );
        Ok(true)
    })
}
