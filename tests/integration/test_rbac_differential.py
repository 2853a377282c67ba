"""The local RBAC evaluator against the real authorizer: random RBAC configurations applied to the
real kube-apiserver, then the evaluator's answer compared with a SubjectAccessReview per query."""
from __future__ import annotations

import random

import pytest

from argodoctor.fix.manifests import apply_manifests
from argodoctor.k8s.rbac import Evaluator, Request, Subject, service_account
from argodoctor.view.cluster import LiveView
from argodoctor.view.kube import Kube

from .test_foundation import ns_obj

RBAC = "rbac.authorization.k8s.io"
NAMESPACES = [f"diff-{i}" for i in range(4)]
USERS = ["alice", "bob", "carol"]
GROUPS = ["devs", "ops"]
RESOURCES = [("", "pods"), ("", "pods/log"), ("", "pods/exec"), ("", "secrets"), ("", "configmaps"),
             ("apps", "deployments"), ("apps", "deployments/scale"), ("argoproj.io", "workflows"),
             ("argoproj.io", "workflowtaskresults")]
VERBS = ["get", "list", "watch", "create", "update", "patch", "delete"]
NAMES = ["", "a", "b"]


def random_rule(rng: random.Random) -> dict:
    group, resource = rng.choice(RESOURCES)
    rule = {
        "apiGroups": ["*"] if rng.random() < 0.15 else [group] if rng.random() < 0.85 else [group, "apps"],
        "resources": rng.choice([["*"], [resource], [resource, rng.choice(RESOURCES)[1]],
                                 [resource.split("/")[0] + "/*"] if "/" in resource else [resource],
                                 ["*/" + resource.split("/")[1]] if "/" in resource else ["*"]])
        if rng.random() < 0.9 else [resource],
        "verbs": ["*"] if rng.random() < 0.1 else rng.sample(VERBS, rng.randint(1, 3)),
    }
    if rng.random() < 0.2:
        rule["resourceNames"] = rng.sample(["a", "b"], rng.randint(1, 2))
    return rule


def random_subject(rng: random.Random, binding_ns: str | None) -> dict:
    r = rng.random()
    if r < 0.3:
        return {"kind": "User", "apiGroup": RBAC, "name": rng.choice(USERS)}
    if r < 0.5:
        # everyone-groups only in namespaced bindings, or one binding would allow nearly every query
        everyone = ["system:serviceaccounts", "system:authenticated"] if binding_ns else []
        name = rng.choice(GROUPS + everyone + [f"system:serviceaccounts:{rng.choice(NAMESPACES)}"])
        return {"kind": "Group", "apiGroup": RBAC, "name": name}
    if r < 0.6:  # a service account named as a user
        return {"kind": "User", "apiGroup": RBAC, "name": f"system:serviceaccount:{rng.choice(NAMESPACES)}:sa0"}
    subject = {"kind": "ServiceAccount", "name": rng.choice(["sa0", "sa1", "default"]),
               "namespace": rng.choice(NAMESPACES)}
    return subject


def random_config(rng: random.Random, tag: str) -> list[dict]:
    objs: list[dict] = []
    for i in range(6):
        objs.append({"apiVersion": f"{RBAC}/v1", "kind": "ClusterRole", "metadata": {"name": f"{tag}-cr{i}"},
                     "rules": [random_rule(rng) for _ in range(rng.randint(1, 3))]})
    for ns in NAMESPACES:
        for i in range(2):
            objs.append({"apiVersion": f"{RBAC}/v1", "kind": "Role",
                         "metadata": {"name": f"{tag}-r{i}", "namespace": ns},
                         "rules": [random_rule(rng) for _ in range(rng.randint(1, 3))]})
        for i in range(3):
            ref = ({"kind": "Role", "name": f"{tag}-r{rng.randint(0, 1)}"} if rng.random() < 0.5
                   else {"kind": "ClusterRole", "name": f"{tag}-cr{rng.randint(0, 5)}"})
            objs.append({"apiVersion": f"{RBAC}/v1", "kind": "RoleBinding",
                         "metadata": {"name": f"{tag}-rb{i}", "namespace": ns},
                         "roleRef": {"apiGroup": RBAC, **ref},
                         "subjects": [random_subject(rng, ns) for _ in range(rng.randint(1, 2))]})
    for i in range(2):
        objs.append({"apiVersion": f"{RBAC}/v1", "kind": "ClusterRoleBinding", "metadata": {"name": f"{tag}-crb{i}"},
                     "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": f"{tag}-cr{rng.randint(0, 5)}"},
                     "subjects": [random_subject(rng, None) for _ in range(rng.randint(1, 2))]})
    # a ServiceAccount subject without namespace in a RoleBinding: defaults to the binding's namespace
    objs.append({"apiVersion": f"{RBAC}/v1", "kind": "RoleBinding",
                 "metadata": {"name": f"{tag}-nons", "namespace": NAMESPACES[0]},
                 "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": f"{tag}-cr0"},
                 "subjects": [{"kind": "ServiceAccount", "name": "sa1"}]})
    return objs


def random_query(rng: random.Random) -> tuple[Subject, Request]:
    if rng.random() < 0.5:
        subject = service_account(rng.choice(NAMESPACES), rng.choice(["sa0", "sa1", "default"]))
    else:
        subject = Subject("User", rng.choice(USERS), groups=tuple(rng.sample(GROUPS, rng.randint(0, 2))))
    group, resource = rng.choice(RESOURCES)
    res, _, sub = resource.partition("/")
    ns = rng.choice(NAMESPACES + [""])
    return subject, Request(verb=rng.choice(VERBS), resource=res, namespace=ns, group=group, subresource=sub,
                            name=rng.choice(NAMES))


