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

from ..errors import KubeError, UserError
from . import failures, safe_yaml, secret_declarers, secret_facts, shapes
from .kube import PAGED_CHUNK, Kube


@dataclasses.dataclass(frozen=True)
class Kind:
    name: str
    group: str
    version: str
    plural: str
    namespaced: bool = True
    # The LIST's selectors, for kinds of which only some objects are ever read (a Workflow's pods, Warning
    # Events): the API server filters, so the rest is neither sent nor decoded.
    query: tuple[tuple[str, str], ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        """The collection's or object's API path, its segments escaped (names.api_path: the one builder)."""
        from .names import api_path

        return api_path(self.group, self.version, self.plural, namespace if self.namespaced else None, name)

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
    # diagnose: the pods of Workflows and the Warning Events (after Workflow: a snapshot keeps those of the
    # Workflows that failed, learnt from the Workflows it wrote before them).
    Kind("Pod", "", "v1", "pods", query=(("labelSelector", failures.WORKFLOW_LABEL),)),
    Kind("Event", "", "v1", "events", query=(("fieldSelector", "type=Warning"),)),
    # Objects whose controllers write a Secret (secret_declarers), read by AD203 only where their
    # CRD is installed.
    Kind("ExternalSecret", "external-secrets.io", "v1", "externalsecrets"),
    Kind("SealedSecret", "bitnami.com", "v1alpha1", "sealedsecrets"),
    Kind("VaultStaticSecret", "secrets.hashicorp.com", "v1beta1", "vaultstaticsecrets"),
    Kind("VaultDynamicSecret", "secrets.hashicorp.com", "v1beta1", "vaultdynamicsecrets"),
    Kind("VaultPKISecret", "secrets.hashicorp.com", "v1beta1", "vaultpkisecrets"),
    Kind("SecretProviderClass", "secrets-store.csi.x-k8s.io", "v1", "secretproviderclasses"),
    Kind("OnePasswordItem", "onepassword.com", "v1", "onepassworditems"),
]
KINDS: dict[str, Kind] = {k.name: k for k in _KINDS}

# The kinds that are usually largest (and CRDs, slowest to serve) go first when listing ahead.
_PREFETCH_FIRST = ["Workflow", "RoleBinding", "ServiceAccount", "Secret", "Namespace", "CronWorkflow",
                   "WorkflowTemplate", "ConfigMap"]

REDACTED_ANNOTATION = "argodoctor.io/redacted"
_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


JUDGED_ON_A_CLUSTER = "check the files against the cluster (check -f without --offline) to judge it"


# Marks the Endpoints check -f infers for a Service of the files whose selector matches pods of the files
# (manifest_input._implied): what applying them will give, not what a cluster has.
IMPLIED_BY_FILES = "argodoctor.io/implied-by-files"


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


# Secret values become HMAC digests under a key drawn once per process and never written anywhere: equal
# values stay equal within a run and its snapshot (so checks compare them), and no one holding a snapshot
# can test a guessed value against a digest (as with an unkeyed SHA-256 or a key written beside it).
_DIGEST_KEY = os.urandom(32)
_DIGEST_RE = re.compile(r"^(sha256|hmac):[0-9a-f]{16}$")
# Earlier versions wrote the digest key to this file of the snapshot directory: removed when found there.
_OLD_KEY_FILE = "argodoctor-snapshot.meta"


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
    if kind == "Workflow":  # its phase; a failed one's message and failed nodes too, bounded (failures.slim)
        status = failures.slim(obj.pop("status", None))
        if status:
            obj["status"] = status
    elif kind == "CronWorkflow":
        status = obj.pop("status", None)
        if isinstance(status, dict) and status.get("phase"):
            obj["status"] = {"phase": status["phase"]}
    elif kind == "Pod":
        return failures.slim_pod(obj)
    elif kind == "Event":
        return failures.slim_event(obj)
    elif kind in secret_declarers.DECLARER_KINDS:
        return secret_declarers.slim(kind, obj)
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
        # Documents of no kind a check could own (`kind: null`): [(which document, why)], reported apart.
        self.rejected: list[tuple[str, str]] = []
        # Kinds argodoctor was told not to read (check --no-secrets), and why: never asked for; the checks
        # that read them report skip (runner), and list() raises as if forbidden.
        self.unread: dict[str, str] = {}

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
        if kind in self.unread:
            raise KubeError(403, f"not read: {self.unread[kind]}", verb="list", resource=k.resource)
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

    def unseen(self, namespace: str | None) -> str | None:
        """Why this view cannot tell what namespace holds (None: it sees it whole): an object it lacks there
        may exist, so it is no verdict."""
        return None

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

    def __init__(self, kube: Kube, page_size: int | None = None, namespaces: Iterable[str] | None = None):
        """namespaces: list namespaced kinds in these namespaces only, one LIST each (check --namespaced-read,
        for a role of Roles in those namespaces); None: every kind cluster-wide, one LIST each."""
        super().__init__()
        self.kube = kube
        self.namespaces = tuple(dict.fromkeys(namespaces)) if namespaces is not None else None
        self.name = kube.name
        # pages of page_size objects (0: each kind whole); by default as the server is best read (kube.chunk_for)
        self.page_size = getattr(kube, "list_chunk", PAGED_CHUNK) if page_size is None else page_size
        self.lists = 0  # kinds LISTed (each once per run)
        self._asked: set[str] = set()  # kinds a prefetch is listing or has listed

    def unseen(self, namespace: str | None) -> str | None:
        if self.namespaces is None or not namespace or namespace in self.namespaces:
            return None
        return (f"namespace {namespace} is not read (--namespaced-read reads {', '.join(self.namespaces)}); "
                "add it with --workflow-namespace, or check without --namespaced-read, to judge it")

    def prefetch(self, kinds: Iterable[str], workers: int = 4) -> Callable[[], None]:
        wanted = [k for k in dict.fromkeys(kinds) if k in KINDS and k not in self._cache and k not in self._asked
                  and k not in self.unread]
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
        scopes = self.namespaces if self.namespaces is not None and kind.namespaced else (None,)
        for ns in scopes:
            self.lists += 1
            for obj in self.kube.list(kind.path(ns), page_size=self.page_size, query=dict(kind.query) or None):
                # LIST items carry no kind/apiVersion; add them so objects stand alone.
                obj["kind"], obj["apiVersion"] = kind.name, kind.api_version
                yield obj


