"""A third-party plugin written against the import paths of before the layout (issue 24) still loads
and runs: `argodoctor.model` and `argodoctor.context` stay as re-exports of argodoctor.engine."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PLUGIN = '''
from argodoctor.context import Context
from argodoctor.model import Check, Plan, Remediation, Status


class OldPathCheck(Check):
    id = "AD990"
    slug = "old-path-plugin"
    title = "a plugin written against argodoctor.model and argodoctor.context"
    group = "plugins"
    reads = ("Namespace",)
    remediation = "old-path-fix"

    def run(self, ctx: Context):
        names = sorted(ns["metadata"]["name"] for ns in ctx.view.list("Namespace"))
        yield self.result(Status.FAIL, f"saw {len(names)} namespaces")


class OldPathFix(Remediation):
    id = "old-path-fix"
    title = "nothing, planned"
    fixes = ("AD990",)

    def plan(self, ctx: Context) -> Plan:
        return Plan(self.id)
'''


def test_a_plugin_importing_the_old_paths_is_listed_and_runs(tmp_path):
    (tmp_path / "oldplugin.py").write_text(PLUGIN)
    dist = tmp_path / "oldplugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: oldplugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[argodoctor.checks]\nAD990 = oldplugin:OldPathCheck\n\n"
                                           "[argodoctor.remediations]\nold-path-fix = oldplugin:OldPathFix\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    listed = subprocess.run([sys.executable, "-m", "argodoctor", "list", "-o", "json"], env=env,
                            capture_output=True, text=True, check=True)
    doc = json.loads(listed.stdout)
    assert "AD990" in [c["id"] for c in doc["checks"]]
    assert "old-path-fix" in [r["id"] for r in doc["remediations"]]
    ran = subprocess.run([sys.executable, "-m", "argodoctor", "check", "--snapshot",
                          str(ROOT / "examples" / "seed-broken"), "--checks", "AD990", "-o", "json"],
                         env=env, capture_output=True, text=True)
    assert ran.returncode == 1, ran.stderr
    (result,) = json.loads(ran.stdout)["results"]
    assert result["id"] == "AD990" and result["status"] == "fail" and result["message"].startswith("saw ")
