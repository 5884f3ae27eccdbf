//! The `k8s` and `k8s_info` modules against a real Kubernetes API server (Debian's 1.20
//! control plane with the node stand-in, see `support/k8s_cluster.rs`). Every assertion that
//! matters reads the object back with kubectl, not only what yiqiu-play printed.

mod common;
#[path = "support/k8s_cluster.rs"]
mod k8s_cluster;

use common::{project, Run};
use k8s_cluster::cluster;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_yiqiu-play");

/// Runs `site.yml` (with `files`) against localhost with the cluster's kubeconfig.
fn run(files: &[(&str, &str)], args: &[&str]) -> Run {
    let d = project(files);
    let out = Command::new(BIN)
        .args(["site.yml"])
        .args(args)
        .current_dir(d.path())
        .env("HOME", d.path())
        .env("KUBECONFIG", cluster().kubeconfig())
        .env("ANSIBLE_NOCOLOR", "1")
        .output()
        .expect("run yiqiu-play");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        dir: d.path().to_path_buf(),
    }
}

fn play(tasks: &str) -> String {
    format!("- hosts: localhost\n  gather_facts: no\n  tasks:\n{tasks}")
}

fn configmap_play(ns: &str) -> String {
    play(&format!(
        r#"    - name: config
      kubernetes.core.k8s:
        state: present
        definition:
          apiVersion: v1
          kind: ConfigMap
          metadata:
            name: settings
            namespace: {ns}
          data:
            level: "{{{{ level }}}}"
"#
    ))
}

fn level(ns: &str) -> String {
    cluster().kubectl(&[
        "get",
        "configmap",
        "settings",
        "-n",
        ns,
        "-o",
        "jsonpath={.data.level}",
    ])
}

#[test]
fn create_then_unchanged_then_check_mode_then_change_with_diff() {
    let ns = cluster().namespace("yq-configmap");
    let p = configmap_play(&ns);
    let r = run(&[("site.yml", &p)], &["-e", "level=1"]);
    r.assert_code(0);
    r.assert_recap("localhost", "ok=1 changed=1");
    assert_eq!(level(&ns), "1");
    let r = run(&[("site.yml", &p)], &["-e", "level=1"]);
    r.assert_code(0);
    r.assert_recap("localhost", "ok=1 changed=0");
    // Check mode: a server-side dry run; the server keeps the old value.
    let r = run(&[("site.yml", &p)], &["-e", "level=2", "--check"]);
    r.assert_code(0);
    r.assert_recap("localhost", "changed=1");
    assert_eq!(level(&ns), "1");
    let r = run(&[("site.yml", &p)], &["-e", "level=2", "--diff"]);
    r.assert_code(0);
    r.assert_recap("localhost", "changed=1");
    assert_eq!(level(&ns), "2");
    r.out_contains("-        \"level\": \"1\"");
    r.out_contains("+        \"level\": \"2\"");
    assert!(!r.stdout.contains("managedFields"), "{}", r.stdout);
}

#[test]
fn deployment_wait_k8s_info_until_and_absent() {
    let ns = cluster().namespace("yq-deploy");
    let p = play(&format!(
        r#"    - name: web
      k8s:
        namespace: {ns}
        wait: yes
        wait_timeout: 90
        definition:
          apiVersion: apps/v1
          kind: Deployment
          metadata: {{name: web, labels: {{app: web}}}}
          spec:
            replicas: 2
            selector: {{matchLabels: {{app: web}}}}
            template:
              metadata: {{labels: {{app: web}}}}
              spec:
                containers:
                  - name: web
                    image: nginx:1.25
                    readinessProbe: {{httpGet: {{path: /, port: 80}}}}
      register: web
    - assert:
        that:
          - web.method == 'create'
          - web.result.status.availableReplicas == 2
          - web.result.status.updatedReplicas == 2
    - name: pods
      k8s_info:
        kind: Pod
        namespace: {ns}
        label_selectors: ["app=web"]
      register: pods
      until: pods.resources | selectattr('status.phase', 'equalto', 'Running') | list | length == 2
      retries: 30
      delay: 1
    - assert:
        that: pods.api_found and pods.resources | length == 2
    - name: gone
      k8s:
        state: absent
        api_version: apps/v1
        kind: Deployment
        name: web
        namespace: {ns}
        wait: yes
        delete_options: {{propagationPolicy: Foreground}}
"#
    ));
    let r = run(&[("site.yml", &p)], &[]);
    r.assert_code(0);
    r.assert_recap("localhost", "failed=0");
    let left = cluster().kubectl_raw(&["get", "deployment", "web", "-n", &ns]);
    assert!(!left.status.success(), "the Deployment still exists");
}

