//! Round 2: file modules (template, find, replace, command), compared against ansible-core 2.19.

mod common;
use common::*;

#[test]
fn template_module_exposes_template_vars() {
    let dir = project(&[
        (
            "site.yml",
            "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - template: src=app.conf.j2 dest={{ playbook_dir }}/out.conf\n",
        ),
        ("hosts", LOCAL_INVENTORY),
        (
            "templates/app.conf.j2",
            "# {{ ansible_managed }}\n\
             path={{ template_path | basename }}\n\
             full={{ template_fullpath | basename }}\n\
             dest={{ template_destpath | basename }}\n\
             uid={{ template_uid is string }}\n\
             mtime={{ template_mtime is defined }}\n\
             run={{ template_run_date is defined }}\n",
        ),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    let out = std::fs::read_to_string(dir.path().join("out.conf")).unwrap();
    assert_eq!(
        out,
        "# Ansible managed\npath=app.conf.j2\nfull=app.conf.j2\ndest=out.conf\n\
         uid=True\nmtime=True\nrun=True\n"
    );
}

#[test]
fn find_read_whole_file_dollar_matches_before_final_newline() {
    // Python's re.search: `$` matches at the end and just before a trailing newline.
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - tempfile:
        state: directory
      register: d
    - copy:
        dest: "{{ d.path }}/status.txt"
        content: "starting\nall OK\n"
    - find:
        paths: "{{ d.path }}"
        contains: "OK$"
        read_whole_file: true
      register: f
    - assert:
        that: f.matched == 1
"#,
        &[],
    );
    r.assert_code(0);
    r.assert_recap("localhost", "ok=4 failed=0");
}

#[test]
fn command_executable_arg_is_only_a_warning() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - command: echo hi
      args:
        executable: /bin/nope
      register: c
    - assert:
        that:
          - c.stdout == 'hi'
          - c.warnings | length == 1
          - "'no longer supported' in c.warnings[0]"
"#,
        &[],
    );
    r.assert_code(0);
    r.assert_recap("localhost", "ok=2 changed=1 failed=0");
}

#[test]
fn replace_kv_backslash_b_is_a_python_escape() {
    // In k=v form Ansible decodes '\b' to a backspace (no match), '\\b' to the regex \b.
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - tempfile: state=file
      register: t
    - copy: dest={{ t.path }} content="alpha beta\n"
    - replace: path={{ t.path }} regexp='\b(beta)\b' replace='[\1]'
      register: a
    - replace: path={{ t.path }} regexp='\\b(alpha)\\b' replace='<\1>'
      register: b
    - assert:
        that:
          - a is not changed
          - b is changed
          - lookup('file', t.path) == '<alpha> beta'
"#,
        &[],
    );
    r.assert_code(0);
    r.assert_recap("localhost", "ok=5 failed=0");
}

#[test]
fn template_honours_user_ansible_managed() {
    let dir = project(&[
        (
            "site.yml",
            r#"
- hosts: localhost
  gather_facts: no
  vars:
    ansible_managed: "managed by {{ 'deploy' ~ '-bot' }}"
  tasks:
    - template:
        src: motd.j2
        dest: "{{ playbook_dir }}/motd"
"#,
        ),
        ("hosts", LOCAL_INVENTORY),
        ("templates/motd.j2", "# {{ ansible_managed }}\n"),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    let out = std::fs::read_to_string(dir.path().join("motd")).unwrap();
    assert_eq!(out, "# managed by deploy-bot\n");
}

#[test]
fn copy_with_empty_src_fails() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - tempfile:
        state: directory
      register: d
    - copy:
        src: ''
        dest: "{{ d.path }}"
      register: c
      ignore_errors: true
    - assert:
        that:
          - c is failed
          - "'src (or content) is required' in c.msg"
"#,
        &[],
    );
    r.assert_code(0);
    r.assert_recap("localhost", "ok=3 failed=0 ignored=1");
}

#[test]
#[ignore = "compat: copy argument errors use different messages than Ansible"]
fn copy_argument_error_messages() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - tempfile:
        state: directory
      register: d
    - copy:
        content: hi
      register: no_dest
      ignore_errors: true
    - copy:
        content: hi
        dest: "{{ d.path }}"
      register: dir_dest
      ignore_errors: true
    - assert:
        that:
          - "'dest is required' in no_dest.msg"
          - "'can not use content with a dir as dest' in dir_dest.msg"
"#,
        &[],
    );
    r.assert_code(0);
    r.assert_recap("localhost", "ok=4 failed=0 ignored=2");
}

#[test]
#[ignore = "compat: remote_src copy of an empty dir (trailing slash) does not create the dest dir"]
fn copy_remote_src_empty_dir_creates_dest() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - tempfile:
        state: directory
      register: d
    - file:
        path: "{{ d.path }}/empty"
        state: directory
    - copy:
        src: "{{ d.path }}/empty/"
        dest: "{{ d.path }}/new/"
        remote_src: true
      register: c
    - stat:
        path: "{{ d.path }}/new"
      register: s
    - assert:
        that:
          - c is changed
          - s.stat.isdir
"#,
        &[],
    );
    r.assert_code(0);
    r.assert_recap("localhost", "ok=5 changed=3 failed=0");
}
