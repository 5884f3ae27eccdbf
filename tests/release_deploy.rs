//! deploy, switch, rollback, cleanup, links on a real filesystem through LocalConnection (the
//! same code runs over SSH).

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use yiqiu_play::connection::local::LocalConnection;
use yiqiu_play::release::deploy::{deploy, DeployRequest, Source};
use yiqiu_play::release::lock::LockOptions;
use yiqiu_play::release::manifest::Manifest;
use yiqiu_play::release::pack::{pack, Compression, PackOptions};
use yiqiu_play::release::{links, state, version, ErrorKind};

fn packed(t: &Path, v: &str, content: &str) -> (PathBuf, Manifest) {
    let src = t.join(format!("src-{v}"));
    std::fs::create_dir_all(src.join("bert")).unwrap();
    std::fs::write(src.join("bert/config.json"), content).unwrap();
    std::fs::write(src.join("VERSION"), v).unwrap();
    let r = pack(&PackOptions {
        src,
        component: "model".into(),
        version: v.into(),
        dest: t.join("dist"),
        compression: Compression::Gzip,
        excludes: vec![],
        level: None,
    })
    .unwrap();
    (r.manifest_path, r.manifest)
}

fn req(root: &Path, v: &str, sources: Vec<Source>) -> DeployRequest {
    DeployRequest::new(root.to_str().unwrap(), "model", v, sources)
}

fn current(root: &Path) -> String {
    std::fs::read_link(root.join("components/model/current"))
        .unwrap()
        .display()
        .to_string()
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// Everything under `root` except the metadata dir, for "nothing changed" checks.
fn snapshot(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(p: &Path, base: &Path, out: &mut Vec<String>) {
        if let Ok(rd) = std::fs::read_dir(p) {
            for e in rd.flatten() {
                let rel = e.path().strip_prefix(base).unwrap().display().to_string();
                if rel.starts_with(".yiqiu") {
                    continue;
                }
                let link = std::fs::read_link(e.path())
                    .map(|l| l.display().to_string())
                    .unwrap_or_default();
                out.push(format!("{rel} {link}"));
                if e.file_type().unwrap().is_dir() {
                    walk(&e.path(), base, out);
                }
            }
        }
    }
    walk(root, root, &mut out);
    out.sort();
    out
}

#[test]
fn deploy_switch_rollback_and_idempotent_redeploy() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    let (m1, _) = packed(t.path(), "1.0.0", "one");
    let (_, _) = packed(t.path(), "1.0.1", "two");
    let mut c = LocalConnection;
    let r = deploy(&mut c, &req(&root, "1.0.0", vec![Source::Manifest(s(&m1))])).unwrap();
    assert!(r.changed && r.switched && r.extracted);
    assert_eq!(current(&root), "1.0.0");
    assert_eq!(
        std::fs::read_to_string(root.join("links/model/bert/config.json")).unwrap(),
        "one"
    );
    assert_eq!(
        s(&std::fs::read_link(root.join("links/model")).unwrap()),
        "../components/model/current"
    );

    // Same version again: ok, not changed, nothing fetched.
    let again = deploy(&mut c, &req(&root, "1.0.0", vec![Source::Manifest(s(&m1))])).unwrap();
    assert!(!again.changed && again.source.is_none());

    let mut r2 = req(&root, "1.0.1", vec![Source::Dir(s(&t.path().join("dist")))]);
    r2.custom_links = vec![s(&t.path().join("app/models"))];
    let r = deploy(&mut c, &r2).unwrap();
    assert_eq!(r.previous.as_deref(), Some("1.0.0"));
    assert_eq!(current(&root), "1.0.1");
    assert_eq!(
        std::fs::read_to_string(t.path().join("app/models/bert/config.json")).unwrap(),
        "two"
    );

    let lo = LockOptions::default();
    let rb = version::rollback(&mut c, root.to_str().unwrap(), "model", &lo).unwrap();
    assert_eq!(rb.current, "1.0.0");
    assert_eq!(current(&root), "1.0.0");
    assert_eq!(
        std::fs::read_to_string(t.path().join("app/models/VERSION")).unwrap(),
        "1.0.0"
    );
    // Rollback of the rollback goes forward again: previous is recorded, not guessed.
    version::rollback(&mut c, root.to_str().unwrap(), "model", &lo).unwrap();
    assert_eq!(current(&root), "1.0.1");

    let hist = state::read_history(
        &mut c,
        &yiqiu_play::release::remote::Layout::new(root.to_str().unwrap()),
    )
    .unwrap();
    let results: Vec<(&str, &str, &str)> = hist
        .iter()
        .map(|h| (h.action.as_str(), h.version.as_str(), h.result.as_str()))
        .collect();
    assert_eq!(
        results,
        [
            ("deploy", "1.0.0", "changed"),
            ("deploy", "1.0.0", "ok"),
            ("deploy", "1.0.1", "changed"),
            ("switch", "1.0.0", "changed"),
            ("switch", "1.0.1", "changed")
        ]
    );
    assert!(
        !root.join(".yiqiu/locks/model.lock").exists(),
        "lock left behind"
    );
    // No switch: extracted, current untouched.
    let (m3, _) = packed(t.path(), "1.0.2", "three");
    let mut r3 = req(&root, "1.0.2", vec![Source::Manifest(s(&m3))]);
    r3.switch = false;
    let r = deploy(&mut c, &r3).unwrap();
    assert!(r.changed && !r.switched);
    assert_eq!(current(&root), "1.0.1");
    assert!(root
        .join("components/model/1.0.2/bert/config.json")
        .is_file());
}

