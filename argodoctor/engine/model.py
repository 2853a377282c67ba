"""The plugin contract: results, checks, remediations and plans."""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from .context import Context


class Status(str, Enum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"
    EXEMPT = "exempt"  # the finding stands, an exemption with a reason covers it
    ERROR = "error"


STATUS_ORDER = [Status.PASS, Status.WARN, Status.FAIL, Status.SKIP, Status.EXEMPT, Status.ERROR]
# The one place that says where the project and its check docs live (every format links a result there).
PROJECT_URL = "https://github.com/argodoctor/argodoctor"
DOCS_URL = f"{PROJECT_URL}/blob/main/docs/checks.md"  # = pyproject's Documentation URL (a test holds them equal)
_docs_url = [DOCS_URL]


def set_docs_url(url: str) -> None:
    """`check --docs-url`: where every format links each check's docs (a mirror, an internal wiki)."""
    _docs_url[0] = url.rstrip("/")


def docs_url(check_id: str) -> str:
    return f"{_docs_url[0]}#{check_id.lower()}"
REPORT_SCHEMA = 3  # 3: `symptoms` on results (the failed Workflows a finding explains)
# The report formats of `check -o` and `report show -o` (formats.py renders them; "table" is report.print_table).
FORMATS = ("table", "json", "yaml", "junit", "sarif", "markdown", "html", "prometheus")


# Text shaped like a credential, scrubbed from every result message whatever put it there (a value pasted
# into a field the message quotes): cloud access key IDs, private keys, JSON Web Tokens (service-account
# tokens), GitHub and Slack tokens. Messages name fields and problems; this is the net under them.
CREDENTIAL_PATTERNS = re.compile(
    r"\b(?:AKIA|ASIA|AIDA|AROA|ANPA|AGPA)[0-9A-Z]{16}\b"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)"
    r"|\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"
    r"|\bgh[pousr]_[A-Za-z0-9]{30,}|\bxox[abprs]-[A-Za-z0-9-]{10,}")


# A fixed part of each pattern: text holding none of them is returned as it is, in 1 µs instead of the
# expression's 40 µs (a large run scrubs a message per namespace and check). One `in` per telltale, chained
# (a loop or one alternation of them costs twice as much).
def _may_hold_credential(t: str) -> bool:
    return ("AKIA" in t or "ASIA" in t or "AIDA" in t or "AROA" in t or "ANPA" in t or "AGPA" in t
            or "PRIVATE KEY" in t or "eyJ" in t or "xox" in t
            or "ghp_" in t or "gho_" in t or "ghu_" in t or "ghs_" in t or "ghr_" in t)


def scrub(text: str) -> str:
    if _may_hold_credential(text):
        return CREDENTIAL_PATTERNS.sub("<redacted: looks like a credential>", text)
    return text


# Kind/name -> scrubbed: at scale thousands of results name the same few objects (ServiceAccount/default).
_CLEAN_OBJECTS: dict[str, str] = {}


@dataclasses.dataclass(slots=True)  # slots: a large run holds a result per namespace and check
class Result:
    id: str
    slug: str
    status: Status
    message: str
    severity: str = "error"
    namespace: str | None = None
    object: str | None = None
    remediation: str | None = None
    group: str = ""
    exemption: dict[str, Any] | None = None  # {reason, expires, source, status (the finding's)} when exempt
    location: dict[str, Any] | None = None  # {file, line} for objects read from files; None from a cluster
    # The failed Workflows this finding explains (check, from their messages): {count, workflows, since_s}.
    symptoms: dict[str, Any] | None = None
    # Where in its object the finding is, where the check knows it: ("data", KEY[, FIELD]). Not reported;
    # check -f turns it into the line of that key (or field) in the file.
    pointer: tuple[str, ...] | None = dataclasses.field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.message = scrub(self.message)
        if self.object:
            clean = _CLEAN_OBJECTS.get(self.object)
            if clean is None:
                clean = scrub(self.object)
                if len(_CLEAN_OBJECTS) < 100_000:
                    _CLEAN_OBJECTS[self.object] = clean
            self.object = clean

    @property
    def docs(self) -> str:
        return docs_url(self.id)

    def to_dict(self) -> dict[str, Any]:
        """The catalog's JSON form of one result."""
        return {
            "id": self.id,
            "slug": self.slug,
            "status": self.status.value,
            "severity": self.severity,
            "namespace": self.namespace,
            "object": self.object,
            "message": self.message,
            "remediation": self.remediation,
            "docs": self.docs,
            "location": self.location,
            "exemption": self.exemption,
            "symptoms": self.symptoms,
        }


