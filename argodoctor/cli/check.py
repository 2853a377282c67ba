"""`argodoctor check`: run the checks against a cluster, a snapshot or files (-f), and report."""
from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import TYPE_CHECKING, Any

from ..engine import registry
from ..errors import KubeError, UserError
from . import common
from .common import connect, context, emit, fewer_collections, namespaces_exist, run_checks

if TYPE_CHECKING:
    from ..report.report import Report
    from ..view.cluster import ClusterView


def run(args: argparse.Namespace) -> int:
    with fewer_collections():
        return _check(args)


def _check(args: argparse.Namespace) -> int:
    from ..engine import exemptions
    from ..engine.runner import kinds_read
    from ..report import sinks
    from ..view.cluster import LiveView, SnapshotView

    patterns = [p.strip() for p in args.checks.split(",") if p.strip()] if args.checks else None
    checks = registry.select_checks(patterns, pre=args.pre)
    config = exemptions.load_config(args.config)
    destinations = [sinks.parse_sink(u) for u in args.report_to]
    for d in destinations:  # before the run: a long check must not end in a failed write
        if d.scheme == "file":
            sinks.writable(d.target, "--report-to file://")
    if args.output_file:
        sinks.writable(args.output_file, "--output-file")
    if (destinations and any(d.scheme != "file" for d in destinations) or args.events) and args.snapshot:
        raise UserError("--report-to configmap:// or s3:// and --events need a live cluster, not --snapshot")
    if args.docs_url:
        from ..engine.model import set_docs_url

        set_docs_url(args.docs_url)
    manifests = None
    if args.filenames:
        view, manifests = _manifest_view(args)
    else:
        if args.offline or args.apply_namespace:
            raise UserError("--offline and --apply-namespace go with -f FILE")
        view = SnapshotView(args.snapshot) if args.snapshot else LiveView(connect(args))
    _read_scope(args, view)
    # The API server lists while the rest of argodoctor is imported (the runner asks for nothing twice).
    view.prefetch(kinds_read(checks))
    from rich.console import Console

    namespaces_exist(view, [*args.only_namespaces, *args.namespaces])
    ctx = context(args, view)
    report = run_checks(ctx, checks, Console(stderr=True))
    if manifests is not None:
        _locate(report.results, manifests)
    if args.only_namespaces:  # -n: those namespaces and what is cluster-wide, in every output and the exit code
        scope = set(args.only_namespaces)
        report.results = [r for r in report.results if r.namespace is None or r.namespace in scope]
    if manifests is None and not args.pre:
        _attach_symptoms(report, view, ctx, args.since)
    used: set[int] = set()
    report.results = exemptions.apply(report.results, config, view, annotations=not args.no_annotation_exemptions,
                                      used=used)
    for warning in exemptions.config_warnings(config, used, [c.id for c in registry.all_checks()],
                                              [c.id for c in checks]):
        print(f"argodoctor: warning: {warning}", file=sys.stderr)
    # The report's JSON form, built only when something needs it (at scale it is a dict per result).
    doc = report.to_dict() if destinations or args.events else None
    if common.PARKED is not None:
        common.PARKED.extend((view, ctx, report, report.results, doc))
    history = None
    if doc is not None and (destinations or args.events):
        history = sinks.store(ctx, destinations, doc, events=args.events, s3_secret=args.report_s3_secret)
    shown, shown_doc = report, doc
    if args.only:  # what is printed; stored reports, metrics and the exit code keep every result
        shown = dataclasses.replace(report, results=[r for r in report.results if r.status.value in args.only])
        shown_doc = None
    show_passed = args.show == "passed"
    if args.output_file:
        with open(args.output_file, "w", encoding="utf-8") as f:
            emit(shown, args.output, f, history, shown_doc, show_passed)
        print(f"wrote {args.output} report to {args.output_file}", file=sys.stderr)
    else:
        emit(shown, args.output, sys.stdout, history, shown_doc, show_passed)
    code = report.exit_code(args.fail_on)
    if args.push_gateway:
        try:
            _push_metrics(report, args.push_gateway, args.push_job, args.request_timeout)
        except (OSError, ValueError) as e:  # urllib's errors, timeouts included, are OSErrors
            # After every other output is written; exit 2 unless the checks already exit non-zero.
            print(f"argodoctor: pushing metrics to {args.push_gateway} failed: "
                  f"{' '.join(str(e).split())}", file=sys.stderr)
            return code or 2
    return code


