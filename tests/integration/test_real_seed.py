"""The seed's promise observed, and each of its faults reproduced, with Workflows that really run (issue 26
items 2 and 3).

From an empty cluster (the team's namespace, storage for MinIO's claim and the store's keys, as in
test_end_to_end), `argodoctor fix --all` installs Argo v3.7.18, MinIO (its pod is kwok's; the object store
behind Service argo/minio is versitygw, which the tests' kubelet routes minio.argo.svc to), the artifact
repository, the bucket and the workflow RBAC. Argo's real workflow-controller then runs as the install's
ServiceAccount, and the seed's artifacts workflow runs on the tests' kubelet with Argo's real executor.

From that healthy install, each fault the seed guide leads to is injected, a Workflow really runs into
it, and what Argo and the kubelet really said (Workflow and node messages, the pod's states and Warning
events, the controller's log) is compared with tests/fixtures/real-failures/<fault>.json, the fixtures
of `diagnose`'s tests (ARGODOCTOR_RECORD_REAL_FAILURES=1 rewrites them). `argodoctor check` must flag
that fault and nothing else.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from ..conftest import manifests
from ..harness import ArgoController, wait_for
from .test_real_executor import (
    artifact_workflow,
    artifacts_of,
    get_wf,
    pods_of,
    read_object,
    submit,
    untar_one,
    wait_phase,
)

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "real-failures"
RECORD = os.environ.get("ARGODOCTOR_RECORD_REAL_FAILURES") == "1"
BUCKET = "argo-artifacts"  # what fix's configure-artifact-repository and create-bucket name
CM = "/api/v1/namespaces/argo/configmaps/workflow-controller-configmap"


def argodoctor(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "argodoctor", *map(str, argv)], capture_output=True, text=True,
                          timeout=300)


class Seed:
    def __init__(self, plane, tmp: Path):
        self.plane, self.cp, self.s3, self.kubelet = plane, plane.cp, plane.s3, plane.kubelet
        self.kc = str(self.cp.kubeconfig())
        self.base = ("--kubeconfig", self.kc, "--s3-endpoint", self.s3.endpoint, "--workflow-namespace", "team-a")
        self.tmp = tmp
        self.ctl: ArgoController | None = None
        self.fix_out = ""
        self.fix_seconds = 0.0

    def controller(self) -> ArgoController:
        """The real controller, as the install's ServiceAccount argo/argo (its RBAC from the manifests)."""
        if self.ctl is not None:
            self.ctl.stop()
        self.ctl = ArgoController(self.cp, namespace="argo",
                                  kubeconfig=self.cp.service_account_kubeconfig("argo", "argo"))
        self.ctl.start()
        self.ctl.wait_ready()
        return self.ctl

    def check(self) -> dict[tuple[str, str | None], dict]:
        r = argodoctor("check", *self.base, "-o", "json")
        assert r.returncode in (0, 1), r.stderr
        return {(x["id"], x["namespace"]): x for x in json.loads(r.stdout)["results"]}

    def flagged(self) -> set[tuple[str, str | None, str]]:
        return {(cid, ns, r["status"]) for (cid, ns), r in self.check().items()
                if r["status"] in ("fail", "warn", "error")}


@pytest.fixture(scope="module")
def seed(real_plane, tmp_path_factory):
    s = Seed(real_plane, tmp_path_factory.mktemp("real-seed"))
    cp = s.cp
    for ns in ("team-a", "argo"):
        cp.api("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    # storage for MinIO's claim, and the store's keys handed to deploy-object-store (as test_end_to_end)
    cp.api("POST", "/api/v1/persistentvolumes", {
        "apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pv-1"},
        "spec": {"capacity": {"storage": "20Gi"}, "accessModes": ["ReadWriteOnce"],
                 "hostPath": {"path": str(s.tmp / "pv")}}})
    cp.api("POST", "/api/v1/namespaces/argo/secrets", {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "minio"},
        "stringData": {"accesskey": s.s3.access_key, "secretkey": s.s3.secret_key}})
    t0 = time.monotonic()
    r = argodoctor("fix", "--all", "--yes", *s.base, "--backup-dir", s.tmp / "backup",
                   "--manifests", manifests("v3.7.18"))
    s.fix_seconds = time.monotonic() - t0
    s.fix_out = r.stdout + r.stderr
    assert "failed:" not in s.fix_out, s.fix_out
    s.controller()
    try:
        yield s
    finally:
        if s.ctl is not None:
            s.ctl.stop()


