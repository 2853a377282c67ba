"""A kubelet of the tests' own: the pods scheduled onto one Node really run, as processes on this host.

    kubelet = Kubelet(cp, "real-node", argoexec=cp.bin / "argoexec")   # cp: a started FullControlPlane
    kubelet.route_service("argo", "minio", "127.26.1.2")   # what cluster DNS answers for minio.argo.svc
    kubelet.start()                                         # registers the Node; pods then run
    ...
    kubelet.stop()

kwok fakes the pods of the Nodes it manages (annotated kwok.x-k8s.io/node=fake); this Node carries no
such annotation, so kwok leaves it alone and this kubelet is the only one acting on its pods. It does
what a kubelet does, for the parts Argo's executor depends on:

- Node: registers it Ready (InternalIP 127.0.0.1) and renews its Lease in kube-node-lease, so the
  node-lifecycle controller removes the not-ready taint and keeps it schedulable.
- Volumes: emptyDir, secret (items, optional, defaultMode), configMap, downwardAPI and projected
  (serviceAccountToken by a TokenRequest bound to the pod, as the kubelet asks it: the SA token
  Argo's executor authenticates with; the kube-root-ca.crt ConfigMap's ca.crt; the namespace). A
  volume that cannot be set up is the kubelet's FailedMount Event, in its words (kubernetes v1.35.4
  pkg/volume/util/operationexecutor/operation_executor.go generateVolumeMsg: `%v for volume %q %v`
  with prefix "MountVolume.SetUp failed" (operation_generator.go) and errSuffix `: <error>`; the
  secret volume's errors: the secret manager's NotFound (`secret "x" not found`) and
  pkg/volume/secret/secret.go "references non-existent secret key: %s"), retried, and the pod stays
  Pending with its containers waiting (PodInitializing when it has init containers, else
  ContainerCreating: pkg/kubelet/kubelet_pods.go convertToAPIContainerStatuses).
- Containers: init containers one after the other, then the others together, each a process in a
  mount and UTS namespace of its own (`unshare -m -u`): its root is an overlay over this host's root
  (every image maps to the host's tools, as `alpine`'s `sh` maps to the host's `sh`; an image whose
  repository is `argoexec` also gets the argoexec binary built by build.sh on its PATH), with a
  fresh /tmp, /run, /dev and /proc, the pod's volumes bound at their mountPaths (subPath too), the
  termination log file, and the pod's /etc/hosts and /etc/resolv.conf. So the fixed paths Argo
  uses (/var/run/argo, /argo/secret/<name>, /var/run/secrets/kubernetes.io/serviceaccount, /tmp)
  never collide between pods or containers. env, envFrom, $(VAR) expansion, workingDir; the
  in-cluster API server through KUBERNETES_SERVICE_HOST/PORT = the test apiserver (its serving
  certificate is for 127.0.0.1; a real kubelet gives the `kubernetes` Service's ClusterIP, which
  kube-proxy would route to it).
- Status: written through pods/status as the kubelet writes it (phase, conditions, container
  states with exit codes, reasons Completed/Error, termination messages), with the kubelet's
  Pulled/Created/Started Events; a pod being deleted has its processes stopped and is then deleted
  with grace 0, as the kubelet finishes a deletion.
- Cluster DNS: a small server on a loopback address of its own, the pods' only nameserver, with
  the search path of a pod's namespace (ndots:5, as the kubelet writes resolv.conf for
  dnsPolicy ClusterFirst): <service>.<namespace>.svc.cluster.local resolves when that Service
  exists, to the address route_service gave it, else to an address where nothing listens (a
  Service without endpoints refuses connections); other names are NXDOMAIN.

Not done: restarts (restartPolicy is treated as Never, which is what Argo's pods use), probes,
resource limits, image pulls (every image is present), pods/log and exec (the kubelet API is not
served), capabilities and seccomp (runAsUser/runAsGroup/fsGroup are applied: the process's ids; volume
ownership for fsGroup is not), service links for Services other than `kubernetes`.
"""
from __future__ import annotations

import base64
import datetime
import hashlib
import json
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import traceback
import urllib.error
import urllib.parse
from pathlib import Path
from typing import Any

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def loopback_address() -> str:
    """A random address of 127.0.0.0/8 (all of it is this host's loopback on Linux), so a server can
    listen on a fixed port (53, 9000) without clashing with another test's."""
    return f"127.{random.randint(100, 250)}.{random.randint(0, 255)}.{random.randint(2, 254)}"


# The tests' real node carries this taint, so the pods of Deployments (Argo's own, MinIO's) stay on
# kwok's nodes; a Workflow runs here when on_real_node gave it the toleration and the node selector.
REAL_NODE_TAINT = {"key": "argodoctor.test/kubelet", "value": "real", "effect": "NoSchedule"}


def on_real_node(workflow: dict[str, Any], node: str = "real-node") -> dict[str, Any]:
    """The Workflow with spec.nodeSelector and spec.tolerations (Argo copies both into its pods) that
    put its pods on the real node."""
    spec = workflow.setdefault("spec", {})
    spec["nodeSelector"] = {**(spec.get("nodeSelector") or {}), "kubernetes.io/hostname": node}
    spec["tolerations"] = [*(spec.get("tolerations") or []), {**REAL_NODE_TAINT, "operator": "Equal"}]
    return workflow


