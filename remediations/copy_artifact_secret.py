"""copy-artifact-secret: copies the repository's secret into each workflow namespace lacking it.

The values are read from the source Secret only at apply time and sent straight
back to the API server; they are never printed, logged or shown in the plan.
"""
from __future__ import annotations

from typing import Any

from argodoctor.argo import SecretRef
from argodoctor.context import Context
from argodoctor.fixer import object_path
from argodoctor.kube import Kube
from argodoctor.model import Action, Plan, Remediation

MANAGED_BY = {"app.kubernetes.io/managed-by": "argodoctor"}
COPIED_FROM = "argodoctor.io/copied-from"


class CopyArtifactSecret(Remediation):
    id = "copy-artifact-secret"
    title = "copy the artifact repository's secret into each workflow namespace that lacks it"
    fixes = ("AD203",)

    def plan(self, ctx: Context) -> Plan:
        plan = Plan(self.id)
        needs = []
        for ns in ctx.workflow_namespaces:
            for repo in ctx.repositories(ns):
                if repo.spec is not None:
                    prefer = [repo.configmap[0] if repo.configmap else None, ctx.controller.namespace]
                    needs.append((ns, repo.secret_refs(ctx.version), prefer))
        plan.actions, plan.notes = copy_actions(ctx, needs)
        return plan


def copy_actions(ctx: Context, needs: list[tuple[str, list[SecretRef], list[str | None]]]
                 ) -> tuple[list[Action], list[str]]:
    """Copies for every (namespace, secret refs, preferred source namespaces) whose Secret is absent."""
    actions: list[Action] = []
    notes: list[str] = []
    planned: set[tuple[str, str]] = set()
    for ns, refs, prefer in needs:
        for name in sorted({r.name for r in refs if r.name}):
            if (ns, name) in planned or ctx.view.get("Secret", ns, name) is not None:
                continue
            keys = {r.key for r in refs if r.name == name}
            source = _source(ctx, name, keys, prefer)
            if source is None:
                notes.append(f"Secret {name} is needed in {ns} but no namespace holds it with "
                             f"non-empty {', '.join(sorted(keys))}: create it by hand (deploy-object-store "
                             "creates it with an in-cluster MinIO)")
                continue
            planned.add((ns, name))
            actions.append(_copy_action(source, ns))
    return actions, notes


def _source(ctx: Context, name: str, keys: set[str], prefer: list[str | None]) -> dict[str, Any] | None:
    """The Secret to copy from: in a preferred namespace first, else any with all keys set."""
    candidates = [s for s in ctx.view.list("Secret") if s["metadata"]["name"] == name
                  and all((s.get("data") or {}).get(k) for k in keys)]
    candidates.sort(key=lambda s: (s["metadata"].get("namespace") not in prefer,
                                   prefer.index(s["metadata"].get("namespace"))
                                   if s["metadata"].get("namespace") in prefer else 0,
                                   s["metadata"].get("namespace")))
    return candidates[0] if candidates else None


def _copy_action(source: dict[str, Any], ns: str) -> Action:
    src_ns, name = source["metadata"].get("namespace"), source["metadata"]["name"]
    desired = {
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "namespace": ns, "labels": dict(MANAGED_BY),
                     "annotations": {COPIED_FROM: f"{src_ns}/{name}"}},
        "type": source.get("type", "Opaque"),
        # Keys only: the plan shows them redacted; values are read at apply time.
        "data": {k: "<from the source>" for k in source.get("data") or {}},
    }

    def materialize(kube: Kube) -> dict[str, Any]:
        live = kube.request("GET", object_path(source))
        body = dict(desired)
        body["data"] = dict(live.get("data") or {})
        body["type"] = live.get("type", "Opaque")
        return body

    return Action(desired, None, f"copy of Secret {src_ns}/{name}", sensitive=True, materialize=materialize)