#[test]
fn checksum_mismatch_falls_through_to_the_next_source_and_keeps_the_bad_file() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    let (mpath, m) = packed(t.path(), "1.0.0", "good");
    let bad = t.path().join("bad/model-1.0.0.tar.gz");
    std::fs::create_dir_all(bad.parent().unwrap()).unwrap();
    std::fs::write(&bad, b"not the package").unwrap();
    let mut c = LocalConnection;
    let mut rq = req(
        &root,
        "1.0.0",
        vec![
            Source::Package(s(&bad)),
            Source::Package(s(&t.path().join("nope.tar.gz"))),
            Source::Dir(s(&t.path().join("dist"))),
        ],
    );
    rq.manifest = Some(m.clone());
    let r = deploy(&mut c, &rq).unwrap();
    assert_eq!(
        r.source.as_deref(),
        Some(format!("dir:{}", s(&t.path().join("dist"))).as_str())
    );
    assert_eq!(r.skipped_sources.len(), 2);
    assert!(
        r.skipped_sources[0].contains("checksum mismatch"),
        "{:?}",
        r.skipped_sources
    );
    let kept: Vec<_> = std::fs::read_dir(root.join(".yiqiu/cache"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        kept.iter()
            .any(|n| n.starts_with("model-1.0.0.tar.gz.bad-")),
        "{kept:?}"
    );
    assert!(kept
        .iter()
        .any(|n| n == &format!("{}-model-1.0.0.tar.gz", m.package.checksum.value)));
    assert_eq!(
        std::fs::read_to_string(root.join("components/model/current/bert/config.json")).unwrap(),
        "good"
    );

    // Only bad sources: a clear failure and the host as it was.
    let (_, m2) = packed(t.path(), "2.0.0", "two");
    let before = snapshot(&root);
    let mut rq = req(&root, "2.0.0", vec![Source::Package(s(&bad))]);
    rq.manifest = Some(m2);
    let e = deploy(&mut c, &rq).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Checksum, "{e}");
    assert!(e.message.contains("no source gave"), "{e}");
    assert_eq!(snapshot(&root), before);
    assert_eq!(current(&root), "1.0.0");
    assert!(
        !root.join(".yiqiu/locks/model.lock").exists(),
        "lock left behind after failure"
    );
    let _ = mpath;
}