class MountError(Exception):
    """A volume the kubelet cannot set up; str() is the error the volume plugin returns."""


class ConfigError(Exception):
    """A container whose env cannot be made (CreateContainerConfigError); str() is the kubelet's message."""


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes' $(VAR) expansion (third_party/forked/golang/expansion): $(VAR) of a defined
    variable is replaced, an undefined one stays as written, $$ is a literal $."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "$" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt == "$":
                out.append("$")
                i += 2
                continue
            if nxt == "(":
                end = text.find(")", i + 2)
                if end != -1:
                    name = text[i + 2:end]
                    out.append(env[name] if name in env else text[i:end + 1])
                    i = end + 1
                    continue
        out.append(text[i])
        i += 1
    return "".join(out)


# ---------------------------------------------------------------- cluster DNS
class ClusterDNS:
    """A DNS server for the pods (UDP, port 53 of its own loopback address): A records of Services."""

    domain = "cluster.local"

    def __init__(self, resolve):
        self.address = loopback_address()
        self.resolve = resolve  # (namespace, service) -> IPv4 address, or None when there is no such Service
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((self.address, 53))
        self.sock.settimeout(0.5)
        self.queries: list[str] = []
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, name="cluster-dns", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(5)
        self.sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except (socket.timeout, OSError):
                continue
            try:
                self.sock.sendto(self._answer(data), peer)
            except Exception:  # a malformed query: no answer, as a server drops it
                traceback.print_exc()

    def _answer(self, query: bytes) -> bytes:
        qid, _flags, qdcount = struct.unpack("!HHH", query[:6])
        labels, i = [], 12
        while query[i]:
            labels.append(query[i + 1:i + 1 + query[i]].decode("ascii", "replace").lower())
            i += 1 + query[i]
        qtype, _qclass = struct.unpack("!HH", query[i + 1:i + 5])
        question = query[12:i + 5]
        name = ".".join(labels)
        self.queries.append(name)
        ip = None
        suffix = f".svc.{self.domain}"
        parts = name[:-len(suffix)].split(".") if name.endswith(suffix) else []
        if len(parts) == 2:
            ip = self.resolve(parts[1], parts[0])
        # QR, AA, RD, RA; NXDOMAIN (3) for a name that is not a Service
        rcode = 0 if ip else 3
        answers = b""
        if ip and qtype == 1:  # A
            answers = struct.pack("!HHHIH", 0xC00C, 1, 1, 5, 4) + socket.inet_aton(ip)
        header = struct.pack("!HHHHHH", qid, 0x8580 | rcode, 1, 1 if answers else 0, 0, 0)
        return header + question + answers


