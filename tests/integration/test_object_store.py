"""Issue 3: the artifact path from config to a written object, against the real apiserver and S3 server."""
from __future__ import annotations

import base64
import json
import socket
import threading
import time
import uuid

import pytest
import yaml

from argodoctor.fix.manifests import apply_manifests, load_manifests
from argodoctor.view.kube import Kube

from ..conftest import manifests
from .test_foundation import ns_obj

SEED_S3 = {"bucket": "argo-bucket", "endpoint": "minio:9000", "insecure": True,
           "accessKeySecret": {"name": "minio", "key": "accesskey"},
           "secretKeySecret": {"name": "minio", "key": "secretkey"}}


def secret(name: str, ns: str, **data: str) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": ns}, "type": "Opaque",
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}}


class Art:
    """The seed's setup on a cluster of this module's own, with helpers to vary the repository."""

    def __init__(self, cp, s3, kube: Kube, cli):
        self.cp, self.s3, self.kube, self.cli = cp, s3, kube, cli
        self.kc = str(cp.kubeconfig())

    def set_repo(self, **s3: object) -> None:
        spec = {"archiveLogs": True, "s3": {**SEED_S3, **s3}}
        apply_manifests(self.kube, [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
            "name": "workflow-controller-configmap", "namespace": "argo"},
            "data": {"artifactRepository": yaml.safe_dump(spec)}}])

    def check(self, *argv: str, endpoint: str | None = None) -> tuple[int, dict]:
        code, out, err = self.cli("check", "--kubeconfig", self.kc, "-o", "json",
                                  "--s3-endpoint", endpoint or self.s3.endpoint, *argv)
        assert code in (0, 1), err
        doc = json.loads(out)
        return code, {(r["id"], r["namespace"]): r for r in doc["results"]}

    def fix(self, *argv: str) -> tuple[int, str]:
        code, out, err = self.cli("fix", "--kubeconfig", self.kc, "--s3-endpoint", self.s3.endpoint,
                                  "--backup-dir", str(self.cp.dir / "backups"), *argv)
        return code, out + err


@pytest.fixture(scope="module")
def art(own_control_plane, s3_server):

    kube = Kube(str(own_control_plane.kubeconfig()))
    apply_manifests(kube, [ns_obj("argo"), ns_obj("team-a"), ns_obj("team-b")])
    apply_manifests(kube, load_manifests(manifests("v3.7.18").read_text()), namespace="argo")
    apply_manifests(kube, [secret("minio", "argo", accesskey=s3_server.access_key,
                                  secretkey=s3_server.secret_key)] + [
        {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "hello", "namespace": ns},
         "spec": {"entrypoint": "main", "templates": [{"name": "main", "container": {"image": "alpine"}}]}}
        for ns in ("team-a", "team-b")])
    return own_control_plane, s3_server, kube


@pytest.fixture
def a(art, cli):
    return Art(*art, cli)


def bucket_name() -> str:
    return f"argo-bucket-{uuid.uuid4().hex[:8]}"


def test_bucket_missing_then_fix_create_bucket(a):
    bucket = bucket_name()
    a.set_repo(bucket=bucket)
    code, out = a.fix("copy-artifact-secret", "--yes")
    assert code == 0, out
    _, res = a.check("--checks", "AD20*")
    for ns in ("argo", "team-a", "team-b"):
        assert res[("AD204", ns)]["status"] == "pass", res[("AD204", ns)]
        assert res[("AD205", ns)]["status"] == "pass", res[("AD205", ns)]
        assert res[("AD206", ns)]["status"] == "fail"
        assert f"bucket {bucket} does not exist" in res[("AD206", ns)]["message"]
        assert res[("AD206", ns)]["remediation"] == "create-bucket"
        assert res[("AD207", ns)]["status"] == "skip" and "blocked: AD206" in res[("AD207", ns)]["message"]
    code, out = a.fix("create-bucket", "--yes")
    assert code == 0, out
    assert a.s3.client().bucket_exists(bucket)
    code, res = a.check("--checks", "AD20*")
    for ns in ("argo", "team-a", "team-b"):
        for cid in ("AD204", "AD205", "AD206", "AD207"):
            assert res[(cid, ns)]["status"] == "pass", res[(cid, ns)]
    # the probe objects were all deleted
    assert list(a.s3.client().list_objects(bucket, recursive=True)) == []
    code, out = a.fix("create-bucket", "--yes")
    assert code == 0 and "nothing to do" in out and "nothing was written" in out


def test_create_bucket_if_not_present_turns_it_into_a_warning(a):
    a.set_repo(bucket=bucket_name(), createBucketIfNotPresent={})
    _, res = a.check("--checks", "AD206", "--workflow-namespace", "argo")
    r = res[("AD206", "argo")]
    assert r["status"] == "warn" and "createBucketIfNotPresent" in r["message"]


