"""The output formats of `argodoctor check -o FORMAT` besides the table.

Every renderer takes a finished Report and returns the whole document as one string. They are pure
(no I/O, no network): the HTML page in particular is one self-contained file with no external resource.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import json
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import yaml

from .. import __version__
from ..engine.model import FORMATS, PROJECT_URL, STATUS_ORDER, Result, Status, docs_url  # the docs' home: model.py
from .report import GROUP_ORDER, Report, fix_command, symptoms_text, to_json

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
# SARIF level of the results that are reported; pass and skip results are not findings and are left out.
SARIF_LEVELS = {Status.FAIL: "error", Status.WARN: "warning", Status.ERROR: "note"}
# An exempted finding is reported at the level it had, with a SARIF suppression (kind external) carrying the
# exemption's reason: code scanning shows it as dismissed, not as gone.

EMOJI = {Status.PASS: "✅", Status.WARN: "⚠️", Status.FAIL: "❌", Status.SKIP: "⏭️", Status.EXEMPT: "🔕",
         Status.ERROR: "❗"}

# XML 1.0 cannot carry these at all, not even as character references.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def render(report: Report, fmt: str, history: list[dict] | None = None) -> str:
    """The report as FORMAT (any of FORMATS but "table", which report.print_table writes to a console).

    history (HTML only): past run summaries, oldest first, as [{"started": RFC3339, "summary": {...}}].
    """
    renderers: dict[str, Callable[[Report], str]] = {
        "json": to_json, "yaml": render_yaml, "junit": render_junit, "sarif": render_sarif,
        "markdown": render_markdown, "prometheus": render_prometheus,
        "html": lambda r: render_html(r, history),
    }
    if fmt not in renderers:
        known = ", ".join(f for f in FORMATS if f != "table")
        raise ValueError(f"unknown output format {fmt!r}: expected one of {known}"
                         + (" (table is printed by report.print_table)" if fmt == "table" else ""))
    return renderers[fmt](report)


# ---------------------------------------------------------------------------------------------- shared helpers

def _where(r: Result) -> str:
    """namespace/Kind/name, or whichever part is known."""
    return "/".join(x for x in (r.namespace, r.object) if x)


def _groups(report: Report) -> list[tuple[str, list[Result]]]:
    """Results by check group, in the table's group order (unknown groups after, by name)."""
    groups: dict[str, list[Result]] = {}
    for r in report.results:
        groups.setdefault(r.group or "other", []).append(r)
    order = [g for g in GROUP_ORDER if g in groups] + sorted(g for g in groups if g not in GROUP_ORDER)
    return [(g, groups[g]) for g in order]


def _check_titles() -> dict[str, str]:
    """Title of every registered check by id ({} when the plugins cannot be loaded)."""
    try:
        from ..engine.registry import all_checks

        return {c.id: c.title for c in all_checks()}
    except Exception:  # a report is still written when a plugin is broken
        return {}


