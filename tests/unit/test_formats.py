"""The -o formats, each read back by an independent reader: PyYAML, junitparser, Microsoft's SARIF validator
(sarif-multitool, installed by tests/run.sh), prometheus_client's parser and Python's HTML parser."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from argodoctor.engine.model import DOCS_URL, Result, Status
from argodoctor.report import formats
from argodoctor.report.formats import FORMATS, render
from argodoctor.report.report import Report

REPO = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI", "").lower() == "true"

NASTY = 'secret "minio" <b>not</b> found in team-a & in argo\nsecond line \\ with a backslash'
ERROR_MSG = 'S3 error: <Error><Code>"Timeout"</Code></Error> & more\nafter 10s'
WARN_MSG = "bound to ClusterRole <cluster-admin> & 'edit' | pipe"


def _report() -> Report:
    results = [
        Result("AD101", "crds-installed", Status.PASS, "all 8 CRDs are Established", group="install"),
        Result("AD203", "artifact-secret-resolves", Status.FAIL, NASTY, namespace="team-a", object="Secret/minio",
               remediation="copy-artifact-secret", group="artifacts"),
        Result("AD203", "artifact-secret-resolves", Status.PASS, "Secret argo/minio has accesskey, secretkey",
               namespace="argo", object="Secret/minio", group="artifacts"),
        Result("AD202", "artifact-repository-valid", Status.FAIL, "endpoint https://minio:9000 has a scheme",
               namespace="argo", object="ConfigMap/workflow-controller-configmap",
               remediation="configure-artifact-repository", group="artifacts"),
        Result("AD303", "workflow-sa-overprivileged", Status.WARN, WARN_MSG, severity="warning",
               namespace="team-b", object="ServiceAccount/default", remediation="replace-broad-binding",
               group="rbac"),
        Result("AD204", "artifact-endpoint-reachable", Status.SKIP, "live only: <snapshot> mode",
               group="object-store"),
        Result("AD205", "artifact-credentials-valid", Status.ERROR, ERROR_MSG, namespace="argo",
               group="object-store"),
    ]
    return Report('kind "test" <ctx> & \\ \n2', "v3.7.18", "2026-03-10T09:00:00Z", 1.234, results)


def test_render_knows_every_format_but_table():
    report = _report()
    for fmt in FORMATS[1:]:
        assert render(report, fmt).endswith("\n")
    with pytest.raises(ValueError, match="print_table"):
        render(report, "table")
    with pytest.raises(ValueError, match="unknown output format"):
        render(report, "csv")


def test_an_empty_report_renders_in_every_format():
    from junitparser import JUnitXml
    from prometheus_client.parser import text_string_to_metric_families

    empty = Report("ctx", None, "", 0.0, [])
    assert JUnitXml.fromstring(render(empty, "junit").encode()).tests == 0
    assert json.loads(render(empty, "sarif"))["runs"][0]["results"] == []
    assert yaml.safe_load(render(empty, "yaml"))["results"] == []
    assert "argodoctor: no check ran" in render(empty, "markdown")
    assert "no check ran" in render(empty, "html", history=[])
    names = {f.name for f in text_string_to_metric_families(render(empty, "prometheus"))}
    assert "argodoctor_check_results" in names and "argodoctor_run_timestamp_seconds" not in names  # no start time


def test_json_is_report_to_json():
    from argodoctor.report.report import to_json

    report = _report()
    assert render(report, "json") == to_json(report)


def test_yaml_round_trips_to_the_json_document():
    report = _report()
    text = render(report, "yaml")
    assert yaml.safe_load(text) == json.loads(render(report, "json"))
    assert "started: '2026-03-10T09:00:00Z'" in text  # stays a string, not a YAML timestamp


# ------------------------------------------------------------------------------------------------- junit

def test_junit_read_back_by_junitparser():
    from junitparser import Error, Failure, JUnitXml, Skipped

    report = _report()
    xml = JUnitXml.fromstring(render(report, "junit").encode())
    assert (xml.tests, xml.failures, xml.errors, xml.skipped) == (7, 2, 1, 1)
    suites = {s.name: s for s in xml}
    assert list(suites) == ["install", "artifacts", "rbac", "object-store"]  # the table's group order
    got: dict[str, tuple[int, int, int, int]] = {}
    for name, suite in suites.items():
        cases = list(suite)
        # the attributes agree with the testcases
        counted = (len(cases), sum(c.is_failure for c in cases), sum(c.is_error for c in cases),
                   sum(c.is_skipped for c in cases))
        assert (suite.tests, suite.failures, suite.errors, suite.skipped) == counted, name
        got[name] = counted
    assert got == {"install": (1, 0, 0, 0), "artifacts": (3, 2, 0, 0), "rbac": (1, 0, 0, 0),
                   "object-store": (2, 0, 1, 1)}

    cases = {(c.classname, c.name): c for s in xml for c in s}
    fail = cases[("AD203.artifact-secret-resolves", "team-a/Secret/minio")]
    (failure,) = fail.result
    assert isinstance(failure, Failure) and failure.message == NASTY
    assert "argodoctor fix copy-artifact-secret" in failure.text
    assert cases[("AD203.artifact-secret-resolves", "argo/Secret/minio")].is_passed

    (error,) = cases[("AD205.artifact-credentials-valid", "argo")].result
    assert isinstance(error, Error) and error.message == ERROR_MSG

    (skipped,) = cases[("AD204.artifact-endpoint-reachable", "AD204")].result
    assert isinstance(skipped, Skipped) and skipped.message == "live only: <snapshot> mode"

    warn = cases[("AD303.workflow-sa-overprivileged", "team-b/ServiceAccount/default")]
    assert warn.is_passed and warn.system_out.startswith(f"WARNING: {WARN_MSG}")


def test_junit_survives_characters_xml_cannot_carry():
    from junitparser import JUnitXml

    report = _report()
    report.results[0].message = "bell \x07 and nul \x00 here"
    (case,) = list(list(JUnitXml.fromstring(render(report, "junit").encode()))[0])
    assert case.system_out.startswith("bell \\x07 and nul \\x00 here")


# ------------------------------------------------------------------------------------------------- sarif

def _sarif_multitool() -> Path | None:
    """The validator tests/run.sh installs (ARGODOCTOR_SARIF_MULTITOOL), else one under tests/node_modules or
    the cache."""
    tool = f"@microsoft/sarif-multitool-{sys.platform}/Sarif.Multitool" + (".exe" if sys.platform == "win32" else "")
    given = os.environ.get("ARGODOCTOR_SARIF_MULTITOOL")
    candidates = [Path(given)] if given else []
    candidates.append(REPO / "tests" / "node_modules" / tool)
    cache = Path(os.environ.get("ARGODOCTOR_CACHE") or Path.home() / ".cache" / "argodoctor")
    candidates += sorted(cache.glob(f"sarif-multitool/*/node_modules/{tool}"), reverse=True)
    return next((c for c in candidates if c.is_file() and os.access(c, os.X_OK)), None)


def test_sarif_rules_levels_and_locations():
    doc = json.loads(render(_report(), "sarif"))
    assert doc["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json" and doc["version"] == "2.1.0"
    (run,) = doc["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "argodoctor" and driver["version"] and driver["informationUri"].startswith("https://")
    rules = {r["id"]: r for r in driver["rules"]}
    assert list(rules) == ["AD101", "AD203", "AD202", "AD303", "AD204", "AD205"]  # every id that appears
    assert rules["AD203"]["name"] == "artifact-secret-resolves"
    assert rules["AD203"]["helpUri"] == f"{DOCS_URL}#ad203"
    assert rules["AD203"]["shortDescription"]["text"]
    assert rules["AD303"]["defaultConfiguration"]["level"] == "warning"
    levels = [(r["ruleId"], r["level"]) for r in run["results"]]
    assert levels == [("AD203", "error"), ("AD202", "error"), ("AD303", "warning"), ("AD205", "note")]
    for res in run["results"]:
        assert driver["rules"][res["ruleIndex"]]["id"] == res["ruleId"]
    first = run["results"][0]
    assert first["message"]["text"].startswith(NASTY)
    assert "argodoctor fix copy-artifact-secret" in first["message"]["text"]
    (loc,) = first["locations"][0]["logicalLocations"]
    assert loc["fullyQualifiedName"] == "team-a/Secret/minio" and loc["name"] == "minio"
    assert loc["properties"] == {"namespace": "team-a", "kind": "Secret", "name": "minio"}
    assert run["results"][3]["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == "argo"


@pytest.fixture(scope="module")
def sarif_multitool() -> Path:
    tool = _sarif_multitool()
    if tool is None:
        reason = "sarif-multitool is not installed (tests/run.sh installs it from npm)"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    return tool


def _validate(tool: Path, text: str, tmp_path: Path) -> tuple[list, list]:
    """(errors, warnings) that sarif-multitool finds in a SARIF document."""
    src, out = tmp_path / "argodoctor.sarif", tmp_path / "validation.sarif"
    src.write_text(text, encoding="utf-8")
    out.unlink(missing_ok=True)
    # invariant globalization: no libicu needed
    env = dict(os.environ, DOTNET_SYSTEM_GLOBALIZATION_INVARIANT="1", DOTNET_CLI_TELEMETRY_OPTOUT="1")
    proc = subprocess.run([str(tool), "validate", "-o", str(out), str(src)], capture_output=True, text=True,
                          env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # the validator exits 0 even when the file is invalid: its findings are in its own SARIF output
    (vrun,) = json.loads(out.read_text(encoding="utf-8-sig"))["runs"]
    for inv in vrun.get("invocations", []):
        assert inv.get("executionSuccessful") is True, inv
        assert not [n for n in inv.get("toolExecutionNotifications", []) if n.get("level") == "error"], inv
    findings = [(r.get("level", "warning"), r["ruleId"], r["message"].get("text", r["message"]))
                for r in vrun.get("results", [])]
    return [f for f in findings if f[0] == "error"], [f for f in findings if f[0] == "warning"]


def test_sarif_passes_microsofts_validator(sarif_multitool, tmp_path):
    text = render(_report(), "sarif")
    errors, warnings = _validate(sarif_multitool, text, tmp_path)
    assert errors == []
    # the validator does not check every constraint (enums): also check the schema it ships, with jsonschema
    import jsonschema

    schema = json.loads((sarif_multitool.parent / "sarif-2.1.0.json").read_text(encoding="utf-8-sig"))
    checker = jsonschema.validators.validator_for(schema)
    assert [e.message for e in checker(schema, format_checker=checker.FORMAT_CHECKER).iter_errors(json.loads(text))
            ] == []
    if warnings:
        print("sarif-multitool warnings:", *warnings, sep="\n  ")


def test_sarif_validator_catches_an_invalid_document(sarif_multitool, tmp_path):
    """The validation above means something: a rule id of the wrong type and a result without a message are
    errors (not everything is: 5.7.0 lets an unknown `level` value through)."""
    doc = json.loads(render(_report(), "sarif"))
    doc["runs"][0]["tool"]["driver"]["rules"][0]["id"] = 101
    del doc["runs"][0]["results"][1]["message"]
    errors, _ = _validate(sarif_multitool, json.dumps(doc), tmp_path)
    assert {e[1] for e in errors} == {"JSON1001", "JSON1002"}, errors


# ------------------------------------------------------------------------------------------------- markdown

def test_markdown_tables():
    text = render(_report(), "markdown")
    lines = text.splitlines()
    assert lines[0] == "## argodoctor: 2 failed, 1 could not run, 1 warned"
    assert "| 2 | 1 | 2 | 1 | 0 | 1 |" in lines  # pass, warn, fail, skip, exempt, error
    assert ("| ❌ fail | [AD203](https://github.com/argodoctor/argodoctor/blob/main/docs/checks.md#ad203) "
            "artifact-secret-resolves | team-a/Secret/minio | secret \"minio\" &lt;b&gt;not&lt;/b&gt; found in "
            "team-a &amp; in argo<br>second line \\\\ with a backslash | `argodoctor fix copy-artifact-secret` |"
            ) in lines
    assert any(line.startswith("| ⚠️ warn | [AD303]") and "&lt;cluster-admin&gt; &amp; 'edit' \\| pipe" in line
               and line.endswith("| `argodoctor fix replace-broad-binding` |") for line in lines)
    assert any(line.startswith("| ❗ error | [AD205]") and line.endswith("| — |") for line in lines)
    assert any(line.startswith("| ⏭️ skip | [AD204]") for line in lines)
    # passes are folded away, never in the findings tables
    assert lines.count("<details><summary>1 passed</summary>") == 2
    passed = [line for line in lines if "AD101" in line]
    assert len(passed) == 1 and passed[0].startswith("| [AD101]")
    # each table row has the header's number of cells (escaped pipes do not split cells)
    for line in lines:
        if line.startswith("| ") and "---" not in line:
            cells = line.replace("\\|", "").count("|")
            assert cells in (4, 6, 7), line  # headings, result rows, the summary row (six statuses)


# ------------------------------------------------------------------------------------------------- prometheus

def test_prometheus_parses_and_encodes_each_result():
    from prometheus_client.parser import text_string_to_metric_families

    report = _report()
    text = render(report, "prometheus")
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert set(families) == {"argodoctor_info", "argodoctor_check_status", "argodoctor_check_results",
                             "argodoctor_run_duration_seconds", "argodoctor_run_timestamp_seconds"}
    for fam in families.values():
        assert fam.type == "gauge" and fam.documentation
    # label values come back unescaped
    (info,) = families["argodoctor_info"].samples
    assert info.labels["cluster"] == report.cluster and info.value == 1
    totals = {s.labels["status"]: s.value for s in families["argodoctor_check_results"].samples}
    assert totals == {"pass": 2, "warn": 1, "fail": 2, "skip": 1, "exempt": 0, "error": 1}
    status = families["argodoctor_check_status"].samples
    # a state set: five series per (check, namespace, object), exactly one of them 1
    keys = {(s.labels["id"], s.labels["namespace"], s.labels["object"]) for s in status}
    assert len(status) == 6 * len(keys) == 6 * len(report.results)
    for key in keys:
        values = {s.labels["status"]: s.value for s in status
                  if (s.labels["id"], s.labels["namespace"], s.labels["object"]) == key}
        assert sorted(values) == sorted(st.value for st in Status) and sum(values.values()) == 1
    on = {(s.labels["id"], s.labels["namespace"], s.labels["status"]) for s in status if s.value == 1}
    assert ("AD203", "team-a", "fail") in on and ("AD203", "argo", "pass") in on
    assert ("AD204", "", "skip") in on and ("AD205", "argo", "error") in on
    assert families["argodoctor_run_duration_seconds"].samples[0].value == pytest.approx(1.234)
    assert families["argodoctor_run_timestamp_seconds"].samples[0].value == 1773133200.0
    # no duplicate series
    series = [line.rsplit(" ", 1)[0] for line in text.splitlines() if line and not line.startswith("#")]
    assert len(series) == len(set(series))


def test_prometheus_label_escaping():
    assert formats._prom_label('a\\b"c\nd') == 'a\\\\b\\"c\\nd'


def test_prometheus_counts_a_repeated_object():
    report = _report()
    report.results.append(Result("AD203", "artifact-secret-resolves", Status.FAIL, "another key missing",
                                 namespace="team-a", object="Secret/minio", group="artifacts"))
    text = render(report, "prometheus")
    line = ('argodoctor_check_status{id="AD203",slug="artifact-secret-resolves",namespace="team-a",'
            'object="Secret/minio",status="fail"} 2')
    assert line in text.splitlines()


# ------------------------------------------------------------------------------------------------- html

class _Collect(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.attrs: list[tuple[str, str, str]] = []
        self.raw: dict[str, list[str]] = {"style": [], "script": []}
        self.msgs: list[str] = []
        self._stack: list[str] = []
        self._in_msg = False

    def handle_starttag(self, tag, attrs):
        self._stack.append(tag)
        for name, value in attrs:
            self.attrs.append((tag, name, value or ""))
        if tag == "td" and ("class", "msg") in attrs:
            self._in_msg = True
            self.msgs.append("")

    def handle_endtag(self, tag):
        if tag == "td":
            self._in_msg = False
        if self._stack and self._stack[-1] == tag:
            self._stack.pop()

    def handle_data(self, data):
        if self._stack and self._stack[-1] in self.raw:
            self.raw[self._stack[-1]].append(data)
        if self._in_msg:
            self.msgs[-1] += data


def _history() -> list[dict]:
    return [{"started": f"2026-03-0{d}T09:00:00Z",
             "summary": {"pass": 5, "warn": d % 2, "fail": 3 - d % 3, "skip": 1, "error": 0}} for d in range(1, 10)]


def test_html_is_self_contained_and_escaped():
    report = _report()
    page = render(report, "html", history=_history())
    doc = _Collect()
    doc.feed(page)
    doc.close()
    for tag, name, value in doc.attrs:
        if name.startswith(("data-", "aria-")) or name in ("title", "alt", "placeholder"):
            continue  # inert text, never fetched
        if "//" in value or value.lower().startswith(("http:", "https:", "javascript:")):
            # the only URLs are links to the check docs
            assert (tag, name) == ("a", "href") and value.startswith(DOCS_URL + "#"), (tag, name, value)
        if name in ("src", "srcset", "data", "action", "formaction", "poster", "background"):
            pytest.fail(f"<{tag} {name}={value!r}> loads a resource")
        if tag == "link":
            assert name != "href" or value.startswith("data:"), value
        assert not name.startswith("on"), f"inline handler {name} on <{tag}>"
    style, script = "".join(doc.raw["style"]), "".join(doc.raw["script"])
    assert style and script
    for code in (style, script):
        assert "url(" not in code and "@import" not in code and "//" not in code and "http" not in code
    csp = [v for tag, name, v in doc.attrs if tag == "meta" and name == "content" and "default-src" in v]
    assert csp and csp[0].startswith("default-src 'none'; style-src 'sha256-")
    # every message survives as text, markup and all
    assert sorted(doc.msgs) == sorted(r.message for r in report.results)
    assert "<b>not</b>" not in page and "&lt;b&gt;not&lt;/b&gt;" in page
    # the history chart: one bar group per run, this run appended after the nine past ones
    assert page.count("<svg") == 1 and page.count("<g><title>") == 10
    assert "History: the last 10 runs" in page


def test_html_without_history_has_no_chart_and_reuses_a_matching_last_run():
    report = _report()
    assert "<svg" not in render(report, "html")
    same = [{"started": report.started, "summary": report.summary()}]
    assert render(report, "html", history=same).count("<g><title>") == 1
