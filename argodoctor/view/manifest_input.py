"""`check -f PATH|-`: objects to be applied, from what `helm template` or `kubectl kustomize` prints, or
from files and directories of manifests; each remembers the file and line it came from.

They are judged as they will be once applied: a CustomResourceDefinition counts as Established and a
Deployment as Available (manifests carry no status), and a Service whose selector matches the pods of a
workload of the files (a Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet or ReplicationController)
gets the ready Endpoints it will have. Connected to a cluster they are overlaid on the live state (the
live objects, these replacing or adding to them, as `istioctl analyze FILES` does); --offline judges
them alone.
"""
from __future__ import annotations

import copy
import dataclasses
import functools
import os
import sys
from collections.abc import Iterator
from typing import Any

from ..errors import KubeError, UserError
from . import safe_yaml, shapes
from .cluster import IMPLIED_BY_FILES, KINDS, LiveView, SnapshotView

MAX_FILE = 64 << 20  # bytes: a rendered chart is a few hundred KiB
MAX_NODES = 5_000_000


@dataclasses.dataclass
class Manifests:
    """The objects of the files, by kind, each with its location {"file", "line"}; and what applying them
    implies (Endpoints, Namespaces, their `default` ServiceAccounts), which never replaces a live object."""

    objects: dict[str, list[dict[str, Any]]]
    locations: dict[tuple[str, str, str], dict[str, Any]]  # (kind, namespace or "", name) -> location
    sources: list[str]
    implied: dict[str, list[dict[str, Any]]] = dataclasses.field(default_factory=dict)
    data_lines: dict[tuple[str, str, str], dict[str, tuple[int, bool]]] = dataclasses.field(default_factory=dict)
    rejected: list[tuple[str, str]] = dataclasses.field(default_factory=list)  # (where, why): `kind: null`

    @functools.cached_property
    def _by_name(self) -> dict[tuple[str, str], list[tuple[str, str, str]]]:
        """(kind, name) -> the keys of the objects of that kind and name, in any namespace."""
        index: dict[tuple[str, str], list[tuple[str, str, str]]] = {}
        for key in self.locations:
            index.setdefault((key[0], key[2]), []).append(key)
        return index

    @functools.cached_property
    def _by_key(self) -> dict[tuple[str, str, str], dict[str, Any]]:
        return {(kind, *_key(o)): o for kind, objs in self.objects.items() for o in objs}

    def keys(self, kind: str) -> set[tuple[str, str]]:
        return {(o["metadata"].get("namespace") or "", o["metadata"]["name"]) for o in self.objects.get(kind, [])}

    def location(self, kind: str, namespace: str | None, name: str,
                 pointer: tuple[str, ...] | None = None) -> dict[str, Any] | None:
        """Where the object starts; with a pointer ("data", KEY[, FIELD]) where a check knows the key, the
        line of that data key, or of FIELD inside the YAML the key holds as a block (`endpoint:`)."""
        key = (kind, namespace or "", name)
        found = self.locations.get(key)
        if found is None:  # a result in a workflow namespace about an object elsewhere (the controller's
            # ConfigMap): the one object of that kind and name in the files, when there is one
            same = self._by_name.get((kind, name), [])
            if len(same) == 1:
                key = same[0]
                found = self.locations[key]
        if found is None or not pointer or pointer[0] != "data" or len(pointer) < 2:
            return found
        keys = self.data_lines.get(key, {})
        # the setting under its own key, or inside `config`, where the controller's ConfigMap may hold all
        data_key = pointer[1] if pointer[1] in keys else "config" if "config" in keys else None
        if data_key is None:
            return found
        line, block = keys[data_key]
        if block and len(pointer) > 2:  # a block scalar's text starts on the line after its key
            text = str(((self._by_key.get(key) or {}).get("data") or {}).get(data_key) or "")
            at = _field_line(text, pointer[2])
            if at is not None:
                line += 1 + at
        return {**found, "line": line}


def read(paths: list[str], namespace: str) -> Manifests:
    """The objects of every path ('-' is stdin), namespaced ones without a namespace put in `namespace`
    (as `kubectl apply -n` does), as they will be once applied."""
    objects: dict[str, list[dict[str, Any]]] = {}
    locations: dict[tuple[str, str, str], dict[str, Any]] = {}
    data_lines: dict[tuple[str, str, str], dict[str, tuple[int, bool]]] = {}
    pods: dict[tuple[str, str, str], tuple[str, dict[str, Any]]] = {}  # workload -> (namespace, its pods' labels)
    rejected: list[tuple[str, str]] = []
    for file, text in _texts(paths):
        for obj, (line, keys) in _objects(file, text):
            why = shapes.document_problem(obj)
            if why:  # no kind a check could own: named in the report, not guessed at
                rejected.append((f"the document at {_shown(file)}:{line}", why))
                continue
            kind = obj.get("kind")
            meta = obj.get("metadata")
            labels = _pod_labels(obj)
            if labels is not None:  # the last one wins, as below
                ns = meta.get("namespace") if isinstance(meta.get("namespace"), str) else namespace
                pods[(kind, ns, meta["name"])] = (ns, labels)
            if kind not in KINDS:
                continue  # kinds no check reads (PriorityClass, PodDisruptionBudget, ...) play no part
            if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or \
                    not isinstance(meta.get("namespace") or "", str):  # no key to place it by: named, left out
                why = shapes.problem(kind, obj, KINDS[kind].namespaced) or "metadata.name is missing"
                rejected.append((f"the {kind} at {_shown(file)}:{line}", why))
                continue
            obj = copy.deepcopy(obj)
            if KINDS[kind].namespaced:
                obj["metadata"].setdefault("namespace", namespace)
            else:
                obj["metadata"].pop("namespace", None)
            _as_applied(obj)
            key = (kind, obj["metadata"].get("namespace") or "", meta["name"])
            if key in locations:  # the last one wins, as applying the files in order would leave it
                objects[kind] = [o for o in objects[kind] if _key(o) != key[1:]]
            objects.setdefault(kind, []).append(obj)
            locations[key] = {"file": _shown(file), "line": line}
            data_lines[key] = keys
    return Manifests(objects, locations, [_shown(p) for p in paths], _implied(objects, list(pods.values())),
                     data_lines, rejected)


