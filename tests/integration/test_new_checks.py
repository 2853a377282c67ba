"""Issue 12's checks on the real apiserver (the fuller control plane, whose token controller fills the
service-account-token Secrets argodoctor creates): executor and agent tokens (AD304), agent and
artifact-GC rights (AD305), and executor pods under Pod Security "restricted" (AD404); their
remediations leave each passing, and a second run writes nothing."""
from __future__ import annotations

import json

from argodoctor.fix.manifests import apply_manifests, load_manifests
from argodoctor.view.kube import Kube

from ..conftest import manifests
from ..harness import wait_for
from .test_foundation import ns_obj, writes

CHECKS = "AD304,AD305,AD404"


def verdicts(cli, kc: str) -> dict[tuple[str, str | None, str | None], dict]:
    code, out, err = cli("check", "--kubeconfig", kc, "--checks", CHECKS, "-o", "json")
    assert code in (0, 1), err
    return {(r["id"], r["namespace"], r["object"]): r for r in json.loads(out)["results"]}


def test_tokens_feature_rights_and_pod_security_are_fixed(full_control_plane, cli, tmp_path):
    cp = full_control_plane
    kc = str(cp.kubeconfig())
    kube = Kube(kc)
    cp.add_node("node-1", "containerd://1.7.0")
    restricted = ns_obj("team-a")
    restricted["metadata"]["labels"] = {"pod-security.kubernetes.io/enforce": "restricted"}
    apply_manifests(kube, [ns_obj("argo"), restricted])
    apply_manifests(kube, load_manifests(manifests("v3.7.18").read_text()), namespace="argo")
    cp.wait_deployment_available("argo", "workflow-controller")
    apply_manifests(kube, [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": n, "namespace": "team-a"}}
        for n in ("runner", "exec")] + [
        {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "w", "namespace": "team-a"},
         "spec": {"entrypoint": "main", "serviceAccountName": "runner", "executor": {"serviceAccountName": "exec"},
                  "artifactGC": {"strategy": "OnWorkflowDeletion"},
                  "templates": [{"name": "main", "container": {"image": "alpine", "command": ["true"]}},
                                {"name": "call", "http": {"url": "http://example.invalid"}}]}}])

    before = verdicts(cli, kc)
    failing = {k for k, r in before.items() if r["status"] == "fail"}
    assert ("AD304", "team-a", "Secret/exec.service-account-token") in failing, before
    assert ("AD304", "team-a", "Secret/runner.service-account-token") in failing  # the agent pod's token
    assert ("AD305", "team-a", "ServiceAccount/runner") in failing  # agent: workflowtasksets
    assert ("AD305", "team-a", "ServiceAccount/default") in failing  # artifact GC runs as default
    assert ("AD404", "team-a", "Namespace/team-a") in failing

    fixes = ("create-sa-token-secret", "grant-workflow-rbac", "set-executor-security-context")
    code, out, err = cli("fix", *fixes, "--yes", "--kubeconfig", kc, "--backup-dir", str(tmp_path))
    assert code in (0, 1) and "failed:" not in out, out + err
    secret = wait_for(lambda: (s := kube.request("GET", "/api/v1/namespaces/team-a/secrets/exec.service-account-token"))
                      .get("data", {}).get("token") and s, "the token controller to fill the Secret",
                      procs=cp.procs)
    assert secret["type"] == "kubernetes.io/service-account-token"
    assert secret["data"]["token"] not in out + err  # written by Kubernetes, never printed

    after = verdicts(cli, kc)
    bad = {k: r["message"] for k, r in after.items() if r["status"] != "pass"}
    assert bad == {}, bad

    mark = cp.audit_mark()
    cli("fix", *fixes, "--yes", "--kubeconfig", kc, "--backup-dir", str(tmp_path))
    assert writes(cp.audit_events(mark)) == []
