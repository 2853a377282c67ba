"""The local RBAC evaluator against Kubernetes' own semantics, on small hand-built objects."""
from __future__ import annotations

import dataclasses

import pytest

from argodoctor.k8s.rbac import (
    Evaluator,
    Grant,
    InvalidSelector,
    Request,
    Subject,
    label_selector_matches,
    rule_allows,
    service_account,
)

AGG_ADMIN = "rbac.authorization.k8s.io/aggregate-to-admin"
AGG_EDIT = "rbac.authorization.k8s.io/aggregate-to-edit"


# ---- builders
def rule(verbs, resources, groups=("",), names=None, urls=None) -> dict:
    r = {"verbs": list(verbs), "apiGroups": list(groups), "resources": list(resources)}
    if names is not None:
        r["resourceNames"] = list(names)
    if urls is not None:
        r["nonResourceURLs"] = list(urls)
    return r


def role(ns, name, *rules) -> dict:
    return {"kind": "Role", "metadata": {"name": name, "namespace": ns}, "rules": list(rules)}


def cluster_role(name, *rules, labels=None, selectors=None) -> dict:
    obj = {"kind": "ClusterRole", "metadata": {"name": name, "labels": labels or {}}, "rules": list(rules)}
    if selectors is not None:
        obj["aggregationRule"] = {"clusterRoleSelectors": selectors}
    return obj


