"""grant-workflow-rbac: ClusterRole `argo-workflow-role` with the version's minimal executor rules
(the seed guide's method two) and a RoleBinding per workflow namespace and service account."""
from __future__ import annotations

from typing import Any

from argodoctor import argo
from argodoctor.context import Context
from argodoctor.fixer import is_subset
from argodoctor.model import Action, Plan, Remediation
from argodoctor.workflow_rbac import identities, missing_permissions

ROLE = "argo-workflow-role"
RBAC = "rbac.authorization.k8s.io"
MANAGED = {"app.kubernetes.io/managed-by": "argodoctor"}


def binding_name(sa: str) -> str:
    return f"{sa}-argo-workflow"  # as the seed guide names it: default-argo-workflow


def cluster_role(ctx: Context) -> dict[str, Any]:
    perms = ctx.executor_permissions
    return {"apiVersion": f"{RBAC}/v1", "kind": "ClusterRole",
            "metadata": {"name": ROLE, "labels": dict(MANAGED)}, "rules": argo.minimal_role_rules(perms)}


def role_binding(ns: str, sa: str) -> dict[str, Any]:
    return {"apiVersion": f"{RBAC}/v1", "kind": "RoleBinding",
            "metadata": {"name": binding_name(sa), "namespace": ns, "labels": dict(MANAGED)},
            "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": ROLE},
            "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": ns}]}


def grant_actions(ctx: Context, identities: list[tuple[str, str]]) -> list[Action]:
    """The ClusterRole (when it differs) and a RoleBinding for each (namespace, service account)."""
    actions = []
    role = cluster_role(ctx)
    live = ctx.view.get("ClusterRole", None, ROLE)
    if live is None or not is_subset(role, live):
        actions.append(Action(role, live, f"the executor's minimal rights at Argo {ctx.version or '(newest)'}"))
    for ns, sa in identities:
        rb = role_binding(ns, sa)
        live_rb = ctx.view.get("RoleBinding", ns, rb["metadata"]["name"])
        if live_rb is None or not is_subset(rb, live_rb):
            actions.append(Action(rb, live_rb, f"binds {ns}/{sa} to {ROLE}"))
    return actions


class GrantWorkflowRBAC(Remediation):
    id = "grant-workflow-rbac"
    title = "grant each workflow service account the executor's minimal rights (ClusterRole + RoleBindings)"
    fixes = ("AD302",)

    def plan(self, ctx: Context) -> Plan:
        lacking = [(ns, sa) for ns, sa in identities(ctx) if missing_permissions(ctx, ns, sa)]
        plan = Plan(self.id)
        if lacking:
            plan.actions = grant_actions(ctx, lacking)
        return plan
