"""Issue 2 end to end, on the real kube-apiserver (RBAC on) and the real S3 server."""
from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
import yaml

from argodoctor.errors import KubeError
from argodoctor.fix.manifests import apply_manifests, load_manifests
from argodoctor.view.kube import Kube

from ..conftest import manifests

pytestmark = pytest.mark.integration

SEED_REPOSITORY = """\
archiveLogs: true
s3:
  bucket: argo-bucket   # bucket 名称，这个 bucket 需要先手动创建好！
  endpoint: minio:9000  # minio 地址
  insecure: true
  accessKeySecret:
    name: minio
    key: accesskey
  secretKeySecret:
    name: minio
    key: secretkey
"""
ACCESS, SECRET = "seed-access-key-value", "seed-secret-key-value-0123456789"
WRITE_VERBS = {"create", "update", "patch", "delete", "deletecollection"}


def ns_obj(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def results(out: str, check_id: str) -> dict[str | None, dict]:
    doc = json.loads(out)
    return {r["namespace"]: r for r in doc["results"] if r["id"] == check_id}


def writes(events: list[dict], user: str = "admin") -> list[str]:
    """The writes user made; dry runs (fix sends each plan with dryRun=All first) change nothing."""
    return [f"{e['verb']} {e['objectRef'].get('resource')} {e['objectRef'].get('namespace')}/"
            f"{e['objectRef'].get('name')}" for e in events
            if e["user"]["username"] == user and e["verb"] in WRITE_VERBS
            and "dryRun=All" not in e.get("requestURI", "")
            # a review (fix's whoami, a SubjectAccessReview) is a create that stores nothing
            and not (e.get("objectRef") or {}).get("resource", "").endswith("reviews")]


@pytest.fixture(scope="module")
def seed(admin_kube: Kube):
    """The seed's setup: Argo v3.7.18 cluster-install, Secret minio only in argo, the seed's
    artifactRepository, a Workflow in team-a."""
    kube = admin_kube
    apply_manifests(kube, [ns_obj("argo"), ns_obj("team-a")])
    apply_manifests(kube, load_manifests(manifests("v3.7.18").read_text()), namespace="argo")
    apply_manifests(kube, [
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": "workflow-controller-configmap", "namespace": "argo"},
         "data": {"artifactRepository": SEED_REPOSITORY}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "minio", "namespace": "argo"},
         "type": "Opaque", "data": {"accesskey": base64.b64encode(ACCESS.encode()).decode(),
                                    "secretkey": base64.b64encode(SECRET.encode()).decode()}},
        {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
         "metadata": {"name": "hello", "namespace": "team-a"},
         "spec": {"entrypoint": "main", "templates": [{"name": "main", "container": {"image": "alpine"}}]}},
    ])
    return kube


