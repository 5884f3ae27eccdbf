//! The real Kubernetes control plane of `tests/k8s/cluster.sh` (Debian's kube-apiserver,
//! controller-manager and scheduler with etcd, plus the node stand-in), started once per
//! machine in /tmp/yiqiu-k8s and shared by the tests, each in a namespace of its own.
//!
//! A cluster that cannot start fails the test: `.ci/run` builds it (`cluster.sh build`).
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

pub struct Cluster {
    /// `cluster.env`'s variables: KUBECONFIG, YIQIU_K8S_SERVER, YIQIU_K8S_TOKEN_FILE, ...
    pub env: HashMap<String, String>,
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/k8s/cluster.sh")
}

/// The running cluster, started on first use.
pub fn cluster() -> &'static Cluster {
    static ONE: OnceLock<Cluster> = OnceLock::new();
    ONE.get_or_init(|| {
        let out = Command::new("bash")
            .arg(script())
            .arg("start")
            .output()
            .expect("run tests/k8s/cluster.sh");
        assert!(
            out.status.success(),
            "the Kubernetes test cluster did not start (build it with `tests/k8s/cluster.sh build`, \
             as .ci/run does):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let env_out = Command::new("bash")
            .arg(script())
            .arg("env")
            .output()
            .expect("cluster.sh env");
        let mut env = HashMap::new();
        for line in String::from_utf8_lossy(&env_out.stdout).lines() {
            if let Some((k, v)) = line.trim_start_matches("export ").split_once('=') {
                env.insert(k.to_string(), v.trim_matches('"').to_string());
            }
        }
        assert!(env.contains_key("KUBECONFIG"), "cluster.sh env: {env:?}");
        Cluster { env }
    })
}

impl Cluster {
    pub fn kubeconfig(&self) -> &str {
        &self.env["KUBECONFIG"]
    }

    /// kubectl (Debian's, from the cluster's cache) against this cluster; stdout, or panics.
    pub fn kubectl(&self, args: &[&str]) -> String {
        let out = self.kubectl_raw(args);
        assert!(
            out.status.success(),
            "kubectl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn kubectl_raw(&self, args: &[&str]) -> std::process::Output {
        let bin = self
            .env
            .get("YIQIU_K8S_BIN")
            .map(|b| format!("{b}/kubectl"))
            .unwrap_or_else(|| "kubectl".into());
        Command::new(bin)
            .arg("--kubeconfig")
            .arg(self.kubeconfig())
            .args(args)
            .output()
            .expect("run kubectl")
    }

    /// A fresh namespace for one test, unique to this run (namespaces of earlier runs are
    /// deleted in the background: a namespace takes a while to go).
    pub fn namespace(&self, base: &str) -> String {
        let listed = self.kubectl(&["get", "namespaces", "-o", "name"]);
        for old in listed.lines().filter_map(|l| l.strip_prefix("namespace/")) {
            if old.starts_with(&format!("{base}-")) {
                let _ = self.kubectl_raw(&["delete", "namespace", old, "--wait=false"]);
            }
        }
        let name = format!("{base}-{}", std::process::id());
        self.kubectl(&["create", "namespace", &name]);
        name
    }
}
