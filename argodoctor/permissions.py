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


def reader_cluster_role(name: str = "argodoctor-reader") -> dict[str, Any]:
    """A ClusterRole that may read every kind the checks read, and nothing else."""
    by_group: dict[str, list[str]] = {}
    for kind in KINDS.values():
        by_group.setdefault(kind.group, []).append(kind.plural)
    rules = [{"apiGroups": [g], "resources": sorted(r), "verbs": ["get", "list", "watch"]}
             for g, r in sorted(by_group.items())]
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": name}, "rules": rules}
