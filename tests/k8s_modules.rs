//! The `k8s` and `k8s_info` modules against a real Kubernetes API server (Debian's 1.20
//! control plane with the node stand-in, see `support/k8s_cluster.rs`). Every assertion that
//! matters reads the object back with kubectl, not only what yiqiu-play printed.

mod common;
#[path = "support/k8s_cluster.rs"]
mod k8s_cluster;

use common::{project, Run};
use k8s_cluster::cluster;
use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_yiqiu-play");

/// Runs `site.yml` (with `files`) against localhost with the cluster's kubeconfig.
fn run(files: &[(&str, &str)], args: &[&str]) -> Run {
    let d = project(files);
    run_in(d.path(), args, Path::new(cluster().kubeconfig()))
}

/// Runs `site.yml` in `dir` with `args`, `KUBECONFIG` set to `kubeconfig`.
fn run_in(dir: &Path, args: &[&str], kubeconfig: &Path) -> Run {
    let out = Command::new(BIN)
        .args(["site.yml"])
        .args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .env("KUBECONFIG", kubeconfig)
        .env("ANSIBLE_NOCOLOR", "1")
        .output()
        .expect("run yiqiu-play");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        dir: dir.to_path_buf(),
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

fn deployment(ns: &str, name: &str, image: &str, replicas: u32) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: {ns}, labels: {{app: {name}}}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers: [{{name: main, image: "{image}"}}]
"#
    )
}

fn jsonpath(kind: &str, name: &str, ns: &str, path: &str) -> String {
    cluster().kubectl(&[
        "get",
        kind,
        name,
        "-n",
        ns,
        "-o",
        &format!("jsonpath={path}"),
    ])
}

#[test]
fn scale_up_down_with_preconditions_statefulset_and_job() {
    let ns = cluster().namespace("yq-scale");
    let web = deployment(&ns, "web", "nginx:1.25", 2);
    let sts = format!(
        r#"apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: db, namespace: {ns}}}
spec:
  replicas: 1
  serviceName: db
  selector: {{matchLabels: {{app: db}}}}
  template:
    metadata: {{labels: {{app: db}}}}
    spec:
      containers: [{{name: main, image: mysql}}]
"#
    );
    let p = play(&format!(
        r#"    - k8s: {{src: web.yml, wait: yes}}
    - k8s: {{src: sts.yml, wait: yes}}
    - name: up
      k8s_scale: {{kind: Deployment, api_version: apps/v1, name: web, namespace: {ns}, replicas: 4, wait_timeout: 60}}
      register: up
    - assert:
        that: [up.changed, up.result.status.readyReplicas == 4]
    - name: not when the count differs
      k8s_scale: {{kind: Deployment, api_version: apps/v1, name: web, namespace: {ns}, replicas: 9, current_replicas: 2}}
      register: skipped
    - assert:
        that: [not skipped.changed]
    - name: down
      k8s_scale: {{kind: Deployment, api_version: apps/v1, name: web, namespace: {ns}, replicas: 1, current_replicas: 4}}
    - name: again
      k8s_scale: {{kind: Deployment, api_version: apps/v1, name: web, namespace: {ns}, replicas: 1}}
      register: again
    - assert:
        that: [not again.changed]
    - name: statefulset
      k8s_scale: {{kind: StatefulSet, api_version: apps/v1, name: db, namespace: {ns}, replicas: 3, wait_timeout: 60}}
"#
    ));
    let r = run(
        &[("site.yml", &p), ("web.yml", &web), ("sts.yml", &sts)],
        &[],
    );
    r.assert_code(0);
    r.assert_recap("localhost", "ok=10 changed=5");
    assert_eq!(jsonpath("deployment", "web", &ns, "{.spec.replicas}"), "1");
    assert_eq!(
        jsonpath("deployment", "web", &ns, "{.status.replicas}"),
        "1"
    );
    assert_eq!(
        jsonpath("statefulset", "db", &ns, "{.status.readyReplicas}"),
        "3"
    );
    let job = play(&format!(
        r#"    - k8s:
        definition:
          apiVersion: batch/v1
          kind: Job
          metadata: {{name: batch, namespace: {ns}}}
          spec:
            parallelism: 1
            completions: 4
            template:
              metadata: {{labels: {{yiqiu.test/stay-running: "true"}}}}
              spec:
                restartPolicy: Never
                containers: [{{name: main, image: busybox}}]
    - k8s_scale: {{kind: Job, api_version: batch/v1, name: batch, namespace: {ns}, replicas: 2, wait: no}}
"#
    ));
    let r = run(&[("site.yml", &job)], &[]);
    r.assert_code(0);
    assert_eq!(jsonpath("job", "batch", &ns, "{.spec.parallelism}"), "2");
}

