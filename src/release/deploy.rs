//! `deploy`: put a component version on a host and (unless told not to) make it current.
//!
//! Every step is a POSIX sh script run through the connection. Order, and why:
//! 1. take the component lock (concurrent deploys serialize);
//! 2. probe: current link, whether the version is there, the state file, the cache;
//! 3. fetch the package into the host cache from the first source whose bytes match the
//!    manifest's sha256 (a mismatching file is kept aside as `<file>.bad-<ts>`);
//! 4. list the archive with `tar -tv` and refuse unsafe entries before writing anything;
//! 5. extract into `.<version>.tmp-<token>` beside the version dir and rename it into place
//!    (a version dir only ever appears complete);
//! 6. switch `current` by renaming a temp symlink over it (rename(2) is atomic);
//! 7. links, state, history. A failure before 6 removes what this run created; a failure
//!    after 6 points `current` back.

use super::lock::{with_lock, LockOptions};
use super::manifest::Manifest;
use super::pack::Compression;
use super::remote::{last_line, q, run, run_ok, Layout, SH_ALINK, SH_SHA256};
use super::state::{self, ComponentState, HistoryEntry, VersionRecord};
use super::{check_name, log_line, ErrorKind, ReleaseError, Result};
use crate::connection::{Become, Connection};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Where a package can come from, in the caller's priority order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A package file on the controller, pushed to the host (SFTP over SSH).
    Controller(PathBuf),
    /// A manifest on the host; the package is the file it names, beside it.
    Manifest(String),
    /// A package file on the host.
    Package(String),
    /// A directory on the host: `<dir>/<type>/<version>/<file>` (a filesystem publish
    /// target) or `<dir>/<file>` (a pack `--dest`).
    Dir(String),
    /// An http(s) URL fetched on the host with curl or wget: the package itself, or a
    /// `.manifest.json` whose sibling is the package. S3 sources arrive here as presigned URLs.
    Url(String),
}

