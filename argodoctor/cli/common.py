"""What the commands share: the connection, the check context and run, output of reports and documents,
and the process-level economies of a large run (no cyclic collection, nothing freed one by one at exit)."""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import json
import sys
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..errors import KubeError, UserError

if TYPE_CHECKING:
    from rich.console import Console

    from ..engine.context import Context
    from ..report.report import Report
    from ..view.cluster import ClusterView
    from ..view.kube import Kube


def connect(args: argparse.Namespace) -> Kube:
    from ..view.kube import Kube

    kube = Kube(args.kubeconfig, args.context, timeout=(5.0, args.request_timeout), as_user=args.as_user,
                as_groups=tuple(args.as_groups))
    try:
        info = kube.request("GET", "/version")
    except KubeError as e:
        raise UserError(str(e)) from None
    from ..view.kube import chunk_for

    chunk = getattr(args, "chunk_size", None)
    kube.list_chunk = chunk_for(info) if chunk is None else chunk
    return kube


def context(args: argparse.Namespace, view: ClusterView) -> Context:
    from ..engine.context import Context, Options

    return Context(view, Options(namespaces=tuple(getattr(args, "namespaces", ())),
                                 argo_version=getattr(args, "argo_version", None),
                                 controller_namespace=args.controller_namespace,
                                 backup_dir=getattr(args, "backup_dir", None), s3_endpoint=args.s3_endpoint,
                                 s3_connect_timeout=args.s3_connect_timeout,
                                 s3_read_timeout=args.s3_read_timeout,
                                 object_store_namespace=getattr(args, "object_store_namespace", None),
                                 minio_image=getattr(args, "minio_image", None),
                                 storage_size=getattr(args, "storage_size", None),
                                 bucket=getattr(args, "bucket", None),
                                 manifests=getattr(args, "manifests", None),
                                 install_version=getattr(args, "install_version", None),
                                 pre=getattr(args, "pre", False),
                                 namespaced=getattr(args, "namespaced_install", False)))


def run_checks(ctx: Context, checks: list, console: Console) -> Report:
    from ..engine.runner import run_checks
    from ..report.report import Report

    started = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    t0 = time.monotonic()
    if console.is_terminal:
        with console.status("running checks..."):
            results = run_checks(checks, ctx)
    else:
        results = run_checks(checks, ctx)
    version = str(ctx.version) if safe(lambda: ctx.version) else None
    return Report(ctx.view.name, version, started.isoformat().replace("+00:00", "Z"),
                  time.monotonic() - t0, results)


def namespaces_exist(view: ClusterView, names: list[str]) -> None:
    """-n / --workflow-namespace must name namespaces that exist: a typo is an error, never findings
    about a namespace nobody made. Unknowable (no Namespaces readable or in the snapshot): not judged."""
    if not names:
        return
    try:
        known = {(ns.get("metadata") or {}).get("name") for ns in view.list("Namespace")}
    except KubeError:
        return
    missing = [n for n in dict.fromkeys(names) if n not in known]
    if known and missing:
        import difflib

        close = difflib.get_close_matches(missing[0], [k for k in known if k], n=1)
        hint = f" (did you mean {close[0]}?)" if close else " (`kubectl get namespaces` lists them)"
        raise UserError(f"namespace {', '.join(missing)} does not exist{hint}")


def safe(fn):
    try:
        return fn()
    except KubeError:
        return None


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """No cyclic garbage collection while a run builds hundreds of thousands of long-lived dicts (objects,
    results): each collection walks the young objects again, and the run makes almost no cycles (JSON and
    YAML documents are trees), so collecting costs a tenth of the run and frees nothing (peak RSS is the
    same with it off: bench/scale.py). Reference counting still frees everything else."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if PARKED is not None:  # the run's objects stay until the process ends: no collection walks them
            gc.freeze()
        if enabled:
            gc.enable()


# What a run built (objects, results), kept until the process ends when argodoctor runs as a command:
# freeing hundreds of thousands of dicts one by one takes a tenth of a large run, and the operating system
# takes them back at once. None in-process (tests, library use): there they are freed as usual.
PARKED: list[Any] | None = None


def emit(report: Report, fmt: str, stream, history: list | None = None, doc: dict | None = None,
          show_passed: bool = True) -> None:
    """Writes the report as fmt; doc: report.to_dict(), when the caller has it already."""
    from rich.console import Console

    from ..report.report import print_table, write_json

    if fmt in ("table", "wide"):
        print_table(report, Console(file=stream, highlight=False), compact=fmt == "table" and not show_passed)
    elif fmt == "json":  # streamed, result by result
        write_json(doc if doc is not None else report.to_dict(lazy=True), stream)
    else:
        from ..report.formats import render  # (its XML and HTML modules cost start-up the table does not need)

        stream.write(render(report, fmt, history=history))


def write_doc(doc: object, fmt: str) -> None:
    """A document on stdout as json or yaml (`list -o`, `role -o`)."""
    if fmt == "json":
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        import yaml

        sys.stdout.write(yaml.safe_dump(doc, sort_keys=False))
