//! YAML as Ansible reads it (PyYAML's YAML 1.1), with a source position on every node.
//!
//! saphyr-parser gives us spanned events; this module builds the tree itself so that
//! YAML 1.1 scalars (`yes`/`no`/`on`/`off` booleans, `0755` octal), anchors, aliases and
//! `<<` merge keys behave as in PyYAML while every play, task and argument keeps its origin.

mod scalar;

use crate::error::{Error, Origin, Result};
use saphyr_parser::{Event, Parser, ScalarStyle};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

pub use scalar::resolve_plain;

/// One YAML node and where it starts.
#[derive(Clone, Debug)]
pub struct Node {
    pub value: NodeValue,
    pub origin: Origin,
}

#[derive(Clone, Debug)]
pub enum NodeValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Keys keep their order and their own positions.
    Map(Vec<(Node, Node)>),
}

impl Node {
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            NodeValue::Str(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            NodeValue::Map(m) => Some(m),
            _ => None,
        }
    }
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            NodeValue::Seq(s) => Some(s),
            _ => None,
        }
    }
    pub fn is_null(&self) -> bool {
        matches!(self.value, NodeValue::Null)
    }
    /// Looks up a mapping key by its string form.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .rev()
            .find(|(k, _)| k.key_string() == key)
            .map(|(_, v)| v)
    }
    /// The string a key node stands for (`yes:` as a key is the string "True" in PyYAML,
    /// but keys in playbooks are plain words, so we keep what is written).
    pub fn key_string(&self) -> String {
        match &self.value {
            NodeValue::Str(s) => s.clone(),
            NodeValue::Null => "null".into(),
            NodeValue::Bool(b) => if *b { "true" } else { "false" }.into(),
            NodeValue::Int(i) => i.to_string(),
            NodeValue::Float(f) => f.to_string(),
            NodeValue::Seq(_) | NodeValue::Map(_) => self.to_json().to_string(),
        }
    }
    /// A short name of the node's type for error messages.
    pub fn type_name(&self) -> &'static str {
        match &self.value {
            NodeValue::Null => "null",
            NodeValue::Bool(_) => "bool",
            NodeValue::Int(_) => "int",
            NodeValue::Float(_) => "float",
            NodeValue::Str(_) => "str",
            NodeValue::Seq(_) => "list",
            NodeValue::Map(_) => "dict",
        }
    }
    /// Converts to plain data; positions are dropped.
    pub fn to_json(&self) -> Value {
        match &self.value {
            NodeValue::Null => Value::Null,
            NodeValue::Bool(b) => Value::Bool(*b),
            NodeValue::Int(i) => Value::from(*i),
            NodeValue::Float(f) => serde_json::Number::from_f64(*f)
                .map(Value::Number)
                .unwrap_or(Value::Null),
            NodeValue::Str(s) => Value::String(s.clone()),
            NodeValue::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeValue::Map(pairs) => {
                let mut map = Map::new();
                for (k, v) in pairs {
                    map.insert(k.key_string(), v.to_json());
                }
                Value::Object(map)
            }
        }
    }
}

/// Reads and parses a YAML file; the first document is returned (null when empty).
pub fn load_file(path: &Path) -> Result<Node> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let file = path.display().to_string();
    if crate::vault::is_encrypted(&bytes) {
        // A vaulted file is read as its plaintext, as Ansible's DataLoader does.
        let plain =
            crate::vault::open(&bytes).map_err(|e| Error::other(format!("{e} for {file}")))?;
        let text =
            String::from_utf8(plain).map_err(|e| not_utf8(&file, e.as_bytes(), e.utf8_error()))?;
        let node = load_str(&text, &file)?;
        remember_strings(&node);
        return Ok(node);
    }
    let text =
        String::from_utf8(bytes).map_err(|e| not_utf8(&file, e.as_bytes(), e.utf8_error()))?;
    load_str(&text, &file)
}

/// Every string value of a decrypted file is a secret (see `crate::vault::remember`).
fn remember_strings(node: &Node) {
    match &node.value {
        NodeValue::Str(s) => crate::vault::remember(s),
        NodeValue::Seq(items) => items.iter().for_each(remember_strings),
        NodeValue::Map(pairs) => pairs.iter().for_each(|(_, v)| remember_strings(v)),
        _ => {}
    }
}

