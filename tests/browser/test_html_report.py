"""The HTML report in a real browser: Debian's headless Chromium, driven over the Chrome DevTools Protocol.

Asserts the page logs no console error and raises no exception, that the filter box and the status
checkboxes hide and show rows, and writes a screenshot to tests/artifacts/html-report.png (copied to
docs/html-report.png for the README when ARGODOCTOR_UPDATE_DOCS=1).
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
import websocket  # websocket-client, installed with kubernetes

from argodoctor.engine.model import Result, Status
from argodoctor.report.formats import render
from argodoctor.report.report import Report

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "tests" / "artifacts"
IN_CI = os.environ.get("CI", "").lower() == "true"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--remote-debugging-port=0"]


def _chromium() -> str | None:
    for candidate in (os.environ.get("ARGODOCTOR_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


class Page:
    """One page target, over a flattened CDP session on the browser's websocket."""

    def __init__(self, ws: Any, session: str):
        self.ws, self.session, self.next_id = ws, session, 0
        self.events: list[dict[str, Any]] = []

    def _read(self) -> dict[str, Any]:
        msg = json.loads(self.ws.recv())
        if "method" in msg and msg.get("sessionId") == self.session:
            self.events.append(msg)
        return msg

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        mid = self.next_id
        self.ws.settimeout(30)
        self.ws.send(json.dumps({"id": mid, "sessionId": self.session, "method": method, "params": params}))
        while True:
            msg = self._read()
            if msg.get("id") == mid:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    def wait_for(self, method: str, timeout: float = 20) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        seen = len(self.events)
        while time.monotonic() < deadline:
            for ev in self.events[seen:]:
                if ev["method"] == method:
                    return ev
            seen = len(self.events)
            self.ws.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                self._read()
            except websocket.WebSocketTimeoutException:
                pass  # the loop checks the deadline
        raise TimeoutError(f"no {method} within {timeout}s")

    def pump(self, seconds: float) -> None:
        """Read events for a while (late errors, timers)."""
        try:
            self.wait_for("argodoctor.never", timeout=seconds)
        except TimeoutError:
            pass

    def evaluate(self, expression: str) -> Any:
        res = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in res:
            raise RuntimeError(f"evaluate {expression!r}: {res['exceptionDetails']}")
        return res["result"].get("value")

    def open(self, url: str) -> None:
        self.events.clear()
        self.send("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")
        self.pump(0.5)

    def console_errors(self) -> list[str]:
        errors = []
        for ev in self.events:
            p = ev.get("params", {})
            if ev["method"] == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                errors.append("console." + p["type"] + ": " + " ".join(str(a.get("value", a.get("description")))
                                                                        for a in p.get("args", [])))
            elif ev["method"] == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails", {})
                errors.append("exception: " + str(d.get("exception", {}).get("description") or d.get("text")))
            elif ev["method"] == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                e = p["entry"]
                errors.append(f"log ({e.get('source')}): {e.get('text')} {e.get('url', '')}".strip())
        return errors


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    exe = _chromium()
    if exe is None:
        reason = "chromium is not installed (tests/run.sh installs it as root: apt-get install chromium)"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    profile = Path(tempfile.mkdtemp(prefix="argodoctor-chromium-"))
    log = (tmp_path_factory.mktemp("chromium") / "chromium.log").open("wb")
    proc = subprocess.Popen([exe, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    ws = None
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and len(port_file.read_text().splitlines()) >= 2):
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail(f"chromium did not start (exit {proc.poll()}): {Path(log.name).read_text()[-2000:]}")
            time.sleep(0.05)
        port, path = port_file.read_text().splitlines()[:2]
        ws = websocket.create_connection(f"ws://127.0.0.1:{port}{path}", timeout=30, suppress_origin=True)

        def browser_call(mid: int, method: str, **params: Any) -> dict[str, Any]:
            ws.send(json.dumps({"id": mid, "method": method, "params": params}))
            while True:
                msg = json.loads(ws.recv())
                if msg.get("id") == mid:
                    if "error" in msg:
                        raise RuntimeError(f"{method}: {msg['error']}")
                    return msg["result"]

        target = browser_call(1, "Target.createTarget", url="about:blank")["targetId"]
        session = browser_call(2, "Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        page = Page(ws, session)
        for domain in ("Page", "Runtime", "Log"):
            page.send(f"{domain}.enable")
        yield page
    finally:
        if ws is not None:
            try:
                ws.send(json.dumps({"id": 999999, "method": "Browser.close"}))
            except Exception:
                pass
            ws.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()
        shutil.rmtree(profile, ignore_errors=True)


def _report() -> Report:
    def r(id_, slug, status, message, group, ns=None, obj=None, rem=None, severity="error"):
        return Result(id_, slug, status, message, severity=severity, namespace=ns, object=obj, remediation=rem,
                      group=group)

    results = [
        r("AD100", "doctor-permissions", Status.PASS, "argodoctor can list every kind its checks read", "doctor"),
        r("AD101", "crds-installed", Status.PASS, "all 8 Argo CRDs of v3.7 are installed and Established", "install"),
        r("AD102", "controller-running", Status.PASS, "Deployment argo/workflow-controller is Available (1/1)",
          "install", "argo", "Deployment/workflow-controller"),
        r("AD104", "version-skew", Status.WARN, 'executor image "quay.io/argoproj/argoexec:v3.6.2" is v3.6.2, the '
          "controller v3.7.18", "install", "argo", "ConfigMap/workflow-controller-configmap", "set-executor-image",
          "warning"),
        r("AD201", "artifact-repository-configured", Status.PASS, "s3 bucket argo-bucket, endpoint minio:9000",
          "artifacts", "team-a", "ConfigMap/workflow-controller-configmap"),
        r("AD203", "artifact-secret-resolves", Status.FAIL, 'secret "minio" not found in team-a; it exists only in '
          "argo <Argo mounts it into each workflow pod> & so it must exist in the workflow's namespace\n"
          "(s3.accessKeySecret, s3.secretKeySecret)", "artifacts", "team-a", "Secret/minio", "copy-artifact-secret"),
        r("AD203", "artifact-secret-resolves", Status.PASS, "Secret argo/minio has accesskey, secretkey", "artifacts",
          "argo", "Secret/minio"),
        r("AD204", "artifact-endpoint-reachable", Status.SKIP, "live only: snapshot mode", "object-store"),
        r("AD205", "artifact-credentials-valid", Status.ERROR, 'S3 error: <Error><Code>"Timeout"</Code></Error> '
          "after 10s", "object-store"),
        r("AD301", "workflow-sa-exists", Status.FAIL, "ServiceAccount team-b/argo-workflow does not exist", "rbac",
          "team-b", "ServiceAccount/argo-workflow", "create-service-account"),
        r("AD302", "workflow-sa-rbac", Status.PASS, "team-a/default may create and patch workflowtaskresults",
          "rbac", "team-a", "ServiceAccount/default"),
        r("AD303", "workflow-sa-overprivileged", Status.WARN, "team-a/default is bound to ClusterRole cluster-admin "
          "by ClusterRoleBinding/everything", "rbac", "team-a", "ServiceAccount/default", "replace-broad-binding",
          "warning"),
        r("AD401", "executor-runtime-compatible", Status.SKIP, "v3.4+: emissary is the only executor", "executor"),
        r("AD402", "executor-config-obsolete", Status.PASS, "no containerRuntimeExecutor key", "executor", "argo",
          "ConfigMap/workflow-controller-configmap"),
    ]
    return Report("kind-argo", "v3.7.18", "2026-03-11T09:00:00Z", 2.4, results)


def _history() -> list[dict]:
    """Ten past runs, the day before this report's back to ten days before."""
    runs = []
    for day in range(1, 11):
        fail = max(0, 5 - day // 2)
        runs.append({"started": f"2026-03-{day:02d}T09:00:00Z",
                     "summary": {"pass": 6 + day // 2, "warn": 2 + day % 2, "fail": fail, "skip": 2,
                                 "error": 1 if day in (3, 7) else 0}})
    return runs


VISIBLE_ROWS = ("Array.prototype.filter.call(document.querySelectorAll('tr.result'),"
                " function (r) { return r.getClientRects().length > 0; }).length")


def test_harness_catches_console_errors(browser, tmp_path):
    """The check itself works: a page that logs an error, throws and loads a missing image is caught."""
    bad = tmp_path / "bad.html"
    bad.write_text("<!DOCTYPE html><title>bad</title><img src='missing.png' alt=''>"
                   "<script>console.error('boom'); setTimeout(function () { undefinedCall(); }, 0);</script>")
    browser.open(bad.as_uri())
    errors = browser.console_errors()
    assert any("boom" in e for e in errors), errors
    assert any("undefinedCall" in e for e in errors), errors
    assert any("missing.png" in e for e in errors), errors


def screenshot(browser, width: int, name: str) -> bytes:
    """The whole page laid out `width` px wide, as tests/artifacts/NAME (and docs/NAME with
    ARGODOCTOR_UPDATE_DOCS=1, for the README)."""
    browser.send("Emulation.setDeviceMetricsOverride", width=width, height=600, deviceScaleFactor=1,
                 mobile=width < 600)
    browser.pump(0.2)
    height = browser.send("Page.getLayoutMetrics")["cssContentSize"]["height"]
    browser.send("Emulation.setDeviceMetricsOverride", width=width, height=int(min(max(height, 600), 6000)),
                 deviceScaleFactor=1, mobile=width < 600)
    browser.pump(0.2)
    png = base64.b64decode(browser.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"])
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / name).write_bytes(png)
    if os.environ.get("ARGODOCTOR_UPDATE_DOCS"):  # refresh the README's screenshots on request only
        shutil.copyfile(ARTIFACTS / name, REPO / "docs" / name)
    return png


def test_html_report_in_chromium(browser, tmp_path):
    report = _report()
    page_file = tmp_path / "report.html"
    page_file.write_text(render(report, "html", history=_history()), encoding="utf-8")
    browser.open(page_file.as_uri())

    assert browser.console_errors() == []
    assert browser.evaluate("document.title").startswith("argodoctor: 2 failed, 1 could not run, 2 warned")
    total = len(report.results)
    failing = sum(1 for r in report.results if r.status in (Status.FAIL, Status.ERROR, Status.WARN))
    # it opens on the failures: only fail, error and warn rows show, failures first in each group
    assert browser.evaluate(VISIBLE_ROWS) == failing
    assert browser.evaluate("document.querySelector('tr.result:not([hidden])').getAttribute('data-status')") == "warn"
    assert browser.evaluate("document.querySelector('section.group[data-group=artifacts] tr.result')"
                            ".getAttribute('data-status')") == "fail"
    assert browser.evaluate("document.querySelectorAll('.history svg rect').length") > 10
    # text is text: the message's markup shows literally
    assert "<Argo mounts it into each workflow pod> &" in browser.evaluate(
        "document.querySelector('tr.result[data-status=fail] td.msg').textContent")
    screenshot(browser, 1400, "html-report.png")

    # a card is a filter: clicking "pass" shows the passing rows too, and the state is in the URL
    browser.evaluate("document.querySelector('button.card.pass').click()")
    passing = sum(1 for r in report.results if r.status == Status.PASS)
    assert browser.evaluate(VISIBLE_ROWS) == failing + passing
    assert browser.evaluate("document.querySelector('button.card.pass').getAttribute('aria-pressed')") == "true"
    assert "pass" in browser.evaluate("decodeURIComponent(location.hash)")
    # every status on: all rows
    browser.evaluate("['skip','exempt'].forEach(function (s) { document.querySelector('button.card.' + s).click(); })")
    assert browser.evaluate(VISIBLE_ROWS) == total

    # typing into the filter box keeps only the matching rows (every word must match)
    browser.evaluate("document.getElementById('filter').focus()")
    browser.send("Input.insertText", text="team-a")
    team_a = sum(1 for r in report.results if r.namespace == "team-a")
    assert browser.evaluate(VISIBLE_ROWS) == team_a
    assert browser.evaluate("document.getElementById('shown').textContent") == str(team_a)
    browser.send("Input.insertText", text=" secret")
    assert browser.evaluate(VISIBLE_ROWS) == 1
    # a group with no visible row is hidden with it
    assert browser.evaluate("document.querySelector('section.group[data-group=rbac]').getClientRects().length") == 0
    # the URL carries the state: opened again from it, the page shows the same
    state = browser.evaluate("location.hash")
    assert "q=team-a+secret" in state or "q=team-a%20secret" in state
    browser.open("about:blank")  # a new load, not a jump within the page
    browser.open(page_file.as_uri() + state)
    assert browser.evaluate(VISIBLE_ROWS) == 1
    assert browser.evaluate("document.getElementById('filter').value") == "team-a secret"

    # clear the box, then uncheck "pass": the passing rows go
    browser.open("about:blank")
    browser.open(page_file.as_uri() + "#status=pass,warn,fail,skip,exempt,error")
    assert browser.evaluate(VISIBLE_ROWS) == total
    browser.evaluate("document.querySelector('input[data-status=pass]').click()")
    assert browser.evaluate(VISIBLE_ROWS) == total - passing
    assert browser.evaluate("document.querySelector('section.group[data-group=doctor]').getClientRects().length") == 0
    # nothing matches: the "no result" note shows
    browser.evaluate("document.getElementById('filter').focus()")
    browser.send("Input.insertText", text="no-such-thing")
    assert browser.evaluate(VISIBLE_ROWS) == 0
    assert browser.evaluate("document.getElementById('none').getClientRects().length") > 0
    browser.pump(0.3)
    assert browser.console_errors() == []


def test_html_report_at_420_px_and_in_dark_mode(browser, tmp_path):
    report = _report()
    page_file = tmp_path / "report.html"
    page_file.write_text(render(report, "html", history=_history()), encoding="utf-8")
    browser.open(page_file.as_uri())
    screenshot(browser, 420, "html-report-420.png")
    # a phone's width: nothing wider than the screen, rows as cards, the failures still first
    assert browser.evaluate("document.documentElement.scrollWidth") <= 420
    assert browser.evaluate("getComputedStyle(document.querySelector('thead')).display") == "none"
    assert browser.evaluate("document.querySelector('tr.result:not([hidden])').getAttribute('data-status')") == "warn"
    light = browser.evaluate("getComputedStyle(document.body).backgroundColor")
    browser.send("Emulation.setEmulatedMedia", features=[{"name": "prefers-color-scheme", "value": "dark"}])
    browser.pump(0.2)
    dark = browser.evaluate("getComputedStyle(document.body).backgroundColor")
    assert light == "rgb(255, 255, 255)" and dark == "rgb(13, 17, 23)", (light, dark)
    screenshot(browser, 1400, "html-report-dark.png")
    browser.send("Emulation.setEmulatedMedia", features=[{"name": "prefers-color-scheme", "value": "light"}])
    assert browser.console_errors() == []
