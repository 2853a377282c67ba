"""What `argodoctor snapshot` keeps of each object, beyond the view's own redaction (Secret values as
digests, no managedFields, a Workflow's status reduced to its phase): a snapshot is meant to be shared, so
it holds what the checks judge and digests or leaves out the rest.

- every kind: no kubectl.kubernetes.io/last-applied-configuration annotation (a copy of the whole object,
  env literals and Secret data included);
- Secret: annotations digested, except argodoctor's and the service-account ones;
- Deployment: env values digested, except the controller's ARGO_* settings (Controller.flag reads them);
- Workflow, WorkflowTemplate, CronWorkflow, ClusterWorkflowTemplate: every string a user writes as data
  (FREE_TEXT below) digested; no check reads one (they judge names, service accounts, executors,
  securityContexts, artifactRepositoryRef, templateRef and which template types are present);
- ConfigMap: only those a check reads (ConfigMapScope), whole; the others are left out.

A digest keeps emptiness and equality within one snapshot (cluster.digest: one key per process, never
written), so checks give the same verdicts on a snapshot as on the cluster it was taken from.
"""
from __future__ import annotations

from typing import Any

from .. import argo
from .cluster import _LAST_APPLIED, digest

_SECRET_ANNOTATIONS_KEPT = ("kubernetes.io/service-account.name", "kubernetes.io/service-account.uid")
_ARGO_KINDS = (*argo.WORKFLOW_KINDS, argo.CLUSTER_TEMPLATE_KIND)

# Where an Argo object holds data, not configuration (argo-workflows pkg/apis/workflow/v1alpha1
# workflow_types.go, v3.7.18): field -> the keys of it whose strings are digested ("[]": each element of a
# list of mappings, "*": the field itself, a string or a list of strings).
#   env[].value (corev1.EnvVar; valueFrom names a Secret and stays); Parameter.value/default/enum;
#   ScriptTemplate.source; ResourceTemplate.manifest; RawArtifact.data; HTTP.body and headers[].value;
#   podSpecPatch (a pod spec as text); a container's command and args; ValueFrom.default.
FREE_TEXT: dict[str, tuple[str, ...]] = {
    "env": ("[]", "value"), "parameters": ("[]", "value", "default", "enum"), "script": ("source",),
    "resource": ("manifest",), "raw": ("data",), "http": ("body",), "headers": ("[]", "value"),
    "podSpecPatch": ("*",), "command": ("*",), "args": ("*",), "valueFrom": ("default",),
}


def _digest_any(value: Any) -> Any:
    if isinstance(value, list):
        return [_digest_any(v) for v in value]
    if value is None or isinstance(value, dict):
        return value  # not text: a shape the parse boundary judges, kept as it is
    return digest(str(value))


def _digest_fields(value: Any, keys: tuple[str, ...]) -> Any:
    if keys == ("*",):
        return _digest_any(value)
    if keys[0] == "[]":
        if isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    for k in keys[1:]:
                        if k in item:
                            item[k] = _digest_any(item[k])
        return value
    if isinstance(value, dict):
        for k in keys:
            if k in value:
                value[k] = _digest_any(value[k])
    return value


def _scrub_argo(spec: Any) -> None:
    """Digests FREE_TEXT wherever it appears in spec (templates, steps, tasks, containerSets, sidecars,
    a CronWorkflow's workflowSpec), walking with a stack: a deep object cannot exhaust the recursion limit."""
    stack = [spec]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            for k, v in node.items():
                if k in FREE_TEXT and not (k in ("command", "args") and not isinstance(v, list)):
                    node[k] = v = _digest_fields(v, FREE_TEXT[k])
                if isinstance(v, (dict, list)):
                    stack.append(v)


def scrub(kind: str, obj: Any) -> Any:
    """obj as a snapshot holds it (changed in place: the caller passes a copy of what it keeps)."""
    if not isinstance(obj, dict):
        return obj
    meta = obj.get("metadata")
    if isinstance(meta, dict) and isinstance(meta.get("annotations"), dict):
        ann = {k: v for k, v in meta["annotations"].items() if k != _LAST_APPLIED}
        if kind == "Secret":
            ann = {k: v if k.startswith("argodoctor.io/") or k in _SECRET_ANNOTATIONS_KEPT else digest(str(v))
                   for k, v in ann.items()}
        meta["annotations"] = ann
    if kind == "Deployment":
        spec = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
        for c in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
            for e in c.get("env") or [] if isinstance(c, dict) else []:
                if isinstance(e, dict) and "value" in e and not str(e.get("name", "")).startswith("ARGO_"):
                    e["value"] = digest(str(e["value"]))
    elif kind in _ARGO_KINDS:
        _scrub_argo(obj.get("spec"))
    return obj


class ConfigMapScope:
    """Which ConfigMaps a check reads, learnt from the Deployments and Argo objects a snapshot writes
    before its ConfigMaps (Context.config, Context.repositories):
    - the controller's (Controller.configmap_name in its namespace; workflow-controller-configmap
      anywhere, which is read when no controller is found or --controller-namespace names another);
    - artifact-repositories in any namespace (a workflow namespace's default repository);
    - every ConfigMap an artifactRepositoryRef names (in its object's spec or the controller config's
      workflowDefaults), in any namespace (the ref resolves in the workflow's and the controller's)."""

    def __init__(self) -> None:
        self.controllers: set[tuple[str, str]] = set()
        self.names: set[str] = {argo.CONTROLLER_CONFIGMAP, argo.ARTIFACT_REPOSITORIES_CONFIGMAP}

    def see(self, kind: str, obj: Any) -> None:
        if not isinstance(obj, dict) or not isinstance(obj.get("metadata"), dict):
            return
        if kind == "Deployment":
            try:
                for c in argo.find_controllers([obj]):
                    self.controllers.add((c.namespace, c.configmap_name))
            except (AttributeError, TypeError, KeyError):
                pass  # malformed: the parse boundary names it when the snapshot is checked
        elif kind in _ARGO_KINDS:
            self._ref(argo.workflow_spec(obj))

    def _ref(self, spec: Any) -> None:
        ref = spec.get("artifactRepositoryRef") if isinstance(spec, dict) else None
        if isinstance(ref, dict):
            self.names.add(str(ref.get("configMap") or argo.ARTIFACT_REPOSITORIES_CONFIGMAP))

    def keeps(self, cm: Any) -> bool:
        meta = cm.get("metadata") if isinstance(cm, dict) else None
        if not isinstance(meta, dict):
            return False
        return meta.get("name") in self.names or (meta.get("namespace"), meta.get("name")) in self.controllers

    def learn_defaults(self, kept: list[dict[str, Any]]) -> bool:
        """Adds the ConfigMap the controllers' workflowDefaults ref names; True when that is a new name
        (the ConfigMaps must then be read again: one of that name may have gone by)."""
        before = len(self.names)
        for cm in kept:
            meta = cm.get("metadata") or {}
            if (meta.get("namespace"), meta.get("name")) in self.controllers or meta.get("name") == \
                    argo.CONTROLLER_CONFIGMAP:
                defaults = argo.parse_controller_config(cm).settings.get("workflowDefaults")
                self._ref(defaults.get("spec") if isinstance(defaults, dict) else None)
        return len(self.names) > before
