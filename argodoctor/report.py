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
        """1 when a check failed or could not run (or warned, with --fail-on warn); else 0."""
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