# What keeps pods running, and where the labels of those pods are: a Service selecting them gets ready
# Endpoints once applied. Argo v2.12's quick-start runs MinIO as a bare Pod; MinIO's own chart uses a
# StatefulSet in distributed mode.
_POD_LABELS = {"Pod": ("metadata", "labels"), **{k: ("spec", "template", "metadata", "labels") for k in (
    "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController")}}


def _pod_labels(obj: dict[str, Any]) -> dict[str, Any] | None:
    """The labels of the pods a workload of the files runs (None: not a named workload)."""
    path = _POD_LABELS.get(obj.get("kind"))  # type: ignore[arg-type]
    meta = obj.get("metadata")
    if path is None or not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
        return None
    node: Any = obj
    for field in path:
        node = node.get(field) if isinstance(node, dict) else None
    return {k: v for k, v in node.items() if isinstance(k, str)} if isinstance(node, dict) else {}


def _field_line(text: str, field: str) -> int | None:
    """The 0-based line of `field:` in YAML text (the first one, after `artifactRepository:` when the
    text is the controller's whole config)."""
    import re

    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if re.match(r"artifactRepository\s*:", line)), 0)
    pattern = re.compile(rf"\s*{re.escape(field)}\s*:")
    return next((i for i in range(start, len(lines)) if pattern.match(lines[i])), None)


def _key(obj: dict[str, Any]) -> tuple[str, str]:
    return obj["metadata"].get("namespace") or "", obj["metadata"]["name"]


def _shown(file: str) -> str:
    """A file as findings name it: relative to the working directory when it is under it."""
    if file == "-":
        return "<stdin>"
    rel = os.path.relpath(file)
    return rel if not rel.startswith("..") else os.path.abspath(file)


def _texts(paths: list[str]) -> Iterator[tuple[str, str]]:
    for path in paths:
        if path == "-":
            yield "-", sys.stdin.read()
            continue
        if os.path.isdir(path):
            _not_a_render(path)
            files = sorted(os.path.join(d, f) for d, _, names in os.walk(path) for f in names
                           if f.endswith((".yaml", ".yml", ".json")))
            if not files:
                raise UserError(f"-f {path}: no .yaml, .yml or .json files in it")
        elif os.path.isfile(path):
            files = [path]
        else:
            raise UserError(f"-f {path} does not exist")
        for file in files:
            try:
                if os.path.getsize(file) > MAX_FILE:
                    raise UserError(f"-f {file} is larger than {MAX_FILE >> 20} MiB")
                with open(file, encoding="utf-8") as f:
                    yield file, f.read()
            except (OSError, UnicodeDecodeError) as e:
                raise UserError(f"cannot read {file}: {e}") from None


def _not_a_render(path: str) -> None:
    """A Helm chart or Kustomize directory holds templates, not objects: say how to render it."""
    if os.path.isfile(os.path.join(path, "Chart.yaml")):
        raise UserError(f"-f {path} is a Helm chart: render it first, e.g. "
                        f"`helm template argo {path} -n argo | argodoctor check -f -`")
    for name in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
        if os.path.isfile(os.path.join(path, name)):
            raise UserError(f"-f {path} is a Kustomize directory: render it first, e.g. "
                            f"`kubectl kustomize {path} | argodoctor check -f -`")


def _objects(file: str, text: str) -> Iterator[tuple[dict[str, Any], safe_yaml.Place]]:
    try:
        docs = safe_yaml.load_all_located(text, MAX_NODES, 200)
    except safe_yaml.Invalid as e:
        if text.lstrip().startswith("{{") or "{{ ." in text or "{{- " in text:
            raise UserError(f"{_shown(file)} is a Helm template, not a manifest: render the chart with "
                            "`helm template` and pass its output") from None
        at = f" at line {e.line}, column {e.column}" if e.line else ""
        raise UserError(f"{_shown(file)} is not valid YAML{at}: {e.problem}") from None
    except safe_yaml.TooComplex as e:
        raise UserError(f"{_shown(file)} is too large or too deep to read: {e}") from None
    for doc, place, item_places in docs:
        if not isinstance(doc, dict):
            continue
        if str(doc.get("kind", "")).endswith("List") and isinstance(doc.get("items"), list):
            for i, item in enumerate(doc["items"]):
                if isinstance(item, dict):
                    yield item, item_places[i] if i < len(item_places) else (place[0], {})
        else:
            yield doc, place


