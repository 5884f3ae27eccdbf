//! `fail`: fails the task with a message.

use crate::modules::{ArgKind, ArgSpec, Args, Module, ModuleContext, ModuleError, ModuleResult};
use serde_json::Value;

pub struct Fail;

const SPEC: &[ArgSpec] = &[ArgSpec::new("msg", ArgKind::Raw)];

impl Module for Fail {
    fn name(&self) -> &'static str {
        "fail"
    }
    fn spec(&self) -> &'static [ArgSpec] {
        SPEC
    }
    fn controller_only(&self) -> bool {
        true
    }
    fn run(&self, args: &Args, _ctx: &mut ModuleContext) -> ModuleResult {
        let msg = args
            .get("msg")
            .cloned()
            .unwrap_or_else(|| Value::String("Failed as requested from task".into()));
        let mut res = serde_json::Map::new();
        res.insert("changed".into(), Value::Bool(false));
        res.insert("msg".into(), msg);
        Err(ModuleError::Failed(res))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::util::test_support::{failed, run};
    use serde_json::json;

    #[test]
    fn default_and_custom_message() {
        let m = failed(run(&Fail, json!({})));
        assert_eq!(m["msg"], json!("Failed as requested from task"));
        assert_eq!(m["changed"], json!(false));
        let m = failed(run(&Fail, json!({"msg": "boom"})));
        assert_eq!(m["msg"], json!("boom"));
    }

    #[test]
    fn unknown_argument() {
        let raw = json!({"mesage": "x"}).as_object().cloned().unwrap();
        assert!(crate::modules::validate("fail", SPEC, raw).is_err());
    }
}