# ---------------------------------------------------------------- the kubelet
class Kubelet:
    def __init__(self, cp, node_name: str, *, argoexec: Path, runtime: str = "containerd://1.7.0",
                 kubelet_version: str | None = None, taints: list[dict[str, str]] | None = None):
        self.cp = cp
        self.node = node_name
        self.taints = taints or []  # e.g. REAL_NODE_TAINT: only pods that tolerate it come here
        self.argoexec = Path(argoexec)
        self.runtime = runtime
        self.kubelet_version = kubelet_version
        self.dir = Path(cp.dir) / f"kubelet-{node_name}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.dir / "kubelet.log"
        self.routes: dict[tuple[str, str], str] = {}
        self.no_endpoints = loopback_address()  # nothing listens here: a Service without endpoints
        self.dns = ClusterDNS(self._resolve_service)
        self.pods: dict[str, PodWorker] = {}  # by uid
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    # ---- public
    def route_service(self, namespace: str, name: str, address: str) -> None:
        """Cluster DNS answers <name>.<namespace>.svc with `address` while that Service exists
        (what kube-proxy does with its ClusterIP: the traffic reaches the pods behind it)."""
        self.routes[(namespace, name)] = address

    def start(self, timeout: float = 60.0) -> dict[str, Any]:
        self.dns.start()
        self._register()
        for target, name in ((self._heartbeat, "heartbeat"), (self._sync_loop, "pods")):
            t = threading.Thread(target=target, name=f"kubelet-{name}", daemon=True)
            t.start()
            self._threads.append(t)
        return self._wait(lambda: self.cp._schedulable(self.node), f"node {self.node} schedulable", timeout)

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(10)
        for worker in list(self.pods.values()):
            worker.kill()
        for worker in list(self.pods.values()):
            worker.join(15)
        self.dns.stop()

    def log(self, msg: str) -> None:
        with self._lock, open(self.log_path, "a") as f:
            f.write(f"{now()} {msg}\n")

    def pod_log(self, namespace: str, name: str, container: str) -> str:
        """What the container printed (stdout and stderr), read from this kubelet's own files."""
        for w in self.pods.values():
            if w.namespace == namespace and w.name == name:
                path = w.dir / "logs" / f"{container}.log"
                return path.read_text(errors="replace") if path.exists() else ""
        return ""

    # ---- node
    def _register(self) -> None:
        version = self.kubelet_version or self.cp.server_version()
        resources = {"cpu": "8", "memory": "32Gi", "pods": "110"}
        t = now()
        node = {
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": self.node, "labels": {
                "kubernetes.io/hostname": self.node, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                "type": "argodoctor-test-kubelet"}},
            "spec": {"taints": self.taints} if self.taints else {},
            "status": {
                "allocatable": resources, "capacity": resources,
                "addresses": [{"type": "InternalIP", "address": self.cp.node_ip},
                              {"type": "Hostname", "address": self.node}],
                "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                "message": "kubelet is posting ready status", "lastHeartbeatTime": t,
                                "lastTransitionTime": t}],
                "nodeInfo": {"containerRuntimeVersion": self.runtime, "kubeletVersion": version,
                             "operatingSystem": "linux", "architecture": "amd64",
                             "kernelVersion": os.uname().release, "osImage": "argodoctor test kubelet",
                             "machineID": "", "systemUUID": "", "bootID": "",
                             "kubeProxyVersion": ""},
            },
        }
        self.cp.api("POST", "/api/v1/nodes", node)

    def _heartbeat(self) -> None:
        path = f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{self.node}"
        last_status = 0.0
        while not self._stop.is_set():
            try:
                t = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                lease = self.cp.get(path)
                spec = {"holderIdentity": self.node, "leaseDurationSeconds": 40, "renewTime": t}
                if lease is None:
                    self.cp.api("POST", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", {
                        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                        "metadata": {"name": self.node, "namespace": "kube-node-lease"}, "spec": spec})
                else:
                    self.cp.api("PATCH", path, {"spec": spec}, content_type="application/merge-patch+json")
                if time.monotonic() - last_status > 30:
                    self.cp.api("PATCH", f"/api/v1/nodes/{self.node}/status", {"status": {"conditions": [
                        {"type": "Ready", "status": "True", "reason": "KubeletReady",
                         "message": "kubelet is posting ready status", "lastHeartbeatTime": now()}]}},
                        content_type="application/strategic-merge-patch+json")
                    last_status = time.monotonic()
            except Exception as e:
                self.log(f"heartbeat: {e}")
            self._stop.wait(5)

    # ---- pods
    def _sync_loop(self) -> None:
        selector = urllib.parse.quote(f"spec.nodeName={self.node}")
        while not self._stop.is_set():
            try:
                items = self.cp.api("GET", f"/api/v1/pods?fieldSelector={selector}")["items"]
                seen = set()
                for pod in items:
                    uid = pod["metadata"]["uid"]
                    seen.add(uid)
                    worker = self.pods.get(uid)
                    if worker is None and not pod["metadata"].get("deletionTimestamp"):
                        worker = self.pods[uid] = PodWorker(self, pod)
                        worker.start()
                    elif worker is None:
                        self._delete(pod)
                    elif pod["metadata"].get("deletionTimestamp"):
                        worker.deleting = True
                for uid, worker in list(self.pods.items()):
                    if uid not in seen:
                        worker.kill()
            except Exception as e:
                self.log(f"sync: {e}")
            self._stop.wait(0.3)

    def _delete(self, pod: dict[str, Any]) -> None:
        m = pod["metadata"]
        try:
            self.cp.api("DELETE", f"/api/v1/namespaces/{m['namespace']}/pods/{m['name']}",
                        {"apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0,
                         "preconditions": {"uid": m["uid"]}})
        except urllib.error.HTTPError as e:
            if e.code not in (404, 409):
                raise

    def _resolve_service(self, namespace: str, name: str) -> str | None:
        if self.cp.get(f"/api/v1/namespaces/{namespace}/services/{name}") is None:
            return None
        return self.routes.get((namespace, name), self.no_endpoints)

    def _wait(self, fn, what: str, timeout: float):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = fn()
            if value:
                return value
            time.sleep(0.2)
        raise TimeoutError(f"{what} not reached after {timeout}s")


