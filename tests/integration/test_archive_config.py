"""AD701 against the real workflow-controller v3.7.18 as the oracle (issue 27): a persistence block the
controller cannot use stops it with the words AD701 quotes, and one it can use (up to opening the
database, which this plane does not run) gets past the table name and the Secrets."""
from __future__ import annotations

import json
import time

import pytest
import yaml

from ..conftest import manifests
from ..harness import ArgoController, ControlPlane, install_argo_crds

pytestmark = pytest.mark.integration

POSTGRES = {"host": "127.0.0.1", "port": 1, "database": "argo", "tableName": "argo_workflows",
            "userNameSecret": {"name": "argo-postgres-config", "key": "username"},
            "passwordSecret": {"name": "argo-postgres-config", "key": "password"}}


def _config(cp: ControlPlane, persistence: dict) -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "workflow-controller-configmap", "namespace": "argo"},
            "data": {"config": yaml.safe_dump({"persistence": persistence})}}
    if cp.get("/api/v1/namespaces/argo/configmaps/workflow-controller-configmap"):
        cp.api("PUT", "/api/v1/namespaces/argo/configmaps/workflow-controller-configmap", body)
    else:
        cp.api("POST", "/api/v1/namespaces/argo/configmaps", body)


def _controller_says(cp: ControlPlane, words: tuple[str, ...], timeout: float = 60) -> str:
    ctl = ArgoController(cp, namespace="argo")
    ctl.start()
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            log = ctl.log()
            if any(w in log for w in words) or ctl.process.proc.poll() is not None:
                return log
            time.sleep(0.3)
        return ctl.log()
    finally:
        ctl.stop()


def _ad701(cli, cp: ControlPlane) -> dict:
    code, out, _ = cli("check", "--kubeconfig", str(cp.kubeconfig()), "--argo-version", "v3.7.18", "--checks",
                       "AD701", "-o", "json")
    (r,) = json.loads(out)["results"]
    return r


def test_the_real_controller_agrees_with_ad701(own_control_plane, cli):
    cp = own_control_plane
    install_argo_crds(cp, manifests("v3.7.18"))
    cp.api("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "argo"}})

    _config(cp, {"archive": True})  # no database at all
    r = _ad701(cli, cp)
    assert r["status"] == "fail" and "TableName is empty" in r["message"]
    assert "Failed to update config: TableName is empty" in _controller_says(cp, ("Failed to update config",))

    _config(cp, {"archive": True, "postgresql": POSTGRES})  # the Secret is nowhere
    r = _ad701(cli, cp)
    assert r["status"] == "fail" and "does not hold" in r["message"]
    log = _controller_says(cp, ("Failed to update config",))
    assert 'Failed to update config: secrets \\"argo-postgres-config\\" not found' in log  # (logfmt escapes)

    cp.api("POST", "/api/v1/namespaces/argo/secrets", {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "argo-postgres-config", "namespace": "argo"},
        "stringData": {"username": "argo", "password": "pw"}})
    assert _ad701(cli, cp)["status"] == "pass"
    log = _controller_says(cp, ("Failed to update config",))  # past the table name and Secrets: the database
    assert "TableName is empty" not in log and "argo-postgres-config" not in log, log[-600:]
