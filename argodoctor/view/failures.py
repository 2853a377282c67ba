"""What the view keeps of a Workflow that failed: its status, its pods and their Warning Events, each bounded.

A Workflow's status: its phase always (the checks read nothing else of it); for a Workflow that failed,
errored or is stuck (Pending, or no phase at all: no controller took it), also what `diagnose` and the
symptoms on `check`'s findings read: the message, the conditions, the times and the messages of the
nodes that failed. A status can hold thousands of nodes and megabyte-long messages; a run over thousands
of Workflows keeps a few KiB of each failed one.

Node status fields as argo-workflows v3.7.18 pkg/apis/workflow/v1alpha1/workflow_types.go (NodeStatus)
writes them; `compressedNodes` (base64 of gzip of the nodes' JSON, workflow/packer/packer.go, used when
the status is over the size limit and `ALWAYS_OFFLOAD_NODE_STATUS` is off) is read the same way, bounded;
nodes offloaded to the database (`offloadNodeStatusVersion`) are not in the object and are said missing."""
from __future__ import annotations

import base64
import binascii
import json
import zlib
from typing import Any

DIAGNOSED_PHASES = frozenset({"Failed", "Error", "Pending", ""})
FAILED_NODE_PHASES = frozenset({"Failed", "Error"})
MAX_MESSAGE = 2048  # characters of each message kept
MAX_NODES = 40  # failed nodes kept per Workflow, the latest first
MAX_COMPRESSED = 8 << 20  # bytes of compressedNodes decompressed at most
_NODE_FIELDS = ("id", "name", "displayName", "type", "templateName", "phase", "message", "startedAt",
                "finishedAt", "hostNodeName")


def _text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    return value if len(value) <= MAX_MESSAGE else value[:MAX_MESSAGE] + " [...]"


