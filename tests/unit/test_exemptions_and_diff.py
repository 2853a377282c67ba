"""Exemptions (config file and annotations) and report diffs, on snapshot fixtures."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from argodoctor.engine import exemptions
from argodoctor.engine.model import Result, Status
from argodoctor.errors import UserError
from argodoctor.report.events import changed
from argodoctor.report.report import diff
from argodoctor.report.sinks import parse_sink

from .builders import context

TODAY = dt.date(2026, 11, 26)


def result(cid="AD303", status=Status.WARN, ns="team-a", obj="ServiceAccount/default"):
    return Result(id=cid, slug="x", status=status, message="broad", namespace=ns, object=obj)


def test_config_exemption_skips_with_its_reason_until_it_expires(tmp_path):
    cfg = tmp_path / "a.yaml"
    cfg.write_text("exemptions:\n- check: AD3*\n  namespace: team-a\n  reason: accepted, OPS-1\n"
                   "  expires: 2026-12-31\n- check: AD403\n  reason: legacy cluster\n  expires: 2026-01-01\n")
    config = exemptions.load_config(str(cfg))
    view = context().view
    [r] = exemptions.apply([result()], config, view, TODAY)
    assert r.status == Status.EXEMPT and r.exemption == {"reason": "accepted, OPS-1", "expires": "2026-12-31",
                                                         "source": f"config {cfg}", "status": "warn"}
    assert r.remediation is None
    [r] = exemptions.apply([result(ns="team-b")], config, view, TODAY)
    assert r.status == Status.WARN  # another namespace
    [r] = exemptions.apply([result("AD403", ns="argo", obj=None)], config, view, TODAY)
    assert r.status == Status.WARN and "exemption expired 2026-01-01" in r.message
    [r] = exemptions.apply([result()], config, view, dt.date(2027, 1, 1))
    assert r.status == Status.WARN  # expired: the finding comes back


def test_annotation_exemptions_on_the_object_and_its_namespace():
    sa = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {
        "name": "default", "namespace": "team-a", "annotations": {
            exemptions.EXEMPT: "AD303, AD403", exemptions.EXEMPT_REASON: "ci needs it"}}}
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-b", "annotations": {
        exemptions.EXEMPT: "AD302", exemptions.EXEMPT_REASON: "sandbox", exemptions.EXEMPT_EXPIRES: "2026-01-01"}}}
    view = context(sa, ns).view
    [r] = exemptions.apply([result()], [], view, TODAY)
    assert r.status == Status.EXEMPT and r.exemption["source"] == "annotation on ServiceAccount team-a/default"
    assert r.exemption["reason"] == "ci needs it" and r.message == "broad"  # the finding stands
    [r] = exemptions.apply([result("AD302", Status.FAIL, "team-b")], [], view, TODAY)
    assert r.status == Status.FAIL and "expired" in r.message


def test_a_malformed_annotation_is_one_error_naming_its_object_never_the_end_of_the_run():
    sa = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {
        "name": "default", "namespace": "team-a", "annotations": {
            exemptions.EXEMPT: "AD303", exemptions.EXEMPT_REASON: "x", exemptions.EXEMPT_EXPIRES: "soon"}}}
    view = context(sa).view
    out = exemptions.apply([result(), result("AD302", Status.FAIL)], [], view, TODAY)
    assert [(r.id, r.status) for r in out] == [("AD303", Status.WARN), ("AD302", Status.FAIL),
                                                ("AD303", Status.ERROR)]
    assert out[2].object == "ServiceAccount/default" and out[2].namespace == "team-a"
    assert "argodoctor.io/exempt-expires on ServiceAccount team-a/default is not a date" in out[2].message


def test_missing_or_invalid_config_is_an_error(tmp_path):
    with pytest.raises(UserError, match="cannot read config"):
        exemptions.load_config(str(tmp_path / "nope.yaml"))
    bad = tmp_path / "bad.yaml"
    for text, msg in (("exemptions: [\n", "not valid YAML"), ("exemption: []\n", "unknown key"),
                      ("exemptions:\n- check: AD1\n", "`check` and `reason` are required"),
                      ("exemptions:\n- {check: AD1, reason: r, expires: soon}\n", "not a date")):
        bad.write_text(text)
        with pytest.raises(UserError, match=msg):
            exemptions.load_config(str(bad))


def test_check_uses_dot_argodoctor_yaml_when_present(cli, tmp_path, monkeypatch):
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / "examples" / "seed-broken"
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".argodoctor.yaml").write_text(
        "exemptions:\n- check: AD203\n  namespace: team-a\n  reason: copied by hand tomorrow\n")
    code, out, _ = cli("check", "--snapshot", example, "--checks", "AD203")
    assert code == 0 and "exempted (config .argodoctor.yaml): copied by hand tomorrow" in out
    code, _, err = cli("check", "--snapshot", example, "--config", tmp_path / "missing.yaml")
    assert code == 2 and "cannot read config" in err


def rep(*results):
    return {"started": "t", "results": [{"id": i, "namespace": ns, "object": None, "status": s, "message": "m"}
                                        for i, ns, s in results]}


def test_diff_names_new_fixed_and_unchanged():
    old = rep(("AD203", "team-a", "fail"), ("AD206", "argo", "fail"), ("AD303", "argo", "warn"),
              ("AD201", "argo", "pass"))
    new = rep(("AD203", "team-a", "fail"), ("AD206", "argo", "pass"), ("AD303", "argo", "fail"),
              ("AD201", "argo", "fail"), ("AD302", "team-b", "warn"))
    d = diff(old, new)
    assert sorted((r["id"], r["was"]) for r in d["new"]) == [("AD201", "pass"), ("AD302", None), ("AD303", "warn")]
    assert [(r["id"], r["now"]) for r in d["fixed"]] == [("AD206", "pass")]
    assert [r["id"] for r in d["unchanged"]] == ["AD203"]


def test_events_only_for_changes():
    old = rep(("AD203", "team-a", "fail"), ("AD206", "argo", "fail"))
    new = rep(("AD203", "team-a", "fail"), ("AD206", "argo", "pass"), ("AD201", "argo", "pass"))
    assert [(r["id"], r["status"]) for r in changed(old, new)] == [("AD206", "pass")]
    assert [r["id"] for r in changed(None, new)] == ["AD203"]


def test_sink_urls():
    assert str(parse_sink("configmap://argodoctor/report")) == "configmap://argodoctor/report"
    assert parse_sink("s3://bucket/a/b").prefix == "a/b"
    for bad in ("ftp://x", "configmap://only-ns", "s3://"):
        with pytest.raises(UserError):
            parse_sink(bad)


def test_exempt_reports_follow_the_published_schema_and_diff_never_calls_them_fixed(cli, tmp_path, monkeypatch):
    import json

    import jsonschema

    from ..conftest import REPORT_SCHEMA, validate_report
    seed = str(Path(__file__).resolve().parents[2] / "examples" / "seed-broken")
    cfg = tmp_path / "x.yaml"
    cfg.write_text("exemptions:\n- check: AD203\n  namespace: team-a\n  reason: copied by hand, OPS-7\n")
    code, before, _ = cli("check", "--snapshot", seed, "-o", "json")
    code, after, _ = cli("check", "--snapshot", seed, "-o", "json", "--config", str(cfg))
    doc = json.loads(after)  # validated against docs/report.schema.json by the cli fixture too
    [r] = [r for r in doc["results"] if r["id"] == "AD203" and r["namespace"] == "team-a"]
    assert r["status"] == "exempt" and r["exemption"]["reason"] == "copied by hand, OPS-7"
    assert r["exemption"]["status"] == "fail" and doc["summary"]["exempt"] == 1
    assert diff(json.loads(before), doc)["fixed"] == []
    bad = dict(doc, results=[dict(r, status="exempt", exemption=None)])
    with pytest.raises(jsonschema.ValidationError):
        validate_report(json.dumps(bad))
    assert REPORT_SCHEMA.exists()
    for fmt in ("junit", "sarif", "markdown", "html", "prometheus", "yaml"):
        code, out, err = cli("check", "--snapshot", seed, "-o", fmt, "--config", str(cfg))
        assert code in (0, 1) and "AD203" in out, (fmt, err)
    code, out, _ = cli("check", "--snapshot", seed, "-o", "sarif", "--config", str(cfg))
    sup = [x for x in json.loads(out)["runs"][0]["results"] if x.get("suppressions")]
    assert sup and sup[0]["suppressions"][0] == {"kind": "external", "status": "accepted",
                                                 "justification": "copied by hand, OPS-7"}


def test_config_warns_of_unknown_checks_and_unused_exemptions_and_auditors_skip_annotations(cli, tmp_path):
    import json
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / "examples" / "seed-broken"
    snap = tmp_path / "snap"
    snap.mkdir()
    for f in example.glob("*.yaml"):
        text = f.read_text()
        if f.name == "argo.yaml":  # the argo Namespace accepts AD303 by annotation
            text = text.replace("  name: argo\n---", "  name: argo\n  annotations:\n    argodoctor.io/exempt: AD303\n"
                                "    argodoctor.io/exempt-reason: the controller's namespace, reviewed\n---", 1)
        (snap / f.name).write_text(text)
    config = tmp_path / "ex.yaml"
    config.write_text("exemptions:\n- check: AD3O3\n  reason: typo\n- check: AD203\n  namespace: nowhere\n"
                      "  reason: stale\n- check: AD2*\n  namespace: team-a\n  reason: in use\n")
    code, out, err = cli("check", "--snapshot", snap, "--config", config, "-o", "json")
    lines = err.splitlines()
    assert f"argodoctor: warning: config {config}, exemption 1: check AD3O3 is no argodoctor check (did you mean " \
           "AD303?)" in lines
    assert any("exemption 2 (AD203 nowhere) matched no finding" in line for line in lines)
    assert not any("exemption 3" in line for line in lines)  # it matched team-a's AD203
    status = {(r["id"], r["namespace"]): r["status"] for r in json.loads(out)["results"]}
    assert status[("AD303", "argo")] == "exempt" and status[("AD203", "team-a")] == "exempt"
    _, out, err = cli("check", "--snapshot", snap, "--config", config, "-o", "json", "--no-annotation-exemptions")
    status = {(r["id"], r["namespace"]): r["status"] for r in json.loads(out)["results"]}
    assert status[("AD303", "argo")] == "warn" and status[("AD203", "team-a")] == "exempt"
    _, _, err = cli("check", "--snapshot", snap, "--config", config, "--checks", "AD1*")
    assert "matched no finding" not in err  # AD2 did not run: nothing to say about its exemptions
