"""argodoctor.view.kube against a real HTTP server on loopback standing in for a throttling or misconfigured
API server: 429/503 with Retry-After are retried (as client-go does), 5xx on reads with backoff, writes
are not retried past a 500, and an HTML answer (a login page, an auth proxy) is named as such."""
from __future__ import annotations

import http.server
import json
import threading
import time

import pytest
import yaml

from argodoctor.errors import KubeError
from argodoctor.view.kube import Kube

LIST = {"kind": "NamespaceList", "apiVersion": "v1", "metadata": {}, "items": [{"metadata": {"name": "a"}}]}


class Script(http.server.BaseHTTPRequestHandler):
    answers: list[tuple[int, dict[str, str], bytes]] = []
    seen: list[tuple[str, float]] = []
    paths: list[str] = []

    def _answer(self) -> None:
        type(self).seen.append((self.command, time.monotonic()))
        type(self).paths.append(self.path)
        default = (200, {}, json.dumps(LIST).encode())
        status, headers, body = type(self).answers.pop(0) if type(self).answers else default
        self.send_response(status)
        for k, v in {"Content-Type": "application/json", **headers}.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server(tmp_path):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Script)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    Script.answers, Script.seen, Script.paths = [], [], []
    kc = tmp_path / "kubeconfig"
    kc.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "fake",
        "clusters": [{"name": "fake", "cluster": {"server": f"http://127.0.0.1:{httpd.server_port}"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "u"}}]}))
    yield str(kc)
    httpd.shutdown()


def test_429_with_retry_after_is_retried_after_that_long(server):
    Script.answers = [(429, {"Retry-After": "1"}, b'{"kind":"Status","message":"too many requests"}')]
    kube = Kube(server)
    assert kube.request("GET", "/api/v1/namespaces")["items"][0]["metadata"]["name"] == "a"
    (_, t0), (_, t1) = Script.seen
    assert 0.9 <= t1 - t0 < 3


def test_5xx_on_reads_retried_with_backoff_but_not_past_the_timeout(server):
    Script.answers = [(503, {}, b"{}"), (500, {}, b"{}")]
    assert Kube(server).request("GET", "/api/v1/namespaces")["items"]
    Script.answers = [(500, {}, b'{"message": "etcd down"}')] * 50
    with pytest.raises(KubeError, match="etcd down"):
        Kube(server, timeout=(1.0, 1.0)).request("GET", "/api/v1/namespaces")
    assert len(Script.seen) < 12  # bounded by the read timeout, not 50 tries


def test_writes_are_not_retried_after_a_500(server):
    Script.answers = [(500, {}, b'{"message": "boom"}')]
    with pytest.raises(KubeError, match="boom"):
        Kube(server).request("POST", "/api/v1/namespaces", body={})
    assert [m for m, _ in Script.seen] == ["POST"]


def test_an_html_answer_is_named(server):
    Script.answers = [(200, {"Content-Type": "text/html"}, b"<!DOCTYPE html><html><body>Sign in</body></html>")]
    with pytest.raises(KubeError, match="answered HTML, not the Kubernetes API \\(a proxy or login page\\?\\)"):
        Kube(server).request("GET", "/api/v1/namespaces")


def test_check_against_an_html_answer_exits_2_in_one_line(server, cli):
    Script.answers = [(200, {"Content-Type": "text/html"}, b"<html>login</html>")] * 100
    code, out, err = cli("check", "--kubeconfig", server, "-o", "json")
    assert "Traceback" not in err + out
    if code == 2:
        assert len(err.strip().splitlines()) == 1 and "answered HTML" in err
    else:
        assert code == 1 and "answered HTML, not the Kubernetes API" in out


def test_an_internal_error_exits_3_with_the_traceback_only_under_v(cli, monkeypatch):
    from argodoctor.cli import list as list_command

    def broken(args):
        raise ZeroDivisionError("division by zero")
    monkeypatch.setattr(list_command, "run", broken)
    code, out, err = cli("list")
    assert code == 3 and err.strip() == ("argodoctor: internal error: ZeroDivisionError (run with -v for the "
                                         "traceback, and report it)")
    code, out, err = cli("-v", "list")
    assert code == 3 and "Traceback" in err