def _manifest_view(args: argparse.Namespace) -> tuple[ClusterView, Any]:
    """check -f: the files' objects, overlaid on the live cluster or (--offline) alone."""
    from ..view import manifest_input

    if args.snapshot:
        raise UserError("-f and --snapshot cannot go together: -f judges files to apply, --snapshot a saved state")
    if args.offline:
        manifests = manifest_input.read(args.filenames, args.apply_namespace or "default")
        return manifest_input.offline_view(manifests), manifests
    try:
        kube = connect(args)
    except UserError as e:
        raise UserError(f"{e}; to judge the files alone, without a cluster, add --offline") from None
    manifests = manifest_input.read(args.filenames, args.apply_namespace or kube.namespace or "default")
    return manifest_input.OverlayView(kube, manifests), manifests


NO_SECRETS = ("argodoctor reads no Secret (--no-secrets, a role without Secret access); this check needs a "
              "Secret's keys or contents")


def _read_scope(args: argparse.Namespace, view: ClusterView) -> None:
    """check --no-secrets / --namespaced-read: what the view may read (the role `argodoctor role` prints for
    the same flags)."""
    if args.no_secrets:
        if any(u.startswith("s3://") for u in args.report_to):
            raise UserError("--report-to s3:// reads the store's keys from a Secret; --no-secrets reads none")
        view.unread["Secret"] = NO_SECRETS
    if args.namespaced_read:
        from ..argo import DEFAULT_CONTROLLER_NAMESPACE

        if not view.live:
            raise UserError("--namespaced-read chooses what to read from a live cluster: not with --snapshot or "
                            "--offline")
        view.namespaces = (args.controller_namespace or DEFAULT_CONTROLLER_NAMESPACE, *args.only_namespaces,
                           *args.namespaces)


def _locate(results: list, manifests: Any) -> None:
    """Each result about an object of the files names its file and line."""
    from ..view.cluster import KINDS

    for r in results:
        kind, _, name = (r.object or "").partition("/")
        if name and kind in KINDS:
            r.location = manifests.location(kind, r.namespace if KINDS[kind].namespaced else None, name, r.pointer)


def _attach_symptoms(report: Report, view: ClusterView, ctx: Any, since: float) -> None:
    """Each failing result names the Workflows of the last `since` seconds that its cause explains (from the
    Workflows the checks already read: no extra request)."""
    import datetime as dt

    from ..engine.diagnosis import attach_symptoms

    try:
        workflows = view.list("Workflow")
    except (KubeError, UserError):
        return  # unreadable: the checks that read Workflows say so
    version = common.safe(lambda: ctx.version)
    attach_symptoms(report.results, workflows, since, dt.datetime.now(dt.timezone.utc), version)


def _push_metrics(report: Report, gateway: str, job: str, timeout: float) -> None:
    """PUTs exactly what `-o prometheus` renders to a Pushgateway, as the group job=JOB, cluster=CLUSTER."""
    from prometheus_client import CollectorRegistry, push_to_gateway
    from prometheus_client.parser import text_string_to_metric_families

    from ..report.formats import render_prometheus

    text = render_prometheus(report)

    class Rendered:
        def collect(self):
            return text_string_to_metric_families(text)

    registry = CollectorRegistry(auto_describe=False)
    registry.register(Rendered())
    push_to_gateway(gateway, job=job, registry=registry, grouping_key={"cluster": report.cluster}, timeout=timeout)
