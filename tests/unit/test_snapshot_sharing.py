"""Issue 31 item 7: a snapshot is safe to share. What no check judges is digested (env literals, parameter
values, script sources, ...) or left out (ConfigMaps no check reads); files are 0600 in a 0700 directory;
the digest key is never written; and every check gives the same verdicts on the snapshot as on the
objects it was taken from."""
from __future__ import annotations

import copy
import hashlib
import hmac
import json
import os
import re
import stat
from pathlib import Path

import pytest

from argodoctor.engine.context import Context
from argodoctor.engine.registry import all_checks
from argodoctor.engine.runner import run_checks
from argodoctor.errors import UserError
from argodoctor.view import cluster
from argodoctor.view.cluster import SnapshotView, write_snapshot

from .builders import configmap, controller, controller_configmap, crds, secret, workflow

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "seed-broken"
MARKERS = ("hunter2", "PARAM-MARKER", "SCRIPT-MARKER", "DEFAULT-MARKER", "ENUM-MARKER", "MANIFEST-MARKER",
           "RAW-MARKER", "PATCH-MARKER", "ARGS-MARKER", "CM-MARKER", "LAST-APPLIED-MARKER", "HEADER-MARKER")


def tenant_objects() -> list[dict]:
    """A cluster whose Argo objects carry data no check judges, marked so a leak shows."""
    env = [{"name": "DATABASE_URL", "value": "postgres://u:hunter2@db"},
           {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "db", "key": "token"}}}]
    templates = [
        {"name": "main", "steps": [[{"name": "s", "template": "run",
                                     "arguments": {"parameters": [{"name": "p", "value": "PARAM-MARKER"}]}}]]},
        {"name": "run", "serviceAccountName": "runner",
         "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
         "inputs": {"parameters": [{"name": "p", "default": "DEFAULT-MARKER", "enum": ["ENUM-MARKER", "x"]}]},
         "script": {"image": "python:3.12", "command": ["python"], "source": "print('SCRIPT-MARKER')",
                    "env": env}},
        {"name": "apply", "resource": {"action": "create", "manifest": "kind: Secret # MANIFEST-MARKER"}},
        {"name": "call", "http": {"url": "https://example.com", "headers": [{"name": "A", "value": "HEADER-MARKER"}]}},
        {"name": "c", "container": {"image": "alpine", "args": ["--password=ARGS-MARKER"], "env": env},
         "podSpecPatch": "PATCH-MARKER", "outputs": {"artifacts": [{"name": "o", "path": "/o"}]},
         "inputs": {"artifacts": [{"name": "r", "path": "/r", "raw": {"data": "RAW-MARKER"}}]}},
    ]
    wf = workflow("team-a", "wf", serviceAccountName="runner", templates=templates,
                  arguments={"parameters": [{"name": "p", "value": "PARAM-MARKER"}]},
                  artifactRepositoryRef={"configMap": "team-repos", "key": "s3"})
    wf["metadata"]["annotations"] = {cluster._LAST_APPLIED: '{"env": "LAST-APPLIED-MARKER"}'}
    wft = workflow("team-b", "tmpl", kind="WorkflowTemplate", templates=copy.deepcopy(templates))
    cron = workflow("team-b", "cron", kind="CronWorkflow", templates=copy.deepcopy(templates))
    repo = {"s3": {"bucket": "b", "endpoint": "minio.argo:9000", "insecure": True,
                   "accessKeySecret": {"name": "minio", "key": "accesskey"},
                   "secretKeySecret": {"name": "minio", "key": "secretkey"}}}
    return [
        controller(), controller_configmap(workflowDefaults={"spec": {"artifactRepositoryRef": {
            "configMap": "defaults-repos", "key": "s3"}}}),
        secret("minio", "argo", accesskey="admin", secretkey="hunter2"),
        secret("minio", "team-a", accesskey="admin", secretkey="hunter2"),
        configmap("team-repos", "team-a", {"s3": repo}),
        configmap("defaults-repos", "team-b", {"s3": repo}),
        configmap("artifact-repositories", "team-b", {"s3": repo},
                  {"workflows.argoproj.io/default-artifact-repository": "s3"}),
        configmap("app-settings", "team-a", {"DATABASE_URL": "postgres://u:CM-MARKER@db"}),
        configmap("aaa-unrelated", "argo", {"x": "CM-MARKER"}),
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-b"}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "runner", "namespace": "team-a"}},
        wf, wft, cron, *crds(),
    ]


def verdicts(objects: list[dict]) -> list[dict]:
    return [r.to_dict() for r in run_checks(all_checks(), Context(SnapshotView("x", objects)))]


