"""The real control plane for integration tests: etcd, kube-apiserver (RBAC on, audit log)
and a versitygw S3 server, all on loopback, built by tests/controlplane/build.sh.

Client certificates are minted on demand (CN = user, O = groups), so a test can act as
a cluster admin, a read-only user or a service account, and RBAC is really enforced.

FullControlPlane adds kube-controller-manager, kube-scheduler and kwok (fake nodes whose
pods become Running and Ready without a kubelet), so Deployments become Available.

ArgoController runs Argo's real workflow-controller (also built by build.sh) against either:
it turns Workflows into Pods, so what the controller really writes can be asserted on.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
BUILD = HERE / "controlplane" / "build.sh"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_servers() -> Path:
    """The directory holding the server binaries (ARGODOCTOR_BIN_DIR, else built or cached)."""
    if os.environ.get("ARGODOCTOR_BIN_DIR"):
        return Path(os.environ["ARGODOCTOR_BIN_DIR"])
    out = subprocess.run(["bash", str(BUILD)], check=True, stdout=subprocess.PIPE, text=True)
    return Path(out.stdout.strip().splitlines()[-1])


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)


class Process:
    def __init__(self, name: str, argv: list[str], workdir: Path, env: dict[str, str] | None = None):
        self.name = name
        self.argv = argv
        self.log_path = workdir / f"{name}.log"
        self.env = env
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT,
                                     env={**os.environ, **(self.env or {})}, start_new_session=True)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def check_alive(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            tail = self.log_path.read_text(errors="replace")[-3000:] if self.log_path.exists() else ""
            raise RuntimeError(f"{self.name} exited:\n{tail}")


def wait_for(fn, what: str, timeout: float = 60.0, procs: list[Process] = ()) -> Any:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        for p in procs:
            p.check_alive()
        try:
            value = fn()
            if value:
                return value
        except Exception as e:
            last = e
        time.sleep(0.2)
    raise TimeoutError(f"{what} not ready after {timeout}s: {last}")


class ControlPlane:
    """etcd + kube-apiserver on loopback."""

    def __init__(self, bin_dir: Path, workdir: Path):
        self.bin = bin_dir
        self.dir = workdir
        self.pki = workdir / "pki"
        self.pki.mkdir(parents=True, exist_ok=True)
        self.audit_log = workdir / "audit.log"
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self.procs: list[Process] = []
        self._kubeconfigs: dict[tuple[str, tuple[str, ...]], Path] = {}
        self.apiserver_args: list[str] = []  # extra kube-apiserver flags (FullControlPlane: its kubelet client)
        self._admin_ssl: ssl.SSLContext | None = None

    # ---- certificates
    def _make_pki(self) -> None:
        p = self.pki
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
                 "-days", "3", "-subj", "/CN=argodoctor-test-ca", cwd=p)
        (p / "san.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\n"
                                   "extendedKeyUsage=serverAuth\n")
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
                 "-subj", "/CN=kube-apiserver", cwd=p)
        _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                 "-out", "server.crt", "-days", "3", "-extfile", "san.cnf", cwd=p)
        _openssl("genrsa", "-out", "sa.key", "2048", cwd=p)
        _openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=p)

    def kubeconfig(self, user: str = "admin", groups: tuple[str, ...] = ("system:masters",)) -> Path:
        """A kubeconfig authenticating as `user` in `groups` by a freshly minted client certificate."""
        key = (user, tuple(groups))
        if key in self._kubeconfigs:
            return self._kubeconfigs[key]
        p = self.pki
        stem = f"client-{len(self._kubeconfigs)}"
        self._client_cert(stem, user, groups)
        cfg = {
            "apiVersion": "v1", "kind": "Config", "current-context": "test",
            "clusters": [{"name": "test", "cluster": {"server": self.url,
                                                      "certificate-authority": str(p / "ca.crt")}}],
            "users": [{"name": user, "user": {"client-certificate": str(p / f"{stem}.crt"),
                                              "client-key": str(p / f"{stem}.key")}}],
            "contexts": [{"name": "test", "context": {"cluster": "test", "user": user}}],
        }
        path = self.dir / f"kubeconfig-{stem}.yaml"
        path.write_text(yaml.safe_dump(cfg))
        self._kubeconfigs[key] = path
        return path

    def _client_cert(self, stem: str, user: str, groups: tuple[str, ...]) -> tuple[Path, Path]:
        """(certificate, key) of a client certificate signed by the test CA: CN = user, O = groups."""
        p = self.pki
        subj = "/CN=" + user + "".join(f"/O={g}" for g in groups)
        (p / "client.cnf").write_text("extendedKeyUsage=clientAuth\n")
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{stem}.key", "-out", f"{stem}.csr",
                 "-subj", subj, cwd=p)
        _openssl("x509", "-req", "-in", f"{stem}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                 "-out", f"{stem}.crt", "-days", "3", "-extfile", "client.cnf", cwd=p)
        return p / f"{stem}.crt", p / f"{stem}.key"

    def service_account_kubeconfig(self, namespace: str, name: str) -> Path:
        """Acting as a ServiceAccount: its username and groups, as the authenticator would set them."""
        return self.kubeconfig(f"system:serviceaccount:{namespace}:{name}",
                               ("system:serviceaccounts", f"system:serviceaccounts:{namespace}",
                                "system:authenticated"))

    # ---- processes
    def start(self) -> None:
        self._make_pki()
        etcd_port, peer_port = free_port(), free_port()
        etcd = Process("etcd", [
            str(self.bin / "etcd"), "--data-dir", str(self.dir / "etcd"), "--name", "default",
            "--listen-client-urls", f"http://127.0.0.1:{etcd_port}",
            "--advertise-client-urls", f"http://127.0.0.1:{etcd_port}",
            "--listen-peer-urls", f"http://127.0.0.1:{peer_port}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer_port}",
            "--initial-cluster", f"default=http://127.0.0.1:{peer_port}",
            "--unsafe-no-fsync", "--log-level", "error"], self.dir)
        etcd.start()
        self.procs.append(etcd)
        wait_for(lambda: urllib.request.urlopen(f"http://127.0.0.1:{etcd_port}/health", timeout=2).status == 200,
                 "etcd", procs=[etcd])
        policy = self.dir / "audit-policy.yaml"
        policy.write_text(yaml.safe_dump({"apiVersion": "audit.k8s.io/v1", "kind": "Policy",
                                          "omitStages": ["RequestReceived"],
                                          "rules": [{"level": "Metadata"}]}))
        p = self.pki
        api = Process("kube-apiserver", [
            str(self.bin / "kube-apiserver"),
            f"--etcd-servers=http://127.0.0.1:{etcd_port}",
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", f"--secure-port={self.port}",
            f"--tls-cert-file={p / 'server.crt'}", f"--tls-private-key-file={p / 'server.key'}",
            f"--client-ca-file={p / 'ca.crt'}",
            "--authorization-mode=RBAC",
            f"--service-account-key-file={p / 'sa.pub'}",
            f"--service-account-signing-key-file={p / 'sa.key'}",
            "--service-account-issuer=https://kubernetes.default.svc",
            "--service-cluster-ip-range=10.96.0.0/16",
            "--allow-privileged=true",
            f"--audit-log-path={self.audit_log}", f"--audit-policy-file={policy}",
            "--audit-log-mode=blocking",
            f"--cert-dir={self.dir / 'certs'}",
            "--enable-priority-and-fairness=false",
            *self.apiserver_args,
            "--v=0"], self.dir)
        api.start()
        self.procs.append(api)
        admin = self.kubeconfig()
        wait_for(lambda: self._readyz(admin), "kube-apiserver", timeout=120, procs=[api])

    def _readyz(self, kubeconfig: Path) -> bool:
        import ssl

        cfg = yaml.safe_load(kubeconfig.read_text())
        u = cfg["users"][0]["user"]
        ctx = ssl.create_default_context(cafile=str(self.pki / "ca.crt"))
        ctx.load_cert_chain(u["client-certificate"], u["client-key"])
        with urllib.request.urlopen(f"{self.url}/readyz", context=ctx, timeout=3) as r:
            return r.status == 200

    # ---- a minimal API client of the harness's own (admin), independent of argodoctor
    def api(self, method: str, path: str, body: dict[str, Any] | None = None,
            content_type: str = "application/json") -> dict[str, Any]:
        """One request as the admin; raises urllib.error.HTTPError on a non-2xx answer."""
        if self._admin_ssl is None:
            cfg = yaml.safe_load(self.kubeconfig().read_text())["users"][0]["user"]
            ctx = ssl.create_default_context(cafile=str(self.pki / "ca.crt"))
            ctx.load_cert_chain(cfg["client-certificate"], cfg["client-key"])
            self._admin_ssl = ctx
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.url}{path}", data=data, method=method,
                                     headers={"Accept": "application/json", "Content-Type": content_type})
        try:
            with urllib.request.urlopen(req, context=self._admin_ssl, timeout=30) as r:
                raw = r.read()
        except urllib.error.HTTPError as e:
            try:
                e.msg = f"{e.msg}: {json.loads(e.read()).get('message', '')} ({method} {path})"
            except ValueError:
                pass
            raise
        return json.loads(raw) if raw else {}

    def get(self, path: str) -> dict[str, Any] | None:
        """The object at path, or None if it does not exist."""
        try:
            return self.api("GET", path)
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return None
            raise

    def server_version(self) -> str:
        return self.api("GET", "/version")["gitVersion"]

    def stop(self) -> None:
        for p in reversed(self.procs):
            p.stop()

    def version(self) -> str:
        return subprocess.run([str(self.bin / "kube-apiserver"), "--version"], capture_output=True,
                              text=True).stdout.strip()

    def audit_events(self, since_line: int = 0) -> list[dict[str, Any]]:
        if not self.audit_log.exists():
            return []
        lines = self.audit_log.read_text().splitlines()[since_line:]
        return [json.loads(line) for line in lines if line.strip()]

    def audit_mark(self) -> int:
        return len(self.audit_log.read_text().splitlines()) if self.audit_log.exists() else 0


KWOK_NODE_ANNOTATION = ("kwok.x-k8s.io/node", "fake")  # what kwokctl marks its fake nodes with


class FullControlPlane(ControlPlane):
    """ControlPlane plus kube-controller-manager (all default controllers), kube-scheduler and kwok.

    kwok manages only the Nodes annotated kwok.x-k8s.io/node=fake (add_node makes them): it
    marks them Ready, renews their Leases, and makes the pods scheduled onto them Running
    and Ready. Its Stages are kwok's own defaults (kwok-stages.yaml, written by build.sh).

    kwok also serves the kubelet API of every fake node (HTTPS, a serving certificate of the
    test CA for IP 127.0.0.1) on kubelet_port, and the nodes advertise it (InternalIP 127.0.0.1,
    status.daemonEndpoints.kubeletEndpoint.Port = kubelet_port); kube-apiserver calls it with a
    client certificate of its own and verifies it against the test CA. So the pods/portforward
    subresource really goes apiserver -> "kubelet" -> target: forward_pod_port says where kwok
    relays a pod's port to (kwok's ClusterPortForward). Without a forward, nothing changes for
    tests that never call the kubelet API. (The loopback node address works for pods/portforward;
    nodes/proxy refuses it: 400 "address not allowed".)
    """

    node_ip = "127.0.0.1"  # every fake node's InternalIP: where kwok's kubelet API listens

    def __init__(self, bin_dir: Path, workdir: Path):
        super().__init__(bin_dir, workdir)
        self.startup_seconds: float | None = None
        self.kubelet_port = free_port()
        self.port_forwards: list[dict[str, Any]] = []  # kwok ClusterPortForward documents
        self._kwok: Process | None = None
        p = self.pki
        self.apiserver_args += [
            # its identity towards the kubelets (kwok does not authenticate callers; a real kubelet
            # would authorize this user by a SubjectAccessReview: system:masters passes any)
            f"--kubelet-client-certificate={p / 'kubelet-client.crt'}",
            f"--kubelet-client-key={p / 'kubelet-client.key'}",
            # verify kwok's serving certificate (without this flag the apiserver skips verification)
            f"--kubelet-certificate-authority={p / 'ca.crt'}",
            "--kubelet-preferred-address-types=InternalIP,Hostname",
        ]

    def _make_pki(self) -> None:
        super()._make_pki()
        p = self.pki
        self._client_cert("kubelet-client", "kube-apiserver-kubelet-client", ("system:masters",))
        (p / "kubelet-san.cnf").write_text(f"subjectAltName=IP:{self.node_ip}\nextendedKeyUsage=serverAuth\n")
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "kubelet.key", "-out", "kubelet.csr",
                 "-subj", "/CN=kwok-kubelet", cwd=p)
        _openssl("x509", "-req", "-in", "kubelet.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                 "-out", "kubelet.crt", "-days", "3", "-extfile", "kubelet-san.cnf", cwd=p)

    def start(self) -> None:
        t0 = time.monotonic()
        super().start()
        p = self.pki
        kcm_port, sched_port = free_port(), free_port()
        # --use-service-account-credentials=false: every controller acts as this one identity,
        # so it needs all their permissions; system:masters is the simplest way to give them.
        kcm_kubeconfig = self.kubeconfig("system:kube-controller-manager", ("system:masters",))
        kcm = Process("kube-controller-manager", [
            str(self.bin / "kube-controller-manager"),
            f"--kubeconfig={kcm_kubeconfig}",
            "--bind-address=127.0.0.1", f"--secure-port={kcm_port}", f"--cert-dir={self.dir / 'kcm-certs'}",
            f"--service-account-private-key-file={p / 'sa.key'}", f"--root-ca-file={p / 'ca.crt'}",
            f"--cluster-signing-cert-file={p / 'ca.crt'}", f"--cluster-signing-key-file={p / 'ca.key'}",
            "--use-service-account-credentials=false", "--controllers=*", "--leader-elect=false",
            # else it creates /usr/libexec/kubernetes/kubelet-plugins/volume/exec/ on the host
            f"--flex-volume-plugin-dir={self.dir / 'flexvolume'}",
            "--v=0"], self.dir)
        # The scheduler's own identity: the bootstrap RBAC policy binds system:kube-scheduler.
        sched_kubeconfig = self.kubeconfig("system:kube-scheduler", ())
        sched = Process("kube-scheduler", [
            str(self.bin / "kube-scheduler"),
            f"--kubeconfig={sched_kubeconfig}",
            "--bind-address=127.0.0.1", f"--secure-port={sched_port}", f"--cert-dir={self.dir / 'sched-certs'}",
            "--leader-elect=false", "--v=0"], self.dir)
        for proc in (kcm, sched):
            proc.start()
            self.procs.append(proc)
        self._start_kwok()
        procs = [*self.procs]
        wait_for(lambda: self._healthz(f"https://127.0.0.1:{kcm_port}/healthz"), "kube-controller-manager",
                 timeout=60, procs=procs)
        wait_for(lambda: self._healthz(f"https://127.0.0.1:{sched_port}/healthz"), "kube-scheduler",
                 timeout=60, procs=procs)
        self._wait_kwok()
        # The controllers are really running once the serviceaccount controller has made `default`.
        wait_for(lambda: self.get("/api/v1/namespaces/default/serviceaccounts/default"),
                 "the default ServiceAccount", timeout=60, procs=procs)
        self.startup_seconds = time.monotonic() - t0

    # ---- kwok: fake nodes, their pods and their kubelet API
    def _start_kwok(self) -> None:
        key, value = KWOK_NODE_ANNOTATION
        p = self.pki
        configs = [self.bin / "kwok-stages.yaml"]
        if self.port_forwards:
            configs.append(self.dir / "kwok-port-forwards.yaml")
            configs[-1].write_text(yaml.safe_dump_all(self.port_forwards))
        kwok = Process("kwok", [
            str(self.bin / "kwok"),
            f"--kubeconfig={self.kubeconfig('kwok', ('system:masters',))}",
            *(f"--config={c}" for c in configs),
            "--manage-all-nodes=false", f"--manage-nodes-with-annotation-selector={key}={value}",
            "--node-lease-duration-seconds=40", "--cidr=10.244.0.0/16",
            # the kubelet API of all the fake nodes: HTTPS (and HTTP, for /healthz) on one port,
            # which kwok's node-initialize Stage writes into each Node's status with the IP
            f"--server-address={self.node_ip}:{self.kubelet_port}",
            f"--node-ip={self.node_ip}", f"--node-port={self.kubelet_port}",
            f"--tls-cert-file={p / 'kubelet.crt'}", f"--tls-private-key-file={p / 'kubelet.key'}"],
            # KWOK_WORKDIR: never read a ~/.kwok/kwok.yaml of the user's
            self.dir, env={"KWOK_WORKDIR": str(self.dir / "kwok")})
        kwok.start()
        self.procs.append(kwok)
        self._kwok = kwok

    def _wait_kwok(self) -> None:
        wait_for(lambda: self._healthz(f"http://{self.node_ip}:{self.kubelet_port}/healthz"), "kwok", timeout=60,
                 procs=self.procs)

    def forward_pod_port(self, port: int, address: str, target_port: int, *,
                         namespaces: tuple[str, ...] = (), names: tuple[str, ...] = ()) -> None:
        """pods/portforward to `port` of the pods in `namespaces` (all if empty) named `names` (all if
        empty) reaches address:target_port: a kwok ClusterPortForward. kwok reads it from its config
        at start, so this restarts kwok (a second or so; nodes, leases and pods are kept)."""
        selector = {k: list(v) for k, v in (("matchNamespaces", namespaces), ("matchNames", names)) if v}
        self.port_forwards.append({
            "apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "ClusterPortForward",
            "metadata": {"name": f"forward-{len(self.port_forwards)}"},
            "spec": {**({"selector": selector} if selector else {}),
                     "forwards": [{"ports": [port], "target": {"address": address, "port": target_port}}]}})
        if self._kwok is not None:
            self._kwok.stop()
            self.procs.remove(self._kwok)
            self._start_kwok()
            self._wait_kwok()

    @staticmethod
    def _healthz(url: str) -> bool:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE  # the components' self-signed serving certificates
        with urllib.request.urlopen(url, context=ctx, timeout=3) as r:
            return r.status == 200

    # ---- fake nodes
    def add_node(self, name: str, runtime: str = "containerd://1.7.0", *, cpu: str = "32",
                 memory: str = "256Gi", pods: str = "110", labels: dict[str, str] | None = None,
                 kubelet_version: str | None = None, timeout: float = 60.0) -> dict[str, Any]:
        """A fake Node managed by kwok, with status.nodeInfo.containerRuntimeVersion = runtime.

        The Node is created with its status (a create keeps it, as when a kubelet registers)
        but without conditions: kwok's node-initialize Stage then adds the conditions (Ready)
        and fills in nodeInfo only where empty (`or .status.nodeInfo.X default`), so the
        runtime chosen here stays; its lease heartbeat Stage does not touch nodeInfo. To
        change the runtime later, use set_node_runtime. Returns the Node once it is Ready and
        the not-ready taint (added at creation by the TaintNodesByCondition admission plugin,
        removed by the node-lifecycle controller) is gone, so pods can be scheduled on it.
        """
        key, value = KWOK_NODE_ANNOTATION
        version = kubelet_version or self.server_version()
        resources = {"cpu": cpu, "memory": memory, "pods": pods}
        node = {
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "annotations": {key: value},
                         "labels": {"type": "kwok", "kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                                    "kubernetes.io/arch": "amd64", **(labels or {})}},
            "spec": {},
            "status": {
                "allocatable": resources, "capacity": resources,
                "nodeInfo": {"containerRuntimeVersion": runtime, "kubeletVersion": version,
                             "operatingSystem": "linux", "architecture": "amd64",
                             "kernelVersion": "6.1.0-kwok", "osImage": "kwok fake node",
                             "machineID": "", "systemUUID": "", "bootID": ""},
            },
        }
        self.api("POST", "/api/v1/nodes", node)
        return wait_for(lambda: self._schedulable(name), f"node {name} Ready", timeout=timeout, procs=self.procs)

    def _schedulable(self, name: str) -> dict[str, Any] | None:
        node = self.get(f"/api/v1/nodes/{name}")
        conditions = {c["type"]: c["status"] for c in (node or {}).get("status", {}).get("conditions") or []}
        taints = [t for t in (node or {}).get("spec", {}).get("taints") or []
                  if t["key"].startswith("node.kubernetes.io/")]
        return node if conditions.get("Ready") == "True" and not taints else None

    def set_node_runtime(self, name: str, runtime: str) -> dict[str, Any]:
        """Changes a node's containerRuntimeVersion (kwok leaves a non-empty value alone)."""
        return self.api("PATCH", f"/api/v1/nodes/{name}/status",
                        {"status": {"nodeInfo": {"containerRuntimeVersion": runtime}}},
                        content_type="application/strategic-merge-patch+json")

    def wait_deployment_available(self, namespace: str, name: str, timeout: float = 90.0) -> dict[str, Any]:
        """The Deployment once its rollout is observed, all replicas available and Available=True."""
        def available() -> dict[str, Any] | None:
            d = self.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}")
            if not d:
                return None
            st = d.get("status") or {}
            want = (d.get("spec") or {}).get("replicas", 1)
            ok = any(c["type"] == "Available" and c["status"] == "True" for c in st.get("conditions") or [])
            return d if (ok and st.get("observedGeneration", 0) >= d["metadata"]["generation"]
                         and st.get("availableReplicas", 0) >= want
                         and st.get("updatedReplicas", 0) >= want) else None
        return wait_for(available, f"deployment {namespace}/{name} Available", timeout=timeout, procs=self.procs)


