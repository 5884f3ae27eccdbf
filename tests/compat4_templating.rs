//! Round 4: templating, conditionals, filters and lookups, found running ansible-core
//! 2.19.14's integration targets side by side. Each test asserts Ansible's behaviour.

mod common;
use common::*;

#[test]
fn template_lookup_includes_delimiters_and_trim_blocks() {
    // `{% include %}` finds files next to the template; the lookup's delimiter and
    // trim_blocks options apply; a template with no output is None.
    let dir = project(&[
        (
            "site.yml",
            r#"
- hosts: localhost
  gather_facts: no
  vars:
    who: world
  tasks:
    - copy:
        content: "{{ lookup('template', 'hello.j2') }}|{{ lookup('template', 'alt.j2', variable_start_string='[%', variable_end_string='%]', comment_start_string='[#', comment_end_string='#]') }}|{{ lookup('template', 'if.j2', trim_blocks=False) }}"
        dest: "{{ playbook_dir }}/out.txt"
    - assert:
        that:
          - lookup('template', 'none.j2') is none
          - lookup('template', 'dict.j2') is not mapping
          - lookup('template', 'managed.j2') | trim == 'Ansible managed'
"#,
        ),
        ("hosts", LOCAL_INVENTORY),
        ("templates/hello.j2", "Hello {% include 'world.txt' %}!\n"),
        ("templates/world.txt", "{{ who }}\n"),
        ("templates/alt.j2", "[# note #]{{ x }} [% who %]"),
        ("templates/if.j2", "{% if True %}\nyes\n{% endif %}\n"),
        ("templates/none.j2", "{# nothing #}\n"),
        ("templates/dict.j2", "{\"a\": \"{{ 'b' }}\"}\n"),
        ("templates/managed.j2", "{{ ansible_managed }}\n"),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    r.assert_recap("localhost", "ok=2 changed=1 failed=0");
    let out = std::fs::read_to_string(dir.path().join("out.txt")).expect("out.txt");
    assert_eq!(out, "Hello world!\n|{{ x }} world|\nyes\n");
}

#[test]
fn template_module_includes_from_its_directory_and_custom_delimiters() {
    let dir = project(&[
        (
            "site.yml",
            r#"
- hosts: localhost
  gather_facts: no
  vars:
    who: there
  tasks:
    - template:
        src: main.j2
        dest: "{{ playbook_dir }}/out.txt"
    - template:
        src: alt.j2
        dest: "{{ playbook_dir }}/alt.txt"
        variable_start_string: '<<'
        variable_end_string: '>>'
"#,
        ),
        ("hosts", LOCAL_INVENTORY),
        ("templates/main.j2", "A{% include 'part.j2' %}B\n"),
        ("templates/part.j2", "-{{ who }}-\n"),
        ("templates/alt.j2", "{{ kept }} << who >>\n"),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    r.assert_recap("localhost", "ok=2 changed=2 failed=0");
    let out = std::fs::read_to_string(dir.path().join("out.txt")).expect("out.txt");
    assert_eq!(out, "A-there-B\n");
    let alt = std::fs::read_to_string(dir.path().join("alt.txt")).expect("alt.txt");
    assert_eq!(alt, "{{ kept }} there\n");
}

/// `'secret' | vault('pw', salt=7)` as ansible-core 2.19 writes it.
const SECRET_VAULTED: &str = "$ANSIBLE_VAULT;1.2;AES256;filter_default\n33370a62343735363463386464303164373034366262336566336530636363373538643565323332\n6138626361323130613766323830663437623735326636666630610a383730343532633238303166\n6335333936613261326535666636633966333961\n";

#[test]
fn vault_and_unvault_filters_and_the_unvault_lookup() {
    // An inline !vault that the run cannot open still unvaults with the filter's secret.
    let inline: String = SECRET_VAULTED
        .lines()
        .map(|l| format!("      {l}\n"))
        .collect();
    let playbook = format!(
        r#"
- hosts: localhost
  gather_facts: no
  vars:
    expected: "{}"
    undecryptable: !vault |
{inline}  tasks:
    - assert:
        that:
          - "'secret' | vault('pw', salt=7) == expected"
          - "'secret' | vault('pw', vault_id='x') | unvault('pw', vault_id='x') == 'secret'"
          - "'plain' | unvault('pw') == 'plain'"
          - "undecryptable | unvault('pw') == 'secret'"
          - "'secret' | vault('pw', wrap_object=True) is ansible._protomatter.tagged_with('VaultedValue')"
          - "'secret' | vault('pw') is not ansible._protomatter.tagged_with('VaultedValue')"
    - debug:
        var: undecryptable
      register: used
      ignore_errors: true
    - copy:
        content: "{{{{ lookup('unvault', 'secret.vault') }}}}"
        dest: "{{{{ playbook_dir }}}}/out.txt"
"#,
        SECRET_VAULTED.replace('\n', "\\n")
    );
    let dir = project(&[
        ("site.yml", &playbook),
        ("hosts", LOCAL_INVENTORY),
        ("files/secret.vault", SECRET_VAULTED),
        ("pw.txt", "pw\n"),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    // Without secrets the vaulted file cannot be read: the undecryptable value fails its
    // debug (ignored) and the lookup fails.
    r.assert_code(2);
    r.assert_recap("localhost", "ok=2 failed=1 ignored=1");
    let r = run_in(
        dir.path(),
        &["-i", "hosts", "--vault-password-file", "pw.txt", "site.yml"],
    );
    r.assert_code(0);
    r.assert_recap("localhost", "ok=3 changed=1 failed=0");
    let out = std::fs::read_to_string(dir.path().join("out.txt")).expect("out.txt");
    assert_eq!(out, "secret");
}

#[test]
fn ini_lookup_reads_ini_and_properties_files() {
    let dir = project(&[
        (
            "site.yml",
            r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - assert:
        that:
          - lookup('ini', 'name', section='s', file='a.ini') == 'bob'
          - lookup('ini', 'Name', section='s', file='a.ini') == 'bob'
          - lookup('ini', 'long', section='s', file='a.ini') == 'one\ntwo'
          - lookup('ini', 'path', section='s', file='a.ini') == '/base/x'
          - lookup('ini', 'path', section='s', file='a.ini', interpolation=false) == '%(base)s/x'
          - lookup('ini', 'v[12]  section=s file=a.ini re=true') == '1,2'
          - lookup('ini', 'nope  default=dflt section=s file=a.ini') == 'dflt'
          - lookup('ini', 'key.dot', type='properties', file='p.properties') == 'a b'
    - debug:
        msg: "{{ lookup('ini', 'x', section='missing', file='a.ini') }}"
      register: missing
      ignore_errors: true
    - debug:
        msg: "{{ lookup('ini', 'bogus=1') }}"
      register: bogus
      ignore_errors: true
    - assert:
        that:
          - "'No section' in missing.msg"
          - "'is not a valid option' in bogus.msg"
    - copy:
        content: "{{ item }}"
        dest: "{{ playbook_dir }}/out-{{ item }}"
      with_ini: v[12] section=s file=a.ini re=true
"#,
        ),
        ("hosts", LOCAL_INVENTORY),
        (
            "files/a.ini",
            "[DEFAULT]\nbase = /base\n\n[s]\n# comment\nNAME = bob\nlong = one\n  two\npath: %(base)s/x\nv1=1\nv2=2\nv3=3\n",
        ),
        ("files/p.properties", "key.dot = a b\n"),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    r.assert_recap("localhost", "ok=5 changed=1 failed=0 ignored=2");
    assert!(dir.path().join("out-1").is_file() && dir.path().join("out-2").is_file());
}

/// A project whose play checks 2.19's conditional rules, with `cfg` as its ansible.cfg.
fn conditionals_project(cfg: &str) -> tempfile::TempDir {
    project(&[
        (
            "site.yml",
            r#"
- hosts: localhost
  gather_facts: no
  vars:
    exprs: ['1 == 1', '{{ 2 == 2 }}']
    one_expr: 1 == 1
  tasks:
    - assert:
        that: '{{ exprs }}'
    - assert:
        that: '{{ one_expr }}'
    - action:
        module: assert
        args:
          that: '{{ 1 + 1 == 2 }}'
    - assert:
        that: "{{ '1 == 1' }}"
      register: untrusted
      ignore_errors: true
    - assert:
        that: "'a string'"
      register: broken
      ignore_errors: true
    - debug:
      when: '"x" in {{ exprs }}'
      register: embedded
      ignore_errors: true
    - assert:
        that:
          - untrusted is failed
          - untrusted.msg is contains 'untrusted template or expression'
          - broken is failed == (not lookup('config', 'ALLOW_BROKEN_CONDITIONALS'))
          - embedded is failed
    - copy:
        content: done
        dest: "{{ playbook_dir }}/done.txt"
"#,
        ),
        ("hosts", LOCAL_INVENTORY),
        ("ansible.cfg", cfg),
    ])
}

#[test]
fn conditionals_follow_2_19_trust_and_boolean_rules() {
    // A string from a variable is a trusted expression; a string made by a template is
    // not; a non-bool result is a broken conditional unless ALLOW_BROKEN_CONDITIONALS.
    let dir = conditionals_project("[defaults]\n");
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    r.assert_recap("localhost", "ok=8 changed=1 failed=0 ignored=3");
    assert!(dir.path().join("done.txt").is_file());
    let dir = conditionals_project("[defaults]\nallow_broken_conditionals = True\n");
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    r.assert_recap("localhost", "ok=8 changed=1 failed=0 ignored=2");
    assert!(dir.path().join("done.txt").is_file());
}

#[test]
fn registered_results_are_data_not_templates() {
    // Module output that looks like Jinja is never rendered again when it is used.
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - command: echo '{{ "{{" }} nope }}'
      register: out
    - assert:
        that:
          - out.stdout.startswith('{' ~ '{')
    - set_fact:
        out: "{{ '{{' }} x }}"
    - debug:
        msg: "{{ out }}"
"#,
        &["-e", "x=rendered"],
    );
    r.assert_code(0);
    r.assert_recap("localhost", "ok=4 changed=1 failed=0");
    r.out_contains("\"msg\": \"{{ x }}\"");
}

#[test]
fn unique_filter_falls_back_as_ansible_does() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - set_fact:
        bad: '{{ [{"a": 1}] | unique(case_sensitive=False) }}'
      register: exc1
      ignore_errors: true
    - set_fact:
        bad: '{{ True | unique }}'
      register: exc2
      ignore_errors: true
    - assert:
        that:
          - "'cannot fall back' in exc1.msg"
          - "\"'bool' object is not iterable\" in exc2.msg"
          - '["a", "b", "A", "B"] | unique == ["a", "b"]'
          - '["a", "b", "A", "B"] | unique(case_sensitive=True) == ["a", "b", "A", "B"]'
          - '[{"a": 1}, {"a": 1}, {"b": 2}] | unique == [{"a": 1}, {"b": 2}]'
          - '[{"f": "x", "m": 1}, {"f": "x", "m": 2}] | unique(attribute="f") == [{"f": "x", "m": 1}]'
          - '"foo" | unique | join == "fo"'
"#,
        &[],
    );
    r.assert_code(0);
    r.assert_recap("localhost", "ok=3 failed=0 ignored=2");
}

#[test]
fn one_output_node_is_native_and_jinja2_headers_override_syntax() {
    // 2.19 concatenation: a template with a single output node gives that node's value, no
    // node gives None, more nodes a string. A `#jinja2:` first line sets the delimiters.
    let dir = project(&[
        (
            "site.yml",
            r#"
- hosts: localhost
  gather_facts: no
  vars:
    one: [1]
    two: [4, 2]
  tasks:
    - set_fact:
        a: "{% for x in one %}{{ x }}{% endfor %}"
        b: "{% for x in two %}{{ x }}{% endfor %}"
        c: "{% if false %}x{% endif %}"
        d: "x{{ 1 }}"
    - assert:
        that:
          - a == 1
          - b == '42'
          - c is none
          - d == 'x1'
    - template:
        src: header.j2
        dest: "{{ playbook_dir }}/out.txt"
"#,
        ),
        ("hosts", LOCAL_INVENTORY),
        (
            "templates/header.j2",
            "#jinja2: variable_start_string:'<<', variable_end_string:'>>'\n{{ kept }} << one[0] >>\n",
        ),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    r.assert_recap("localhost", "ok=3 changed=1 failed=0");
    let out = std::fs::read_to_string(dir.path().join("out.txt")).expect("out.txt");
    assert_eq!(out, "{{ kept }} 1\n");
}

#[test]
fn password_lookup_and_python_arithmetic_errors() {
    let dir = project(&[
        (
            "site.yml",
            r#"
- hosts: localhost
  gather_facts: no
  tasks:
    - set_fact:
        p1: "{{ lookup('password', '/dev/null length=12') }}"
        p2: "{{ lookup('password', '/dev/null length=12 chars=digits') }}"
        stored: "{{ lookup('password', 'creds/pw length=8') }}"
    - set_fact:
        again: "{{ lookup('password', 'creds/pw length=8') }}"
    - ping:
        data: "{{ 5 / item }}"
      loop: [0, 1]
      register: div
      ignore_errors: true
    - assert:
        that:
          - p1 != p2 and p1 | length == 12
          - p2 is match('^[0-9]{12}$')
          - stored == again and stored | length == 8
          - div.results[0] is failed
          - "'division by zero' in div.results[0].msg"
          - div.results[0].exception is defined
          - div.results[1].ping == '5.0'
"#,
        ),
        ("hosts", LOCAL_INVENTORY),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    r.assert_recap("localhost", "ok=4 failed=0 ignored=1");
    let stored = std::fs::read_to_string(dir.path().join("creds/pw")).expect("creds/pw");
    assert_eq!(stored.trim_end().len(), 8);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.path().join("creds/pw"))
        .expect("meta")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn debug_var_names_the_undefined_variable_without_the_chain() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  vars:
    outer: "{{ not_defined }}"
  tasks:
    - debug:
        var: outer
      register: out
    - assert:
        that:
          - out.outer == "<< error 1 - 'not_defined' is undefined >>"
"#,
        &[],
    );
    r.assert_code(0);
    r.assert_recap("localhost", "ok=2 failed=0");
}

#[test]
fn templated_module_name_is_resolved_per_host_at_run_time() {
    let dir = project(&[
        (
            "site.yml",
            r#"
- hosts: a,b
  gather_facts: no
  tasks:
    - set_fact:
        mod: "{{ 'debug' if inventory_hostname == 'a' else 'ping' }}"
    - action:
        module: '{{ mod }}'
      register: out
    - assert:
        that:
          - ('msg' in out) == (inventory_hostname == 'a')
          - ('ping' in out) == (inventory_hostname == 'b')
"#,
        ),
        (
            "hosts",
            "a ansible_connection=local\nb ansible_connection=local\n",
        ),
    ]);
    let r = run_in(dir.path(), &["-i", "hosts", "site.yml"]);
    r.assert_code(0);
    r.assert_recap("a", "ok=3 failed=0");
    r.assert_recap("b", "ok=3 failed=0");
}

#[test]
fn boolean_keywords_are_strict_booleans_and_play_user_is_remote_user() {
    let (_d, r) = play(
        r#"
- hosts: localhost
  gather_facts: no
  user: "{{ lookup('env', 'USER') | default('root', true) }}"
  vars:
    flag: "yes"
  tasks:
    - debug:
        msg: fine
      no_log: "{{ flag }}"
      diff: 'true'
    - debug:
        msg: not important
      diff: yes.
      ignore_errors: true
      register: bad
    - assert:
        that:
          - bad is failed
          - bad.msg is contains "The value 'yes.' could not be converted to 'bool'"
"#,
        &[],
    );
    r.assert_code(0);
    r.assert_recap("localhost", "ok=3 failed=0 ignored=1");
    let (_d, r) = play(
        "- hosts: localhost\n  user: a\n  remote_user: b\n  tasks: []\n",
        &[],
    );
    r.assert_code(4);
    r.err_contains("both 'user' and 'remote_user' are set for this play");
}
