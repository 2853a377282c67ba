"""The fuller control plane (kube-controller-manager, kube-scheduler, kwok fake nodes) really runs
the controllers the apiserver-only one lacks."""
from __future__ import annotations

import pytest

from ..harness import KWOK_NODE_ANNOTATION, FullControlPlane, wait_for

pytestmark = pytest.mark.integration


def test_full_control_plane(full_control_plane: FullControlPlane, wait_deployment_available, capsys):
    cp = full_control_plane
    with capsys.disabled():
        print(f"\n[harness] full control plane startup: {cp.startup_seconds:.1f}s")

    # serviceaccount controller: a new namespace gets its `default` ServiceAccount
    cp.api("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}})
    sa = wait_for(lambda: cp.get("/api/v1/namespaces/team-a/serviceaccounts/default"),
                  "default ServiceAccount in team-a", timeout=30, procs=cp.procs)
    assert sa["metadata"]["name"] == "default"

    # clusterrole-aggregation controller: `admin` is filled in from the aggregate-to-admin roles
    def admin_pod_rules():
        role = cp.get("/apis/rbac.authorization.k8s.io/v1/clusterroles/admin") or {}
        return [r for r in role.get("rules") or [] if "pods" in r.get("resources", [])]
    assert wait_for(admin_pod_rules, "aggregated rules in ClusterRole admin", timeout=30, procs=cp.procs)

    # scheduler + deployment/replicaset controllers + kwok: a Deployment becomes Available on a fake node
    node = cp.add_node("kwok-node-0", runtime="containerd://1.7.0")
    assert node["metadata"]["annotations"][KWOK_NODE_ANNOTATION[0]] == KWOK_NODE_ANNOTATION[1]
    labels = {"app": "hello"}
    cp.api("POST", "/apis/apps/v1/namespaces/team-a/deployments", {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "hello"},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"containers": [{"name": "main", "image": "alpine",
                                                       "command": ["sleep", "infinity"]}]}}}})
    deployment = wait_deployment_available("team-a", "hello")
    assert deployment["status"]["availableReplicas"] == 1
    pods = cp.api("GET", "/api/v1/namespaces/team-a/pods?labelSelector=app%3Dhello")["items"]
    assert [p["spec"]["nodeName"] for p in pods] == ["kwok-node-0"]
    assert pods[0]["status"]["phase"] == "Running"
    assert pods[0]["status"]["podIP"].startswith("10.244.")
    # kwok filled in what was missing but kept the runtime the test chose
    info = cp.get("/api/v1/nodes/kwok-node-0")["status"]["nodeInfo"]
    assert info["containerRuntimeVersion"] == "containerd://1.7.0"
    assert info["kubeletVersion"] == cp.server_version()

    # ...and it can be changed after the fact
    cp.set_node_runtime("kwok-node-0", "cri-o://1.30.0")
    assert cp.get("/api/v1/nodes/kwok-node-0")["status"]["nodeInfo"]["containerRuntimeVersion"] == "cri-o://1.30.0"

    # namespace controller: a deleted namespace really goes (its Deployment and Pods with it)
    cp.api("DELETE", "/api/v1/namespaces/team-a")
    wait_for(lambda: cp.get("/api/v1/namespaces/team-a") is None, "namespace team-a deleted", timeout=60,
             procs=cp.procs)
    assert cp.get("/apis/apps/v1/namespaces/team-a/deployments/hello") is None
