"""Workflow identities: does each service account exist (AD301), hold the executor's rights for the
Argo version (AD302), and hold no more than it should (AD303)? Evaluated locally from the RBAC
objects read once (argodoctor.k8s.rbac), never by per-namespace API calls."""
from __future__ import annotations

from collections.abc import Iterable

from argodoctor.checks.artifacts import WORKFLOW_READS

from argodoctor import argo
from argodoctor.engine.context import Context
from argodoctor.engine.model import Check, Result
from argodoctor.k8s.rbac import service_account
from argodoctor.k8s.workflow_rbac import (
    RBAC_KINDS,
    broad_bindings,
    describe_binding,
    evaluator,
    executor_identities,
    identities,
    missing_permissions,
    request,
    unjudged_offline,
    users,
)
from argodoctor.view import names
from argodoctor.view.cluster import not_in_files


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
            exists = ctx.view.get("ServiceAccount", ns, name) is not None
            invalid = None if exists else names.invalid("ServiceAccount", name)
            if invalid:  # kubernetes pkg/apis/core/validation ValidatePodSpec refuses such a serviceAccountName
                yield self.failed(f"{invalid} ({who}); their pods are refused: correct serviceAccountName",
                                  namespace=ns, object=obj, remediation=None)
            elif not exists and ctx.view.partial and name != "default" and _elsewhere(ctx, name):
                # as AD203 judges a Secret the files hold in other namespaces only: the files make it there but
                # not here (a warning, not a failure: this namespace may be served apart). Not `default`, which
                # the ServiceAccount controller makes in every namespace, this one too once it exists.
                where = ", ".join(_elsewhere(ctx, name))
                yield self.warned(f"ServiceAccount {ns}/{name} ({who}) is not in the files, which create it in "
                                  f"{where} only; their pods here are refused unless it is created apart: create it "
                                  f"in {ns} too", namespace=ns, object=obj)
            elif not exists and ctx.view.partial:
                yield self.skipped(not_in_files(f"ServiceAccount {ns}/{name} ({who})"), namespace=ns, object=obj)
            elif not exists:
                # Kubernetes' ServiceAccount admission refuses the pod; Argo marks the node Error with it.
                yield self.failed(f"ServiceAccount {ns}/{name} does not exist ({who}); their pods are refused "
                                  f"with `error looking up service account {ns}/{name}: serviceaccount \"{name}\" "
                                  "not found`", namespace=ns, object=obj)
            else:
                yield self.passed(f"ServiceAccount {ns}/{name} exists ({who})", namespace=ns, object=obj)


def _elsewhere(ctx: Context, name: str) -> list[str]:
    """The namespaces holding a ServiceAccount of this name, sorted; indexed once per run."""
    def index() -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for sa in ctx.view.list("ServiceAccount"):
            out.setdefault(sa["metadata"]["name"], []).append(sa["metadata"]["namespace"])
        return {n: sorted(nss) for n, nss in out.items()}
    return ctx.once("service-account-namespaces", index).get(name, [])


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
        may = ", ".join(map(str, needed))
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
                yield self.passed(f"{ns}/{name} may {may} ({what}; {who})", namespace=ns, object=obj)
                continue
            lacking = ", ".join(map(str, missing))
            unknown = unjudged_offline(ctx, ns, name)
            if unknown:
                yield self.skipped(f"{ns}/{name} lacks {lacking} ({what}; {who}) by the roles of the files, but "
                                   f"{unknown}", namespace=ns, object=obj)
                continue
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


