//! The `password` lookup (ansible-core's `plugins/lookup/password.py`): a random password
//! kept in a file on the controller (made on first use, mode 0600), or a fresh one every
//! time for `/dev/null`. `encrypt` (hashed output) is not supported.

use rand::{Rng, SeedableRng};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

const DEFAULT_LENGTH: usize = 20;

/// Python's `string` constants by name, as `chars=` accepts them.
fn char_set(spec: &str) -> String {
    let lower = "abcdefghijklmnopqrstuvwxyz";
    let upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    match spec {
        "ascii_letters" | "letters" => format!("{lower}{upper}"),
        "ascii_lowercase" | "lowercase" => lower.into(),
        "ascii_uppercase" | "uppercase" => upper.into(),
        "digits" => "0123456789".into(),
        "hexdigits" => "0123456789abcdefABCDEF".into(),
        "octdigits" => "01234567".into(),
        "punctuation" => r##"!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~"##.into(),
        other => other.into(),
    }
}

struct Params {
    length: usize,
    chars: Vec<String>,
    seed: Option<String>,
}

/// `path key=value ...` plus keyword options.
fn parse(term: &str, kwargs: &Map<String, Value>) -> Result<(String, Params), String> {
    let mut words = term.split_whitespace();
    let path = words.next().unwrap_or_default().to_string();
    let mut opts: Map<String, Value> = kwargs.clone();
    for w in words {
        let (k, v) = w
            .split_once('=')
            .ok_or_else(|| format!("Unrecognized value after key=value parameters given: {w}"))?;
        opts.insert(k.to_string(), Value::String(v.to_string()));
    }
    let mut p = Params {
        length: DEFAULT_LENGTH,
        chars: vec!["ascii_letters".into(), "digits".into(), ".,:-_".into()],
        seed: None,
    };
    for (k, v) in opts {
        let text = match &v {
            Value::String(s) => s.clone(),
            other => crate::template::pyfmt::to_str(other),
        };
        match k.as_str() {
            "length" => {
                p.length = text
                    .parse()
                    .map_err(|_| format!("Invalid value for length: {text}"))?
            }
            "chars" => {
                p.chars = match v {
                    Value::Array(items) => {
                        items.iter().map(crate::template::pyfmt::to_str).collect()
                    }
                    _ => text.split(',').map(str::to_string).collect(),
                }
            }
            "seed" => p.seed = Some(text),
            "encrypt" | "ident" | "salt" => {
                return Err(format!("the '{k}' option is not supported by yiqiu-play"))
            }
            other => {
                return Err(format!(
                    "Unrecognized parameter(s) given to password lookup: {other}"
                ))
            }
        }
    }
    Ok((path, p))
}

fn random_password(p: &Params) -> Result<String, String> {
    let chars: Vec<char> = p
        .chars
        .iter()
        .flat_map(|c| char_set(c).chars().collect::<Vec<_>>())
        .collect();
    if chars.is_empty() {
        return Err("no characters to make a password from".into());
    }
    let mut rng: rand::rngs::StdRng = match &p.seed {
        Some(s) => {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            s.hash(&mut h);
            rand::rngs::StdRng::seed_from_u64(h.finish())
        }
        None => rand::rngs::StdRng::from_os_rng(),
    };
    Ok((0..p.length)
        .map(|_| chars[rng.random_range(0..chars.len())])
        .collect())
}

/// One term: the stored password, or a new one (stored unless the path is /dev/null).
pub fn lookup(term: &str, kwargs: &Map<String, Value>, base: &Path) -> Result<Value, String> {
    let (path, params) = parse(term, kwargs)?;
    let path = if Path::new(&path).is_absolute() {
        PathBuf::from(&path)
    } else {
        base.join(&path)
    };
    if path == Path::new("/dev/null") {
        return random_password(&params).map(Value::String);
    }
    if let Ok(content) = std::fs::read_to_string(&path) {
        let content = content.trim_end_matches(['\n', '\r']);
        let password = content.rsplit_once(" salt=").map_or(content, |(p, _)| p);
        return Ok(Value::String(password.to_string()));
    }
    let password = random_password(&params)?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    write_private(&path, &format!("{password}\n"))?;
    Ok(Value::String(password))
}

fn write_private(path: &Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    f.write_all(text.as_bytes())
        .map_err(|e| format!("{}: {e}", path.display()))
}
