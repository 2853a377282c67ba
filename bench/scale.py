#!/usr/bin/env python3
"""Benchmark of argodoctor at scale (issue 11; not a test: it prints figures).

Starts the real control plane of the test harness (etcd + kube-apiserver, audit log on), installs
Argo v3.7.18 (cluster-install) with the seed's artifact repository, and fills it with N workflow
namespaces, each with 2 ServiceAccounts, 1 Secret, 2 RoleBindings and 5 Workflows. Then, per N:

  floor       the same LIST pages argodoctor reads (same kinds, same chunks: whole lists on this
              Kubernetes), replayed with urllib3 and json.loads, with the same client certificate
  check       `argodoctor check` wall time (a subprocess, default table output, all checks)
  ratio       check / floor
  requests    API requests of that check run, counted from the apiserver's audit log
  peak RSS    the check subprocess's maximum resident set (getrusage of the child)
  snapshot    `argodoctor snapshot -o DIR` wall time and the size of DIR
  check --snapshot   `argodoctor check --snapshot DIR` wall time and peak RSS

and finally a synthetic 100k-object snapshot (the same objects, written straight to files):
`check --snapshot` time and peak RSS for JSON and for YAML.

Usage (from the repository root; the binaries come from tests/controlplane/build.sh):
  .venv/bin/python bench/scale.py                      # N = 500, 2000, 5000
  .venv/bin/python bench/scale.py --big                # and 10000
  .venv/bin/python bench/scale.py --sizes 50,200       # other sizes
  .venv/bin/python bench/scale.py --synthetic-only     # just the 100k-object snapshot (no control plane)
  .venv/bin/python bench/scale.py --sizes 2000 --popeye build   # side by side with popeye v0.22.1
  .venv/bin/python bench/scale.py --diagnose 1000      # diagnose --failed over 1,000 failed Workflows only

--diagnose N (issue 25): on a control plane of its own, N/5 namespaces each with N/(N/5) failed Workflows
(a status as the controller writes it, a node message naming a missing Secret key), a pod per Workflow
and a Warning Event per pod; `diagnose --failed -o json` at N/2 and N: wall time, API requests (audit
log: one LIST per kind, whatever N) and the time ratio (linear: about 2x for 2x the Workflows).
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# As the tests find them: ARGODOCTOR_MANIFESTS, else ../shared beside the checkout, else the workplace's copy.
MANIFESTS = Path(os.environ.get("ARGODOCTOR_MANIFESTS") or next(
    (c for c in (ROOT.parent / "shared" / "argo-manifests", Path("/work/shared/argo-manifests")) if c.is_dir()),
    ROOT.parent / "shared" / "argo-manifests"))
ARGO_VERSION = "v3.7.18"
RBAC = "rbac.authorization.k8s.io"
PER_NAMESPACE = 11  # Namespace, 2 ServiceAccounts, 1 Secret, 2 RoleBindings, 5 Workflows
WORKFLOW_ROLE = "argo-workflow-role"

SEED_REPOSITORY = """\
archiveLogs: true
s3:
  bucket: argo-bucket
  endpoint: minio:9000
  insecure: true
  accessKeySecret:
    name: minio
    key: accesskey
  secretKeySecret:
    name: minio
    key: secretkey
"""


# ---------------------------------------------------------------- the cluster of the issue

def _b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def install_objects() -> list[dict[str, Any]]:
    """Argo's cluster-install into `argo`, its ConfigMap with the seed's artifact repository, the
    repository's Secret and Service, and the ClusterRole the workflow service accounts are bound to."""
    from argodoctor import argo
    from argodoctor.fix.manifests import load_manifests, modernize

    docs, _ = modernize(load_manifests((MANIFESTS / ARGO_VERSION / "cluster-install.yaml").read_text()))
    out = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "argo"}}]
    for d in docs:
        if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "workflow-controller-configmap":
            d = dict(d, data={"artifactRepository": SEED_REPOSITORY})
        if d["kind"] not in ("CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding", "PriorityClass"):
            d = dict(d, metadata=dict(d["metadata"], namespace=d["metadata"].get("namespace") or "argo"))
        out.append(d)
    out += [
        {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": {"name": "minio", "namespace": "argo"},
         "data": {"accesskey": _b64("admin"), "secretkey": _b64("password")}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "minio", "namespace": "argo"},
         "spec": {"selector": {"app": "minio"}, "ports": [{"name": "http", "port": 9000, "targetPort": 9000}]}},
        {"apiVersion": f"{RBAC}/v1", "kind": "ClusterRole", "metadata": {"name": WORKFLOW_ROLE},
         "rules": argo.minimal_role_rules(list(argo.TASK_RESULTS))},
    ]
    return out


