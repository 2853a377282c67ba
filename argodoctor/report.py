"""A finished run (Report) and how it is written out: the human table and the catalog's JSON."""
from __future__ import annotations

import dataclasses
import json
from collections import Counter
from typing import Any

from rich.console import Console
from rich.markup import escape

from . import __version__
from .model import STATUS_ORDER, Result, Status

GROUP_ORDER = ["doctor", "install", "artifacts", "rbac", "executor", "object-store"]
SYMBOLS = {Status.PASS: ("✔", "green"), Status.WARN: ("!", "yellow"), Status.FAIL: ("✖", "red"),
           Status.SKIP: ("-", "dim"), Status.ERROR: ("?", "magenta")}


@dataclasses.dataclass
class Report:
    cluster: str
    argo_version: str | None
    started: str  # RFC3339
    duration_s: float
    results: list[Result]

    def summary(self) -> dict[str, int]:
        counts = Counter(r.status for r in self.results)
        return {s.value: counts.get(s, 0) for s in STATUS_ORDER}

    def to_dict(self) -> dict[str, Any]:
        return {"argodoctor": __version__, "cluster": self.cluster, "argo_version": self.argo_version,
                "started": self.started, "duration_s": round(self.duration_s, 3),
                "summary": self.summary(), "results": [r.to_dict() for r in self.results]}

    def exit_code(self, fail_on: str = "fail") -> int:
        """1 when a check failed or could not run (or warned, with --fail-on warn); else 0 (always 0
        with --fail-on none, for scheduled runs whose reports carry the findings)."""
        if fail_on == "none":
            return 0
        bad = {Status.FAIL, Status.ERROR} | ({Status.WARN} if fail_on == "warn" else set())
        return 1 if any(r.status in bad for r in self.results) else 0


def to_json(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2) + "\n"


def fix_command(remediation: str) -> str:
    return f"argodoctor fix {remediation}"


def print_table(report: Report, console: Console) -> None:
    version = report.argo_version or "not detected"
    console.print(f"[bold]argodoctor {__version__}[/] · {escape(report.cluster)} · Argo {version}")
    groups: dict[str, list[Result]] = {}
    for r in report.results:
        groups.setdefault(r.group, []).append(r)
    order = GROUP_ORDER + sorted(g for g in groups if g not in GROUP_ORDER)
    for group in order:
        if group not in groups:
            continue
        console.print(f"\n[bold]{group}[/]")
        for r in groups[group]:
            symbol, style = SYMBOLS[r.status]
            where = " ".join(x for x in (r.namespace, r.object) if x)
            where = f" {escape(where)}" if where else ""
            console.print(f"  [{style}]{symbol}[/] {r.id} {r.slug}{where}: {escape(r.message)}",
                          soft_wrap=True)
            if r.remediation and r.status in (Status.FAIL, Status.WARN):
                console.print(f"      fix: [cyan]{fix_command(r.remediation)}[/]", soft_wrap=True)
    s = report.summary()
    line = ", ".join(f"{n} {k}" for k, n in s.items())
    console.print(f"\n{line} ({report.duration_s:.1f}s)")


# ---------------------------------------------------------------- reading reports back

BAD = ("fail", "error", "warn")
_RANK = {"pass": 0, "skip": 0, "warn": 1, "error": 2, "fail": 2}


def _groups() -> dict[str, str]:
    """check id -> group, from the registered plugins (a report may name checks no longer installed)."""
    try:
        from .registry import all_checks

        return {c.id: c.group for c in all_checks()}
    except Exception:
        return {}


def from_dict(doc: dict[str, Any]) -> Report:
    """A Report from its JSON form (for `report show`)."""
    groups = _groups()
    results = []
    for r in doc.get("results", []):
        results.append(Result(id=r["id"], slug=r.get("slug", ""), status=Status(r["status"]),
                              message=r.get("message", ""), severity=r.get("severity", "error"),
                              namespace=r.get("namespace"), object=r.get("object"),
                              remediation=r.get("remediation"), group=groups.get(r["id"], "other")))
    return Report(doc.get("cluster", ""), doc.get("argo_version"), doc.get("started", ""),
                  float(doc.get("duration_s") or 0), results)


def result_key(r: dict[str, Any]) -> tuple[str, str, str]:
    return r["id"], r.get("namespace") or "", r.get("object") or ""


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """What failed new (or got worse), what got fixed, what still fails, between two reports."""
    before = {result_key(r): r for r in old.get("results", [])}
    after = {result_key(r): r for r in new.get("results", [])}
    out: dict[str, list[dict[str, Any]]] = {"new": [], "fixed": [], "unchanged": []}
    for key, r in after.items():
        prev = before.get(key)
        if r["status"] in BAD and (prev is None or _RANK[r["status"]] > _RANK[prev["status"]]):
            out["new"].append(dict(r, was=prev["status"] if prev else None))
        elif r["status"] in BAD:
            out["unchanged"].append(r)
    for key, prev in before.items():
        r = after.get(key)
        if prev["status"] in BAD and (r is None or _RANK[r["status"]] < _RANK[prev["status"]]):
            out["fixed"].append(dict(prev, now=r["status"] if r else "gone"))
    return out


def print_diff(d: dict[str, list[dict[str, Any]]], old: dict[str, Any], new: dict[str, Any],
               console: Console) -> None:
    console.print(f"[bold]report diff[/] {escape(str(old.get('started')))} → {escape(str(new.get('started')))}")

    def where(r: dict[str, Any]) -> str:
        return " ".join(x for x in (r.get("namespace"), r.get("object")) if x)
    for title, key, style in (("new failures", "new", "red"), ("fixed", "fixed", "green"),
                              ("still failing", "unchanged", "yellow")):
        console.print(f"\n[bold]{title}[/] ({len(d[key])})")
        for r in d[key]:
            change = (f"{r.get('was') or 'absent'} → {r['status']}" if key == "new" else
                      f"{r['status']} → {r.get('now')}" if key == "fixed" else r["status"])
            console.print(f"  [{style}]{r['id']}[/] {escape(where(r))} ({change}): {escape(r.get('message', ''))}",
                          soft_wrap=True)
