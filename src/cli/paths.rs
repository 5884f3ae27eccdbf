//! Ansible's `unfrackpath`: expand `~` and `$VARS`, make absolute against a base directory,
//! and normalise `.`/`..` without following symlinks (`follow=False`).

use std::path::{Component, Path, PathBuf};

/// Expands `~`/`~/…` with `home` and `$NAME`/`${NAME}` with `env`, then makes the path absolute
/// against `base` and normalises it lexically.
pub fn unfrack(
    path: &str,
    base: &Path,
    home: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> PathBuf {
    let expanded = expand_vars(&expand_user(path, home), env);
    let p = Path::new(&expanded);
    let joined = if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    };
    normalize(&joined)
}

/// `~` and `~/rest` become the home directory (Python's `expanduser`); `~user` is left alone.
pub fn expand_user(path: &str, home: Option<&Path>) -> String {
    let Some(home) = home else {
        return path.to_string();
    };
    if path == "~" {
        return home.display().to_string();
    }
    match path.strip_prefix("~/") {
        Some(rest) => home.join(rest).display().to_string(),
        None => path.to_string(),
    }
}

/// `$NAME` and `${NAME}` become the variable's value; unknown variables are left as written,
/// as Python's `expandvars` does.
pub fn expand_vars(text: &str, env: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let (name, consumed) = if let Some(inner) = after.strip_prefix('{') {
            match inner.find('}') {
                Some(end) => (&inner[..end], end + 2),
                None => ("", 0),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        match (name.is_empty(), env(name)) {
            (false, Some(value)) => out.push_str(&value),
            _ => out.push_str(&rest[pos..pos + 1 + consumed]),
        }
        rest = &rest[pos + 1 + consumed..];
    }
    out.push_str(rest);
    out
}

/// Lexical normalisation like `os.path.normpath` on an absolute path.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for comp in path.components() {
        match comp {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        (name == "X").then(|| "ex".to_string())
    }

    #[test]
    fn expands_home_vars_and_relative() {
        let home = Path::new("/home/u");
        assert_eq!(
            unfrack("~/r", Path::new("/b"), Some(home), &env),
            PathBuf::from("/home/u/r")
        );
        assert_eq!(
            unfrack("a/./$X/../${X}/c", Path::new("/b"), Some(home), &env),
            PathBuf::from("/b/a/ex/c")
        );
        assert_eq!(
            unfrack("$NOPE/x", Path::new("/b"), None, &env),
            PathBuf::from("/b/$NOPE/x")
        );
        assert_eq!(
            unfrack("~other/x", Path::new("/b"), Some(home), &env),
            PathBuf::from("/b/~other/x")
        );
    }
}
