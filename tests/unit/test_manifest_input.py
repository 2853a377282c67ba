"""check -f (issue 14): Argo's own install manifests, every release, judged offline as they will be once
applied; a seeded mistake named with its file and line in every format; renders, not templates."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from ..conftest import MANIFESTS, manifests

# What a bare install truly lacks (the seed guide's later steps): no artifact repository, and the
# `default` ServiceAccount workflows run as has no executor rights; up to v3.2 the docker executor.
TRUE_FINDINGS = {("AD201", "fail"), ("AD302", "fail")}
DOCKER_DEFAULT = {("AD403", "warn")}


def findings(out: str) -> set[tuple[str, str]]:
    return {(r["id"], r["status"]) for r in json.loads(out)["results"] if r["status"] not in ("pass", "skip")}


@pytest.mark.parametrize("version", sorted(p.name for p in MANIFESTS.glob("v*")) if MANIFESTS.is_dir() else [])
def test_every_release_manifest_gets_only_true_verdicts(cli, version):
    for flavour in ("cluster-install", "namespace-install"):
        if flavour == "namespace-install" and not (MANIFESTS / version / f"{flavour}.yaml").exists():
            continue  # v4.1 ships cluster-install only
        code, out, err = cli("check", "-f", manifests(version, flavour), "--offline", "--apply-namespace", "argo",
                             "-o", "json")
        expected = TRUE_FINDINGS | (DOCKER_DEFAULT if version < "v3.3" else set())
        assert code == 1 and findings(out) == expected, (version, flavour, findings(out), err)
        results = json.loads(out)["results"]
        ad102 = next(r for r in results if r["id"] == "AD102")
        assert ad102["status"] == "pass" and ad102["location"]["file"].endswith(f"{flavour}.yaml")


# The quick-start installs MinIO and its repository too. Its only findings: the docker executor up to
# v3.2, and in v3.3 the `pns` executor it configures for labelled workflows, whose extra rights its
# `executor` Role lacks (v3.3.10 manifests/quick-start/base/executor/pns/executor-role.yaml).
QUICK_START = {"v3.3.10": {("AD302", "warn")}}


@pytest.mark.parametrize("version", sorted(p.name for p in MANIFESTS.glob("v*")
                                           if (p / "quick-start-minimal.yaml").exists()) if MANIFESTS.is_dir() else [])
def test_every_release_quick_start_gets_only_true_verdicts(cli, version):
    code, out, err = cli("check", "-f", manifests(version, "quick-start-minimal"), "--offline",
                         "--apply-namespace", "argo", "-o", "json")
    expected = DOCKER_DEFAULT if version < "v3.3" else QUICK_START.get(version, set())
    assert findings(out) == expected, (version, findings(out), err)
    # MinIO is a Deployment from v3.0 and a bare Pod in v2.12: its Service has endpoints once applied
    ad501 = [r for r in json.loads(out)["results"] if r["id"] == "AD501"]
    assert ad501 and all(r["status"] == "pass" for r in ad501), ad501


MINIO_STATEFULSET = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: workflow-controller-configmap, namespace: argo}
data:
  artifactRepository: |
    s3: {bucket: b, endpoint: "minio.store.svc:9000", insecure: true,
         accessKeySecret: {name: minio, key: accesskey}, secretKeySecret: {name: minio, key: secretkey}}
---
apiVersion: v1
kind: Service
metadata: {name: minio, namespace: store}
spec:
  selector: {app: minio}
  ports: [{name: api, port: 9000}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: minio, namespace: store}
spec:
  serviceName: minio
  selector: {matchLabels: {app: minio}}
  template:
    metadata: {labels: {app: minio, release: x}}
    spec: {containers: [{name: minio, image: minio/minio}]}
"""


def _ad501(cli, path) -> list[tuple[str, str]]:
    _, out, _ = cli("check", "-f", path, "--offline", "--checks", "AD501", "-o", "json")
    return [(r["status"], r["message"]) for r in json.loads(out)["results"] if r["namespace"] == "argo"]