class PodWorker(threading.Thread):
    """One pod's life on the node: volumes, then init containers, then the containers."""

    def __init__(self, kubelet: Kubelet, pod: dict[str, Any]):
        super().__init__(name=f"pod-{pod['metadata']['name']}", daemon=True)
        self.k = kubelet
        self.cp = kubelet.cp
        self.pod = pod
        m = pod["metadata"]
        self.namespace, self.name, self.uid = m["namespace"], m["name"], m["uid"]
        self.dir = kubelet.dir / "pods" / self.uid
        self.spec = pod["spec"]
        self.deleting = False
        self.killed = threading.Event()
        self.procs: dict[str, subprocess.Popen] = {}
        self.status_lock = threading.Lock()
        init = self.spec.get("initContainers") or []
        waiting = {"waiting": {"reason": "PodInitializing" if init else "ContainerCreating"}}
        self.init_statuses = {c["name"]: self._waiting_status(c, waiting) for c in init}
        self.statuses = {c["name"]: self._waiting_status(c, waiting) for c in self.spec["containers"]}
        self.start_time = now()
        self.phase = "Pending"
        self.mount_event: dict[str, Any] | None = None

    @staticmethod
    def _waiting_status(c: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
        return {"name": c["name"], "image": c["image"], "imageID": "", "ready": False, "restartCount": 0,
                "started": False, "state": state, "lastState": {}}

    # ---- thread body
    def run(self) -> None:
        try:
            self._run()
        except Exception:
            self.k.log(f"pod {self.namespace}/{self.name}: {traceback.format_exc()}")
        finally:
            if self.deleting:
                self.k._delete(self.pod)

    def kill(self) -> None:
        self.killed.set()
        for p in self.procs.values():
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def _stopping(self) -> bool:
        if self.deleting and not self.killed.is_set():
            self.kill()
        return self.killed.is_set()

    def _run(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "logs").mkdir(exist_ok=True)
        self._write_status()
        self._mount_volumes()
        if self._stopping():
            return
        self._write_network_files()
        for c in self.spec.get("initContainers") or []:
            code = self._run_container(c, self.init_statuses, wait=True)
            if code != 0 or self._stopping():
                self.phase = "Failed"
                self._write_status()
                return
        started = [c for c in self.spec["containers"] if self._run_container(c, self.statuses, wait=False) is None]
        self.phase = "Running" if started else self.phase
        self._write_status()
        for c in started:
            self._wait_container(c, self.statuses)
        codes = [s["state"].get("terminated", {}).get("exitCode", 1) for s in self.statuses.values()]
        self.phase = "Succeeded" if all(code == 0 for code in codes) else "Failed"
        self._write_status()

    # ---- volumes
    def _mount_volumes(self) -> None:
        delay = 0.5
        while not self._stopping():
            failed = None
            for v in self.spec.get("volumes") or []:
                try:
                    self._set_up(v)
                except MountError as e:
                    failed = (v["name"], str(e))
                    break
            if failed is None:
                return
            # operation_generator.go: GenerateError("MountVolume.SetUp failed", err), the event's text
            self._event("Warning", "FailedMount", f'MountVolume.SetUp failed for volume "{failed[0]}" : {failed[1]}',
                        aggregate=True)
            self.killed.wait(delay)
            delay = min(delay * 2, 8)

    def _volume_dir(self, name: str) -> Path:
        return self.dir / "volumes" / name

    def _set_up(self, v: dict[str, Any]) -> None:
        target = self._volume_dir(v["name"])
        if "emptyDir" in v:
            target.mkdir(parents=True, exist_ok=True)
            target.chmod(0o777)
            return
        files: dict[str, tuple[bytes, int]] = {}
        if "secret" in v:
            files = self._secret_files(v["secret"], v["secret"].get("defaultMode", 0o644))
        elif "configMap" in v:
            files = self._configmap_files(v["configMap"], v["configMap"].get("defaultMode", 0o644))
        elif "downwardAPI" in v:
            files = self._downward_files(v["downwardAPI"].get("items") or [],
                                         v["downwardAPI"].get("defaultMode", 0o644))
        elif "projected" in v:
            mode = v["projected"].get("defaultMode", 0o644)
            for src in v["projected"].get("sources") or []:
                if "serviceAccountToken" in src:
                    files.update(self._token_files(src["serviceAccountToken"], mode))
                elif "secret" in src:
                    files.update(self._secret_files(src["secret"], mode))
                elif "configMap" in src:
                    files.update(self._configmap_files(src["configMap"], mode))
                elif "downwardAPI" in src:
                    files.update(self._downward_files(src["downwardAPI"].get("items") or [], mode))
        elif "hostPath" in v:
            return
        else:
            raise MountError(f"volume type not supported by the test kubelet: {sorted(set(v) - {'name'})}")
        staging = target.with_name(target.name + ".new")
        shutil.rmtree(staging, ignore_errors=True)
        for rel, (data, mode) in files.items():
            p = staging / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
            p.chmod(mode)
        staging.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)

    def _keyed(self, kind: str, source: dict[str, Any], data: dict[str, bytes], mode: int):
        items = source.get("items")
        if not items:
            return {k: (v, mode) for k, v in data.items()}
        out = {}
        for it in items:
            if it["key"] not in data:
                if source.get("optional"):
                    continue
                # pkg/volume/secret/secret.go MakePayload; configmap.go says "configMap key"
                raise MountError(f"references non-existent {kind} key: {it['key']}")
            out[it["path"]] = (data[it["key"]], it.get("mode", mode))
        return out

    def _secret_files(self, source: dict[str, Any], mode: int):
        name = source.get("secretName") or source.get("name")
        secret = self.cp.get(f"/api/v1/namespaces/{self.namespace}/secrets/{name}")
        if secret is None:
            if source.get("optional"):
                return {}
            raise MountError(f'secret "{name}" not found')  # the secret manager's NotFound
        data = {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}
        return self._keyed("secret", source, data, mode)

    def _configmap_files(self, source: dict[str, Any], mode: int):
        name = source["name"]
        cm = self.cp.get(f"/api/v1/namespaces/{self.namespace}/configmaps/{name}")
        if cm is None:
            if source.get("optional"):
                return {}
            raise MountError(f'configmap "{name}" not found')
        data = {k: v.encode() for k, v in (cm.get("data") or {}).items()}
        data.update({k: base64.b64decode(v) for k, v in (cm.get("binaryData") or {}).items()})
        return self._keyed("configMap", source, data, mode)

    def _downward_files(self, items: list[dict[str, Any]], mode: int):
        return {it["path"]: (self._field(it["fieldRef"]["fieldPath"]).encode(), it.get("mode", mode))
                for it in items if "fieldRef" in it}

    def _token_files(self, source: dict[str, Any], mode: int):
        sa = self.spec.get("serviceAccountName") or "default"
        body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {
            "expirationSeconds": source.get("expirationSeconds", 3600),
            "boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": self.name, "uid": self.uid}}}
        if source.get("audience"):
            body["spec"]["audiences"] = [source["audience"]]
        try:
            token = self.cp.api("POST", f"/api/v1/namespaces/{self.namespace}/serviceaccounts/{sa}/token", body)
        except urllib.error.HTTPError as e:
            raise MountError(f"failed to fetch token: {e.msg}") from None
        return {source.get("path", "token"): (token["status"]["token"].encode(), mode)}

    # ---- env
    def _field(self, path: str) -> str:
        m = self.pod["metadata"]
        simple = {"metadata.name": m["name"], "metadata.namespace": m["namespace"], "metadata.uid": m["uid"],
                  "spec.nodeName": self.k.node, "spec.serviceAccountName": self.spec.get("serviceAccountName", ""),
                  "status.hostIP": self.cp.node_ip, "status.hostIPs": self.cp.node_ip,
                  "status.podIP": self.cp.node_ip, "status.podIPs": self.cp.node_ip}
        if path in simple:
            return simple[path]
        hit = re.fullmatch(r"metadata\.(labels|annotations)\['(.*)'\]", path)
        if hit:
            return (m.get(hit.group(1)) or {}).get(hit.group(2), "")
        if path in ("metadata.labels", "metadata.annotations"):
            d = m.get(path.split(".")[1]) or {}
            return "\n".join(f'{k}="{v}"' for k, v in sorted(d.items()))
        return ""

    def _env(self, c: dict[str, Any]) -> dict[str, str]:
        port = str(self.cp.port)
        env = {"PATH": DEFAULT_PATH, "HOSTNAME": self.name,
               "KUBERNETES_SERVICE_HOST": self.cp.node_ip, "KUBERNETES_SERVICE_PORT": port,
               "KUBERNETES_SERVICE_PORT_HTTPS": port, "KUBERNETES_PORT": f"tcp://{self.cp.node_ip}:{port}",
               f"KUBERNETES_PORT_{port}_TCP": f"tcp://{self.cp.node_ip}:{port}"}
        for src in c.get("envFrom") or []:
            prefix = src.get("prefix", "")
            if "secretRef" in src:
                obj = self.cp.get(f"/api/v1/namespaces/{self.namespace}/secrets/{src['secretRef']['name']}")
                if obj is None and not src["secretRef"].get("optional"):
                    raise ConfigError(f'secret "{src["secretRef"]["name"]}" not found')
                for k, v in ((obj or {}).get("data") or {}).items():
                    env[prefix + k] = base64.b64decode(v).decode(errors="replace")
            if "configMapRef" in src:
                obj = self.cp.get(f"/api/v1/namespaces/{self.namespace}/configmaps/{src['configMapRef']['name']}")
                if obj is None and not src["configMapRef"].get("optional"):
                    raise ConfigError(f'configmap "{src["configMapRef"]["name"]}" not found')
                for k, v in ((obj or {}).get("data") or {}).items():
                    env[prefix + k] = v
        for e in c.get("env") or []:
            if "value" in e or "valueFrom" not in e:
                env[e["name"]] = expand(e.get("value", ""), env)
                continue
            vf = e["valueFrom"]
            if "fieldRef" in vf:
                env[e["name"]] = self._field(vf["fieldRef"]["fieldPath"])
            elif "secretKeyRef" in vf or "configMapKeyRef" in vf:
                secret = "secretKeyRef" in vf
                kind, ref = ("secret", vf["secretKeyRef"]) if secret else ("configmap", vf["configMapKeyRef"])
                obj = self.cp.get(f"/api/v1/namespaces/{self.namespace}/{kind}s/{ref['name']}")
                if obj is None:
                    if ref.get("optional"):
                        continue
                    raise ConfigError(f'{kind} "{ref["name"]}" not found')
                if kind == "secret":
                    data = {k: base64.b64decode(v).decode(errors="replace") for k, v in (obj.get("data") or {}).items()}
                else:
                    data = obj.get("data") or {}
                if ref["key"] not in data:
                    if ref.get("optional"):
                        continue
                    label = "Secret" if kind == "secret" else "ConfigMap"
                    raise ConfigError(f"couldn't find key {ref['key']} in {label} {self.namespace}/{ref['name']}")
                env[e["name"]] = data[ref["key"]]
        return env

    # ---- containers
    def _write_network_files(self) -> None:
        (self.dir / "hosts").write_text(
            "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
            f"{self.cp.node_ip}\t{self.name}\n")
        d = self.k.dns.domain
        (self.dir / "resolv.conf").write_text(
            f"search {self.namespace}.svc.{d} svc.{d} {d}\nnameserver {self.k.dns.address}\noptions ndots:5\n")
        (self.dir / "hostname").write_text(self.name + "\n")

    def _image(self, image: str) -> dict[str, Any]:
        """What the image provides on this node: every image is the host's root; argoexec's adds the
        binary (its Dockerfile: /bin/argoexec, ENTRYPOINT ["argoexec"])."""
        repo = image.split("@")[0].rsplit(":", 1)[0] if ":" in image.split("/")[-1] else image.split("@")[0]
        if repo.rsplit("/", 1)[-1] == "argoexec":
            return {"entrypoint": ["argoexec"], "binaries": {"/usr/local/bin/argoexec": str(self.k.argoexec)}}
        return {"entrypoint": [], "binaries": {}}

    def _run_container(self, c: dict[str, Any], statuses: dict[str, dict[str, Any]], wait: bool) -> int | None:
        """Starts container c; with wait, returns its exit code; without, None once started (an int if it
        could not start)."""
        name = c["name"]
        image = self._image(c["image"])
        self._event("Normal", "Pulled", f'Container image "{c["image"]}" already present on machine', field=c,
                    statuses=statuses)
        try:
            env = self._env(c)
        except ConfigError as e:
            with self.status_lock:
                statuses[name]["state"] = {"waiting": {"reason": "CreateContainerConfigError", "message": str(e)}}
            self._event("Warning", "Failed", f"Error: {e}", field=c, statuses=statuses)
            self._write_status()
            return 1
        command = [expand(a, env) for a in (c.get("command") or image["entrypoint"])]
        args = [expand(a, env) for a in (c.get("args") or [])]
        argv = command + args
        cdir = self.dir / "containers" / name
        for sub in ("upper", "work", "root"):
            (cdir / sub).mkdir(parents=True, exist_ok=True)
        termination = cdir / "termination-log"
        termination.write_text("")
        termination.chmod(0o666)  # as the kubelet makes it: any user the container runs as may write it
        (cdir / "start-error").write_text("")
        (cdir / "start-error").chmod(0o666)  # the launcher's report of a command it could not exec
        mounts = []
        for vm in c.get("volumeMounts") or []:
            src = self._volume_dir(vm["name"])
            if vm.get("subPath"):
                # the kubelet makes a missing subPath with the mode of the volume's root (0777 for
                # an emptyDir), so a non-root container can write it
                src = src / vm["subPath"]
                if not src.exists():
                    src.mkdir(parents=True)
                    src.chmod(self._volume_dir(vm["name"]).stat().st_mode & 0o7777)
            mounts.append({"source": str(src), "target": vm["mountPath"], "readOnly": bool(vm.get("readOnly"))})
        for target, source in image["binaries"].items():
            mounts.append({"source": source, "target": target, "readOnly": True})
        for f, target in (("hosts", "/etc/hosts"), ("resolv.conf", "/etc/resolv.conf"), ("hostname", "/etc/hostname")):
            mounts.append({"source": str(self.dir / f), "target": target, "readOnly": False})
        mounts.append({"source": str(termination), "target": c.get("terminationMessagePath") or "/dev/termination-log",
                       "readOnly": False})
        spec = {"root": str(cdir / "root"), "upper": str(cdir / "upper"), "work": str(cdir / "work"),
                "hostname": self.name, "mounts": mounts, "argv": argv, "env": env, **self._identity(c),
                "workingDir": c.get("workingDir") or "/", "startError": str(cdir / "start-error")}
        (cdir / "spec.json").write_text(json.dumps(spec))
        log = open(self.dir / "logs" / f"{name}.log", "ab")
        container_id = "containerd://" + hashlib.sha256(f"{self.uid}/{name}/{time.time()}".encode()).hexdigest()
        started = now()
        if not argv:
            self._terminated(c, statuses, 128, "StartError", "no command specified", started, container_id)
            return 128
        proc = subprocess.Popen(["unshare", "--mount", "--uts", "--propagation", "private",
                                 sys.executable, __file__, "launch", str(cdir / "spec.json")],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.procs[name] = proc
        with self.status_lock:
            st = statuses[name]
            st.update({"containerID": container_id, "imageID": self._image_id(c["image"]), "started": True,
                       "ready": statuses is self.statuses, "state": {"running": {"startedAt": started}}})
            st["_startedAt"], st["_cdir"], st["_policy"] = started, str(cdir), c.get("terminationMessagePolicy")
        self._event("Normal", "Created", f"Created container: {name}", field=c, statuses=statuses)
        self._event("Normal", "Started", f"Started container {name}", field=c, statuses=statuses)
        self._write_status()
        if wait:
            return self._wait_container(c, statuses)
        return None

    def _identity(self, c: dict[str, Any]) -> dict[str, int]:
        """runAsUser/runAsGroup of the container, else of the pod, else root (the images' own USER is
        not known here: argoexec's is 8737, which Argo's recommended securityContext sets anyway)."""
        pod_sc, sc = self.spec.get("securityContext") or {}, c.get("securityContext") or {}
        return {"uid": int(sc.get("runAsUser", pod_sc.get("runAsUser", 0))),
                "gid": int(sc.get("runAsGroup", pod_sc.get("runAsGroup", 0))),
                "groups": [int(g) for g in [pod_sc.get("fsGroup"), *(pod_sc.get("supplementalGroups") or [])]
                           if g is not None]}

    @staticmethod
    def _image_id(image: str) -> str:
        return f"{image.split('@')[0].split(':')[0]}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"

    def _wait_container(self, c: dict[str, Any], statuses: dict[str, dict[str, Any]]) -> int:
        proc = self.procs[c["name"]]
        while proc.poll() is None:
            if self._stopping():
                proc.wait()
                break
            time.sleep(0.1)
        code = proc.returncode
        if code < 0:  # killed by a signal: the runtime reports 128 + signal
            code = 128 - code
        st = statuses[c["name"]]
        cdir = Path(st["_cdir"])
        start_error = cdir / "start-error"
        if start_error.exists() and start_error.read_text():
            # what containerd reports when runc cannot exec the command
            msg = ("failed to create containerd task: failed to create shim task: OCI runtime create failed: "
                   f"runc create failed: unable to start container process: {start_error.read_text()}: unknown")
            self._terminated(c, statuses, 128, "StartError", msg, st["_startedAt"], st["containerID"])
            return 128
        message = (cdir / "termination-log").read_text(errors="replace")[:4096]
        if not message and code != 0 and st.get("_policy") == "FallbackToLogsOnError":
            lines = (self.dir / "logs" / f"{c['name']}.log").read_text(errors="replace").splitlines()[-80:]
            message = "\n".join(lines)[-2048:]
        reason = "Completed" if code == 0 else "Error"
        self._terminated(c, statuses, code, reason, message, st["_startedAt"], st["containerID"])
        return code

    def _terminated(self, c, statuses, code: int, reason: str, message: str, started: str, container_id: str) -> None:
        term = {"exitCode": code, "reason": reason, "startedAt": started, "finishedAt": now(),
                "containerID": container_id}
        if message:
            term["message"] = message
        with self.status_lock:
            st = statuses[c["name"]]
            st.update({"ready": False, "started": False, "state": {"terminated": term}, "containerID": container_id})
        self._write_status()

    # ---- status and events
    def _conditions(self) -> list[dict[str, Any]]:
        t = now()
        init_done = all("terminated" in s["state"] and s["state"]["terminated"]["exitCode"] == 0
                        for s in self.init_statuses.values())
        running = [s for s in self.statuses.values() if s["ready"]]
        all_ready = len(running) == len(self.statuses) and self.phase == "Running"

        def cond(kind: str, ok: bool, reason: str = "", message: str = "") -> dict[str, Any]:
            c = {"type": kind, "status": "True" if ok else "False", "lastTransitionTime": t, "lastProbeTime": None}
            if not ok and reason:
                c.update({"reason": reason, "message": message})
            if ok and reason == "PodCompleted":
                c["reason"] = reason
            return c
        unready = [n for n, s in self.statuses.items() if not s["ready"]]
        incomplete = [n for n, s in self.init_statuses.items()
                      if not ("terminated" in s["state"] and s["state"]["terminated"]["exitCode"] == 0)]
        completed = self.phase in ("Succeeded", "Failed")
        return [
            cond("PodReadyToStartContainers", (self.dir / "hosts").exists()),
            cond("Initialized", init_done or completed and not incomplete, "ContainersNotInitialized",
                 f"containers with incomplete status: [{' '.join(incomplete)}]"),
            cond("Ready", all_ready, "PodCompleted" if completed else "ContainersNotReady",
                 f"containers with unready status: [{' '.join(unready)}]"),
            cond("ContainersReady", all_ready, "PodCompleted" if completed else "ContainersNotReady",
                 f"containers with unready status: [{' '.join(unready)}]"),
            cond("PodScheduled", True),
        ]

    def _write_status(self) -> None:
        with self.status_lock:
            clean = lambda d: {k: v for k, v in d.items() if not k.startswith("_")}  # noqa: E731
            status = {"phase": self.phase, "hostIP": self.cp.node_ip, "hostIPs": [{"ip": self.cp.node_ip}],
                      "podIP": self.cp.node_ip, "podIPs": [{"ip": self.cp.node_ip}], "startTime": self.start_time,
                      "conditions": self._conditions(),
                      "containerStatuses": [clean(s) for s in self.statuses.values()]}
            if self.init_statuses:
                status["initContainerStatuses"] = [clean(s) for s in self.init_statuses.values()]
        try:
            self.cp.api("PATCH", f"/api/v1/namespaces/{self.namespace}/pods/{self.name}/status",
                        {"metadata": {"uid": self.uid}, "status": status},
                        content_type="application/merge-patch+json")
        except urllib.error.HTTPError as e:
            self.k.log(f"status of {self.namespace}/{self.name}: {e.code} {e.msg}")

    def _event(self, kind: str, reason: str, message: str, *, field: dict[str, Any] | None = None,
               statuses: dict | None = None, aggregate: bool = False) -> None:
        t = now()
        involved = {"apiVersion": "v1", "kind": "Pod", "namespace": self.namespace, "name": self.name,
                    "uid": self.uid, "resourceVersion": self.pod["metadata"].get("resourceVersion", "")}
        if field is not None:
            group = "initContainers" if statuses is self.init_statuses else "containers"
            involved["fieldPath"] = f"spec.{group}{{{field['name']}}}"
        if aggregate and self.mount_event and self.mount_event["message"] == message:
            self.mount_event["count"] += 1
            try:
                self.cp.api("PATCH", f"/api/v1/namespaces/{self.namespace}/events/{self.mount_event['name']}",
                            {"count": self.mount_event["count"], "lastTimestamp": t},
                            content_type="application/merge-patch+json")
            except urllib.error.HTTPError as e:
                self.k.log(f"event: {e.code} {e.msg}")
            return
        name = f"{self.name}.{hashlib.sha256(f'{reason}{message}{time.time()}'.encode()).hexdigest()[:16]}"
        event = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": name, "namespace": self.namespace},
                 "involvedObject": involved, "reason": reason, "message": message, "type": kind,
                 "source": {"component": "kubelet", "host": self.k.node}, "firstTimestamp": t, "lastTimestamp": t,
                 "count": 1, "reportingComponent": "kubelet", "reportingInstance": self.k.node}
        try:
            self.cp.api("POST", f"/api/v1/namespaces/{self.namespace}/events", event)
        except urllib.error.HTTPError as e:
            self.k.log(f"event: {e.code} {e.msg}")
            return
        if aggregate:
            self.mount_event = {"name": name, "message": message, "count": 1}


