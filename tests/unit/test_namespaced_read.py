"""check --namespaced-read sees only the namespaces it reads: an object it lacks in another namespace may
exist, so it is no verdict (skip), never a false fail (issue 31 item 4)."""
from __future__ import annotations

import copy

from argodoctor.engine.registry import select_checks
from argodoctor.engine.runner import run_checks
from argodoctor.view.cluster import LiveView

from .builders import SEED_REPO, context, controller, controller_configmap, secret, workflow


def _run(ids: list[str], read: tuple[str, ...] | None, *objects):
    ctx = context(*objects)
    if read is not None:  # the view as --namespaced-read makes it: these namespaces and nothing else
        ctx.view.namespaces = read
        ctx.view.unseen = lambda ns: LiveView.unseen(ctx.view, ns)
    return {(r.id, r.namespace): r for r in run_checks(select_checks(ids), ctx)}


def test_live_view_knows_which_namespaces_it_does_not_see():
    view = LiveView.__new__(LiveView)
    view.namespaces = ("argo", "team-a")
    assert view.unseen("argo") is None and view.unseen("team-a") is None and view.unseen("") is None
    assert "namespace store is not read" in view.unseen("store")
    view.namespaces = None  # cluster-wide: every namespace is seen
    assert view.unseen("store") is None


def test_a_service_in_a_namespace_not_read_is_no_verdict():
    repo = copy.deepcopy(SEED_REPO)
    repo["s3"]["endpoint"] = "minio.store.svc:9000"
    objects = (controller(), controller_configmap(repo=repo), secret("minio", "argo", accesskey="a", secretkey="s"),
               secret("minio", "team-a", accesskey="a", secretkey="s"), workflow("team-a"))
    whole = _run(["AD501"], None, *objects)[("AD501", "team-a")]
    assert whole.status == "fail" and "does not exist" in whole.message  # seen whole: truly absent
    r = _run(["AD501"], ("argo", "team-a"), *objects)[("AD501", "team-a")]
    assert r.status == "skip" and "namespace store is not read" in r.message, r.message


def test_a_controller_outside_the_namespaces_read_is_no_verdict():
    # the controller runs in a namespace not read (argo-system): the view holds no Deployment at all
    objects = (workflow("team-a"),)
    assert _run(["AD102"], None, *objects)[("AD102", "argo")].status == "fail"  # seen whole: truly absent
    r = _run(["AD102"], ("argo", "team-a"), *objects)[("AD102", "argo")]
    assert r.status == "skip" and "--namespaced-read" in r.message, r.message
