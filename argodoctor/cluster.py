"""ClusterView: the only thing checks read from, over a live cluster or snapshot files.

Each kind is fetched at most once per run (cluster-wide, paged) and shared by
all checks. Secret values are replaced by digests as soon as they are read, so
they never reach checks, output or snapshots.
"""
from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
import sys
import threading
from collections.abc import Iterable
from typing import Any

import yaml

from .errors import KubeError, UserError
from .kube import Kube


@dataclasses.dataclass(frozen=True)
class Kind:
    name: str
    group: str
    version: str
    plural: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if namespace and self.namespaced:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        return f"{base}/{name}" if name else base

    @property
    def resource(self) -> str:
        """group/plural as RBAC names it, e.g. 'apps/deployments' or 'secrets'."""
        return f"{self.group}/{self.plural}" if self.group else self.plural


_KINDS = [
    Kind("Namespace", "", "v1", "namespaces", False),
    Kind("Node", "", "v1", "nodes", False),
    Kind("ConfigMap", "", "v1", "configmaps"),
    Kind("Secret", "", "v1", "secrets"),
    Kind("ServiceAccount", "", "v1", "serviceaccounts"),
    Kind("Service", "", "v1", "services"),
    Kind("Endpoints", "", "v1", "endpoints"),
    Kind("Deployment", "apps", "v1", "deployments"),
    Kind("Role", "rbac.authorization.k8s.io", "v1", "roles"),
    Kind("ClusterRole", "rbac.authorization.k8s.io", "v1", "clusterroles", False),
    Kind("RoleBinding", "rbac.authorization.k8s.io", "v1", "rolebindings"),
    Kind("ClusterRoleBinding", "rbac.authorization.k8s.io", "v1", "clusterrolebindings", False),
    Kind("CustomResourceDefinition", "apiextensions.k8s.io", "v1", "customresourcedefinitions", False),
    Kind("Workflow", "argoproj.io", "v1alpha1", "workflows"),
    Kind("WorkflowTemplate", "argoproj.io", "v1alpha1", "workflowtemplates"),
    Kind("CronWorkflow", "argoproj.io", "v1alpha1", "cronworkflows"),
    Kind("ClusterWorkflowTemplate", "argoproj.io", "v1alpha1", "clusterworkflowtemplates", False),
]
KINDS: dict[str, Kind] = {k.name: k for k in _KINDS}

REDACTED_ANNOTATION = "argodoctor.io/redacted"
_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def kind_of(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise UserError(f"unknown kind {name!r}") from None


def digest(value: str | bytes) -> str:
    """A secret value's stand-in: empty stays empty, anything else becomes sha256:<16 hex>."""
    if not value:
        return ""
    if isinstance(value, str):
        if value.startswith("sha256:") and len(value) == 23:
            return value  # already a digest (a snapshot argodoctor wrote)
        value = value.encode()
    return "sha256:" + hashlib.sha256(value).hexdigest()[:16]


def redact_secret(obj: dict[str, Any]) -> dict[str, Any]:
    """Replaces every value of a Secret by its digest. `data` values are base64."""
    out = dict(obj)
    data: dict[str, str] = {}
    for k, v in (obj.get("data") or {}).items():
        try:
            raw: str | bytes = base64.b64decode(v or "", validate=True)
        except (ValueError, TypeError):
            raw = v or ""  # not base64: already a digest, or hand-written
        data[k] = digest(raw)
    for k, v in (obj.get("stringData") or {}).items():
        data[k] = digest(v or "")
    out.pop("stringData", None)
    out["data"] = data
    meta = dict(obj.get("metadata") or {})
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k != _LAST_APPLIED}
    annotations[REDACTED_ANNOTATION] = "true"
    meta["annotations"] = annotations
    out["metadata"] = meta
    return out


