"""User YAML inside objects is loaded with bounds (argodoctor.view.safe_yaml): an alias bomb, deep nesting or a
recursive alias in one tenant's ConfigMap yields one finding naming it, quickly, and the rest of the
report is unaffected."""
from __future__ import annotations

import time

import pytest

from argodoctor import argo
from argodoctor.engine.registry import select_checks
from argodoctor.engine.runner import run_checks
from argodoctor.view import safe_yaml

from .builders import configmap, context, controller, controller_configmap, workflow

ANNOTATION = "workflows.argoproj.io/default-artifact-repository"


def bomb(levels: int) -> str:
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\ns3: {bucket: b, endpoint: minio:9000}\n"


@pytest.mark.parametrize("text,why", [
    (bomb(9), "expands to more than"),
    ("[" * 500 + "]" * 500, "nests deeper than"),  # (libyaml itself refuses past 1,000)
    ("&a [*a]", "recursive"),
    ("x: " + "y" * (2 << 20), "larger than"),
])
def test_refused_with_the_reason(text, why):
    with pytest.raises(safe_yaml.TooComplex, match=why):
        safe_yaml.load(text)


def test_aliases_within_bounds_are_fine():
    assert safe_yaml.load("a: &x {b: 1}\nc: *x") == {"a": {"b": 1}, "c": {"b": 1}}


def test_alias_bomb_in_a_tenant_namespace_is_one_finding_and_fast():
    hostile = configmap("artifact-repositories", "team-b", {"r": bomb(9)}, {ANNOTATION: "r"})
    objs = [controller(), controller_configmap(), hostile, workflow("team-a"), workflow("team-b")]
    t0 = time.monotonic()
    res = {r.namespace: r for r in run_checks(select_checks(["AD202"]), context(*objs))}
    assert time.monotonic() - t0 < 5  # not a timed target: a guard against the exponential walk
    assert res["team-a"].status == "pass" and res["argo"].status == "pass"
    r = res["team-b"]
    assert r.status == "fail" and "too large or too deep to judge" in r.message
    assert len(r.message) < 1000


def test_alias_bomb_in_the_controller_config_is_a_config_problem():
    cm = controller_configmap()
    cm["data"]["workflowDefaults"] = bomb(9)
    config = argo.parse_controller_config(cm)
    assert [p.key for p in config.problems] == ["workflowDefaults"]
    assert "too large or too deep to judge" in config.problems[0].message


def test_configmap_data_of_the_wrong_shape_is_a_problem_not_a_crash():
    cm = controller_configmap()
    cm["data"]["parallelism"] = 5  # not text
    config = argo.parse_controller_config(cm)
    assert any("expected YAML text, got a int" in p.message for p in config.problems)
    cm["data"] = ["not", "a", "mapping"]
    assert argo.parse_controller_config(cm).problems[0].key == "data"


def _one_line_exit_2(cli, path) -> str:
    code, out, err = cli("check", "--snapshot", str(path))
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err


def test_snapshot_loader_refuses_fifos_devices_deep_json_and_bombs(cli, tmp_path):
    import os
    d = tmp_path / "snap"
    d.mkdir()
    (d / "ok.yaml").write_text("kind: Namespace\nmetadata: {name: a}\n")
    os.mkfifo(d / "x.yaml")
    assert "is not a regular file (a FIFO or device?)" in _one_line_exit_2(cli, d)
    assert "is not a regular file or a directory" in _one_line_exit_2(cli, "/dev/null")
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    assert "nests too deeply" in _one_line_exit_2(cli, deep)
    bomb_file = tmp_path / "bomb.yaml"  # 9 levels of 9 aliases: 387 million nodes once expanded
    bomb_file.write_text(bomb(9))
    assert "too large or too deep to read" in _one_line_exit_2(cli, bomb_file)
