"""`argodoctor list`: the checks and remediations installed (built-in and plugins). Starts fast: plain
lines, no rich."""
from __future__ import annotations

import argparse
import sys

from ..engine import registry
from .common import write_doc


def run(args: argparse.Namespace) -> int:
    checks, rems = registry.all_checks(), registry.all_remediations()
    if args.output in ("json", "yaml"):
        doc = {"checks": [{"id": c.id, "slug": c.slug, "group": c.group, "severity": c.severity,
                           "title": c.title, "remediation": c.remediation} for c in checks],
               "remediations": [{"id": r.id, "title": r.title, "fixes": list(r.fixes),
                                 "destructive": r.destructive} for r in rems]}
        write_doc(doc, args.output)
        return 0
    # Plain lines (no rich): `list` must start fast, and it is read by people and grep alike.
    lines = ["checks"]
    lines += [f"  {c.id}  {c.slug:34} {c.group:12} {c.title}" + (f" (fix: {c.remediation})" if c.remediation else "")
              for c in checks]
    lines += ["", "remediations (in `fix --all` order)"]
    lines += [f"  {r.id:34} fixes {','.join(r.fixes):12} {r.title}" for r in rems]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0
