//! k8s tasks on a host reached over SSH (seed 002: the inventory lists the k8s master and
//! the kubeconfig lives there). The kubeconfig exists only on the sshd host's account, and
//! the API server is reached through that host: in the network-namespace test the
//! controller cannot reach the API server at all, so only the tunnel can make it work.

mod common;
#[path = "support/k8s_cluster.rs"]
mod k8s_cluster;
#[path = "support/lab_run.rs"]
mod lab_run;
#[path = "support/sshd.rs"]
mod sshd;

use common::Run;
use k8s_cluster::cluster;
use sshd::Lab;
use std::process::Command;

fn configmap_play(ns: &str, name: &str, kubeconfig: Option<&str>) -> String {
    let kc = kubeconfig
        .map(|k| format!("        kubeconfig: {k}\n"))
        .unwrap_or_default();
    format!(
        r#"- hosts: targets
  gather_facts: no
  tasks:
    - name: create on the master
      kubernetes.core.k8s:
{kc}        definition:
          apiVersion: v1
          kind: ConfigMap
          metadata: {{name: {name}, namespace: {ns}}}
          data: {{via: ssh}}
    - name: read back
      kubernetes.core.k8s_info:
{kc}        kind: ConfigMap
        name: {name}
        namespace: {ns}
      register: got
    - assert:
        that: got.resources[0].data.via == 'ssh'
"#
    )
}

fn data_via(ns: &str, name: &str) -> String {
    cluster().kubectl(&[
        "get",
        "configmap",
        name,
        "-n",
        ns,
        "-o",
        "jsonpath={.data.via}",
    ])
}

fn sh(script: &str) -> std::process::Output {
    Command::new("sh")
        .args(["-c", script])
        .output()
        .expect("run sh")
}

/// The admin kubeconfig with its token replaced by an exec plugin (a script on the host that
/// records who ran it).
fn exec_plugin_kubeconfig(dir: &std::path::Path) -> String {
    let admin = std::fs::read_to_string(cluster().kubeconfig()).unwrap();
    let token = admin
        .lines()
        .find_map(|l| l.trim().strip_prefix("token: "))
        .expect("token in the admin kubeconfig")
        .to_string();
    let plugin = dir.join("token-plugin.sh");
    std::fs::write(
        &plugin,
        format!(
            "#!/bin/sh\nid -un > \"$(dirname \"$0\")/plugin-ran-as\"\n\
             printf '{{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"%s\"}}}}' '{token}'\n"
        ),
    )
    .unwrap();
    sh(&format!("chmod 0755 '{}'", plugin.display()));
    let head = admin.split("users:").next().unwrap();
    format!(
        "{head}users:\n- name: yiqiu-admin\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: {}\n",
        plugin.display()
    )
}

#[test]
fn kubeconfig_and_exec_plugin_live_on_the_ssh_host() {
    let ns = cluster().namespace("yq-ssh");
    let lab = Lab::new(1);
    let remote = lab.user_dir("remote-kube");
    let kc = remote.join("config");
    std::fs::write(&kc, exec_plugin_kubeconfig(&remote)).unwrap();
    sh(&format!("chown -R {}: '{}'", sshd::USER, remote.display()));
    let play = configmap_play(&ns, "over-ssh", Some(&kc.display().to_string()));
    // The controller has no kubeconfig: HOME is the lab's, KUBECONFIG unset.
    let r: Run = lab_run::run(&lab, &lab.inventory(sshd::USER), &play, &[]);
    r.assert_code(0);
    r.assert_recap("host0", "ok=3 changed=1");
    assert_eq!(data_via(&ns, "over-ssh"), "ssh");
    let ran_as = std::fs::read_to_string(remote.join("plugin-ran-as")).unwrap();
    assert_eq!(
        ran_as.trim(),
        sshd::USER,
        "the exec plugin runs on the host"
    );
    // A kubeconfig path that does not exist on the host: a clear failure naming it.
    let bad = configmap_play(&ns, "never", Some("/nonexistent/kubeconfig"));
    let r = lab_run::run(&lab, &lab.inventory(sshd::USER), &bad, &[]);
    r.assert_code(2);
    r.out_contains("host0: could not read the kubeconfig");
    r.out_contains("/nonexistent/kubeconfig");
}

/// A network namespace with a veth pair: the namespace reaches only `host_ip` (the sshd's
/// extra address); its 127.0.0.1 is its own, so the API server on the machine's loopback is
/// out of reach from inside.
struct Netns {
    name: String,
    veth: String,
    host_ip: String,
}

