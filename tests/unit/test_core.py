"""The engine on snapshot fixtures: runner, CLI, Argo domain, redaction, planning."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from argodoctor.remediations.copy_artifact_secret import CopyArtifactSecret

from argodoctor import argo
from argodoctor.engine.model import Check, Status
from argodoctor.engine.runner import run_checks
from argodoctor.fix.fixer import render_plan
from argodoctor.view.cluster import SnapshotView, digest, redact_secret

from .builders import configmap, context, controller, controller_configmap, crds, secret, seed_objects, workflow

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "seed-broken"


# ---- runner
class Boom(Check):
    id, slug, group, title = "AD900", "boom", "doctor", "raises"

    def run(self, ctx):
        raise ValueError("kaput")


class NeedsBoom(Check):
    id, slug, group, title = "AD901", "needs-boom", "doctor", "requires AD900"
    requires = ("AD900",)

    def run(self, ctx):
        yield self.passed("ran")


class Fine(Check):
    id, slug, group, title = "AD902", "fine", "doctor", "passes"

    def run(self, ctx):
        yield self.passed("ok")


def test_a_raising_check_is_an_error_and_the_run_goes_on():
    res = {r.id: r for r in run_checks([Boom, NeedsBoom, Fine], context())}
    assert res["AD900"].status == Status.ERROR and "AD900 could not run: ValueError: kaput" in res["AD900"].message
    assert res["AD901"].status == Status.SKIP and res["AD901"].message == "blocked: AD900 boom is error"
    assert res["AD902"].status == Status.PASS


def test_a_check_runs_as_soon_as_what_it_requires_is_done_not_after_a_whole_wave():
    import threading

    released = threading.Event()

    class SlowProbe(Check):  # an S3 probe waiting on the network
        id, slug, group, title = "AD903", "slow", "doctor", "waits"
        live_only = True

        def run(self, ctx):
            yield self.passed("released") if released.wait(10) else self.failed("still waiting")

    class Quick(Check):
        id, slug, group, title = "AD904", "quick", "doctor", "passes"

        def run(self, ctx):
            yield self.passed("ok")

    class AfterQuick(Check):
        id, slug, group, title = "AD905", "after-quick", "doctor", "requires AD904 only"
        requires = ("AD904",)

        def run(self, ctx):
            released.set()
            yield self.passed("ran")

    ctx = context()
    ctx.view.live = True  # threads, as against a cluster
    res = {r.id: r for r in run_checks([SlowProbe, Quick, AfterQuick], ctx)}
    assert res["AD903"].message == "released" and res["AD905"].status == Status.PASS


def test_live_only_checks_skip_on_snapshots():
    from argodoctor.checks.doctor import DoctorPermissions

    [r] = run_checks([DoctorPermissions], context())
    assert r.status == Status.SKIP and "live access" in r.message


# ---- CLI
def test_check_json_on_the_example_is_the_catalog_schema(cli):
    code, out, err = cli("check", "--snapshot", EXAMPLE, "-o", "json")
    assert code == 1 and err == ""
    doc = json.loads(out)
    assert list(doc) == ["argodoctor", "schema", "cluster", "argo_version", "started", "duration_s", "summary",
                         "results"]
    assert doc["schema"] == 3
    assert doc["argo_version"] == "v3.7.18" and doc["cluster"] == str(EXAMPLE)
    assert list(doc["summary"]) == ["pass", "warn", "fail", "skip", "exempt", "error"]
    assert sum(doc["summary"].values()) == len(doc["results"])
    for r in doc["results"]:
        assert list(r) == ["id", "slug", "status", "severity", "namespace", "object", "message",
                           "remediation", "docs", "location", "exemption", "symptoms"]
        assert r["docs"] == f"https://github.com/argodoctor/argodoctor/blob/main/docs/checks.md#{r['id'].lower()}"
        assert r["location"] is None and r["exemption"] is None  # read from files as a cluster; none exempted
    assert any(r["id"] == "AD203" and r["status"] == "fail" and r["namespace"] == "team-a"
               for r in doc["results"])


def test_check_table_output_and_selection(cli):
    code, out, _ = cli("check", "--snapshot", EXAMPLE, "--checks", "AD201,AD203")
    assert code == 1
    assert "artifacts" in out and "AD100" not in out and "AD501" not in out
    assert "✖ AD203 artifact-secret-resolves team-a Secret/minio" in out
    assert "fix: argodoctor fix copy-artifact-secret" in out
    assert "3 pass, 0 warn, 1 fail, 0 skip, 0 exempt, 0 error" in out


def test_exit_codes(cli, tmp_path):
    good = tmp_path / "good.yaml"
    import yaml

    good.write_text(yaml.safe_dump_all(seed_objects() + crds() + [secret("minio", "team-a", accesskey="a",
                                                                         secretkey="s")]))
    assert cli("check", "--snapshot", good, "--checks", "AD2*")[0] == 0
    assert cli("check", "--snapshot", EXAMPLE)[0] == 1
    assert cli("check", "--snapshot", tmp_path / "nope")[0] == 2


def test_fail_on_warn(cli, tmp_path):
    class Warns(Check):
        id, slug, group, title = "AD903", "warns", "doctor", "warns"

        def run(self, ctx):
            yield self.warned("hmm")

    from argodoctor.report.report import Report

    rep = Report("x", None, "now", 0.0, run_checks([Warns], context()))
    assert rep.exit_code("fail") == 0 and rep.exit_code("warn") == 1


def test_bad_snapshot_yaml_is_one_line(cli, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: ConfigMap\nmetadata: [unclosed\n")
    code, _, err = cli("check", "--snapshot", bad)
    assert code == 2 and "not valid YAML/JSON at line" in err and len(err.strip().splitlines()) == 1


def test_help_explains_every_flag(cli):
    import contextlib
    import io

    from argodoctor.cli import build_parser

    parser = build_parser()
    for cmd in ("check", "fix", "snapshot"):
        sub = parser._subparsers._group_actions[0].choices[cmd]
        for action in sub._actions:
            assert action.help, f"{cmd} {action.option_strings} has no help"
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf), pytest.raises(SystemExit):
            parser.parse_args([cmd, "--help"])
        assert "examples" in buf.getvalue() or cmd == "snapshot"


def test_list_names_every_check_and_remediation(cli):
    code, out, _ = cli("list")
    assert code == 0
    for ident in ("AD100", "doctor-permissions", "AD201", "AD203", "copy-artifact-secret"):
        assert ident in out


def test_list_as_json_and_yaml(cli):
    import json

    import yaml

    code, out, _ = cli("list", "-o", "json")
    doc = json.loads(out)
    assert code == 0 and [c["id"] for c in doc["checks"]] == sorted(c["id"] for c in doc["checks"])
    ad203 = next(c for c in doc["checks"] if c["id"] == "AD203")
    assert ad203["slug"] == "artifact-secret-resolves" and ad203["remediation"] == "copy-artifact-secret"
    rbb = next(r for r in doc["remediations"] if r["id"] == "replace-broad-binding")
    assert rbb["destructive"] is True and rbb["fixes"]
    code, out, _ = cli("list", "-o", "yaml")
    assert code == 0 and yaml.safe_load(out) == doc


def test_help_and_list_import_nothing_heavy():
    """`--help` and `list` start fast (issue 11): no YAML, HTTP, rich or kubernetes client at import."""
    import subprocess
    import sys

    probe = ("import sys\nfrom argodoctor import cli\nfrom argodoctor.engine import registry\n"
             "registry.all_checks(); registry.all_remediations()\n"
             "heavy = ('yaml', 'urllib3', 'rich', 'kubernetes', 'minio', 'importlib.metadata', 'urllib.request', "
             "'ssl', 'socket', 'uuid')\n"
             "print(sorted(m for m in heavy if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_fix_needs_ids_or_all(cli):
    code, _, err = cli("fix")
    assert code == 2 and "--all" in err


# ---- Argo domain
def test_versions():
    assert argo.image_version("quay.io/argoproj/workflow-controller:v3.7.18") == argo.Version(3, 7, 18)
    assert argo.image_version("localhost:5000/argoexec:v3.4.0-rc1") == argo.Version(3, 4, 0)
    assert argo.image_version("argoproj/workflow-controller:latest") is None
    assert argo.image_version("localhost:5000/argoexec") is None
    assert argo.parse_version("3.5") == argo.Version(3, 5, 0)


def test_controller_flags_and_version_override():
    c = argo.find_controller([controller("v3.2.11", "wf", ["--configmap=my-cm", "--executor-image", "x:v1"])])
    assert c.namespace == "wf" and c.configmap_name == "my-cm" and c.flag("--executor-image") == "x:v1"
    assert str(context(controller("v3.2.11")).version) == "v3.2.11"
    assert str(context(controller("v3.2.11"), argo_version="v3.6.0").version) == "v3.6.0"


def test_config_forms():
    keys = argo.parse_controller_config(controller_configmap(form="keys"))
    conf = argo.parse_controller_config(controller_configmap(form="config"))
    assert keys.form == "keys" and conf.form == "config" and keys.settings == conf.settings
    mixed = argo.parse_controller_config(configmap("c", "argo", {"config": "a: 1", "b": "2"}))
    assert mixed.form == "mixed" and "mixed with other keys (b)" in mixed.problems[0].message
    broken = argo.parse_controller_config(configmap("c", "argo", {"config": "a: [1,\nb: 2\n"}))
    assert broken.problems[0].line is not None and "not valid YAML" in broken.problems[0].message


def test_workflow_service_accounts():
    ctx = context(controller(), controller_configmap(workflowDefaults={"spec": {"serviceAccountName": "wf-sa"}}),
                  workflow("team-a", serviceAccountName="runner"), workflow("team-a", "other"),
                  workflow("team-b", kind="CronWorkflow", serviceAccountName="cron-sa"))
    pods = {ns: set(sas) for ns, sas in ctx.identities.pods.items()}
    # workflowDefaults' SA only where an object names none (team-a/other) or nothing exists yet (argo)
    assert pods == {"argo": {"wf-sa"}, "team-a": {"wf-sa", "runner"}, "team-b": {"cron-sa"}}
    ctx = context(controller(), workflow("team-a"))
    assert {ns: set(sas) for ns, sas in ctx.identities.pods.items()} == {"argo": {"default"}, "team-a": {"default"}}


# ---- secrets never kept
def test_secret_values_become_digests_that_keep_emptiness():
    s = redact_secret(secret("minio", "argo", accesskey="AKIA-real", secretkey=""))
    assert s["data"]["accesskey"].startswith("hmac:") and s["data"]["secretkey"] == ""
    assert "AKIA" not in json.dumps(s)
    assert digest(s["data"]["accesskey"]) == s["data"]["accesskey"]  # idempotent on snapshots
    s2 = redact_secret({"kind": "Secret", "metadata": {"name": "x", "annotations": {
        "kubectl.kubernetes.io/last-applied-configuration": '{"stringData":{"k":"leak"}}'}},
        "stringData": {"k": "leak"}})
    assert "leak" not in json.dumps(s2)


def test_snapshot_view_reads_lists_and_multi_documents(tmp_path):
    (tmp_path / "a.yaml").write_text("kind: List\nitems:\n- {kind: Namespace, metadata: {name: x}}\n---\n"
                                     "kind: Namespace\nmetadata: {name: y}\n")
    (tmp_path / "b.json").write_text('{"kind": "Namespace", "metadata": {"name": "z"}}')
    view = SnapshotView(str(tmp_path))
    assert sorted(n["metadata"]["name"] for n in view.list("Namespace")) == ["x", "y", "z"]


# ---- planning
def test_copy_artifact_secret_plan_redacts_and_targets_team_a():
    plan = CopyArtifactSecret().plan(context(*seed_objects(), workflow("team-b")))
    assert [(a.namespace, a.name) for a in plan.actions] == [("team-a", "minio"), ("team-b", "minio")]
    text = render_plan(plan)
    assert "+  accesskey: <redacted>" in text and "argodoctor.io/copied-from: argo/minio" in text


def test_copy_artifact_secret_notes_what_it_cannot_do():
    plan = CopyArtifactSecret().plan(context(controller(), controller_configmap(), workflow("team-a")))
    assert plan.actions == [] and "create it by hand" in plan.notes[0]


def test_wheel_keeps_plugins_under_argodoctor(tmp_path):
    import subprocess
    import sys

    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
                   check=True)
    [wheel] = tmp_path.glob("argodoctor-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert tops == {"argodoctor", next(t for t in tops if t.endswith(".dist-info"))}
    assert "argodoctor/checks/artifacts.py" in names and "argodoctor/remediations/copy_artifact_secret.py" in names
    assert "argodoctor/argo/identities.py" in names  # the argo package, not only its parent
    assert "argodoctor/argo/config-tree-v3.7.18.json" in names  # go_decode's generated tree
    assert "argodoctor/docs/checks.md" in names  # for `argodoctor explain`
    assert any(n.endswith("licenses/LICENSE") or n.endswith("/LICENSE") for n in names)
    eps = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(eps).decode()
    assert "[argodoctor.checks]" in text and "AD203 = argodoctor.checks.artifacts:SecretResolves" in text
    assert "kubectl-argodoctor = argodoctor.cli:entry" in text


def test_entry_points_read_as_importlib_metadata_reads_them():
    """registry.entry_points reads entry_points.txt itself (start-up time); it must find what
    importlib.metadata finds, for argodoctor's groups and for a crowded one (console_scripts)."""
    from importlib.metadata import entry_points

    from argodoctor.engine import registry

    for group in (registry.CHECK_GROUP, registry.REMEDIATION_GROUP, "console_scripts"):
        expected = sorted((ep.name, ep.value) for ep in entry_points(group=group))
        assert sorted(registry.entry_points(group)) == expected and expected, group


def test_the_docs_url_is_pyprojects_documentation_url_and_docs_url_moves_every_link(cli):
    import json
    import re

    from argodoctor.engine.model import DOCS_URL

    [documentation] = re.findall(r'^Documentation = "(.*)"$', (ROOT / "pyproject.toml").read_text(), re.M)
    assert documentation == DOCS_URL
    try:
        code, out, _ = cli("check", "--snapshot", ROOT / "examples" / "seed-broken", "-o", "json",
                           "--docs-url", "https://wiki.example.com/argodoctor/")
        assert {r["docs"] for r in json.loads(out)["results"]} >= {"https://wiki.example.com/argodoctor#ad203"}
    finally:
        from argodoctor.engine.model import set_docs_url

        set_docs_url(DOCS_URL)
