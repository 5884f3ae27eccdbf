//! Every module over SSH: the real `yiqiu-play` binary against real OpenSSH servers (see
//! `support/sshd.rs`), logging in as `yiqiu` (passwordless sudo). The hosts all live on this
//! machine, so each test works under `/tmp/yiqiu-sshmods/<test>/<inventory_hostname>` and
//! checks the effects on disk after the run, besides asserting inside the playbook.

mod common;
#[path = "support/sshd.rs"]
mod sshd;

use common::Run;
use sshd::Lab;
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_yiqiu-play");

/// The play header every test shares: `d` is this host's own work dir.
const HEAD: &str = r#"
- hosts: targets
  gather_facts: false
  vars:
    d: "{{ base }}/{{ inventory_hostname }}"
  tasks:
"#;

fn sh(cmd: &str) -> String {
    let out = Command::new("/bin/sh").arg("-c").arg(cmd).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn sha256(path: &Path) -> String {
    sh(&format!("sha256sum '{}'", path.display()))
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o7777
}

fn owner(path: &Path) -> (u32, u32) {
    let m = std::fs::symlink_metadata(path).unwrap();
    (m.uid(), m.gid())
}

fn uid_of(user: &str) -> u32 {
    sh(&format!("id -u {user}")).trim().parse().unwrap()
}

/// A lab of `n` hosts plus a fresh `/tmp/yiqiu-sshmods/<name>` with one dir per host, owned by
/// the login user.
struct T {
    lab: Lab,
    base: PathBuf,
    n: usize,
}

impl T {
    fn new(name: &str, n: usize) -> T {
        let lab = Lab::new(n);
        let base = PathBuf::from("/tmp/yiqiu-sshmods").join(name);
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base).unwrap();
        std::fs::set_permissions("/tmp/yiqiu-sshmods", PermissionsExt::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&base, PermissionsExt::from_mode(0o755)).unwrap();
        for i in 0..n {
            std::fs::create_dir(base.join(format!("host{i}"))).unwrap();
        }
        sh(&format!("chown -R yiqiu:yiqiu '{}'/host*", base.display()));
        T { lab, base, n }
    }

    fn hosts(&self) -> Vec<String> {
        (0..self.n).map(|i| format!("host{i}")).collect()
    }

    fn dir(&self, host: &str) -> PathBuf {
        self.base.join(host)
    }

    /// Writes a controller-side file under the project dir (HOME).
    fn file(&self, rel: &str, content: &str) -> PathBuf {
        let p = self.lab.home.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, content).unwrap();
        p
    }

    /// Runs a whole playbook with `-e base=...` (see `run` for tasks under the shared header).
    fn run_raw(&self, play: &str, extra: &[&str]) -> Run {
        self.lab.write("hosts", &self.lab.inventory(sshd::USER));
        self.lab.write("site.yml", play);
        // SSHMODS_ANSIBLE=1 runs real ansible-playbook instead, to check a test's expectations.
        let ansible = std::env::var_os("SSHMODS_ANSIBLE").is_some();
        let mut cmd = self.lab.command(if ansible {
            "/opt/ansible/bin/ansible-playbook"
        } else {
            BIN
        });
        if ansible {
            cmd.env("LC_ALL", "C.UTF-8")
                .env("ANSIBLE_HOST_KEY_CHECKING", "False")
                .args(["-e", "ansible_python_interpreter=/usr/bin/python3"]);
        }
        cmd.args(["-i", "hosts", "site.yml", "-e"])
            .arg(format!("base={}", self.base.display()))
            .args(extra);
        let out = cmd.output().expect("run yiqiu-play");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            dir: self.lab.home.clone(),
        }
    }

    fn run(&self, tasks: &str, extra: &[&str]) -> Run {
        self.run_raw(&format!("{HEAD}{tasks}"), extra)
    }

    fn recap_all(&self, r: &Run, expected: &str) {
        for h in self.hosts() {
            r.assert_recap(&h, expected);
        }
    }
}

#[test]
fn command_shell_raw_ping_and_controller_modules() {
    let t = T::new("basics", 3);
    t.file("vars/extra.yml", "from_file:\n  greeting: hello\n  n: 3\n");
    let r = t.run(
        r#"
    - ping:
      register: p
    - command: touch {{ d }}/made-by-command
      args:
        creates: "{{ d }}/made-by-command"
      register: c1
    - command: touch {{ d }}/made-by-command
      args:
        creates: "{{ d }}/made-by-command"
      register: c2
    - command:
        argv: [printf, '%s|%s', "two words", "{{ inventory_hostname }}"]
      register: argv
    - shell: echo "{{ inventory_hostname }}" | tr a-z A-Z > {{ d }}/shell.out && cat {{ d }}/shell.out
      register: sh
    - raw: id -un; echo raw-{{ inventory_hostname }} > {{ d }}/raw.out
      become: true
      register: raw
    - include_vars: vars/extra.yml
    - set_fact:
        combined: "{{ from_file.greeting }}-{{ inventory_hostname }}-{{ from_file.n * 2 }}"
    - debug:
        msg: "combined is {{ combined }}"
    - assert:
        that:
          - p.ping == 'pong'
          - c1 is changed
          - c2 is not changed
          - c2.rc == 0
          - argv.stdout == 'two words|' ~ inventory_hostname
          - sh.stdout == inventory_hostname | upper
          - raw.rc == 0
          - raw.stdout_lines[0] | trim == 'root'
          - combined == 'hello-' ~ inventory_hostname ~ '-6'
"#,
        &[],
    );
    r.assert_code(0);
    t.recap_all(&r, "ok=10 changed=4 failed=0 unreachable=0");
    r.out_contains("\"msg\": \"combined is hello-host1-6\"");
    let yiqiu = uid_of("yiqiu");
    for h in t.hosts() {
        let d = t.dir(&h);
        assert_eq!(owner(&d.join("made-by-command")).0, yiqiu);
        assert_eq!(
            read(&d.join("shell.out")),
            format!("{}\n", h.to_uppercase())
        );
        assert_eq!(read(&d.join("raw.out")), format!("raw-{h}\n"));
        assert_eq!(
            owner(&d.join("raw.out")).0,
            0,
            "raw with become writes as root"
        );
    }
}