def test_empty_cluster_fix_all_then_the_seeds_artifacts_workflow_succeeds(seed, capsys):
    cp, s3 = seed.cp, seed.s3
    for step in ("install-argo", "deploy-object-store", "configure-artifact-repository", "create-bucket",
                 "grant-workflow-rbac"):
        assert f"{step}: " in seed.fix_out and f"{step}: nothing to do" not in seed.fix_out, step
    assert seed.flagged() <= {("AD401", "argo", "skip")}  # nothing left to fix
    repo = yaml.safe_load(cp.get(CM)["data"]["artifactRepository"])
    assert repo["archiveLogs"] is True and repo["s3"]["endpoint"] == "minio.argo.svc:9000"

    t0 = submit(cp, "team-a", artifact_workflow("seed-artifacts"))
    wf = wait_phase(seed.plane, "team-a", "seed-artifacts")
    took = time.monotonic() - t0
    assert wf["status"]["phase"] == "Succeeded", json.dumps(wf["status"], indent=1)
    arts = artifacts_of(wf)
    assert {a["s3"]["bucket"] for a in arts.values() if "bucket" in a["s3"]} <= {BUCKET}
    art_key, log_key = arts["hello-art"]["s3"]["key"], arts["main-logs"]["s3"]["key"]
    assert untar_one(read_object(s3, BUCKET, art_key)) == b"hello world\n"
    assert "hello world" in read_object(s3, BUCKET, log_key).decode()
    with capsys.disabled():
        print(f"\n[real seed] fix --all {seed.fix_seconds:.1f}s; the artifacts workflow Succeeded in {took:.1f}s; "
              f"s3://{BUCKET}/{art_key} and s3://{BUCKET}/{log_key} read back")


# ---------------------------------------------------------------- the faults
def _normalize(text: str, seed: Seed) -> str:
    text = text.replace(seed.kubelet.dns.address, "<cluster-dns>").replace(seed.s3.host, "<s3-host>")
    return re.sub(r"\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z\b", "<time>", text)


def observe(seed: Seed, name: str, fault: str, extra: dict | None = None) -> dict:
    """What Argo and the kubelet said about Workflow `name` in team-a, normalized (addresses, times)."""
    cp = seed.cp
    wf = get_wf(cp, "team-a", name)
    st = wf.get("status") or {}
    pods = pods_of(cp, "team-a", name)
    doc = {
        "fault": fault, "argo": "v3.7.18", "kubernetes": cp.server_version(),
        "workflow": {"phase": st.get("phase"), "message": st.get("message")},
        "nodes": sorted(({"displayName": n.get("displayName"), "type": n.get("type"), "phase": n.get("phase"),
                          "message": n.get("message")} for n in (st.get("nodes") or {}).values()),
                        key=lambda n: n["displayName"] or ""),
        "pods": [{"name": p["metadata"]["name"], "phase": p["status"].get("phase"), "containers": {
            c["name"]: {k: {f: v for f, v in state.items() if f in ("reason", "exitCode", "message")}
                        for k, state in c["state"].items()}
            for c in (p["status"].get("initContainerStatuses") or []) + (p["status"].get("containerStatuses") or [])}}
            for p in pods],
        "events": sorted({(e["involvedObject"]["kind"], e["type"], e["reason"], e["message"])
                          for e in cp.api("GET", "/api/v1/namespaces/team-a/events")["items"]
                          if e["involvedObject"]["name"] == name and (e["type"] == "Warning"
                                                                      or e["involvedObject"]["kind"] == "Workflow")}),
        **(extra or {}),
    }
    return json.loads(_normalize(json.dumps(doc), seed))


