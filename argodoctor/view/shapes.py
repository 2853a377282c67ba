"""The parse boundary: the shape every object must have before any check reads it.

Choice: declarative path schemas checked by hand, not pydantic models. The checks read raw dicts (the
generated and the pydantic model layers are slow at 100k objects and would hide which field was wrong);
what they need is a guarantee that the fields they touch have the type they expect. So each kind lists
the paths checks read and the type each must have; an object that breaks one is held back from the
checks (the view never returns it) and becomes one finding naming it and the field. Below this boundary
code trusts its input; above it (this module, the loaders), nothing does.

A path is a tuple of mapping keys, with "[]" for every element of a list and "{}" for every value of a
mapping. Types: "str", "bool", "int", "map", "list", "str|int" (ports), "any".
"""
from __future__ import annotations

from typing import Any

MAX_DEPTH = 100  # nesting any object may have (the JSON/YAML loaders bound it too)

_META = [(("metadata",), "map"), (("metadata", "name"), "str"), (("metadata", "namespace"), "str"),
         (("metadata", "labels"), "map"), (("metadata", "labels", "{}"), "str"),
         (("metadata", "annotations"), "map"), (("metadata", "annotations", "{}"), "str")]
_CONTAINER = [("name", "str"), ("image", "str"), ("command", "list"), ("command", "[]", "str"), ("args", "list"),
              ("args", "[]", "any"), ("env", "list"), ("env", "[]", "map"), ("env", "[]", "name", "str"),
              ("securityContext", "map"), ("ports", "list"), ("ports", "[]", "map")]
_TEMPLATE = [("name", "str"), ("serviceAccountName", "str"), ("automountServiceAccountToken", "bool"),
             ("executor", "map"), ("executor", "serviceAccountName", "str"), ("container", "map"),
             ("script", "map"), ("resource", "map"), ("containerSet", "map"), ("data", "map"), ("http", "map"),
             ("plugin", "map"), ("securityContext", "map"), ("steps", "list"), ("steps", "[]", "list"),
             ("steps", "[]", "[]", "map"), ("steps", "[]", "[]", "templateRef", "map"),
             ("steps", "[]", "[]", "templateRef", "name", "str"),
             ("steps", "[]", "[]", "templateRef", "template", "str"),
             ("dag", "map"), ("dag", "tasks", "list"), ("dag", "tasks", "[]", "map"),
             ("dag", "tasks", "[]", "templateRef", "map"), ("dag", "tasks", "[]", "templateRef", "name", "str"),
             ("dag", "tasks", "[]", "templateRef", "template", "str"), ("templateRef", "map"),
             ("outputs", "map"), ("outputs", "artifacts", "list"), ("outputs", "artifacts", "[]", "map"),
             ("outputs", "artifacts", "[]", "artifactGC", "map"),
             ("outputs", "artifacts", "[]", "artifactGC", "serviceAccountName", "str")]


def _workflow_spec(prefix: tuple[str, ...]) -> list[tuple[tuple[str, ...], str]]:
    spec = [((), "map"), (("serviceAccountName",), "str"), (("automountServiceAccountToken",), "bool"),
            (("executor",), "map"), (("executor", "serviceAccountName"), "str"),
            (("artifactRepositoryRef",), "map"), (("artifactRepositoryRef", "configMap"), "str"),
            (("artifactRepositoryRef", "key"), "str"), (("workflowTemplateRef",), "map"),
            (("workflowTemplateRef", "name"), "str"), (("workflowTemplateRef", "clusterScope"), "bool"),
            (("securityContext",), "map"), (("artifactGC",), "map"), (("artifactGC", "serviceAccountName"), "str"),
            (("templates",), "list"), (("templates", "[]"), "map")]
    spec += [(("templates", "[]", *t[:-1]), t[-1]) for t in _TEMPLATE]
    return [((*prefix, *p), t) for p, t in spec]