/// Copy tasks templated with `ver`, run three times: make it, again (nothing changes), then
/// a new version in check + diff mode (reported, not written).
const COPY_PLAY: &str = r#"
    - copy:
        content: "hello {{ inventory_hostname }} v{{ ver }}\n"
        dest: "{{ d }}/content.txt"
        mode: "0640"
      register: content
    - copy:
        src: one.txt
        dest: "{{ d }}/one.txt"
    - copy:
        src: tree
        dest: "{{ d }}/"
    - copy:
        src: tree/
        dest: "{{ d }}/flat/"
        directory_mode: "0750"
    - copy:
        content: "root made, nobody owns\n"
        dest: "{{ d }}/owned.txt"
        owner: nobody
        group: nogroup
        mode: "0600"
      become: true
    - copy:
        content: "new\n"
        dest: "{{ d }}/backup.txt"
        backup: true
      register: bk
    - assert:
        that:
          - content.dest == d ~ '/content.txt'
          - content.checksum == sums[inventory_hostname]
          - bk.backup_file is defined
          - bk.backup_file.startswith(d ~ '/backup.txt.')
      when: round == '1'
    - assert:
        that:
          - content is not changed
          - bk is not changed
          - bk.backup_file is not defined
      when: round == '2'
    - assert:
        that:
          - content is changed
      when: round == '3'
"#;

#[test]
fn copy_content_src_tree_attributes_backup_idempotence_check_and_diff() {
    let t = T::new("copy", 2);
    t.file("files/one.txt", "one\n");
    t.file("tree/a.txt", "a\n");
    t.file("tree/sub/b.txt", "b\n");
    t.file("tree/sub/deeper/c.txt", "c\n");
    for h in t.hosts() {
        std::fs::write(t.dir(&h).join("backup.txt"), "old\n").unwrap();
        sh(&format!("chown yiqiu '{}/backup.txt'", t.dir(&h).display()));
    }

    // sha1 of each host's v1 content, for the registered checksum.
    let sums: Vec<String> = t
        .hosts()
        .iter()
        .map(|h| {
            let out = sh(&format!("printf 'hello {h} v1\\n' | sha1sum"));
            format!("\"{h}\": \"{}\"", &out[..40])
        })
        .collect();
    let sums = format!("{{\"sums\": {{{}}}}}", sums.join(", "));
    let r = t.run(COPY_PLAY, &["-e", "ver=1", "-e", "round=1", "-e", &sums]);
    r.assert_code(0);
    t.recap_all(&r, "changed=6 failed=0");
    let nobody = uid_of("nobody");
    for h in t.hosts() {
        let d = t.dir(&h);
        assert_eq!(read(&d.join("content.txt")), format!("hello {h} v1\n"));
        assert_eq!(mode(&d.join("content.txt")), 0o640);
        assert_eq!(read(&d.join("one.txt")), "one\n");
        assert_eq!(read(&d.join("tree/a.txt")), "a\n");
        assert_eq!(read(&d.join("tree/sub/b.txt")), "b\n");
        assert_eq!(read(&d.join("tree/sub/deeper/c.txt")), "c\n");
        assert_eq!(read(&d.join("flat/a.txt")), "a\n");
        assert_eq!(read(&d.join("flat/sub/deeper/c.txt")), "c\n");
        assert!(
            !d.join("flat/tree").exists(),
            "src with a slash copies the contents"
        );
        assert_eq!(mode(&d.join("flat/sub")), 0o750);
        assert_eq!(read(&d.join("owned.txt")), "root made, nobody owns\n");
        assert_eq!(owner(&d.join("owned.txt")), (nobody, 65534));
        assert_eq!(mode(&d.join("owned.txt")), 0o600);
        assert_eq!(read(&d.join("backup.txt")), "new\n");
        let backups: Vec<_> = std::fs::read_dir(&d)
            .unwrap()
            .flatten()
            .filter(|e| {
                let n = e.file_name().to_string_lossy().into_owned();
                n.starts_with("backup.txt.") && n.ends_with('~')
            })
            .collect();
        assert_eq!(backups.len(), 1, "one backup file in {}", d.display());
        assert_eq!(read(&backups[0].path()), "old\n");
    }

    let r = t.run(COPY_PLAY, &["-e", "ver=1", "-e", "round=2"]);
    r.assert_code(0);
    t.recap_all(&r, "changed=0 failed=0");

    let r = t.run(
        COPY_PLAY,
        &["-e", "ver=2", "-e", "round=3", "--check", "--diff"],
    );
    r.assert_code(0);
    t.recap_all(&r, "changed=1 failed=0");
    r.out_contains("-hello host0 v1")
        .out_contains("+hello host0 v2")
        .out_contains("+hello host1 v2");
    for h in t.hosts() {
        assert_eq!(
            read(&t.dir(&h).join("content.txt")),
            format!("hello {h} v1\n"),
            "check mode must not write"
        );
    }
}