#[test]
fn rollback_restart_undo_and_status() {
    let ns = cluster().namespace("yq-rollout");
    let v1 = deployment(&ns, "api", "registry.local/api:1", 2);
    let v2 = v1.replace("api:1", "api:2");
    let image = || {
        jsonpath(
            "deployment",
            "api",
            &ns,
            "{.spec.template.spec.containers[0].image}",
        )
    };
    let r = run(
        &[
            ("site.yml", &play("    - k8s: {src: d.yml, wait: yes}\n")),
            ("d.yml", &v1),
        ],
        &[],
    );
    r.assert_code(0);
    let r = run(
        &[
            ("site.yml", &play("    - k8s: {src: d.yml, wait: yes}\n")),
            ("d.yml", &v2),
        ],
        &[],
    );
    r.assert_code(0);
    assert_eq!(image(), "registry.local/api:2");
    let back = play(&format!(
        r#"    - k8s_rollback: {{kind: Deployment, api_version: apps/v1, name: api, namespace: {ns}}}
      register: rb
    - assert:
        that: [rb.changed, rb.rollback_info | length == 1]
    - k8s_rollout: {{action: status, kind: Deployment, name: api, namespace: {ns}, wait_timeout: 60}}
      register: st
    - assert:
        that: [not st.changed, "st.message == 'deployment \"api\" successfully rolled out'"]
"#
    ));
    let r = run(&[("site.yml", &back)], &[]);
    r.assert_code(0);
    assert_eq!(image(), "registry.local/api:1");
    let restart = play(&format!(
        r#"    - k8s_rollout: {{action: restart, kind: Deployment, name: api, namespace: {ns}, wait: yes, wait_timeout: 60}}
      register: rs
    - assert:
        that: ["rs.message == 'deployment.apps/api restarted'", rs.result.status.updatedReplicas == 2]
    - k8s_rollout: {{action: undo, kind: Deployment, name: api, namespace: {ns}, wait: yes, wait_timeout: 60}}
"#
    ));
    let r = run(&[("site.yml", &restart)], &[]);
    r.assert_code(0);
    r.assert_recap("localhost", "changed=2");
    // The undo went back to the template before the restart: no restartedAt annotation.
    let restarted = jsonpath(
        "deployment",
        "api",
        &ns,
        "{.spec.template.metadata.annotations}",
    );
    assert!(!restarted.contains("restartedAt"), "{restarted}");
    let revision = jsonpath(
        "deployment",
        "api",
        &ns,
        "{.metadata.annotations.deployment\\.kubernetes\\.io/revision}",
    );
    assert_eq!(
        revision, "5",
        "rollback, restart and undo each made a revision"
    );
    let nothing = play(&format!(
        "    - k8s_rollout: {{action: undo, kind: Deployment, name: nope, namespace: {ns}}}\n"
    ));
    let r = run(&[("site.yml", &nothing)], &[]);
    r.assert_code(2);
    r.out_contains("deployment/nope not found");
}