SCHEMAS: dict[str, list[tuple[tuple[str, ...], str]]] = {
    "Namespace": [],
    "Node": [(("status",), "map"), (("status", "nodeInfo"), "map"),
             (("status", "nodeInfo", "containerRuntimeVersion"), "str")],
    "ConfigMap": [(("data",), "map")],  # values: the controller config parser reports them per key
    "Secret": [(("data",), "map"), (("data", "{}"), "str"), (("type",), "str")],
    "ServiceAccount": [(("secrets",), "list"), (("secrets", "[]"), "map"), (("secrets", "[]", "name"), "str"),
                       (("automountServiceAccountToken",), "bool")],
    "Service": [(("spec",), "map"), (("spec", "ports"), "list"), (("spec", "ports", "[]"), "map"),
                (("spec", "ports", "[]", "port"), "int"), (("spec", "ports", "[]", "targetPort"), "str|int")],
    "Endpoints": [(("subsets",), "list"), (("subsets", "[]"), "map"), (("subsets", "[]", "addresses"), "list"),
                  (("subsets", "[]", "addresses", "[]"), "map"), (("subsets", "[]", "ports"), "list"),
                  (("subsets", "[]", "ports", "[]"), "map"), (("subsets", "[]", "ports", "[]", "port"), "int")],
    "Deployment": [(("spec",), "map"), (("spec", "template"), "map"), (("spec", "template", "metadata"), "map"),
                   (("spec", "template", "spec"), "map"), (("spec", "template", "spec", "containers"), "list"),
                   (("spec", "template", "spec", "containers", "[]"), "map"),
                   *[(("spec", "template", "spec", "containers", "[]", *c[:-1]), c[-1]) for c in _CONTAINER],
                   (("status",), "map"), (("status", "conditions"), "list"), (("status", "conditions", "[]"), "map")],
    "Role": [(("rules",), "list"), (("rules", "[]"), "map"), *[(("rules", "[]", f), "list") for f in (
        "verbs", "apiGroups", "resources", "resourceNames", "nonResourceURLs")],
             *[(("rules", "[]", f, "[]"), "str") for f in ("verbs", "apiGroups", "resources", "resourceNames")]],
    "RoleBinding": [(("roleRef",), "map"), (("roleRef", "kind"), "str"), (("roleRef", "name"), "str"),
                    (("subjects",), "list"), (("subjects", "[]"), "map"), (("subjects", "[]", "kind"), "str"),
                    (("subjects", "[]", "name"), "str"), (("subjects", "[]", "namespace"), "str")],
    "CustomResourceDefinition": [(("status",), "map"), (("status", "conditions"), "list"),
                                 (("status", "conditions", "[]"), "map")],
    "Workflow": [(("status",), "map"), *_workflow_spec(("spec",))],
    "WorkflowTemplate": _workflow_spec(("spec",)),
    "ClusterWorkflowTemplate": _workflow_spec(("spec",)),
    "CronWorkflow": [(("spec",), "map"), *_workflow_spec(("spec", "workflowSpec"))],
    # diagnose's reads (view/failures.py keeps no more of them)
    "Pod": [(("spec",), "map"), (("spec", "serviceAccountName"), "str"), (("status",), "map"),
            (("status", "phase"), "str"), (("status", "reason"), "str"), (("status", "message"), "str"),
            *[(("status", k), "list") for k in ("initContainerStatuses", "containerStatuses")],
            *[(("status", k, "[]"), "map") for k in ("initContainerStatuses", "containerStatuses")],
            *[(("status", k, "[]", "name"), "str") for k in ("initContainerStatuses", "containerStatuses")]],
    "Event": [(("involvedObject",), "map"), (("involvedObject", "kind"), "str"), (("involvedObject", "name"), "str"),
              (("involvedObject", "namespace"), "str"), (("reason",), "str"), (("message",), "str"),
              (("type",), "str")],
}
SCHEMAS["ClusterRole"] = SCHEMAS["Role"] + [(("aggregationRule",), "map"),
                                            (("aggregationRule", "clusterRoleSelectors"), "list"),
                                            (("aggregationRule", "clusterRoleSelectors", "[]"), "map")]
