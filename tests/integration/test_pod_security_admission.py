"""AD404's model against the real Pod Security Admission of kube-apiserver: namespaces enforcing
baseline and restricted (latest and pinned), and pods shaped as Argo's controller shapes them
(argo.executor_pod, with a main container that itself satisfies restricted), created with dryRun=All.
The apiserver's admit/reject and its message (reasons and details, word for word) must be what
argodoctor.k8s.pod_security predicts."""
from __future__ import annotations

import itertools
import re
import urllib.error

import pytest
import yaml

from argodoctor import argo
from argodoctor.k8s import pod_security

from ..harness import ControlPlane

pytestmark = pytest.mark.integration

MAIN = {"name": "main", "image": "alpine", "securityContext": {
    "runAsNonRoot": True, "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"}}}
LEVELS = [("baseline", None), ("restricted", None), ("restricted", "v1.21"), ("baseline", "v1.25")]
EXECUTOR_SC = [None, {"allowPrivilegeEscalation": False}, argo.RESTRICTED_EXECUTOR_SECURITY_CONTEXT]
POD_SC = [None, {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}]


def reasons(message: str) -> set[str]:
    """The reasons of a `violates PodSecurity "...": reason (detail), reason (detail)` message."""
    body = message.split('": ', 1)[1]
    return {m.strip(", ") for m in re.findall(r"(?:^|\), )([^()]+?) \(", body)}


@pytest.fixture(scope="module")
def namespaces(control_plane: ControlPlane):
    names = []
    for i, (level, version) in enumerate(LEVELS):
        name = f"psa-{i}-{level}-{(version or 'latest').replace('.', '-')}"
        labels = {pod_security.ENFORCE_LABEL: level}
        if version:
            labels[pod_security.ENFORCE_VERSION_LABEL] = version
        control_plane.api("POST", "/api/v1/namespaces",
                          {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}})
        control_plane.api("POST", f"/api/v1/namespaces/{name}/serviceaccounts",
                          {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}})
        names.append((name, pod_security.Level(level, pod_security.LATEST if version is None else
                                               tuple(int(x) for x in version[1:].split(".")))))
    return names


def test_pod_security_admission_agrees(control_plane, namespaces, capsys):
    cases = disagreements = 0
    problems = []
    for (ns, level), executor, esc, psc in itertools.product(namespaces, ("emissary", "pns", "docker"),
                                                              EXECUTOR_SC, POD_SC):
        cfg = argo.parse_controller_config({"metadata": {"name": "c", "namespace": "argo"},
                                            "data": {} if esc is None else {
                                                "executor": yaml.safe_dump({"securityContext": esc})}})
        spec = argo.executor_pod(executor, cfg, psc)
        predicted = pod_security.violations(spec, level)
        spec["containers"] = [*spec["containers"], MAIN]
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"generateName": "argo-"}, "spec": spec}
        cases += 1
        text = ""
        try:
            control_plane.api("POST", f"/api/v1/namespaces/{ns}/pods?dryRun=All", pod)
            admitted, seen = True, set()
        except urllib.error.HTTPError as e:
            assert e.code == 403, e.msg
            admitted, seen, text = False, reasons(e.msg), e.msg
        if admitted != (not predicted) or seen != {r for r, _ in predicted} or (
                predicted and pod_security.message(level, predicted) not in text):
            disagreements += 1
            problems.append(f"{ns} {executor} executorSC={esc} podSC={psc}: apiserver {admitted} {text} "
                            f"vs predicted {pod_security.message(level, predicted)}")
    with capsys.disabled():
        print(f"\n[psa] {cases} pod shapes x levels, {disagreements} disagreements with kube-apiserver's PSA")
    assert not problems, "\n".join(problems)