def test_seed_setup_copy_artifact_secret(seed, control_plane, admin_kubeconfig, cli, tmp_path):
    kc = str(admin_kubeconfig)
    code, out, _ = cli("check", "--kubeconfig", kc, "--checks", "AD203", "-o", "json")
    by_ns = results(out, "AD203")
    assert code == 1
    assert by_ns["team-a"]["status"] == "fail"
    assert by_ns["team-a"]["remediation"] == "copy-artifact-secret"
    assert 'secret "minio" not found' in by_ns["team-a"]["message"]
    assert by_ns["argo"]["status"] == "pass"

    # --dry-run shows the plan and sends no write request (the apiserver's audit log says so).
    mark = control_plane.audit_mark()
    code, out, err = cli("fix", "copy-artifact-secret", "--dry-run", "--kubeconfig", kc)
    assert code == 0, err
    assert "Secret team-a/minio" in out and "<redacted>" in out
    assert writes(control_plane.audit_events(mark)) == []

    before = {o["metadata"]["name"]: o["metadata"]["resourceVersion"]
              for ns in ("argo", "team-a") for o in seed.request("GET", f"/api/v1/namespaces/{ns}/secrets")["items"]}
    mark = control_plane.audit_mark()
    code, out, err = cli("-v", "fix", "copy-artifact-secret", "--yes", "--kubeconfig", kc, "--backup-dir", tmp_path)
    assert code == 0, out + err
    assert "DEBUG argodoctor.kube: GET /api/v1/namespaces/argo/secrets/minio" in err  # -v logs requests, not bodies
    # Exactly one write: the copy. Nothing else changed.
    assert writes(control_plane.audit_events(mark)) == ["patch secrets team-a/minio"]
    src = seed.request("GET", "/api/v1/namespaces/argo/secrets/minio")
    copy = seed.request("GET", "/api/v1/namespaces/team-a/secrets/minio")
    assert copy["data"] == src["data"] and copy["type"] == src["type"]
    assert src["metadata"]["resourceVersion"] == before["minio"]
    assert "before-images saved to" in out
    for text in (out, err, *(p.read_text() for p in tmp_path.iterdir())):
        assert ACCESS not in text and SECRET not in text
        assert base64.b64encode(SECRET.encode()).decode() not in text
    # the re-check it printed, and a fresh check, both pass AD203 everywhere
    assert "re-check" in out
    code, out, _ = cli("check", "--kubeconfig", kc, "--checks", "AD203", "-o", "json")
    assert {ns: r["status"] for ns, r in results(out, "AD203").items()} == {"argo": "pass", "team-a": "pass"}

    # A second fix writes nothing.
    mark = control_plane.audit_mark()
    code, out, _ = cli("fix", "copy-artifact-secret", "--yes", "--kubeconfig", kc, "--backup-dir", tmp_path)
    assert code == 0 and "nothing to do" in out
    assert writes(control_plane.audit_events(mark)) == []


def test_read_only_user_gets_ad100_and_blinded_checks_do_not_pass(seed, control_plane, cli):
    """A user who may read everything but Secrets: AD100 names secrets and AD203; AD203 reports error."""
    rules = [{"apiGroups": ["", "apps", "rbac.authorization.k8s.io", "apiextensions.k8s.io", "argoproj.io"],
              "resources": ["namespaces", "nodes", "configmaps", "serviceaccounts", "services", "endpoints",
                            "deployments", "roles", "clusterroles", "rolebindings", "clusterrolebindings",
                            "customresourcedefinitions", "workflows", "workflowtemplates", "cronworkflows",
                            "clusterworkflowtemplates"],
              "verbs": ["get", "list", "watch"]}]
    apply_manifests(seed, [
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": "viewer-no-secrets"}, "rules": rules},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": "viewer-no-secrets"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "viewer-no-secrets"},
         "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "viewer"}]},
    ])
    kc = control_plane.kubeconfig("viewer", ())
    code, out, err = cli("check", "--kubeconfig", kc, "-o", "json")
    assert code == 1, err
    doc = json.loads(out)
    ad100 = [r for r in doc["results"] if r["id"] == "AD100"]
    assert len(ad100) == 1 and ad100[0]["status"] == "fail"
    msg = ad100[0]["message"]
    assert "User viewer cannot list secrets cluster-wide" in msg and "blinds AD203" in msg
    assert "configmaps" not in msg  # it names exactly what is missing
    ad203 = [r for r in doc["results"] if r["id"] == "AD203"]
    assert ad203 and all(r["status"] in ("error", "skip") for r in ad203)
    assert "forbidden" in ad203[0]["message"]
    ad201 = {r["namespace"]: r["status"] for r in doc["results"] if r["id"] == "AD201"}
    assert ad201["team-a"] == "pass"  # what it can read still gets checked


def test_as_impersonates_and_sees_what_that_user_sees(seed, control_plane, admin_kubeconfig, cli):
    """--as viewer from the admin's kubeconfig gives viewer's AD100 (the previous test's binding); an
    identity with no rights at all, impersonated with a group, fails AD100 the same way."""
    code, out, err = cli("check", "--kubeconfig", admin_kubeconfig, "--as", "viewer", "--checks", "AD100", "-o", "json")
    [ad100] = json.loads(out)["results"]
    assert code == 1 and ad100["status"] == "fail" and "User viewer cannot list secrets" in ad100["message"], err
    code, out, _ = cli("check", "--kubeconfig", admin_kubeconfig, "--checks", "AD100", "-o", "json")
    assert json.loads(out)["results"][0]["status"] == "pass"
    code, _, err = cli("--as", "nobody", "check", "--kubeconfig", admin_kubeconfig, "--as-group", "g", "--checks",
                       "AD100")  # global flags before the command, too
    assert code == 1 and "Traceback" not in err


