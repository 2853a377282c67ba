"""Why one Workflow failed, from what it and its pods say (no API calls: the objects come in as the view keeps
them, view/failures.py). Every message (the Workflow's, its conditions', its failed nodes', its pods'
container states and their Warning Events) is classified against argo.symptoms; what no row knows is kept
as unknown with what can still be told from its shape:

- a node message is "<container>: <reason> (exit code N)[: <message>]" (argo-workflows v3.7.18
  workflow/controller/operator.go inferFailedReason, the same in v3.0-v4.1): the `main` container's own
  non-zero exit is the workflow's code; `init` or `wait` failing is the executor's, and argoexec exits 64
  on any error of its own (cmd/argoexec/main.go), so it is an install problem even when the message is new;
- "Pod failed before <container> container starts due to <reason>: <message>" (same function): the pod
  never ran (a volume, an image, the config);
- "child '<node>' failed" (workflow/controller/steps.go, dag.go) only passes a child's failure up.
A Workflow with no status at all was never taken by a controller (check AD105)."""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Any

from ..argo import symptoms
from .model import scrub

_EXIT = re.compile(r"\b([a-z0-9][-a-z0-9]{0,62}): ([A-Za-z]{1,40}) \(exit code (-?\d{1,4})\)")
_NOT_STARTED = re.compile(r"Pod failed before ([a-z0-9][-a-z0-9]{0,62}) container starts due to ([A-Za-z]{1,60})")
_PASSED_UP = re.compile(r"^child '[^']{0,300}' failed$|^Stopped with strategy '")
EXECUTOR_CONTAINERS = ("init", "wait")
MAX_SYMPTOMS = 50  # messages kept per Workflow
STUCK_AFTER_S = 120.0  # a Workflow with no status this old was not taken by any controller


@dataclasses.dataclass
class Symptom:
    where: str  # "Workflow", "node NAME", "pod NAME container C", "Event REASON on Pod NAME"
    message: str
    rows: list[symptoms.Row] = dataclasses.field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        row = self.rows[0] if self.rows else None
        return {"where": self.where, "message": self.message, "row": row.id if row else None,
                "cause": row.cause if row else None, "checks": list(row.checks) if row else [],
                "remediation": row.remediation if row else None, "source": row.source if row else None,
                "component": row.component if row else None}


@dataclasses.dataclass
class Diagnosis:
    namespace: str
    name: str
    phase: str
    symptoms: list[Symptom]
    unknown: list[Symptom]
    verdict: str
    install_problem: bool
    own_code: bool = False  # the main container's own exit: the workflow's code

    @property
    def check_ids(self) -> list[str]:
        """The checks that judge the causes found, in the order the causes were found."""
        ids: dict[str, None] = {}
        for s in self.symptoms:
            for row in s.rows:
                ids.update(dict.fromkeys(row.checks))
        if self.phase == "" and not self.symptoms:
            ids["AD105"] = None
        return list(ids)

    def to_dict(self) -> dict[str, Any]:
        return {"namespace": self.namespace, "name": self.name, "phase": self.phase or None,
                "verdict": self.verdict, "install_problem": self.install_problem,
                "checks": self.check_ids, "symptoms": [s.to_dict() for s in self.symptoms],
                "unknown": [{"where": s.where, "message": s.message} for s in self.unknown]}


def _text(value: Any) -> str:
    return scrub(" ".join(value.split())) if isinstance(value, str) else ""


def _messages(workflow: dict[str, Any], pods: list[dict[str, Any]], events: list[dict[str, Any]]):
    """(where, message) of everything the Workflow and its pods say, bounded."""
    status = workflow.get("status") if isinstance(workflow.get("status"), dict) else {}
    yield "Workflow", status.get("message")
    for c in status.get("conditions") or []:
        if isinstance(c, dict) and c.get("status") != "False":
            yield f"condition {c.get('type')}", c.get("message")
    nodes = status.get("nodes") if isinstance(status.get("nodes"), dict) else {}
    for node in nodes.values():
        if isinstance(node, dict):
            yield f"node {node.get('displayName') or node.get('name') or node.get('id')}", node.get("message")
    for pod in pods:
        name = (pod.get("metadata") or {}).get("name")
        st = pod.get("status") if isinstance(pod.get("status"), dict) else {}
        yield f"pod {name}", st.get("message")
        for key in ("initContainerStatuses", "containerStatuses"):
            for c in st.get(key) or []:
                state = c.get("state") if isinstance(c, dict) and isinstance(c.get("state"), dict) else {}
                waiting = state.get("waiting") if isinstance(state.get("waiting"), dict) else None
                ended = state.get("terminated") if isinstance(state.get("terminated"), dict) else None
                if waiting and waiting.get("reason") not in (None, "ContainerCreating", "PodInitializing"):
                    yield (f"pod {name} container {c.get('name')}",
                           f"Pod failed before {c.get('name')} container starts due to {waiting.get('reason')}: "
                           f"{waiting.get('message') or ''}")
                if ended and ended.get("exitCode") not in (0, None):
                    text = f"{c.get('name')}: {ended.get('reason') or 'Error'} (exit code {ended.get('exitCode')})"
                    yield f"pod {name} container {c.get('name')}", text + (
                        f": {ended['message']}" if ended.get("message") else "")
    for e in events:
        obj = e.get("involvedObject") or {}
        yield f"Event {e.get('reason')} on {obj.get('kind')} {obj.get('name')}", e.get("message")


