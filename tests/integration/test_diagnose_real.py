"""`argodoctor diagnose` on failures the real workflow-controller v3.7.18 and the real kube-apiserver's
admission produce, not on typed-in messages (issue 25): each injected cause must be named, with 0
misdiagnoses, and a Workflow nobody broke is never blamed on the install."""
from __future__ import annotations

import json

import pytest
import yaml

from ..conftest import manifests, validate_diagnose
from ..harness import ArgoController, ControlPlane, install_argo_crds, wait_for

pytestmark = pytest.mark.integration

# Each namespace holds one injected fault (None: nothing broken, the Workflow must not be blamed on the
# install). "No repository configured" needs a pod that runs (the executor reports it): issue 26's plane.
CASES = {
    "team-ref": "repository-ref-not-found",  # artifactRepositoryRef naming a ConfigMap nobody made
    "team-sync": "sync-semaphore-init",  # a semaphore naming a key its ConfigMap lacks
    "team-nosa": "service-account-missing",  # serviceAccountName of an SA that does not exist
    "team-psa": "pod-security",  # Pod Security `restricted` enforced on the namespace
    "team-quota": "quota-must-specify",  # a ResourceQuota on limits.cpu, which init/wait do not set
    "team-limits": "limitrange-maximum",  # a LimitRange whose max cpu the main container's limit exceeds
}


def _ns(cp: ControlPlane, name: str, **labels: str) -> None:
    cp.api("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                          "metadata": {"name": name, "labels": labels}})


def _workflow(namespace: str, name: str, **spec) -> dict:
    main = {"name": "main", "container": {"image": "alpine:3.20", "command": ["sh", "-c", "echo hi > /tmp/out"]}}
    if spec.pop("artifact", False):
        main["outputs"] = {"artifacts": [{"name": "out", "path": "/tmp/out"}]}
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"entrypoint": "main", "templates": [main], **spec}}


