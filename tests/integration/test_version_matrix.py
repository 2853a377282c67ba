"""Issue 5: every Argo release's cluster-install on the fuller control plane (controllers, scheduler,
kwok nodes running containerd), each on a clean state, with the version-correct answers."""
from __future__ import annotations

import json

import pytest

from argodoctor.fix.manifests import apply_manifests, load_manifests
from argodoctor.view.kube import Kube

from ..conftest import MANIFESTS, manifests
from .test_foundation import ns_obj

VERSIONS = sorted((p.name for p in MANIFESTS.glob("v*") if (p / "cluster-install.yaml").exists()),
                  key=lambda v: tuple(int(x) for x in v[1:].split(".")))


def expected(version: str) -> dict[str, str]:
    """The answers each version must get, from the catalog's version model (written out here)."""
    major, minor = (int(x) for x in version[1:].split(".")[:2])
    v = (major, minor)
    return {
        "AD101": "pass", "AD102": "pass",
        "AD302": "fail",  # the namespace's default SA has no rights, whatever the version
        "AD401": "fail" if v <= (3, 2) else "pass" if v == (3, 3) else "skip",  # docker default up to v3.2
        "AD403": "warn" if v <= (3, 2) else "pass",
        "AD402": "fail" if v >= (3, 4) else "pass",  # with an executor key in the configmap
    }


def test_versions_found():
    assert VERSIONS[0] == "v2.12.13" and VERSIONS[-1] == "v4.1.2" and len(VERSIONS) == 10


@pytest.mark.parametrize("version", VERSIONS)
def test_cluster_install(version, full_control_plane, cli):
    cp = full_control_plane
    kc = str(cp.kubeconfig())
    kube = Kube(kc)
    cp.add_node("node-1", "containerd://1.7.0")
    apply_manifests(kube, [ns_obj("argo"), ns_obj("team-a")])
    apply_manifests(kube, load_manifests(manifests(version).read_text()), namespace="argo")
    cp.wait_deployment_available("argo", "workflow-controller")
    apply_manifests(kube, [{"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
                            "metadata": {"name": "w", "namespace": "team-a"},
                            "spec": {"entrypoint": "m", "templates": [{"name": "m", "container": {"image": "a"}}]}}])

    def statuses(ids: str) -> dict[tuple[str, str | None], dict]:
        code, out, err = cli("check", "--kubeconfig", kc, "--checks", ids, "-o", "json")
        assert code in (0, 1), err
        return {(r["id"], r["namespace"]): r for r in json.loads(out)["results"]}

    want = expected(version)
    got = statuses("AD101,AD102,AD302,AD401,AD403")
    by_id = {cid: [r for (i, _), r in got.items() if i == cid] for cid in want}
    assert by_id["AD101"][0]["status"] == "pass", by_id["AD101"]
    assert by_id["AD102"][0]["status"] == "pass", by_id["AD102"]
    assert got[("AD302", "team-a")]["status"] == want["AD302"], got[("AD302", "team-a")]
    assert version in got[("AD302", "team-a")]["message"]
    assert by_id["AD401"][0]["status"] == want["AD401"], by_id["AD401"]
    if want["AD401"] == "fail":
        assert "node-1 (containerd://1.7.0)" in by_id["AD401"][0]["message"]
    assert by_id["AD403"][0]["status"] == want["AD403"], by_id["AD403"]

    # an executor key in the configmap: fatal from v3.4, valid before
    apply_manifests(kube, [{"apiVersion": "v1", "kind": "ConfigMap",
                            "metadata": {"name": "workflow-controller-configmap", "namespace": "argo"},
                            "data": {"containerRuntimeExecutor": "pns"}}])
    r = statuses("AD402")[("AD402", "argo")]
    assert r["status"] == want["AD402"], r
