"""grant-workflow-rbac: ClusterRole `argo-workflow-role` with the version's minimal executor rules
(the seed guide's method two) and a RoleBinding per workflow namespace and executor identity. Where
the kubelet executor is in effect, its `nodes/proxy get` goes into ClusterRole
`argo-workflow-node-proxy` bound by a ClusterRoleBinding per identity: the kubelet asks with no
namespace, so a RoleBinding would never grant it (argo-workflows v3.3.10
manifests/quick-start/base/executor/kubelet/kubelet-executor-default-clusterrolebinding.yaml)."""
from __future__ import annotations

from typing import Any

from argodoctor import argo
from argodoctor.engine.context import Context
from argodoctor.engine.model import Action, Plan, Remediation
from argodoctor.fix.fixer import is_subset
from argodoctor.k8s.rbac import service_account
from argodoctor.k8s.workflow_rbac import evaluator, executor_identities, missing_permissions, request
from argodoctor.view import names

ROLE = "argo-workflow-role"
NODE_PROXY_ROLE = "argo-workflow-node-proxy"
RBAC = "rbac.authorization.k8s.io"
MANAGED = {"app.kubernetes.io/managed-by": "argodoctor"}


def binding_name(sa: str) -> str:
    return f"{sa}-argo-workflow"  # as the seed guide names it: default-argo-workflow


def cluster_role(ctx: Context, cluster_scoped: bool = False) -> dict[str, Any]:
    perms = [p for p in ctx.executor_permissions if p.cluster_scoped == cluster_scoped]
    return {"apiVersion": f"{RBAC}/v1", "kind": "ClusterRole",
            "metadata": {"name": NODE_PROXY_ROLE if cluster_scoped else ROLE, "labels": dict(MANAGED)},
            "rules": argo.minimal_role_rules(perms)}


def role_binding(ns: str, sa: str) -> dict[str, Any]:
    return {"apiVersion": f"{RBAC}/v1", "kind": "RoleBinding",
            "metadata": {"name": binding_name(sa), "namespace": ns, "labels": dict(MANAGED)},
            "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": ROLE},
            "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": ns}]}


def node_proxy_binding(ns: str, sa: str) -> dict[str, Any]:
    return {"apiVersion": f"{RBAC}/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": f"{ns}-{sa}-argo-workflow-node-proxy", "labels": dict(MANAGED)},
            "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": NODE_PROXY_ROLE},
            "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": ns}]}


def _want(ctx: Context, obj: dict[str, Any], why: str) -> list[Action]:
    meta = obj["metadata"]
    live = ctx.view.get(obj["kind"], meta.get("namespace"), meta["name"])
    return [] if live is not None and is_subset(obj, live) else [Action(obj, live, why)]


def grant_actions(ctx: Context, identities: list[tuple[str, str]]) -> list[Action]:
    """The ClusterRole(s) (when they differ) and a RoleBinding for each (namespace, service account),
    plus a ClusterRoleBinding each for cluster-scoped rights (nodes/proxy of the kubelet executor)."""
    at = f"Argo {ctx.version or '(newest)'}"
    actions = _want(ctx, cluster_role(ctx), f"the executor's minimal rights at {at}")
    node_proxy = any(p.cluster_scoped for p in ctx.executor_permissions)
    if node_proxy:
        actions += _want(ctx, cluster_role(ctx, cluster_scoped=True),
                         f"nodes/proxy get for the kubelet executor at {at} (cluster-scoped)")
    for ns, sa in identities:
        actions += _want(ctx, role_binding(ns, sa), f"binds {ns}/{sa} to {ROLE}")
        if node_proxy:
            actions += _want(ctx, node_proxy_binding(ns, sa),
                             f"binds {ns}/{sa} to {NODE_PROXY_ROLE} cluster-wide: the kubelet executor asks for "
                             "nodes/proxy with no namespace, which only a ClusterRoleBinding grants")
    return actions


# AD305: the agent's and artifact GC's rights, each in a ClusterRole of its own, bound where those pods run.
FEATURES = (("agent", "argo-workflow-agent-role", "HTTP/plugin agent pods"),
            ("artifact-gc", "argo-workflow-artifactgc-role", "artifact GC pods"))


def feature_permissions(ctx: Context, feature: str) -> list[argo.Permission]:
    if feature == "agent":
        return argo.agent_permissions(ctx.version)
    return list(argo.ARTIFACT_GC_PERMISSIONS) if ctx.version is None or ctx.version.at_least(3, 4) else []


def feature_actions(ctx: Context) -> list[Action]:
    ids, ev, actions = ctx.identities, evaluator(ctx), []
    for feature, role, what in FEATURES:
        perms = feature_permissions(ctx, feature)
        found = ids.agents if feature == "agent" else ids.artifact_gc
        lacking = [(ns, sa) for ns in sorted(found) for sa in sorted(found[ns])
                   if perms and not names.invalid("ServiceAccount", sa)
                   and any(not ev.allows(service_account(ns, sa), request(p, ns)) for p in perms)]
        if not lacking:
            continue
        actions += _want(ctx, {"apiVersion": f"{RBAC}/v1", "kind": "ClusterRole",
                               "metadata": {"name": role, "labels": dict(MANAGED)},
                               "rules": argo.minimal_role_rules(perms)}, f"the rights of {what}")
        for ns, sa in lacking:
            rb = role_binding(ns, sa)
            rb["metadata"]["name"] = f"{sa}-{role.removesuffix('-role')}"
            rb["roleRef"]["name"] = role
            actions += _want(ctx, rb, f"binds {ns}/{sa} to {role}: it runs {what}")
    return actions


class GrantWorkflowRBAC(Remediation):
    id = "grant-workflow-rbac"
    title = "grant each workflow service account the executor's minimal rights (ClusterRole + RoleBindings)"
    fixes = ("AD302", "AD305")

    def plan(self, ctx: Context) -> Plan:
        lacking = [(ns, sa) for ns, sa in executor_identities(ctx)  # an invalid name: AD301 fails it
                   if not names.invalid("ServiceAccount", sa) and missing_permissions(ctx, ns, sa)]
        plan = Plan(self.id)
        if lacking:
            plan.actions = grant_actions(ctx, lacking)
        plan.actions += feature_actions(ctx)
        return plan
