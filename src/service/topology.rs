//! The desired topology: services (a program or an external endpoint), their units (one per
//! inventory host and port) with their layered config, and the relations between endpoints.

use super::program::{Program, Role};
use super::{err, Result};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// What the topology needs of the inventory (`--limit` not applied: a unit outside the limit
/// still exists).
pub trait InventoryView {
    fn hosts(&self, pattern: &str) -> std::result::Result<Vec<String>, String>;
    fn var(&self, host: &str, name: &str) -> Option<Value>;
}

#[derive(Debug, Clone)]
pub enum ServiceKind {
    Program(Box<Program>),
    /// Service granularity (seed 000 §4.2): a third-party endpoint with no units.
    External {
        interface: String,
        data: Map<String, Value>,
    },
}

#[derive(Debug, Clone)]
pub struct Service {
    pub name: String,
    pub kind: ServiceKind,
    pub hosts: String,
    pub config: Map<String, Value>,
    /// A pinned leader unit id; otherwise the lowest live member id leads.
    pub leader: Option<String>,
}

impl Service {
    pub fn program(&self) -> Option<&Program> {
        match &self.kind {
            ServiceKind::Program(p) => Some(p),
            ServiceKind::External { .. } => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Unit {
    /// `<service>_<port>@<inventory host>`.
    pub id: String,
    pub service: String,
    pub host: String,
    /// Where the unit listens and others reach it (`ansible_host`).
    pub address: String,
    pub port: u16,
    /// `<root>/<service>_<port>`.
    pub dir: String,
    /// The effective config, and which layer gave each key.
    pub config: Map<String, Value>,
    pub origins: BTreeMap<String, String>,
}

pub fn unit_id(service: &str, port: u16, host: &str) -> String {
    format!("{service}_{port}@{host}")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelKind {
    /// Unit granularity: every unit on one side sees every unit on the other.
    Units,
    /// Inside one service.
    Peer,
    /// The provider is an external endpoint (service granularity).
    External,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct End {
    pub service: String,
    pub endpoint: String,
}

#[derive(Debug, Clone)]
pub struct Relation {
    pub id: String,
    pub kind: RelKind,
    pub interface: String,
    pub requirer: End,
    pub provider: End,
}

/// One relation as a unit of `service` takes part in it.
pub struct Membership<'t> {
    pub relation: &'t Relation,
    pub endpoint: &'t str,
    pub remote_service: &'t str,
}

#[derive(Debug, Clone)]
pub struct Topology {
    pub root: String,
    /// Hosts whose `yiqiu_root` variable puts their units elsewhere.
    pub host_roots: BTreeMap<String, String>,
    pub services: BTreeMap<String, Service>,
    pub relations: Vec<Relation>,
    pub units: Vec<Unit>,
}

impl Topology {
    /// Builds it from the module's `services` and `relations` arguments.
    pub fn build(
        root: &str,
        services: &Map<String, Value>,
        relations: &[Value],
        inventory: &dyn InventoryView,
        find_program: &dyn Fn(&str) -> Result<Program>,
    ) -> Result<Topology> {
        if !root.starts_with('/') {
            return err(format!("root {root:?} must be an absolute path"));
        }
        let mut topo = Topology {
            root: root.trim_end_matches('/').to_string(),
            host_roots: BTreeMap::new(),
            services: BTreeMap::new(),
            relations: Vec::new(),
            units: Vec::new(),
        };
        for (name, spec) in services {
            let (service, ports_var) = parse_service(name, spec, find_program)?;
            topo.add_units(&service, &ports_var, inventory)?;
            topo.services.insert(name.clone(), service);
        }
        for r in relations {
            let rel = topo.parse_relation(r)?;
            if topo.relations.iter().any(|x| x.id == rel.id) {
                return err(format!("relation {} is listed twice", rel.id));
            }
            topo.relations.push(rel);
        }
        topo.add_peer_relations();
        Ok(topo)
    }

    fn add_units(
        &mut self,
        service: &Service,
        ports_var: &str,
        inventory: &dyn InventoryView,
    ) -> Result<()> {
        let Some(program) = service.program() else {
            return Ok(());
        };
        let hosts = inventory
            .hosts(&service.hosts)
            .map_err(|e| super::ServiceError(format!("service {}: {e}", service.name)))?;
        for host in hosts {
            let Some(ports) = inventory.var(&host, ports_var) else {
                continue;
            };
            if let Some(r) = inventory.var(&host, "yiqiu_root") {
                let r = r
                    .as_str()
                    .unwrap_or_default()
                    .trim_end_matches('/')
                    .to_string();
                if !r.starts_with('/') {
                    return err(format!(
                        "host {host}: yiqiu_root {r:?} must be an absolute path"
                    ));
                }
                self.host_roots.insert(host.clone(), r);
            }
            let root = self.root_for(&host).to_string();
            for (port, unit_config) in parse_ports(&service.name, &host, ports_var, &ports)? {
                check_keys(&service.name, program, &unit_config, "unit config")?;
                let mut config = Map::new();
                let mut origins = BTreeMap::new();
                let layers = [
                    (program.meta.defaults(), "program default".to_string()),
                    (service.config.clone(), "service config".to_string()),
                    (unit_config, format!("unit config ({host} port {port})")),
                ];
                for (layer, origin) in layers {
                    for (k, v) in layer {
                        origins.insert(k.clone(), origin.clone());
                        config.insert(k, v);
                    }
                }
                let address = inventory
                    .var(&host, "ansible_host")
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_else(|| host.clone());
                self.units.push(Unit {
                    id: unit_id(&service.name, port, &host),
                    service: service.name.clone(),
                    dir: format!("{root}/{}_{port}", service.name),
                    host: host.clone(),
                    address,
                    port,
                    config,
                    origins,
                });
            }
        }
        Ok(())
    }

    /// `"twemproxy:backends memcache:cache"`, `"app:db legacy-db"` or
    /// `{requirer: "twemproxy:backends", provider: "memcache:cache"}`; either order.
    fn parse_relation(&self, spec: &Value) -> Result<Relation> {
        let (a, b) = match spec {
            Value::String(s) => {
                let parts: Vec<&str> = s.split_whitespace().collect();
                let [a, b] = parts[..] else {
                    return err(format!(
                        "relation {s:?}: expected two endpoints, `requirer:endpoint provider:endpoint`"
                    ));
                };
                (a.to_string(), b.to_string())
            }
            Value::Object(m) => {
                let get = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_string);
                if let Some(bad) = m
                    .keys()
                    .find(|k| !["requirer", "provider"].contains(&k.as_str()))
                {
                    return err(format!(
                        "relation: unknown key {bad:?} (requirer, provider)"
                    ));
                }
                match (get("requirer"), get("provider")) {
                    (Some(a), Some(b)) => (a, b),
                    _ => return err("relation: both `requirer` and `provider` are required"),
                }
            }
            other => {
                return err(format!(
                    "relation: expected a string or a mapping, got {other}"
                ))
            }
        };
        let a = self.end(&a)?;
        let b = self.end(&b)?;
        let (req, prov) = if a.1 == Some(Role::Provides) || b.1 == Some(Role::Requires) {
            (b, a)
        } else {
            (a, b)
        };
        self.check_pair(req, prov)
    }

    /// `service[:endpoint]` with the endpoint's role and interface (`None` role: external).
    fn end(&self, text: &str) -> Result<(End, Option<Role>, String)> {
        let (svc, ep) = match text.split_once(':') {
            Some((s, e)) => (s, Some(e)),
            None => (text, None),
        };
        let Some(service) = self.services.get(svc) else {
            return err(format!(
                "relation endpoint {text:?}: no service {svc:?} (services: {})",
                self.services.keys().cloned().collect::<Vec<_>>().join(", ")
            ));
        };
        match &service.kind {
            ServiceKind::External { interface, .. } => Ok((
                End {
                    service: svc.into(),
                    endpoint: ep.unwrap_or(svc).into(),
                },
                None,
                interface.clone(),
            )),
            ServiceKind::Program(p) => {
                let Some(ep) = ep else {
                    return err(format!(
                        "relation endpoint {text:?}: name the endpoint, `{svc}:ENDPOINT`"
                    ));
                };
                let Some((role, e)) = p.endpoint(ep) else {
                    return err(format!(
                        "relation endpoint {text:?}: program {} has no endpoint {ep:?} ({})",
                        p.name, p.origin
                    ));
                };
                Ok((
                    End {
                        service: svc.into(),
                        endpoint: ep.into(),
                    },
                    Some(role),
                    e.interface.clone(),
                ))
            }
        }
    }

    fn check_pair(
        &self,
        req: (End, Option<Role>, String),
        prov: (End, Option<Role>, String),
    ) -> Result<Relation> {
        let name = |e: &End| format!("{}:{}", e.service, e.endpoint);
        if req.1 != Some(Role::Requires) || !matches!(prov.1, Some(Role::Provides) | None) {
            return err(format!(
                "relation {} {}: one side must require and the other provide",
                name(&req.0),
                name(&prov.0)
            ));
        }
        if req.2 != prov.2 {
            return err(format!(
                "relation {} (interface {}) and {} (interface {}): the interfaces differ",
                name(&req.0),
                req.2,
                name(&prov.0),
                prov.2
            ));
        }
        let external = prov.1.is_none();
        Ok(Relation {
            id: if external {
                format!("{}={}", name(&req.0), prov.0.service)
            } else {
                format!("{}={}", name(&req.0), name(&prov.0))
            },
            kind: if external {
                RelKind::External
            } else {
                RelKind::Units
            },
            interface: req.2,
            requirer: req.0,
            provider: prov.0,
        })
    }

    fn add_peer_relations(&mut self) {
        for (name, service) in &self.services {
            let Some(p) = service.program() else { continue };
            for (ep, e) in &p.meta.peers {
                let end = End {
                    service: name.clone(),
                    endpoint: ep.clone(),
                };
                self.relations.push(Relation {
                    id: format!("{name}:{ep}"),
                    kind: RelKind::Peer,
                    interface: e.interface.clone(),
                    requirer: end.clone(),
                    provider: end,
                });
            }
        }
    }

    /// The relations a unit of `service` takes part in, by relation id.
    pub fn memberships(&self, service: &str) -> Vec<Membership<'_>> {
        let mut out = Vec::new();
        for r in &self.relations {
            if r.requirer.service == service {
                out.push(Membership {
                    relation: r,
                    endpoint: &r.requirer.endpoint,
                    remote_service: &r.provider.service,
                });
            } else if r.provider.service == service {
                out.push(Membership {
                    relation: r,
                    endpoint: &r.provider.endpoint,
                    remote_service: &r.requirer.service,
                });
            }
        }
        out.sort_by(|a, b| a.relation.id.cmp(&b.relation.id));
        out
    }

    /// Where the host's units live: its `yiqiu_root`, else the task's `root`.
    pub fn root_for(&self, host: &str) -> &str {
        self.host_roots.get(host).unwrap_or(&self.root)
    }

    pub fn units_of<'t>(&'t self, service: &'t str) -> impl Iterator<Item = &'t Unit> + 't {
        self.units.iter().filter(move |u| u.service == service)
    }

    pub fn unit(&self, id: &str) -> Option<&Unit> {
        self.units.iter().find(|u| u.id == id)
    }
}

fn parse_service(
    name: &str,
    spec: &Value,
    find_program: &dyn Fn(&str) -> Result<Program>,
) -> Result<(Service, String)> {
    super::super::release::check_name("service name", name)
        .map_err(|e| super::ServiceError(e.to_string()))?;
    let Value::Object(m) = spec else {
        return err(format!("service {name}: expected a mapping, got {spec}"));
    };
    const KEYS: &[&str] = &[
        "program",
        "external",
        "hosts",
        "config",
        "ports_var",
        "leader",
    ];
    if let Some(bad) = m.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return err(format!(
            "service {name}: unknown key {bad:?} (accepted: {})",
            KEYS.join(", ")
        ));
    }
    let text = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_string);
    let config = match m.get("config") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(c)) => c.clone(),
        Some(other) => {
            return err(format!(
                "service {name}: config must be a mapping, got {other}"
            ))
        }
    };
    let kind = match (m.get("program"), m.get("external")) {
        (Some(Value::String(p)), None) => {
            let program = find_program(p)?;
            check_keys(name, &program, &config, "config")?;
            ServiceKind::Program(Box::new(program))
        }
        (None, Some(Value::Object(e))) => {
            let Some(interface) = e.get("interface").and_then(Value::as_str) else {
                return err(format!("service {name}: external needs an `interface`"));
            };
            let data = match e.get("data") {
                Some(Value::Object(d)) => d.clone(),
                None => Map::new(),
                Some(other) => {
                    return err(format!("service {name}: external data must be a mapping, got {other}"))
                }
            };
            ServiceKind::External {
                interface: interface.into(),
                data,
            }
        }
        _ => {
            return err(format!(
                "service {name}: give exactly one of `program: PATH` or `external: {{interface, data}}`"
            ))
        }
    };
    let service = Service {
        name: name.into(),
        kind,
        hosts: text("hosts").unwrap_or_else(|| name.into()),
        config,
        leader: text("leader"),
    };
    Ok((service, text("ports_var").unwrap_or_else(|| "ports".into())))
}