#[test]
fn json_patch_adds_a_label_refuses_a_failed_test_and_check_mode_keeps_it() {
    let ns = cluster().namespace("yq-jsonpatch");
    cluster().kubectl(&["create", "configmap", "cm", "-n", &ns, "--from-literal=a=1"]);
    let patch = |ops: &str| {
        play(&format!(
            "    - k8s_json_patch:\n        kind: ConfigMap\n        name: cm\n        namespace: {ns}\n        patch: {ops}\n"
        ))
    };
    let add = patch(r#"[{op: add, path: /metadata/labels, value: {tier: web}}]"#);
    let r = run(&[("site.yml", &add)], &["--check"]);
    r.assert_code(0);
    r.assert_recap("localhost", "changed=1");
    assert_eq!(
        jsonpath("configmap", "cm", &ns, "{.metadata.labels.tier}"),
        ""
    );
    let r = run(&[("site.yml", &add)], &[]);
    r.assert_code(0);
    assert_eq!(
        jsonpath("configmap", "cm", &ns, "{.metadata.labels.tier}"),
        "web"
    );
    let test = patch(
        r#"[{op: test, path: /data/a, value: "2"}, {op: replace, path: /data/a, value: "3"}]"#,
    );
    let r = run(&[("site.yml", &test)], &[]);
    r.assert_code(2);
    r.out_contains("configmap/cm");
    assert_eq!(jsonpath("configmap", "cm", &ns, "{.data.a}"), "1");
}

#[test]
fn drain_refuses_unmanaged_pods_then_evicts_with_force_and_uncordons() {
    let ns = cluster().namespace("yq-drain");
    let node = format!("yq-drain-{}", std::process::id());
    let d = project(&[
        ("node.yml", &format!("apiVersion: v1\nkind: Node\nmetadata: {{name: {node}}}\n")),
        (
            "pod.yml",
            &format!(
                "apiVersion: v1\nkind: Pod\nmetadata: {{name: lone, namespace: {ns}}}\nspec:\n  nodeName: {node}\n  containers: [{{name: main, image: busybox}}]\n"
            ),
        ),
    ]);
    let _ = cluster().kubectl_raw(&["delete", "node", &node]);
    for f in ["node.yml", "pod.yml"] {
        cluster().kubectl(&["create", "-f", &d.path().join(f).display().to_string()]);
    }
    let drain = |opts: &str| {
        play(&format!(
            "    - k8s_drain:\n        name: {node}\n        delete_options: {opts}\n      register: out\n    - debug: var=out.result\n"
        ))
    };
    let r = run(&[("site.yml", &drain("{terminate_grace_period: 0}"))], &[]);
    r.assert_code(2);
    r.out_contains(&format!("Pod deletion errors: cannot delete Pods not managed by ReplicationController, ReplicaSet, Job, DaemonSet or StatefulSet (use option force set to yes): {ns}/lone."));
    assert_eq!(jsonpath("pod", "lone", &ns, "{.metadata.name}"), "lone");
    // A refused drain leaves the node as it found it.
    let unschedulable =
        || cluster().kubectl(&["get", "node", &node, "-o", "jsonpath={.spec.unschedulable}"]);
    assert_eq!(unschedulable(), "");
    let r = run(
        &[(
            "site.yml",
            &drain("{terminate_grace_period: 0, force: yes, wait_timeout: 30, wait_sleep: 1}"),
        )],
        &[],
    );
    r.assert_code(0);
    r.out_contains(&format!(
        "node {node} marked unschedulable. 1 Pod(s) deleted from node."
    ));
    assert!(!cluster()
        .kubectl_raw(&["get", "pod", "lone", "-n", &ns])
        .status
        .success());
    assert_eq!(unschedulable(), "true");
    let un = play(&format!(
        "    - k8s_drain: {{name: {node}, state: uncordon}}\n"
    ));
    let r = run(&[("site.yml", &un)], &[]);
    r.assert_code(0);
    r.assert_recap("localhost", "changed=1");
    assert_eq!(unschedulable(), "");
    cluster().kubectl(&["delete", "node", &node]);
}

#[test]
fn absent_by_label_selector_and_unsupported_modules() {
    let ns = cluster().namespace("yq-selector");
    for (name, tier) in [("a", "web"), ("b", "web"), ("c", "db")] {
        cluster().kubectl(&["create", "configmap", name, "-n", &ns]);
        cluster().kubectl(&[
            "label",
            "configmap",
            name,
            "-n",
            &ns,
            &format!("tier={tier}"),
        ]);
    }
    let p = play(&format!(
        r#"    - k8s: {{state: absent, kind: ConfigMap, namespace: {ns}, label_selectors: [tier=web]}}
      register: gone
    - assert:
        that: [gone.changed, gone.result.results | length == 2]
    - k8s_exec: {{namespace: {ns}, pod: x, command: date}}
"#
    ));
    let r = run(&[("site.yml", &p)], &[]);
    r.assert_code(2);
    r.out_contains("k8s_exec (kubernetes.core.k8s_exec) is not supported yet");
    let left = cluster().kubectl(&["get", "configmap", "-n", &ns, "-l", "tier", "-o", "name"]);
    assert_eq!(left.trim(), "configmap/c");
}

#[test]
fn cluster_info_reports_the_servers_version_and_apis() {
    let p = play(
        r#"    - kubernetes.core.k8s_cluster_info:
      register: info
    - debug:
        msg: "{{ info.version.server.kubernetes.gitVersion }}|{{ info.apis['apps/v1'].Deployment.namespaced }}|{{ info.apis['v1'].Namespace.namespaced }}|{{ info.apis['v1'].Pod.short_names }}|{{ info.apis['apps/v1'].Deployment.preferred }}"
"#,
    );
    let r = run(&[("site.yml", &p)], &[]);
    r.assert_code(0);
    let version = cluster().kubectl(&["version", "-o", "json"]);
    let version: serde_json::Value = serde_json::from_str(&version).expect("kubectl version json");
    let server = version["serverVersion"]["gitVersion"]
        .as_str()
        .expect("gitVersion");
    r.out_contains(&format!("\"msg\": \"{server}|True|False|['po']|True\""));
}

#[test]
fn check_mode_reports_objects_in_a_namespace_the_run_would_create() {
    let ns = format!("yq-pending-{}", std::process::id());
    let p = play(&format!(
        r#"    - name: namespace
      kubernetes.core.k8s:
        definition: {{apiVersion: v1, kind: Namespace, metadata: {{name: {ns}}}}}
    - name: config in it
      kubernetes.core.k8s:
        definition:
          apiVersion: v1
          kind: ConfigMap
          metadata: {{name: settings, namespace: {ns}}}
          data: {{level: "1"}}
      register: cm
    - debug:
        msg: "{{{{ cm.method }}}} {{{{ cm.result.metadata.namespace }}}}"
    - name: config in a namespace nobody creates
      kubernetes.core.k8s:
        definition:
          apiVersion: v1
          kind: ConfigMap
          metadata: {{name: settings, namespace: {ns}-nowhere}}
"#
    ));
    let r = run(&[("site.yml", &p)], &["--check", "--diff"]);
    // The third object's namespace is not on its way: the server's refusal stands.
    r.assert_code(2);
    r.assert_recap("localhost", "changed=2 failed=1");
    r.out_contains(&format!("\"msg\": \"create {ns}\""));
    r.out_contains(&format!("{ns}-nowhere"));
    r.out_contains("+    \"data\": {");
    let gone = cluster().kubectl_raw(&["get", "namespace", &ns]);
    assert!(!gone.status.success(), "check mode created the namespace");
}

/// A task of several workloads sends every request first, then waits for all of them at once
/// (as `kubectl apply -f` then `kubectl wait` does), where kubernetes.core waits for each in
/// turn. Proven from the API's own timestamps: the second Job exists before the first one
/// (whose stand-in pod runs 3 s) completes.
#[test]
fn waits_of_several_objects_run_together_after_every_request() {
    let ns = cluster().namespace("yq-overlap");
    let job = |name: &str, seconds: u32| {
        format!(
            r#"          - apiVersion: batch/v1
            kind: Job
            metadata: {{name: {name}, namespace: {ns}}}
            spec:
              backoffLimit: 0
              template:
                metadata: {{annotations: {{yiqiu.test/run-seconds: "{seconds}"}}}}
                spec:
                  restartPolicy: Never
                  containers: [{{name: main, image: busybox, command: ["true"]}}]
"#
        )
    };
    let tasks = format!(
        r#"    - name: two jobs
      k8s:
        wait: yes
        wait_timeout: 60
        wait_condition: {{type: Complete, status: "True"}}
        definition:
{}{}      register: jobs
    - debug:
        msg: "{{{{ jobs.result.results | map(attribute='result.status.succeeded') | list }}}}"
"#,
        job("slow", 3),
        job("quick", 0)
    );
    let r = run(&[("site.yml", &play(&tasks))], &[]);
    r.assert_code(0);
    r.out_contains("\"msg\": [\n        1,\n        1\n    ]");
    let slow_done = jsonpath("job", "slow", &ns, "{.status.completionTime}");
    let quick_created = jsonpath("job", "quick", &ns, "{.metadata.creationTimestamp}");
    assert!(!slow_done.is_empty() && !quick_created.is_empty());
    // RFC 3339 UTC timestamps of one format compare as strings.
    assert!(
        quick_created < slow_done,
        "quick created {quick_created}, slow completed {slow_done}: the waits ran in turn"
    );
}

/// A task's `kubeconfig` path is found where kubernetes.core's action plugin looks (the
/// playbook's `files/`) and opened when vault-encrypted; the environment names no cluster.
#[test]
fn kubeconfig_in_files_and_vault_encrypted() {
    let ns = cluster().namespace("yq-kcvault");
    let admin = std::fs::read(cluster().kubeconfig()).unwrap();
    let secret = yiqiu_play::vault::Secret::new("default", b"pw".to_vec(), "test");
    let vaulted = yiqiu_play::vault::encrypt(&admin, &secret, None).unwrap();
    let play = play(&format!(
        r#"    - k8s:
        kubeconfig: admin.vault
        definition:
          apiVersion: v1
          kind: ConfigMap
          metadata: {{name: from-vault, namespace: {ns}}}
          data: {{level: vaulted}}
"#
    ));
    let d = project(&[
        ("site.yml", &play),
        ("files/admin.vault", &vaulted),
        ("pw.txt", "pw\n"),
    ]);
    let no_kubeconfig = d.path().join("no-such-kubeconfig");
    let run = |extra: &[&str]| run_in(d.path(), extra, &no_kubeconfig);
    // Without the vault password the file cannot be opened.
    let r = run(&[]);
    r.assert_code(2);
    let r = run(&["--vault-password-file", "pw.txt"]);
    r.assert_code(0);
    r.assert_recap("localhost", "ok=1 changed=1");
    let level = cluster().kubectl(&[
        "get",
        "configmap",
        "from-vault",
        "-n",
        &ns,
        "-o",
        "jsonpath={.data.level}",
    ]);
    assert_eq!(level, "vaulted");
    assert!(!r.stdout.contains("token"), "no credential in the output");
}

/// `state: absent` with each propagation policy, checked on what the controllers left:
/// Orphan keeps the ReplicaSet (without its owner), Background removes the Deployment at once
/// (the garbage collector takes the rest), Foreground ends the wait only when the pods are gone.
#[test]
fn absent_with_each_propagation_policy() {
    let ns = cluster().namespace("yq-propagation");
    let mut files = Vec::new();
    let mut tasks = String::new();
    for name in ["orph", "bg", "fg"] {
        files.push((
            format!("files/{name}.yml"),
            deployment(&ns, name, "nginx:1.25", 2),
        ));
        tasks.push_str(&format!(
            "    - k8s: {{src: {name}.yml, wait: yes, wait_timeout: 60}}\n"
        ));
    }
    for (name, policy) in [
        ("orph", "Orphan"),
        ("bg", "Background"),
        ("fg", "Foreground"),
    ] {
        tasks.push_str(&format!(
            "    - k8s:\n        state: absent\n        src: {name}.yml\n        wait: yes\n        wait_timeout: 60\n        delete_options: {{propagationPolicy: {policy}}}\n"
        ));
    }
    let p = play(&tasks);
    let mut all: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_str()))
        .collect();
    all.push(("site.yml", &p));
    let r = run(&all, &[]);
    r.assert_code(0);
    r.assert_recap("localhost", "ok=6 changed=6 failed=0");
    for name in ["orph", "bg", "fg"] {
        let left = cluster().kubectl_raw(&["get", "deployment", name, "-n", &ns]);
        assert!(!left.status.success(), "deployment {name} still exists");
    }
    let kept = cluster().kubectl(&[
        "get",
        "replicasets",
        "-n",
        &ns,
        "-l",
        "app=orph",
        "-o",
        "jsonpath={range .items[*]}{.metadata.name}:{.metadata.ownerReferences}{\"\\n\"}{end}",
    ]);
    let kept: Vec<&str> = kept.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(kept.len(), 1, "Orphan keeps the ReplicaSet: {kept:?}");
    assert!(
        kept[0].ends_with(':'),
        "orphaned without an owner: {kept:?}"
    );
    let fg_pods = cluster().kubectl(&["get", "pods", "-n", &ns, "-l", "app=fg", "-o", "name"]);
    assert_eq!(fg_pods, "", "Foreground: no pod is left when the wait ends");
}

