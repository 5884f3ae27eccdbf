//! Round 3: differences found running ansible-core 2.19.14's role-style integration
//! targets side by side (bench/compat/targets.sh). Each test asserts Ansible's behaviour.

mod common;
use common::*;

#[test]
fn role_directory_with_dots_in_its_name_is_found() {
    // `a.b.c` looks like a collection role; when no collection has it, Ansible falls back
    // to the role search path (module_utils_facts.system.selinux is such a target).
    let dir = project(&[
        (
            "site.yml",
            "- hosts: localhost\n  gather_facts: no\n  roles:\n    - my.dotted.role\n",
        ),
        ("hosts", LOCAL_INVENTORY),
        (
            "roles/my.dotted.role/tasks/main.yml",
            "- debug:\n    msg: dotted role ran\n",
        ),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    r.out_contains("dotted role ran");
    r.assert_recap("localhost", "ok=1 failed=0");
}

#[test]
fn selinux_facts_are_gathered() {
    // Ansible reports `ansible_selinux.status` with every fact gathering (and with
    // gather_subset: selinux); without selinuxfs it is "disabled".
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - setup:
        gather_subset: ['!all', '!any', selinux]
      register: f
    - assert:
        that:
          - f.ansible_facts.ansible_selinux.status in ['enabled', 'disabled']
          - (ansible_selinux.status == 'disabled') == (not '/sys/fs/selinux/enforce' is exists)
"#,
        &[],
    );
    r.assert_code(0);
    r.assert_recap("localhost", "ok=2 failed=0");
}

/// The msg list a `debug: msg=...` task printed (the task's JSON block after `ok:`).
fn debug_msgs(stdout: &str) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    let mut block = String::new();
    for line in stdout.lines() {
        if line.starts_with("ok: [") && line.ends_with("=> {") {
            block = "{".into();
        } else if !block.is_empty() {
            block.push_str(line);
            block.push('\n');
            if line == "}" {
                let v: serde_json::Value = serde_json::from_str(&block).expect("debug json");
                out.push(v["msg"].clone());
                block.clear();
            }
        }
    }
    out
}

#[test]
fn sequence_subelements_varnames_work_as_lookups() {
    // lookup_sequence / lookup_subelements / lookup_varnames: these exist as lookup()
    // plugins too, with the plugins' own edge cases.
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  vars:
    qz_1: a
    qz_2: b
    users:
      - name: alice
        keys: {pub: [k1, k2]}
      - name: bob
        skipped: true
  tasks:
    - debug:
        msg: "{{ query('ansible.builtin.sequence', 'count=2 start=0', 'count=2', start=20) }}"
    - debug:
        msg: "{{ query('sequence', 'count=3 start=0', stride=-1) }}"
    - debug:
        msg: "{{ lookup('subelements', users, 'keys.pub', wantlist=True) }}"
    - debug:
        msg: "{{ lookup('varnames', '^qz_.+', wantlist=True) | sort }}"
    - debug:
        msg: "{{ 'qz_1 qz_2' is search('(?=.*qz_2)(?=.*qz_1)') }}"
    - debug:
        msg: "{{ lookup('varnames', '*') }}"
      ignore_errors: true
"#,
        &[],
    );
    r.assert_code(0);
    r.assert_recap("localhost", "ok=6 failed=0 ignored=1");
    let msgs = debug_msgs(&r.stdout);
    use serde_json::json;
    assert_eq!(msgs[0], json!(["0", "1", "20", "21"]));
    // count with a negative stride: Ansible computes end = start + count*stride - 1.
    assert_eq!(msgs[1], json!(["0", "-1", "-2", "-3", "-4"]));
    // The sub-list is popped from each element; skipped elements are left out.
    assert_eq!(
        msgs[2],
        json!([[{"keys": {}, "name": "alice"}, "k1"], [{"keys": {}, "name": "alice"}, "k2"]])
    );
    assert_eq!(msgs[3], json!(["qz_1", "qz_2"]));
    assert_eq!(msgs[4], json!(true));
    r.out_contains(r#"Unable to use "*" as a search parameter: nothing to repeat at position 0"#);
}

#[test]
fn with_sequence_option_errors_as_ansible() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - debug: msg={{ item }}
      with_sequence: A-4/2
      ignore_errors: true
    - debug: msg={{ item }}
      with_sequence: start=0 junk=3
      ignore_errors: true
"#,
        &[],
    );
    r.assert_code(0);
    r.assert_recap("localhost", "ok=2 failed=0 ignored=2");
    r.out_contains("Config 'start' for 'sequence' lookup plugin from 'Direct' has an invalid value: Invalid value provided for 'integer': 'A'");
    r.out_contains("unrecognized arguments to with_sequence: ['junk']");
}

#[test]
fn builtin_module_we_lack_loads_and_skips() {
    // Ansible loads a task using any builtin module; a `when: false` task is skipped
    // (setup_rpm_repo has dnf tasks for other systems). When it runs, it fails clearly.
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - dnf:
        name: tree
      when: false
    - ansible.builtin.yum_repository:
        name: x
      ignore_errors: true
"#,
        &[],
    );
    r.assert_code(0);
    r.assert_recap("localhost", "ok=1 skipped=1 ignored=1");
    r.out_contains(
        "The module ansible.builtin.yum_repository is not implemented by yiqiu-play yet.",
    );
}

#[test]
fn python_plugin_module_is_refused_naming_the_file() {
    // Out of scope: modules and action plugins written in Python. The error says so and
    // names the file found.
    let dir = project(&[
        (
            "site.yml",
            "- hosts: localhost\n  gather_facts: no\n  roles: [app]\n",
        ),
        ("hosts", LOCAL_INVENTORY),
        ("roles/app/tasks/main.yml", "- my_module:\n    x: 1\n"),
        (
            "roles/app/library/my_module.py",
            "from ansible.module_utils.basic import AnsibleModule\n",
        ),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(4);
    r.err_contains("Python plugins are not supported by yiqiu-play");
    r.err_contains("roles/app/library/my_module.py");
}
