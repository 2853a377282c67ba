"""A local Kubernetes RBAC evaluator over Role/ClusterRole/RoleBinding/ClusterRoleBinding dicts.

No API calls: the four lists are read once and indexed in ``Evaluator.__init__``. The semantics
follow Kubernetes' own code, which this module mirrors function by function:

- plugin/pkg/auth/authorizer/rbac/rbac.go: ``RuleAllows`` (a resource request is matched by verb,
  apiGroup, resource and resourceName; ``nonResourceURLs`` play no part in resource requests).
- pkg/apis/rbac/v1/evaluation_helpers.go: ``VerbMatches``, ``APIGroupMatches``,
  ``ResourceMatches``, ``ResourceNameMatches``.
- pkg/registry/rbac/validation/rule.go: ``VisitRulesFor`` (ClusterRoleBindings first, then the
  RoleBindings of the request namespace, and only when it is not ""), ``GetRoleReferenceRules``,
  ``appliesTo`` / ``appliesToUser``.
- pkg/controller/clusterroleaggregation: the effective rules of a ClusterRole with an
  ``aggregationRule``, computed here from labels instead of read from the (possibly empty) ``rules``.
- k8s.io/apiserver .../authentication/group/authenticated_group_adder.go and
  .../serviceaccount/util.go: which username and groups a User or ServiceAccount authenticates as.

The ``system:masters`` group is deliberately not special here: the API server grants it everything
through a separate authorizer that runs before RBAC (the "privileged groups" authorizer), not
through the RBAC authorizer. An ``Evaluator`` answers only what RBAC itself grants, so a member of
system:masters with no bindings gets ``allows(...) == False`` from this module.
"""
from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable, Mapping
from typing import Any

SA_USERNAME_PREFIX = "system:serviceaccount:"
ALL_SERVICE_ACCOUNTS = "system:serviceaccounts"
SA_GROUP_PREFIX = "system:serviceaccounts:"
ALL_AUTHENTICATED = "system:authenticated"
ALL_UNAUTHENTICATED = "system:unauthenticated"
ANONYMOUS = "system:anonymous"

_RULE_FIELDS = ("verbs", "apiGroups", "resources", "resourceNames", "nonResourceURLs")


@dataclasses.dataclass(frozen=True)
class Subject:
    """Who asks.

    kind "User": username ``name``, groups ``groups`` plus system:authenticated.
    kind "ServiceAccount": username ``system:serviceaccount:<namespace>:<name>``, groups
    system:serviceaccounts, system:serviceaccounts:<namespace>, system:authenticated (plus ``groups``).
    kind "Group": no username at all (matches no User/ServiceAccount binding subject), groups
    ``name`` plus ``groups``; system:authenticated is NOT added, so the answer is what membership of
    that group alone grants.

    As the API server's AuthenticatedGroupAdder does, system:authenticated is not added for the user
    system:anonymous (who is in system:unauthenticated instead, as the anonymous authenticator
    makes it) nor when ``groups`` already holds system:authenticated or system:unauthenticated.
    A User whose name is a ``system:serviceaccount:...`` string matches ServiceAccount binding
    subjects by that name (RBAC compares usernames) but gets only the groups given here.
    """

    kind: str
    name: str
    namespace: str = ""
    groups: tuple[str, ...] = ()

    # computed once per subject (a frozen dataclass: cached_property writes the instance dict directly)
    @functools.cached_property
    def username(self) -> str | None:
        if self.kind == "User":
            return self.name
        if self.kind == "ServiceAccount":
            return f"{SA_USERNAME_PREFIX}{self.namespace}:{self.name}"
        return None

    @functools.cached_property
    def all_groups(self) -> tuple[str, ...]:
        if self.kind == "Group":
            return _unique((self.name, *self.groups))
        groups = list(self.groups)
        if self.kind == "ServiceAccount":
            groups += [ALL_SERVICE_ACCOUNTS, SA_GROUP_PREFIX + self.namespace]
        if self.kind == "User" and self.name == ANONYMOUS:
            groups.append(ALL_UNAUTHENTICATED)
        elif ALL_AUTHENTICATED not in groups and ALL_UNAUTHENTICATED not in groups:
            groups.append(ALL_AUTHENTICATED)
        return _unique(groups)


