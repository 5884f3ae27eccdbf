//! `yiqiu_services` over real sshd hosts with a small recording program (every hook appends
//! `HOOK REMOTE_UNIT` to the unit's hooks.log): what happens around the real services of
//! tests/services.rs — an unreachable host, `--limit`, bad input, check mode.

mod common;
#[path = "support/lab_run.rs"]
mod lab_run;
#[path = "support/sshd.rs"]
mod sshd;

use std::path::{Path, PathBuf};

const HOOKS: &[&str] = &[
    "install",
    "upgrade",
    "config-changed",
    "start",
    "stop",
    "cache-relation-joined",
    "cache-relation-changed",
    "cache-relation-departed",
    "cache-relation-broken",
    "backends-relation-joined",
    "backends-relation-changed",
    "backends-relation-departed",
    "backends-relation-broken",
];

/// Two recording programs: `echo` provides `cache`, `proxy` requires `backends`.
fn write_programs(home: &Path) {
    for (name, meta) in [
        (
            "echo",
            "version: 1.0.0\nprovides: {cache: {interface: memcache}}\nconfig: {size: {default: 1}}\n",
        ),
        ("proxy", "version: 1.0.0\nrequires: {backends: {interface: memcache}}\n"),
    ] {
        let dir = home.join("programs").join(name);
        std::fs::create_dir_all(dir.join("hooks")).unwrap();
        std::fs::write(dir.join("yiqiu.yaml"), meta).unwrap();
        for hook in HOOKS {
            let p = dir.join("hooks").join(hook);
            std::fs::write(
                &p,
                "#!/bin/sh\necho \"$YIQIU_HOOK $YIQIU_REMOTE_UNIT\" >> \"$YIQIU_UNIT_DIR/hooks.log\"\n",
            )
            .unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
}

/// The lab's hosts in groups: `echo` on host0 and host1, `proxy` on host2. The sshd hosts
/// share one filesystem, so each gets its own `yiqiu_root` under `root`.
fn inventory(lab: &sshd::Lab, root: &Path, ports: [&str; 3]) -> String {
    let lines: Vec<String> = lab
        .inventory(sshd::USER)
        .lines()
        .skip(1)
        .enumerate()
        .map(|(i, l)| format!("{l} yiqiu_root={}/host{i}", root.display()))
        .collect();
    format!(
        "[echo]\n{} ports=\"{}\"\n{} ports=\"{}\"\n[proxy]\n{} ports=\"{}\"\n",
        lines[0], ports[0], lines[1], ports[1], lines[2], ports[2]
    )
}

fn play(root: &Path, relations: &str, echo_config: &str) -> String {
    format!(
        "- hosts: echo:proxy\n  gather_facts: false\n  tasks:\n    - name: converge\n      yiqiu_services:\n        root: {}\n        services:\n          echo: {{program: programs/echo, config: {{{echo_config}}}}}\n          proxy: {{program: programs/proxy}}\n        relations: {relations}\n",
        root.display()
    )
}

fn log(root: &Path, host: &str, unit: &str) -> String {
    std::fs::read_to_string(root.join(host).join(unit).join("hooks.log")).unwrap_or_default()
}

fn setup() -> (sshd::Lab, PathBuf) {
    let lab = sshd::Lab::new(3);
    write_programs(&lab.home);
    let root = lab.user_dir("units");
    (lab, root)
}

#[test]
fn an_unreachable_host_keeps_its_units_and_the_others_go_on() {
    let (lab, root) = setup();
    let rel = "['proxy:backends echo:cache']";
    lab_run::run(
        &lab,
        &inventory(&lab, &root, ["7101", "7101", "7201"]),
        &play(&root, rel, ""),
        &[],
    )
    .assert_code(0);
    assert!(log(&root, "host2", "proxy_7201").contains("backends-relation-joined echo_7101@host1"));
    lab.hosts[1].kill();
    // A new unit on host0; host1 cannot be read this run.
    let run = lab_run::run(
        &lab,
        &inventory(&lab, &root, ["[7101, 7102]", "7101", "7201"]),
        &play(&root, rel, ""),
        &[],
    );
    run.assert_code(4);
    run.assert_recap("host1", "unreachable=1");
    run.assert_recap("host0", "changed=1 failed=0");
    run.assert_recap("host2", "changed=1 failed=0");
    let proxy = log(&root, "host2", "proxy_7201");
    assert!(
        proxy.contains("backends-relation-joined echo_7102@host0"),
        "{proxy}"
    );
    assert!(
        !proxy.contains("departed"),
        "an unreachable unit is not a departure:\n{proxy}"
    );
    let state = std::fs::read_to_string(root.join("host2/proxy_7201/.yiqiu/unit.json")).unwrap();
    assert!(state.contains("echo_7101@host1"), "{state}");
}

#[test]
fn limit_fires_only_inside_it_but_sees_units_outside() {
    let (lab, root) = setup();
    let inv = inventory(&lab, &root, ["7111", "7111", "7211"]);
    lab_run::run(&lab, &inv, &play(&root, "[]", ""), &[]).assert_code(0);
    let echo_before = log(&root, "host0", "echo_7111");
    // The relation appears, but only the proxy host is in the run.
    let run = lab_run::run_args(
        &lab,
        &inv,
        &play(&root, "['proxy:backends echo:cache']", ""),
        &["--limit", "host2"],
        &[],
    );
    run.assert_code(0);
    let proxy = log(&root, "host2", "proxy_7211");
    for unit in ["echo_7111@host0", "echo_7111@host1"] {
        assert!(
            proxy.contains(&format!("backends-relation-changed {unit}")),
            "{proxy}"
        );
    }
    assert_eq!(
        log(&root, "host0", "echo_7111"),
        echo_before,
        "outside --limit nothing fires"
    );
    // The next full run brings the provider side up to date, and only it.
    let run = lab_run::run(
        &lab,
        &inv,
        &play(&root, "['proxy:backends echo:cache']", ""),
        &[],
    );
    run.assert_code(0);
    run.assert_recap("host2", "changed=0");
    assert!(log(&root, "host0", "echo_7111").contains("cache-relation-joined proxy_7211@host2"));
}

#[test]
fn check_mode_prints_the_plan_and_fires_nothing() {
    let (lab, root) = setup();
    let inv = inventory(&lab, &root, ["7121", "7121", "7221"]);
    let rel = "['proxy:backends echo:cache']";
    let run = lab_run::run_args(&lab, &inv, &play(&root, rel, ""), &["--check"], &[]);
    run.assert_code(0);
    run.out_contains("echo_7121@host0: install: first deploy of version 1.0.0");
    run.out_contains("proxy_7221@host2: backends-relation-joined: echo_7121@host1 joined");
    assert!(
        std::fs::read_dir(&root).unwrap().next().is_none(),
        "check mode created a unit dir"
    );
    lab_run::run(&lab, &inv, &play(&root, rel, ""), &[]).assert_code(0);
    let run = lab_run::run_args(&lab, &inv, &play(&root, rel, "size: 2"), &["--check"], &[]);
    run.out_contains("echo_7121@host0: config-changed: config: size 1 -> 2 (service config)");
    assert_eq!(
        log(&root, "host0", "echo_7121")
            .matches("config-changed")
            .count(),
        1,
        "the check run fired config-changed"
    );
}

#[test]
fn bad_topologies_are_refused_before_anything_runs() {
    let (lab, root) = setup();
    let inv = inventory(&lab, &root, ["7131", "7131", "7231"]);
    let run = lab_run::run(&lab, &inv, &play(&root, "[]", "sise: 2"), &[]);
    run.assert_code(2);
    run.out_contains(
        "service echo: config key \"sise\" is not an option of program echo (options: size)",
    );
    let run = lab_run::run(
        &lab,
        &inv,
        &play(&root, "['proxy:backends echo:kache']", ""),
        &[],
    );
    run.assert_code(2);
    run.out_contains("program echo has no endpoint \"kache\"");
    let run = lab_run::run(
        &lab,
        &inv,
        &play(&root, "['echo:cache proxy:cache']", ""),
        &[],
    );
    run.out_contains("program proxy has no endpoint \"cache\"");
    assert!(
        std::fs::read_dir(&root).unwrap().next().is_none(),
        "a refused topology left a unit dir"
    );
}

#[test]
fn yiqiu_info_reports_what_each_unit_recorded() {
    let (lab, root) = setup();
    let inv = inventory(&lab, &root, ["7141", "[7141, 7142]", "7241"]);
    let rel = "['proxy:backends echo:cache']";
    lab_run::run(&lab, &inv, &play(&root, rel, ""), &[]).assert_code(0);
    let info = play(&root, rel, "")
        .replace("yiqiu_services:", "yiqiu_info:")
        .replace("name: converge", "name: look")
        + "      register: info\n    - copy:\n        content: \"{{ info | to_json }}\"\n        dest: \"{{ yiqiu_root }}/info.json\"\n";
    let run = lab_run::run(&lab, &inv, &info, &[]);
    run.assert_code(0);
    let text = std::fs::read_to_string(root.join("host2/info.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let proxy = &v["units"]["proxy_7241@host2"];
    assert_eq!(proxy["status"], "running", "{text}");
    assert_eq!(
        proxy["relations"]["proxy:backends=echo:cache"]["seen"],
        serde_json::json!(["echo_7141@host0", "echo_7141@host1", "echo_7142@host1"])
    );
    // It reports what the host holds: the state file says the same.
    let state = std::fs::read_to_string(root.join("host2/proxy_7241/.yiqiu/unit.json")).unwrap();
    assert!(state.contains("\"status\":\"running\""), "{state}");
    assert!(v["dot"].as_str().unwrap().contains("\"proxy\" -> \"echo\""));
    assert_eq!(
        v["topology"]["services"]["echo"]["units"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
}
