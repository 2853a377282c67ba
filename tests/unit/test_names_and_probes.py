"""Issue 31 items 2 and 3 without servers: names judged as Kubernetes judges them, paths escaped in one
place, probe exceptions summarised without what answered, Events confined to their namespace."""
from __future__ import annotations

import copy

import pytest
import urllib3
from minio.error import InvalidResponseError, S3Error, ServerError

from argodoctor.engine.registry import select_checks
from argodoctor.engine.runner import run_checks
from argodoctor.errors import KubeError
from argodoctor.report import events
from argodoctor.s3 import probes
from argodoctor.view import names
from argodoctor.view.cluster import KINDS
from argodoctor.view.kube import Kube

from .builders import SEED_REPO, context, controller, controller_configmap, secret, workflow
from .test_kube_faults import Script, server  # noqa: F401 (the loopback HTTP server fixture)

MARKER = "TOPSECRET-7f3a9c"

# k8s.io/apimachinery v0.35.4 pkg/util/validation/validation_test.go TestIsDNS1123Label / TestIsDNS1123Subdomain
LABEL_GOOD = ["a", "ab", "abc", "a1", "a-1", "a--1--2--b", "0", "01", "012", "1a", "1-a", "1--a--b--2", "a" * 63]
LABEL_BAD = ["", "A", "ABC", "aBc", "A1", "A-1", "1-A", "-", "a-", "-a", "1-", "-1", "_", "a_", "_a", "a_b", "1_",
             "_1", "1_2", ".", "a.", ".a", "a.b", "1.", ".1", "1.2", " ", "a ", " a", "a b", "1 ", " 1", "1 2",
             "a" * 64]
SUBDOMAIN_GOOD = ["a", "ab", "abc", "a1", "a-1", "a--1--2--b", "0", "01", "012", "1a", "1-a", "1--a--b--2",
                  "a.a", "ab.a", "abc.a", "a1.a", "a-1.a", "a--1--2--b.a", "a.1", "ab.1", "abc.1", "a1.1", "a-1.1",
                  "a--1--2--b.1", "0.a", "01.a", "012.a", "1a.a", "1-a.a", "0.1", "01.1", "012.1", "1a.1", "1-a.1",
                  "1--a--b--2.1", "a.b.c.d.e", "aa.bb.cc.dd.ee", "1.2.3.4.5", "11.22.33.44.55", "a" * 253]
SUBDOMAIN_BAD = ["", "A", "ABC", "aBc", "A1", "A-1", "1-A", "-", "a-", "-a", "1-", "-1", "_", "a_", "_a", "a_b",
                 "1_", "_1", "1_2", ".", "a.", ".a", "a..b", "1.", ".1", "1..2", " ", "a ", " a", "a b", "1 ", " 1",
                 "1 2", "A.a", "aB.a", "ab.A", "A1.a", "a1.A", "A.1", "aB.1", "A1.1", "1A.1", "0.A", "01.A", "012.A",
                 "1A.a", "1a.A", "A.B.C.D.E", "AA.BB.CC.DD.EE", "a.B.c.d.e", "aa.bB.cc.dd.ee", "a@b", "a,b", "a_b",
                 "a;b", "a:b", "a%b", "a?b", "a$b", "a" * 254,
                 "a\n"]  # Go's regexp `$` is the end of the text; Python's would also match before a final newline


def test_dns1123_label_as_apimachinery():
    assert [v for v in LABEL_GOOD if names.dns1123_label(v)] == []
    assert [v for v in LABEL_BAD if not names.dns1123_label(v)] == []
    assert names.dns1123_label("a.b") == ["must not contain dots"]


def test_dns1123_subdomain_as_apimachinery():
    assert [v for v in SUBDOMAIN_GOOD if names.dns1123_subdomain(v)] == []
    assert [v for v in SUBDOMAIN_BAD if not names.dns1123_subdomain(v)] == []


def test_path_segment_as_apimachinery():
    # pkg/api/validation/path/name_test.go TestValidatePathSegmentName (not a prefix)
    for ok in ("", "foo.bar.baz", "sha256:ABCDEF012345@ABCDEF012345", "Iñtërnâtiônàlizætiøn", ".test", "..test"):
        assert names.path_segment(ok) == [], ok
    for bad, msg in ((".", "."), ("..", ".."), ("foo/bar", "/"), ("foo%bar", "%")):
        found = names.path_segment(bad)
        assert found and msg in found[0], bad
    assert names.path_segment("a/%b") == ["may not contain '/'", "may not contain '%'"]


def test_invalid_names_per_kind():
    assert names.invalid("Secret", "minio") is None
    assert names.invalid("Secret", "my.secret") is None
    assert names.invalid("Namespace", "my.ns") is not None  # a Namespace is a label
    for bad in ("../../vault-ns/secrets/db", "a%2Fb", "Minio", "a" * 254, "..", "."):
        why = names.invalid("Secret", bad)
        assert why and "is not a valid Secret name" in why, bad
    assert "may not contain '/'" in names.invalid("ServiceAccount", "a/b")
    with pytest.raises(names.InvalidName):
        names.check("Secret", "..")