def test_a_service_backed_by_a_statefulset_has_endpoints_one_backed_by_nothing_none_an_externalname_no_verdict(
        cli, tmp_path):
    (tmp_path / "argo.yaml").write_text(manifests("v3.7.18").read_text())
    minio = tmp_path / "zz-minio.yaml"  # after argo.yaml: its ConfigMap replaces the controller's
    minio.write_text(MINIO_STATEFULSET)
    [(status, message)] = _ad501(cli, tmp_path)
    assert status == "pass" and "1 ready endpoint" in message
    minio.write_text(MINIO_STATEFULSET.replace("{app: minio, release: x}", "{app: other}"))
    [(status, message)] = _ad501(cli, tmp_path)  # the selector matches no pod of the files
    assert status == "fail" and "no ready endpoints" in message
    # an ExternalName Service has no endpoints by design: no verdict here (AD204 probes the name, live)
    minio.write_text(MINIO_STATEFULSET.split("---")[0] + "---\napiVersion: v1\nkind: Service\nmetadata: "
                     "{name: minio, namespace: store}\nspec: {type: ExternalName, externalName: s3.example.com.}\n")
    [(status, message)] = _ad501(cli, tmp_path)
    assert status == "skip" and "ExternalName Service for s3.example.com:" in message


def _results(view, ids: list[str]) -> dict[tuple[str, str | None, str | None], tuple[str, str]]:
    from argodoctor.engine.context import Context
    from argodoctor.engine.registry import select_checks
    from argodoctor.engine.runner import run_checks

    return {(r.id, r.namespace, r.object): (r.status.value, r.message)
            for r in run_checks(select_checks(ids), Context(view))}


def _as_cluster(files) -> Any:
    """The objects of the files as a whole cluster's snapshot (not a partial view)."""
    from argodoctor.view.cluster import SnapshotView

    return SnapshotView("cluster", [o for objs in (files.objects, files.implied) for group in objs.values()
                                    for o in group])


TEAM_BOUND_TO = """\
apiVersion: v1
kind: Namespace
metadata: {name: team-a}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: default-role, namespace: team-a}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: ROLE}
subjects: [{kind: ServiceAccount, name: default, namespace: team-a}]
---
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: w, namespace: team-a}
spec: {entrypoint: main, templates: [{name: main, container: {image: alpine}}]}
"""


def test_a_binding_to_a_role_the_files_lack_is_no_verdict_offline_and_grants_nothing_on_a_cluster(cli, tmp_path):
    """The seed's method one binds `default` to the built-in `admin`, which no manifest defines: offline,
    whether it grants the executor's rights is unknown (admin aggregates Argo's rules on a cluster)."""
    from argodoctor.view.manifest_input import offline_view, read

    (tmp_path / "argo.yaml").write_text(manifests("v3.7.18").read_text())
    team = tmp_path / "team.yaml"

    def ad302(view=None) -> tuple[str, str]:
        if view is None:  # through the command, as a CI gate runs it
            _, out, _ = cli("check", "-f", tmp_path, "--offline", "--apply-namespace", "argo", "--checks", "AD302",
                            "-o", "json")
            [r] = [r for r in json.loads(out)["results"] if r["id"] == "AD302" and r["namespace"] == "team-a"]
            return r["status"], r["message"]
        return _results(view, ["AD302"])[("AD302", "team-a", "ServiceAccount/default")]

    team.write_text(TEAM_BOUND_TO.replace("ROLE", "admin"))
    status, message = ad302()
    assert status == "skip", message
    assert "RoleBinding team-a/default-role binds ClusterRole admin, which the files do not define" in message
    # the same objects as a whole cluster's snapshot: a binding to a role that does not exist grants nothing
    files = read([str(tmp_path)], "argo")
    assert offline_view(files).partial
    whole = _as_cluster(files)
    assert not whole.partial and ad302(whole)[0] == "fail"
    # a role the files define and that lacks the rights: a verdict, offline too
    team.write_text(TEAM_BOUND_TO.replace("ROLE", "argo-aggregate-to-view"))
    status, message = ad302()
    assert status == "fail" and "lacks create workflowtaskresults" in message


REFERENCES = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: workflow-controller-configmap, namespace: argo}
data:
  artifactRepository: |
    s3: {bucket: my-bucket, endpoint: "minio:9000", insecure: true,
         accessKeySecret: {name: s3-keys, key: accesskey}, secretKeySecret: {name: s3-keys, key: secretkey}}
---
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: w, namespace: argo}
spec:
  serviceAccountName: runner
  executor: {serviceAccountName: exec-sa}
  entrypoint: main
  templates: [{name: main, container: {image: alpine}}]
