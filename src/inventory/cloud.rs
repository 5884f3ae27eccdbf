//! The host cloud inventory (seed 004, "资源规划模块"): a YAML file whose top-level key is
//! `regions:`, nested Region > Zone > Host, each level with optional `vars:`:
//!
//! ```yaml
//! regions:
//!   bj:
//!     vars: {ntp: 10.0.0.1}
//!     zones:
//!       bj01:
//!         hosts:
//!           h1: {ansible_host: 10.1.0.11, features: {area: r12-u07, type: VM},
//!                resources: {cpu_mhz: 48000, ram: 256G, disk: 4T, iops: 20000}, groups: [cache]}
//! ```
//!
//! It becomes an ordinary inventory, so everything downstream (patterns, `--limit`,
//! group_vars, `yiqiu-play inventory`) works unchanged: groups `region_<r>` (children
//! `zone_<z>`), `zone_<z>` (its hosts), `type_vm|cm|bm` and each group a host lists; host vars
//! `yiqiu_region`, `yiqiu_zone`, `yiqiu_area`, `yiqiu_type` and `yiqiu_resources` (bytes, MHz).

use super::graph::SourceInfo;
use super::host_range::expand_hostpattern;
use super::ini::set_group_var;
use super::sizes::Resource;
use super::Inventory;
use crate::error::{Error, Origin, Result};
use crate::yaml::{Node, NodeValue};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Host variables this source sets from where the host sits; a host may not set them.
const DERIVED_VARS: [&str; 5] = [
    "yiqiu_region",
    "yiqiu_zone",
    "yiqiu_area",
    "yiqiu_type",
    "yiqiu_resources",
];
const TYPES: [&str; 3] = ["VM", "CM", "BM"];

/// Whether a parsed YAML document is a host cloud inventory: a top-level `regions:` mapping of
/// region names. A plain YAML inventory may have a group called `regions`; its mapping holds
/// `hosts`, `children` or `vars` (or nothing), so it stays a plain inventory.
pub(crate) fn is_cloud(doc: &Node) -> bool {
    let Some(pairs) = doc.get("regions").and_then(Node::as_map) else {
        return false;
    };
    !pairs.is_empty()
        && pairs
            .iter()
            .all(|(k, _)| !["hosts", "children", "vars"].contains(&k.key_string().as_str()))
}

/// Where one host was first placed, to report a host listed twice.
struct Placed {
    zone: String,
    line: usize,
}

/// Parse state for one file.
struct Cloud<'a> {
    inv: &'a mut Inventory,
    source: &'a SourceInfo,
    hosts: HashMap<String, Placed>,
    zones: HashMap<String, String>,
}

/// Adds the file's regions, zones and hosts to `inv`.
pub(crate) fn parse(inv: &mut Inventory, doc: &Node, source: &SourceInfo) -> Result<()> {
    let mut cloud = Cloud {
        inv,
        source,
        hosts: HashMap::new(),
        zones: HashMap::new(),
    };
    for (k, v) in mapping(doc, "the file", None)? {
        match k.key_string().as_str() {
            "regions" => {
                for (rk, rv) in mapping(v, "regions", None)? {
                    cloud.region(rk, rv)?;
                }
            }
            "vars" => cloud.group_vars("all", v)?,
            other => return Err(unexpected(k, other, "the top level", &["regions", "vars"])),
        }
    }
    Ok(())
}

