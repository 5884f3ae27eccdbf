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