"""


def test_objects_the_files_name_but_lack_are_no_verdict_offline_and_fail_on_a_cluster(tmp_path):
    """Files are part of a cluster: the repository's Secret (External Secrets, Sealed Secrets), a workflow's
    ServiceAccount, its token Secret, the object store's Service may all be created apart. Offline they get
    `skip`, naming the object; the same objects as a whole cluster's snapshot fail."""
    from argodoctor.view.manifest_input import offline_view, read

    (tmp_path / "argo.yaml").write_text(manifests("v3.7.18").read_text())
    (tmp_path / "zz.yaml").write_text(REFERENCES)
    files = read([str(tmp_path)], "argo")
    ids = ["AD203", "AD301", "AD302", "AD304", "AD501"]
    wanted = [("AD203", "argo", "Secret/s3-keys"), ("AD301", "argo", "ServiceAccount/runner"),
              ("AD301", "argo", "ServiceAccount/exec-sa"), ("AD302", "argo", "ServiceAccount/exec-sa"),
              ("AD304", "argo", "ServiceAccount/exec-sa"), ("AD501", "argo", "Service/minio")]
    offline = _results(offline_view(files), ids)
    for key in wanted:
        status, message = offline[key]
        assert status == "skip" and "is not in the files; it may be created apart" in message, (key, message)
    assert "External Secrets" in offline[wanted[0]][1] and "External Secrets" not in offline[wanted[1]][1]
    whole = _results(_as_cluster(files), ids)
    assert [whole[k][0] for k in wanted if k[0] in ("AD203", "AD301", "AD501")] == ["fail"] * 4, whole
    # a Secret the files hold in another namespace only: the seed's very fault, a verdict offline too
    (tmp_path / "zz.yaml").write_text(REFERENCES.replace("namespace: argo}\nspec:", "namespace: team-a}\nspec:")
                                      + "---\napiVersion: v1\nkind: Secret\nmetadata: {name: s3-keys, namespace: argo}"
                                      "\ndata: {accesskey: YQ==, secretkey: Yg==}\n")
    offline = _results(offline_view(read([str(tmp_path)], "argo")), ["AD203"])
    status, message = offline[("AD203", "team-a", "Secret/s3-keys")]
    assert status == "fail" and "it exists only in argo" in message


def test_files_without_argo_are_no_verdict_on_its_install_offline(tmp_path):
    """A team's own files (no CRDs, no controller) judged offline say nothing of whether Argo is installed;
    as a whole cluster's snapshot, the same objects mean it is not."""
    from argodoctor.view.manifest_input import offline_view, read

    (tmp_path / "team.yaml").write_text(REFERENCES)
    files = read([str(tmp_path)], "argo")
    offline = _results(offline_view(files), ["AD101", "AD102"])
    assert [(k[0], v[0]) for k, v in sorted(offline.items())] == [("AD101", "skip"), ("AD102", "skip")]
    assert all("not in the files" in v[1] for v in offline.values())
    assert "--include-crds" in offline[("AD101", None, None)][1]
    whole = _results(_as_cluster(files), ["AD101", "AD102"])
    assert sorted(v[0] for v in whole.values()) == ["fail", "fail"]


BAD_CONFIG = """\
# the controller's ConfigMap as a team's overlay writes it: the bucket forgotten
apiVersion: v1
kind: ConfigMap
metadata:
  name: workflow-controller-configmap
data:
  artifactRepository: |
    s3:
      endpoint: minio:9000
      insecure: true
      accessKeySecret: {name: minio, key: accesskey}
      secretKeySecret: {name: minio, key: secretkey}
"""


