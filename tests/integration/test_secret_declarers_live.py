"""AD203 on the real kube-apiserver with a Secret that External Secrets will write (issue 23 item 2): a warning
with its sync condition, fix copies nothing over it; without the CRD, one LIST fewer and the old verdict."""
from __future__ import annotations

import json

import pytest
import yaml

from argodoctor.fix.manifests import apply_manifests, load_manifests
from argodoctor.view.kube import Kube

from ..conftest import manifests
from .test_foundation import ns_obj, writes

pytestmark = pytest.mark.integration

REPO = {"s3": {"bucket": "b", "endpoint": "minio.argo:9000", "insecure": True,
               "accessKeySecret": {"name": "minio", "key": "accesskey"},
               "secretKeySecret": {"name": "minio", "key": "secretkey"}}}
# The smallest structural CRD that serves ExternalSecrets as external-secrets.io/v1 does (the real CRD's
# schema is large; what AD203 reads is spec.target, spec.data[].secretKey and status.conditions).
CRD = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
       "metadata": {"name": "externalsecrets.external-secrets.io"},
       "spec": {"group": "external-secrets.io", "scope": "Namespaced",
                "names": {"plural": "externalsecrets", "singular": "externalsecret", "kind": "ExternalSecret"},
                "versions": [{"name": "v1", "served": True, "storage": True,
                              "schema": {"openAPIV3Schema": {"type": "object",
                                                             "x-kubernetes-preserve-unknown-fields": True}}}]}}
EXTERNAL_SECRET = {
    "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
    "metadata": {"name": "minio", "namespace": "team-a"},
    "spec": {"secretStoreRef": {"name": "vault", "kind": "ClusterSecretStore"},
             "data": [{"secretKey": "accesskey", "remoteRef": {"key": "minio/accesskey"}},
                      {"secretKey": "secretkey", "remoteRef": {"key": "minio/secretkey"}}]},
    "status": {"conditions": [{"type": "Ready", "status": "False", "reason": "SecretSyncedError",
                               "message": "could not get secret data from provider"}]}}


def _ad203(cli, kc: str) -> dict:
    code, out, _ = cli("check", "--kubeconfig", kc, "--checks", "AD203", "-o", "json")
    (r,) = [r for r in json.loads(out)["results"] if r["namespace"] == "team-a"]
    return r


def test_a_secret_external_secrets_has_not_written_yet_is_a_warning(own_control_plane, cli, tmp_path):
    cp = own_control_plane
    kc = str(cp.kubeconfig())
    kube = Kube(kc)
    apply_manifests(kube, [ns_obj("argo"), ns_obj("team-a")])
    apply_manifests(kube, load_manifests(manifests("v3.7.18").read_text()), namespace="argo")
    apply_manifests(kube, [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "workflow-controller-configmap",
                                                               "namespace": "argo"},
         "data": {"artifactRepository": yaml.safe_dump(REPO)}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "minio", "namespace": "argo"},
         "stringData": {"accesskey": "a", "secretkey": "s"}},
        {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "w", "namespace": "team-a"},
         "spec": {"entrypoint": "main", "templates": [{"name": "main", "container": {"image": "alpine"}}]}}])
    mark = cp.audit_mark()
    before = _ad203(cli, kc)
    assert before["status"] == "fail" and "exists only in argo" in before["message"]
    listed = [e["objectRef"].get("resource") for e in cp.audit_events(mark) if e.get("verb") == "list"]
    assert "externalsecrets" not in listed  # no CRD: the kind is not asked for at all

    apply_manifests(kube, [CRD])
    kube.request("POST", "/apis/external-secrets.io/v1/namespaces/team-a/externalsecrets", body=EXTERNAL_SECRET)
    after = _ad203(cli, kc)
    assert after["status"] == "warn" and after["remediation"] is None
    assert "ExternalSecret team-a/minio declares it" in after["message"] and "SecretSyncedError" in after["message"]
    mark = cp.audit_mark()
    code, out, _ = cli("fix", "copy-artifact-secret", "--yes", "--kubeconfig", kc, "--backup-dir", tmp_path)
    assert writes(cp.audit_events(mark)) == []  # never a copy over what the controller will write