def ref(kind, name) -> dict:
    return {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": name}


def user(name) -> dict:
    return {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": name}


def group(name) -> dict:
    return {"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": name}


def sa(name, ns=None) -> dict:
    s = {"kind": "ServiceAccount", "name": name}
    if ns is not None:
        s["namespace"] = ns
    return s


def rb(ns, name, role_ref, *subjects) -> dict:
    return {"kind": "RoleBinding", "metadata": {"name": name, "namespace": ns},
            "roleRef": role_ref, "subjects": list(subjects)}


def crb(name, role_ref, *subjects) -> dict:
    return {"kind": "ClusterRoleBinding", "metadata": {"name": name}, "roleRef": role_ref, "subjects": list(subjects)}


def ev(roles=(), cluster_roles=(), role_bindings=(), cluster_role_bindings=()) -> Evaluator:
    return Evaluator(list(roles), list(cluster_roles), list(role_bindings), list(cluster_role_bindings))


ALICE = Subject("User", "alice")
RUNNER = service_account("wf", "runner")
GET_PODS = rule(["get", "list"], ["pods"])


# ---- subjects
def test_service_account_identity():
    assert RUNNER == Subject("ServiceAccount", "runner", "wf")
    assert RUNNER.username == "system:serviceaccount:wf:runner"
    assert set(RUNNER.all_groups) == {"system:serviceaccounts", "system:serviceaccounts:wf", "system:authenticated"}


def test_user_identity_adds_authenticated_but_not_for_anonymous():
    assert ALICE.all_groups == ("system:authenticated",)
    assert Subject("User", "bob", groups=("devs",)).all_groups == ("devs", "system:authenticated")
    assert Subject("User", "system:anonymous").all_groups == ("system:unauthenticated",)
    assert Subject("User", "x", groups=("system:unauthenticated",)).all_groups == ("system:unauthenticated",)


# ---- scope: Role/RoleBinding/ClusterRole/ClusterRoleBinding
def test_rolebinding_to_role_grants_in_its_namespace_only():
    e = ev(roles=[role("a", "reader", GET_PODS), role("b", "reader", GET_PODS)],
           role_bindings=[rb("a", "alice-reads", ref("Role", "reader"), user("alice"))])
    assert e.allows(ALICE, Request("list", "pods", "a"))
    assert not e.allows(ALICE, Request("list", "pods", "b"))
    assert not e.allows(ALICE, Request("list", "pods"))  # cluster-wide
    assert not e.allows(Subject("User", "bob"), Request("list", "pods", "a"))


def test_rolebinding_to_role_of_another_namespace_grants_nothing():
    e = ev(roles=[role("b", "reader", GET_PODS)],
           role_bindings=[rb("a", "alice-reads", ref("Role", "reader"), user("alice"))])
    assert not e.allows(ALICE, Request("list", "pods", "a"))
    assert not e.allows(ALICE, Request("list", "pods", "b"))
    # The binding still applies to alice; its role just resolves to no rules.
    assert [b["metadata"]["name"] for b in e.bindings_for(ALICE, "a")] == ["alice-reads"]
    assert e.rules_for(ALICE, "a") == []


def test_clusterrole_via_rolebinding_is_limited_to_the_binding_namespace():
    e = ev(cluster_roles=[cluster_role("pod-reader", GET_PODS)],
           role_bindings=[rb("a", "alice-reads", ref("ClusterRole", "pod-reader"), user("alice"))])
    assert e.allows(ALICE, Request("get", "pods", "a", name="p"))
    assert not e.allows(ALICE, Request("get", "pods", "b", name="p"))
    assert not e.allows(ALICE, Request("list", "pods"))


def test_rolebinding_never_grants_cluster_scoped_requests():
    e = ev(cluster_roles=[cluster_role("all", rule(["*"], ["*"], ["*"]))],
           role_bindings=[rb("a", "god-in-a", ref("ClusterRole", "all"), user("alice"))])
    assert e.allows(ALICE, Request("delete", "secrets", "a", name="s"))
    assert not e.allows(ALICE, Request("list", "namespaces"))
    assert not e.allows(ALICE, Request("get", "nodes", name="n1"))
    assert e.bindings_for(ALICE, "") == []


def test_clusterrolebinding_applies_everywhere_and_cluster_wide():
    e = ev(cluster_roles=[cluster_role("pod-reader", GET_PODS)],
           cluster_role_bindings=[crb("alice-reads", ref("ClusterRole", "pod-reader"), user("alice"))])
    for ns in ("a", "b", "kube-system", ""):
        assert e.allows(ALICE, Request("list", "pods", ns))
    assert not e.allows(ALICE, Request("delete", "pods", "a", name="p"))


def test_clusterrolebinding_to_a_role_grants_nothing():
    e = ev(roles=[role("a", "reader", GET_PODS)],
           cluster_role_bindings=[crb("odd", ref("Role", "reader"), user("alice"))])
    assert not e.allows(ALICE, Request("list", "pods", "a"))
    assert not e.allows(ALICE, Request("list", "pods"))


def test_missing_clusterrole_and_unknown_roleref_kind_grant_nothing():
    e = ev(cluster_role_bindings=[crb("gone", ref("ClusterRole", "nope"), user("alice")),
                                  crb("weird", ref("Policy", "x"), user("alice"))])
    assert not e.allows(ALICE, Request("list", "pods", "a"))
    assert len(e.bindings_for(ALICE, "a")) == 2


# ---- binding subjects
def test_user_subject_matches_service_account_username():
    e = ev(cluster_roles=[cluster_role("pod-reader", GET_PODS)],
           role_bindings=[rb("x", "by-name", ref("ClusterRole", "pod-reader"),
                             user("system:serviceaccount:wf:runner"))])
    assert e.allows(RUNNER, Request("list", "pods", "x"))
    assert not e.allows(service_account("other", "runner"), Request("list", "pods", "x"))


def test_service_account_subject_without_namespace_defaults_to_the_rolebinding_namespace():
    e = ev(roles=[role("wf", "r", GET_PODS)],
           role_bindings=[rb("wf", "local-sa", ref("Role", "r"), sa("runner"))])
    assert e.allows(RUNNER, Request("list", "pods", "wf"))
    assert not e.allows(service_account("other", "runner"), Request("list", "pods", "wf"))
    # A user merely named "runner" is not the service account.
    assert not e.allows(Subject("User", "runner"), Request("list", "pods", "wf"))


def test_service_account_of_another_namespace_bound_in_a_rolebinding():
    e = ev(roles=[role("data", "r", GET_PODS)],
           role_bindings=[rb("data", "cross", ref("Role", "r"), sa("runner", "wf"))])
    assert e.allows(RUNNER, Request("list", "pods", "data"))
    assert not e.allows(RUNNER, Request("list", "pods", "wf"))
    assert not e.allows(service_account("data", "runner"), Request("list", "pods", "data"))


def test_service_account_subject_without_namespace_in_clusterrolebinding_matches_nothing():
    e = ev(cluster_roles=[cluster_role("pod-reader", GET_PODS)],
           cluster_role_bindings=[crb("no-ns", ref("ClusterRole", "pod-reader"), sa("runner")),
                                  crb("with-ns", ref("ClusterRole", "pod-reader"), sa("runner", "ci"))])
    assert not e.allows(RUNNER, Request("list", "pods", "wf"))
    assert not e.allows(RUNNER, Request("list", "pods"))
    assert not e.allows(service_account("default", "runner"), Request("list", "pods", "default"))
    assert e.allows(service_account("ci", "runner"), Request("list", "pods", "wf"))
    assert [b["metadata"]["name"] for b in e.bindings_for(service_account("ci", "runner"), "wf")] == ["with-ns"]


def test_service_accounts_of_a_namespace_group():
    e = ev(cluster_roles=[cluster_role("pod-reader", GET_PODS)],
           role_bindings=[rb("shared", "wf-sas", ref("ClusterRole", "pod-reader"), group("system:serviceaccounts:wf"))])
    assert e.allows(RUNNER, Request("list", "pods", "shared"))
    assert e.allows(service_account("wf", "default"), Request("list", "pods", "shared"))
    assert not e.allows(service_account("other", "runner"), Request("list", "pods", "shared"))
    assert not e.allows(ALICE, Request("list", "pods", "shared"))
    assert not e.allows(RUNNER, Request("list", "pods", "wf"))


def test_all_service_accounts_and_authenticated_groups():
    e = ev(cluster_roles=[cluster_role("pod-reader", GET_PODS),
                          cluster_role("cm-reader", rule(["get"], ["configmaps"]))],
           cluster_role_bindings=[crb("sas", ref("ClusterRole", "pod-reader"), group("system:serviceaccounts")),
                                  crb("everyone", ref("ClusterRole", "cm-reader"), group("system:authenticated"))])
    assert e.allows(RUNNER, Request("list", "pods", "x"))
    assert not e.allows(ALICE, Request("list", "pods", "x"))
    assert e.allows(ALICE, Request("get", "configmaps", "x", name="c"))
    assert e.allows(RUNNER, Request("get", "configmaps", "x", name="c"))
    assert not e.allows(Subject("User", "system:anonymous"), Request("get", "configmaps", "x", name="c"))


def test_explicit_user_groups_and_group_subject():
    e = ev(cluster_roles=[cluster_role("pod-reader", GET_PODS)],
           role_bindings=[rb("a", "devs", ref("ClusterRole", "pod-reader"), group("devs"))])
    assert e.allows(Subject("User", "bob", groups=("devs",)), Request("list", "pods", "a"))
    assert not e.allows(Subject("User", "bob"), Request("list", "pods", "a"))
    assert e.allows(Subject("Group", "devs"), Request("list", "pods", "a"))


def test_system_masters_is_not_special_to_rbac():
    e = ev(cluster_roles=[cluster_role("pod-reader", GET_PODS)])
    root = Subject("User", "admin", groups=("system:masters",))
    assert not e.allows(root, Request("list", "pods", "a"))


def test_unknown_subject_kind_and_multiple_subjects():
    e = ev(cluster_roles=[cluster_role("pod-reader", GET_PODS)],
           role_bindings=[rb("a", "mixed", ref("ClusterRole", "pod-reader"),
                             {"kind": "Robot", "name": "alice"}, user("carol"), sa("runner", "wf"))])
    assert not e.allows(ALICE, Request("list", "pods", "a"))
    assert e.allows(Subject("User", "carol"), Request("list", "pods", "a"))
    assert e.allows(RUNNER, Request("list", "pods", "a"))


# ---- rule matching
def test_verbs_and_verb_wildcard():
    assert rule_allows(rule(["get"], ["pods"]), Request("get", "pods", "a", name="p"))
    assert not rule_allows(rule(["get"], ["pods"]), Request("list", "pods", "a"))
    assert rule_allows(rule(["*"], ["pods"]), Request("deletecollection", "pods", "a"))
    assert not rule_allows(rule(["Get"], ["pods"]), Request("get", "pods", "a"))  # case-sensitive


def test_api_groups_and_group_wildcard():
    deploy = Request("get", "deployments", "a", group="apps", name="d")
    assert rule_allows(rule(["get"], ["deployments"], ["apps"]), deploy)
    assert not rule_allows(rule(["get"], ["deployments"], [""]), deploy)
    assert rule_allows(rule(["get"], ["deployments"], ["*"]), deploy)
    assert not rule_allows(rule(["get"], ["pods"], ["apps"]), Request("get", "pods", "a", name="p"))
    assert not rule_allows(rule(["get"], ["pods"], []), Request("get", "pods", "a", name="p"))  # no apiGroups


def test_resource_wildcard_includes_subresources():
    r = rule(["get"], ["*"], ["argoproj.io"])
    assert rule_allows(r, Request("get", "workflows", "a", group="argoproj.io", name="w"))
    assert rule_allows(r, Request("get", "workflows", "a", group="argoproj.io", subresource="status", name="w"))


def test_subresource_is_separate_from_its_resource():
    pods = rule(["get"], ["pods"])
    logs = rule(["get"], ["pods/log"])
    assert rule_allows(pods, Request("get", "pods", "a", name="p"))
    assert not rule_allows(pods, Request("get", "pods", "a", subresource="log", name="p"))
    assert rule_allows(logs, Request("get", "pods", "a", subresource="log", name="p"))
    assert not rule_allows(logs, Request("get", "nodes", subresource="log", name="n"))
    assert not rule_allows(logs, Request("get", "pods", "a", name="p"))
    assert not rule_allows(logs, Request("get", "pods", "a", subresource="exec", name="p"))


def test_star_slash_subresource_matches_any_resource_with_that_subresource():
    r = rule(["get"], ["*/scale"], ["*"])
    assert rule_allows(r, Request("get", "deployments", "a", group="apps", subresource="scale", name="d"))
    assert not rule_allows(r, Request("get", "deployments", "a", group="apps", name="d"))
    assert not rule_allows(r, Request("get", "deployments", "a", group="apps", subresource="status", name="d"))
    # the length check: "*/scale" does not match a subresource it merely ends with
    assert not rule_allows(r, Request("get", "deployments", "a", group="apps", subresource="cale", name="d"))


def test_resource_slash_star_is_not_a_wildcard():
    # ResourceMatches knows "*", exact and "*/sub"; "pods/*" is matched literally only.
    r = rule(["get"], ["pods/*"])
    assert not rule_allows(r, Request("get", "pods", "a", subresource="log", name="p"))
    assert not rule_allows(r, Request("get", "pods", "a", name="p"))


def test_resource_names():
    r = rule(["get", "list", "update"], ["configmaps"], names=["cfg"])
    assert rule_allows(r, Request("get", "configmaps", "a", name="cfg"))
    assert not rule_allows(r, Request("get", "configmaps", "a", name="other"))
    assert not rule_allows(r, Request("list", "configmaps", "a"))  # list has no name
    assert not rule_allows(r, Request("update", "configmaps", "a"))
    assert rule_allows(rule(["list"], ["configmaps"], names=[]), Request("list", "configmaps", "a"))


def test_non_resource_urls_are_ignored_for_resource_requests():
    r = rule(["get"], [], [], urls=["*"])
    assert not rule_allows(r, Request("get", "pods", "a", name="p"))
    assert not rule_allows({"verbs": ["*"], "nonResourceURLs": ["/healthz"]}, Request("get", "pods"))


def test_evaluator_denies_list_with_resource_names_rule():
    e = ev(roles=[role("a", "one-secret", rule(["get", "list", "watch"], ["secrets"], names=["minio"]))],
           role_bindings=[rb("a", "b", ref("Role", "one-secret"), sa("runner", "wf"))])
    assert e.allows(RUNNER, Request("get", "secrets", "a", name="minio"))
    assert not e.allows(RUNNER, Request("list", "secrets", "a"))
    assert not e.allows(RUNNER, Request("watch", "secrets", "a"))
    assert not e.allows(RUNNER, Request("get", "secrets", "a", name="other"))


# ---- label selectors and aggregation
@pytest.mark.parametrize(("selector", "labels", "expected"), [
    (None, {"a": "1"}, False),
    ({}, {}, True),
    ({"matchLabels": {"a": "1"}}, {"a": "1", "b": "2"}, True),
    ({"matchLabels": {"a": "1"}}, {"a": "2"}, False),
    ({"matchLabels": {"a": "1", "b": "2"}}, {"a": "1"}, False),
    ({"matchExpressions": [{"key": "a", "operator": "In", "values": ["1", "2"]}]}, {"a": "2"}, True),
    ({"matchExpressions": [{"key": "a", "operator": "In", "values": ["1"]}]}, {}, False),
    ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]}, {"a": "1"}, False),
    ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]}, {"a": "2"}, True),
    ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]}, {}, True),
    ({"matchExpressions": [{"key": "a", "operator": "Exists"}]}, {"a": ""}, True),
    ({"matchExpressions": [{"key": "a", "operator": "Exists"}]}, {"b": "1"}, False),
    ({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, {"b": "1"}, True),
    ({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, {"a": "1"}, False),
    ({"matchLabels": {"a": "1"}, "matchExpressions": [{"key": "b", "operator": "Exists"}]}, {"a": "1"}, False),
])
def test_label_selector(selector, labels, expected):
    assert label_selector_matches(selector, labels) is expected