def test_a_seeded_mistake_is_named_with_file_and_line_in_every_format(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "argo.yaml").write_text(manifests("v3.7.18").read_text())
    (tmp_path / "deploy" / "zz-config.yaml").write_text(BAD_CONFIG)  # after argo.yaml: it replaces the CM
    args = ("check", "-f", "deploy", "--offline", "--apply-namespace", "argo")
    _, out, _ = cli(*args, "-o", "json")
    ad202 = next(r for r in json.loads(out)["results"] if r["id"] == "AD202")
    assert ad202["status"] == "fail" and "bucket" in ad202["message"]
    # the line of the key that holds the repository (the bucket it lacks has no line of its own)
    assert ad202["location"] == {"file": "deploy/zz-config.yaml", "line": 7}
    _, table, _ = cli(*args)
    assert "ConfigMap/workflow-controller-configmap (deploy/zz-config.yaml:7)" in table
    _, sarif, _ = cli(*args, "-o", "sarif")
    run = json.loads(sarif)["runs"][0]
    [res] = [r for r in run["results"] if r["ruleId"] == "AD202"]
    # What GitHub code scanning requires of an uploaded result: a rule id the driver declares, a physical
    # location with a relative URI and a start line, and partial fingerprints to track it across runs.
    assert res["ruleId"] in {rule["id"] for rule in run["tool"]["driver"]["rules"]}
    physical = res["locations"][0]["physicalLocation"]
    assert physical == {"artifactLocation": {"uri": "deploy/zz-config.yaml"}, "region": {"startLine": 7}}
    assert all(r["partialFingerprints"]["argodoctorFinding/v1"] for r in run["results"])
    assert len({r["partialFingerprints"]["argodoctorFinding/v1"] for r in run["results"]}) == len(run["results"])
    _, junit, _ = cli(*args, "-o", "junit")
    case = next(c for c in ET.fromstring(junit).iter("testcase") if c.get("classname").startswith("AD202"))
    assert (case.get("file"), case.get("line")) == ("deploy/zz-config.yaml", "7")
    # a field that is there but wrong: the line of that field inside the ConfigMap's embedded YAML
    (tmp_path / "deploy" / "zz-config.yaml").write_text(BAD_CONFIG.replace(
        "      endpoint: minio:9000\n", "      bucket: argo-bucket\n      endpoint: http://minio:9000\n"))
    _, out, _ = cli(*args, "-o", "json")
    ad202 = next(r for r in json.loads(out)["results"] if r["id"] == "AD202" and r["namespace"] == "argo")
    assert "has a scheme" in ad202["message"]
    assert ad202["location"] == {"file": "deploy/zz-config.yaml", "line": 10}
    line = (tmp_path / "deploy" / "zz-config.yaml").read_text().splitlines()[9]
    assert line.strip() == "endpoint: http://minio:9000"


def test_stdin_lists_and_templates(cli, tmp_path, monkeypatch):
    import io
    import sys

    text = manifests("v3.7.18").read_text()
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    code, out, _ = cli("check", "-f", "-", "--offline", "--apply-namespace", "argo", "-o", "json")
    ad102 = next(r for r in json.loads(out)["results"] if r["id"] == "AD102")
    assert ad102["status"] == "pass" and ad102["location"]["file"] == "<stdin>"
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: x\nversion: 1.0.0\n")
    code, _, err = cli("check", "-f", chart, "--offline")
    assert code == 2 and "is a Helm chart: render it first" in err and "helm template" in err
    kust = tmp_path / "overlay"
    kust.mkdir()
    (kust / "kustomization.yaml").write_text("resources: []\n")
    code, _, err = cli("check", "-f", kust, "--offline")
    assert code == 2 and "kubectl kustomize" in err
    (tmp_path / "t.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.name }}\n")
    code, _, err = cli("check", "-f", tmp_path / "t.yaml", "--offline")
    assert code == 2 and "Helm template" in err and "Traceback" not in err
    code, _, err = cli("check", "-f", tmp_path / "t.yaml", "--snapshot", tmp_path)
    assert code == 2 and "cannot go together" in err


def test_a_document_of_null_kind_and_a_nul_in_the_endpoint_are_errors_the_rest_judged(cli, tmp_path):
    """Issue 23 item 5: `kind: null` (snapshot: exit 3) and a NUL in the repository endpoint reaching the
    Service lookup (AD501: ValueError) are each an `error` naming what cannot be read; the rest is judged."""
    import shutil

    null_kind = "---\napiVersion: v1\nkind: null\nmetadata: {name: x, namespace: argo}\n"
    files, snap = tmp_path / "files", tmp_path / "snap"
    files.mkdir()
    (files / "argo.yaml").write_text(manifests("v3.7.18").read_text())
    (files / "zz.yaml").write_text(MINIO_STATEFULSET.replace('"minio.store', '"minio\\0.store') + null_kind)
    shutil.copytree(Path(__file__).parents[2] / "examples" / "seed-broken", snap)
    seed = (snap / "argo.yaml").read_text()
    (snap / "argo.yaml").write_text(seed.replace("endpoint: minio:9000", 'endpoint: "minio\\0:9000"') + null_kind)
    for argv in (("check", "-f", files, "--offline"), ("check", "--snapshot", snap)):
        code, out, err = cli(*argv, "-o", "json")
        assert code == 1 and "Traceback" not in err, (argv, err)
        results = json.loads(out)["results"]
        errors = [r["message"] for r in results if r["status"] == "error"]
        kind = [m for m in errors if ".yaml" in m and "kind: expected a string, got null" in m]
        nul = [r for r in results if r["id"] == "AD501" and "holds a control character (\\x00)" in r["message"]]
        assert len(kind) == 1 and nul and len(errors) == 1 + len(nul), (argv, errors)  # one per workflow namespace
        assert {r["id"] for r in results if r["status"] == "pass"} >= {"AD102", "AD201"}, argv


