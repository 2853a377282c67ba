"""The S3 "port-forward" route end to end: argodoctor outside the cluster, an artifact repository
whose endpoint is the in-cluster Service minio.argo.svc:9000, no --s3-endpoint. argodoctor picks
the ready pod behind the Service and relays through kube-apiserver's pods/portforward to kwok's
kubelet API, which forwards the pod's port 9000 to the real S3 server (a kwok ClusterPortForward)."""
from __future__ import annotations

import base64
import json
import socket
import threading
import time
import uuid

import yaml

from argodoctor.fix.manifests import apply_manifests, load_manifests
from argodoctor.s3 import PortForward
from argodoctor.view.kube import Kube

from ..conftest import manifests
from ..harness import wait_for
from .test_foundation import ns_obj

LABELS = {"app": "minio"}


def minio_objects() -> list[dict]:
    """A stand-in MinIO: kwok runs its pod (never the image), the Service selects it on port 9000."""
    return [
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "minio", "namespace": "argo"},
         "spec": {"replicas": 1, "selector": {"matchLabels": LABELS},
                  "template": {"metadata": {"labels": LABELS},
                               "spec": {"containers": [{"name": "main", "image": "minio/minio",
                                                        "args": ["server", "/data"],
                                                        "ports": [{"name": "api", "containerPort": 9000}]}]}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "minio", "namespace": "argo"},
         "spec": {"selector": LABELS, "ports": [{"name": "api", "port": 9000, "targetPort": 9000}]}},
    ]


def ready_pod_address(cp) -> dict | None:
    ep = cp.get("/api/v1/namespaces/argo/endpoints/minio") or {}
    for subset in ep.get("subsets") or []:
        for a in subset.get("addresses") or []:
            if (a.get("targetRef") or {}).get("kind") == "Pod" and any(p["port"] == 9000 for p in subset["ports"]):
                return a
    return None


def check(cli, kc: str) -> dict[str, dict]:
    code, out, err = cli("check", "--kubeconfig", kc, "--checks", "AD20*", "--workflow-namespace", "argo", "-o", "json")
    assert code in (0, 1), err
    return {r["id"]: r for r in json.loads(out)["results"] if r["namespace"] == "argo"}