def service_account(namespace: str, name: str) -> Subject:
    return Subject("ServiceAccount", name, namespace)


@dataclasses.dataclass(frozen=True)
class Request:
    """A resource request. namespace "" is a cluster-wide (or cluster-scoped) request."""

    verb: str
    resource: str
    namespace: str = ""
    group: str = ""
    subresource: str = ""
    name: str = ""


@dataclasses.dataclass(frozen=True)
class Grant:
    """One binding + role + rule that allows a request.

    For an aggregated ClusterRole, role_name is the ClusterRole the binding references (e.g. "admin"),
    while ``rule`` may have been contributed by another ClusterRole (e.g. "view"). ``rule`` is the
    rule dict as read; it takes no part in hashing (dicts are unhashable) but does in equality.
    """

    binding_kind: str  # "RoleBinding" | "ClusterRoleBinding"
    binding_namespace: str  # "" for a ClusterRoleBinding
    binding_name: str
    role_kind: str  # "Role" | "ClusterRole"
    role_name: str
    rule: dict = dataclasses.field(hash=False)


# ---- rule matching (evaluation_helpers.go, rbac.go RuleAllows)

def _list(rule: Mapping[str, Any], field: str) -> list:
    return rule.get(field) or []


def verb_matches(rule: Mapping[str, Any], verb: str) -> bool:
    return any(v == "*" or v == verb for v in _list(rule, "verbs"))


def api_group_matches(rule: Mapping[str, Any], group: str) -> bool:
    # A rule with no apiGroups matches no resource request (the API rejects such rules anyway).
    return any(g == "*" or g == group for g in _list(rule, "apiGroups"))


def resource_matches(rule: Mapping[str, Any], combined: str, subresource: str) -> bool:
    """"*" matches everything (subresources too); otherwise an exact "resource" or
    "resource/subresource" match, or "*/subresource". Note there is NO "resource/*" form:
    "pods/*" only matches a literal "pods/*" and so grants neither pods nor pods/log."""
    for r in _list(rule, "resources"):
        if r == "*" or r == combined:
            return True
        if subresource and r == "*/" + subresource:
            return True
    return False


def resource_name_matches(rule: Mapping[str, Any], name: str) -> bool:
    """Empty resourceNames matches any name; otherwise the request's name must be listed, so a
    request without a name (list, watch, create, deletecollection) never matches."""
    names = _list(rule, "resourceNames")
    return not names or name in names


def rule_allows(rule: Mapping[str, Any], req: Request) -> bool:
    """RuleAllows for a resource request."""
    combined = f"{req.resource}/{req.subresource}" if req.subresource else req.resource
    return (verb_matches(rule, req.verb) and api_group_matches(rule, req.group)
            and resource_matches(rule, combined, req.subresource) and resource_name_matches(rule, req.name))


# ---- label selectors (metav1.LabelSelectorAsSelector, labels.Requirement.Matches)

class InvalidSelector(ValueError):
    pass


