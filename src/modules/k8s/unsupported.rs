//! `k8s_exec` and `k8s_log`: they need a kubelet to talk to, which our test cluster does not
//! have (its node is a stand-in), so they are not built yet: they fail clearly instead of
//! pretending.

use crate::modules::{ArgSpec, Args, Module, ModuleContext, ModuleError, ModuleResult};

pub struct Unsupported(pub &'static str);

pub const K8S_EXEC: Unsupported = Unsupported("k8s_exec");
pub const K8S_LOG: Unsupported = Unsupported("k8s_log");

impl Module for Unsupported {
    fn name(&self) -> &'static str {
        self.0
    }
    fn spec(&self) -> &'static [ArgSpec] {
        const ANY: &[ArgSpec] = &[ArgSpec::any()];
        ANY
    }
    fn run(&self, _args: &Args, _ctx: &mut ModuleContext) -> ModuleResult {
        Err(ModuleError::msg(format!(
            "{} (kubernetes.core.{}) is not supported yet by yiqiu-play: it streams from a kubelet, and yiqiu-play's tests have no kubelet to prove it against. Use the command module with kubectl for now.",
            self.0, self.0
        )))
    }
}
