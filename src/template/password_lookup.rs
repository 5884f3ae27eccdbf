//! The `password` lookup: a random password kept in a controller-side file, reused on later
//! runs. The file holds `PASSWORD[ salt=SALT[ ident=IDENT]]` as Ansible's plugin writes it;
//! `/dev/null` gives a new password each time and writes nothing.

use rand::{Rng, SeedableRng};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

const VALID_PARAMS: [&str; 5] = ["length", "encrypt", "chars", "ident", "seed"];
const DEFAULT_LENGTH: usize = 20;
const DEFAULT_CHARS: [&str; 3] = ["ascii_letters", "digits", ".,:-_"];
const DEV_NULL: &str = "/dev/null";

/// The options of one term: the term's own `k=v` words over the lookup's keywords.
struct Params {
    length: usize,
    chars: String,
    encrypt: Option<String>,
    ident: Option<String>,
    seed: Option<String>,
}

/// One term (`path [k=v ...]`) with the lookup's keyword options: the password, or
/// Ansible's error text.
pub fn password(
    term: &str,
    kwargs: &Map<String, Value>,
    basedir: Option<&str>,
) -> Result<String, String> {
    let (relpath, params) = parse_term(term, kwargs)?;
    let path = match (Path::new(&relpath).is_absolute(), basedir) {
        (false, Some(dir)) => Path::new(dir).join(&relpath),
        _ => PathBuf::from(&relpath),
    };
    let dev_null = path == Path::new(DEV_NULL);
    let content = match dev_null {
        true => None,
        false => read_file(&path)?,
    };
    let (plain, mut salt, mut ident, mut changed) = match content {
        None => (
            random_password(params.length, &params.chars, params.seed.as_deref()),
            None,
            None,
            true,
        ),
        Some(c) => {
            let (p, s, i) = parse_content(&c);
            (p, s, i, false)
        }
    };
    if let Some(enc) = &params.encrypt {
        if salt.is_none() {
            changed = true;
            salt = Some(random_password(salt_size(enc), SALT_CHARS, None));
        }
    }
    match (&ident, &params.ident) {
        (None, wanted) => ident = wanted.clone(),
        (Some(stored), Some(wanted)) if stored != wanted => {
            return Err(format!(
                "The ident parameter provided ({stored}) does not match the stored one ({wanted})."
            ))
        }
        _ => {}
    }
    if params.encrypt.as_deref() == Some("bcrypt") && ident.is_none() {
        ident = Some("2b".into());
        changed = true;
    }
    if changed && !dev_null {
        let text = format_content(&plain, salt.as_deref(), ident.as_deref());
        write_file(&path, &text)?;
    }
    match params.encrypt {
        // Hashing needs passlib in Ansible 2.19; the runs we match have none.
        Some(_) => Err(
            "Unable to encrypt nor hash, passlib must be installed: No module named 'passlib'"
                .into(),
        ),
        None => Ok(plain),
    }
}

const SALT_CHARS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789./";

/// BaseHash.algorithms' salt sizes; 8 for other schemes (random_salt's default).
fn salt_size(encrypt: &str) -> usize {
    match encrypt {
        "bcrypt" => 22,
        "sha256_crypt" | "sha512_crypt" => 16,
        _ => 8,
    }
}

/// Splits `path k=v ...` the way the plugin's `_parse_parameters` does.
fn parse_term(term: &str, kwargs: &Map<String, Value>) -> Result<(String, Params), String> {
    let mut opts = kwargs.clone();
    let relpath = match term.split_once(' ') {
        None => term.to_string(),
        Some((first, rest)) => {
            let mut kv = crate::playbook::kv::parse_kv(rest)?;
            let mut relpath = first.to_string();
            if let Some(raw) = kv.remove("_raw_params") {
                relpath = format!("{relpath} {}", crate::template::pyfmt::to_str(&raw));
                if !term.starts_with(&relpath) {
                    return Err(
                        "Unrecognized value after key=value parameters given to password lookup"
                            .into(),
                    );
                }
            }
            opts.extend(kv);
            relpath
        }
    };
    let invalid: Vec<&str> = opts
        .keys()
        .map(String::as_str)
        .filter(|k| !VALID_PARAMS.contains(k))
        .collect();
    if !invalid.is_empty() {
        return Err(format!(
            "Unrecognized parameter(s) given to password lookup: {}",
            invalid.join(", ")
        ));
    }
    let text = |k: &str| {
        opts.get(k)
            .filter(|v| !v.is_null())
            .map(crate::template::pyfmt::to_str)
    };
    let length = match opts.get("length") {
        None | Some(Value::Null) => DEFAULT_LENGTH,
        Some(Value::Number(n)) => n.as_u64().unwrap_or(0) as usize,
        Some(v) => {
            let s = crate::template::pyfmt::to_str(v);
            s.trim().parse().map_err(|_| {
                format!("Invalid type for configuration option setting: length : {s}")
            })?
        }
    };
    let specs: Vec<String> = match opts.get("chars") {
        None | Some(Value::Null) => DEFAULT_CHARS.iter().map(|s| s.to_string()).collect(),
        Some(Value::Array(items)) => items.iter().map(crate::template::pyfmt::to_str).collect(),
        Some(v) => split_chars(&crate::template::pyfmt::to_str(v)),
    };
    let params = Params {
        length,
        chars: candidate_chars(&specs),
        encrypt: text("encrypt"),
        ident: text("ident"),
        seed: text("seed"),
    };
    Ok((relpath, params))
}

