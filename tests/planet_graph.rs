//! The bundled planet-graph project (seed 002: `site.yaml`, `scale_service.yaml`,
//! `rollout.yaml`, `job.yaml`, `clean_job.yaml`, `clean.yaml` at the repository root) run end
//! to end on the real test cluster (`support/k8s_cluster.rs`: Debian's 1.20 control plane
//! with the node stand-in). Every step is checked with kubectl, not only by our output.
//!
//! The project uses fixed names (namespace `planet-graph-ns`, its PersistentVolumes, node
//! ports 30000-32000), so the whole flow is one test, steps in order.

mod common;
#[path = "support/k8s_cluster.rs"]
mod k8s_cluster;

use common::Run;
use k8s_cluster::cluster;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_yiqiu-play");
const NS: &str = "planet-graph-ns";
const REGISTRY_PASSWORD: &str = "pull-S3cret-91aa";

/// `yiqiu-play ARGS` from the repository root, as a user types it, with the data dir in `data`.
fn play(data: &Path, args: &[&str]) -> Run {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut cmd = Command::new(BIN);
    for (k, _) in std::env::vars() {
        if k.starts_with("ANSIBLE_") || k.starts_with("K8S_AUTH_") || k.starts_with("PLANET_") {
            cmd.env_remove(k);
        }
    }
    let out = cmd
        .args(args)
        .current_dir(repo)
        .env("KUBECONFIG", cluster().kubeconfig())
        .env("PLANET_GRAPH_DATA_DIR", data)
        .env("ANSIBLE_NOCOLOR", "1")
        .output()
        .expect("run yiqiu-play");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        dir: data.to_path_buf(),
    }
}

fn kubectl(args: &[&str]) -> String {
    cluster().kubectl(args)
}

fn exists(args: &[&str]) -> bool {
    cluster().kubectl_raw(args).status.success()
}

fn jsonpath(kind: &str, name: &str, path: &str) -> String {
    kubectl(&[
        "-n",
        NS,
        "get",
        kind,
        name,
        "-o",
        &format!("jsonpath={{{path}}}"),
    ])
}