def sar(kube: Kube, subject: Subject, req: Request) -> bool:
    attrs = {"verb": req.verb, "group": req.group, "resource": req.resource, "subresource": req.subresource,
             "namespace": req.namespace, "name": req.name}
    body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
            "spec": {"user": subject.username, "groups": list(subject.all_groups), "resourceAttributes": attrs}}
    return kube.request("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", body=body)["status"].get(
        "allowed", False)


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_evaluator_agrees_with_the_real_authorizer(admin_kube, seed):
    rng = random.Random(seed)
    tag = f"d{seed}"
    apply_manifests(admin_kube, [ns_obj(ns) for ns in NAMESPACES])
    config = random_config(rng, tag)
    apply_manifests(admin_kube, config)
    try:
        compare(admin_kube, rng, seed)
    finally:  # each configuration on a clean state
        from argodoctor.fix.fixer import object_path

        for obj in config:
            admin_kube.request("DELETE", object_path(obj))


def compare(admin_kube: Kube, rng: random.Random, seed: int) -> None:
    view = LiveView(admin_kube)  # every Role and binding in the cluster, bootstrap ones included
    ev = Evaluator(view.list("Role"), view.list("ClusterRole"), view.list("RoleBinding"),
                   view.list("ClusterRoleBinding"))
    disagreements = []
    allowed = 0
    n = 400
    for _ in range(n):
        subject, req = random_query(rng)
        real = sar(admin_kube, subject, req)
        allowed += real
        if ev.allows(subject, req) != real:
            disagreements.append((subject, req, real))
    print(f"\n[differential seed={seed}] compared {n} queries with SubjectAccessReview: "
          f"{allowed} allowed, {len(disagreements)} disagreements")
    assert disagreements == []
    assert 0 < allowed < n  # the generator produced both answers


def test_aggregation_agrees_with_the_controller(full_control_plane):
    """ClusterRole aggregation, on the fuller control plane whose controller really aggregates: the
    evaluator's answers equal SubjectAccessReview's both on the filled-in roles and on the same roles
    with their rules emptied (as manifests and snapshots have them), evaluated from labels."""
    import time

    kube = Kube(str(full_control_plane.kubeconfig()))
    rng = random.Random(7)
    apply_manifests(kube, [ns_obj(ns) for ns in NAMESPACES])
    sources = []
    for i in range(8):
        labels = {"agg.test/tier": rng.choice(["a", "b", "c"]), **({"agg.test/extra": "yes"} if i % 2 else {})}
        sources.append({"apiVersion": f"{RBAC}/v1", "kind": "ClusterRole",
                        "metadata": {"name": f"src-{i}", "labels": labels},
                        "rules": [random_rule(rng) for _ in range(rng.randint(1, 2))]})
    aggregated = [
        {"clusterRoleSelectors": [{"matchLabels": {"agg.test/tier": "a"}}]},
        {"clusterRoleSelectors": [{"matchExpressions": [
            {"key": "agg.test/tier", "operator": "In", "values": ["b", "c"]},
            {"key": "agg.test/extra", "operator": "Exists"}]}]},
        {"clusterRoleSelectors": [{"matchExpressions": [{"key": "agg.test/tier", "operator": "NotIn",
                                                         "values": ["a"]}]},
                                  {"matchLabels": {"agg.test/extra": "yes"}}]},
    ]
    aggs = [{"apiVersion": f"{RBAC}/v1", "kind": "ClusterRole", "metadata": {"name": f"agg-{i}"},
             "aggregationRule": rule} for i, rule in enumerate(aggregated)]
    bindings = []
    for j, ns in enumerate(NAMESPACES):
        bindings.append({"apiVersion": f"{RBAC}/v1", "kind": "RoleBinding",
                         "metadata": {"name": "agg", "namespace": ns},
                         "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": f"agg-{j % 3}"},
                         "subjects": [{"kind": "ServiceAccount", "name": "sa0", "namespace": ns},
                                      {"kind": "User", "apiGroup": RBAC, "name": USERS[j % 3]}]})
    bindings.append({"apiVersion": f"{RBAC}/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "agg-all"},
                     "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "agg-1"},
                     "subjects": [{"kind": "Group", "apiGroup": RBAC, "name": "ops"}]})
    apply_manifests(kube, sources + aggs + bindings)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # the clusterrole-aggregation controller fills the rules in
        filled = [kube.request("GET", f"/apis/{RBAC}/v1/clusterroles/agg-{i}").get("rules") for i in range(3)]
        if all(filled):
            break
        time.sleep(0.5)
    assert all(filled), "the aggregation controller did not fill the aggregated ClusterRoles"

    view = LiveView(kube)
    roles, crs, rbs, crbs = (view.list(k) for k in ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"))
    live = Evaluator(roles, crs, rbs, crbs)
    emptied = [dict(c, rules=[]) if c["metadata"]["name"].startswith("agg-") else c for c in crs]
    from_labels = Evaluator(roles, emptied, rbs, crbs)
    n, allowed, disagreements = 500, 0, []
    for _ in range(n):
        subject, req = random_query(rng)
        real = sar(kube, subject, req)
        allowed += real
        if live.allows(subject, req) != real or from_labels.allows(subject, req) != real:
            disagreements.append((subject, req, real))
    print(f"\n[differential aggregation] compared {n} queries with SubjectAccessReview: {allowed} allowed, "
          f"{len(disagreements)} disagreements (live rules and rules from labels)")
    assert disagreements == [] and 0 < allowed < n