/// `chars=ascii_letters,digits,,` : comma-separated specs, `,,` standing for a comma.
fn split_chars(chars: &str) -> Vec<String> {
    let mut out = Vec::new();
    if chars.contains(",,") {
        out.push(",".to_string());
    }
    out.extend(
        chars
            .replace(",,", ",")
            .split(',')
            .filter(|c| !c.is_empty())
            .map(str::to_string),
    );
    out
}

/// Each spec is a constant of Python's `string` module or literal characters; quotes are
/// dropped (`_gen_candidate_chars`).
fn candidate_chars(specs: &[String]) -> String {
    const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";
    const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const DIGITS: &str = "0123456789";
    const PUNCT: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
    let mut out = String::new();
    for spec in specs {
        match spec.as_str() {
            "ascii_letters" => {
                out.push_str(LOWER);
                out.push_str(UPPER);
            }
            "ascii_lowercase" => out.push_str(LOWER),
            "ascii_uppercase" => out.push_str(UPPER),
            "digits" => out.push_str(DIGITS),
            "hexdigits" => out.push_str("0123456789abcdefABCDEF"),
            "octdigits" => out.push_str("01234567"),
            "punctuation" => out.push_str(PUNCT),
            "whitespace" => out.push_str(" \t\n\r\x0b\x0c"),
            "printable" => {
                out.push_str(DIGITS);
                out.push_str(LOWER);
                out.push_str(UPPER);
                out.push_str(PUNCT);
                out.push_str(" \t\n\r\x0b\x0c");
            }
            literal => out.push_str(literal),
        }
    }
    out.replace(['"', '\''], "")
}

/// `length` characters drawn from `chars`; a seed makes the draw repeatable.
fn random_password(length: usize, chars: &str, seed: Option<&str>) -> String {
    let pool: Vec<char> = chars.chars().collect();
    if pool.is_empty() {
        return String::new();
    }
    let draw = |rng: &mut dyn rand::RngCore| -> String {
        (0..length)
            .map(|_| pool[rng.random_range(0..pool.len())])
            .collect()
    };
    match seed {
        Some(s) => {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            s.hash(&mut h);
            draw(&mut rand::rngs::StdRng::seed_from_u64(h.finish()))
        }
        None => draw(&mut rand::rng()),
    }
}

fn read_file(path: &Path) -> Result<Option<String>, String> {
    if !path.exists() {
        return Ok(None);
    }
    let data = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let text = String::from_utf8(data).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Some(text.trim_end().to_string()))
}

/// `_parse_content`: password, then ` salt=` and ` ident=` (the last of each).
fn parse_content(content: &str) -> (String, Option<String>, Option<String>) {
    let Some(sep) = content.rfind(" salt=") else {
        return (content.to_string(), None, None);
    };
    let password = content[..sep].to_string();
    let rem = &content[sep + " salt=".len()..];
    if rem.is_empty() {
        return (password, None, None);
    }
    match rem.rfind(" ident=") {
        Some(i) => (
            password,
            Some(rem[..i].to_string()),
            Some(rem[i + " ident=".len()..].to_string()),
        ),
        None => (password, Some(rem.to_string()), None),
    }
}

fn format_content(password: &str, salt: Option<&str>, ident: Option<&str>) -> String {
    match (salt, ident) {
        (None, _) => password.to_string(),
        (Some(s), Some(i)) => format!("{password} salt={s} ident={i}"),
        (Some(s), None) => format!("{password} salt={s}"),
    }
}

/// Writes the file mode 0600, its directory made 0700 when missing (`makedirs_safe`).
fn write_file(path: &Path, content: &str) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    let err = |e: std::io::Error| format!("{}: {e}", path.display());
    if let Some(dir) = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty() && !d.exists())
    {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(err)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(err)?;
    f.set_permissions(std::fs::Permissions::from_mode(0o600))
        .map_err(err)?;
    f.write_all(format!("{content}\n").as_bytes()).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chars_specs_expand_and_double_comma_is_a_comma() {
        assert_eq!(split_chars("digits,,"), vec![",", "digits"]);
        assert_eq!(candidate_chars(&split_chars("digits,ab'")), "0123456789ab");
    }

    #[test]
    fn content_round_trips_with_salt_and_ident() {
        let c = format_content("pw x", Some("s1"), Some("2b"));
        assert_eq!(c, "pw x salt=s1 ident=2b");
        assert_eq!(
            parse_content(&c),
            ("pw x".into(), Some("s1".into()), Some("2b".into()))
        );
        assert_eq!(parse_content("plain"), ("plain".into(), None, None));
    }

    #[test]
    fn file_is_created_once_and_reused() {
        let d = tempfile::tempdir().expect("tempdir");
        let dir = d.path().to_str().expect("utf-8 path");
        let none = Map::new();
        let a = password("sub/pw length=8 chars=digits", &none, Some(dir)).expect("first");
        assert_eq!(a.len(), 8);
        assert!(a.chars().all(|c| c.is_ascii_digit()));
        assert_eq!(password("sub/pw", &none, Some(dir)).expect("again"), a);
        let meta = std::fs::metadata(d.path().join("sub/pw")).expect("file");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert!(password("sub/pw bogus=1", &none, Some(dir))
            .unwrap_err()
            .contains("Unrecognized parameter(s) given to password lookup: bogus"));
    }
}