def namespace_name(i: int) -> str:
    return f"team-{i:05d}"


def namespace_objects(i: int) -> list[dict[str, Any]]:
    """One workflow namespace: 2 ServiceAccounts, 1 Secret, 2 RoleBindings, 5 Workflows."""
    ns = namespace_name(i)
    objs: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": ns}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "runner", "namespace": ns}},
        {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": {"name": "minio", "namespace": ns},
         "data": {"accesskey": _b64("admin"), "secretkey": _b64(f"password-{i}")}},
        {"apiVersion": f"{RBAC}/v1", "kind": "RoleBinding", "metadata": {"name": "runner-workflow", "namespace": ns},
         "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": WORKFLOW_ROLE},
         "subjects": [{"kind": "ServiceAccount", "name": "runner", "namespace": ns}]},
        {"apiVersion": f"{RBAC}/v1", "kind": "RoleBinding", "metadata": {"name": "viewers", "namespace": ns},
         "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "view"},
         "subjects": [{"kind": "Group", "name": f"team-{i % 10}", "apiGroup": RBAC}]},
    ]
    for w in range(5):
        sa = "runner" if w < 3 else "default"  # the `default` ones have no rights: a failing AD3xx per namespace
        objs.append({"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
                     "metadata": {"name": f"wf-{w}", "namespace": ns},
                     "spec": {"entrypoint": "main", "serviceAccountName": sa, "templates": [{
                         "name": "main", "container": {"image": "alpine:3.20", "command": ["sh", "-c", "echo hi"]},
                         "outputs": {"artifacts": [{"name": "out", "path": "/tmp/out.txt"}]}}]}})
    return objs


def synthetic_objects(n: int) -> list[dict[str, Any]]:
    """The cluster's objects as a snapshot holds them, without a control plane: the install (CRDs
    Established, the controller Available) and n workflow namespaces."""
    out = []
    for d in install_objects():
        d = json.loads(json.dumps(d))
        if d["kind"] == "CustomResourceDefinition":
            d["status"] = {"conditions": [{"type": "Established", "status": "True"}]}
        elif d["kind"] == "Deployment":
            d["status"] = {"replicas": 1, "availableReplicas": 1,
                           "conditions": [{"type": "Available", "status": "True"}]}
        out.append(d)
    for i in range(n):
        out += namespace_objects(i)
    return out


def write_synthetic_snapshot(out_dir: Path, n: int, fmt: str = "json") -> int:
    """Writes the synthetic cluster of n namespaces as a snapshot (through argodoctor's own writer)."""
    from argodoctor.view.cluster import SnapshotView, write_snapshot

    objs = synthetic_objects(n)
    write_snapshot(SnapshotView("synthetic", objs), str(out_dir), fmt=fmt)
    return len(objs)


# ---------------------------------------------------------------- talking to the apiserver

class Api:
    """A bare client with the kubeconfig's client certificate: urllib3 and json, nothing else."""

    def __init__(self, kubeconfig: Path, pool: int = 16):
        import urllib3
        import yaml

        cfg = yaml.safe_load(Path(kubeconfig).read_text())
        cluster, user = cfg["clusters"][0]["cluster"], cfg["users"][0]["user"]
        self.url = cluster["server"]
        self.http = urllib3.PoolManager(maxsize=pool, cert_reqs="CERT_REQUIRED",
                                        ca_certs=cluster["certificate-authority"],
                                        cert_file=user["client-certificate"], key_file=user["client-key"],
                                        timeout=urllib3.Timeout(connect=5, read=60), retries=False)

    def request(self, method: str, path: str, body: Any = None, fields: dict | None = None) -> tuple[int, bytes]:
        r = self.http.request(method, self.url + path, fields=fields,
                              body=json.dumps(body).encode() if body is not None else None,
                              headers={"Accept": "application/json", "Content-Type": "application/json"})
        return r.status, r.data

    def create(self, obj: dict[str, Any]) -> None:
        from argodoctor.view.cluster import KINDS

        kind = KINDS[obj["kind"]]
        status, data = self.request("POST", kind.path(obj["metadata"].get("namespace")), obj)
        if status not in (200, 201, 409):  # 409: there already (a re-run)
            raise RuntimeError(f"create {obj['kind']} {obj['metadata']}: HTTP {status} {data[:300]!r}")

    def count(self, path: str) -> int:
        """How many objects a LIST would return (a one-object page and its remainingItemCount)."""
        status, data = self.request("GET", path, fields={"limit": "1"})
        if status != 200:
            return 0
        page = json.loads(data)
        return len(page.get("items") or []) + ((page.get("metadata") or {}).get("remainingItemCount") or 0)

    def list_pages(self, path: str, limit: int = 500) -> int:
        """Every page of a LIST (limit 0: one, the whole list), parsed with json.loads; returns the number of
        pages."""
        pages, cont = 0, None
        while True:
            fields = {**({"limit": str(limit)} if limit else {}), **({"continue": cont} if cont else {})}
            status, data = self.request("GET", path, fields=fields)
            if status == 404:
                return pages
            if status != 200:
                raise RuntimeError(f"LIST {path}: HTTP {status}")
            page = json.loads(data)
            pages += 1
            cont = (page.get("metadata") or {}).get("continue")
            if not cont:
                return pages