impl Cloud<'_> {
    fn region(&mut self, key: &Node, data: &Node) -> Result<()> {
        let name = level_name(key, "region")?;
        let group = format!("region_{name}");
        self.inv.ensure_group(&group);
        for (k, v) in mapping(data, &format!("region {name}"), None)? {
            match k.key_string().as_str() {
                "vars" => self.group_vars(&group, v)?,
                "zones" => {
                    for (zk, zv) in mapping(v, &format!("zones of region {name}"), None)? {
                        self.zone(&name, zk, zv)?;
                    }
                }
                other => {
                    return Err(unexpected(
                        k,
                        other,
                        &format!("region {name}"),
                        &["vars", "zones"],
                    ))
                }
            }
        }
        Ok(())
    }

    fn zone(&mut self, region: &str, key: &Node, data: &Node) -> Result<()> {
        let name = level_name(key, "zone")?;
        // Zone groups are named by the zone alone, so a zone name may appear once per file.
        if let Some(other) = self.zones.insert(name.clone(), region.to_string()) {
            return Err(at(
                key,
                format!("zone {name} is listed twice (in region {other} and in region {region})"),
                "Give each zone a name of its own: it becomes the group zone_<name>.",
            ));
        }
        let group = format!("zone_{name}");
        self.inv.ensure_group(&group);
        self.inv
            .add_child(&format!("region_{region}"), &group)
            .map_err(|m| at(key, m, "Rename the zone or the group it clashes with."))?;
        for (k, v) in mapping(data, &format!("zone {name}"), None)? {
            match k.key_string().as_str() {
                "vars" => self.group_vars(&group, v)?,
                "hosts" => {
                    for (hk, hv) in mapping(v, &format!("hosts of zone {name}"), None)? {
                        self.host(region, &name, hk, hv)?;
                    }
                }
                other => {
                    return Err(unexpected(
                        k,
                        other,
                        &format!("zone {name}"),
                        &["vars", "hosts"],
                    ))
                }
            }
        }
        Ok(())
    }

    fn group_vars(&mut self, group: &str, data: &Node) -> Result<()> {
        for (k, v) in mapping(data, &format!("vars of {group}"), None)? {
            set_group_var(self.inv, group, &k.key_string(), v.to_json());
        }
        Ok(())
    }

    fn host(&mut self, region: &str, zone: &str, key: &Node, data: &Node) -> Result<()> {
        let Some(pattern) = key.as_str() else {
            return Err(at(
                key,
                format!("host name {} must be a string", key.key_string()),
                "Quote host names that look like numbers.",
            ));
        };
        let (names, port) = expand_hostpattern(pattern)
            .map_err(|m| at(key, m, "Fix the host name or its [a:b] range."))?;
        let host = HostData::read(pattern, data)?;
        for name in names {
            self.place(&name, zone, key)?;
            self.add_host(&name, port, region, zone, &host);
        }
        Ok(())
    }

    /// Refuses a host already placed in a zone (in this file or an earlier source).
    fn place(&mut self, name: &str, zone: &str, key: &Node) -> Result<()> {
        if let Some(first) = self.hosts.get(name).filter(|f| f.zone == zone) {
            return Err(at(
                key,
                format!(
                    "host {name} is listed twice in zone {zone} (lines {} and {})",
                    first.line, key.origin.line
                ),
                "Remove one of the two entries (merge their variables).",
            ));
        }
        if let Some(first) = self.hosts.get(name) {
            return Err(at(
                key,
                format!(
                    "host {name} is in two zones: {} (line {}) and {zone} (line {})",
                    first.zone, first.line, key.origin.line
                ),
                "A host sits in exactly one zone: remove one of the two entries.",
            ));
        }
        let earlier = self
            .inv
            .hosts
            .get(name)
            .and_then(|h| h.vars.get("yiqiu_zone"))
            .and_then(Value::as_str)
            .filter(|z| *z != zone);
        if let Some(other) = earlier {
            return Err(at(
                key,
                format!(
                    "host {name} is in two zones: {other} (an earlier inventory source) and {zone}"
                ),
                "A host sits in exactly one zone: remove it from one of the sources.",
            ));
        }
        self.hosts.insert(
            name.to_string(),
            Placed {
                zone: zone.to_string(),
                line: key.origin.line,
            },
        );
        Ok(())
    }

    fn add_host(&mut self, name: &str, port: Option<u16>, region: &str, zone: &str, d: &HostData) {
        let inv = &mut *self.inv;
        inv.ensure_host(name, port, Some(self.source));
        let zone_group = format!("zone_{zone}");
        inv.put_host_in_group(name, &zone_group);
        let mut groups: Vec<String> = d
            .kind
            .iter()
            .map(|t| format!("type_{}", t.to_lowercase()))
            .collect();
        groups.extend(d.groups.iter().cloned());
        for g in &groups {
            inv.ensure_group(g);
            inv.put_host_in_group(name, g);
        }
        let Some(h) = inv.hosts.get_mut(name) else {
            return;
        };
        for (k, v) in &d.vars {
            h.vars.insert(k.clone(), v.clone());
        }
        h.vars.insert("yiqiu_region".into(), Value::from(region));
        h.vars.insert("yiqiu_zone".into(), Value::from(zone));
        if let Some(area) = &d.area {
            h.vars
                .insert("yiqiu_area".into(), Value::from(area.as_str()));
        }
        if let Some(kind) = &d.kind {
            h.vars
                .insert("yiqiu_type".into(), Value::from(kind.as_str()));
        }
        if let Some(res) = &d.resources {
            h.vars
                .insert("yiqiu_resources".into(), Value::Object(res.clone()));
        }
    }
}