def _as_applied(obj: dict[str, Any]) -> None:
    """The status an applied object of the files will have, where checks read one."""
    if obj.get("status"):
        return
    if obj["kind"] == "CustomResourceDefinition":
        spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}  # a list: the boundary names it
        names = spec.get("names") if isinstance(spec.get("names"), dict) else {}
        obj["status"] = {"acceptedNames": names, "conditions": [
            {"type": "NamesAccepted", "status": "True"}, {"type": "Established", "status": "True"}]}
    elif obj["kind"] == "Deployment":
        spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
        n = spec.get("replicas", 1) if isinstance(spec.get("replicas"), int) else 1
        obj["status"] = {"replicas": n, "readyReplicas": n, "availableReplicas": n, "updatedReplicas": n,
                         "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                                         "message": "to be applied (from the files)"}]}


def _implied(objects: dict[str, list[dict[str, Any]]],
             pods: list[tuple[str, dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """Endpoints of the files' Services whose selector matches the pods of a workload of the files (ready
    once applied), the Namespaces the files' objects go to, and each Namespace's `default` ServiceAccount
    (the API server's ServiceAccount controller makes one in every namespace). pods: (namespace, labels)."""
    implied: dict[str, list[dict[str, Any]]] = {}
    pod_labels: dict[str | None, list[dict[str, Any]]] = {}  # by namespace: each workload's pod labels
    for ns, labels in pods:
        pod_labels.setdefault(ns, []).append(labels)
    have = {_key(e) for e in objects.get("Endpoints", [])}
    for svc in objects.get("Service", []):
        ns, spec = svc["metadata"].get("namespace"), svc.get("spec") if isinstance(svc.get("spec"), dict) else {}
        selector = spec.get("selector") if isinstance(spec.get("selector"), dict) else None
        if not selector or _key(svc) in have:
            continue
        if any(all(labels.get(k) == v for k, v in selector.items()) for labels in pod_labels.get(ns, [])):
            ports = [{"name": p.get("name"), "port": p.get("targetPort") if isinstance(p.get("targetPort"), int)
                      else p.get("port"), "protocol": p.get("protocol", "TCP")}
                     for p in (spec["ports"] if isinstance(spec.get("ports"), list) else []) if isinstance(p, dict)]
            implied.setdefault("Endpoints", []).append({
                "apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": svc["metadata"]["name"], "namespace": ns,
                                                                      "annotations": {IMPLIED_BY_FILES: "true"}},
                "subsets": [{"addresses": [{"ip": "192.0.2.1"}],
                             "ports": [{k: v for k, v in p.items() if v is not None} for p in ports]}]})
    namespaces = {_key(n)[1] for n in objects.get("Namespace", [])}
    for kind, objs in objects.items():
        for o in objs if KINDS[kind].namespaced else ():
            ns = o["metadata"].get("namespace")
            if isinstance(ns, str) and ns and ns not in namespaces:  # not 5: the parse boundary names that
                namespaces.add(ns)
                implied.setdefault("Namespace", []).append(
                    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    accounts = {_key(sa) for sa in objects.get("ServiceAccount", [])}
    implied["ServiceAccount"] = [{"apiVersion": "v1", "kind": "ServiceAccount",
                                  "metadata": {"name": "default", "namespace": ns}}
                                 for ns in sorted(namespaces) if (ns, "default") not in accounts]
    return implied


class OverlayView(LiveView):
    """The live cluster with the files' objects replacing (same kind, namespace, name) or adding to it."""

    typed_kinds = frozenset()  # the files' objects were never decoded by an API server: every kind is checked

    def __init__(self, kube: Any, manifests: Manifests):
        super().__init__(kube)
        self.manifests = manifests
        self.name = f"{kube.name} + {', '.join(manifests.sources)}"
        self.rejected = manifests.rejected

    def _iter(self, kind: Any) -> Iterator[dict[str, Any]]:
        seen = self.manifests.keys(kind.name)
        try:
            for obj in super()._iter(kind):
                if _key(obj) not in seen:
                    seen.add(_key(obj))
                    yield obj
        except KubeError as e:
            if not e.not_found:  # a kind the cluster does not serve yet (its CRD is in the files)
                raise
        yield from self.manifests.objects.get(kind.name, [])
        yield from (o for o in self.manifests.implied.get(kind.name, []) if _key(o) not in seen)


def offline_view(manifests: Manifests) -> SnapshotView:
    objs = [o for kind in (manifests.objects, manifests.implied) for group in kind.values() for o in group]
    view = SnapshotView(", ".join(manifests.sources), objs)
    view.partial = True
    view.rejected = manifests.rejected
    return view