/// (name, kind: '-' file, 'l' symlink, 'c' char device, data or link target)
type Entry<'a> = (&'a str, char, &'a str);

/// A gzip tar with raw names (the tar crate's safe setters refuse `..`, which is the point).
fn evil_package(dir: &Path, v: &str, entries: &[(&str, char, &str)]) -> Manifest {
    let mut b = tar::Builder::new(Vec::new());
    for (name, kind, data) in entries {
        let mut h = tar::Header::new_gnu();
        let raw = &mut h.as_gnu_mut().unwrap().name;
        raw[..name.len()].copy_from_slice(name.as_bytes());
        h.set_mode(0o644);
        match kind {
            'l' => {
                h.set_entry_type(tar::EntryType::Symlink);
                let ln = &mut h.as_gnu_mut().unwrap().linkname;
                ln[..data.len()].copy_from_slice(data.as_bytes());
                h.set_size(0);
                h.set_cksum();
                b.append(&h, std::io::empty()).unwrap();
            }
            'c' => {
                h.set_entry_type(tar::EntryType::Char);
                h.set_size(0);
                h.set_cksum();
                b.append(&h, std::io::empty()).unwrap();
            }
            _ => {
                h.set_size(data.len() as u64);
                h.set_cksum();
                b.append(&h, data.as_bytes()).unwrap();
            }
        }
    }
    let tar = b.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &tar).unwrap();
    let bytes = gz.finish().unwrap();
    let file = format!("model-{v}.tar.gz");
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(&file), &bytes).unwrap();
    let text = serde_json::json!({
        "component": {"type": "model", "version": v, "created_at": "2024-01-20T10:00:00Z"},
        "package": {"file": file, "size": bytes.len(), "algorithm": "gzip",
                    "checksum": {"algorithm": "sha256", "value": format!("{:x}", Sha256::digest(&bytes))}},
        "metadata": {"source_path": "x", "pack_version": "1.0"}
    });
    std::fs::write(dir.join(Manifest::file_name("model", v)), text.to_string()).unwrap();
    Manifest::parse(text.to_string().as_bytes(), "t").unwrap()
}

#[test]
fn unsafe_archives_are_refused_with_nothing_written() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    let (m1, _) = packed(t.path(), "1.0.0", "one");
    let mut c = LocalConnection;
    deploy(&mut c, &req(&root, "1.0.0", vec![Source::Manifest(s(&m1))])).unwrap();
    let cases: Vec<(&str, Vec<Entry>)> = vec![
        (
            "6.0.1",
            vec![("ok.txt", '-', "x"), ("../../evil.txt", '-', "pwned")],
        ),
        ("6.0.2", vec![("/tmp/yiqiu-abs-evil.txt", '-', "pwned")]),
        ("6.0.3", vec![("sub/escape", 'l', "../../../../etc")]),
        ("6.0.4", vec![("abs", 'l', "/etc/passwd")]),
        ("6.0.5", vec![("null", 'c', "")]),
    ];
    for (v, entries) in cases {
        let dir = t.path().join(format!("evil-{v}"));
        evil_package(&dir, v, &entries);
        let before = snapshot(&root);
        let e = deploy(&mut c, &req(&root, v, vec![Source::Dir(s(&dir))])).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Refused, "{v}: {e}");
        assert_eq!(snapshot(&root), before, "{v}: something was written");
        assert!(!t.path().join("evil.txt").exists() && !root.join("evil.txt").exists());
        assert_eq!(current(&root), "1.0.0");
    }
    assert!(!Path::new("/tmp/yiqiu-abs-evil.txt").exists());
    // A link inside the version dir is fine.
    let dir = t.path().join("fine");
    evil_package(
        &dir,
        "7.0.0",
        &[("a/b.txt", '-', "x"), ("a/c", 'l', "../a/b.txt")],
    );
    deploy(&mut c, &req(&root, "7.0.0", vec![Source::Dir(s(&dir))])).unwrap();
    assert_eq!(
        std::fs::read_to_string(root.join("components/model/7.0.0/a/c")).unwrap(),
        "x"
    );
}