/// One host entry, read and checked before anything is added.
#[derive(Default)]
struct HostData {
    vars: Map<String, Value>,
    area: Option<String>,
    kind: Option<String>,
    resources: Option<Map<String, Value>>,
    groups: Vec<String>,
}

impl HostData {
    /// `features`, `resources` and `groups` are read here; any other key is a host variable.
    fn read(host: &str, data: &Node) -> Result<HostData> {
        let mut d = HostData::default();
        for (k, v) in mapping(data, &format!("host {host}"), Some(host))? {
            let key = k.key_string();
            match key.as_str() {
                "features" => d.features(host, v)?,
                "resources" => d.resources = Some(resources(host, v)?),
                "groups" => d.groups = groups(host, v)?,
                _ if DERIVED_VARS.contains(&key.as_str()) => return Err(at(
                    k,
                    format!("host {host}: {key} is set by the inventory from where the host sits"),
                    "Remove it: move the host to another zone, or set features/resources instead.",
                )),
                _ => {
                    d.vars.insert(key, v.to_json());
                }
            }
        }
        Ok(d)
    }

    fn features(&mut self, host: &str, data: &Node) -> Result<()> {
        for (k, v) in mapping(data, &format!("features of host {host}"), Some(host))? {
            match k.key_string().as_str() {
                "area" => self.area = Some(scalar_text(v, host, "features.area")?),
                "type" => self.kind = Some(host_type(host, v)?),
                other => {
                    return Err(unexpected(
                        k,
                        other,
                        &format!("the features of host {host}"),
                        &["area", "type"],
                    ))
                }
            }
        }
        Ok(())
    }
}

fn host_type(host: &str, v: &Node) -> Result<String> {
    let text = scalar_text(v, host, "features.type")?;
    let upper = text.to_ascii_uppercase();
    if TYPES.contains(&upper.as_str()) {
        return Ok(upper);
    }
    Err(at(
        v,
        format!("host {host}: unknown type '{text}'"),
        "features.type must be VM (virtual machines), CM (containers) or BM (bare metal).",
    ))
}

/// `resources:` as numbers in base units: bytes for ram/disk, MHz for cpu_mhz.
fn resources(host: &str, data: &Node) -> Result<Map<String, Value>> {
    let mut out = Map::new();
    for (k, v) in mapping(data, &format!("resources of host {host}"), Some(host))? {
        let key = k.key_string();
        let Some(res) = Resource::from_name(&key) else {
            let names: Vec<&str> = Resource::ALL.iter().map(|r| r.name()).collect();
            return Err(unexpected(
                k,
                &key,
                &format!("the resources of host {host}"),
                &names,
            ));
        };
        let Some(amount) = res.parse(&v.to_json()) else {
            return Err(at(
                v,
                format!(
                    "host {host}: resource {key} is '{}', not a number with a unit",
                    v.key_string()
                ),
                format!("Write {key} as {}.", res.expected()),
            ));
        };
        out.insert(key, Value::from(amount));
    }
    Ok(out)
}

