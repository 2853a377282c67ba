"""The service accounts workflow pods and their executors really run as, per workflow namespace.

argo-workflows v3.0..v4.1 workflow/controller/workflowpod.go setupServiceAccount (checked at v3.7.18):
the pod's serviceAccountName is the template's, else the (joined) workflow spec's; when neither names
one the pod is created without one and Kubernetes gives it `default`. The executor acts as
`executor.serviceAccountName` (template's, else spec's): its token Secret is mounted for the
init/wait containers; with no executor SA it acts as the pod's SA. automountServiceAccountToken is the
template's, else the spec's; false without an executor SA is an error
("executor.serviceAccountName must not be empty if automountServiceAccountToken is false").
"""
from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

from .version import Version
from .workflows import WORKFLOW_KINDS, Catalogue, describe, is_pod_template, template_refs, templates

DEFAULT_SERVICE_ACCOUNT = "default"  # what Kubernetes' ServiceAccount admission gives a pod that names none
TOKEN_NAME_ANNOTATION = "workflows.argoproj.io/service-account-token.name"
AGENT_TEMPLATE_TYPES = ("http", "plugin")
GC_STRATEGIES = ("OnWorkflowCompletion", "OnWorkflowDeletion")


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _executor_sa(holder: dict[str, Any]) -> str:
    return str(_mapping(holder.get("executor")).get("serviceAccountName") or "")


class PodIdentity(NamedTuple):
    """How the pods of one template would run (a tuple: a run makes one per workflow object)."""

    namespace: str
    service_account: str
    executor_service_account: str | None
    automount: bool | None  # automountServiceAccountToken as the template or spec sets it
    used_by: str  # "Workflow team-a/hello" or "Workflow team-a/hello template main"

    @property
    def executor_identity(self) -> str:
        """The SA whose rights the executor (init/wait containers) uses."""
        return self.executor_service_account or self.service_account


def pod_identity(namespace: str, spec: dict[str, Any], tmpl: dict[str, Any], used_by: str) -> PodIdentity:
    """setupServiceAccount for one template of a joined spec."""
    sa = tmpl.get("serviceAccountName") or spec.get("serviceAccountName") or DEFAULT_SERVICE_ACCOUNT
    executor = _executor_sa(tmpl) or _executor_sa(spec) or None
    automount = tmpl.get("automountServiceAccountToken")
    if not isinstance(automount, bool):
        automount = spec.get("automountServiceAccountToken")
    return PodIdentity(namespace, str(sa), executor, automount if isinstance(automount, bool) else None, used_by)


def object_identities(obj: dict[str, Any], catalogue: Catalogue) -> list[PodIdentity]:
    """The identities one Workflow, WorkflowTemplate or CronWorkflow's pods run as, one per distinct
    (SA, executor SA, automount), each naming the object (and template, where the template sets it)."""
    spec = catalogue.joined(obj)[0]
    return _identities(obj["metadata"].get("namespace"), spec, templates(spec), describe(obj), catalogue)


def _identities(ns: str, spec: dict[str, Any], tmpls: list[dict[str, Any]], who: str,
                catalogue: Catalogue) -> list[PodIdentity]:
    found: list[PodIdentity] = []
    for tmpl in tmpls:
        if is_pod_template(tmpl):
            own = tmpl.get("serviceAccountName") or _executor_sa(tmpl)
            found.append(pod_identity(ns, spec, tmpl, f"{who} template {tmpl.get('name')}" if own else who))
    # Templates reached by templateRef run with this workflow's spec (their own SA still wins).
    for ref in template_refs(spec):
        target = catalogue.referenced(ns, ref)
        for tmpl in templates(_mapping((target or {}).get("spec"))):
            if tmpl.get("name") == ref.get("template") and is_pod_template(tmpl):
                found.append(pod_identity(ns, spec, tmpl, f"{who} via {describe(target)} template {tmpl.get('name')}"))
    if not found:
        found.append(pod_identity(ns, spec, {}, who))  # nothing resolvable to run: the spec's own identity
    if len(found) == 1:
        return found
    unique: dict[tuple[str, str | None, bool | None], PodIdentity] = {}
    for ident in found:
        unique.setdefault((ident.service_account, ident.executor_service_account, ident.automount), ident)
    return list(unique.values())


# The agent pod of HTTP and plugin templates (v3.3+ workflow/controller/agent.go createAgentPod) runs as
# the joined spec's serviceAccountName (template SAs play no part), else `default`, with its token mounted
# from the SA's token Secret (getServiceAccountTokenVolume).
def agent_identity(spec: dict[str, Any], tmpls: list[dict[str, Any]] | None = None) -> str | None:
    """The agent pod's SA when the spec has HTTP or plugin templates (tmpls: templates(spec)), else None."""
    for t in templates(spec) if tmpls is None else tmpls:
        for k in AGENT_TEMPLATE_TYPES:
            if t.get(k) is not None:
                return str(spec.get("serviceAccountName") or DEFAULT_SERVICE_ACCOUNT)
    return None


# Artifact GC pods (v3.4+ workflow/controller/artifact_gc.go getArtifactGCPodInfo) run as
# spec.artifactGC.serviceAccountName, overridden per artifact by its artifactGC.serviceAccountName, else
# `default`: never the workflow's own SA.
def gc_identities(spec: dict[str, Any], tmpls: list[dict[str, Any]] | None = None) -> set[str]:
    """The SAs artifact GC pods of this spec run as (empty when no artifact is garbage-collected; tmpls:
    templates(spec))."""
    wf_gc = _mapping(spec.get("artifactGC"))
    wf_sa = str(wf_gc.get("serviceAccountName") or "")
    found: set[str] = set()
    if wf_gc.get("strategy") in GC_STRATEGIES:
        found.add(wf_sa or DEFAULT_SERVICE_ACCOUNT)
    for tmpl in templates(spec) if tmpls is None else tmpls:
        for art in _mapping(tmpl.get("outputs")).get("artifacts") or []:
            gc = _mapping(_mapping(art).get("artifactGC"))
            if gc.get("strategy") in GC_STRATEGIES:
                found.add(str(gc.get("serviceAccountName") or wf_sa or DEFAULT_SERVICE_ACCOUNT))
    return found


