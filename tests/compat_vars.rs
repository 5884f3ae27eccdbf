//! Variables, magic vars and YAML loading compared against ansible-core 2.19.

mod common;
use common::*;

#[test]
fn ansible_host_defaults_to_inventory_hostname() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - assert:
        that:
          - ansible_host == inventory_hostname
          - lookup('vars', 'ansible_host') == 'localhost'
          - hostvars['localhost']['ansible_host'] == 'localhost'
"#,
        &[],
    );
    r.assert_code(0);
    r.assert_recap("localhost", "ok=1 failed=0");
}

#[test]
fn json_style_vars_file_loads() {
    let dir = project(&[
        (
            "site.yml",
            r#"
- hosts: localhost
  gather_facts: no
  vars_files: [settings.yml]
  tasks:
    - assert:
        that:
          - app.name == 'web'
"#,
        ),
        ("settings.yml", "app: {\n    \"name\": \"web\"\n}\n"),
        ("hosts", LOCAL_INVENTORY),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    r.assert_recap("localhost", "ok=1 failed=0");
}

#[test]
fn flow_mapping_on_one_line_loads() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  vars:
    app: {"name": "web", "replicas": 3}
  tasks:
    - assert:
        that: app.replicas == 3
"#,
        &[],
    );
    r.assert_code(0);
}
