#!/usr/bin/env python3
"""NODE STAND-IN for the test Kubernetes control plane started by cluster.sh.

This is NOT a kubelet and runs no containers. There is no kubelet or container
runtime on the test machines, so this small loop plays the node's part against the
REAL kube-apiserver / controller-manager / scheduler:

* registers Node `yiqiu-standin-node` (cpu 8, memory 16Gi, pods 110) with a Ready
  condition, and keeps it Ready (status heartbeat + node Lease every 10 s);
* watches the pods bound to it (spec.nodeName) and fakes their status:
  - ordinary pods -> phase Running, Ready/ContainersReady True, every container of
    the spec reported running and ready;
  - pods owned by a Job -> Succeeded about 1 s after they are seen (exit code 0);
  - label or annotation `yiqiu.test/fail: "true"` -> Failed (exit code 1) after ~1 s;
  - label or annotation `yiqiu.test/unready: "true"` -> Running but never Ready (a
    readiness probe that never passes);
  - label or annotation `yiqiu.test/succeed: "true"` -> Succeeded even when not a
    Job pod; `yiqiu.test/stay-running: "true"` keeps a Job pod Running;
  - annotation `yiqiu.test/run-seconds: "N"` changes the ~1 s delay;
* force-deletes (grace period 0) its pods that have a deletionTimestamp, the way a
  kubelet confirms that the containers are gone.

Only the Python standard library is used (urllib + ssl), with the admin bearer
token. Pod events come from a watch, so it reacts well within a second; a full
re-list every 10 s repairs anything a dropped watch missed.
"""

import argparse
import json
import queue
import signal
import ssl
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from datetime import datetime, timezone

NODE = "yiqiu-standin-node"
LABEL_PREFIX = "yiqiu.test/"
RESYNC_SECONDS = 10
HEARTBEAT_SECONDS = 10


def now():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def log(*args):
    print(time.strftime("%H:%M:%S"), *args, flush=True)


class Api:
    def __init__(self, server, token, cafile):
        self.server = server.rstrip("/")
        self.token = token
        self.ctx = ssl.create_default_context(cafile=cafile)

    def request(self, method, path, body=None, ctype="application/json", timeout=15, query=None):
        url = self.server + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Authorization", "Bearer " + self.token)
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", ctype)
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=timeout) as resp:
                raw = resp.read()
                return resp.status, (json.loads(raw) if raw else None)
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                return e.code, json.loads(raw)
            except ValueError:
                return e.code, {"message": raw.decode(errors="replace")}

    def watch(self, path, query):
        url = self.server + path + "?" + urllib.parse.urlencode(query)
        req = urllib.request.Request(url)
        req.add_header("Authorization", "Bearer " + self.token)
        req.add_header("Accept", "application/json")
        timeout = int(query.get("timeoutSeconds", 60)) + 15
        return urllib.request.urlopen(req, context=self.ctx, timeout=timeout)


def marker(pod, key):
    meta = pod.get("metadata", {})
    for src in (meta.get("labels") or {}, meta.get("annotations") or {}):
        v = src.get(LABEL_PREFIX + key)
        if v is not None:
            return str(v)
    return None


def truthy(v):
    return v is not None and v.strip().lower() in ("true", "1", "yes", "y", "on")


def owned_by_job(pod):
    for ref in pod.get("metadata", {}).get("ownerReferences") or []:
        if ref.get("kind") == "Job":
            return True
    return False


