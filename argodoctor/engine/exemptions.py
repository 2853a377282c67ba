"""Exemptions: accepted findings shown with status `exempt` (the finding stands; the exemption's reason,
expiry and source ride along), until they expire.

Two sources:
- a config file (`--config FILE`, else `.argodoctor.yaml` in the working directory when present):

      exemptions:
      - check: AD303                  # an id or a glob (AD4*)
        namespace: team-a             # optional: only there
        object: ServiceAccount/ci     # optional: only that object
        reason: ci runs kubectl apply, ticket OPS-123     # required
        expires: 2027-01-31           # optional: the finding comes back after this day

- annotations on the object a result names (or on its Namespace, for every result there):
      argodoctor.io/exempt: "AD303,AD403"
      argodoctor.io/exempt-reason: "..."      (required)
      argodoctor.io/exempt-expires: 2027-01-31  (optional)
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import fnmatch
import os
from typing import Any

import yaml

from ..errors import KubeError, UserError
from ..view.cluster import KINDS, ClusterView
from .model import Result, Status

DEFAULT_FILE = ".argodoctor.yaml"
EXEMPT = "argodoctor.io/exempt"
EXEMPT_REASON = "argodoctor.io/exempt-reason"
EXEMPT_EXPIRES = "argodoctor.io/exempt-expires"


@dataclasses.dataclass
class Exemption:
    check: str
    reason: str
    namespace: str | None = None
    object: str | None = None
    expires: dt.date | None = None
    source: str = ""

    def matches(self, r: Result) -> bool:
        return (fnmatch.fnmatchcase(r.id, self.check.upper())
                and (self.namespace is None or self.namespace == r.namespace)
                and (self.object is None or self.object == r.object))


def _date(value: Any, where: str) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise UserError(f"{where}: expires {value!r} is not a date like 2027-01-31") from None


def load_config(path: str | None) -> list[Exemption]:
    """Exemptions from --config PATH (must exist), or from .argodoctor.yaml when present."""
    if path is None:
        if not os.path.exists(DEFAULT_FILE):
            return []
        path = DEFAULT_FILE
    try:
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f) or {}
    except OSError as e:
        raise UserError(f"cannot read config {path}: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise UserError(f"config {path} is not text (a binary file?)") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise UserError(f"config {path} is not valid YAML{at}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("exemptions", []), list):
        raise UserError(f"config {path}: expected a mapping with a list `exemptions:`")
    unknown = {str(k) for k in doc} - {"exemptions"}
    if unknown:
        raise UserError(f"config {path}: unknown key(s) {', '.join(sorted(unknown))} (known: exemptions)")
    out = []
    for i, item in enumerate(doc.get("exemptions") or [], 1):
        where = f"config {path}, exemption {i}"
        if not isinstance(item, dict):
            raise UserError(f"{where}: not a mapping")
        extra = {str(k) for k in item} - {"check", "namespace", "object", "reason", "expires"}
        if extra:
            raise UserError(f"{where}: unknown field(s) {', '.join(sorted(extra))}")
        if not item.get("check") or not item.get("reason"):
            raise UserError(f"{where}: `check` and `reason` are required")
        out.append(Exemption(str(item["check"]), str(item["reason"]), item.get("namespace"), item.get("object"),
                             _date(item.get("expires"), where), f"config {path}"))
    return out


def _annotated(view: ClusterView, r: Result, problems: dict[str, Result]) -> list[Exemption]:
    """Exemptions from annotations on the result's object and on its namespace. A malformed annotation
    adds one `error` result naming its object to `problems` (once per object) and is otherwise ignored:
    one tenant's typo never aborts the run."""
    objs = []
    if r.object and "/" in r.object:
        kind, name = r.object.split("/", 1)
        if kind in KINDS:
            objs.append(view.get(kind, r.namespace if KINDS[kind].namespaced else None, name))
    if r.namespace:
        objs.append(view.get("Namespace", None, r.namespace))
    out = []
    for obj in objs:
        ann = ((obj or {}).get("metadata") or {}).get("annotations") or {}
        if EXEMPT not in ann:
            continue
        meta = obj["metadata"]
        name = "/".join(str(x) for x in (meta.get("namespace"), meta.get("name")) if x)
        where = f"annotation on {obj.get('kind')} {name}"
        reason = ann.get(EXEMPT_REASON) or "no reason given (set argodoctor.io/exempt-reason)"
        try:
            expires = _date(ann.get(EXEMPT_EXPIRES), where)
        except UserError:
            if where not in problems:
                problems[where] = dataclasses.replace(
                    r, status=Status.ERROR, remediation=None, namespace=meta.get("namespace"),
                    object=f"{obj.get('kind')}/{meta.get('name')}",
                    message=f"{EXEMPT_EXPIRES} on {obj.get('kind')} {name} is not a date like 2027-01-31; its "
                            "exemption is ignored until it is corrected")
            continue
        for check in str(ann[EXEMPT]).split(","):
            if check.strip():
                out.append(Exemption(check.strip(), reason, expires=expires, source=where))
    return out


def apply(results: list[Result], config: list[Exemption], view: ClusterView,
          today: dt.date | None = None, *, annotations: bool = True,
          used: set[int] | None = None) -> list[Result]:
    """Results with exempted ones turned into `exempt`; expired exemptions say so and change nothing.
    annotations=False (--no-annotation-exemptions) honours the config file only; `used` collects the
    positions in config of the exemptions that matched a finding."""
    today = today or dt.date.today()
    out = []
    problems: dict[str, Result] = {}
    for r in results:
        if r.status in (Status.PASS, Status.SKIP):
            out.append(r)
            continue
        from_config = []
        if config:
            matched = [i for i, e in enumerate(config) if e.matches(r)]
            from_config = [config[i] for i in matched]
            if used is not None:
                used.update(matched)
        try:
            candidates = from_config + ([e for e in _annotated(view, r, problems) if e.matches(r)]
                                        if annotations else [])
        except KubeError:
            candidates = from_config
        active = next((e for e in candidates if e.expires is None or e.expires >= today), None)
        if active:
            out.append(dataclasses.replace(r, status=Status.EXEMPT, remediation=None, exemption={
                "reason": active.reason, "expires": active.expires.isoformat() if active.expires else None,
                "source": active.source, "status": r.status.value}))
        elif candidates:
            expired = max(e.expires for e in candidates if e.expires)
            out.append(dataclasses.replace(r, message=f"{r.message} (exemption expired {expired})"))
        else:
            out.append(r)
    return out + list(problems.values())


def config_warnings(config: list[Exemption], used: set[int], check_ids: list[str],
                    selected: list[str]) -> list[str]:
    """What is wrong with the config's exemptions though the run went on: a check pattern no check
    has, or an exemption that matched no finding although its check ran (fixed since? remove it)."""
    import difflib

    out = []
    for i, e in enumerate(config):
        pattern = e.check.upper()
        if not any(fnmatch.fnmatchcase(c, pattern) for c in check_ids):
            close = difflib.get_close_matches(pattern, check_ids, n=1)
            out.append(f"{e.source}, exemption {i + 1}: check {e.check} is no argodoctor check"
                       + (f" (did you mean {close[0]}?)" if close else " (`argodoctor list` lists them)"))
        elif i not in used and any(fnmatch.fnmatchcase(c, pattern) for c in selected):
            where = "".join(f" {x}" for x in (e.namespace, e.object) if x)
            out.append(f"{e.source}, exemption {i + 1} ({e.check}{where}) matched no finding in this run: "
                       "remove it if what it accepted is gone")
    return out