SCHEMAS["ClusterRoleBinding"] = SCHEMAS["RoleBinding"]

for _kind, _prefix in (("CustomResourceDefinition", ("status",)), ("Deployment", ("status",))):
    SCHEMAS[_kind] += [((*_prefix, "conditions", "[]", f), "str") for f in ("type", "status", "reason", "message")]
SCHEMAS["Deployment"] += [(("status", f), "int") for f in ("replicas", "availableReplicas", "readyReplicas")]
SCHEMAS["Workflow"] += [(("status", "phase"), "str")]

_TYPES = {"str": (str,), "bool": (bool,), "int": (int,), "map": (dict,), "list": (list,), "str|int": (str, int)}
_NAMES = {"str": "a string", "bool": "a boolean", "int": "a number", "map": "a mapping", "list": "a list",
          "str|int": "a string or number"}


def _type_name(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", int: "a number",
            float: "a number", type(None): "null"}.get(type(value), type(value).__name__)


class _Node:
    """One step of the compiled schema: the type wanted here (if any) and the steps below: named
    fields, every list element ("[]") and every mapping value ("{}"), kept apart so that an object's
    own key "[]" is just a key."""

    __slots__ = ("want", "types", "no_bool", "fields", "elem", "each")

    def __init__(self) -> None:
        self.want: str | None = None
        self.types: tuple[type, ...] | None = None  # None: any type
        self.no_bool = False  # numbers: a boolean is not one (bool is an int in Python)
        self.fields: dict[str, _Node] = {}
        self.elem: _Node | None = None
        self.each: _Node | None = None

    def step(self, name: str) -> _Node:
        if name == "[]":
            self.elem = self.elem or _Node()
            return self.elem
        if name == "{}":
            self.each = self.each or _Node()
            return self.each
        return self.fields.setdefault(name, _Node())


def _compile(paths: list[tuple[tuple[str, ...], str]]) -> _Node:
    """The paths of a kind as one trie, so an object is walked once whatever the number of paths."""
    root = _Node()
    for path, want in paths:
        node = root
        for name in path:
            node = node.step(name)
        node.want, node.types = want, _TYPES.get(want)
        node.no_bool = want in ("int", "str|int")
    return root


def _check(value: Any, node: _Node, element: bool) -> list[Any] | None:
    """None when value fits; else [problem, innermost step, ..., outermost step], the path built only
    for the rare object that breaks its schema. An absent key or null value is unset and fine, but a
    null list element or mapping value is wrong where a type is wanted. Walks the object's own keys
    (few) rather than the schema's (many, mostly absent)."""
    if value is None:
        if element and node.types is not None:
            return [f"expected {_NAMES[node.want or '']}, got null"]
        return None
    types = node.types
    if types is not None and (not isinstance(value, types) or (node.no_bool and isinstance(value, bool))):
        return [f"expected {_NAMES[node.want or '']}, got {_type_name(value)}"]
    if isinstance(value, dict):
        fields, each = node.fields, node.each
        if fields or each:
            for k, item in value.items():
                child = fields.get(k) if isinstance(k, str) else None
                found = _check(item, child, False) if child is not None else None
                if found is None and each is not None:
                    found = _check(item, each, True)
                if found:
                    found.append(str(k))
                    return found
    elif isinstance(value, list) and node.elem is not None:
        for i, item in enumerate(value):
            found = _check(item, node.elem, True)
            if found:
                found.append(i)
                return found
    return None


def _where(steps: list[Any]) -> str:
    """'spec.templates[2].name' from the steps outermost first (list indices are ints)."""
    out = ""
    for step in steps:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else step)
    return out or "the object"