def _nodes(status: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The status's nodes (from `nodes`, else `compressedNodes`), and why they are missing if they are."""
    nodes = status.get("nodes")
    if isinstance(nodes, dict):
        return nodes, None
    packed = status.get("compressedNodes")
    if isinstance(packed, str) and packed:
        try:
            raw = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(base64.b64decode(packed), MAX_COMPRESSED)
            nodes = json.loads(raw)
        except (binascii.Error, zlib.error, ValueError, RecursionError):
            return {}, "its compressedNodes do not decode"
        return (nodes, None) if isinstance(nodes, dict) else ({}, "its compressedNodes are not a map of nodes")
    if status.get("offloadNodeStatusVersion"):
        return {}, "its nodes are offloaded to the workflow archive database, not in the object"
    return {}, None


def _exit_code(node: dict[str, Any]) -> str | None:
    outputs = node.get("outputs")
    code = outputs.get("exitCode") if isinstance(outputs, dict) else None
    return code if isinstance(code, str) else None


def failed_nodes(status: dict[str, Any], any_phase: bool = False) -> tuple[list[dict[str, Any]], str | None]:
    """The failed or errored nodes (any_phase: any node) that carry a message (or an exit code), the latest
    first, bounded; and why nodes are missing, if they are. Linear in the nodes: one pass, then a bounded
    sort."""
    nodes, missing = _nodes(status)
    picked = []
    for node in nodes.values():
        if not isinstance(node, dict) or (not any_phase and node.get("phase") not in FAILED_NODE_PHASES):
            continue
        if not isinstance(node.get("message"), str) and _exit_code(node) is None:
            continue
        picked.append(node)
    picked.sort(key=lambda n: str(n.get("finishedAt") or n.get("startedAt") or ""), reverse=True)
    out = []
    for node in picked[:MAX_NODES]:
        kept = {f: (_text(node[f]) if f == "message" else node[f]) for f in _NODE_FIELDS
                if isinstance(node.get(f), str)}
        code = _exit_code(node)
        if code is not None:
            kept["exitCode"] = code[:16]
        out.append(kept)
    return out, missing


def slim(status: Any, any_phase: bool = False) -> dict[str, Any] | None:
    """The status the view keeps of a Workflow (None when it has none). any_phase: what diagnose reads of
    one Workflow named to it, whatever its phase (a Running one may be stuck on a pod that cannot start),
    with the nodes of any phase that carry a message."""
    if not isinstance(status, dict):
        return None
    phase = status.get("phase") if isinstance(status.get("phase"), str) else ""
    if phase not in DIAGNOSED_PHASES and not any_phase:
        return {"phase": phase}
    kept: dict[str, Any] = {"phase": phase} if phase else {}
    for key in ("message", "startedAt", "finishedAt"):
        text = _text(status.get(key))
        if text:
            kept[key] = text
    conditions = status.get("conditions")
    if isinstance(conditions, list):
        kept["conditions"] = [{k: _text(c[k]) for k in ("type", "status", "message") if isinstance(c.get(k), str)}
                              for c in conditions[:10] if isinstance(c, dict)]
    nodes, missing = failed_nodes(status, any_phase)
    if nodes:  # only the failed ones: a Workflow's other nodes say nothing of why it failed
        kept["nodes"] = {n.get("id") or f"node-{i}": n for i, n in enumerate(nodes)}
    if missing:
        kept["nodesMissing"] = missing
    return kept or None


# The pods of a Workflow carry its name in this label (argo-workflows v3.0-v4.1 workflow/common/common.go
# LabelKeyWorkflow, set by workflow/controller/workflowpod.go createWorkflowPod); only they are listed.
WORKFLOW_LABEL = "workflows.argoproj.io/workflow"
# The node a pod runs (workflow/common/common.go AnnotationKeyNodeID / AnnotationKeyNodeName).
_POD_ANNOTATIONS = ("workflows.argoproj.io/node-id", "workflows.argoproj.io/node-name")
MAX_PODS = 5  # per Workflow, the newest
MAX_EVENTS = 10  # per object, the newest


def _pick(obj: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: obj[k] for k in keys if isinstance(obj, dict) and obj.get(k) is not None}


def _state(container: Any) -> dict[str, Any]:
    """A container status: its name, image, restarts and states, each state's reason, message and code."""
    out = _pick(container, ("name", "image", "ready", "restartCount", "started"))
    for key in ("state", "lastState"):
        state = container.get(key) if isinstance(container, dict) else None
        if isinstance(state, dict):
            out[key] = {phase: {k: (_text(v) if isinstance(v, str) else v) for k, v in detail.items()
                                if k in ("reason", "message", "exitCode", "signal", "startedAt", "finishedAt")}
                        for phase, detail in state.items() if isinstance(detail, dict)}
    return out


def _volume(volume: dict[str, Any]) -> dict[str, Any]:
    """A volume by its name and the Secret or ConfigMap it mounts."""
    out: dict[str, Any] = {"name": volume.get("name")}
    for key in ("secret", "configMap"):
        if isinstance(volume.get(key), dict):
            out[key] = _pick(volume[key], ("secretName", "name", "optional"))
    return out


def slim_pod(pod: dict[str, Any]) -> dict[str, Any]:
    """A workflow pod as diagnose reads it: who it runs as, its containers' names and images, the
    volumes it mounts (by the Secret or ConfigMap they name) and its status. Not its env, command, args
    or annotations besides the node it runs: those are the workflow's data (and its template)."""
    meta = pod.get("metadata") if isinstance(pod.get("metadata"), dict) else {}
    ann = meta.get("annotations") if isinstance(meta.get("annotations"), dict) else {}
    out_meta = _pick(meta, ("name", "namespace", "uid", "creationTimestamp", "labels"))
    kept_ann = {k: ann[k] for k in _POD_ANNOTATIONS if isinstance(ann.get(k), str)}
    if kept_ann:
        out_meta["annotations"] = kept_ann
    spec = pod.get("spec") if isinstance(pod.get("spec"), dict) else {}
    out_spec = _pick(spec, ("serviceAccountName", "nodeName", "automountServiceAccountToken"))
    for key in ("initContainers", "containers"):
        items = spec.get(key)
        if isinstance(items, list):
            out_spec[key] = [_pick(c, ("name", "image")) for c in items if isinstance(c, dict)]
    volumes = spec.get("volumes")
    if isinstance(volumes, list):
        out_spec["volumes"] = [_volume(v) for v in volumes if isinstance(v, dict)]
    status = pod.get("status") if isinstance(pod.get("status"), dict) else {}
    out_status = {k: (_text(v) if isinstance(v, str) else v) for k, v in _pick(status, ("phase", "reason", "message",
                                                                                        "startTime")).items()}
    conditions = status.get("conditions")
    if isinstance(conditions, list):
        out_status["conditions"] = [{k: (_text(v) if isinstance(v, str) else v)
                                     for k, v in _pick(c, ("type", "status", "reason", "message")).items()}
                                    for c in conditions[:10] if isinstance(c, dict)]
    for key in ("initContainerStatuses", "containerStatuses"):
        items = status.get(key)
        if isinstance(items, list):
            out_status[key] = [_state(c) for c in items if isinstance(c, dict)]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": out_meta, "spec": out_spec, "status": out_status}


def slim_event(event: dict[str, Any]) -> dict[str, Any]:
    """A Warning Event: what it is about, its reason and (bounded) message, how often and when."""
    out = {k: (_text(v) if isinstance(v, str) else v) for k, v in _pick(event, (
        "type", "reason", "message", "count", "firstTimestamp", "lastTimestamp", "eventTime",
        "reportingComponent")).items()}
    meta = event.get("metadata") if isinstance(event.get("metadata"), dict) else {}
    out["metadata"] = _pick(meta, ("name", "namespace", "creationTimestamp"))
    out["involvedObject"] = _pick(event.get("involvedObject"), ("kind", "name", "namespace", "uid"))
    source = event.get("source")
    if isinstance(source, dict):
        out["source"] = _pick(source, ("component", "host"))
    return {"apiVersion": "v1", "kind": "Event", **out}


def event_time(event: dict[str, Any]) -> str:
    return str(event.get("lastTimestamp") or event.get("eventTime") or event.get("firstTimestamp")
               or (event.get("metadata") or {}).get("creationTimestamp") or "")


def diagnosed(workflow: Any) -> bool:
    """Whether a Workflow (as the view keeps it) failed, errored or is stuck: the Workflows diagnose reads
    pods and Events for."""
    status = workflow.get("status") if isinstance(workflow, dict) else None
    phase = status.get("phase") if isinstance(status, dict) else None
    return (phase if isinstance(phase, str) else "") in DIAGNOSED_PHASES


class FailureScope:
    """Which pods and Events a snapshot keeps: those of the Workflows that failed or are stuck (learnt
    from the Workflows written before them), the newest MAX_PODS pods of each and the newest MAX_EVENTS
    Warning Events of each such pod or Workflow."""

    def __init__(self) -> None:
        self.workflows: set[tuple[str, str]] = set()
        self.pods: set[tuple[str, str]] = set()

    def see_workflow(self, workflow: Any) -> None:
        meta = workflow.get("metadata") if isinstance(workflow, dict) else None
        if isinstance(meta, dict) and diagnosed(workflow):
            self.workflows.add((str(meta.get("namespace")), str(meta.get("name"))))

    def pods_kept(self, pods: Any) -> list[dict[str, Any]]:
        by_workflow: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for pod in pods:
            meta = pod.get("metadata") if isinstance(pod, dict) else None
            labels = meta.get("labels") if isinstance(meta, dict) else None
            owner = labels.get(WORKFLOW_LABEL) if isinstance(labels, dict) else None
            key = (str(meta.get("namespace")), str(owner)) if owner else None
            if key in self.workflows:
                by_workflow.setdefault(key, []).append(pod)
        kept = []
        for group in by_workflow.values():
            group.sort(key=lambda p: str(p["metadata"].get("creationTimestamp") or ""), reverse=True)
            kept += group[:MAX_PODS]
        self.pods = {(str(p["metadata"].get("namespace")), str(p["metadata"].get("name"))) for p in kept}
        return kept

    def events_kept(self, events: Any) -> list[dict[str, Any]]:
        by_object: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        for event in events:
            obj = event.get("involvedObject") if isinstance(event, dict) else None
            if not isinstance(obj, dict):
                continue
            key = (str(obj.get("namespace")), str(obj.get("name")))
            if (obj.get("kind") == "Pod" and key in self.pods) or (obj.get("kind") == "Workflow"
                                                                    and key in self.workflows):
                by_object.setdefault((str(obj.get("kind")), *key), []).append(event)
        kept = []
        for group in by_object.values():
            group.sort(key=event_time, reverse=True)
            kept += group[:MAX_EVENTS]
        return kept
