"""Fixes that never fight Helm, Argo CD or another field manager (issue 14), on the real kube-apiserver:
an object Helm manages is held with the chart values to change; a field another manager owns is a
conflict the API server names, and nothing is written; --force-conflicts takes it; a
ValidatingAdmissionPolicy that refuses the planned binding is reported by --dry-run=server and by fix,
and nothing of the plan is half-applied."""
from __future__ import annotations

import json

import pytest
import yaml

from argodoctor.fix.manifests import apply_manifests, load_manifests
from argodoctor.view.kube import Kube

from ..conftest import manifests
from .test_foundation import ns_obj, writes

pytestmark = pytest.mark.integration

CM = "/api/v1/namespaces/argo/configmaps/workflow-controller-configmap"
BAD_REPOSITORY = yaml.safe_dump({"s3": {"bucket": "argo-artifacts", "endpoint": "http://minio:9000",
                                        "accessKeySecret": {"name": "minio", "key": "accesskey"},
                                        "secretKeySecret": {"name": "minio", "key": "secretkey"}}})


def flat(text: str) -> str:
    """The output with the console's line wrapping undone."""
    return " ".join(text.split())


def real_writes(cp, mark: int) -> list[str]:
    return writes(cp.audit_events(mark))


@pytest.fixture(scope="module")
def cluster(own_control_plane):
    kube = Kube(str(own_control_plane.kubeconfig()))
    apply_manifests(kube, [ns_obj("argo"), ns_obj("team-a")])
    apply_manifests(kube, load_manifests(manifests("v3.7.18").read_text()), namespace="argo")
    apply_manifests(kube, [{"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
                            "metadata": {"name": "w", "namespace": "team-a"},
                            "spec": {"entrypoint": "main",
                                     "templates": [{"name": "main", "container": {"image": "alpine"}}]}}])
    return own_control_plane, kube


def controller_config(kube: Kube, manager: str, labels: dict | None = None, annotations: dict | None = None):
    """The controller's ConfigMap with an invalid endpoint, written by `manager` (as Helm or kubectl would)."""
    kube.request("DELETE", CM)
    body = {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "workflow-controller-configmap", "namespace": "argo", "labels": labels or {},
                         "annotations": annotations or {}},
            "data": {"artifactRepository": BAD_REPOSITORY}}
    kube.request("POST", "/api/v1/namespaces/argo/configmaps", query={"fieldManager": manager}, body=body)


def test_a_helm_managed_object_is_held_with_the_values_to_change(cluster, cli, tmp_path):
    cp, kube = cluster
    kc = str(cp.kubeconfig())
    controller_config(kube, "helm", labels={"app.kubernetes.io/managed-by": "Helm"},
                      annotations={"meta.helm.sh/release-name": "argo-workflows"})
    mark = cp.audit_mark()
    code, out, err = cli("fix", "configure-artifact-repository", "--yes", "--kubeconfig", kc, "--backup-dir", tmp_path)
    assert code == 1 and "is managed by Helm release argo-workflows" in flat(out), out + err
    assert "artifactRepository:" in out and "endpoint: minio.argo.svc:9000" in out  # the values snippet
    assert real_writes(cp, mark) == []
    code, out, err = cli("fix", "configure-artifact-repository", "--yes", "--force-conflicts", "--kubeconfig", kc,
                         "--backup-dir", tmp_path)
    assert "applied: update ConfigMap argo/workflow-controller-configmap" in flat(out), out + err
    repo = yaml.safe_load(kube.request("GET", CM)["data"]["artifactRepository"])
    assert repo["s3"]["endpoint"] == "minio.argo.svc:9000"


