"""`argodoctor diagnose WORKFLOW | --failed`: from a Workflow that failed to the cause and the fix.

Reads, live: the named Workflow by GET (or, with --failed, the Workflows the view LISTs once), its pods by
one LIST with the label workflows.argoproj.io/workflow (=NAME for one Workflow), and Warning Events by one
LIST with fieldSelector type=Warning; never a request per namespace. A snapshot holds the same (the pods
and Events of its failed Workflows). Each message is classified (engine.diagnosis over argo.symptoms), then
the checks that judge the causes run once for every diagnosed namespace, and each Workflow shows the
results of its own namespace and identities as evidence."""
from __future__ import annotations

import argparse
import datetime as dt
import difflib
import json
import sys
from typing import TYPE_CHECKING, Any

from ..engine import registry
from ..errors import KubeError, UserError
from .common import connect, context, safe

if TYPE_CHECKING:
    from ..view.cluster import ClusterView

DIAGNOSE_SCHEMA = 1
_RIGHTS = {"Pod": "list pods", "Event": "list events"}


def _names(objs: list[dict[str, Any]]) -> list[str]:
    return [str(o["metadata"].get("name")) for o in objs]


def _namespace_of(args: argparse.Namespace, view: ClusterView) -> str:
    if args.diagnose_namespace:
        return args.diagnose_namespace
    kube = getattr(view, "kube", None)
    return getattr(kube, "namespace", None) or "default"


def _one_workflow(view: ClusterView, namespace: str, name: str) -> dict[str, Any]:
    """The named Workflow with the status diagnose reads (any phase), or a usage error with a did-you-mean."""
    from ..view import failures, names
    from ..view.cluster import KINDS, LiveView

    for kind, value in (("Namespace", namespace), ("Workflow", name)):
        why = names.invalid(kind, value)
        if why:
            raise UserError(why)
    wf = None
    if isinstance(view, LiveView):
        try:
            wf = view.kube.request("GET", KINDS["Workflow"].path(namespace, name))
        except KubeError as e:
            if e.status != 404:
                raise
        if wf is not None:
            wf.setdefault("kind", "Workflow")
            wf.setdefault("apiVersion", KINDS["Workflow"].api_version)
            (wf.get("metadata") or {}).pop("managedFields", None)
            status = failures.slim(wf.pop("status", None), any_phase=True)
            if status:
                wf["status"] = status
    else:
        wf = view.get("Workflow", namespace, name)
    if wf is not None:
        return wf
    here = [w for w in safe(lambda: view.list("Workflow")) or [] if w["metadata"].get("namespace") == namespace]
    close = difflib.get_close_matches(name, _names(here), n=1)
    hint = f"; did you mean {close[0]}?" if close else (
        f" ({len(here)} Workflows there: `kubectl get workflows -n {namespace}`)" if here else
        " (none there: is it in another namespace? -n NS)")
    raise UserError(f"no Workflow {name!r} in namespace {namespace}{hint}")


