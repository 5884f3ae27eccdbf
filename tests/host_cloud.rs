//! The host cloud inventory (issue 12, seed 004): Region > Zone > Host with features and
//! resources, `yiqiu-play inventory`, zone-bounded `serial` batches (`yiqiu_batch_by`), the
//! `spread` filter and the resource checks. Every host is `ansible_connection: local`.

mod common;
use common::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// One host of the model: region, zone, name, type, area, resources (MHz, GiB, TiB, IOPS),
/// extra groups.
type HostRow = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    (u64, u64, u64, u64),
    &'static [&'static str],
);

/// 3 regions with 2, 3 and 4 zones of uneven sizes, hosts of each type.
const MODEL: [HostRow; 13] = [
    (
        "bj",
        "bj01",
        "bj01a",
        "VM",
        "r01-u01",
        (48000, 256, 4, 20000),
        &["cache"],
    ),
    (
        "bj",
        "bj01",
        "bj01b",
        "CM",
        "r01-u02",
        (32000, 128, 2, 10000),
        &[],
    ),
    (
        "bj",
        "bj01",
        "bj01c",
        "BM",
        "r02-u01",
        (64000, 512, 8, 40000),
        &["cache"],
    ),
    (
        "bj",
        "bj02",
        "bj02a",
        "VM",
        "r11-u01",
        (48000, 256, 4, 20000),
        &["cache"],
    ),
    (
        "bj",
        "bj02",
        "bj02b",
        "BM",
        "r11-u02",
        (64000, 512, 8, 40000),
        &[],
    ),
    (
        "sh",
        "sh01",
        "sh01a",
        "CM",
        "r21-u01",
        (16000, 64, 1, 5000),
        &["cache"],
    ),
    (
        "sh",
        "sh02",
        "sh02a",
        "VM",
        "r31-u01",
        (48000, 256, 4, 20000),
        &[],
    ),
    (
        "sh",
        "sh02",
        "sh02b",
        "CM",
        "r31-u02",
        (32000, 128, 2, 10000),
        &[],
    ),
    (
        "sh",
        "sh03",
        "sh03a",
        "BM",
        "r41-u01",
        (64000, 1024, 16, 40000),
        &[],
    ),
    (
        "gz",
        "gz01",
        "gz01a",
        "VM",
        "r51-u01",
        (48000, 256, 4, 20000),
        &[],
    ),
    (
        "gz",
        "gz02",
        "gz02a",
        "CM",
        "r52-u01",
        (32000, 128, 2, 10000),
        &[],
    ),
    (
        "gz",
        "gz03",
        "gz03a",
        "BM",
        "r53-u01",
        (64000, 512, 8, 40000),
        &[],
    ),
    (
        "gz",
        "gz04",
        "gz04a",
        "VM",
        "r54-u01",
        (48000, 256, 4, 20000),
        &[],
    ),
];

const GIB: u64 = 1 << 30;
const TIB: u64 = 1 << 40;

fn zone_of(host: &str) -> &'static str {
    MODEL
        .iter()
        .find(|r| r.2 == host)
        .map(|r| r.1)
        .unwrap_or_else(|| panic!("unknown host {host}"))
}

/// The model as a host cloud inventory (units as operators write them).
fn cloud_yaml() -> String {
    let mut out = String::from("vars: {ansible_connection: local}\nregions:\n");
    let mut region = "";
    let mut zone = "";
    for (r, z, h, t, a, (cpu, ram, disk, iops), groups) in MODEL {
        if r != region {
            out.push_str(&format!("  {r}:\n"));
            if r == "bj" {
                out.push_str("    vars: {ntp: 10.0.0.1, tier: region}\n");
            }
            out.push_str("    zones:\n");
            region = r;
        }
        if z != zone {
            out.push_str(&format!("      {z}:\n"));
            if z == "bj01" {
                out.push_str("        vars: {tier: zone}\n");
            }
            out.push_str("        hosts:\n");
            zone = z;
        }
        out.push_str(&format!(
            "          {h}: {{features: {{area: {a}, type: {t}}}, resources: {{cpu_mhz: {cpu}, ram: {ram}G, disk: {disk}T, iops: {iops}}}, groups: [{}]}}\n",
            groups.join(", ")
        ));
    }
    out
}

