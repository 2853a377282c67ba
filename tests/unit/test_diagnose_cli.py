"""`argodoctor diagnose` on snapshots, and the symptoms `check` puts on its findings (issue 25)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from ..conftest import validate_diagnose, validate_report

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "seed-broken"


def snapshot(tmp_path: Path, *objects: dict) -> str:
    """The seed's broken install (Secret minio only in argo) plus the given objects."""
    out = tmp_path / "snap"
    shutil.copytree(EXAMPLE, out)
    (out / "zz-extra.json").write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)}))
    return str(out)


def failed_workflow(name: str, message: str, phase: str = "Error", namespace: str = "team-a") -> dict:
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
            "metadata": {"name": name, "namespace": namespace, "creationTimestamp": "2026-12-03T00:00:00Z"},
            "spec": {"entrypoint": "main", "templates": [{"name": "main", "container": {"image": "alpine"}}]},
            "status": {"phase": phase, "message": message,
                       "nodes": {name: {"id": name, "displayName": name, "type": "Pod", "phase": phase,
                                        "message": message}}}}


def pod(workflow: str, name: str, namespace: str = "team-a", **status) -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": {"workflows.argoproj.io/workflow": workflow}},
            "spec": {"serviceAccountName": "default", "containers": [{"name": "main", "image": "alpine"}]},
            "status": {"phase": "Pending", **status}}


def event(pod_name: str, reason: str, message: str, namespace: str = "team-a") -> dict:
    return {"apiVersion": "v1", "kind": "Event", "metadata": {"name": f"{pod_name}.1", "namespace": namespace},
            "type": "Warning", "reason": reason, "message": message, "lastTimestamp": "2026-12-03T00:01:00Z",
            "involvedObject": {"kind": "Pod", "name": pod_name, "namespace": namespace}}


MOUNT = 'MountVolume.SetUp failed for volume "minio" : secret "minio" not found'


def test_the_seeds_missing_secret_is_diagnosed_from_the_kubelets_event(cli, tmp_path):
    wf = failed_workflow("art-1", "", phase="Running")
    snap = snapshot(tmp_path, wf, pod("art-1", "art-1-main"), event("art-1-main", "FailedMount", MOUNT))
    code, out, err = cli("diagnose", "art-1", "-n", "team-a", "--snapshot", snap, "-o", "json")
    assert code == 1, err
    doc = validate_diagnose(out)
    (entry,) = doc["workflows"]
    assert [s["row"] for s in entry["symptoms"]] == ["secret-volume-missing"]
    assert entry["symptoms"][0]["where"] == "Event FailedMount on Pod art-1-main"
    (evidence,) = [r for r in entry["evidence"] if r["id"] == "AD203"]
    assert evidence["status"] == "fail" and evidence["namespace"] == "team-a"
    assert entry["fix"] == ["argodoctor fix copy-artifact-secret"]
    code, text, _ = cli("diagnose", "art-1", "-n", "team-a", "--snapshot", snap)
    assert "symptom" in text and "cause" in text and "argodoctor fix copy-artifact-secret" in text


def test_the_workflows_own_failure_exits_0_and_blames_nothing(cli, tmp_path):
    snap = snapshot(tmp_path, failed_workflow("mine", "main: Error (exit code 2)", phase="Failed"))
    code, out, _ = cli("diagnose", "mine", "-n", "team-a", "--snapshot", snap, "-o", "json")
    (entry,) = validate_diagnose(out)["workflows"]
    assert code == 0 and not entry["install_problem"] and entry["evidence"] == [] and "own code" in entry["verdict"]


def test_failed_diagnoses_every_failed_workflow_and_check_names_them_on_the_finding(cli, tmp_path):
    msg = "wait: Error (exit code 64): open /argo/secret/minio/accesskey: no such file or directory"
    snap = snapshot(tmp_path, *[failed_workflow(f"w{i}", msg) for i in range(7)],
                    failed_workflow("own", "main: Error (exit code 1)", phase="Failed"))
    code, out, _ = cli("diagnose", "--failed", "--since", "876000h", "--snapshot", snap, "-o", "json")
    doc = validate_diagnose(out)
    # and the seed's own Workflow, which has no status at all: no controller took it (AD105's symptom)
    assert code == 1 and len(doc["workflows"]) == 9
    assert sum(w["install_problem"] for w in doc["workflows"]) == 8
    (stuck,) = [w for w in doc["workflows"] if w["phase"] is None]
    assert stuck["checks"] == ["AD105"]
    code, out, _ = cli("check", "--snapshot", snap, "--since", "876000h", "-o", "json")
    validate_report(out)
    (ad203,) = [r for r in json.loads(out)["results"] if r["id"] == "AD203" and r["status"] == "fail"]
    assert ad203["symptoms"]["count"] == 7 and len(ad203["symptoms"]["workflows"]) == 5
    code, text, _ = cli("check", "--snapshot", snap, "--since", "876000h")
    assert "explains 7 failed Workflows" in text


def test_a_name_that_does_not_exist_is_one_line_with_a_suggestion(cli, tmp_path):
    snap = snapshot(tmp_path, failed_workflow("art-1", "x"))
    code, out, err = cli("diagnose", "art-2", "-n", "team-a", "--snapshot", snap)
    assert code == 2 and err.strip() == "argodoctor: no Workflow 'art-2' in namespace team-a; did you mean art-1?"
    code, _, err = cli("diagnose", "--snapshot", snap)
    assert code == 2 and "--failed" in err
    code, _, err = cli("diagnose", "Bad_Name", "-n", "team-a", "--snapshot", snap)
    assert code == 2 and "not a valid Workflow name" in err


def test_an_unknown_message_is_said_so(cli, tmp_path):
    snap = snapshot(tmp_path, failed_workflow("odd", "something nobody wrote down"))
    code, out, _ = cli("diagnose", "odd", "-n", "team-a", "--snapshot", snap, "-o", "json")
    (entry,) = validate_diagnose(out)["workflows"]
    assert code == 1 and entry["symptoms"] == [] and entry["unknown"][0]["message"] == "something nobody wrote down"


def test_report_diff_carries_the_symptoms(cli, tmp_path):
    msg = "wait: Error (exit code 64): open /argo/secret/minio/accesskey: no such file or directory"
    old_snap = snapshot(tmp_path / "old")
    new_snap = snapshot(tmp_path / "new", failed_workflow("w1", msg))
    for name, snap in (("old", old_snap), ("new", new_snap)):
        cli("check", "--snapshot", snap, "--since", "876000h", "--report-to", f"file://{tmp_path / name}.json")
    # the Secret fails in both: unchanged, and now it explains a failed Workflow
    code, out, _ = cli("report", "diff", f"file://{tmp_path / 'old.json'}", f"file://{tmp_path / 'new.json'}")
    assert "explains 1 failed Workflow" in out and "team-a/w1" in out
    code, out, _ = cli("report", "diff", f"file://{tmp_path / 'old.json'}", f"file://{tmp_path / 'new.json'}",
                       "-o", "json")
    (ad203,) = [r for r in json.loads(out)["unchanged"] if r["id"] == "AD203"]
    assert ad203["symptoms"]["workflows"] == ["team-a/w1"]
