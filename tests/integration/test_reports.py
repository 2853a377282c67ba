"""Issue 6: the CronJob's manifests and least privilege on the real apiserver, its command writing
reports to a ConfigMap and the real S3 server, `report diff` around a breakage, and the history bound."""
from __future__ import annotations

import base64
import json

import pytest
import yaml

from argodoctor.fix.manifests import apply_manifests, load_manifests
from argodoctor.report.sinks import CONFIGMAP_BUDGET, ConfigMapStore, parse_sink
from argodoctor.view.cluster import KINDS
from argodoctor.view.kube import Kube

from ..conftest import manifests
from .test_foundation import ns_obj, writes

SA_USER = "system:serviceaccount:argodoctor:argodoctor"
SA_GROUPS = ["system:serviceaccounts", "system:serviceaccounts:argodoctor", "system:authenticated"]
REPORT = "configmap://argodoctor/argodoctor-report"


def sar(kube: Kube, verb: str, resource: str, group: str = "", namespace: str = "", name: str = "") -> bool:
    body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": {
        "user": SA_USER, "groups": SA_GROUPS, "resourceAttributes": {
            "verb": verb, "group": group, "resource": resource, "namespace": namespace, "name": name}}}
    return kube.request("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", body=body)["status"].get(
        "allowed", False)


@pytest.fixture(scope="module")
def cluster(own_control_plane, s3_server):
    """Argo v3.7.18 with a working artifact repository on the harness S3 server, workflows in team-a."""
    kube = Kube(str(own_control_plane.kubeconfig()))
    bucket = "reports-bucket"
    if not s3_server.client().bucket_exists(bucket):
        s3_server.client().make_bucket(bucket)
    apply_manifests(kube, [ns_obj("argo"), ns_obj("team-a")])
    apply_manifests(kube, load_manifests(manifests("v3.7.18").read_text()), namespace="argo")
    keys = {"accesskey": base64.b64encode(s3_server.access_key.encode()).decode(),
            "secretkey": base64.b64encode(s3_server.secret_key.encode()).decode()}
    repo = {"s3": {"bucket": bucket, "endpoint": "minio.argo.svc:9000", "insecure": True,
                   "accessKeySecret": {"name": "minio", "key": "accesskey"},
                   "secretKeySecret": {"name": "minio", "key": "secretkey"}}}
    apply_manifests(kube, [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "workflow-controller-configmap",
                                                              "namespace": "argo"},
         "data": {"artifactRepository": yaml.safe_dump(repo)}}] + [
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "minio", "namespace": ns}, "data": keys}
        for ns in ("argo", "team-a")] + [
        {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "w", "namespace": "team-a"},
         "spec": {"entrypoint": "m", "templates": [{"name": "m", "container": {"image": "alpine"}}]}}])
    return own_control_plane, kube, s3_server, bucket


def test_cronjob_manifests_are_accepted_and_hold_least_privilege(cluster, cli, tmp_path):
    cp, kube, s3, _ = cluster
    kc = str(cp.kubeconfig())
    code, out, _ = cli("cronjob", "manifest", "--schedule", "*/30 * * * *", "--", "--workflow-namespace", "team-a")
    docs = [d for d in yaml.safe_load_all(out) if d]
    cron = next(d for d in docs if d["kind"] == "CronJob")
    assert cron["spec"]["concurrencyPolicy"] == "Forbid" and cron["spec"]["schedule"] == "*/30 * * * *"
    container = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert container["command"][-2:] == ["--workflow-namespace", "team-a"] and REPORT in container["command"]
    sec = container["securityContext"]
    assert sec["runAsNonRoot"] and sec["readOnlyRootFilesystem"] and not sec["allowPrivilegeEscalation"]
    assert container["resources"]["limits"] and container["resources"]["requests"]

    code, out, err = cli("cronjob", "install", "--yes", "--kubeconfig", kc, "--backup-dir", tmp_path)
    assert code == 0, out + err
    assert kube.request("GET", "/apis/batch/v1/namespaces/argodoctor/cronjobs/argodoctor")["spec"][
        "concurrencyPolicy"] == "Forbid"
    mark = cp.audit_mark()
    code, out, _ = cli("cronjob", "install", "--yes", "--kubeconfig", kc, "--backup-dir", tmp_path)
    assert "nothing to do" in out and writes(cp.audit_events(mark)) == []

    # It can read what every check needs, cluster-wide ...
    for kind in KINDS.values():
        assert sar(kube, "list", kind.plural, kind.group), kind.resource
        # get only where a check gets by name (the S3 probes' Secrets); watch never (issue 31 item 4)
        assert sar(kube, "get", kind.plural, kind.group) == (kind.name == "Secret"), kind.resource
        assert not sar(kube, "watch", kind.plural, kind.group), kind.resource
    # ... write its own report ConfigMap and Events, and nothing else.
    assert sar(kube, "patch", "configmaps", namespace="argodoctor", name="argodoctor-report")
    assert sar(kube, "create", "events", namespace="team-a")
    denied = [(v, k.plural, k.group, ns) for k in KINDS.values() for v in ("create", "update", "patch", "delete")
              for ns in ("", "argodoctor", "team-a") if not (k.name == "ConfigMap" and ns == "argodoctor"
                                                             and v in ("update", "patch"))
              and not (k.name == "Event" and v == "create")]  # check --events: asserted just above
    allowed = [d for d in denied if sar(kube, d[0], d[1], d[2], d[3])]
    assert allowed == [], allowed
    assert not sar(kube, "create", "configmaps", namespace="argodoctor")
    assert not sar(kube, "patch", "configmaps", namespace="argodoctor", name="someone-elses")
    assert not sar(kube, "delete", "configmaps", namespace="argodoctor", name="argodoctor-report")
    for resource, group in (("pods", ""), ("pods/exec", ""), ("cronjobs", "batch"), ("jobs", "batch")):
        assert not sar(kube, "create", resource, group, namespace="argodoctor")