#[test]
fn template_from_a_role_is_idempotent() {
    let t = T::new("template", 2);
    t.file(
        "roles/web/defaults/main.yml",
        "port: 8080\nnames: [alpha, beta]\n",
    );
    t.file(
        "roles/web/templates/site.conf.j2",
        "# {{ inventory_hostname }}\nlisten {{ port }}\n{% for n in names %}\nname {{ n }}\n{% endfor %}\n",
    );
    t.file(
        "roles/web/tasks/main.yml",
        "- template:\n    src: site.conf.j2\n    dest: \"{{ d }}/site.conf\"\n    mode: \"0604\"\n  register: tpl\n- assert:\n    that: tpl is changed\n  when: round == '1'\n",
    );
    let play = r#"
- hosts: targets
  gather_facts: false
  vars:
    d: "{{ base }}/{{ inventory_hostname }}"
  roles:
    - web
"#;
    let r = t.run_raw(play, &["-e", "round=1"]);
    r.assert_code(0);
    t.recap_all(&r, "ok=2 changed=1 failed=0");
    for h in t.hosts() {
        let p = t.dir(&h).join("site.conf");
        assert_eq!(
            read(&p),
            format!("# {h}\nlisten 8080\nname alpha\nname beta\n")
        );
        assert_eq!(mode(&p), 0o604);
    }
    let r = t.run_raw(play, &["-e", "round=2"]);
    r.assert_code(0);
    t.recap_all(&r, "changed=0 failed=0");
}

#[test]
fn file_states_links_recurse_and_ownership() {
    let t = T::new("file", 2);
    for h in t.hosts() {
        std::fs::create_dir_all(t.dir(&h).join("gone/inner")).unwrap();
        sh(&format!("chown -R yiqiu '{}'", t.dir(&h).display()));
    }
    let r = t.run(
        r#"
    - file:
        path: "{{ d }}/dir/sub"
        state: directory
        mode: "0750"
    - file:
        path: "{{ d }}/t.txt"
        state: touch
    - copy:
        content: "x\n"
        dest: "{{ d }}/dir/sub/f.txt"
    - file:
        path: "{{ d }}/t.txt"
        state: file
        mode: "0600"
    - file:
        src: "{{ d }}/t.txt"
        dest: "{{ d }}/sym"
        state: link
    - file:
        src: "{{ d }}/t.txt"
        dest: "{{ d }}/hard"
        state: hard
    - file:
        path: "{{ d }}/gone"
        state: absent
    - file:
        path: "{{ d }}/dir"
        state: directory
        recurse: true
        owner: nobody
        group: nogroup
        mode: "u=rwX,g=rX,o="
      become: true
    - file:
        path: "{{ d }}/missing"
        state: file
      register: miss
      ignore_errors: true
    - file:
        path: "{{ d }}/gone"
        state: absent
      register: gone_again
    - stat:
        path: "{{ d }}/sym"
      register: st
    - stat:
        path: "{{ d }}/nothing-here"
      register: nothing
    - assert:
        that:
          - miss is failed
          - gone_again is not changed
          - st.stat.exists
          - st.stat.islnk
          - st.stat.lnk_source == d ~ '/t.txt'
          - not nothing.stat.exists
"#,
        &[],
    );
    r.assert_code(0);
    t.recap_all(&r, "ok=13 changed=8 failed=0 ignored=1");
    let nobody = uid_of("nobody");
    for h in t.hosts() {
        let d = t.dir(&h);
        assert_eq!(std::fs::read_link(d.join("sym")).unwrap(), d.join("t.txt"));
        let ino = |p: &Path| std::fs::metadata(p).unwrap().ino();
        assert_eq!(ino(&d.join("hard")), ino(&d.join("t.txt")));
        assert_eq!(mode(&d.join("t.txt")), 0o600);
        assert!(!d.join("gone").exists());
        assert!(!d.join("missing").exists());
        for (p, m) in [("dir", 0o750), ("dir/sub", 0o750), ("dir/sub/f.txt", 0o640)] {
            assert_eq!(mode(&d.join(p)), m, "{p}");
            assert_eq!(owner(&d.join(p)), (nobody, 65534), "{p}");
        }
    }
}

const EDIT_PLAY: &str = r#"
    - lineinfile:
        path: "{{ d }}/conf"
        regexp: '^a='
        line: 'a=10'
    - lineinfile:
        path: "{{ d }}/conf"
        line: 'c=3'
        insertbefore: '^# end'
    - lineinfile:
        path: "{{ d }}/new"
        line: 'created'
        create: true
        mode: "0604"
    - lineinfile:
        path: "{{ d }}/conf"
        regexp: '^zap='
        state: absent
    - blockinfile:
        path: "{{ d }}/conf"
        block: |
          x=1
          y=2
    - replace:
        path: "{{ d }}/conf"
        regexp: '^b=(2)$'
        replace: 'b=\1\1'
    - stat:
        path: "{{ d }}/conf"
        checksum_algorithm: sha256
      register: st
    - command: sha256sum {{ d }}/conf
      register: sum
      changed_when: false
    - assert:
        that:
          - st.stat.checksum == sum.stdout.split()[0]
          - st.stat.size == 86
          - st.stat.isreg
          - st.stat.pw_name == 'yiqiu'
"#;

#[test]
fn stat_lineinfile_blockinfile_replace_and_idempotence() {
    let t = T::new("edit", 2);
    for h in t.hosts() {
        std::fs::write(t.dir(&h).join("conf"), "a=1\nzap=1\nb=2\n# end\n").unwrap();
        sh(&format!("chown yiqiu '{}/conf'", t.dir(&h).display()));
    }
    let want = "a=10\nb=22\nc=3\n# end\n# BEGIN ANSIBLE MANAGED BLOCK\nx=1\ny=2\n# END ANSIBLE MANAGED BLOCK\n";
    assert_eq!(want.len(), 86);
    let r = t.run(EDIT_PLAY, &[]);
    r.assert_code(0);
    t.recap_all(&r, "ok=9 changed=6 failed=0");
    for h in t.hosts() {
        let d = t.dir(&h);
        assert_eq!(read(&d.join("conf")), want);
        assert_eq!(read(&d.join("new")), "created\n");
        assert_eq!(mode(&d.join("new")), 0o604);
    }
    let r = t.run(EDIT_PLAY, &[]);
    r.assert_code(0);
    t.recap_all(&r, "ok=9 changed=0 failed=0");
    assert_eq!(read(&t.dir("host0").join("conf")), want);
}

