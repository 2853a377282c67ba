"""What a check or remediation sees: the ClusterView, the options, and Argo facts derived once."""
from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

from .. import argo
from ..errors import UserError
from ..view.cluster import ClusterView
from .model import Result, Status

T = TypeVar("T")


def _blocking_reason(cid: str, r: Result) -> str | None:
    """Why r, a result of required check cid, blocks the results that depend on it (None: it does not)."""
    if r.status in (Status.FAIL, Status.ERROR):
        where = f" for {r.namespace}" if r.namespace else ""
        return f"blocked: {cid} {r.slug} is {r.status.value}{where}"
    if r.status is Status.SKIP and r.message.startswith("blocked:"):
        return r.message  # blocked in turn: name the root cause
    return None


_NEVER_BLOCKS = frozenset((Status.PASS, Status.WARN, Status.EXEMPT))


class _Blocking:
    """One check's results, indexed once: per namespace (None: cluster-wide) the first result, by
    position, that blocks dependants there. Remembers the list it indexed and its length, so a list
    replaced or appended to after it was stored is indexed again."""

    __slots__ = ("results", "size", "first")

    def __init__(self, cid: str, results: list[Result]):
        self.results, self.size = results, len(results)
        self.first: dict[str | None, tuple[int, str]] = {}
        for i, r in enumerate(results):
            if r.status in _NEVER_BLOCKS:
                continue
            if r.namespace not in self.first:
                reason = _blocking_reason(cid, r)
                if reason is not None:
                    self.first[r.namespace] = (i, reason)

    def fresh(self, results: list[Result]) -> bool:
        return results is self.results and len(results) == self.size

    def reason(self, namespace: str | None) -> str | None:
        """As a scan of the results in order would find it: the first one for None or namespace."""
        anywhere = self.first.get(None)
        here = self.first.get(namespace) if namespace is not None else None
        if anywhere is None or (here is not None and here[0] < anywhere[0]):
            anywhere = here
        return anywhere[1] if anywhere else None


class Results(dict):
    """ctx.results: check id -> its results (a plain dict of lists to readers), indexed by
    (check id, namespace) when first asked about, so `blocked` costs O(required checks)."""

    def __init__(self, *args: Any, **kw: Any):
        super().__init__()
        self._blocking: dict[str, _Blocking] = {}
        self.update(*args, **kw)

    def __setitem__(self, cid: str, results: list[Result]) -> None:
        super().__setitem__(cid, results)
        self._blocking.pop(cid, None)  # indexed when first asked about (most checks nothing requires)

    def __delitem__(self, cid: str) -> None:
        super().__delitem__(cid)
        self._blocking.pop(cid, None)

    def update(self, *args: Any, **kw: Any) -> None:  # type: ignore[override]
        for cid, results in dict(*args, **kw).items():
            self[cid] = results

    def setdefault(self, cid: str, default: Any = None) -> Any:  # type: ignore[override]
        if cid not in self:
            self[cid] = default if default is not None else []
        return self[cid]

    def pop(self, cid: str, *default: Any) -> Any:  # type: ignore[override]
        self._blocking.pop(cid, None)
        return super().pop(cid, *default)

    def popitem(self) -> Any:
        cid, results = super().popitem()
        self._blocking.pop(cid, None)
        return cid, results

    def clear(self) -> None:
        super().clear()
        self._blocking.clear()

    def blocking(self, cid: str) -> _Blocking | None:
        results = self.get(cid)
        if results is None:
            return None
        index = self._blocking.get(cid)
        if index is None or not index.fresh(results):  # changed in place since it was stored
            index = self._blocking[cid] = _Blocking(cid, results)
        return index


@dataclasses.dataclass
class Options:
    namespaces: tuple[str, ...] = ()  # extra workflow namespaces (-n)
    argo_version: str | None = None  # overrides detection
    controller_namespace: str | None = None
    backup_dir: str | None = None
    s3_endpoint: str | None = None  # HOST:PORT that replaces every S3 endpoint for the live probes
    s3_connect_timeout: float = 3.0
    s3_read_timeout: float = 10.0
    # deploy-object-store / configure-artifact-repository
    object_store_namespace: str | None = None
    minio_image: str | None = None
    storage_size: str | None = None
    bucket: str | None = None
    # install-argo
    manifests: str | None = None  # FILE or DIR of install manifests (air-gapped); default: the release URL
    install_version: str | None = None
    pre: bool = False  # check --pre: the pre-install checks run (AD100 asks for what they read too)
    namespaced: bool = False


_MISSING: Any = object()


