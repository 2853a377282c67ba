"""argodoctor's own access: who it is, what it may do, and the roles it needs.

Rights are generated, not written: READS and FIX_WRITES below are the one table of what the code sends
to the API server. `argodoctor role`, `cronjob manifest`, the chart (charts/argodoctor/rbac-rules.yaml,
written by `python -m argodoctor.engine.permissions`) and AD001 all come from it, and a test on the real
apiserver proves each grant is used (tests/integration/test_generated_roles.py).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any

from ..errors import KubeError
from ..view.cluster import KINDS, Kind
from ..view.kube import Kube

RBAC = "rbac.authorization.k8s.io"


def access_review(kube: Kube, verb: str, kind: Kind, namespace: str = "") -> bool:
    """SelfSubjectAccessReview: may the current identity do verb on kind (cluster-wide when namespace='')?"""
    body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {"verb": verb, "group": kind.group, "resource": kind.plural,
                                            "namespace": namespace}}}
    resp = kube.request("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body=body)
    return bool(resp.get("status", {}).get("allowed"))


def whoami(kube: Kube) -> str:
    """'User alice' / 'ServiceAccount ns/name', from a SelfSubjectReview (Kubernetes 1.28+)."""
    try:
        resp = kube.request("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                            body={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
    except KubeError:
        return "argodoctor's identity"
    name = resp.get("status", {}).get("userInfo", {}).get("username", "")
    if name.startswith("system:serviceaccount:"):
        ns, _, sa = name.removeprefix("system:serviceaccount:").partition(":")
        return f"ServiceAccount {ns}/{sa}"
    return f"User {name}" if name else "argodoctor's identity"


@dataclasses.dataclass(frozen=True)
class Grant:
    """verbs on group/resource, and the code that sends them."""

    group: str
    resource: str
    verbs: tuple[str, ...]
    why: str
    namespaced: bool = True
    secret: bool = False  # Secret access: what --no-secrets / rbac.secrets=false leave out


# ---- what `check` sends. Not granted because every authenticated user holds them (kubernetes
# plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go): GET /version (system:public-info-viewer),
# API discovery (system:discovery), selfsubjectreviews (system:basic-user, whoami). Not granted at all:
# pods/portforward, the S3 probes' route outside the cluster without --s3-endpoint (it opens any pod's
# ports): run in the cluster, or pass --s3-endpoint.
def _list(kind: Kind) -> Grant:
    why = "cluster.LiveView lists each kind once per run (paged; per namespace with --namespaced-read)"
    return Grant(kind.group, kind.plural, ("list",), why, kind.namespaced, kind.name == "Secret")


READS: tuple[Grant, ...] = (
    *(_list(k) for k in KINDS.values()),
    Grant("", "secrets", ("get",), "s3.read_credentials / s3.read_ca GET the Secret an S3 repository names "
          "(its keys and CA, for AD204-AD207 and s3:// reports)", secret=True),
    Grant("authorization.k8s.io", "selfsubjectaccessreviews", ("create",),
          "AD100 asks what this identity may list", namespaced=False),
)
# check --events: sinks.store -> events.emit POSTs an Event in each result's namespace.
EVENTS = Grant("", "events", ("create",), "check --events posts an Event per changed result")
# The report ConfigMap (configmap:// sink): sinks.ConfigMapStore GETs it, then server-side applies it
# (PATCH). `cronjob manifest` creates it, so the job needs no `create`, and no `update` (no PUT is sent).
REPORT = Grant("", "configmaps", ("get", "patch"), "sinks.ConfigMapStore reads and applies the report")


def _rules(grants: Iterable[Grant], names: Sequence[str] = ()) -> list[dict[str, Any]]:
    """RBAC rules, one per (API group, verbs), resources sorted."""
    by: dict[tuple[str, tuple[str, ...]], set[str]] = {}
    for g in grants:
        by.setdefault((g.group, g.verbs), set()).add(g.resource)
    rules = []
    for (group, verbs), resources in sorted(by.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        rule: dict[str, Any] = {"apiGroups": [group], "resources": sorted(resources), "verbs": list(verbs)}
        if names:
            rule["resourceNames"] = list(names)
        rules.append(rule)
    return rules


def merge_grants(grants: Iterable[Grant]) -> list[Grant]:
    """One grant per (group, resource), its verbs joined in the table's order."""
    by: dict[tuple[str, str], Grant] = {}
    for g in grants:
        had = by.get((g.group, g.resource))
        verbs = tuple(dict.fromkeys((*had.verbs, *g.verbs))) if had else g.verbs
        by[(g.group, g.resource)] = dataclasses.replace(g, verbs=verbs)
    return list(by.values())