def test_wrong_secret_value_fails_ad205_naming_the_secret(a):
    bucket = bucket_name()
    a.s3.client().make_bucket(bucket)
    apply_manifests(a.kube, [secret("wrongkeys", "argo", accesskey=a.s3.access_key, secretkey="not-the-key")])
    a.set_repo(bucket=bucket, accessKeySecret={"name": "wrongkeys", "key": "accesskey"},
               secretKeySecret={"name": "wrongkeys", "key": "secretkey"})
    _, res = a.check("--checks", "AD205")
    r = res[("AD205", "argo")]
    assert r["status"] == "fail" and r["object"] == "Secret/wrongkeys"
    assert "rejects the keys from Secret argo/wrongkeys" in r["message"] and "SignatureDoesNotMatch" in r["message"]
    assert "not-the-key" not in json.dumps(list(res.values()))


def test_stopped_server_fails_ad204_quickly_and_blocks_the_rest(a):
    a.set_repo(bucket=bucket_name())
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"127.0.0.1:{s.getsockname()[1]}"
    t0 = time.monotonic()
    _, res = a.check("--checks", "AD20*", endpoint=closed)
    refused_s = time.monotonic() - t0
    r = res[("AD204", "argo")]
    assert r["status"] == "fail" and "TCP connect" in r["message"] and "refused" in r["message"].lower()
    for cid in ("AD205", "AD206", "AD207"):
        r = res[(cid, "argo")]
        assert r["status"] == "skip" and "blocked: AD204" in r["message"], r
    # An endpoint that accepts the connection and never answers costs the read timeout, not minutes.
    hang = socket.socket()
    hang.bind(("127.0.0.1", 0))
    hang.listen(16)
    held = []

    def hold() -> None:  # accept and never answer, until the socket is closed under it
        try:
            for _ in range(16):
                held.append(hang.accept())
        except OSError:
            pass
    threading.Thread(target=hold, daemon=True).start()
    t0 = time.monotonic()
    _, res = a.check("--checks", "AD204", "--s3-read-timeout", "2", endpoint=f"127.0.0.1:{hang.getsockname()[1]}")
    hang_s = time.monotonic() - t0
    hang.close()
    assert res[("AD204", "argo")]["status"] == "fail"
    assert "sent no answer within 2s" in res[("AD204", "argo")]["message"]
    assert hang_s < 10
    print(f"\n[measure] AD204 run against a refused endpoint: {refused_s:.2f}s; "
          f"against one that never answers (read timeout 2s): {hang_s:.2f}s")


def test_read_only_user_fails_ad207_naming_the_operation(a):
    bucket = bucket_name()
    a.s3.client().make_bucket(bucket)
    user = f"reader{uuid.uuid4().hex[:6]}"
    a.s3.create_user(user, "reader-secret-key-1", "user")
    a.s3.client().set_bucket_policy(bucket, json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": [user]}, "Action": ["s3:GetObject", "s3:ListBucket"],
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]}]}))
    apply_manifests(a.kube, [secret("readonly", "argo", accesskey=user, secretkey="reader-secret-key-1")])
    a.set_repo(bucket=bucket, accessKeySecret={"name": "readonly", "key": "accesskey"},
               secretKeySecret={"name": "readonly", "key": "secretkey"})
    _, res = a.check("--checks", "AD20*", "--workflow-namespace", "argo")
    assert res[("AD205", "argo")]["status"] == "pass" and res[("AD206", "argo")]["status"] == "pass"
    r = res[("AD207", "argo")]
    assert r["status"] == "fail" and r["message"].startswith("PutObject on")
    assert "AccessDenied" in r["message"] and "s3:PutObject" in r["message"]
    # create-bucket says so when these credentials may not create buckets
    a.set_repo(bucket=bucket_name(), accessKeySecret={"name": "readonly", "key": "accesskey"},
               secretKeySecret={"name": "readonly", "key": "secretkey"})
    code, out = a.fix("create-bucket", "--yes", "--workflow-namespace", "argo")
    assert code == 1 and "may not create buckets (AccessDenied)" in out


def test_service_without_ready_endpoints_fails_ad501(a):
    a.set_repo(bucket=bucket_name())
    apply_manifests(a.kube, [{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "minio", "namespace": "argo"},
                              "spec": {"selector": {"app": "minio"}, "ports": [{"port": 9000, "name": "http"}]}}])
    _, res = a.check("--checks", "AD501")
    assert res[("AD501", "argo")]["status"] == "fail"
    assert "Service argo/minio has no ready endpoints" in res[("AD501", "argo")]["message"]
    assert res[("AD501", "team-a")]["status"] == "fail"
    assert "use endpoint: minio.argo.svc:9000" in res[("AD501", "team-a")]["message"]
    # Without --s3-endpoint, argodoctor (outside the cluster) finds no pod to port-forward to, and says so.
    code, out, _ = a.cli("check", "--kubeconfig", a.kc, "-o", "json", "--checks", "AD204",
                             "--workflow-namespace", "argo")
    r = next(r for r in json.loads(out)["results"] if r["namespace"] == "argo")
    assert r["status"] == "fail" and "no ready pod to port-forward to" in r["message"]


