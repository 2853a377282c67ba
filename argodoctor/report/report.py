"""A finished run (Report) and how it is written out: the human table and the catalog's JSON."""
from __future__ import annotations

import dataclasses
import io
import itertools
import json
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from .. import __version__
from ..engine.model import REPORT_SCHEMA, STATUS_ORDER, Result, Status

GROUP_ORDER = ["pre-install", "doctor", "install", "artifacts", "rbac", "executor", "object-store", "archive"]
SYMBOLS = {Status.PASS: ("✔", "green"), Status.WARN: ("!", "yellow"), Status.FAIL: ("✖", "red"),
           Status.SKIP: ("-", "dim"), Status.EXEMPT: ("~", "cyan"), Status.ERROR: ("?", "magenta")}


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

    def to_dict(self, lazy: bool = False) -> dict[str, Any]:
        """The report's JSON form; lazy: its results an iterator of dicts made one at a time (for
        write_json, so a large report is never held as dicts whole)."""
        results = (r.to_dict() for r in self.results)
        return {"argodoctor": __version__, "schema": REPORT_SCHEMA, "cluster": self.cluster,
                "argo_version": self.argo_version,
                "started": self.started, "duration_s": round(self.duration_s, 3),
                "summary": self.summary(), "results": results if lazy else list(results)}

    def exit_code(self, fail_on: str = "fail") -> int:
        """1 when a check failed or could not run (or warned, with --fail-on warn); else 0 (always 0
        with --fail-on none, for scheduled runs whose reports carry the findings)."""
        if fail_on == "none":
            return 0
        bad = {Status.FAIL, Status.ERROR} | ({Status.WARN} if fail_on == "warn" else set())
        return 1 if any(r.status in bad for r in self.results) else 0


def to_json(report: Report) -> str:
    buf = io.StringIO()
    write_json(report.to_dict(), buf)
    return buf.getvalue()


_encode_str = json.encoder.encode_basestring_ascii  # what json.dumps uses (ensure_ascii), in C


def write_json(doc: dict[str, Any], stream: Any, chunk: int = 1000) -> None:
    """Writes doc (Report.to_dict()) to stream exactly as `json.dumps(doc, indent=2)` plus a newline
    would, a chunk of results at a time: no one giant string, and each string value encoded by the
    C encoder rather than the whole document by the pure-Python indenting one."""
    results = doc.get("results")
    if isinstance(results, Iterator):  # Report.to_dict(lazy=True): made one at a time
        if list(doc)[-1] != "results":
            doc, results = dict(doc, results=list(results)), None
    elif not isinstance(results, list) or not results or list(doc)[-1] != "results":
        results = None
    if results is None:
        stream.write(json.dumps(doc, indent=2) + "\n")
        return
    results = iter(results)
    first = next(results, None)
    head = json.dumps(dict(doc, results=[]), indent=2)
    if first is None:  # an empty iterator: as json.dumps writes an empty list
        stream.write(head + "\n")
        return
    stream.write(head[:-len("]\n}")])
    prefixes: dict[str, str] = {}
    out: list[str] = []
    for i, r in enumerate(itertools.chain((first,), results)):
        lines = _flat_json(r, prefixes) if isinstance(r, dict) and r else None
        if lines is None:  # nested values (or not an object): let json indent them, four spaces in
            out.append(("," if i else "") + "\n    " + json.dumps(r, indent=2).replace("\n", "\n    "))
        else:
            out.append(("," if i else "") + "\n    {\n" + lines + "\n    }")
        if len(out) >= chunk:
            stream.write("".join(out))
            out = []
    out.append("\n  ]\n}\n")
    stream.write("".join(out))


def _flat_json(r: dict[str, Any], prefixes: dict[str, str]) -> str | None:
    """The members of a flat object as json.dumps(indent=2) writes them at depth 2, or None."""
    parts = []
    for k, v in r.items():
        prefix = prefixes.get(k)
        if prefix is None:
            if not isinstance(k, str):
                return None
            prefix = prefixes[k] = f"      {_encode_str(k)}: "
        if isinstance(v, str):
            parts.append(prefix + _encode_str(v))
        elif v is None:
            parts.append(prefix + "null")
        elif isinstance(v, (bool, int, float)):
            parts.append(prefix + json.dumps(v))
        else:
            return None
    return ",\n".join(parts)


def fix_command(remediation: str) -> str:
    return f"argodoctor fix {remediation}"