/// The same model as a plain INI inventory with the groups and host vars spelled out, as
/// ansible-playbook would read it.
fn plain_ini() -> String {
    let mut out = String::from(
        "[all:vars]\nansible_connection=local\n\n[region_bj:vars]\nntp=10.0.0.1\ntier=region\n\n[zone_bj01:vars]\ntier=zone\n",
    );
    let mut groups: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    let mut children: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (r, z, h, t, a, (cpu, ram, disk, iops), extra) in MODEL {
        children
            .entry(format!("region_{r}"))
            .or_default()
            .insert(format!("zone_{z}"));
        out.push_str(&format!(
            "\n[zone_{z}]\n{h} yiqiu_region={r} yiqiu_zone={z} yiqiu_area={a} yiqiu_type={t} yiqiu_resources=\"{{'cpu_mhz': {cpu}, 'ram': {}, 'disk': {}, 'iops': {iops}}}\"\n",
            ram * GIB,
            disk * TIB
        ));
        groups
            .entry(format!("type_{}", t.to_lowercase()))
            .or_default()
            .push(h);
        for g in extra {
            groups.entry(g.to_string()).or_default().push(h);
        }
    }
    for (g, hosts) in groups {
        out.push_str(&format!("\n[{g}]\n{}\n", hosts.join("\n")));
    }
    for (g, kids) in children {
        let kids: Vec<String> = kids.into_iter().collect();
        out.push_str(&format!("\n[{g}:children]\n{}\n", kids.join("\n")));
    }
    out
}

const ROLLING: &str = "- hosts: all
  gather_facts: false
  serial: 2
  max_fail_percentage: 0
  vars:
    yiqiu_batch_by: yiqiu_zone
  tasks:
    - name: record
      shell: echo \"{{ yiqiu_zone }} {{ inventory_hostname }}\" >> batches.log
    - name: maybe fail
      fail: {msg: boom}
      when: inventory_hostname == (fail_host | default(''))
";

fn cloud_project() -> tempfile::TempDir {
    project(&[
        ("cloud.yml", &cloud_yaml()),
        ("plain.ini", &plain_ini()),
        ("roll.yml", ROLLING),
    ])
}

fn json_of(r: &Run) -> Value {
    serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", r.stdout, r.stderr))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn list_shows_groups_and_vars() {
    let d = cloud_project();
    let r = run_in(d.path(), &["inventory", "-i", "cloud.yml", "--list"]);
    r.assert_code(0);
    let inv = json_of(&r);
    let top = strings(&inv["all"]["children"]);
    for g in [
        "region_bj",
        "region_sh",
        "region_gz",
        "type_vm",
        "type_cm",
        "type_bm",
        "cache",
    ] {
        assert!(top.contains(&g.to_string()), "{g} not under all: {top:?}");
    }
    assert!(!top.iter().any(|g| g.starts_with("zone_")), "{top:?}");
    assert_eq!(
        strings(&inv["region_bj"]["children"]),
        ["zone_bj01", "zone_bj02"]
    );
    assert_eq!(
        strings(&inv["region_gz"]["children"]),
        ["zone_gz01", "zone_gz02", "zone_gz03", "zone_gz04"]
    );
    assert_eq!(
        strings(&inv["zone_bj01"]["hosts"]),
        ["bj01a", "bj01b", "bj01c"]
    );
    assert_eq!(
        strings(&inv["type_bm"]["hosts"]),
        ["bj01c", "bj02b", "sh03a", "gz03a"]
    );
    assert_eq!(
        strings(&inv["cache"]["hosts"]),
        ["bj01a", "bj01c", "bj02a", "sh01a"]
    );
    let hv = &inv["_meta"]["hostvars"];
    assert_eq!(hv.as_object().map(|m| m.len()), Some(13));
    let h = &hv["bj01a"];
    assert_eq!(h["yiqiu_region"], "bj");
    assert_eq!(h["yiqiu_zone"], "bj01");
    assert_eq!(h["yiqiu_area"], "r01-u01");
    assert_eq!(h["yiqiu_type"], "VM");
    assert_eq!(h["yiqiu_resources"]["ram"], 256 * GIB);
    assert_eq!(h["yiqiu_resources"]["disk"], 4 * TIB);
    assert_eq!(h["yiqiu_resources"]["cpu_mhz"], 48000);
    assert_eq!(h["yiqiu_resources"]["iops"], 20000);
    // Region vars reach the hosts; zone vars (deeper group) win over region vars.
    assert_eq!(h["ntp"], "10.0.0.1");
    assert_eq!(h["tier"], "zone");
    assert_eq!(hv["bj02a"]["tier"], "region");
    assert_eq!(hv["gz01a"]["ansible_connection"], "local");
    assert!(hv["gz01a"].get("ntp").is_none());
    assert!(h.get("features").is_none() && h.get("inventory_file").is_none());

    let r = run_in(
        d.path(),
        &["inventory", "-i", "cloud.yml", "--host", "sh03a"],
    );
    r.assert_code(0);
    assert_eq!(json_of(&r)["yiqiu_resources"]["ram"], TIB);
}