class Check:
    """A check plugin. Subclasses set the class attributes and implement run()."""

    id: ClassVar[str]
    slug: ClassVar[str]
    group: ClassVar[str]  # install, artifacts, rbac, executor, object-store, doctor
    title: ClassVar[str]
    severity: ClassVar[str] = "error"  # "error" for faults, "warning" for compliance findings
    requires: ClassVar[tuple[str, ...]] = ()
    live_only: ClassVar[bool] = False
    remediation: ClassVar[str | None] = None
    reads: ClassVar[tuple[str, ...]] = ()  # kinds it lists through the ClusterView (for AD100)

    def run(self, ctx: Context) -> Iterable[Result]:
        raise NotImplementedError

    def split_blocked(self, ctx: Context, namespaces: Iterable[str]) -> tuple[list[Result], list[str]]:
        """(a skip for each namespace a failed required check blocks, the namespaces left to check)."""
        skips, open_ = [], []
        for ns in namespaces:
            reason = ctx.blocked(self.requires, ns)
            if reason:
                skips.append(self.skipped(reason, namespace=ns))
            else:
                open_.append(ns)
        return skips, open_

    # Helpers so check bodies stay short.
    def result(self, status: Status, message: str, *, namespace: str | None = None,
               object: str | None = None, remediation: Any = ..., pointer: tuple[str, ...] | None = None) -> Result:
        """remediation: the check's own by default on fail/warn; None when no automatic fix applies."""
        if remediation is ...:
            remediation = self.remediation if status in (Status.FAIL, Status.WARN) else None
        return Result(id=self.id, slug=self.slug, status=status, message=message,
                      severity=self.severity, namespace=namespace, object=object,
                      remediation=remediation, group=self.group, pointer=pointer)

    def passed(self, message: str, *, namespace: str | None = None, object: str | None = None,
               pointer: tuple[str, ...] | None = None) -> Result:
        # the commonest result by far (one per namespace and check at scale): built without result()'s detour
        return Result(self.id, self.slug, Status.PASS, message, self.severity, namespace, object, None, self.group,
                      pointer=pointer)

    def failed(self, message: str, **kw: Any) -> Result:
        return self.result(Status.FAIL, message, **kw)

    def warned(self, message: str, **kw: Any) -> Result:
        return self.result(Status.WARN, message, **kw)

    def skipped(self, message: str, **kw: Any) -> Result:
        return self.result(Status.SKIP, message, **kw)

    def errored(self, message: str, **kw: Any) -> Result:
        return self.result(Status.ERROR, message, **kw)


def obj_ref(obj: dict[str, Any]) -> str:
    """Kind/name of an object, as results name it."""
    return f"{obj.get('kind', '?')}/{obj.get('metadata', {}).get('name', '?')}"


@dataclasses.dataclass
class Action:
    """One write a remediation plans: server-side apply of `desired`.

    `before` is the live object (None when it does not exist yet). `sensitive`
    marks objects whose values must never be shown (Secrets).
    """

    desired: dict[str, Any]
    before: dict[str, Any] | None
    reason: str
    sensitive: bool = False
    # Build the real body only at apply time (e.g. secret values read then).
    materialize: Any = None
    # A write outside Kubernetes (e.g. creating an S3 bucket): called instead of server-side apply.
    perform: Any = None
    # Delete the object (its before-image is saved first) instead of applying it.
    delete: bool = False
    # Called with the Kube client after the write (e.g. wait until a CRD is Established).
    wait: Any = None
    # Show only a one-line summary in plans (e.g. objects of an official install manifest).
    brief: bool = False
    # Fields to remove, as paths (("data", "containerRuntimeExecutor"),): sent as a merge patch of
    # nulls, which removes them whoever set them (server-side apply would keep other managers' fields).
    remove: list[tuple[str, ...]] = dataclasses.field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.desired["kind"]

    @property
    def name(self) -> str:
        return self.desired["metadata"]["name"]

    @property
    def namespace(self) -> str | None:
        return self.desired["metadata"].get("namespace")

    def describe(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        verb = "delete" if self.delete else "create" if self.before is None else "update"
        return f"{verb} {self.kind} {where}{self.name}: {self.reason}"


@dataclasses.dataclass
class Plan:
    remediation: str
    actions: list[Action] = dataclasses.field(default_factory=list)
    # Things the remediation cannot do by itself: shown to the user, never applied.
    notes: list[str] = dataclasses.field(default_factory=list)

    def once(self, earlier: dict[tuple[str, str | None, str], tuple[str, Action]]) -> Plan:
        """This plan with each object once: an action on an object (kind, namespace, name) that this plan
        or an unapplied earlier plan of the same command (`earlier`, which this one joins) already holds
        is dropped when it writes the same thing (two creates, or the same desired object), with a note.
        Different changes to one object stay: each plan is computed against the cluster as it is."""
        kept: list[Action] = []
        for a in self.actions:
            key = (a.kind, a.namespace, a.name)
            held = earlier.get(key)
            if held is not None and (held[1].desired == a.desired or (held[1].before is None and a.before is None)):
                if held[0] != self.remediation:
                    self.notes.append(f"{a.kind} {a.namespace + '/' if a.namespace else ''}{a.name} is already "
                                      f"in the plan of {held[0]}")
                continue
            earlier.setdefault(key, (self.remediation, a))
            kept.append(a)
        self.actions = kept
        return self


class Remediation:
    """A remediation plugin: plan() computes the writes; the fix engine applies them."""

    id: ClassVar[str]
    title: ClassVar[str]
    fixes: ClassVar[tuple[str, ...]] = ()
    destructive: ClassVar[bool] = False

    def plan(self, ctx: Context) -> Plan:
        raise NotImplementedError
