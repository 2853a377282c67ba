"""AD100: can argodoctor's own identity read what the checks need?"""
from __future__ import annotations

from collections.abc import Iterable

from argodoctor.engine.context import Context
from argodoctor.engine.model import Check, Result
from argodoctor.engine.permissions import access_review, whoami
from argodoctor.view.cluster import KINDS


class DoctorPermissions(Check):
    id = "AD100"
    slug = "doctor-permissions"
    group = "doctor"
    title = "argodoctor can read what its checks need"
    live_only = True

    def run(self, ctx: Context) -> Iterable[Result]:
        from argodoctor.engine.registry import all_checks

        kube = ctx.view.kube
        needed: dict[str, list[str]] = {}  # kind -> ids of checks that read it
        for c in all_checks():
            if (c.group == "pre-install") != ctx.options.pre:
                continue
            for kind in c.reads:
                needed.setdefault(kind, []).append(c.id)
        view = ctx.view
        scoped = getattr(view, "namespaces", None)  # check --namespaced-read: asked per namespace read
        denied: dict[str, list[str]] = {}  # kind -> where it may not be listed
        for kind in sorted(k for k in needed if k not in view.unread):  # --no-secrets: not asked for
            k = KINDS[kind]
            for ns in scoped if scoped is not None and k.namespaced else ("",):
                if not access_review(kube, "list", k, ns):
                    denied.setdefault(kind, []).append(ns or "cluster-wide")
        user = whoami(kube)
        where = f"in {', '.join(scoped)} and cluster-wide" if scoped is not None else "cluster-wide"
        if not denied:
            yield self.passed(f"{user} may list every kind the checks read ({len(needed) - len(view.unread)} kinds, "
                              f"{where})", object=user)
            return
        blinded = sorted({cid for kind in denied for cid in needed[kind]})
        what = "; ".join(f"{KINDS[k].resource} {'in ' if w != ['cluster-wide'] else ''}{', '.join(w)}"
                         for k, w in denied.items())
        yield self.failed(f"{user} cannot list {what}; this blinds {', '.join(blinded)}. `argodoctor role` (with "
                          "the same --namespaced-read, --no-secrets and namespace flags) prints the roles argodoctor "
                          "needs", object=user)