def _read(view: ClusterView, kind: str, notes: list[str], *, namespace: str | None = None,
          query: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Pods or Warning Events: through the view (one LIST, cached), or for one Workflow a LIST in its
    namespace; what cannot be read is a note, never the end of the diagnosis."""
    from ..view import failures
    from ..view.cluster import KINDS, LiveView

    try:
        if namespace is None or not isinstance(view, LiveView):
            objs = view.list(kind, namespace)
            return objs
        k = KINDS[kind]
        slim = failures.slim_pod if kind == "Pod" else failures.slim_event
        return [slim(o) for o in view.kube.list(k.path(namespace), query={**dict(k.query), **(query or {})})]
    except KubeError as e:
        if e.status in (401, 403):
            notes.append(f"cannot read {kind}s ({_RIGHTS[kind]}: `argodoctor role` grants it); diagnosed from the "
                         "Workflow's own status")
        elif e.status != 404:
            notes.append(f"cannot read {kind}s: {e}")
        return []


def _evidence(by_namespace: dict[str | None, list[Any]], diag: Any, namespace: str,
              pods: list[dict[str, Any]]) -> list[Any]:
    """The results of the checks that judge this Workflow's causes: not passing, in its namespace or
    cluster-wide, and, for service-account findings, about the identities its pods ran as. by_namespace:
    the run's results grouped once, so --failed over many Workflows stays linear."""
    wanted = set(diag.check_ids)
    accounts = {p["spec"].get("serviceAccountName") or "default" for p in pods if isinstance(p.get("spec"), dict)}
    out = []
    for r in [*by_namespace.get(namespace, ()), *by_namespace.get(None, ())]:
        if r.id not in wanted or r.status.value == "pass":
            continue
        kind, _, name = (r.object or "").partition("/")
        if kind == "ServiceAccount" and accounts and name not in accounts:
            continue
        out.append(r)
    return out


def _with_requirements(ids: set[str]) -> list[str]:
    by_id = {c.id: c for c in registry.all_checks()}
    todo, seen = [i for i in ids if i in by_id], set()
    while todo:
        cid = todo.pop()
        if cid in seen:
            continue
        seen.add(cid)
        todo += [r for r in by_id[cid].requires if r in by_id]
    return sorted(seen)


def run(args: argparse.Namespace) -> int:
    from ..engine import diagnosis
    from ..view.cluster import SnapshotView

    if bool(args.workflow) == bool(args.failed):
        raise UserError("name one Workflow (diagnose NAME -n NS), or pass --failed for every failed one")
    view: Any = SnapshotView(args.snapshot) if args.snapshot else None
    if view is None:
        from ..view.cluster import LiveView

        view = LiveView(connect(args))
    notes: list[str] = []
    now = dt.datetime.now(dt.timezone.utc)
    if args.workflow:
        namespace = _namespace_of(args, view)
        workflows = [_one_workflow(view, namespace, args.workflow)]
        pods = _read(view, "Pod", notes, namespace=namespace,
                     query={"labelSelector": f"workflows.argoproj.io/workflow={args.workflow}"})
        events = _read(view, "Event", notes, namespace=namespace)
    else:
        every = view.list("Workflow", args.diagnose_namespace)
        workflows = diagnosis.select_failed(every, args.since, now)
        pods = _read(view, "Pod", notes) if workflows else []
        events = _read(view, "Event", notes) if workflows else []
    pods_of: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for p in pods:
        owner = (p["metadata"].get("labels") or {}).get("workflows.argoproj.io/workflow")
        pods_of.setdefault((p["metadata"].get("namespace"), owner), []).append(p)
    events_of: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for e in events:
        obj = e.get("involvedObject") or {}
        events_of.setdefault((obj.get("namespace"), obj.get("name")), []).append(e)

    ctx = None
    version = None
    diagnosed = []
    namespaces = sorted({w["metadata"]["namespace"] for w in workflows})
    if workflows:
        args.namespaces = [*getattr(args, "namespaces", []), *namespaces]  # judged as workflow namespaces
        ctx = context(args, view)
        version = safe(lambda: ctx.version)
    for wf in workflows:
        ns, name = wf["metadata"]["namespace"], wf["metadata"]["name"]
        its_pods = pods_of.get((ns, name), [])
        its_events = [e for o in [name, *_names(its_pods)] for e in events_of.get((ns, o), [])]
        diagnosed.append((wf, its_pods, diagnosis.diagnose(wf, its_pods, its_events, version)))

    results: list[Any] = []
    ids = set().union(*(set(d.check_ids) for _, _, d in diagnosed)) if diagnosed else set()
    if ids and ctx is not None:
        from rich.console import Console

        from .common import run_checks

        checks = registry.select_checks(_with_requirements(ids))
        results = run_checks(ctx, checks, Console(stderr=True)).results

    by_namespace: dict[str | None, list[Any]] = {}
    for r in results:
        by_namespace.setdefault(r.namespace, []).append(r)
    entries = []
    for wf, its_pods, diag in diagnosed:
        ns = wf["metadata"]["namespace"]
        evidence = _evidence(by_namespace, diag, ns, its_pods)
        fixes = [f"argodoctor fix {f}" for f in dict.fromkeys(
            r.remediation for r in evidence if r.remediation and r.status.value in ("fail", "warn"))]
        if not fixes:  # nothing confirmed (a snapshot, a skipped check): the fix the cause names, if it holds
            fixes = [f"argodoctor fix {row.remediation}  (if {', '.join(row.checks)} confirms the cause: run "
                     f"argodoctor check --checks {','.join(row.checks)})"
                     for row in dict.fromkeys(s.rows[0] for s in diag.symptoms) if row.remediation]
        entries.append((wf, diag, evidence, fixes))
    doc = {"argodoctor": __import__("argodoctor").__version__, "schema": DIAGNOSE_SCHEMA, "cluster": view.name,
           "argo_version": str(version) if version else None, "generated": now.isoformat().replace("+00:00", "Z"),
           "since_s": args.since if args.failed else None, "notes": notes,
           "workflows": [{**diag.to_dict(), "evidence": [r.to_dict() for r in evidence],
                          "fix": fixes} for _, diag, evidence, fixes in entries]}
    if args.output == "json":
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    elif args.output == "yaml":
        import yaml

        sys.stdout.write(yaml.safe_dump(doc, sort_keys=False))
    else:
        _print(doc, args)
    return 1 if any(d.install_problem for _, d, _, _ in entries) else 0


def _print(doc: dict[str, Any], args: argparse.Namespace) -> None:
    from rich.console import Console

    from ..report.diagnosis import render

    render(doc, Console(highlight=False), since=args.since if args.failed else None)
