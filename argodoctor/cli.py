"""The argodoctor command line: check, fix, list, snapshot, role."""
from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
import time

import yaml
from rich.console import Console

from . import __version__, registry
from .cluster import ClusterView, LiveView, SnapshotView, write_snapshot
from .context import Context, Options
from .errors import ApplyError, KubeError, UserError
from .kube import Kube
from .report import Report, print_table, to_json
from .runner import run_checks

EPILOG_CHECK = """\
exit codes: 0 nothing failed, 1 a check failed or could not run (or warned,
with --fail-on warn), 2 usage, connection or configuration error.

examples:
  argodoctor check                          # the current kubeconfig context
  argodoctor check -n team-a -n team-b      # also treat these as workflow namespaces
  argodoctor check --checks 'AD2*' -o json  # artifact checks, machine-readable
  argodoctor check --snapshot examples/seed-broken
"""

EPILOG_FIX = """\
Remediations run in the catalog's order whatever order they are given in. Each
one plans first and shows its plan as a diff; it writes only after you confirm
(or with --yes), by server-side apply with field manager `argodoctor`. The live
before-image of every object it changes goes to a backup file whose path is
printed. Afterwards the checks it targets run again.

examples:
  argodoctor fix --all --dry-run            # show every planned change, write nothing
  argodoctor fix copy-artifact-secret --yes
  argodoctor fix AD203                      # the remediation named by check AD203
"""


