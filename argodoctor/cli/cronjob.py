"""`argodoctor cronjob manifest|install|uninstall`: argodoctor as an in-cluster CronJob (the objects
themselves are argodoctor.report.cronjob's)."""
from __future__ import annotations

import argparse
import contextlib
import sys

from ..errors import UserError
from .common import connect
from .fix import PlanWriter
from .parser import build_parser


def run(args: argparse.Namespace) -> int:
    import yaml
    from rich.console import Console

    from ..engine.model import Action, Plan
    from ..fix.fixer import is_subset
    from ..report.cronjob import CronJobSpec, created_namespace, manifests, namespaced_grants, not_ours

    if not args.cronjob_command:
        raise UserError("cronjob needs a subcommand: manifest, install or uninstall")
    if args.cronjob_command != "uninstall":  # before anything is printed or written
        from ..k8s.cron_schedule import problem

        why = problem(args.schedule)
        if why:
            raise UserError(f"--schedule {args.schedule!r} is not a schedule Kubernetes accepts: {why}")
        why = _check_args_problem(args.check_args)
        if why:
            raise UserError(f"the flags after -- are not valid for `argodoctor check`: {why}")
        scoped = [a for a in args.check_args if a.split("=")[0] in ("--no-secrets", "--namespaced-read")]
        if scoped:
            raise UserError(f"{scoped[0]} decides the job's role too: give it to `cronjob {args.cronjob_command}` "
                            "before --, not after")
        if args.read_namespaces and not args.namespaced_read:
            raise UserError("--workflow-namespace goes with --namespaced-read (after --, it is check's own)")
    if args.cronjob_command == "uninstall":  # every object install may have made, the exemptions' included
        spec = CronJobSpec(namespace=args.cronjob_namespace, exemptions="# any")
    else:
        spec = CronJobSpec(namespace=args.cronjob_namespace, schedule=args.schedule, image=args.image,
                           report_to=tuple(args.report_to), events=not args.no_events,
                           push_gateway=args.push_gateway, push_job=args.push_job,
                           exemptions=_read_exemptions(args.exemptions), extra_args=tuple(args.check_args),
                           secrets=not args.no_secrets, namespaced_read=args.namespaced_read,
                           controller_namespace=args.controller_namespace,
                           workflow_namespaces=tuple(args.read_namespaces))
    objs = manifests(spec)
    if args.cronjob_command == "manifest":
        sys.stdout.write(yaml.safe_dump_all(objs, sort_keys=False))
        return 0
    from ..fix.fixer import get_live

    kube = connect(args)
    plan = Plan(f"cronjob {args.cronjob_command}")
    if args.cronjob_command == "uninstall":  # and what a --namespaced-read install put in the namespaces it read
        named = {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in objs}
        objs += [o for o in namespaced_grants(kube, spec)
                 if (o["kind"], o["metadata"]["namespace"], o["metadata"]["name"]) not in named]
    theirs = []
    for obj in objs if args.cronjob_command == "install" else reversed(objs):
        live = get_live(kube, obj)
        if args.cronjob_command == "install":
            if obj["kind"] == "Namespace":
                if live is not None:
                    continue  # an existing namespace is not claimed, so uninstall keeps it
                obj = created_namespace(obj)
            elif live is not None and not_ours(obj["kind"], live):
                meta = live["metadata"]  # someone else's object with argodoctor's name: never taken over
                theirs.append(f"{obj['kind']} {meta['namespace'] + '/' if meta.get('namespace') else ''}{meta['name']}")
                continue
            if live is None or not is_subset(obj, live):
                plan.actions.append(Action(obj, live, "argodoctor's scheduled checks"))
        elif live is not None:  # uninstall: only what install made (its label; a Namespace it created)
            why = not_ours(obj["kind"], live)
            if why:
                plan.notes.append(why)
            else:
                plan.actions.append(Action(obj, live, "installed by argodoctor cronjob install" + (
                    ", with everything in it" if obj["kind"] == "Namespace" else ""), delete=True))
    if theirs:  # binding argodoctor's reader role to someone else's ServiceAccount, writing into their objects
        raise UserError(f"cronjob install would take over what argodoctor did not make ({', '.join(theirs)}: no "
                        "app.kubernetes.io/managed-by: argodoctor); choose another --cronjob-namespace, or remove them")
    out = Console(highlight=False)
    writer = PlanWriter(kube, args, out)
    writer.run(plan, plan.remediation)
    writer.finish()
    return 1 if writer.failures else 0


def _check_args_problem(extra: list[str]) -> str | None:
    """What argparse would say about `argodoctor check EXTRA`, or None when it parses."""
    import io

    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            build_parser().parse_args(["check", *extra])
    except SystemExit:
        lines = err.getvalue().strip().splitlines()
        return lines[-1].split("error: ", 1)[-1] if lines else "they do not parse"
    return None


def _read_exemptions(path: str | None) -> str:
    """The text of an exemptions file for the CronJob's ConfigMap, validated as `check --config` would."""
    if not path:
        return ""
    from ..engine.exemptions import load_config

    load_config(path)
    with open(path, encoding="utf-8") as f:
        return f.read()
