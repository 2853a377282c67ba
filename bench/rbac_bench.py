#!/usr/bin/env python3
"""Benchmark of the RBAC checks at scale (not a test: it prints figures).

Starts the real control plane of the test harness, fills it with N workflow namespaces (each with a
ServiceAccount, two RoleBindings and a Workflow), then measures, for each N:
  - argodoctor check --checks 'AD3*': API requests made and wall time (in-process, same code path);
  - a naive baseline: one SubjectAccessReview per namespace, service account and required verb.

Usage (from the repository root, after `bash tests/run.sh` or tests/controlplane/build.sh):
  .venv/bin/python bench/rbac_bench.py            # N = 100 and 1000
  .venv/bin/python bench/rbac_bench.py 50 200     # other sizes
"""
from __future__ import annotations

import os
import resource
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from argodoctor import argo  # noqa: E402
from argodoctor.engine.context import Context  # noqa: E402
from argodoctor.engine.model import Status  # noqa: E402
from argodoctor.engine.registry import select_checks  # noqa: E402
from argodoctor.engine.runner import run_checks  # noqa: E402
from argodoctor.fix.manifests import apply_manifests, load_manifests  # noqa: E402
from argodoctor.view.cluster import LiveView  # noqa: E402
from argodoctor.view.kube import Kube  # noqa: E402
from tests import harness  # noqa: E402

RBAC = "rbac.authorization.k8s.io"
MANIFESTS = Path(os.environ.get("ARGODOCTOR_MANIFESTS") or next(
    (c for c in (ROOT.parent / "shared" / "argo-manifests", Path("/work/shared/argo-manifests")) if c.is_dir()),
    ROOT.parent / "shared" / "argo-manifests"))


def namespace_objects(i: int) -> list[dict]:
    ns = f"bench-{i:05d}"
    sa = "runner"
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": sa, "namespace": ns}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": ns}},
        {"apiVersion": f"{RBAC}/v1", "kind": "RoleBinding",
         "metadata": {"name": f"{sa}-argo-workflow", "namespace": ns},
         "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "argo-workflow-role"},
         "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": ns}]},
        {"apiVersion": f"{RBAC}/v1", "kind": "RoleBinding", "metadata": {"name": "viewers", "namespace": ns},
         "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "view"},
         "subjects": [{"kind": "Group", "name": f"team-{i % 10}", "apiGroup": RBAC}]},
        {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "w", "namespace": ns},
         "spec": {"entrypoint": "m", "serviceAccountName": sa,
                  "templates": [{"name": "m", "container": {"image": "alpine"}}]}},
    ]


def fill(kube: Kube, start: int, stop: int) -> None:
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: apply_manifests(kube, namespace_objects(i)), range(start, stop)))


def run_argodoctor(kubeconfig: str) -> tuple[int, int, float, dict]:
    kube = Kube(kubeconfig)
    view = LiveView(kube)
    t0 = time.perf_counter()
    results = run_checks(select_checks(["AD3*"]), Context(view))
    wall = time.perf_counter() - t0
    counts = {s.value: sum(r.status == s for r in results) for s in Status}
    return view.lists, sum(kube.requests.values()), wall, counts


def run_naive(kubeconfig: str) -> tuple[int, float]:
    """What a tool without a local evaluator does: list what it must, then ask the authorizer per verb."""
    kube = Kube(kubeconfig)
    t0 = time.perf_counter()
    view = LiveView(kube)
    ctx = Context(view)
    perms = ctx.executor_permissions
    for ns, sas in ctx.identities.executors.items():
        for sa in sas:
            for p in perms:
                body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": {
                    "user": f"system:serviceaccount:{ns}:{sa}",
                    "groups": ["system:serviceaccounts", f"system:serviceaccounts:{ns}", "system:authenticated"],
                    "resourceAttributes": {"verb": p.verb, "group": p.group, "resource": p.resource,
                                           "subresource": p.subresource, "namespace": ns}}}
                kube.request("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", body=body)
    return sum(kube.requests.values()), time.perf_counter() - t0


def main(sizes: list[int]) -> None:
    bin_dir = harness.build_servers()
    work = harness.make_workdir()
    cp = harness.ControlPlane(bin_dir, work / "cp")
    cp.start()
    try:
        kc = str(cp.kubeconfig())
        admin = Kube(kc)
        apply_manifests(admin, [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "argo"}}])
        apply_manifests(admin, load_manifests((MANIFESTS / "v3.7.18" / "cluster-install.yaml").read_text()),
                        namespace="argo")
        apply_manifests(admin, [{"apiVersion": f"{RBAC}/v1", "kind": "ClusterRole",
                                 "metadata": {"name": "argo-workflow-role"},
                                 "rules": argo.minimal_role_rules(list(argo.TASK_RESULTS))}])
        print(f"control plane: {cp.version()}; Argo v3.7.18 cluster-install")
        print(f"{'N':>6} {'tool':>10} {'LISTs':>6} {'requests':>9} {'wall s':>8}  results")
        filled = 0
        for n in sorted(sizes):
            t0 = time.perf_counter()
            fill(admin, filled, n)
            filled = n
            print(f"# filled {n} namespaces ({6 * n} objects) in {time.perf_counter() - t0:.1f}s")
            lists, reqs, wall, counts = run_argodoctor(kc)
            print(f"{n:>6} {'argodoctor':>10} {lists:>6} {reqs:>9} {wall:>8.2f}  {counts}")
            reqs, wall = run_naive(kc)
            print(f"{n:>6} {'naive SAR':>10} {'':>6} {reqs:>9} {wall:>8.2f}")
        print("LISTs = kinds listed (once each); requests = HTTP requests in all (LIST pages of 500 objects)")
        print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    finally:
        cp.stop()
        harness.remove_workdir(work)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [100, 1000])