@pytest.mark.parametrize("expr", [
    {"key": "a", "operator": "In", "values": []},
    {"key": "a", "operator": "NotIn"},
    {"key": "a", "operator": "Exists", "values": ["x"]},
    {"key": "a", "operator": "Equals", "values": ["x"]},
])
def test_invalid_label_selector(expr):
    with pytest.raises(InvalidSelector):
        label_selector_matches({"matchExpressions": [expr]}, {"a": "x"})


def test_aggregation_builds_admin_from_edit_from_view_transitively():
    view = cluster_role("view", rule(["get", "list"], ["pods"]), labels={AGG_EDIT: "true"})
    edit = cluster_role("edit", rule(["create"], ["pods"]), labels={AGG_ADMIN: "true"},
                        selectors=[{"matchLabels": {AGG_EDIT: "true"}}])
    admin = cluster_role("admin", selectors=[{"matchLabels": {AGG_ADMIN: "true"}}])
    e = ev(cluster_roles=[admin, edit, view],
           role_bindings=[rb("a", "alice-admin", ref("ClusterRole", "admin"), user("alice"))])
    assert admin["rules"] == []  # as in a manifest snapshot
    for verb in ("get", "list", "create"):
        assert e.allows(ALICE, Request(verb, "pods", "a", name="p" if verb == "get" else ""))
    assert not e.allows(ALICE, Request("delete", "pods", "a", name="p"))
    assert not e.allows(ALICE, Request("list", "pods", "b"))
    [g] = e.grants(ALICE, Request("create", "pods", "a"))
    assert (g.role_kind, g.role_name) == ("ClusterRole", "admin")


