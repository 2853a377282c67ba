"""docs/checks.md as shipped in the wheel (package argodoctor.docs), for `argodoctor explain`."""
from __future__ import annotations

import argparse
import difflib
import re
from importlib import resources
from pathlib import Path

from ..errors import UserError


def checks_md() -> str:
    try:
        return resources.files("argodoctor.docs").joinpath("checks.md").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        return (Path(__file__).resolve().parents[2] / "docs" / "checks.md").read_text(encoding="utf-8")


def section(check: str) -> str:
    """The `## ADnnn` section of a check id or slug, without the sections around it."""
    from ..engine.registry import all_checks

    wanted = check.strip()
    by_slug = {c.slug: c.id for c in all_checks()}
    cid = by_slug.get(wanted.lower(), wanted.upper())
    sections = dict(re.findall(r"^## (AD\d{3})\n(.*?)(?=^## |\Z)", checks_md(), flags=re.M | re.S))
    if cid not in sections:
        close = difflib.get_close_matches(cid, list(sections) + list(by_slug), n=1)
        hint = f"; did you mean {close[0]}?" if close else " (`argodoctor list` shows them all)"
        raise UserError(f"no check {check!r}{hint}")
    from ..argo.symptoms import explain

    seen = explain(cid)
    return f"{cid}\n\n{sections[cid].strip()}\n" + (f"\n{seen}" if seen else "")


def run(args: argparse.Namespace) -> int:
    print(section(args.check))
    return 0