/// A parse error (exit 4, as ansible-playbook) at the first byte that is not UTF-8.
fn not_utf8(file: &str, bytes: &[u8], e: std::str::Utf8Error) -> Error {
    let good = &bytes[..e.valid_up_to()];
    let line = 1 + good.iter().filter(|b| **b == b'\n').count();
    let line_start = good.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let col = 1 + String::from_utf8_lossy(&good[line_start..]).chars().count();
    Error::parse(
        format!(
            "YAML parsing failed: the file is not valid UTF-8 (byte 0x{:02x})",
            bytes[e.valid_up_to()]
        ),
        Some(Origin::new(Arc::from(file), line, col)),
    )
    .with_help("Save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`).")
}

/// Parses YAML text; `file` names the source in positions and errors.
pub fn load_str(text: &str, file: &str) -> Result<Node> {
    match parse_text(text, file) {
        Ok(node) => Ok(node),
        Err(first) => {
            // PyYAML accepts a flow collection whose closing bracket sits at column 0
            // (`app: {` ... `}`), as JSON-style vars files often have; the YAML 1.2 scanner
            // does not. Indenting such bracket-only lines cannot change their meaning inside
            // a flow collection, so retry once with them indented.
            let indented = indent_closing_brackets(text);
            if indented != text {
                if let Ok(node) = parse_text(&indented, file) {
                    return Ok(node);
                }
            }
            Err(first)
        }
    }
}

fn indent_closing_brackets(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if (trimmed.starts_with('}') || trimmed.starts_with(']')) && line.len() - trimmed.len() < 2
        {
            out.push_str("  ");
            out.push_str(trimmed);
        } else {
            out.push_str(line);
        }
    }
    out
}

fn parse_text(text: &str, file: &str) -> Result<Node> {
    let file: Arc<str> = Arc::from(file);
    let mut builder = Builder {
        file: file.clone(),
        anchors: HashMap::new(),
        parser: Parser::new_from_str(text),
        text,
        depth: 0,
        expanded: 0,
    };
    builder.document()
}

/// How deep collections may nest. PyYAML has no limit of its own (Python's recursion limit
/// ends it); no playbook, inventory or vars file comes near this.
pub const MAX_DEPTH: usize = 200;
/// How many nodes aliases may add to one document when expanded: a "billion laughs" file of a
/// few hundred bytes otherwise expands to millions of nodes and gigabytes.
pub const MAX_ALIAS_NODES: usize = 1_000_000;

struct Builder<'a> {
    file: Arc<str>,
    /// Anchored nodes and how many nodes each holds.
    anchors: HashMap<usize, (Node, usize)>,
    parser: Parser<'a, saphyr_parser::StrInput<'a>>,
    /// The source, for error messages that depend on its shape.
    text: &'a str,
    /// Collections open right now.
    depth: usize,
    /// Nodes added by alias expansion so far.
    expanded: usize,
}

/// How many nodes `node` holds, itself included.
fn node_count(node: &Node) -> usize {
    match &node.value {
        NodeValue::Seq(items) => 1 + items.iter().map(node_count).sum::<usize>(),
        NodeValue::Map(pairs) => {
            1 + pairs
                .iter()
                .map(|(k, v)| node_count(k) + node_count(v))
                .sum::<usize>()
        }
        _ => 1,
    }
}

impl<'a> Builder<'a> {
    fn origin(&self, line: usize, col0: usize) -> Origin {
        Origin::new(self.file.clone(), line, col0 + 1)
    }

    fn next(&mut self) -> Result<(Event<'a>, Origin)> {
        match self.parser.next_event() {
            Some(Ok((ev, span))) => {
                let o = self.origin(span.start.line(), span.start.col());
                Ok((ev, o))
            }
            Some(Err(e)) => {
                let m = e.marker();
                let origin = Some(self.origin(m.line(), m.col()));
                if e.info() == "misplaced bracket" && self.root_is_flow() {
                    // A bracket after the root `{...}`/`[...]` closed: libyaml, which Ansible
                    // uses, reads it as a stray token where a new document must start.
                    return Err(Error::parse(
                        "YAML parsing failed: Did not find expected <document start>.",
                        origin,
                    ));
                }
                Err(Error::parse(format!("YAML parsing failed: {}", e.info()), origin)
                    .with_help(
                        "Check the indentation and quoting near the marked position: a value that starts \
                         with '{{' must be quoted.",
                    ))
            }
            None => Err(Error::parse(
                "YAML parsing failed: unexpected end of input",
                Some(self.origin(1, 0)),
            )),
        }
    }