def symptoms_text(s: dict[str, Any] | None) -> str:
    """'explains 3 failed Workflows of the last 24h: team-a/a, team-a/b (+1 more)', or ''."""
    if not s:
        return ""
    names = list(s.get("workflows") or [])
    count = int(s.get("count") or len(names))
    since = s.get("since_s")
    window = f" of the last {since / 3600:g}h" if isinstance(since, (int, float)) else ""
    more = f" (+{count - len(names)} more)" if count > len(names) else ""
    return f"explains {count} failed Workflow{'s' if count != 1 else ''}{window}: {', '.join(names)}{more}"


def exemption_text(e: dict[str, Any]) -> str:
    """'exempted (config .argodoctor.yaml until 2027-01-31): the reason'."""
    until = f" until {e['expires']}" if e.get("expires") else ""
    return f"exempted ({e.get('source', '')}{until}): {e.get('reason', '')}"


_FIRST = {Status.FAIL: 0, Status.ERROR: 1, Status.WARN: 2, Status.EXEMPT: 3, Status.SKIP: 4, Status.PASS: 5}


def compacted(results: list[Result]) -> list[Result]:
    """A group as a big cluster wants it: failures, errors and warnings first, then skips, then passes,
    and each check's passes rolled up into one line when there are several ("pass in 1,998 namespaces")."""
    ranks: list[list[Result]] = [[] for _ in range(6)]  # by _FIRST, check order kept within each
    for r in results:
        ranks[_FIRST.get(r.status, 5)].append(r)
    passes: dict[str, list[Result]] = {}
    for r in ranks[5]:
        passes.setdefault(r.id, []).append(r)
    out = [r for rank in ranks[:5] for r in rank]
    for same in passes.values():
        if len(same) == 1:
            out.append(same[0])
            continue
        first = same[0]
        spaces = len({p.namespace for p in same if p.namespace})
        where = f"{spaces:,} namespaces" if spaces > 1 else f"{len(same):,} objects"
        out.append(Result(first.id, first.slug, Status.PASS, f"pass in {where} (--show passed lists them)",
                          group=first.group))
    return out


def print_table(report: Report, console: Console, compact: bool = False) -> None:
    """The human table: a header, the results by group, a summary line. Each group is printed with
    one console.print (a print per result costs 0.1 ms each, seconds at tens of thousands).
    compact: failures first and passes rolled up per check (the CLI's default)."""
    version = report.argo_version or "not detected"
    console.print(f"[bold]argodoctor {__version__}[/] · {escape(report.cluster)} · Argo {version}")
    groups: dict[str, list[Result]] = {}
    for r in report.results:
        groups.setdefault(r.group, []).append(r)
    if compact:
        groups = {g: compacted(rs) for g, rs in groups.items()}
    order = GROUP_ORDER + sorted(g for g in groups if g not in GROUP_ORDER)
    for group in order:
        if group not in groups:
            continue
        if console.is_terminal:  # wrapped to the width, each result's lines under its text
            console.print(Text(f"\n{group}", style="bold"))
            console.print(_group_table(groups[group]))
        else:  # a pipe or a file: one line per result, for grep
            console.print(_group_renderable(group, groups[group]), soft_wrap=True)
    s = report.summary()
    line = ", ".join(f"{n} {k}" for k, n in s.items())
    console.print(f"\n{line} ({report.duration_s:.1f}s)")


# Characters rich's Text treats specially (tabs expand; these control codes are stripped): a group
# holding one goes through Text, every other group straight to segments, which prints the same.
_SPECIAL = re.compile("[\t\x07\x08\x0b\x0c\x0d]")


def _group_pieces(group: str, results: list[Result]) -> list[tuple[str, str | None]]:
    """A group of the table as (text, style) pieces: a blank line, the group's name, a line per
    result (and its fix command). Nothing in a message is read as markup."""
    pieces: list[tuple[str, str | None]] = [("\n", None), (group, "bold")]
    add = pieces.append
    for r in results:
        symbol, style = SYMBOLS[r.status]
        where = " ".join(x for x in (r.namespace, r.object) if x)
        if r.location:
            where += f" ({r.location['file']}:{r.location['line']})"
        add(("\n  ", None))
        add((symbol, style))
        add((f" {r.id} {r.slug}{' ' + where if where else ''}: {r.message}", None))
        if r.remediation and r.status in (Status.FAIL, Status.WARN):
            add(("\n      fix: ", None))
            add((fix_command(r.remediation), "cyan"))
        if r.status is Status.FAIL:
            add(("\n      docs: ", None))
            add((r.docs, "blue"))
        if r.status is Status.EXEMPT and r.exemption:
            add(("\n      ", None))
            add((exemption_text(r.exemption), "cyan"))
        if r.symptoms:
            add(("\n      ", None))
            add((symptoms_text(r.symptoms), "magenta"))
    add(("\n", None))
    return pieces


