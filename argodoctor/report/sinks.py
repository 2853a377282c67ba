"""Where reports go and come back from: file://PATH, configmap://NAMESPACE/NAME, s3://BUCKET/PREFIX.

The ConfigMap holds the latest report, the one before it (for `report diff`), and a bounded history
of run summaries; whatever the cluster's size it stays under the 1 MiB object limit.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import os
import sys
import urllib.parse
from typing import Any

from ..errors import KubeError, UserError
from ..s3 import probes
from ..view import names
from ..view.cluster import KINDS

CONFIGMAP_BUDGET = 900 * 1024  # bytes of data, under the API server's 1 MiB object limit
MANAGED = {"app.kubernetes.io/managed-by": "argodoctor"}


@dataclasses.dataclass
class Sink:
    scheme: str  # file, configmap, s3
    target: str  # path, namespace/name, bucket
    prefix: str = ""

    def __str__(self) -> str:
        return f"{self.scheme}://{self.target}" + (f"/{self.prefix}" if self.prefix else "")


def parse_sink(url: str) -> Sink:
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in ("file", "configmap", "s3") or not rest:
        raise UserError(f"report destination {url!r} is not file://PATH, configmap://NAMESPACE/NAME or "
                        "s3://BUCKET/PREFIX")
    if scheme == "file":
        return Sink("file", rest)
    if scheme == "configmap":
        ns, _, name = rest.partition("/")
        if not ns or not name or "/" in name:
            raise UserError(f"{url}: write configmap://NAMESPACE/NAME")
        why = names.invalid("Namespace", ns) or names.invalid("ConfigMap", name)
        if why:
            raise UserError(f"{url}: {why}")
        return Sink("configmap", f"{ns}/{name}")
    bucket, _, prefix = rest.partition("/")
    return Sink("s3", bucket, prefix.strip("/"))


def summary_of(report: dict[str, Any]) -> dict[str, Any]:
    """What the history keeps of a run: when, how long, the counts, and which checks failed."""
    failing = sorted({r["id"] for r in report.get("results", []) if r["status"] in ("fail", "error")})
    return {"started": report.get("started"), "duration_s": report.get("duration_s"),
            "summary": report.get("summary"), "failing": failing}


def _shrink(report: dict[str, Any], budget: int) -> str:
    """The report as JSON within budget bytes: messages are cut before results are dropped."""
    text = json.dumps(report, separators=(",", ":"))
    if len(text.encode()) <= budget:
        return text
    slim = dict(report, results=[dict(r, message=r["message"][:200]) for r in report["results"]])
    text = json.dumps(slim, separators=(",", ":"))
    while len(text.encode()) > budget and slim["results"]:
        # keep the findings; passing results go first
        order = sorted(slim["results"], key=lambda r: r["status"] in ("fail", "error", "warn"))
        slim["results"] = order[len(order) // 10 + 1:]
        slim["truncated"] = True
        text = json.dumps(slim, separators=(",", ":"))
    return text


class ConfigMapStore:
    def __init__(self, kube: Any, sink: Sink):
        self.kube = kube
        self.namespace, self.name = sink.target.split("/", 1)
        self.path = KINDS["ConfigMap"].path(self.namespace, self.name)

    def read(self) -> dict[str, Any]:
        """{'latest': report|None, 'previous': report|None, 'history': [summaries]}"""
        try:
            cm = self.kube.request("GET", self.path)
        except KubeError as e:
            if e.not_found:
                return {"latest": None, "previous": None, "history": []}
            raise
        data = cm.get("data") or {}

        def load(key: str, default: Any) -> Any:
            try:
                return json.loads(data[key]) if data.get(key) else default
            except ValueError:
                return default
        return {"latest": load("latest.json", None), "previous": load("previous.json", None),
                "history": load("history.json", [])}

    def write(self, report: dict[str, Any], before: dict[str, Any] | None = None) -> int:
        """Writes the report; returns the size of the data written."""
        before = before if before is not None else self.read()
        history = list(before["history"]) + [summary_of(report)]
        latest = _shrink(report, CONFIGMAP_BUDGET // 3)
        previous = json.dumps(before["latest"], separators=(",", ":")) if before["latest"] else ""
        if len(previous.encode()) > CONFIGMAP_BUDGET // 3:
            previous = _shrink(before["latest"], CONFIGMAP_BUDGET // 3)
        room = CONFIGMAP_BUDGET - len(latest.encode()) - len(previous.encode())
        hist = json.dumps(history, separators=(",", ":"))
        while len(hist.encode()) > room and len(history) > 1:
            history = history[max(1, len(history) // 20):]  # drop the oldest 5%
            hist = json.dumps(history, separators=(",", ":"))
        body = {"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": self.name, "namespace": self.namespace, "labels": dict(MANAGED)},
                "data": {"latest.json": latest, "previous.json": previous, "history.json": hist}}
        self.kube.apply(self.path, body)
        return sum(len(v.encode()) for v in body["data"].values())


class S3Store:
    """Reports as objects: PREFIX/<timestamp>.json and .html per run, and PREFIX/latest.json."""

    def __init__(self, client: Any, sink: Sink):
        self.client = client
        self.bucket = sink.target
        self.prefix = sink.prefix

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def write(self, report: dict[str, Any], html: str) -> list[str]:
        stamp = (report.get("started") or dt.datetime.now(dt.timezone.utc).isoformat()).replace(":", "")
        written = []
        for name, body, ctype in ((f"{stamp}.json", json.dumps(report, indent=1), "application/json"),
                                  (f"{stamp}.html", html, "text/html; charset=utf-8"),
                                  ("latest.json", json.dumps(report, indent=1), "application/json")):
            data = body.encode()
            try:
                self.client.put_object(self.bucket, self._key(name), io.BytesIO(data), len(data),
                                       content_type=ctype)
            except Exception as e:  # only its summary: the exception may hold the body of what answered
                raise UserError(f"cannot store the report in s3://{self.bucket}: {probes.summary(e)}") from None
            written.append(self._key(name))
        return written

    def read(self, key: str) -> dict[str, Any]:
        try:
            resp = self.client.get_object(self.bucket, key)
        except Exception as e:
            raise UserError(f"cannot read s3://{self.bucket}/{key}: {probes.summary(e)}") from None
        try:
            return json.loads(resp.read())
        finally:
            resp.close()
            resp.release_conn()


def read_report(src: str, kube_factory: Any = None, s3_factory: Any = None) -> tuple[dict[str, Any], Any]:
    """A report from a file, configmap://NS/NAME (its latest; `previous` and `history` ride along as
    the second value), or s3://BUCKET/KEY. Returns (report, extra)."""
    if "://" not in src:
        src = "file://" + src
    sink = parse_sink(src)
    if sink.scheme == "file":
        try:
            with open(os.path.expanduser(sink.target), encoding="utf-8") as f:
                doc = json.load(f)
        except OSError as e:
            raise UserError(f"cannot read report {sink.target}: {e.strerror or e}") from None
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            raise UserError(f"report {sink.target} is not JSON (write it with `check -o json`)") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("results"), list):
            raise UserError(f"{sink.target} is JSON but not an argodoctor report (no `results` list; write one "
                            "with `check -o json`)")
        return doc, None
    if sink.scheme == "configmap":
        stored = ConfigMapStore(kube_factory(), sink).read()
        if not stored["latest"]:
            raise UserError(f"{src} holds no report yet")
        return stored["latest"], stored
    key = urllib.parse.unquote(sink.prefix or "latest.json")
    return S3Store(s3_factory(sink.target), sink).read(key), None