impl Netns {
    fn new() -> Netns {
        let id = std::process::id() % 100_000;
        let n = Netns {
            name: format!("yqk8s{id}"),
            veth: format!("yqk{id}a"),
            host_ip: format!("10.231.{}.1", id % 250),
        };
        let peer = format!("yqk{id}b");
        let ns_ip = format!("10.231.{}.2", id % 250);
        let out = sh(&format!(
            "set -e; ip netns del {ns} 2>/dev/null || true; ip link del {v} 2>/dev/null || true; \
             ip netns add {ns}; ip netns exec {ns} ip link set lo up; \
             ip link add {v} type veth peer name {peer}; ip link set {peer} netns {ns}; \
             ip addr add {hip}/30 dev {v}; ip link set {v} up; \
             ip netns exec {ns} ip addr add {ns_ip}/30 dev {peer}; ip netns exec {ns} ip link set {peer} up",
            ns = n.name,
            v = n.veth,
            hip = n.host_ip,
        ));
        assert!(
            out.status.success(),
            "ip netns (needs root and iproute2): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        n
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        sh(&format!(
            "ip link del {} 2>/dev/null; ip netns del {} 2>/dev/null",
            self.veth, self.name
        ));
    }
}

#[test]
fn api_server_reached_only_through_the_ssh_host() {
    let ns = cluster().namespace("yq-tunnel");
    let net = Netns::new();
    let lab = Lab::new_with_listen(1, Some(&net.host_ip));
    let host = &lab.hosts[0];
    let server = cluster().env["YIQIU_K8S_SERVER"].clone();
    let api_port = server.rsplit(':').next().unwrap().trim_end_matches('/');
    // Inside the namespace the API server cannot be reached...
    let direct = sh(&format!(
        "ip netns exec {} timeout 5 bash -c 'echo > /dev/tcp/127.0.0.1/{api_port}'",
        net.name
    ));
    assert!(
        !direct.status.success(),
        "the API server must be unreachable from the namespace"
    );
    // ...but the sshd host (this machine's network) reaches it. The kubeconfig sits in the
    // login user's ~/.kube/config there, the default place.
    let home = String::from_utf8(sh(&format!("getent passwd {} | cut -d: -f6", sshd::USER)).stdout)
        .unwrap()
        .trim()
        .to_string();
    sh(&format!(
        "mkdir -p {home}/.kube && cp '{}' {home}/.kube/config && chown -R {u}: {home}/.kube",
        cluster().kubeconfig(),
        u = sshd::USER
    ));
    let mut known = vec![host.known_hosts_line()];
    known.push(format!("[{}]:{} {}", net.host_ip, host.port, host.host_key));
    lab.write_known_hosts(&known);
    let inventory = format!(
        "[targets]\nhost0 ansible_host={} ansible_port={} ansible_user={} ansible_ssh_private_key_file={}\n",
        net.host_ip,
        host.port,
        sshd::USER,
        lab.key.display()
    );
    lab.write("hosts", &inventory);
    lab.write("site.yml", &configmap_play(&ns, "tunneled", None));
    let out = lab
        .command("ip")
        .args(["netns", "exec", &net.name, "timeout", "-s", "KILL", "300"])
        .args([lab_run::BIN, "-i", "hosts", "site.yml"])
        .output()
        .expect("run yiqiu-play in the namespace");
    let r = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        dir: lab.home.clone(),
    };
    r.assert_code(0);
    r.assert_recap("host0", "ok=3 changed=1");
    assert_eq!(data_via(&ns, "tunneled"), "ssh");
    // The same play on the local connection inside the namespace cannot reach the server.
    let local = format!(
        "- hosts: localhost\n  gather_facts: no\n  tasks:\n    - k8s_info: {{kind: ConfigMap, namespace: {ns}, kubeconfig: {}}}\n",
        cluster().kubeconfig()
    );
    lab.write("site.yml", &local);
    let out = lab
        .command("ip")
        .args(["netns", "exec", &net.name, "timeout", "-s", "KILL", "120"])
        .args([lab_run::BIN, "site.yml"])
        .output()
        .expect("run yiqiu-play in the namespace");
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// `src` over SSH is read on the host, relative to the login's home, as kubernetes.core's
/// module reads it where it runs; a file of the same name beside the playbook is not used.
#[test]
fn src_is_read_on_the_ssh_host() {
    let ns = cluster().namespace("yq-ssh-src");
    let lab = Lab::new(1);
    let remote = lab.user_dir("remote-kube-src");
    let kc = remote.join("config");
    std::fs::copy(cluster().kubeconfig(), &kc).unwrap();
    let home = String::from_utf8(sh(&format!("getent passwd {} | cut -d: -f6", sshd::USER)).stdout)
        .unwrap()
        .trim()
        .to_string();
    let file = format!("yq-src-{}.yml", std::process::id());
    let manifest = |via: &str| {
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: from-src, namespace: {ns}}}\ndata: {{via: {via}}}\n")
    };
    std::fs::write(format!("{home}/{file}"), manifest("host")).unwrap();
    lab.write(&file, &manifest("controller"));
    sh(&format!(
        "chown -R {u}: '{}' '{home}/{file}'",
        remote.display(),
        u = sshd::USER
    ));
    let play = |src: &str| {
        format!(
            "- hosts: targets\n  gather_facts: no\n  tasks:\n    - kubernetes.core.k8s:\n        kubeconfig: {}\n        src: {src}\n",
            kc.display()
        )
    };
    let r = lab_run::run(&lab, &lab.inventory(sshd::USER), &play(&file), &[]);
    let _ = std::fs::remove_file(format!("{home}/{file}"));
    r.assert_code(0);
    r.assert_recap("host0", "ok=1 changed=1");
    assert_eq!(data_via(&ns, "from-src"), "host");
    let r = lab_run::run(&lab, &lab.inventory(sshd::USER), &play("missing.yml"), &[]);
    r.assert_code(2);
    r.out_contains("Failed to load resource definition: No such file or directory: 'missing.yml'");
}
