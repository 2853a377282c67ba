"""Argo installed the way most production clusters install it: the argo-helm `argo-workflows` chart
(../shared/argo-helm/, two releases), rendered by the real `helm` (built from the Go module proxy)
with several value sets, applied to the fuller control plane (Deployments become Available on kwok
nodes), then checked. A sound install gets no false verdict; each seeded fault gets its true one."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from argodoctor.fix.manifests import apply_manifests
from argodoctor.view.kube import Kube

from ..conftest import _unavailable
from .test_foundation import ns_obj

pytestmark = pytest.mark.integration

CHARTS = Path(os.environ.get("ARGODOCTOR_HELM_CHARTS") or next(
    (c for c in (Path(__file__).resolve().parents[3] / "shared" / "argo-helm", Path("/work/shared/argo-helm"))
     if c.is_dir()), Path("/work/shared/argo-helm")))
CHART_VERSIONS = ("argo-workflows-0.41.14", "argo-workflows-1.0.18")
# Checks that need no live S3 endpoint (the chart's endpoint is not served here).
CHECKS = "AD101,AD102,AD103,AD105,AD201,AD202,AD203,AD301,AD302,AD303,AD304,AD305,AD401,AD402,AD403"
REPO = {"s3": {"bucket": "argo-artifacts", "endpoint": "minio.argo.svc:9000", "insecure": True,
               "accessKeySecret": {"name": "my-minio-cred", "key": "accesskey"},
               "secretKeySecret": {"name": "my-minio-cred", "key": "secretkey"}}}
SOUND = {"artifactRepository": REPO, "workflow": {"serviceAccount": {"create": True}},
         "controller": {"workflowNamespaces": ["team-a"],
                        "workflowDefaults": {"spec": {"serviceAccountName": "argo-workflow"}}}}


@pytest.fixture(scope="module")
def helm(server_bin: Path) -> str:
    path = server_bin / "helm"
    if not path.exists():
        _unavailable(f"helm is not built at {path} (tests/controlplane/build.sh builds it)")
    if not (CHARTS / CHART_VERSIONS[0]).is_dir():
        _unavailable(f"the argo-helm charts are not at {CHARTS} (set ARGODOCTOR_HELM_CHARTS)")
    return str(path)


def render(helm: str, chart: str, release: str, namespace: str, values: dict, tmp_path: Path) -> list[dict]:
    vf = tmp_path / f"{release}-values.yaml"
    # chart 1.x installs its full CRDs by a hook Job running kubectl (no image runs here): render the
    # minified CRDs as templates instead (crds.full: false); 0.41.x ignores the key
    vf.write_text(yaml.safe_dump({"crds": {"full": False}, **values}))
    out = subprocess.run([helm, "template", release, str(CHARTS / chart), "--namespace", namespace, "-f", str(vf)],
                         capture_output=True, text=True, check=True, timeout=120).stdout
    docs = [d for d in yaml.safe_load_all(out) if isinstance(d, dict) and d.get("kind")]
    for d in docs:  # helm template leaves the release namespace off namespaced objects
        if d["kind"] not in ("CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding", "Namespace"):
            d["metadata"].setdefault("namespace", namespace)
    return docs


def secret(ns: str) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "my-minio-cred", "namespace": ns},
            "stringData": {"accesskey": "admin", "secretkey": "password"}}


def workflow(ns: str, name: str = "hello", labels: dict | None = None, **spec) -> dict:
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
            "metadata": {"name": name, "namespace": ns, "labels": labels or {}},
            "spec": {"entrypoint": "main", "templates": [{"name": "main", "container": {"image": "alpine"}}], **spec}}


def install(cp, docs: list[dict], namespaces: list[str], extra: list[dict]) -> tuple[str, dict]:
    kc = str(cp.kubeconfig())
    kube = Kube(kc)
    cp.add_node("node-1", "containerd://1.7.0")
    apply_manifests(kube, [ns_obj(ns) for ns in namespaces])
    crds = [d for d in docs if d["kind"] == "CustomResourceDefinition"]
    apply_manifests(kube, crds)
    apply_manifests(kube, [d for d in docs if d["kind"] != "CustomResourceDefinition"])
    dep = next(d for d in docs if d["kind"] == "Deployment" and "workflow-controller" in d["metadata"]["name"])
    cp.wait_deployment_available(dep["metadata"]["namespace"], dep["metadata"]["name"])
    apply_manifests(kube, extra)
    return kc, dep


def verdicts(cli, kc: str) -> dict[tuple[str, str | None, str | None], dict]:
    code, out, err = cli("check", "--kubeconfig", kc, "--checks", CHECKS, "-o", "json")
    assert code in (0, 1), err
    return {(r["id"], r["namespace"], r["object"]): r for r in json.loads(out)["results"]}


def bad(results: dict) -> list[str]:
    return [f"{k}: {r['status']}: {r['message']}" for k, r in results.items()
            if r["status"] in ("fail", "error", "warn")]


@pytest.mark.parametrize("chart", CHART_VERSIONS)
def test_sound_install_gets_no_false_verdict(chart, helm, full_control_plane, cli, tmp_path):
    docs = render(helm, chart, "argo-workflows", "argo", SOUND, tmp_path)
    kc, dep = install(full_control_plane, docs, ["argo", "team-a"],
                      [secret("argo"), secret("team-a"), workflow("team-a")])
    assert dep["metadata"]["name"] == "argo-workflows-workflow-controller"
    got = verdicts(cli, kc)
    assert not bad(got), "\n".join(bad(got))
    ad201 = got[("AD201", "team-a", "ConfigMap/argo-workflows-workflow-controller-configmap")]
    assert "from ConfigMap argo/argo-workflows-workflow-controller-configmap key config" in ad201["message"]
    # the workflow runs as workflowDefaults' SA, which the chart created and bound in team-a
    assert ("AD302", "team-a", "ServiceAccount/argo-workflow") in got
    assert ("AD302", "team-a", "ServiceAccount/default") not in got


@pytest.mark.parametrize("chart", CHART_VERSIONS)
def test_release_name_and_single_namespace(chart, helm, full_control_plane, cli, tmp_path):
    values = {**SOUND, "singleNamespace": True, "controller": {
        "workflowDefaults": {"spec": {"serviceAccountName": "argo-workflow"}}}}
    docs = render(helm, chart, "ci", "ops", values, tmp_path)
    kc, dep = install(full_control_plane, docs, ["ops", "team-b"],
                      [secret("ops"), workflow("ops"), workflow("team-b", serviceAccountName="default")])
    assert dep["metadata"]["name"] == "ci-argo-workflows-workflow-controller"
    args = dep["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--namespaced" in args and "ci-argo-workflows-workflow-controller-configmap" in args
    got = verdicts(cli, kc)
    # the controller watches only ops: the Workflow in team-b is the one true finding
    assert [k for k, r in got.items() if r["status"] == "fail" and k[0] == "AD105"] == \
        [("AD105", "team-b", "Workflow/hello")], "\n".join(bad(got))
    assert "watches only namespace ops" in got[("AD105", "team-b", "Workflow/hello")]["message"]
    ops = {k: r for k, r in got.items() if k[1] == "ops"}
    assert not bad(ops), "\n".join(bad(ops))


@pytest.mark.parametrize("chart", CHART_VERSIONS)
def test_instance_id_from_the_release_name(chart, helm, full_control_plane, cli, tmp_path):
    values = {**SOUND, "controller": {**SOUND["controller"], "instanceID": {"enabled": True, "useReleaseName": True}}}
    docs = render(helm, chart, "argo-workflows", "argo", values, tmp_path)
    label = {"workflows.argoproj.io/controller-instanceid": "argo-workflows"}
    kc, _ = install(full_control_plane, docs, ["argo", "team-a"],
                    [secret("argo"), secret("team-a"), workflow("team-a", "mine", labels=label),
                     workflow("team-a", "stray")])
    got = verdicts(cli, kc)
    failing = {k: r for k, r in got.items() if r["status"] == "fail"}
    assert list(failing) == [("AD105", "team-a", "Workflow/stray")], "\n".join(bad(got))
    assert "labelled workflows.argoproj.io/controller-instanceid=argo-workflows" in \
        failing[("AD105", "team-a", "Workflow/stray")]["message"]


@pytest.mark.parametrize("chart", CHART_VERSIONS)
def test_check_f_before_apply_gives_the_installed_verdicts_and_names_the_line(chart, helm, full_control_plane, cli,
                                                                             tmp_path):
    """The render checked with -f over a cluster that has only the namespaces, the Secrets, a workflow (and
    the CRDs it needs): what the installed chart gets, before anything of it is applied. Then a render
    with the bucket left out: AD202 names the ConfigMap's document in the render."""
    def rendered(values: dict) -> Path:
        vf = tmp_path / "values.yaml"
        vf.write_text(yaml.safe_dump({"crds": {"full": False}, **values}))
        out = tmp_path / "render.yaml"
        out.write_text(subprocess.run([helm, "template", "argo-workflows", str(CHARTS / chart), "--namespace",
                                       "argo", "-f", str(vf)], capture_output=True, text=True, check=True,
                                      timeout=120).stdout)
        return out

    render_file = rendered(SOUND)
    docs = [d for d in yaml.safe_load_all(render_file.read_text()) if isinstance(d, dict) and d.get("kind")]
    cp = full_control_plane
    kc = str(cp.kubeconfig())
    kube = Kube(kc)
    cp.add_node("node-1", "containerd://1.7.0")
    apply_manifests(kube, [ns_obj("argo"), ns_obj("team-a")])
    apply_manifests(kube, [d for d in docs if d["kind"] == "CustomResourceDefinition"])
    apply_manifests(kube, [secret("argo"), secret("team-a"), workflow("team-a")])
    args = ("check", "--kubeconfig", kc, "-f", str(render_file), "--apply-namespace", "argo", "--checks", CHECKS)
    code, out, err = cli(*args, "-o", "json")
    got = {(r["id"], r["namespace"], r["object"]): r for r in json.loads(out)["results"]}
    assert not bad(got), "\n".join(bad(got)) + err
    assert ("AD302", "team-a", "ServiceAccount/argo-workflow") in got  # the chart's SA, not yet applied

    broken = json.loads(json.dumps(SOUND))
    del broken["artifactRepository"]["s3"]["bucket"]
    render_file = rendered(broken)
    code, out, _ = cli(*args, "-o", "json")
    [ad202] = [r for r in json.loads(out)["results"] if r["id"] == "AD202" and r["namespace"] == "argo"]
    assert ad202["status"] == "fail" and ad202["location"]["file"] == str(render_file)  # outside the cwd: absolute
    lines = render_file.read_text().splitlines()
    at = ad202["location"]["line"]  # the chart renders `bucket:` empty: that line, inside `config: |`
    begin = max(i for i in range(at) if lines[i].startswith("---"))
    end = next((i for i in range(at, len(lines)) if lines[i].startswith("---")), len(lines))
    document = "\n".join(lines[begin:end])
    assert "kind: ConfigMap" in document and "name: argo-workflows-workflow-controller-configmap" in document
    assert lines[at - 1].strip() == "bucket:", lines[at - 1]
    assert any(lines[i].strip().startswith("config:") for i in range(begin, at))


