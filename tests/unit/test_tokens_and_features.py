"""AD304 executor-token and AD305 feature-rights on fixtures built from argo-workflows'
setupServiceAccount (workflowpod.go), getServiceAccountTokenName / util/secrets TokenNameForServiceAccount
(v3.4.2+), agent.go (agent pod SA) and artifact_gc.go (GC pod SA), with their remediations' plans."""
from __future__ import annotations

from argodoctor.remediations.create_sa_token_secret import CreateSATokenSecret
from argodoctor.remediations.grant_workflow_rbac import GrantWorkflowRBAC

from argodoctor import argo
from argodoctor.engine.registry import select_checks
from argodoctor.engine.runner import run_checks

from .builders import context, controller, controller_configmap, workflow


def sa(ns: str, name: str, **fields) -> dict:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": ns}, **fields}


def token(ns: str, name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
            "metadata": {"name": name, "namespace": ns}, "data": {"token": "dG9r"}}


def container(name: str = "main", **fields) -> dict:
    return {"name": name, "container": {"image": "alpine"}, **fields}


def results(check: str, *objs, version: str = "v3.7.18") -> list:
    base = [controller(version), controller_configmap(), sa("argo", "default")]
    return [r for r in run_checks(select_checks([check]), context(*base, *objs)) if r.namespace == "team-a"]


def test_token_secret_name_by_version():
    plain = sa("team-a", "exec")
    assert argo.token_secret_name(plain, argo.Version(3, 7, 18)) == "exec.service-account-token"
    assert argo.token_secret_name(plain, argo.Version(3, 4, 1)) is None  # reads secrets[0] only
    listed = sa("team-a", "exec", secrets=[{"name": "exec-token-abcde"}])
    assert argo.token_secret_name(listed, argo.Version(3, 4, 1)) == "exec-token-abcde"
    annotated = sa("team-a", "exec")
    annotated["metadata"]["annotations"] = {"workflows.argoproj.io/service-account-token.name": "mine"}
    assert argo.token_secret_name(annotated, argo.Version(3, 5, 0)) == "mine"


def test_ad304_automount_false_without_executor_sa_is_refused():
    wf = workflow("team-a", automountServiceAccountToken=False, templates=[container()])
    [r] = results("AD304", wf, sa("team-a", "default"))
    assert r.status == "fail"
    assert "`executor.serviceAccountName must not be empty if automountServiceAccountToken is false`" in r.message


def test_ad304_sa_without_token_and_no_executor_sa():
    wf = workflow("team-a", serviceAccountName="quiet", templates=[container()])
    [r] = results("AD304", wf, sa("team-a", "quiet", automountServiceAccountToken=False))
    assert r.status == "fail" and "ServiceAccount team-a/quiet has automountServiceAccountToken: false" in r.message


def test_ad304_executor_sa_token_secret():
    wf = workflow("team-a", automountServiceAccountToken=False, executor={"serviceAccountName": "exec"},
                  templates=[container()])
    [r] = results("AD304", wf, sa("team-a", "default"), sa("team-a", "exec"))
    assert r.status == "fail" and r.object == "Secret/exec.service-account-token"
    assert 'secret "exec.service-account-token" not found' in r.message
    [r] = results("AD304", wf, sa("team-a", "default"), sa("team-a", "exec"),
                  token("team-a", "exec.service-account-token"))
    assert r.status == "pass"
    [r] = results("AD304", wf, sa("team-a", "default"), sa("team-a", "exec"), version="v3.4.1")
    assert r.status == "fail" and "does not have any secrets" in r.message


def test_ad304_agent_pod_token():
    wf = workflow("team-a", serviceAccountName="runner", templates=[{"name": "call", "http": {"url": "http://x"}}])
    res = results("AD304", wf, sa("team-a", "runner"))
    agent = [r for r in res if "agent pod SA" in r.message]
    assert [(r.status, r.object) for r in agent] == [("fail", "Secret/runner.service-account-token")]


def test_create_sa_token_secret_plans_the_secret_empty_and_annotated():
    wf = workflow("team-a", executor={"serviceAccountName": "exec"}, templates=[container()])
    plan = CreateSATokenSecret().plan(context(controller(), controller_configmap(), wf, sa("team-a", "exec")))
    [a] = plan.actions
    assert a.desired["type"] == "kubernetes.io/service-account-token" and "data" not in a.desired
    assert a.desired["metadata"]["annotations"] == {"kubernetes.io/service-account.name": "exec"}
    old = CreateSATokenSecret().plan(context(controller("v3.4.1"), controller_configmap(), wf, sa("team-a", "exec")))
    assert [x.desired["kind"] for x in old.actions] == ["Secret", "ServiceAccount"]
    assert old.actions[1].desired["secrets"] == [{"name": "exec.service-account-token"}]


def test_ad305_only_where_features_are_used_and_as_the_right_sa():
    plain = workflow("team-a", "plain", templates=[container()])
    assert results("AD305", plain, sa("team-a", "default")) == []
    gc = workflow("team-a", "gc", serviceAccountName="runner", artifactGC={"strategy": "OnWorkflowDeletion"},
                  templates=[container()])
    [r] = results("AD305", gc, sa("team-a", "runner"))
    # GC pods run as artifactGC.serviceAccountName, else default: never the workflow's own SA
    assert r.status == "fail" and r.object == "ServiceAccount/default" and "artifact GC pods" in r.message
    assert "list workflowartifactgctasks.argoproj.io" in r.message
    http = workflow("team-a", "http", serviceAccountName="runner", templates=[{"name": "h", "http": {"url": "u"}}])
    [r] = results("AD305", http, sa("team-a", "runner"))
    assert r.status == "fail" and r.object == "ServiceAccount/runner"
    assert "patch workflowtasksets/status.argoproj.io" in r.message


def test_grant_workflow_rbac_adds_feature_roles():
    http = workflow("team-a", "http", serviceAccountName="runner", templates=[{"name": "h", "http": {"url": "u"}}])
    plan = GrantWorkflowRBAC().plan(context(controller(), controller_configmap(), http, sa("team-a", "runner")))
    names = {(a.desired["kind"], a.desired["metadata"]["name"]) for a in plan.actions}
    assert ("ClusterRole", "argo-workflow-agent-role") in names
    assert ("RoleBinding", "runner-argo-workflow-agent") in names
