"""The workflow-controller Deployment: where it runs, its flags, and whether it is Available."""
from __future__ import annotations

import dataclasses
import functools
from typing import Any

from .version import Version, image_version

CONTROLLER_NAME = "workflow-controller"
CONTROLLER_CONFIGMAP = "workflow-controller-configmap"
DEFAULT_CONTROLLER_NAMESPACE = "argo"


@dataclasses.dataclass
class Controller:
    """The workflow-controller Deployment and what its container says. Read-only once built: the derived
    properties are computed once (claims() asks them for every workflow object)."""

    deployment: dict[str, Any] | None
    namespace: str
    args: list[str]
    image: str | None
    env: dict[str, str] = dataclasses.field(default_factory=dict)  # the container's literal env values

    @functools.cached_property
    def version(self) -> Version | None:
        return image_version(self.image)

    def flag(self, name: str) -> str | None:
        """The value of --name (as '--name value' or '--name=value'), else of its ARGO_* variable
        (v3.3+ cmd/workflow-controller/main.go binds every flag to ARGO_<NAME> through viper); None when
        absent."""
        for i, arg in enumerate(self.args):
            if arg == name and i + 1 < len(self.args):
                return self.args[i + 1]
            if arg.startswith(name + "="):
                return arg.split("=", 1)[1]
        return self.env.get(_env_name(name))

    def has_flag(self, name: str) -> bool:
        return any(a == name or a.startswith(name + "=") for a in self.args) or _env_name(name) in self.env

    @functools.cached_property
    def configmap_name(self) -> str:
        return self.flag("--configmap") or CONTROLLER_CONFIGMAP

    @functools.cached_property
    def namespaced(self) -> bool:
        if any(a == "--namespaced" for a in self.args):  # a bare boolean flag
            return True
        return self.has_flag("--namespaced") and (self.flag("--namespaced") or "").lower() in ("true", "1", "t")

    # cmd/workflow-controller/main.go (v3.0.10..v4.1.2): --managed-namespace is ignored unless --namespaced;
    # a namespaced controller without it manages its own namespace.
    @functools.cached_property
    def managed_namespace(self) -> str | None:
        if not self.namespaced:
            return None
        return self.flag("--managed-namespace") or self.namespace


def _env_name(flag: str) -> str:
    return "ARGO_" + flag.lstrip("-").upper().replace("-", "_").replace(".", "_")


def _is_controller(dep: dict[str, Any]) -> bool:
    """By name, by the `app` label of the official manifests, by the argo-helm chart's
    app.kubernetes.io/component (its Deployment is <release>-workflow-controller), or by image."""
    meta = dep.get("metadata", {})
    labels = meta.get("labels") or {}
    if meta.get("name") == CONTROLLER_NAME or CONTROLLER_NAME in (labels.get("app"),
                                                                  labels.get("app.kubernetes.io/component")):
        return True
    return any("workflow-controller" in (c.get("image") or "") for c in _containers(dep))


def _containers(dep: dict[str, Any]) -> list[dict[str, Any]]:
    template = ((dep.get("spec") or {}).get("template") or {}).get("spec") or {}
    return template.get("containers") or []


def find_controller(deployments: list[dict[str, Any]], namespace_hint: str | None = None) -> Controller:
    """The controller Deployment (preferring namespace_hint); a placeholder when none exists."""
    found = [d for d in deployments if _is_controller(d)]
    if namespace_hint:
        found.sort(key=lambda d: d["metadata"].get("namespace") != namespace_hint)
    if not found:
        return Controller(None, namespace_hint or DEFAULT_CONTROLLER_NAMESPACE, [], None)
    return _controller(found[0])


def find_controllers(deployments: list[dict[str, Any]]) -> list[Controller]:
    """Every workflow-controller Deployment (Argo's own, a Kubeflow Pipelines one, ...)."""
    found = [d for d in deployments if _is_controller(d)]
    found.sort(key=lambda d: (d["metadata"].get("namespace") or "", d["metadata"].get("name") or ""))
    return [_controller(d) for d in found]


def _controller(dep: dict[str, Any]) -> Controller:
    containers = _containers(dep)
    # The official manifests name the container workflow-controller, the argo-helm chart `controller`.
    main = next((c for c in containers if c.get("name") == "workflow-controller"),
                next((c for c in containers if "workflow-controller" in str(c.get("image") or "")),
                     containers[0] if containers else {}))
    args = [str(a) for a in (main.get("command") or [])[1:] + (main.get("args") or [])]
    env = {str(e["name"]): str(e["value"]) for e in main.get("env") or []
           if isinstance(e, dict) and e.get("name") and isinstance(e.get("value"), str)}
    return Controller(dep, dep["metadata"].get("namespace") or DEFAULT_CONTROLLER_NAMESPACE,
                      args, main.get("image"), env)


INSTANCE_ID_LABEL = "workflows.argoproj.io/controller-instanceid"


# Which workflow objects a controller runs, read at v3.0.10..v4.1.2:
# - namespace: cmd/workflow-controller/main.go (--managed-namespace with --namespaced, else its own) and
#   workflow/controller/controller.go GetManagedNamespace (else the config's `namespace`, else all);
# - instanceID: workflow/util/util.go InstanceIDRequirement: label workflows.argoproj.io/controller-instanceid
#   equal to the config's instanceID, or, with none configured, the label absent (DoesNotExist).
def watched_namespace(controller: Controller, config_namespace: Any) -> str | None:
    """The one namespace the controller watches, or None for all."""
    if controller.managed_namespace:
        return controller.managed_namespace
    return str(config_namespace) if isinstance(config_namespace, str) and config_namespace else None


def claims(controller: Controller, settings: dict[str, Any], namespace: str, labels: dict[str, Any]) -> bool:
    """Whether the controller (with its config settings) runs a workflow object in namespace with labels."""
    watched = watched_namespace(controller, settings.get("namespace"))
    if watched is not None and watched != namespace:
        return False
    instance_id = settings.get("instanceID")
    label = labels.get(INSTANCE_ID_LABEL)
    return label == str(instance_id) if instance_id else label is None


def deployment_available(dep: dict[str, Any] | None) -> tuple[bool, str]:
    """(Available?, why not) from the Deployment's status conditions and replica counts."""
    if dep is None:
        return False, "does not exist"
    status = dep.get("status") or {}
    conds = {c.get("type"): c for c in status.get("conditions") or []}
    avail = conds.get("Available", {})
    if avail.get("status") == "True":
        return True, f"{status.get('availableReplicas', 0)}/{status.get('replicas', 0)} replicas available"
    if avail:
        return False, f"not Available: {avail.get('reason', '')} {avail.get('message', '')}".strip()
    return False, "has no Available condition yet (no replica has become ready)"
