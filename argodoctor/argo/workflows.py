"""Workflow objects, their specs joined as the controller joins them, and the namespaces they live in."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .controller import Controller

WORKFLOW_KINDS = ("Workflow", "WorkflowTemplate", "CronWorkflow")
CLUSTER_TEMPLATE_KIND = "ClusterWorkflowTemplate"
# Template types whose nodes are pods (argo-workflows v3.0..v4.1 pkg/apis/workflow/v1alpha1/workflow_types.go
# Template.GetType: container, containerSet, script, resource and data run as pods; steps, dag and suspend
# are controller-side; http and plugin run in the agent pod).
POD_TEMPLATE_TYPES = ("container", "containerSet", "script", "resource", "data")
# The spec fields a referenced (Cluster)WorkflowTemplate or workflowDefaults fills in when the workflow
# leaves them unset (v3.0..v4.1 workflow/util/merge.go JoinWorkflowSpec: the workflow wins over the
# template, which wins over workflowDefaults).
JOINED_FIELDS = ("serviceAccountName", "automountServiceAccountToken", "executor", "artifactRepositoryRef",
                 "podGC", "artifactGC", "entrypoint")


_UNSET = (None, "", {})  # what JoinWorkflowSpec's merge treats as not set


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def workflow_spec(obj: dict[str, Any]) -> dict[str, Any]:
    """The spec a workflow object runs: a CronWorkflow's spec.workflowSpec, else spec."""
    spec = _mapping(obj.get("spec"))
    if obj.get("kind") == "CronWorkflow":
        return _mapping(spec.get("workflowSpec"))
    return spec



def describe(obj: dict[str, Any]) -> str:
    """'Workflow team-a/hello', 'ClusterWorkflowTemplate build'."""
    meta = _mapping(obj.get("metadata"))
    ns = meta.get("namespace")
    return f"{obj.get('kind')} {ns}/{meta.get('name')}" if ns else f"{obj.get('kind')} {meta.get('name')}"


def templates(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for t in spec.get("templates") or [] if isinstance(t, dict)]


def is_pod_template(tmpl: dict[str, Any]) -> bool:
    for k in POD_TEMPLATE_TYPES:  # a loop, not any(generator): called for every template of every workflow
        if tmpl.get(k) is not None:
            return True
    return False


def template_refs(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every templateRef in the spec's steps and dag tasks (and a template's own templateRef)."""
    for tmpl in templates(spec):
        if isinstance(tmpl.get("templateRef"), dict):
            yield tmpl["templateRef"]
        steps, dag = tmpl.get("steps"), tmpl.get("dag")
        for group in steps or ():
            for step in group if isinstance(group, list) else ():
                if isinstance(step, dict) and isinstance(step.get("templateRef"), dict):
                    yield step["templateRef"]
        for task in (dag.get("tasks") or () if isinstance(dag, dict) else ()):
            if isinstance(task, dict) and isinstance(task.get("templateRef"), dict):
                yield task["templateRef"]


class Catalogue:
    """The (Cluster)WorkflowTemplates a workflow may reference, indexed once."""

    def __init__(self, objects_by_kind: dict[str, list[dict[str, Any]]],
                 cluster_templates: list[dict[str, Any]], defaults: dict[str, Any] | None = None):
        self.templates = {(o["metadata"].get("namespace"), o["metadata"].get("name")): o
                          for o in objects_by_kind.get("WorkflowTemplate", [])}
        self.cluster_templates = {o["metadata"].get("name"): o for o in cluster_templates}
        self.defaults = _mapping(_mapping(defaults).get("spec"))
        self._joined: dict[int, tuple[dict[str, Any], dict[str, Any] | None]] = {}  # by id(obj): objects live a run

    def referenced(self, namespace: str, ref: dict[str, Any]) -> dict[str, Any] | None:
        """The (Cluster)WorkflowTemplate a workflowTemplateRef or templateRef names, if it exists."""
        if ref.get("clusterScope") is True:
            return self.cluster_templates.get(ref.get("name"))
        return self.templates.get((namespace, ref.get("name")))

    def joined(self, obj: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """(the spec the controller runs, the workflowTemplateRef's template if any): the object's own
        spec, then the referenced template's, then workflowDefaults', field by field."""
        found = self._joined.get(id(obj))
        if found is None:
            found = self._joined[id(obj)] = self._join(obj)
        return found

    def _join(self, obj: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
        own = workflow_spec(obj)
        ref = own.get("workflowTemplateRef")
        base = self.referenced(obj["metadata"].get("namespace"), ref) if isinstance(ref, dict) else None
        if base is None and not self.defaults:
            return own, None  # nothing to join: the spec as it is (callers never change it)
        base_spec = _mapping((base or {}).get("spec"))
        joined = dict(own)
        for field in JOINED_FIELDS:
            for layer in (own, base_spec, self.defaults):
                if layer.get(field) not in _UNSET:
                    joined[field] = layer[field]
                    break
        if base is not None:
            joined["templates"] = templates(own) + templates(base_spec)
        return joined, base


def workflow_namespaces(objects_by_kind: dict[str, list[dict[str, Any]]], controller: Controller,
                        extra: list[str] | tuple[str, ...] = ()) -> list[str]:
    """The controller's namespace, every namespace holding workflow objects, the managed
    namespace of a --namespaced controller, and any given with -n."""
    found = {controller.namespace, *extra}
    for kind in WORKFLOW_KINDS:
        found.update(o["metadata"]["namespace"] for o in objects_by_kind.get(kind, [])
                     if o.get("metadata", {}).get("namespace"))
    if controller.namespaced and controller.managed_namespace:
        found.add(controller.managed_namespace)
    return sorted(found)


# CronWorkflow schedules: v3.6 added `schedules` (a list) beside `schedule` (pkg/apis/workflow/v1alpha1/
# cron_workflow_types.go @v3.6.0..v3.7.18: both `omitempty`); v4.0 removed `schedule` (docs/upgrading.md
# @v4.0.5 "Removed: `schedule` in CronWorkflows"; cron_workflow_types.go @v4.0.5 has Schedules only) and
# workflow/validate/validate.go ValidateCronWorkflow @v4.0.5..v4.1.2 refuses an empty list with
# `cron workflow must have at least one schedule`.
def cron_schedule_problem(spec: dict[str, Any], version: Any) -> tuple[str, str] | None:
    """(verdict, why) when a CronWorkflow's schedule fields do not work at this Argo version, else None."""
    if version is None or not version.at_least(4, 0):
        return None
    singular = spec.get("schedule")
    plural = spec.get("schedules")
    has_plural = isinstance(plural, list) and any(isinstance(s, str) and s.strip() for s in plural)
    if singular and not has_plural:
        return ("fail", f"uses `schedule: {str(singular)[:60]}`, which Argo v4 removed: the controller refuses it "
                        "(`cron workflow must have at least one schedule`) and it never runs; write "
                        f"`schedules: [{str(singular)[:60]!r}]` instead")
    if singular and has_plural:
        return ("warn", "sets both `schedule` (removed in Argo v4, ignored) and `schedules`: remove `schedule`")
    if not has_plural:
        return ("fail", "has no `schedules`: Argo v4 refuses it (`cron workflow must have at least one schedule`)")
    return None
