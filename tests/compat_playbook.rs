//! Playbook structure (roles, imports, hosts) compared against ansible-core 2.19.

mod common;
use common::*;

#[test]
fn empty_hosts_list_is_an_error() {
    let (_d, r) = play(
        r#"
- hosts: []
  gather_facts: no
  tasks:
    - debug:
        msg: must not run
"#,
        &[],
    );
    r.assert_code(4);
    r.err_contains("Hosts list cannot be empty");
    assert!(!r.stdout.contains("must not run"), "{}", r.stdout);
}

#[test]
fn playbook_without_plays_is_an_error() {
    let (_d, r) = play("[]\n", &[]);
    r.assert_code(4);
    r.err_contains("A playbook must contain at least one play");
}

#[test]
fn role_include_shorthand_name_param() {
    let dir = project(&[
        (
            "site.yml",
            r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - include_role: name=web
    - import_role: name=web
"#,
        ),
        (
            "roles/web/tasks/main.yml",
            "- debug:\n    msg: web role ran\n",
        ),
        ("hosts", LOCAL_INVENTORY),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    r.assert_recap("localhost", "ok=3 failed=0");
}

#[test]
fn import_playbook_vars_reach_imported_plays() {
    let dir = project(&[
        (
            "site.yml",
            r#"
- import_playbook: deploy.yml
  vars:
    k8s_ns: planet-ns
"#,
        ),
        (
            "deploy.yml",
            r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - assert:
        that: k8s_ns == 'planet-ns'
"#,
        ),
        ("hosts", LOCAL_INVENTORY),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    r.assert_recap("localhost", "ok=1 failed=0");
}

#[test]
fn set_fact_templated_key() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - set_fact:
        "{{ key_name }}": "{{ key_value }}"
      vars:
        key_name: image_tag
        key_value: v1.2
    - assert:
        that: image_tag == 'v1.2'
"#,
        &[],
    );
    r.assert_code(0);
    r.assert_recap("localhost", "ok=2 failed=0");
}

#[test]
fn role_defaults_vars_and_tags() {
    let dir = project(&[
        (
            "site.yml",
            r#"
- hosts: localhost
  gather_facts: no
  roles:
    - role: app
      tags: [initialize]
"#,
        ),
        ("roles/app/defaults/main.yml", "replicas: 1\nns: default\n"),
        ("roles/app/vars/main.yml", "ns: planet\n"),
        (
            "roles/app/tasks/main.yml",
            "- assert:\n    that:\n      - replicas == 1\n      - ns == 'planet'\n",
        ),
        ("hosts", LOCAL_INVENTORY),
    ]);
    let r = run_in(
        dir.path(),
        &["-i", "hosts", "site.yml", "--tags", "initialize"],
    );
    r.assert_code(0);
    r.assert_recap("localhost", "ok=1 failed=0");
}

/// Ansible's default `private_role_vars = False`: the defaults and vars of the play's static
/// roles (`roles:` and `import_role`) are visible to later roles and to play tasks;
/// `include_role` keeps them private; a role's own value still wins inside it.
#[test]
fn static_role_variables_are_visible_to_the_rest_of_the_play() {
    let dir = project(&[
        (
            "site.yml",
            r#"
- hosts: localhost
  gather_facts: no
  roles: [ra, rb]
  tasks:
    - debug: {msg: "play task sees {{ ra_default }} {{ ra_var }}"}
- hosts: localhost
  gather_facts: no
  tasks:
    - import_role: {name: ra}
    - debug: {msg: "after import_role sees {{ ra_default }}"}
- hosts: localhost
  gather_facts: no
  tasks:
    - include_role: {name: rc}
    - debug: {msg: "after include_role sees {{ rc_default | default('UNDEFINED') }}"}
"#,
        ),
        (
            "roles/ra/defaults/main.yml",
            "ra_default: from-ra\nshared: ra\n",
        ),
        ("roles/ra/vars/main.yml", "ra_var: ra-var\n"),
        (
            "roles/ra/tasks/main.yml",
            "- debug: {msg: \"ra has {{ shared }}\"}\n",
        ),
        ("roles/rb/defaults/main.yml", "shared: rb\n"),
        (
            "roles/rb/tasks/main.yml",
            "- debug: {msg: \"rb sees {{ ra_default }} and has {{ shared }}\"}\n",
        ),
        ("roles/rc/defaults/main.yml", "rc_default: from-rc\n"),
        (
            "roles/rc/tasks/main.yml",
            "- debug: {msg: \"rc has {{ rc_default }}\"}\n",
        ),
        ("hosts", LOCAL_INVENTORY),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    for line in [
        "\"msg\": \"ra has ra\"",
        "\"msg\": \"rb sees from-ra and has rb\"",
        "\"msg\": \"play task sees from-ra ra-var\"",
        "\"msg\": \"after import_role sees from-ra\"",
        "\"msg\": \"rc has from-rc\"",
        "\"msg\": \"after include_role sees UNDEFINED\"",
    ] {
        r.out_contains(line);
    }
}

/// `FAILED - RETRYING` names the task without its role (ansible-core 2.19's
/// `result.task_name`), and ansible.posix's timer prints its own banner and line.
#[test]
fn retry_line_of_a_role_task_and_the_timer_callback() {
    let dir = project(&[
        (
            "site.yml",
            "- hosts: localhost\n  gather_facts: no\n  roles: [app]\n",
        ),
        (
            "roles/app/tasks/main.yml",
            "- name: count up\n  shell: echo x >> {{ playbook_dir }}/count; wc -l < {{ playbook_dir }}/count\n  register: r\n  until: r.stdout | int >= 2\n  retries: 3\n  delay: 0\n",
        ),
        (
            "ansible.cfg",
            "[defaults]\ncallbacks_enabled = ansible.posix.timer\n",
        ),
        ("hosts", LOCAL_INVENTORY),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    r.out_contains("TASK [app : count up]");
    r.out_contains("FAILED - RETRYING: [localhost]: count up (3 retries left).\n");
    r.out_contains("\n\n\nPLAYBOOK RECAP *****");
    r.out_contains("\nPlaybook run took 0 days, 0 hours, 0 minutes, 0 seconds\n\r\n");
}

/// Names templated at load time (ansible-core 2.19): `import_playbook` with extra vars,
/// `import_role` with play vars; an unnamed include_role's banner names the role.
#[test]
fn templated_import_names_and_the_include_role_banner() {
    let dir = project(&[
        (
            "site.yml",
            r#"
- import_playbook: '{{ first_book }}'
- hosts: localhost
  gather_facts: no
  vars:
    rname: web
  tasks:
    - import_role:
        name: "{{ rname }}"
    - include_role:
        name: web
    - debug: msg="{{ now(fmt='%f') | length }}"
"#,
        ),
        (
            "p1.yml",
            "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - debug: msg=from-p1\n",
        ),
        ("roles/web/tasks/main.yml", "- debug: msg=web-role\n"),
        ("hosts", LOCAL_INVENTORY),
    ]);
    let r = run_in(
        dir.path(),
        &["-i", "hosts", "site.yml", "-e", "first_book=p1.yml"],
    );
    r.assert_code(0);
    r.out_contains("\"msg\": \"from-p1\"");
    r.out_contains("TASK [web : debug]");
    r.out_contains("TASK [include_role : web] ****");
    r.out_contains("\"msg\": 6\n");
    r.assert_recap("localhost", "ok=5 failed=0");
}

/// Argument errors worded as 2.19's: the module's own check says `Module failed:`, a
/// controller action's says only `Task failed:`; command with nothing to run.
#[test]
fn argument_errors_are_worded_as_ansible() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - debug: msg=x bogus=1
      ignore_errors: true
    - lineinfile:
        line: x
      ignore_errors: true
    - command:
      ignore_errors: true
    - file: path=/nonexistent bogus=1
      ignore_errors: true
"#,
        &[],
    );
    r.assert_code(0);
    r.out_contains("[ERROR]: Task failed: Unsupported parameters for (debug) module: bogus. Supported parameters include: msg, var, verbosity.\n");
    r.out_contains("fatal: [localhost]: FAILED! => {\"msg\": \"Unsupported parameters for (debug) module: bogus. Supported parameters include: msg, var, verbosity.\"}");
    r.out_contains("[ERROR]: Task failed: Module failed: missing required arguments: path\n");
    r.out_contains("{\"changed\": false, \"msg\": \"missing required arguments: path\"}");
    r.out_contains("{\"changed\": false, \"msg\": \"one of the following is required: _raw_params, cmd, argv\"}");
    r.out_contains("unsafe_writes (attr, dest, name).");
    r.assert_recap("localhost", "ignored=4");
}

/// ansible-core 2.19: a dependency that already ran in `roles:` is not run again when an
/// `include_role` brings in its parent; `loop_control.extended` registers `ansible_loop`
/// per item (no `nextitem` on the last); a templated conditional is deprecated, pointing at it.
#[test]
fn include_role_dependencies_extended_loops_and_templated_conditionals() {
    let dir = project(&[
        (
            "site.yml",
            r#"
- hosts: localhost
  gather_facts: no
  roles: [base]
  tasks:
    - include_role: {name: app}
    - debug: msg=x
      when: "{{ 1 == 1 }}"
    - debug: msg=y
      loop: [1, 2]
      loop_control: {extended: true}
      failed_when: ansible_loop.last
      ignore_errors: true
      register: r
    - assert:
        that:
          - r.results[1].ansible_loop.last
          - r.results[1].ansible_loop.previtem == 1
          - r.results[1].ansible_loop.nextitem is undefined
          - r.results[0].ansible_loop.previtem is undefined
"#,
        ),
        ("roles/base/tasks/main.yml", "- debug: msg=base-ran\n"),
        ("roles/app/tasks/main.yml", "- debug: msg=app-ran\n"),
        ("roles/app/meta/main.yml", "dependencies:\n  - base\n"),
        ("hosts", LOCAL_INVENTORY),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    assert_eq!(
        r.stdout.matches("\"msg\": \"base-ran\"").count(),
        1,
        "{}",
        r.stdout
    );
    r.out_contains("\"msg\": \"app-ran\"");
    r.assert_recap("localhost", "ok=6 failed=0 ignored=1");
    r.err_contains("[WARNING]: Deprecation warnings can be disabled by setting `deprecation_warnings=False` in ansible.cfg.");
    r.err_contains(&format!(
        "[DEPRECATION WARNING]: Conditionals should not be surrounded by templating delimiters such as {{{{ }}}} or {{% %}}. This feature will be removed from ansible-core version 2.23.\nOrigin: {}:8:13\n",
        dir.path().join("site.yml").display()
    ));
    std::fs::write(
        dir.path().join("ansible.cfg"),
        "[defaults]\ndeprecation_warnings = False\n",
    )
    .expect("ansible.cfg");
    let quiet = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    quiet.assert_code(0);
    assert!(!quiet.stderr.contains("DEPRECATION"), "{}", quiet.stderr);
}

/// Roles from collections beside the playbook (`collections/ansible_collections/ns/col`):
/// by FQCN, by short name with the play's `collections:`, and a collection role including
/// a sibling by its short name; banners show `ns.col.role` (ansible-core 2.19).
#[test]
fn roles_from_collections() {
    let base = "collections/ansible_collections/acme/web/roles";
    let server = format!("{base}/server/tasks/main.yml");
    let helper = format!("{base}/helper/tasks/main.yml");
    let dir = project(&[
        (
            "site.yml",
            r#"
- hosts: localhost
  gather_facts: no
  roles:
    - acme.web.server
  tasks:
    - import_role: {name: acme.web.helper}
- hosts: localhost
  gather_facts: no
  collections: [acme.web]
  roles: [server]
"#,
        ),
        (&server, "- debug: msg=server-from-collection\n"),
        (
            &helper,
            "- debug: msg=helper\n- include_role: {name: server}\n",
        ),
        ("hosts", LOCAL_INVENTORY),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    assert_eq!(
        r.stdout.matches("TASK [acme.web.server : debug]").count(),
        3,
        "{}",
        r.stdout
    );
    r.out_contains("TASK [acme.web.helper : debug]");
    r.out_contains("TASK [include_role : server]");
    r.assert_recap("localhost", "ok=5 failed=0");
    std::fs::write(
        dir.path().join("bad.yml"),
        "- hosts: localhost\n  gather_facts: no\n  roles: [acme.web.nope]\n",
    )
    .expect("bad.yml");
    let missing = run_in(dir.path(), &["-i", "hosts", "bad.yml"]);
    missing.assert_code(4);
    missing.err_contains("the role 'acme.web.nope' was not found");
}

/// add_host as ansible-core 2.19: `changed` only for a new host, group or value, per loop
/// item; its arguments may be one template rendering to a mapping; `host:port` names.
#[test]
fn add_host_changed_loops_templated_args_and_ports() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  vars:
    spec: {hostname: h1, groups: [web], foo: bar}
  tasks:
    - add_host: "{{ spec }}"
      register: first
    - add_host: "{{ spec }}"
      register: again
    - add_host: {name: "{{ item }}", groups: [db]}
      loop: [d1, d2, d2]
      register: looped
    - add_host: {name: "127.0.1.1:2222"}
      register: hostport
    - assert:
        that:
          - first is changed
          - again is not changed
          - looped.results[0] is changed and looped.results[1] is changed
          - looped.results[2] is not changed
          - groups['db'] == ['d1', 'd2']
          - hostvars['h1'].foo == 'bar'
          - hostport.add_host.host_name == '127.0.1.1'
          - hostport.add_host.host_vars.ansible_ssh_port == 2222
"#,
        &[],
    );
    r.assert_code(0);
    r.assert_recap("localhost", "ok=5 changed=3 failed=0");
}

/// Loops as ansible-core 2.19: `with_lines` runs on the controller, `with_subelements` takes a
/// dotted sub-key, and unresolvable items do not matter when `when:` skips the task.
#[test]
fn with_lines_dotted_subelements_and_skipped_undefined_items() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  vars:
    element_data: [{id: x, the: {sub: {key: {list: [q, r]}}}}]
  tasks:
    - set_fact: "{{ item }}=set"
      with_lines: for i in 1 2 3; do echo "l$i"; done
    - set_fact: "{{ '_' + item.0.id + item.1 }}={{ item.1 }}"
      with_subelements:
        - "{{ element_data }}"
        - the.sub.key.list
    - debug: msg=never
      with_items: ["{{ baz }}"]
      when: false
    - assert:
        that:
          - l1 == 'set' and l3 == 'set'
          - _xq == 'q' and _xr == 'r'
"#,
        &[],
    );
    r.assert_code(0);
    r.assert_recap("localhost", "ok=3 skipped=1 failed=0");
}

/// `is nan` / `is isnan`, and `ansible_python_version` where the target has a Python.
#[test]
fn nan_tests_and_python_version_fact() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: yes
  tasks:
    - assert:
        that:
          - "'bad' is not nan"
          - "'nan' | float is nan"
          - "'nan' | float is isnan"
          - "1.1 | float is not nan"
          - ansible_python_version is defined or ansible_python is undefined
"#,
        &[],
    );
    r.assert_code(0);
}

/// with_sequence / with_together errors worded as Ansible's lookups.
#[test]
fn with_sequence_and_with_together_errors() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - debug: msg={{ item }}
      with_sequence: start=0 junk=3
      ignore_errors: true
      register: junk
    - debug: msg={{ item }}
      with_sequence: start=4 end=1 stride=2
      ignore_errors: true
      register: backwards
    - debug: msg={{ item }}
      with_sequence: start=1 end=4 format=d
      ignore_errors: true
      register: fmt
    - debug: msg={{ item }}
      with_together: []
      ignore_errors: true
      register: together
    - assert:
        that:
          - "'unrecognized arguments to with_sequence: ' in junk.msg and 'junk' in junk.msg"
          - backwards.msg is contains "to count backwards make stride negative"
          - 'fmt.msg is contains "bad formatting string: d"'
          - together.msg is contains "with_together requires at least one element in each list"
"#,
        &[],
    );
    r.assert_code(0);
    r.assert_recap("localhost", "ignored=4 failed=0");
}

