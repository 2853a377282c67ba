"""AD100: can argodoctor's own identity read what the checks need?"""
from __future__ import annotations

from collections.abc import Iterable

from argodoctor.cluster import KINDS
from argodoctor.context import Context
from argodoctor.model import Check, Result
from argodoctor.permissions import access_review, whoami


class DoctorPermissions(Check):
    id = "AD100"
    slug = "doctor-permissions"
    group = "doctor"
    title = "argodoctor can read what its checks need"
    live_only = True

    def run(self, ctx: Context) -> Iterable[Result]:
        from argodoctor.registry import all_checks

        kube = ctx.view.kube
        needed: dict[str, list[str]] = {}  # kind -> ids of checks that read it
        for c in all_checks():
            if (c.group == "pre-install") != ctx.options.pre:
                continue
            for kind in c.reads:
                needed.setdefault(kind, []).append(c.id)
        denied = [kind for kind in sorted(needed) if not access_review(kube, "list", KINDS[kind])]
        user = whoami(kube)
        if not denied:
            yield self.passed(f"{user} may list every kind the checks read ({len(needed)} kinds, cluster-wide)",
                              object=user)
            return
        blinded = sorted({cid for kind in denied for cid in needed[kind]})
        what = ", ".join(KINDS[k].resource for k in denied)
        yield self.failed(f"{user} cannot list {what} cluster-wide; this blinds {', '.join(blinded)}. "
                          "`argodoctor role` prints the ClusterRole argodoctor needs", object=user)
