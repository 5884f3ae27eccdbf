//! YAML 1.1 scalar resolution, as PyYAML's SafeLoader does it.

use super::NodeValue;

/// Resolves an unquoted scalar to null, bool, int, float or string.
pub fn resolve_plain(text: &str) -> NodeValue {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return NodeValue::Null,
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return NodeValue::Bool(true)
        }
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return NodeValue::Bool(false)
        }
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return NodeValue::Float(f64::INFINITY)
        }
        "-.inf" | "-.Inf" | "-.INF" => return NodeValue::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return NodeValue::Float(f64::NAN),
        _ => {}
    }
    if let Some(i) = parse_int(text) {
        return NodeValue::Int(i);
    }
    if is_float(text) {
        if let Ok(f) = text.replace('_', "").parse::<f64>() {
            return NodeValue::Float(f);
        }
    }
    NodeValue::Str(text.to_string())
}

fn parse_int(text: &str) -> Option<i64> {
    let (neg, body) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if body.is_empty() || body.starts_with('_') {
        return None;
    }
    let clean: String = body.chars().filter(|c| *c != '_').collect();
    let value = if let Some(hex) = clean.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()?
    } else if let Some(bin) = clean.strip_prefix("0b") {
        i64::from_str_radix(bin, 2).ok()?
    } else if clean.len() > 1 && clean.starts_with('0') {
        i64::from_str_radix(&clean[1..], 8).ok()?
    } else if clean.bytes().all(|b| b.is_ascii_digit()) {
        clean.parse().ok()?
    } else {
        return None;
    };
    Some(if neg { -value } else { value })
}

/// PyYAML's float needs a dot: `1.5`, `-2.`, `1.0e+3`; `1e3` stays a string.
fn is_float(text: &str) -> bool {
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let Some(dot) = mantissa.find('.') else {
        return false;
    };
    let (int_part, frac) = (&mantissa[..dot], &mantissa[dot + 1..]);
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit() || c == '_');
    if !digits(int_part) || !digits(frac) || (int_part.is_empty() && frac.is_empty()) {
        return false;
    }
    match exp {
        None => true,
        Some(e) => {
            let e = e.strip_prefix(['-', '+']).unwrap_or(e);
            !e.is_empty() && e.chars().all(|c| c.is_ascii_digit())
        }
    }
}

/// Resolves a scalar with an explicit tag such as `!!str` or Ansible's `!unsafe`.
pub fn resolve_tagged(text: &str, tag: &str) -> Result<NodeValue, String> {
    match tag {
        "str" => Ok(NodeValue::Str(text.to_string())),
        "unsafe" => Ok(NodeValue::Str(crate::template::untrusted::mark(text))),
        "int" => parse_int(text)
            .map(NodeValue::Int)
            .ok_or_else(|| format!("'{text}' is not an int")),
        "float" => text
            .parse()
            .map(NodeValue::Float)
            .map_err(|_| format!("'{text}' is not a float")),
        "bool" => match resolve_plain(text) {
            NodeValue::Bool(b) => Ok(NodeValue::Bool(b)),
            _ => Err(format!("'{text}' is not a bool")),
        },
        "null" => Ok(NodeValue::Null),
        _ => Ok(resolve_plain(text)),
    }
}

/// An inline `!vault` value: its plaintext, decrypted now with the run's secrets. One that
/// cannot be decrypted fails only where it is used, as Ansible's `EncryptedString` does: it
/// becomes a template that raises Ansible's error when rendered.
pub fn vaulted(text: &str, origin: &crate::error::Origin) -> NodeValue {
    match crate::vault::open(text.as_bytes()) {
        Ok(plain) => NodeValue::Str(String::from_utf8_lossy(&plain).into_owned()),
        Err(e) => {
            let msg = format!("Attempt to use undecryptable variable: {e}");
            NodeValue::Str(format!(
                "{{{{ {}({}, {}, {}) }}}}",
                crate::template::VAULT_ERROR_FN,
                serde_json::Value::from(msg),
                serde_json::Value::from(origin.to_string()),
                // As lines: string literals in playbook templates keep their backslashes.
                serde_json::Value::from(text.lines().collect::<Vec<_>>())
            ))
        }
    }
}