/// The file tests under their other names (`is_dir`, `is_file`, `link_exists`, `same_file`,
/// `mount`), and a skipped task's keywords are never resolved (`when:` first).
#[test]
fn file_tests_and_when_before_keywords() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - assert:
        that:
          - "'/' is is_dir and '/' is mount and '/etc/hostname' is is_file"
          - "'/nonexistent' is not link_exists"
          - "'/etc/hostname' is same_file('/etc/../etc/hostname')"
    - command: echo never
      become: yes
      become_user: "{{ missing.stat.pw_name }}"
      when: false
"#,
        &[],
    );
    r.assert_code(0);
    r.assert_recap("localhost", "ok=1 skipped=1 failed=0");
}

/// lookup('vars') refuses a name that is not a string as Ansible words it, and a debug
/// `var` written as a template is rendered, not wrapped in another `{{ }}`.
#[test]
fn vars_lookup_name_types_and_templated_debug_var() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  vars: {greeting: hi}
  tasks:
    - debug:
        var: '{{ lookup("vars", 42) }}'
      ignore_errors: true
      register: bad
    - debug:
        var: '{{ lookup("vars", "greeting") }}'
      register: good
    - assert:
        that:
          - "'Variable name must be ' ~ \"'str' not 'int'\" in bad.msg"
          - good is not failed
