"""create-sa-token-secret: creates the `kubernetes.io/service-account-token` Secret Argo mounts for an
executor SA or the agent's SA (argo.token_secret_name: `<sa>.service-account-token` from v3.4.2). The
Secret is created empty with the `kubernetes.io/service-account.name` annotation; Kubernetes' token
controller writes the token into it, so argodoctor never sees or prints one. Before v3.4.2 Argo reads the
SA's first `secrets` entry, so the SA gets that entry too."""
from __future__ import annotations

import copy

from argodoctor import argo
from argodoctor.engine.context import Context
from argodoctor.engine.model import Action, Plan, Remediation
from argodoctor.k8s.workflow_rbac import token_identities

MANAGED = {"app.kubernetes.io/managed-by": "argodoctor"}


class CreateSATokenSecret(Remediation):
    id = "create-sa-token-secret"
    title = "create the service-account-token Secret Argo mounts for executor and agent SAs"
    fixes = ("AD304",)

    def plan(self, ctx: Context) -> Plan:
        plan = Plan(self.id)
        for ns, sa in token_identities(ctx):
            live = ctx.view.get("ServiceAccount", ns, sa)
            if live is None:
                plan.notes.append(f"ServiceAccount {ns}/{sa} does not exist: create-service-account first")
                continue
            name = argo.token_secret_name(live, ctx.version)
            if name is not None and ctx.view.get("Secret", ns, name) is not None:
                continue
            secret_name = name or f"{sa}.service-account-token"
            plan.actions.append(Action(
                {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
                 "metadata": {"name": secret_name, "namespace": ns, "labels": dict(MANAGED),
                              "annotations": {"kubernetes.io/service-account.name": sa}}},
                None, f"the token Argo mounts for {ns}/{sa}; Kubernetes fills in the token", sensitive=True))
            if name is None:  # before v3.4.2: Argo reads the SA's first secrets entry
                desired = copy.deepcopy(live)
                desired["secrets"] = [{"name": secret_name}, *(live.get("secrets") or [])]
                plan.actions.append(Action(desired, live, f"lists {secret_name} first, where Argo "
                                                          f"{ctx.version} looks for the token"))
        return plan