def compare_or_record(doc: dict, fault: str) -> None:
    path = FIXTURES / f"{fault}.json"
    if RECORD:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        return
    assert path.exists(), f"{path} missing: run with ARGODOCTOR_RECORD_REAL_FAILURES=1"
    assert doc == json.loads(path.read_text()), json.dumps(doc, indent=2, ensure_ascii=False)


def delete(cp, path: str) -> None:
    cp.api("DELETE", path)


def set_repository(cp, **s3_changes) -> dict:
    repo = yaml.safe_load(cp.get(CM)["data"]["artifactRepository"])
    before = json.loads(json.dumps(repo))
    repo["s3"].update(s3_changes)
    cp.api("PATCH", CM, {"data": {"artifactRepository": yaml.safe_dump(repo, sort_keys=False)}},
           content_type="application/merge-patch+json")
    return before


def test_fault_bucket_never_created(seed):
    cp, s3 = seed.cp, seed.s3
    client = s3.client()
    for o in list(client.list_objects(BUCKET, recursive=True)):
        client.remove_object(BUCKET, o.object_name)
    client.remove_bucket(BUCKET)
    try:
        submit(cp, "team-a", artifact_workflow("fault-bucket"))
        wf = wait_phase(seed.plane, "team-a", "fault-bucket")
        doc = observe(seed, "fault-bucket", "bucket-never-created")
        flagged = seed.flagged()
        doc["check"] = sorted(map(list, flagged))
        compare_or_record(doc, "bucket-never-created")
        assert wf["status"]["phase"] in ("Failed", "Error")
        assert {cid for cid, _, _ in flagged} - {"AD401"} == {"AD206"}, flagged
    finally:
        client.make_bucket(BUCKET)


def test_fault_secret_only_in_argo(seed):
    cp, s3 = seed.cp, seed.s3
    delete(cp, "/api/v1/namespaces/team-a/secrets/minio")
    try:
        submit(cp, "team-a", artifact_workflow("fault-secret"))

        def failed_mount():
            pods = pods_of(cp, "team-a", "fault-secret")
            pod = pods and pods[0]["metadata"]["name"]
            return pod and [e for e in cp.api("GET", "/api/v1/namespaces/team-a/events")["items"]
                            if e["reason"] == "FailedMount" and e["involvedObject"]["name"] == pod]
        wait_for(failed_mount, "FailedMount", timeout=60, procs=cp.procs)
        time.sleep(3)
        doc = observe(seed, "fault-secret", "secret-only-in-argo")
        flagged = seed.flagged()
        doc["check"] = sorted(map(list, flagged))
        compare_or_record(doc, "secret-only-in-argo")
        assert doc["workflow"]["phase"] == "Running" and doc["pods"][0]["phase"] == "Pending"
        assert {(cid, ns) for cid, ns, _ in flagged} - {("AD401", "argo")} == {("AD203", "team-a")}, flagged
    finally:
        cp.api("POST", "/api/v1/namespaces/team-a/secrets", {
            "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "minio"},
            "stringData": {"accesskey": s3.access_key, "secretkey": s3.secret_key}})
    # the kubelet's next retry mounts it: the same Workflow then runs through
    assert wait_phase(seed.plane, "team-a", "fault-secret")["status"]["phase"] == "Succeeded"


def test_fault_endpoint_minio_9000_from_team_a(seed):
    cp = seed.cp
    before = set_repository(cp, endpoint="minio:9000")
    try:
        time.sleep(2)  # the controller watches its configmap
        submit(cp, "team-a", artifact_workflow("fault-endpoint"))
        wf = wait_phase(seed.plane, "team-a", "fault-endpoint")
        doc = observe(seed, "fault-endpoint", "endpoint-minio-9000")
        flagged = seed.flagged()
        doc["check"] = sorted(map(list, flagged))
        compare_or_record(doc, "endpoint-minio-9000")
        assert wf["status"]["phase"] in ("Failed", "Error")
        assert {(cid, ns) for cid, ns, _ in flagged} - {("AD401", "argo")} == {("AD501", "team-a")}, flagged
    finally:
        set_repository(cp, **before["s3"])
        time.sleep(2)


