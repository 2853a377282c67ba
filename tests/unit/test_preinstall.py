"""check --pre (AD001-AD004, issue 14): the version matrix as Argo documents it, the default
StorageClass, the executor a fresh install of each release runs against the nodes' runtimes."""
from __future__ import annotations

import json

import pytest
import yaml

from argodoctor import argo


@pytest.mark.parametrize("release,kube,verdict", [
    ("v3.4.18", 19, "fail"), ("v3.4.18", 20, "warn"), ("v3.4.18", 21, "pass"), ("v3.4.18", 25, "pass"),
    ("v3.4.18", 30, "pass"), ("v3.5.15", 27, "warn"), ("v3.5.15", 29, "pass"), ("v3.7.18", 30, "warn"),
    ("v3.7.18", 33, "pass"), ("v3.7.18", 35, "pass"), ("v4.1.2", 33, "warn"), ("v4.1.2", 36, "pass"),
    ("v3.0.10", 20, "unknown"), ("v2.12.13", 20, "unknown"),
])
def test_kubernetes_support_follows_each_releases_docs(release, kube, verdict):
    got = argo.kubernetes_support(argo.parse_version(release), kube)
    assert got.verdict == verdict, got.why
    if kube == 35:
        assert "newer than the versions" in got.why and "generally supported" in got.why


def snapshot(tmp_path, objects: list[dict]):
    d = tmp_path / "snap"
    d.mkdir(exist_ok=True)
    (d / "objs.yaml").write_text(yaml.safe_dump_all(objects))
    return d


def node(name: str, runtime: str) -> dict:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
            "status": {"nodeInfo": {"containerRuntimeVersion": runtime}}}


def storage_class(name: str, default: bool = False, beta: bool = False) -> dict:
    key = "storageclass.beta.kubernetes.io/is-default-class" if beta else "storageclass.kubernetes.io/is-default-class"
    return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": name, "annotations": {key: "true"} if default else {}}, "provisioner": "x"}


def results(cli, *args) -> dict[str, dict]:
    code, out, err = cli("check", *args, "--pre", "-o", "json")
    assert code in (0, 1), err
    return {r["id"]: r for r in json.loads(out)["results"]}


def test_pre_runs_only_the_pre_install_checks_and_a_plain_check_none(cli, tmp_path):
    snap = snapshot(tmp_path, [node("n1", "containerd://1.7.0"), storage_class("standard", default=True)])
    got = results(cli, "--snapshot", snap)
    assert sorted(got) == ["AD001", "AD002", "AD003", "AD004"]
    assert got["AD001"]["status"] == got["AD002"]["status"] == "skip"  # live only
    assert got["AD003"]["status"] == "pass" and "standard is the default" in got["AD003"]["message"]
    assert got["AD004"]["status"] == "pass" and "emissary" in got["AD004"]["message"]
    _, out, _ = cli("check", "--snapshot", snap, "-o", "json")
    assert not [r for r in json.loads(out)["results"] if r["id"].startswith("AD0")]


def test_no_default_storage_class_warns_and_the_beta_annotation_counts(cli, tmp_path):
    got = results(cli, "--snapshot", snapshot(tmp_path, [storage_class("slow"), node("n1", "docker://20.10")]))
    assert got["AD003"]["status"] == "warn" and "StorageClasses: slow" in got["AD003"]["message"]
    got = results(cli, "--snapshot", snapshot(tmp_path, [storage_class("old", default=True, beta=True)]))
    assert got["AD003"]["status"] == "pass"


def test_docker_default_of_old_releases_against_the_nodes(cli, tmp_path):
    snap = snapshot(tmp_path, [node("n1", "containerd://1.7.0"), node("n2", "docker://20.10.7")])
    got = results(cli, "--snapshot", snap, "--install-version", "v3.2.11")
    assert got["AD004"]["status"] == "fail" and "n1 (containerd://1.7.0)" in got["AD004"]["message"]
    assert "n2" not in got["AD004"]["message"]
    assert results(cli, "--snapshot", snap, "--install-version", "v3.3.10")["AD004"]["status"] == "pass"
    only_docker = snapshot(tmp_path, [node("n2", "docker://20.10.7")])
    assert results(cli, "--snapshot", only_docker, "--install-version", "v3.1.15")["AD004"]["status"] == "pass"
    with pytest.raises(SystemExit) as exit_:
        cli("check", "--snapshot", snap, "--pre", "--install-version", "latest")
    assert exit_.value.code == 2
