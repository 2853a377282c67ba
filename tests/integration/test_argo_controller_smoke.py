"""The harness's ArgoController: Argo's real workflow-controller v3.7.18 on a control plane of its own
turns Workflows into Pods (nothing runs them: the apiserver-only plane has no scheduler or nodes)."""
from __future__ import annotations

import json
import time
import urllib.request

import pytest
import yaml

from ..conftest import manifests
from ..harness import ArgoController, ControlPlane, install_argo_crds, wait_for

pytestmark = pytest.mark.integration

ARTIFACT_REPOSITORY = {
    "s3": {"bucket": "my-bucket", "endpoint": "s3.invalid:9000", "insecure": True,
           "accessKeySecret": {"name": "my-s3", "key": "accesskey"},
           "secretKeySecret": {"name": "my-s3", "key": "secretkey"}},
}


def _create(cp: ControlPlane, path: str, obj: dict) -> dict:
    return cp.api("POST", path, obj)


@pytest.fixture(scope="module")
def argo(own_control_plane: ControlPlane):
    cp = own_control_plane
    install_argo_crds(cp, manifests("v3.7.18"))
    for ns in ("argo", "team-a"):
        _create(cp, "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    _create(cp, "/api/v1/namespaces/argo/configmaps", {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "workflow-controller-configmap", "namespace": "argo"},
        "data": {"artifactRepository": yaml.safe_dump(ARTIFACT_REPOSITORY)}})
    _create(cp, "/api/v1/namespaces/team-a/serviceaccounts", {
        "apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "runner", "namespace": "team-a"}})
    _create(cp, "/api/v1/namespaces/team-a/secrets", {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "my-s3", "namespace": "team-a"},
        "stringData": {"accesskey": "AKIAEXAMPLE", "secretkey": "example-secret-key"}})
    ctl = ArgoController(cp, namespace="argo")
    ctl.start()
    try:
        ready = ctl.wait_ready()
        print(f"\n[harness] {ctl.version().splitlines()[0]} ready in {ready:.1f}s "
              f"(metrics on :{ctl.metrics_port}, log {ctl.log_path})")
        yield cp, ctl
    finally:
        ctl.stop()


def _workflow(name: str, service_account: str) -> dict:
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
            "metadata": {"name": name, "namespace": "team-a"},
            "spec": {"entrypoint": "main", "serviceAccountName": service_account,
                     # a command, so the controller never looks the image's entrypoint up in a registry
                     "templates": [{"name": "main", "container": {"image": "alpine:3.20",
                                                                  "command": ["echo", "hello"]}}]}}


def _submit(cp: ControlPlane, wf: dict) -> float:
    _create(cp, "/apis/argoproj.io/v1alpha1/namespaces/team-a/workflows", wf)
    return time.monotonic()


def _get_wf(cp: ControlPlane, name: str) -> dict:
    return cp.get(f"/apis/argoproj.io/v1alpha1/namespaces/team-a/workflows/{name}") or {}


