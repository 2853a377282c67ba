"""Issue 3: deploy-object-store and configure-artifact-repository on a cluster of their own."""
from __future__ import annotations

import base64
import json

import pytest
import yaml

from argodoctor.fix.manifests import apply_manifests, load_manifests
from argodoctor.view.kube import Kube

from ..conftest import manifests
from .test_foundation import ns_obj, writes


@pytest.fixture(scope="module")
def cluster(own_control_plane):
    kube = Kube(str(own_control_plane.kubeconfig()))
    apply_manifests(kube, [ns_obj("argo"), ns_obj("team-a")])
    apply_manifests(kube, load_manifests(manifests("v3.7.18").read_text()), namespace="argo")
    # The install's configmap is empty; give it one unrelated key to prove it is kept byte for byte.
    apply_manifests(kube, [
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": "workflow-controller-configmap", "namespace": "argo"},
         "data": {"parallelism": "10  # keep me exactly\n"}},
        {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "w", "namespace": "team-a"},
         "spec": {"entrypoint": "main", "templates": [{"name": "main", "container": {"image": "alpine"}}]}}])
    return own_control_plane, kube


def test_deploy_object_store_is_accepted_and_idempotent(cluster, cli, tmp_path):
    cp, kube = cluster
    kc = str(cp.kubeconfig())
    code, out, err = cli("fix", "deploy-object-store", "--dry-run", "--kubeconfig", kc)
    assert code == 0 and "Deployment argo/minio" in out and "PersistentVolumeClaim argo/minio" in out
    mark = cp.audit_mark()
    code, out, err = cli("fix", "deploy-object-store", "--yes", "--kubeconfig", kc, "--backup-dir", tmp_path,
                         "--storage-size", "2Gi")
    assert code in (0, 1), err  # the re-check may fail: nothing runs pods on this control plane
    assert sorted(writes(cp.audit_events(mark))) == ["patch deployments argo/minio",
                                                     "patch persistentvolumeclaims argo/minio",
                                                     "patch secrets argo/minio", "patch services argo/minio"]
    dep = kube.request("GET", "/apis/apps/v1/namespaces/argo/deployments/minio")
    assert dep["metadata"]["managedFields"][0]["manager"] == "argodoctor"
    pvc = kube.request("GET", "/api/v1/namespaces/argo/persistentvolumeclaims/minio")
    assert pvc["spec"]["resources"]["requests"]["storage"] == "2Gi"
    svc = kube.request("GET", "/api/v1/namespaces/argo/services/minio")
    assert [p["port"] for p in svc["spec"]["ports"]] == [9000]
    sec = kube.request("GET", "/api/v1/namespaces/argo/secrets/minio")
    values = [base64.b64decode(v).decode() for v in sec["data"].values()]
    assert sorted(sec["data"]) == ["accesskey", "secretkey"] and all(len(v) >= 12 for v in values)
    for v in values:  # generated, never printed
        assert v not in out and v not in err
    mark = cp.audit_mark()
    code, out, _ = cli("fix", "deploy-object-store", "--yes", "--kubeconfig", kc, "--backup-dir", tmp_path)
    assert "nothing to do" in out and writes(cp.audit_events(mark)) == []


def test_configure_artifact_repository_points_at_the_store_and_keeps_other_keys(cluster, cli, tmp_path):
    cp, kube = cluster
    kc = str(cp.kubeconfig())
    code, out, _ = cli("check", "--kubeconfig", kc, "--checks", "AD201", "-o", "json")
    assert {r["namespace"]: r["status"] for r in json.loads(out)["results"]} == {"argo": "fail", "team-a": "fail"}
    mark = cp.audit_mark()
    code, out, err = cli("fix", "configure-artifact-repository", "--yes", "--kubeconfig", kc,
                         "--backup-dir", tmp_path)
    assert sorted(writes(cp.audit_events(mark))) == ["patch configmaps argo/workflow-controller-configmap",
                                                     "patch secrets team-a/minio"]
    cm = kube.request("GET", "/api/v1/namespaces/argo/configmaps/workflow-controller-configmap")
    assert cm["data"]["parallelism"] == "10  # keep me exactly\n"
    repo = yaml.safe_load(cm["data"]["artifactRepository"])
    assert repo["s3"]["endpoint"] == "minio.argo.svc:9000" and repo["s3"]["insecure"] is True
    assert repo["s3"]["accessKeySecret"] == {"name": "minio", "key": "accesskey"}
    src = kube.request("GET", "/api/v1/namespaces/argo/secrets/minio")["data"]
    assert kube.request("GET", "/api/v1/namespaces/team-a/secrets/minio")["data"] == src
    code, out, _ = cli("check", "--kubeconfig", kc, "--checks", "AD201,AD202,AD203", "-o", "json")
    assert {(r["id"], r["namespace"]): r["status"] for r in json.loads(out)["results"]} == {
        (c, ns): "pass" for c in ("AD201", "AD202", "AD203") for ns in ("argo", "team-a")}


def test_http_endpoint_fails_ad202_with_the_corrected_value_and_is_fixed(cluster, cli, tmp_path):
    cp, kube = cluster
    kc = str(cp.kubeconfig())
    cm = kube.request("GET", "/api/v1/namespaces/argo/configmaps/workflow-controller-configmap")
    repo = yaml.safe_load(cm["data"]["artifactRepository"])
    repo["s3"]["endpoint"] = "http://minio:9000"
    repo["s3"].pop("insecure")
    apply_manifests(kube, [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": "workflow-controller-configmap", "namespace": "argo"},
        "data": {"artifactRepository": yaml.safe_dump(repo)}}])
    code, out, _ = cli("check", "--kubeconfig", kc, "--checks", "AD202", "-o", "json")
    r = next(r for r in json.loads(out)["results"] if r["namespace"] == "argo")
    assert r["status"] == "fail" and "use endpoint: minio:9000" in r["message"] and "insecure: true" in r["message"]
    code, out, err = cli("fix", "AD202", "--yes", "--kubeconfig", kc, "--backup-dir", tmp_path)
    repo = yaml.safe_load(kube.request("GET", "/api/v1/namespaces/argo/configmaps/workflow-controller-configmap")
                          ["data"]["artifactRepository"])
    assert repo["s3"]["endpoint"] == "minio.argo.svc:9000" and repo["s3"]["insecure"] is True
    code, out, _ = cli("check", "--kubeconfig", kc, "--checks", "AD202", "-o", "json")
    assert {r["status"] for r in json.loads(out)["results"]} == {"pass"}