def test_fault_default_sa_without_rights(seed):
    cp = seed.cp
    path = "/apis/rbac.authorization.k8s.io/v1/namespaces/team-a/rolebindings"
    bindings = cp.api("GET", path)["items"]
    for b in bindings:
        delete(cp, f"{path}/{b['metadata']['name']}")
    try:
        submit(cp, "team-a", artifact_workflow("fault-rbac"))
        wf = wait_phase(seed.plane, "team-a", "fault-rbac")
        doc = observe(seed, "fault-rbac", "default-sa-without-rights")
        flagged = seed.flagged()
        doc["check"] = sorted(map(list, flagged))
        compare_or_record(doc, "default-sa-without-rights")
        assert wf["status"]["phase"] in ("Failed", "Error")
        assert {(cid, ns) for cid, ns, _ in flagged} - {("AD401", "argo")} == {("AD302", "team-a")}, flagged
    finally:
        for b in bindings:
            b["metadata"] = {k: v for k, v in b["metadata"].items() if k in ("name", "labels", "annotations")}
            cp.api("POST", path, b)


def test_fault_default_bound_to_admin_works_but_is_flagged(seed):
    """The guide's method 1: admin instead of the minimal Role. The workflow works; check warns."""
    cp = seed.cp
    path = "/apis/rbac.authorization.k8s.io/v1/namespaces/team-a/rolebindings"
    bindings = cp.api("GET", path)["items"]
    for b in bindings:
        delete(cp, f"{path}/{b['metadata']['name']}")
    cp.api("POST", path, {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "default-admin"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin"},
        "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "team-a"}]})
    try:
        submit(cp, "team-a", artifact_workflow("fault-admin"))
        wf = wait_phase(seed.plane, "team-a", "fault-admin")
        doc = observe(seed, "fault-admin", "default-bound-to-admin")
        flagged = seed.flagged()
        doc["check"] = sorted(map(list, flagged))
        compare_or_record(doc, "default-bound-to-admin")
        assert wf["status"]["phase"] == "Succeeded"
        assert {(cid, ns, st) for cid, ns, st in flagged} - {("AD401", "argo", "skip")} == \
            {("AD303", "team-a", "warn")}, flagged
    finally:
        delete(cp, f"{path}/default-admin")
        for b in bindings:
            b["metadata"] = {k: v for k, v in b["metadata"].items() if k in ("name", "labels", "annotations")}
            cp.api("POST", path, b)


def test_fault_docker_executor_is_refused_by_v3_7(seed):
    """v3.7 has the emissary executor only (the docker executor was removed in v3.4; no version the
    module proxy builds beside v3.7's argoexec here has it), so the seed's docker-on-containerd fault
    cannot run: its `containerRuntimeExecutor: docker` is a key the v3.7 controller no longer knows, and
    the real controller exits on it (fatal, at the configmap's reload). check flags that key twice: as a
    key unknown to the version (AD103) and as the obsolete executor setting (AD402)."""
    cp = seed.cp
    cp.api("PATCH", CM, {"data": {"containerRuntimeExecutor": "docker"}}, content_type="application/merge-patch+json")
    try:
        proc = seed.ctl.process.proc
        wait_for(lambda: proc.poll() is not None, "the controller exiting on the unknown key", timeout=60)
        log = seed.ctl.log()
        alive = proc.poll() is None
        lines = [line for line in log.splitlines() if "containerRuntimeExecutor" in line]
        doc = {"fault": "docker-executor", "argo": "v3.7.18", "controller_running": alive,
               "controller_log": [_normalize(re.sub(r'^time="[^"]*" ', "", line), seed) for line in lines[-3:]]}
        flagged = seed.flagged()
        doc["check"] = sorted(map(list, flagged))
        compare_or_record(doc, "docker-executor")
        assert {(cid, ns) for cid, ns, _ in flagged} - {("AD401", "argo")} == {("AD103", "argo"), ("AD402", "argo")}, \
            flagged
    finally:
        cp.api("PATCH", CM, {"data": {"containerRuntimeExecutor": None}}, content_type="application/merge-patch+json")
        seed.controller()
