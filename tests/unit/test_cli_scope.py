"""Scoping and flags as kubectl users expect them (issue 13): -n filters the report, a namespace that
does not exist is one error line, --workflow-namespace adds one without workflows, global flags go
before or after the command, --request-timeout takes durations."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from argodoctor.cli import build_parser
from argodoctor.cli.options import duration as _duration

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "seed-broken"


def results(out: str) -> list[dict]:
    return json.loads(out)["results"]


def test_namespace_flag_limits_the_report_to_that_namespace_and_the_cluster_wide(cli):
    code, out, _ = cli("check", "--snapshot", EXAMPLE, "-o", "json")
    everything = results(out)
    assert {r["namespace"] for r in everything} == {None, "argo", "team-a"} and code == 1
    code, out, _ = cli("check", "--snapshot", EXAMPLE, "-o", "json", "-n", "argo")
    scoped = results(out)
    assert {r["namespace"] for r in scoped} == {None, "argo"}
    assert scoped == [r for r in everything if r["namespace"] in (None, "argo")]
    assert code == 0  # team-a's failures are outside the scope, and so is the exit code


def test_a_namespace_that_does_not_exist_is_one_error_line(cli):
    for flag in ("-n", "--namespace", "--workflow-namespace"):
        code, out, err = cli("check", "--snapshot", EXAMPLE, flag, "tema-a")
        assert code == 2 and out == "" and err == "argodoctor: namespace tema-a does not exist (did you mean team-a?)\n"


def test_workflow_namespace_judges_a_namespace_without_workflows(cli, tmp_path):
    snap = tmp_path / "snap"
    snap.mkdir()
    for f in EXAMPLE.glob("*.yaml"):
        (snap / f.name).write_text(f.read_text())
    (snap / "new.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: new-team\n")
    _, out, _ = cli("check", "--snapshot", snap, "-o", "json", "--checks", "AD301")
    assert "new-team" not in {r["namespace"] for r in results(out)}
    _, out, _ = cli("check", "--snapshot", snap, "-o", "json", "--checks", "AD301", "--workflow-namespace", "new-team")
    [r] = [r for r in results(out) if r["namespace"] == "new-team"]
    assert r["status"] == "fail" and "ServiceAccount new-team/default" in r["message"]


def test_global_flags_before_or_after_the_command():
    p = build_parser()
    for argv in (["-v", "--no-color", "--kubeconfig", "k", "--context", "c", "check"],
                 ["check", "-v", "--no-color", "--kubeconfig", "k", "--context", "c"],
                 ["-v", "--kubeconfig", "k", "check", "--no-color", "--context", "c"]):
        a = p.parse_args(argv)
        assert (a.verbose, a.no_color, a.kubeconfig, a.context) == (True, True, "k", "c"), argv
    a = p.parse_args(["list"])
    assert (a.verbose, a.no_color, a.kubeconfig, a.as_user, a.as_groups) == (False, False, None, None, [])
    a = p.parse_args(["report", "show", "x.json", "-v"])
    assert a.verbose is True
    a = p.parse_args(["check", "--as", "system:serviceaccount:argodoctor:argodoctor", "--as-group", "g1",
                      "--as-group", "g2"])
    assert (a.as_user, a.as_groups) == ("system:serviceaccount:argodoctor:argodoctor", ["g1", "g2"])


@pytest.mark.parametrize("text,seconds", [("30", 30.0), ("2.5", 2.5), ("30s", 30.0), ("1m", 60.0),
                                          ("1m30s", 90.0), ("500ms", 0.5), ("1h", 3600.0), ("1.5s", 1.5)])
def test_request_timeout_takes_durations(text, seconds):
    assert _duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["0", "0s", "-1s", "30x", "s", "", "1m-2s", "inf"])
def test_request_timeout_rejects_what_is_no_positive_duration(text, capsys):
    with pytest.raises(ValueError):
        _duration(text)
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["check", f"--request-timeout={text}"])
    assert exit_.value.code == 2 and "--request-timeout: invalid duration" in capsys.readouterr().err


def test_role_for_check_and_fix_with_its_binding(cli):
    import yaml

    from argodoctor.k8s.rbac import Evaluator, Request, service_account

    code, out, _ = cli("role", "--service-account", "argodoctor/argodoctor")
    role, crb = yaml.safe_load_all(out)
    assert code == 0 and role["kind"] == "ClusterRole" and crb["kind"] == "ClusterRoleBinding"
    assert crb["roleRef"]["name"] == role["metadata"]["name"] == "argodoctor-reader"
    sa = service_account("argodoctor", "argodoctor")
    ev = Evaluator([], [role], [], [crb])
    assert ev.allows(sa, Request("list", "secrets", ""))
    assert not ev.allows(sa, Request("patch", "configmaps", "argo"))
    code, out, _ = cli("role", "--for", "fix", "--service-account", "ops/fixer", "-o", "json")
    doc = json.loads(out)
    roles = [o for o in doc["items"] if o["kind"] == "ClusterRole"]
    crbs = [o for o in doc["items"] if o["kind"] == "ClusterRoleBinding"]
    assert [r["metadata"]["name"] for r in roles] == ["argodoctor-fixer", "argodoctor-fixer-grants"]
    ev = Evaluator([], roles, [], crbs)
    sa = service_account("ops", "fixer")
    for verb, resource, group in (("patch", "configmaps", ""), ("create", "secrets", ""),
                                  ("delete", "rolebindings", "rbac.authorization.k8s.io"),
                                  ("create", "customresourcedefinitions", "apiextensions.k8s.io"),
                                  ("list", "workflows", "argoproj.io")):
        assert ev.allows(sa, Request(verb, resource, "argo", group=group)), (verb, resource)
    for verb, resource, group in (("bind", "clusterroles", "rbac.authorization.k8s.io"),
                                  ("escalate", "clusterroles", "rbac.authorization.k8s.io"),
                                  ("update", "configmaps", ""), ("delete", "secrets", "")):
        assert not ev.allows(sa, Request(verb, resource, "argo", group=group)), (verb, resource)
    code, _, _ = cli("role", "-o", "json")
    assert code == 0