@pytest.mark.parametrize("chart", CHART_VERSIONS)
def test_check_f_offline_on_the_render_as_users_make_it_gives_no_false_verdict(chart, helm, cli, tmp_path):
    """`helm template` with the chart's default CRD settings (1.x: a hook Job applies the full CRDs, so the
    render holds none) and the repository's Secret made apart: offline, nothing the render lacks fails."""
    vf = tmp_path / "values.yaml"
    vf.write_text(yaml.safe_dump(SOUND))
    out = tmp_path / "render.yaml"
    out.write_text(subprocess.run([helm, "template", "argo-workflows", str(CHARTS / chart), "--namespace", "argo",
                                   "-f", str(vf)], capture_output=True, text=True, check=True, timeout=120).stdout)
    code, stdout, err = cli("check", "-f", str(out), "--offline", "--apply-namespace", "argo", "-o", "json")
    results = {(r["id"], r["namespace"], r["object"]): r for r in json.loads(stdout)["results"]}
    assert code == 0 and not bad(results), "\n".join(bad(results)) + err
    # what the render does not hold is named, not judged
    ad203 = [r for (cid, _, _), r in results.items() if cid == "AD203"]
    assert ad203 and all(r["status"] == "skip" and 'secret "my-minio-cred" in ' in r["message"]
                         and "is not in the files" in r["message"] for r in ad203), ad203
    has_crds = "kind: CustomResourceDefinition" in out.read_text()
    [ad101] = [r for (cid, _, _), r in results.items() if cid == "AD101"]
    assert ad101["status"] == ("pass" if has_crds else "skip"), ad101