DEFAULTS_SA = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: workflow-controller-configmap, namespace: argo}
data:
  workflowDefaults: |
    spec: {serviceAccountName: argo-workflow}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: argo-workflow, namespace: argo}
---
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: w, namespace: team-a}
spec: {entrypoint: main, templates: [{name: main, container: {image: alpine}}]}
"""


def test_offline_a_service_of_the_files_will_have_endpoints_once_applied(cli, tmp_path):
    """Issue 23 item 4: a Service that exists only in the files *will have* endpoints once applied (one with
    no selector gets none from Kubernetes: no verdict)."""
    (tmp_path / "argo.yaml").write_text(manifests("v3.7.18").read_text())
    minio = tmp_path / "zz-minio.yaml"
    minio.write_text(MINIO_STATEFULSET)
    [(status, message)] = _ad501(cli, tmp_path)
    assert status == "pass" and "will have 1 ready endpoint(s) on port 9000 once applied" in message, message
    minio.write_text(MINIO_STATEFULSET.split("---")[0] + "---\napiVersion: v1\nkind: Service\nmetadata: "
                     "{name: minio, namespace: store}\nspec: {ports: [{port: 9000}]}\n")
    [(status, message)] = _ad501(cli, tmp_path)
    assert status == "skip" and "the Endpoints of Service store/minio (it has no selector) are not in the files" \
        in message, message


def test_offline_an_executor_sa_the_files_lack_is_no_pass(tmp_path):
    """Issue 23 item 4: the SA whose token the executor uses is no `pass` when the files lack it (AD304)."""
    from argodoctor.view.manifest_input import offline_view, read

    (tmp_path / "argo.yaml").write_text(manifests("v3.7.18").read_text())
    team = tmp_path / "zz-team.yaml"
    team.write_text(TEAM_BOUND_TO.replace("ROLE", "admin").replace("spec: {entrypoint",
                                                                   "spec: {serviceAccountName: runner, entrypoint"))
    results = _results(offline_view(read([str(tmp_path)], "argo")), ["AD301", "AD304"])
    status, message = results[("AD304", "team-a", "ServiceAccount/runner")]
    assert status == "skip" and "ServiceAccount team-a/runner, whose token the executor uses" in message, message
    team.write_text(team.read_text() + "---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: runner, "
                    "namespace: team-a}\n")
    results = _results(offline_view(read([str(tmp_path)], "argo")), ["AD301", "AD304"])
    assert results[("AD304", "team-a", "ServiceAccount/runner")][0] == "pass"


def test_offline_a_defaults_sa_the_files_make_in_other_namespaces_only_is_a_warning(tmp_path):
    """Issue 23 item 4: workflowDefaults' SA made by the files in some namespaces but not in another is a
    warning there, as a Secret held in another namespace only is a finding (AD203)."""
    from argodoctor.view.manifest_input import offline_view, read

    (tmp_path / "argo.yaml").write_text(manifests("v3.7.18").read_text())
    (tmp_path / "zz-team.yaml").write_text(DEFAULTS_SA)
    results = _results(offline_view(read([str(tmp_path)], "argo")), ["AD301", "AD304"])
    status, message = results[("AD301", "team-a", "ServiceAccount/argo-workflow")]
    assert status == "warn" and "which create it in argo only" in message, message
    assert results[("AD301", "argo", "ServiceAccount/argo-workflow")][0] == "pass"
    assert results[("AD304", "team-a", "ServiceAccount/argo-workflow")][0] == "skip"