class SnapshotView(ClusterView):
    """Objects from files: a file or a directory of .yaml/.yml/.json, multi-document, Lists allowed."""

    def __init__(self, path: str, objects: Iterable[dict[str, Any]] | None = None):
        super().__init__()
        self.name = path
        self._objects: dict[str, list[dict[str, Any]]] = {k: [] for k in KINDS}
        for n, doc in enumerate(load_documents(path, self.rejected) if objects is None else objects, 1):
            why = shapes.document_problem(doc) if isinstance(doc, dict) else None
            if why:  # given objects (check -f): the files' reader names where they came from
                self.rejected.append((f"object {n}", why))
                continue
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
            return _no_lone_surrogates(text, [json.loads(text, parse_int=safe_yaml.over_long_int)])
        except RecursionError:
            raise UserError(f"snapshot file {file} nests too deeply to be a Kubernetes object") from None
        except ValueError:
            pass  # JSON is YAML, not the other way round: YAML decides, and words the error
    try:
        return _no_lone_surrogates(text, safe_yaml.load_all(text, MAX_SNAPSHOT_NODES, 500))
    except safe_yaml.TooComplex as e:
        raise UserError(f"snapshot file {file} is too large or too deep to read: {e}") from None
    except safe_yaml.Invalid as e:
        at = f" at line {e.line}, column {e.column}" if e.line else ""
        raise UserError(f"snapshot file {file} is not valid YAML/JSON{at}: {e.problem}") from None


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # (paired ones are one character once decoded)
_SURROGATE_ESCAPE = re.compile(r"\\[uU]0{0,4}[dD][89a-fA-F][0-9a-fA-F]{2}")


def _no_lone_surrogates(text: str, docs: list[Any]) -> list[Any]:
    """The documents with each lone UTF-16 surrogate (the escapes \\ud800..\\udfff, which JSON and YAML
    accept and no UTF-8 writer can emit) replaced by U+FFFD, as the API server's Go decoder does: every
    output format can then write every string. Only a text holding such an escape is walked again."""
    if not _SURROGATE_ESCAPE.search(text):
        return docs
    fixed = json.dumps(docs, ensure_ascii=False, default=str)  # (a YAML timestamp: its text)
    fixed = _LONE_SURROGATE.sub("\ufffd", fixed)
    return json.loads(fixed, parse_int=safe_yaml.over_long_int)