def _without_override(a, checks: str) -> dict[str, dict]:
    """argodoctor outside the cluster, routing as it would without --s3-endpoint: the argo namespace's results."""
    code, out, err = a.cli("check", "--kubeconfig", a.kc, "-o", "json", "--checks", checks,
                           "--workflow-namespace", "argo")
    assert code in (0, 1), err
    return {r["id"]: r for r in json.loads(out)["results"] if r["namespace"] == "argo"}


def test_an_externalname_service_is_followed_and_endpoints_that_are_not_pods_are_no_verdict(a):
    """An ExternalName Service has no endpoints by design: a pod's connection goes to its external name, and
    so does the probe's. A Service whose ready endpoints are not pods is fine for the pods, but argodoctor
    cannot port-forward to it: no probe, and no fail (fix --all would redeploy the store)."""
    bucket = bucket_name()
    a.set_repo(bucket=bucket, endpoint=f"s3-ext:{a.s3.port}")
    code, out = a.fix("create-bucket", "--yes", "--workflow-namespace", "argo")  # through --s3-endpoint
    assert code == 0, out
    apply_manifests(a.kube, [{"apiVersion": "v1", "kind": "Service",
                              "metadata": {"name": "s3-ext", "namespace": "argo"},
                              "spec": {"type": "ExternalName", "externalName": "localhost"}}])
    res = _without_override(a, "AD20*,AD501")
    assert res["AD501"]["status"] == "skip" and "ExternalName Service for localhost" in res["AD501"]["message"]
    assert res["AD204"]["status"] == "pass", res["AD204"]
    assert [res[c]["status"] for c in ("AD205", "AD206", "AD207")] == ["pass"] * 3, {
        k: v["message"] for k, v in res.items()}

    a.set_repo(bucket=bucket, endpoint=f"s3-manual:{a.s3.port}")
    apply_manifests(a.kube, [
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s3-manual", "namespace": "argo"},
         "spec": {"ports": [{"port": a.s3.port, "name": "s3"}]}},  # no selector: Endpoints of its own
        {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "s3-manual", "namespace": "argo"},
         "subsets": [{"addresses": [{"ip": "192.0.2.10"}], "ports": [{"port": a.s3.port, "name": "s3"}]}]}])
    res = _without_override(a, "AD20*,AD501")
    assert res["AD501"]["status"] == "pass" and "1 ready endpoint" in res["AD501"]["message"]
    assert res["AD204"]["status"] == "skip" and "(192.0.2.10) are not pods" in res["AD204"]["message"], res["AD204"]
    assert "--s3-endpoint" in res["AD204"]["message"]


def test_tls_endpoint_honours_ca_secret(a, server_bin, tmp_path):
    from .. import harness

    pki = a.cp.pki  # the test CA signed a server certificate for 127.0.0.1
    tls = harness.S3Server(server_bin, tmp_path / "tls-s3", tls=(pki / "server.crt", pki / "server.key"))
    tls.start()
    try:
        bucket = bucket_name()
        apply_manifests(a.kube, [
            secret("tls-keys", "argo", accesskey=tls.access_key, secretkey=tls.secret_key),
            secret("s3-ca", "argo", **{"ca.crt": (pki / "ca.crt").read_text()})])
        keys = {"accessKeySecret": {"name": "tls-keys", "key": "accesskey"},
                "secretKeySecret": {"name": "tls-keys", "key": "secretkey"}}
        a.set_repo(bucket=bucket, endpoint=tls.endpoint, insecure=False, **keys)
        code, out, _ = a.cli("check", "--kubeconfig", a.kc, "-o", "json", "--checks", "AD204",
                             "--workflow-namespace", "argo")
        r = next(r for r in json.loads(out)["results"] if r["namespace"] == "argo")
        assert r["status"] == "fail" and "certificate not trusted" in r["message"]
        a.set_repo(bucket=bucket, endpoint=tls.endpoint, insecure=False, caSecret={"name": "s3-ca", "key": "ca.crt"},
                   createBucketIfNotPresent={}, **keys)
        code, out, _ = a.cli("check", "--kubeconfig", a.kc, "-o", "json", "--checks", "AD20*",
                             "--workflow-namespace", "argo")
        res = {r["id"]: r for r in json.loads(out)["results"] if r["namespace"] == "argo"}
        assert res["AD204"]["status"] == "pass" and res["AD204"]["message"].startswith("https://")
        assert res["AD205"]["status"] == "pass" and res["AD206"]["status"] == "warn"
        # a plain-HTTP server with insecure false: the TLS step fails and says why
        a.set_repo(bucket=bucket, endpoint=a.s3.endpoint, insecure=False)
        code, out, _ = a.cli("check", "--kubeconfig", a.kc, "-o", "json", "--checks", "AD204",
                             "--workflow-namespace", "argo")
        r = next(r for r in json.loads(out)["results"] if r["namespace"] == "argo")
        assert r["status"] == "fail" and "TLS handshake" in r["message"]
    finally:
        tls.stop()
