"""Issue 31 items 2 and 3 on the real apiserver (audit log as the oracle) and real servers: a tenant's
repository config steers no request out of its namespace, and what a probe reaches is never reflected."""
from __future__ import annotations

import http.server
import json
import threading

import pytest
import yaml

from argodoctor.fix.manifests import apply_manifests, load_manifests
from argodoctor.s3 import probes
from argodoctor.view.kube import Kube

from ..conftest import manifests
from .test_foundation import ns_obj
from .test_object_store import secret

MARKER = "TOPSECRET-b1e7c0de"  # what an internal service answers; no output may carry it
FORMATS = ("json", "table", "html", "markdown", "sarif")


@pytest.fixture(scope="module")
def cluster(own_control_plane, s3_server):
    cp = own_control_plane
    kube = Kube(str(cp.kubeconfig()))
    apply_manifests(kube, [ns_obj("argo"), ns_obj("team-a"), ns_obj("vault-ns")])
    apply_manifests(kube, load_manifests(manifests("v3.7.18").read_text()), namespace="argo")
    apply_manifests(kube, [
        secret("minio", "argo", accesskey=s3_server.access_key, secretkey=s3_server.secret_key),
        secret("store-keys", "team-a", accesskey=s3_server.access_key, secretkey=s3_server.secret_key),
        secret("db", "vault-ns", password="hunter2"),
        {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "hello", "namespace": "team-a"},
         "spec": {"entrypoint": "main", "templates": [{"name": "main", "container": {"image": "alpine"}}]}}])
    return cp, kube, s3_server


def tenant_repo(kube: Kube, **s3: object) -> None:
    """team-a's own default repository (its artifact-repositories ConfigMap), as the tenant may write it."""
    spec = {"s3": {"bucket": "argo-bucket", "accessKeySecret": {"name": "store-keys", "key": "accesskey"},
                   "secretKeySecret": {"name": "store-keys", "key": "secretkey"}, **s3}}
    apply_manifests(kube, [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": "artifact-repositories", "namespace": "team-a",
        "annotations": {"workflows.argoproj.io/default-artifact-repository": "mine"}},
        "data": {"mine": yaml.safe_dump(spec)}}])


@pytest.mark.parametrize("name", ["../../vault-ns/secrets/db", "db%2F..%2F..%2Fvault-ns%2Fsecrets%2Fdb",
                                  "Vault-DB", "a" * 254])
def test_a_secret_name_that_is_a_path_fails_ad203_and_reaches_no_url(cluster, cli, name):
    cp, kube, s3 = cluster
    # caSecret too: AD204 reads the CA (TLS) before AD203 has judged anything
    tenant_repo(kube, endpoint=s3.endpoint, insecure=False, accessKeySecret={"name": name, "key": "accesskey"},
                caSecret={"name": name, "key": "ca.crt"})
    mark = cp.audit_mark()
    code, out, err = cli("check", "--kubeconfig", str(cp.kubeconfig()), "-o", "json", "--checks", "AD20*")
    assert code in (0, 1), err
    results = json.loads(out)["results"]
    ad203 = [r for r in results if r["id"] == "AD203" and r["namespace"] == "team-a"]
    bad = [r for r in ad203 if "s3.accessKeySecret" in r["message"]]
    assert bad and all(r["status"] == "fail" and "is not a valid Secret name" in r["message"] for r in bad), ad203
    ad204 = next(r for r in results if r["id"] == "AD204" and r["namespace"] == "team-a")
    assert ad204["status"] == "skip" and "is not a valid Secret name" in ad204["message"], ad204
    sent = cp.audit_events(mark)
    assert sent, "the audit log recorded nothing"
    for e in sent:
        ref = e.get("objectRef") or {}
        assert ref.get("namespace") != "vault-ns" and "vault-ns" not in e["requestURI"], e["requestURI"]
        path = e["requestURI"].split("?", 1)[0]
        assert "/.." not in path and "%2F" not in path.upper() and "%25" not in path, e["requestURI"]
        if ref.get("resource") == "secrets" and ref.get("name"):
            assert ref["name"] != name and ref["name"] == "store-keys", e["requestURI"]


class _Internal(http.server.BaseHTTPRequestHandler):
    """An internal web service that is not S3: whatever is asked, a page holding MARKER."""

    status, ctype, body = 404, "text/html; charset=utf-8", f"<html><body>{MARKER}</body></html>"

    def _answer(self) -> None:
        data = self.body.encode()
        self.send_response(self.status)
        self.send_header("Content-Type", self.ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _answer

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(params=["html-404", "json-200"])
def internal(request):
    handler = type("Handler", (_Internal,), {} if request.param == "html-404" else {
        "status": 200, "ctype": "application/json", "body": json.dumps({"token": MARKER})})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_an_internal_service_as_endpoint_is_never_reflected(cluster, cli, internal):
    cp, kube, _ = cluster
    tenant_repo(kube, endpoint=internal, insecure=True)
    for fmt in FORMATS:
        code, out, err = cli("check", "--kubeconfig", str(cp.kubeconfig()), "-o", fmt, "--checks", "AD20*",
                             "-n", "team-a")
        assert code in (0, 1), err
        assert MARKER not in out + err and "InvalidResponseError" not in out + err, fmt
        assert "Traceback" not in err
    _, out, _ = cli("check", "--kubeconfig", str(cp.kubeconfig()), "-o", "json", "--checks", "AD205", "-n", "team-a")
    ad205 = next(r for r in json.loads(out)["results"] if r["namespace"] == "team-a")
    assert ad205["status"] == "fail" and "does not answer as S3" in ad205["message"], ad205
    assert ("HTTP 404, text/html" in ad205["message"]) or ("not the XML S3 sends" in ad205["message"]), ad205
    # --events: what is posted carries the summary only, and in team-a nothing of another namespace
    code, _, err = cli("check", "--kubeconfig", str(cp.kubeconfig()), "--events", "--checks", "AD20*")
    assert code in (0, 1) and "emitted" in err, err
    posted = kube.request("GET", "/api/v1/events")["items"]
    mine = [e for e in posted if (e.get("source") or {}).get("component") == "argodoctor"]
    assert mine and not [e for e in mine if MARKER in json.dumps(e)]
    in_team_a = [e["message"] for e in mine if e["metadata"]["namespace"] == "team-a"]
    assert in_team_a and not [m for m in in_team_a if "argo/" in m or "vault-ns" in m], in_team_a


def test_fix_all_with_an_internal_service_as_endpoint_does_not_crash(cluster, cli, internal):
    cp, kube, _ = cluster
    tenant_repo(kube, endpoint=internal, insecure=True)
    code, out, err = cli("fix", "--all", "--yes", "--kubeconfig", str(cp.kubeconfig()),
                         "--backup-dir", str(cp.dir / "backups"))
    assert code != 3 and "internal error" not in err, out + err
    assert MARKER not in out + err and "InvalidResponseError" not in out + err


def test_a_real_s3_error_keeps_its_code(cluster):
    _, _, s3 = cluster
    with pytest.raises(Exception) as caught:
        s3.client().get_object("no-such-bucket-here", "x")
    assert probes.summary(caught.value) == "S3 error NoSuchBucket (HTTP 404, application/xml)"