#[test]
fn slurp_reads_a_file_base64() {
    let t = T::new("slurp", 2);
    for h in t.hosts() {
        std::fs::write(t.dir(&h).join("s.bin"), format!("slurped {h}\n\u{1}\u{2}")).unwrap();
        let secret = t.dir(&h).join("secret");
        std::fs::write(&secret, "root only\n").unwrap();
        std::fs::set_permissions(&secret, PermissionsExt::from_mode(0o600)).unwrap();
    }
    let r = t.run(
        r#"
    - slurp:
        src: "{{ d }}/s.bin"
      register: s
    - assert:
        that:
          - s.encoding == 'base64'
          - s.source == d ~ '/s.bin'
          - s.content | b64decode == 'slurped ' ~ inventory_hostname ~ '\n\x01\x02'
          - s is not changed
    - slurp:
        src: "{{ d }}/secret"
      become: true
      register: sec
    - assert:
        that: sec.content | b64decode == 'root only\n'
"#,
        &[],
    );
    r.assert_code(0);
    t.recap_all(&r, "ok=4 changed=0 failed=0");
}

#[test]
fn fetch_lays_out_dest_host_path_and_flat() {
    let t = T::new("fetch", 2);
    for h in t.hosts() {
        std::fs::write(t.dir(&h).join("remote.txt"), format!("from {h}\n")).unwrap();
        let secret = t.dir(&h).join("secret");
        std::fs::write(&secret, format!("secret of {h}\n")).unwrap();
        std::fs::set_permissions(&secret, PermissionsExt::from_mode(0o600)).unwrap();
    }
    let out = t.lab.home.join("fetched");
    let r = t.run(
        r#"
    - fetch:
        src: "{{ d }}/remote.txt"
        dest: fetched
      register: f1
    - fetch:
        src: "{{ d }}/remote.txt"
        dest: "fetched/flat-{{ inventory_hostname }}.txt"
        flat: true
    - fetch:
        src: "{{ d }}/remote.txt"
        dest: fetched
      register: f2
    - fetch:
        src: "{{ d }}/no-such-file"
        dest: fetched
        fail_on_missing: false
      register: f3
    - fetch:
        src: "{{ d }}/secret"
        dest: "fetched/secret-{{ inventory_hostname }}"
        flat: true
      become: true
    - assert:
        that:
          - f1 is changed
          - f2 is not changed
          - f1.md5sum == ('from ' ~ inventory_hostname ~ '\n') | hash('md5')
          - f3 is not changed
"#,
        &[],
    );
    r.assert_code(0);
    t.recap_all(&r, "ok=6 changed=3 failed=0");
    for h in t.hosts() {
        let remote = t.dir(&h).join("remote.txt");
        let nested = out.join(&h).join(remote.strip_prefix("/").unwrap());
        assert_eq!(read(&nested), format!("from {h}\n"));
        assert_eq!(
            read(&out.join(format!("flat-{h}.txt"))),
            format!("from {h}\n")
        );
        assert_eq!(
            read(&out.join(format!("secret-{h}"))),
            format!("secret of {h}\n")
        );
    }
}

#[test]
fn unarchive_tar_gz_is_idempotent_and_refuses_path_traversal() {
    let t = T::new("unarchive", 2);
    let src = t.lab.home.join("src");
    std::fs::create_dir_all(src.join("app/bin")).unwrap();
    std::fs::write(src.join("app/README"), "readme\n").unwrap();
    std::fs::write(src.join("app/bin/run.sh"), "#!/bin/sh\necho run\n").unwrap();
    std::fs::set_permissions(src.join("app/bin/run.sh"), PermissionsExt::from_mode(0o755)).unwrap();
    sh(&format!(
        "cd '{}' && tar czf ../app.tar.gz app",
        src.display()
    ));
    // `../escape.txt` kept as is by -P; `inner/ok.txt` is harmless.
    let evil = t.lab.home.join("evil");
    std::fs::create_dir_all(evil.join("w/inner")).unwrap();
    std::fs::write(evil.join("escape.txt"), "escaped\n").unwrap();
    std::fs::write(evil.join("w/inner/ok.txt"), "ok\n").unwrap();
    sh(&format!(
        "cd '{}/w' && tar czPf ../../evil.tar.gz inner/ok.txt ../escape.txt",
        evil.display()
    ));
    assert!(
        sh(&format!("tar tzf '{}/evil.tar.gz'", t.lab.home.display())).contains("../escape.txt")
    );
    for h in t.hosts() {
        for sub in ["app-dest", "evil-dest/x"] {
            std::fs::create_dir_all(t.dir(&h).join(sub)).unwrap();
        }
        sh(&format!("chown -R yiqiu '{}'", t.dir(&h).display()));
    }
    let play = r#"
    - unarchive:
        src: app.tar.gz
        dest: "{{ d }}/app-dest"
      register: u
    - assert:
        that: u is changed
      when: round == '1'
    - unarchive:
        src: evil.tar.gz
        dest: "{{ d }}/evil-dest/x"
      register: ev
      ignore_errors: true
    - assert:
        that: ev is failed
"#;
    let r = t.run(play, &["-e", "round=1"]);
    r.assert_code(0);
    t.recap_all(&r, "changed=1 failed=0 ignored=1");
    for h in t.hosts() {
        let d = t.dir(&h);
        assert_eq!(read(&d.join("app-dest/app/README")), "readme\n");
        let run = d.join("app-dest/app/bin/run.sh");
        assert_eq!(read(&run), "#!/bin/sh\necho run\n");
        assert_eq!(mode(&run), 0o755);
        assert!(
            !d.join("evil-dest/escape.txt").exists(),
            "traversal written"
        );
        assert!(
            !d.join("evil-dest/x/inner").exists(),
            "nothing of a refused archive is written"
        );
        assert_eq!(std::fs::read_dir(d.join("evil-dest/x")).unwrap().count(), 0);
    }
    let r = t.run(play, &["-e", "round=2"]);
    r.assert_code(0);
    t.recap_all(&r, "changed=0 failed=0 ignored=1");
}