# Which Secret holds an SA's token for the executor SA and the agent pod:
# v3.0..v3.4.1 (workflow/common/serviceaccount.go, then operator.go getServiceAccountTokenName) the
# SA's first `secrets` entry, an error "does not have any (token|secrets)" without one;
# v3.4.2+ (util/secrets/secret_name.go TokenNameForServiceAccount, commit 36646ef81c for Kubernetes 1.24)
# the first `secrets` entry, else the annotation workflows.argoproj.io/service-account-token.name, else
# `<sa>.service-account-token`. The controller never checks that Secret: a missing one keeps the pod in
# ContainerCreating (FailedMount).
def token_secret_name(sa: dict[str, Any], version: Version | None) -> str | None:
    """The token Secret Argo mounts for ServiceAccount sa; None where that version finds none."""
    listed = [e.get("name") for e in sa.get("secrets") or [] if isinstance(e, dict) and e.get("name")]
    if listed:
        return str(listed[0])
    if version is not None and (version.major, version.minor, version.patch) < (3, 4, 2):
        return None
    annotated = _mapping(_mapping(sa.get("metadata")).get("annotations")).get(TOKEN_NAME_ANNOTATION)
    return str(annotated) if annotated else f"{_mapping(sa.get('metadata')).get('name')}.service-account-token"


@dataclasses.dataclass
class Identities:
    """Per workflow namespace: who runs there. Each maps SA -> what uses it (for messages)."""

    pods: dict[str, dict[str, list[str]]]  # ns -> SA pods run as -> users
    executors: dict[str, dict[str, list[str]]]  # ns -> SA the executor acts as -> users
    by_namespace: dict[str, list[PodIdentity]]
    agents: dict[str, dict[str, list[str]]] = dataclasses.field(default_factory=dict)  # HTTP/plugin agent pods
    artifact_gc: dict[str, dict[str, list[str]]] = dataclasses.field(default_factory=dict)  # GC pods
    _merged: dict[str, dict[str, list[str]]] = dataclasses.field(default_factory=dict, repr=False)

    def service_accounts(self, ns: str) -> dict[str, list[str]]:
        """Every SA in ns that some pod or executor uses (pod SAs first), merged once per namespace."""
        merged = self._merged.get(ns)
        if merged is None:
            sets: dict[str, dict[str, None]] = {sa: dict.fromkeys(users) for sa, users in self.pods.get(ns, {}).items()}
            for sa, users in self.executors.get(ns, {}).items():
                sets.setdefault(sa, {}).update(dict.fromkeys(users))
            merged = self._merged[ns] = {sa: list(users) for sa, users in sets.items()}
        return merged


def workflow_identities(objects_by_kind: dict[str, list[dict[str, Any]]], catalogue: Catalogue,
                        namespaces: list[str]) -> Identities:
    """The identities of every workflow namespace. A namespace with no workflow objects yet (the
    controller's own, one given with -n) runs new workflows as workflowDefaults' SA, else `default`."""
    wanted = set(namespaces)
    by_ns: dict[str, list[PodIdentity]] = {ns: [] for ns in namespaces}
    agents: dict[str, dict[str, list[str]]] = {}
    gc: dict[str, dict[str, list[str]]] = {}
    for kind in WORKFLOW_KINDS:
        for obj in objects_by_kind.get(kind, []):
            ns = obj["metadata"].get("namespace")
            if ns not in wanted:
                continue
            spec = catalogue.joined(obj)[0]
            tmpls, who = templates(spec), describe(obj)
            by_ns[ns] += _identities(ns, spec, tmpls, who, catalogue)
            agent = agent_identity(spec, tmpls)
            if agent:
                agents.setdefault(ns, {}).setdefault(agent, []).append(who)
            for sa in gc_identities(spec, tmpls):
                gc.setdefault(ns, {}).setdefault(sa, []).append(who)
    for ns, found in by_ns.items():
        if not found:
            found.append(pod_identity(ns, catalogue.defaults, {},
                                      "new workflows (no workflow objects here yet)"))
    # users kept in first-seen order without duplicates: dicts as ordered sets, so a namespace with
    # thousands of workflows on one SA costs linear time, not a list scan per workflow
    pods: dict[str, dict[str, dict[str, None]]] = {}
    executors: dict[str, dict[str, dict[str, None]]] = {}
    for ns, found in by_ns.items():
        for ident in found:
            pods.setdefault(ns, {}).setdefault(ident.service_account, {})[ident.used_by] = None
            executors.setdefault(ns, {}).setdefault(ident.executor_identity, {})[ident.used_by] = None
    return Identities(_lists(pods), _lists(executors), by_ns, agents, gc)


def _lists(by_ns: dict[str, dict[str, dict[str, None]]]) -> dict[str, dict[str, list[str]]]:
    return {ns: {sa: list(users) for sa, users in sas.items()} for ns, sas in by_ns.items()}


def users_text(users: list[str], limit: int = 3) -> str:
    """'used by Workflow team-a/x, CronWorkflow team-a/y (+4 more)'."""
    shown = ", ".join(users[:limit])
    more = f" (+{len(users) - limit} more)" if len(users) > limit else ""
    return f"used by {shown}{more}"
