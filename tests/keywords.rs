//! Playbook keywords, run through the real binary with `connection: local`.

mod common;
use common::*;

#[test]
fn vars_when_and_assert() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  vars:
    base: 10
    derived: "{{ base * 2 }}"
    names: [a, b]
  tasks:
    - assert:
        that:
          - derived == 20
          - derived is number
          - names | length == 2
    - name: skipped by when
      debug: msg=never
      when: base > 100
    - name: list of conditions means and
      set_fact:
        both: yes
      when:
        - base == 10
        - names[0] == 'a'
    - assert: { that: both }
"#,
        &[],
    );
    r.assert_code(0);
    r.assert_recap("localhost", "ok=3 changed=0 failed=0 skipped=1");
}

#[test]
fn extra_vars_win_over_play_vars() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: false
  vars: { replicas: 1 }
  tasks:
    - assert: { that: "replicas | int == 5" }
"#,
        &["-e", "replicas=5"],
    );
    r.assert_code(0);
}

#[test]
fn loops_register_and_loop_control() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - command: echo {{ item }}
      loop: [one, two, three]
      register: echoes
    - assert:
        that:
          - echoes.results | length == 3
          - echoes.results[1].stdout == 'two'
          - echoes is changed
    - debug: msg="{{ idx }} {{ thing.name }}"
      loop: [{name: x}, {name: y}]
      loop_control: { loop_var: thing, index_var: idx, label: "{{ thing.name }}" }
    - set_fact: { acc: "{{ (acc | default([])) + [item] }}" }
      with_items: [[1, 2], 3]
    - assert: { that: "acc == [1, 2, 3]" }
    - set_fact: { seq: "{{ (seq | default([])) + [item] }}" }
      with_sequence: start=1 end=3 format=web%02d
    - assert: { that: "seq == ['web01', 'web02', 'web03']" }
    - debug: msg="{{ ansible_loop.index }}/{{ ansible_loop.length }} {{ ansible_loop.last }}"
      loop: [a, b]
      loop_control: { extended: true }
"#,
        &[],
    );
    r.assert_code(0);
    r.out_contains("changed: [localhost] => (item=one)");
    r.out_contains("(item=x)");
    r.assert_recap("localhost", "changed=1 failed=0");
}

#[test]
fn until_retries_counts_attempts() {
    let (d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - shell: echo x >> count; wc -l < count
      register: c
      until: c.stdout | int >= 3
      retries: 5
      delay: 0
    - assert: { that: "c.attempts == 3" }
"#,
        &[],
    );
    r.assert_code(0);
    r.out_contains("FAILED - RETRYING: [localhost]: shell (5 retries left).");
    r.out_contains("(4 retries left)");
    assert_eq!(
        std::fs::read_to_string(d.path().join("count"))
            .unwrap()
            .lines()
            .count(),
        3
    );
}

#[test]
fn failed_when_changed_when_ignore_errors() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - command: "true"
      changed_when: false
    - command: /bin/false
      register: res
      failed_when: res.rc != 1
    - fail: msg=boom
      ignore_errors: yes
    - debug: msg="still here"
"#,
        &[],
    );
    r.assert_code(0);
    r.out_contains("...ignoring");
    r.assert_recap("localhost", "ok=4 changed=1 failed=0 ignored=1");
}

#[test]
fn block_rescue_always() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - block:
        - command: /bin/false
        - debug: msg=not reached
      rescue:
        - assert:
            that:
              - ansible_failed_task.name == ''
              - ansible_failed_result.rc == 1
        - set_fact: { rescued_it: true }
      always:
        - set_fact: { always_ran: true }
    - assert: { that: [rescued_it, always_ran] }
"#,
        &[],
    );
    r.assert_code(0);
    r.assert_recap("localhost", "failed=0 rescued=1");
}

#[test]
fn failure_without_rescue_exits_2_and_always_runs() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - block:
        - fail: msg=broken
      always:
        - debug: msg=cleanup
    - debug: msg=unreachable code
