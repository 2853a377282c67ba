"""Kubernetes Events for results whose status changed since the previous report (`check --events`)."""
from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from typing import Any

from ..view.cluster import KINDS
from ..view.names import api_path
from .report import BAD, result_key


def changed(previous: dict[str, Any] | None, current: dict[str, Any]) -> list[dict[str, Any]]:
    """Results whose status differs from the previous report's (all non-passing ones without one)."""
    before = {result_key(r): r["status"] for r in (previous or {}).get("results", [])}
    out = []
    for r in current.get("results", []):
        was = before.get(result_key(r))
        if (previous is None and r["status"] in BAD) or (previous is not None and was != r["status"]
                                                         and not (was is None and r["status"] not in BAD)):
            out.append(dict(r, was=was))
    return out


# Namespace names are DNS-1123 labels (names.py): lower case letters, digits and '-', so a message's words
# split on anything else hold every namespace it names. A word right after '/' is the name of an object of
# the namespace before it (team-a/default), judged as that namespace.
_WORD = re.compile(r"(?<![A-Za-z0-9/_-])([a-z0-9-]+)(?![A-Za-z0-9_-])(/[A-Za-z0-9._-]+)?")
# Words that are also the names of namespaces every cluster has; alone they are ordinary words ("the default
# repository"), so they count only when they qualify a name (default/x) or sit in a DNS name (.default.svc).
_COMMON = frozenset({"default"})


def confined(message: str, ns: str, namespaces: AbstractSet[str]) -> str:
    """message with every name of a namespace other than ns (and the object it qualifies) replaced: an Event
    is readable by whoever may read its namespace, so a tenant learns nothing there of another's."""
    def redact(m: re.Match) -> str:
        word, obj = m.group(1), m.group(2)
        if word == ns or word not in namespaces:
            return m.group(0)
        dotted = m.start() > 0 and message[m.start() - 1] == "."
        if word in _COMMON and not obj and not dotted:
            return m.group(0)
        return "<another namespace's object>" if obj else "<another namespace>"
    return _WORD.sub(redact, message)


def emit(kube: Any, results: list[dict[str, Any]], default_namespace: str,
         namespaces: Iterable[str] = ()) -> int:
    """One Event per result, on the object it names (else its namespace), its message confined to that
    namespace (namespaces: the cluster's, besides those the results name). Returns how many."""
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    known = frozenset(namespaces) | {r["namespace"] for r in results if r.get("namespace")} | {default_namespace}
    for r in results:
        ns = r.get("namespace") or default_namespace
        kind, _, name = (r.get("object") or "").partition("/")
        # involvedObject.namespace is the Event's own even for a cluster-scoped object (the Namespace itself):
        # kubernetes pkg/apis/core/validation/events.go legacyValidateEvent refuses an Event outside `default`
        # whose involvedObject has no namespace ("does not match event.namespace")
        if kind in KINDS and name:
            involved = {"apiVersion": KINDS[kind].api_version, "kind": kind, "name": name, "namespace": ns}
        else:
            involved = {"apiVersion": "v1", "kind": "Namespace", "name": ns, "namespace": ns}
        was = f" (was {r['was']})" if r.get("was") else ""
        event = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"argodoctor.{r['id'].lower()}.{uuid.uuid4().hex[:10]}", "namespace": ns},
            "involvedObject": {k: v for k, v in involved.items() if v is not None},
            "reason": f"{r['id']}{r['status'].capitalize()}",
            "message": f"{r['id']} {r.get('slug', '')} {r['status']}{was}: "
                       f"{confined(r.get('message') or '', ns, known)}"[:1024],
            "type": "Warning" if r["status"] in BAD else "Normal",
            "source": {"component": "argodoctor"}, "reportingComponent": "argodoctor",
            "firstTimestamp": now, "lastTimestamp": now, "count": 1,
        }
        kube.request("POST", api_path("", "v1", "events", ns), body=event)
    return len(results)