def test_a_field_another_manager_owns_is_a_named_conflict_and_nothing_is_written(cluster, cli, tmp_path):
    cp, kube = cluster
    kc = str(cp.kubeconfig())
    controller_config(kube, "kubectl-client-side-apply")
    mark = cp.audit_mark()
    code, out, err = cli("fix", "configure-artifact-repository", "--yes", "--kubeconfig", kc, "--backup-dir", tmp_path)
    out = flat(out)
    assert code == 1 and "refused by the API server" in out, out + err
    assert 'conflict with "kubectl-client-side-apply"' in out and ".data.artifactRepository" in out, out
    assert "--force-conflicts" in out and "nothing of configure-artifact-repository was written" in out
    assert real_writes(cp, mark) == []
    code, out, err = cli("fix", "configure-artifact-repository", "--dry-run=server", "--kubeconfig", kc)
    assert code == 1 and "refused by the API server" in flat(out) and real_writes(cp, mark) == []
    code, out, err = cli("fix", "configure-artifact-repository", "--yes", "--force-conflicts", "--kubeconfig", kc,
                         "--backup-dir", tmp_path)
    assert "applied: update ConfigMap" in flat(out), out + err
    cm = kube.request("GET", CM)
    owners = {m["manager"]: json.dumps(m.get("fieldsV1", {})) for m in cm["metadata"]["managedFields"]}
    assert "f:artifactRepository" in owners["argodoctor"]


POLICY = {
    "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
    "metadata": {"name": "no-workflow-role-bindings"},
    "spec": {"failurePolicy": "Fail",
             "matchConstraints": {"resourceRules": [{"apiGroups": ["rbac.authorization.k8s.io"], "apiVersions": ["v1"],
                                                     "operations": ["CREATE", "UPDATE"],
                                                     "resources": ["rolebindings"]}]},
             "validations": [{"expression": "object.roleRef.name != 'argo-workflow-role'",
                              "message": "workflow roles are granted by the platform team"}]}}
POLICY_BINDING = {
    "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
    "metadata": {"name": "no-workflow-role-bindings"},
    "spec": {"policyName": "no-workflow-role-bindings", "validationActions": ["Deny"]}}


def test_an_admission_policy_refusing_the_binding_is_reported_and_nothing_is_half_applied(cluster, cli, tmp_path):
    import time

    cp, kube = cluster
    kc = str(cp.kubeconfig())
    apply_manifests(kube, [POLICY, POLICY_BINDING])
    probe = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
             "metadata": {"name": "probe", "namespace": "team-a"},
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "argo-workflow-role"},
             "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "team-a"}]}
    for _ in range(100):  # the policy takes effect once the API server has compiled it
        try:
            kube.request("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/team-a/rolebindings",
                         query={"dryRun": "All"}, body=probe)
        except Exception:
            break
        time.sleep(0.1)
    mark = cp.audit_mark()
    code, out, err = cli("fix", "grant-workflow-rbac", "--dry-run=server", "--kubeconfig", kc)
    assert code == 1 and "refused by the API server" in flat(out) and "granted by the platform team" in flat(out), out
    code, out, err = cli("fix", "grant-workflow-rbac", "--yes", "--kubeconfig", kc, "--backup-dir", tmp_path)
    out = flat(out)
    assert code == 1 and "granted by the platform team" in out and "nothing of grant-workflow-rbac was written" in out
    assert real_writes(cp, mark) == []  # not even the ClusterRole the binding would have referred to
    kube.request("DELETE", "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings/"
                           "no-workflow-role-bindings")


def test_fix_o_yaml_prints_manifests_to_commit_and_writes_nothing(cluster, cli):
    cp, kube = cluster
    kc = str(cp.kubeconfig())
    controller_config(kube, "kubectl-client-side-apply")
    kube.request("POST", "/api/v1/namespaces/argo/secrets", body={
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "minio", "namespace": "argo"},
        "stringData": {"accesskey": "AKIAPRINTEDNEVER0001", "secretkey": "never-printed-secret-value"}})
    mark = cp.audit_mark()
    code, out, err = cli("fix", "configure-artifact-repository", "-o", "yaml", "--kubeconfig", kc)
    assert code == 0, err
    docs = [d for d in yaml.safe_load_all(out) if d]
    [cm] = [d for d in docs if d["kind"] == "ConfigMap"]
    assert yaml.safe_load(cm["data"]["artifactRepository"])["s3"]["endpoint"] == "minio.argo.svc:9000"
    assert "managedFields" not in cm["metadata"] and "resourceVersion" not in cm["metadata"]
    secrets = [d for d in docs if d["kind"] == "Secret"]
    assert secrets and all(set(s["data"]) == {"accesskey", "secretkey"} for s in secrets)  # the copy to team-a
    assert "AKIAPRINTEDNEVER0001" not in out and "never-printed" not in out
    assert writes(cp.audit_events(mark)) == []
