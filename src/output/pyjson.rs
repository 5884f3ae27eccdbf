//! Python-compatible rendering of JSON values for the callbacks: `json.dumps` (Ansible's
//! result dumps) and `str()`/`repr()` (loop item labels). One implementation serves the
//! callbacks and the template filters: this is a thin face over `template::pyfmt`.

use crate::template::pyfmt::{self, JsonOptions};
use serde_json::Value;

/// Options of Python's `json.dumps` that Ansible's callbacks use.
#[derive(Clone, Copy, Debug)]
pub struct DumpOptions {
    /// `indent=N`: pretty-print; `None` gives the single-line `", "` / `": "` form.
    pub indent: Option<usize>,
    pub sort_keys: bool,
    /// `ensure_ascii=True` escapes every non-ASCII character as `\uXXXX`.
    pub ensure_ascii: bool,
}

/// `json.dumps(value, indent=..., sort_keys=..., ensure_ascii=...)`.
pub fn dumps(value: &Value, opts: DumpOptions) -> String {
    pyfmt::json_dumps(
        value,
        JsonOptions {
            indent: opts.indent,
            sort_keys: opts.sort_keys,
            ensure_ascii: opts.ensure_ascii,
        },
    )
}

/// Python's `repr()` of a float.
pub fn python_float(f: f64) -> String {
    pyfmt::repr_float(f)
}

/// Python's `str()`: strings bare, everything else as `repr()`.
pub fn py_str(value: &Value) -> String {
    pyfmt::to_str(value)
}

/// Python's `repr()`.
pub fn py_repr(value: &Value) -> String {
    pyfmt::repr(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const COMPACT: DumpOptions = DumpOptions {
        indent: None,
        sort_keys: true,
        ensure_ascii: false,
    };

    #[test]
    fn compact_matches_python() {
        let v = json!({"rc": 1, "cmd": ["/bin/false"], "changed": true, "e": {}, "l": [], "s": "ü\"\n"});
        assert_eq!(
            dumps(&v, COMPACT),
            r#"{"changed": true, "cmd": ["/bin/false"], "e": {}, "l": [], "rc": 1, "s": "ü\"\n"}"#
        );
    }

    #[test]
    fn indented_matches_python() {
        let v = json!({"msg": [1, {"b": null, "a": 2.5}], "e": []});
        let opts = DumpOptions {
            indent: Some(4),
            ..COMPACT
        };
        assert_eq!(
            dumps(&v, opts),
            "{\n    \"e\": [],\n    \"msg\": [\n        1,\n        {\n            \"a\": 2.5,\n            \"b\": null\n        }\n    ]\n}"
        );
    }

    #[test]
    fn ensure_ascii_escapes_surrogates() {
        let opts = DumpOptions {
            ensure_ascii: true,
            ..COMPACT
        };
        assert_eq!(dumps(&json!("é😀"), opts), r#""\u00e9\ud83d\ude00""#);
    }

    #[test]
    fn floats_like_python() {
        assert_eq!(python_float(1.0), "1.0");
        assert_eq!(python_float(0.1), "0.1");
        assert_eq!(python_float(1e16), "1e+16");
        assert_eq!(python_float(1.5e-5), "1.5e-05");
        assert_eq!(python_float(123456.789), "123456.789");
    }

    #[test]
    fn repr_like_python() {
        assert_eq!(py_str(&json!("a b")), "a b");
        assert_eq!(
            py_str(&json!({"n": "one", "x": [true, null, 1]})),
            "{'n': 'one', 'x': [True, None, 1]}"
        );
        assert_eq!(py_repr(&json!("it's")), "\"it's\"");
    }
}
