//! Inventory variables, precedence, magic variables, facts, filters and lookups through the binary.

mod common;
use common::*;

#[test]
fn group_and_host_vars_precedence() {
    let d = project(&[
        ("inventory/hosts", "[web]\nweb1 ansible_connection=local from_inv_host=ini\n[app:children]\nweb\n[app:vars]\nlayer=app-ini\n"),
        ("inventory/group_vars/all.yml", "layer: all\nonly_all: 1\n"),
        ("inventory/group_vars/web.yml", "layer: web\n"),
        ("inventory/host_vars/web1.yml", "from_inv_host: host_vars\n"),
        ("group_vars/web.yml", "layer: playbook-web\n"),
        (
            "site.yml",
            r#"
- hosts: web
  gather_facts: no
  vars_files: [vars/extra.yml]
  tasks:
    - assert:
        that:
          - layer == 'playbook-web'
          - only_all == 1
          - from_inv_host == 'host_vars'
          - from_file == 'yes'
          - "'web' in group_names and 'app' in group_names"
          - groups['app'] == ['web1']
          - hostvars['web1']['layer'] == 'playbook-web'
          - inventory_hostname_short == 'web1'
          - playbook_dir is directory
          - ansible_play_hosts == ['web1']
"#,
        ),
        ("vars/extra.yml", "from_file: 'yes'\n"),
    ]);
    let r = run_in(d.path(), &["-i", "inventory/hosts", "site.yml"]);
    r.assert_code(0);
}

#[test]
fn set_fact_beats_play_vars_and_extra_vars_beat_everything() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  vars: { a: play, b: play }
  tasks:
    - set_fact: { a: fact, b: fact }
    - assert: { that: ["a == 'fact'", "b == 'extra'"] }
    - assert: { that: "c == 'task'" }
      vars: { c: task }
"#,
        &["-e", "b=extra"],
    );
    r.assert_code(0);
}

#[test]
fn extra_vars_from_json_and_file() {
    let d = project(&[
        ("hosts", LOCAL_INVENTORY),
        ("ev.yml", "from_file: [1, 2]\n"),
        ("site.yml", "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - assert: { that: [\"from_file == [1, 2]\", \"j.k == 5\"] }\n"),
    ]);
    let r = run_in(
        d.path(),
        &[
            "-i",
            "hosts",
            "site.yml",
            "-e",
            "@ev.yml",
            "-e",
            "{\"j\": {\"k\": 5}}",
        ],
    );
    r.assert_code(0);
}

#[test]
fn facts_are_gathered_without_python() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  tasks:
    - assert:
        that:
          - ansible_facts.hostname is string
          - ansible_hostname == ansible_facts.hostname
          - ansible_system == 'Linux'
          - ansible_processor_vcpus | int >= 1
          - ansible_memtotal_mb | int > 0
          - ansible_date_time.epoch | int > 0
          - ansible_env.PATH is defined
          - ansible_os_family is string
"#,
        &[],
    );
    r.assert_code(0);
    r.out_contains("TASK [Gathering Facts]");
}

#[test]
fn filters_tests_and_lookups() {
    let d = project(&[
        ("hosts", LOCAL_INVENTORY),
        ("files/data.txt", "file content\n"),
        ("templates/t.j2", "Hello {{ who }}\n"),
        (
            "site.yml",
            r#"
- hosts: localhost
  gather_facts: no
  vars:
    who: world
    cfg: { a: { b: 1 }, l: [3, 1, 2, 3] }
  tasks:
    - assert:
        that:
          - "'a:b:c'.split(':') | length == 3"
          - "'  x '.strip() == 'x'"
          - "cfg | combine({'a': {'c': 2}}, recursive=True) == {'a': {'b': 1, 'c': 2}, 'l': [3, 1, 2, 3]}"
          - "cfg.l | unique | sort == [1, 2, 3]"
          - "cfg | dict2items | length == 2"
          - "'abc' | regex_replace('b', 'X') == 'aXc'"
          - "'10.0.0.1:80' | regex_search('(\\d+)$') == '80'"
          - "'/a/b/c.txt' | basename == 'c.txt'"
          - "'{\"k\": 1}' | from_json == {'k': 1}"
          - "{'k': [1]} | to_json == '{\"k\": [1]}'"
          - "'2.10' is version('2.9', '>')"
          - "'hello' | hash('sha1') == 'aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d'"
          - "1048576 | human_readable == '1.00 MB'"
          - "undefined_thing | default('d') == 'd'"
          - "cfg.get('missing', 7) == 7"
          - "lookup('file', 'data.txt') == 'file content'"
          - "lookup('template', 't.j2') == 'Hello world\n'"
          - "lookup('env', 'HOME') | length > 0"
          - "lookup('pipe', 'echo piped') == 'piped'"
          - "query('fileglob', 'files/*.txt') | length == 1"
          - "[1, [2, [3]]] | flatten == [1, 2, 3]"
          - "'x' | quote == 'x'"
          - "(true | ternary('y', 'n')) == 'y'"
"#,
        ),
    ]);
    let r = run_in(d.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
}

#[test]
fn add_host_group_by_and_later_plays() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - add_host: { name: dyn1, groups: dynamic, ansible_connection: local, color: blue }
    - group_by: { key: "kind_{{ 'control' }}" }
- hosts: dynamic
  gather_facts: no
  tasks:
    - assert: { that: ["color == 'blue'", "inventory_hostname == 'dyn1'"] }
- hosts: kind_control
  gather_facts: no
  tasks:
    - debug: msg=control
"#,
        &[],
    );
    r.assert_code(0);
    r.assert_recap("dyn1", "ok=1");
    r.assert_recap("localhost", "ok=3");
}

#[test]
fn include_vars_and_start_at_task() {
    let d = project(&[
        ("hosts", LOCAL_INVENTORY),
        ("vars/more.yml", "included: 3\n"),
        (
            "site.yml",
            "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - name: first\n      fail: msg=skipped-by-start\n    - name: second\n      include_vars: vars/more.yml\n    - assert: { that: included == 3 }\n",
        ),
    ]);
    let r = run_in(
        d.path(),
        &["-i", "hosts", "site.yml", "--start-at-task", "second"],
    );
    r.assert_code(0);
    r.assert_recap("localhost", "ok=2 failed=0");
}
