//! Round 4: builtin modules and lookups added for ansible-core 2.19.14's integration targets
//! (bench/compat). Each test asserts Ansible's behaviour and its real effects.

mod common;
use common::*;

#[test]
fn password_lookup_creates_the_file_once_and_reuses_it() {
    // The file is written 0600 in a new 0700 directory under the playbook dir; a second
    // lookup reads it back; /dev/null gives a fresh password; encrypt needs passlib, which
    // Ansible 2.19 reports after it has stored the salt.
    let (d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - set_fact:
        a: "{{ lookup('password', 'creds/a length=12 chars=digits') }}"
        n: "{{ lookup('password', '/dev/null') }}"
    - assert:
        that:
          - a | length == 12
          - a is match('^[0-9]+$')
          - n | length == 20
          - lookup('password', 'creds/a') == a
    - debug:
        msg: "{{ lookup('password', 'creds/b encrypt=sha512_crypt') }}"
      ignore_errors: true
    - debug:
        msg: "{{ lookup('password', 'creds/c bogus=1') }}"
      ignore_errors: true
"#,
        &[],
    );
    r.assert_code(0);
    r.assert_recap("localhost", "ok=4 failed=0 ignored=2");
    r.out_contains("Unable to encrypt nor hash, passlib must be installed");
    r.out_contains("Unrecognized parameter(s) given to password lookup: bogus");
    use std::os::unix::fs::PermissionsExt;
    let dir = d.path().join("creds");
    let mode =
        |p: &std::path::Path| std::fs::metadata(p).expect("exists").permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("a")), 0o600);
    let a = std::fs::read_to_string(dir.join("a")).expect("a");
    assert!(a.ends_with('\n') && a.trim().len() == 12, "{a:?}");
    let b = std::fs::read_to_string(dir.join("b")).expect("b");
    let (pw, salt) = b.trim().split_once(" salt=").expect("salt stored");
    assert_eq!((pw.len(), salt.len()), (20, 16), "{b:?}");
    assert!(!dir.join("c").exists());
}

/// Fake apt tools for a package `foo` (candidate 1.0): dpkg-query reads `installed` in the
/// dir, apt-get installs/removes by editing it; every call is logged to `calls`.
fn fake_apt(dir: &std::path::Path) -> String {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).expect("bin");
    let d = dir.display();
    let tools = [
        (
            "dpkg-query",
            format!(
                "#!/bin/sh\necho \"dpkg-query $*\" >>{d}/calls\nfmt=${{2#-f=}}; pkg=$3\ngrep -qx \"$pkg\" {d}/installed 2>/dev/null || exit 1\nprintf '%s' \"$fmt\" | sed -e 's/${{db:Status-Abbrev}}/ii /' -e 's/${{Version}}/1.0/' -e 's/\\\\n$//'; echo\n"
            ),
        ),
        (
            "apt-cache",
            format!(
                "#!/bin/sh\necho \"apt-cache $*\" >>{d}/calls\n[ \"$1\" = policy ] && [ \"$2\" = foo ] || exit 0\ni='(none)'; grep -qx foo {d}/installed 2>/dev/null && i=1.0\nprintf 'foo:\\n  Installed: %s\\n  Candidate: 1.0\\n  Version table:\\n     1.0 500\\n        500 file:/repo stable/main all Packages\\n' \"$i\"\n"
            ),
        ),
        (
            "apt-get",
            format!(
                "#!/bin/sh\necho \"apt-get $*\" >>{d}/calls\nfor a; do case $a in install) op=i;; remove) op=r;; foo*) pkg=foo;; esac; done\n[ \"$op\" = i ] && echo foo >>{d}/installed\n[ \"$op\" = r ] && : >{d}/installed\necho 'Reading state information...'\necho '1 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.'\n"
            ),
        ),
        ("apt-mark", format!("#!/bin/sh\necho \"apt-mark $*\" >>{d}/calls\n")),
    ];
    for (name, body) in tools {
        let p = bin.join(name);
        std::fs::write(&p, body).expect("tool");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    format!("{}:/usr/bin:/bin", bin.display())
}

