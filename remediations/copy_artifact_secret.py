"""copy-artifact-secret: copies the Secrets of the install's own artifact repositories (the controller
ConfigMap's `artifactRepository`, or `artifact-repositories` in the controller's namespace) from the
controller's namespace into each workflow namespace that resolves such a repository and lacks them.

Only the keys the repository references are copied. A Secret that a tenant's own ConfigMap names is
never copied anywhere: a tenant could otherwise name another tenant's Secret, or one of the controller's
namespace no repository uses, and have argodoctor hand it over. Such a namespace gets a note instead.

The values are read from the source Secret only at apply time and sent straight back to the API server;
they are never printed, logged or shown in the plan.
"""
from __future__ import annotations

from typing import Any

from argodoctor import argo
from argodoctor.argo import SecretRef
from argodoctor.engine.context import Context
from argodoctor.engine.model import Action, Plan, Remediation
from argodoctor.errors import ApplyError
from argodoctor.fix.fixer import object_path
from argodoctor.view import names, secret_declarers
from argodoctor.view.kube import Kube

MANAGED_BY = {"app.kubernetes.io/managed-by": "argodoctor"}
COPIED_FROM = "argodoctor.io/copied-from"


class CopyArtifactSecret(Remediation):
    id = "copy-artifact-secret"
    title = "copy the install's artifact repository Secret (referenced keys only) into each workflow namespace"
    fixes = ("AD203",)

    def plan(self, ctx: Context) -> Plan:
        plan = Plan(self.id)
        needs = []
        for ns in ctx.workflow_namespaces:
            for repo in ctx.repositories(ns):
                if repo.spec is None:
                    continue
                if is_install_repository(ctx, repo):
                    needs.append((ns, repo.secret_refs(ctx.version)))
                else:
                    plan.notes += _tenant_notes(ctx, ns, repo)
        plan.actions, notes = copy_actions(ctx, needs)
        plan.notes = list(dict.fromkeys(plan.notes + notes))
        return plan


def is_install_repository(ctx: Context, repo: argo.Repository) -> bool:
    """Whether the install defines repo: the controller ConfigMap's artifactRepository, or the
    `artifact-repositories` ConfigMap of the controller's namespace. A tenant's ConfigMap, or a ref to
    another ConfigMap of the controller's namespace, is not."""
    c = ctx.controller
    if repo.configmap == (c.namespace, c.configmap_name):
        return repo.key == "artifactRepository"
    return repo.configmap == (c.namespace, argo.ARTIFACT_REPOSITORIES_CONFIGMAP)


def _tenant_notes(ctx: Context, ns: str, repo: argo.Repository) -> list[str]:
    """What to create by hand for a repository a tenant's ConfigMap defines (nothing is read or copied)."""
    notes = []
    for name, keys in _by_name(repo.secret_refs(ctx.version)).items():
        why = names.invalid("Secret", name)
        if why:
            notes.append(f"{repo.source} names a Secret that cannot exist ({why}): skipped")
        elif ctx.view.get("Secret", ns, name) is None:
            notes.append(f"{repo.source} names Secret {name} (keys {', '.join(keys)}), which {ns} lacks: create "
                         f"it in {ns} (argodoctor copies only the Secrets of the install's own repositories)")
    return notes


def _by_name(refs: list[SecretRef]) -> dict[str, list[str]]:
    out: dict[str, set[str]] = {}
    for r in refs:
        out.setdefault(r.name, set()).add(r.key)
    return {name: sorted(keys) for name, keys in sorted(out.items())}


def copy_actions(ctx: Context, needs: list[tuple[str, list[SecretRef]]]) -> tuple[list[Action], list[str]]:
    """Copies, from the controller's namespace, of the Secrets each (workflow namespace, refs of an install
    repository) needs and lacks: one per (namespace, Secret), holding just the keys the refs name."""
    home = ctx.controller.namespace
    wanted: dict[tuple[str, str], set[str]] = {}
    for ns, refs in needs:
        for name, keys in _by_name(refs).items():
            wanted.setdefault((ns, name), set()).update(keys)
    actions: list[Action] = []
    notes: list[str] = []
    declared = secret_declarers.declarations(ctx.view) if wanted else {}
    for (ns, name), keys in sorted(wanted.items()):
        why = names.invalid("Secret", name)
        if why:
            notes.append(f"the install's repository names a Secret that cannot exist ({why}): skipped")
            continue
        if ctx.view.get("Secret", ns, name) is not None:
            continue
        if (ns, name) in declared:  # its controller writes it: a copy would fight it (AD203 warns)
            d = declared[(ns, name)][0]
            notes.append(f"Secret {ns}/{name} is declared by {d.describe()}: left to {d.controller}")
            continue
        source = ctx.view.get("Secret", home, name) if ns != home else None
        if source is None or not all((source.get("data") or {}).get(k) for k in keys):
            notes.append(f"Secret {name} is needed in {ns} but {home} does not hold it with non-empty "
                         f"{', '.join(sorted(keys))}: create it by hand (deploy-object-store creates it with an "
                         "in-cluster MinIO)")
            continue
        actions.append(_copy_action(source, ns, sorted(keys)))
    return actions, notes


def _copy_action(source: dict[str, Any], ns: str, keys: list[str]) -> Action:
    src_ns, name = source["metadata"].get("namespace"), source["metadata"]["name"]
    desired = {
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "namespace": ns, "labels": dict(MANAGED_BY),
                     "annotations": {COPIED_FROM: f"{src_ns}/{name}"}},
        "type": source.get("type", "Opaque"),
        # Keys only: the plan shows them redacted; values are read at apply time.
        "data": {k: "<from the source>" for k in keys},
    }

    def materialize(kube: Kube) -> dict[str, Any]:
        live = kube.request("GET", object_path(source))
        data = live.get("data") or {}
        missing = [k for k in keys if not data.get(k)]
        if missing:
            raise ApplyError(f"Secret {src_ns}/{name} no longer holds {', '.join(missing)}: nothing copied")
        body = dict(desired)
        body["data"] = {k: data[k] for k in keys}
        body["type"] = live.get("type", "Opaque")
        return body

    return Action(desired, None, f"copy of Secret {src_ns}/{name} (keys {', '.join(keys)})", sensitive=True,
                  materialize=materialize)