def test_every_path_segment_is_escaped_and_no_dot_segment_is_built():
    secret_kind = KINDS["Secret"]
    assert secret_kind.path("team-a", "minio") == "/api/v1/namespaces/team-a/secrets/minio"
    assert secret_kind.path() == "/api/v1/secrets"
    assert KINDS["Deployment"].path("argo", "x") == "/apis/apps/v1/namespaces/argo/deployments/x"
    assert KINDS["Namespace"].path("ignored", "team-a") == "/api/v1/namespaces/team-a"
    assert secret_kind.path("team-a", "a b?c#d") == "/api/v1/namespaces/team-a/secrets/a%20b%3Fc%23d"
    for bad in ("..", ".", "../../vault-ns/secrets/db", "a%2Fb"):
        with pytest.raises(names.InvalidName):
            secret_kind.path("team-a", bad)
    with pytest.raises(names.InvalidName):
        secret_kind.path("..", "minio")
    assert names.api_path("apps", "v1") == "/apis/apps/v1"


def test_what_the_server_receives_is_the_escaped_path_and_never_a_resolved_dot_segment(server):  # noqa: F811
    kube = Kube(server)
    kube.request("GET", KINDS["Secret"].path("team-a", "a b?x"))
    assert Script.paths == ["/api/v1/namespaces/team-a/secrets/a%20b%3Fx"]
    # urllib3 would send this as /api/v1/namespaces/vault-ns/secrets/db (RFC 3986 remove_dot_segments)
    with pytest.raises(KubeError, match="dot segment"):
        kube.request("GET", "/api/v1/namespaces/team-a/secrets/../../vault-ns/secrets/db")
    assert Script.paths == ["/api/v1/namespaces/team-a/secrets/a%20b%3Fx"]


def _run(ids: str, *objects):
    return {(r.id, r.namespace): r for r in run_checks(select_checks(ids.split(",")), context(*objects))}


@pytest.mark.parametrize("name", ["../../vault-ns/secrets/db", "minio%2F..%2Fx", "Minio", "a" * 254])
def test_ad203_fails_a_secret_name_no_secret_can_have(name):
    repo = copy.deepcopy(SEED_REPO)
    repo["s3"]["accessKeySecret"]["name"] = name
    results = run_checks(select_checks(["AD203"]), context(
        controller(), controller_configmap(repo=repo), secret("minio", "argo", secretkey="s"), workflow("team-a")))
    for ns in ("argo", "team-a"):
        r = next(r for r in results if r.namespace == ns and "accessKeySecret" in r.message)
        assert r.status == "fail" and "is not a valid Secret name" in r.message, r.message
        assert r.remediation is None and r.object == "ConfigMap/workflow-controller-configmap"


def test_ad301_fails_a_service_account_name_no_service_account_can_have():
    res = _run("AD301", controller(), controller_configmap(), workflow("team-a", serviceAccountName="Bad/Name"))
    r = res[("AD301", "team-a")]
    assert r.status == "fail" and "is not a valid ServiceAccount name" in r.message and r.remediation is None


def _s3_error(code: str, status: int, ctype: str = "application/xml") -> S3Error:
    resp = urllib3.HTTPResponse(body=b"", status=status, headers={"content-type": ctype})
    return S3Error(resp, code, f"the message {MARKER}", f"/{MARKER}", MARKER, MARKER, "bucket")


def test_probe_summaries_carry_status_type_and_code_never_a_body():
    cases = {
        InvalidResponseError(404, "text/html; charset=utf-8", f"<html>{MARKER}</html>"):
            "HTTP 404, text/html: not an S3 answer",
        InvalidResponseError(200, f"text/{MARKER} x", f'{{"token": "{MARKER}"}}'):
            "HTTP 200, an unrecognised content type: not an S3 answer",
        ServerError(f"server failed {MARKER}", 502): "HTTP 502 with no S3 error in it",
        _s3_error("NoSuchBucket", 404): "S3 error NoSuchBucket (HTTP 404, application/xml)",
        _s3_error(f"<b>{MARKER}</b>", 400): "an S3 error without a known code (HTTP 400, application/xml)",
        urllib3.exceptions.ReadTimeoutError(None, f"/{MARKER}", f"read timed out {MARKER}"):
            "no answer in time (timed out)",
        urllib3.exceptions.ProtocolError(f"dropped {MARKER}"): "the connection was dropped",
        RuntimeError(MARKER): "an unexpected failure",
    }
    for exc, want in cases.items():
        assert MARKER in str(exc) or MARKER in repr(exc) or isinstance(exc, InvalidResponseError)
        got = probes.summary(exc)
        assert got == want and MARKER not in got
        assert "Error" not in got  # never an exception's name
    assert probes.answered(InvalidResponseError(404, "text/html", "x"))
    assert not probes.answered(urllib3.exceptions.ProtocolError("x"))


def test_events_name_only_their_own_namespace():
    known = {"argo", "team-a", "team-b", "default", "vault-ns"}
    keep = ["ServiceAccount team-a/default does not exist", "bucket argo-bucket does not exist at minio:9000",
            "no default repository (the default executor)", "argoTeam argo_x"]
    for message in keep:
        assert events.confined(message, "team-a", known) == message
    # the foreign names go, the rest of the message stays
    assert events.confined("Secret argo/minio lacks key x", "team-a", known) == \
        "Secret <another namespace's object> lacks key x"
    assert events.confined('secret "minio" not found in team-a; it exists only in team-b', "team-a", known) == \
        'secret "minio" not found in team-a; it exists only in <another namespace>'
    for message in ("endpoint minio.vault-ns.svc:9000 is down", "endpoint minio.default.svc:9000 is down",
                    "Secret default/x is missing"):
        got = events.confined(message, "team-a", known)
        assert "vault-ns" not in got and "default" not in got and "another namespace" in got
    assert events.confined("Secret argo/minio lacks key x", "argo", known) == "Secret argo/minio lacks key x"