#[test]
fn graph_shows_the_layout() {
    let d = cloud_project();
    let r = run_in(
        d.path(),
        &["inventory", "-i", "cloud.yml", "--graph", "region_bj"],
    );
    r.assert_code(0);
    assert_eq!(
        r.stdout,
        "@region_bj:\n  |--@zone_bj01:\n  |  |--bj01a\n  |  |--bj01b\n  |  |--bj01c\n  |--@zone_bj02:\n  |  |--bj02a\n  |  |--bj02b\n"
    );
    let r = run_in(d.path(), &["inventory", "-i", "cloud.yml", "--graph"]);
    r.assert_code(0);
    assert!(
        r.stdout
            .starts_with("@all:\n  |--@ungrouped:\n  |--@region_bj:\n"),
        "{}",
        r.stdout
    );
    assert!(r
        .stdout
        .contains("  |--@region_gz:\n  |  |--@zone_gz01:\n  |  |  |--gz01a\n"));
    let r = run_in(
        d.path(),
        &[
            "inventory",
            "-i",
            "cloud.yml",
            "--graph",
            "zone_bj02",
            "--vars",
        ],
    );
    r.assert_code(0);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines[..2], ["@zone_bj02:", "  |--bj02a"]);
    assert!(
        lines.contains(&"  |  |--{yiqiu_zone = bj02}"),
        "{}",
        r.stdout
    );
    assert!(lines.contains(&"  |  |--{yiqiu_type = BM}"), "{}", r.stdout);
    let res = format!(
        "  |  |--{{yiqiu_resources = {{'cpu_mhz': 64000, 'ram': {}, 'disk': {}, 'iops': 40000}}}}",
        512 * GIB,
        8 * TIB
    );
    assert!(lines.contains(&res.as_str()), "{}", r.stdout);
    let r = run_in(
        d.path(),
        &["inventory", "-i", "cloud.yml", "--graph", "zone_xx"],
    );
    r.assert_code(5)
        .err_contains("Pattern must be valid group name when using --graph");
}

#[test]
fn limit_and_patterns_use_the_groups() {
    let d = cloud_project();
    let r = run_in(
        d.path(),
        &[
            "inventory",
            "-i",
            "cloud.yml",
            "--list",
            "--limit",
            "region_sh",
        ],
    );
    r.assert_code(0);
    let hv: Vec<String> = json_of(&r)["_meta"]["hostvars"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    assert_eq!(hv, ["sh01a", "sh02a", "sh02b", "sh03a"]);
    let r = run_in(
        d.path(),
        &[
            "-i",
            "cloud.yml",
            "roll.yml",
            "--list-hosts",
            "-l",
            "region_bj:!type_vm",
        ],
    );
    r.assert_code(0).out_contains("hosts (3):");
    for h in ["bj01b", "bj01c", "bj02b"] {
        r.out_contains(h);
    }
    assert!(
        !r.stdout.contains("bj01a") && !r.stdout.contains("sh01a"),
        "{}",
        r.stdout
    );
    let r = run_in(
        d.path(),
        &[
            "-i",
            "cloud.yml",
            "roll.yml",
            "--list-hosts",
            "-l",
            "type_bm:&region_gz",
        ],
    );
    r.assert_code(0)
        .out_contains("hosts (1):")
        .out_contains("gz03a");
}

/// The hosts that ran the `record` task, batch by batch (a batch starts at each PLAY banner).
fn batches_of(stdout: &str) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = Vec::new();
    let mut in_record = false;
    for line in stdout.lines() {
        if line.starts_with("PLAY [") {
            out.push(Vec::new());
        } else if line.starts_with("TASK [") {
            in_record = line.starts_with("TASK [record]");
        } else if in_record && line.starts_with("changed: [") {
            let host = line.trim_start_matches("changed: [").trim_end_matches(']');
            if let Some(b) = out.last_mut() {
                b.push(host.to_string());
            }
        }
    }
    out
}

