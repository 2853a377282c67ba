"""argodoctor.view.kubeconfig: kubeconfig files merged as kubectl merges them, the in-cluster config, exec
plugins and impersonation, with requests seen by a real HTTP server on loopback."""
from __future__ import annotations

import base64
import http.server
import json
import os
import sys
import threading

import pytest
import yaml

from argodoctor.errors import UserError
from argodoctor.view import kubeconfig
from argodoctor.view.kube import Kube


class Recorder(http.server.BaseHTTPRequestHandler):
    seen: list[dict[str, list[str]]] = []

    def do_GET(self) -> None:
        headers: dict[str, list[str]] = {}
        for k, v in self.headers.items():
            headers.setdefault(k.lower(), []).append(v)
        type(self).seen.append(headers)
        body = json.dumps({"kind": "Status", "path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    Recorder.seen = []
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()


def config(clusters=(), users=(), contexts=(), current=None) -> dict:
    doc = {"apiVersion": "v1", "kind": "Config",
           "clusters": [{"name": n, "cluster": c} for n, c in clusters],
           "users": [{"name": n, "user": u} for n, u in users],
           "contexts": [{"name": n, "context": c} for n, c in contexts]}
    if current:
        doc["current-context"] = current
    return doc


def write(path, doc) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def test_kubeconfig_list_is_merged_first_file_wins(tmp_path, monkeypatch, server):
    a = write(tmp_path / "a" / "config", config(
        clusters=[("c1", {"server": server, "certificate-authority": "ca.pem"})],
        users=[("u1", {"token": "token-from-a"})],
        contexts=[("ctx", {"cluster": "c1", "user": "u1", "namespace": "team-a"})], current="ctx"))
    b = write(tmp_path / "b" / "config", config(
        clusters=[("c1", {"server": "https://ignored:1"}), ("c2", {"server": server})],
        users=[("u1", {"token": "ignored"}), ("u2", {"tokenFile": "tok"})],
        contexts=[("ctx", {"cluster": "c2", "user": "u2"}), ("other", {"cluster": "c2", "user": "u2"})],
        current="other"))
    (tmp_path / "b" / "tok").write_text("token-from-file\n")
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([a, str(tmp_path / "missing"), b]))
    conn = kubeconfig.load()
    assert (conn.name, conn.server, conn.namespace) == ("ctx", server, "team-a")  # a's current-context
    assert conn.ca_file == str(tmp_path / "a" / "ca.pem")  # relative to the file that defines it
    assert conn.bearer() == "token-from-a"
    other = kubeconfig.load(context="other")  # defined only in the second file: merged in
    assert other.bearer() == "token-from-file" and other.token_file == str(tmp_path / "b" / "tok")
    Kube(context="other").request("GET", "/version")
    assert Recorder.seen[-1]["authorization"] == ["Bearer token-from-file"]


def test_missing_context_cluster_or_current_context_is_one_clear_error(tmp_path, monkeypatch):
    kc = write(tmp_path / "config", config(clusters=[("c", {"server": "https://x:1"})],
                                           contexts=[("ctx", {"cluster": "nope"})]))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    with pytest.raises(UserError, match="no current-context: pass --context"):
        kubeconfig.load(kc)
    with pytest.raises(UserError, match="context typo is not in .* \\(it has ctx\\)"):
        kubeconfig.load(kc, "typo")
    with pytest.raises(UserError, match="names cluster 'nope'"):
        kubeconfig.load(kc, "ctx")
    with pytest.raises(UserError, match="does not exist"):
        kubeconfig.load(str(tmp_path / "absent"))
    (tmp_path / "bad").write_text("clusters: [\n")
    with pytest.raises(UserError, match="not valid YAML"):
        kubeconfig.load(str(tmp_path / "bad"))


def test_impersonation_from_flags_and_from_the_kubeconfig(tmp_path, server):
    kc = write(tmp_path / "config", config(
        clusters=[("c", {"server": server})], users=[("u", {"token": "t", "as": "alice", "as-groups": ["devs"]})],
        contexts=[("ctx", {"cluster": "c", "user": "u"})], current="ctx"))
    Kube(kc).request("GET", "/version")
    assert Recorder.seen[-1]["impersonate-user"] == ["alice"]
    assert Recorder.seen[-1]["impersonate-group"] == ["devs"]
    Kube(kc, as_user="system:serviceaccount:argodoctor:argodoctor",
         as_groups=("system:serviceaccounts", "system:authenticated")).request("GET", "/version")
    seen = Recorder.seen[-1]
    assert seen["impersonate-user"] == ["system:serviceaccount:argodoctor:argodoctor"]
    assert seen["impersonate-group"] == ["system:serviceaccounts", "system:authenticated"]
    with pytest.raises(UserError, match="--as-group needs --as"):
        kubeconfig.load(write(tmp_path / "plain", config(clusters=[("c", {"server": server})],
                                                         contexts=[("x", {"cluster": "c"})], current="x")),
                        as_groups=("devs",))


def test_exec_plugin_token_is_fetched_with_exec_info_and_cached_until_expiry(tmp_path, server):
    plugin = tmp_path / "bin" / "get-token"
    plugin.parent.mkdir()
    calls = tmp_path / "calls"
    plugin.write_text(f"""#!{sys.executable}
import json, os
info = json.loads(os.environ["KUBERNETES_EXEC_INFO"])
with open({str(calls)!r}, "a") as f:
    f.write(info["kind"] + " " + info["apiVersion"] + " " + os.environ["PLUGIN_ENV"] + "\\n")
print(json.dumps({{"apiVersion": info["apiVersion"], "kind": "ExecCredential",
                  "status": {{"token": "exec-token", "expirationTimestamp": "2999-01-01T00:00:00Z"}}}}))
""")
    plugin.chmod(0o755)
    kc = write(tmp_path / "config", config(
        clusters=[("c", {"server": server})],
        users=[("u", {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": "bin/get-token",
                               "env": [{"name": "PLUGIN_ENV", "value": "set"}]}})],
        contexts=[("ctx", {"cluster": "c", "user": "u"})], current="ctx"))
    kube = Kube(kc)
    kube.request("GET", "/version")
    kube.request("GET", "/version")
    assert [h["authorization"] for h in Recorder.seen] == [["Bearer exec-token"]] * 2
    assert calls.read_text() == "ExecCredential client.authentication.k8s.io/v1beta1 set\n"  # run once


