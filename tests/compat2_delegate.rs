//! Round 2: delegation and connection-free actions, compared against ansible-core 2.19.

mod common;
use common::*;

const TWO_LOCAL_HOSTS: &str =
    "localhost ansible_connection=local\ntesthost ansible_connection=local\n";

#[test]
fn delegate_to_templated_per_loop_item() {
    let dir = project(&[
        (
            "site.yml",
            r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - command: echo from-loop
      delegate_to: "{{ item }}"
      loop: [testhost]
      register: r
    - set_fact:
        marker: "m-{{ item }}"
      delegate_to: "{{ item }}"
      delegate_facts: true
      loop: [testhost]
    - assert:
        that:
          - r.results[0].stdout == 'from-loop'
          - hostvars['testhost'].marker == 'm-testhost'
          - marker is undefined
"#,
        ),
        ("hosts", TWO_LOCAL_HOSTS),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    r.out_contains("changed: [localhost -> testhost] => (item=testhost)");
    r.assert_recap("localhost", "ok=3 changed=1 failed=0");
}

#[test]
fn debug_runs_without_connecting_to_the_host() {
    // Port 1 on loopback refuses connections: any attempt to connect is unreachable.
    let dir = project(&[
        (
            "site.yml",
            r#"
- hosts: ghost
  gather_facts: no
  tasks:
    - debug:
        msg: controller-side
    - set_fact:
        x: 1
    - assert:
        that: x == 1
"#,
        ),
        (
            "hosts",
            "ghost ansible_host=127.0.0.1 ansible_port=1 ansible_connection=ssh\n",
        ),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    r.out_contains("controller-side");
    r.assert_recap("ghost", "ok=3 unreachable=0 failed=0");
}

#[test]
fn ansible_playbook_python_is_defined() {
    // Inventories often say ansible_python_interpreter="{{ ansible_playbook_python }}";
    // add_host with it failed in delegate_to/test_delegate_to_loop_randomness.yml.
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - add_host:
        name: extra
        ansible_connection: local
        ansible_python_interpreter: "{{ ansible_playbook_python }}"
    - assert:
        that:
          - ansible_playbook_python is string
          - ansible_playbook_python | length > 0
"#,
        &[],
    );
    r.assert_code(0);
    r.assert_recap("localhost", "ok=2 failed=0");
}
