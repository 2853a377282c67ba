"""`argodoctor fix`: plan each remediation, show the plan as a diff, apply it when confirmed, and re-run
the checks it targets. PlanWriter is shared with `cronjob install|uninstall`."""
from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from ..engine import registry
from ..errors import ApplyError, KubeError, UserError
from .common import connect, context, namespaces_exist, run_checks
from .options import DIFF_LINES

if TYPE_CHECKING:
    from rich.console import Console

    from ..engine.context import Context
    from ..view.kube import Kube




def _confirm(question: str) -> bool:
    if not sys.stdin.isatty():
        raise UserError("refusing to write without confirmation: re-run with --yes "
                        "(or --dry-run to only see the plan)")
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


class PlanWriter:
    """Shows plans as diffs and applies them (unless --dry-run; asking unless --yes), sharing one
    backup file for the before-images of everything written in this command."""

    def __init__(self, kube: Kube, args: argparse.Namespace, out: Console):
        self.kube, self.args, self.out = kube, args, out
        self.applier = None
        self.failures = 0
        self._target: str | None = None

    @property
    def target(self) -> str:
        """Where the writes go, for the plan header and the prompt: context, server and the identity the API
        server sees (impersonation included)."""
        if self._target is None:
            from ..engine.permissions import whoami

            self._target = f"context {self.kube.name} (server {self.kube.host}) as {whoami(self.kube)}"
        return self._target

    def run(self, plan, title: str) -> bool:
        """Returns True when it wrote something."""
        from ..fix.fixer import Applier, preflight, render_plan

        out = self.out
        if not plan.actions:
            out.print(f"[bold]{title}[/]: nothing to do" + (f" ({len(plan.notes)} notes)" if plan.notes else ""))
            for note in plan.notes:
                out.print(f"  note: {note}", markup=False)
            return False
        from rich.markup import escape

        out.print(f"[bold]{title}[/]: {len(plan.actions)} change(s) to {escape(self.target)}")
        full = getattr(self.args, "full_diff", False)
        out.print(render_plan(plan, None if full else DIFF_LINES), markup=False, highlight=False)
        force = getattr(self.args, "force_conflicts", False)
        if not force:
            from ..fix.gitops import managed_notes

            held = managed_notes(plan.actions)
            if held:
                for note in held:
                    out.print(f"  held: {note}", markup=False)
                out.print(f"  {title} is not applied (--force-conflicts patches it anyway)", markup=False)
                self.failures += 1
                return False
        else:
            out.print("  --force-conflicts: fields other managers own are taken, and Helm or Argo CD may set "
                      "them back", style="bold yellow")
        dry_run = self.args.dry_run  # None, "client", "server" (cronjob's --dry-run: True)
        if dry_run and dry_run != "server":
            return False
        question = f"apply {len(plan.actions)} change(s) of {title} to {self.target}?"
        if not dry_run and not self.args.yes and not _confirm(question):
            out.print("skipped")
            return False
        refused = preflight(self.kube, plan.actions, force)
        for problem in refused:
            out.print(f"  refused by the API server: {problem}", markup=False)
        if refused:
            out.print(f"  nothing of {title} was written", markup=False)
            self.failures += 1
            return False
        if dry_run == "server":
            out.print(f"  server dry run: the API server accepts all {len(plan.actions)} change(s)", markup=False)
            return False
        self.applier = self.applier or Applier(self.kube, getattr(self.args, "backup_dir", None), force)
        for action in plan.actions:
            try:
                self.applier.apply(action)
            except (ApplyError, KubeError) as e:
                out.print(f"  failed: {action.describe()}: {e}", markup=False)
                self.failures += 1
                break  # the rest of this plan builds on it
            out.print(f"  applied: {action.describe()}", markup=False)
        return True

    def finish(self) -> None:
        if self.args.dry_run:
            self.out.print("dry run: nothing was written")
        elif self.applier:
            self.out.print(f"before-images saved to {self.applier.backup_path}", markup=False)
        else:
            self.out.print("nothing was written")


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from ..report.report import print_table
    from ..view.cluster import LiveView

    if args.all == bool(args.ids):
        raise UserError("name the remediations to run, or pass --all (see `argodoctor list`)")
    ids = [r.id for r in registry.all_remediations()] if args.all else remediation_ids(args.ids)
    rems = registry.select_remediations(ids)
    blocked = [r.id for r in rems if r.destructive and not args.allow_destructive]
    if blocked and not args.all:
        raise UserError(f"{', '.join(blocked)} removes what exists (its before-image lets you restore it): "
                        "re-run with --allow-destructive")
    rems = [r for r in rems if r.id not in blocked]
    kube = connect(args)
    view = LiveView(kube)
    namespaces_exist(view, args.namespaces)
    ctx = context(args, view)
    if args.output == "yaml":
        return _fix_manifests(rems, ctx)
    out = Console(highlight=False)
    writer = PlanWriter(kube, args, out)
    if args.dry_run and len(rems) > 1:
        out.print("dry run: each remediation is planned against the cluster as it is now; once earlier ones "
                  "have applied, later ones may find more to do", markup=False)
    from ..fix.fixer import plan_each

    targeted = plan_each(rems, ctx, writer.run, dry_run=args.dry_run)
    writer.finish()
    if args.dry_run or not targeted:
        return 1 if writer.failures else 0
    ctx.reset()
    checks = registry.select_checks(sorted(set(targeted)))
    report = run_checks(ctx, checks, Console(stderr=True))
    out.print("\n[bold]re-check[/]")
    print_table(report, out)
    return 1 if writer.failures else report.exit_code("fail")


def _fix_manifests(rems: list, ctx: Context) -> int:
    """fix -o yaml: every plan's objects as manifests to commit (GitOps), applied nowhere."""
    import yaml

    from ..fix.gitops import manifests

    chunks = ["# argodoctor fix -o yaml: the planned objects, to commit where this cluster's manifests live.\n"
              "# Each remediation is planned against the cluster as it is now; nothing was applied.\n"]
    planned: dict = {}
    for rem_cls in rems:
        rem = rem_cls()
        plan = rem.plan(ctx).once(planned)
        chunks.append(f"# --- {rem.id}: {len(plan.actions)} change(s)\n")
        chunks += [f"# note: {' '.join(note.split())}\n" for note in plan.notes]
        for doc in manifests(plan.actions):
            chunks.append(f"{doc}\n" if isinstance(doc, str) else "---\n" + yaml.safe_dump(doc, sort_keys=False))
    sys.stdout.write("".join(chunks))
    return 0


def remediation_ids(ids: list[str]) -> list[str]:
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
