"""Workflow identities: does each service account exist (AD301), hold the executor's rights for the
Argo version (AD302), and hold no more than it should (AD303)? Evaluated locally from the RBAC
objects read once (argodoctor.rbac), never by per-namespace API calls."""
from __future__ import annotations

from collections.abc import Iterable

from argodoctor import argo
from argodoctor.context import Context
from argodoctor.model import Check, Result
from argodoctor.rbac import service_account
from argodoctor.workflow_rbac import (
    RBAC_KINDS,
    broad_bindings,
    describe_binding,
    evaluator,
    executor_identities,
    identities,
    missing_permissions,
    request,
    users,
)

from .artifacts import WORKFLOW_READS


class ServiceAccountExists(Check):
    id = "AD301"
    slug = "workflow-sa-exists"
    group = "rbac"
    title = "every workflow service account exists in its namespace"
    remediation = "create-service-account"
    requires = ("AD101",)
    reads = (*WORKFLOW_READS, "ServiceAccount")

    def run(self, ctx: Context) -> Iterable[Result]:
        for ns, name in identities(ctx):
            obj = f"ServiceAccount/{name}"
            who = users(ctx, ns, name)
            if ctx.view.get("ServiceAccount", ns, name) is None:
                # Kubernetes' ServiceAccount admission refuses the pod; Argo marks the node Error with it.
                yield self.failed(f"ServiceAccount {ns}/{name} does not exist ({who}); their pods are refused "
                                  f"with `error looking up service account {ns}/{name}: serviceaccount \"{name}\" "
                                  "not found`", namespace=ns, object=obj)
            else:
                yield self.passed(f"ServiceAccount {ns}/{name} exists ({who})", namespace=ns, object=obj)


class ServiceAccountRBAC(Check):
    id = "AD302"
    slug = "workflow-sa-rbac"
    group = "rbac"
    title = "every workflow service account holds its executor's rights for the Argo version"
    remediation = "grant-workflow-rbac"
    requires = ("AD301",)
    reads = (*WORKFLOW_READS, "ServiceAccount", *RBAC_KINDS)

    def run(self, ctx: Context) -> Iterable[Result]:
        ev = evaluator(ctx)
        version = ctx.version
        executors = ctx.executors
        needed = ctx.executor_permissions
        at = f"Argo {version}" if version else "an unknown Argo version (judged as the newest)"
        what = f"{at}, executor {'/'.join(executors.all)}"
        for ns, name in executor_identities(ctx):
            obj = f"ServiceAccount/{name}"
            blocked = ctx.blocked(self.requires, ns)
            if blocked:
                yield self.skipped(blocked, namespace=ns, object=obj)
                continue
            who = f"the executor acts as it, {users(ctx, ns, name, executor=True)}"
            sa = service_account(ns, name)
            missing = missing_permissions(ctx, ns, name)
            if not missing:
                yield self.passed(f"{ns}/{name} may {', '.join(map(str, needed))} ({what}; {who})", namespace=ns,
                                  object=obj)
                continue
            lacking = ", ".join(map(str, missing))
            if argo.legacy_pod_patch_fallback(version) and ev.allows(sa, request(argo.LEGACY_POD_PATCH, ns)):
                yield self.warned(f"{ns}/{name} lacks {lacking}; the executor falls back to patching its own pod "
                                  f"(legacy and insecure, removed in v3.6) ({what}; {who})", namespace=ns, object=obj)
                continue
            cluster = [p for p in missing if p.cluster_scoped]
            hint = f"; {', '.join(map(str, cluster))} needs a ClusterRoleBinding (a RoleBinding never grants it)" \
                if cluster else ""
            yield self.failed(f"{ns}/{name} lacks {lacking} ({what}; {who}); workflows here fail to report outputs "
                              f"and artifacts{hint}", namespace=ns, object=obj)


class ServiceAccountOverprivileged(Check):
    id = "AD303"
    slug = "workflow-sa-overprivileged"
    group = "rbac"
    title = "no workflow service account is bound to cluster-admin, admin, edit or a wildcard rule"
    severity = "warning"
    remediation = "replace-broad-binding"
    requires = ("AD301",)
    reads = (*WORKFLOW_READS, "ServiceAccount", *RBAC_KINDS)

    def run(self, ctx: Context) -> Iterable[Result]:
        ev = evaluator(ctx)
        for ns, name in identities(ctx):
            obj = f"ServiceAccount/{name}"
            blocked = ctx.blocked(self.requires, ns)
            if blocked:
                yield self.skipped(blocked, namespace=ns, object=obj)
                continue
            broad = broad_bindings(ev, ns, name)
            if not broad:
                yield self.passed(f"{ns}/{name} holds no broad role or wildcard rule", namespace=ns, object=obj)
                continue
            found = "; ".join(f"{describe_binding(b)} grants {why}{_scope(b, ns)}" for b, why in broad)
            yield self.warned(f"{ns}/{name} is over-privileged ({users(ctx, ns, name)}): {found}; a workflow step "
                              "can then do what that role allows (read every Secret, start pods)", namespace=ns,
                              object=obj)


def _scope(binding: dict, ns: str) -> str:
    where = binding["metadata"].get("namespace")
    if binding["kind"] == "ClusterRoleBinding":
        return " in every namespace"
    return "" if where == ns else f" in {where}"