def install_argo_crds(cp: ControlPlane, manifest: Path, timeout: float = 60.0) -> list[str]:
    """Creates the CustomResourceDefinitions of an Argo install manifest (those that do not exist yet)
    and waits until all of them are Established. Returns their names."""
    crds = [d for d in yaml.safe_load_all(manifest.read_text())
            if isinstance(d, dict) and d.get("kind") == "CustomResourceDefinition"]
    path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    for crd in crds:
        try:
            cp.api("POST", path, crd)
        except urllib.error.HTTPError as e:
            if e.code != 409:
                raise
    names = [c["metadata"]["name"] for c in crds]

    def established() -> bool:
        for name in names:
            conds = ((cp.get(f"{path}/{name}") or {}).get("status") or {}).get("conditions") or []
            if not any(c["type"] == "Established" and c["status"] == "True" for c in conds):
                return False
        return True
    wait_for(established, "Argo CRDs Established", timeout=timeout, procs=cp.procs)
    return names


class ArgoController:
    """Argo's workflow-controller (bin_dir/workflow-controller, v3.7.18 from build.sh) as a process
    against a running test control plane, configured like the official install's Deployment:

        ctl = ArgoController(cp, namespace="argo")   # the configmap must be there or is created empty
        ctl.start(); ctl.wait_ready()                # ready: leading, caches synced, workers starting
        ...                                          # ctl.log_path, ctl.log(), ctl.lease()
        ctl.stop()                                   # (or: with ArgoController(cp) as ctl: ...)

    It runs as `kubeconfig` (default the admin; give e.g. cp.service_account_kubeconfig("argo", "argo")
    to run it with the install's RBAC), `--namespace` = its install namespace (configmap, lease,
    events), `--configmap`, then `args` (e.g. ["--namespaced", "--managed-namespace", "team-a"],
    "--executor-image", ...). Without --executor-image and an executor image in the configmap, pods
    get quay.io/argoproj/argoexec:v3.7.18 (the version the binary was built to report).

    Leader election is on, as installed: LEADER_ELECTION_IDENTITY = `identity` (unique by default;
    the binary exits without it); the Lease is <namespace>/workflow-controller (plus
    "-<instanceID>" with an instanceID). Only one controller per Lease leads; stop() deletes the
    Lease if this one holds it (the controller does not release it on SIGTERM), so a successor
    need not wait out its 15s. Two controllers in different namespaces both watch every
    namespace unless given --namespaced/--managed-namespace or distinct instanceIDs.

    Ports: the controller serves metrics (a dummy server while not leading, then the real one)
    on metricsConfig.port of its configmap, default 9090 on all interfaces, and panics when that
    port is taken. So with metrics=True start() patches the configmap's metricsConfig to
    {port: <a free port>, secure: false} (self.metrics_port, plain HTTP /metrics), keeping its
    other metricsConfig fields; metrics=False sets {enabled: false}; metrics=None leaves the
    configmap untouched (then avoid clashes yourself). The metrics server config is read once
    at startup. The health endpoint is hard-coded to :6060 (all interfaces) and a bind failure
    there is only logged, so a second controller simply has no /healthz: readiness is taken
    from the Lease and the log, not from that port.
    """

    ready_line = "Performing periodic GC"  # logged by Run right after its informer caches synced

    def __init__(self, cp: ControlPlane, *, namespace: str = "argo",
                 configmap: str | None = "workflow-controller-configmap", kubeconfig: Path | None = None,
                 args: list[str] | tuple[str, ...] = (), env: dict[str, str] | None = None,
                 identity: str | None = None, metrics: bool | None = True, bin_dir: Path | None = None):
        self.cp = cp
        self.bin = bin_dir or cp.bin
        self.namespace = namespace
        self.configmap = configmap or "workflow-controller-configmap"  # the binary's default name
        self.kubeconfig = kubeconfig or cp.kubeconfig()
        self.args = list(args)
        self.identity = identity or f"workflow-controller-{uuid.uuid4().hex[:6]}"
        self.env = {"LEADER_ELECTION_IDENTITY": self.identity, **(env or {})}
        self.leader_election = self.env.get("LEADER_ELECTION_DISABLE") != "true"
        self.metrics = metrics
        self.metrics_port: int | None = free_port() if metrics else None
        self.process = Process(self.identity, [
            str(self.bin / "workflow-controller"), "--kubeconfig", str(self.kubeconfig),
            "--namespace", namespace, "--configmap", self.configmap, *self.args], cp.dir, env=self.env)
        self.log_path = self.process.log_path
        self.started: float | None = None

    # ---- lifecycle
    def start(self) -> ArgoController:
        self._prepare_configmap()
        self.started = time.monotonic()
        self.process.start()
        return self

    def wait_ready(self, timeout: float = 90.0) -> float:
        """Waits until this controller leads (its Lease names it) and its informers have synced,
        so it picks up Workflows from now on. Returns the seconds since start()."""
        def ready() -> bool:
            if self.leader_election and (self.lease() or {}).get("spec", {}).get("holderIdentity") != self.identity:
                return False
            return self.ready_line in self.log()
        wait_for(ready, f"workflow-controller {self.identity}", timeout=timeout,
                 procs=[self.process, *self.cp.procs])
        return time.monotonic() - (self.started or time.monotonic())

    def check_alive(self) -> None:
        self.process.check_alive()

    def stop(self) -> None:
        self.process.stop()
        lease = self.lease() if self.leader_election else None
        if lease and lease.get("spec", {}).get("holderIdentity") == self.identity:
            try:
                self.cp.api("DELETE", self._lease_path())
            except urllib.error.HTTPError as e:
                if e.code != 404:
                    raise

    def __enter__(self) -> ArgoController:
        self.start()
        self.wait_ready()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- state
    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def _lease_path(self) -> str:
        name = "workflow-controller"
        instance_id = self._config().get("instanceID")
        if instance_id:
            name = f"{name}-{instance_id}"
        return f"/apis/coordination.k8s.io/v1/namespaces/{self.namespace}/leases/{name}"

    def lease(self) -> dict[str, Any] | None:
        return self.cp.get(self._lease_path())

    def _configmap_path(self) -> str:
        return f"/api/v1/namespaces/{self.namespace}/configmaps/{urllib.parse.quote(self.configmap)}"

    def _config(self) -> dict[str, Any]:
        """The controller's configuration as the configmap holds it (either form: one `config`
        key of YAML, or one key per field)."""
        data = (self.cp.get(self._configmap_path()) or {}).get("data") or {}
        if "config" in data:
            return yaml.safe_load(data["config"]) or {}
        return {k: yaml.safe_load(v) for k, v in data.items()}

    def _prepare_configmap(self) -> None:
        cm = self.cp.get(self._configmap_path())
        if cm is None:  # the controller exits without its configmap; the install ships an empty one
            cm = self.cp.api("POST", f"/api/v1/namespaces/{self.namespace}/configmaps", {
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": self.configmap, "namespace": self.namespace}})
        if self.metrics is None:
            return
        data = cm.get("data") or {}
        if "config" in data:
            config = yaml.safe_load(data["config"]) or {}
            metrics = config.get("metricsConfig") or {}
        else:
            metrics = yaml.safe_load(data.get("metricsConfig") or "") or {}
        if self.metrics:
            metrics = {**metrics, "enabled": True, "port": self.metrics_port, "secure": False}
        else:
            metrics = {**metrics, "enabled": False}
        if "config" in data:
            patch = {"config": yaml.safe_dump({**config, "metricsConfig": metrics}, sort_keys=False)}
        else:
            patch = {"metricsConfig": yaml.safe_dump(metrics, sort_keys=False)}
        self.cp.api("PATCH", self._configmap_path(), {"data": patch}, content_type="application/merge-patch+json")

    def version(self) -> str:
        return subprocess.run([str(self.bin / "workflow-controller"), "version"], capture_output=True,
                              text=True).stdout.strip()


class S3Server:
    """versitygw with the posix backend, root credentials known to the tests."""

    access_key = "argodoctor-root"
    secret_key = "argodoctor-root-secret-key"

    def __init__(self, bin_dir: Path, workdir: Path, tls: tuple[Path, Path] | None = None,
                 address: tuple[str, int] | None = None):
        self.bin = bin_dir
        self.dir = workdir
        self.tls = tls  # (certificate, key): serve HTTPS
        self.data = workdir / "s3data"
        self.data.mkdir(parents=True, exist_ok=True)
        self.iam = workdir / "iam"
        self.iam.mkdir(parents=True, exist_ok=True)
        # address: (host, port) to serve on, e.g. (kubelet.loopback_address(), 9000) for pods that reach
        # it as a Service's port 9000; default a free port of 127.0.0.1
        self.host, self.port = address or ("127.0.0.1", free_port())
        self.admin_port = free_port()
        self.endpoint = f"{self.host}:{self.port}"
        self.proc: Process | None = None

    def start(self) -> None:
        self.proc = Process("versitygw", [
            str(self.bin / "versitygw"), "--access", self.access_key, "--secret", self.secret_key,
            "--port", self.endpoint, "--admin-port", f"127.0.0.1:{self.admin_port}",
            "--iam-dir", str(self.iam),
            *(["--cert", str(self.tls[0]), "--key", str(self.tls[1])] if self.tls else []),
            "posix", str(self.data)], self.dir)
        self.proc.start()
        wait_for(self._up, "versitygw", procs=[self.proc])

    def _up(self) -> bool:
        with socket.create_connection((self.host, self.port), timeout=1):
            return True

    def stop(self) -> None:
        if self.proc:
            self.proc.stop()

    def create_user(self, access_key: str, secret_key: str, role: str = "user") -> None:
        """An IAM user of the gateway's own (roles: admin, userplus, user)."""
        subprocess.run([str(self.bin / "versitygw"), "admin", "--access", self.access_key, "--secret",
                        self.secret_key, "--endpoint-url", f"http://127.0.0.1:{self.admin_port}", "create-user",
                        "--access", access_key, "--secret", secret_key, "--role", role],
                       check=True, capture_output=True)

    def client(self, access_key: str | None = None, secret_key: str | None = None):
        from minio import Minio

        return Minio(self.endpoint, access_key=access_key or self.access_key,
                     secret_key=secret_key or self.secret_key, secure=False, region="us-east-1")


def make_workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="argodoctor-cp-"))


def remove_workdir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


class PushGateway:
    """The Prometheus Pushgateway (built by build.sh) on loopback, state in memory only."""

    def __init__(self, bin_dir: Path, workdir: Path):
        self.bin = bin_dir
        self.dir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: Process | None = None

    def start(self) -> None:
        self.proc = Process("pushgateway", [str(self.bin / "pushgateway"),
                                            f"--web.listen-address=127.0.0.1:{self.port}"], self.dir)
        self.proc.start()
        wait_for(lambda: urllib.request.urlopen(f"{self.url}/-/ready", timeout=2).status == 200,
                 "pushgateway", procs=[self.proc])

    def metrics(self) -> str:
        """What Prometheus would scrape: /metrics, as text."""
        with urllib.request.urlopen(f"{self.url}/metrics", timeout=10) as r:
            return r.read().decode()

    def stop(self) -> None:
        if self.proc:
            self.proc.stop()
