"""ClusterView: the only thing checks read from, over a live cluster or snapshot files.

Each kind is fetched at most once per run (cluster-wide, paged) and shared by
all checks. Secret values are replaced by digests as soon as they are read, so
they never reach checks, output or snapshots.
"""
from __future__ import annotations

import base64
import copy
import dataclasses
import hashlib
import hmac
import json
import os
import re
import stat
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from . import safe_yaml, secret_facts, shapes
from .errors import KubeError, UserError
from .kube import PAGED_CHUNK, Kube


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
    Kind("StorageClass", "storage.k8s.io", "v1", "storageclasses", False),  # check --pre (AD003)
]
KINDS: dict[str, Kind] = {k.name: k for k in _KINDS}

# The kinds that are usually largest (and CRDs, slowest to serve) go first when listing ahead.
_PREFETCH_FIRST = ["Workflow", "RoleBinding", "ServiceAccount", "Secret", "Namespace", "CronWorkflow",
                   "WorkflowTemplate", "ConfigMap"]

REDACTED_ANNOTATION = "argodoctor.io/redacted"
_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


JUDGED_ON_A_CLUSTER = "check the files against the cluster (check -f without --offline) to judge it"


def not_in_files(what: str, *, plural: bool = False, secret: bool = False, also: str = "") -> str:
    """Why a partial view (files judged --offline) gives no verdict on an object it lacks."""
    how = "by hand, by another chart, or by External Secrets or Sealed Secrets" if secret else \
        "by hand or by another chart"
    is_, it = ("are", "they") if plural else ("is", "it")
    return f"{what} {is_} not in the files; {it} may be created apart ({how}){also}: {JUDGED_ON_A_CLUSTER}"


