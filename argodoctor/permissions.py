"""argodoctor's own access: who it is, what it may do, and the ClusterRole it needs."""
from __future__ import annotations

from typing import Any

from .cluster import KINDS, Kind
from .errors import KubeError
from .kube import Kube


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


# What `fix` writes, by API group: the objects its remediations plan (remediations/*.py) and the kinds of
# Argo's install manifests that install-argo applies (every release's cluster-install.yaml and
# namespace-install.yaml, v2.12..v4.1, PriorityClass included). Server-side apply is create or patch;
# replace-broad-binding deletes; bind and escalate let it grant the executor's rules and Argo's roles
# without holding every one of them itself.
FIX_WRITES = {
    "": ["namespaces", "configmaps", "secrets", "serviceaccounts", "services", "persistentvolumeclaims"],
    "apps": ["deployments"],
    "rbac.authorization.k8s.io": ["roles", "rolebindings", "clusterroles", "clusterrolebindings"],
    "apiextensions.k8s.io": ["customresourcedefinitions"],
    "scheduling.k8s.io": ["priorityclasses"],
}
WRITE_VERBS = ["get", "list", "watch", "create", "patch", "update", "delete"]


def reader_cluster_role(name: str = "argodoctor-reader") -> dict[str, Any]:
    """A ClusterRole that may read every kind the checks read, and nothing else."""
    by_group: dict[str, list[str]] = {}
    for kind in KINDS.values():
        by_group.setdefault(kind.group, []).append(kind.plural)
    rules = [{"apiGroups": [g], "resources": sorted(r), "verbs": ["get", "list", "watch"]}
             for g, r in sorted(by_group.items())]
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": name}, "rules": rules}


def fixer_cluster_role(name: str = "argodoctor-fixer") -> dict[str, Any]:
    """A ClusterRole for `fix`: the reader's rules, and writing what the remediations write."""
    role = reader_cluster_role(name)
    role["rules"] += [{"apiGroups": [g], "resources": r, "verbs": WRITE_VERBS} for g, r in FIX_WRITES.items()]
    role["rules"].append({"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles", "clusterroles"],
                          "verbs": ["bind", "escalate"]})
    # AD100 and the re-check after a fix ask what the caller may do
    role["rules"].append({"apiGroups": ["authorization.k8s.io"], "resources": ["selfsubjectaccessreviews"],
                          "verbs": ["create"]})
    return role


def binding(role: dict[str, Any], service_account: str) -> dict[str, Any]:
    """The ClusterRoleBinding of role to NAMESPACE/NAME."""
    ns, _, name = service_account.partition("/")
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": role["metadata"]["name"]},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": role["metadata"]["name"]},
            "subjects": [{"kind": "ServiceAccount", "namespace": ns, "name": name}]}
