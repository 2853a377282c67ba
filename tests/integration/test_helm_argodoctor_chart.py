"""Issue 15: charts/argodoctor, rendered and linted by the real `helm` (built by build.sh), gives the same
objects as `argodoctor cronjob manifest` for the same settings; and the chart installs on the apiserver."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from argodoctor import __version__
from argodoctor.report.cronjob import CronJobSpec, manifests

from ..conftest import _unavailable

pytestmark = pytest.mark.integration
CHART = Path(__file__).resolve().parents[2] / "charts" / "argodoctor"
EXEMPTIONS = """exemptions:
- check: AD303
  namespace: argo
  object: ServiceAccount/argo
  reason: the controller's own account
  expires: "2099-01-01"
"""


@pytest.fixture(scope="module")
def helm(server_bin: Path) -> str:
    path = server_bin / "helm"
    if not path.exists():
        _unavailable(f"helm is not built at {path} (tests/controlplane/build.sh builds it)")
    return str(path)


def render(helm: str, namespace: str, values: dict, tmp_path: Path) -> list[dict]:
    vf = tmp_path / "values.yaml"
    vf.write_text(yaml.safe_dump(values))
    out = subprocess.run([helm, "template", "argodoctor", str(CHART), "--namespace", namespace, "-f", str(vf)],
                         check=True, capture_output=True, text=True).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def normal(objs: list[dict]) -> dict[tuple[str, str, str], dict]:
    """By (kind, namespace, name); the exemptions file compared as the YAML it is (Helm re-serialises it)."""
    out = {}
    for o in objs:
        key = (o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"])
        assert key not in out, key
        if o["kind"] == "ConfigMap" and "argodoctor.yaml" in (o.get("data") or {}):
            o = {**o, "data": {"argodoctor.yaml": yaml.safe_load(o["data"]["argodoctor.yaml"])}}
        out[key] = o
    return out


CASES = {
    "defaults": ({"namespace": {"create": True}}, CronJobSpec()),
    "every-setting": (
        {"namespace": {"create": True}, "schedule": "*/15 * * * *",
         "image": {"repository": "registry.example/argodoctor", "tag": "dev"},
         "reportTo": ["s3://reports/argo"], "events": False,
         "pushGateway": {"url": "http://pushgateway.monitoring:9091", "job": "nightly"},
         "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
         "exemptions": yaml.safe_load(EXEMPTIONS)["exemptions"], "extraArgs": ["--workflow-namespace", "team-a"]},
        CronJobSpec(namespace="checks", schedule="*/15 * * * *", image="registry.example/argodoctor:dev",
                    report_to=("s3://reports/argo",), events=False, push_gateway="http://pushgateway.monitoring:9091",
                    push_job="nightly", exemptions=EXEMPTIONS, extra_args=("--workflow-namespace", "team-a"),
                    resources={"requests": {"cpu": "100m", "memory": "256Mi"},
                               "limits": {"cpu": "1", "memory": "1Gi"}})),
    "namespaced-no-secrets": (
        {"namespace": {"create": True}, "rbac": {"secrets": False, "namespacedRead": {
            "enabled": True, "controllerNamespace": "argo", "workflowNamespaces": ["team-a", "team-b", "argo"]}}},
        CronJobSpec(secrets=False, namespaced_read=True, controller_namespace="argo",
                    workflow_namespaces=("team-a", "team-b", "argo"))),
    "no-secrets": ({"namespace": {"create": True}, "rbac": {"secrets": False}}, CronJobSpec(secrets=False)),
}


@pytest.mark.parametrize("case", CASES)
def test_helm_template_gives_the_objects_of_cronjob_manifest(helm, tmp_path, case):
    values, spec = CASES[case]
    chart = normal(render(helm, spec.namespace, values, tmp_path))
    cli = normal(manifests(spec))
    assert sorted(chart) == sorted(cli)
    for key in cli:
        assert chart[key] == cli[key], key
    # without namespace.create (helm install --create-namespace), everything but the Namespace
    rest = normal(render(helm, spec.namespace, {**values, "namespace": {"create": False}}, tmp_path))
    assert sorted(rest) == sorted(k for k in cli if k[0] != "Namespace")


def test_the_cli_flags_give_the_same_as_the_spec(cli, tmp_path):
    f = tmp_path / "exemptions.yaml"
    f.write_text(EXEMPTIONS)
    code, out, err = cli("cronjob", "manifest", "--cronjob-namespace", "checks", "--schedule", "*/15 * * * *",
                         "--image", "registry.example/argodoctor:dev", "--report-to", "s3://reports/argo",
                         "--no-events", "--push-gateway", "http://pushgateway.monitoring:9091", "--push-job",
                         "nightly", "--exemptions", f, "--", "--workflow-namespace", "team-a")
    assert code == 0, err
    spec = CASES["every-setting"][1]
    want = manifests(CronJobSpec(**{**spec.__dict__, "resources": CronJobSpec().resources}))
    assert list(yaml.safe_load_all(out)) == want


def test_helm_lint_is_clean_and_the_chart_versions_follow_argodoctor(helm):
    p = subprocess.run([helm, "lint", "--strict", str(CHART)], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "[WARNING]" not in p.stdout and "[ERROR]" not in p.stdout, p.stdout
    meta = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert meta["appVersion"] == __version__ == meta["version"]


def test_the_chart_installs_on_the_apiserver(helm, own_control_plane, tmp_path):
    """Every rendered object is accepted by the real apiserver (server-side dry run would do; apply is real)."""
    from argodoctor.fix.manifests import apply_manifests
    from argodoctor.view.kube import Kube

    objs = render(helm, "argodoctor", {"namespace": {"create": True}, **CASES["every-setting"][0],
                                       "exemptions": CASES["every-setting"][0]["exemptions"]}, tmp_path)
    kube = Kube(str(own_control_plane.kubeconfig()))
    apply_manifests(kube, objs)
    cron = kube.request("GET", "/apis/batch/v1/namespaces/argodoctor/cronjobs/argodoctor")
    assert cron["spec"]["schedule"] == "*/15 * * * *"
    cm = kube.request("GET", "/api/v1/namespaces/argodoctor/configmaps/argodoctor-config")
    assert yaml.safe_load(cm["data"]["argodoctor.yaml"]) == yaml.safe_load(EXEMPTIONS)


ROLE_ARGS = {"defaults": (), "every-setting": (), "no-secrets": ("--no-secrets",),
             "namespaced-no-secrets": ("--no-secrets", "--namespaced-read", "--controller-namespace", "argo",
                                       "--workflow-namespace", "team-a", "--workflow-namespace", "team-b")}


@pytest.mark.parametrize("case", CASES)
def test_the_chart_renders_the_rules_of_argodoctor_role(helm, cli, tmp_path, case):
    """Issue 31 item 4: the chart's reader roles are `argodoctor role`'s for the same choices (one table)."""
    values, spec = CASES[case]
    code, out, err = cli("role", *ROLE_ARGS[case], "--service-account", f"{spec.namespace}/argodoctor", "-o", "json")
    assert code == 0, err
    doc = json.loads(out)
    printed = {(o["kind"], o["metadata"].get("namespace", "")): o for o in doc.get("items", [doc])}
    chart = {(o["kind"], o["metadata"].get("namespace", "")): o for o in render(helm, spec.namespace, values, tmp_path)
             if o["metadata"]["name"] == "argodoctor-reader"}
    assert sorted(chart) == sorted(printed)
    for key, obj in printed.items():
        if key[0].endswith("Binding"):
            assert chart[key]["roleRef"] == obj["roleRef"] and chart[key]["subjects"] == obj["subjects"], key
        else:
            assert chart[key]["rules"] == obj["rules"], key
    rules = [r for (kind, _), o in chart.items() if not kind.endswith("Binding") for r in o["rules"]]
    assert not any("watch" in r["verbs"] for r in rules)
    assert any("secrets" in r["resources"] for r in rules) == spec.secrets


def test_the_report_role_gets_and_patches_only_its_configmap(helm, tmp_path):
    role = next(o for o in render(helm, "argodoctor", {}, tmp_path) if o["metadata"]["name"] == "argodoctor-report"
                and o["kind"] == "Role")
    assert role["rules"] == [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "patch"],
                              "resourceNames": ["argodoctor-report"]}]


def test_the_optional_network_policy(helm, tmp_path):
    """Issue 31 item 3: off by default; on, egress only to the API server, DNS and the object stores of values."""
    assert not [o for o in render(helm, "argodoctor", {}, tmp_path) if o["kind"] == "NetworkPolicy"]
    values = {"networkPolicy": {"enabled": True, "apiServer": {"cidrs": ["10.0.0.1/32"], "ports": [6443]},
                                "objectStores": [{"cidr": "10.96.5.5/32", "ports": [9000, 9443]}]}}
    [policy] = [o for o in render(helm, "argodoctor", values, tmp_path) if o["kind"] == "NetworkPolicy"]
    spec = policy["spec"]
    assert spec["policyTypes"] == ["Ingress", "Egress"] and "ingress" not in spec
    assert spec["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "argodoctor",
                                                  "app.kubernetes.io/managed-by": "argodoctor"}
    api, dns, store = spec["egress"]
    assert api == {"to": [{"ipBlock": {"cidr": "10.0.0.1/32"}}], "ports": [{"protocol": "TCP", "port": 6443}]}
    assert dns["to"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}]
    assert dns["ports"] == [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]
    assert store == {"to": [{"ipBlock": {"cidr": "10.96.5.5/32"}}],
                     "ports": [{"protocol": "TCP", "port": 9000}, {"protocol": "TCP", "port": 9443}]}
    # the pod the CronJob makes is the one selected
    cron = next(o for o in render(helm, "argodoctor", values, tmp_path) if o["kind"] == "CronJob")
    labels = cron["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    assert spec["podSelector"]["matchLabels"].items() <= labels.items()
    # enabled without the API server's addresses: a clear failure, not a policy that cuts the job off
    vf = tmp_path / "bad.yaml"
    vf.write_text(yaml.safe_dump({"networkPolicy": {"enabled": True}}))
    p = subprocess.run([helm, "template", "argodoctor", str(CHART), "-f", str(vf)], capture_output=True, text=True)
    assert p.returncode != 0 and "networkPolicy.apiServer.cidrs" in p.stderr
