//! How big a string a template may build. ansible-playbook has no limit: `'a' |
//! center(999999999)` there takes 30 s and 7 GB. We stop at minijinja's own limit for `'x' * n`
//! (100 MB) with an error that names it, for every filter that pads or indents and for the
//! rendered result.

use minijinja::{Error, ErrorKind};

/// The largest string a filter or a template may produce, in bytes.
pub const MAX_STRING_BYTES: usize = 100_000_000;

/// The largest `indent` the JSON/YAML dumpers take (an indent is repeated per level).
pub const MAX_INDENT: usize = 1000;

fn too_large(what: &str, bytes: usize) -> Error {
    Error::new(
        ErrorKind::InvalidOperation,
        format!(
            "{what} would make a string of {bytes} bytes, over the limit of {MAX_STRING_BYTES} bytes"
        ),
    )
}

/// Fails when a string of `bytes` would be over [`MAX_STRING_BYTES`].
pub fn check_len(what: &str, bytes: usize) -> Result<(), Error> {
    if bytes > MAX_STRING_BYTES {
        return Err(too_large(what, bytes));
    }
    Ok(())
}

/// Fails on an indent over [`MAX_INDENT`].
pub fn check_indent(what: &str, indent: usize) -> Result<usize, Error> {
    if indent > MAX_INDENT {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("{what}: indent {indent} is over the limit of {MAX_INDENT}"),
        ));
    }
    Ok(indent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_errors_with_the_numbers() {
        assert!(check_len("center", MAX_STRING_BYTES).is_ok());
        let e = check_len("center", MAX_STRING_BYTES + 1).unwrap_err();
        assert!(e.to_string().contains("over the limit of 100000000 bytes"));
        assert_eq!(check_indent("to_json", 4).ok(), Some(4));
        assert!(check_indent("to_json", 5000).is_err());
    }
}
