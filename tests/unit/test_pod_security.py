"""AD404 and the Pod Security Standards evaluator (argodoctor.k8s.pod_security, after
k8s.io/pod-security-admission/policy) on the pod parts each executor creates (argo.executor_pod)."""
from __future__ import annotations

from argodoctor.remediations.set_executor_security_context import SetExecutorSecurityContext

from argodoctor import argo
from argodoctor.engine.registry import select_checks
from argodoctor.engine.runner import run_checks
from argodoctor.k8s import pod_security

from .builders import context, controller, controller_configmap, workflow

LATEST = pod_security.LATEST
BASELINE = pod_security.Level("baseline", LATEST)
RESTRICTED = pod_security.Level("restricted", LATEST)


def config(**settings) -> argo.ControllerConfig:
    return argo.parse_controller_config(controller_configmap(**settings))


def ns(name: str, level: str | None, version: str | None = None) -> dict:
    labels = {pod_security.ENFORCE_LABEL: level} if level else {}
    if version:
        labels[pod_security.ENFORCE_VERSION_LABEL] = version
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def test_docker_hostpath_and_pns_ptrace_are_rejected_under_baseline():
    docker = pod_security.violations(argo.executor_pod("docker", config(), None), BASELINE)
    assert docker == [("hostPath volumes", 'volume "docker-sock"')]
    pns = pod_security.violations(argo.executor_pod("pns", config(), None), BASELINE)
    assert pns == [("non-default capabilities", 'container "wait" must not include "SYS_PTRACE" in '
                                                "securityContext.capabilities.add")]
    assert pod_security.violations(argo.executor_pod("emissary", config(), None), BASELINE) == []


def test_restricted_needs_the_executor_security_context():
    found = dict(pod_security.violations(argo.executor_pod("emissary", config(), None), RESTRICTED))
    assert set(found) == {"allowPrivilegeEscalation != false", "runAsNonRoot != true", "seccompProfile",
                          "unrestricted capabilities"}
    assert found["allowPrivilegeEscalation != false"] == ('containers "init", "wait" must set '
                                                         "securityContext.allowPrivilegeEscalation=false")
    ok = config(executor={"securityContext": argo.RESTRICTED_EXECUTOR_SECURITY_CONTEXT})
    assert pod_security.violations(argo.executor_pod("emissary", ok, None), RESTRICTED) == []


def test_pod_level_security_context_counts_and_versions_gate_rules():
    sc = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    partial = config(executor={"securityContext": {"allowPrivilegeEscalation": False,
                                                   "capabilities": {"drop": ["ALL"]}}})
    assert pod_security.violations(argo.executor_pod("emissary", partial, sc), RESTRICTED) == []
    # before v1.22 restricted did not require dropping capabilities
    old = pod_security.Level("restricted", (1, 21))
    no_drop = config(executor={"securityContext": {"allowPrivilegeEscalation": False}})
    assert "unrestricted capabilities" not in dict(pod_security.violations(
        argo.executor_pod("emissary", no_drop, sc), old))


def test_namespace_level_from_labels():
    assert pod_security.namespace_level(ns("a", None)) is None
    assert pod_security.namespace_level(ns("a", "privileged")) is None
    assert str(pod_security.namespace_level(ns("a", "restricted"))) == "restricted:latest"
    assert str(pod_security.namespace_level(ns("a", "baseline", "v1.25"))) == "baseline:v1.25"


def ad404(*objs, version: str = "v3.7.18", **cm):
    res = run_checks(select_checks(["AD404"]), context(controller(version), controller_configmap(**cm), *objs))
    return {r.namespace: r for r in res if r.id == "AD404"}


def test_ad404_results():
    res = ad404(ns("argo", None), ns("team-a", "restricted"), workflow("team-a"))
    assert res["argo"].status == "pass"
    r = res["team-a"]
    assert r.status == "fail" and r.remediation == "set-executor-security-context"
    assert 'violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false' in r.message
    res = ad404(ns("argo", None), ns("team-a", "baseline"), workflow("team-a"), version="v3.2.11")  # docker
    assert res["team-a"].status == "fail" and res["team-a"].remediation == "set-executor"
    assert "hostPath volumes" in res["team-a"].message
    fixed = ad404(ns("argo", None), ns("team-a", "restricted"), workflow("team-a"),
                  executor={"securityContext": argo.RESTRICTED_EXECUTOR_SECURITY_CONTEXT})
    assert fixed["team-a"].status == "pass"


def test_set_executor_security_context_keeps_the_executor_fields():
    ctx = context(controller(), controller_configmap(executor={"imagePullPolicy": "Always"}, parallelism=5))
    [action] = SetExecutorSecurityContext().plan(ctx).actions
    import yaml
    executor = yaml.safe_load(action.desired["data"]["executor"])
    assert executor["imagePullPolicy"] == "Always"
    assert executor["securityContext"] == argo.RESTRICTED_EXECUTOR_SECURITY_CONTEXT
    done = context(controller(), controller_configmap(executor={
        "securityContext": argo.RESTRICTED_EXECUTOR_SECURITY_CONTEXT}))
    assert SetExecutorSecurityContext().plan(done).actions == []