def _slim(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    """Drops what no check reads and costs memory at scale."""
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        meta.pop("managedFields", None)
    if kind == "Secret":
        return redact_secret(obj)
    if kind in ("Workflow", "CronWorkflow"):
        status = obj.pop("status", None)
        if isinstance(status, dict) and status.get("phase"):
            obj["status"] = {"phase": status["phase"]}
    return obj


class ClusterView:
    """Cached, read-only access to cluster objects by kind."""

    live = False
    name = ""

    def __init__(self) -> None:
        self._cache: dict[str, list[dict[str, Any]] | KubeError] = {}
        self._index: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
        self._locks: dict[str, threading.Lock] = {k: threading.Lock() for k in KINDS}
        self.missing_kinds: set[str] = set()  # kinds the server does not serve (CRD absent)

    def _fetch(self, kind: Kind) -> list[dict[str, Any]]:
        raise NotImplementedError

    def list(self, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        """All objects of a kind (optionally of one namespace). Raises KubeError when forbidden."""
        k = kind_of(kind)
        with self._locks[kind]:
            cached = self._cache.get(kind)
            if cached is None:
                try:
                    cached = [_slim(kind, o) for o in self._fetch(k)]
                except KubeError as e:
                    if e.not_found:
                        self.missing_kinds.add(kind)
                        cached = []
                    else:
                        e.verb, e.resource = "list", k.resource
                        cached = e
                self._cache[kind] = cached
        if isinstance(cached, KubeError):
            raise KubeError(cached.status, f"cannot list {k.resource}: {cached}",
                            verb="list", resource=k.resource)
        if namespace is None:
            return cached
        return [o for o in cached if o.get("metadata", {}).get("namespace") == namespace]

    def get(self, kind: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        index = self._index.get(kind)
        if index is None:
            index = {(o["metadata"].get("namespace") or "", o["metadata"].get("name", "")): o
                     for o in self.list(kind)}
            self._index[kind] = index
        return index.get((namespace or "", name))

    def invalidate(self) -> None:
        """Forgets everything read, so the next run sees the cluster as it is now."""
        self._cache.clear()
        self._index.clear()
        self.missing_kinds.clear()


class LiveView(ClusterView):
    live = True

    def __init__(self, kube: Kube, page_size: int = 500):
        super().__init__()
        self.kube = kube
        self.name = kube.name
        self.page_size = page_size
        self.lists = 0  # kinds LISTed (each once per run, in pages of page_size)

    def _fetch(self, kind: Kind) -> list[dict[str, Any]]:
        self.lists += 1
        items = []
        for obj in self.kube.list(kind.path(), page_size=self.page_size):
            # LIST items carry no kind/apiVersion; add them so objects stand alone.
            obj["kind"], obj["apiVersion"] = kind.name, kind.api_version
            items.append(obj)
        return items


class SnapshotView(ClusterView):
    """Objects from files: a file or a directory of .yaml/.yml/.json, multi-document, Lists allowed."""

    def __init__(self, path: str, objects: Iterable[dict[str, Any]] | None = None):
        super().__init__()
        self.name = path
        self._objects: dict[str, list[dict[str, Any]]] = {k: [] for k in KINDS}
        for doc in load_documents(path) if objects is None else objects:
            kind = doc.get("kind")
            if kind in KINDS:
                self._objects[kind].append(doc)

    def _fetch(self, kind: Kind) -> list[dict[str, Any]]:
        return self._objects[kind.name]


def _files(path: str) -> list[str]:
    if os.path.isdir(path):
        found = []
        for root, _dirs, names in os.walk(path):
            found += [os.path.join(root, n) for n in names if n.endswith((".yaml", ".yml", ".json"))]
        if not found:
            raise UserError(f"snapshot {path}: no .yaml, .yml or .json files in it")
        return sorted(found)
    if os.path.isfile(path):
        return [path]
    raise UserError(f"snapshot {path} does not exist")


def load_documents(path: str) -> Iterable[dict[str, Any]]:
    """Every Kubernetes object in the files under path, with List objects flattened."""
    for file in _files(path):
        try:
            with open(file, encoding="utf-8") as f:
                docs = list(yaml.safe_load_all(f))
        except (OSError, UnicodeDecodeError) as e:
            raise UserError(f"cannot read snapshot file {file}: {e}") from None
        except yaml.YAMLError as e:
            where = getattr(e, "problem_mark", None)
            at = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
            raise UserError(f"snapshot file {file} is not valid YAML/JSON{at}: "
                            f"{getattr(e, 'problem', e)}") from None
        for doc in docs:
            if doc is None:
                continue
            if not isinstance(doc, dict):
                raise UserError(f"snapshot file {file}: a document is not a Kubernetes object")
            if doc.get("kind", "").endswith("List") and isinstance(doc.get("items"), list):
                yield from (i for i in doc["items"] if isinstance(i, dict))
            else:
                yield doc


def write_snapshot(view: ClusterView, out_dir: str) -> dict[str, int]:
    """Writes every kind the view can read to out_dir/<Kind>.yaml as a List; returns counts."""
    os.makedirs(out_dir, exist_ok=True)
    counts: dict[str, int] = {}
    for name in KINDS:
        try:
            items = view.list(name)
        except KubeError as e:
            counts[name] = -1
            print(f"warning: {e}", file=sys.stderr)
            continue
        doc = {"apiVersion": "v1", "kind": "List", "items": items}
        with open(os.path.join(out_dir, f"{name}.yaml"), "w", encoding="utf-8") as f:
            yaml.safe_dump(json.loads(json.dumps(doc)), f, sort_keys=False)
        counts[name] = len(items)
    return counts
