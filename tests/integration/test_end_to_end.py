"""Issue 5 end to end on the fuller control plane: from an empty cluster to a working Argo with one
`fix --all`, and from the seed's broken v3.2.11 state (docker executor on containerd) to a working
executor."""
from __future__ import annotations

import base64
import json

from argodoctor.fix.manifests import apply_manifests, load_manifests
from argodoctor.view.kube import Kube

from ..conftest import manifests
from .test_foundation import ns_obj, writes


def results(cli, *argv: str) -> dict[tuple[str, str | None], dict]:
    code, out, err = cli("check", *argv, "-o", "json")
    assert code in (0, 1), err
    return {(r["id"], r["namespace"]): r for r in json.loads(out)["results"]}


def test_empty_cluster_to_working_argo_with_fix_all(full_control_plane, s3_server, cli, tmp_path):
    cp = full_control_plane
    kc = str(cp.kubeconfig())
    kube = Kube(kc)
    cp.add_node("node-1", "containerd://1.7.0")
    base = ("--kubeconfig", kc, "--s3-endpoint", s3_server.endpoint, "--workflow-namespace", "team-a")
    apply_manifests(kube, [ns_obj("team-a")])  # the team's namespace exists; nothing of Argo does

    before = results(cli, *base)
    status = {k: r["status"] for k, r in before.items()}
    assert status[("AD101", None)] == "fail" and status[("AD102", "argo")] == "fail"
    assert status[("AD103", "argo")] == "fail"
    assert not [k for k, s in status.items() if s == "error"]
    dependent = [r for (cid, _), r in before.items() if cid[:3] in ("AD2", "AD3", "AD4", "AD5")]
    assert dependent and all(r["status"] == "skip" and r["message"] for r in dependent), dependent

    # Storage for MinIO's claim, as a cluster's provisioner would give it.
    apply_manifests(kube, [{"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pv-1"},
                            "spec": {"capacity": {"storage": "20Gi"}, "accessModes": ["ReadWriteOnce"],
                                     "hostPath": {"path": str(tmp_path / "pv")}}}])
    # The S3 stand-in cannot learn keys MinIO would generate: hand deploy-object-store the store's
    # credentials Secret, as a user bringing their own keys would (it then keeps them).
    keys = {"accesskey": s3_server.access_key, "secretkey": s3_server.secret_key}
    apply_manifests(kube, [ns_obj("argo"), ns_obj("team-a"), {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "minio", "namespace": "argo"},
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in keys.items()}}])
    bucket = "argo-artifacts"

    # fix runs as a user holding nothing but `argodoctor role --for fix` (impersonated with --as): the
    # roles printed are the roles needed; with --manifests they hold the rights of Argo's own roles, which
    # install-argo may create only so, as it holds neither escalate nor bind (issue 31 item 5).
    code, out, _ = cli("role", "--for", "fix", "--manifests", str(manifests("v3.7.18")), "-o", "json")
    roles = json.loads(out)["items"]
    assert not {v for r in roles for rule in r["rules"] for v in rule["verbs"]} & {"escalate", "bind"}
    apply_manifests(kube, roles + [{
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": f"{r['kind']}Binding",
        "metadata": {k: v for k, v in r["metadata"].items() if k in ("name", "namespace")},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": r["kind"], "name": r["metadata"]["name"]},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "fixer"}]} for r in roles])
    code, out, err = cli("fix", "--all", "--yes", *base, "--as", "fixer", "--backup-dir", tmp_path,
                         "--manifests", str(manifests("v3.7.18")))
    assert "failed:" not in out and "forbidden" not in out + err, out + err
    for step in ("install-argo", "deploy-object-store", "configure-artifact-repository", "create-bucket",
                 "grant-workflow-rbac"):
        assert f"{step}: " in out and f"{step}: nothing to do" not in out, step
    assert s3_server.client().bucket_exists(bucket)
    cp.wait_deployment_available("argo", "workflow-controller")
    cp.wait_deployment_available("argo", "minio")

    after = results(cli, *base)
    bad = {k: r for k, r in after.items() if r["status"] in ("fail", "error")}
    assert bad == {}, bad
    skips = {k: r["message"] for k, r in after.items() if r["status"] == "skip"}
    assert all(skips.values()), skips
    assert after[("AD501", "team-a")]["status"] == "pass"  # kwok runs MinIO's pod behind the Service

    mark = cp.audit_mark()
    code, out, err = cli("fix", "--all", "--yes", *base, "--backup-dir", tmp_path,
                         "--manifests", str(manifests("v3.7.18")))
    assert writes(cp.audit_events(mark)) == [], out


def test_seed_v3_2_docker_executor_on_containerd_is_switched(full_control_plane, cli, tmp_path):
    cp = full_control_plane
    kc = str(cp.kubeconfig())
    kube = Kube(kc)
    cp.add_node("node-1", "containerd://1.7.0")
    cp.add_node("node-2", "cri-o://1.28.1")
    apply_manifests(kube, [ns_obj("argo")])
    apply_manifests(kube, load_manifests(manifests("v3.2.11").read_text()), namespace="argo")
    cp.wait_deployment_available("argo", "workflow-controller")
    r = results(cli, "--kubeconfig", kc, "--checks", "AD401")[("AD401", "argo")]
    assert r["status"] == "fail" and "node-1 (containerd://1.7.0), node-2 (cri-o://1.28.1)" in r["message"]

    code, out, err = cli("fix", "--all", "--yes", "--kubeconfig", kc, "--backup-dir", tmp_path,
                         "--manifests", str(manifests("v3.2.11")))
    assert "set-executor: " in out and "failed:" not in out, out
    dep = kube.request("GET", "/apis/apps/v1/namespaces/argo/deployments/workflow-controller")
    assert "argodoctor.io/restartedAt" in dep["spec"]["template"]["metadata"]["annotations"]
    cp.wait_deployment_available("argo", "workflow-controller")
    res = results(cli, "--kubeconfig", kc, "--checks", "AD401,AD403")
    assert res[("AD401", "argo")]["status"] == "pass" and "emissary" in res[("AD401", "argo")]["message"]
    assert res[("AD403", "argo")]["status"] == "pass"