# ---------------------------------------------------------------- the container's side
def _sh(*argv: str) -> None:
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def resolve_in(root: str, path: str) -> str:
    """root + path with every symlink on the way resolved inside root (as a runtime resolves a mount
    target in the container's filesystem: /var/run -> /run is the container's /run, never the host's)."""
    parts = [p for p in path.split("/") if p not in ("", ".")]
    cur, hops = "", 0
    while parts:
        p = parts.pop(0)
        if p == "..":
            cur = os.path.dirname(cur)
            continue
        if os.path.islink(root + cur + "/" + p):
            hops += 1
            if hops > 40:
                raise OSError(f"too many levels of symbolic links in {path}")
            target = os.readlink(root + cur + "/" + p)
            if target.startswith("/"):
                cur = ""
            parts = [x for x in target.split("/") if x not in ("", ".")] + parts
            continue
        cur = cur + "/" + p
    return root + cur


def launch(spec_path: str) -> None:
    """Runs in a new mount and UTS namespace (unshare, private propagation: nothing leaks to the host):
    builds the container's root and execs its command in it."""
    spec = json.loads(Path(spec_path).read_text())
    root = spec["root"]
    _sh("mount", "-t", "overlay", "overlay", "-o", f"lowerdir=/,upperdir={spec['upper']},workdir={spec['work']}", root)
    _sh("mount", "-t", "proc", "proc", f"{root}/proc")
    _sh("mount", "-t", "tmpfs", "-o", "mode=755,nosuid", "tmpfs", f"{root}/dev")
    for dev in ("null", "zero", "full", "random", "urandom", "tty"):
        Path(f"{root}/dev/{dev}").touch()
        _sh("mount", "--bind", f"/dev/{dev}", f"{root}/dev/{dev}")
    for link, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                         ("stderr", "/proc/self/fd/2"), ("ptmx", "pts/ptmx")):
        os.symlink(target, f"{root}/dev/{link}")
    os.makedirs(f"{root}/dev/pts")
    _sh("mount", "-t", "devpts", "-o", "newinstance,ptmxmode=0666", "devpts", f"{root}/dev/pts")
    os.makedirs(f"{root}/dev/shm")
    _sh("mount", "-t", "tmpfs", "-o", "mode=1777", "shm", f"{root}/dev/shm")
    _sh("mount", "-t", "tmpfs", "-o", "mode=1777", "tmpfs", f"{root}/tmp")
    _sh("mount", "-t", "tmpfs", "-o", "mode=755", "tmpfs", f"{root}/run")
    for m in sorted(spec["mounts"], key=lambda m: m["target"].rstrip("/").count("/")):
        target = resolve_in(root, m["target"])
        if os.path.isdir(m["source"]):
            os.makedirs(target, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            if os.path.islink(target):
                os.unlink(target)
            if not os.path.exists(target):
                Path(target).touch()
        _sh("mount", "--bind", m["source"], target)
        if m["readOnly"]:
            _sh("mount", "-o", "remount,bind,ro", target)
    socket.sethostname(spec["hostname"][:63])
    # the container's directory, kept open across the chroot (not inherited by the command): a
    # command that cannot be executed is reported there, as the runtime reports a StartError
    cdir = os.open(os.path.dirname(spec["startError"]), os.O_RDONLY | os.O_DIRECTORY)
    os.chroot(root)
    env = spec["env"]
    argv = spec["argv"]
    try:
        os.setgroups(spec.get("groups", []))
        os.setgid(spec.get("gid", 0))
        os.setuid(spec.get("uid", 0))
        os.chdir(spec["workingDir"])
        cmd = argv[0] if "/" in argv[0] else shutil.which(argv[0], path=env.get("PATH", DEFAULT_PATH))
        if cmd is None:
            raise FileNotFoundError(f'exec: "{argv[0]}": executable file not found in $PATH')
        os.execve(cmd, argv, env)
    except OSError as e:
        msg = e.args[0] if isinstance(e, FileNotFoundError) and len(e.args) == 1 else f'exec: "{argv[0]}": {e.strerror}'
        fd = os.open(os.path.basename(spec["startError"]), os.O_WRONLY, dir_fd=cdir)
        os.write(fd, msg.encode())
        os._exit(128)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "launch":
        launch(sys.argv[2])