/// A manifest the API server refuses and credentials it refuses: the task fails with the
/// server's own words and the object's name, exit code 2 as Ansible's.
#[test]
fn invalid_manifest_and_wrong_credentials_fail_with_the_servers_message() {
    let ns = cluster().namespace("yq-refused");
    let invalid = play(&format!(
        "    - k8s:\n        definition:\n          apiVersion: apps/v1\n          kind: Deployment\n          metadata: {{name: bad, namespace: {ns}}}\n          spec:\n            template:\n              metadata: {{labels: {{app: bad}}}}\n              spec: {{containers: [{{name: main, image: busybox}}]}}\n"
    ));
    let r = run(&[("site.yml", &invalid)], &[]);
    r.assert_code(2);
    r.out_contains("Failed to create object deployment/bad");
    r.out_contains("spec.selector: Required value");
    let missing = cluster().kubectl_raw(&["get", "deployment", "bad", "-n", &ns]);
    assert!(!missing.status.success(), "nothing was created");
    let server = cluster().env["YIQIU_K8S_SERVER"].clone();
    let wrong = play(&format!(
        "    - k8s_info:\n        kind: ConfigMap\n        namespace: {ns}\n        host: {server}\n        api_key: not-a-valid-token\n        validate_certs: no\n"
    ));
    let r = run(&[("site.yml", &wrong)], &[]);
    r.assert_code(2);
    r.out_contains("Unauthorized");
    assert!(
        !r.stdout.contains("not-a-valid-token"),
        "the token is not shown"
    );
}

