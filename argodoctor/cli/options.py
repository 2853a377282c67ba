"""Flags several commands share, and the argument types that turn text into values (argparse turns their
ValueError into a usage error that names the type)."""
from __future__ import annotations

import argparse
from typing import Any

DIFF_LINES = 40  # per object, in plans, unless --full-diff


def add_connection_flags(g: Any, default: Any) -> None:
    """--kubeconfig, --context, --as, --as-group: on the top-level parser (default None) and again on each
    command that connects (default SUPPRESS, so a value given before the command is kept)."""
    g.add_argument("--kubeconfig", metavar="FILE", default=default,
                   help="kubeconfig file (default: the files of $KUBECONFIG, merged as kubectl merges them, "
                        "else ~/.kube/config, else the in-cluster config)")
    g.add_argument("--context", default=default, help="kubeconfig context to use (default: its current context)")
    g.add_argument("--as", dest="as_user", metavar="USER", default=default,
                   help="impersonate USER, e.g. system:serviceaccount:argodoctor:argodoctor to see what the "
                        "CronJob sees (needs the impersonate verb)")
    g.add_argument("--as-group", dest="as_groups", metavar="GROUP", action="append",
                   default=[] if default is None else default, help="impersonate GROUP too (repeatable; with --as)")


def add_global_flags(p: argparse.ArgumentParser, default: Any) -> None:
    p.add_argument("-v", "--verbose", action="store_true", default=default,
                   help="log API requests and internals to stderr")
    p.add_argument("--no-color", action="store_true", default=default,
                   help="no colours, even on a terminal (as NO_COLOR=1)")


def add_cluster_flags(p: argparse.ArgumentParser, snapshot: bool = True, argo: bool = True,
                       scope: bool = False, title: str = "cluster") -> None:
    """Connection flags; with argo, also the Argo and object-store flags that checks and fixes use; with
    scope, -n / -A (check)."""
    g = p.add_argument_group(title)
    add_connection_flags(g, argparse.SUPPRESS)
    if snapshot:
        g.add_argument("--snapshot", metavar="PATH",
                       help="read objects from a file or directory of YAML/JSON instead of a cluster "
                            "(live-only checks report skip)")
    g.add_argument("--request-timeout", type=duration, default=30.0, metavar="DURATION",
                   help="read timeout of each API request, as kubectl takes it: 30s, 1m, 500ms or seconds "
                        "(default 30s; connecting times out after 5s)")
    g.add_argument("--chunk-size", type=chunk_size, metavar="N",
                   help="read each kind in LIST pages of N objects, as kubectl's --chunk-size; 0 reads each "
                        "kind whole (default: whole from Kubernetes 1.33, whose API server serves a whole list "
                        "from its cache, streamed; else 500)")
    if not argo:
        return
    a = p.add_argument_group("argo")
    if scope:
        a.add_argument("-n", "--namespace", dest="only_namespaces", action="append", default=[], metavar="NS",
                       help="report only on NS (repeatable) and on what is cluster-wide (the controller, "
                            "CRDs, bindings); the kubeconfig context's namespace plays no part: like "
                            "`kubectl get -A`, every workflow namespace is checked unless -n is given")
        a.add_argument("-A", "--all-namespaces", action="store_true",
                       help="every workflow namespace (the default; the opposite of -n)")
    a.add_argument("--workflow-namespace", dest="namespaces", action="append", default=[], metavar="NS",
                   help="also treat NS as a workflow namespace though it holds no workflow objects yet "
                        "(repeatable)")
    a.add_argument("--argo-version", metavar="VERSION",
                   help="Argo version to judge by, e.g. v3.5.15 (default: the controller image's tag)")
    a.add_argument("--controller-namespace", metavar="NS",
                   help="where the workflow-controller runs when it cannot be found (default: argo)")
    add_s3_flags(p.add_argument_group("object store"))


def add_access_flags(g: Any) -> None:
    """check's and role's: what argodoctor reads, so the role printed is the role that run needs."""
    g.add_argument("--namespaced-read", action="store_true",
                   help="read namespaced objects only in the controller's namespace (--controller-namespace, "
                        "default argo) and the namespaces named by --workflow-namespace and -n, one LIST per "
                        "kind and namespace, instead of cluster-wide; objects elsewhere (a Service, Secret or "
                        "binding in another namespace) are not seen. For a role of Roles in those namespaces "
                        "(`argodoctor role --namespaced-read ...`)")
    g.add_argument("--no-secrets", action="store_true",
                   help="read no Secret: the checks that need one (AD203, AD204-AD208, AD304) report skip, "
                        "never pass. For a role without Secret access (`argodoctor role --no-secrets`)")


def add_s3_flags(o: Any) -> None:
    o.add_argument("--s3-endpoint", metavar="HOST:PORT",
                   help="reach the artifact repository's S3 store at HOST:PORT instead of its configured "
                        "endpoint (default: the endpoint itself, or a port-forward to the in-cluster "
                        "Service's pod when running outside the cluster)")
    o.add_argument("--s3-connect-timeout", type=float, default=3.0, metavar="SECONDS",
                   help="connect timeout of each S3 request (default 3)")
    o.add_argument("--s3-read-timeout", type=float, default=10.0, metavar="SECONDS",
                   help="read timeout of each S3 request (default 10)")


STATUS_WORDS = {"pass": "pass", "passed": "pass", "warn": "warn", "warning": "warn", "warnings": "warn",
                 "fail": "fail", "failed": "fail", "skip": "skip", "skipped": "skip", "error": "error",
                 "errors": "error"}


def statuses(text: str) -> frozenset[str]:
    """--only failed,warn -> {"fail", "warn"} (argparse turns the ValueError into a usage error)."""
    words = [w.strip().lower() for w in text.split(",") if w.strip()]
    if not words or any(w not in STATUS_WORDS for w in words):
        raise ValueError(text)
    return frozenset(STATUS_WORDS[w] for w in words)


statuses.__name__ = "list of statuses (pass, warn, fail, skip, error)"


def argo_version(text: str) -> str:
    """An Argo version like v3.7.18 (argparse turns the ValueError into a usage error)."""
    from ..argo import parse_version

    if parse_version(text) is None:
        raise ValueError(text)
    return text if text.startswith("v") else f"v{text}"


argo_version.__name__ = "Argo version (e.g. v3.7.18)"


UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def chunk_size(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = -1
    if n < 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of objects (0 or more)")
    return n


def duration(text: str) -> float:
    """Seconds of a duration as kubectl's --request-timeout takes it (Go's time.ParseDuration: 30s, 1m30s,
    500ms) or a bare number of seconds; above 0 (argparse turns the ValueError into a usage error)."""
    import re

    text = text.strip()
    if re.fullmatch(r"\d+(\.\d*)?|\.\d+", text):
        value = float(text)
    elif re.fullmatch(r"((\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))+", text):
        value = sum(float(n) * UNITS[u] for n, u in re.findall(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)", text))
    else:
        raise ValueError(text)
    if not 0 < value < float("inf"):
        raise ValueError(text)
    return value


duration.__name__ = "duration (30s, 1m, 500ms or seconds)"  # argparse names the type in its message


def namespaced_name(text: str) -> str:
    """NS/NAME, both DNS labels (argparse turns the ValueError into a usage error)."""
    import re

    label = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
    if not re.fullmatch(rf"{label}/{label}(\.{label})*", text):
        raise ValueError(text)
    return text


namespaced_name.__name__ = "NAMESPACE/NAME"