def kind_of(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise UserError(f"unknown kind {name!r}") from None


# Secret values become HMAC digests under a key drawn once per process: equal values stay equal within
# a run and its snapshot (which records the key in its metadata file), and a digest cannot be looked up
# in a table of common passwords made for another snapshot, as an unkeyed SHA-256 could.
_DIGEST_KEY = os.urandom(32)
_DIGEST_RE = re.compile(r"^(sha256|hmac):[0-9a-f]{16}$")
SNAPSHOT_META = "argodoctor-snapshot.meta"  # not .json/.yaml: the snapshot loader never reads it


def digest(value: str | bytes) -> str:
    """A secret value's stand-in: empty stays empty, anything else becomes hmac:<16 hex>."""
    if not value:
        return ""
    if isinstance(value, str):
        if _DIGEST_RE.match(value):
            return value  # already a digest (a snapshot argodoctor wrote)
        value = value.encode()
    return "hmac:" + hmac.new(_DIGEST_KEY, value, hashlib.sha256).hexdigest()[:16]


def redact_secret(obj: dict[str, Any]) -> dict[str, Any]:
    """Replaces every value of a Secret by its digest (`data` values are base64), recording only each
    value's shape facts (secret_facts) beside it. A `data` or `stringData` that is not a mapping of
    strings is dropped whole: nothing of it may survive."""
    out = dict(obj)
    data: dict[str, str] = {}
    shapes: dict[str, dict[str, Any]] = {}
    raw_data = obj.get("data") if isinstance(obj.get("data"), dict) else {}
    raw_string = obj.get("stringData") if isinstance(obj.get("stringData"), dict) else {}
    for k, v in raw_data.items():
        if not isinstance(v, str):
            data[str(k)] = digest(json.dumps(v, default=str))
            continue
        try:
            raw: str | bytes = base64.b64decode(v or "", validate=True)
        except (ValueError, TypeError):
            raw = v or ""  # not base64: already a digest, or hand-written
        data[str(k)] = digest(raw)
        if not (isinstance(raw, str) and _DIGEST_RE.match(raw)):
            shapes[str(k)] = secret_facts.facts(raw if isinstance(raw, bytes) else raw.encode())
    for k, v in raw_string.items():
        value = v if isinstance(v, str) else json.dumps(v, default=str)
        data[str(k)] = digest(value)
        shapes[str(k)] = secret_facts.facts(value.encode())
    out.pop("stringData", None)
    out["data"] = data
    meta = dict(obj.get("metadata") or {}) if isinstance(obj.get("metadata"), dict) else {}
    annotations = meta.get("annotations") if isinstance(meta.get("annotations"), dict) else {}
    annotations = {k: v for k, v in annotations.items() if k != _LAST_APPLIED}
    annotations[REDACTED_ANNOTATION] = "true"
    if shapes:
        annotations[secret_facts.SHAPES_ANNOTATION] = secret_facts.encode(shapes)
    meta["annotations"] = annotations
    out["metadata"] = meta
    return out


def _slim(kind: str, obj: Any) -> Any:
    """Drops what no check reads and costs memory at scale (anything not a mapping is left for the
    shape check to name)."""
    if not isinstance(obj, dict):
        return obj
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
    # Only some of a cluster's objects (manifest files judged --offline): what the view lacks may exist,
    # such as the built-in ClusterRoles admin, edit and view that a RoleBinding of the files names.
    partial = False
    # Kinds whose objects come decoded from the API server's typed Go structs (a live LIST of a built-in
    # kind): a field cannot have another type than its struct's, nor an object lack its name, so the parse
    # boundary passes them as they are. Argo's kinds are CRDs whose schema preserves unknown fields: a
    # Workflow can hold anything, and is always checked. Files and snapshots are checked whole.
    typed_kinds: frozenset[str] = frozenset()

    def __init__(self) -> None:
        self._cache: dict[str, list[dict[str, Any]] | KubeError] = {}
        self._index: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
        self._by_namespace: dict[str, dict[str, list[dict[str, Any]]]] = {}
        self._locks: dict[str, threading.Lock] = {k: threading.Lock() for k in KINDS}
        self.missing_kinds: set[str] = set()  # kinds the server does not serve (CRD absent)
        # The parse boundary (shapes): objects the checks could not trust, held back with what is wrong.
        self.malformed: dict[str, list[tuple[str | None, str, str]]] = {}  # kind -> [(ns, Kind/name, why)]

    def _fetch(self, kind: Kind) -> list[dict[str, Any]]:
        raise NotImplementedError

    def _iter(self, kind: Kind) -> Iterator[dict[str, Any]]:
        """The objects of a kind as they arrive (a live view: page by page), not yet slimmed."""
        return iter(self._fetch(kind))

    def stream(self, kind: str) -> Iterator[dict[str, Any]]:
        """The objects of a kind, slimmed and redacted like list()'s, without caching them when they
        are not cached already (a live view streams its LIST pages): for writing snapshots."""
        k = kind_of(kind)
        if kind in self._cache:
            yield from self.list(kind)
            return
        try:
            for obj in self._iter(k):
                yield _slim(kind, obj)
        except KubeError as e:
            if e.not_found:
                self.missing_kinds.add(kind)
                return
            raise KubeError(e.status, f"cannot list {k.resource}: {e}", verb="list", resource=k.resource) from None

    def _admit(self, k: Kind, objs: Iterable[Any]) -> list[dict[str, Any]]:
        """The objects whose shape the checks may trust; the others go to self.malformed."""
        if k.name in self.typed_kinds:
            self.malformed[k.name] = []
            return list(objs)
        good, bad = [], []
        for o in objs:
            why = shapes.problem(k.name, o, k.namespaced)
            if why is None:
                good.append(o)
            else:
                bad.append((*shapes.describe(k.name, o), why))
        self.malformed[k.name] = bad
        return good

    def list(self, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        """All objects of a kind (optionally of one namespace). Raises KubeError when forbidden."""
        k = kind_of(kind)
        with self._locks[kind]:
            cached = self._cache.get(kind)
            if cached is None:
                try:
                    cached = self._admit(k, (_slim(kind, o) for o in self._iter(k)))  # as pages arrive
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
        by_ns = self._by_namespace.get(kind)
        if by_ns is None:  # indexed once, so asking namespace by namespace stays linear
            by_ns = {}
            for o in cached:
                by_ns.setdefault(o.get("metadata", {}).get("namespace"), []).append(o)
            self._by_namespace[kind] = by_ns
        return list(by_ns.get(namespace, ()))

    def get(self, kind: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        index = self._index.get(kind)
        if index is None:
            index = {(o["metadata"].get("namespace") or "", o["metadata"].get("name", "")): o
                     for o in self.list(kind)}
            self._index[kind] = index
        return index.get((namespace or "", name))

    def prefetch(self, kinds: Iterable[str], workers: int = 4) -> Callable[[], None]:
        """Starts listing kinds in the background, so the API server serves the next LIST while this
        process parses the last; returns a function that waits until they are done. The objects land
        in the cache list() reads (each kind still listed once); errors are cached there as well.
        A snapshot view has nothing to fetch ahead."""
        return lambda: None

    def invalidate(self) -> None:
        """Forgets everything read, so the next run sees the cluster as it is now."""
        self.malformed.clear()
        self._cache.clear()
        self._index.clear()
        self._by_namespace.clear()
        self.missing_kinds.clear()


class LiveView(ClusterView):
    live = True
    typed_kinds = frozenset(k.name for k in _KINDS if k.group != "argoproj.io")

    def __init__(self, kube: Kube, page_size: int | None = None):
        super().__init__()
        self.kube = kube
        self.name = kube.name
        # pages of page_size objects (0: each kind whole); by default as the server is best read (kube.chunk_for)
        self.page_size = getattr(kube, "list_chunk", PAGED_CHUNK) if page_size is None else page_size
        self.lists = 0  # kinds LISTed (each once per run)
        self._asked: set[str] = set()  # kinds a prefetch is listing or has listed

    def prefetch(self, kinds: Iterable[str], workers: int = 4) -> Callable[[], None]:
        wanted = [k for k in dict.fromkeys(kinds) if k in KINDS and k not in self._cache and k not in self._asked]
        self._asked.update(wanted)  # a second call (the runner's, after the CLI's) lists nothing twice
        wanted.sort(key=lambda k: _PREFETCH_FIRST.index(k) if k in _PREFETCH_FIRST else len(_PREFETCH_FIRST))
        if not wanted:
            return lambda: None
        pool = ThreadPoolExecutor(max_workers=min(workers, len(wanted)), thread_name_prefix="argodoctor-list")

        def fetch(kind: str) -> None:
            try:
                self.list(kind)
            except (KubeError, UserError):
                pass  # cached by list(): the check that reads the kind reports it
        for kind in wanted:
            pool.submit(fetch, kind)
        return lambda: pool.shutdown(wait=True)

    def invalidate(self) -> None:
        super().invalidate()
        self._asked.clear()

    def _iter(self, kind: Kind) -> Iterator[dict[str, Any]]:
        self.lists += 1
        for obj in self.kube.list(kind.path(), page_size=self.page_size):
            # LIST items carry no kind/apiVersion; add them so objects stand alone.
            obj["kind"], obj["apiVersion"] = kind.name, kind.api_version
            yield obj


class SnapshotView(ClusterView):
    """Objects from files: a file or a directory of .yaml/.yml/.json, multi-document, Lists allowed."""

    def __init__(self, path: str, objects: Iterable[dict[str, Any]] | None = None):
        super().__init__()
        self.name = path
        self._objects: dict[str, list[dict[str, Any]]] = {k: [] for k in KINDS}
        for doc in load_documents(path) if objects is None else objects:
            kind = doc.get("kind") if isinstance(doc, dict) else None
            if isinstance(kind, str) and kind in KINDS:
                self._objects[kind].append(doc)

    def _fetch(self, kind: Kind) -> list[dict[str, Any]]:
        return self._objects[kind.name]


MAX_SNAPSHOT_FILE = 512 << 20  # bytes per file; a 100,000-object snapshot is about 25 MiB
MAX_SNAPSHOT_NODES = 20_000_000  # YAML nodes per document, aliases expanded


def _regular(file: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(file).st_mode)
    except OSError:
        return False


def _files(path: str) -> list[str]:
    """The snapshot's files: regular files only (a FIFO or device named x.yaml would block or never end)."""
    if os.path.isdir(path):
        found = []
        for root, _dirs, names in os.walk(path):
            for n in names:
                file = os.path.join(root, n)
                if n.endswith((".yaml", ".yml", ".json")):
                    if not _regular(file):
                        raise UserError(f"snapshot file {file} is not a regular file (a FIFO or device?)")
                    found.append(file)
        if not found:
            raise UserError(f"snapshot {path}: no .yaml, .yml or .json files in it")
        return sorted(found)
    if os.path.exists(path):
        if not _regular(path):
            raise UserError(f"snapshot {path} is not a regular file or a directory")
        return [path]
    raise UserError(f"snapshot {path} does not exist")


def _parse(file: str) -> list[Any]:
    """The documents of one snapshot file: JSON by the json module (a .json file, or any file whose
    text is one JSON document), everything else by libyaml's safe loader."""
    try:
        if os.path.getsize(file) > MAX_SNAPSHOT_FILE:
            raise UserError(f"snapshot file {file} is larger than {MAX_SNAPSHOT_FILE >> 20} MiB; split it")
        with open(file, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"cannot read snapshot file {file}: {e}") from None
    if file.endswith(".json") or text.lstrip()[:1] in ("{", "["):
        try:
            return [json.loads(text)]
        except RecursionError:
            raise UserError(f"snapshot file {file} nests too deeply to be a Kubernetes object") from None
        except ValueError:
            pass  # JSON is YAML, not the other way round: YAML decides, and words the error
    try:
        return safe_yaml.load_all(text, MAX_SNAPSHOT_NODES, 500)
    except safe_yaml.TooComplex as e:
        raise UserError(f"snapshot file {file} is too large or too deep to read: {e}") from None
    except safe_yaml.Invalid as e:
        at = f" at line {e.line}, column {e.column}" if e.line else ""
        raise UserError(f"snapshot file {file} is not valid YAML/JSON{at}: {e.problem}") from None


def load_documents(path: str) -> Iterable[dict[str, Any]]:
    """Every Kubernetes object in the files under path, with List objects flattened."""
    for file in _files(path):
        docs = _parse(file)
        for doc in docs:
            if doc is None:
                continue
            if not isinstance(doc, dict):
                raise UserError(f"snapshot file {file}: a document is not a Kubernetes object")
            if doc.get("kind", "").endswith("List") and isinstance(doc.get("items"), list):
                yield from (i for i in doc["items"] if isinstance(i, dict))
            else:
                yield doc


SNAPSHOT_FORMATS = ("json", "yaml")
_CHUNK = 500  # objects dumped at a time (a LIST page)


def _chunks(items: Iterator[dict[str, Any]], size: int = _CHUNK) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _write_json_list(f: Any, items: Iterator[dict[str, Any]]) -> int:
    """One List document, an object per line, written as the objects arrive."""
    f.write('{"apiVersion": "v1", "kind": "List", "items": [')
    n = 0
    encode = json.JSONEncoder(default=str, separators=(",", ":")).encode  # default: YAML timestamps
    for item in items:
        f.write(",\n" if n else "\n")
        f.write(encode(item))
        n += 1
    f.write("\n]}\n" if n else "]}\n")
    return n


def _write_yaml_list(f: Any, items: Iterator[dict[str, Any]]) -> int:
    """One List document, its items dumped a page at a time by libyaml's dumper."""
    import yaml  # here: only `snapshot --format yaml` writes YAML

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's is ten times faster
    f.write("apiVersion: v1\nkind: List\n")
    n = 0
    for chunk in _chunks(items):
        if not n:
            f.write("items:\n")
        yaml.dump(chunk, f, Dumper=dumper, sort_keys=False, allow_unicode=True, default_flow_style=False)
        n += len(chunk)
    if not n:
        f.write("items: []\n")
    return n


# Annotations a redacted Secret keeps verbatim; any other annotation value may hold a credential.
_SECRET_ANNOTATIONS_KEPT = ("kubernetes.io/service-account.name", "kubernetes.io/service-account.uid")


def for_snapshot(kind: str, obj: Any) -> Any:
    """What a snapshot keeps of an object beyond the view's own redaction: a Secret's annotations other
    than argodoctor's and the service-account ones become digests, and so do the literal env values of
    Deployments (MINIO_ROOT_PASSWORD and the like), except the controller's ARGO_* settings."""
    if not isinstance(obj, dict) or kind not in ("Secret", "Deployment"):
        return obj
    obj = copy.deepcopy(obj)  # the view's cached object stays as it is
    if kind == "Secret" and isinstance((obj.get("metadata") or {}).get("annotations"), dict):
        ann = obj["metadata"]["annotations"]
        obj["metadata"]["annotations"] = {k: v if k.startswith("argodoctor.io/") or k in _SECRET_ANNOTATIONS_KEPT
                                          else digest(str(v)) for k, v in ann.items()}
    if kind == "Deployment":
        spec = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
        for c in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
            for e in c.get("env") or [] if isinstance(c, dict) else []:
                if isinstance(e, dict) and "value" in e and not str(e.get("name", "")).startswith("ARGO_"):
                    e["value"] = digest(str(e["value"]))
    return obj


def write_snapshot(view: ClusterView, out_dir: str, fmt: str = "json") -> dict[str, int]:
    """Writes every kind the view can read to out_dir/<Kind>.json (or .yaml) as one List; returns
    counts (-1: the kind could not be listed). A live view's LIST pages stream into the file: the
    objects are neither cached nor held twice."""
    if fmt not in SNAPSHOT_FORMATS:
        raise UserError(f"snapshot format {fmt!r} is not one of {', '.join(SNAPSHOT_FORMATS)}")
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, SNAPSHOT_META), "w", encoding="utf-8") as f:
        json.dump({"written_by": "argodoctor", "digests": "hmac-sha256, first 16 hex digits",
                   "digest_key": _DIGEST_KEY.hex()}, f, indent=2)
    write = _write_json_list if fmt == "json" else _write_yaml_list
    counts: dict[str, int] = {}
    for name in KINDS:
        path = os.path.join(out_dir, f"{name}.{fmt}")
        partial = path + ".partial"  # not a snapshot file name until complete
        items = (for_snapshot(name, o) for o in view.stream(name))
        try:
            with open(partial, "w", encoding="utf-8") as f:
                counts[name] = write(f, items)
        except KubeError as e:
            os.remove(partial)
            counts[name] = -1
            print(f"warning: {e}", file=sys.stderr)
            continue
        except BaseException:
            os.remove(partial)
            raise
        os.replace(partial, path)
        for ext in ("json", "yaml", "yml"):  # this kind from an earlier snapshot in another format
            stale = os.path.join(out_dir, f"{name}.{ext}")
            if ext != fmt and os.path.exists(stale):
                os.remove(stale)
    return counts
