"""AD105 controller-reach on fixtures built from argo-workflows' InstanceIDRequirement (workflow/util/util.go)
and the namespace a controller watches (main.go --namespaced/--managed-namespace, GetManagedNamespace)."""
from __future__ import annotations

from argodoctor.engine.registry import select_checks
from argodoctor.engine.runner import run_checks

from .builders import context, controller, controller_configmap, workflow

LABEL = "workflows.argoproj.io/controller-instanceid"


def available(dep: dict) -> dict:
    dep["status"] = {"conditions": [{"type": "Available", "status": "True"}], "replicas": 1, "availableReplicas": 1}
    return dep


def labelled(wf: dict, value: str) -> dict:
    wf["metadata"]["labels"] = {LABEL: value}
    return wf


def reach(*objs) -> dict[str, list]:
    out: dict[str, list] = {}
    for r in run_checks(select_checks(["AD105"]), context(*objs)):
        if r.id == "AD105":
            out.setdefault(r.namespace, []).append(r)
    return out


def test_plain_controller_runs_unlabelled_workflows_everywhere():
    res = reach(available(controller()), controller_configmap(), workflow("team-a"))
    assert [r.status for r in res["team-a"]] == ["pass"]


def test_instance_id_ignores_unlabelled_and_other_labelled_workflows():
    res = reach(available(controller()), controller_configmap(instanceID="prod"), workflow("team-a", "plain"),
                labelled(workflow("team-a", "other"), "dev"), labelled(workflow("team-b", "mine"), "prod"))
    assert [r.status for r in res["team-a"]] == ["fail"]
    assert "no controller runs Workflow plain, Workflow other" in res["team-a"][0].message
    assert f"only objects labelled {LABEL}=prod" in res["team-a"][0].message
    assert [r.status for r in res["team-b"]] == ["pass"]


def test_without_instance_id_a_labelled_workflow_is_ignored():
    res = reach(available(controller()), controller_configmap(), labelled(workflow("team-a"), "x"))
    assert res["team-a"][0].status == "fail" and f"only objects without the {LABEL} label" in res["team-a"][0].message


def test_namespaced_controller_watches_its_managed_namespace_only():
    dep = available(controller(args=["--namespaced", "--managed-namespace", "team-a"]))
    res = reach(dep, controller_configmap(), workflow("team-a"), workflow("team-b"))
    assert res["team-a"][0].status == "pass"
    assert res["team-b"][0].status == "fail" and "watches only namespace team-a" in res["team-b"][0].message
    own = reach(available(controller(args=["--namespaced"])), controller_configmap(), workflow("team-b"))
    assert own["team-b"][0].status == "fail" and "only namespace argo" in own["team-b"][0].message


def test_two_controllers_without_distinct_instance_ids_both_claim():
    kfp = available(controller(namespace="kubeflow"))
    res = reach(available(controller()), controller_configmap(), kfp,
                controller_configmap(namespace="kubeflow"), workflow("team-a"))
    assert res["team-a"][0].status == "fail"
    assert "claimed by 2 controllers (argo/workflow-controller, kubeflow/workflow-controller)" in \
        res["team-a"][0].message
    distinct = reach(available(controller()), controller_configmap(), kfp,
                     controller_configmap(namespace="kubeflow", instanceID="kfp"), workflow("team-a"))
    assert distinct["team-a"][0].status == "pass"