#[test]
fn current_as_a_real_directory_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    std::fs::create_dir_all(root.join("components/model/current")).unwrap();
    let (m1, _) = packed(t.path(), "1.0.0", "one");
    let e = deploy(
        &mut LocalConnection,
        &req(&root, "1.0.0", vec![Source::Manifest(s(&m1))]),
    )
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Refused);
    assert!(root.join("components/model/current").is_dir());
    assert!(!root.join("components/model/1.0.0").exists());
}

#[test]
fn cleanup_never_removes_current_previous_pinned_or_required() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    let r = root.to_str().unwrap();
    let mut c = LocalConnection;
    let lo = LockOptions::default();
    for i in 1..=7 {
        let v = format!("1.0.{i}");
        let (m, _) = packed(t.path(), &v, &v);
        deploy(&mut c, &req(&root, &v, vec![Source::Manifest(s(&m))])).unwrap();
    }
    // current 1.0.7, previous 1.0.6. Pin 1.0.1; another component needs 1.0.2.
    version::pin(&mut c, r, "model", "1.0.1", true, &lo).unwrap();
    let cfg_src = t.path().join("cfgsrc");
    std::fs::create_dir_all(&cfg_src).unwrap();
    std::fs::write(cfg_src.join("c.yaml"), "x").unwrap();
    let p = pack(&PackOptions {
        src: cfg_src,
        component: "config".into(),
        version: "1".into(),
        dest: t.path().join("dist"),
        compression: Compression::Gzip,
        excludes: vec![],
        level: None,
    })
    .unwrap();
    let mut rq = DeployRequest::new(
        r,
        "config",
        "1",
        vec![Source::Manifest(s(&p.manifest_path))],
    );
    rq.depends.insert("model".into(), "1.0.2".into());
    deploy(&mut c, &rq).unwrap();
    // Make 1.0.6 previous with a switch away and back? It already is: switch to 1.0.3 then 1.0.7.
    let l = version::list(&mut c, r, "model").unwrap();
    assert_eq!(l.current.as_deref(), Some("1.0.7"));
    assert_eq!(l.previous.as_deref(), Some("1.0.6"));
    assert_eq!(
        l.versions
            .iter()
            .find(|v| v.version == "1.0.2")
            .unwrap()
            .required_by,
        ["config"]
    );

    let rep = version::cleanup(&mut c, r, "model", Some(1), None, false, &lo).unwrap();
    let mut removed = rep.removed.clone();
    removed.sort();
    assert_eq!(removed, ["1.0.3", "1.0.4", "1.0.5"]);
    for v in ["1.0.1", "1.0.2", "1.0.6", "1.0.7"] {
        assert!(
            root.join("components/model").join(v).is_dir(),
            "{v} removed"
        );
    }
    for v in &removed {
        assert!(!root.join("components/model").join(v).exists());
    }
    // keep-days: everything is younger than a day, nothing goes.
    let rep = version::cleanup(&mut c, r, "model", None, Some(1), false, &lo).unwrap();
    assert!(rep.removed.is_empty() && !rep.changed);
    // Unpin and release the dependency: only then can they go.
    version::pin(&mut c, r, "model", "1.0.1", false, &lo).unwrap();
    let rep = version::cleanup(&mut c, r, "model", Some(0), None, false, &lo).unwrap();
    assert_eq!(rep.removed, ["1.0.1"]);
    assert_eq!(current(&root), "1.0.7");
}