def _started_epoch(started: str) -> float | None:
    try:
        when = dt.datetime.fromisoformat(started.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except (ValueError, AttributeError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.timestamp()


def _headline(summary: dict[str, int]) -> str:
    bad = [f"{summary[s]} {w}" for s, w in (("fail", "failed"), ("error", "could not run"), ("warn", "warned"))
           if summary.get(s)]
    if not any(summary.values()):
        return "no check ran"
    return ", ".join(bad) if bad else "all checks passed"


# ---------------------------------------------------------------------------------------------- yaml

def render_yaml(report: Report) -> str:
    """The JSON document (the catalog's schema), as YAML."""
    return yaml.safe_dump(report.to_dict(), sort_keys=False, allow_unicode=True, default_flow_style=False)


# ---------------------------------------------------------------------------------------------- junit

def _xml_text(s: str | None) -> str:
    return _XML_INVALID.sub(lambda m: f"\\x{ord(m.group()):02x}", s or "")


def render_junit(report: Report) -> str:
    """JUnit XML: a <testsuite> per check group, a <testcase> per result.

    fail -> <failure>, error -> <error>, skip -> <skipped>; pass and warn are passing testcases whose
    <system-out> holds the message (a warning starts with "WARNING:", so CI systems show it).
    Per-result durations are not measured: only <testsuites> carries a time (the run's duration).
    """
    summary = report.summary()
    root = ET.Element("testsuites", {
        "name": "argodoctor", "tests": str(len(report.results)), "failures": str(summary["fail"]),
        "errors": str(summary["error"]), "skipped": str(summary["skip"] + summary["exempt"]),
        "time": f"{report.duration_s:.3f}", "timestamp": _xml_text(report.started)})
    for group, results in _groups(report):
        counts = {s: sum(1 for r in results if r.status == s) for s in Status}
        suite = ET.SubElement(root, "testsuite", {
            "name": _xml_text(group), "tests": str(len(results)), "failures": str(counts[Status.FAIL]),
            "errors": str(counts[Status.ERROR]), "skipped": str(counts[Status.SKIP] + counts[Status.EXEMPT]),
            "timestamp": _xml_text(report.started)})
        props = ET.SubElement(suite, "properties")
        for name, value in (("argodoctor", __version__), ("cluster", report.cluster),
                            ("argo_version", report.argo_version or "")):
            ET.SubElement(props, "property", {"name": name, "value": _xml_text(value)})
        for r in results:
            case = ET.SubElement(suite, "testcase", {"classname": _xml_text(f"{r.id}.{r.slug}"),
                                                     "name": _xml_text(_where(r) or r.id)})
            if r.location:  # the attributes CI systems (GitLab, Jenkins) link a testcase to a file by
                case.set("file", _xml_text(r.location["file"]))
                case.set("line", str(r.location["line"]))
            message = _xml_text(r.message)
            details = "\n".join(x for x in (
                r.message, f"where: {_where(r)}" if _where(r) else "",
                f"file: {r.location['file']}:{r.location['line']}" if r.location else "",
                f"fix: {fix_command(r.remediation)}" if r.remediation else "",
                symptoms_text(r.symptoms),
                f"docs: {docs_url(r.id)}") if x)
            if r.status == Status.FAIL:
                ET.SubElement(case, "failure", {"message": message, "type": "fail"}).text = _xml_text(details)
            elif r.status == Status.ERROR:
                ET.SubElement(case, "error", {"message": message, "type": "error"}).text = _xml_text(details)
            elif r.status == Status.SKIP:
                ET.SubElement(case, "skipped", {"message": message})
            elif r.status == Status.EXEMPT:  # skipped, with the exemption as the message
                reason = (r.exemption or {}).get("reason", "")
                ET.SubElement(case, "skipped", {"message": _xml_text(f"exempted: {reason}; finding: {r.message}")})
            elif r.status == Status.WARN:
                ET.SubElement(case, "system-out").text = _xml_text(f"WARNING: {details}")
            else:
                ET.SubElement(case, "system-out").text = _xml_text(details)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# ---------------------------------------------------------------------------------------------- sarif

def _uri(file: str) -> str:
    """A SARIF artifact URI: a relative path as is (forward slashes, percent-encoded), else file://."""
    import pathlib
    import urllib.parse

    path = pathlib.PurePath(file)
    if path.is_absolute():
        return pathlib.Path(file).as_uri()
    return urllib.parse.quote(path.as_posix())


def _sentence(text: str) -> str:
    """SARIF wants plain-text messages to end as a sentence does."""
    text = text.strip() or "(no message)"
    return text if text[-1] in ".!?" else text + "."


def render_sarif(report: Report) -> str:
    """SARIF 2.1.0, one run. fail/warn/error results become results of level error/warning/note.

    A result's location is a logical one, namespace/Kind/name, and for objects read with `check -f` also
    a physical one: the file (relative to the working directory) and line, as GitHub code scanning wants
    them; partialFingerprints (check, namespace, object) let it follow a finding across runs.
    """
    titles = _check_titles()
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    for r in report.results:
        if r.id in index:
            continue
        index[r.id] = len(rules)
        title = titles.get(r.id) or r.slug.replace("-", " ")
        rules.append({
            "id": r.id, "name": r.slug,
            "shortDescription": {"text": _sentence(title[:1].upper() + title[1:])},
            "fullDescription": {"text": _sentence(f"{r.id} {r.slug}: {title}")},
            "helpUri": docs_url(r.id),
            "help": {"text": f"See {docs_url(r.id)} for what the check looks at and how to fix it."},
            "defaultConfiguration": {"level": "warning" if r.severity == "warning" else "error"},
            "properties": {"group": r.group or "other"},
        })
    results = []
    for r in report.results:
        exempted = r.status == Status.EXEMPT
        finding = Status((r.exemption or {}).get("status", "fail")) if exempted else r.status
        if finding not in SARIF_LEVELS:
            continue
        text = r.message if finding != Status.ERROR else f"The check could not run: {r.message}"
        if r.remediation:
            text = f"{_sentence(text)} Fix: {fix_command(r.remediation)}"
        if r.symptoms:
            text = f"{_sentence(text)} It {symptoms_text(r.symptoms)}"
        result: dict[str, Any] = {
            "ruleId": r.id, "ruleIndex": index[r.id], "level": SARIF_LEVELS[finding],
            "message": {"text": _sentence(text)},
            "properties": {"status": r.status.value, "severity": r.severity,
                           **({"remediation": r.remediation} if r.remediation else {}),
                           **({"symptoms": r.symptoms} if r.symptoms else {})},
        }
        if r.namespace or r.object:
            kind, _, name = (r.object or "").partition("/")
            logical: dict[str, Any] = {"fullyQualifiedName": _where(r), "kind": "resource" if r.object else "namespace",
                                       "name": (name or kind) if r.object else r.namespace}
            logical["properties"] = {k: v for k, v in (("namespace", r.namespace), ("kind", kind if name else None),
                                                       ("name", name or None)) if v}
            result["locations"] = [{"logicalLocations": [logical]}]
        if r.location:
            result.setdefault("locations", [{}])[0]["physicalLocation"] = {
                "artifactLocation": {"uri": _uri(r.location["file"])},
                "region": {"startLine": int(r.location["line"])}}
        identity = "|".join((r.id, r.namespace or "", r.object or ""))
        result["partialFingerprints"] = {"argodoctorFinding/v1": hashlib.sha256(identity.encode()).hexdigest()[:32]}
        if exempted:
            result["suppressions"] = [{"kind": "external", "status": "accepted",
                                       "justification": str((r.exemption or {}).get("reason", ""))}]
        results.append(result)
    invocation: dict[str, Any] = {"executionSuccessful": True}
    start = _started_epoch(report.started)
    if start is not None:
        def stamp(t: float) -> str:
            return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"

        invocation["startTimeUtc"] = stamp(start)
        invocation["endTimeUtc"] = stamp(start + max(report.duration_s, 0.0))
    run = {
        "tool": {"driver": {"name": "argodoctor", "version": __version__, "semanticVersion": __version__,
                            "informationUri": PROJECT_URL, "rules": rules}},
        "invocations": [invocation],
        "results": results,
        "properties": {"cluster": report.cluster, "argoVersion": report.argo_version,
                       "summary": report.summary()},
    }
    doc = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------------------------------------- markdown

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~])")