def test_snapshot_gives_the_live_answers(seed, admin_kubeconfig, cli, tmp_path):
    kc = str(admin_kubeconfig)
    code, _, err = cli("snapshot", "-o", tmp_path / "snap", "--kubeconfig", kc)
    assert code == 0, err
    text = "".join(p.read_text() for p in (tmp_path / "snap").iterdir())
    assert ACCESS not in text and base64.b64encode(SECRET.encode()).decode() not in text
    secrets = yaml.safe_load((tmp_path / "snap" / "Secret.json").read_text())["items"]
    minio = next(s for s in secrets if s["metadata"]["name"] == "minio")
    assert all(v.startswith("hmac:") for v in minio["data"].values())

    _, live, _ = cli("check", "--kubeconfig", kc, "-o", "json")
    _, snap, _ = cli("check", "--snapshot", tmp_path / "snap", "-o", "json")

    from argodoctor.engine.registry import all_checks

    live_only = {c.id for c in all_checks() if c.live_only}
    assert {"AD100", "AD204"} <= live_only

    def key(doc: str) -> list:
        return sorted((r["id"], r["namespace"] or "", r["object"] or "", r["status"], r["message"])
                      for r in json.loads(doc)["results"] if r["id"] not in live_only)
    assert key(live) == key(snap)
    assert len(key(live)) >= 4


def test_each_kind_is_listed_once_per_run(seed, admin_kubeconfig):
    from argodoctor.engine.context import Context
    from argodoctor.engine.registry import select_checks
    from argodoctor.engine.runner import run_checks
    from argodoctor.view.cluster import LiveView

    kube = Kube(str(admin_kubeconfig))
    run_checks(select_checks(None), Context(LiveView(kube)))  # every check of an installation
    lists = kube.requests["GET"]
    from argodoctor.view.cluster import KINDS
    assert lists <= len(KINDS)  # one paged LIST per kind at most (pages are 500 objects)


def test_paged_lists_read_the_continue_token_as_the_real_api_server_writes_it(seed, admin_kube):
    """Kube.list asks for the next page while decoding this one, with the token continue_token reads off
    the page's text: here on the real kube-apiserver's pages of a CRD kind (a map, metadata last) and of
    built-in kinds (a struct, metadata first), one object a page."""
    from argodoctor.view.cluster import KINDS
    from argodoctor.view.kube import continue_token

    templates = KINDS["WorkflowTemplate"]
    made = [{"apiVersion": templates.api_version, "kind": "WorkflowTemplate",
             "metadata": {"name": f"paging-{i}", "namespace": "team-a"},
             "spec": {"templates": [{"name": "main", "container": {"image": "alpine"}}]}} for i in range(3)]
    apply_manifests(admin_kube, made)
    try:
        for kind in ("WorkflowTemplate", "CustomResourceDefinition", "ClusterRole", "Namespace"):
            path = KINDS[kind].path()
            raw = admin_kube._raw("GET", path, query={"limit": 1})
            assert continue_token(raw) == admin_kube._parse(path, raw)["metadata"]["continue"], kind
            before = admin_kube.requests["GET"]
            paged = [o["metadata"]["name"] for o in admin_kube.list(path, page_size=1)]
            whole = [o["metadata"]["name"] for o in admin_kube.request("GET", path)["items"]]
            assert paged == whole and len(paged) >= 3, kind
            # a request a page (the server may end on a full page whose token leads to an empty one)
            assert admin_kube.requests["GET"] - before in (len(paged), len(paged) + 1), kind
    finally:
        for t in made:
            admin_kube.request("DELETE", templates.path("team-a", t["metadata"]["name"]))


