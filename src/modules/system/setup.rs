//! `setup`: gathers facts in one round trip with a POSIX sh script (no Python on the host).
//!
//! The script prints sections (`@@yiqiu:<name>` then raw lines) that are parsed here on the
//! controller. Facts are returned without the `ansible_` prefix, as Ansible stores them in
//! `ansible_facts`; the executor injects the prefixed top-level variables.

use crate::modules::util::{exec_script, map, text};
use crate::modules::{ArgKind, ArgSpec, Args, Module, ModuleContext, ModuleError, ModuleResult};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

pub struct Setup;

const SPEC: &[ArgSpec] = &[
    ArgSpec::new("gather_subset", ArgKind::List),
    ArgSpec::new("filter", ArgKind::List),
    ArgSpec::new("gather_timeout", ArgKind::Int),
    ArgSpec::new("fact_path", ArgKind::Path),
];

const MARK: &str = "@@yiqiu:";

/// The fact-gathering script; `FACT_PATH` is substituted (quoted) before sending.
const SCRIPT: &str = r#"exec 2>/dev/null
m() { printf '\n@@yiqiu:%s\n' "$1"; }
m uname; uname -s; uname -r; uname -v; uname -m; uname -n
m hostname; hostname || uname -n
m fqdn
h=$(hostname || uname -n)
ip=$(getent hosts "$h" | awk '{print $1; exit}')
if [ -n "$ip" ]; then getent hosts "$ip" | head -n 1; fi
m osrelease; cat /etc/os-release || cat /usr/lib/os-release
m debian_version; cat /etc/debian_version
m cpuinfo; grep -E '^(processor|physical id|cpu cores|siblings)[[:space:]]*:' /proc/cpuinfo
m nproc; nproc
m meminfo; grep -E '^(MemTotal|MemFree|SwapTotal|SwapFree):' /proc/meminfo
m date; date '+%Y|%m|%d|%H|%M|%S|%s|%Z|%z|%A|%w|%W|%N'
m dateutc; date -u '+%Y-%m-%dT%H:%M:%SZ|%Y%m%dT%H%M%S'
m user; id -un; id -u; id -g; id -ru; id -rg
m passwd; getent passwd "$(id -un)" || grep "^$(id -un):" /etc/passwd
m env; env
m iproute; ip -4 route get 8.8.8.8
m ipaddr; ip -4 -o addr show
m procroute; cat /proc/net/route
m hostnamei; hostname -I
m fibtrie; command -v ip >/dev/null || cat /proc/net/fib_trie
m pid1; cat /proc/1/comm
m sysd; [ -d /run/systemd/system ] && echo yes
m openrc; [ -x /sbin/openrc ] && echo yes
m pkgmgrs
for p in apt-get dnf5 dnf yum apk pacman zypper emerge pkg xbps-install opkg swupd pkgin; do
  command -v "$p" >/dev/null && echo "$p"
done
m ifaces; for d in /sys/class/net/*; do echo "${d##*/} $(cat "$d/address") $(cat "$d/mtu")"; done
m selinux; if [ -r /sys/fs/selinux/enforce ]; then
  echo "enforce=$(cat /sys/fs/selinux/enforce)"; echo "policyvers=$(cat /sys/fs/selinux/policyvers)"
  grep -E '^SELINUX(TYPE)?=' /etc/selinux/config
