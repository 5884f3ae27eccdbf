#!/usr/bin/env bash
# Smoke test of the cluster started by `cluster.sh start [DIR]`, with kubectl only:
# Deployment rollout on the node stand-in, a Job that completes, a Job that fails, a Job
# removed by the TTL-after-finished controller, server-side apply, scale to 0 and
# namespace deletion. Prints "N passed, N failed" at the end.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DIR="${1:-/tmp/yiqiu-k8s}"
eval "$("$HERE/cluster.sh" env "$DIR")" || exit 1
NS="yiqiu-smoke-$$"
pass=0
fail=0
check() { # NAME CMD...
    local name="$1" t0 out
    shift
    t0=$(date +%s%N)
    if out="$("$@" 2>&1)"; then
        pass=$((pass + 1))
        echo "ok   $name ($((($(date +%s%N) - t0) / 1000000)) ms)"
    else
        fail=$((fail + 1))
        echo "FAIL $name ($((($(date +%s%N) - t0) / 1000000)) ms)"
        echo "$out" | sed 's/^/     /'
    fi
}

sa_ready() {
    for _ in $(seq 1 100); do
        [ -n "$(kubectl -n "$NS" get sa default -o 'jsonpath={.secrets[0].name}' 2>/dev/null)" ] && return 0
        sleep 0.1
    done
    return 1
}
pods_on_standin() {
    local nodes
    nodes="$(kubectl -n "$NS" get pods -l app=x -o 'jsonpath={range .items[*]}{.spec.nodeName}{"\n"}{end}')"
    [ "$(echo "$nodes" | grep -c "^$YIQIU_K8S_NODE\$")" = 2 ] || { echo "nodes: $nodes"; return 1; }
    [ "$(kubectl -n "$NS" get pods -l app=x -o 'jsonpath={range .items[*]}{.status.containerStatuses[0].ready}{"\n"}{end}' | grep -c true)" = 2 ]
}
failing_job() {
    kubectl -n "$NS" apply -f - <<'EOF'
apiVersion: batch/v1
kind: Job
metadata: {name: jfail}
spec:
  backoffLimit: 0
  template:
    metadata:
      labels: {yiqiu.test/fail: "true"}
    spec:
      restartPolicy: Never
      containers: [{name: main, image: busybox:1.36, command: ["false"]}]
EOF
}
ttl_job() {
    kubectl -n "$NS" apply -f - <<'EOF' || return 1
apiVersion: batch/v1
kind: Job
metadata: {name: jttl}
spec:
  ttlSecondsAfterFinished: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{name: main, image: busybox:1.36}]
EOF
    kubectl -n "$NS" wait --for=delete job/jttl --timeout=60s 2>/dev/null && return 0
    # kubectl 1.20 has no --for=delete: poll
    for _ in $(seq 1 300); do
        kubectl -n "$NS" get job jttl >/dev/null 2>&1 || return 0
        sleep 0.2
    done
    return 1
}
ssa() {
    kubectl -n "$NS" apply --server-side --field-manager=yiqiu-smoke -f - <<'EOF' || return 1
apiVersion: v1
kind: ConfigMap
metadata: {name: ssa}
data: {a: "1"}
EOF
    kubectl -n "$NS" get configmap ssa -o jsonpath='{.metadata.managedFields[0].manager}' | grep -qx yiqiu-smoke
}
scaled_to_zero() {
    kubectl -n "$NS" scale deployment/x --replicas=0 || return 1
    for _ in $(seq 1 300); do
        [ -z "$(kubectl -n "$NS" get pods -l app=x -o name)" ] && return 0
        sleep 0.2
    done
    kubectl -n "$NS" get pods -o wide
    return 1
}

check "create namespace" kubectl create namespace "$NS"
check "default service account in namespace" sa_ready
check "create deployment (2 replicas)" kubectl -n "$NS" create deployment x --image=nginx:1.25 --replicas=2
check "rollout status" kubectl -n "$NS" rollout status deployment/x --timeout=60s
check "pods on $YIQIU_K8S_NODE and ready" pods_on_standin
check "create job" kubectl -n "$NS" create job j --image=busybox:1.36 -- true
check "job complete" kubectl -n "$NS" wait --for=condition=complete job/j --timeout=60s
check "create failing job" failing_job
check "failing job Failed" kubectl -n "$NS" wait --for=condition=failed job/jfail --timeout=60s
check "ttlSecondsAfterFinished removes a job" ttl_job
check "server-side apply" ssa
check "scale to 0" scaled_to_zero
check "delete namespace" kubectl delete namespace "$NS" --timeout=90s
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