/// Zones in the order the batches visit them, checking no batch mixes zones, no batch is over
/// `serial`, and no zone comes back after another one started.
fn zone_order(batches: &[Vec<String>]) -> Vec<&'static str> {
    let mut order: Vec<&'static str> = Vec::new();
    for b in batches {
        assert!(!b.is_empty() && b.len() <= 2, "batch {b:?} of {batches:?}");
        let zones: BTreeSet<&str> = b.iter().map(|h| zone_of(h)).collect();
        assert_eq!(zones.len(), 1, "batch {b:?} crosses zones: {batches:?}");
        let z = zone_of(&b[0]);
        if order.last() != Some(&z) {
            assert!(!order.contains(&z), "zone {z} revisited: {batches:?}");
            order.push(z);
        }
    }
    order
}

fn log_lines(d: &tempfile::TempDir) -> Vec<(String, String)> {
    std::fs::read_to_string(d.path().join("batches.log"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(z, h)| (z.to_string(), h.to_string()))
        .collect()
}

#[test]
fn rolling_batches_stay_inside_zones() {
    let d = cloud_project();
    let r = run_in(d.path(), &["-i", "cloud.yml", "roll.yml"]);
    r.assert_code(0);
    let batches = batches_of(&r.stdout);
    let order = zone_order(&batches);
    assert_eq!(order.len(), 9, "{batches:?}");
    // bj01 has 3 hosts: two batches of 2 and 1 with serial 2.
    assert_eq!(
        batches.iter().filter(|b| zone_of(&b[0]) == "bj01").count(),
        2
    );
    let log = log_lines(&d);
    assert_eq!(log.len(), 13, "{log:?}");
    for (z, h) in &log {
        assert_eq!(z, zone_of(h), "{log:?}");
    }
    // The log, like the banners, has each zone's hosts together.
    let mut seen: Vec<&str> = Vec::new();
    for (z, _) in &log {
        if seen.last() != Some(&z.as_str()) {
            assert!(!seen.contains(&z.as_str()), "zone {z} split in {log:?}");
            seen.push(z);
        }
    }
    assert_eq!(seen, order);

    // A play host without the variable stops the play before any batch runs.
    let d3 = cloud_project();
    let r = run_in(
        d3.path(),
        &["-i", "cloud.yml", "roll.yml", "-e", "yiqiu_batch_by=rack"],
    );
    r.assert_code(1)
        .err_contains("has no variable rack, which yiqiu_batch_by batches by");
    assert!(log_lines(&d3).is_empty());

    // Control: without yiqiu_batch_by (an empty -e turns it off) the same batches cross zones.
    let d2 = cloud_project();
    let r = run_in(
        d2.path(),
        &["-i", "cloud.yml", "roll.yml", "-e", "yiqiu_batch_by="],
    );
    r.assert_code(0);
    let crossing = batches_of(&r.stdout)
        .iter()
        .any(|b| b.iter().map(|h| zone_of(h)).collect::<BTreeSet<_>>().len() > 1);
    assert!(crossing, "{}", r.stdout);
}

#[test]
fn rollout_stops_at_the_first_failing_zone() {
    let d = cloud_project();
    let r = run_in(d.path(), &["-i", "cloud.yml", "roll.yml"]);
    r.assert_code(0);
    let order = zone_order(&batches_of(&r.stdout));
    let stop = order
        .iter()
        .position(|z| *z == "sh02")
        .expect("sh02 visited");
    assert!(stop + 1 < order.len(), "sh02 must not be last: {order:?}");

    let d = cloud_project();
    let r = run_in(
        d.path(),
        &["-i", "cloud.yml", "roll.yml", "-e", "fail_host=sh02b"],
    );
    r.assert_code(2)
        .out_contains("fatal: [sh02b]: FAILED!")
        .out_contains("NO MORE HOSTS LEFT");
    let reached: Vec<&str> = zone_order(&batches_of(&r.stdout));
    assert_eq!(reached, order[..=stop], "{}", r.stdout);
    let logged: BTreeSet<String> = log_lines(&d).into_iter().map(|(z, _)| z).collect();
    let expected: BTreeSet<String> = order[..=stop].iter().map(|z| z.to_string()).collect();
    assert_eq!(logged, expected);
    for z in &order[stop + 1..] {
        assert!(
            !r.stdout.contains(&format!("[{z}")),
            "zone {z} started:\n{}",
            r.stdout
        );
    }
}

#[test]
fn plain_rendering_is_the_same_model_and_runs() {
    let d = cloud_project();
    let cloud = json_of(&run_in(
        d.path(),
        &["inventory", "-i", "cloud.yml", "--list"],
    ));
    let plain = json_of(&run_in(
        d.path(),
        &["inventory", "-i", "plain.ini", "--list"],
    ));
    assert_eq!(cloud["_meta"]["hostvars"], plain["_meta"]["hostvars"]);
    for (g, v) in cloud.as_object().into_iter().flatten() {
        if g == "_meta" || g == "all" {
            continue;
        }
        let set = |x: &Value| x.as_array().map(|a| a.to_vec());
        let sorted = |x: Option<Vec<Value>>| {
            x.map(|mut a| {
                a.sort_by_key(|v| v.to_string());
                a
            })
        };
        assert_eq!(
            sorted(set(&v["hosts"])),
            sorted(set(&plain[g]["hosts"])),
            "{g}"
        );
        assert_eq!(
            sorted(set(&v["children"])),
            sorted(set(&plain[g]["children"])),
            "{g}"
        );
    }
    let r = run_in(d.path(), &["-i", "plain.ini", "roll.yml"]);
    r.assert_code(0);
    let order = zone_order(&batches_of(&r.stdout));
    assert_eq!(order.len(), 9);
    assert_eq!(log_lines(&d).len(), 13);
}

fn debug_play(expr: &str) -> String {
    format!("- hosts: localhost\n  gather_facts: false\n  tasks:\n    - debug:\n        msg: \"{expr}\"\n")
}

fn msg_list(r: &Run) -> Vec<String> {
    let start = r
        .stdout
        .find("\"msg\": [")
        .unwrap_or_else(|| panic!("{}\n{}", r.stdout, r.stderr));
    let end = start + r.stdout[start..].find(']').unwrap_or(0);
    r.stdout[start + 8..end]
        .split(',')
        .map(|s| s.trim().trim_matches('"').to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn spread_run(expr: &str) -> Run {
    let d = cloud_project();
    std::fs::write(d.path().join("p.yml"), debug_play(expr)).expect("write");
    run_in(d.path(), &["-i", "cloud.yml", "p.yml"])
}

#[test]
fn spread_balances_uneven_zones() {
    // region_sh: sh01 1 host, sh02 2, sh03 1; freest first (sh03a, then sh02a, ...).
    let r = spread_run("{{ groups['region_sh'] | spread(3) }}");
    r.assert_code(0);
    assert_eq!(msg_list(&r), ["sh03a", "sh02a", "sh01a"]);
    let r = spread_run("{{ groups['region_sh'] | spread(4) }}");
    assert_eq!(msg_list(&r), ["sh03a", "sh02a", "sh01a", "sh02b"]);
    // By region over all 13 hosts (bj 5, sh 4, gz 4): 9 picks are 3 per region.
    let r = spread_run("{{ groups['all'] | spread(9, by='yiqiu_region') }}");
    r.assert_code(0);
    let mut per: BTreeMap<&str, usize> = BTreeMap::new();
    for h in msg_list(&r) {
        *per.entry(&zone_of(&h)[..2]).or_default() += 1;
    }
    assert_eq!(per, BTreeMap::from([("bj", 3), ("gz", 3), ("sh", 3)]));
    // requires drops hosts without the room; used counts what is already placed.
    let r = spread_run("{{ groups['region_sh'] | spread(2, requires={'ram': '200G'}) }}");
    assert_eq!(msg_list(&r), ["sh03a", "sh02a"]);
}

#[test]
fn spread_fails_clearly_when_it_cannot() {
    let r = spread_run("{{ groups['region_bj'] | spread(3, max_per=1) }}");
    r.assert_code(2).err_contains(
        "spread(3, by='yiqiu_zone', max_per=1): cannot pick 3 hosts, only 2 can be placed (per yiqiu_zone: bj01 1, bj02 1)",
    );
    let r = spread_run(
        "{{ groups['region_sh'] | spread(2, requires={'ram': '200G'}, used={'sh03a': [{'ram': '900G'}]}) }}",
    );
    r.assert_code(2)
        .err_contains("only 1 can be placed (per yiqiu_zone: sh02 1); without the required resources: sh01a, sh02b, sh03a");
    let r = spread_run("{{ ['nohost'] | spread(1) }}");
    r.assert_code(2)
        .err_contains("'nohost' is not a host of the inventory");
}

#[test]
fn resource_check_refuses_an_overcommitted_host() {
    let play = "- hosts: zone_bj01
  gather_facts: false
  vars:
    units:
      bj01a: [{ram: 200G, cpu_mhz: 8000}, {ram: 100G}]
      bj01b: [{ram: 64G, disk: 1T}]
  tasks:
    - assert:
        that: inventory_hostname is fits(units[inventory_hostname] | default([]))
        fail_msg: \"over-committed: {{ inventory_hostname | overcommit(units[inventory_hostname] | default([])) }}\"
    - debug: {msg: \"{{ units.bj01a | resource_sum }}\"}
      when: inventory_hostname == 'bj01b'
";
    let d = cloud_project();
    std::fs::write(d.path().join("p.yml"), play).expect("write");
    let r = run_in(d.path(), &["-i", "cloud.yml", "p.yml"]);
    r.assert_code(2)
        .out_contains("fatal: [bj01a]: FAILED!")
        .out_contains(&format!("'available': {}", 256 * GIB))
        .out_contains(&format!("'requested': {}", 300 * GIB));
    r.assert_recap("bj01b", "ok=2 failed=0");
    r.assert_recap("bj01c", "ok=1 failed=0");
    r.out_contains(&format!("\"ram\": {}", 300 * GIB))
        .out_contains("\"cpu_mhz\": 8000");
}

/// Bad cloud inventories: each is reported with file:line:col and the host, and the run goes
/// on with what could be parsed, exactly as for a broken INI file (and as ansible-playbook).
#[test]
fn bad_input_names_file_line_and_host() {
    let good = cloud_yaml();
    let line_of = |text: &str, needle: &str| {
        1 + text
            .lines()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{needle}"))
    };
    let two_zones = good.replace(
        "          bj02b:",
        "          bj01b: {features: {type: CM}}\n          bj02b:",
    );
    let (first, second) = (line_of(&good, "bj01b:"), line_of(&two_zones, "bj02b:") - 1);
    let bad_type = good.replace("area: r41-u01, type: BM", "area: r41-u01, type: XM");
    let bad_unit = good.replace("cpu_mhz: 32000, ram: 128G", "cpu_mhz: 32000, ram: 128Q");
    let cases = [
        (
            two_zones,
            format!("host bj01b is in two zones: bj01 (line {first}) and bj02 (line {second})"),
            second,
        ),
        (
            bad_type,
            "host sh03a: unknown type 'XM'".to_string(),
            line_of(&good, "sh03a:"),
        ),
        (
            bad_unit,
            "host bj01b: resource ram is '128Q', not a number with a unit".to_string(),
            first,
        ),
    ];
    for (text, msg, line) in cases {
        assert!(text != good, "case {msg} did not change the inventory");
        let d = project(&[("bad.yml", &text), ("roll.yml", ROLLING)]);
        let path = d.path().join("bad.yml");
        let r = run_in(d.path(), &["inventory", "-i", "bad.yml", "--list"]);
        r.assert_code(0)
            .err_contains(&msg)
            .err_contains(&format!("Origin: {}:{line}:", path.display()))
            .err_contains(&format!(
                "Unable to parse {} as an inventory source",
                path.display()
            ));
        assert_eq!(
            json_of(&r)["all"]["children"],
            serde_json::json!(["ungrouped"])
        );
        let r = run_in(d.path(), &["-i", "bad.yml", "roll.yml"]);
        r.assert_code(0)
            .err_contains(&msg)
            .out_contains("skipping: no hosts matched");
        // Ansible's switch to make that fatal (exit 1) works for it as for any source.
        std::fs::write(
            d.path().join("ansible.cfg"),
            "[inventory]\nany_unparsed_is_failed = True\n",
        )
        .expect("write");
        let r = run_in(d.path(), &["-i", "bad.yml", "roll.yml"]);
        r.assert_code(1).err_contains(&msg).err_contains(&format!(
            "[ERROR]: Completely failed to parse inventory source {}",
            path.display()
        ));
        assert!(!r.stdout.contains("PLAY ["), "{}", r.stdout);
    }
    // The same as a broken INI inventory: warnings, no hosts, exit 0.
    let d = project(&[("bad.ini", "[web\nx\n"), ("roll.yml", ROLLING)]);
    let r = run_in(d.path(), &["-i", "bad.ini", "roll.yml"]);
    r.assert_code(0).out_contains("skipping: no hosts matched");
}
