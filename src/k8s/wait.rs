//! Waiting until an object is ready, by the rules of `kubectl rollout status`
//! (kubectl's pkg/polymorphichelpers/rollout_status.go) rather than kubernetes.core's weaker
//! checks: a Deployment is done when the controller has seen its generation, every replica is
//! updated, no old replica is left and the updated ones are available; a rollout past its
//! progress deadline fails with the condition's message. Jobs end on Complete (Failed fails
//! at once), Pods on Ready; `wait_condition` waits for any condition type/status/reason.
//! Waits watch the object (one GET, then a watch from its resourceVersion), so they end when
//! the object gets there, not at the next poll.

use super::K8sError;
use futures_util::StreamExt;
use kube::api::{Api, DynamicObject, WatchEvent, WatchParams};
use serde_json::Value;
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub struct WaitSpec {
    pub timeout: Duration,
    pub sleep: Duration,
    pub condition: Option<Condition>,
}

#[derive(Clone, Debug)]
pub struct Condition {
    pub type_: String,
    pub status: String,
    pub reason: Option<String>,
}

/// Where an object stands.
#[derive(Debug, PartialEq)]
pub enum State {
    Ready,
    /// Not yet, and why (e.g. `deployment/web 2/3 updated`).
    Waiting(String),
    /// It will not get there (a failed Job, a rollout past its deadline).
    Failed(String),
}

fn int(v: &Value, path: &[&str]) -> i64 {
    let mut cur = v;
    for p in path {
        cur = &cur[*p];
    }
    cur.as_i64().unwrap_or(0)
}

fn condition<'a>(obj: &'a Value, type_: &str) -> Option<&'a Value> {
    obj["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
}

/// The readiness of `obj` of `kind`.
pub fn state(kind: &str, obj: &Value, wanted: Option<&Condition>) -> State {
    let name = obj["metadata"]["name"].as_str().unwrap_or("?");
    let label = format!("{}/{name}", kind.to_lowercase());
    if let Some(c) = wanted {
        return match condition(obj, &c.type_) {
            Some(found)
                if found["status"] == c.status.as_str()
                    && c.reason
                        .as_ref()
                        .is_none_or(|r| found["reason"] == r.as_str()) =>
            {
                State::Ready
            }
            _ if kind == "Job"
                && condition(obj, "Failed").is_some_and(|f| f["status"] == "True") =>
            {
                State::Failed(format!(
                    "{label} failed: {}",
                    condition(obj, "Failed")
                        .map(|f| f["message"].as_str().unwrap_or_default())
                        .unwrap_or_default()
                ))
            }
            _ => State::Waiting(format!(
                "{label} waiting for condition {}={}",
                c.type_, c.status
            )),
        };
    }
    match kind {
        "Deployment" => deployment(obj, &label),
        "StatefulSet" => statefulset(obj, &label),
        "DaemonSet" => daemonset(obj, &label),
        "Pod" => pod(obj, &label),
        "Job" => job(obj, &label),
        _ => State::Ready,
    }
}

fn deployment(d: &Value, label: &str) -> State {
    if int(d, &["metadata", "generation"]) > int(d, &["status", "observedGeneration"]) {
        return State::Waiting(format!("{label}: waiting for the rollout to be observed"));
    }
    if let Some(c) = condition(d, "Progressing") {
        if c["reason"] == "ProgressDeadlineExceeded" {
            return State::Failed(format!(
                "{label} exceeded its progress deadline: {}",
                c["message"].as_str().unwrap_or_default()
            ));
        }
    }
    let want = d["spec"]["replicas"].as_i64().unwrap_or(1);
    let updated = int(d, &["status", "updatedReplicas"]);
    let replicas = int(d, &["status", "replicas"]);
    let available = int(d, &["status", "availableReplicas"]);
    if updated < want {
        return State::Waiting(format!("{label} {updated}/{want} updated"));
    }
    if replicas > updated {
        return State::Waiting(format!(
            "{label}: {} old replicas pending termination",
            replicas - updated
        ));
    }
    if available < updated {
        return State::Waiting(format!("{label} {available}/{want} available"));
    }
    // Beyond kubectl (which passes a scale-down while the extra pods still run, as
    // kubernetes.core does not): done when no more replicas run than wanted.
    if replicas > want {
        return State::Waiting(format!(
            "{label}: {} extra replicas terminating",
            replicas - want
        ));
    }
    State::Ready
}

