//! Round 2: set_fact forms, Jinja globals and fact gathering, compared against ansible-core 2.19.

mod common;
use common::*;

#[test]
fn set_fact_free_form_templated_kv() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - set_fact: "{{ item }}=yes"
      loop: [alpha, beta]
    - assert:
        that:
          - alpha == 'yes'
          - beta == 'yes'
"#,
        &[],
    );
    r.assert_code(0);
    r.assert_recap("localhost", "ok=2 failed=0");
}

#[test]
fn now_global_formats_and_returns_datetime() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - set_fact:
        stamp: "{{ now(fmt='%Y-%m-%d') }}"
        year: "{{ now(utc=true).year }}"
    - assert:
        that:
          - stamp is match('^\d{4}-\d\d-\d\d$')
          - year | int > 2000
"#,
        &[],
    );
    r.assert_code(0);
    r.assert_recap("localhost", "ok=2 failed=0");
}

#[test]
fn gather_facts_as_a_task() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - gather_facts:
        gather_subset: min
    - assert:
        that: ansible_facts.distribution is defined
"#,
        &[],
    );
    r.assert_code(0);
    r.assert_recap("localhost", "ok=2 failed=0");
}

#[test]
fn python_methods_index_rsplit_zfill() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  vars:
    tiers: [web, app, db]
  tasks:
    - assert:
        that:
          - tiers.index('app') == 1
          - "'pkg-1.2.3'.rsplit('-', 1) == ['pkg', '1.2.3']"
          - "'7'.zfill(3) == '007'"
"#,
        &[],
    );
    r.assert_code(0);
    r.assert_recap("localhost", "ok=1 failed=0");
}