def pod_ip(uid):
    n = zlib.crc32(uid.encode()) % 65000 + 2
    return "10.244.%d.%d" % (n // 254, n % 254 + 1)


def condition(ctype, status, ts, reason=None):
    c = {"type": ctype, "status": status, "lastProbeTime": None, "lastTransitionTime": ts}
    if reason:
        c["reason"] = reason
    return c


class StandIn:
    def __init__(self, api):
        self.api = api
        self.events = queue.Queue()
        self.stop = threading.Event()
        # pod uid -> (monotonic deadline, desired final phase)
        self.finish_at = {}
        # pod uid -> phase we last wrote, to skip redundant patches
        self.written = {}
        self.started = {}

    # ---- node -------------------------------------------------------------------

    def node_status(self):
        ts = now()
        res = {"cpu": "8", "memory": "16Gi", "pods": "110", "ephemeral-storage": "100Gi"}
        conds = [
            ("MemoryPressure", "False", "KubeletHasSufficientMemory"),
            ("DiskPressure", "False", "KubeletHasNoDiskPressure"),
            ("PIDPressure", "False", "KubeletHasSufficientPID"),
            ("Ready", "True", "KubeletReady"),
        ]
        return {
            "capacity": res,
            "allocatable": res,
            "conditions": [
                {"type": t, "status": s, "reason": r, "message": "yiqiu node stand-in",
                 "lastHeartbeatTime": ts, "lastTransitionTime": self.node_since}
                for t, s, r in conds
            ],
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"},
                          {"type": "Hostname", "address": NODE}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "machineID": "yiqiu-standin", "systemUUID": "yiqiu-standin", "bootID": "yiqiu-standin",
                "kernelVersion": "standin", "osImage": "yiqiu node stand-in (no containers run)",
                "containerRuntimeVersion": "standin://0", "kubeletVersion": "v1.20.2",
                "kubeProxyVersion": "v1.20.2", "operatingSystem": "linux", "architecture": "amd64",
            },
        }

    def register_node(self):
        self.node_since = now()
        body = {
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": NODE, "labels": {
                "kubernetes.io/hostname": NODE, "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
                "beta.kubernetes.io/arch": "amd64", "yiqiu.test/standin": "true"}},
            "spec": {},
            "status": self.node_status(),
        }
        code, resp = self.api.request("POST", "/api/v1/nodes", body)
        if code not in (200, 201, 409):
            raise RuntimeError("register node: %s %s" % (code, resp))
        self.heartbeat()
        log("node %s registered (%s)" % (NODE, code))

    def heartbeat(self):
        code, resp = self.api.request(
            "PATCH", "/api/v1/nodes/%s/status" % NODE, {"status": self.node_status()},
            ctype="application/merge-patch+json")
        if code == 404:
            self.register_node()
            return
        if code != 200:
            log("node heartbeat failed:", code, resp.get("message") if resp else "")
        else:
            self.untaint(resp)
        self.renew_lease()

    def untaint(self, node):
        """Drop the not-ready/unreachable taints that admission puts on a new node. A real
        cluster's node lifecycle controller removes them once the kubelet reports Ready;
        cluster.sh runs the controller-manager without it (nobody runs a real kubelet)."""
        taints = (node.get("spec") or {}).get("taints") or []
        keep = [t for t in taints if t.get("key") not in (
            "node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")]
        if len(keep) != len(taints):
            code, resp = self.api.request(
                "PATCH", "/api/v1/nodes/" + NODE, {"spec": {"taints": keep or None}},
                ctype="application/merge-patch+json")
            if code == 200:
                log("removed not-ready taint")
            else:
                log("untaint failed:", code, (resp or {}).get("message"))

    def renew_lease(self):
        ts = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        path = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"
        spec = {"holderIdentity": NODE, "leaseDurationSeconds": 40, "renewTime": ts}
        code, _ = self.api.request("PATCH", path + "/" + NODE, {"spec": spec},
                                   ctype="application/merge-patch+json")
        if code == 404:
            self.api.request("POST", path, {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                                            "metadata": {"name": NODE, "namespace": "kube-node-lease"},
                                            "spec": spec})

    # ---- pods -------------------------------------------------------------------

    def pod_path(self, pod):
        m = pod["metadata"]
        return "/api/v1/namespaces/%s/pods/%s" % (m["namespace"], m["name"])

    def reconcile(self, pod):
        meta = pod.get("metadata", {})
        uid = meta.get("uid")
        if not uid or (pod.get("spec") or {}).get("nodeName") != NODE:
            return
        if meta.get("deletionTimestamp"):
            # The "kubelet" confirms deletion: containers are (trivially) gone.
            code, resp = self.api.request(
                "DELETE", self.pod_path(pod),
                {"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0,
                 "preconditions": {"uid": uid}})
            if code not in (200, 202, 404, 409):
                log("delete %s/%s failed: %s %s" % (meta.get("namespace"), meta.get("name"), code,
                                                    (resp or {}).get("message")))
            else:
                log("deleted %s/%s" % (meta.get("namespace"), meta.get("name")))
            self.forget(uid)
            return
        phase = (pod.get("status") or {}).get("phase")
        if phase in ("Succeeded", "Failed"):
            self.finish_at.pop(uid, None)
            return
        final = None
        if truthy(marker(pod, "fail")):
            final = "Failed"
        elif truthy(marker(pod, "succeed")):
            final = "Succeeded"
        elif owned_by_job(pod) and not truthy(marker(pod, "stay-running")):
            final = "Succeeded"
        if phase != "Running" or self.written.get(uid) != "Running":
            self.write_status(pod, "Running")
        if final and uid not in self.finish_at:
            try:
                delay = float(marker(pod, "run-seconds") or 1)
            except ValueError:
                delay = 1.0
            self.finish_at[uid] = (time.monotonic() + max(delay, 0), final, pod)

    def forget(self, uid):
        self.finish_at.pop(uid, None)
        self.written.pop(uid, None)
        self.started.pop(uid, None)

    def write_status(self, pod, phase):
        meta = pod["metadata"]
        uid = meta["uid"]
        spec = pod.get("spec") or {}
        ts = now()
        start = self.started.setdefault(uid, ts)
        running = phase == "Running"
        ok = phase != "Failed"
        # A readiness probe that never passes: running, not ready, no restarts.
        probe_ok = not truthy(marker(pod, "unready"))

        def cstatus(c, init=False):
            image = c.get("image", "")
            st = {"name": c["name"], "image": image, "imageID": "standin://" + image,
                  "containerID": "standin://%s/%s" % (uid, c["name"]), "restartCount": 0}
            if running and not init:
                st.update(ready=probe_ok, started=True, state={"running": {"startedAt": start}})
            else:
                code = 0 if (ok or init) else 1
                st.update(ready=False, started=False, state={"terminated": {
                    "exitCode": code, "reason": "Completed" if code == 0 else "Error",
                    "startedAt": start, "finishedAt": ts,
                    "containerID": "standin://%s/%s" % (uid, c["name"])}})
            return st

        ready = "True" if running and probe_ok else "False"
        reason = None if running and probe_ok else ("ContainersNotReady" if running else "PodCompleted")
        ip = pod_ip(uid)
        status = {
            "phase": phase,
            "hostIP": "127.0.0.1",
            "podIP": ip,
            "podIPs": [{"ip": ip}],
            "startTime": start,
            "qosClass": (pod.get("status") or {}).get("qosClass", "BestEffort"),
            "conditions": [
                condition("Initialized", "True", start),
                condition("Ready", ready, ts, reason),
                condition("ContainersReady", ready, ts, reason),
                condition("PodScheduled", "True", start),
            ],
            "containerStatuses": [cstatus(c) for c in spec.get("containers") or []],
            "initContainerStatuses": [cstatus(c, True) for c in spec.get("initContainers") or []],
        }
        code, resp = self.api.request("PATCH", self.pod_path(pod) + "/status", {"status": status},
                                      ctype="application/merge-patch+json")
        if code == 200:
            self.written[uid] = phase
            log("pod %s/%s -> %s" % (meta["namespace"], meta["name"], phase))
        elif code != 404:
            log("status %s/%s failed: %s %s" % (meta["namespace"], meta["name"], code,
                                                (resp or {}).get("message")))

    # ---- loops ------------------------------------------------------------------

    def list_pods(self):
        code, resp = self.api.request("GET", "/api/v1/pods",
                                      query={"fieldSelector": "spec.nodeName=" + NODE})
        if code != 200:
            raise RuntimeError("list pods: %s %s" % (code, resp))
        return resp.get("items") or [], resp["metadata"]["resourceVersion"]

    def watcher(self):
        """Feeds ('pods', list) and ('event', type, pod) into the queue, forever."""
        while not self.stop.is_set():
            try:
                items, rv = self.list_pods()
                self.events.put(("pods", items))
                last_list = time.monotonic()
                while not self.stop.is_set() and time.monotonic() - last_list < RESYNC_SECONDS:
                    q = {"fieldSelector": "spec.nodeName=" + NODE, "watch": "1",
                         "resourceVersion": rv, "allowWatchBookmarks": "true",
                         "timeoutSeconds": str(RESYNC_SECONDS)}
                    with self.api.watch("/api/v1/pods", q) as stream:
                        for line in stream:
                            if self.stop.is_set():
                                return
                            if not line.strip():
                                continue
                            ev = json.loads(line)
                            obj = ev.get("object") or {}
                            if ev.get("type") == "ERROR":
                                raise RuntimeError("watch error: %s" % obj.get("message"))
                            rv = obj.get("metadata", {}).get("resourceVersion", rv)
                            if ev.get("type") in ("ADDED", "MODIFIED", "DELETED"):
                                self.events.put(("event", ev["type"], obj))
            except Exception as e:  # noqa: BLE001 - keep the stand-in alive, re-list
                if not self.stop.is_set():
                    log("watch restart:", e)
                    time.sleep(0.5)

    def run(self):
        while True:
            try:
                self.register_node()
                break
            except Exception as e:  # noqa: BLE001
                log("waiting for apiserver:", e)
                time.sleep(0.5)
        threading.Thread(target=self.watcher, daemon=True).start()
        next_beat = time.monotonic() + HEARTBEAT_SECONDS
        while not self.stop.is_set():
            due = [v[0] for v in self.finish_at.values()]
            timeout = min([next_beat] + due) - time.monotonic()
            try:
                item = self.events.get(timeout=max(0.01, min(timeout, 1.0)))
                if item[0] == "pods":
                    seen = set()
                    for pod in item[1]:
                        seen.add(pod["metadata"]["uid"])
                        self.reconcile(pod)
                    for uid in list(self.written):
                        if uid not in seen:
                            self.forget(uid)
                elif item[1] == "DELETED":
                    self.forget(item[2].get("metadata", {}).get("uid", ""))
                else:
                    pod = item[2]
                    uid = pod["metadata"]["uid"]
                    if uid in self.finish_at and not pod["metadata"].get("deletionTimestamp"):
                        deadline, final, _ = self.finish_at[uid]
                        self.finish_at[uid] = (deadline, final, pod)
                    self.reconcile(pod)
            except queue.Empty:
                pass
            except Exception as e:  # noqa: BLE001
                log("reconcile error:", e)
            t = time.monotonic()
            for uid, (deadline, final, pod) in list(self.finish_at.items()):
                if deadline <= t:
                    self.finish_at.pop(uid, None)
                    try:
                        self.write_status(pod, final)
                    except Exception as e:  # noqa: BLE001
                        log("finish error:", e)
            if t >= next_beat:
                next_beat = t + HEARTBEAT_SECONDS
                try:
                    self.heartbeat()
                except Exception as e:  # noqa: BLE001
                    log("heartbeat error:", e)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--server", required=True)
    p.add_argument("--token-file", required=True)
    p.add_argument("--ca-file", required=True)
    a = p.parse_args()
    with open(a.token_file) as f:
        token = f.read().strip()
    s = StandIn(Api(a.server, token, a.ca_file))

    def bye(*_):
        s.stop.set()
        sys.exit(0)

    signal.signal(signal.SIGTERM, bye)
    signal.signal(signal.SIGINT, bye)
    log("node stand-in for", NODE, "against", a.server)
    s.run()


if __name__ == "__main__":
    main()