    /// Whether the document's root is a flow collection (its first token is `{` or `[`).
    fn root_is_flow(&self) -> bool {
        self.text
            .lines()
            .map(|l| l.trim_start())
            .find(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("---"))
            .is_some_and(|l| l.starts_with('{') || l.starts_with('['))
    }

    fn document(&mut self) -> Result<Node> {
        let empty = Node {
            value: NodeValue::Null,
            origin: self.origin(1, 0),
        };
        loop {
            let (ev, origin) = self.next()?;
            match ev {
                Event::StreamStart | Event::Nothing => continue,
                Event::StreamEnd => return Ok(empty),
                Event::DocumentStart(_) => {
                    let (ev, origin) = self.next()?;
                    if let Event::DocumentEnd = ev {
                        return Ok(empty);
                    }
                    return self.node(ev, origin);
                }
                other => return self.node(other, origin),
            }
        }
    }

    fn remember(&mut self, anchor: usize, node: &Node) {
        if anchor > 0 {
            self.anchors
                .insert(anchor, (node.clone(), node_count(node)));
        }
    }

    /// Enters a collection; too deep is an error.
    fn open(&mut self, origin: &Origin) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Error::parse(
                format!("YAML parsing failed: collections nest deeper than {MAX_DEPTH} levels"),
                Some(origin.clone()),
            )
            .with_help("Flatten the data: no playbook, inventory or vars file needs this depth."));
        }
        Ok(())
    }

    fn node(&mut self, ev: Event<'a>, origin: Origin) -> Result<Node> {
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let tag = tag.map(|t| t.suffix.clone());
                let value = if tag.as_deref() == Some("vault") {
                    scalar::vaulted(&text, &origin)
                } else if let Some(tag) = tag.as_deref() {
                    scalar::resolve_tagged(&text, tag)
                        .map_err(|m| Error::parse(m, Some(origin.clone())))?
                } else if style == ScalarStyle::Plain {
                    resolve_plain(&text)
                } else {
                    NodeValue::Str(text.into_owned())
                };
                let node = Node { value, origin };
                self.remember(anchor, &node);
                Ok(node)
            }
            Event::Alias(id) => {
                let (node, size) = self.anchors.get(&id).ok_or_else(|| {
                    Error::parse(
                        "YAML alias refers to an unknown anchor",
                        Some(origin.clone()),
                    )
                })?;
                self.expanded = self.expanded.saturating_add(*size);
                if self.expanded > MAX_ALIAS_NODES {
                    return Err(Error::parse(
                        format!(
                            "YAML parsing failed: aliases expand to more than {MAX_ALIAS_NODES} nodes in this document (an alias \"bomb\"?)"
                        ),
                        Some(origin),
                    )
                    .with_help("Each alias copies its anchored value; nested aliases multiply. Reduce the nesting of anchors."));
                }
                let mut node = node.clone();
                node.origin = origin;
                Ok(node)
            }
            Event::SequenceStart(anchor, _) => {
                self.open(&origin)?;
                let mut items = Vec::new();
                loop {
                    let (ev, o) = self.next()?;
                    if let Event::SequenceEnd = ev {
                        break;
                    }
                    items.push(self.node(ev, o)?);
                }
                self.depth -= 1;
                let node = Node {
                    value: NodeValue::Seq(items),
                    origin,
                };
                self.remember(anchor, &node);
                Ok(node)
            }
            Event::MappingStart(anchor, _) => {
                self.open(&origin)?;
                let mut pairs: Vec<(Node, Node)> = Vec::new();
                let mut merged: Vec<(Node, Node)> = Vec::new();
                loop {
                    let (ev, o) = self.next()?;
                    if let Event::MappingEnd = ev {
                        break;
                    }
                    let key = self.node(ev, o)?;
                    let (ev, o) = self.next()?;
                    let value = self.node(ev, o)?;
                    if key.as_str() == Some("<<") {
                        merge_into(&mut merged, &value)?;
                        continue;
                    }
                    let k = key.key_string();
                    pairs.retain(|(existing, _)| existing.key_string() != k);
                    pairs.push((key, value));
                }
                // Explicit keys win over merged ones (PyYAML's rule).
                for (k, v) in merged {
                    let ks = k.key_string();
                    if !pairs.iter().any(|(e, _)| e.key_string() == ks) {
                        pairs.push((k, v));
                    }
                }
                self.depth -= 1;
                let node = Node {
                    value: NodeValue::Map(pairs),
                    origin,
                };
                self.remember(anchor, &node);
                Ok(node)
            }
            _ => Err(Error::parse(
                "YAML parsing failed: unexpected event",
                Some(origin),
            )),
        }
    }
}

