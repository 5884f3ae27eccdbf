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
