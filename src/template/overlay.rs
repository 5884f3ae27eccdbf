//! A template context made of a few names over another context (the task's variables), so
//! a nested render (`lookup('template')`) sees its own variables without rendering every
//! variable of the task first: names below stay lazily templated.

use minijinja::value::{Enumerator, Object, ObjectRepr};
use minijinja::Value as MjValue;
use std::sync::Arc;

#[derive(Debug)]
pub struct Overlay {
    top: indexmap::IndexMap<String, MjValue>,
    base: MjValue,
}

impl Overlay {
    /// `top` wins over `base`; `vars` names the overlay itself.
    pub fn context(top: indexmap::IndexMap<String, MjValue>, base: MjValue) -> MjValue {
        MjValue::from_object(Overlay { top, base })
    }
}

impl Object for Overlay {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &MjValue) -> Option<MjValue> {
        let name = key.as_str()?;
        if name == "vars" {
            return Some(MjValue::from_dyn_object(self.clone()));
        }
        if let Some(v) = self.top.get(name) {
            return Some(v.clone());
        }
        self.base.get_item(key).ok().filter(|v| !v.is_undefined())
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let mut names: indexmap::IndexSet<MjValue> =
            self.top.keys().map(|k| MjValue::from(k.as_str())).collect();
        if let Ok(iter) = self.base.try_iter() {
            names.extend(iter);
        }
        Enumerator::Values(names.into_iter().collect())
    }
}