def test_check_reads_each_kind_whole_from_this_kubernetes_and_in_pages_when_told(seed, control_plane, cli):
    """On Kubernetes 1.35 each kind is one LIST without a limit (kube.chunk_for); --chunk-size pages."""
    def lists(*extra: str) -> list[str]:
        mark = control_plane.audit_mark()
        code, _, err = cli("check", "--kubeconfig", control_plane.kubeconfig(), *extra)
        assert code in (0, 1), err
        return [e["requestURI"] for e in control_plane.audit_events(mark)
                if e["verb"] == "list" and e["stage"] == "ResponseComplete" and e["user"]["username"] == "admin"]
    whole = lists()
    assert whole and not [u for u in whole if "limit=" in u]
    assert len(whole) == len(set(whole))  # each kind once
    assert all("limit=1" in u for u in lists("--chunk-size", "1"))


def test_connection_and_input_errors_are_one_line(control_plane, cli, tmp_path):
    bad = tmp_path / "kc.yaml"
    cfg = yaml.safe_load(Path(control_plane.kubeconfig()).read_text())
    cfg["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:1"
    bad.write_text(yaml.safe_dump(cfg))
    for argv, needle in [
        (("check", "--kubeconfig", bad), "cannot reach the API server"),
        (("check", "--kubeconfig", tmp_path / "missing"), "does not exist"),
        (("check", "--snapshot", tmp_path / "nothing-here"), "does not exist"),
        (("check", "--snapshot", "examples/seed-broken", "--checks", "AD999"), "no check matches"),
        (("fix", "no-such-fix", "--kubeconfig", control_plane.kubeconfig()), "unknown remediation"),
    ]:
        code, out, err = cli(*argv)
        assert code == 2, (argv, out, err)
        assert needle in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err


def test_s3_round_trip_with_the_minio_sdk(s3_server):
    import io

    client = s3_server.client()
    bucket = "argodoctor-roundtrip"
    if not client.bucket_exists(bucket):
        client.make_bucket(bucket)
    client.put_object(bucket, "a/b.txt", io.BytesIO(b"hello"), 5)
    assert client.get_object(bucket, "a/b.txt").read() == b"hello"
    client.remove_object(bucket, "a/b.txt")
    assert [o.object_name for o in client.list_objects(bucket, recursive=True)] == []
    with pytest.raises(Exception):
        s3_server.client(secret_key="wrong").list_buckets()


def test_kube_requests_are_bounded(control_plane):
    """A server that accepts and never answers costs the read timeout, not forever."""
    import socket
    import threading
    import time

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    threading.Thread(target=lambda: srv.accept(), daemon=True).start()
    cfg = yaml.safe_load(Path(control_plane.kubeconfig()).read_text())
    cfg["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{srv.getsockname()[1]}"
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"hang-{os.getpid()}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    kube = Kube(str(path), timeout=(1.0, 1.0))
    t0 = time.monotonic()
    with pytest.raises(KubeError):
        kube.request("GET", "/version")
    assert time.monotonic() - t0 < 5
    srv.close()
    path.unlink()


def test_check_pre_on_the_real_apiserver(control_plane, admin_kubeconfig, cli):
    """AD001 from SelfSubjectAccessReviews (the admin may create everything; viewer, bound in an earlier test
    to read only, may not), AD002 from the API server's /version against the release's tested versions."""
    code, out, err = cli("check", "--pre", "--kubeconfig", admin_kubeconfig, "-o", "json")
    got = {r["id"]: r for r in json.loads(out)["results"]}
    assert got["AD001"]["status"] == "pass", got["AD001"]
    minor = int(Kube(str(admin_kubeconfig)).request("GET", "/version")["minor"].rstrip("+"))
    assert got["AD002"]["status"] == "pass" and f"Kubernetes 1.{minor}" in got["AD002"]["message"]
    assert "v1." in got["AD002"]["message"]
    code, out, _ = cli("check", "--pre", "--kubeconfig", admin_kubeconfig, "--as", "viewer", "-o", "json",
                       "--checks", "AD001")
    [ad001] = json.loads(out)["results"]
    assert ad001["status"] == "fail" and "User viewer may not create" in ad001["message"]
    assert "customresourcedefinitions.apiextensions.k8s.io" in ad001["message"]