#[test]
fn wait_for_ports_and_paths() {
    let t = T::new("wait_for", 2);
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let open = listener.local_addr().unwrap().port();
    let closed = std::net::TcpListener::bind(("127.0.0.1", 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    for h in t.hosts() {
        std::fs::write(t.dir(&h).join("status"), "booting\nstate: ready now\n").unwrap();
    }
    let r = t.run(
        &r#"
    - wait_for:
        host: 127.0.0.1
        port: @OPEN@
        timeout: 10
      register: w_open
    - wait_for:
        host: 127.0.0.1
        port: @CLOSED@
        state: stopped
        timeout: 10
    - wait_for:
        path: "{{ d }}/status"
        search_regex: 'state: (?P<word>\w+)'
        timeout: 10
      register: w_re
    - wait_for:
        path: "{{ d }}/never"
        state: absent
        timeout: 5
    - wait_for:
        host: 127.0.0.1
        port: @CLOSED@
        timeout: 1
      register: w_fail
      ignore_errors: true
    - assert:
        that:
          - w_open is not changed
          - w_open.port == @OPEN@
          - w_re.match_groupdict.word == 'ready'
          - w_fail is failed
          - "'Timeout when waiting for 127.0.0.1:@CLOSED@' in w_fail.msg"
"#
        .replace("@OPEN@", &open.to_string())
        .replace("@CLOSED@", &closed.to_string()),
        &[],
    );
    drop(listener);
    r.assert_code(0);
    t.recap_all(&r, "ok=6 failed=0 ignored=1");
}

/// A tiny HTTP/1.0 server on loopback: `/file.txt` is `body` (304 to a conditional request),
/// anything else 404. It serves
/// until `stop` is set (and at most 60 s).
/// The port, the stop flag, and the thread (which returns how many requests it served).
type Server = (
    u16,
    std::sync::Arc<std::sync::atomic::AtomicBool>,
    std::thread::JoinHandle<usize>,
);

fn http_server(body: &'static str) -> Server {
    use std::sync::atomic::{AtomicBool, Ordering};
    let l = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    l.set_nonblocking(true).unwrap();
    let port = l.local_addr().unwrap().port();
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let h = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut served = 0;
        while !stop2.load(Ordering::SeqCst) && Instant::now() < deadline {
            let Ok((mut s, _)) = l.accept() else {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            };
            s.set_nonblocking(false).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let req = String::from_utf8_lossy(&req);
            let head = req.starts_with("HEAD ");
            let found = req.split_whitespace().nth(1) == Some("/file.txt");
            // The content is older than anything a client holds: a conditional GET gets 304.
            let conditional = req.to_ascii_lowercase().contains("\r\nif-modified-since:");
            let (status, content) = if found && conditional {
                ("304 Not Modified", "")
            } else if found {
                ("200 OK", body)
            } else {
                ("404 Not Found", "not found\n")
            };
            let mut resp = format!(
                "HTTP/1.0 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                content.len()
            );
            if !head {
                resp.push_str(content);
            }
            let _ = s.write_all(resp.as_bytes());
            served += 1;
        }
        served
    });
    (port, stop, h)
}

#[test]
fn get_url_from_a_local_server_with_checksum() {
    let t = T::new("get_url", 2);
    const BODY: &str = "downloaded over http\n";
    let (port, stop, server) = http_server(BODY);
    let sum = {
        let p = t.file("expected.txt", BODY);
        sha256(&p)
    };
    let r = t.run(
        &r#"
    - get_url:
        url: "http://127.0.0.1:@PORT@/file.txt"
        dest: "{{ d }}/file.txt"
        checksum: "sha256:@SUM@"
        mode: "0640"
      register: g1
    - get_url:
        url: "http://127.0.0.1:@PORT@/file.txt"
        dest: "{{ d }}/file.txt"
        checksum: "sha256:@SUM@"
        mode: "0640"
      register: g2
    - get_url:
        url: "http://127.0.0.1:@PORT@/file.txt"
        dest: "{{ d }}/bad.txt"
        checksum: "sha256:0000000000000000000000000000000000000000000000000000000000000000"
      register: bad
      ignore_errors: true
    - get_url:
        url: "http://127.0.0.1:@PORT@/nope"
        dest: "{{ d }}/nope.txt"
      register: nope
      ignore_errors: true
    - assert:
        that:
          - g1 is changed
          - g1.status_code == 200
          - g1.checksum_dest is defined
          - g2 is not changed
          - bad is failed
          - nope is failed
          - nope.status_code == 404
"#
        .replace("@PORT@", &port.to_string())
        .replace("@SUM@", &sum),
        &[],
    );
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let served = server.join().unwrap();
    r.assert_code(0);
    t.recap_all(&r, "ok=5 changed=1 failed=0 ignored=2");
    assert!(served >= 4, "the server saw {served} requests");
    for h in t.hosts() {
        let d = t.dir(&h);
        assert_eq!(read(&d.join("file.txt")), BODY);
        assert_eq!(mode(&d.join("file.txt")), 0o640);
        assert!(!d.join("bad.txt").exists(), "a bad checksum leaves no file");
        assert!(!d.join("nope.txt").exists());
    }
}