def test_cronjob_command_writes_reports_and_diff_names_the_new_failure(cluster, cli, tmp_path):
    cp, kube, s3, bucket = cluster
    cli("cronjob", "install", "--yes", "--kubeconfig", str(cp.kubeconfig()), "--backup-dir", tmp_path)
    sa_kc = str(cp.service_account_kubeconfig("argodoctor", "argodoctor"))
    from argodoctor.report.cronjob import CronJobSpec

    spec = CronJobSpec(report_to=(f"s3://{bucket}/argodoctor",))
    command = spec.command()[1:]  # what the CronJob's container runs, minus the program name

    def run() -> tuple[int, str, str]:
        return cli(*command, "--kubeconfig", sa_kc, "--s3-endpoint", s3.endpoint, "--workflow-namespace", "team-a")

    code, out, err = run()
    assert code == 0, out + err  # --fail-on none: the report carries the findings
    stored = ConfigMapStore(kube, parse_sink(REPORT)).read()
    assert stored["latest"]["results"] and len(stored["history"]) == 1
    assert {r["status"] for r in stored["latest"]["results"] if r["id"] == "AD203"} == {"pass"}
    names = [o.object_name for o in s3.client().list_objects(bucket, prefix="argodoctor/", recursive=True)]
    assert "argodoctor/latest.json" in names and any(n.endswith(".html") for n in names)

    kube.request("DELETE", "/api/v1/namespaces/team-a/secrets/minio")  # the deliberate breakage
    code, out, err = run()
    assert code == 0, out + err
    assert "emitted" in err
    code, out, err = cli("report", "diff", REPORT, "--kubeconfig", str(cp.kubeconfig()), "-o", "json")
    assert code == 1, err
    d = json.loads(out)
    assert [(r["id"], r["namespace"], r["object"]) for r in d["new"]] == [("AD203", "team-a", "Secret/minio")]
    assert d["fixed"] == []
    events = kube.request("GET", "/api/v1/namespaces/team-a/events")["items"]
    assert any(e["reason"] == "AD203Fail" and e["involvedObject"]["name"] == "minio" for e in events)
    # the S3 copy reads back too
    code, out, _ = cli("report", "show", f"s3://{bucket}/argodoctor/latest.json", "--kubeconfig",
                       str(cp.kubeconfig()), "--s3-endpoint", s3.endpoint, "-o", "json")
    assert code == 0 and any(r["id"] == "AD203" and r["status"] == "fail" for r in json.loads(out)["results"])


def test_configmap_history_stays_under_1mib_after_500_runs(cluster):
    _, kube, _, _ = cluster
    store = ConfigMapStore(kube, parse_sink("configmap://argodoctor/history-bound"))
    results = [{"id": f"AD{200 + i % 8}", "slug": "s", "status": "fail" if i % 3 else "pass", "severity": "error",
                "namespace": f"team-{i}", "object": f"Secret/s{i}", "message": "x" * 400, "remediation": None,
                "docs": "d"} for i in range(600)]  # ~300 KB of results per report
    sizes = []
    for run in range(500):
        report = {"argodoctor": "0.1.0", "started": f"2026-11-26T{run // 60:02d}:{run % 60:02d}:00Z",
                  "duration_s": 1.0, "summary": {"pass": 200, "fail": 400}, "results": results}
        sizes.append(store.write(report))
    cm = kube.request("GET", "/api/v1/namespaces/argodoctor/configmaps/history-bound")
    total = sum(len(v.encode()) for v in cm["data"].values())
    history = json.loads(cm["data"]["history.json"])
    print(f"\n[measure] after 500 runs: ConfigMap data {total} bytes, {len(history)} summaries kept, "
          f"largest write {max(sizes)} bytes")
    assert total < 1024 * 1024 and max(sizes) <= CONFIGMAP_BUDGET
    assert history[-1]["started"] == report["started"] and len(history) > 100