def test_aggregation_with_match_expressions():
    argo = cluster_role("argo-agg", rule(["*"], ["workflows"], ["argoproj.io"]),
                        labels={"tier": "argo", "env": "prod"})
    dev = cluster_role("argo-dev", rule(["*"], ["secrets"]), labels={"tier": "argo", "env": "dev"})
    other = cluster_role("other", rule(["*"], ["nodes"]), labels={"tier": "infra"})
    agg = cluster_role("argo-all", selectors=[{"matchExpressions": [
        {"key": "tier", "operator": "In", "values": ["argo"]},
        {"key": "env", "operator": "NotIn", "values": ["dev"]}]}])
    e = ev(cluster_roles=[argo, dev, other, agg],
           cluster_role_bindings=[crb("b", ref("ClusterRole", "argo-all"), user("alice"))])
    assert e.allows(ALICE, Request("create", "workflows", "x", group="argoproj.io"))
    assert not e.allows(ALICE, Request("get", "secrets", "x", name="s"))
    assert not e.allows(ALICE, Request("get", "nodes", name="n"))


def test_aggregation_any_selector_matches_and_own_rules_kept():
    a = cluster_role("a", rule(["get"], ["pods"]), labels={"x": "1"})
    b = cluster_role("b", rule(["get"], ["services"]), labels={"y": "1"})
    agg = cluster_role("agg", rule(["get"], ["configmaps"]),
                       selectors=[{"matchLabels": {"x": "1"}},
                                  {"matchExpressions": [{"key": "y", "operator": "Exists"}]}])
    e = ev(cluster_roles=[a, b, agg], cluster_role_bindings=[crb("bind", ref("ClusterRole", "agg"), user("alice"))])
    for res in ("pods", "services", "configmaps"):
        assert e.allows(ALICE, Request("get", res, "n", name="x"))
    # duplicates collapse: a role matched by two selectors contributes its rules once
    agg2 = cluster_role("agg2", selectors=[{"matchLabels": {"x": "1"}}, {"matchExpressions": [
        {"key": "x", "operator": "Exists"}]}])
    e2 = ev(cluster_roles=[a, agg2], cluster_role_bindings=[crb("bind", ref("ClusterRole", "agg2"), user("alice"))])
    assert len(e2.rules_for(ALICE, "")) == 1


