//! The process's tokio runtime for the Kubernetes client. Tasks run on the executor's worker
//! threads; each blocks on this runtime for its API calls.

use std::future::Future;
use std::sync::OnceLock;

static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();

/// Runs `f` to completion on the shared runtime.
pub fn block_on<F: Future>(f: F) -> Result<F::Output, super::K8sError> {
    let rt = RUNTIME.get_or_init(|| {
        // kube's TLS asks rustls for the process-wide provider; ring is the one we build.
        let _ = rustls::crypto::ring::default_provider().install_default();
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("yiqiu-k8s")
            .enable_all()
            .build()
            .map_err(|e| format!("could not start the Kubernetes client runtime: {e}"))
    });
    match rt {
        Ok(rt) => Ok(rt.block_on(f)),
        Err(e) => Err(super::K8sError(e.clone())),
    }
}
