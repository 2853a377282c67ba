"""Finds check and remediation plugins through their entry-point groups."""
from __future__ import annotations

import difflib
import fnmatch
import functools
import importlib
import os
import re
import sys

from ..errors import UserError
from .model import Check, Remediation

CHECK_GROUP = "argodoctor.checks"
REMEDIATION_GROUP = "argodoctor.remediations"

# The catalog's dependency order for `fix --all`; plugins not named here run after.
FIX_ORDER = [
    "install-argo", "rewrite-controller-config", "deploy-object-store", "configure-artifact-repository",
    "copy-artifact-secret", "create-bucket", "create-service-account", "create-sa-token-secret", "grant-workflow-rbac",
    "replace-broad-binding", "set-executor", "set-executor-security-context", "set-executor-image",
]


def entry_points(group: str) -> list[tuple[str, str]]:
    """(name, "module:attr") of the installed distributions' entry points in group, as
    importlib.metadata.entry_points(group=...) finds them: each sys.path directory's *.dist-info and
    *.egg-info entry_points.txt, the first distribution of a (normalized) name winning. Read here
    because importing importlib.metadata alone takes 50 ms, most of `argodoctor list`'s start-up
    (issue 11); tests/unit/test_core.py checks both agree."""
    seen: set[str] = set()
    found = []
    for base in sys.path:
        try:
            names = sorted(os.listdir(base or "."))
        except OSError:  # missing, or a zip file: no distributions of plugins there
            continue
        for n in names:
            if not n.endswith((".dist-info", ".egg-info")):
                continue
            dist = re.sub(r"[-_.]+", "_", n.rpartition(".")[0].partition("-")[0]).lower()
            if dist in seen:
                continue
            seen.add(dist)
            try:
                with open(os.path.join(base or ".", n, "entry_points.txt"), encoding="utf-8") as f:
                    text = f.read()
            except OSError:
                continue
            section = None
            for line in text.splitlines():
                line = line.strip()
                if line.startswith("["):
                    section = line.strip("[]").strip()
                elif section == group and "=" in line and not line.startswith(("#", ";")):
                    name, _, value = line.partition("=")
                    found.append((name.strip(), value.strip()))
    return found


def _resolve(value: str) -> object:
    """The object an entry point names: `module:attr.attr [extras]`."""
    module, _, attrs = value.split("[")[0].strip().partition(":")
    obj = importlib.import_module(module.strip())
    return functools.reduce(getattr, filter(None, attrs.strip().split(".")), obj)


def _load(group: str, base: type) -> list:
    found = []
    for name, value in entry_points(group):
        try:
            cls = _resolve(value)
        except Exception as e:  # a broken third-party plugin must not stop the tool
            raise UserError(f"cannot load plugin {name} ({value}) from {group}: {e}") from None
        if not (isinstance(cls, type) and issubclass(cls, base)):
            raise UserError(f"plugin {name} ({value}) in {group} is not a {base.__name__}")
        found.append(cls)
    return found


def all_checks() -> list[type[Check]]:
    checks = sorted(_load(CHECK_GROUP, Check), key=lambda c: c.id)
    if not checks:
        raise UserError("no checks are registered: is argodoctor installed (pip install .)?")
    return checks


PRE_INSTALL = "pre-install"  # the group `check --pre` runs (AD0xx); a plain `check` leaves it out


def select_checks(patterns: list[str] | None, pre: bool = False) -> list[type[Check]]:
    """Checks whose id or slug matches any pattern (globs allowed: AD2*); with no pattern, every check
    of an installation, or with pre every pre-install check."""
    checks = all_checks()
    if not patterns:
        return [c for c in checks if (c.group == PRE_INSTALL) == pre]
    chosen = []
    for pattern in patterns:
        hits = [c for c in checks if fnmatch.fnmatchcase(c.id, pattern.upper())
                or fnmatch.fnmatchcase(c.slug, pattern)]
        if not hits:
            close = difflib.get_close_matches(pattern.upper(), [c.id for c in checks], n=1) or \
                difflib.get_close_matches(pattern, [c.slug for c in checks], n=1)
            hint = f"; did you mean {close[0]}?" if close else " (see `argodoctor list`)"
            raise UserError(f"no check matches {pattern!r}{hint}")
        chosen += [c for c in hits if c not in chosen]
    return sorted(chosen, key=lambda c: c.id)


def all_remediations() -> list[type[Remediation]]:
    rems = _load(REMEDIATION_GROUP, Remediation)
    rank = {rid: i for i, rid in enumerate(FIX_ORDER)}
    return sorted(rems, key=lambda r: (rank.get(r.id, len(rank)), r.id))


def select_remediations(ids: list[str]) -> list[type[Remediation]]:
    rems = all_remediations()
    by_id = {r.id: r for r in rems}
    unknown = [i for i in ids if i not in by_id]
    if unknown:
        close = difflib.get_close_matches(unknown[0], list(by_id), n=1)
        hint = f"; did you mean {close[0]}?" if close else f" (known: {', '.join(by_id)})"
        raise UserError(f"unknown remediation {', '.join(unknown)}{hint}")
    return [r for r in rems if r.id in ids]  # catalog order, whatever order they were given in
