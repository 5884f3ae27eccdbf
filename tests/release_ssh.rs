//! The same deploy/version/links code over real SSH: three sshd hosts, package pushed from
//! the controller over SFTP, deploy + switch + rollback + idempotent re-deploy on each host
//! in parallel.

#[path = "support/sshd.rs"]
mod sshd;

use std::time::Duration;
use yiqiu_play::connection::{self, Command, ConnectionSpec};
use yiqiu_play::release::deploy::{deploy, DeployRequest, Source};
use yiqiu_play::release::lock::LockOptions;
use yiqiu_play::release::pack::{pack, Compression, PackOptions};
use yiqiu_play::release::{links, version};

fn spec(h: &sshd::Sshd, key: &std::path::Path, i: usize) -> ConnectionSpec {
    ConnectionSpec {
        transport: "ssh".into(),
        inventory_name: format!("host{i}"),
        host: h.addr.clone(),
        port: Some(h.port),
        user: Some(sshd::USER.into()),
        private_key_file: Some(key.to_path_buf()),
        timeout: Duration::from_secs(10),
        host_key_checking: true,
        ..ConnectionSpec::default()
    }
}

fn sh(conn: &mut dyn connection::Connection, script: &str) -> String {
    let out = conn
        .exec(&Command {
            script: script.into(),
            ..Command::default()
        })
        .unwrap();
    assert_eq!(
        out.rc,
        0,
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

// One test: HOME is process-wide and the connection reads ~/.ssh/known_hosts from it.
#[test]
fn deploy_switch_rollback_on_three_ssh_hosts() {
    let lab = sshd::Lab::new(3);
    std::env::set_var("HOME", &lab.home);
    let t = tempfile::tempdir().unwrap();
    let mut manifests = Vec::new();
    for v in ["1.0.0", "1.0.1"] {
        let src = t.path().join(format!("src-{v}"));
        std::fs::create_dir_all(src.join("bert")).unwrap();
        std::fs::write(src.join("bert/config.json"), format!("config {v}")).unwrap();
        let r = pack(&PackOptions {
            src,
            component: "model".into(),
            version: v.into(),
            dest: t.path().join("dist"),
            compression: Compression::Xz,
            excludes: vec![],
            level: None,
        })
        .unwrap();
        manifests.push(r.manifest_path);
    }
    let base = format!("/tmp/yiqiu-release-ssh-{}", std::process::id());
    std::thread::scope(|s| {
        for (i, h) in lab.hosts.iter().enumerate() {
            let (key, manifests, base) = (&lab.key, &manifests, &base);
            s.spawn(move || {
                let mut conn = connection::open(&spec(h, key, i)).unwrap();
                let c = conn.as_mut();
                let root = format!("{base}/host{i}");
                sh(c, &format!("rm -rf {root} && mkdir -p {root}"));
                let lo = LockOptions::default();
                for (n, m) in manifests.iter().enumerate() {
                    let v = format!("1.0.{n}");
                    let r = deploy(
                        c,
                        &DeployRequest::new(
                            &root,
                            "model",
                            &v,
                            vec![Source::Controller(m.clone())],
                        ),
                    )
                    .unwrap();
                    assert!(r.changed && r.switched, "host{i} {v}");
                    assert_eq!(
                        r.source.as_deref(),
                        Some(format!("controller:{}", m.display()).as_str())
                    );
                }
                assert_eq!(
                    sh(c, &format!("cat {root}/links/model/bert/config.json")),
                    "config 1.0.1"
                );
                // Idempotent: nothing to do, nothing pushed.
                let again = deploy(
                    c,
                    &DeployRequest::new(
                        &root,
                        "model",
                        "1.0.1",
                        vec![Source::Controller(manifests[1].clone())],
                    ),
                )
                .unwrap();
                assert!(!again.changed && again.source.is_none());
                let rb = version::rollback(c, &root, "model", &lo).unwrap();
                assert_eq!(rb.current, "1.0.0");
                assert_eq!(
                    sh(c, &format!("readlink {root}/components/model/current")),
                    "1.0.0"
                );
                assert_eq!(
                    sh(c, &format!("cat {root}/links/model/bert/config.json")),
                    "config 1.0.0"
                );
                assert!(links::verify(c, &root).unwrap().is_empty());
                // Files belong to the login user: no root needed.
                assert_eq!(
                    sh(
                        c,
                        &format!("stat -c %U {root}/components/model/1.0.0/bert/config.json")
                    ),
                    sshd::USER
                );
                sh(c, &format!("rm -rf {root}"));
            });
        }
    });
    let _ = std::fs::remove_dir_all(&base);
}