def _with_symptoms(r: Result) -> str:
    """The message, and the failed Workflows the finding explains (markdown and HTML: one cell)."""
    return f"{r.message} ({symptoms_text(r.symptoms)})" if r.symptoms else r.message


def _md(text: str | None) -> str:
    """Plain text as one Markdown table cell: markup escaped, HTML neutralised, newlines as <br>."""
    text = html.escape(text or "", quote=False)
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return "<br>".join(line.strip() for line in text.splitlines()) if text else ""


def render_markdown(report: Report) -> str:
    """For PR comments and tickets: counts, then per group the findings, the passing ones folded away."""
    s = report.summary()
    meta = [f"Cluster `{report.cluster.replace('`', '')}`", f"Argo {_md(report.argo_version or 'not detected')}",
            _md(report.started), f"{report.duration_s:.1f}s", f"argodoctor {__version__}"]
    lines = [f"## argodoctor: {_headline(s)}", "", " · ".join(m for m in meta if m), "",
             "| " + " | ".join(f"{EMOJI[st]} {st.value}" for st in STATUS_ORDER) + " |",
             "|" + "---:|" * len(STATUS_ORDER),
             "| " + " | ".join(str(s[st.value]) for st in STATUS_ORDER) + " |"]
    for group, results in _groups(report):
        bad = [r for r in results if r.status != Status.PASS]
        good = [r for r in results if r.status == Status.PASS]
        lines += ["", f"### {_md(group)}", ""]
        if bad:
            lines += ["| status | check | namespace/object | message | fix |", "|---|---|---|---|---|"]
            for r in bad:
                fix = f"`{fix_command(r.remediation)}`" if r.remediation else "—"
                lines.append(f"| {EMOJI[r.status]} {r.status.value} | [{r.id}]({docs_url(r.id)}) {_md(r.slug)} | "
                             f"{_md(_where(r)) or '—'} | {_md(_with_symptoms(r))} | {fix} |")
        else:
            lines.append("Nothing to report: every check passed.")
        if good:
            lines += ["", f"<details><summary>{len(good)} passed</summary>", "",
                      "| check | namespace/object | message |", "|---|---|---|"]
            lines += [f"| [{r.id}]({docs_url(r.id)}) {_md(r.slug)} | {_md(_where(r)) or '—'} | {_md(r.message)} |"
                      for r in good]
            lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------- prometheus

