//! The topology as text and as Graphviz DOT (seed 000's 拓扑管理).

use super::topology::{RelKind, ServiceKind, Topology};
use std::fmt::Write;
use std::sync::Mutex;

/// `yiqiu-play topology` runs the playbook in check mode with capture on: each
/// `yiqiu_services` task hands its topology here instead of converging.
static CAPTURE: Mutex<Option<Vec<Topology>>> = Mutex::new(None);

pub fn start_capture() {
    *CAPTURE.lock().unwrap_or_else(|p| p.into_inner()) = Some(Vec::new());
}

/// Keeps `topo` when capturing; true when it did.
pub fn capture(topo: &Topology) -> bool {
    match CAPTURE.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
        Some(all) => {
            all.push(topo.clone());
            true
        }
        None => false,
    }
}

pub fn captured() -> Vec<Topology> {
    CAPTURE
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
        .unwrap_or_default()
}

pub fn text(topo: &Topology) -> String {
    let mut out = String::new();
    for (name, s) in &topo.services {
        match &s.kind {
            ServiceKind::Program(p) => {
                let _ = writeln!(out, "service {name} (program {} {})", p.name, p.version);
                for u in topo.units_of(name) {
                    let _ = writeln!(out, "  unit {} {}:{} {}", u.id, u.address, u.port, u.dir);
                }
            }
            ServiceKind::External { interface, .. } => {
                let _ = writeln!(out, "service {name} (external, interface {interface})");
            }
        }
    }
    for r in &topo.relations {
        let kind = match r.kind {
            RelKind::Units => "units",
            RelKind::Peer => "peers",
            RelKind::External => "service",
        };
        let _ = writeln!(
            out,
            "relation {} [{}, interface {}]",
            r.id, kind, r.interface
        );
    }
    out
}

pub fn dot(topo: &Topology) -> String {
    let mut out =
        String::from("digraph topology {\n  rankdir=LR;\n  compound=true;\n  node [shape=box];\n");
    for (name, s) in &topo.services {
        let label = match &s.kind {
            ServiceKind::Program(p) => format!("{name}\\n{} {}", p.name, p.version),
            ServiceKind::External { interface, .. } => format!("{name}\\nexternal {interface}"),
        };
        let _ = writeln!(
            out,
            "  subgraph \"cluster_{name}\" {{\n    label=\"{label}\";"
        );
        let _ = writeln!(out, "    \"{name}\" [shape=plaintext, label=\"\"];");
        for u in topo.units_of(name) {
            let _ = writeln!(
                out,
                "    \"{}\" [label=\"{}\\n{}:{}\"];",
                u.id, u.id, u.address, u.port
            );
        }
        out.push_str("  }\n");
    }
    for r in &topo.relations {
        let style = if r.kind == RelKind::Peer {
            ", style=dashed, dir=none"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  \"{}\" -> \"{}\" [label=\"{}:{} / {}\", ltail=\"cluster_{}\", lhead=\"cluster_{}\"{style}];",
            r.requirer.service,
            r.provider.service,
            r.requirer.endpoint,
            r.provider.endpoint,
            r.interface,
            r.requirer.service,
            r.provider.service
        );
    }
    out.push_str("}\n");
    out
}