def fill(api: Api, start: int, stop: int, workers: int = 16) -> None:
    def one(i: int) -> None:
        for obj in namespace_objects(i):
            api.create(obj)
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, range(start, stop)))


def floor(api: Api) -> tuple[float, int]:
    """The LIST pages argodoctor reads (every kind of its view, cluster-wide, in the chunks argodoctor
    chooses for this server: kube.chunk_for), replayed one after the other with urllib3 and json.loads:
    (seconds, pages)."""
    from argodoctor.view.cluster import KINDS
    from argodoctor.view.kube import chunk_for

    chunk = chunk_for(json.loads(api.request("GET", "/version")[1]))
    t0 = time.perf_counter()
    pages = sum(api.list_pages(k.path(), chunk) for k in KINDS.values())
    return time.perf_counter() - t0, pages


# ---------------------------------------------------------------- measuring argodoctor

# Bytecode caching on, as in an installed wheel (a development shell may turn it off).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run(argv: list[str], stdout: Any = subprocess.DEVNULL) -> tuple[float, float, int]:
    """(wall seconds, peak RSS in MiB, exit code) of a subprocess. The peak comes from GNU time when
    there is one: a child forked straight from this (large) process inherits its high-water mark."""
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        timer = ["/usr/bin/time", "-f", "%M", "-o", rss.name] if os.access("/usr/bin/time", os.X_OK) else []
        t0 = time.perf_counter()
        proc = subprocess.Popen(timer + argv, stdout=stdout, stderr=subprocess.PIPE, cwd=ROOT, env=ENV)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        if proc.returncode not in (0, 1):
            raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}: {err[-2000:]}")
        peak_kib = usage.ru_maxrss
        if timer:
            lines = [x for x in rss.read().split() if x.isdigit()]
            peak_kib = int(lines[-1]) if lines else peak_kib
    return wall, peak_kib / 1024, proc.returncode


def argodoctor(*args: str) -> list[str]:
    return [sys.executable, "-m", "argodoctor", *args]