fn groups(host: &str, data: &Node) -> Result<Vec<String>> {
    let items: Vec<&Node> = match &data.value {
        NodeValue::Seq(items) => items.iter().collect(),
        NodeValue::Str(_) => vec![data],
        NodeValue::Null => Vec::new(),
        _ => {
            return Err(at(
                data,
                format!("host {host}: groups must be a list of group names"),
                "Write groups: [cache, web].",
            ))
        }
    };
    items
        .into_iter()
        .map(|g| {
            let name = scalar_text(g, host, "groups")?;
            if name.is_empty() || name == "all" {
                return Err(at(
                    g,
                    format!("host {host}: '{name}' cannot be listed in groups"),
                    "Name a group of your own (every host is in all already).",
                ));
            }
            Ok(name)
        })
        .collect()
}

/// A scalar as text (`area: 12` is the string "12").
fn scalar_text(v: &Node, host: &str, what: &str) -> Result<String> {
    match &v.value {
        NodeValue::Str(s) => Ok(s.clone()),
        NodeValue::Int(_) | NodeValue::Float(_) => Ok(v.key_string()),
        _ => Err(at(
            v,
            format!(
                "host {host}: {what} must be a string, not a {}",
                v.type_name()
            ),
            format!("Write {what} as a plain word."),
        )),
    }
}

/// Region and zone names become group names, so they keep to Ansible's group-name rules.
fn level_name(key: &Node, level: &str) -> Result<String> {
    let name = key.key_string();
    let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        return Ok(name);
    }
    Err(at(
        key,
        format!("{level} name '{name}' can only have letters, digits and _"),
        format!("It becomes the group {level}_{name}; rename it (e.g. with _ for -)."),
    ))
}

/// The pairs of a mapping; null is an empty mapping.
fn mapping<'n>(node: &'n Node, what: &str, host: Option<&str>) -> Result<&'n [(Node, Node)]> {
    match &node.value {
        NodeValue::Map(m) => Ok(m),
        NodeValue::Null => Ok(&[]),
        _ => {
            let who = host.map(|h| format!("host {h}: ")).unwrap_or_default();
            Err(at(
                node,
                format!("{who}{what} must be a mapping, not a {}", node.type_name()),
                "See \"Host cloud inventory\" in the README for the layout.",
            ))
        }
    }
}

fn unexpected(key: &Node, name: &str, place: &str, valid: &[&str]) -> Error {
    at(
        key,
        format!("unexpected key '{name}' in {place}"),
        format!("Valid keys there: {}.", valid.join(", ")),
    )
}

