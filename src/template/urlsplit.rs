//! The `urlsplit` filter: Python's `urllib.parse.urlsplit` (as ansible-core's filter uses
//! it), so components come out exactly as Ansible users see them: `netloc` as written,
//! `hostname` lower-cased, `port` a number or none.

use minijinja::{Environment, Error, ErrorKind, Value as MjValue};
use serde_json::{json, Map, Value};

pub fn register(env: &mut Environment<'static>) {
    for name in ["urlsplit", "ansible.builtin.urlsplit"] {
        env.add_filter(name, urlsplit);
    }
}

const COMPONENTS: [&str; 9] = [
    "fragment", "hostname", "netloc", "password", "path", "port", "query", "scheme", "username",
];

fn urlsplit(url: String, query: Option<String>) -> Result<MjValue, Error> {
    let parts = split(&url)?;
    match query {
        None => Ok(super::mj_value(Value::Object(parts))),
        Some(q) if COMPONENTS.contains(&q.as_str()) => Ok(super::mj_value(
            parts.get(&q).cloned().unwrap_or(Value::Null),
        )),
        Some(q) => Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("urlsplit: unknown URL component: {q}"),
        )),
    }
}

/// urllib.parse.urlsplit: scheme, `//netloc`, path, `?query`, `#fragment`.
pub(crate) fn split(url: &str) -> Result<Map<String, Value>, Error> {
    let mut rest = url;
    let mut scheme = String::new();
    if let Some(i) = rest.find(':') {
        let s = &rest[..i];
        let valid = s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
        if valid {
            scheme = s.to_ascii_lowercase();
            rest = &rest[i + 1..];
        }
    }
    let mut netloc = "";
    if let Some(after) = rest.strip_prefix("//") {
        let end = after.find(['/', '?', '#']).unwrap_or(after.len());
        netloc = &after[..end];
        rest = &after[end..];
    }
    let (rest, fragment) = rest.split_once('#').unwrap_or((rest, ""));
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (userinfo, hostport) = match netloc.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, netloc),
    };
    let (username, password) = match userinfo {
        Some(u) => match u.split_once(':') {
            Some((n, p)) => (json!(n), json!(p)),
            None => (json!(u), Value::Null),
        },
        None => (Value::Null, Value::Null),
    };
    let (host, port) = host_and_port(hostport)?;
    let hostname = if host.is_empty() {
        Value::Null
    } else {
        json!(host.to_lowercase())
    };
    let mut m = Map::new();
    m.insert("fragment".into(), json!(fragment));
    m.insert("hostname".into(), hostname);
    m.insert("netloc".into(), json!(netloc));
    m.insert("password".into(), password);
    m.insert("path".into(), json!(path));
    m.insert("port".into(), port);
    m.insert("query".into(), json!(query));
    m.insert("scheme".into(), json!(scheme));
    m.insert("username".into(), username);
    Ok(m)
}

/// `host:port` or `[v6]:port`; a port that is not a number 0-65535 is Python's ValueError.
fn host_and_port(hostport: &str) -> Result<(&str, Value), Error> {
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        match v6.split_once(']') {
            Some((h, rest)) => (h, rest.strip_prefix(':')),
            None => (v6, None),
        }
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    let port = match port.filter(|p| !p.is_empty()) {
        None => Value::Null,
        Some(p) => match p.parse::<u16>() {
            Ok(n) => json!(n),
            Err(_) => {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    format!("Port could not be cast to integer value as {p:?}"),
                ))
            }
        },
    };
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::split;
    use serde_json::json;

    #[test]
    fn splits_like_python() {
        let m = split("http://mary:MySecret@WWW.acme.com:9000/dir/index.html?query=term#fragment")
            .unwrap();
        assert_eq!(
            serde_json::Value::Object(m),
            json!({"fragment": "fragment", "hostname": "www.acme.com",
                   "netloc": "mary:MySecret@WWW.acme.com:9000", "password": "MySecret",
                   "path": "/dir/index.html", "port": 9000, "query": "query=term",
                   "scheme": "http", "username": "mary"})
        );
        let m = split("/just/a/path?x=1").unwrap();
        assert_eq!(m["scheme"], json!(""));
        assert_eq!(m["hostname"], json!(null));
        assert_eq!(m["query"], json!("x=1"));
        assert!(split("http://h:notaport/").is_err());
    }
}
