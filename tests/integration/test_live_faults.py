"""Live faults on the real apiserver: a proxy on loopback in front of kube-apiserver (it holds the admin
certificate) throttles with 429 + Retry-After, answers 503, or answers an HTML login page; and a tenant
plants an alias bomb in its artifact-repositories. The report stays complete within the timeouts."""
from __future__ import annotations

import http.server
import json
import ssl
import threading
import time
import urllib.error
import urllib.request

import pytest
import yaml

from ..conftest import manifests
from ..harness import ControlPlane, install_argo_crds

pytestmark = pytest.mark.integration


class Faulty(http.server.BaseHTTPRequestHandler):
    """Forwards to the apiserver as the admin; the first request for each LIST path gets the fault."""

    upstream = ""
    ctx: ssl.SSLContext
    mode = "pass"  # "429" | "503" | "html" | "pass"
    faulted: set[str] = set()
    log: list[tuple[str, int, float]] = []

    def do_GET(self) -> None:
        cls = type(self)
        if cls.mode == "html":
            return self._send(200, b"<!DOCTYPE html><html><body>Sign in to continue</body></html>", "text/html")
        if cls.mode in ("429", "503") and self.path.split("?")[0] not in cls.faulted:
            cls.faulted.add(self.path.split("?")[0])
            cls.log.append((self.path, int(cls.mode), time.monotonic()))
            return self._send(int(cls.mode), b'{"kind":"Status","message":"slow down"}', "application/json",
                              {"Retry-After": "1"})
        req = urllib.request.Request(cls.upstream + self.path, headers={"Accept": "application/json"})
        try:
            with urllib.request.urlopen(req, context=cls.ctx, timeout=30) as r:
                body, status = r.read(), r.status
        except urllib.error.HTTPError as e:
            body, status = e.read(), e.code
        cls.log.append((self.path, status, time.monotonic()))
        self._send(status, body, "application/json")

    def _send(self, status: int, body: bytes, ctype: str, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def proxied(own_control_plane: ControlPlane, tmp_path_factory):
    cp = own_control_plane
    install_argo_crds(cp, manifests("v3.7.18"))
    for ns in ("argo", "team-a", "team-b"):
        cp.api("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    cp.api("POST", "/api/v1/namespaces/argo/configmaps", {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "workflow-controller-configmap"},
        "data": {"artifactRepository": yaml.safe_dump({"s3": {"bucket": "b", "endpoint": "minio:9000"}})}})
    for ns in ("team-a", "team-b"):
        cp.api("POST", f"/apis/argoproj.io/v1alpha1/namespaces/{ns}/workflows", {
            "apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "w"},
            "spec": {"entrypoint": "m", "templates": [{"name": "m", "container": {"image": "a"}}]}})
    cfg = yaml.safe_load(cp.kubeconfig().read_text())
    user = cfg["users"][0]["user"]
    ctx = ssl.create_default_context(cafile=str(cp.pki / "ca.crt"))
    ctx.load_cert_chain(user["client-certificate"], user["client-key"])
    Faulty.upstream, Faulty.ctx = cp.url, ctx
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Faulty)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    kc = tmp_path_factory.mktemp("proxy") / "kubeconfig"
    kc.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "proxy",
        "clusters": [{"name": "proxy", "cluster": {"server": f"http://127.0.0.1:{httpd.server_port}"}}],
        "users": [{"name": "u", "user": {"token": "unused"}}],
        "contexts": [{"name": "proxy", "context": {"cluster": "proxy", "user": "u"}}]}))
    yield cp, str(kc)
    httpd.shutdown()


@pytest.mark.parametrize("mode", ["429", "503"])
def test_throttled_lists_are_retried_after_retry_after(proxied, cli, mode):
    cp, kc = proxied
    Faulty.mode, Faulty.faulted, Faulty.log = mode, set(), []
    code, out, err = cli("check", "--kubeconfig", kc, "--checks", "AD101,AD102,AD103,AD105,AD2*,AD3*", "-o", "json")
    assert code in (0, 1), err
    results = json.loads(out)["results"]
    assert not [r for r in results if r["status"] == "error"], [r["message"] for r in results if r["status"] == "error"]
    faults = [p for p, s, _ in Faulty.log if s == int(mode)]
    assert len(faults) >= 5  # every LIST was refused once, then retried and served
    for path in faults:  # each retry came after the Retry-After second
        first = next(t for p, s, t in Faulty.log if p == path and s == int(mode))
        retry = next(t for p, s, t in Faulty.log if p == path and s != int(mode))
        assert retry - first >= 0.9


def test_an_html_answer_is_one_line_naming_it(proxied, cli):
    _, kc = proxied
    Faulty.mode = "html"
    code, out, err = cli("check", "--kubeconfig", kc, "-o", "json")
    Faulty.mode = "pass"
    assert "Traceback" not in out + err
    text = err if code == 2 else out
    assert "answered HTML, not the Kubernetes API (a proxy or login page?)" in text, (code, out, err)


def test_an_alias_bomb_in_a_tenant_namespace_is_one_finding(proxied, cli):
    cp, _ = proxied
    levels = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'] + [
        f"l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, 9)]
    cp.api("POST", "/api/v1/namespaces/team-b/configmaps", {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {
            "name": "artifact-repositories",
            "annotations": {"workflows.argoproj.io/default-artifact-repository": "r"}},
        "data": {"r": "\n".join(levels) + "\ns3: {bucket: b, endpoint: minio:9000}\n"}})
    t0 = time.monotonic()
    code, out, err = cli("check", "--kubeconfig", str(cp.kubeconfig()), "--checks", "AD2*", "-o", "json")
    took = time.monotonic() - t0
    assert code in (0, 1), err
    results = json.loads(out)["results"]
    bomb = [r for r in results if r["namespace"] == "team-b" and "too large or too deep to judge" in r["message"]]
    assert len(bomb) == 1 and bomb[0]["id"] == "AD202"
    assert len(out) < 200_000 and took < 30
    assert any(r["namespace"] == "team-a" and r["id"] == "AD202" for r in results)  # the rest still judged