fn merge_into(merged: &mut Vec<(Node, Node)>, value: &Node) -> Result<()> {
    match &value.value {
        NodeValue::Map(m) => {
            for (k, v) in m {
                let ks = k.key_string();
                if !merged.iter().any(|(e, _)| e.key_string() == ks) {
                    merged.push((k.clone(), v.clone()));
                }
            }
            Ok(())
        }
        NodeValue::Seq(items) => items.iter().try_for_each(|i| merge_into(merged, i)),
        _ => Err(Error::parse(
            "YAML merge key '<<' needs a mapping or a list of mappings",
            Some(value.origin.clone()),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn j(text: &str) -> Value {
        load_str(text, "t.yml").expect("parses").to_json()
    }

    #[test]
    fn yaml11_booleans_and_numbers() {
        let v = j("a: yes\nb: Off\nc: 0755\nd: 1_000\ne: '0755'\nf: 1.5\ng: ~\nh: 0x1f\ni: 1e3\n");
        assert_eq!(v["a"], Value::Bool(true));
        assert_eq!(v["b"], Value::Bool(false));
        assert_eq!(v["c"], Value::from(493));
        assert_eq!(v["d"], Value::from(1000));
        assert_eq!(v["e"], Value::from("0755"));
        assert_eq!(v["f"], Value::from(1.5));
        assert_eq!(v["g"], Value::Null);
        assert_eq!(v["h"], Value::from(31));
        assert_eq!(v["i"], Value::from("1e3"));
    }

    #[test]
    fn anchors_aliases_and_merge_keys() {
        let v = j("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\nlist: [*b]\n");
        assert_eq!(v["other"]["x"], Value::from(1));
        assert_eq!(v["other"]["y"], Value::from(3));
        assert_eq!(v["list"][0]["y"], Value::from(2));
    }

    #[test]
    fn alias_bombs_and_deep_nesting_are_errors_not_crashes() {
        let mut bomb = String::from("l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for i in 1..8 {
            let refs = vec![format!("*l{}", i - 1); 9].join(", ");
            bomb.push_str(&format!("l{i}: &l{i} [{refs}]\n"));
        }
        let e = load_str(&bomb, "bomb.yml").unwrap_err().to_string();
        assert!(
            e.contains("aliases expand to more than 1000000 nodes"),
            "{e}"
        );
        assert!(e.contains("bomb.yml:7:"), "{e}");
        // Five levels (59049 nodes) are fine.
        let small: String = bomb.lines().take(6).map(|l| format!("{l}\n")).collect();
        assert!(load_str(&small, "small.yml").is_ok());
        let mut deep = String::new();
        for i in 0..150 {
            deep.push_str(&" ".repeat(i * 2));
            deep.push_str("- k:\n");
        }
        let e = load_str(&deep, "deep.yml").unwrap_err().to_string();
        assert!(e.contains("nest deeper than 200 levels"), "{e}");
    }

    #[test]
    fn positions_are_one_based() {
        let n = load_str("- hosts: all\n  tasks:\n    - debug: msg=hi\n", "p.yml").unwrap();
        let task = &n.as_seq().unwrap()[0]
            .get("tasks")
            .unwrap()
            .as_seq()
            .unwrap()[0];
        assert_eq!((task.origin.line, task.origin.col), (3, 7));
    }

    #[test]
    fn json_style_flow_mapping_closing_at_column_zero() {
        let v = j("app: {\n    \"name\": \"web\"\n}\nlist: [\n  1,\n]\nb: yes\n");
        assert_eq!(v["app"]["name"], Value::from("web"));
        assert_eq!(v["list"][0], Value::from(1));
        assert_eq!(v["b"], Value::Bool(true));
    }

    #[test]
    fn syntax_error_has_origin() {
        let e = load_str("a: [1, 2\nb: c\n", "bad.yml").unwrap_err();
        let o = e.origin.clone().expect("origin");
        assert_eq!(&*o.file, "bad.yml");
        assert_eq!(e.exit_code(), 4);
    }
}