def test_aggregation_ignores_roles_without_matching_labels():
    selfish = cluster_role("selfish", labels={"agg": "yes"}, selectors=[{"matchLabels": {"agg": "yes"}}])
    plain = cluster_role("plain", rule(["get"], ["pods"]))
    e = ev(cluster_roles=[selfish, plain],
           cluster_role_bindings=[crb("b", ref("ClusterRole", "selfish"), user("alice"))])
    assert e.rules_for(ALICE, "a") == []


def test_aggregation_cycle_terminates():
    a = cluster_role("a", rule(["get"], ["pods"]), labels={"g": "b"}, selectors=[{"matchLabels": {"g": "a"}}])
    b = cluster_role("b", rule(["get"], ["services"]), labels={"g": "a"}, selectors=[{"matchLabels": {"g": "b"}}])
    e = ev(cluster_roles=[a, b], cluster_role_bindings=[crb("x", ref("ClusterRole", "a"), user("alice"))])
    assert e.allows(ALICE, Request("get", "services", "n", name="s"))
    assert e.allows(ALICE, Request("get", "pods", "n", name="p"))


def test_aggregation_with_an_invalid_selector_keeps_listed_rules_only():
    a = cluster_role("a", rule(["get"], ["pods"]), labels={"x": "1"})
    bad = cluster_role("bad", rule(["get"], ["configmaps"]), selectors=[
        {"matchLabels": {"x": "1"}}, {"matchExpressions": [{"key": "x", "operator": "In", "values": []}]}])
    e = ev(cluster_roles=[a, bad], cluster_role_bindings=[crb("b", ref("ClusterRole", "bad"), user("alice"))])
    assert e.allows(ALICE, Request("get", "configmaps", "n", name="c"))
    assert not e.allows(ALICE, Request("get", "pods", "n", name="p"))