class Context:
    def __init__(self, view: ClusterView, options: Options | None = None):
        self.view = view
        self.options = options or Options()
        self._memo: dict[str, Any] = {}
        # What compute() raised, with the traceback of that first raise, raised again on later calls.
        self._failed: dict[str, tuple[Exception, TracebackType | None]] = {}
        self._lock = threading.Lock()
        self._key_locks: dict[str, threading.Lock] = {}
        # Results of finished checks, for `requires` (set by the runner), indexed as they are stored.
        self._results = Results()
        if self.options.argo_version and argo.parse_version(self.options.argo_version) is None:
            raise UserError(f"--argo-version {self.options.argo_version!r} is not a version like v3.7.18")

    @property
    def results(self) -> Results:
        return self._results

    @results.setter
    def results(self, value: dict[str, list[Result]]) -> None:
        self._results = value if isinstance(value, Results) else Results(value)

    def once(self, key: str, compute: Callable[[], T]) -> T:
        """compute() once per run under key, shared by all checks. A lock per key, so a slow
        fact (an S3 probe) holds up only the checks that need that fact. An exception is
        cached too: later calls raise it again instead of computing the failing fact anew."""
        try:  # the common case, without taking a lock: a dict read is atomic, values are final
            return self._memo[key]
        except KeyError:
            pass
        with self._lock:
            found = self._cached(key)
            if found is not _MISSING:
                return found
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                found = self._cached(key)
                if found is not _MISSING:
                    return found
            try:
                value = compute()
            except Exception as e:
                with self._lock:
                    self._failed[key] = (e, e.__traceback__)
                raise
            with self._lock:
                self._memo[key] = value
            return value

    def _cached(self, key: str) -> Any:
        """The value memoised under key, _MISSING, or raises the exception computing it raised."""
        if key in self._memo:
            return self._memo[key]
        failed = self._failed.get(key)
        if failed is not None:
            # From the first raise's frames, so raising it again and again does not grow its traceback.
            raise failed[0].with_traceback(failed[1])
        return _MISSING

    def reset(self) -> None:
        """Forgets derived facts and cached reads (after a fix, before re-checking)."""
        with self._lock:
            self._memo.clear()
            self._failed.clear()
            self.view.invalidate()

    # ---- Argo facts, each derived once per run
    @property
    def controller(self) -> argo.Controller:
        return self.once("controller", lambda: argo.find_controller(
            self.view.list("Deployment"), self.options.controller_namespace))

    @property
    def version(self) -> argo.Version | None:
        if self.options.argo_version:
            return argo.parse_version(self.options.argo_version)
        return self.controller.version

    @property
    def config(self) -> argo.ControllerConfig:
        def load() -> argo.ControllerConfig:
            c = self.controller
            return argo.parse_controller_config(self.view.get("ConfigMap", c.namespace, c.configmap_name))
        return self.once("config", load)

    @property
    def executors(self) -> argo.Executors:
        """The executor in effect (and those workflows may select), as the detected version decides."""
        return self.once("executors", lambda: argo.executors_in_effect(self.version, self.config, self.controller))

    @property
    def executor_permissions(self) -> list[argo.Permission]:
        """The rights a workflow service account needs for those executors at the detected version."""
        return self.once("executor_permissions", lambda: argo.executor_permissions(self.version, self.executors))

    def workflow_objects(self) -> dict[str, list[dict[str, Any]]]:
        return self.once("workflow_objects", lambda: {k: self.view.list(k) for k in argo.WORKFLOW_KINDS})

    @property
    def catalogue(self) -> argo.Catalogue:
        """Workflow objects joined with the (Cluster)WorkflowTemplates they reference and workflowDefaults."""
        return self.once("catalogue", lambda: argo.Catalogue(
            self.workflow_objects(), self.view.list(argo.CLUSTER_TEMPLATE_KIND),
            self.config.settings.get("workflowDefaults")))

    @property
    def workflow_namespaces(self) -> list[str]:
        return self.once("namespaces", lambda: argo.workflow_namespaces(
            self.workflow_objects(), self.controller, self.options.namespaces))

    @property
    def identities(self) -> argo.Identities:
        """The service accounts workflow pods and their executors run as, per workflow namespace."""
        return self.once("identities", lambda: argo.workflow_identities(
            self.workflow_objects(), self.catalogue, self.workflow_namespaces))

    def configmaps(self) -> dict[tuple[str, str], dict[str, Any]]:
        return self.once("configmaps", lambda: {
            (o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in self.view.list("ConfigMap")})

    def repositories(self, namespace: str) -> list[argo.Repository]:
        """Every artifact repository workflows in `namespace` resolve: the default one
        (if any) first, then each distinct artifactRepositoryRef."""
        def compute() -> dict[str, list[argo.Repository]]:
            cms = self.configmaps()
            refs = argo.artifact_repository_refs(self.workflow_objects(), self.catalogue)
            out: dict[str, list[argo.Repository]] = {}
            for ns in self.workflow_namespaces:
                repos = []
                default = argo.resolve_default_repository(ns, cms, self.config)
                if default is not None:
                    repos.append(default)
                for ref, used_by in refs.get(ns, []):
                    repos.append(argo.resolve_ref(ns, ref, used_by + " (artifactRepositoryRef)",
                                                  self.controller.namespace, cms))
                out[ns] = repos
            return out
        return self.once("repositories", compute).get(namespace, [])

    # ---- dependencies between checks
    def blocked(self, check_ids: tuple[str, ...], namespace: str | None) -> str | None:
        """Why results for `namespace` are blocked by a failed required check, or None: the first
        blocking result of the first required check that has one (cluster-wide results count for every
        namespace). O(len(check_ids)): each check's results are indexed by namespace once."""
        results = self.results
        for cid in check_ids:
            index = results.blocking(cid)
            if index is not None:
                reason = index.reason(namespace)
                if reason is not None:
                    return reason
        return None