#[test]
fn find_and_tempfile() {
    let t = T::new("find", 2);
    for h in t.hosts() {
        let d = t.dir(&h).join("tree");
        std::fs::create_dir_all(d.join("sub")).unwrap();
        for (f, c) in [
            ("a.log", "error here\n"),
            ("b.log", "fine\n"),
            ("c.txt", "error too\n"),
            ("sub/d.log", "error deep\n"),
            (".hidden.log", "error hidden\n"),
        ] {
            std::fs::write(d.join(f), c).unwrap();
        }
        sh(&format!("chown -R yiqiu '{}'", t.dir(&h).display()));
    }
    let r = t.run(
        r#"
    - find:
        paths: "{{ d }}/tree"
        patterns: "*.log"
      register: flat
    - find:
        paths: "{{ d }}/tree"
        patterns: "*.log"
        recurse: true
        hidden: true
        contains: "error"
      register: deep
    - find:
        paths: "{{ d }}/tree"
        file_type: directory
      register: dirs
    - tempfile:
        path: "{{ d }}"
        suffix: .tmp
      register: tf
    - tempfile:
        path: "{{ d }}"
        state: directory
        prefix: dir.
      register: td
    - copy:
        content: "in temp\n"
        dest: "{{ td.path }}/x"
    - assert:
        that:
          - flat.matched == 2
          - flat.files | map(attribute='path') | map('basename') | sort | list == ['a.log', 'b.log']
          - deep.matched == 3
          - deep.files | map(attribute='path') | map('basename') | sort | list == ['.hidden.log', 'a.log', 'd.log']
          - dirs.matched == 1
          - dirs.files[0].path == d ~ '/tree/sub'
          - tf is changed
          - tf.path.startswith(d ~ '/ansible.')
          - tf.path.endswith('.tmp')
          - td.path.startswith(d ~ '/dir.')
"#,
        &[],
    );
    r.assert_code(0);
    t.recap_all(&r, "ok=7 failed=0");
    let yiqiu = uid_of("yiqiu");
    for h in t.hosts() {
        let d = t.dir(&h);
        let names: Vec<String> = std::fs::read_dir(&d)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        let tmp: Vec<_> = names.iter().filter(|n| n.ends_with(".tmp")).collect();
        assert_eq!(tmp.len(), 1, "{names:?}");
        assert!(d.join(tmp[0]).is_file());
        assert_eq!(owner(&d.join(tmp[0])).0, yiqiu);
        let dir: Vec<_> = names.iter().filter(|n| n.starts_with("dir.")).collect();
        assert_eq!(dir.len(), 1, "{names:?}");
        assert_eq!(read(&d.join(dir[0]).join("x")), "in temp\n");
    }
}

#[test]
fn facts_are_gathered_over_ssh_without_python() {
    let t = T::new("facts", 2);
    let hostname = read(Path::new("/proc/sys/kernel/hostname"))
        .trim()
        .to_string();
    let kernel = sh("uname -r").trim().to_string();
    let play = r#"
- hosts: targets
  gather_facts: true
  tasks:
    - setup:
        filter: "ansible_kernel*"
      register: filtered
    - assert:
        that:
          - ansible_facts.hostname == want_host.split('.')[0]
          - ansible_hostname == ansible_facts.hostname
          - ansible_facts.system == 'Linux'
          - ansible_facts.kernel == want_kernel
          - ansible_facts.user_id == 'yiqiu'
          - ansible_facts.user_dir == '/home/yiqiu'
          - ansible_facts.architecture is string
          - ansible_facts.distribution is string
          - ansible_facts.os_family is string
          - ansible_facts.env.HOME == '/home/yiqiu'
          - ansible_facts.date_time.epoch | int > 0
          - ansible_facts.memtotal_mb | int > 0
          - ansible_facts.processor_vcpus | int > 0
          - "'127.0.0.1' in ansible_facts.all_ipv4_addresses or ansible_facts.all_ipv4_addresses is defined"
          - filtered.ansible_facts | length > 0
"#;
    let r = t.run_raw(
        play,
        &[
            "-e",
            &format!("want_host={hostname}"),
            "-e",
            &format!("want_kernel={kernel}"),
        ],
    );
    r.assert_code(0);
    t.recap_all(&r, "ok=3 failed=0");
}

#[test]
fn service_drives_a_sysv_script_where_systemd_is_not_running() {
    let t = T::new("service", 2);
    if Path::new("/run/systemd/system").exists() {
        panic!("systemd runs here: this test drives the SysV fallback and would touch real units");
    }
    for h in t.hosts() {
        let initd = t.dir(&h).join("initd");
        std::fs::create_dir_all(&initd).unwrap();
        let state = t.dir(&h).join("running");
        let log = t.dir(&h).join("log");
        let script = format!(
            "#!/bin/sh\ncase \"$1\" in\n  start) touch '{s}'; echo start >> '{l}';;\n  stop) rm -f '{s}'; echo stop >> '{l}';;\n  \
             restart) touch '{s}'; echo restart >> '{l}';;\n  reload) echo reload >> '{l}';;\n  \
             status) [ -e '{s}' ] && exit 0; exit 3;;\n  *) exit 2;;\nesac\n",
            s = state.display(),
            l = log.display()
        );
        std::fs::write(initd.join("demo"), script).unwrap();
        std::fs::set_permissions(initd.join("demo"), PermissionsExt::from_mode(0o755)).unwrap();
    }
    let r = t.run(
        r#"
    - service:
        name: demo
        state: started
      register: s1
    - service:
        name: demo
        state: started
      register: s2
    - service:
        name: demo
        state: restarted
      register: s3
    - service:
        name: demo
        state: stopped
      register: s4
    - service:
        name: no-such-service
        state: started
      register: s5
      ignore_errors: true
    - assert:
        that:
          - s1 is changed
          - s2 is not changed
          - s3 is changed
          - s4 is changed
          - s4.state == 'stopped'
          - s5 is failed
  environment:
    YIQIU_INITD_DIR: "{{ d }}/initd"
  become: true
"#,
        &[],
    );
    r.assert_code(0);
    t.recap_all(&r, "ok=6 changed=3 failed=0 ignored=1");
    for h in t.hosts() {
        let d = t.dir(&h);
        assert_eq!(read(&d.join("log")), "start\nrestart\nstop\n");
        assert!(!d.join("running").exists());
        assert_eq!(owner(&d.join("log")).0, 0, "ran with become");
    }
}

