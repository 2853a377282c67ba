"""AD208 on the real apiserver: a credential stored with a trailing newline (`echo KEY | base64`) is named,
its value never printed; recreated from a literal, it passes."""
from __future__ import annotations

import base64
import json

import pytest
import yaml

from ..conftest import manifests
from ..harness import ControlPlane, install_argo_crds

pytestmark = pytest.mark.integration

REPO = {"s3": {"bucket": "b", "endpoint": "minio:9000", "insecure": True,
               "accessKeySecret": {"name": "minio", "key": "accesskey"},
               "secretKeySecret": {"name": "minio", "key": "secretkey"}}}


def test_trailing_newline_in_a_live_secret(own_control_plane: ControlPlane, cli):
    cp = own_control_plane
    install_argo_crds(cp, manifests("v3.7.18"))
    cp.api("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "argo"}})
    cp.api("POST", "/api/v1/namespaces/argo/configmaps", {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "workflow-controller-configmap"},
        "data": {"artifactRepository": yaml.safe_dump(REPO)}})
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "minio"},
              "data": {"accesskey": base64.b64encode(b"AKIALIVEEXAMPLE\n").decode(),
                       "secretkey": base64.b64encode(b"wJalrLIVE").decode()}}
    cp.api("POST", "/api/v1/namespaces/argo/secrets", secret)
    kc = str(cp.kubeconfig())
    code, out, err = cli("check", "--kubeconfig", kc, "--checks", "AD208", "--argo-version", "v3.7.18", "-o", "json")
    results = [r for r in json.loads(out)["results"] if r["id"] == "AD208"]
    assert [r["status"] for r in results] == ["fail", "pass"], results
    assert "accesskey (s3.accessKeySecret) ends in a newline" in results[0]["message"]
    assert "AKIALIVEEXAMPLE" not in out + err and secret["data"]["accesskey"] not in out + err

    secret["data"]["accesskey"] = base64.b64encode(b"AKIALIVEEXAMPLE").decode()
    cp.api("PUT", "/api/v1/namespaces/argo/secrets/minio", secret)
    code, out, err = cli("check", "--kubeconfig", kc, "--checks", "AD208", "--argo-version", "v3.7.18", "-o", "json")
    assert [r["status"] for r in json.loads(out)["results"] if r["id"] == "AD208"] == ["pass", "pass"]