fi
m python; py=PYTHON; [ -n "$py" ] || py=$(command -v python3 || command -v python)
[ -n "$py" ] && command -v "$py" >/dev/null && { echo "$py"; "$py" -V 2>&1; }
m local
if [ -d FACT_PATH ]; then
  for f in FACT_PATH/*.fact; do
    [ -e "$f" ] || [ -L "$f" ] || continue
    printf '\n@@yiqiu-fact:%s\n' "$f"
    if [ ! -e "$f" ]; then
      echo '@@yiqiu-nostat'
    elif [ -x "$f" ]; then
      e="${TMPDIR:-/tmp}/yiqiu-fact.$$"
      "$f" 2>"$e"; rc=$?
      [ "$rc" = 0 ] || printf '\n@@yiqiu-failed:%s %s\n' "$rc" "$(cat "$e")"
      rm -f "$e"
    else
      cat "$f"
    fi
  done
fi
m end
"#;

/// Splits the script output into sections.
fn sections(out: &str) -> BTreeMap<String, Vec<String>> {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut current = String::new();
    for line in out.lines() {
        if let Some(name) = line.strip_prefix(MARK) {
            current = name.to_string();
            map.entry(current.clone()).or_default();
            continue;
        }
        if !current.is_empty() {
            map.entry(current.clone())
                .or_default()
                .push(line.to_string());
        }
    }
    // The blank line printed before each marker is not part of the previous section.
    for lines in map.values_mut() {
        if lines.last().is_some_and(String::is_empty) {
            lines.pop();
        }
    }
    map
}

/// `KEY=value` lines of os-release, unquoted.
fn os_release(lines: &[String]) -> BTreeMap<String, String> {
    lines
        .iter()
        .filter_map(|l| {
            let (k, v) = l.split_once('=')?;
            let v = v.trim();
            let v = shlex::split(v)
                .and_then(|w| w.into_iter().next())
                .unwrap_or_else(|| v.trim_matches(['"', '\'']).to_string());
            Some((k.trim().to_string(), v))
        })
        .collect()
}

/// Ansible's distribution name for an os-release `ID`.
fn distribution_name(id: &str, name: &str) -> String {
    let known = match id {
        "debian" => "Debian",
        "ubuntu" => "Ubuntu",
        "raspbian" => "Debian",
        "linuxmint" => "Linux Mint",
        "kali" => "Kali",
        "devuan" => "Devuan",
        "pop" => "Pop!_OS",
        "centos" => "CentOS",
        "rhel" => "RedHat",
        "fedora" => "Fedora",
        "rocky" => "Rocky",
        "almalinux" => "AlmaLinux",
        "ol" => "OracleLinux",
        "amzn" => "Amazon",
        "scientific" => "Scientific",
        "cloudlinux" => "CloudLinux",
        "virtuozzo" => "Virtuozzo",
        "euleros" => "EulerOS",
        "openeuler" => "openEuler",
        "alpine" => "Alpine",
        "arch" => "Archlinux",
        "archarm" => "Archlinux",
        "manjaro" | "manjaro-arm" => "Manjaro",
        "endeavouros" => "EndeavourOS",
        "opensuse-leap" => "openSUSE Leap",
        "opensuse-tumbleweed" => "openSUSE Tumbleweed",
        "opensuse" => "openSUSE",
        "sles" => "SLES",
        "sles_sap" => "SLES_SAP",
        "sled" => "SLED",
        "gentoo" => "Gentoo",
        "void" => "Void",
        "nixos" => "NixOS",
        "clear-linux-os" => "Clear Linux OS",
        "slackware" => "Slackware",
        "mageia" => "Mageia",
        "altlinux" => "Altlinux",
        "photon" => "VMware Photon OS",
        "flatcar" => "Flatcar",
        "coreos" => "Coreos",
        _ => "",
    };
    if !known.is_empty() {
        return known.to_string();
    }
    if !name.is_empty() {
        return name.to_string();
    }
    "Linux".into()
}

/// Ansible's `OS_FAMILY_MAP`, then the os-release `ID_LIKE` as a fallback.
fn os_family(dist: &str, id_like: &str) -> String {
    const MAP: &[(&str, &[&str])] = &[
        (
            "RedHat",
            &[
                "RedHat",
                "Fedora",
                "CentOS",
                "Scientific",
                "SLC",
                "Ascendos",
                "CloudLinux",
                "PSBM",
                "OracleLinux",
                "OVS",
                "OEL",
                "Amazon",
                "Virtuozzo",
                "XenServer",
                "Alibaba",
                "EulerOS",
                "openEuler",
                "AlmaLinux",
                "Rocky",
                "TencentOS",
                "EuroLinux",
                "Kylin Linux Advanced Server",
                "MIRACLE",
            ],
        ),
        (
            "Debian",
            &[
                "Debian",
                "Ubuntu",
                "Raspbian",
                "Neon",
                "KDE neon",
                "Linux Mint",
                "SteamOS",
                "Devuan",
                "Kali",
                "Cumulus Linux",
                "Pop!_OS",
                "Parrot",
                "Pardus GNU/Linux",
                "Uos",
                "Deepin",
                "OSMC",
            ],
        ),
        (
            "Suse",
            &[
                "SuSE",
                "SLES",
                "SLED",
                "openSUSE",
                "openSUSE Tumbleweed",
                "SLES_SAP",
                "SUSE_LINUX",
                "openSUSE Leap",
                "ALP-Dolomite",
                "SL-Micro",
                "openSUSE MicroOS",
            ],
        ),
        ("Archlinux", &["Archlinux", "Antergos", "Manjaro"]),
        ("Mandrake", &["Mandrake", "Mandriva"]),
        (
            "Solaris",
            &["Solaris", "Nexenta", "OmniOS", "OpenIndiana", "SmartOS"],
        ),
        ("Slackware", &["Slackware"]),
        ("Altlinux", &["Altlinux"]),
        ("SMGL", &["SMGL"]),
        ("Gentoo", &["Gentoo", "Funtoo"]),
        ("Alpine", &["Alpine"]),
        ("AIX", &["AIX"]),
        ("HP-UX", &["HPUX"]),
        ("Darwin", &["MacOSX"]),
        ("FreeBSD", &["FreeBSD", "TrueOS"]),
        ("ClearLinux", &["Clear Linux OS", "Clear Linux Mix"]),
        (
            "DragonFly",
            &[
                "DragonflyBSD",
                "DragonFlyBSD",
                "Gentoo/DragonflyBSD",
                "Gentoo/DragonFlyBSD",
            ],
        ),
        ("NetBSD", &["NetBSD"]),
    ];
    for (family, names) in MAP {
        if names.contains(&dist) {
            return family.to_string();
        }
    }
    for like in id_like.split_whitespace() {
        let family = match like {
            "debian" | "ubuntu" => "Debian",
            "rhel" | "fedora" | "centos" => "RedHat",
            "suse" | "opensuse" | "sles" => "Suse",
            "arch" => "Archlinux",
            "gentoo" => "Gentoo",
            "alpine" => "Alpine",
            _ => continue,
        };
        return family.into();
    }
    dist.to_string()
}

fn first(s: &BTreeMap<String, Vec<String>>, key: &str) -> String {
    s.get(key)
        .and_then(|l| l.first())
        .map(|l| l.trim().to_string())
        .unwrap_or_default()
}

fn nth(s: &BTreeMap<String, Vec<String>>, key: &str, n: usize) -> String {
    s.get(key)
        .and_then(|l| l.get(n))
        .map(|l| l.trim().to_string())
        .unwrap_or_default()
}

fn int_value(s: &str) -> Value {
    s.trim()
        .parse::<i64>()
        .map(Value::from)
        .unwrap_or(Value::Null)
}

fn distribution_facts(s: &BTreeMap<String, Vec<String>>, f: &mut Map<String, Value>) {
    let osr = os_release(s.get("osrelease").map(Vec::as_slice).unwrap_or_default());
    let get = |k: &str| osr.get(k).cloned().unwrap_or_default();
    let dist = distribution_name(&get("ID"), &get("NAME"));
    let mut version = get("VERSION_ID");
    // Debian's point release lives in /etc/debian_version (12.11), as Ansible reads it.
    let debian_version = first(s, "debian_version");
    if dist == "Debian"
        && debian_version
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit())
    {
        version = debian_version;
    }
    let major = version.split('.').next().unwrap_or_default().to_string();
    let mut release = get("VERSION_CODENAME");
    if release.is_empty() {
        release = get("UBUNTU_CODENAME");
    }
    if release.is_empty() {
        // "9.3 (Plow)" carries the codename in parentheses.
        let v = get("VERSION");
        if let (Some(a), Some(b)) = (v.find('('), v.rfind(')')) {
            if a < b {
                release = v[a + 1..b].trim().to_string();
            }
        }
    }
    if release.is_empty() {
        release = "NA".into();
    }
    let family = os_family(&dist, &get("ID_LIKE"));
    f.insert("distribution".into(), Value::String(dist));
    f.insert("distribution_version".into(), Value::String(version));
    f.insert("distribution_major_version".into(), Value::String(major));
    f.insert("distribution_release".into(), Value::String(release));
    f.insert("os_family".into(), Value::String(family));
}

fn cpu_facts(s: &BTreeMap<String, Vec<String>>, f: &mut Map<String, Value>) {
    let mut vcpus = 0i64;
    let mut sockets = std::collections::BTreeSet::new();
    let mut cores = 0i64;
    let mut siblings = 0i64;
    for line in s.get("cpuinfo").into_iter().flatten() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let v = v.trim();
        match k.trim() {
            "processor" => vcpus += 1,
            "physical id" => {
                sockets.insert(v.to_string());
            }
            "cpu cores" => cores = v.parse().unwrap_or(cores),
            "siblings" => siblings = v.parse().unwrap_or(siblings),
            _ => {}
        }
    }
    let nproc: i64 = first(s, "nproc").parse().unwrap_or(vcpus);
    if vcpus == 0 {
        vcpus = nproc;
    }
    let count = if sockets.is_empty() {
        1
    } else {
        sockets.len() as i64
    };
    if cores == 0 {
        cores = (vcpus / count).max(1);
    }
    let threads = if siblings > 0 && cores > 0 {
        (siblings / cores).max(1)
    } else {
        1
    };
    f.insert("processor_count".into(), Value::from(count));
    f.insert("processor_cores".into(), Value::from(cores));
    f.insert("processor_threads_per_core".into(), Value::from(threads));
    f.insert("processor_vcpus".into(), Value::from(vcpus));
    f.insert("processor_nproc".into(), Value::from(nproc));
}

fn memory_facts(s: &BTreeMap<String, Vec<String>>, f: &mut Map<String, Value>) {
    for line in s.get("meminfo").into_iter().flatten() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let kb: i64 = v
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let key = match k {
            "MemTotal" => "memtotal_mb",
            "MemFree" => "memfree_mb",
            "SwapTotal" => "swaptotal_mb",
            "SwapFree" => "swapfree_mb",
            _ => continue,
        };
        f.insert(key.into(), Value::from(kb / 1024));
    }
}

fn date_facts(s: &BTreeMap<String, Vec<String>>, f: &mut Map<String, Value>) {
    let line = first(s, "date");
    let p: Vec<&str> = line.split('|').collect();
    if p.len() < 13 {
        return;
    }
    // %N is GNU; busybox and BSD print it literally.
    let micro = if p[12].len() >= 6 && p[12].bytes().all(|b| b.is_ascii_digit()) {
        p[12][..6].to_string()
    } else {
        "000000".to_string()
    };
    let utc = first(s, "dateutc");
    let (iso, iso_basic_short_utc) = utc.split_once('|').unwrap_or(("", ""));
    let _ = iso_basic_short_utc;
    let basic_short = format!("{}{}{}T{}{}{}", p[0], p[1], p[2], p[3], p[4], p[5]);
    let iso_micro = iso
        .strip_suffix('Z')
        .map(|b| format!("{b}.{micro}Z"))
        .unwrap_or_default();
    let dt = map([
        ("date", Value::String(format!("{}-{}-{}", p[0], p[1], p[2]))),
        ("day", Value::String(p[2].into())),
        ("epoch", Value::String(p[6].into())),
        ("epoch_int", Value::String(p[6].into())),
        ("hour", Value::String(p[3].into())),
        ("iso8601", Value::String(iso.into())),
        (
            "iso8601_basic",
            Value::String(format!("{basic_short}{micro}")),
        ),
        ("iso8601_basic_short", Value::String(basic_short)),
        ("iso8601_micro", Value::String(iso_micro)),
        ("minute", Value::String(p[4].into())),
        ("month", Value::String(p[1].into())),
        ("second", Value::String(p[5].into())),
        ("time", Value::String(format!("{}:{}:{}", p[3], p[4], p[5]))),
        ("tz", Value::String(p[7].into())),
        ("tz_dst", Value::String(p[7].into())),
        ("tz_offset", Value::String(p[8].into())),
        ("weekday", Value::String(p[9].into())),
        ("weekday_number", Value::String(p[10].into())),
        ("weeknumber", Value::String(p[11].into())),
        ("year", Value::String(p[0].into())),
    ]);
    f.insert("date_time".into(), Value::Object(dt));
}

fn user_facts(s: &BTreeMap<String, Vec<String>>, f: &mut Map<String, Value>) {
    f.insert("user_id".into(), Value::String(nth(s, "user", 0)));
    f.insert("user_uid".into(), int_value(&nth(s, "user", 1)));
    f.insert("user_gid".into(), int_value(&nth(s, "user", 2)));
    f.insert("effective_user_id".into(), int_value(&nth(s, "user", 1)));
    f.insert("effective_group_id".into(), int_value(&nth(s, "user", 2)));
    f.insert("real_user_id".into(), int_value(&nth(s, "user", 3)));
    f.insert("real_group_id".into(), int_value(&nth(s, "user", 4)));
    let pw = first(s, "passwd");
    let fields: Vec<&str> = pw.split(':').collect();
    if fields.len() >= 7 {
        f.insert(
            "user_gecos".into(),
            Value::String(fields[4].split(',').next().unwrap_or("").into()),
        );
        f.insert("user_dir".into(), Value::String(fields[5].into()));
        f.insert("user_shell".into(), Value::String(fields[6].into()));
    }
}

/// `env` output; a line that is not `NAME=...` continues the previous value.
fn env_facts(s: &BTreeMap<String, Vec<String>>) -> Map<String, Value> {
    let mut env: Vec<(String, String)> = Vec::new();
    for line in s.get("env").into_iter().flatten() {
        match line.split_once('=') {
            Some((k, v)) if crate::modules::util::is_identifier(k) => {
                env.push((k.into(), v.into()))
            }
            _ => {
                if let Some(last) = env.last_mut() {
                    last.1.push('\n');
                    last.1.push_str(line);
                }
            }
        }
    }
    env.sort();
    env.into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect()
}

fn hex_ipv4(h: &str) -> Option<String> {
    let n = u32::from_str_radix(h, 16).ok()?;
    let b = n.to_le_bytes();
    Some(format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3]))
}

fn prefix_netmask(prefix: u32) -> String {
    let mask: u32 = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix.min(32))
    };
    let b = mask.to_be_bytes();
    format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3])
}

fn parse_ipv4(s: &str) -> Option<u32> {
    s.parse::<std::net::Ipv4Addr>().ok().map(u32::from)
}

fn network_facts(s: &BTreeMap<String, Vec<String>>, f: &mut Map<String, Value>) {
    // Addresses per interface: `ip -4 -o addr show`, else `hostname -I`.
    let mut addrs: Vec<(String, String, u32, String)> = Vec::new(); // iface, addr, prefix, brd
    for line in s.get("ipaddr").into_iter().flatten() {
        let w: Vec<&str> = line.split_whitespace().collect();
        let Some(i) = w.iter().position(|x| *x == "inet") else {
            continue;
        };
        let iface = w
            .get(1)
            .map(|x| x.trim_end_matches(':'))
            .unwrap_or_default();
        let Some((addr, prefix)) = w.get(i + 1).and_then(|a| a.split_once('/')) else {
            continue;
        };
        let brd = w
            .iter()
            .position(|x| *x == "brd")
            .and_then(|j| w.get(j + 1))
            .map(|x| x.to_string())
            .unwrap_or_default();
        addrs.push((iface.into(), addr.into(), prefix.parse().unwrap_or(32), brd));
    }
    let mut all: Vec<String> = addrs
        .iter()
        .filter(|a| !a.1.starts_with("127."))
        .map(|a| a.1.clone())
        .collect();
    if addrs.is_empty() {
        all = first(s, "hostnamei")
            .split_whitespace()
            .filter(|a| parse_ipv4(a).is_some() && !a.starts_with("127."))
            .map(str::to_string)
            .collect();
        if all.is_empty() {
            all = fib_trie_locals(s.get("fibtrie").map(Vec::as_slice).unwrap_or_default());
        }
    }
    f.insert(
        "all_ipv4_addresses".into(),
        Value::Array(all.iter().cloned().map(Value::String).collect()),
    );

    // Default route: `ip route get`, else /proc/net/route.
    let (mut iface, mut gateway, mut address) = (String::new(), String::new(), String::new());
    let route = first(s, "iproute");
    let w: Vec<&str> = route.split_whitespace().collect();
    let after = |key: &str| {
        w.iter()
            .position(|x| *x == key)
            .and_then(|i| w.get(i + 1))
            .map(|x| x.to_string())
            .unwrap_or_default()
    };
    if !w.is_empty() {
        iface = after("dev");
        gateway = after("via");
        address = after("src");
    } else {
        for line in s.get("procroute").into_iter().flatten().skip(1) {
            let c: Vec<&str> = line.split_whitespace().collect();
            if c.len() > 2 && c[1] == "00000000" {
                iface = c[0].into();
                gateway = hex_ipv4(c[2]).unwrap_or_default();
                break;
            }
        }
        if let Some(a) = addrs.iter().find(|a| a.0 == iface) {
            address = a.1.clone();
        } else if let Some(a) = all.first() {
            address = a.clone();
        }
    }
    if iface.is_empty() && address.is_empty() {
        f.insert("default_ipv4".into(), Value::Object(Map::new()));
        return;
    }
    let mut d = map([
        ("address", Value::String(address.clone())),
        ("alias", Value::String(iface.clone())),
        ("gateway", Value::String(gateway)),
        ("interface", Value::String(iface.clone())),
    ]);
    if let Some(a) = addrs.iter().find(|a| a.1 == address) {
        d.insert("broadcast".into(), Value::String(a.3.clone()));
        d.insert("netmask".into(), Value::String(prefix_netmask(a.2)));
        if let Some(ip) = parse_ipv4(&address) {
            let mask = parse_ipv4(&prefix_netmask(a.2)).unwrap_or(0);
            d.insert(
                "network".into(),
                Value::String(std::net::Ipv4Addr::from(ip & mask).to_string()),
            );
        }
        d.insert("prefix".into(), Value::String(a.2.to_string()));
    }
    for line in s.get("ifaces").into_iter().flatten() {
        let c: Vec<&str> = line.split_whitespace().collect();
        if c.first() == Some(&iface.as_str()) {
            if let Some(mac) = c.get(1) {
                d.insert("macaddress".into(), Value::String((*mac).into()));
            }
            if let Some(mtu) = c.get(2) {
                d.insert("mtu".into(), int_value(mtu));
            }
        }
    }
    d.insert("type".into(), Value::String("ether".into()));
    f.insert("default_ipv4".into(), Value::Object(d));
}

/// Local addresses from /proc/net/fib_trie (`|-- a.b.c.d` followed by `/32 host LOCAL`).
fn fib_trie_locals(lines: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut last = "";
    for line in lines {
        let t = line.trim();
        if let Some(a) = t.strip_prefix("|-- ") {
            last = a;
        } else if t.contains("host LOCAL")
            && !last.starts_with("127.")
            && !out.iter().any(|o| o == last)
        {
            out.push(last.to_string());
        }
    }
    out
}

fn service_mgr(s: &BTreeMap<String, Vec<String>>) -> String {
    let comm = first(s, "pid1");
    let comm = comm.rsplit('/').next().unwrap_or_default().to_string();
    if !comm.is_empty() && comm != "init" && !comm.ends_with("sh") {
        return match comm.as_str() {
            "runit-init" => "runit".into(),
            "openrc-init" => "openrc".into(),
            _ => comm,
        };
    }
    if first(s, "sysd") == "yes" {
        "systemd".into()
    } else if first(s, "openrc") == "yes" {
        "openrc".into()
    } else if comm == "init" {
        "sysvinit".into()
    } else {
        "service".into()
    }
}

fn pkg_mgr(s: &BTreeMap<String, Vec<String>>, family: &str) -> String {
    let found: Vec<&str> = s
        .get("pkgmgrs")
        .into_iter()
        .flatten()
        .map(|l| l.trim())
        .collect();
    let has = |p: &str| found.contains(&p);
    let name = |p: &str| match p {
        "apt-get" => "apt".to_string(),
        "xbps-install" => "xbps".into(),
        other => other.to_string(),
    };
    let preferred: &[&str] = match family {
        "Debian" => &["apt-get"],
        "RedHat" => &["dnf5", "dnf", "yum"],
        "Alpine" => &["apk"],
        "Archlinux" => &["pacman"],
        "Suse" => &["zypper"],
        "Gentoo" => &["emerge"],
        _ => &[],
    };
    for p in preferred {
        if has(p) {
            return name(p);
        }
    }
    found
        .first()
        .map(|p| name(p))
        .unwrap_or_else(|| "unknown".into())
}

/// Local facts: JSON files (or executables printing JSON) in `fact_path`, by name.
/// `ansible_local`: each `*.fact` under fact_path, keyed by its name without `.fact`; JSON,
/// else INI; failures as Ansible words them (a script that fails, a dangling link, content
/// that is neither).
fn local_facts(s: &BTreeMap<String, Vec<String>>) -> Map<String, Value> {
    let mut out = Map::new();
    let mut current: Option<(String, String)> = None;
    let finish = |cur: Option<(String, String)>, out: &mut Map<String, Value>| {
        if let Some((path, body)) = cur {
            let name = path
                .rsplit('/')
                .next()
                .unwrap_or(&path)
                .trim_end_matches(".fact")
                .to_string();
            out.insert(name, local_fact(&path, &body));
        }
    };
    for line in s.get("local").into_iter().flatten() {
        if let Some(path) = line.strip_prefix("@@yiqiu-fact:") {
            finish(current.take(), &mut out);
            current = Some((path.to_string(), String::new()));
        } else if let Some((_, body)) = current.as_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    finish(current, &mut out);
    out
}

fn local_fact(path: &str, body: &str) -> Value {
    if body.trim() == "@@yiqiu-nostat" {
        return Value::String(format!(
            "Could not stat fact ({path}): [Errno 2] No such file or directory: '{path}'"
        ));
    }
    if let Some(failed) = body.lines().find_map(|l| l.strip_prefix("@@yiqiu-failed:")) {
        let (rc, err) = failed.split_once(' ').unwrap_or((failed, ""));
        return Value::String(format!(
            "Failure executing fact script ({path}), rc: {rc}, err: {err}"
        ));
    }
    serde_json::from_str(body).unwrap_or_else(|_| match parse_ini(body) {
        Value::String(_) => Value::String(format!(
            "error loading facts as JSON or ini - please check content: {path}"
        )),
        // configparser's interpolation refuses a lone `%` when the value is read.
        ini if has_bad_interpolation(&ini) => Value::String(format!(
            "error loading facts as ini - please check content: {path}"
        )),
        // configparser's reading of `%%` is `%`.
        Value::Object(mut sections) => {
            for sec in sections.values_mut() {
                for v in sec
                    .as_object_mut()
                    .into_iter()
                    .flat_map(|kv| kv.values_mut())
                {
                    if let Some(t) = v.as_str().filter(|t| t.contains("%%")) {
                        *v = Value::String(t.replace("%%", "%"));
                    }
                }
            }
            Value::Object(sections)
        }
        ini => ini,
    })
}

/// A `%` that is neither `%%` nor `%(name)s` in any value of the INI facts.
fn has_bad_interpolation(ini: &Value) -> bool {
    let bad = |v: &str| {
        let b = v.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' {
                match b.get(i + 1) {
                    Some(b'%') => i += 1,
                    Some(b'(') => {}
                    _ => return true,
                }
            }
            i += 1;
        }
        false
    };
    ini.as_object().is_some_and(|sections| {
        sections.values().any(|sec| {
            sec.as_object()
                .is_some_and(|kv| kv.values().any(|v| v.as_str().is_some_and(bad)))
        })
    })
}

/// INI local facts: `{section: {key: value}}`, as Ansible's configparser reading does.
fn parse_ini(body: &str) -> Value {
    let mut out = Map::new();
    let mut section: Option<String> = None;
    for line in body.lines() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') || t.starts_with(';') {
            continue;
        }
        if let Some(name) = t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            section = Some(name.to_string());
            out.entry(name.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            continue;
        }
        let Some(sec) = &section else {
            return Value::String(format!(
                "error loading facts as JSON or ini - please check content: {body}"
            ));
        };
        let (k, v) = t
            .split_once('=')
            .or_else(|| t.split_once(':'))
            .unwrap_or((t, ""));
        if let Some(Value::Object(m)) = out.get_mut(sec) {
            m.insert(k.trim().to_lowercase(), Value::String(v.trim().into()));
        }
    }
    Value::Object(out)
}

/// Turns the script's output into facts (keys without the `ansible_` prefix).
pub fn parse_facts(out: &str) -> Map<String, Value> {
    let s = sections(out);
    let mut f = Map::new();
    f.insert("system".into(), Value::String(nth(&s, "uname", 0)));
    f.insert("kernel".into(), Value::String(nth(&s, "uname", 1)));
    f.insert("kernel_version".into(), Value::String(nth(&s, "uname", 2)));
    let machine = nth(&s, "uname", 3);
    f.insert("machine".into(), Value::String(machine.clone()));
    let arch = match machine.as_str() {
        "i386" | "i486" | "i586" | "i686" => "i386".to_string(),
        other => other.to_string(),
    };
    f.insert("architecture".into(), Value::String(arch));
    let nodename = nth(&s, "uname", 4);
    f.insert("nodename".into(), Value::String(nodename.clone()));
    let full = {
        let h = first(&s, "hostname");
        if h.is_empty() {
            nodename
        } else {
            h
        }
    };
    let short = full.split('.').next().unwrap_or_default().to_string();
    // Python's getfqdn: the first name with a dot among the reverse lookup's names, else
    // its canonical name, else the host name.
    let names: Vec<String> = first(&s, "fqdn")
        .split_whitespace()
        .skip(1)
        .map(str::to_string)
        .collect();
    let fqdn = names
        .iter()
        .find(|n| n.contains('.'))
        .or(names.first())
        .cloned()
        .unwrap_or_else(|| full.clone());
    let domain = fqdn
        .split_once('.')
        .map(|(_, d)| d.to_string())
        .unwrap_or_default();
    f.insert("hostname".into(), Value::String(short));
    f.insert("fqdn".into(), Value::String(fqdn));
    f.insert("domain".into(), Value::String(domain));
    distribution_facts(&s, &mut f);
    cpu_facts(&s, &mut f);
    memory_facts(&s, &mut f);
    date_facts(&s, &mut f);
    user_facts(&s, &mut f);
    f.insert("env".into(), Value::Object(env_facts(&s)));
    network_facts(&s, &mut f);
    let family = f
        .get("os_family")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    f.insert("pkg_mgr".into(), Value::String(pkg_mgr(&s, &family)));
    f.insert("service_mgr".into(), Value::String(service_mgr(&s)));
    f.insert("local".into(), Value::Object(local_facts(&s)));
    f.insert("selinux".into(), selinux_facts(&s));
    if let Some(py) = python_facts(&s) {
        let v = &py["version"];
        f.insert(
            "python_version".into(),
            Value::String(format!("{}.{}.{}", v["major"], v["minor"], v["micro"])),
        );
        f.insert("python".into(), py);
    }
    f
}

/// `ansible_selinux`, read from selinuxfs and /etc/selinux/config (Ansible asks the
/// selinux Python library for the same values).
fn selinux_facts(s: &BTreeMap<String, Vec<String>>) -> Value {
    let kv: BTreeMap<&str, &str> = s
        .get("selinux")
        .into_iter()
        .flatten()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect();
    let Some(enforce) = kv.get("enforce") else {
        return serde_json::json!({"status": "disabled"});
    };
    let mode = |v: &str| match v {
        "1" | "enforcing" => "enforcing",
        "0" | "permissive" => "permissive",
        _ => "disabled",
    };
    serde_json::json!({
        "status": "enabled",
        "mode": mode(enforce),
        "config_mode": mode(kv.get("SELINUX").copied().unwrap_or("disabled")),
        "type": kv.get("SELINUXTYPE").copied().unwrap_or("unknown"),
        "policyvers": kv.get("policyvers").map(|v| int_value(v)).unwrap_or(Value::Null),
    })
}

/// `ansible_python` where the target has a Python (we never need one): its path and
/// `python -V`'s version, in Ansible's shape.
fn python_facts(s: &BTreeMap<String, Vec<String>>) -> Option<Value> {
    let lines = s.get("python")?;
    let exe = lines.first().filter(|l| l.starts_with('/'))?;
    let version = lines.get(1)?.strip_prefix("Python ")?.trim();
    let mut nums = version
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .map(|p| p.parse::<i64>().unwrap_or(0));
    let (major, minor, micro) = (
        nums.next()?,
        nums.next().unwrap_or(0),
        nums.next().unwrap_or(0),
    );
    Some(serde_json::json!({
        "executable": exe,
        "has_sslcontext": true,
        "type": "cpython",
        "version": {"major": major, "micro": micro, "minor": minor, "releaselevel": "final", "serial": 0},
        "version_info": [major, minor, micro, "final", 0],
    }))
}

/// Keeps the facts whose `ansible_`-prefixed name matches one of the `filter` globs.
fn apply_filter(
    facts: Map<String, Value>,
    filters: &[String],
) -> Result<Map<String, Value>, String> {
    let pats = filters
        .iter()
        .map(|p| glob::Pattern::new(p).map_err(|e| format!("invalid filter '{p}': {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(facts
        .into_iter()
        .filter(|(k, _)| {
            let full = format!("ansible_{k}");
            pats.iter().any(|p| p.matches(&full) || p.matches(k))
        })
        .collect())
}

impl Module for Setup {
    fn name(&self) -> &'static str {
        "setup"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn run(&self, args: &Args, ctx: &mut ModuleContext) -> ModuleResult {
        let fact_path = args.str("fact_path").unwrap_or("/etc/ansible/facts.d");
        // The interpreter the inventory names (as Ansible reports it), else the first on PATH.
        let python = ctx
            .eval
            .eval_expr("ansible_python_interpreter | default('')")
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .filter(|p| p.starts_with('/'))
            .unwrap_or_default();
        let script = SCRIPT
            .replace("FACT_PATH", &crate::modules::util::shell_path(fact_path))
            .replace("PYTHON", &crate::connection::quote(&python));
        let out = exec_script(ctx, script)?;
        let stdout = text(&out.stdout);
        if !stdout.contains("@@yiqiu:end") {
            return Err(ModuleError::msg(format!(
                "fact gathering script failed (rc={}): {}",
                out.rc,
                text(&out.stderr).trim()
            )));
        }
        let mut facts = parse_facts(&stdout);
        let subset: Vec<Value> = args
            .list("gather_subset")
            .cloned()
            .unwrap_or_else(|| vec![Value::String("all".into())]);
        let filters: Vec<String> = args
            .list("filter")
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .filter(|s| !s.is_empty())
            .collect();
        if !filters.is_empty() {
            facts = apply_filter(facts, &filters).map_err(ModuleError::msg)?;
        } else {
            facts.insert("gather_subset".into(), Value::Array(subset));
            facts.insert("module_setup".into(), Value::Bool(true));
        }
        // The module's result names facts `ansible_*` as Ansible's setup does; the executor
        // drops the prefix when it stores them under `ansible_facts`.
        let facts: Map<String, Value> = facts
            .into_iter()
            .map(|(k, v)| {
                let k = if k.starts_with("ansible_") || k == "gather_subset" || k == "module_setup"
                {
                    k
                } else {
                    format!("ansible_{k}")
                };
                (k, v)
            })
            .collect();
        Ok(map([
            ("ansible_facts", Value::Object(facts)),
            ("changed", Value::Bool(false)),
        ]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::util::test_support::run;
    use serde_json::json;

    #[test]
    fn local_fact_failures_are_worded_as_ansible() {
        use super::local_fact;
        let p = "/f/x.fact";
        assert!(local_fact(p, "@@yiqiu-nostat\n")
            .as_str()
            .unwrap()
            .starts_with("Could not stat fact (/f/x.fact)"));
        assert_eq!(
            local_fact(p, "\n@@yiqiu-failed:1 boom\n"),
            json!("Failure executing fact script (/f/x.fact), rc: 1, err: boom")
        );
        assert_eq!(
            local_fact(p, "k=v\n"),
            json!("error loading facts as JSON or ini - please check content: /f/x.fact")
        );
        assert_eq!(
            local_fact(p, "[s]\nv = a % b\n"),
            json!("error loading facts as ini - please check content: /f/x.fact")
        );
        assert_eq!(local_fact(p, "[s]\nv = 100%%\n")["s"]["v"], json!("100%"));
    }

    #[test]
    fn python_fact_from_path_and_version() {
        let mut s = BTreeMap::new();
        s.insert(
            "python".to_string(),
            vec!["/usr/bin/python3".to_string(), "Python 3.11.2".to_string()],
        );
        let py = super::python_facts(&s).unwrap();
        assert_eq!(py["executable"], json!("/usr/bin/python3"));
        assert_eq!(py["version_info"], json!([3, 11, 2, "final", 0]));
        assert!(super::python_facts(&BTreeMap::new()).is_none());
    }

    #[test]
    fn gathers_core_facts_locally() {
        let r = run(&Setup, json!({})).unwrap();
        let f = r["ansible_facts"].as_object().unwrap();
        assert_eq!(f["ansible_system"], json!("Linux"));
        assert!(!f["ansible_hostname"].as_str().unwrap().is_empty());
        assert!(!f["ansible_hostname"].as_str().unwrap().contains('.'));
        assert!(f["ansible_processor_vcpus"].as_i64().unwrap() >= 1);
        assert!(f["ansible_memtotal_mb"].as_i64().unwrap() > 0);
        assert_eq!(
            f["ansible_user_uid"].as_i64().unwrap(),
            unsafe { libc::getuid() } as i64
        );
        assert!(f["ansible_env"].as_object().unwrap().contains_key("PATH"));
        assert_eq!(f["ansible_date_time"]["epoch"].as_str().unwrap().len(), 10);
        // Reported only where the target has a Python (this machine has python3).
        if std::path::Path::new("/usr/bin/python3").exists() {
            assert!(f["ansible_python"]["executable"]
                .as_str()
                .is_some_and(|p| p.starts_with('/')));
        }
        assert_eq!(f["module_setup"], json!(true));
        assert_eq!(r["changed"], json!(false));
    }

    #[test]
    fn local_facts_from_fact_path() {
        use std::os::unix::fs::PermissionsExt;
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join("app.fact"), "{\"port\": 8080}").unwrap();
        let exe = t.path().join("gen.fact");
        std::fs::write(&exe, "#!/bin/sh\necho '{\"x\": [1]}'\n").unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        let r = run(
            &Setup,
            json!({"fact_path": t.path().display().to_string(), "filter": "ansible_local"}),
        )
        .unwrap();
        assert_eq!(
            r["ansible_facts"]["ansible_local"],
            json!({"app": {"port": 8080}, "gen": {"x": [1]}})
        );
    }

    #[test]
    fn filter_by_glob() {
        let r = run(
            &Setup,
            json!({"filter": ["ansible_distribution*", "kernel"]}),
        )
        .unwrap();
        let f = r["ansible_facts"].as_object().unwrap();
        assert!(f.contains_key("ansible_distribution"));
        assert!(f.contains_key("ansible_kernel"));
        assert!(!f.contains_key("ansible_hostname"));
        assert!(!f.contains_key("module_setup"));
    }

    const SAMPLE: &str = "\n@@yiqiu:uname\nLinux\n5.10\n#1 SMP\nx86_64\nweb1.example.com\n\
\n@@yiqiu:hostname\nweb1.example.com\n\
\n@@yiqiu:fqdn\n10.0.0.5      web1.example.com web1\n\
\n@@yiqiu:osrelease\nNAME=\"Rocky Linux\"\nID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nVERSION=\"9.3 (Blue Onyx)\"\nVERSION_ID=\"9.3\"\n\
\n@@yiqiu:cpuinfo\nprocessor\t: 0\nphysical id\t: 0\ncpu cores\t: 2\nsiblings\t: 4\nprocessor\t: 1\nphysical id\t: 0\nprocessor\t: 2\nprocessor\t: 3\n\
\n@@yiqiu:meminfo\nMemTotal:        2048000 kB\nMemFree:          1024000 kB\n\
\n@@yiqiu:date\n2026|11|23|05|30|05|1795411805|UTC|+0000|Monday|1|47|170806123\n\
\n@@yiqiu:dateutc\n2026-11-23T05:30:05Z|20261123T053005\n\
\n@@yiqiu:user\ndeploy\n1000\n1000\n1000\n1000\n\
\n@@yiqiu:passwd\ndeploy:x:1000:1000:Deploy User,,,:/home/deploy:/bin/bash\n\
\n@@yiqiu:env\nHOME=/home/deploy\nMULTI=a\nb\n\
\n@@yiqiu:iproute\n\
\n@@yiqiu:ipaddr\n\
\n@@yiqiu:procroute\nIface\tDestination\tGateway \tFlags\neth0\t00000000\t0100000A\t0003\n\
\n@@yiqiu:hostnamei\n10.0.0.5 \n\
\n@@yiqiu:pid1\nsystemd\n\
\n@@yiqiu:pkgmgrs\nyum\ndnf\n\
\n@@yiqiu:local\n@@yiqiu-fact:app\n{\"v\": 1}\n@@yiqiu-fact:ini\n[s]\nK = v\n\
\n@@yiqiu:end\n";

    #[test]
    fn selinux_status_from_selinuxfs_and_config() {
        let f = parse_facts("@@yiqiu:selinux\n@@yiqiu:end\n");
        assert_eq!(f["selinux"], json!({"status": "disabled"}));
        let f = parse_facts(
            "@@yiqiu:selinux\nenforce=0\npolicyvers=33\nSELINUX=enforcing\nSELINUXTYPE=targeted\n@@yiqiu:end\n",
        );
        assert_eq!(
            f["selinux"],
            json!({"status": "enabled", "mode": "permissive", "config_mode": "enforcing",
                   "type": "targeted", "policyvers": 33})
        );
    }

    #[test]
    fn parses_a_redhat_host_without_ip_command() {
        let f = parse_facts(SAMPLE);
        assert_eq!(f["hostname"], json!("web1"));
        assert_eq!(f["fqdn"], json!("web1.example.com"));
        assert_eq!(f["domain"], json!("example.com"));
        assert_eq!(f["distribution"], json!("Rocky"));
        assert_eq!(f["os_family"], json!("RedHat"));
        assert_eq!(f["distribution_version"], json!("9.3"));
        assert_eq!(f["distribution_major_version"], json!("9"));
        assert_eq!(f["distribution_release"], json!("Blue Onyx"));
        assert_eq!(f["processor_count"], json!(1));
        assert_eq!(f["processor_cores"], json!(2));
        assert_eq!(f["processor_threads_per_core"], json!(2));
        assert_eq!(f["processor_vcpus"], json!(4));
        assert_eq!(f["memtotal_mb"], json!(2000));
        assert_eq!(f["memfree_mb"], json!(1000));
        assert_eq!(
            f["date_time"]["iso8601_micro"],
            json!("2026-11-23T05:30:05.170806Z")
        );
        assert_eq!(f["date_time"]["weekday"], json!("Monday"));
        assert_eq!(f["user_id"], json!("deploy"));
        assert_eq!(f["user_uid"], json!(1000));
        assert_eq!(f["user_gecos"], json!("Deploy User"));
        assert_eq!(f["user_dir"], json!("/home/deploy"));
        assert_eq!(f["env"]["MULTI"], json!("a\nb"));
        assert_eq!(f["default_ipv4"]["gateway"], json!("10.0.0.1"));
        assert_eq!(f["default_ipv4"]["interface"], json!("eth0"));
        assert_eq!(f["default_ipv4"]["address"], json!("10.0.0.5"));
        assert_eq!(f["all_ipv4_addresses"], json!(["10.0.0.5"]));
        assert_eq!(f["service_mgr"], json!("systemd"));
        assert_eq!(f["pkg_mgr"], json!("dnf"));
        assert_eq!(
            f["local"],
            json!({"app": {"v": 1}, "ini": {"s": {"k": "v"}}})
        );
    }

    #[test]
    fn family_mapping() {
        assert_eq!(os_family("Ubuntu", ""), "Debian");
        assert_eq!(os_family("openSUSE Leap", ""), "Suse");
        assert_eq!(os_family("Alpine", ""), "Alpine");
        assert_eq!(os_family("Something", "debian"), "Debian");
        assert_eq!(os_family("Weird", ""), "Weird");
        assert_eq!(distribution_name("arch", "Arch Linux"), "Archlinux");
        assert_eq!(
            fib_trie_locals(&[
                "  |-- 10.1.2.3".into(),
                "     /32 host LOCAL".into(),
                "  |-- 127.0.0.1".into(),
                "     /32 host LOCAL".into()
            ]),
            vec!["10.1.2.3"]
        );
    }
}
