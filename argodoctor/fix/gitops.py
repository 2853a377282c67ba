"""Fixes that never fight the tool that owns an object: objects Helm or Argo CD manage are not patched
(their next upgrade or sync would set them back); the plan says what to change in that tool's terms.
And `fix -o yaml`: the planned objects as manifests to commit, nothing applied."""
from __future__ import annotations

from typing import Any

from ..engine.model import Action
from .fixer import clean, merged

# How each tool marks what it manages: Helm 3 (pkg/action: managed-by label and the release annotations it
# adopts by), Argo CD (application.instanceLabelKey default, and the annotation of resource tracking).
HELM_LABEL, HELM_RELEASE = "app.kubernetes.io/managed-by", "meta.helm.sh/release-name"
ARGOCD_LABEL, ARGOCD_TRACKING = "argocd.argoproj.io/instance", "argocd.argoproj.io/tracking-id"


def manager(obj: dict[str, Any] | None) -> str | None:
    """'Helm release argo-workflows' / 'Argo CD application argo' when a tool manages obj, else None."""
    meta = (obj or {}).get("metadata") or {}
    labels, annotations = meta.get("labels") or {}, meta.get("annotations") or {}
    if annotations.get(ARGOCD_TRACKING) or labels.get(ARGOCD_LABEL):
        app = labels.get(ARGOCD_LABEL) or str(annotations.get(ARGOCD_TRACKING, "")).split(":")[0]
        return f"Argo CD application {app}"
    if labels.get(HELM_LABEL) == "Helm" or annotations.get(HELM_RELEASE):
        return f"Helm release {annotations.get(HELM_RELEASE) or labels.get('app.kubernetes.io/instance') or '?'}"
    return None


def managed_notes(actions: list[Action]) -> list[str]:
    """For each action on a managed object: who manages it and the change in that tool's terms."""
    notes = []
    for a in actions:
        who = manager(a.before)
        if not who:
            continue
        where = f"{a.namespace}/" if a.namespace else ""
        note = f"{a.kind} {where}{a.name} is managed by {who}: argodoctor leaves it (it would be set back)"
        snippet = helm_values(a) if who.startswith("Helm") else None
        if snippet:
            note += f"; set this in the release's values (argo-helm argo-workflows chart) and upgrade:\n{snippet}"
        else:
            note += "; commit the change above to its source (`argodoctor fix -o yaml` prints the manifest)"
        notes.append(note)
    return notes


def helm_values(action: Action) -> str | None:
    """The argo-helm values that render this change of the controller's ConfigMap, where there are such
    (the chart writes its `config` key from .Values: artifactRepository, executor, workflowDefaults)."""
    import yaml

    from ..view import safe_yaml

    if action.kind != "ConfigMap" or not action.name.endswith("workflow-controller-configmap"):
        return None
    data = (action.desired.get("data") or {})
    try:
        config = safe_yaml.load(data.get("config")) if data.get("config") else {}
    except (safe_yaml.Invalid, safe_yaml.TooComplex):
        return None
    values = {}
    for key in ("artifactRepository", "executor", "workflowDefaults"):
        value = (config or {}).get(key) if isinstance(config, dict) else None
        if value is None and data.get(key):
            try:
                value = safe_yaml.load(data[key])
            except (safe_yaml.Invalid, safe_yaml.TooComplex):
                value = None
        if value is not None:
            values[key] = value
    if not values:
        return None
    return "\n".join("    " + line for line in yaml.safe_dump(values, sort_keys=False).splitlines())


def manifests(actions: list[Action]) -> list[Any]:
    """The plan as documents to commit: each object as it will be (the live one with the change, no
    status or server-set fields), Secret values left out; deletions and writes outside Kubernetes as
    comments (strings)."""
    out: list[Any] = []
    for a in actions:
        where = f"{a.namespace}/" if a.namespace else ""
        if a.perform is not None:
            out.append(f"# outside Kubernetes: {a.describe()}")
        elif a.delete:
            out.append(f"# delete {a.kind} {where}{a.name}: {a.reason}")
        else:
            obj = clean(merged(a.before, a.desired))
            if a.kind == "Secret" or a.sensitive:
                obj = {**obj, "data": {k: "<value not printed: set it from your secret store>"
                                       for k in {**(obj.get("data") or {}), **(obj.get("stringData") or {})}}}
                obj.pop("stringData", None)
            out.append(obj)
    return out