def store(ctx: Any, destinations: list[Sink], doc: dict[str, Any], *, events: bool = False,
          s3_secret: str | None = None) -> list[dict[str, Any]] | None:
    """Writes the report to every destination and, with events, emits an Event per changed result
    (against the ConfigMap destination's previous report). Returns the ConfigMap's run history
    (for the HTML chart), or None without one."""
    from ..s3 import bucket_client
    from . import events as k8s_events
    from .formats import render
    from .report import from_dict, to_json

    history = None
    baseline = None
    for d in destinations:
        if d.scheme == "file":
            writable(d.target, "--report-to file://")
            with open(d.target, "w", encoding="utf-8") as f:
                f.write(to_json(from_dict(doc)))
        elif d.scheme == "configmap":
            cm = ConfigMapStore(ctx.view.kube, d)
            before = cm.read()
            baseline = before["latest"] if baseline is None else baseline
            size = cm.write(doc, before)
            history = before["history"] + [summary_of(doc)]
            print(f"report stored in {d} ({size} bytes)", file=sys.stderr)
        else:
            html = render(from_dict(doc), "html", history=history)
            keys = S3Store(bucket_client(ctx, d.target, s3_secret), d).write(doc, html)
            print(f"report stored in s3://{d.target}/{keys[-1]} and {keys[0]}", file=sys.stderr)
    if events:
        changed = k8s_events.changed(baseline, doc)
        try:
            cluster_namespaces = [o["metadata"]["name"] for o in ctx.view.list("Namespace")]
        except KubeError:
            cluster_namespaces = []  # then those the results name
        n = k8s_events.emit(ctx.view.kube, changed, ctx.controller.namespace, cluster_namespaces)
        print(f"emitted {n} Event(s) for changed results", file=sys.stderr)
    return history


def writable(path: str, what: str) -> None:
    """Raises UserError, in one line, when path cannot be written as a file (its directory missing, or
    it is a directory): checked before a run, so a long check never ends in a failed write."""
    path = os.path.expanduser(path)
    parent = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise UserError(f"{what} {path} is a directory; give a file name")
    if not os.path.isdir(parent):
        raise UserError(f"{what} {path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise UserError(f"{what} {path}: directory {parent} is not writable")