# ---- grants / bindings_for / rules_for
def test_grants_names_every_binding_that_allows():
    reader = rule(["get", "list"], ["pods"])
    e = ev(roles=[role("a", "pods", reader, rule(["get"], ["secrets"]))],
           cluster_roles=[cluster_role("viewer", reader), cluster_role("unrelated", rule(["get"], ["nodes"]))],
           role_bindings=[rb("a", "local", ref("Role", "pods"), sa("runner")),
                          rb("a", "noise", ref("ClusterRole", "unrelated"), sa("runner")),
                          rb("b", "elsewhere", ref("ClusterRole", "viewer"), sa("runner", "a"))],
           cluster_role_bindings=[crb("everyone-views", ref("ClusterRole", "viewer"), group("system:serviceaccounts")),
                                  crb("for-alice", ref("ClusterRole", "viewer"), user("alice"))])
    me = service_account("a", "runner")
    grants = e.grants(me, Request("list", "pods", "a"))
    assert grants == [
        Grant("ClusterRoleBinding", "", "everyone-views", "ClusterRole", "viewer", reader),
        Grant("RoleBinding", "a", "local", "Role", "pods", reader),
    ]
    assert len(set(grants)) == 2  # hashable
    assert grants[0] != dataclasses.replace(grants[0], rule=rule(["get"], ["pods"]))
    [g] = e.grants(me, Request("get", "secrets", "a", name="s"))
    assert (g.binding_kind, g.binding_namespace, g.binding_name, g.role_kind, g.role_name) == (
        "RoleBinding", "a", "local", "Role", "pods")
    assert g.rule["resources"] == ["secrets"]
    assert e.grants(me, Request("delete", "pods", "a", name="p")) == []
    assert [g.binding_name for g in e.grants(me, Request("list", "pods", "b"))] == ["everyone-views", "elsewhere"]