def snapshot(tmp_path: Path, objects: list[dict], name: str = "snap", fmt: str = "json") -> Path:
    out = tmp_path / name
    write_snapshot(SnapshotView("x", copy.deepcopy(objects)), str(out), fmt=fmt)
    return out


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_no_marker_survives_and_the_verdicts_are_the_same(tmp_path, fmt):
    objects = tenant_objects()
    out = snapshot(tmp_path, objects, fmt=fmt)
    text = "".join(p.read_text() for p in out.iterdir())
    assert [m for m in MARKERS if m in text] == []
    kept = {(c["metadata"]["namespace"], c["metadata"]["name"])
            for c in cluster.load_documents(str(out / f"ConfigMap.{fmt}"))}
    # the controller's, the ref's, workflowDefaults' ref's and artifact-repositories; not the others
    assert kept == {("argo", "workflow-controller-configmap"), ("team-a", "team-repos"),
                    ("team-b", "defaults-repos"), ("team-b", "artifact-repositories")}
    wf = next(o for o in cluster.load_documents(str(out)) if o["kind"] == "Workflow")
    run = wf["spec"]["templates"][1]
    assert run["serviceAccountName"] == "runner" and run["securityContext"]["seccompProfile"] == {
        "type": "RuntimeDefault"}  # what checks judge stays as it is
    assert run["script"]["env"][1]["valueFrom"]["secretKeyRef"] == {"name": "db", "key": "token"}
    assert run["script"]["env"][0]["value"].startswith("hmac:") and run["script"]["image"] == "python:3.12"
    # equal values keep equal digests within one snapshot
    assert run["script"]["env"][0]["value"] == wf["spec"]["templates"][4]["container"]["env"][0]["value"]

    before = verdicts(copy.deepcopy(objects))
    assert len({r["id"] for r in before}) >= 15 and {r["status"] for r in before} >= {"pass", "fail"}
    assert verdicts(list(cluster.load_documents(str(out)))) == before


def test_the_seed_example_gives_the_same_verdicts_from_its_snapshot(tmp_path):
    objects = list(cluster.load_documents(str(EXAMPLE)))
    out = snapshot(tmp_path, objects)
    assert verdicts(list(cluster.load_documents(str(out)))) == verdicts(list(cluster.load_documents(str(EXAMPLE))))


def test_files_are_private_and_no_stored_material_recomputes_a_digest(tmp_path):
    old = os.umask(0o022)  # a common umask: what it would let through, the writer must not
    try:
        out = snapshot(tmp_path, tenant_objects())
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in out.iterdir()} == {0o600}
    stored = json.loads((out / "Secret.json").read_text())["items"][0]["data"]["secretkey"]
    assert stored.startswith("hmac:")
    blobs = [p.read_bytes() for p in out.iterdir()]
    # every token of every file, raw and hex-decoded, tried as the key; and the unkeyed hash
    tokens = {t for b in blobs for t in re.findall(rb"[A-Za-z0-9+/=_:.-]{8,}", b)} | set(blobs)
    candidates = tokens | {bytes.fromhex(t.decode()) for t in tokens if re.fullmatch(rb"(?:[0-9a-f]{2})+", t)}
    tries = {"hmac:" + hmac.new(k, b"hunter2", hashlib.sha256).hexdigest()[:16] for k in candidates}
    tries.add("hmac:" + hashlib.sha256(b"hunter2").hexdigest()[:16])
    assert stored not in tries and len(tries) > 100
    assert stored == cluster.digest("hunter2")  # ... while this process, which holds the key, can


def test_an_existing_directory_must_be_private_and_an_old_key_file_goes(tmp_path, cli):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    with pytest.raises(UserError, match=r"open to others \(mode 0755.*chmod 700"):
        write_snapshot(SnapshotView("x", []), str(shared))
    assert list(shared.iterdir()) == []
    not_dir = tmp_path / "file"
    not_dir.write_text("")
    with pytest.raises(UserError, match="not a directory"):
        write_snapshot(SnapshotView("x", []), str(not_dir))
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    (private / "argodoctor-snapshot.meta").write_text('{"digest_key": "00"}')  # an earlier version's
    (private / "Secret.json").write_text("{}")
    (private / "Secret.json").chmod(0o644)
    write_snapshot(SnapshotView("x", [secret("s", "a", k="v")]), str(private))
    assert "argodoctor-snapshot.meta" not in os.listdir(private)
    assert stat.S_IMODE((private / "Secret.json").stat().st_mode) == 0o600


def test_the_cli_refuses_a_shared_directory_with_a_message(tmp_path, cli):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o775)
    code, _, err = cli("snapshot", "-o", shared, "--kubeconfig", tmp_path / "none")
    assert code != 0 and "Traceback" not in err and "open to others (mode 0775" in err, err