impl Source {
    pub fn describe(&self) -> String {
        match self {
            Source::Controller(p) => format!("controller:{}", p.display()),
            Source::Manifest(p) => format!("manifest:{p}"),
            Source::Package(p) => format!("package:{p}"),
            Source::Dir(p) => format!("dir:{p}"),
            // Presigned URLs carry a signature: show the path only.
            Source::Url(u) => u.split('?').next().unwrap_or(u).to_string(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct DeployRequest {
    pub root: String,
    pub component: String,
    pub version: String,
    pub sources: Vec<Source>,
    /// The expected package, when the caller has the manifest already. Otherwise the first
    /// manifest found through the sources is used.
    pub manifest: Option<Manifest>,
    /// Make the version current (`--no-switch` / `switch: false` turns it off).
    pub switch: bool,
    /// Absolute paths that should point at `<root>/links/<type>` (seed §5.3 custom links).
    pub custom_links: Vec<String>,
    /// Versions of other components this one needs (kept by their cleanup).
    pub depends: BTreeMap<String, String>,
    pub lock: LockOptions,
}

impl DeployRequest {
    pub fn new(root: &str, component: &str, version: &str, sources: Vec<Source>) -> Self {
        DeployRequest {
            root: root.to_string(),
            component: component.to_string(),
            version: version.to_string(),
            sources,
            manifest: None,
            switch: true,
            custom_links: Vec::new(),
            depends: BTreeMap::new(),
            lock: LockOptions::default(),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct DeployReport {
    pub changed: bool,
    pub component: String,
    pub version: String,
    pub checksum: String,
    /// The version `current` pointed to before.
    pub previous: Option<String>,
    pub current: Option<String>,
    pub switched: bool,
    pub extracted: bool,
    /// `cache` or the source that gave the package; `None` when nothing was fetched.
    pub source: Option<String>,
    /// Sources tried and why they were passed over.
    pub skipped_sources: Vec<String>,
    pub links_changed: Vec<String>,
    /// Seed §12.1 log lines, for `-v`.
    pub log: Vec<String>,
}

/// Deploys as `req` says. The lock is released on every path; the history gets a line
/// whatever the outcome.
pub fn deploy(conn: &mut dyn Connection, req: &DeployRequest) -> Result<DeployReport> {
    check_name("component type", &req.component)?;
    check_name("version", &req.version)?;
    if !req.root.starts_with('/') {
        return Err(ReleaseError::invalid(format!(
            "deploy root {:?} must be an absolute path",
            req.root
        )));
    }
    for l in &req.custom_links {
        if !l.starts_with('/') || l.split('/').any(|s| s == "..") {
            return Err(ReleaseError::invalid(format!(
                "custom link {l:?} must be an absolute path without '..'"
            )));
        }
    }
    let layout = Layout::new(&req.root);
    let mut log = vec![log_line(
        "INFO",
        &format!(
            "deploy started component={} version={}",
            req.component, req.version
        ),
    )];
    let res = with_lock(conn, &layout, &req.component, &req.lock, |conn| {
        deploy_locked(conn, &layout, req, &mut log)
    });
    let entry = HistoryEntry {
        time: super::now_rfc3339(),
        component: req.component.clone(),
        action: "deploy".into(),
        version: req.version.clone(),
        previous: res.as_ref().ok().and_then(|r| r.previous.clone()),
        checksum: res
            .as_ref()
            .map(|r| r.checksum.clone())
            .unwrap_or_else(|_| {
                req.manifest
                    .as_ref()
                    .map(|m| m.package.checksum.value.clone())
                    .unwrap_or_default()
            }),
        result: match &res {
            Ok(r) if r.changed => "changed".into(),
            Ok(_) => "ok".into(),
            Err(_) => "failed".into(),
        },
        error: res.as_ref().err().map(|e| e.message.clone()),
    };
    // History is best effort when the deploy itself failed (the root may be unwritable).
    let hist = state::append_history(conn, &layout, &entry);
    let mut report = res?;
    hist?;
    log.push(log_line(
        "INFO",
        &format!(
            "deploy succeeded component={} version={}",
            req.component, req.version
        ),
    ));
    report.log = log;
    Ok(report)
}

struct Probe {
    current: Option<String>,
    current_is_dir: bool,
    version_exists: bool,
    state: ComponentState,
}

fn probe(conn: &mut dyn Connection, layout: &Layout, req: &DeployRequest) -> Result<Probe> {
    let comp = layout.component(&req.component);
    // Leftovers of a killed run (we hold the lock, so none is in use) go first.
    let script = format!(
        r#"c={comp}; mkdir -p "$c" {cache} {sdir} || exit 1
for t in "$c"/.*.tmp-* "$c"/.current.tmp-* "$c"/.current.yiqiu-link-*; do [ -e "$t" ] || [ -L "$t" ] || continue; rm -rf "$t"; done
if [ -L "$c/current" ]; then echo "current=$(readlink "$c/current")"; elif [ -e "$c/current" ]; then echo "current_dir=1"; fi
[ -d "$c"/{ver} ] && echo "exists=1"
echo "--state--"; cat {sfile} 2>/dev/null; exit 0"#,
        comp = q(&comp),
        cache = q(&layout.cache()),
        sdir = q(&layout.state_dir()),
        ver = q(&req.version),
        sfile = q(&layout.state_file(&req.component)),
    );
    let out = run_ok(conn, &script, "probing the host")?;
    let (head, st) = out.split_once("--state--\n").unwrap_or((&out, ""));
    let mut p = Probe {
        current: None,
        current_is_dir: false,
        version_exists: false,
        state: ComponentState::parse(st),
    };
    for line in head.lines() {
        if let Some(v) = line.strip_prefix("current=") {
            p.current = Some(v.trim_end_matches('/').to_string());
        } else if line == "current_dir=1" {
            p.current_is_dir = true;
        } else if line == "exists=1" {
            p.version_exists = true;
        }
    }
    p.state.reconcile(p.current.as_deref());
    Ok(p)
}

fn deploy_locked(
    conn: &mut dyn Connection,
    layout: &Layout,
    req: &DeployRequest,
    log: &mut Vec<String>,
) -> Result<DeployReport> {
    let p = probe(conn, layout, req)?;
    if p.current_is_dir && req.switch {
        return Err(ReleaseError::refused(format!(
            "{}/current is a real directory, not a symlink: refusing to replace it",
            layout.component(&req.component)
        )));
    }
    let mut report = DeployReport {
        changed: false,
        component: req.component.clone(),
        version: req.version.clone(),
        checksum: p
            .state
            .versions
            .get(&req.version)
            .map(|v| v.checksum.clone())
            .unwrap_or_default(),
        previous: p.current.clone(),
        current: p.current.clone(),
        switched: false,
        extracted: false,
        source: None,
        skipped_sources: Vec::new(),
        links_changed: Vec::new(),
        log: Vec::new(),
    };
    let mut st = p.state.clone();
    let mut created_version = false;
    if !p.version_exists {
        let manifest = match &req.manifest {
            Some(m) => m.clone(),
            None => find_manifest(conn, req)?,
        };
        if manifest.component.type_ != req.component || manifest.component.version != req.version {
            return Err(ReleaseError::invalid(format!(
                "manifest is for {}-{}, not {}-{}",
                manifest.component.type_, manifest.component.version, req.component, req.version
            )));
        }
        let pkg = fetch(conn, layout, req, &manifest, &mut report, log)?;
        let comp = Compression::from_file_name(&manifest.package.file)
            .or_else(|| Compression::parse(&manifest.package.algorithm).ok())
            .unwrap_or_default();
        check_archive(conn, &pkg, comp)?;
        let dest = format!("{}/{}", layout.component(&req.component), req.version);
        log.push(log_line("INFO", &format!("extracting files to {dest}")));
        extract(conn, layout, req, &pkg, comp)?;
        created_version = true;
        report.extracted = true;
        report.changed = true;
        report.checksum = manifest.package.checksum.value.clone();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        st.versions.insert(
            req.version.clone(),
            VersionRecord {
                checksum: manifest.package.checksum.value.clone(),
                deployed_at: super::now_rfc3339(),
                deployed_epoch: now,
            },
        );
    }
    // From here on a failure must undo: the new version dir (before the switch) or the switch.
    let undo = |conn: &mut dyn Connection, switched: bool, e: ReleaseError| -> ReleaseError {
        let comp = layout.component(&req.component);
        let mut script = String::new();
        if switched {
            script.push_str(&match &p.current {
                Some(old) => format!(
                    "{SH_ALINK}alink {} {}/current >/dev/null; ",
                    q(old),
                    q(&comp)
                ),
                None => format!("rm -f {}/current; ", q(&comp)),
            });
        }
        if created_version {
            script.push_str(&format!(
                "t={c}/.{v}.tmp-undo-$$; mv {c}/{v} \"$t\" && rm -rf \"$t\"",
                c = q(&comp),
                v = q(&req.version)
            ));
        }
        if !script.is_empty() {
            let _ = run(conn, &script);
        }
        e
    };
    let mut custom = st.custom_links.clone();
    for l in &req.custom_links {
        if !custom.contains(l) {
            custom.push(l.clone());
        }
    }
    let mut links_done = false;
    if req.switch && p.current.as_deref() != Some(req.version.as_str()) {
        match switch_current(conn, layout, &req.component, &req.version, &custom) {
            Ok(changed) => report.links_changed = changed,
            Err(e) => return Err(undo(conn, false, e)),
        }
        links_done = true;
        log.push(log_line(
            "INFO",
            &format!("updated link current -> {}", req.version),
        ));
        st.switched(&req.version);
        report.switched = true;
        report.changed = true;
        report.current = Some(req.version.clone());
    }
    let after = (|| -> Result<()> {
        if st.current.is_some() && !links_done {
            report.links_changed = ensure_links(conn, layout, &req.component, &custom)?;
            if !report.links_changed.is_empty() {
                report.changed = true;
            }
        }
        for l in &req.custom_links {
            if !st.custom_links.contains(l) {
                st.custom_links.push(l.clone());
            }
        }
        if !req.depends.is_empty() {
            st.depends = req.depends.clone();
        }
        if st != p.state || report.changed {
            state::save(conn, layout, &req.component, &st)?;
        }
        Ok(())
    })();
    if let Err(e) = after {
        return Err(undo(conn, report.switched, e));
    }
    Ok(report)
}

/// The first manifest reachable through the sources, in order.
fn find_manifest(conn: &mut dyn Connection, req: &DeployRequest) -> Result<Manifest> {
    let mname = Manifest::file_name(&req.component, &req.version);
    let mut tried = Vec::new();
    for src in &req.sources {
        let candidates: Vec<String> = match src {
            Source::Controller(p) => {
                let m = p
                    .parent()
                    .map(|d| d.join(&mname))
                    .unwrap_or_else(|| PathBuf::from(&mname));
                if p.to_string_lossy().ends_with(".json") {
                    if let Ok(m) = Manifest::load(p) {
                        return Ok(m);
                    }
                } else if let Ok(m) = Manifest::load(&m) {
                    return Ok(m);
                }
                tried.push(src.describe());
                continue;
            }
            Source::Manifest(p) => vec![p.clone()],
            Source::Package(p) => {
                let dir = p.rsplit_once('/').map(|(d, _)| d).unwrap_or(".");
                vec![format!("{dir}/{mname}")]
            }
            Source::Dir(d) => vec![
                format!("{d}/{}/{}/{mname}", req.component, req.version),
                format!("{d}/{mname}"),
            ],
            Source::Url(u) => {
                let base = u.split('?').next().unwrap_or(u);
                if base.ends_with(".json") {
                    let script = format!("curl -fsSL {u} 2>/dev/null || wget -qO- {u}", u = q(u));
                    let out = run(conn, &script)?;
                    if out.rc == 0 {
                        return Manifest::parse(&out.stdout, &src.describe());
                    }
                }
                tried.push(src.describe());
                continue;
            }
        };
        for c in candidates {
            if let Ok(text) = conn.get(&c, &Become::default()) {
                return Manifest::parse(&text, &c);
            }
        }
        tried.push(src.describe());
    }
    Err(ReleaseError::not_found(format!(
        "no manifest for {}-{} in any source ({}): the checksum cannot be verified",
        req.component,
        req.version,
        tried.join(", ")
    )))
}

/// Gets the package into the host cache (`<root>/.yiqiu/cache/<sha256>-<file>`), verified.
fn fetch(
    conn: &mut dyn Connection,
    layout: &Layout,
    req: &DeployRequest,
    m: &Manifest,
    report: &mut DeployReport,
    log: &mut Vec<String>,
) -> Result<String> {
    let want = &m.package.checksum.value;
    let file = &m.package.file;
    let cache = layout.cache();
    let final_path = format!("{cache}/{want}-{file}");
    let head = format!(
        "{SH_SHA256}cache={cache}; final={final}; want={want}; part=\"$final.part-$$\"\nmkdir -p \"$cache\" || exit 1\n",
        cache = q(&cache),
        final = q(&final_path),
        want = q(want),
    );
    // Verifies "$part" and moves it into the cache, or keeps it aside as .bad-<ts>.
    let verify = format!(
        r#"got=$(h256 "$part")
if [ "$got" = "$want" ]; then mv -f "$part" "$final" && echo OK; exit $?; fi
bad="$cache"/{file}.bad-$(date +%Y%m%d%H%M%S)-$$; mv -f "$part" "$bad"; echo "MISMATCH $got $bad"; exit 0
"#,
        file = q(file)
    );
    let cache_probe =
        "[ -f \"$final\" ] && [ \"$(h256 \"$final\")\" = \"$want\" ] && { echo HIT; exit 0; }\n";
    // The cache check rides along with the first source's script (one round trip less),
    // except before a push from the controller, which it must be able to skip.
    let mut cache_checked = false;
    if matches!(req.sources.first(), None | Some(Source::Controller(_))) {
        let cached = run(conn, &format!("{head}{cache_probe}exit 0"))?;
        cache_checked = true;
        if String::from_utf8_lossy(&cached.stdout).contains("HIT") {
            report.source = Some("cache".into());
            log.push(log_line("INFO", "using the package from the host cache"));
            return Ok(final_path);
        }
    }
    for src in &req.sources {
        let started = std::time::Instant::now();
        log.push(log_line(
            "INFO",
            &format!("downloading the package from {}", src.describe()),
        ));
        let body = match src {
            Source::Controller(p) => {
                let pkg = if p.to_string_lossy().ends_with(".json") {
                    p.parent().map(|d| d.join(file)).unwrap_or_else(|| file.into())
                } else if p.is_dir() {
                    p.join(file)
                } else {
                    p.clone()
                };
                let part = format!("{final_path}.part-push");
                if let Err(e) = conn.put_file(&pkg, &part, Some(0o644), &Become::default()) {
                    report
                        .skipped_sources
                        .push(format!("{}: {e}", src.describe()));
                    continue;
                }
                format!("part={}\n", q(&part))
            }
            Source::Manifest(p) => {
                let dir = p.rsplit_once('/').map(|(d, _)| d).unwrap_or(".");
                format!(
                    "cp -- {} \"$part\" 2>/dev/null || {{ rm -f \"$part\"; echo 'FAIL not readable'; exit 0; }}\n",
                    q(&format!("{dir}/{file}"))
                )
            }
            Source::Package(p) => format!(
                "cp -- {} \"$part\" 2>/dev/null || {{ rm -f \"$part\"; echo 'FAIL not readable'; exit 0; }}\n",
                q(p)
            ),
            Source::Dir(d) => format!(
                "for s in {a} {b}; do [ -f \"$s\" ] && cp -- \"$s\" \"$part\" && break; done\n[ -f \"$part\" ] || {{ echo 'FAIL no package in the directory'; exit 0; }}\n",
                a = q(&format!("{d}/{}/{}/{file}", req.component, req.version)),
                b = q(&format!("{d}/{file}")),
            ),
            Source::Url(u) => {
                let (base, query) = match u.split_once('?') {
                    Some((b, qy)) => (b, Some(qy)),
                    None => (u.as_str(), None),
                };
                let url = if base.ends_with(".json") {
                    let dir = base.rsplit_once('/').map(|(d, _)| d).unwrap_or(base);
                    format!("{dir}/{file}")
                } else {
                    match query {
                        Some(qy) => format!("{base}?{qy}"),
                        None => base.to_string(),
                    }
                };
                format!(
                    "if command -v curl >/dev/null 2>&1; then curl -fsSL -o \"$part\" {u} 2>/dev/null; else wget -q -O \"$part\" {u}; fi || {{ rm -f \"$part\"; echo 'FAIL download failed'; exit 0; }}\n",
                    u = q(&url)
                )
            }
        };
        let probe = if cache_checked { "" } else { cache_probe };
        cache_checked = true;
        let out = run(conn, &format!("{head}{probe}{body}{verify}"))?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let line = text.lines().last().unwrap_or("").to_string();
        if out.rc == 0 && line == "HIT" {
            report.source = Some("cache".into());
            log.push(log_line("INFO", "using the package from the host cache"));
            return Ok(final_path);
        }
        if out.rc == 0 && line == "OK" {
            log.push(log_line(
                "INFO",
                &format!(
                    "download finished size={} duration={:.1}s",
                    human_size(m.package.size),
                    started.elapsed().as_secs_f64()
                ),
            ));
            report.source = Some(src.describe());
            return Ok(final_path);
        }
        let why = if let Some(rest) = line.strip_prefix("MISMATCH ") {
            let mut it = rest.splitn(2, ' ');
            let got = it.next().unwrap_or("");
            let bad = it.next().unwrap_or("");
            format!("checksum mismatch (got {got}, want {want}; kept as {bad})")
        } else if let Some(rest) = line.strip_prefix("FAIL ") {
            rest.to_string()
        } else {
            match last_line(&out.stderr) {
                e if e.is_empty() => format!("the fetch failed with exit status {}", out.rc),
                e => e,
            }
        };
        log.push(log_line(
            "WARN",
            &format!("source {} skipped: {why}", src.describe()),
        ));
        report
            .skipped_sources
            .push(format!("{}: {why}", src.describe()));
    }
    Err(ReleaseError::new(
        ErrorKind::Checksum,
        format!(
            "no source gave {file} with sha256 {want}: {}",
            if report.skipped_sources.is_empty() {
                "no sources given".to_string()
            } else {
                report.skipped_sources.join("; ")
            }
        ),
    ))
}

pub fn human_size(n: u64) -> String {
    const U: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1000.0 && i < U.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    if i == 0 {
        format!("{n}B")
    } else {
        format!("{v:.0}{}", U[i])
    }
}

/// Lists the archive on the host and refuses unsafe entries. Nothing is written.
fn check_archive(conn: &mut dyn Connection, pkg: &str, comp: Compression) -> Result<()> {
    let script = format!(
        "{d} < {p} | LC_ALL=C tar -tvf -",
        d = comp.decompress_cmd(),
        p = q(pkg)
    );
    let out = run(conn, &script)?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("Removing leading") {
        return Err(ReleaseError::refused(format!(
            "archive {pkg} has absolute paths: refusing to extract"
        )));
    }
    if out.rc != 0 {
        return Err(ReleaseError::io(format!(
            "cannot list archive {pkg}: {}",
            last_line(&out.stderr)
        )));
    }
    check_listing(&String::from_utf8_lossy(&out.stdout))
        .map_err(|e| ReleaseError::refused(format!("archive {pkg}: {e}: refusing to extract")))
}

/// The text after the first `n` whitespace-separated fields.
fn after_fields(line: &str, n: usize) -> Option<&str> {
    let mut rest = line;
    for _ in 0..n {
        rest = rest.trim_start();
        let end = rest.find(char::is_whitespace)?;
        rest = &rest[end..];
    }
    Some(rest.trim_start())
}

/// Resolves `target` relative to the directory of `entry`, both inside the version dir;
/// `None` if it climbs out.
fn stays_inside(entry: &str, target: &str) -> bool {
    if target.starts_with('/') {
        return false;
    }
    let mut depth: Vec<&str> = entry
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    depth.pop();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if depth.pop().is_none() {
                    return false;
                }
            }
            p => depth.push(p),
        }
    }
    true
}

fn bad_name(name: &str) -> bool {
    name.starts_with('/') || name.split('/').any(|s| s == "..")
}

/// Checks a `tar -tv` listing (GNU or busybox layout: mode, owner, size, date, time, name).
pub fn check_listing(listing: &str) -> std::result::Result<(), String> {
    for line in listing.lines().filter(|l| !l.trim().is_empty()) {
        let kind = line.chars().next().unwrap_or('?');
        let rest =
            after_fields(line, 5).ok_or_else(|| format!("cannot read listing line {line:?}"))?;
        match kind {
            '-' | 'd' => {
                if bad_name(rest) {
                    return Err(format!("entry {rest:?} escapes the version directory"));
                }
            }
            'l' => {
                let (name, target) = rest
                    .split_once(" -> ")
                    .ok_or_else(|| format!("cannot read symlink line {line:?}"))?;
                if rest.matches(" -> ").count() > 1 {
                    return Err(format!("ambiguous symlink entry {rest:?}"));
                }
                if bad_name(name) {
                    return Err(format!("entry {name:?} escapes the version directory"));
                }
                if !stays_inside(name, target) {
                    return Err(format!(
                        "symlink {name} -> {target} points outside the version directory"
                    ));
                }
            }
            'h' => {
                let (name, target) = rest
                    .split_once(" link to ")
                    .ok_or_else(|| format!("cannot read hard link line {line:?}"))?;
                if bad_name(name) || bad_name(target) {
                    return Err(format!(
                        "hard link {name} -> {target} escapes the version directory"
                    ));
                }
            }
            'c' | 'b' => return Err(format!("device entry {line:?} is not allowed")),
            'p' => return Err(format!("fifo entry {line:?} is not allowed")),
            other => return Err(format!("entry type {other:?} is not allowed ({line:?})")),
        }
    }
    Ok(())
}

fn extract(
    conn: &mut dyn Connection,
    layout: &Layout,
    req: &DeployRequest,
    pkg: &str,
    comp: Compression,
) -> Result<()> {
    let c = layout.component(&req.component);
    let token = format!("{:08x}", rand::random::<u32>());
    // `-o`: do not restore archive owners (we may run as root; files belong to the deployer).
    // The decompressor's status is caught through a marker file: POSIX sh has no pipefail.
    let script = format!(
        r#"c={c}; v={v}; tmp="$c/.$v.tmp-{token}"
rm -rf "$tmp" "$tmp.err"; mkdir "$tmp" || exit 1
{{ {d} < {p} || echo fail > "$tmp.err"; }} | tar -xof - -C "$tmp"
rc=$?
if [ $rc -ne 0 ] || [ -e "$tmp.err" ]; then rm -rf "$tmp" "$tmp.err"; echo "extraction failed" >&2; exit 1; fi
if [ -e "$c/$v" ]; then rm -rf "$tmp"; echo "$c/$v appeared during the deploy" >&2; exit 1; fi
mv "$tmp" "$c/$v" || {{ rm -rf "$tmp"; exit 1; }}"#,
        c = q(&c),
        v = q(&req.version),
        d = comp.decompress_cmd(),
        p = q(pkg),
    );
    run_ok(conn, &script, "extracting the package").map(|_| ())
}

/// A sh function `_links` that points `<root>/links/<type>` and the custom links.
fn links_fn(layout: &Layout, component: &str, custom: &[String]) -> String {
    let stable = format!("{}/{component}", layout.links());
    let mut f = format!(
        "_links() {{ alink {} {} || return $?\n",
        q(&format!("../components/{component}/current")),
        q(&stable)
    );
    for l in custom {
        f.push_str(&format!("alink {} {} || return $?\n", q(&stable), q(l)));
    }
    f.push_str("}\n");
    f
}

fn changed_links(out: &crate::connection::Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("CHANGED ").map(str::to_string))
        .collect()
}

/// Points `<root>/components/<type>/current` at `version` atomically, then the links, in one
/// round trip. If the links cannot be made, `current` is put back before returning the error.
/// Returns the links it changed (besides `current`).
pub fn switch_current(
    conn: &mut dyn Connection,
    layout: &Layout,
    component: &str,
    version: &str,
    custom: &[String],
) -> Result<Vec<String>> {
    let script = format!(
        r#"{SH_ALINK}{links}c={c}
if [ -e "$c/current" ] && [ ! -L "$c/current" ]; then echo "$c/current is a real directory, not a symlink: refusing to replace it" >&2; exit 3; fi
[ -d "$c"/{v} ] || {{ echo "version {vv} is not deployed" >&2; exit 4; }}
old=$(readlink "$c/current" 2>/dev/null)
alink {v} "$c/current" >/dev/null || exit 1
_links; rc=$?
if [ $rc -ne 0 ]; then
  if [ -n "$old" ]; then alink "$old" "$c/current" >/dev/null; else rm -f "$c/current"; fi
  [ $rc -eq 3 ] && exit 3; exit 1
fi"#,
        links = links_fn(layout, component, custom),
        c = q(&layout.component(component)),
        v = q(version),
        vv = version,
    );
    let out = run(conn, &script)?;
    match out.rc {
        0 => Ok(changed_links(&out)),
        3 => Err(ReleaseError::refused(last_line(&out.stderr))),
        4 => Err(ReleaseError::not_found(last_line(&out.stderr))),
        _ => Err(ReleaseError::io(format!(
            "switching current failed: {}",
            last_line(&out.stderr)
        ))),
    }
}

/// `<root>/links/<type> -> ../components/<type>/current` and each custom link
/// `-> <root>/links/<type>`. Returns the links it changed.
pub fn ensure_links(
    conn: &mut dyn Connection,
    layout: &Layout,
    component: &str,
    custom: &[String],
) -> Result<Vec<String>> {
    let script = format!("{SH_ALINK}{}_links", links_fn(layout, component, custom));
    let out = run(conn, &script)?;
    if out.rc != 0 {
        return Err(ReleaseError::new(
            if out.rc == 3 {
                ErrorKind::Refused
            } else {
                ErrorKind::Io
            },
            format!("updating links failed: {}", last_line(&out.stderr)),
        ));
    }
    Ok(changed_links(&out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_checks() {
        let ok = "drwxr-xr-x 0/0               0 2024-01-20 10:00 bert/\n\
                  -rw-r--r-- 0/0               5 2024-01-20 10:00 bert/config json.txt\n\
                  lrwxrwxrwx 0/0               0 2024-01-20 10:00 bert/latest -> ../bert/config json.txt\n";
        assert_eq!(check_listing(ok), Ok(()));
        for bad in [
            "-rw-r--r-- 0/0 5 2024-01-20 10:00 ../evil",
            "-rw-r--r-- 0/0 5 2024-01-20 10:00 a/../../evil",
            "-rw-r--r-- 0/0 5 2024-01-20 10:00 /etc/passwd",
            "lrwxrwxrwx 0/0 0 2024-01-20 10:00 a/l -> ../../etc",
            "lrwxrwxrwx 0/0 0 2024-01-20 10:00 l -> /etc/passwd",
            "hrw-r--r-- 0/0 0 2024-01-20 10:00 a link to ../x",
            "crw-r--r-- 0/0 1,3 2024-01-20 10:00 null",
        ] {
            assert!(check_listing(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn symlink_resolution_inside() {
        assert!(stays_inside("a/b/l", "../c"));
        assert!(stays_inside("a/l", "../c"));
        assert!(!stays_inside("l", "../c"));
        assert!(!stays_inside("a/l", "../../c"));
    }
}