#[test]
fn links_verify_and_repair() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    let r = root.to_str().unwrap();
    let (m1, _) = packed(t.path(), "1.0.0", "one");
    let mut c = LocalConnection;
    let mut rq = req(&root, "1.0.0", vec![Source::Manifest(s(&m1))]);
    let custom = t.path().join("app/models");
    rq.custom_links = vec![s(&custom)];
    deploy(&mut c, &rq).unwrap();
    assert!(links::verify(&mut c, r).unwrap().is_empty());
    std::fs::remove_file(root.join("links/model")).unwrap();
    std::fs::remove_file(&custom).unwrap();
    std::os::unix::fs::symlink("/nowhere", &custom).unwrap();
    let bad = links::verify(&mut c, r).unwrap();
    let st: Vec<(&str, &str)> = bad
        .iter()
        .map(|l| (l.component.as_str(), l.status.as_str()))
        .collect();
    assert_eq!(st, [("model", "missing"), ("model", "wrong")]);
    let rep = links::repair(&mut c, r).unwrap();
    assert_eq!(rep.repaired.len(), 2);
    assert!(rep.remaining.is_empty());
    assert_eq!(
        std::fs::read_to_string(custom.join("VERSION")).unwrap(),
        "1.0.0"
    );
    let h = yiqiu_play::release::health::health(&mut c, r, 3).unwrap();
    assert!(h.healthy, "{:?}", h.checks);
}

/// Counts round trips, for the figures and to keep them from creeping up.
struct Counting(LocalConnection, usize);
impl yiqiu_play::connection::Connection for Counting {
    fn exec(
        &mut self,
        c: &yiqiu_play::connection::Command,
    ) -> Result<yiqiu_play::connection::Output, yiqiu_play::connection::ConnError> {
        self.1 += 1;
        self.0.exec(c)
    }
    fn put(
        &mut self,
        d: &[u8],
        p: &str,
        m: Option<u32>,
        b: &yiqiu_play::connection::Become,
    ) -> Result<(), yiqiu_play::connection::ConnError> {
        self.1 += 1;
        self.0.put(d, p, m, b)
    }
    fn put_file(
        &mut self,
        s: &Path,
        p: &str,
        m: Option<u32>,
        b: &yiqiu_play::connection::Become,
    ) -> Result<(), yiqiu_play::connection::ConnError> {
        self.1 += 1;
        self.0.put_file(s, p, m, b)
    }
    fn get(
        &mut self,
        p: &str,
        b: &yiqiu_play::connection::Become,
    ) -> Result<Vec<u8>, yiqiu_play::connection::ConnError> {
        self.1 += 1;
        self.0.get(p, b)
    }
    fn transport(&self) -> &'static str {
        "counting"
    }
}

#[test]
fn a_failure_after_the_switch_rolls_current_back() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    let (m1, m) = packed(t.path(), "1.0.0", "one");
    let (m2, _) = packed(t.path(), "1.0.1", "two");
    let mut c = Counting(LocalConnection, 0);
    let mut rq = req(&root, "1.0.0", vec![Source::Manifest(s(&m1))]);
    rq.manifest = Some(m);
    deploy(&mut c, &rq).unwrap();
    eprintln!("round trips: fresh deploy {}", c.1);
    assert!(c.1 <= 9, "fresh deploy took {} round trips", c.1);
    c.1 = 0;
    deploy(&mut c, &req(&root, "1.0.0", vec![Source::Manifest(s(&m1))])).unwrap();
    eprintln!("round trips: deploy of the current version {}", c.1);
    assert!(c.1 <= 5, "no-op deploy took {} round trips", c.1);
    // A custom link whose path is a real directory cannot be made: the switch is undone.
    let blocked = t.path().join("app/models");
    std::fs::create_dir_all(&blocked).unwrap();
    let mut rq = req(&root, "1.0.1", vec![Source::Manifest(s(&m2))]);
    rq.custom_links = vec![s(&blocked)];
    let e = deploy(&mut c, &rq).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Refused, "{e}");
    assert_eq!(current(&root), "1.0.0");
    assert!(
        !root.join("components/model/1.0.1").exists(),
        "the new version was left behind"
    );
    assert!(blocked.is_dir());
    let l = version::list(&mut LocalConnection, root.to_str().unwrap(), "model").unwrap();
    assert_eq!(l.current.as_deref(), Some("1.0.0"));
}
