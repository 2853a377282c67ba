"""The workflow archive (AD701): the controller config's `persistence` block, judged as the controller
reads it (argo/archive.py), and the Secrets it names, which must be in the controller's namespace."""
from __future__ import annotations

from collections.abc import Iterable

from argodoctor.argo import archive
from argodoctor.engine.context import Context
from argodoctor.engine.model import Check, Result


class ArchiveConfig(Check):
    id = "AD701"
    slug = "archive-config"
    group = "archive"
    title = "the persistence block (workflow archive, node status offload) is one the controller can use"
    reads = ("Deployment", "ConfigMap", "Secret")

    def run(self, ctx: Context) -> Iterable[Result]:
        c, config = ctx.controller, ctx.config
        persistence = config.settings.get("persistence")
        obj = f"ConfigMap/{c.configmap_name}"
        if persistence is None:
            yield self.skipped("no persistence block: no archive, no node status offload", namespace=c.namespace,
                               object=obj)
            return
        problems, warnings, needs = archive.persistence_problems(persistence, ctx.version)
        if ctx.version is not None and not ctx.version.at_least(*archive.JUDGED_SINCE):
            yield self.skipped(f"Argo {ctx.version} reads persistence differently; judged from v3.4",
                               namespace=c.namespace, object=obj)
            return
        where = config.source("persistence")
        for n in needs:
            secret = ctx.view.get("Secret", c.namespace, n.name) if "Secret" not in ctx.view.unread else None
            if "Secret" in ctx.view.unread:
                warnings.append(f"{n.field} names Secret {n.name}: not read (--no-secrets)")
            elif secret is None:
                problems.append(f"{n.field} names Secret {n.name}, which the controller's namespace {c.namespace} "
                                "does not hold: the controller reads it there and does not start")
            elif n.key not in (secret.get("data") or {}):
                problems.append(f"{n.field}: Secret {c.namespace}/{n.name} lacks key {n.key}")
        if problems:
            yield self.failed(f"{where}: {'; '.join(problems + warnings)}", namespace=c.namespace, object=obj)
        elif warnings:
            yield self.warned(f"{where}: {'; '.join(warnings)}", namespace=c.namespace, object=obj)
        else:
            yield self.passed(f"{where}: the persistence block is complete and its Secrets are in {c.namespace}",
                              namespace=c.namespace, object=obj)
