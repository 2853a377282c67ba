"""The identities workflow pods and their executors run as (argodoctor.argo.identities), on fixtures
built from argo-workflows' setupServiceAccount (workflow/controller/workflowpod.go, v3.0..v4.1, read at
v3.7.18) and JoinWorkflowSpec (workflow/util/merge.go: workflow > (Cluster)WorkflowTemplate >
workflowDefaults)."""
from __future__ import annotations

from argodoctor.engine.registry import select_checks
from argodoctor.engine.runner import run_checks

from .builders import context, controller, controller_configmap, workflow


def container(name: str = "main", **fields) -> dict:
    return {"name": name, "container": {"image": "alpine"}, **fields}


def steps(name: str, *refs: dict) -> dict:
    return {"name": name, "steps": [[{"name": f"s{i}", **r} for i, r in enumerate(refs)]]}


def cwt(name: str, **spec) -> dict:
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "ClusterWorkflowTemplate",
            "metadata": {"name": name}, "spec": spec}


def pods(*objects, **cm) -> dict[str, set[str]]:
    ctx = context(controller(), controller_configmap(**cm), *objects)
    return {ns: set(sas) for ns, sas in ctx.identities.pods.items()}


def executors(*objects, **cm) -> dict[str, set[str]]:
    ctx = context(controller(), controller_configmap(**cm), *objects)
    return {ns: set(sas) for ns, sas in ctx.identities.executors.items()}


def test_template_sa_wins_over_the_spec_and_default_only_where_a_template_names_none():
    wf = workflow("team-a", serviceAccountName="spec-sa", templates=[
        steps("main", {"template": "a"}, {"template": "b"}), container("a", serviceAccountName="tmpl-sa"),
        container("b")])
    assert pods(wf)["team-a"] == {"tmpl-sa", "spec-sa"}
    every = workflow("team-a", templates=[container("a", serviceAccountName="x")])
    assert pods(every)["team-a"] == {"x"}  # no pod template falls back: `default` is not used


def test_steps_and_dag_templates_are_not_pods():
    wf = workflow("team-a", templates=[steps("main", {"template": "a"}),
                                        container("a", serviceAccountName="runner")])
    assert pods(wf)["team-a"] == {"runner"}


def test_default_when_nothing_names_an_sa_and_in_namespaces_without_objects():
    assert pods(workflow("team-a", templates=[container()])) == {"argo": {"default"}, "team-a": {"default"}}


def test_workflow_defaults_fill_in_but_never_override():
    defaults = {"spec": {"serviceAccountName": "dflt"}}
    got = pods(workflow("team-a", "a", serviceAccountName="own"), workflow("team-a", "b"), workflowDefaults=defaults)
    assert got == {"argo": {"dflt"}, "team-a": {"own", "dflt"}}


def test_workflow_template_ref_joins_the_template_spec():
    tmpl = workflow("team-a", "build", kind="WorkflowTemplate", serviceAccountName="builder",
                    templates=[container()])
    by_ref = workflow("team-a", "run", workflowTemplateRef={"name": "build"})
    assert pods(tmpl, by_ref)["team-a"] == {"builder"}
    overriding = workflow("team-a", "run2", workflowTemplateRef={"name": "build"}, serviceAccountName="mine")
    assert pods(tmpl, overriding)["team-a"] == {"builder", "mine"}  # the template itself, and the override


def test_cluster_workflow_template_reached_through_cluster_scope():
    shared = cwt("shared", serviceAccountName="cwt-sa", templates=[container()])
    wf = workflow("team-a", workflowTemplateRef={"name": "shared", "clusterScope": True})
    assert pods(shared, wf)["team-a"] == {"cwt-sa"}
    not_cluster = workflow("team-a", workflowTemplateRef={"name": "shared"})  # a namespaced one: absent
    assert pods(shared, not_cluster)["team-a"] == {"default"}


def test_template_ref_runs_with_the_referring_spec_unless_the_template_names_an_sa():
    shared = cwt("tools", serviceAccountName="ignored", templates=[container("lint"),
                                                                     container("push", serviceAccountName="pusher")])
    wf = workflow("team-a", serviceAccountName="runner", templates=[steps(
        "main", {"templateRef": {"name": "tools", "template": "lint", "clusterScope": True}},
        {"templateRef": {"name": "tools", "template": "push", "clusterScope": True}})])
    assert pods(shared, wf)["team-a"] == {"runner", "pusher"}  # the CWT's spec SA is not used


def test_executor_sa_is_the_executor_identity():
    wf = workflow("team-a", serviceAccountName="runner", executor={"serviceAccountName": "exec"},
                  templates=[container("a"), container("b", executor={"serviceAccountName": "exec-b"})])
    assert pods(wf)["team-a"] == {"runner"}
    assert executors(wf)["team-a"] == {"exec", "exec-b"}  # not runner: the executor uses exec's token


def test_results_name_what_uses_the_identity():
    objs = [controller(), controller_configmap(), workflow("team-a", "hello", serviceAccountName="runner",
                                                           templates=[container()])]
    res = [r for r in run_checks(select_checks(["AD301"]), context(*objs)) if r.namespace == "team-a"]
    assert [(r.status, r.object) for r in res] == [("fail", "ServiceAccount/runner")]
    assert "used by Workflow team-a/hello" in res[0].message
    assert 'error looking up service account team-a/runner: serviceaccount "runner" not found' in res[0].message


