"""Issue 31 item 1 on the real apiserver (the audit log as the oracle): `fix --all` copies only the install's
repository Secret (its referenced keys) and never a Secret that a tenant's ConfigMap names."""
from __future__ import annotations

import base64

import pytest
import yaml

from argodoctor.fix.manifests import apply_manifests, load_manifests
from argodoctor.view.kube import Kube

from ..conftest import manifests
from .test_foundation import ns_obj

SEED_REPO = {"s3": {"bucket": "argo-bucket", "endpoint": "minio:9000", "insecure": True,
                    "accessKeySecret": {"name": "minio", "key": "accesskey"},
                    "secretKeySecret": {"name": "minio", "key": "secretkey"}}}


def _secret(name: str, ns: str, **data: str) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": ns}, "type": "Opaque",
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}}


def _tenant_repo(secret: str) -> str:
    return yaml.safe_dump({"s3": {**SEED_REPO["s3"], "accessKeySecret": {"name": secret, "key": "user"},
                                  "secretKeySecret": {"name": secret, "key": "password"}}})


def _workflow(ns: str, name: str, **spec: object) -> dict:
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": name, "namespace": ns},
            "spec": {"entrypoint": "main", "templates": [{"name": "main", "container": {"image": "alpine"}}],
                     **spec}}


@pytest.fixture(scope="module")
def cluster(own_control_plane):
    """The seed (minio in argo, the controller's repository naming it) plus two tenants: team-a's own
    artifact-repositories names team-b's payroll-db (default) and argo's argo-postgres-config (a ref);
    team-b runs on the install's repository."""
    kube = Kube(str(own_control_plane.kubeconfig()))
    apply_manifests(kube, [ns_obj("argo"), ns_obj("team-a"), ns_obj("team-b")])
    apply_manifests(kube, load_manifests(manifests("v3.7.18").read_text()), namespace="argo")
    apply_manifests(kube, [
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": "workflow-controller-configmap", "namespace": "argo"},
         "data": {"artifactRepository": yaml.safe_dump(SEED_REPO)}},
        _secret("minio", "argo", accesskey="access-1234567", secretkey="secret-1234567", rootPassword="root-xyz"),
        _secret("argo-postgres-config", "argo", user="postgres", password="pg-secret-value"),
        _secret("payroll-db", "team-b", user="payroll", password="payroll-secret-value"),
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": "artifact-repositories", "namespace": "team-a",
                      "annotations": {"workflows.argoproj.io/default-artifact-repository": "default"}},
         "data": {"default": _tenant_repo("payroll-db"), "pg": _tenant_repo("argo-postgres-config")}},
        _workflow("team-a", "hello"), _workflow("team-a", "pg", artifactRepositoryRef={"key": "pg"}),
        _workflow("team-b", "hello")])
    return own_control_plane, kube


def test_fix_all_copies_only_the_install_secret_and_its_referenced_keys(cluster, cli, tmp_path):
    cp, kube = cluster
    kc = str(cp.kubeconfig())
    code, out, err = cli("fix", "--all", "--dry-run", "--kubeconfig", kc)
    assert "Traceback" not in err
    assert out.count("create Secret team-b/minio") == 1, out  # once, though two remediations plan it
    mark = cp.audit_mark()
    code, out, err = cli("fix", "--all", "--yes", "--kubeconfig", kc, "--backup-dir", tmp_path)
    assert "Traceback" not in err
    sent = [e for e in cp.audit_events(mark) if "dryRun=All" not in e.get("requestURI", "")]

    def on(e: dict, ns: str, name: str | None = None) -> bool:
        ref = e.get("objectRef") or {}
        return ref.get("resource") == "secrets" and ref.get("namespace") == ns and name in (None, ref.get("name"))

    # The other tenant's Secret and the controller namespace's unused one are never read by name...
    assert not [e for e in sent if e["verb"] == "get" and on(e, "team-b", "payroll-db")]
    assert not [e for e in sent if e["verb"] == "get" and on(e, "argo", "argo-postgres-config")]
    # ...and nothing is written as a Secret into the tenant's namespace.
    assert not [e for e in sent if e["verb"] in ("create", "update", "patch") and on(e, "team-a")]
    # The seed case: the install's minio, with just the keys the repository names, copied into team-b.
    assert [e for e in sent if e["verb"] == "patch" and on(e, "team-b", "minio")]
    copied = kube.request("GET", "/api/v1/namespaces/team-b/secrets/minio")
    assert sorted(copied["data"]) == ["accesskey", "secretkey"]
    assert copied["metadata"]["annotations"]["argodoctor.io/copied-from"] == "argo/minio"
    assert "create it in team-a" in " ".join(out.split()) and "payroll-db" in out
    for value in ("payroll-secret-value", "pg-secret-value", "root-xyz", "secret-1234567"):
        assert value not in out and value not in err