fn at(node: &Node, msg: impl Into<String>, help: impl Into<String>) -> Error {
    let o = &node.origin;
    Error::parse(msg, Some(Origin::new(o.file.clone(), o.line, o.col))).with_help(help)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const GOOD: &str = "regions:
  bj:
    vars: {ntp: 10.0.0.1}
    zones:
      bj01:
        vars: {rack_row: 1}
        hosts:
          h1: {ansible_host: 10.1.0.11, features: {area: r12-u07, type: vm}, resources: {cpu_mhz: 48000, ram: 256G, disk: 4T}, groups: [cache]}
          h2:
      bj02:
        hosts:
          'b[1:2]': {features: {type: BM}}
  sh:
    zones:
      sh01:
        hosts:
          s1: {features: {type: CM}, resources: {cpu_mhz: 2.4GHz, iops: 20000}}
";

    fn load(text: &str) -> Result<Inventory> {
        let mut inv = Inventory::empty();
        let doc = crate::yaml::load_str(text, "cloud.yml")?;
        assert!(is_cloud(&doc));
        let src = SourceInfo {
            file: json!("cloud.yml"),
            dir: json!("."),
        };
        parse(&mut inv, &doc, &src)?;
        inv.reconcile();
        Ok(inv)
    }

    #[test]
    fn groups_and_vars() {
        let inv = load(GOOD).unwrap();
        assert_eq!(
            inv.groups["all"].children,
            [
                "ungrouped",
                "region_bj",
                "type_vm",
                "cache",
                "type_bm",
                "region_sh",
                "type_cm"
            ]
        );
        assert_eq!(inv.groups["region_bj"].children, ["zone_bj01", "zone_bj02"]);
        assert_eq!(inv.group_hosts("region_bj"), ["h1", "h2", "b1", "b2"]);
        assert_eq!(inv.group_hosts("type_bm"), ["b1", "b2"]);
        assert_eq!(inv.groups["region_bj"].vars["ntp"], json!("10.0.0.1"));
        assert_eq!(inv.groups["zone_bj01"].vars["rack_row"], json!(1));
        let h1 = &inv.hosts["h1"].vars;
        assert_eq!(h1["yiqiu_region"], json!("bj"));
        assert_eq!(h1["yiqiu_zone"], json!("bj01"));
        assert_eq!(h1["yiqiu_area"], json!("r12-u07"));
        assert_eq!(h1["yiqiu_type"], json!("VM"));
        assert_eq!(
            h1["yiqiu_resources"],
            json!({"cpu_mhz": 48000, "ram": 274877906944u64, "disk": 4398046511104u64})
        );
        assert_eq!(h1["ansible_host"], json!("10.1.0.11"));
        assert!(!h1.contains_key("features"));
        assert!(!inv.hosts["h2"].vars.contains_key("yiqiu_type"));
        assert_eq!(
            inv.hosts["s1"].vars["yiqiu_resources"],
            json!({"cpu_mhz": 2400, "iops": 20000})
        );
    }

    #[test]
    fn a_plain_group_named_regions_is_not_cloud() {
        for text in [
            "regions:\n  hosts:\n    a:\n",
            "regions:\n  children:\n    bj:\n",
            "regions:\n  vars: {x: 1}\n",
            "regions:\n",
            "all:\n  hosts: {a: }\n",
        ] {
            let doc = crate::yaml::load_str(text, "x.yml").unwrap();
            assert!(!is_cloud(&doc), "{text}");
        }
    }

    fn error_of(text: &str) -> Error {
        match load(text) {
            Ok(_) => panic!("expected an error for\n{text}"),
            Err(e) => e,
        }
    }

    #[test]
    fn bad_input_names_line_and_host() {
        let e = error_of(&GOOD.replace("          h2:\n", "          h2:\n          b2:\n"));
        assert_eq!(
            e.message,
            "host b2 is in two zones: bj01 (line 10) and bj02 (line 13)"
        );
        assert_eq!(e.origin.as_ref().map(|o| o.line), Some(13));
        // (A repeated YAML key keeps its last value, as in PyYAML; a range can repeat a host.)
        let e = error_of(&GOOD.replace("          h2:\n", "          h2:\n          'h[1:2]':\n"));
        assert_eq!(
            e.message,
            "host h1 is listed twice in zone bj01 (lines 8 and 10)"
        );
        let e = error_of(&GOOD.replace("type: CM", "type: XM"));
        assert_eq!(e.message, "host s1: unknown type 'XM'");
        assert_eq!(e.origin.as_ref().map(|o| (o.line, o.col)), Some((17, 33)));
        assert!(e.help.as_deref().unwrap_or("").contains("VM"));
        let e = error_of(&GOOD.replace("ram: 256G", "ram: 256X"));
        assert_eq!(
            e.message,
            "host h1: resource ram is '256X', not a number with a unit"
        );
        assert_eq!(e.origin.as_ref().map(|o| o.line), Some(8));
        let e = error_of(&GOOD.replace("iops: 20000", "gpus: 2"));
        assert!(e.message.contains("unexpected key 'gpus'"), "{}", e.message);
        let e = error_of(&GOOD.replace("sh01:", "bj01:"));
        assert!(
            e.message.contains("zone bj01 is listed twice"),
            "{}",
            e.message
        );
        let e = error_of(&GOOD.replace("s1: {", "s1: {yiqiu_zone: x, "));
        assert!(
            e.message.contains("s1: yiqiu_zone is set by"),
            "{}",
            e.message
        );
        let e = error_of(&GOOD.replace("bj02:", "bj-02:"));
        assert!(e.message.contains("zone name 'bj-02'"), "{}", e.message);
        let e = error_of("regions:\n  bj: [a]\n");
        assert!(
            e.message.contains("region bj must be a mapping"),
            "{}",
            e.message
        );
    }
}
