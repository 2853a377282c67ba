"""replace-broad-binding: grants the minimal role first, then removes the workflow service account
from each binding that gives it cluster-admin, admin, edit or a wildcard rule (the whole binding
when the account is its only subject). Destructive: needs --allow-destructive; the before-image
of every binding it changes lets you restore it."""
from __future__ import annotations

from typing import Any

from argodoctor.remediations.grant_workflow_rbac import grant_actions

from argodoctor.engine.context import Context
from argodoctor.engine.model import Action, Plan, Remediation
from argodoctor.k8s.workflow_rbac import broad_bindings, describe_binding, evaluator, identities


def _is_subject(subject: dict[str, Any], binding: dict[str, Any], ns: str, sa: str) -> bool:
    kind, name = subject.get("kind"), subject.get("name")
    if kind == "ServiceAccount":
        return name == sa and (subject.get("namespace") or binding["metadata"].get("namespace")) == ns
    return kind == "User" and name == f"system:serviceaccount:{ns}:{sa}"


class ReplaceBroadBinding(Remediation):
    id = "replace-broad-binding"
    title = "grant the minimal role, then take workflow service accounts out of broad bindings"
    fixes = ("AD303", "AD302")
    destructive = True

    def plan(self, ctx: Context) -> Plan:
        plan = Plan(self.id)
        ev = evaluator(ctx)
        affected: list[tuple[str, str]] = []
        changes: dict[tuple[str, str, str], tuple[dict, list[tuple[str, str]]]] = {}
        for ns, sa in identities(ctx):
            for binding, why in broad_bindings(ev, ns, sa):
                subjects = binding.get("subjects") or []
                if not any(_is_subject(s, binding, ns, sa) for s in subjects):
                    plan.notes.append(f"{describe_binding(binding)} grants {ns}/{sa} {why} through a group: "
                                      "narrow it by hand")
                    continue
                meta = binding["metadata"]
                key = (binding["kind"], meta.get("namespace", ""), meta["name"])
                changes.setdefault(key, (binding, []))[1].append((ns, sa))
                if (ns, sa) not in affected:
                    affected.append((ns, sa))
        if not affected:
            return plan
        plan.actions += grant_actions(ctx, affected)  # the minimum first, so workflows keep working
        for binding, removed in changes.values():
            keep = [s for s in binding.get("subjects") or []
                    if not any(_is_subject(s, binding, ns, sa) for ns, sa in removed)]
            who = ", ".join(f"{ns}/{sa}" for ns, sa in removed)
            if not keep:
                plan.actions.append(Action(_ident(binding), binding, f"only bound {who}", delete=True))
            else:
                desired = dict(_ident(binding), roleRef=binding["roleRef"], subjects=keep)
                plan.actions.append(Action(desired, binding, f"no longer binds {who}"))
        return plan


def _ident(binding: dict[str, Any]) -> dict[str, Any]:
    meta = {k: v for k, v in binding["metadata"].items() if k in ("name", "namespace")}
    return {"apiVersion": binding.get("apiVersion", "rbac.authorization.k8s.io/v1"), "kind": binding["kind"],
            "metadata": meta}