fn data_of(ns: &str, name: &str) -> String {
    jsonpath("configmap", name, ns, "{.data}")
}

/// `apply` (kubectl's client-side apply: a field dropped from the definition is removed),
/// `force` (replace: what the definition lacks is gone), `merge_type: merge`, and
/// `generate_name` (a new object each time), each read back from the server.
#[test]
fn apply_force_merge_type_and_generate_name() {
    let ns = cluster().namespace("yq-apply");
    let cm = |extra: &str, data: &str| {
        play(&format!(
            "    - k8s:\n{extra}        definition:\n          apiVersion: v1\n          kind: ConfigMap\n          metadata: {{name: app, namespace: {ns}}}\n          data: {data}\n"
        ))
    };
    let apply = "        apply: yes\n";
    let r = run(&[("site.yml", &cm(apply, "{a: '1', b: '2'}"))], &[]);
    r.assert_code(0);
    r.assert_recap("localhost", "changed=1");
    let last = jsonpath(
        "configmap",
        "app",
        &ns,
        "{.metadata.annotations.kubectl\\.kubernetes\\.io/last-applied-configuration}",
    );
    assert!(last.contains("\"b\":\"2\""), "last-applied: {last}");
    let r = run(&[("site.yml", &cm(apply, "{a: '1', b: '2'}"))], &[]);
    r.assert_recap("localhost", "changed=0");
    let r = run(&[("site.yml", &cm(apply, "{a: '1'}"))], &[]);
    r.assert_recap("localhost", "changed=1");
    assert_eq!(data_of(&ns, "app"), r#"{"a":"1"}"#, "b dropped by apply");
    // A label set behind our back; force replaces the object with the definition.
    cluster().kubectl(&["label", "configmap", "app", "-n", &ns, "extra=yes"]);
    let r = run(
        &[("site.yml", &cm("        force: yes\n", "{a: '3'}"))],
        &[],
    );
    r.assert_code(0);
    r.assert_recap("localhost", "changed=1");
    assert_eq!(jsonpath("configmap", "app", &ns, "{.metadata.labels}"), "");
    assert_eq!(data_of(&ns, "app"), r#"{"a":"3"}"#);
    // A JSON merge patch keeps what it does not name.
    let r = run(
        &[("site.yml", &cm("        merge_type: merge\n", "{c: '4'}"))],
        &[],
    );
    r.assert_code(0);
    assert_eq!(data_of(&ns, "app"), r#"{"a":"3","c":"4"}"#);
    let generated = play(&format!(
        "    - k8s:\n        generate_name: gen-\n        definition:\n          apiVersion: v1\n          kind: ConfigMap\n          metadata: {{namespace: {ns}}}\n          data: {{x: '1'}}\n"
    ));
    for _ in 0..2 {
        let r = run(&[("site.yml", &generated)], &[]);
        r.assert_code(0);
        r.assert_recap("localhost", "changed=1");
    }
    let names = cluster().kubectl(&["get", "configmaps", "-n", &ns, "-o", "name"]);
    let gen: Vec<&str> = names
        .lines()
        .filter(|l| l.starts_with("configmap/gen-"))
        .collect();
    assert_eq!(gen.len(), 2, "{names}");
}

/// `continue_on_error`: a refused object in the middle does not stop the others, and its
/// error is in `result.results`; `k8s_info` with `field_selectors`.
#[test]
fn continue_on_error_and_field_selectors() {
    let ns = cluster().namespace("yq-continue");
    let item = |name: &str, namespace: &str| {
        format!(
            "          - {{apiVersion: v1, kind: ConfigMap, metadata: {{name: {name}, namespace: {namespace}}}}}\n"
        )
    };
    let p = play(&format!(
        "    - k8s:\n        continue_on_error: yes\n        definition:\n{}{}{}      register: out\n    - k8s_info:\n        kind: ConfigMap\n        namespace: {ns}\n        field_selectors: [metadata.name=second]\n      register: found\n    - assert:\n        that:\n          - out.result.results | length == 3\n          - \"'not found' in out.result.results[1].error.msg\"\n          - found.resources | map(attribute='metadata.name') | list == ['second']\n",
        item("first", &ns),
        item("lost", "no-such-namespace"),
        item("second", &ns)
    ));
    let r = run(&[("site.yml", &p)], &[]);
    r.assert_code(0);
    r.assert_recap("localhost", "ok=3 changed=1 failed=0");
    assert!(!jsonpath("configmap", "first", &ns, "{.metadata.uid}").is_empty());
    assert!(!jsonpath("configmap", "second", &ns, "{.metadata.uid}").is_empty());
}

/// A rollout that cannot progress (its pod never gets Ready on the node stand-in) ends the wait as soon
/// as the Deployment controller sets ProgressDeadlineExceeded, with the condition's message.
#[test]
fn progress_deadline_exceeded_fails_the_wait() {
    let ns = cluster().namespace("yq-deadline");
    let p = play(&format!(
        r#"    - k8s:
        namespace: {ns}
        wait: yes
        wait_timeout: 120
        definition:
          apiVersion: apps/v1
          kind: Deployment
          metadata: {{name: stuck}}
          spec:
            replicas: 1
            progressDeadlineSeconds: 3
            selector: {{matchLabels: {{app: stuck}}}}
            template:
              metadata: {{labels: {{app: stuck, yiqiu.test/unready: "true"}}}}
              spec:
                containers: [{{name: main, image: busybox}}]
"#
    ));
    let r = run(&[("site.yml", &p)], &[]);
    r.assert_code(2);
    r.out_contains("deployment/stuck exceeded its progress deadline");
    r.out_contains("has timed out progressing");
    let reason = jsonpath(
        "deployment",
        "stuck",
        &ns,
        "{.status.conditions[?(@.type=='Progressing')].reason}",
    );
    assert_eq!(reason, "ProgressDeadlineExceeded");
}

/// StatefulSet waits on a real controller: with a RollingUpdate partition the wait ends when
/// the pods at or above the partition run the new template (the others keep the old one);
/// with OnDelete it ends at once, nothing replaced (kubectl's rules).
#[test]
fn statefulset_partition_and_on_delete_waits() {
    let ns = cluster().namespace("yq-sts");
    let sts = |name: &str, image: &str, strategy: &str| {
        play(&format!(
            r#"    - k8s:
        namespace: {ns}
        wait: yes
        wait_timeout: 120
        definition:
          apiVersion: apps/v1
          kind: StatefulSet
          metadata: {{name: {name}}}
          spec:
            serviceName: {name}
            replicas: 3
            updateStrategy: {strategy}
            selector: {{matchLabels: {{app: {name}}}}}
            template:
              metadata: {{labels: {{app: {name}}}}}
              spec:
                containers: [{{name: main, image: "{image}"}}]
"#
        ))
    };
    let image_of = |pod: &str| jsonpath("pod", pod, &ns, "{.spec.containers[0].image}");
    let partitioned = "{type: RollingUpdate, rollingUpdate: {partition: 2}}";
    for image in ["busybox:1.35", "busybox:1.36"] {
        let r = run(&[("site.yml", &sts("part", image, partitioned))], &[]);
        r.assert_code(0);
        r.assert_recap("localhost", "changed=1");
    }
    assert_eq!(
        image_of("part-2"),
        "busybox:1.36",
        "above the partition: updated"
    );
    assert_eq!(image_of("part-0"), "busybox:1.35");
    assert_eq!(image_of("part-1"), "busybox:1.35");
    let on_delete = "{type: OnDelete}";
    for image in ["busybox:1.35", "busybox:1.36"] {
        let r = run(&[("site.yml", &sts("od", image, on_delete))], &[]);
        r.assert_code(0);
    }
    for pod in ["od-0", "od-1", "od-2"] {
        assert_eq!(image_of(pod), "busybox:1.35", "OnDelete replaces nothing");
    }
}

/// Result keys as kubernetes.core returns them (checked side by side with ansible-playbook +
/// kubernetes.core 6.2.0): `duration` only after a wait, `method: apply` for apply even when it
/// creates, `state: patched` of a missing object only warns, `k8s_info` of an unknown kind
/// says so in `msg`.
#[test]
fn result_keys_as_kubernetes_core_returns_them() {
    let ns = cluster().namespace("yq-keys");
    let keys = "| dict2items | map(attribute='key') | sort | join(',')";
    let p = play(&format!(
        r#"    - k8s:
        definition: {{apiVersion: v1, kind: ConfigMap, metadata: {{name: plain, namespace: {ns}}}}}
      register: plain
    - k8s:
        wait: yes
        definition: {{apiVersion: v1, kind: ConfigMap, metadata: {{name: waited, namespace: {ns}}}}}
      register: waited
    - k8s:
        apply: yes
        definition: {{apiVersion: v1, kind: ConfigMap, metadata: {{name: applied, namespace: {ns}}}}}
      register: applied
    - k8s:
        state: patched
        definition: {{apiVersion: v1, kind: ConfigMap, metadata: {{name: missing, namespace: {ns}}}, data: {{a: "1"}}}}
      register: patched
    - k8s_info: {{kind: Gizmo, api_version: v1}}
      register: gizmo
    - debug:
        msg: "plain={{{{ plain {keys} }}}} waited={{{{ waited {keys} }}}} method={{{{ applied.method }}}} patched={{{{ patched {keys} }}}} gizmo={{{{ gizmo.msg }}}}"
"#
    ));
    let r = run(&[("site.yml", &p)], &[]);
    r.assert_code(0);
    r.out_contains("plain=changed,failed,method,result waited=changed,duration,failed,method,result method=apply patched=changed,failed,result,warnings gizmo=Failed to find API for resource with apiVersion \\\"v1\\\" and kind \\\"Gizmo\\\"");
    assert!(
        r.stderr.contains("[WARNING]: resource 'kind=ConfigMap,name=missing' was not found but will not be created as 'state' parameter has been set to 'patched'"),
        "{}",
        r.stderr
    );
    let missing = cluster().kubectl_raw(&["get", "configmap", "missing", "-n", &ns]);
    assert!(!missing.status.success(), "patched created nothing");
}

/// `impersonate_user` / `impersonate_groups` (the API server judges the impersonated user),
/// `append_hash` (the object on the server carries kubernetes.core's content hash) and
/// `hidden_fields` (gone from the returned object only).
#[test]
fn impersonation_append_hash_and_hidden_fields() {
    let ns = cluster().namespace("yq-imp");
    let p = play(&format!(
        r#"    - k8s_info: {{kind: ConfigMap, namespace: {ns}, impersonate_user: nobody}}
      register: denied
      ignore_errors: true
    - k8s_info:
        kind: ConfigMap
        namespace: {ns}
        impersonate_user: nobody
        impersonate_groups: [system:masters]
      register: allowed
    - k8s:
        append_hash: yes
        hidden_fields: [metadata.managedFields, data]
        definition:
          apiVersion: v1
          kind: ConfigMap
          metadata: {{name: app, namespace: {ns}}}
          data: {{b: "2", a: "1"}}
      register: hashed
    - debug:
        msg: "denied={{{{ denied.failed }}}} allowed={{{{ allowed.api_found }}}} name={{{{ hashed.result.metadata.name }}}} hidden={{{{ 'data' in hashed.result or 'managedFields' in hashed.result.metadata }}}}"
"#
    ));
    let r = run(&[("site.yml", &p)], &[]);
    r.assert_code(0);
    r.out_contains("User \\\"nobody\\\" cannot list resource \\\"configmaps\\\"");
    r.out_contains("denied=True allowed=True name=app-");
    r.out_contains("hidden=False");
    let names = cluster().kubectl(&["get", "configmaps", "-n", &ns, "-o", "name"]);
    let hashed: Vec<&str> = names
        .lines()
        .filter(|l| l.starts_with("configmap/app-"))
        .collect();
    assert_eq!(hashed.len(), 1, "{names}");
    let name = hashed[0].trim_start_matches("configmap/");
    assert_eq!(name.len(), "app-".len() + 10, "{name}");
    assert_eq!(
        jsonpath("configmap", name, &ns, "{.data.a}"),
        "1",
        "data is on the server"
    );
}