def test_a_live_view_checks_the_shape_of_argo_kinds_and_trusts_the_typed_built_in_ones(server):
    """Argo's CRDs preserve unknown fields, so a served Workflow can hold anything: it still crosses the
    parse boundary. A built-in kind comes from the API server's typed structs and is taken as served."""
    from argodoctor.view.cluster import LiveView
    from argodoctor.view.manifest_input import OverlayView

    bad = {"metadata": {"name": "w", "namespace": "a"}, "spec": {"serviceAccountName": ["not", "a", "string"]}}
    Script.answers = [(200, {}, json.dumps({"kind": "WorkflowList", "metadata": {}, "items": [bad]}).encode())]
    view = LiveView(Kube(server))
    assert view.list("Workflow") == []
    assert view.malformed["Workflow"] == [("a", "Workflow/w", "spec.serviceAccountName: expected a string, got a list")]
    assert "Workflow" not in view.typed_kinds and {"Secret", "RoleBinding", "Namespace"} <= view.typed_kinds
    assert OverlayView.typed_kinds == frozenset()  # objects from files are never trusted


def _page(items: list, cont: str, crd: bool) -> bytes:
    """A LIST page as the API server writes it: a CRD's list is a map (Go sorts its keys: metadata
    last), a built-in kind's a struct (kind, apiVersion, metadata, items)."""
    meta = {"resourceVersion": "7", **({"continue": cont} if cont else {})}
    if crd:
        return json.dumps({"apiVersion": "argoproj.io/v1alpha1", "items": items, "kind": "WorkflowList",
                           "metadata": meta}, sort_keys=True, separators=(",", ":")).encode()
    return json.dumps({"kind": "SecretList", "apiVersion": "v1", "metadata": meta, "items": items},
                      separators=(",", ":")).encode()


@pytest.mark.parametrize("crd", [True, False])
def test_continue_token_is_read_off_a_page_without_decoding_its_items(crd):
    from argodoctor.view.kube import continue_token

    # items that hold the same key and token-like text nested (and quoted) in them
    tricky = [{"metadata": {"name": "a", "continue": "no"}, "spec": {"x": {"metadata": {"continue": "nested"}}}},
              {"metadata": {"name": 'q",\\"metadata\\":{\\"continue\\":\\"fake\\"}}'}}]
    assert continue_token(_page(tricky, "tok-1", crd)) == "tok-1"
    assert continue_token(_page(tricky, "", crd)) is None
    assert continue_token(_page([], "tok-2", crd) + b"\n") == "tok-2"
    assert continue_token(b'{"items":[{"metadata":{"continue":"x"}}]}') is None  # nested only
    assert continue_token(b"not json") is None and continue_token(b"") is None


@pytest.mark.parametrize("crd", [True, False])
def test_a_list_asks_for_the_next_page_while_decoding_this_one_and_yields_every_item_once(server, crd):
    pages = [[{"metadata": {"name": f"o{p}-{i}"}} for i in range(3)] for p in range(4)]
    Script.answers = [(200, {}, _page(items, f"c{p + 1}" if p < 3 else "", crd)) for p, items in enumerate(pages)]
    kube = Kube(server)
    it = kube.list("/api/v1/secrets", page_size=3)
    names = [next(it)["metadata"]["name"]]
    deadline = time.monotonic() + 5
    while len(Script.seen) < 2 and time.monotonic() < deadline:  # page 2 is asked for before it is needed
        time.sleep(0.01)
    assert len(Script.seen) == 2
    names += [o["metadata"]["name"] for o in it]
    assert names == [o["metadata"]["name"] for items in pages for o in items]
    assert kube.requests["GET"] == 4 and not Script.answers  # one request per page, none wasted


def test_an_error_on_a_page_asked_for_ahead_is_raised_where_the_list_is_read(server):
    Script.answers = [(200, {}, _page([{"metadata": {"name": "a"}}], "c1", True)),
                      (403, {}, b'{"kind":"Status","message":"workflows is forbidden"}')]
    it = Kube(server).list("/apis/argoproj.io/v1alpha1/workflows", page_size=1)
    assert next(it)["metadata"]["name"] == "a"
    with pytest.raises(KubeError, match="forbidden"):
        next(it)


