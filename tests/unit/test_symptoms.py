"""The table of messages (argo.symptoms) and the diagnosis of one Workflow (engine.diagnosis), issue 25."""
from __future__ import annotations

import datetime as dt
import re
import time

import pytest

from argodoctor.argo import Version, symptoms
from argodoctor.engine import diagnosis

V37, V40 = Version(3, 7, 18), Version(4, 1, 2)

# What the sources print, verbs filled as a real failure fills them (one per row: a row with no example fails).
EXAMPLES = {
    "repository-ref-not-found": 'failed to find any artifact repository for artifact repository ref '
                                '"&ArtifactRepositoryRef{ConfigMap:my-repos,Key:s3,}"',
    "no-repository-v3": "You need to configure artifact storage. More information on how to do this can be found in "
                        "the docs: https://argo-workflows.readthedocs.io/en/latest/configure-artifact-repository/",
    "no-repository-v4": "artifact storage is not configured; see the docs for setup instructions: "
                        "https://argo-workflows.readthedocs.io/en/latest/configure-artifact-repository/",
    "repository-unreadable": "failed to get artifact repository: error unmarshaling JSON: json: cannot unmarshal "
                             "string into Go value of type v1alpha1.ArtifactRepository",
    "artifact-driver-not-found": "artifact driver my-driver not found",
    "secret-key-file-missing": "wait: Error (exit code 64): open /argo/secret/minio/accesskey: no such file or "
                               "directory",
    "secret-key-missing": "secret 'minio' does not have the key 'accesskey'",
    "task-result-forbidden": 'wait: Error (exit code 64): workflowtaskresults.argoproj.io "wf-123" is forbidden: '
                             'User "system:serviceaccount:team-a:default" cannot create resource '
                             '"workflowtaskresults" in API group "argoproj.io" in the namespace "team-a"',
    "task-result-patch-failed": "failed to patch task result, see https://argo-workflows.readthedocs.io/en/latest/"
                                "workflow-rbac/ attempt: 3",
    "pod-patch-forbidden": 'pods "wf-123" is forbidden: User "system:serviceaccount:team-a:default" cannot patch '
                           'resource "pods" in API group "" in the namespace "team-a"',
    "executor-unauthorized": "wait: Error (exit code 64): Unauthorized",
    "s3-no-such-bucket": "wait: Error (exit code 64): failed to put file: The specified bucket does not exist",
    "s3-access-denied": "failed to put file: Access Denied.",
    "s3-signature-mismatch": "The request signature we calculated does not match the signature you provided. "
                             "Check your key and signing method.",
    "s3-unknown-access-key": "The Access Key Id you provided does not exist in our records.",
    "s3-no-such-host": 'Put "http://minio:9000/bucket/x": dial tcp: lookup minio on 10.96.0.10:53: no such host',
    "s3-connection-refused": "dial tcp 10.0.0.5:9000: connect: connection refused",
    "service-account-missing": 'pods "wf-123" is forbidden: error looking up service account team-a/runner: '
                               'serviceaccount "runner" not found',
    "quota-must-specify": 'pods "wf-123" is forbidden: failed quota: compute: must specify limits.cpu for: init,wait',
    "quota-exceeded": 'pods "wf-1" is forbidden: exceeded quota: compute, requested: cpu=1, used: cpu=4, '
                      "limited: cpu=4",
    "limitrange-maximum": 'pods "wf-1" is forbidden: maximum cpu usage per Container is 500m, but limit is 1',
    "limitrange-minimum": 'pods "wf-1" is forbidden: minimum memory usage per Container is 64Mi, but request is 0',
    "pod-security": 'pods "wf-1" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation '
                    '!= false (containers "init", "wait" must set securityContext.allowPrivilegeEscalation=false)',
    "secret-volume-missing": 'MountVolume.SetUp failed for volume "minio" : secret "minio" not found',
    "secret-volume-key-missing": 'MountVolume.SetUp failed for volume "minio" : references non-existent secret '
                                 "key: accesskey",
    "secret-env-key-missing": "couldn't find key accesskey in Secret team-a/minio",
    "image-pull-backoff": 'Back-off pulling image "registry.local/argoexec:v3.7.18"',
    "image-pull-failed": 'Failed to pull image "registry.local/argoexec:v3.7.18": rpc error: code = Unknown',
    "sync-key-not-found": "Sync configuration key 'workflow' not found in ConfigMap",
    "cron-no-schedule": "cron workflow must have at least one schedule",
    # the real controller v3.7.18's message for a semaphore key that does not exist (tests/integration/
    # test_diagnose_real.py produces it)
    "sync-semaphore-init": "Failed to acquire the synchronization lock. failed to initialize semaphore "
                           "team-sync/ConfigMap/sync/missing with limit",
    "sync-lock-failed": "Failed to acquire the synchronization lock. Sync configuration key 'x' not found in ConfigMap",
    "unknown-config-field": 'error unmarshaling JSON: while decoding JSON: json: unknown field '
                            '"containerRuntimeExecutor"',
}


def test_every_row_has_an_example_and_a_cited_source():
    assert set(EXAMPLES) == set(symptoms.ROW_BY_ID)
    for row in symptoms.ROWS:
        assert row.checks and all(re.fullmatch(r"AD\d{3}", c) for c in row.checks), row.id
        assert row.source and row.cause, row.id


@pytest.mark.parametrize("row_id", sorted(EXAMPLES))
def test_each_message_is_classified_to_its_row_first(row_id):
    row = symptoms.ROW_BY_ID[row_id]
    version = V40 if row.since and row.since >= (4, 0) else Version(3, 4) if row.until and row.until < (3, 7) else V37
    matches = symptoms.classify(EXAMPLES[row_id], version)
    assert matches and row_id in [m.row.id for m in matches], [m.row.id for m in matches]
    assert matches[0].row.checks == row.checks or row_id in [m.row.id for m in matches[:2]]


