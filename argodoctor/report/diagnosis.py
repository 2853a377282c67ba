"""How `argodoctor diagnose` is written for people: per Workflow, the symptom (where it was seen and the
message), the cause, the evidence (the results of the checks that judge it) and the fix. The JSON and
YAML forms are the document itself (docs/diagnose.schema.json)."""
from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape

from ..engine.model import scrub

_MARK = {"fail": ("✖", "red"), "warn": ("!", "yellow"), "error": ("?", "magenta"), "skip": ("-", "dim"),
         "exempt": ("~", "cyan"), "pass": ("✔", "green")}
_SHOWN = 300  # characters of a message on screen (the JSON holds the whole, bounded one)


def _short(text: Any) -> str:
    text = " ".join(str(text or "").split())
    return escape(scrub(text if len(text) <= _SHOWN else text[:_SHOWN - 3] + "..."))


def render(doc: dict[str, Any], out: Console, since: float | None = None) -> None:
    workflows = doc.get("workflows") or []
    if since is not None and not workflows:
        out.print(f"no Workflow failed, errored or is stuck in the last {since / 3600:g}h")
    for wf in workflows:
        name = f"{wf.get('namespace')}/{wf.get('name')}"
        out.print(f"\n[bold]Workflow {escape(name)}[/] {escape(str(wf.get('phase') or 'no status'))}"
                  + (f" (Argo {escape(doc['argo_version'])})" if doc.get("argo_version") else ""))
        for s in wf.get("symptoms") or []:
            out.print(f"  [bold]symptom[/]  {escape(str(s.get('where') or ''))}: {_short(s.get('message'))}")
            if s.get("cause"):
                source = escape(str(s.get("source") or ""))
                out.print(f"  [bold]cause[/]    {_short(s.get('cause'))} [dim]({source})[/]")
        for u in wf.get("unknown") or []:
            where = u.get("where") if isinstance(u, dict) else ""
            message = u.get("message") if isinstance(u, dict) else u
            out.print(f"  [bold]unknown[/]  {escape(str(where or ''))}: {_short(message)}")
        evidence = wf.get("evidence") or []
        for r in evidence:
            mark, style = _MARK.get(r.get("status"), ("?", ""))
            where = " ".join(x for x in (r.get("id"), r.get("namespace"), r.get("object")) if x)
            out.print(f"  [bold]evidence[/] [{style}]{mark} {escape(where)}[/]: {_short(r.get('message'))}")
        for fix in wf.get("fix") or []:
            out.print(f"  [bold]fix[/]      {escape(fix)}")
        if wf.get("verdict"):
            out.print(f"  {_short(wf['verdict'])}")
    for note in doc.get("notes") or []:
        out.print(f"[dim]note: {escape(note)}[/]")