def test_lists_are_read_whole_from_kubernetes_1_33_and_in_pages_of_500_before(server, cli):
    from argodoctor.view.kube import chunk_for

    assert chunk_for({"major": "1", "minor": "35"}) == 0 and chunk_for({"major": "1", "minor": "33+"}) == 0
    assert chunk_for({"major": "1", "minor": "32"}) == 500 and chunk_for({}) == 500
    Script.answers = [(200, {}, _page([{"metadata": {"name": "a"}}], "", True))]
    assert [o["metadata"]["name"] for o in Kube(server).list("/api/v1/secrets", page_size=0)] == ["a"]
    assert Script.paths == ["/api/v1/secrets"]  # no limit: the whole list
    with pytest.raises(SystemExit) as bad:  # argparse refuses it: a usage error
        cli("check", "--kubeconfig", server, "--chunk-size", "-3")
    assert bad.value.code == 2


class Trickle(http.server.BaseHTTPRequestHandler):
    """A whole LIST written in two parts, the second only once `go` is set (or never: the connection
    drops), as the API server streams a large list item by item."""
    protocol_version = "HTTP/1.1"
    go = threading.Event()
    drop = False

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def chunk(data: bytes) -> None:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
        first = b"".join(b'{"metadata":{"name":"a%d"}},' % i for i in range(5000))  # more than one read
        chunk(b'{"apiVersion":"argoproj.io/v1alpha1","items":[' + first)
        if type(self).drop:
            self.connection.shutdown(2)
            return
        type(self).go.wait(10)
        chunk(b'{"metadata":{"name":"b"}}],"kind":"WorkflowList","metadata":{"continue":""}}')
        chunk(b"")

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def trickle(tmp_path):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    Trickle.go, Trickle.drop = threading.Event(), False
    kc = tmp_path / "kubeconfig"
    kc.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "fake",
        "clusters": [{"name": "fake", "cluster": {"server": f"http://127.0.0.1:{httpd.server_port}"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "u"}}]}))
    yield str(kc)
    Trickle.go.set()
    httpd.shutdown()


def test_a_whole_list_yields_items_while_the_rest_of_it_is_still_being_written(trickle):
    kube = Kube(trickle)
    it = kube.list("/apis/argoproj.io/v1alpha1/workflows", page_size=0)
    assert next(it)["metadata"]["name"] == "a0"  # the server holds the rest back until go is set
    Trickle.go.set()
    assert [o["metadata"]["name"] for o in it] == [f"a{i}" for i in range(1, 5000)] + ["b"]
    # the connection went back to the pool: the next request reuses it
    Trickle.go = threading.Event()
    Trickle.go.set()
    assert len(list(kube.list("/apis/argoproj.io/v1alpha1/workflows", page_size=0))) == 5001
    assert kube.requests["GET"] == 2


def test_a_whole_list_cut_off_midway_is_a_clear_error(trickle):
    Trickle.drop = True
    it = Kube(trickle).list("/apis/argoproj.io/v1alpha1/workflows", page_size=0)
    with pytest.raises(KubeError) as e:
        list(it)
    assert "/apis/argoproj.io/v1alpha1/workflows" in str(e.value) and e.value.status == 0


def test_a_whole_list_answered_with_html_or_broken_json_is_named(server):
    Script.answers = [(200, {"Content-Type": "text/html"}, b"<!DOCTYPE html><html><body>Sign in</body></html>"),
                      (200, {}, b'{"items":[{"metadata":{"name":"a"}}'), (200, {}, b'{"items":[1]}')]
    kube = Kube(server)
    with pytest.raises(KubeError, match="answered HTML, not the Kubernetes API"):
        list(kube.list("/api/v1/secrets", page_size=0))
    for _ in range(2):
        with pytest.raises(KubeError, match="answered /api/v1/secrets with something that is not a Kubernetes list"):
            list(kube.list("/api/v1/secrets", page_size=0))