_COMPILED = {kind: _compile(_META + paths) for kind, paths in SCHEMAS.items()}
_META_ONLY = _compile(_META)
# Kinds argodoctor only reads along known paths (never walks or merges them whole): their depth is
# bounded by what the loaders accept, and measuring it would cost more than the checks themselves.
_NOT_WALKED = {"Workflow", "WorkflowTemplate", "CronWorkflow", "ClusterWorkflowTemplate"}


def _depth(value: Any) -> int:
    """How deep value nests (a scalar: 1), level by level; stops counting past MAX_DEPTH."""
    depth, level = 0, [value]
    while level and depth <= MAX_DEPTH:
        depth += 1
        below: list[Any] = []
        for v in level:
            if isinstance(v, dict):
                below.extend(v.values())
            elif isinstance(v, list):
                below.extend(v)
        level = below
    return depth


def problem(kind: str, obj: Any, namespaced: bool) -> str | None:
    """What is wrong with obj's shape for the checks, or None when they may trust it."""
    if not isinstance(obj, dict):
        return f"expected a mapping, got {_type_name(obj)}"
    if kind not in _NOT_WALKED and _depth(obj) > MAX_DEPTH:
        return f"nested deeper than {MAX_DEPTH} levels"
    found = _check(obj, _COMPILED.get(kind, _META_ONLY), False)
    if found:
        return f"{_where(found[:0:-1])}: {found[0]}"
    meta = obj["metadata"] if isinstance(obj.get("metadata"), dict) else {}
    if not meta.get("name"):
        return "metadata.name is missing"
    if namespaced and not meta.get("namespace"):
        return "metadata.namespace is missing"
    return _control_character(meta)


# The API server stores no control character in a name, namespace, label or annotation key: apimachinery
# v0.35.4 pkg/util/validation/validation.go IsDNS1123Subdomain/IsDNS1123Label (names), IsQualifiedName
# (label keys; annotation keys, pkg/api/validation/objectmeta.go ValidateAnnotations) and IsValidLabelValue
# allow only [-._a-zA-Z0-9/]. One here is a hand-made or damaged file: held back, as a NUL would reach
# lookups and the resolver (ValueError: embedded null character). Annotation values are free text.
_CONTROL = {chr(c) for c in range(0x20)} | {"\x7f"}


def _control_character(meta: dict[str, Any]) -> str | None:
    labels = meta.get("labels") or {}
    fields = [("metadata.name", meta.get("name")), ("metadata.namespace", meta.get("namespace")),
              *(("metadata.labels", t) for kv in labels.items() for t in kv),
              *(("metadata.annotations", k) for k in meta.get("annotations") or {})]
    for where, text in fields:
        if isinstance(text, str) and not _CONTROL.isdisjoint(text):
            bad = next(c for c in text if c in _CONTROL)
            return (f"{where}: holds a control character ({repr(bad)[1:-1]}), which no object stored by the API "
                    "server has")
    return None


def document_problem(doc: dict[str, Any]) -> str | None:
    """What keeps a mapping from being read as an object of some kind: a `kind` or `apiVersion` that is
    there but not a string (null, a number). Such a document is no object of any kind argodoctor knows,
    so no check's schema can name it: the view reports it apart. An absent kind is a document of no
    kind (a comment-only or foreign one), left out as before."""
    for field in ("kind", "apiVersion"):
        if field in doc and not isinstance(doc[field], str):
            return f"{field}: expected a string, got {_type_name(doc[field])}"
    return None


def describe(kind: str, obj: Any) -> tuple[str | None, str]:
    """(namespace, 'Kind/name') of an object for a finding, as far as its shape allows."""
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    meta = meta if isinstance(meta, dict) else {}
    ns = meta.get("namespace") if isinstance(meta.get("namespace"), str) else None
    name = meta.get("name") if isinstance(meta.get("name"), str) and meta.get("name") else "(no name)"
    return ns, f"{kind}/{name}"
