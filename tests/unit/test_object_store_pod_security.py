"""Issue 31 item 8: deploy-object-store's MinIO meets the restricted Pod Security profile, as argodoctor's
own evaluator (AD404's, checked against kube-apiserver in tests/integration) judges it, at every version
of the profile, and it asks for resources within limits."""
from __future__ import annotations

from argodoctor.remediations.deploy_object_store import manifests

from argodoctor.k8s import pod_security


def minio_pod_spec() -> dict:
    (deployment,) = [o for o in manifests("argo", "minio", 9000, "quay.io/minio/minio:x", "10Gi")
                     if o["kind"] == "Deployment"]
    return deployment["spec"]["template"]["spec"]


def test_minio_meets_restricted_at_every_version():
    spec = minio_pod_spec()
    for version in [(1, minor) for minor in range(0, 36)] + [pod_security.LATEST]:
        level = pod_security.Level("restricted", version)
        assert pod_security.violations(spec, level) == [], (version, pod_security.message(
            level, pod_security.violations(spec, level)))


def test_minio_has_requests_and_limits():
    (container,) = minio_pod_spec()["containers"]
    res = container["resources"]
    assert set(res["requests"]) == {"cpu", "memory"} and set(res["limits"]) == {"cpu", "memory"}
