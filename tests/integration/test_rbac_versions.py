"""Issue 4: workflow service account rights per Argo version, fixed and proven with the real authorizer."""
from __future__ import annotations

import json

import pytest

from argodoctor.fix.manifests import apply_manifests, load_manifests
from argodoctor.view.kube import Kube

from ..conftest import manifests
from .test_foundation import ns_obj

# What each version's executor needs (docs/workflow-rbac.md of the release), written out here
# independently of argodoctor's own table: (verb, group, resource, subresource).
NEEDS = {
    "v3.2.11": [("get", "", "pods", ""), ("watch", "", "pods", ""), ("patch", "", "pods", ""),
                ("get", "", "pods", "log"), ("watch", "", "pods", "log")],
    "v3.5.15": [("create", "argoproj.io", "workflowtaskresults", ""),
                ("patch", "argoproj.io", "workflowtaskresults", "")],
}
NEEDS["v3.7.18"] = NEEDS["v3.5.15"]
DENIED = [("create", "", "pods", ""), ("list", "", "secrets", "")]


def sar(kube: Kube, ns: str, sa: str, verb: str, group: str, resource: str, sub: str) -> bool:
    body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": {
        "user": f"system:serviceaccount:{ns}:{sa}",
        "groups": ["system:serviceaccounts", f"system:serviceaccounts:{ns}", "system:authenticated"],
        "resourceAttributes": {"verb": verb, "group": group, "resource": resource, "subresource": sub,
                               "namespace": ns}}}
    return kube.request("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", body=body)["status"].get(
        "allowed", False)


def statuses(cli, kc: str, checks: str) -> dict:
    code, out, err = cli("check", "--kubeconfig", kc, "--checks", checks, "-o", "json")
    assert code in (0, 1), err
    return {(r["id"], r["namespace"]): r for r in json.loads(out)["results"]}


@pytest.mark.parametrize("version", sorted(NEEDS))
def test_grant_and_replace_broad_binding(version, fresh_control_plane, cli, tmp_path):
    cp = fresh_control_plane
    kube = Kube(str(cp.kubeconfig()))
    kc = str(cp.kubeconfig())
    apply_manifests(kube, [ns_obj("argo"), ns_obj("team-a")])
    apply_manifests(kube, load_manifests(manifests(version).read_text()), namespace="argo")
    apply_manifests(kube, [
        # what kube-controller-manager would create in each namespace
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": ns}}
        for ns in ("argo", "team-a")] + [
        {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "w", "namespace": "team-a"},
         "spec": {"entrypoint": "m", "templates": [{"name": "m", "container": {"image": "alpine"}}]}}])

    res = statuses(cli, kc, "AD30*")
    r = res[("AD302", "team-a")]
    assert r["status"] == "fail" and r["remediation"] == "grant-workflow-rbac", r
    for verb, _group, resource, sub in NEEDS[version]:
        assert f"{verb} {resource}{'/' + sub if sub else ''}" in r["message"]
    assert version in r["message"]

    code, out, err = cli("fix", "grant-workflow-rbac", "--yes", "--kubeconfig", kc, "--backup-dir", tmp_path)
    assert code == 0, out + err
    for verb, group, resource, sub in NEEDS[version]:
        assert sar(kube, "team-a", "default", verb, group, resource, sub), (verb, resource, sub)
    for verb, group, resource, sub in DENIED:
        assert not sar(kube, "team-a", "default", verb, group, resource, sub), (verb, resource)
    res = statuses(cli, kc, "AD30*")
    assert res[("AD302", "team-a")]["status"] == "pass" and res[("AD303", "team-a")]["status"] == "pass"

    # The seed's method one: kubectl create rolebinding default-admin --clusterrole=admin ...
    apply_manifests(kube, [{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                            "metadata": {"name": "default-admin", "namespace": "team-a"},
                            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                        "name": "admin"},
                            "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "team-a"}]}])
    r = statuses(cli, kc, "AD303")[("AD303", "team-a")]
    assert r["status"] == "warn" and "RoleBinding team-a/default-admin grants ClusterRole admin" in r["message"]

    code, out, err = cli("fix", "replace-broad-binding", "--yes", "--kubeconfig", kc, "--backup-dir", tmp_path)
    assert code == 2 and "--allow-destructive" in err
    code, out, err = cli("fix", "replace-broad-binding", "--yes", "--allow-destructive", "--kubeconfig", kc,
                         "--backup-dir", tmp_path)
    assert code == 0, out + err
    res = statuses(cli, kc, "AD30*")
    assert res[("AD302", "team-a")]["status"] == "pass" and res[("AD303", "team-a")]["status"] == "pass"
    backup = "".join(p.read_text() for p in tmp_path.glob("fix-*.yaml"))
    assert "name: default-admin" in backup  # the before-image lets the user restore it