def load_documents(path: str, rejected: list[tuple[str, str]] | None = None) -> Iterable[dict[str, Any]]:
    """Every Kubernetes object in the files under path, with List objects flattened. A document or item
    whose kind or apiVersion is not a string (`kind: null`) is left out and, given `rejected`, named there."""
    for file in _files(path):
        docs = _parse(file)
        for n, doc in enumerate(docs, 1):
            if doc is None:
                continue
            if not isinstance(doc, dict):
                raise UserError(f"snapshot file {file}: a document is not a Kubernetes object")
            why = shapes.document_problem(doc)
            if why:
                if rejected is not None:
                    rejected.append((f"snapshot file {file}, document {n}", why))
                continue
            if doc.get("kind", "").endswith("List") and isinstance(doc.get("items"), list):
                for i, item in enumerate(doc["items"]):
                    why = shapes.document_problem(item) if isinstance(item, dict) else None
                    if why and rejected is not None:
                        rejected.append((f"snapshot file {file}, document {n}, items[{i}]", why))
                    elif isinstance(item, dict) and not why:
                        yield item
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


def private_snapshot_dir(out_dir: str) -> None:
    """out_dir as a snapshot's home: created 0700 when new; an existing one must be a directory of this
    user that no one else may enter (argodoctor refuses rather than chmod a directory it did not make)."""
    try:
        try:
            os.makedirs(out_dir, mode=0o700)
        except FileExistsError:
            pass  # judged below
        st = os.stat(out_dir)
    except OSError as e:
        raise UserError(f"cannot create snapshot directory {out_dir}: {e.strerror or e}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise UserError(f"snapshot directory {out_dir} is not a directory")
    if st.st_uid != os.geteuid() or st.st_mode & 0o077:
        raise UserError(f"snapshot directory {out_dir} is open to others (mode {stat.S_IMODE(st.st_mode):04o}, "
                        f"owner uid {st.st_uid}): a snapshot is written only into a private directory; "
                        f"name a new one or `chmod 700 {out_dir}`")


def _private_file(path: str) -> Any:
    """A new file only this user may read (0600, whatever the umask or an earlier file's mode)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, "w", encoding="utf-8")


def write_snapshot(view: ClusterView, out_dir: str, fmt: str = "json") -> dict[str, int]:
    """Writes every kind the view can read to out_dir/<Kind>.json (or .yaml) as one List, as
    snapshot_scope says (digested and left out); returns counts (-1: the kind could not be listed).
    A live view's LIST pages stream into the file: the objects are neither cached nor held twice.
    Files are 0600 in a 0700 directory; the digest key is never written."""
    from .snapshot_scope import ConfigMapScope, scrub  # here: it imports this module

    if fmt not in SNAPSHOT_FORMATS:
        raise UserError(f"snapshot format {fmt!r} is not one of {', '.join(SNAPSHOT_FORMATS)}")
    private_snapshot_dir(out_dir)
    old_key = os.path.join(out_dir, _OLD_KEY_FILE)
    if os.path.lexists(old_key):
        os.remove(old_key)
    write = _write_json_list if fmt == "json" else _write_yaml_list
    scope = ConfigMapScope()

    def configmaps() -> Iterator[dict[str, Any]]:
        """The ConfigMaps a check reads (few), learnt from the kinds written before them."""
        kept = [o for o in view.stream("ConfigMap") if scope.keeps(o)]
        if scope.learn_defaults(kept):  # workflowDefaults names one more: read them again
            kept = [o for o in view.stream("ConfigMap") if scope.keeps(o)]
        yield from kept

    failed = failures.FailureScope()  # the pods and Events of the Workflows that failed or are stuck

    def source(name: str) -> Iterable[dict[str, Any]]:
        if name == "ConfigMap":
            return configmaps()
        if name == "Pod":
            return failed.pods_kept(view.stream(name))
        if name == "Event":
            return failed.events_kept(view.stream(name))
        return view.stream(name)

    def objects(name: str) -> Iterator[dict[str, Any]]:
        cached = name in view._cache  # the view's cached objects stay as they are; streamed ones are ours
        for o in source(name):
            scope.see(name, o)
            if name == "Workflow":
                failed.see_workflow(o)
            yield scrub(name, copy.deepcopy(o) if cached else o)

    counts: dict[str, int] = {}
    for name in sorted(KINDS, key=lambda k: k == "ConfigMap"):  # ConfigMaps last: see configmaps()
        path = os.path.join(out_dir, f"{name}.{fmt}")
        partial = path + ".partial"  # not a snapshot file name until complete
        try:
            with _private_file(partial) as f:
                counts[name] = write(f, objects(name))
        except KubeError as e:
            os.remove(partial)
            counts[name] = -1
            print(f"warning: {e}", file=sys.stderr)
            continue
        except BaseException:
            if os.path.lexists(partial):
                os.remove(partial)
            raise
        os.replace(partial, path)
        for ext in ("json", "yaml", "yml"):  # this kind from an earlier snapshot in another format
            stale = os.path.join(out_dir, f"{name}.{ext}")
            if ext != fmt and os.path.exists(stale):
                os.remove(stale)
    return counts