def label_selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str] | None) -> bool:
    """metav1.LabelSelector semantics: None selects nothing, {} selects everything, requirements
    are ANDed; NotIn and DoesNotExist match an object without the key. Raises InvalidSelector where
    LabelSelectorAsSelector returns an error (unknown operator, In/NotIn without values,
    Exists/DoesNotExist with values). Label key/value syntax is not validated."""
    if selector is None:
        return False
    labels = labels or {}
    match_labels = selector.get("matchLabels") or {}
    exprs = selector.get("matchExpressions") or []
    reqs: list[tuple[str, str, list]] = [(k, "In", [v]) for k, v in match_labels.items()]
    for e in exprs:
        op, values = e.get("operator"), list(e.get("values") or [])
        if op in ("In", "NotIn"):
            if not values:
                raise InvalidSelector(f"{op} for key {e.get('key')!r} needs values")
        elif op in ("Exists", "DoesNotExist"):
            if values:
                raise InvalidSelector(f"{op} for key {e.get('key')!r} takes no values")
        else:
            raise InvalidSelector(f"{op!r} is not a valid label selector operator")
        reqs.append((e.get("key", ""), op, values))
    for key, op, values in reqs:
        has = key in labels
        if op == "In" and not (has and labels[key] in values):
            return False
        if op == "NotIn" and has and labels[key] in values:
            return False
        if op == "Exists" and not has:
            return False
        if op == "DoesNotExist" and has:
            return False
    return True


# ---- evaluator

def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _rule_key(rule: Mapping[str, Any]) -> tuple:
    # equality.Semantic.DeepEqual, as ruleExists uses it: nil and empty lists are equal.
    return tuple(tuple(_list(rule, f)) for f in _RULE_FIELDS)


def _aggregate(cluster_roles: dict[str, dict]) -> dict[str, list[dict]]:
    """Effective rules of every ClusterRole, with aggregation applied.

    As the clusterroleaggregation controller does: for each selector in order, every OTHER
    ClusterRole matching it, sorted by name, contributes its rules, duplicates (semantically equal
    rules) dropped. A contributing role that is itself aggregated contributes its aggregated rules
    (the controller converges to that fixpoint; computed here by iterating until nothing changes,
    which also terminates on cycles).

    Choice: the aggregating role's own listed ``rules`` are kept too, before the aggregated ones.
    On a live cluster they are the controller's last output, so this adds nothing; in a manifest
    snapshot they are usually empty. Where a manifest lists rules the controller would overwrite
    (or has an aggregationRule with no selectors, which the controller turns into no rules), this
    over-approximates. A role with an invalid selector keeps only its listed rules, as the
    controller then fails that role and leaves it as it is.
    """
    effective = {name: list(_list(cr, "rules")) for name, cr in cluster_roles.items()}
    sources: dict[str, list[str]] = {}
    for name, cr in cluster_roles.items():
        agg = cr.get("aggregationRule")
        if agg is None:
            continue
        ordered: list[str] = []
        try:
            for sel in agg.get("clusterRoleSelectors") or []:
                ordered += [other for other in sorted(cluster_roles)
                            if other != name and label_selector_matches(sel, _meta(cluster_roles[other]).get("labels"))]
        except InvalidSelector:
            continue
        sources[name] = ordered
    # Terminates: each role's set of distinct rules only grows, and is bounded by all rules listed.
    keysets: dict[str, set] = {}
    changed = True
    while changed:
        changed = False
        for name, ordered in sources.items():
            seen: set[tuple] = set()
            rules = []
            for rule in [*_list(cluster_roles[name], "rules"), *(r for o in ordered for r in effective[o])]:
                key = _rule_key(rule)
                if key not in seen:
                    seen.add(key)
                    rules.append(rule)
            effective[name] = rules
            if seen != keysets.get(name):
                keysets[name] = seen
                changed = True
    return effective


@dataclasses.dataclass(slots=True)
class _Binding:
    order: int
    kind: str  # RoleBinding | ClusterRoleBinding
    namespace: str
    obj: dict
    # (role kind, role name, its rules, the role's key): resolved once, thousands of queries ask again
    role: tuple[str, str, list[dict], tuple[str, str, str]] | None = None


