//! Round 3: builtin modules added for ansible-core 2.19.14's role-style integration targets
//! (bench/compat/targets.sh). Each test asserts Ansible's behaviour on the real system.

mod common;
use common::*;

/// root's passwd fields after the name, as getent prints them.
fn root_passwd_fields() -> Vec<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").expect("/etc/passwd");
    let line = passwd
        .lines()
        .find(|l| l.starts_with("root:"))
        .expect("root in /etc/passwd");
    line.split(':').skip(1).map(str::to_string).collect()
}

#[test]
fn getent_sets_facts_under_their_own_name() {
    // As in Ansible, the fact is a variable named getent_passwd (not ansible_getent_passwd)
    // and also ansible_facts.getent_passwd; a missing key fails unless fail_key is false.
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - getent:
        database: passwd
        key: root
        service: files
    - debug:
        msg: "{{ getent_passwd.root | join(':') }}"
    - assert:
        that:
          - ansible_getent_passwd is not defined
          - ansible_facts.getent_passwd.root == getent_passwd.root
    - getent:
        database: passwd
        key: yiqiu-compat3-nobody-here
      ignore_errors: true
    - getent:
        database: passwd
        key: yiqiu-compat3-nobody-here
        fail_key: false
    - assert:
        that: getent_passwd['yiqiu-compat3-nobody-here'] is none
"#,
        &[],
    );
    r.assert_code(0);
    r.assert_recap("localhost", "ok=6 changed=0 failed=0 ignored=1");
    r.out_contains(&format!("\"msg\": \"{}\"", root_passwd_fields().join(":")));
    r.out_contains("One or more supplied key could not be found in the database.");
}

#[test]
fn getent_unknown_argument_is_an_error() {
    let (_d, r) = play(
        "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - getent:\n        database: passwd\n        bogus: 1\n",
        &[],
    );
    r.assert_code(2);
    r.err_contains("bogus");
}

#[test]
fn chdir_through_a_symlink_is_the_physical_directory() {
    // Ansible's command/shell chdir is os.chdir: symlinks resolved, `$PWD` the real path
    // (command_shell's "check parent using chdir").
    let (d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - file: {path: "{{ playbook_dir }}/real/site", state: directory}
    - file: {src: "{{ playbook_dir }}/real", dest: "{{ playbook_dir }}/link", state: link}
    - shell: dirname "$PWD"
      args: {chdir: "{{ playbook_dir }}/link/site"}
      register: r
    - command: pwd
      args: {chdir: "{{ playbook_dir }}/link/site"}
      register: p
    - debug: msg="{{ r.stdout }} {{ p.stdout }}"
"#,
        &[],
    );
    r.assert_code(0);
    let real = std::fs::canonicalize(d.path().join("real")).expect("real dir");
    r.out_contains(&format!(
        "\"msg\": \"{} {}/site\"",
        real.display(),
        real.display()
    ));
}

#[test]
fn shell_refuses_expand_argument_vars() {
    // A command-only option: Ansible's shell action fails with exactly this message.
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - shell: echo hi
      args:
        expand_argument_vars: false
      register: r
      ignore_errors: true
    - assert:
        that:
          - r is failed
          - "r.msg == 'Unsupported parameters for (shell) module: expand_argument_vars'"
"#,
        &[],
    );
    r.assert_code(0);
    r.assert_recap("localhost", "ok=2 failed=0 ignored=1");
}
