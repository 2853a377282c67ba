"""What a check or remediation sees: the ClusterView, the options, and Argo facts derived once."""
from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from . import argo
from .cluster import ClusterView
from .errors import UserError
from .model import Result, Status

T = TypeVar("T")


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
    namespaced: bool = False


class Context:
    def __init__(self, view: ClusterView, options: Options | None = None):
        self.view = view
        self.options = options or Options()
        self._memo: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._key_locks: dict[str, threading.Lock] = {}
        # Results of finished checks, for `requires` (set by the runner).
        self.results: dict[str, list[Result]] = {}
        if self.options.argo_version and argo.parse_version(self.options.argo_version) is None:
            raise UserError(f"--argo-version {self.options.argo_version!r} is not a version like v3.7.18")

    def once(self, key: str, compute: Callable[[], T]) -> T:
        """compute() once per run under key, shared by all checks. A lock per key, so a slow
        fact (an S3 probe) holds up only the checks that need that fact."""
        with self._lock:
            if key in self._memo:
                return self._memo[key]
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._memo:
                    return self._memo[key]
            value = compute()
            with self._lock:
                self._memo[key] = value
            return value

    def reset(self) -> None:
        """Forgets derived facts and cached reads (after a fix, before re-checking)."""
        with self._lock:
            self._memo.clear()
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
        return argo.executor_permissions(self.version, self.executors)

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
        """Why results for `namespace` are blocked by a failed required check, or None."""
        for cid in check_ids:
            for r in self.results.get(cid, []):
                if r.namespace not in (None, namespace):
                    continue
                if r.status in (Status.FAIL, Status.ERROR):
                    where = f" for {r.namespace}" if r.namespace else ""
                    return f"blocked: {cid} {r.slug} is {r.status.value}{where}"
                if r.status is Status.SKIP and r.message.startswith("blocked:"):
                    return r.message  # blocked in turn: name the root cause
        return None