#[test]
fn apt_installs_only_what_is_missing_and_removes_what_is_there() {
    // As ansible-core's apt module: a missing package is installed at its candidate version
    // (`foo=1.0`), then marked manual; an installed one is left alone (still marked manual);
    // absent removes it once; an unknown name fails before apt-get runs.
    let d = tempfile::tempdir().expect("tempdir");
    let path = fake_apt(d.path());
    let dir = d.path().display().to_string();
    let (_p, r) = play(
        &format!(
            r#"
- hosts: localhost
  gather_facts: no
  environment:
    PATH: "{path}"
  tasks:
    - apt: {{name: foo}}
      register: first
    - package: {{name: foo, use: apt}}
      register: again
    - apt: {{name: nosuch}}
      register: unknown
      ignore_errors: true
    - apt: {{name: foo, state: absent, purge: true}}
      register: gone
    - apt: {{name: foo, state: absent}}
      register: gone_again
    - assert:
        that:
          - first is changed and first.cache_updated == false
          - "'1 upgraded' in first.stdout_lines[1]"
          - again is not changed
          - "unknown.msg == \"No package matching 'nosuch' is available\""
          - gone is changed and gone_again is not changed
"#
        ),
        &[],
    );
    r.assert_code(0);
    r.assert_recap("localhost", "ok=6 changed=2 failed=0 ignored=1");
    let calls = std::fs::read_to_string(format!("{dir}/calls")).expect("calls");
    let apt_get: Vec<&str> = calls.lines().filter(|l| l.starts_with("apt-get")).collect();
    assert_eq!(apt_get.len(), 2, "{calls}");
    assert!(apt_get[0].ends_with("install foo=1.0"), "{calls}");
    assert!(
        apt_get[0].contains("-o Dpkg::Options::=--force-confdef"),
        "{calls}"
    );
    assert!(apt_get[1].contains("--purge remove foo"), "{calls}");
    assert_eq!(calls.matches("apt-mark manual foo").count(), 2, "{calls}");
}

/// Whether the tests run as root (the user module needs useradd's rights).
fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

#[test]
fn user_creates_modifies_only_what_differs_and_removes() {
    if !is_root() {
        eprintln!("skipped: needs root for useradd");
        return;
    }
    let name = "yiqiu-c4-user";
    let _ = std::process::Command::new("userdel")
        .args(["-r", name])
        .output();
    let (_d, r) = play(
        &format!(
            r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - user: {{name: {name}, comment: C4 one, shell: /bin/sh, groups: [audio]}}
      register: made
    - user: {{name: {name}, comment: C4 one, shell: /bin/sh, groups: [audio]}}
      register: same
    - user: {{name: {name}, groups: video, append: true}}
      register: more
    - command: id -nG {name}
      register: ids
    - user: {{name: {name}, state: absent, remove: true}}
      register: gone
    - user: {{name: {name}, state: absent}}
      register: gone_again
    - assert:
        that:
          - made is changed and made.create_home and made.home == '/home/{name}'
          - made.groups == 'audio' and made.comment == 'C4 one'
          - same is not changed
          - more is changed and more.append
          - "ids.stdout.split() | sort == ['audio', 'video', '{name}']"
          - gone is changed and gone.remove
          - gone_again is not changed
"#
        ),
        &[],
    );
    let exists = std::process::Command::new("getent")
        .args(["passwd", name])
        .status()
        .is_ok_and(|s| s.success());
    if exists {
        let _ = std::process::Command::new("userdel")
            .args(["-r", name])
            .output();
    }
    r.assert_code(0);
    r.assert_recap("localhost", "ok=7 changed=4 failed=0");
    assert!(!exists, "the user is gone");
    assert!(!std::path::Path::new(&format!("/home/{name}")).exists());
}