class Evaluator:
    """RBAC decisions over fixed lists of roles and bindings.

    Bindings are indexed once by (namespace, username) and (namespace, group) (namespace "" for
    ClusterRoleBindings), so a query costs a few dict lookups plus the bindings that actually
    apply, whatever the number of namespaces or bindings.
    """

    def __init__(self, roles: Iterable[dict] | None, cluster_roles: Iterable[dict] | None,
                 role_bindings: Iterable[dict] | None, cluster_role_bindings: Iterable[dict] | None):
        self._roles: dict[tuple[str, str], dict] = {}
        for r in roles or ():
            m = _meta(r)
            self._roles[(m.get("namespace") or "", m.get("name") or "")] = r
        crs: dict[str, dict] = {}
        for cr in cluster_roles or ():
            crs[_meta(cr).get("name") or ""] = cr
        self._cluster_rules = _aggregate(crs)

        # (namespace, username) / (namespace, group) -> bindings; namespace "" = ClusterRoleBindings.
        self._by_user: dict[tuple[str, str], list[_Binding]] = {}
        self._by_group: dict[tuple[str, str], list[_Binding]] = {}
        # username / group -> the namespaces whose RoleBindings name it (for "every binding of X").
        self._scopes: dict[tuple[str, str], set[str]] = {}
        # _applying per (subject, namespace): each identity is asked about several permissions
        self._applying_cache: dict[tuple[Subject, str], list[_Binding]] = {}
        # whether a role's rules allow a request (the namespace plays no part in RuleAllows): thousands of
        # bindings share a few roles
        self._role_allows: dict[tuple[tuple[str, str, str], tuple[str, ...]], bool] = {}
        self.memo: dict[Any, Any] = {}  # what callers derive from one binding, kept as long as the evaluator
        order = 0
        for kind, items in (("ClusterRoleBinding", cluster_role_bindings), ("RoleBinding", role_bindings)):
            for obj in items or ():
                ns = (_meta(obj).get("namespace") or "") if kind == "RoleBinding" else ""
                if kind == "RoleBinding" and not ns:
                    continue  # a RoleBinding without a namespace can apply nowhere
                b = _Binding(order, kind, ns, obj)
                order += 1
                users, groups = self._subject_keys(obj, ns)
                for u in users:
                    self._by_user.setdefault((ns, u), []).append(b)
                    self._scopes.setdefault(("user", u), set()).add(ns)
                for g in groups:
                    self._by_group.setdefault((ns, g), []).append(b)
                    self._scopes.setdefault(("group", g), set()).add(ns)

    @staticmethod
    def _subject_keys(binding: Mapping[str, Any], ns: str) -> tuple[set[str], set[str]]:
        """appliesToUser, turned into the usernames and groups a binding matches."""
        users: set[str] = set()
        groups: set[str] = set()
        for s in binding.get("subjects") or []:
            kind, name = s.get("kind"), s.get("name") or ""
            if kind == "User":
                users.add(name)
            elif kind == "Group":
                groups.add(name)
            elif kind == "ServiceAccount":
                # Defaults to the namespace being evaluated: the RoleBinding's own namespace;
                # "" for a ClusterRoleBinding, where a ServiceAccount without namespace matches nothing.
                sa_ns = s.get("namespace") or ns
                if sa_ns:
                    users.add(f"{SA_USERNAME_PREFIX}{sa_ns}:{name}")
            # Any other kind matches nothing.
        return users, groups

    def _applying(self, user: Subject, namespace: str) -> list[_Binding]:
        cached = self._applying_cache.get((user, namespace))
        if cached is None:
            cached = self._applying_cache[(user, namespace)] = self._find_applying(user, namespace)
        return cached

    def _find_applying(self, user: Subject, namespace: str) -> list[_Binding]:
        scopes = [""] + ([namespace] if namespace else [])  # RoleBindings only for namespaced requests
        found: dict[int, _Binding] = {}
        username = user.username
        groups = user.all_groups
        for scope in scopes:
            if username is not None:
                for b in self._by_user.get((scope, username), ()):
                    found[b.order] = b
            for g in groups:
                for b in self._by_group.get((scope, g), ()):
                    found[b.order] = b
        # VisitRulesFor order: ClusterRoleBindings, then RoleBindings, each in list order.
        return [found[k] for k in sorted(found)]

    def _role_rules(self, b: _Binding) -> tuple[str, str, list[dict], tuple[str, str, str]]:
        """GetRoleReferenceRules: a missing role, or a Role referenced from a ClusterRoleBinding,
        resolves to no rules (the API server records an error and grants nothing from it)."""
        if b.role is None:
            ref = b.obj.get("roleRef") or {}
            kind, name = ref.get("kind") or "", ref.get("name") or ""
            if kind == "Role":
                role = self._roles.get((b.namespace, name)) if b.namespace else None
                rules = list(_list(role, "rules")) if role else []
            else:
                rules = self._cluster_rules.get(name, []) if kind == "ClusterRole" else []
            b.role = kind, name, rules, (kind, b.namespace if kind == "Role" else "", name)
        return b.role

    def unresolved(self, user: Subject, namespace: str) -> list[tuple[dict, str]]:
        """(binding, "ClusterRole admin") for each binding in effect for ``user`` in ``namespace`` whose
        role is not among the roles given: it grants nothing on a cluster, but in a partial view (files
        judged offline) the role may exist all the same."""
        out = []
        for b in self._applying(user, namespace):
            ref = b.obj.get("roleRef") or {}
            kind, name = ref.get("kind") or "", ref.get("name") or ""
            known = (b.namespace, name) in self._roles if kind == "Role" else name in self._cluster_rules
            if not known:
                out.append((b.obj, f"{kind} {name}"))
        return out

    def bindings_for(self, user: Subject, namespace: str) -> list[dict]:
        """ClusterRoleBindings, then RoleBindings in ``namespace`` (none if it is ""), that apply to
        ``user``, whether or not their role exists."""
        return [b.obj for b in self._applying(user, namespace)]

    def scopes_for(self, user: Subject) -> list[str]:
        """Every scope where some binding applies to ``user``: "" (ClusterRoleBindings) first, then
        each namespace whose RoleBindings name the user or one of its groups, sorted."""
        found: set[str] = set()
        if user.username is not None:
            found |= self._scopes.get(("user", user.username), set())
        for g in user.all_groups:
            found |= self._scopes.get(("group", g), set())
        return sorted(found)

    def applying(self, user: Subject, namespace: str) -> list[tuple[dict, list[dict]]]:
        """(binding, its role's rules) for every binding in effect for ``user`` in ``namespace`` ("" =
        cluster-wide), ClusterRoleBindings first, each in list order."""
        return [(b.obj, self._role_rules(b)[2]) for b in self._applying(user, namespace)]

    def rules_for(self, user: Subject, namespace: str) -> list[tuple[dict, dict]]:
        """Every (binding, rule) in effect for ``user`` in ``namespace`` ("" = cluster-wide)."""
        return [(b, rule) for b, rules in self.applying(user, namespace) for rule in rules]

    def grants(self, user: Subject, req: Request) -> list[Grant]:
        """Every binding + role + rule that allows ``req``; empty when RBAC denies it."""
        out = []
        for b in self._applying(user, req.namespace):
            role_kind, role_name, rules, _ = self._role_rules(b)
            for rule in rules:
                if rule_allows(rule, req):
                    out.append(Grant(b.kind, b.namespace, _meta(b.obj).get("name") or "", role_kind, role_name, rule))
        return out

    def allows(self, user: Subject, req: Request) -> bool:
        what = (req.verb, req.group, req.resource, req.subresource, req.name)
        for b in self._applying(user, req.namespace):
            _, _, rules, role = b.role or self._role_rules(b)
            key = (role, what)
            allowed = self._role_allows.get(key)
            if allowed is None:
                allowed = self._role_allows[key] = any(rule_allows(rule, req) for rule in rules)
            if allowed:
                return True
        return False
