//! pack: reproducible archives, manifest fields and checksum, excludes, all compressions.

use std::path::Path;
use std::process::Command;
use yiqiu_play::release::pack::{pack, Compression, PackOptions};

fn tree(root: &Path) {
    std::fs::create_dir_all(root.join("bert")).unwrap();
    std::fs::create_dir_all(root.join("tokenizer")).unwrap();
    std::fs::create_dir_all(root.join("__pycache__")).unwrap();
    std::fs::create_dir_all(root.join(".git")).unwrap();
    std::fs::write(root.join("bert/config.json"), b"{\"a\":1}").unwrap();
    std::fs::write(root.join("bert/pytorch_model.bin"), vec![7u8; 300_000]).unwrap();
    std::fs::write(root.join("tokenizer/vocab.txt"), b"a\nb\n").unwrap();
    std::fs::write(root.join("run.sh"), b"#!/bin/sh\n").unwrap();
    std::fs::write(root.join("x.pyc"), b"junk").unwrap();
    std::fs::write(root.join("__pycache__/m.pyc"), b"junk").unwrap();
    std::fs::write(root.join(".git/HEAD"), b"ref").unwrap();
    std::fs::write(root.join("notes.tmp"), b"scratch").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(root.join("run.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink("bert/config.json", root.join("config.json")).unwrap();
}

fn opts(src: &Path, dest: &Path, c: Compression) -> PackOptions {
    PackOptions {
        src: src.to_path_buf(),
        component: "model".into(),
        version: "1.0.0".into(),
        dest: dest.to_path_buf(),
        compression: c,
        excludes: vec!["*.tmp".into()],
        level: None,
    }
}

#[test]
fn repack_is_byte_identical_and_checksum_matches_sha256sum() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("models");
    tree(&src);
    for c in [
        Compression::Gzip,
        Compression::Xz,
        Compression::Bzip2,
        Compression::Zstd,
    ] {
        let a = pack(&opts(&src, &t.path().join("a"), c)).unwrap();
        // Touch the access order on disk: a new dir entry created after the others.
        let b = pack(&opts(&src, &t.path().join("b"), c)).unwrap();
        let (ba, bb) = (
            std::fs::read(&a.package).unwrap(),
            std::fs::read(&b.package).unwrap(),
        );
        assert_eq!(ba, bb, "{c:?}: two packs of the same tree differ");
        assert!(a.package.to_string_lossy().ends_with(c.extension()));
        // The real sha256sum agrees with the manifest.
        let out = Command::new("sha256sum").arg(&a.package).output().unwrap();
        let sum = String::from_utf8_lossy(&out.stdout)
            .split(' ')
            .next()
            .unwrap()
            .to_string();
        assert_eq!(sum, a.manifest.package.checksum.value, "{c:?}");
        assert_eq!(a.manifest.package.size, ba.len() as u64);
        assert_eq!(a.manifest.package.algorithm, c.name());
    }
}

#[test]
fn archive_holds_contents_only_with_normalized_owners_and_file_mtimes() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("models");
    tree(&src);
    // An old mtime that the clock could never produce.
    let old = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
    std::fs::File::options()
        .write(true)
        .open(src.join("tokenizer/vocab.txt"))
        .unwrap()
        .set_modified(old)
        .unwrap();
    let r = pack(&opts(&src, &t.path().join("dist"), Compression::Gzip)).unwrap();
    let out = Command::new("tar")
        .args(["-tvzf"])
        .arg(&r.package)
        .env("TZ", "UTC")
        .output()
        .unwrap();
    assert!(out.status.success());
    let listing = String::from_utf8_lossy(&out.stdout);
    let names: Vec<&str> = listing
        .lines()
        .map(|l| l.split_whitespace().nth(5).unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "bert/",
            "bert/config.json",
            "bert/pytorch_model.bin",
            "config.json",
            "run.sh",
            "tokenizer/",
            "tokenizer/vocab.txt"
        ]
    );
    for l in listing.lines() {
        assert_eq!(l.split_whitespace().nth(1), Some("0/0"), "{l}");
    }
    assert!(listing.contains("-rwxr-xr-x 0/0") && listing.contains("run.sh"));
    assert!(
        listing
            .lines()
            .any(|l| l.contains("2001-09-09") && l.ends_with("tokenizer/vocab.txt")),
        "{listing}"
    );
    assert!(listing.contains("config.json -> bert/config.json"));
    // gzip header: mtime field (bytes 4..8) is zero.
    let bytes = std::fs::read(&r.package).unwrap();
    assert_eq!(&bytes[4..8], &[0, 0, 0, 0]);
}

#[test]
fn manifest_has_exactly_the_seed_fields() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("models");
    tree(&src);
    let r = pack(&opts(&src, &t.path().join("dist"), Compression::Gzip)).unwrap();
    assert_eq!(
        r.manifest_path,
        t.path().join("dist/model-1.0.0.manifest.json")
    );
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&r.manifest_path).unwrap()).unwrap();
    let keys = |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&v), ["component", "package", "metadata"]);
    assert_eq!(keys(&v["component"]), ["type", "version", "created_at"]);
    assert_eq!(
        keys(&v["package"]),
        ["file", "size", "algorithm", "checksum"]
    );
    assert_eq!(keys(&v["package"]["checksum"]), ["algorithm", "value"]);
    assert_eq!(keys(&v["metadata"]), ["source_path", "pack_version"]);
    assert_eq!(v["package"]["file"], "model-1.0.0.tar.gz");
    assert_eq!(v["package"]["checksum"]["algorithm"], "sha256");
    // Packing again unchanged: same manifest, reported unchanged.
    let again = pack(&opts(&src, &t.path().join("dist"), Compression::Gzip)).unwrap();
    assert!(!again.changed);
    assert_eq!(again.manifest, r.manifest);
}