def test_s3_checks_through_port_forward_to_the_service_pod(full_control_plane, s3_server, cli, monkeypatch,
                                                           capsys):
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)  # argodoctor runs outside the cluster
    cp = full_control_plane
    kc = str(cp.kubeconfig())
    kube = Kube(kc)
    t0 = time.monotonic()
    cp.add_node("node-1", "containerd://1.7.0")
    apply_manifests(kube, [ns_obj("argo"), ns_obj("team-a")])
    apply_manifests(kube, load_manifests(manifests("v3.7.18").read_text()), namespace="argo")
    apply_manifests(kube, minio_objects())
    cp.wait_deployment_available("argo", "minio")
    address = wait_for(lambda: ready_pod_address(cp), "a ready address with a targetRef in Endpoints argo/minio",
                       timeout=60, procs=cp.procs)
    pod = address["targetRef"]["name"]
    assert pod.startswith("minio-") and address["targetRef"]["namespace"] == "argo"
    # the node advertises kwok's kubelet API: the apiserver's pods/portforward goes there
    node = cp.get("/api/v1/nodes/node-1")
    assert {"type": "InternalIP", "address": cp.node_ip} in node["status"]["addresses"]
    assert node["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"] == cp.kubelet_port

    bucket = f"argo-pf-{uuid.uuid4().hex[:8]}"
    s3_server.client().make_bucket(bucket)
    keys = {"accesskey": s3_server.access_key, "secretkey": s3_server.secret_key}
    apply_manifests(kube, [
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "minio", "namespace": "argo"}, "type": "Opaque",
         "data": {k: base64.b64encode(v.encode()).decode() for k, v in keys.items()}},
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": "workflow-controller-configmap", "namespace": "argo"},
         "data": {"artifactRepository": yaml.safe_dump({"archiveLogs": True, "s3": {
             "bucket": bucket, "endpoint": "minio.argo.svc:9000", "insecure": True,
             "accessKeySecret": {"name": "minio", "key": "accesskey"},
             "secretKeySecret": {"name": "minio", "key": "secretkey"}}})}}])
    setup = time.monotonic() - t0

    # Before kwok forwards the pod's port, the tunnel opens but its far end is refused: AD204 fails.
    mark = cp.audit_mark()
    before = check(cli, kc)
    assert before["AD204"]["status"] == "fail", before["AD204"]
    assert f"via port-forward to pod argo/{pod}:9000" in before["AD204"]["message"], before["AD204"]
    # kwok's refusal closes the tunnel, and the relay passes that on (not a read timeout)
    assert "sent no answer" not in before["AD204"]["message"], before["AD204"]

    # kwok's kubelet API relays the pod's port 9000 to the S3 server.
    cp.forward_pod_port(9000, "127.0.0.1", s3_server.port, namespaces=("argo",))
    t1 = time.monotonic()
    res = check(cli, kc)
    run = time.monotonic() - t1
    assert res["AD204"]["status"] == "pass", res["AD204"]
    assert (res["AD204"]["message"]
            == f"http://minio.argo.svc:9000 answers via port-forward to pod argo/{pod}:9000"), res["AD204"]
    for cid in ("AD205", "AD206", "AD207"):
        assert res[cid]["status"] == "pass", res[cid]
    assert "from Secret argo/minio" in res["AD205"]["message"]
    assert f"bucket {bucket} exists" in res["AD206"]["message"]
    assert list(s3_server.client().list_objects(bucket, recursive=True)) == []  # the probe object is gone

    # The bytes really went through the apiserver's pods/portforward subresource, as the admin.
    forwards = [e for e in cp.audit_events(mark) if e.get("objectRef", {}).get("subresource") == "portforward"]
    assert forwards and {(e["objectRef"]["namespace"], e["objectRef"]["name"], e["user"]["username"])
                         for e in forwards} == {("argo", pod, "admin")}
    with capsys.disabled():
        print(f"\n[port-forward] setup {setup:.1f}s, check AD20* through the tunnel {run:.1f}s, "
              f"{len(forwards)} pods/portforward requests")

    # Two relays at once while another thread uses the same Kube: the client library's portforward
    # swaps call_api on the ApiClient it is given, so the relays must not be given the shared one.
    relays = [PortForward(kube, "argo", pod, 9000) for _ in range(2)]
    answers: list[bytes] = []

    def use(relay: PortForward) -> None:
        for _ in range(10):
            with socket.create_connection(("127.0.0.1", relay.port), timeout=10) as sock:
                sock.sendall(b"HEAD / HTTP/1.1\r\nHost: minio.argo.svc\r\nConnection: close\r\n\r\n")
                answers.append(sock.recv(5))
    users = [threading.Thread(target=use, args=(r,)) for r in relays]
    for t in users:
        t.start()
    reads = 0
    try:
        while any(t.is_alive() for t in users):
            assert kube.request("GET", "/api/v1/namespaces/argo/pods")["items"]
            reads += 1
    finally:
        for t in users:
            t.join()
        for r in relays:
            r.close()
    assert answers == [b"HTTP/"] * 20 and reads

    # A port kwok does not forward: each tunnel is refused at the far end, and the relay must close
    # the local connection at once (never leave the client waiting for its read timeout).
    relay = PortForward(kube, "argo", pod, 9001)
    try:
        for _ in range(10):
            with socket.create_connection(("127.0.0.1", relay.port), timeout=5) as sock:
                try:
                    sock.sendall(b"HEAD / HTTP/1.1\r\nHost: minio.argo.svc\r\n\r\n")
                    assert sock.recv(16) == b""
                except (ConnectionResetError, BrokenPipeError):
                    pass  # closed while the request was still unread: as good as an EOF
    finally:
        relay.close()
    assert kube.request("GET", "/api/v1/namespaces/argo/services/minio")["metadata"]["name"] == "minio"