def test_workflow_gets_default_artifact_repository_and_a_pod_with_its_service_account(argo, capsys):
    cp, ctl = argo
    t0 = _submit(cp, _workflow("hello", "runner"))
    wf = wait_for(lambda: (w := _get_wf(cp, "hello")).get("status", {}).get("artifactRepositoryRef") and w,
                  "status.artifactRepositoryRef of workflow hello", timeout=60, procs=[ctl.process, *cp.procs])
    picked_up = time.monotonic() - t0
    ref = wf["status"]["artifactRepositoryRef"]
    # the controller's default (no artifact-repositories configmap in team-a), copied in full
    assert ref == {"default": True, "artifactRepository": ARTIFACT_REPOSITORY}

    pods = wait_for(lambda: cp.api("GET", "/api/v1/namespaces/team-a/pods?labelSelector="
                                          "workflows.argoproj.io%2Fworkflow%3Dhello")["items"],
                    "the pod of workflow hello", timeout=60, procs=[ctl.process, *cp.procs])
    pod_after = time.monotonic() - t0
    assert len(pods) == 1
    pod = pods[0]
    assert pod["spec"]["serviceAccountName"] == "runner"
    with capsys.disabled():
        print(f"\n[argo] workflow picked up after {picked_up:.1f}s, pod created after {pod_after:.1f}s")
        print(f"[argo] status.artifactRepositoryRef = {json.dumps(ref)}")
        print(f"[argo] status.phase = {wf['status'].get('phase')!r}")
        print(f"[argo] pod {pod['metadata']['name']}: serviceAccountName={pod['spec']['serviceAccountName']!r}, "
              f"automountServiceAccountToken={pod['spec'].get('automountServiceAccountToken')!r}")
        print(f"[argo] pod volumes = {json.dumps(pod['spec'].get('volumes'))}")
        print(f"[argo] pod spec mentions the artifact secret my-s3: {'my-s3' in json.dumps(pod['spec'])}")
        for c in pod["spec"].get("initContainers", []) + pod["spec"]["containers"]:
            print(f"[argo] container {c['name']}: image={c['image']} "
                  f"volumeMounts={json.dumps([m['name'] + ':' + m['mountPath'] for m in c.get('volumeMounts', [])])} "
                  f"env={[e['name'] for e in c.get('env', [])]}")


def test_workflow_with_a_missing_service_account_fails_with_the_apiserver_message(argo, capsys):
    cp, ctl = argo
    t0 = _submit(cp, _workflow("no-sa", "nobody"))

    def messages() -> list[str]:
        st = _get_wf(cp, "no-sa").get("status") or {}
        found = [("status.message", st.get("message") or "")]
        found += [(f"status.nodes[{n.get('displayName')}].message", n.get("message") or "")
                  for n in (st.get("nodes") or {}).values()]
        return [f"{where}: {m}" for where, m in found if 'serviceaccount "nobody" not found' in m]
    found = wait_for(messages, "the missing-ServiceAccount message of workflow no-sa", timeout=60,
                     procs=[ctl.process, *cp.procs])
    took = time.monotonic() - t0
    st = _get_wf(cp, "no-sa")["status"]
    assert st["phase"] == "Error"
    with capsys.disabled():
        print(f"\n[argo] failed after {took:.1f}s: phase={st.get('phase')!r}")
        for line in found:
            print(f"[argo] {line}")
    assert cp.api("GET", "/api/v1/namespaces/team-a/pods?labelSelector="
                         "workflows.argoproj.io%2Fworkflow%3Dno-sa")["items"] == []


def test_a_second_controller_stands_by_without_port_clashes(argo, capsys):
    cp, ctl = argo
    with urllib.request.urlopen(f"http://127.0.0.1:{ctl.metrics_port}/metrics", timeout=5) as r:
        metrics = r.read().decode()
    assert "argo_workflows_" in metrics
    standby = ArgoController(cp, namespace="argo")
    standby.start()
    try:
        # it sees the leader, serves the dummy metrics server on its own port and keeps running
        wait_for(lambda: f"leader={ctl.identity}" in standby.log(), "the standby seeing the leader", timeout=60,
                 procs=[standby.process, ctl.process, *cp.procs])
        with urllib.request.urlopen(f"http://127.0.0.1:{standby.metrics_port}/metrics", timeout=5) as r:
            assert r.status == 200 and r.read() == b""
        time.sleep(2)
        standby.check_alive()
        assert (ctl.lease() or {})["spec"]["holderIdentity"] == ctl.identity
        healthz = [line for line in standby.log().splitlines() if ":6060" in line]
        with capsys.disabled():
            print(f"\n[argo] standby {standby.identity} up beside leader {ctl.identity}; its :6060 lines: {healthz}")
    finally:
        standby.stop()
    assert (ctl.lease() or {})["spec"]["holderIdentity"] == ctl.identity
    ctl.check_alive()
