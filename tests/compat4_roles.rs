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
    let r = run_in(
        dir.path(),
        &["-i", "hosts", "site.yml", "-e", "myorder=sorted"],
    );
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

#[test]
fn import_tasks_notify_and_include_apply_notify_reach_the_imported_tasks() {
    let dir = project(&[
        (
            "site.yml",
            "- hosts: localhost\n  gather_facts: no\n  pre_tasks:\n    - import_tasks: change.yml\n      notify: h1\n    - include_tasks:\n        file: change.yml\n        apply:\n          notify: h2\n  handlers:\n    - name: h1\n      copy: content=1 dest={{ playbook_dir }}/h1\n    - name: h2\n      copy: content=2 dest={{ playbook_dir }}/h2\n",
        ),
        ("hosts", LOCAL_INVENTORY),
        ("change.yml", "- debug: msg=changing\n  changed_when: true\n"),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    assert!(dir.path().join("h1").exists(), "{}", r.stdout);
    assert!(dir.path().join("h2").exists(), "{}", r.stdout);
}

#[test]
fn an_include_that_cannot_be_loaded_fails_per_file_and_is_never_counted_rescued() {
    let (d, r) = play(
        "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - block:\n        - include_tasks: \"{{ item }}\"\n          loop: [m1, m2]\n      rescue:\n        - copy: content=r dest={{ playbook_dir }}/rescued\n",
        &[],
    );
    // The rescue ran, so the host is not failed: exit 0, yet each file is a failure.
    r.assert_code(0);
    r.assert_recap("localhost", "ok=1 failed=2 rescued=0");
    assert_eq!(
        count(&r.stdout, "[ERROR]: Could not find or access"),
        2,
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("fatal:"), "{}", r.stdout);
    assert!(d.path().join("rescued").exists(), "{}", r.stdout);
}

#[test]
fn the_play_name_is_templated_with_play_and_extra_vars() {
    let (_d, r) = play(
        "- name: \"n={{ x }} {{ y }}\"\n  hosts: localhost\n  gather_facts: no\n  vars:\n    x: 1\n  tasks: []\n",
        &["-e", "y=2"],
    );
    r.assert_code(0);
    r.out_contains("PLAY [n=1 2]");
}

#[test]
fn a_role_file_lookup_prefers_the_role_dir_to_its_tasks_dir() {
    let dir = project(&[
        (
            "site.yml",
            "- hosts: localhost\n  gather_facts: no\n  roles: [r]\n",
        ),
        ("hosts", LOCAL_INVENTORY),
        (
            "roles/r/tasks/main.yml",
            "- copy: content={{ lookup('file', 'f') }} dest={{ playbook_dir }}/out\n",
        ),
        ("roles/r/f", "in role"),
        ("roles/r/tasks/f", "in role tasks"),
        ("files/f", "in files"),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    let out = std::fs::read_to_string(dir.path().join("out")).unwrap();
    assert_eq!(out, "in role");
}

#[test]
fn a_dependency_sees_its_parents_entry_vars_and_its_own_dependencies_vars() {
    let dir = project(&[
        (
            "site.yml",
            "- hosts: localhost\n  gather_facts: no\n  roles: [top1, top2]\n",
        ),
        ("hosts", LOCAL_INVENTORY),
        (
            "roles/top1/meta/main.yml",
            "dependencies:\n  - role: mid\n    vars:\n      who: one\n",
        ),
        (
            "roles/top2/meta/main.yml",
            "dependencies:\n  - role: mid\n    vars:\n      who: two\n",
        ),
        (
            "roles/mid/meta/main.yml",
            "dependencies:\n  - role: leaf\n    vars:\n      label: \"{{ who }}\"\n",
        ),
        ("roles/mid/vars/main.yml", "level: mid\n"),
        (
            "roles/leaf/meta/main.yml",
            "allow_duplicates: yes\ndependencies: [below]\n",
        ),
        (
            "roles/leaf/tasks/main.yml",
            "- shell: echo {{ label }}-{{ level }} >> {{ playbook_dir }}/out\n",
        ),
        ("roles/below/vars/main.yml", "level: below\n"),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    let out = std::fs::read_to_string(dir.path().join("out")).unwrap();
    // `mid` under top1 and under top2 differ by their vars: both run; `below`'s vars
    // (exported to `leaf`) beat the inherited `mid` ones.
    assert_eq!(out, "one-below\ntwo-below\n");
}

#[test]
fn notify_names_are_templated_but_listen_topics_are_not() {
    let (d, r) = play(
        "- hosts: localhost\n  gather_facts: no\n  vars:\n    h1: n1\n    many: [n2, n3]\n  tasks:\n    - command: echo\n      notify: [\"{{ h1 }}\", \"{{ many }}\", \"{{ topic }}\"]\n      vars:\n        topic: t\n  handlers:\n    - name: n1\n      copy: content=1 dest={{ playbook_dir }}/n1\n    - name: \"{{ 'n' ~ 2 }}\"\n      copy: content=2 dest={{ playbook_dir }}/n2\n    - name: n3\n      copy: content=3 dest={{ playbook_dir }}/n3\n    - name: listener\n      listen: \"{{ 't' }}\"\n      copy: content=l dest={{ playbook_dir }}/listener\n",
        &[],
    );
    // `{{ topic }}` renders to `t`, which no handler name or raw listen topic matches.
    r.assert_code(1);
    r.err_contains("The requested handler 't' was not found");
    for f in ["n1", "n2", "n3", "listener"] {
        assert!(!d.path().join(f).exists(), "{f}: {}", r.stdout);
    }
    let (d, r) = play(
        "- hosts: localhost\n  gather_facts: no\n  vars:\n    h1: n1\n    many: [n2, n3]\n  tasks:\n    - command: echo\n      notify: [\"{{ h1 }}\", \"{{ many }}\"]\n  handlers:\n    - name: n1\n      copy: content=1 dest={{ playbook_dir }}/n1\n    - name: \"{{ 'n' ~ 2 }}\"\n      copy: content=2 dest={{ playbook_dir }}/n2\n    - name: n3\n      copy: content=3 dest={{ playbook_dir }}/n3\n",
        &[],
    );
    r.assert_code(0);
    for f in ["n1", "n2", "n3"] {
        assert!(d.path().join(f).exists(), "{f}: {}", r.stdout);
    }
}

#[test]
fn a_handler_name_that_does_not_render_is_unusable() {
    let (_d, r) = play(
        "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - command: echo\n      notify: plain\n  handlers:\n    - name: \"with {{ nope }}\"\n      debug: msg=never\n    - name: plain\n      debug: msg=ran\n",
        &[],
    );
    r.assert_code(0);
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(
        all.contains(
            "[WARNING]: Handler 'with {{ nope }}' is unusable because it has no listen topics"
        ),
        "{all}"
    );
    r.out_contains("\"msg\": \"ran\"");
}

#[test]
fn with_first_found_loops_over_the_file_found() {
    let dir = project(&[
        (
            "site.yml",
            "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - include_tasks: \"{{ item }}\"\n      with_first_found: [missing.yml, found.yml]\n",
        ),
        ("hosts", LOCAL_INVENTORY),
        ("found.yml", "- copy: content=x dest={{ playbook_dir }}/out\n"),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    assert!(dir.path().join("out").exists(), "{}", r.stdout);
}

#[test]
fn tags_of_an_include_role_are_not_inherited_by_its_tasks() {
    let dir = project(&[
        (
            "site.yml",
            "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - include_role: name=r\n      tags: [one, two]\n",
        ),
        ("hosts", LOCAL_INVENTORY),
        (
            "roles/r/tasks/main.yml",
            "- copy: content=1 dest={{ playbook_dir }}/one\n  tags: one\n- copy: content=2 dest={{ playbook_dir }}/two\n  tags: two\n",
        ),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml", "--tags", "one"]);
    r.assert_code(0);
    assert!(dir.path().join("one").exists(), "{}", r.stdout);
    assert!(!dir.path().join("two").exists(), "{}", r.stdout);
}

#[test]
fn handlers_flushed_in_always_run_for_a_host_that_failed_in_rescue() {
    let (d, r) = play(
        "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - block:\n        - fail:\n      rescue:\n        - fail:\n      always:\n        - command: echo\n          notify: h\n        - meta: flush_handlers\n  handlers:\n    - name: h\n      copy: content=x dest={{ playbook_dir }}/handled\n",
        &[],
    );
    r.assert_code(2);
    assert!(d.path().join("handled").exists(), "{}", r.stdout);
}

#[test]
fn flush_handlers_as_a_handler_ends_the_run() {
    let (_d, r) = play(
        "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - command: echo\n      notify: h\n  handlers:\n    - name: h\n      meta: flush_handlers\n",
        &[],
    );
    r.assert_code(1);
    r.err_contains("[ERROR]: flush_handlers cannot be used as a handler");
    r.out_contains("RUNNING HANDLER [h]");
    assert!(!r.stdout.contains("PLAY RECAP"), "{}", r.stdout);
}

#[test]
fn a_block_in_an_included_handler_file_is_a_parse_error_that_ends_the_run() {
    let dir = project(&[
        (
            "site.yml",
            "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - command: echo\n      notify: h\n  handlers:\n    - name: h\n      include_tasks: hs.yml\n",
        ),
        ("hosts", LOCAL_INVENTORY),
        (
            "hs.yml",
            "- block:\n    - debug: msg=fine\n    - block:\n        - debug: msg=nested\n",
        ),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    // The top-level block of a handlers file is allowed; the nested one is not.
    r.assert_code(4);
    r.err_contains("[ERROR]: Using a block as a handler is not supported.");
    assert!(!r.stdout.contains("PLAY RECAP"), "{}", r.stdout);
}