def _prom_label(value: str | None) -> str:
    return (value or "").replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _prom_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _prom_num(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    return repr(float(value)) if math.isfinite(value) else ("NaN" if math.isnan(value) else
                                                           "+Inf" if value > 0 else "-Inf")


def render_prometheus(report: Report) -> str:
    """Prometheus text exposition format 0.0.4, e.g. for node_exporter's textfile collector or a Pushgateway.

    argodoctor_check_status is a state set, one series per (check, namespace, object, status) for all five
    statuses: the series of a result never disappear when its status changes (no staleness gaps, alerts
    resolve), `argodoctor_check_status{status="fail"} > 0` selects what fails, and sums over labels count results.
    """
    out: list[str] = []

    def family(name: str, kind: str, help_text: str, samples: list[tuple[dict[str, str | None], float]]) -> None:
        out.append(f"# HELP {name} {_prom_help(help_text)}")
        out.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            body = ",".join(f'{k}="{_prom_label(v)}"' for k, v in labels.items())
            out.append(f"{name}{{{body}}} {_prom_num(value)}" if body else f"{name} {_prom_num(value)}")

    keyed: dict[tuple[str, str, str, str], dict[Status, int]] = {}
    for r in report.results:
        key = (r.id, r.slug, r.namespace or "", r.object or "")
        counts = keyed.setdefault(key, dict.fromkeys(STATUS_ORDER, 0))
        counts[r.status] += 1
    status_samples: list[tuple[dict[str, str | None], float]] = []
    for (cid, slug, ns, obj), counts in keyed.items():
        for st in STATUS_ORDER:
            status_samples.append(({"id": cid, "slug": slug, "namespace": ns, "object": obj, "status": st.value},
                                   counts[st]))
    family("argodoctor_info", "gauge", "Always 1: the argodoctor version, the cluster checked and its Argo version.",
           [({"version": __version__, "cluster": report.cluster, "argo_version": report.argo_version or ""}, 1)])
    family("argodoctor_check_status", "gauge",
           "State set of each check's result on one object: one series per status (pass, warn, fail, skip, error); "
           "the value is how many of the check's results for that namespace and object have that status, so 1 "
           "for the status in effect and 0 for the others (more than 1 only when a check reports the same object "
           "twice). Empty namespace/object: a cluster-scoped or check-wide result.", status_samples)
    summary = report.summary()
    family("argodoctor_check_results", "gauge", "Number of check results of the last run, by status.",
           [({"status": st.value}, summary[st.value]) for st in STATUS_ORDER])
    family("argodoctor_run_duration_seconds", "gauge", "How long the last run of the checks took, in seconds.",
           [({}, round(float(report.duration_s), 3))])
    start = _started_epoch(report.started)
    if start is not None:
        family("argodoctor_run_timestamp_seconds", "gauge",
               "When the last run of the checks started, in seconds since the Unix epoch.", [({}, start)])
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------- html

_COLORS = {Status.PASS: "#1a7f37", Status.WARN: "#bf8700", Status.FAIL: "#cf222e", Status.SKIP: "#8c959f",
           Status.EXEMPT: "#0969da", Status.ERROR: "#8250df"}

def _h(text: Any) -> str:
    return html.escape(_xml_text(str(text if text is not None else "")), quote=True)


def _csp_hash(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


def _history_points(report: Report, history: list[dict]) -> list[tuple[str, dict[str, int]]]:
    """(started, counts) of each past run, oldest first, then this run unless history already ends with it."""
    points = []
    for entry in history:
        if not isinstance(entry, dict):
            continue
        counts = entry.get("summary") if isinstance(entry.get("summary"), dict) else {}
        clean = {}
        for st in STATUS_ORDER:
            try:
                clean[st.value] = max(int(counts.get(st.value) or 0), 0)
            except (TypeError, ValueError):
                clean[st.value] = 0
        points.append((str(entry.get("started") or "?"), clean))
    if not points or points[-1][0] != report.started:
        points.append((report.started, report.summary()))
    return points


def _history_svg(points: list[tuple[str, dict[str, int]]]) -> str:
    """Stacked bars, one per run: fail and error at the bottom, where a change is easiest to see."""
    width, height, left, right, top, bottom = 760, 220, 40, 10, 12, 38
    plot_w, plot_h = width - left - right, height - top - bottom
    total_max = max((sum(c.values()) for _, c in points), default=0)
    step = max(1, math.ceil(total_max / 4)) if total_max else 1
    y_max = max(step * 4, 1)
    slot = plot_w / len(points)
    bar = min(48.0, slot * 0.7)
    label_every = max(1, math.ceil(len(points) / 8))
    stack = [Status.FAIL, Status.ERROR, Status.WARN, Status.EXEMPT, Status.SKIP, Status.PASS]
    parts = [f'<svg viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="Check results of the last {len(points)} runs">']
    for i in range(5):
        value = step * i
        y = top + plot_h - plot_h * value / y_max
        parts.append(f'<line class="axis" x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{value}</text>')
    for i, (started, counts) in enumerate(points):
        x = left + slot * i + (slot - bar) / 2
        y = top + plot_h
        tip = f"{started}: " + ", ".join(f"{counts[st.value]} {st.value}" for st in STATUS_ORDER)
        parts.append(f"<g><title>{_h(tip)}</title>")
        for st in stack:
            n = counts[st.value]
            if not n:
                continue
            h = plot_h * n / y_max
            y -= h
            parts.append(f'<rect class="s-{st.value}" x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}"/>')
        parts.append("</g>")
        if i % label_every == 0 or i == len(points) - 1:
            label = started[5:16].replace("T", " ") if len(started) >= 16 else started
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle">'
                         f"{_h(label)}</text>")
    parts.append("</svg>")
    return "".join(parts)


def render_html(report: Report, history: list[dict] | None = None) -> str:
    """One self-contained page from templates/report.html.j2 (inline CSS and JS, hashed into a CSP that
    forbids everything else): counts as cards that filter, the run history as an SVG chart when history is
    given, the results by group with failures first. It opens on the failures when there are any; the
    filter state lives in the URL (#status=fail,warn&q=team-a); it reflows below 640 px and follows the
    system's dark mode."""
    from importlib import resources

    import jinja2
    from markupsafe import Markup

    templates = resources.files("argodoctor.report.templates")
    css, js = (templates.joinpath(f).read_text(encoding="utf-8").strip() for f in ("report.css", "report.js"))
    csp = (f"default-src 'none'; style-src {_csp_hash(css)}; script-src {_csp_hash(js)}; img-src data:; "
           "base-uri 'none'; form-action 'none'")
    s = report.summary()
    failing = [st.value for st in (Status.FAIL, Status.ERROR, Status.WARN) if s[st.value]]
    groups = []
    for group, results in _groups(report):
        rows = []
        for r in sorted(results, key=lambda r: _HTML_FIRST.get(r.status, 9)):  # stable: check order within
            rows.append({
                "status": r.status.value, "id": r.id, "slug": r.slug, "docs": docs_url(r.id),
                "search": " ".join(x for x in (r.id, r.slug, r.status.value, r.namespace, r.object, r.message,
                                               r.remediation) if x).lower(),
                "where": Markup(_h(_where(r)).replace("/", "/<wbr>") or "—"), "message": _xml_text(_with_symptoms(r)),
                "remediation": r.remediation if r.remediation and r.status in (Status.FAIL, Status.WARN) else None})
        groups.append((group, rows))
    points = _history_points(report, history) if history is not None else []
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    page = env.from_string(templates.joinpath("report.html.j2").read_text(encoding="utf-8")).render(
        csp=csp, css=Markup(css), js=Markup(js), title=f"argodoctor: {_headline(s)} · {report.cluster}",
        headline=_headline(s), cluster=report.cluster, argo_version=report.argo_version or "not detected",
        started=report.started, duration=f"{report.duration_s:.1f}s", version=__version__,
        cards=[(st.value, s[st.value]) for st in STATUS_ORDER], initial=failing or [st.value for st in STATUS_ORDER],
        history_svg=Markup(_history_svg(points)) if history is not None else None, history_runs=len(points),
        total=len(report.results), groups=groups, fix_prefix=fix_command(""))
    return page + "\n"


# The order rows take within a group: what needs attention first.
_HTML_FIRST = {Status.FAIL: 0, Status.ERROR: 1, Status.WARN: 2, Status.EXEMPT: 3, Status.SKIP: 4, Status.PASS: 5}
