"""Finds check and remediation plugins through their entry-point groups."""
from __future__ import annotations

import difflib
import fnmatch
from importlib.metadata import entry_points

from .errors import UserError
from .model import Check, Remediation

CHECK_GROUP = "argodoctor.checks"
REMEDIATION_GROUP = "argodoctor.remediations"

# The catalog's dependency order for `fix --all`; plugins not named here run after.
FIX_ORDER = [
    "install-argo", "rewrite-controller-config", "deploy-object-store", "configure-artifact-repository",
    "copy-artifact-secret", "create-bucket", "create-service-account", "create-sa-token-secret", "grant-workflow-rbac",
    "replace-broad-binding", "set-executor", "set-executor-security-context", "set-executor-image",
]


def _load(group: str, base: type) -> list:
    found = []
    for ep in entry_points(group=group):
        try:
            cls = ep.load()
        except Exception as e:  # a broken third-party plugin must not stop the tool
            raise UserError(f"cannot load plugin {ep.name} ({ep.value}) from {group}: {e}") from None
        if not (isinstance(cls, type) and issubclass(cls, base)):
            raise UserError(f"plugin {ep.name} ({ep.value}) in {group} is not a {base.__name__}")
        found.append(cls)
    return found


def all_checks() -> list[type[Check]]:
    checks = sorted(_load(CHECK_GROUP, Check), key=lambda c: c.id)
    if not checks:
        raise UserError("no checks are registered: is argodoctor installed (pip install .)?")
    return checks


def select_checks(patterns: list[str] | None) -> list[type[Check]]:
    """Checks whose id or slug matches any pattern (globs allowed: AD2*)."""
    checks = all_checks()
    if not patterns:
        return checks
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
