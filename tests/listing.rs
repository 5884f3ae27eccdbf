//! --list-tasks, --list-tags, --list-hosts and --syntax-check, compared with ansible-playbook's
//! output for the same playbook (captured files under tests/golden/listing/).

mod common;
use common::*;

fn golden(name: &str) -> String {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/listing")
        .join(name);
    std::fs::read_to_string(p).expect("golden file")
}

fn listing_project() -> tempfile::TempDir {
    project(&[
        ("p.yml", &golden("site.yml")),
        ("roles/r1/tasks/main.yml", &golden("r1_tasks.yml")),
    ])
}

#[test]
fn list_tasks_matches_ansible() {
    let d = listing_project();
    let r = run_in(d.path(), &["--list-tasks", "p.yml", "-i", "localhost,h2,"]);
    r.assert_code(0);
    assert_eq!(r.stdout, golden("lt.out"));
}

#[test]
fn list_tasks_with_tags_matches_ansible() {
    let d = listing_project();
    let r = run_in(d.path(), &["--list-tasks", "--tags", "debug", "p.yml"]);
    r.assert_code(0);
    assert_eq!(r.stdout, golden("lt_debug.out"));
}

#[test]
fn list_tags_matches_ansible() {
    let d = listing_project();
    let r = run_in(d.path(), &["--list-tags", "p.yml"]);
    r.assert_code(0);
    assert_eq!(r.stdout, golden("ltags.out"));
}

#[test]
fn list_hosts_and_syntax_check() {
    let d = listing_project();
    let r = run_in(d.path(), &["--list-hosts", "p.yml", "-i", "localhost,h2,"]);
    r.assert_code(0);
    r.out_contains("  play #2 (all): all\tTAGS: []\n    pattern: ['all']\n    hosts (2):\n");
    let r = run_in(d.path(), &["--syntax-check", "p.yml"]);
    r.assert_code(0);
    assert_eq!(r.stdout, "\nplaybook: p.yml\n");
}

#[test]
fn limit_narrows_hosts_and_empty_limit_is_an_error() {
    let d = project(&[
        ("hosts", "[web]\nweb[1:3]\n[db]\ndb1\n"),
        ("p.yml", "- hosts: all\n  tasks: []\n"),
    ]);
    let r = run_in(
        d.path(),
        &["-i", "hosts", "--list-hosts", "-l", "web[0:1]:db", "p.yml"],
    );
    r.assert_code(0);
    r.out_contains("hosts (3):\n      web1\n      web2\n      db1\n");
    let r = run_in(d.path(), &["-i", "hosts", "-l", "nosuch", "p.yml"]);
    assert_ne!(r.code, 0);
    r.err_contains("no hosts to target");
}

/// `never` tasks' tags are listed unless --tags / --skip-tags narrow the run (ansible-core
/// 2.19 on the bundled project: `never` shows by default, not with `--skip-tags debug`).
#[test]
fn list_tags_includes_never_tasks_unless_filtered() {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let r = run_in(repo, &["--list-tags", "site.yaml"]);
    r.assert_code(0);
    assert_eq!(
        r.stdout,
        "\nplaybook: site.yaml\n\n  play #1 (all): all\tTAGS: [initialize]\n      TASK TAGS: [debug, initialize, never]\n\n  play #2 (all): all\tTAGS: [initialize]\n      TASK TAGS: [debug, initialize]\n"
    );
    let r = run_in(repo, &["--list-tags", "--skip-tags", "debug", "site.yaml"]);
    r.assert_code(0);
    r.out_contains("  play #1 (all): all\tTAGS: [initialize]\n      TASK TAGS: [initialize]\n");
}