fn statefulset(s: &Value, label: &str) -> State {
    let observed = int(s, &["status", "observedGeneration"]);
    if observed == 0 || int(s, &["metadata", "generation"]) > observed {
        return State::Waiting(format!("{label}: waiting for the rollout to be observed"));
    }
    let want = s["spec"]["replicas"].as_i64().unwrap_or(1);
    let ready = int(s, &["status", "readyReplicas"]);
    if ready < want {
        return State::Waiting(format!("{label} {ready}/{want} ready"));
    }
    let replicas = int(s, &["status", "replicas"]);
    if replicas > want {
        return State::Waiting(format!(
            "{label}: {} extra replicas terminating",
            replicas - want
        ));
    }
    let strategy = &s["spec"]["updateStrategy"];
    if strategy["type"] == "OnDelete" {
        return State::Ready;
    }
    if let Some(partition) = strategy["rollingUpdate"]["partition"].as_i64() {
        let updated = int(s, &["status", "updatedReplicas"]);
        if updated < want - partition {
            return State::Waiting(format!(
                "{label} {updated}/{} updated (partition {partition})",
                want - partition
            ));
        }
        return State::Ready;
    }
    if s["status"]["updateRevision"] != s["status"]["currentRevision"] {
        return State::Waiting(format!(
            "{label}: {} of {want} updated",
            int(s, &["status", "updatedReplicas"])
        ));
    }
    State::Ready
}

fn daemonset(d: &Value, label: &str) -> State {
    if int(d, &["metadata", "generation"]) > int(d, &["status", "observedGeneration"]) {
        return State::Waiting(format!("{label}: waiting for the rollout to be observed"));
    }
    let want = int(d, &["status", "desiredNumberScheduled"]);
    let updated = int(d, &["status", "updatedNumberScheduled"]);
    let available = int(d, &["status", "numberAvailable"]);
    if updated < want {
        return State::Waiting(format!("{label} {updated}/{want} updated"));
    }
    if available < want {
        return State::Waiting(format!("{label} {available}/{want} available"));
    }
    State::Ready
}

fn pod(p: &Value, label: &str) -> State {
    match p["status"]["phase"].as_str() {
        Some("Succeeded") => State::Ready,
        Some("Failed") => State::Failed(format!("{label} failed")),
        _ if condition(p, "Ready").is_some_and(|c| c["status"] == "True") => State::Ready,
        _ => State::Waiting(format!("{label}: containers not ready")),
    }
}

fn job(j: &Value, label: &str) -> State {
    if let Some(f) = condition(j, "Failed").filter(|c| c["status"] == "True") {
        return State::Failed(format!(
            "{label} failed: {}",
            f["message"]
                .as_str()
                .or(f["reason"].as_str())
                .unwrap_or_default()
        ));
    }
    if condition(j, "Complete").is_some_and(|c| c["status"] == "True") {
        return State::Ready;
    }
    State::Waiting(format!(
        "{label} {} succeeded",
        int(j, &["status", "succeeded"])
    ))
}

/// Waits until the object is ready; its last state. One GET, then a watch on the object from
/// that resourceVersion, so a change is seen when it happens instead of at the next poll.
pub async fn until_ready(
    api: &Api<DynamicObject>,
    kind: &str,
    name: &str,
    spec: &WaitSpec,
) -> Result<Value, K8sError> {
    let deadline = Instant::now() + spec.timeout;
    let mut obj = get(api, kind, name).await?;
    let mut changes = Changes::new(api, name, deadline);
    loop {
        let why = match state(kind, &obj, spec.condition.as_ref()) {
            State::Ready => return Ok(obj),
            State::Failed(why) => return Err(K8sError(why)),
            State::Waiting(why) => why,
        };
        if Instant::now() >= deadline {
            return Err(K8sError(format!(
                "Resource creation timed out after {} s: {why}",
                spec.timeout.as_secs()
            )));
        }
        tracing::debug!(target: "yiqiu::k8s", "{why}");
        crate::output::live_detail::set(&why);
        match changes.next(&obj).await {
            Change::Object(o) => obj = o,
            Change::Deleted => {
                return Err(K8sError(format!(
                    "{kind} {name} was deleted while waiting for it: {why}"
                )))
            }
            Change::Resync => obj = get(api, kind, name).await?,
            Change::Deadline => {}
        }
    }
}