@pytest.fixture(scope="module")
def failures(own_control_plane: ControlPlane):
    cp = own_control_plane
    install_argo_crds(cp, manifests("v3.7.18"))
    _ns(cp, "argo")
    cp.api("POST", "/api/v1/namespaces/argo/configmaps", {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "workflow-controller-configmap",
                                                              "namespace": "argo"},
        "data": {"config": yaml.safe_dump({"parallelism": 50})}})
    for ns in (*CASES, "team-ok"):
        _ns(cp, ns, **({"pod-security.kubernetes.io/enforce": "restricted"} if ns == "team-psa" else {}))
        cp.api("POST", f"/api/v1/namespaces/{ns}/serviceaccounts",
               {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": ns}})
    workflows = {
        "team-ref": _workflow("team-ref", "wf", artifact=True,
                              artifactRepositoryRef={"configMap": "no-such-repos", "key": "s3"}),
        "team-sync": _workflow("team-sync", "wf", synchronization={
            "semaphore": {"configMapKeyRef": {"name": "sync", "key": "missing"}}}),
        "team-nosa": _workflow("team-nosa", "wf", serviceAccountName="ghost"),
        "team-psa": _workflow("team-psa", "wf"),
        "team-quota": _workflow("team-quota", "wf"),
        "team-limits": _workflow("team-limits", "wf", templates=[{
            "name": "main", "container": {"image": "alpine:3.20", "command": ["true"],
                                          "resources": {"limits": {"cpu": "2"}}}}]),
        "team-ok": _workflow("team-ok", "wf"),
    }
    cp.api("POST", "/api/v1/namespaces/team-quota/resourcequotas", {
        "apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "compute", "namespace": "team-quota"},
        "spec": {"hard": {"limits.cpu": "4"}}})
    # What kube-controller-manager's resourcequota controller would write (this plane runs none): admission
    # judges pods only against a quota whose status is known.
    cp.api("PUT", "/api/v1/namespaces/team-quota/resourcequotas/compute/status", {
        **cp.api("GET", "/api/v1/namespaces/team-quota/resourcequotas/compute"),
        "status": {"hard": {"limits.cpu": "4"}, "used": {"limits.cpu": "0"}}})
    cp.api("POST", "/api/v1/namespaces/team-limits/limitranges", {
        "apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "max", "namespace": "team-limits"},
        "spec": {"limits": [{"type": "Container", "max": {"cpu": "1"}}]}})
    cp.api("POST", "/api/v1/namespaces/team-sync/configmaps", {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "sync", "namespace": "team-sync"},
        "data": {"workflow": "1"}})
    ctl = ArgoController(cp, namespace="argo")
    ctl.start()
    try:
        ctl.wait_ready()
        for ns, wf in workflows.items():
            cp.api("POST", f"/apis/argoproj.io/v1alpha1/namespaces/{ns}/workflows", wf)

        phases: dict = {}

        def settled() -> bool:
            for ns in workflows:
                status = (cp.get(f"/apis/argoproj.io/v1alpha1/namespaces/{ns}/workflows/wf") or {}).get("status", {})
                phases[ns] = (status.get("phase"), status.get("message"))
            return all(phases[ns][0] in ("Failed", "Error") for ns in CASES) and phases["team-ok"][0] is not None
        try:
            wait_for(settled, "the faulty Workflows to fail", timeout=90, procs=[ctl.process, *cp.procs])
        except TimeoutError as e:
            raise AssertionError(f"{e}: {phases}") from None
        yield cp
    finally:
        ctl.stop()


def test_every_real_failure_is_diagnosed_as_its_injected_cause(failures, cli):
    cp = failures
    kc = str(cp.kubeconfig())
    code, out, err = cli("diagnose", "--failed", "--kubeconfig", kc, "--argo-version", "v3.7.18", "-o", "json")
    doc = validate_diagnose(out)
    seen = {w["namespace"]: w for w in doc["workflows"]}
    misdiagnosed = []
    for ns, row in CASES.items():
        got = [s["row"] for s in seen.get(ns, {}).get("symptoms", [])]
        if row not in got:
            misdiagnosed.append((ns, row, got, seen.get(ns, {}).get("unknown")))
    assert misdiagnosed == [], json.dumps(misdiagnosed, indent=1)
    assert code == 1 and "team-ok" not in seen  # the healthy one is not among the failed
    # one Workflow by name: what its status says, whatever its phase
    code, out, _ = cli("diagnose", "wf", "-n", "team-nosa", "--kubeconfig", kc, "--argo-version", "v3.7.18",
                       "-o", "json")
    (entry,) = validate_diagnose(out)["workflows"]
    assert entry["symptoms"][0]["row"] == "service-account-missing" and "AD301" in entry["checks"]
    assert any(r["id"] == "AD301" and r["status"] == "fail" for r in entry["evidence"]), entry["evidence"]
    print(f"\n[diagnose] {len(CASES)} real failures from the controller and admission, {len(misdiagnosed)} "
          "misdiagnosed; the healthy Workflow not blamed")


def test_a_reader_without_pod_and_event_rights_still_diagnoses_from_the_status(failures, cli):
    cp = failures
    cp.api("POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "wf-reader"},
        "rules": [{"apiGroups": ["argoproj.io"], "resources": ["workflows"], "verbs": ["get", "list"]}]})
    cp.api("POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "wf-reader"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "wf-reader"},
        "subjects": [{"kind": "User", "name": "wf-reader", "apiGroup": "rbac.authorization.k8s.io"}]})
    kc = str(cp.kubeconfig("wf-reader", ()))
    code, out, _ = cli("diagnose", "wf", "-n", "team-ref", "--kubeconfig", kc, "--argo-version", "v3.7.18",
                       "-o", "json")
    doc = validate_diagnose(out)
    assert any("list pods" in n for n in doc["notes"]) and any("list events" in n for n in doc["notes"])
    assert doc["workflows"][0]["symptoms"][0]["row"] == "repository-ref-not-found"


def test_a_kubelets_failed_mount_event_on_the_controllers_pod_is_diagnosed(failures, cli):
    """The pod the real controller made for team-ok's Workflow, and the Event a kubelet writes when the
    Secret it mounts is absent (kubernetes v1.35.4 pkg/volume/util/operationexecutor: GenerateError
    "MountVolume.SetUp failed" + errSuffix; the secret manager's NotFound of resource "secret")."""
    cp = failures
    (pod,) = cp.api("GET", "/api/v1/namespaces/team-ok/pods?labelSelector=workflows.argoproj.io/workflow%3Dwf")["items"]
    cp.api("POST", "/api/v1/namespaces/team-ok/events", {
        "apiVersion": "v1", "kind": "Event", "metadata": {"name": "wf.mount", "namespace": "team-ok"},
        "type": "Warning", "reason": "FailedMount", "source": {"component": "kubelet", "host": "node-1"},
        "message": 'MountVolume.SetUp failed for volume "my-minio-cred" : secret "my-minio-cred" not found',
        "involvedObject": {"kind": "Pod", "name": pod["metadata"]["name"], "namespace": "team-ok",
                           "uid": pod["metadata"]["uid"]}})
    code, out, _ = cli("diagnose", "wf", "-n", "team-ok", "--kubeconfig", str(cp.kubeconfig()),
                       "--argo-version", "v3.7.18", "-o", "json")
    (entry,) = validate_diagnose(out)["workflows"]
    assert entry["phase"] == "Running" and [s["row"] for s in entry["symptoms"]] == ["secret-volume-missing"]
    assert entry["symptoms"][0]["where"].startswith("Event FailedMount on Pod ") and "AD203" in entry["checks"]