/// Everything of ours the cluster still has (namespaced or not), one line each.
fn leftovers() -> String {
    let all = kubectl(&["get", "all,pv,pvc,cm,secret,ns", "-A", "--no-headers"]);
    all.lines()
        .filter(|l| l.contains("planet-graph"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn wait_until(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let until = Instant::now() + timeout;
    while !ok() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn data_dir(root: &Path) -> std::path::PathBuf {
    let data = root.join("data");
    let bins = data.join("data_bin");
    std::fs::create_dir_all(&bins).expect("data_bin");
    std::fs::write(bins.join("data_stable.bin"), b"\x00\x01planet-graph-v1").expect("bin");
    std::fs::write(bins.join("application.properties"), "server.port=8080\n").expect("props");
    data
}

/// Starts from a cluster with nothing of ours, whatever an earlier, interrupted run left.
fn start_empty() {
    for args in [
        &["delete", "ns", NS, "--ignore-not-found", "--wait=true"][..],
        &[
            "delete",
            "pv",
            "planet-graph-volume",
            "planet-graph-mysql-volume",
            "--ignore-not-found",
        ][..],
    ] {
        kubectl(args);
    }
    assert_eq!(leftovers(), "");
}

fn missing_data_bin_fails_before_anything_is_created(data: &Path) {
    let r = play(data, &["site.yaml"]);
    r.assert_code(2);
    r.out_contains("planetgraph.lic not found in ");
    r.out_contains(&format!("{}/data_bin", data.display()));
    assert!(!exists(&["get", "ns", NS]), "the namespace was created");
}

fn check_mode_on_an_empty_cluster_creates_nothing(data: &Path) {
    let r = play(data, &["site.yaml", "--check", "--diff"]);
    r.assert_code(0);
    // Namespace, PV, claim, Deployment, Service ... all reported as to be created.
    assert!(r.recap("localhost")["changed"] >= 10, "{}", r.stdout);
    r.out_contains("TASK [fileserver : k8s: create claim]");
    r.out_contains("planet-graph-volume-claim");
    assert_eq!(leftovers(), "", "check mode left objects behind");
}

fn first_install_deploys_everything(data: &Path) {
    let r = play(
        data,
        &[
            "site.yaml",
            "--tags",
            "initialize",
            "-e",
            &format!("registry_password={REGISTRY_PASSWORD}"),
        ],
    );
    r.assert_code(0);
    assert!(
        !r.stdout.contains(REGISTRY_PASSWORD) && !r.stderr.contains(REGISTRY_PASSWORD),
        "the registry password was printed"
    );
    r.out_contains("Playbook run took 0 days, ");
    for (deploy, replicas) in [
        ("planet-graph-file-server-deployment", "2"),
        ("planet-graph-mysql-deployment", "1"),
        ("planet-graph-service-deployment", "3"),
    ] {
        assert_eq!(
            jsonpath("deployment", deploy, ".status.availableReplicas"),
            replicas,
            "{deploy}"
        );
    }
    for (svc, port) in [
        ("planet-graph-file-server", "31000"),
        ("planet-graph-mysql", "32000"),
        ("planet-graph-server", "30000"),
    ] {
        assert_eq!(jsonpath("service", svc, ".spec.ports[0].nodePort"), port);
    }
    assert_eq!(
        jsonpath("pvc", "planet-graph-volume-claim", ".status.phase"),
        "Bound"
    );
    assert_eq!(
        jsonpath("pvc", "planet-graph-volume-claim", ".spec.volumeName"),
        "planet-graph-volume"
    );
    assert_eq!(
        jsonpath("configmap", "dataconfig", ".data.application\\.properties"),
        "server.port=8080\n"
    );
    // The image-pull secret holds the password, only on the server.
    let cfg = jsonpath("secret", "myregistrykey", ".data.\\.dockerconfigjson");
    let cfg = String::from_utf8(
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, cfg.trim())
            .expect("base64"),
    )
    .expect("utf-8");
    assert!(cfg.contains(REGISTRY_PASSWORD), "{cfg}");
    // The DEBUG lines print the real cluster IP and node port.
    let ip = jsonpath("service", "planet-graph-server", ".spec.clusterIP");
    r.out_contains(&format!(
        "created planet graph service cluster at: {ip}:8080 external port: 30000"
    ));
}

fn second_run_and_debug_change_nothing(data: &Path) {
    let again = play(data, &["site.yaml"]);
    again.assert_code(0);
    again.assert_recap("localhost", "changed=0 failed=0");
    let debug = play(data, &["site.yaml", "--tags", "debug"]);
    debug.assert_code(0);
    debug.assert_recap("localhost", "changed=0 failed=0");
    assert!(
        !debug.stdout.contains(": k8s: create"),
        "--tags debug ran a create task:\n{}",
        debug.stdout
    );
    let ip = jsonpath("service", "planet-graph-file-server", ".spec.clusterIP");
    debug.out_contains(&format!(
        "created service cluster at: {ip}:80 external port: 31000"
    ));
}

fn scale_up_and_back(data: &Path) {
    let deploy = "planet-graph-service-deployment";
    play(data, &["scale_service.yaml", "-e", "scaled_replicas=5"]).assert_code(0);
    assert_eq!(jsonpath("deployment", deploy, ".status.readyReplicas"), "5");
    let missing = play(data, &["scale_service.yaml"]);
    missing.assert_code(2);
    missing.out_contains("-e scaled_replicas=5");
    play(data, &["scale_service.yaml", "-e", "scaled_replicas=3"]).assert_code(0);
    assert_eq!(jsonpath("deployment", deploy, ".spec.replicas"), "3");
    wait_until("3 service pods", Duration::from_secs(30), || {
        kubectl(&[
            "-n",
            NS,
            "get",
            "pods",
            "-l",
            "app=planet-graph-service",
            "--no-headers",
        ])
        .lines()
        .count()
            == 3
    });
}

fn rollout_restarts_into_a_new_replicaset(data: &Path) {
    let deploy = "planet-graph-service-deployment";
    let revision = ".metadata.annotations.deployment\\.kubernetes\\.io/revision";
    let before = jsonpath("deployment", deploy, revision);
    let mysql_before = jsonpath("deployment", "planet-graph-mysql-deployment", revision);
    let r = play(data, &["rollout.yaml"]);
    r.assert_code(0);
    r.assert_recap("localhost", "changed=2");
    let after = jsonpath("deployment", deploy, revision);
    assert_ne!(before, after, "no new ReplicaSet revision");
    // The wait followed the rollout: every replica is the new template's.
    assert_eq!(
        jsonpath("deployment", deploy, ".status.updatedReplicas"),
        "3"
    );
    assert_eq!(
        jsonpath("deployment", deploy, ".status.availableReplicas"),
        "3"
    );
    let rs = kubectl(&[
        "-n", NS, "get", "rs", "-l", "app=planet-graph-service", "-o",
        "jsonpath={range .items[*]}{.metadata.annotations.deployment\\.kubernetes\\.io/revision}={.status.replicas} {end}",
    ]);
    assert!(rs.contains(&format!("{after}=3")), "{rs}");
    let restarted = ".spec.template.metadata.annotations.kubectl\\.kubernetes\\.io/restartedAt";
    assert!(
        !jsonpath("deployment", deploy, restarted).is_empty(),
        "no restartedAt annotation"
    );
    assert_eq!(
        jsonpath("deployment", "planet-graph-mysql-deployment", revision),
        mysql_before,
        "rollout changed MySQL"
    );
}

fn job_processes_every_file_then_goes(data: &Path) {
    let input = data.join("input/1613965896");
    std::fs::create_dir_all(&input).expect("input");
    for i in 1..=4 {
        std::fs::write(input.join(format!("part-{i}.csv")), format!("{i}\n")).expect("file");
    }
    let r = play(
        data,
        &[
            "job.yaml",
            "-e",
            "input_data_path=1613965896",
            "-e",
            "job_ttl_seconds=20",
        ],
    );
    r.assert_code(0);
    let job = "planet-graph-job-1613965896";
    assert_eq!(jsonpath("job", job, ".spec.completions"), "4");
    assert_eq!(jsonpath("job", job, ".spec.parallelism"), "2");
    assert_eq!(jsonpath("job", job, ".status.succeeded"), "4");
    assert_eq!(
        jsonpath(
            "configmap",
            "planet-graph-job-1613965896-files",
            ".data.files"
        ),
        "part-1.csv\npart-2.csv\npart-3.csv\npart-4.csv"
    );
    assert_eq!(
        jsonpath(
            "statefulset",
            "planet-graph-rabbitmq",
            ".status.readyReplicas"
        ),
        "1"
    );
    // ttlSecondsAfterFinished: the Job and its pods are removed in cascade.
    wait_until(
        "the finished Job to be removed",
        Duration::from_secs(90),
        || !exists(&["-n", NS, "get", "job", job]),
    );
    wait_until(
        "the Job's pods to be removed",
        Duration::from_secs(60),
        || {
            kubectl(&[
                "-n",
                NS,
                "get",
                "pods",
                "-l",
                &format!("job-name={job}"),
                "--no-headers",
            ])
            .trim()
            .is_empty()
        },
    );
}

fn failing_job_fails_the_play_with_its_condition(data: &Path) {
    let input = data.join("input/broken");
    std::fs::create_dir_all(&input).expect("input");
    std::fs::write(input.join("one.csv"), "1\n").expect("file");
    let r = play(
        data,
        &[
            "job.yaml",
            "-e",
            "input_data_path=broken",
            "-e",
            "job_backoff_limit=0",
            "-e",
            r#"{"processor_pod_annotations": {"yiqiu.test/fail": "true"}}"#,
        ],
    );
    r.assert_code(2);
    r.out_contains("TASK [job : check job result]");
    r.out_contains("failed: BackoffLimitExceeded: Job has reached the specified backoff limit");
    assert_eq!(
        jsonpath(
            "job",
            "planet-graph-job-broken",
            ".status.conditions[0].type"
        ),
        "Failed"
    );
}

fn clean_removes_everything_twice(data: &Path) {
    play(data, &["clean_job.yaml"]).assert_code(0);
    assert!(!exists(&[
        "-n",
        NS,
        "get",
        "statefulset",
        "planet-graph-rabbitmq"
    ]));
    assert!(kubectl(&["-n", NS, "get", "jobs", "--no-headers"])
        .trim()
        .is_empty());
    let r = play(data, &["clean.yaml"]);
    r.assert_code(0);
    assert_eq!(leftovers(), "", "clean.yaml left objects behind");
    let again = play(data, &["clean.yaml"]);
    again.assert_code(0);
    again.assert_recap("localhost", "changed=0 failed=0");
}

#[test]
fn planet_graph_flows_end_to_end() {
    start_empty();
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = data_dir(tmp.path());
    missing_data_bin_fails_before_anything_is_created(&data);
    std::fs::write(data.join("data_bin/planetgraph.lic"), "licensed\n").expect("lic");
    check_mode_on_an_empty_cluster_creates_nothing(&data);
    first_install_deploys_everything(&data);
    second_run_and_debug_change_nothing(&data);
    scale_up_and_back(&data);
    rollout_restarts_into_a_new_replicaset(&data);
    job_processes_every_file_then_goes(&data);
    failing_job_fails_the_play_with_its_condition(&data);
    clean_removes_everything_twice(&data);
}