# ---- executor rights: the CATALOG's table as corrected by argo-workflows v3.3.10
# manifests/quick-start/base/executor/<name>/executor-role.yaml

def _rb(ns: str, name: str, role: str, sa: str, kind: str = "RoleBinding") -> dict:
    meta = {"name": name, "namespace": ns} if kind == "RoleBinding" else {"name": name}
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": meta,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": ns}]}


def _cr(name: str, *rules: tuple[str, list[str], list[str]]) -> dict:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": name},
            "rules": [{"apiGroups": [g], "resources": r, "verbs": v} for g, r, v in rules]}


def _sa(ns: str, name: str) -> dict:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": ns}}


def test_v33_non_emissary_executors_keep_their_extras():
    from argodoctor import argo
    v33 = argo.Version(3, 3, 10)
    names = {e: sorted(map(str, argo.executor_permissions(v33, argo.Executors(e)))) for e in
             ("emissary", "docker", "pns", "k8sapi", "kubelet")}
    assert names["emissary"] == names["docker"] == ["create workflowtaskresults.argoproj.io",
                                                    "patch workflowtaskresults.argoproj.io"]
    assert set(names["pns"]) - set(names["emissary"]) == {"watch pods", "get pods/log"}
    assert set(names["k8sapi"]) - set(names["emissary"]) == {"get pods", "watch pods", "create pods/exec",
                                                             "get pods/log"}
    assert set(names["kubelet"]) - set(names["emissary"]) == {"get nodes/proxy"}


def test_nodes_proxy_is_granted_by_a_clusterrolebinding_only():
    task = ("argoproj.io", ["workflowtaskresults"], ["create", "patch"])
    proxy = ("", ["nodes/proxy"], ["get"])
    objs = [controller("v3.3.10"), controller_configmap(containerRuntimeExecutor="kubelet"),
            workflow("team-a", serviceAccountName="runner", templates=[container()]), _sa("team-a", "runner"),
            _sa("argo", "default"), _cr("exec", task, proxy), _rb("team-a", "rb", "exec", "runner"),
            _rb("argo", "rb", "exec", "default")]
    res = {r.namespace: r for r in run_checks(select_checks(["AD302"]), context(*objs))}
    assert res["team-a"].status == "fail" and "lacks get nodes/proxy" in res["team-a"].message
    assert "needs a ClusterRoleBinding (a RoleBinding never grants it)" in res["team-a"].message
    objs.append(_rb("team-a", "crb", "exec", "runner", kind="ClusterRoleBinding"))
    res = {r.namespace: r for r in run_checks(select_checks(["AD302"]), context(*objs))}
    assert res["team-a"].status == "pass", res["team-a"].message


def test_grant_workflow_rbac_binds_nodes_proxy_cluster_wide_for_kubelet():
    from argodoctor.engine.registry import select_remediations
    objs = [controller("v3.3.10"), controller_configmap(containerRuntimeExecutor="kubelet"),
            workflow("team-a", serviceAccountName="runner", templates=[container()]), _sa("team-a", "runner")]
    ctx = context(*objs)
    plan = select_remediations(["grant-workflow-rbac"])[0]().plan(ctx)
    kinds = {(a.desired["kind"], a.desired["metadata"]["name"]) for a in plan.actions}
    assert ("ClusterRoleBinding", "team-a-runner-argo-workflow-node-proxy") in kinds
    assert ("ClusterRole", "argo-workflow-node-proxy") in kinds
    role = next(a.desired for a in plan.actions if a.desired["metadata"]["name"] == "argo-workflow-role")
    assert all("nodes/proxy" not in r["resources"] for r in role["rules"])
    crb = next(a for a in plan.actions if a.desired["kind"] == "ClusterRoleBinding")
    assert "only a ClusterRoleBinding grants" in crb.reason


def test_executor_rights_are_asked_of_the_executor_sa_not_the_pod_sa():
    task = ("argoproj.io", ["workflowtaskresults"], ["create", "patch"])
    objs = [controller(), controller_configmap(),
            workflow("team-a", serviceAccountName="runner", executor={"serviceAccountName": "exec"},
                     templates=[container()]),
            _sa("team-a", "runner"), _sa("team-a", "exec"), _sa("argo", "default"), _cr("exec-role", task),
            _rb("team-a", "rb", "exec-role", "exec"), _rb("argo", "rb", "exec-role", "default")]
    res = [r for r in run_checks(select_checks(["AD302"]), context(*objs)) if r.namespace == "team-a"]
    assert [(r.object, r.status) for r in res] == [("ServiceAccount/exec", "pass")]
    assert "the executor acts as it, used by Workflow team-a/wf" in res[0].message


def test_ad303_sees_a_broad_binding_in_another_namespace():
    objs = [controller(), controller_configmap(), _sa("argo", "default"), _cr("admin"),
            _rb("team-a", "argo-admin", "admin", "default")]
    objs[-1]["subjects"][0]["namespace"] = "argo"  # argo:default, bound in team-a
    res = {r.namespace: r for r in run_checks(select_checks(["AD303"]), context(*objs))}
    assert res["argo"].status == "warn"
    assert "RoleBinding team-a/argo-admin grants ClusterRole admin in team-a" in res["argo"].message