#[test]
fn copy_of_100_mb_matches_sha256sum() {
    let t = T::new("bigcopy", 1);
    let big = t.lab.home.join("big.bin");
    {
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
    let want = sha256(&big);
    let r = t.run(
        r#"
    - copy:
        src: big.bin
        dest: "{{ d }}/big.bin"
      register: c
    - command: sha256sum {{ d }}/big.bin
      register: sum
    - assert:
        that:
          - c is changed
          - c.size == 104857600
          - sum.stdout.split()[0] == want
"#,
        &["-e", &format!("want={want}")],
    );
    r.assert_code(0);
    t.recap_all(&r, "ok=3 failed=0");
    let remote = t.dir("host0").join("big.bin");
    assert_eq!(std::fs::metadata(&remote).unwrap().len(), 100 << 20);
    assert_eq!(sha256(&remote), want);
}

#[test]
fn become_nobody_writes_where_only_nobody_can() {
    let t = T::new("become_nobody", 2);
    for h in t.hosts() {
        let p = t.dir(&h).join("nobody-only");
        std::fs::create_dir(&p).unwrap();
        sh(&format!(
            "chown nobody:nogroup '{}' && chmod 0700 '{}'",
            p.display(),
            p.display()
        ));
    }
    t.file("templates/n.j2", "templated for {{ inventory_hostname }}\n");
    let r = t.run(
        r#"
    - command: whoami
      register: who
    - copy:
        content: "written by nobody\n"
        dest: "{{ d }}/nobody-only/c.txt"
    - template:
        src: n.j2
        dest: "{{ d }}/nobody-only/t.txt"
    - lineinfile:
        path: "{{ d }}/nobody-only/l.txt"
        line: "a line"
        create: true
    - file:
        path: "{{ d }}/nobody-only/touched"
        state: touch
    - copy:
        content: "x\n"
        dest: "{{ d }}/denied.txt"
      register: denied
      ignore_errors: true
    - assert:
        that:
          - who.stdout == 'nobody'
          - denied is failed
  become: true
  become_user: nobody
"#,
        &[],
    );
    r.assert_code(0);
    t.recap_all(&r, "ok=7 changed=5 failed=0 ignored=1");
    let nobody = uid_of("nobody");
    for h in t.hosts() {
        let d = t.dir(&h).join("nobody-only");
        assert_eq!(read(&d.join("c.txt")), "written by nobody\n");
        assert_eq!(read(&d.join("t.txt")), format!("templated for {h}\n"));
        assert_eq!(read(&d.join("l.txt")), "a line\n");
        for f in ["c.txt", "t.txt", "l.txt", "touched"] {
            assert_eq!(owner(&d.join(f)).0, nobody, "{f}");
        }
        assert!(!t.dir(&h).join("denied.txt").exists());
    }
}

/// Found while writing the copy test: Ansible evaluates a conditional as a Jinja expression,
/// so `'\n'` in a string literal there is a newline (only `{{ }}` in templated strings keeps
/// the backslash, through Ansible's backslash escaping).
#[test]
fn conditional_string_literal_escapes_are_interpreted() {
    let t = T::new("cond_escape", 1);
    let r = t.run(
        r#"
    - copy:
        content: "line\n"
        dest: "{{ d }}/line.txt"
      register: c
    - assert:
        that:
          - ('a\nb') | length == 3
          - c.checksum == 'line\n' | hash('sha1')
    - debug:
        msg: "{{ 'a\\nb' | length }}"
"#,
        &[],
    );
    r.assert_code(0);
    r.out_contains("\"msg\": 4");
    t.recap_all(&r, "ok=3 failed=0");
}

/// Ansible's setup module returns `ansible_`-prefixed keys in its result (what `register`
/// sees); only the host's `ansible_facts` variable holds them without the prefix.
#[test]
fn registered_setup_result_keeps_the_ansible_prefix() {
    let t = T::new("facts_register", 1);
    let r = t.run(
        r#"
    - setup:
        filter: "ansible_kernel*"
      register: filtered
    - assert:
        that:
          - filtered.ansible_facts.ansible_kernel == ansible_facts.kernel
          - filtered.ansible_facts.ansible_kernel == ansible_kernel
          - "'kernel' not in filtered.ansible_facts"
          - "'ansible_hostname' not in filtered.ansible_facts"
"#,
        &[],
    );
    r.assert_code(0);
    t.recap_all(&r, "ok=2 failed=0");
}

const EDGE_PLAY: &str = r#"
    - copy:
        content: "spaced ünï\n"
        dest: "{{ d }}/with space ünï.txt"
    - file:
        src: "{{ d }}/with space ünï.txt"
        dest: "{{ d }}/link with space"
        state: link
    - file:
        path: "{{ d }}/dir 'quoted' $x"
        state: directory
    - lineinfile:
        path: "{{ d }}/dir 'quoted' $x/l.txt"
        line: "$HOME `id` \"q\""
        create: true
    - copy:
        src: "{{ d }}/with space ünï.txt"
        dest: "{{ d }}/remote-copy.txt"
        remote_src: true
    - copy:
        content: "not forced\n"
        dest: "{{ d }}/keep.txt"
        force: false
    - copy:
        content: "valid\n"
        dest: "{{ d }}/validated.txt"
        validate: grep -q valid %s
    - copy:
        content: "invalid\n"
        dest: "{{ d }}/rejected.txt"
        validate: grep -q nomatch %s
      register: rejected
      ignore_errors: true
    - copy:
        content: "root dir\n"
        dest: "{{ d }}/rootdir/r.txt"
        owner: root
        mode: "0644"
      become: true
    - copy:
        content: "check only\n"
        dest: "{{ d }}/check-only.txt"
      check_mode: true
      register: chk
    - assert:
        that:
          - rejected is failed
          - chk is changed
"#;

#[test]
fn odd_names_remote_src_force_validate_and_check_mode_copy() {
    let t = T::new("edge", 2);
    for h in t.hosts() {
        std::fs::write(t.dir(&h).join("keep.txt"), "kept\n").unwrap();
        // Only root may write here.
        std::fs::create_dir(t.dir(&h).join("rootdir")).unwrap();
        sh(&format!("chown yiqiu '{}/keep.txt'", t.dir(&h).display()));
    }
    let r = t.run(EDGE_PLAY, &[]);
    r.assert_code(0);
    t.recap_all(&r, "ok=11 changed=8 failed=0 ignored=1");
    for h in t.hosts() {
        let d = t.dir(&h);
        assert_eq!(read(&d.join("with space ünï.txt")), "spaced ünï\n");
        assert_eq!(
            std::fs::read_link(d.join("link with space")).unwrap(),
            d.join("with space ünï.txt")
        );
        assert_eq!(read(&d.join("dir 'quoted' $x/l.txt")), "$HOME `id` \"q\"\n");
        assert_eq!(read(&d.join("remote-copy.txt")), "spaced ünï\n");
        assert_eq!(read(&d.join("keep.txt")), "kept\n");
        assert_eq!(read(&d.join("validated.txt")), "valid\n");
        assert!(!d.join("rejected.txt").exists());
        assert_eq!(read(&d.join("rootdir/r.txt")), "root dir\n");
        assert_eq!(owner(&d.join("rootdir/r.txt")).0, 0);
        assert!(!d.join("check-only.txt").exists());
        let leftovers: Vec<String> = std::fs::read_dir(&d)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp") || n.starts_with(".ansible") || n.starts_with('.'))
            .collect();
        assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
    }
    // Everything but the always-changed check_mode probe is settled now.
    let r = t.run(EDGE_PLAY, &[]);
    r.assert_code(0);
    t.recap_all(&r, "ok=11 changed=1 failed=0 ignored=1");
}

const ROOT_PLAY: &str = r#"
    - file:
        path: "{{ d }}/etc/app"
        state: directory
        owner: root
        group: root
        mode: "0755"
    - file:
        src: /etc/hostname
        dest: "{{ d }}/etc/app/hostname-link"
        state: link
    - unarchive:
        src: bundle.tar.gz
        dest: "{{ d }}/etc/app"
        owner: nobody
        group: nogroup
    - get_url:
        url: "http://127.0.0.1:@PORT@/file.txt"
        dest: "{{ d }}/etc/app/fetched.txt"
        mode: "0600"
    - lineinfile:
        path: "{{ d }}/etc/app/fetched.txt"
        line: "appended"
        backup: true
      register: li
    - shell: "(sleep 1; touch '{{ d }}/late') > /dev/null 2>&1 &"
      changed_when: false
      when: round == '1'
    - wait_for:
        path: "{{ d }}/late"
        timeout: 20
  become: true
"#;

#[test]
fn become_root_file_unarchive_get_url_are_idempotent() {
    let t = T::new("become_root", 2);
    const BODY: &str = "served\n";
    let (port, stop, server) = http_server(BODY);
    let src = t.lab.home.join("bundle");
    std::fs::create_dir_all(src.join("conf.d")).unwrap();
    std::fs::write(src.join("conf.d/a.conf"), "a\n").unwrap();
    sh(&format!(
        "cd '{}' && tar czf ../bundle.tar.gz conf.d",
        src.display()
    ));
    let play = ROOT_PLAY.replace("@PORT@", &port.to_string());
    let r = t.run(&play, &["-e", "round=1"]);
    r.assert_code(0);
    t.recap_all(&r, "ok=7 changed=5 failed=0");
    let nobody = uid_of("nobody");
    for h in t.hosts() {
        let d = t.dir(&h).join("etc/app");
        assert_eq!(owner(&d), (0, 0));
        assert_eq!(
            std::fs::read_link(d.join("hostname-link")).unwrap(),
            Path::new("/etc/hostname")
        );
        assert_eq!(read(&d.join("conf.d/a.conf")), "a\n");
        assert_eq!(owner(&d.join("conf.d/a.conf")), (nobody, 65534));
        assert_eq!(owner(&d.join("conf.d")), (nobody, 65534));
        assert_eq!(read(&d.join("fetched.txt")), "served\nappended\n");
        assert_eq!(owner(&d.join("fetched.txt")), (0, 0));
        assert_eq!(mode(&d.join("fetched.txt")), 0o600);
        let backups = std::fs::read_dir(&d)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("fetched.txt."))
            .count();
        assert_eq!(backups, 1);
        assert!(t.dir(&h).join("late").exists());
    }
    // get_url without force sends If-Modified-Since and keeps dest on 304: nothing changes.
    let r = t.run(&play, &["-e", "round=2"]);
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    server.join().unwrap();
    r.assert_code(0);
    t.recap_all(&r, "changed=0 failed=0");
}