def diagnose(workflow: dict[str, Any], pods: list[dict[str, Any]], events: list[dict[str, Any]],
             version: Any = None) -> Diagnosis:
    meta = workflow.get("metadata") or {}
    status = workflow.get("status") if isinstance(workflow.get("status"), dict) else {}
    phase = status.get("phase") if isinstance(status.get("phase"), str) else ""
    found: list[Symptom] = []
    unknown: list[Symptom] = []
    by_message: dict[str, Symptom] = {}  # the same message seen in several places: one symptom, every place
    own_code = executor_failed = False
    for where, raw in _messages(workflow, pods, events):
        message = _text(raw)
        if not message or _PASSED_UP.search(message):
            continue
        if message in by_message:
            if where not in by_message[message].where.split(", "):
                by_message[message].where += f", {where}"
            continue
        if len(found) + len(unknown) >= MAX_SYMPTOMS:
            break
        matches = symptoms.classify(message, version)
        exit_ = _EXIT.search(message[:symptoms.MAX_SCANNED])
        container = exit_.group(1) if exit_ else None
        if container in EXECUTOR_CONTAINERS:
            executor_failed = True
        symptom = by_message[message] = Symptom(where, message, [m.row for m in matches])
        if matches:
            found.append(symptom)
        elif container is not None and container not in EXECUTOR_CONTAINERS:
            own_code = True  # main's (or a sidecar's) own exit: the workflow's code, said in the verdict
        else:
            unknown.append(symptom)
    install = True
    if found:
        verdict = f"cause found: {found[0].rows[0].cause}"
    elif phase == "":
        verdict = ("no controller has taken this Workflow (it has no status): check AD105 says which "
                   "controller should run it")
    elif executor_failed:
        verdict = ("the executor (its init or wait container) failed with a message argodoctor does not know: "
                   "an executor or install problem, not the workflow's code")
    elif own_code:
        install = False
        verdict = ("the workflow's own code failed (its main container exited non-zero); the install looks "
                   "healthy for it")
    elif unknown:
        verdict = "argodoctor does not know these messages; the evidence below is what the checks say"
    else:
        install = False
        verdict = "no failure found in its status, pods or events"
    return Diagnosis(str(meta.get("namespace")), str(meta.get("name")), phase, found, unknown, verdict, install,
                     own_code)


def _time(text: Any) -> dt.datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def select_failed(workflows: list[dict[str, Any]], since_seconds: float, now: dt.datetime) -> list[dict[str, Any]]:
    """The Workflows `diagnose --failed` reads: failed or errored within the window (by when they finished,
    else started, else were created), and those Pending or without status created within it but at least
    STUCK_AFTER_S ago. Newest first."""
    picked = []
    for wf in workflows:
        meta = wf.get("metadata") or {}
        status = wf.get("status") if isinstance(wf.get("status"), dict) else {}
        phase = status.get("phase") if isinstance(status.get("phase"), str) else ""
        created = _time(meta.get("creationTimestamp"))
        when = _time(status.get("finishedAt")) or _time(status.get("startedAt")) or created
        if phase in ("Failed", "Error"):
            if when is None or (now - when).total_seconds() <= since_seconds:
                picked.append((when, wf))
        elif phase in ("", "Pending"):
            age = (now - created).total_seconds() if created else None
            if age is None or STUCK_AFTER_S <= age <= since_seconds + STUCK_AFTER_S:
                picked.append((created, wf))
    floor = dt.datetime.min.replace(tzinfo=dt.timezone.utc)
    picked.sort(key=lambda p: p[0] or floor, reverse=True)
    return [wf for _, wf in picked]


SHOWN_WORKFLOWS = 5  # named on a finding; the rest counted


def attach_symptoms(results: list[Any], workflows: list[dict[str, Any]], since_seconds: float, now: dt.datetime,
                    version: Any = None) -> int:
    """`check`'s symptoms: on each failing or warning result, the Workflows that failed within the window
    whose own messages (status, conditions, failed nodes: what the view keeps, no pod read) point to that
    result's check, in the result's namespace (or anywhere, for a cluster-wide result). Returns how many
    Workflows were read as failed. Linear: one diagnosis per failed Workflow, one pass over the results."""
    failed = select_failed(workflows, since_seconds, now)
    by_check: dict[tuple[str, str], list[str]] = {}  # (check id, namespace) -> "ns/name", newest first
    for wf in failed:
        d = diagnose(wf, [], [], version)
        for cid in d.check_ids:
            by_check.setdefault((cid, d.namespace), []).append(f"{d.namespace}/{d.name}")
    if not by_check:
        return len(failed)
    by_id: dict[str, list[str]] = {}
    for (cid, _), names in by_check.items():
        by_id.setdefault(cid, []).extend(names)
    for r in results:
        if r.status.value not in ("fail", "warn"):
            continue
        names = by_check.get((r.id, r.namespace), []) if r.namespace else by_id.get(r.id, [])
        if names:
            r.symptoms = {"count": len(names), "workflows": names[:SHOWN_WORKFLOWS], "since_s": since_seconds}
    return len(failed)