"#,
        &[],
    );
    r.assert_code(2);
    r.out_contains("fatal: [localhost]: FAILED!");
    r.out_contains("cleanup");
    assert!(!r.stdout.contains("unreachable code"));
    r.assert_recap("localhost", "failed=1");
}

#[test]
fn handlers_run_once_after_tasks_by_name_and_listen() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - command: echo 1
      notify: restart app
    - command: echo 2
      notify: [restart app, web changed]
    - debug: msg=unchanged
      notify: never runs
  handlers:
    - name: restart app
      set_fact: { restarts: "{{ (restarts | default(0)) + 1 }}" }
    - name: via topic
      debug: msg=topic
      listen: web changed
    - name: never runs
      fail: msg=should not run
  post_tasks:
    - assert: { that: "restarts == 1" }
"#,
        &[],
    );
    r.assert_code(0);
    r.out_contains("RUNNING HANDLER [restart app]");
    r.out_contains("RUNNING HANDLER [via topic]");
}

#[test]
fn meta_flush_handlers_runs_them_early() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - command: echo
      notify: h
    - meta: flush_handlers
    - assert: { that: flushed | default(false) }
  handlers:
    - name: h
      set_fact: { flushed: true }
"#,
        &[],
    );
    r.assert_code(0);
}

#[test]
fn tags_select_tasks() {
    let yaml = r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - debug: msg=init
      tags: initialize
    - debug: msg=dbg
      tags: [debug]
    - debug: msg=always
      tags: always
    - debug: msg=never-tagged
      tags: [never, special]
    - debug: msg=untagged
"#;
    let (_d, r) = play(yaml, &["--tags", "debug"]);
    r.assert_code(0);
    r.assert_recap("localhost", "ok=2");
    let (_d, r) = play(yaml, &["--skip-tags", "initialize"]);
    r.assert_recap("localhost", "ok=3");
    let (_d, r) = play(yaml, &["--tags", "special,untagged"]);
    r.assert_recap("localhost", "ok=3");
    let (_d, r) = play(yaml, &[]);
    r.assert_recap("localhost", "ok=4");
}

