"""Issue 31 item 7 on the real kube-apiserver: `snapshot -o DIR` of a cluster whose Workflow carries an env
literal with a password, a parameter value and a script source, and whose tenant has a ConfigMap no check
reads: no marker reaches any file; files 0600 in a 0700 directory; no stored material lets anyone recompute
a digest of a known value; and `check --snapshot DIR` gives the live `check`'s verdicts."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import stat

import pytest

from argodoctor.engine.registry import all_checks
from argodoctor.fix.manifests import apply_manifests, load_manifests
from argodoctor.view.cluster import KINDS
from argodoctor.view.kube import Kube

from ..conftest import manifests
from .test_foundation import ACCESS, SECRET, SEED_REPOSITORY, ns_obj

pytestmark = pytest.mark.integration
MARKERS = ("hunter2", "PARAM-7f3a", "SCRIPT-7f3a", "CONFIGMAP-7f3a", "APPLIED-7f3a")


@pytest.fixture(scope="module")
def cluster(own_control_plane):
    kube = Kube(str(own_control_plane.kubeconfig()))
    apply_manifests(kube, [ns_obj("argo"), ns_obj("team-a")])
    apply_manifests(kube, load_manifests(manifests("v3.7.18").read_text()), namespace="argo")
    env = [{"name": "DATABASE_URL", "value": "postgres://u:hunter2@db"}]
    apply_manifests(kube, [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "workflow-controller-configmap",
                                                               "namespace": "argo"},
         "data": {"artifactRepository": SEED_REPOSITORY}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "minio", "namespace": "argo"},
         "type": "Opaque", "data": {"accesskey": base64.b64encode(ACCESS.encode()).decode(),
                                    "secretkey": base64.b64encode(SECRET.encode()).decode()}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app-settings", "namespace": "team-a"},
         "data": {"url": "postgres://u:CONFIGMAP-7f3a@db"}},
        {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
         "metadata": {"name": "etl", "namespace": "team-a", "annotations": {
             "kubectl.kubernetes.io/last-applied-configuration": '{"spec": "APPLIED-7f3a"}'}},
         "spec": {"entrypoint": "main", "arguments": {"parameters": [{"name": "p", "value": "PARAM-7f3a"}]},
                  "templates": [
                      {"name": "main", "container": {"image": "alpine", "env": env}},
                      {"name": "py", "script": {"image": "python:3.12", "source": "print('SCRIPT-7f3a')",
                                                "env": env}}]}},
    ])
    return own_control_plane


def test_a_snapshot_holds_no_marker_is_private_and_checks_as_the_cluster(cluster, cli, tmp_path):
    kc = str(cluster.kubeconfig())
    out = tmp_path / "snap"
    code, _, err = cli("snapshot", "-o", out, "--kubeconfig", kc)
    assert code == 0, err
    files = sorted(out.iterdir())
    assert [f.name for f in files] == sorted(f"{k}.json" for k in KINDS)  # nothing beside the kinds: no key file
    blobs = [f.read_bytes() for f in files]
    text = b"".join(blobs).decode()
    assert [m for m in MARKERS if m in text] == [] and ACCESS not in text and SECRET not in text
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert {stat.S_IMODE(f.stat().st_mode) for f in files} == {0o600}
    # the Workflow is there, its structure intact; the unrelated ConfigMap is not
    wf = json.loads((out / "Workflow.json").read_text())["items"][0]
    assert wf["spec"]["templates"][0]["container"]["env"][0]["name"] == "DATABASE_URL"
    cms = {(c["metadata"]["namespace"], c["metadata"]["name"])
           for c in json.loads((out / "ConfigMap.json").read_text())["items"]}
    assert ("argo", "workflow-controller-configmap") in cms and ("team-a", "app-settings") not in cms
    # a digest of a known value cannot be recomputed from anything stored: every token of every file as the key
    minio = next(s for s in json.loads((out / "Secret.json").read_text())["items"]
                 if s["metadata"]["name"] == "minio")
    stored = minio["data"]["secretkey"]
    tokens = {t for b in blobs for t in re.findall(rb"[A-Za-z0-9+/=_:.-]{8,}", b)} | set(blobs)
    keys = tokens | {bytes.fromhex(t.decode()) for t in tokens if re.fullmatch(rb"(?:[0-9a-f]{2})+", t)}
    tries = {"hmac:" + hmac.new(k, SECRET.encode(), hashlib.sha256).hexdigest()[:16] for k in keys}
    assert stored.startswith("hmac:") and stored not in tries | {"hmac:" + hashlib.sha256(
        SECRET.encode()).hexdigest()[:16]}

    _, live, _ = cli("check", "--kubeconfig", kc, "-o", "json")
    _, snap, _ = cli("check", "--snapshot", out, "-o", "json")
    live_only = {c.id for c in all_checks() if c.live_only}

    def key(doc: str) -> list:
        return sorted((r["id"], r["namespace"] or "", r["object"] or "", r["status"], r["message"])
                      for r in json.loads(doc)["results"] if r["id"] not in live_only)
    assert key(live) == key(snap) and len(key(live)) >= 10