/// Waits until the object no longer exists.
pub async fn until_gone(
    api: &Api<DynamicObject>,
    what: &str,
    name: &str,
    spec: &WaitSpec,
) -> Result<(), K8sError> {
    let deadline = Instant::now() + spec.timeout;
    let mut found = get_opt(api, what, name).await?;
    let mut changes = Changes::new(api, name, deadline);
    while let Some(obj) = found {
        crate::output::live_detail::set(&format!("{what} deleting"));
        if Instant::now() >= deadline {
            return Err(K8sError(format!(
                "Resource deletion timed out after {} s: {what} still exists",
                spec.timeout.as_secs()
            )));
        }
        found = match changes.next(&obj).await {
            Change::Object(o) => Some(o),
            Change::Deleted => None,
            Change::Resync | Change::Deadline => get_opt(api, what, name).await?,
        };
    }
    Ok(())
}

async fn get(api: &Api<DynamicObject>, kind: &str, name: &str) -> Result<Value, K8sError> {
    let obj = api.get(name).await.map_err(|e| {
        K8sError(format!(
            "Failed to get {kind} {name} while waiting: {}",
            super::describe(&e)
        ))
    })?;
    Ok(serde_json::to_value(&obj).unwrap_or(Value::Null))
}

async fn get_opt(
    api: &Api<DynamicObject>,
    what: &str,
    name: &str,
) -> Result<Option<Value>, K8sError> {
    let obj = api.get_opt(name).await.map_err(|e| {
        K8sError(format!(
            "Failed to get {what} while waiting: {}",
            super::describe(&e)
        ))
    })?;
    Ok(obj.map(|o| serde_json::to_value(&o).unwrap_or(Value::Null)))
}

/// What the next watch event says about the object.
enum Change {
    Object(Value),
    Deleted,
    /// The watch ended or failed (e.g. 410 Gone): read the object again.
    Resync,
    Deadline,
}

type EventStream = std::pin::Pin<
    Box<dyn futures_util::Stream<Item = kube::Result<WatchEvent<DynamicObject>>> + Send>,
>;

/// One object's changes, from a single watch kept open across events: a wait costs one
/// request however many updates the object goes through (over an SSH tunnel each new
/// connection costs a handshake). The watch is opened again only when the server ends it.
struct Changes<'a> {
    api: &'a Api<DynamicObject>,
    name: &'a str,
    deadline: Instant,
    stream: Option<EventStream>,
}

impl<'a> Changes<'a> {
    fn new(api: &'a Api<DynamicObject>, name: &'a str, deadline: Instant) -> Self {
        Changes {
            api,
            name,
            deadline,
            stream: None,
        }
    }

    /// The object's next change after `seen`, at most until the deadline.
    async fn next(&mut self, seen: &Value) -> Change {
        let deadline = tokio::time::Instant::from_std(self.deadline);
        tokio::time::timeout_at(deadline, self.next_event(seen))
            .await
            .unwrap_or(Change::Deadline)
    }

    async fn next_event(&mut self, seen: &Value) -> Change {
        let name = self.name;
        let mut stream = match self.stream.take() {
            Some(s) => s,
            None => match self.open(seen).await {
                Ok(s) => s,
                Err(e) => {
                    // Not every server lets us watch; fall back to polling.
                    tracing::debug!(target: "yiqiu::k8s", "watch {name}: {e}; polling");
                    tokio::time::sleep(POLL_FALLBACK).await;
                    return Change::Resync;
                }
            },
        };
        loop {
            let change = match stream.next().await {
                Some(Ok(WatchEvent::Added(o) | WatchEvent::Modified(o))) => {
                    Change::Object(serde_json::to_value(&o).unwrap_or(Value::Null))
                }
                Some(Ok(WatchEvent::Deleted(_))) => Change::Deleted,
                Some(Ok(WatchEvent::Bookmark(_))) => continue,
                Some(Ok(WatchEvent::Error(e))) => {
                    tracing::debug!(target: "yiqiu::k8s", "watch {name}: {e}");
                    return Change::Resync;
                }
                Some(Err(e)) => {
                    tracing::debug!(target: "yiqiu::k8s", "watch {name}: {e}");
                    tokio::time::sleep(POLL_FALLBACK).await;
                    return Change::Resync;
                }
                None => return Change::Resync,
            };
            self.stream = Some(stream);
            return change;
        }
    }