#[test]
fn import_and_include_tasks() {
    let d = project(&[
        ("hosts", LOCAL_INVENTORY),
        (
            "site.yml",
            r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - import_tasks: tasks/static.yml
      vars: { who: static }
    - include_tasks: "tasks/{{ name }}.yml"
      vars: { name: dynamic }
    - include_tasks: tasks/looped.yml
      loop: [1, 2]
    - assert:
        that:
          - static_done
          - dynamic_done
          - looped == [1, 2]
"#,
        ),
        (
            "tasks/static.yml",
            "- set_fact: { static_done: \"{{ who == 'static' }}\" }\n",
        ),
        ("tasks/dynamic.yml", "- set_fact: { dynamic_done: true }\n"),
        (
            "tasks/looped.yml",
            "- set_fact: { looped: \"{{ (looped | default([])) + [item] }}\" }\n",
        ),
    ]);
    let r = run_in(d.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    r.out_contains("included: ");
}

#[test]
fn roles_with_defaults_vars_handlers_and_dependencies() {
    let d = project(&[
        ("hosts", LOCAL_INVENTORY),
        (
            "site.yml",
            r#"
- hosts: localhost
  gather_facts: no
  roles:
    - role: app
      port: 8080
  tasks:
    - assert:
        that:
          - common_done
          - app_port_seen == 8080
          - app_started is not defined
    - include_role: { name: app, tasks_from: clean }
    - assert: { that: cleaned }
  post_tasks:
    - assert: { that: app_started }
"#,
        ),
        ("roles/common/tasks/main.yml", "- set_fact: { common_done: true }\n"),
        ("roles/app/meta/main.yml", "dependencies:\n  - common\n"),
        ("roles/app/defaults/main.yml", "port: 80\nmessage: default\n"),
        ("roles/app/vars/main.yml", "message: from-vars\n"),
        (
            "roles/app/tasks/main.yml",
            "- assert: { that: \"message == 'from-vars'\" }\n- set_fact: { app_port_seen: \"{{ port }}\" }\n- command: echo start\n  notify: start app\n",
        ),
        ("roles/app/tasks/clean.yml", "- set_fact: { cleaned: true }\n"),
        ("roles/app/handlers/main.yml", "- name: start app\n  set_fact: { app_started: true }\n"),
    ]);
    let r = run_in(d.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    r.out_contains("TASK [app : command]");
    r.out_contains("RUNNING HANDLER [app : start app]");
}

#[test]
fn serial_batches_split_hosts() {
    let d = project(&[
        ("hosts", "[web]\nw[1:5] ansible_connection=local\n"),
        (
            "site.yml",
            "- hosts: web\n  gather_facts: no\n  serial: 2\n  tasks:\n    - debug: msg={{ ansible_play_batch | length }}\n",
        ),
    ]);
    let r = run_in(d.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    assert_eq!(r.stdout.matches("PLAY [web]").count(), 3, "{}", r.stdout);
    for h in ["w1", "w2", "w3", "w4", "w5"] {
        r.assert_recap(h, "ok=1");
    }
}

#[test]
fn one_failing_host_leaves_the_play_others_continue() {
    let d = project(&[
        ("hosts", "[all_hosts]\nh1 ansible_connection=local\nh2 ansible_connection=local\n"),
        (
            "site.yml",
            "- hosts: all\n  gather_facts: no\n  tasks:\n    - fail: msg=bad\n      when: inventory_hostname == 'h1'\n    - debug: msg=after\n",
        ),
    ]);
    let r = run_in(d.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(2);
    r.assert_recap("h1", "ok=0 failed=1");
    r.assert_recap("h2", "ok=1 skipped=1");
}

#[test]
fn any_errors_fatal_stops_everyone() {
    let d = project(&[
        ("hosts", "h1 ansible_connection=local\nh2 ansible_connection=local\n"),
        (
            "site.yml",
            "- hosts: all\n  gather_facts: no\n  any_errors_fatal: true\n  tasks:\n    - fail: msg=bad\n      when: inventory_hostname == 'h1'\n    - debug: msg=after\n",
        ),
    ]);
    let r = run_in(d.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(2);
    // ansible-playbook 2.19 prints no `NO MORE HOSTS LEFT` banner for any_errors_fatal.
    assert!(!r.stdout.contains("NO MORE HOSTS LEFT"), "{}", r.stdout);
    assert!(!r.stdout.contains("after"), "{}", r.stdout);
    assert!(!r.stdout.contains("\"msg\": \"after\""), "{}", r.stdout);
}

#[test]
fn delegate_to_and_run_once() {
    let d = project(&[
        ("hosts", "h1 ansible_connection=local\nh2 ansible_connection=local\n"),
        (
            "site.yml",
            "- hosts: all\n  gather_facts: no\n  tasks:\n    - command: echo {{ inventory_hostname }}\n      delegate_to: localhost\n      run_once: true\n      register: once\n    - assert: { that: \"once.stdout == 'h1'\" }\n",
        ),
    ]);
    let r = run_in(d.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    r.out_contains("changed: [h1 -> localhost]");
    r.assert_recap("h2", "ok=1 changed=0");
}

#[test]
fn environment_and_check_mode() {
    let (d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  environment: { GREETING: hello }
  tasks:
    - shell: echo "$GREETING $OTHER"
      environment: { OTHER: world }
      register: out
    - assert: { that: "out.stdout == 'hello world'" }
    - command: touch created-in-check
      check_mode: yes
    - assert: { that: ansible_check_mode == false }
"#,
        &[],
    );
    r.assert_code(0);
    assert!(!d.path().join("created-in-check").exists());
}

#[test]
fn yaml11_booleans_in_keywords() {
    let (_d, r) = play(
        "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - debug: msg=x\n      when: no\n    - debug: msg=y\n      when: yes\n",
        &[],
    );
    r.assert_code(0);
    r.assert_recap("localhost", "ok=1 skipped=1");
}