def test_bindings_for_and_rules_for():
    e = ev(roles=[role("a", "r", GET_PODS)],
           cluster_roles=[cluster_role("c", rule(["get"], ["nodes"]))],
           role_bindings=[rb("a", "rb-a", ref("Role", "r"), user("alice")),
                          rb("b", "rb-b", ref("Role", "r"), user("alice")),
                          rb("a", "rb-bob", ref("Role", "r"), user("bob"))],
           cluster_role_bindings=[crb("crb", ref("ClusterRole", "c"), user("alice")),
                                  crb("crb-bob", ref("ClusterRole", "c"), user("bob"))])
    assert [b["metadata"]["name"] for b in e.bindings_for(ALICE, "a")] == ["crb", "rb-a"]
    assert [b["metadata"]["name"] for b in e.bindings_for(ALICE, "")] == ["crb"]
    assert [b["metadata"]["name"] for b in e.bindings_for(ALICE, "zzz")] == ["crb"]
    pairs = e.rules_for(ALICE, "a")
    assert [(b["metadata"]["name"], r["resources"]) for b, r in pairs] == [("crb", ["nodes"]), ("rb-a", ["pods"])]


def test_bindings_keep_kubernetes_visit_order():
    # ClusterRoleBindings first, then RoleBindings, each in list order whichever subject matched.
    e = ev(cluster_roles=[cluster_role("c", GET_PODS)],
           role_bindings=[rb("a", "rb-group", ref("ClusterRole", "c"), group("devs")),
                          rb("a", "rb-user", ref("ClusterRole", "c"), user("alice"))],
           cluster_role_bindings=[crb("crb-group", ref("ClusterRole", "c"), group("devs")),
                                  crb("crb-user", ref("ClusterRole", "c"), user("alice"))])
    alice = Subject("User", "alice", groups=("devs",))
    names = [b["metadata"]["name"] for b in e.bindings_for(alice, "a")]
    assert names == ["crb-group", "crb-user", "rb-group", "rb-user"]


def test_clusterrolebinding_with_a_stray_namespace_still_applies_everywhere():
    binding = crb("b", ref("ClusterRole", "c"), user("alice"))
    binding["metadata"]["namespace"] = "argo"  # as some manifests have it; the API server drops it
    e = ev(cluster_roles=[cluster_role("c", GET_PODS)], cluster_role_bindings=[binding])
    assert e.allows(ALICE, Request("list", "pods", "other"))
    assert e.allows(ALICE, Request("list", "pods"))


def test_binding_listed_once_even_when_several_subjects_match():
    e = ev(cluster_roles=[cluster_role("c", GET_PODS)],
           role_bindings=[rb("a", "twice", ref("ClusterRole", "c"), user("alice"), group("system:authenticated"))])
    assert len(e.bindings_for(ALICE, "a")) == 1
    assert len(e.grants(ALICE, Request("list", "pods", "a"))) == 1


def test_tolerates_missing_fields():
    e = Evaluator(None, [{"metadata": {"name": "c"}, "rules": None}],
                  [{"metadata": {"name": "x", "namespace": "a"}, "roleRef": {"kind": "ClusterRole", "name": "c"},
                    "subjects": None},
                   {"metadata": {"name": "y"}, "roleRef": {"kind": "ClusterRole", "name": "c"},
                    "subjects": [user("alice")]}],
                  None)
    assert e.bindings_for(ALICE, "a") == []
    assert not e.allows(ALICE, Request("get", "pods", "a", name="p"))


def test_many_namespaces_stay_fast():
    import time

    n = 3000
    roles = [role(f"ns{i}", "r", GET_PODS) for i in range(n)]
    rbs = [rb(f"ns{i}", "b", ref("Role", "r"), sa("default"), group("devs")) for i in range(n)]
    crbs = [crb(f"c{i}", ref("ClusterRole", "x"), user(f"u{i}")) for i in range(n)]
    e = ev(roles=roles, cluster_roles=[cluster_role("x", rule(["get"], ["nodes"]))],
           role_bindings=rbs, cluster_role_bindings=crbs)
    start = time.perf_counter()
    for i in range(n):
        assert e.allows(service_account(f"ns{i}", "default"), Request("list", "pods", f"ns{i}"))
        assert not e.allows(service_account(f"ns{i}", "default"), Request("list", "pods", f"ns{(i + 1) % n}"))
    assert time.perf_counter() - start < 2.0
