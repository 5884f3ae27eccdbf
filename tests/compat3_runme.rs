//! Round 3: differences found by running ansible-core's runme.sh targets side by side
//! (bench/compat/runme.sh). Each test asserts what ansible-playbook 2.19 does on the same
//! small playbook.

mod common;
use common::*;

const TWO_HOSTS: &str = "a ansible_connection=local\nb ansible_connection=local\n";

fn two_hosts(yaml: &str, extra: &[&str]) -> (tempfile::TempDir, Run) {
    let dir = project(&[("site.yml", yaml), ("hosts", TWO_HOSTS)]);
    let mut args = vec!["-i", "hosts", "site.yml"];
    args.extend_from_slice(extra);
    let run = run_in(dir.path(), &args);
    (dir, run)
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

#[test]
fn include_role_registers_its_handlers_and_the_last_loaded_name_wins() {
    // Two includes of one role with handlers of the same name: the notification is resolved
    // when handlers run, to the handler loaded last (main.yml's).
    let dir = project(&[
        (
            "site.yml",
            "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - include_role: name=r handlers_from=alt.yml\n    - include_role: name=r\n",
        ),
        ("hosts", LOCAL_INVENTORY),
        ("roles/r/tasks/main.yml", "- command: echo\n  notify: h1\n"),
        ("roles/r/handlers/alt.yml", "- name: h1\n  debug: msg=from_alt\n"),
        ("roles/r/handlers/main.yml", "- name: h1\n  debug: msg=from_main\n"),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    assert_eq!(
        count(&r.stdout, "RUNNING HANDLER [r : h1]"),
        1,
        "{}",
        r.stdout
    );
    r.out_contains("\"msg\": \"from_main\"");
    assert!(!r.stdout.contains("from_alt"), "{}", r.stdout);
    r.assert_recap("localhost", "ok=5 changed=2 failed=0");
}

#[test]
fn duplicate_handler_names_in_one_file_pick_the_first() {
    let (_d, r) = play(
        "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - command: echo\n      notify: h\n  handlers:\n    - name: h\n      debug: msg=FIRST\n    - name: h\n      debug: msg=SECOND\n",
        &[],
    );
    r.assert_code(0);
    r.out_contains("\"msg\": \"FIRST\"");
    assert!(!r.stdout.contains("SECOND"), "{}", r.stdout);
    r.assert_recap("localhost", "ok=2 changed=1");
}

#[test]
fn play_handler_wins_over_a_roles_section_handler_of_the_same_name() {
    let dir = project(&[
        (
            "site.yml",
            "- hosts: localhost\n  gather_facts: no\n  roles: [r]\n  handlers:\n    - name: h1\n      debug: msg=PLAY\n",
        ),
        ("hosts", LOCAL_INVENTORY),
        ("roles/r/tasks/main.yml", "- command: echo\n  notify: h1\n"),
        ("roles/r/handlers/main.yml", "- name: h1\n  debug: msg=ROLE\n"),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    r.out_contains("\"msg\": \"PLAY\"");
    assert!(!r.stdout.contains("\"msg\": \"ROLE\""), "{}", r.stdout);
}

#[test]
fn notified_handlers_run_whatever_tags_select() {
    let yaml = "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - debug: msg=a\n      changed_when: true\n      notify: h\n      tags: t\n  handlers:\n    - name: h\n      debug: msg=handler\n    - name: h2\n      debug: msg=h2\n      tags: other\n      listen: h\n";
    for extra in [
        &["--tags", "t"][..],
        &["--tags", "t", "--skip-tags", "other"][..],
    ] {
        let (_d, r) = play(yaml, extra);
        r.assert_code(0);
        r.out_contains("RUNNING HANDLER [h]");
        r.out_contains("RUNNING HANDLER [h2]");
        r.assert_recap("localhost", "ok=3 changed=1");
    }
}

#[test]
fn forced_handlers_run_even_when_every_host_failed_in_the_roles() {
    // Every host fails inside `roles:`, before any flush point.
    let dir = project(&[
        (
            "site.yml",
            "- hosts: all\n  gather_facts: no\n  force_handlers: true\n  roles: [r]\n  handlers:\n    - name: h\n      debug: msg=HANDLER_{{ inventory_hostname }}\n",
        ),
        ("hosts", TWO_HOSTS),
        ("roles/r/tasks/main.yml", "- command: echo\n  notify: h\n- fail:\n"),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(2);
    r.out_contains("\"msg\": \"HANDLER_a\"");
    r.out_contains("\"msg\": \"HANDLER_b\"");
    r.assert_recap("a", "ok=2 changed=1 failed=1");
    r.assert_recap("b", "ok=2 changed=1 failed=1");
}

#[test]
fn any_errors_fatal_sends_every_host_to_the_rescue() {
    let (_d, r) = two_hosts(
        "- hosts: all\n  gather_facts: no\n  any_errors_fatal: true\n  tasks:\n    - block:\n        - fail:\n          when: inventory_hostname == 'a'\n        - debug: msg=NOT_REACHED\n      rescue:\n        - debug: msg=rescued_{{ inventory_hostname }}\n    - debug: msg=after\n",
        &[],
    );
    r.assert_code(0);
    assert!(!r.stdout.contains("NOT_REACHED"), "{}", r.stdout);
    r.out_contains("rescued_a");
    r.out_contains("rescued_b");
    assert_eq!(count(&r.stdout, "\"msg\": \"after\""), 2, "{}", r.stdout);
    // Only the host that really failed counts as rescued.
    r.assert_recap("a", "ok=2 failed=0 rescued=1");
    r.assert_recap("b", "ok=2 failed=0 skipped=1 rescued=0");
}

#[test]
fn clear_host_errors_in_always_lets_the_host_go_on() {
    let (_d, r) = play(
        "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - block:\n        - fail:\n      rescue:\n        - fail:\n      always:\n        - meta: clear_host_errors\n    - debug: msg=continued\n",
        &[],
    );
    r.assert_code(0);
    r.out_contains("\"msg\": \"continued\"");
    r.assert_recap("localhost", "ok=1 failed=1 rescued=1");
}

#[test]
fn meta_tasks_say_what_they_did_at_vv() {
    let (_d, r) = two_hosts(
        "- hosts: all\n  gather_facts: no\n  tasks:\n    - block:\n        - fail:\n      always:\n        - meta: clear_host_errors\n    - meta: end_host\n      when: inventory_hostname == 'b'\n    - meta: noop\n    - meta: end_play\n      when: inventory_hostname == 'b'\n    - debug: msg=after\n",
        &["-vv"],
    );
    r.assert_code(0);
    r.out_contains("META: cleared host errors\n");
    r.out_contains("META: end_host conditional evaluated to False, continuing execution for a\n");
    r.out_contains("skipping: [a] => {\"msg\": \"end_host conditional evaluated to false, continuing execution for a\", \"skip_reason\": \"end_host conditional evaluated to False, continuing execution for a\"}");
    r.out_contains("META: ending play for b\n");
    r.out_contains("META: noop\n");
    // end_play is evaluated once, for the first host.
    r.out_contains("META: end_play conditional evaluated to False, continuing play\n");
    // A host-level meta action starts again (banner and all) for each host.
    assert_eq!(count(&r.stdout, "TASK [meta] "), 5, "{}", r.stdout);
    r.out_contains("\"msg\": \"after\"");
    r.assert_recap("a", "ok=1 failed=1");
    r.assert_recap("b", "ok=0 failed=1");
}

#[test]
fn verbose_run_names_config_play_count_and_task_lines() {
    let dir = project(&[
        (
            "site.yml",
            "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - debug: msg=one\n- hosts: localhost\n  gather_facts: no\n  tasks:\n    - debug: msg=two\n",
        ),
        ("hosts", LOCAL_INVENTORY),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml", "-vv"]);
    r.assert_code(0);
    r.out_contains("No config file found; using defaults\n");
    r.out_contains("\n2 plays in site.yml\n");
    // `task path:` names the line only.
    let path = dir.path().join("site.yml");
    r.out_contains(&format!("task path: {}:4\n", path.display()));
    std::fs::write(dir.path().join("ansible.cfg"), "[defaults]\n").expect("write cfg");
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml", "-v"]);
    r.out_contains(&format!(
        "Using {} as config file\n",
        dir.path().join("ansible.cfg").display()
    ));
    assert!(!r.stdout.contains("plays in"), "{}", r.stdout);
}

#[test]
fn include_role_of_a_missing_role_fails_without_counting_ok() {
    let (_d, r) = play(
        "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - include_role:\n        name: nope\n",
        &[],
    );
    r.assert_code(2);
    assert!(!r.stdout.contains("included:"), "{}", r.stdout);
    r.out_contains("the role 'nope' was not found in");
    r.assert_recap("localhost", "ok=0 failed=1");
}

#[test]
fn inventory_hostnames_lookup_matches_patterns() {
    let yaml = r#"- hosts: localhost
  gather_facts: no
  tasks:
    - debug:
        msg: "{{ lookup('inventory_hostnames', 'g1:!h1', wantlist=true) }} {{ lookup('inventory_hostnames', 'g1:&g2') }} {{ query('inventory_hostnames', 'nope') }} {{ query('inventory_hostnames', 'all') }} {{ query('inventory_hostnames', 'g2', 'h1') }}"
"#;
    let dir = project(&[
        ("site.yml", yaml),
        ("hosts", "[g1]\nh1\nh2\nh3\n[g2]\nh2\nh3\nh4\n"),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    r.out_contains(
        "\"msg\": \"['h2', 'h3'] h2,h3 [] ['h1', 'h2', 'h3', 'h4'] ['h2', 'h3', 'h4', 'h1']\"",
    );
}

#[test]
fn play_force_handlers_false_beats_the_command_line() {
    let yaml = "- hosts: all\n  gather_facts: no\n  force_handlers: false\n  tasks:\n    - command: echo\n      notify: h\n    - fail:\n      when: inventory_hostname == 'a'\n  handlers:\n    - name: h\n      debug: msg=HANDLER_{{ inventory_hostname }}\n";
    let (_d, r) = two_hosts(yaml, &["--force-handlers"]);
    r.assert_code(2);
    r.out_contains("HANDLER_b");
    assert!(!r.stdout.contains("HANDLER_a"), "{}", r.stdout);
    r.assert_recap("a", "ok=1 changed=1 failed=1");
    r.assert_recap("b", "ok=2 changed=1");
}

#[test]
fn role_handler_listens_on_its_role_qualified_topic() {
    let dir = project(&[
        (
            "site.yml",
            "- hosts: localhost\n  gather_facts: no\n  roles: [r]\n  tasks:\n    - command: echo\n      notify: 'r : topic'\n",
        ),
        ("hosts", LOCAL_INVENTORY),
        ("roles/r/tasks/main.yml", "- debug: msg=in_role\n"),
        (
            "roles/r/handlers/main.yml",
            "- name: listener\n  debug: msg=LISTENED\n  listen: topic\n",
        ),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    r.out_contains("RUNNING HANDLER [r : listener]");
    r.assert_recap("localhost", "ok=3 changed=1");
}