"#,
        &[],
    );
    r.assert_code(0);
    r.assert_recap("localhost", "ignored=1 failed=0");
}

/// The uri / url / urn tests as Ansible's (urlparse-based: junk is a uri, a url needs a host).
#[test]
fn uri_url_and_urn_tests() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  vars:
    special: ['http', 'https', 'ftp', 'file']
  tasks:
    - assert:
        that:
          - "'http://searchengine.tld' is uri"
          - "'asldkfjhalsidfthjo' is uri"
          - "'asldkfjhalsidfthjo' is not uri(special)"
          - "'htp://searchengine.tld' is not url(special)"
          - "'file://etc/hosts' is url"
          - "'searchengine.tld' is not url"
          - "'urn:isbn:9780307476463' is urn"
          - "'http://x' is not urn"
"#,
        &[],
    );
    r.assert_code(0);
}

/// Jinja2's urlencode on strings, mappings and empty sequences (filter_urls target).
#[test]
fn urlencode_strings_mappings_and_sequences() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - assert:
        that:
          - "{'foo': 'bar', 'baz': 'buz'}|urlencode == 'foo=bar&baz=buz'"
          - "()|urlencode == ''"
          - "'a b/c&d'|urlencode == 'a%20b/c%26d'"
          - "[['k', 'v w']]|urlencode == 'k=v+w'"
"#,
        &[],
    );
    r.assert_code(0);
}

/// A multi-line `shell: |` block runs as the script it is (ansible's split_args/join_args:
/// newlines kept, `\` continuations joined, quoted newlines kept), and `cmd` shows it so.
#[test]
fn multi_line_shell_blocks_keep_their_lines() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - shell: |
        echo one
        echo this is \
          "continued"
        echo "a
        b"
      register: r
    - assert:
        that:
          - r.stdout_lines == ['one', 'this is continued', 'a', 'b']
          - r.cmd == 'echo one\necho this is  "continued"\necho "a\nb"\n'
"#,
        &[],
    );
    r.assert_code(0);
}