def reader_grants(secrets: bool = True) -> list[Grant]:
    return merge_grants(g for g in READS if secrets or not g.secret)


def reader_rules(*, secrets: bool = True, scope: str = "cluster") -> list[dict[str, Any]]:
    """The reader's rules: scope 'cluster' (one ClusterRole, everything cluster-wide), 'namespace' (the
    Role of each namespace read with --namespaced-read) or 'cluster-scoped' (that mode's small ClusterRole:
    the kinds that have no namespace, and the access reviews)."""
    grants = reader_grants(secrets)
    if scope == "namespace":
        grants = [g for g in grants if g.namespaced]
    elif scope == "cluster-scoped":
        grants = [g for g in grants if not g.namespaced]
    return _rules(grants)


def _meta(name: str, namespace: str | None, labels: dict[str, str] | None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if labels:
        meta["labels"] = dict(labels)
    if namespace:
        meta["namespace"] = namespace
    return meta


def role(kind: str, name: str, rules: list[dict[str, Any]], namespace: str | None = None,
         labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": f"{RBAC}/v1", "kind": kind, "metadata": _meta(name, namespace, labels), "rules": rules}


def reader_roles(name: str = "argodoctor-reader", *, secrets: bool = True, namespaces: Sequence[str] | None = None,
                 labels: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """What `check` needs: one ClusterRole; or, given the namespaces `check --namespaced-read` reads, a
    Role in each and a ClusterRole of the cluster-scoped kinds only."""
    if namespaces is None:
        return [role("ClusterRole", name, reader_rules(secrets=secrets), labels=labels)]
    return [role("ClusterRole", name, reader_rules(secrets=secrets, scope="cluster-scoped"), labels=labels),
            *(role("Role", name, reader_rules(secrets=secrets, scope="namespace"), ns, labels)
              for ns in dict.fromkeys(namespaces))]


def events_roles(name: str, namespaces: Sequence[str] | None = None,
                 labels: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Events may be posted in any namespace (a ClusterRole), or only in those read (a Role each)."""
    rules = _rules([EVENTS])
    if namespaces is None:
        return [role("ClusterRole", name, rules, labels=labels)]
    return [role("Role", name, rules, ns, labels) for ns in dict.fromkeys(namespaces)]


def report_role(name: str, namespace: str, configmap: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return role("Role", name, _rules([REPORT], [configmap]), namespace, labels)


def bindings(roles: Iterable[dict[str, Any]], service_account: str,
             labels: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """A ClusterRoleBinding of each ClusterRole and a RoleBinding of each Role, to NAMESPACE/NAME."""
    ns, _, sa = service_account.partition("/")
    out = []
    for r in roles:
        meta = r["metadata"]
        out.append({"apiVersion": f"{RBAC}/v1", "kind": f"{r['kind']}Binding",
                    "metadata": _meta(meta["name"], meta.get("namespace"), labels),
                    "roleRef": {"apiGroup": RBAC, "kind": r["kind"], "name": meta["name"]},
                    "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": ns}]})
    return out


def reader_cluster_role(name: str = "argodoctor-reader") -> dict[str, Any]:
    """The cluster-wide reader ClusterRole (`argodoctor role`)."""
    return reader_roles(name)[0]


def binding(role: dict[str, Any], service_account: str) -> dict[str, Any]:
    """The (Cluster)RoleBinding of role to NAMESPACE/NAME."""
    return bindings([role], service_account)[0]


def chart_rules() -> dict[str, Any]:
    """The rules the chart's templates take (charts/argodoctor/rbac-rules.yaml), from the same table."""
    return {
        "reader": {mode: {"secrets": reader_rules(secrets=True, scope=scope),
                          "noSecrets": reader_rules(secrets=False, scope=scope)}
                   for mode, scope in (("cluster", "cluster"), ("namespace", "namespace"),
                                       ("clusterScoped", "cluster-scoped"))},
        "events": _rules([EVENTS]),
        "report": _rules([REPORT]),  # the template adds resourceNames: [reportConfigMap]
    }


# ---- what `fix` writes, per remediation (remediations/*.py). The fixer GETs each object before it writes
# (fixer.get_live, the before-image), then server-side applies it: a PATCH that, for an object not there yet,
# the API server also authorizes as `create` (k8s.io/apiserver pkg/endpoints/handlers/patch.go,
# createAuthorizerAttributes). Only replace-broad-binding deletes, and only bindings. No `update` (no PUT is
# sent), no `watch`, no `escalate` or `bind`: see granted_rules.
_W = ("get", "create", "patch")


def _writes(why: str, *resources: str, verbs: tuple[str, ...] = _W) -> tuple[Grant, ...]:
    out = []
    for res in resources:
        group, _, plural = res.rpartition("/")
        scoped = plural in ("namespaces", "clusterroles", "clusterrolebindings", "customresourcedefinitions",
                            "priorityclasses")
        out.append(Grant(group, plural, verbs, why, not scoped))
    return tuple(out)


_BINDINGS = (f"{RBAC}/rolebindings", f"{RBAC}/clusterrolebindings")
FIX_WRITES: dict[str, tuple[Grant, ...]] = {
    # the kinds of every release's cluster-install.yaml / namespace-install.yaml (v2.12..v4.1), and the Namespace
    "install-argo": _writes("install-argo applies Argo's install manifests", "namespaces",
                            "apiextensions.k8s.io/customresourcedefinitions", "serviceaccounts", "configmaps",
                            "services", "apps/deployments", f"{RBAC}/roles", f"{RBAC}/rolebindings",
                            f"{RBAC}/clusterroles", f"{RBAC}/clusterrolebindings",
                            "scheduling.k8s.io/priorityclasses"),
    "rewrite-controller-config": _writes("rewrites the controller ConfigMap", "configmaps"),
    "deploy-object-store": _writes("deploys MinIO", "namespaces", "secrets", "apps/deployments", "services",
                                   "persistentvolumeclaims"),
    "configure-artifact-repository": _writes("writes artifactRepository", "configmaps"),
    "copy-artifact-secret": _writes("creates the repository's Secret in a workflow namespace", "secrets"),
    "create-bucket": (),  # S3 only (the keys: READS' secrets get)
    "create-service-account": _writes("creates a workflow ServiceAccount", "serviceaccounts"),
    "create-sa-token-secret": _writes("creates a token Secret and lists it on its ServiceAccount", "secrets",
                                      "serviceaccounts"),
    "grant-workflow-rbac": _writes("the executor's ClusterRole and its bindings", f"{RBAC}/clusterroles",
                                   *_BINDINGS),
    "replace-broad-binding": _writes("grants the minimal role, narrows broad bindings", f"{RBAC}/clusterroles",
                                     *_BINDINGS) + _writes("deletes a broad binding it was the only subject of",
                                                           *_BINDINGS, verbs=("delete",)),
    "set-executor": _writes("sets the executor, restarts the controller", "configmaps", "apps/deployments"),
    "set-executor-security-context": _writes("writes the executor's securityContext", "configmaps"),
    "set-executor-image": _writes("sets the executor image, restarts the controller", "configmaps",
                                  "apps/deployments"),
}
# Remediations whose objects grant rights: Kubernetes lets a user create a Role, ClusterRole or binding only
# if it holds every permission in it (or `escalate`/`bind`, which let it grant itself anything):
# kubernetes pkg/registry/rbac/escalation_check.go (EscalationAllowed: system:masters only; BindingAuthorized:
# `bind`) and pkg/registry/rbac/{role,clusterrole,rolebinding,clusterrolebinding}/policybased/storage.go
# (ConfirmNoEscalation). So the fix role holds those permissions itself, generated from the same source.
_GRANTING = ("grant-workflow-rbac", "replace-broad-binding")


def workflow_grant_rules() -> list[dict[str, Any]]:
    """Every rule grant-workflow-rbac (and replace-broad-binding, through it) may write: the executor's
    rights for every release and executor, the agent's and artifact GC's (argo.executor_permissions,
    agent_permissions, ARTIFACT_GC_PERMISSIONS: what grant_workflow_rbac.cluster_role writes)."""
    from .. import argo

    versions = [None, *(argo.parse_version(v) for v, _ in argo.RELEASE_SHA256)]
    executors = argo.Executors("emissary", argo.LEGACY_EXECUTORS)
    perms: list[Any] = []
    for v in versions:
        perms += argo.executor_permissions(v, executors) + argo.agent_permissions(v)
    perms += argo.ARTIFACT_GC_PERMISSIONS
    return argo.minimal_role_rules(list(dict.fromkeys(perms)))


def argo_role_rules(docs: Iterable[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(the rules of the ClusterRoles, of the Roles) in Argo's install manifests: what install-argo creates."""
    cluster: list[dict[str, Any]] = []
    namespaced: list[dict[str, Any]] = []
    for d in docs:
        if isinstance(d, dict) and d.get("kind") in ("ClusterRole", "Role"):
            into = cluster if d["kind"] == "ClusterRole" else namespaced
            into += [r for r in d.get("rules") or [] if r not in into]
    return cluster, namespaced


def fixer_roles(ids: Sequence[str] | None = None, *, argo_docs: list[dict[str, Any]] | None = None,
                controller_namespace: str = "argo", name: str = "argodoctor-fixer") -> list[dict[str, Any]]:
    """What `fix` needs for the remediations ids (default every one): ClusterRole NAME (the reader's rules
    and what the remediations write), ClusterRole NAME-grants (the rights the RBAC objects they write grant)
    and, given Argo's install manifests (argo_docs), install-argo's roles' rules: cluster-wide in NAME-grants,
    its Roles' in a Role NAME-grants of the controller's namespace."""
    ids = list(FIX_WRITES) if ids is None else list(ids)
    own = merge_grants([*reader_grants(), *(g for i in ids for g in FIX_WRITES[i])])
    out = [role("ClusterRole", name, _rules(own))]
    granted: list[dict[str, Any]] = workflow_grant_rules() if any(i in _GRANTING for i in ids) else []
    in_namespace: list[dict[str, Any]] = []
    if "install-argo" in ids and argo_docs is not None:
        cluster, in_namespace = argo_role_rules(argo_docs)
        granted += [r for r in cluster if r not in granted]
    if granted:
        out.append(role("ClusterRole", f"{name}-grants", granted))
    if in_namespace:
        out.append(role("Role", f"{name}-grants", in_namespace, controller_namespace))
    return out


def fixer_cluster_role(name: str = "argodoctor-fixer") -> dict[str, Any]:
    """The ClusterRole of argodoctor's own writes (see fixer_roles for the rights it grants)."""
    return fixer_roles(name=name)[0]


def _main() -> None:
    """Writes charts/argodoctor/rbac-rules.yaml's text to stdout."""
    import sys

    import yaml

    sys.stdout.write("# Generated by `python -m argodoctor.engine.permissions` from "
                     "argodoctor/engine/permissions.py: do not edit.\n"
                     "# The rules of the reader, events and report roles (templates/rbac.yaml picks them).\n")
    sys.stdout.write(yaml.safe_dump(chart_rules(), sort_keys=False))


if __name__ == "__main__":
    _main()