def test_exec_plugin_not_installed_names_its_install_hint(tmp_path):
    kc = write(tmp_path / "config", config(
        clusters=[("c", {"server": "https://127.0.0.1:1"})],
        users=[("u", {"exec": {"command": "no-such-plugin-xyz", "installHint": "install it with brew"}})],
        contexts=[("ctx", {"cluster": "c", "user": "u"})], current="ctx"))
    with pytest.raises(UserError, match="no-such-plugin-xyz is not installed \\(install it with brew\\)"):
        Kube(kc).request("GET", "/version")


def test_in_cluster_config_from_the_service_account_files(tmp_path, monkeypatch, server):
    sa = tmp_path / "sa"
    sa.mkdir()
    (sa / "token").write_text("in-cluster-token")
    (sa / "namespace").write_text("argodoctor")
    monkeypatch.setattr(kubeconfig, "SA_DIR", str(sa))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", server.rsplit(":", 1)[1])
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    monkeypatch.setenv("HOME", str(tmp_path))
    conn = kubeconfig.load()
    assert (conn.name, conn.namespace, conn.server) == ("in-cluster", "argodoctor", f"https://{server[7:]}")
    assert conn.bearer() == "in-cluster-token"
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "fd00::1")
    assert kubeconfig.load().server.startswith("https://[fd00::1]:")
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST")
    with pytest.raises(UserError, match="no kubeconfig found"):
        kubeconfig.load()


def test_certificate_data_that_is_not_base64_is_named(tmp_path):
    kc = write(tmp_path / "config", config(
        clusters=[("c", {"server": "https://127.0.0.1:1", "certificate-authority-data": "not base64!"})],
        contexts=[("ctx", {"cluster": "c"})], current="ctx"))
    with pytest.raises(UserError, match="certificate-authority-data of context ctx is not base64"):
        kubeconfig.load(kc)
    pem = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n").decode()
    kc = write(tmp_path / "config2", config(
        clusters=[("c", {"server": "https://127.0.0.1:1", "certificate-authority-data": pem})],
        contexts=[("ctx", {"cluster": "c"})], current="ctx"))
    with pytest.raises(UserError, match="cannot use the CA or client certificate of ctx"):
        Kube(kc).request("GET", "/version")


def test_credentials_stay_out_of_repr(tmp_path):
    kc = write(tmp_path / "config", config(clusters=[("c", {"server": "https://x:1"})],
                                           users=[("u", {"token": "s3cr3t-token", "password": "pw"})],
                                           contexts=[("ctx", {"cluster": "c", "user": "u"})], current="ctx"))
    assert "s3cr3t" not in repr(kubeconfig.load(kc)) and "pw" not in repr(kubeconfig.load(kc))
