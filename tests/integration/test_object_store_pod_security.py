"""Issue 31 item 8: deploy-object-store's MinIO is admitted by kube-apiserver's own Pod Security Admission in
a namespace that enforces restricted (its pod template created as a Pod with dryRun=All, as the Deployment's
ReplicaSet would create it), and argodoctor's evaluator (AD404's) agrees."""
from __future__ import annotations

import pytest
from argodoctor.remediations.deploy_object_store import DEFAULT_IMAGE, manifests

from argodoctor.k8s import pod_security

pytestmark = pytest.mark.integration


def test_restricted_namespace_admits_minio(control_plane, unique):
    ns = f"store-{unique}"
    control_plane.api("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {
        "name": ns, "labels": {pod_security.ENFORCE_LABEL: "restricted"}}})
    control_plane.api("POST", f"/api/v1/namespaces/{ns}/serviceaccounts",
                      {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}})
    objs = {o["kind"]: o for o in manifests(ns, "minio", 9000, DEFAULT_IMAGE, "1Gi")}
    template = objs["Deployment"]["spec"]["template"]
    assert pod_security.violations(template["spec"], pod_security.Level("restricted", pod_security.LATEST)) == []
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"generateName": "minio-", **template["metadata"]},
           "spec": template["spec"]}
    created = control_plane.api("POST", f"/api/v1/namespaces/{ns}/pods?dryRun=All", pod)  # 403 if refused
    assert created["spec"]["containers"][0]["resources"]["limits"] == {"cpu": "1", "memory": "1Gi"}
    # the Deployment itself is accepted too (server-side, not stored)
    control_plane.api("POST", f"/apis/apps/v1/namespaces/{ns}/deployments?dryRun=All", objs["Deployment"])
