"""Bad command-line input is one line on stderr and exit 2, before any work is done; never a traceback."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

SEED = str(Path(__file__).resolve().parents[2] / "examples" / "seed-broken")


@pytest.mark.parametrize("argv,says", [
    (["--output-file", "/nonexistent/dir/r.json"], "directory /nonexistent/dir does not exist"),
    (["--output-file", "/tmp"], "is a directory; give a file name"),
    (["--report-to", "file:///nonexistent/x/r.json"], "directory /nonexistent/x does not exist"),
    (["--config", "/bin/ls"], "is not text (a binary file?)"),
])
def test_one_line_exit_2(argv, says, cli):
    code, out, err = cli("check", "--snapshot", SEED, *argv)
    assert code == 2 and len(err.strip().splitlines()) == 1 and says in err, err


def test_non_string_config_keys(cli, tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("exemptions:\n- {1: a, check: AD3*, reason: r}\n")
    code, _, err = cli("check", "--snapshot", SEED, "--config", str(cfg))
    assert code == 2 and "unknown field(s) 1" in err and len(err.strip().splitlines()) == 1


def test_a_zero_timeout_is_a_usage_error(cli):
    with pytest.raises(SystemExit) as e:
        cli("check", "--snapshot", SEED, "--request-timeout", "0")
    assert e.value.code == 2


def test_report_show_of_something_that_is_not_a_report(cli, tmp_path):
    f = tmp_path / "list.json"
    f.write_text("[1, 2]")
    code, _, err = cli("report", "show", str(f))
    assert code == 2 and "is JSON but not an argodoctor report" in err


def test_explain_prints_the_docs_section_and_suggests_on_a_typo(cli):
    code, out, _ = cli("explain", "AD203")
    assert code == 0 and out.startswith("AD203\n") and "What you see" in out and "## AD204" not in out
    code, out, _ = cli("explain", "workflow-sa-rbac")
    assert code == 0 and out.startswith("AD302\n")
    code, _, err = cli("explain", "AD2033")
    assert code == 2 and "did you mean AD203?" in err


def test_did_you_mean_for_check_ids_slugs_and_remediations(cli):
    code, _, err = cli("check", "--snapshot", SEED, "--checks", "AD2033")
    assert code == 2 and "did you mean AD203?" in err
    code, _, err = cli("check", "--snapshot", SEED, "--checks", "artifact-secret-resolve")
    assert code == 2 and "did you mean artifact-secret-resolves?" in err
    code, _, err = cli("fix", "copy-artifact-secrets", "--dry-run", "--kubeconfig", "/nonexistent")
    assert code == 2 and "did you mean copy-artifact-secret?" in err


def test_the_default_table_puts_failures_first_and_rolls_passes_up(cli):
    code, out, _ = cli("check", "--snapshot", SEED)
    artifacts = out.split("\nartifacts\n")[1].split("\n\n")[0].splitlines()
    assert artifacts[0].lstrip().startswith("✖ AD203")  # the failure before the passes of its group
    assert any("AD201 artifact-repository-configured: pass in 2 namespaces" in line for line in artifacts)
    code, wide, _ = cli("check", "--snapshot", SEED, "-o", "wide")
    assert wide.count("AD201 artifact-repository-configured") == 2  # one line per namespace
    code, shown, _ = cli("check", "--snapshot", SEED, "--show", "passed")
    assert shown.count("AD201 artifact-repository-configured") == 2


def test_only_filters_every_format_but_not_the_exit_code(cli):
    code, out, _ = cli("check", "--snapshot", SEED, "--only", "failed,warn", "-o", "json")
    statuses = {r["status"] for r in json.loads(out)["results"]}
    assert code == 1 and statuses == {"fail", "warn"}
    code, out, _ = cli("check", "--snapshot", SEED, "--only", "pass", "-o", "json")
    assert code == 1 and {r["status"] for r in json.loads(out)["results"]} == {"pass"}


# Issue 32: an integer longer than Python converts (4,300 digits) stopped the load with a ValueError (exit 3).
def test_an_integer_of_thousands_of_digits_loads_and_is_judged_by_its_field(cli, tmp_path):
    big = "9" * 5000
    yaml_file = tmp_path / "big.yaml"
    yaml_file.write_text("apiVersion: v1\nkind: Service\nmetadata: {name: minio, namespace: argo}\n"
                         f"spec: {{ports: [{{port: {big}}}]}}\nextra: {big}\n")
    json_file = tmp_path / "big.json"
    json_file.write_text('{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "argo"},'
                         f'"data": {{}}, "n": {big}}}')
    for args in (("--snapshot", str(yaml_file)), ("--snapshot", str(json_file)),
                 ("-f", str(yaml_file), "--offline")):
        for fmt in ("table", "json", "sarif", "html", "markdown", "junit"):
            code, out, err = cli("check", *args, "-o", fmt)
            assert code in (0, 1) and "internal error" not in err, (args, fmt, err)
    from argodoctor.view.cluster import SnapshotView

    view = SnapshotView(str(yaml_file))
    assert view.list("Service") == []  # held back by the parse boundary, naming the field
    assert view.malformed["Service"] == [("argo", "Service/minio", "spec.ports[0].port: expected a number, got a "
                                          "string")]
    (cm,) = SnapshotView(str(json_file)).list("ConfigMap")
    assert cm["n"] == "9" * 5000  # an unread field keeps its digits


# Issue 32: lone surrogates (JSON \ud800..\udfff) reached the writers: exit 3 in -o table, html, markdown, sarif.
def test_lone_surrogates_become_replacement_characters_every_format_writes(cli, tmp_path):
    import shutil

    snap = tmp_path / "snap"
    shutil.copytree(Path(__file__).resolve().parents[2] / "examples" / "seed-broken", snap)
    (snap / "zz.json").write_text(
        '{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",'
        ' "metadata": {"name": "s", "namespace": "team-a"}, "status": {"phase": "Failed", "message": "x\\udfffy"},'
        ' "spec": {"entrypoint": "m", "serviceAccountName": "bad\\ud800sa",'
        ' "templates": [{"name": "m", "container": {"image": "a"}}]}}]}')
    for fmt in ("table", "wide", "json", "yaml", "junit", "sarif", "markdown", "html", "prometheus"):
        code, out, err = cli("check", "--snapshot", str(snap), "-o", fmt)
        assert code == 1 and "internal error" not in err, (fmt, err)
    code, out, err = cli("diagnose", "--failed", "--since", "876000h", "--snapshot", str(snap))
    assert code == 1 and "x\ufffdy" in out, err


# Issue 32: nulls where checks read a mapping (each crashed a check: `error` naming AttributeError).
@pytest.mark.parametrize("obj", [
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "minio", "namespace": "argo"}, "spec": None},
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
     "metadata": {"name": "r", "namespace": "team-a"}, "roleRef": None,
     "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "team-a"}]},
    {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"}, "status": {"nodeInfo": None}},
    {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"},
     "status": {"nodeInfo": {"containerRuntimeVersion": None}}},
], ids=["service-spec-null", "rolebinding-roleref-null", "node-nodeinfo-null", "node-runtime-null"])
def test_a_null_where_a_check_reads_a_mapping_is_no_crash(obj):
    from argodoctor.engine.registry import select_checks
    from argodoctor.engine.runner import run_checks

    from .builders import context, controller, controller_configmap, secret, workflow

    for version in ("v3.7.18", "v3.2.11"):  # v3.2: the docker executor, AD401 reads the nodes' runtimes
        objs = [controller(version), controller_configmap(), secret("minio", "argo", accesskey="a", secretkey="s"),
                workflow("team-a"), obj]
        for r in run_checks(select_checks(None), context(*objs)):
            assert not (r.status == "error" and "Error" in r.message), (r.id, r.message)