/// Config keys the program does not declare are errors (a typo would otherwise do nothing).
fn check_keys(
    service: &str,
    program: &Program,
    config: &Map<String, Value>,
    what: &str,
) -> Result<()> {
    for k in config.keys() {
        if !program.meta.config.contains_key(k) {
            return err(format!(
                "service {service}: {what} key {k:?} is not an option of program {} (options: {})",
                program.name,
                program
                    .meta
                    .config
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    Ok(())
}

/// `[11211, "11212", {port: 11213, config: {...}}]`, one port, or `"11211,11212"`.
fn parse_ports(
    service: &str,
    host: &str,
    var: &str,
    value: &Value,
) -> Result<Vec<(u16, Map<String, Value>)>> {
    let items: Vec<Value> = match value {
        Value::Array(a) => a.clone(),
        Value::String(s) => s
            .split(',')
            .map(|p| Value::String(p.trim().into()))
            .collect(),
        Value::Null => Vec::new(),
        other => vec![other.clone()],
    };
    let bad = |v: &Value| {
        super::ServiceError(format!(
            "service {service}, host {host}: {var} entry {v} is not a port (1-65535) or {{port, config}}"
        ))
    };
    let port_of = |v: &Value| -> Result<u16> {
        match v {
            Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
        .filter(|p| *p > 0)
        .ok_or_else(|| bad(v))
    };
    let mut out: Vec<(u16, Map<String, Value>)> = Vec::new();
    for item in &items {
        let (port, config) = match item {
            Value::Object(m) => {
                if let Some(k) = m.keys().find(|k| !["port", "config"].contains(&k.as_str())) {
                    return err(format!(
                        "service {service}, host {host}: {var} entry key {k:?} (accepted: port, config)"
                    ));
                }
                let port = port_of(m.get("port").unwrap_or(&Value::Null))?;
                let config = match m.get("config") {
                    Some(Value::Object(c)) => c.clone(),
                    None => Map::new(),
                    Some(_) => return Err(bad(item)),
                };
                (port, config)
            }
            v => (port_of(v)?, Map::new()),
        };
        if out.iter().any(|(p, _)| *p == port) {
            return err(format!(
                "service {service}, host {host}: port {port} is listed twice"
            ));
        }
        out.push((port, config));
    }
    Ok(out)
}

/// Resolves a program path against the search paths (playbook dir last).
pub fn find_program(path: &str, search: &[std::path::PathBuf], cache: &Path) -> Result<Program> {
    let p = Path::new(path);
    let found = if p.is_absolute() {
        p.to_path_buf()
    } else {
        search
            .iter()
            .map(|d| d.join(p))
            .find(|c| c.exists())
            .unwrap_or_else(|| p.to_path_buf())
    };
    Program::load(&found, cache)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Inv;
    impl InventoryView for Inv {
        fn hosts(&self, pattern: &str) -> std::result::Result<Vec<String>, String> {
            Ok(match pattern {
                "memcache" => vec!["m1".into(), "m2".into()],
                "twemproxy" => vec!["p1".into()],
                _ => vec![],
            })
        }
        fn var(&self, host: &str, name: &str) -> Option<Value> {
            match (host, name) {
                ("m1", "ports") => {
                    Some(json!([11211, {"port": 11212, "config": {"memory_mb": 128}}]))
                }
                ("m2", "ports") => Some(json!("11211")),
                ("p1", "ports") => Some(json!([22121])),
                ("m1", "ansible_host") => Some(json!("127.0.9.1")),
                _ => None,
            }
        }
    }

    fn program(name: &str, meta: &str) -> Program {
        let dir = std::env::temp_dir().join(format!("yiqiu-topo-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("yiqiu.yaml"),
            format!("name: {name}\nversion: '1'\n{meta}"),
        )
        .unwrap();
        Program::load(&dir, &dir.join(".cache")).unwrap()
    }

    fn topo(relations: Value) -> Result<Topology> {
        let mc = program(
            "memcache",
            "provides: {cache: {interface: memcache}}\nconfig: {memory_mb: {default: 64}}\n",
        );
        let tw = program("twemproxy", "requires: {backends: {interface: memcache}}\n");
        let find = move |p: &str| -> Result<Program> {
            Ok(if p == "mc" { mc.clone() } else { tw.clone() })
        };
        let services = json!({
            "memcache": {"program": "mc", "config": {"memory_mb": 32}},
            "twemproxy": {"program": "tw"},
            "db": {"external": {"interface": "mysql", "data": {"host": "db1"}}},
        });
        Topology::build(
            "/srv/y",
            services.as_object().unwrap(),
            relations.as_array().unwrap(),
            &Inv,
            &find,
        )
    }

    #[test]
    fn units_come_from_ports_with_layered_config() {
        let t = topo(json!(["memcache:cache twemproxy:backends"])).unwrap();
        let ids: Vec<&str> = t.units.iter().map(|u| u.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "memcache_11211@m1",
                "memcache_11212@m1",
                "memcache_11211@m2",
                "twemproxy_22121@p1"
            ]
        );
        let u = t.unit("memcache_11212@m1").unwrap();
        assert_eq!(
            (u.address.as_str(), u.dir.as_str()),
            ("127.0.9.1", "/srv/y/memcache_11212")
        );
        assert_eq!(u.config["memory_mb"], 128);
        assert_eq!(u.origins["memory_mb"], "unit config (m1 port 11212)");
        assert_eq!(t.unit("memcache_11211@m1").unwrap().config["memory_mb"], 32);
        // Given provider first, the relation still reads requirer=provider.
        assert_eq!(t.relations[0].id, "twemproxy:backends=memcache:cache");
        assert_eq!(t.memberships("memcache")[0].remote_service, "twemproxy");
    }

    #[test]
    fn mismatched_interfaces_and_unknown_endpoints_name_both_sides() {
        let e = topo(json!(["twemproxy:backends db"])).unwrap_err();
        assert!(
            e.0.contains("twemproxy:backends (interface memcache)")
                && e.0.contains("db:db (interface mysql)"),
            "{e}"
        );
        let e = topo(json!(["twemproxy:cache memcache:cache"])).unwrap_err();
        assert!(e.0.contains("no endpoint \"cache\""), "{e}");
    }
}