class ExecutorToken(Check):
    """argo-workflows workflowpod.go setupServiceAccount (v3.0..v4.1): with automountServiceAccountToken
    false and no executor SA the controller refuses the pod; with an executor SA it mounts that SA's token
    Secret (argo.token_secret_name), which it never checks exists. The agent pod mounts its SA's token the
    same way (v3.3+ agent.go getServiceAccountTokenVolume)."""

    id = "AD304"
    slug = "executor-token"
    group = "rbac"
    title = "the identity the executor (and the agent) acts as has a token"
    remediation = "create-sa-token-secret"
    requires = ("AD301",)
    reads = (*WORKFLOW_READS, "ServiceAccount", "Secret")

    def run(self, ctx: Context) -> Iterable[Result]:
        ids = ctx.identities
        for ns in sorted(ids.by_namespace):
            blocked = ctx.blocked(self.requires, ns)
            if blocked:
                yield self.skipped(blocked, namespace=ns)
                continue
            pods: dict[tuple[str, bool | None], list[str]] = {}
            execs: dict[str, list[str]] = {}
            for ident in ids.by_namespace[ns]:
                if ident.executor_service_account:
                    execs.setdefault(ident.executor_service_account, []).append(ident.used_by)
                else:
                    pods.setdefault((ident.service_account, ident.automount), []).append(ident.used_by)
            for (sa, automount), used in sorted(pods.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
                yield self._pod_token(ctx, ns, sa, automount, argo.users_text(used))
            for sa, used in sorted(execs.items()):
                yield self._secret_token(ctx, ns, sa, "executor SA", argo.users_text(used))
            if ctx.version is None or ctx.version.at_least(3, 3):
                for sa, used in sorted(ids.agents.get(ns, {}).items()):
                    yield self._secret_token(ctx, ns, sa, "agent pod SA (HTTP/plugin templates)",
                                             argo.users_text(used))

    def _pod_token(self, ctx: Context, ns: str, sa: str, automount: bool | None, who: str) -> Result:
        obj = f"ServiceAccount/{sa}"
        if automount is False:
            return self.failed(f"automountServiceAccountToken is false and no executor.serviceAccountName is set "
                               f"({who}); the controller refuses the pod: `executor.serviceAccountName must not be "
                               "empty if automountServiceAccountToken is false`", namespace=ns, object=obj,
                               remediation=None)
        live = ctx.view.get("ServiceAccount", ns, sa)
        if live is None and ctx.view.partial:  # whose token, and whether it is mounted, is unknown (as AD301)
            return self.skipped(not_in_files(f"ServiceAccount {ns}/{sa}, whose token the executor uses ({who})"),
                                namespace=ns, object=obj)
        live = live or {}
        if automount is None and live.get("automountServiceAccountToken") is False:
            return self.failed(f"ServiceAccount {ns}/{sa} has automountServiceAccountToken: false and no "
                               f"executor.serviceAccountName is set ({who}); the executor's init and wait containers "
                               "get no token and cannot reach the API server: set executor.serviceAccountName, or "
                               "allow the token", namespace=ns, object=obj, remediation=None)
        return self.passed(f"the executor uses the token of {ns}/{sa} ({who})", namespace=ns, object=obj)

    def _secret_token(self, ctx: Context, ns: str, sa: str, role: str, who: str) -> Result:
        obj = f"ServiceAccount/{sa}"
        live = ctx.view.get("ServiceAccount", ns, sa)
        if live is None and ctx.view.partial:
            return self.skipped(not_in_files(f"the {role} {ns}/{sa} ({who})"), namespace=ns, object=obj)
        if live is None:
            return self.failed(f"the {role} {ns}/{sa} does not exist ({who}); the controller fails with "
                               f'`serviceaccounts "{sa}" not found`', namespace=ns, object=obj,
                               remediation="create-service-account")
        name = argo.token_secret_name(live, ctx.version)
        if name is None:
            return self.failed(f"the {role} {ns}/{sa} lists no token Secret ({who}); Argo {ctx.version} reads its "
                               f"first `secrets` entry and fails with `service account {ns}/{sa} does not have any "
                               "secrets`", namespace=ns, object=obj)
        secret = ctx.view.get("Secret", ns, name)
        if secret is None and ctx.view.partial:
            what = f"the token Secret {ns}/{name} of the {role} {ns}/{sa} ({who})"
            return self.skipped(not_in_files(what, secret=True), namespace=ns, object=f"Secret/{name}")
        if secret is None:
            return self.failed(f"the token Secret {ns}/{name} of the {role} {ns}/{sa} does not exist ({who}); the "
                               "pod stays in ContainerCreating with `MountVolume.SetUp failed for volume "
                               f'"exec-sa-token" : secret "{name}" not found`', namespace=ns, object=f"Secret/{name}")
        return self.passed(f"the {role} {ns}/{sa} has its token Secret {name} ({who})", namespace=ns,
                           object=f"Secret/{name}")


class FeatureRights(Check):
    """Rights only some workflows need, checked only where those workflows exist: the agent pod of
    HTTP/plugin templates (argo.agent_permissions) and artifact GC pods (argo.ARTIFACT_GC_PERMISSIONS)."""

    id = "AD305"
    slug = "feature-rights"
    group = "rbac"
    title = "the SAs of agent and artifact-GC pods hold the rights those pods need"
    remediation = "grant-workflow-rbac"
    requires = ("AD101",)
    reads = (*WORKFLOW_READS, "ServiceAccount", *RBAC_KINDS)

    def run(self, ctx: Context) -> Iterable[Result]:
        ids = ctx.identities
        uses = [("agent", "HTTP/plugin agent pods", ids.agents, argo.agent_permissions(ctx.version))]
        if ctx.version is None or ctx.version.at_least(3, 4):
            uses.append(("artifact-gc", "artifact GC pods", ids.artifact_gc, list(argo.ARTIFACT_GC_PERMISSIONS)))
        ev = evaluator(ctx)
        for _, what, found, perms in uses:
            for ns in sorted(found):
                blocked = ctx.blocked(self.requires, ns)
                for sa, used in sorted(found[ns].items()):
                    obj, who = f"ServiceAccount/{sa}", argo.users_text(used)
                    if blocked:
                        yield self.skipped(blocked, namespace=ns, object=obj)
                        continue
                    subject = service_account(ns, sa)
                    missing = [p for p in perms if not ev.allows(subject, request(p, ns))]
                    unknown = unjudged_offline(ctx, ns, sa) if missing else None
                    if unknown:
                        yield self.skipped(f"{ns}/{sa} runs {what} ({who}) and lacks {', '.join(map(str, missing))} "
                                           f"by the roles of the files, but {unknown}", namespace=ns, object=obj)
                    elif missing:
                        yield self.failed(f"{ns}/{sa} runs {what} ({who}) but lacks {', '.join(map(str, missing))}",
                                          namespace=ns, object=obj)
                    else:
                        yield self.passed(f"{ns}/{sa} may {', '.join(map(str, perms))} for {what} ({who})",
                                          namespace=ns, object=obj)
