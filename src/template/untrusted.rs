//! `!unsafe` values: YAML text Ansible never templates, and refuses as an expression.
//!
//! A loaded `!unsafe` string becomes a template of its own literal text (a `raw` block behind
//! a marker comment): wherever it is templated it renders to exactly that text, and code that
//! evaluates expressions (conditionals, `debug: var`) recognises the marker and fails the way
//! ansible-core 2.19 does ("Encountered untrusted template or expression.").

const MARK: &str = "{# !unsafe #}{% raw %}";
const END: &str = "{% endraw %}";

/// The message Ansible gives for an untrusted template or expression.
pub const UNTRUSTED: &str = "Encountered untrusted template or expression.";

/// `text` marked untrusted. Text that would close the raw block early is kept as it is
/// (still unmarked, as before this existed).
pub fn mark(text: &str) -> String {
    if text.contains("endraw") {
        return text.to_string();
    }
    format!("{MARK}{text}{END}")
}

/// Whether `s` is a marked `!unsafe` value.
pub fn is_marked(s: &str) -> bool {
    s.trim_start().starts_with(MARK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marked_text_is_recognised_and_renders_literally() {
        let m = mark("{{ a }} b");
        assert!(is_marked(&m));
        assert!(!is_marked("{{ a }}"));
        let ctx = crate::vars::scope::to_mj(&serde_json::json!({"a": 1}));
        let out = crate::template::templar()
            .render_value(&serde_json::Value::String(m), &ctx)
            .unwrap();
        assert_eq!(out, serde_json::json!("{{ a }} b"));
    }
}
