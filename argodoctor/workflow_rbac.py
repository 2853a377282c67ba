"""Workflow identities and RBAC, shared by the rbac checks and remediations: the evaluator over the
RBAC objects read once, permissions as requests, and which bindings are broad."""
from __future__ import annotations

from . import argo
from .context import Context
from .rbac import Evaluator, Request, service_account

RBAC_KINDS = ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")


def identities(ctx: Context) -> list[tuple[str, str]]:
    """Every (namespace, service account) workflows run as, in a stable order."""
    return [(ns, name) for ns, names in sorted(ctx.workflow_service_accounts.items()) for name in sorted(names)]


def evaluator(ctx: Context) -> Evaluator:
    return ctx.once("rbac-evaluator", lambda: Evaluator(*(ctx.view.list(k) for k in RBAC_KINDS)))


def request(p: argo.Permission, namespace: str) -> Request:
    return Request(verb=p.verb, resource=p.resource, namespace=namespace, group=p.group, subresource=p.subresource)


def missing_permissions(ctx: Context, ns: str, name: str) -> list[argo.Permission]:
    """The executor rights (for the detected version) that ServiceAccount ns/name lacks."""
    ev, sa = evaluator(ctx), service_account(ns, name)
    return [p for p in ctx.executor_permissions if not ev.allows(sa, request(p, ns))]


def broad_bindings(ev: Evaluator, ns: str, name: str) -> list[tuple[dict, str]]:
    """(binding, why it is broad) for each binding that gives ns/name a broad role or a wildcard rule."""
    sa = service_account(ns, name)
    out: list[tuple[dict, str]] = []
    seen: set[tuple[str, str, str]] = set()

    def key(b: dict) -> tuple[str, str, str]:
        return b["kind"], b["metadata"].get("namespace", ""), b["metadata"]["name"]

    for b in ev.bindings_for(sa, ns):  # by name: admin's rules may be empty until aggregated
        ref = b.get("roleRef", {})
        if ref.get("kind") == "ClusterRole" and ref.get("name") in argo.BROAD_ROLES:
            seen.add(key(b))
            out.append((b, f"ClusterRole {ref['name']}"))
    for b, rule in ev.rules_for(sa, ns):
        wild = [f for f in ("verbs", "resources") if "*" in (rule.get(f) or [])]
        if wild and key(b) not in seen:
            seen.add(key(b))
            ref = b.get("roleRef", {})
            out.append((b, f"{ref.get('kind')} {ref.get('name')} with a wildcard rule ({', '.join(wild)})"))
    return out


def describe_binding(b: dict) -> str:
    meta = b["metadata"]
    return f"{b['kind']} {meta['namespace']}/{meta['name']}" if meta.get("namespace") else \
        f"{b['kind']} {meta['name']}"
