"""create-service-account: creates each missing workflow service account."""
from __future__ import annotations

from argodoctor.engine.context import Context
from argodoctor.engine.model import Action, Plan, Remediation
from argodoctor.k8s.workflow_rbac import identities
from argodoctor.view import names


class CreateServiceAccount(Remediation):
    id = "create-service-account"
    title = "create the missing workflow service accounts"
    fixes = ("AD301",)

    def plan(self, ctx: Context) -> Plan:
        plan = Plan(self.id)
        for ns, name in identities(ctx):
            if ctx.view.get("ServiceAccount", ns, name) is not None:
                continue
            invalid = names.invalid("ServiceAccount", name)
            if invalid:
                plan.notes.append(f"{invalid} (in {ns}): no ServiceAccount can have it; correct the workflows")
                continue
            if ctx.view.get("Namespace", None, ns) is None:
                plan.notes.append(f"namespace {ns} does not exist: ServiceAccount {name} cannot be created")
                continue
            plan.actions.append(Action(
                {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {
                    "name": name, "namespace": ns, "labels": {"app.kubernetes.io/managed-by": "argodoctor"}}},
                None, "workflows here run as it"))
        return plan