class _Pieces:
    """Renders (text, style) pieces as segments as they are, unwrapped: what printing them as one
    Text with soft_wrap gives when no piece holds a tab or a control code."""

    def __init__(self, pieces: list[tuple[str, str | None]]):
        self.pieces = pieces

    def __rich_console__(self, console: Console, options: Any) -> Iterator[Segment]:
        if console.color_system is None:  # styles print as nothing: one segment of plain text
            yield Segment("".join(text for text, _ in self.pieces))
            return
        styles: dict[str, Style] = {}
        plain: list[str] = []
        for text, name in self.pieces:
            if name is None:
                plain.append(text)
                continue
            if plain:
                yield Segment("".join(plain))
                plain = []
            style = styles.get(name)
            if style is None:
                style = styles[name] = console.get_style(name)
            yield Segment(text, style)
        if plain:
            yield Segment("".join(plain))


def _group_table(results: list[Result]) -> Any:
    """A group for a terminal: a grid whose text column folds at the terminal's width, so a long message
    or docs link wraps under the result's text (a hanging indent), never under its symbol."""
    from rich.table import Table

    grid = Table.grid(expand=True, padding=(0, 1))
    grid.add_column(no_wrap=True, width=3, justify="right")
    grid.add_column(overflow="fold", ratio=1)
    for r in results:
        symbol, style = SYMBOLS[r.status]
        where = " ".join(x for x in (r.namespace, r.object) if x)
        if r.location:
            where += f" ({r.location['file']}:{r.location['line']})"
        text = Text(f"{r.id} {r.slug}{' ' + where if where else ''}: {r.message}")
        if r.remediation and r.status in (Status.FAIL, Status.WARN):
            text.append("\n  fix: ")
            text.append(fix_command(r.remediation), "cyan")
        if r.status is Status.FAIL:
            text.append("\n  docs: ")
            text.append(r.docs, "blue")
        if r.status is Status.EXEMPT and r.exemption:
            text.append("\n  ")
            text.append(exemption_text(r.exemption), "cyan")
        if r.symptoms:
            text.append("\n  ")
            text.append(symptoms_text(r.symptoms), "magenta")
        grid.add_row(Text(symbol, style=style), text)
    return grid


def _group_renderable(group: str, results: list[Result]) -> Any:
    """One group of the table as a single renderable, printed with one console.print."""
    pieces = _group_pieces(group, results)
    if _SPECIAL.search("".join(text for text, _ in pieces)):
        text = Text()
        for piece, style in pieces[:-1]:  # Text ends the last line itself
            text.append(piece, style or "")
        return text
    return _Pieces(pieces)


# ---------------------------------------------------------------- reading reports back

BAD = ("fail", "error", "warn")
# An exempted finding still stands: going from fail to exempt is never "fixed" (nor new).
_RANK = {"pass": 0, "skip": 0, "warn": 1, "error": 2, "fail": 2, "exempt": 2}


def _groups() -> dict[str, str]:
    """check id -> group, from the registered plugins (a report may name checks no longer installed)."""
    try:
        from ..engine.registry import all_checks

        return {c.id: c.group for c in all_checks()}
    except Exception:
        return {}


def from_dict(doc: dict[str, Any]) -> Report:
    """A Report from its JSON form (for `report show`)."""
    groups = _groups()
    results = []
    for r in doc.get("results", []):
        # schema 1 reports (no `schema` key) have no exempt status, location or exemption: all optional
        results.append(Result(id=r["id"], slug=r.get("slug", ""), status=Status(r["status"]),
                              message=r.get("message", ""), severity=r.get("severity", "error"),
                              namespace=r.get("namespace"), object=r.get("object"),
                              remediation=r.get("remediation"), group=groups.get(r["id"], "other"),
                              exemption=r.get("exemption"), location=r.get("location"),
                              symptoms=r.get("symptoms")))
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
            if r.get("symptoms") and key != "fixed":  # schema 3: the failed Workflows it explains
                console.print(f"    [magenta]{escape(symptoms_text(r['symptoms']))}[/]", soft_wrap=True)