    /// A watch on the object from `seen`'s resourceVersion.
    async fn open(&self, seen: &Value) -> kube::Result<EventStream> {
        let rv = seen["metadata"]["resourceVersion"].as_str().unwrap_or("0");
        let left = self.deadline.saturating_duration_since(Instant::now());
        // The server ends a watch after `timeout` (at most 290 s in kube-rs); we re-read then.
        let wp = WatchParams::default()
            .fields(&format!("metadata.name={}", self.name))
            .timeout((left.as_secs() as u32 + 1).min(290));
        Ok(Box::pin(self.api.watch(&wp, rv).await?))
    }
}

/// How long to wait before reading again when a watch cannot be opened.
const POLL_FALLBACK: Duration = Duration::from_millis(500);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn deployment_waits_for_old_replicas_and_availability() {
        let mut d = json!({"metadata": {"name": "web", "generation": 2},
            "spec": {"replicas": 3},
            "status": {"observedGeneration": 2, "replicas": 4, "updatedReplicas": 3, "availableReplicas": 3}});
        assert!(
            matches!(state("Deployment", &d, None), State::Waiting(w) if w.contains("old replicas"))
        );
        d["status"]["replicas"] = json!(3);
        d["status"]["availableReplicas"] = json!(2);
        assert_eq!(
            state("Deployment", &d, None),
            State::Waiting("deployment/web 2/3 available".into())
        );
        d["status"]["availableReplicas"] = json!(3);
        assert_eq!(state("Deployment", &d, None), State::Ready);
        d["metadata"]["generation"] = json!(3);
        assert!(matches!(state("Deployment", &d, None), State::Waiting(_)));
        d["status"]["observedGeneration"] = json!(3);
        d["status"]["conditions"] = json!([{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": "ReplicaSet web-1 has timed out progressing."}]);
        assert!(
            matches!(state("Deployment", &d, None), State::Failed(m) if m.contains("has timed out progressing"))
        );
    }

    #[test]
    fn scale_down_waits_for_the_extra_replicas() {
        let d = json!({"metadata": {"name": "web", "generation": 3},
            "spec": {"replicas": 1},
            "status": {"observedGeneration": 3, "replicas": 4, "updatedReplicas": 4, "availableReplicas": 4}});
        assert_eq!(
            state("Deployment", &d, None),
            State::Waiting("deployment/web: 3 extra replicas terminating".into())
        );
        let s = json!({"metadata": {"name": "db", "generation": 2},
            "spec": {"replicas": 1},
            "status": {"observedGeneration": 2, "replicas": 3, "readyReplicas": 3,
                       "currentRevision": "a", "updateRevision": "a"}});
        assert!(
            matches!(state("StatefulSet", &s, None), State::Waiting(w) if w.contains("2 extra"))
        );
    }

    #[test]
    fn jobs_end_on_complete_or_fail_at_once() {
        let j = json!({"metadata": {"name": "j"}, "status": {"conditions": [{"type": "Failed", "status": "True", "message": "BackoffLimitExceeded"}]}});
        assert!(
            matches!(state("Job", &j, None), State::Failed(m) if m.contains("BackoffLimitExceeded"))
        );
        let c = Condition {
            type_: "Complete".into(),
            status: "True".into(),
            reason: None,
        };
        assert!(matches!(state("Job", &j, Some(&c)), State::Failed(_)));
        let done = json!({"metadata": {"name": "j"}, "status": {"conditions": [{"type": "Complete", "status": "True"}]}});
        assert_eq!(state("Job", &done, Some(&c)), State::Ready);
    }
}