#[test]
fn script_uploads_runs_and_cleans_up_like_ansible() {
    // The script is found under files/, run from a temp dir under ~/.ansible/tmp (gone
    // afterwards) with its arguments' quoting kept, in chdir; creates skips, check mode
    // skips without creates/removes, a non-zero rc fails, and async is refused.
    let dir = project(&[
        ("hosts", LOCAL_INVENTORY),
        (
            "files/mk.sh",
            "#!/bin/sh\nprintf '%s\\n' \"$@\" >\"$1\"\npwd\necho warn >&2\n",
        ),
        ("files/exit_3.sh", "#!/bin/sh\nexit 3\n"),
        (
            "site.yml",
            r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - script: mk.sh {{ playbook_dir }}/out.txt "two words"
      args: {chdir: /tmp, creates: "{{ playbook_dir }}/out.txt"}
      register: ran
    - script: mk.sh {{ playbook_dir }}/out.txt
      args: {creates: "{{ playbook_dir }}/out.txt"}
      register: again
    - script: mk.sh {{ playbook_dir }}/check.txt
      check_mode: true
      register: checked
    - script: exit_3.sh
      register: bad
      ignore_errors: true
    - script: mk.sh x
      async: 5
      register: asynced
      ignore_errors: true
    - assert:
        that:
          - ran is changed and ran.rc == 0
          - ran.stdout_lines == ['/tmp'] and ran.stderr == 'warn\n'
          - again is skipped
          - "again.msg == playbook_dir ~ '/out.txt exists, matching creates option'"
          - checked is skipped and checked is not changed
          - bad is failed and bad.rc == 3 and bad.msg == 'non-zero return code'
          - "asynced.msg == 'This action (script) does not support async.'"
"#,
        ),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    r.assert_recap("localhost", "ok=4 changed=2 skipped=2 ignored=2");
    let out = std::fs::read_to_string(dir.path().join("out.txt")).expect("out.txt");
    assert_eq!(
        out,
        format!("{}/out.txt\ntwo words\n", dir.path().display())
    );
    assert!(!dir.path().join("check.txt").exists());
    let tmp = dir.path().join(".ansible/tmp");
    let left: Vec<_> = std::fs::read_dir(&tmp)
        .map(|d| d.collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "temp dirs left in {}", tmp.display());
}

#[test]
fn start_at_task_matches_names_as_a_glob() {
    // ansible-playbook --start-at-task fnmatch-es the task name.
    let (_d, r) = play(
        "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - name: first\n      debug: msg=one\n    - name: the last ¶\n      debug: msg=two\n",
        &["--start-at-task", "*¶"],
    );
    r.assert_code(0);
    r.assert_recap("localhost", "ok=1");
    r.out_contains("\"msg\": \"two\"");
    assert!(!r.stdout.contains("\"msg\": \"one\""));
}

#[test]
fn adhoc_version_prints_the_version() {
    let dir = project(&[]);
    let r = run_in(dir.path(), &["adhoc", "--version"]);
    r.assert_code(0);
    r.out_contains("config file = ");
}

#[test]
fn assemble_joins_fragments_in_name_order_once() {
    // Fragments sorted by name, a newline added after one without it, the delimiter (with
    // its escapes decoded) between them; a second run changes nothing; check mode writes
    // nothing; remote_src: false takes the controller's files/ directory.
    let dir = project(&[
        ("hosts", LOCAL_INVENTORY),
        ("frags/b", "two"),
        ("frags/a", "one\n"),
        ("frags/c.skip", "no\n"),
        ("files/parts/2", "y\n"),
        ("files/parts/1", "x"),
        (
            "site.yml",
            r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - assemble: {src: "{{ playbook_dir }}/frags", dest: "{{ playbook_dir }}/check.txt"}
      check_mode: true
      register: checked
    - assemble:
        src: "{{ playbook_dir }}/frags"
        dest: "{{ playbook_dir }}/out.txt"
        regexp: '^[ab]$'
        delimiter: '--\t--'
        mode: '0600'
      register: first
    - assemble:
        src: "{{ playbook_dir }}/frags"
        dest: "{{ playbook_dir }}/out.txt"
        regexp: '^[ab]$'
        delimiter: '--\t--'
        mode: '0600'
      register: second
    - assemble: {src: parts, dest: "{{ playbook_dir }}/local.txt", remote_src: false}
      register: from_controller
    - assert:
        that:
          - checked is changed
          - first is changed and first.state == 'file' and first.mode == '0600'
          - first.checksum == second.checksum
          - second is not changed
          - from_controller is changed
"#,
        ),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    r.assert_recap("localhost", "ok=5 changed=3 failed=0");
    let out = std::fs::read_to_string(dir.path().join("out.txt")).expect("out.txt");
    assert_eq!(out, "one\n--\t--\ntwo");
    let local = std::fs::read_to_string(dir.path().join("local.txt")).expect("local.txt");
    assert_eq!(local, "x\ny\n");
    assert!(!dir.path().join("check.txt").exists());
}

#[test]
fn csvfile_lookup_finds_the_column_of_the_keyed_row() {
    // Python csv's excel dialect: quoted fields with doubled quotes, CRLF ends; TAB is the
    // default delimiter; a missing key gives the default (or nothing).
    let dir = project(&[
        ("hosts", LOCAL_INVENTORY),
        (
            "files/people.csv",
            "Smith,Jane,1\r\n\"\"\"The Rock\"\" Johnson\",Dwayne,2\r\n",
        ),
        ("files/tabs.tsv", "fruit\tbananas\n"),
        (
            "site.yml",
            r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - assert:
        that:
          - lookup('csvfile', 'Smith', file='people.csv', delimiter=',') == 'Jane'
          - lookup('csvfile', 'Jane', file='people.csv', delimiter=',', col=2, keycol=1) == '1'
          - lookup('csvfile', '"The Rock" Johnson file=people.csv delimiter=, col=1') == 'Dwayne'
          - lookup('csvfile', 'fruit', file='tabs.tsv') == 'bananas'
          - lookup('csvfile', 'nobody file=people.csv delimiter=,') == []
          - lookup('csvfile', 'nobody', file='people.csv', delimiter=',', default='dflt') == 'dflt'
    - debug: msg="{{ lookup('csvfile', 'x file=people.csv delimiter=, nosuch=1') }}"
      ignore_errors: true
"#,
        ),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    r.assert_recap("localhost", "ok=2 failed=0 ignored=1");
    r.out_contains("'nosuch' is not a valid option");
}

#[test]
fn set_stats_aggregates_and_shows_custom_stats() {
    // Run stats add up across tasks; per_host ones stand per host; aggregate: false
    // replaces. With show_custom_stats the section follows the recap as Ansible prints it.
    let dir = project(&[
        ("hosts", LOCAL_INVENTORY),
        ("ansible.cfg", "[defaults]\nshow_custom_stats = true\n"),
        (
            "site.yml",
            r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - set_stats: {data: {n: 10, s: a}}
    - set_stats: {data: {n: 15, s: b}}
    - set_stats: {data: {k: 1}, per_host: true}
    - set_stats: {data: {k: 5}, per_host: true, aggregate: false}
    - set_stats: {data: [1, 2]}
      register: bad
      ignore_errors: true
    - assert:
        that: "bad.msg == \"The 'data' option needs to be a dictionary/hash\""
"#,
        ),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    r.assert_recap("localhost", "ok=6 changed=0 ignored=1");
    r.out_contains("CUSTOM STATS: ***");
    r.out_contains("\tlocalhost: { \"k\": 5}\n\n\tRUN: { \"n\": 25, \"s\": \"ab\"}\n");
}