def startup(runs: int = 10) -> dict[str, float]:
    """Median wall seconds of `python -c pass`, `argodoctor --help` and `argodoctor list` (the installed
    script), bytecode caching on as in an installed wheel, after one warm-up run of each."""
    script = Path(sys.executable).with_name("argodoctor")
    base = [str(script)] if script.exists() else argodoctor()
    medians = {}
    for name, argv in (("python -c pass", [sys.executable, "-c", "pass"]), ("argodoctor --help", [*base, "--help"]),
                       ("argodoctor list", [*base, "list"])):
        times = []
        for _ in range(runs + 1):
            t0 = time.perf_counter()
            subprocess.run(argv, env=ENV, stdout=subprocess.DEVNULL, check=True, cwd=ROOT)
            times.append(time.perf_counter() - t0)
        medians[name] = sorted(times[1:])[runs // 2]
    return medians


def print_startup(medians: dict[str, float], out: Any = sys.stdout) -> None:
    goal = 2 * medians["python -c pass"] + 0.1
    print("start-up (median of 10): " + "; ".join(f"`{k}` {v * 1000:.0f} ms" for k, v in medians.items())
          + f"; goal <= 2x `python -c pass` + 100 ms = {goal * 1000:.0f} ms", file=out, flush=True)


def best(runs: list[tuple[float, float, int]]) -> tuple[float, float]:
    """The median wall time of the runs and the largest peak RSS."""
    walls = sorted(r[0] for r in runs)
    return walls[len(walls) // 2], max(r[1] for r in runs)


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.iterdir() if p.is_file())


def measure(cp: Any, api: Api, kubeconfig: str, n: int, work: Path, repeat: int,
            popeye: str | None) -> dict[str, Any]:
    row: dict[str, Any] = {"N": n}
    from argodoctor.view.cluster import KINDS

    row["objects"] = sum(api.count(k.path()) for k in KINDS.values())

    # The first run after the fill: its requests are counted, its time is not (a warm-up of both sides).
    mark = cp.audit_log.stat().st_size  # the log is large by now: read only what this run adds to it
    with open(work / f"check-{n}.txt", "wb") as out:
        first = run(argodoctor("check", "--kubeconfig", kubeconfig), stdout=out)
    with open(cp.audit_log, "rb") as log:
        log.seek(mark)
        events = [json.loads(line) for line in log if line.strip()]
    row["requests"] = len({e["auditID"] for e in events if e.get("user", {}).get("username") == "admin"})
    # The floor and `check` in pairs, one after the other: the machine's speed drifts by a quarter or more
    # over minutes, and drift between two separate series would show in their ratio.
    floors, runs = [], []
    for _ in range(repeat):
        floors.append(floor(api))
        runs.append(run(argodoctor("check", "--kubeconfig", kubeconfig)))
    row["floor"] = sorted(f[0] for f in floors)[len(floors) // 2]
    row["pages"] = floors[0][1]
    row["check"], row["rss"] = best(runs)
    row["rss"] = max(row["rss"], first[1])
    row["ratio"] = row["check"] / row["floor"]
    # Side by side with popeye: paired runs, one of each in turn, same cluster, same output format.
    ours, theirs = [], []
    for _ in range(repeat):
        ours.append(run(argodoctor("check", "--kubeconfig", kubeconfig, "-o", "json")))
        if popeye:
            theirs.append(run([popeye, "-A", "-o", "json", "--kubeconfig", kubeconfig]))
    row["check_json"], row["rss_json"] = best(ours)
    if popeye:
        row["popeye"], row["rss_popeye"] = best(theirs)
    snap = work / f"snap-{n}"
    snaps = []
    for _ in range(repeat):
        shutil.rmtree(snap, ignore_errors=True)
        snaps.append(run(argodoctor("snapshot", "-o", str(snap), "--kubeconfig", kubeconfig)))
    row["snapshot"], row["rss_snapshot"] = best(snaps)
    row["snapshot_mib"] = dir_size(snap) / 2**20
    row["check_snap"], row["rss_check_snap"] = best([run(argodoctor("check", "--snapshot", str(snap)))
                                                     for _ in range(repeat)])
    shutil.rmtree(snap, ignore_errors=True)
    return row


def synthetic(work: Path, objects: int, repeat: int) -> list[dict[str, Any]]:
    rows = []
    n = -(-(objects - len(install_objects())) // PER_NAMESPACE)
    for fmt in ("json", "yaml"):
        snap = work / f"synthetic-{fmt}"
        t0 = time.perf_counter()
        count = write_synthetic_snapshot(snap, n, fmt)
        written = time.perf_counter() - t0
        wall, rss = best([run(argodoctor("check", "--snapshot", str(snap))) for _ in range(repeat)])
        rows.append({"format": fmt, "N": n, "objects": count, "mib": dir_size(snap) / 2**20,
                     "write": written, "check": wall, "rss": rss})
        shutil.rmtree(snap, ignore_errors=True)
    return rows


# ---------------------------------------------------------------- output

def machine() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{os.cpu_count()} cores{' ' + cpu if cpu else ''}, {mem:.0f} GiB RAM, {platform.system()} "
            f"{platform.release()}, Python {platform.python_version()}")


def print_rows(rows: list[dict[str, Any]], out: Any = sys.stdout) -> None:
    popeye = any("popeye" in r for r in rows)
    head = ("| N | objects | floor | `check` | ratio | `check -o json` | requests | peak RSS |"
            + (" `popeye -A -o json` |" if popeye else "")
            + " `snapshot` (peak RSS) | size | `check --snapshot` (peak RSS) |")
    print(head, file=out)
    print("|" + "---:|" * (head.count("|") - 1), file=out)
    for r in rows:
        print(f"| {r['N']:,} | {r['objects'] / 1000:.1f}k | {r['floor']:.2f} s | {r['check']:.2f} s | "
              f"{r['ratio']:.1f}x | {r['check_json']:.2f} s | {r['requests']} | {r['rss']:.0f} MiB |"
              + (f" {r['popeye']:.2f} s ({r['rss_popeye']:.0f} MiB) |" if popeye else "")
              + f" {r['snapshot']:.2f} s ({r['rss_snapshot']:.0f} MiB) | {r['snapshot_mib']:.1f} MiB | "
              f"{r['check_snap']:.2f} s ({r['rss_check_snap']:.0f} MiB) |", file=out, flush=True)


def print_synthetic(rows: list[dict[str, Any]], out: Any = sys.stdout) -> None:
    print("\n| synthetic snapshot | objects | size | written in | `check --snapshot` | peak RSS |", file=out)
    print("|---|---:|---:|---:|---:|---:|", file=out)
    for r in rows:
        print(f"| {r['format']} ({r['N']:,} namespaces) | {r['objects']:,} | {r['mib']:.0f} MiB | "
              f"{r['write']:.1f} s | {r['check']:.2f} s | {r['rss']:.0f} MiB |", file=out, flush=True)


def bench(sizes: list[int], *, repeat: int = 3, synthetic_objects: int = 100_000, popeye: str | None = None,
          keep: bool = False, out: Any = sys.stdout) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Runs the benchmark and prints its tables to out; returns (rows per N, synthetic rows)."""
    from tests import harness

    print(f"machine: {machine()}", file=out, flush=True)
    print_startup(startup(), out)
    work = harness.make_workdir()
    rows: list[dict[str, Any]] = []
    synthetic_rows: list[dict[str, Any]] = []
    try:
        if sizes:
            bin_dir = harness.build_servers()
            cp = harness.ControlPlane(bin_dir, work / "cp")
            cp.start()
            try:
                kc = str(cp.kubeconfig())
                from argodoctor.fix.manifests import apply_manifests
                from argodoctor.view.kube import Kube

                apply_manifests(Kube(kc), install_objects())
                api = Api(Path(kc))
                print(f"control plane: {cp.version()}; Argo {ARGO_VERSION} cluster-install; per namespace: "
                      "2 ServiceAccounts, 1 Secret, 2 RoleBindings, 5 Workflows", file=out, flush=True)
                filled = 0
                for n in sizes:
                    t0 = time.perf_counter()
                    fill(api, filled, n)
                    filled = n
                    print(f"# filled {n:,} namespaces in {time.perf_counter() - t0:.0f} s", file=sys.stderr,
                          flush=True)
                    rows.append(measure(cp, api, kc, n, work, repeat, popeye))
                    print(f"# {rows[-1]}", file=sys.stderr, flush=True)
            finally:
                cp.stop()
            print_rows(rows, out)
            for a, b in zip(rows, rows[1:], strict=False):
                print(f"time(N={b['N']:,}) / time(N={a['N']:,}) = {b['check'] / a['check']:.2f} "
                      f"for {b['N'] / a['N']:.1f}x the namespaces", file=out)
        if synthetic_objects:
            synthetic_rows = synthetic(work, synthetic_objects, repeat)
            print_synthetic(synthetic_rows, out)
    finally:
        if keep:
            print(f"work directory: {work}", file=sys.stderr)
        else:
            harness.remove_workdir(work)
    return rows, synthetic_rows


def _failed_objects(i: int, per_namespace: int) -> list[dict[str, Any]]:
    """Namespace i of the diagnose benchmark: its default SA, and per_namespace failed Workflows, each with a
    pod (its status is the kubelet's to write: Pending here) and a Warning Event on that pod."""
    ns = f"diag-{i:04d}"
    objs: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": ns}}]
    message = "wait: Error (exit code 64): open /argo/secret/minio/accesskey: no such file or directory"
    for j in range(per_namespace):
        name = f"wf-{j}"
        objs.append({"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
                     "metadata": {"name": name, "namespace": ns},
                     "spec": {"entrypoint": "main", "templates": [{"name": "main", "container": {"image": "alpine"}}]},
                     "status": {"phase": "Error", "message": message, "finishedAt": time.strftime(
                         "%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "nodes": {
                         f"{name}-{k}": {"id": f"{name}-{k}", "name": f"{name}.s{k}", "type": "Pod",
                                         "phase": "Error" if k == 0 else "Succeeded",
                                         "message": message if k == 0 else ""} for k in range(20)}}})
        objs.append({"apiVersion": "v1", "kind": "Pod", "metadata": {
            "name": f"{name}-pod", "namespace": ns, "labels": {"workflows.argoproj.io/workflow": name}},
            "spec": {"containers": [{"name": "main", "image": "alpine"}]}})
        objs.append({"apiVersion": "v1", "kind": "Event", "metadata": {"name": f"{name}-pod.1", "namespace": ns},
                     "type": "Warning", "reason": "FailedMount",
                     "message": 'MountVolume.SetUp failed for volume "minio" : secret "minio" not found',
                     "involvedObject": {"kind": "Pod", "name": f"{name}-pod", "namespace": ns}})
    return objs


def bench_diagnose(total: int, repeat: int, out: Any = sys.stdout) -> list[dict[str, Any]]:
    """diagnose --failed at total/2 and total failed Workflows (5 per namespace)."""
    from argodoctor.fix.manifests import apply_manifests
    from argodoctor.view.kube import Kube
    from tests import harness

    work = harness.make_workdir()
    rows = []
    try:
        cp = harness.ControlPlane(harness.build_servers(), work / "cp")
        cp.start()
        try:
            kc = str(cp.kubeconfig())
            apply_manifests(Kube(kc), install_objects())
            api = Api(Path(kc))
            per, filled = 5, 0
            for n in (total // 2, total):
                with ThreadPoolExecutor(16) as pool:
                    list(pool.map(lambda i: [api.create(o) for o in _failed_objects(i, per)],
                                  range(filled // per, n // per)))
                filled = n
                mark = cp.audit_log.stat().st_size
                run(argodoctor("diagnose", "--failed", "-o", "json", "--kubeconfig", kc))
                with open(cp.audit_log, "rb") as log:
                    log.seek(mark)
                    events = [json.loads(line) for line in log if line.strip()]
                requests = len({e["auditID"] for e in events if e.get("user", {}).get("username") == "admin"})
                wall, rss = best([run(argodoctor("diagnose", "--failed", "-o", "json", "--kubeconfig", kc))
                                  for _ in range(repeat)])
                rows.append({"workflows": n, "namespaces": n // per, "requests": requests, "wall": wall, "rss": rss})
        finally:
            cp.stop()
    finally:
        harness.remove_workdir(work)
    print("\ndiagnose --failed -o json (each Workflow failed, with a pod and a Warning Event)", file=out)
    print(f"{'workflows':>10} {'namespaces':>10} {'requests':>9} {'wall s':>7} {'peak MiB':>9}", file=out)
    for r in rows:
        print(f"{r['workflows']:>10,} {r['namespaces']:>10,} {r['requests']:>9} {r['wall']:>7.2f} {r['rss']:>9.0f}",
              file=out)
    if len(rows) == 2:
        print(f"time({rows[1]['workflows']:,}) / time({rows[0]['workflows']:,}) = "
              f"{rows[1]['wall'] / rows[0]['wall']:.2f} for 2x the Workflows", file=out)
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", help="comma-separated N (default 500,2000,5000; with --big also 10000)")
    p.add_argument("--big", action="store_true", help="also N = 10,000")
    p.add_argument("--repeat", type=int, default=3, help="runs of each measurement (median wall, max RSS; "
                   "default 3)")
    p.add_argument("--synthetic-objects", type=int, default=100_000,
                   help="objects of the synthetic snapshot (default 100000; 0 skips it)")
    p.add_argument("--synthetic-only", action="store_true", help="only the synthetic snapshot")
    p.add_argument("--popeye", metavar="BINARY|build",
                   help="also time `popeye -A -o json` on the same cluster, paired with `check -o json`; "
                        "`build` builds popeye v0.22.1 from the Go module proxy (bench/popeye/build.sh, cached)")
    p.add_argument("--keep", action="store_true", help="keep the work directory (outputs, audit log)")
    p.add_argument("--diagnose", type=int, metavar="N",
                   help="only `diagnose --failed` over N/2 and N failed Workflows (5 per namespace)")
    args = p.parse_args(argv)
    if args.diagnose:
        bench_diagnose(args.diagnose, args.repeat)
        return 0
    if args.popeye == "build":
        built = subprocess.run(["bash", str(ROOT / "bench" / "popeye" / "build.sh")], check=True,
                               stdout=subprocess.PIPE, text=True)
        args.popeye = built.stdout.strip().splitlines()[-1]
    sizes = sorted({int(s) for s in args.sizes.split(",")}) if args.sizes else [500, 2000, 5000]
    if args.big and not args.sizes:
        sizes.append(10_000)
    bench([] if args.synthetic_only else sizes, repeat=args.repeat, synthetic_objects=args.synthetic_objects,
          popeye=args.popeye, keep=args.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
