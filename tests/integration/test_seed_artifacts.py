"""Issue 3 acceptance: from the seed's setup, `fix --all` then `check` passes AD201-AD207."""
from __future__ import annotations

import base64
import json

import pytest

from argodoctor.fix.manifests import apply_manifests, load_manifests
from argodoctor.view.kube import Kube

from ..conftest import manifests
from .test_foundation import SEED_REPOSITORY, ns_obj, writes

NAMESPACES = ("argo", "team-a", "team-b")


@pytest.fixture(scope="module")
def seed(own_control_plane, own_s3_server):
    """The seed guide's state: Argo v3.7.18, MinIO installed by Helm as release `minio` in argo (its
    Secret holds the object store's keys), the configmap exactly as the guide writes it, bucket never
    created, workflows in two namespaces."""
    kube = Kube(str(own_control_plane.kubeconfig()))
    apply_manifests(kube, [ns_obj(n) for n in NAMESPACES])
    apply_manifests(kube, load_manifests(manifests("v3.7.18").read_text()), namespace="argo")
    b64 = lambda v: base64.b64encode(v.encode()).decode()  # noqa: E731
    helm = {"app": "minio", "release": "minio", "heritage": "Helm"}
    apply_manifests(kube, [
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": "workflow-controller-configmap", "namespace": "argo"},
         "data": {"artifactRepository": SEED_REPOSITORY}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "minio", "namespace": "argo", "labels": helm},
         "type": "Opaque", "data": {"accesskey": b64(own_s3_server.access_key),
                                    "secretkey": b64(own_s3_server.secret_key)}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "minio", "namespace": "argo",
                                                                     "labels": helm},
         "spec": {"selector": {"matchLabels": {"app": "minio"}}, "template": {
             "metadata": {"labels": {"app": "minio"}},
             "spec": {"containers": [{"name": "minio", "image": "minio/minio:RELEASE.2020-11-19T23-48-16Z"}]}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "minio", "namespace": "argo", "labels": helm},
         "spec": {"selector": {"app": "minio"}, "ports": [{"name": "http", "port": 9000}]}},
    ] + [{"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "w", "namespace": ns},
          "spec": {"entrypoint": "m", "templates": [{"name": "m", "container": {"image": "alpine"}}]}}
         for ns in ("team-a", "team-b")])
    return own_control_plane, own_s3_server, kube


def test_fix_all_from_the_seed_setup_passes_ad201_to_ad207(seed, cli, tmp_path):
    cp, s3, kube = seed
    kc = str(cp.kubeconfig())
    base = ("--kubeconfig", kc, "--s3-endpoint", s3.endpoint)
    code, out, _ = cli("check", *base, "-o", "json")
    before = {(r["id"], r["namespace"]): r["status"] for r in json.loads(out)["results"]}
    assert before[("AD203", "team-a")] == "fail" and before[("AD203", "team-b")] == "fail"
    assert before[("AD206", "argo")] == "fail"
    assert not s3.client().bucket_exists("argo-bucket")

    code, out, err = cli("fix", "--all", "--yes", *base, "--backup-dir", tmp_path)
    assert "failed:" not in out, out
    assert s3.client().bucket_exists("argo-bucket")
    code, out, _ = cli("check", *base, "-o", "json")
    after = {(r["id"], r["namespace"]): r for r in json.loads(out)["results"]}
    for ns in NAMESPACES:
        for cid in ("AD201", "AD202", "AD203", "AD204", "AD205", "AD206", "AD207"):
            assert after[(cid, ns)]["status"] == "pass", after[(cid, ns)]
    # Helm's MinIO was left alone; the endpoint now resolves from every workflow namespace
    assert kube.request("GET", "/apis/apps/v1/namespaces/argo/deployments/minio")["metadata"]["labels"]["heritage"] \
        == "Helm"
    assert "minio.argo.svc:9000" in after[("AD201", "team-b")]["message"]

    mark = cp.audit_mark()
    code, out, _ = cli("fix", "--all", "--yes", *base, "--backup-dir", tmp_path)
    assert writes(cp.audit_events(mark)) == [], out
