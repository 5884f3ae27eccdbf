//! The ssh connection used directly through the library: uploads (100 MB streamed, modes,
//! become), downloads, and exec details, checked with the remote's own tools.

#[path = "support/sshd.rs"]
mod sshd;

use std::io::Write;
use std::time::Duration;
use yiqiu_play::connection::{self, Become, Command, ConnectionSpec};

fn spec(lab: &sshd::Lab) -> ConnectionSpec {
    ConnectionSpec {
        transport: "ssh".into(),
        inventory_name: "host0".into(),
        host: lab.hosts[0].addr.clone(),
        port: Some(lab.hosts[0].port),
        user: Some(sshd::USER.into()),
        private_key_file: Some(lab.key.clone()),
        timeout: Duration::from_secs(10),
        host_key_checking: true,
        ..ConnectionSpec::default()
    }
}

fn sh(conn: &mut dyn connection::Connection, script: &str, become_: &Become) -> String {
    let out = conn
        .exec(&Command {
            script: script.into(),
            become_: become_.clone(),
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

fn root() -> Become {
    Become {
        enabled: true,
        method: "sudo".into(),
        user: "root".into(),
        ..Become::default()
    }
}

// One test: HOME is process-wide and the connection reads ~/.ssh/known_hosts from it.
#[test]
fn uploads_downloads_and_exec_over_one_session() {
    let lab = sshd::Lab::new(1);
    std::env::set_var("HOME", &lab.home);
    let mut conn = connection::open(&spec(&lab)).unwrap();
    assert_eq!(conn.transport(), "ssh");
    let remote_dir = sh(
        &mut *conn,
        "mktemp -d /tmp/yiqiu-xfer.XXXXXX",
        &Become::default(),
    );

    // 100 MB, streamed from disk; compare the remote's sha256sum with ours.
    let big = lab.dir.path().join("big.bin");
    {
        // Pseudo-random 1 MiB, each copy stamped with its index so blocks differ.
        let mut block = vec![0u8; 1 << 20];
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for chunk in block.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            chunk.copy_from_slice(&x.to_le_bytes());
        }
        let mut f = std::io::BufWriter::new(std::fs::File::create(&big).unwrap());
        for i in 0..100u64 {
            block[..8].copy_from_slice(&i.to_le_bytes());
            f.write_all(&block).unwrap();
        }
    }
    // The controller's own sha256sum: hashing 100 MB in an unoptimised test build is slow.
    let local = std::process::Command::new("sha256sum")
        .arg(&big)
        .output()
        .unwrap();
    let want = String::from_utf8_lossy(&local.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    assert_eq!(want.len(), 64);
    let started = std::time::Instant::now();
    let dest = format!("{remote_dir}/big.bin");
    conn.put_file(&big, &dest, Some(0o640), &Become::default())
        .unwrap();
    eprintln!("100 MB upload took {:?}", started.elapsed());
    let got = sh(
        &mut *conn,
        &format!("sha256sum {dest} | cut -d' ' -f1"),
        &Become::default(),
    );
    assert_eq!(got, want);
    assert_eq!(
        sh(
            &mut *conn,
            &format!("stat -c %a {dest}"),
            &Become::default()
        ),
        "640"
    );
    let leftovers = sh(
        &mut *conn,
        &format!("ls -A {remote_dir}"),
        &Become::default(),
    );
    assert_eq!(leftovers, "big.bin", "no temp files left behind");

    // Replacing an existing file keeps its mode when none is given.
    let small = format!("{remote_dir}/small.txt");
    conn.put(b"one", &small, Some(0o600), &Become::default())
        .unwrap();
    conn.put(b"two", &small, None, &Become::default()).unwrap();
    assert_eq!(conn.get(&small, &Become::default()).unwrap(), b"two");
    assert_eq!(
        sh(
            &mut *conn,
            &format!("stat -c %a {small}"),
            &Become::default()
        ),
        "600"
    );

    // Upload errors are task failures, not unreachable hosts.
    let err = conn
        .put(b"x", "/nonexistent-dir/file", None, &Become::default())
        .unwrap_err();
    assert!(matches!(err, connection::ConnError::Failed(_)), "{err:?}");

    // With become the file belongs to the become user; reading it back goes through sudo.
    let owned = format!("{remote_dir}/root-owned");
    conn.put(b"secret", &owned, Some(0o600), &root()).unwrap();
    assert_eq!(
        sh(
            &mut *conn,
            &format!("stat -c %U:%a {owned}"),
            &Become::default()
        ),
        "root:600"
    );
    assert_eq!(conn.get(&owned, &root()).unwrap(), b"secret");
    assert!(
        conn.get(&owned, &Become::default()).is_err(),
        "unreadable without become"
    );
    let staged = sh(
        &mut *conn,
        "ls -A /tmp | grep -c '^.yiqiu-put-' || true",
        &Become::default(),
    );
    assert_eq!(staged, "0", "the staged copy in /tmp is removed");

    // become to a non-root user copies via a temp file it can read.
    let nobody = Become {
        user: "nobody".into(),
        ..root()
    };
    sh(
        &mut *conn,
        &format!("chmod 1777 {remote_dir}"),
        &Become::default(),
    );
    let theirs = format!("{remote_dir}/nobody-owned");
    conn.put(b"hello nobody", &theirs, None, &nobody).unwrap();
    assert_eq!(
        sh(
            &mut *conn,
            &format!("stat -c %U {theirs}"),
            &Become::default()
        ),
        "nobody"
    );

    // exec: env quoting, cwd, stdin, executable, exit codes.
    let out = conn
        .exec(&Command {
            script: "printf '%s|%s|' \"$A\" \"$(pwd)\"; cat; exit 5".into(),
            env: vec![("A".into(), "x'y $HOME".into())],
            cwd: Some("/tmp".into()),
            stdin: Some(b"in".to_vec()),
            ..Command::default()
        })
        .unwrap();
    assert_eq!(out.rc, 5);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "x'y $HOME|/tmp|in");
    let out = conn
        .exec(&Command {
            script: "echo ${BASH_VERSION:+bash}".into(),
            executable: Some("/bin/bash".into()),
            ..Command::default()
        })
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "bash");

    // A big stdout and stderr at once must not deadlock.
    let out = conn
        .exec(&Command {
            script:
                "head -c 3000000 /dev/zero | tr '\\0' a; head -c 3000000 /dev/zero | tr '\\0' b >&2"
                    .into(),
            ..Command::default()
        })
        .unwrap();
    assert_eq!((out.stdout.len(), out.stderr.len()), (3_000_000, 3_000_000));

    sh(&mut *conn, &format!("rm -rf {remote_dir}"), &root());
}
