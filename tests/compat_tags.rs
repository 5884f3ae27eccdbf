//! Tag selection compared against ansible-core 2.19.

mod common;
use common::*;

const TEMPLATED_PLAY_TAGS: &str = r#"
- hosts: localhost
  gather_facts: no
  vars:
    stage: initialize
  tags: "{{ stage }}"
  tasks:
    - name: tagged through the play
      debug:
        msg: in-stage
"#;

#[test]
fn templated_play_tags_select_with_tags() {
    let (_d, r) = play(TEMPLATED_PLAY_TAGS, &["--tags", "initialize"]);
    r.assert_code(0);
    r.out_contains("in-stage");
    r.assert_recap("localhost", "ok=1");
}

#[test]
fn templated_play_tags_skip_with_skip_tags() {
    let (_d, r) = play(TEMPLATED_PLAY_TAGS, &["--skip-tags", "initialize"]);
    r.assert_code(0);
    assert!(!r.stdout.contains("in-stage"), "{}", r.stdout);
}

#[test]
fn templated_block_tags_from_list_var() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  vars:
    my_tags: [debug]
  tasks:
    - block:
        - name: only with debug
          debug:
            msg: debugging
      tags: "{{ my_tags }}"
"#,
        &["--tags", "debug"],
    );
    r.assert_code(0);
    r.out_contains("debugging");
}

#[test]
fn list_tasks_renders_templated_tags() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  vars:
    t: deploy
  tasks:
    - name: templated
      debug:
      tags: "{{ t }}"
"#,
        &["--list-tasks"],
    );
    r.assert_code(0);
    r.out_contains("TAGS: [deploy]");
}

#[test]
fn always_and_never_tags() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - debug:
        msg: always-runs
      tags: [always]
    - debug:
        msg: never-runs
      tags: [never, cleanup]
    - debug:
        msg: init-runs
      tags: [initialize]
    - debug:
        msg: untagged-runs
"#,
        &["--tags", "initialize"],
    );
    r.assert_code(0);
    r.out_contains("always-runs");
    r.out_contains("init-runs");
    assert!(!r.stdout.contains("never-runs"));
    assert!(!r.stdout.contains("untagged-runs"));
    r.assert_recap("localhost", "ok=2");
}