def _add_cluster_flags(p: argparse.ArgumentParser, snapshot: bool = True) -> None:
    g = p.add_argument_group("cluster")
    g.add_argument("--kubeconfig", metavar="FILE",
                   help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster config)")
    g.add_argument("--context", help="kubeconfig context to use (default: its current context)")
    if snapshot:
        g.add_argument("--snapshot", metavar="PATH",
                       help="read objects from a file or directory of YAML/JSON instead of a cluster "
                            "(live-only checks report skip)")
    g.add_argument("--request-timeout", type=float, default=30.0, metavar="SECONDS",
                   help="read timeout of each API request (default 30; connecting times out after 5)")
    a = p.add_argument_group("argo")
    a.add_argument("-n", "--namespace", dest="namespaces", action="append", default=[], metavar="NS",
                   help="also treat NS as a workflow namespace (repeatable)")
    a.add_argument("--argo-version", metavar="VERSION",
                   help="Argo version to judge by, e.g. v3.5.15 (default: the controller image's tag)")
    a.add_argument("--controller-namespace", metavar="NS",
                   help="where the workflow-controller runs when it cannot be found (default: argo)")
    o = p.add_argument_group("object store")
    o.add_argument("--s3-endpoint", metavar="HOST:PORT",
                   help="reach the artifact repository's S3 store at HOST:PORT instead of its configured "
                        "endpoint (default: the endpoint itself, or a port-forward to the in-cluster "
                        "Service's pod when running outside the cluster)")
    o.add_argument("--s3-connect-timeout", type=float, default=3.0, metavar="SECONDS",
                   help="connect timeout of each S3 request (default 3)")
    o.add_argument("--s3-read-timeout", type=float, default=10.0, metavar="SECONDS",
                   help="read timeout of each S3 request (default 10)")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="argodoctor",
        description="Diagnose and repair Argo Workflows installations: the artifact repository, "
                    "its secrets and bucket, workflow service accounts and RBAC, the executor.",
        epilog="Run `argodoctor COMMAND --help` for each command's flags. Check ids and what they "
               "mean: `argodoctor list` and docs/checks.md.")
    p.add_argument("--version", action="version", version=f"argodoctor {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="log API requests and internals to stderr")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    c = sub.add_parser("check", help="run the checks and report", description="Run the checks against "
                       "a cluster or a snapshot and report one line per result.", epilog=EPILOG_CHECK,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_cluster_flags(c)
    c.add_argument("--checks", metavar="IDS", help="comma-separated check ids, slugs or globs (e.g. AD203,'AD1*')")
    c.add_argument("-o", "--output", choices=["table", "json"], default="table",
                   help="table (default, for people) or json (the catalog's schema, nothing else on stdout)")
    c.add_argument("--fail-on", choices=["fail", "warn"], default="fail",
                   help="exit 1 on failures only (default) or on warnings too")

    f = sub.add_parser("fix", help="plan and apply remediations", description="Repair what the checks "
                       "found, or install from scratch with --all.", epilog=EPILOG_FIX,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    f.add_argument("ids", nargs="*", metavar="ID", help="remediation ids (or check ids, for their remediation)")
    f.add_argument("--all", action="store_true", help="every remediation, in the catalog's order")
    f.add_argument("--dry-run", action="store_true", help="show the plan as a diff and write nothing")
    f.add_argument("-y", "--yes", action="store_true", help="apply without asking")
    f.add_argument("--allow-destructive", action="store_true",
                   help="allow remediations that delete or narrow what exists (replace-broad-binding); "
                        "--all includes them only with this flag")
    f.add_argument("--backup-dir", metavar="DIR",
                   help="where before-images go (default: $XDG_STATE_HOME/argodoctor/backups)")
    _add_cluster_flags(f, snapshot=False)
    i = f.add_argument_group("install-argo")
    i.add_argument("--manifests", metavar="FILE|DIR",
                   help="install manifests to apply (a file, or a directory holding cluster-install.yaml / "
                        "namespace-install.yaml), for air-gapped clusters (default: download the release's)")
    i.add_argument("--install-version", metavar="VERSION",
                   help="Argo version to install when none is installed (default: v3.7.18)")
    i.add_argument("--namespaced-install", action="store_true",
                   help="install the namespace-scoped flavour (the controller watches only its namespace)")
    d = f.add_argument_group("deploy-object-store / configure-artifact-repository")
    d.add_argument("--object-store-namespace", metavar="NS",
                   help="where deploy-object-store puts MinIO when no repository names one "
                        "(default: the controller's namespace)")
    d.add_argument("--minio-image", metavar="IMAGE", help="MinIO image to deploy (default: a pinned release)")
    d.add_argument("--storage-size", metavar="SIZE", help="size of MinIO's PersistentVolumeClaim (default: 10Gi)")
    d.add_argument("--bucket", metavar="NAME",
                   help="bucket of a newly written artifactRepository (default: argo-artifacts)")

    sub.add_parser("list", help="list every check and remediation",
                   description="Every check and remediation with id, slug, group and description.")

    s = sub.add_parser("snapshot", help="save a cluster's relevant objects to files",
                       description="Write the objects the checks read to DIR/<Kind>.yaml, with every "
                                   "Secret value replaced by a digest (empty values stay empty), so the "
                                   "snapshot can be shared and checked with `check --snapshot DIR`.")
    s.add_argument("-o", "--output-dir", required=True, metavar="DIR", help="directory to write")
    _add_cluster_flags(s, snapshot=False)

    sub.add_parser("role", help="print the ClusterRole argodoctor needs to read a cluster",
                   description="Print a ClusterRole (YAML) granting get/list/watch on every kind the "
                               "checks read; bind it to the identity argodoctor runs as.")
    return p


def _kube(args: argparse.Namespace) -> Kube:
    kube = Kube(args.kubeconfig, args.context, timeout=(5.0, args.request_timeout))
    try:
        kube.request("GET", "/version")
    except KubeError as e:
        raise UserError(str(e)) from None
    return kube


def _context(args: argparse.Namespace, view: ClusterView) -> Context:
    return Context(view, Options(namespaces=tuple(args.namespaces), argo_version=args.argo_version,
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
                                 namespaced=getattr(args, "namespaced_install", False)))


def _run(ctx: Context, checks: list, console: Console) -> Report:
    started = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    t0 = time.monotonic()
    if console.is_terminal:
        with console.status("running checks..."):
            results = run_checks(checks, ctx)
    else:
        results = run_checks(checks, ctx)
    version = str(ctx.version) if _safe(lambda: ctx.version) else None
    return Report(ctx.view.name, version, started.isoformat().replace("+00:00", "Z"),
                  time.monotonic() - t0, results)


def _safe(fn):
    try:
        return fn()
    except KubeError:
        return None


def cmd_check(args: argparse.Namespace) -> int:
    patterns = [p.strip() for p in args.checks.split(",") if p.strip()] if args.checks else None
    checks = registry.select_checks(patterns)
    view: ClusterView = SnapshotView(args.snapshot) if args.snapshot else LiveView(_kube(args))
    ctx = _context(args, view)
    err = Console(stderr=True)
    report = _run(ctx, checks, err)
    if args.output == "json":
        sys.stdout.write(to_json(report))
    else:
        print_table(report, Console(highlight=False))
    return report.exit_code(args.fail_on)


def _confirm(question: str) -> bool:
    if not sys.stdin.isatty():
        raise UserError("refusing to write without confirmation: re-run with --yes "
                        "(or --dry-run to only see the plan)")
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


def cmd_fix(args: argparse.Namespace) -> int:
    from .fixer import Applier, render_plan

    if args.all == bool(args.ids):
        raise UserError("name the remediations to run, or pass --all (see `argodoctor list`)")
    ids = [r.id for r in registry.all_remediations()] if args.all else _remediation_ids(args.ids)
    rems = registry.select_remediations(ids)
    blocked = [r.id for r in rems if r.destructive and not args.allow_destructive]
    if blocked and not args.all:
        raise UserError(f"{', '.join(blocked)} removes what exists (its before-image lets you restore it): "
                        "re-run with --allow-destructive")
    rems = [r for r in rems if r.id not in blocked]
    kube = _kube(args)
    ctx = _context(args, LiveView(kube))
    out = Console(highlight=False)
    applier = None
    failures = 0
    targeted: list[str] = []
    for rem_cls in rems:
        rem = rem_cls()
        targeted += rem.fixes
        plan = rem.plan(ctx)
        if not plan.actions:
            out.print(f"[bold]{rem.id}[/]: nothing to do" + (f" ({len(plan.notes)} notes)" if plan.notes else ""))
            for note in plan.notes:
                out.print(f"  note: {note}", markup=False)
            continue
        out.print(f"[bold]{rem.id}[/]: {len(plan.actions)} change(s)")
        out.print(render_plan(plan), markup=False, highlight=False)
        if args.dry_run:
            continue
        if not args.yes and not _confirm(f"apply {len(plan.actions)} change(s) of {rem.id}?"):
            out.print("skipped")
            continue
        applier = applier or Applier(kube, args.backup_dir)
        for action in plan.actions:
            try:
                applier.apply(action)
            except (ApplyError, KubeError) as e:
                out.print(f"  failed: {action.describe()}: {e}", markup=False)
                failures += 1
                break  # the rest of this remediation builds on it
            out.print(f"  applied: {action.describe()}", markup=False)
        ctx.reset()  # later remediations plan against the cluster as it now is
    if args.dry_run:
        out.print("dry run: nothing was written")
        return 0
    if applier:
        out.print(f"before-images saved to {applier.backup_path}", markup=False)
    else:
        out.print("nothing was written")
    if not targeted:
        return 0
    ctx.reset()
    checks = registry.select_checks(sorted(set(targeted)))
    report = _run(ctx, checks, Console(stderr=True))
    out.print("\n[bold]re-check[/]")
    print_table(report, out)
    return 1 if failures else report.exit_code("fail")


def _remediation_ids(ids: list[str]) -> list[str]:
    """Remediation ids as given; a check id stands for the remediation it names."""
    checks = {c.id: c for c in registry.all_checks()}
    out = []
    for i in ids:
        check = checks.get(i.upper())
        if check is not None:
            if not check.remediation:
                raise UserError(f"check {check.id} has no remediation: its message says what to do")
            out.append(check.remediation)
        else:
            out.append(i)
    return out


def cmd_list(args: argparse.Namespace) -> int:
    out = Console(highlight=False)
    out.print("[bold]checks[/]")
    for c in registry.all_checks():
        fix = f" (fix: {c.remediation})" if c.remediation else ""
        out.print(f"  {c.id}  {c.slug:34} {c.group:12} {c.title}{fix}", markup=False, soft_wrap=True)
    out.print("\n[bold]remediations[/] (in `fix --all` order)")
    for r in registry.all_remediations():
        out.print(f"  {r.id:34} fixes {','.join(r.fixes):12} {r.title}", markup=False, soft_wrap=True)
    return 0


def cmd_snapshot(args: argparse.Namespace) -> int:
    view = LiveView(_kube(args))
    counts = write_snapshot(view, args.output_dir)
    total = sum(n for n in counts.values() if n > 0)
    print(f"wrote {total} objects of {sum(1 for n in counts.values() if n >= 0)} kinds to {args.output_dir} "
          "(secret values replaced by digests)", file=sys.stderr)
    return 0 if all(n >= 0 for n in counts.values()) else 1


def cmd_role(args: argparse.Namespace) -> int:
    from .permissions import reader_cluster_role

    sys.stdout.write(yaml.safe_dump(reader_cluster_role(), sort_keys=False))
    return 0


COMMANDS = {"check": cmd_check, "fix": cmd_fix, "list": cmd_list, "snapshot": cmd_snapshot, "role": cmd_role}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help(sys.stderr)
        return 2
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return COMMANDS[args.command](args)
    except UserError as e:
        print(f"argodoctor: {e}", file=sys.stderr)
        return 2
    except KubeError as e:
        print(f"argodoctor: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("argodoctor: interrupted", file=sys.stderr)
        return 130

