"""Workflow identities and RBAC, shared by the rbac checks and remediations: the evaluator over the
RBAC objects read once, permissions as requests, and which bindings are broad."""
from __future__ import annotations

from .. import argo
from ..engine.context import Context
from ..view.cluster import JUDGED_ON_A_CLUSTER, not_in_files
from .rbac import Evaluator, Request, service_account

RBAC_KINDS = ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")


def identities(ctx: Context) -> list[tuple[str, str]]:
    """Every (namespace, service account) a workflow pod or its executor runs as, in a stable order."""
    ids = ctx.identities
    return [(ns, name) for ns in sorted(ids.by_namespace) for name in sorted(ids.service_accounts(ns))]


def executor_identities(ctx: Context) -> list[tuple[str, str]]:
    """Every (namespace, service account) the executor acts as: the executor SA where one is named
    (workflowpod.go setupServiceAccount), else the pod's."""
    ids = ctx.identities
    return [(ns, name) for ns in sorted(ids.executors) for name in sorted(ids.executors[ns])]


def users(ctx: Context, ns: str, name: str, executor: bool = False) -> str:
    """'used by Workflow team-a/x, ...': what runs as ns/name (as the executor's identity, or at all)."""
    ids = ctx.identities
    found = ids.executors.get(ns, {}) if executor else ids.service_accounts(ns)
    return argo.users_text(found.get(name, []))


def evaluator(ctx: Context) -> Evaluator:
    return ctx.once("rbac-evaluator", lambda: Evaluator(*(ctx.view.list(k) for k in RBAC_KINDS)))


def request(p: argo.Permission, namespace: str) -> Request:
    """The request the executor makes; a cluster-scoped one (nodes/proxy) carries no namespace, so
    only ClusterRoleBindings can grant it."""
    return Request(verb=p.verb, resource=p.resource, namespace="" if p.cluster_scoped else namespace,
                   group=p.group, subresource=p.subresource)


def missing_permissions(ctx: Context, ns: str, name: str) -> list[argo.Permission]:
    """The executor rights (for the detected version) that ServiceAccount ns/name lacks."""
    ev, sa = evaluator(ctx), service_account(ns, name)
    return [p for p in ctx.executor_permissions if not ev.allows(sa, request(p, ns))]


def unjudged_offline(ctx: Context, ns: str, name: str) -> str | None:
    """In a partial view (files judged --offline), why the rights ServiceAccount ns/name seems to lack
    cannot be judged: the account is not in the files, or a binding of it names a role the files do not
    define (the built-in admin or edit, say, which aggregate Argo's rules on a cluster). None on a whole
    cluster or snapshot, where a binding to a missing role truly grants nothing."""
    if not ctx.view.partial:
        return None
    if ctx.view.get("ServiceAccount", ns, name) is None:
        return not_in_files(f"ServiceAccount {ns}/{name}", also=", its bindings with it")
    found = {f"{describe_binding(b)} binds {role}": None for b, role in evaluator(ctx).unresolved(
        service_account(ns, name), ns)}  # ClusterRoleBindings too
    if not found:
        return None
    return (f"{'; '.join(found)}, which the files do not define (a built-in role such as admin or edit, or one "
            f"installed apart): {JUDGED_ON_A_CLUSTER}")


def broad_bindings(ev: Evaluator, ns: str, name: str) -> list[tuple[dict, str]]:
    """(binding, why it is broad) for each binding anywhere that gives ns/name a broad role or a
    wildcard rule."""
    sa = service_account(ns, name)
    out: list[tuple[dict, str]] = []
    seen: set[tuple[str, str, str]] = set()
    # Every binding of the SA: cluster-wide and in any namespace (admin granted to argo/default by a
    # RoleBinding in team-a is over-privilege in team-a). Bound roles first, then wildcard rules, per scope.
    for scope in ev.scopes_for(sa):
        for b, why in _broad_in(ev, ev.applying(sa, scope)):
            if _key(b) not in seen:
                seen.add(_key(b))
                out.append((b, why))
    return out


def _broad_in(ev: Evaluator, applying: list[tuple[dict, list[dict]]]) -> list[tuple[dict, str]]:
    """The broad ones of the bindings in effect in one scope: bound roles first (by name: admin's rules
    may be empty until aggregated), then wildcard rules. Judged once per set of bindings: thousands of
    service accounts share the cluster-wide ones."""
    memo = ("broad", tuple(id(b) for b, _ in applying))
    found = ev.memo.get(memo)
    if found is None:
        found, seen = [], set()
        for broad in (_broad_role, _wildcard):
            for b, rules in applying:
                why = broad(ev, b, rules)
                if why and id(b) not in seen:
                    seen.add(id(b))
                    found.append((b, why))
        ev.memo[memo] = found
    return found


def _key(b: dict) -> tuple[str, str, str]:
    return b["kind"], b["metadata"].get("namespace", ""), b["metadata"]["name"]


def _broad_role(ev: Evaluator, b: dict, rules: list[dict]) -> str | None:
    ref = b.get("roleRef") or {}
    return f"ClusterRole {ref['name']}" if ref.get("kind") == "ClusterRole" and ref.get("name") in argo.BROAD_ROLES \
        else None


def _wildcard(ev: Evaluator, b: dict, rules: list[dict]) -> str | None:
    """Why binding b's rules are broad: the first with `*` in its verbs or resources. Once per binding
    (thousands of service accounts share the cluster-wide ones)."""
    key = ("wildcard", id(b))
    if key not in ev.memo:
        ev.memo[key] = None
        for rule in rules:
            wild = [f for f in ("verbs", "resources") if "*" in (rule.get(f) or [])]
            if wild:
                ref = b.get("roleRef") or {}
                ev.memo[key] = f"{ref.get('kind')} {ref.get('name')} with a wildcard rule ({', '.join(wild)})"
                break
    return ev.memo[key]


def describe_binding(b: dict) -> str:
    meta = b["metadata"]
    return f"{b['kind']} {meta['namespace']}/{meta['name']}" if meta.get("namespace") else \
        f"{b['kind']} {meta['name']}"


def token_identities(ctx: Context) -> list[tuple[str, str]]:
    """Every (namespace, SA) whose token Secret Argo mounts itself: executor SAs, and from v3.3 the
    agent pod's SA (argo.token_secret_name says which Secret)."""
    ids = ctx.identities
    found = {(ns, i.executor_service_account) for ns, idents in ids.by_namespace.items() for i in idents
             if i.executor_service_account}
    if ctx.version is None or ctx.version.at_least(3, 3):
        found |= {(ns, sa) for ns, sas in ids.agents.items() for sa in sas}
    return sorted(found)
