"""What the view keeps of Workflows that failed (argodoctor/view/failures.py): a bounded status, their pods
without env or template, their Warning Events; and what a snapshot saves of them (issue 25 item 1)."""
from __future__ import annotations

import base64
import gzip
import json

from argodoctor.view import failures
from argodoctor.view.cluster import LiveView, SnapshotView, write_snapshot

from .builders import workflow
from .test_scale import FakeKube


def failed(namespace: str, name: str, nodes: dict | None = None, phase: str = "Failed", **status) -> dict:
    wf = workflow(namespace, name)
    wf["status"] = {"phase": phase, "message": "child failed", "nodes": nodes or {}, **status}
    return wf


def node(i: int, phase: str = "Failed", message: str | None = "boom", finished: str = "2026-12-01T00:00:00Z"):
    n = {"id": f"n{i}", "name": f"wf.step{i}", "type": "Pod", "phase": phase, "finishedAt": finished,
         "inputs": {"parameters": [{"name": "p", "value": "data"}]}}
    if message is not None:
        n["message"] = message
    return n


def pod(namespace: str, workflow_name: str, name: str, created: str, **status) -> dict:
    return {"metadata": {"name": name, "namespace": namespace, "creationTimestamp": created,
                         "labels": {failures.WORKFLOW_LABEL: workflow_name},
                         "annotations": {"workflows.argoproj.io/node-id": name,
                                         "workflows.argoproj.io/template": '{"script": {"source": "SECRET"}}'}},
            "spec": {"serviceAccountName": "default",
                     "containers": [{"name": "main", "image": "alpine", "env": [{"name": "T", "value": "tok-123"}],
                                     "args": ["--password", "hunter2"]}],
                     "volumes": [{"name": "minio", "secret": {"secretName": "minio"}}]},
            "status": {"phase": "Failed", **status}}


def event(namespace: str, kind: str, name: str, when: str, message: str = "secret \"minio\" not found") -> dict:
    return {"metadata": {"name": f"{name}.{when}", "namespace": namespace}, "type": "Warning",
            "reason": "FailedMount", "message": message, "lastTimestamp": when,
            "involvedObject": {"kind": kind, "name": name, "namespace": namespace}}


def test_a_succeeded_workflow_keeps_only_its_phase_and_a_failed_one_its_failed_nodes():
    assert failures.slim({"phase": "Succeeded", "message": "ok", "nodes": {"a": node(1)}}) == {"phase": "Succeeded"}
    kept = failures.slim({"phase": "Failed", "message": "child 'x' failed",
                          "nodes": {"a": node(1), "b": node(2, phase="Succeeded"), "c": node(3, message=None)}})
    assert kept["message"] == "child 'x' failed" and list(kept["nodes"]) == ["n1"]
    assert "inputs" not in kept["nodes"]["n1"]  # a node's parameters are the workflow's data
    assert failures.slim(None) is None and failures.slim({}) is None  # no status: no controller took it


def test_thousands_of_nodes_and_a_megabyte_message_stay_bounded():
    nodes = {f"n{i}": node(i, message="x" * 100_000, finished=f"2026-12-01T00:{i // 60 % 60:02d}:{i % 60:02d}Z")
             for i in range(10_000)}
    kept = failures.slim({"phase": "Failed", "message": "m" * 1_000_000, "nodes": nodes})
    assert len(kept["nodes"]) == failures.MAX_NODES
    assert len(kept["message"]) <= failures.MAX_MESSAGE + 10
    assert all(len(n["message"]) <= failures.MAX_MESSAGE + 10 for n in kept["nodes"].values())
    assert len(json.dumps(kept)) < 200_000


def test_compressed_nodes_are_read_and_offloaded_ones_said_missing():
    packed = base64.b64encode(gzip.compress(json.dumps({"a": node(7)}).encode())).decode()
    assert list(failures.slim({"phase": "Error", "compressedNodes": packed})["nodes"]) == ["n7"]
    bad = failures.slim({"phase": "Error", "compressedNodes": "not base64 gzip"})
    assert bad["nodesMissing"] == "its compressedNodes do not decode"
    off = failures.slim({"phase": "Failed", "offloadNodeStatusVersion": "fnv:1"})
    assert "offloaded" in off["nodesMissing"]


def test_a_pod_keeps_who_it_runs_as_and_its_states_never_its_env_args_or_template():
    p = pod("team-a", "wf", "wf-1", "2026-12-01T00:00:00Z", containerStatuses=[
        {"name": "wait", "state": {"terminated": {"exitCode": 64, "reason": "Error", "message": "forbidden"}}}])
    slim = failures.slim_pod(p)
    text = json.dumps(slim)
    assert "tok-123" not in text and "hunter2" not in text and "SECRET" not in text
    assert slim["spec"]["serviceAccountName"] == "default"
    assert slim["spec"]["volumes"] == [{"name": "minio", "secret": {"secretName": "minio"}}]
    assert slim["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 64
    assert failures.slim_pod(slim) == slim  # a snapshot's pod read back is kept as it is


def test_a_snapshot_keeps_the_newest_pods_and_events_of_failed_workflows_only(tmp_path):
    pods = [pod("team-a", "bad", f"bad-{i}", f"2026-12-01T00:00:{i:02d}Z") for i in range(8)]
    pods += [pod("team-a", "good", "good-1", "2026-12-01T00:00:00Z"), pod("team-b", "bad", "other-ns", "2026")]
    events = [event("team-a", "Pod", "bad-7", f"2026-12-01T00:{i:02d}:00Z") for i in range(15)]
    events += [event("team-a", "Pod", "good-1", "2026-12-01T00:00:00Z"),
               event("team-a", "Workflow", "bad", "2026-12-01T00:00:00Z", "unrelated")]
    good = workflow("team-a", "good")
    good["status"] = {"phase": "Succeeded"}
    kube = FakeKube({"workflows": [failed("team-a", "bad", {"a": node(1)}), good], "pods": pods, "events": events})
    counts = write_snapshot(LiveView(kube), str(tmp_path))  # type: ignore[arg-type]
    assert counts["Pod"] == failures.MAX_PODS and counts["Event"] == failures.MAX_EVENTS + 1
    back = SnapshotView(str(tmp_path))
    names = sorted(p["metadata"]["name"] for p in back.list("Pod"))
    assert names == [f"bad-{i}" for i in range(3, 8)]  # the newest five, of the failed Workflow only
    assert "tok-123" not in (tmp_path / "Pod.json").read_text()
    (wf,) = [w for w in back.list("Workflow") if w["metadata"]["name"] == "bad"]
    assert wf["status"]["nodes"]["n1"]["message"] == "boom"


def test_pods_and_events_are_listed_with_selectors_so_the_server_filters():
    kube = FakeKube({"pods": [], "events": []})
    seen = []
    inner = kube.list

    def listing(path, *, page_size=500, query=None):
        seen.append((path, query))
        return inner(path, page_size=page_size, query=query)
    kube.list = listing  # type: ignore[method-assign]
    view = LiveView(kube)  # type: ignore[arg-type]
    view.list("Pod"), view.list("Event")
    assert seen == [("/api/v1/pods", {"labelSelector": "workflows.argoproj.io/workflow"}),
                    ("/api/v1/events", {"fieldSelector": "type=Warning"})]
