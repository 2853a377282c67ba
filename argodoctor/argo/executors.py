"""Executors: which one is in effect at a version, the rights it needs, and its image."""
from __future__ import annotations

import dataclasses
from typing import Any

from .config import ControllerConfig
from .controller import Controller
from .version import Version

EXECUTOR_LABEL = "workflows.argoproj.io/container-runtime-executor"
LEGACY_EXECUTORS = ("docker", "kubelet", "k8sapi", "pns")


@dataclasses.dataclass(frozen=True)
class Executors:
    """The executor in effect by default, and every executor a workflow may select by label."""

    default: str
    selectable: tuple[str, ...] = ()
    source: str = ""  # where the default comes from, for messages

    @property
    def all(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.default, *self.selectable)))


def executors_in_effect(version: Version | None, config: ControllerConfig, controller: Controller) -> Executors:
    """As the controller of that version decides: v3.4+ runs emissary only. Up to v3.1 the
    --container-runtime-executor flag wins over the configmap; from v3.2 the configmap wins and the
    flag is the fallback; with neither, docker up to v3.2 and emissary in v3.3."""
    if version is None or version.at_least(3, 4):
        return Executors("emissary", (), "the only executor from v3.4" if version else "version unknown")
    key = config.settings.get("containerRuntimeExecutor")
    flag = controller.flag("--container-runtime-executor")
    cm_source = f"containerRuntimeExecutor in {config.source('containerRuntimeExecutor')}"
    flag_source = "the controller's --container-runtime-executor flag"
    if flag and not version.at_least(3, 2):
        default, source = flag, flag_source
    elif key:
        default, source = str(key), cm_source
    elif flag:
        default, source = flag, flag_source
    elif version.at_least(3, 3):
        default, source = "emissary", "the default from v3.3"
    else:
        default, source = "docker", "the default up to v3.2"
    selectable: tuple[str, ...] = ()
    listed = config.settings.get("containerRuntimeExecutors")
    if version.at_least(3, 0) and isinstance(listed, list):
        selectable = tuple(str(e.get("name")) for e in listed if isinstance(e, dict) and e.get("name"))
    return Executors(default, selectable, source)


@dataclasses.dataclass(frozen=True)
class Permission:
    """One verb on one resource, as RBAC names it."""

    verb: str
    resource: str
    group: str = ""
    subresource: str = ""

    @property
    def cluster_scoped(self) -> bool:
        """nodes/proxy: the kubelet asks with no namespace, so only a ClusterRoleBinding grants it."""
        return self.resource == "nodes"

    def __str__(self) -> str:
        res = f"{self.resource}/{self.subresource}" if self.subresource else self.resource
        return f"{self.verb} {res}" + (f".{self.group}" if self.group else "")


TASK_RESULTS = (Permission("create", "workflowtaskresults", "argoproj.io"),
                Permission("patch", "workflowtaskresults", "argoproj.io"))
LEGACY_POD_PATCH = Permission("patch", "pods")


# Extra rights of the non-emissary executors, which they keep from v3.3 on: argo-workflows v3.3.10
# manifests/quick-start/base/executor/<name>/executor-role.yaml (the Role Argo recommends per executor;
# docker and emissary need only workflowtaskresults). The CATALOG gives pns `pods get` and omits
# k8sapi's `pods/log get`; the source is followed here: an SA bound to Argo's own Role must pass.
_EXTRA_FROM_V33 = {
    "pns": (Permission("watch", "pods"), Permission("get", "pods", subresource="log")),
    "k8sapi": (Permission("get", "pods"), Permission("watch", "pods"), Permission("create", "pods", subresource="exec"),
               Permission("get", "pods", subresource="log")),
    # v3.3.10 manifests/quick-start/base/executor/kubelet/kubelet-executor-clusterrole.yaml (nodes/proxy is
    # cluster-scoped: a ClusterRoleBinding is needed)
    "kubelet": (Permission("get", "nodes", subresource="proxy"),),
}


def executor_permissions(version: Version | None, executors: Executors) -> list[Permission]:
    """The rights the executor's identity needs for the executor(s) in effect at that version.
    Up to v3.2 (v3.2.11 docs/workflow-rbac.md; the seed's Role): pods get/watch/patch and pods/log
    get/watch, + pods/exec create for k8sapi, nodes/proxy get for kubelet (quick-start ClusterRole
    kubelet-executor). From v3.3 (v3.3.10 quick-start Role executor): workflowtaskresults create/patch,
    plus each non-emissary executor's extras."""
    if version is None or version.at_least(3, 3):
        perms = list(TASK_RESULTS)
        for name in executors.all:
            perms += [p for p in _EXTRA_FROM_V33.get(name, ()) if p not in perms]
        return perms
    perms = [Permission("get", "pods"), Permission("watch", "pods"), LEGACY_POD_PATCH,
             Permission("get", "pods", subresource="log"), Permission("watch", "pods", subresource="log")]
    if "k8sapi" in executors.all:
        perms.append(Permission("create", "pods", subresource="exec"))
    if "kubelet" in executors.all:
        perms.append(Permission("get", "nodes", subresource="proxy"))
    return perms


# The agent pod of HTTP/plugin templates: argo-workflows v3.3.10..v4.1.2 manifests/quick-start/base/
# agent-role.yaml (workflowtasksets list/watch, workflowtasksets/status patch; its note: up to v3.2
# `patch workflowtasksets` instead of the status subresource).
def agent_permissions(version: Version | None) -> list[Permission]:
    status = Permission("patch", "workflowtasksets", "argoproj.io", "status") \
        if version is None or version.at_least(3, 3) else Permission("patch", "workflowtasksets", "argoproj.io")
    return [Permission("list", "workflowtasksets", "argoproj.io"),
            Permission("watch", "workflowtasksets", "argoproj.io"), status]


# Artifact GC pods (v3.4+): v3.4.18..v4.1.2 manifests/quick-start/base/artifactgc-role.yaml.
ARTIFACT_GC_PERMISSIONS = (Permission("list", "workflowartifactgctasks", "argoproj.io"),
                           Permission("watch", "workflowartifactgctasks", "argoproj.io"),
                           Permission("patch", "workflowartifactgctasks", "argoproj.io", "status"))


def legacy_pod_patch_fallback(version: Version | None) -> bool:
    """v3.3-v3.5 executors fall back to patching their pod when they may not write task results."""
    return version is not None and version.at_least(3, 3) and not version.at_least(3, 6)


def minimal_role_rules(perms: list[Permission]) -> list[dict[str, Any]]:
    """RBAC rules granting exactly perms, one rule per (group, resource)."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for p in perms:
        res = f"{p.resource}/{p.subresource}" if p.subresource else p.resource
        grouped.setdefault((p.group, res), [])
        if p.verb not in grouped[(p.group, res)]:
            grouped[(p.group, res)].append(p.verb)
    return [{"apiGroups": [g], "resources": [r], "verbs": v} for (g, r), v in grouped.items()]


BROAD_ROLES = ("cluster-admin", "admin", "edit")


def executor_image(version: Version | None, config: ControllerConfig, controller: Controller) -> tuple[str, str]:
    """(image, where it is set): --executor-image, else the configmap's executor.image, else the default
    quay.io/argoproj/argoexec:<controller version>."""
    flag = controller.flag("--executor-image")
    if flag:
        return flag, "the controller's --executor-image flag"
    executor = config.settings.get("executor")
    if isinstance(executor, dict) and executor.get("image"):
        return str(executor["image"]), f"executor.image in {config.source('executor')}"
    tag = str(version) if version else "latest"
    return f"quay.io/argoproj/argoexec:{tag}", "the default"