def test_wording_that_changed_is_kept_apart_by_version():
    v3 = EXAMPLES["no-repository-v3"]
    v4 = EXAMPLES["no-repository-v4"]
    assert [m.row.id for m in symptoms.classify(v3, V37)] == ["no-repository-v3"]
    assert symptoms.classify(v3, V40) == []  # v4 never writes the v3 wording
    assert symptoms.classify(v4, V37) == [] and [m.row.id for m in symptoms.classify(v4, V40)] == ["no-repository-v4"]
    assert symptoms.classify(EXAMPLES["cron-no-schedule"], V37) == []


def test_the_derived_pattern_is_the_verbatim_text_with_its_verbs_as_groups():
    row = symptoms.ROW_BY_ID["sync-key-not-found"]
    assert row.regex.search("Sync configuration key 'x' not found in ConfigMap").groups() == ("x",)
    assert not row.regex.search("Sync configuration key 'x' not found")  # the literal rest must match


def test_a_megabyte_message_costs_its_first_part_only():
    huge = "x" * 1_000_000 + EXAMPLES["s3-no-such-bucket"]
    t0 = time.process_time()
    assert symptoms.classify(huge, V37) == []  # past MAX_SCANNED: not scanned
    assert symptoms.classify("a" * 2_000_000, V37) == []
    assert time.process_time() - t0 < 5  # generous; linear patterns take milliseconds


def wf(phase: str | None = "Failed", message: str | None = None, nodes: dict | None = None, **meta) -> dict:
    w = {"kind": "Workflow", "metadata": {"name": "w", "namespace": "team-a", **meta}}
    if phase is not None:
        w["status"] = {"phase": phase, **({"message": message} if message else {}), "nodes": nodes or {}}
    return w


def test_the_workflows_own_code_is_never_blamed_on_the_install():
    d = diagnosis.diagnose(wf(message="main: Error (exit code 1)"), [], [], V37)
    assert not d.install_problem and "own code" in d.verdict and d.check_ids == []


def test_an_unknown_executor_failure_is_an_install_problem():
    d = diagnosis.diagnose(wf(message="wait: Error (exit code 64): something nobody wrote down"), [], [], V37)
    assert d.install_problem and "executor" in d.verdict and d.unknown and not d.symptoms


def test_a_workflow_without_status_is_ad105s_symptom():
    d = diagnosis.diagnose(wf(phase=None), [], [], V37)
    assert d.install_problem and d.check_ids == ["AD105"] and "no controller" in d.verdict


def test_pod_states_and_events_are_read_and_the_same_message_is_one_symptom():
    pod = {"metadata": {"name": "w-1"}, "status": {"containerStatuses": [
        {"name": "main", "state": {"waiting": {"reason": "CreateContainerConfigError",
                                               "message": "couldn't find key accesskey in Secret team-a/minio"}}}]}}
    event = {"reason": "FailedMount", "involvedObject": {"kind": "Pod", "name": "w-1"},
             "message": EXAMPLES["secret-volume-missing"]}
    d = diagnosis.diagnose(wf(phase="Running"), [pod], [event, dict(event)], V37)
    assert [s.rows[0].id for s in d.symptoms] == ["secret-env-key-missing", "secret-volume-missing"]
    assert d.check_ids == ["AD203"] and d.install_problem


def test_credentials_in_messages_are_not_echoed():
    token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
    d = diagnosis.diagnose(wf(message=f"wait: Error (exit code 64): bad token {token} for AKIAABCDEFGHIJKLMNOP"),
                           [], [], V37)
    assert token not in str(d.to_dict()) and "AKIAABCDEFGHIJKLMNOP" not in str(d.to_dict())


def test_ten_thousand_nodes_stay_bounded():
    nodes = {f"n{i}": {"id": f"n{i}", "phase": "Failed", "message": f"main: Error (exit code 1) {i}"}
             for i in range(10_000)}
    d = diagnosis.diagnose(wf(nodes=nodes), [], [], V37)
    assert len(d.symptoms) + len(d.unknown) <= diagnosis.MAX_SYMPTOMS


def test_failed_selects_the_window_and_stuck_ones():
    now = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.timezone.utc)
    old = wf(message="x")
    old["status"]["finishedAt"] = "2026-12-01T00:00:00Z"
    recent = wf(message="y", name="r")
    recent["status"]["finishedAt"] = "2026-12-03T11:00:00Z"
    stuck = wf(phase=None, name="s", creationTimestamp="2026-12-03T11:50:00Z")
    young = wf(phase=None, name="y", creationTimestamp="2026-12-03T11:59:30Z")  # a controller may take it yet
    ok = wf(phase="Succeeded", name="ok")
    picked = diagnosis.select_failed([old, recent, stuck, young, ok], 24 * 3600, now)
    assert [w["metadata"]["name"] for w in picked] == ["s", "r"]


def test_docs_symptoms_md_is_generated_from_the_table_and_explain_shows_a_checks_rows(cli):
    from pathlib import Path

    docs = Path(__file__).resolve().parents[2] / "docs" / "symptoms.md"
    assert docs.read_text() == symptoms.markdown(), "stale: python -m argodoctor.argo.symptoms > docs/symptoms.md"
    code, out, _ = cli("explain", "AD203")
    assert code == 0 and 'MountVolume.SetUp failed for volume "%s" : secret "%s" not found' in out
