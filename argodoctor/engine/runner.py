"""Runs checks concurrently, each once the checks it `requires` are done."""
from __future__ import annotations

import logging
import threading
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from ..errors import KubeError, UserError
from .context import Context
from .model import Check, Result, Status

log = logging.getLogger("argodoctor.runner")  # the name -v prints


def _run_one(check: Check, ctx: Context, computing: threading.Lock) -> list[Result]:
    """Checks that only compute over the view take turns (computing): under the GIL several computing at
    once run no faster and thrash (half again the CPU at 2,000 namespaces). Live-only checks wait on the
    network (S3 probes, API reviews) and run beside them."""
    unread = ctx.view.unread
    why = next((unread[k] for k in check.reads if k in unread), None)
    if why:  # a kind it needs is not read (--no-secrets): no verdict, never a pass on what was not seen
        return [check.skipped(f"not judged: {why}")]
    if check.live_only:
        return _run_guarded(check, ctx) if ctx.view.live else \
            [check.skipped("needs live access to the cluster (snapshot mode)")]
    if ctx.view.live:  # wait for its LISTs before taking a turn, so checks whose lists are in compute first
        for kind in check.reads:
            try:
                ctx.view.list(kind)
            except (KubeError, UserError):
                pass  # cached: the check meets it again and reports it
    with computing:
        return _run_guarded(check, ctx)


def _run_guarded(check: Check, ctx: Context) -> list[Result]:
    blocked = ctx.blocked(check.requires, None)
    if blocked:
        return [check.skipped(blocked)]
    try:
        results = list(check.run(ctx))
    except KubeError as e:
        hint = " (see AD100)" if e.forbidden else ""
        return [check.errored(f"{check.id} could not run: {e}{hint}")]
    except Exception as e:  # a crashing check is a result, never the end of the run
        log.debug("check %s raised", check.id, exc_info=True)
        from ..s3.probes import from_probe, summary

        if from_probe(e):  # a probe's exception escaped its check: its summary only, never its text
            return [check.errored(f"{check.id} could not run: a network probe failed: {summary(e)}")]
        return [check.errored(f"{check.id} could not run: {type(e).__name__}: {e}")]
    # A dependency that failed for one namespace blocks this check's results there.
    if not check.requires:
        return results
    out = []
    reasons: dict[str, str | None] = {}  # per namespace: the required checks' results are final
    for r in results:
        if r.namespace and r.status is not Status.SKIP:
            if r.namespace not in reasons:
                reasons[r.namespace] = ctx.blocked(check.requires, r.namespace)
            reason = reasons[r.namespace]
            if reason:
                r = check.skipped(reason, namespace=r.namespace, object=r.object)
        out.append(r)
    return out


def with_requirements(check_classes: list[type[Check]]) -> dict[str, type[Check]]:
    """The checks and, transitively, the registered checks they require, by id."""
    from .registry import all_checks

    registered = {c.id: c for c in all_checks()}
    pending = {c.id: c for c in check_classes}
    stack = list(pending.values())
    while stack:
        for dep in stack.pop().requires:
            if dep not in pending and dep in registered:
                pending[dep] = registered[dep]
                stack.append(registered[dep])
    return pending


def kinds_read(check_classes: list[type[Check]]) -> list[str]:
    """Every kind the checks (and the checks they require) read, each once."""
    return list(dict.fromkeys(k for c in with_requirements(check_classes).values() for k in c.reads))


def run_checks(check_classes: list[type[Check]], ctx: Context, workers: int = 8) -> list[Result]:
    """Results in check-id order. A check runs once all the checks it requires have run;
    required checks that were not selected are run too, so their verdict is known."""
    by_id = {c.id: c for c in check_classes}
    wanted = set(by_id)
    pending = with_requirements(check_classes)
    done: dict[str, list[Result]] = {}
    # A live view lists what the checks read ahead of them, each kind once, while they run.
    wait_for_lists = ctx.view.prefetch(kinds_read(check_classes))
    if not ctx.view.live:  # nothing to wait for but the interpreter: threads only contend for it
        workers = 1
    computing = threading.Lock()
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            running: dict[Future, str] = {}
            while pending:
                # each check as soon as the checks it requires are done (a slow S3 probe holds up only its
                # dependants)
                ready = [c for cid, c in pending.items() if cid not in running.values()
                         and all(d in done or d not in pending for d in c.requires)]
                if not ready and not running:  # a cycle: run the rest anyway rather than hang
                    ready = list(pending.values())
                for c in ready:
                    running[pool.submit(_run_one, c(), ctx, computing)] = c.id
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in finished:
                    cid = running.pop(fut)
                    done[cid] = fut.result()
                    ctx.results[cid] = done[cid]  # indexed by (check, namespace) once `blocked` asks
                    del pending[cid]
    finally:
        wait_for_lists()
    held_back = malformed_results(ctx, [by_id[cid] for cid in sorted(wanted)])
    return sorted([r for cid in sorted(done) if cid in wanted for r in done[cid]] + held_back, key=lambda r: r.id)


def malformed_results(ctx: Context, checks: list[type[Check]]) -> list[Result]:
    """One `error` per object the parse boundary (argodoctor.view.shapes) held back from the checks, under
    the first selected check that reads its kind: the object and field named, never its values."""
    out = []
    for kind, bad in sorted(getattr(ctx.view, "malformed", {}).items()):
        owner = next((c for c in checks if kind in c.reads), None)
        for ns, obj, why in bad if owner else ():
            where = f" in {ns}" if ns else ""
            out.append(owner().errored(f"{obj.replace('/', ' ', 1)}{where} cannot be judged: {why}; every check "
                                       "leaves it out", namespace=ns, object=obj))
    # documents of no known kind (`kind: null`): no check reads them, so the first selected one says so
    for which, why in getattr(ctx.view, "rejected", [])[:100] if checks else ():
        out.append(checks[0]().errored(f"{which} is not read as a Kubernetes object: {why}; every check "
                                       "leaves it out"))
    return out