#[test]
fn job_complete_and_job_failed() {
    let ns = cluster().namespace("yq-job");
    let job = |name: &str, fail: bool| {
        format!(
            r#"    - name: {name}
      k8s:
        namespace: {ns}
        wait: yes
        wait_timeout: 60
        wait_condition: {{type: Complete, status: "True"}}
        definition:
          apiVersion: batch/v1
          kind: Job
          metadata: {{name: {name}}}
          spec:
            backoffLimit: 0
            template:
              metadata: {{labels: {{yiqiu.test/fail: "{fail}"}}}}
              spec:
                restartPolicy: Never
                containers: [{{name: main, image: busybox, command: ["true"]}}]
"#
        )
    };
    let r = run(&[("site.yml", &play(&job("works", false)))], &[]);
    r.assert_code(0);
    let done = cluster().kubectl(&[
        "get",
        "job",
        "works",
        "-n",
        &ns,
        "-o",
        "jsonpath={.status.conditions[?(@.type=='Complete')].status}",
    ]);
    assert_eq!(done, "True");
    let r = run(&[("site.yml", &play(&job("breaks", true)))], &[]);
    r.assert_code(2);
    r.out_contains("job/breaks failed");
}

#[test]
fn server_side_apply_conflict_names_the_other_manager() {
    let ns = cluster().namespace("yq-ssa");
    let theirs = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: shared, namespace: {ns}}}\ndata: {{owner: them}}\n"
    );
    let d = project(&[("theirs.yml", &theirs)]);
    cluster().kubectl(&[
        "apply",
        "--server-side",
        "--field-manager=other-tool",
        "-f",
        &d.path().join("theirs.yml").display().to_string(),
    ]);
    let ours = |force: bool| {
        play(&format!(
            r#"    - k8s:
        server_side_apply: {{field_manager: ansible, force_conflicts: {force}}}
        definition:
          apiVersion: v1
          kind: ConfigMap
          metadata: {{name: shared, namespace: {ns}}}
          data: {{owner: us}}
"#
        ))
    };
    let r = run(&[("site.yml", &ours(false))], &[]);
    r.assert_code(2);
    r.out_contains("conflict");
    r.out_contains("other-tool");
    let owner = |ns: &str| {
        cluster().kubectl(&[
            "get",
            "configmap",
            "shared",
            "-n",
            ns,
            "-o",
            "jsonpath={.data.owner}",
        ])
    };
    assert_eq!(owner(&ns), "them");
    let r = run(&[("site.yml", &ours(true))], &[]);
    r.assert_code(0);
    assert_eq!(owner(&ns), "us");
}

#[test]
fn bad_input_fails_clearly() {
    let _ = cluster();
    let unknown = play(
        "    - k8s:\n        definition: {apiVersion: v1, kind: Gizmo, metadata: {name: g, namespace: default}}\n",
    );
    let r = run(&[("site.yml", &unknown)], &[]);
    r.assert_code(2);
    r.out_contains("Failed to find exact match for v1.Gizmo");
    let no_ns = play(
        "    - k8s:\n        definition: {apiVersion: v1, kind: ConfigMap, metadata: {name: c, namespace: no-such-ns}}\n",
    );
    let r = run(&[("site.yml", &no_ns)], &[]);
    r.assert_code(2);
    r.out_contains("Failed to create object configmap/c");
    r.out_contains("namespaces \\\"no-such-ns\\\" not found");
    let down = play(
        "    - k8s_info:\n        kind: Pod\n        host: https://127.0.0.1:1\n        api_key: x\n        validate_certs: no\n",
    );
    let r = run(&[("site.yml", &down)], &[]);
    r.assert_code(2);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    r.out_contains("fatal: [localhost]: FAILED!");
    let typo = play("    - k8s:\n        definitoin: {}\n");
    let r = run(&[("site.yml", &typo)], &[]);
    r.assert_code(2);
    r.out_contains("definitoin");
}
