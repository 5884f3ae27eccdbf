//! Round 4: roles, includes, handlers and play flow, as ansible-core 2.19's runme.sh targets
//! (bench/compat/runme.sh) show them. Each test asserts what ansible-playbook 2.19 does on
//! the same small playbook.

mod common;
use common::*;

const THREE_HOSTS: &str = "[g]\nhb\nha\nhc\n[g:vars]\nansible_connection=local\n";

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

#[test]
fn extended_allitems_false_leaves_allitems_out_of_ansible_loop() {
    let (_d, r) = play(
        "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - debug: var=ansible_loop\n      loop: [a, b]\n      loop_control:\n        extended: yes\n        extended_allitems: no\n      failed_when: ansible_loop.allitems is defined or ansible_loop.length != 2\n",
        &[],
    );
    r.assert_code(0);
    r.assert_recap("localhost", "ok=1 failed=0");
}

#[test]
fn a_templated_order_is_rendered_with_the_extra_vars() {
    let dir = project(&[
        (
            "site.yml",
            "- hosts: g\n  gather_facts: no\n  order: \"{{ myorder | default('inventory') }}\"\n  serial: 1\n  tasks:\n    - shell: echo {{ inventory_hostname }} >> {{ playbook_dir }}/seen.txt\n",
        ),
        ("hosts", THREE_HOSTS),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml", "-e", "myorder=sorted"]);
    r.assert_code(0);
    let seen = std::fs::read_to_string(dir.path().join("seen.txt")).unwrap();
    assert_eq!(seen, "ha\nhb\nhc\n");
}

#[test]
fn add_host_runs_once_for_the_first_host() {
    let r = {
        let dir = project(&[
            (
                "site.yml",
                "- hosts: g\n  gather_facts: no\n  tasks:\n    - add_host: name=new_{{ inventory_hostname }} groups=added\n- hosts: added\n  gather_facts: no\n  tasks:\n    - debug: msg=hi\n",
            ),
            ("hosts", THREE_HOSTS),
        ]);
        run_in(dir.path(), &["-i", "hosts", "site.yml"])
    };
    r.assert_code(0);
    // Only the first host of the batch runs it (BYPASS_HOST_LOOP), so one host is added.
    assert_eq!(count(&r.stdout, "TASK [add_host]"), 1, "{}", r.stdout);
    r.assert_recap("hb", "ok=1 changed=1");
    r.assert_recap("new_hb", "ok=1");
    assert!(!r.stdout.contains("ha "), "{}", r.stdout);
    assert!(!r.stdout.contains("new_ha"), "{}", r.stdout);
}

#[test]
fn refresh_inventory_rereads_the_sources_and_keeps_added_hosts() {
    let dir = project(&[
        (
            "site.yml",
            "- hosts: all\n  gather_facts: no\n  tasks:\n    - add_host: name=extra ansible_connection=local\n    - copy: src=new.ini dest={{ playbook_dir }}/hosts\n      delegate_to: localhost\n      run_once: true\n    - meta: refresh_inventory\n    - name: after\n      debug: msg=after\n- hosts: all\n  gather_facts: no\n  tasks:\n    - copy: content={{ ansible_play_hosts | join(',') }} dest={{ playbook_dir }}/play_hosts\n      delegate_to: localhost\n      run_once: true\n",
        ),
        ("hosts", "one ansible_connection=local\ntwo ansible_connection=local\n"),
        ("new.ini", "two ansible_connection=local\nthree ansible_connection=local\n"),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    let hosts = std::fs::read_to_string(dir.path().join("play_hosts")).unwrap();
    // A host add_host created sits in `all` itself, listed before the groups' hosts.
    assert_eq!(hosts, "extra,two,three");
    // `one` left the inventory: the rest of its play does not run on it.
    r.assert_recap("one", "ok=2 changed=2");
    r.assert_recap("two", "ok=1 changed=0");
    r.assert_recap("extra", "ok=1 changed=1");
}
