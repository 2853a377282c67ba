"""Workflows that really run (issue 26 item 1): Argo's real workflow-controller v3.7.18 makes the pods, the
scheduler puts them on the tests' kubelet (tests/kubelet.py), which runs Argo's real executor (argoexec
v3.7.18, built by build.sh) in them: the init container copies argoexec and the template into
/var/run/argo, the main container's emissary runs the user's command and tars its output, the wait
container uploads the artifact and the log to versitygw with the keys of the mounted Secret and writes
its WorkflowTaskResult as the pod's ServiceAccount, by the token of a TokenRequest."""
from __future__ import annotations

import io
import json
import tarfile
import threading
import time
import urllib.parse

import pytest
import yaml

from ..conftest import manifests
from ..harness import ArgoController, install_argo_crds, wait_for
from ..kubelet import on_real_node

pytestmark = pytest.mark.integration

WF = "/apis/argoproj.io/v1alpha1/namespaces/{ns}/workflows"
REPOSITORY = {"archiveLogs": True, "s3": {
    "bucket": "argo-bucket", "endpoint": "minio.argo.svc:9000", "insecure": True,
    "accessKeySecret": {"name": "minio", "key": "accesskey"}, "secretKeySecret": {"name": "minio", "key": "secretkey"}}}
EXECUTOR_ROLE = [{"apiGroups": ["argoproj.io"], "resources": ["workflowtaskresults"], "verbs": ["create", "patch"]}]


def artifact_workflow(name: str, script: str = "echo hello world | tee /tmp/hello_world.txt",
                      path: str = "/tmp/hello_world.txt") -> dict:
    """The seed's artifacts workflow: one step whose file is an output artifact (its log is archived when
    the repository says archiveLogs: true)."""
    return on_real_node({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": name},
        "spec": {"entrypoint": "main", "templates": [{
            "name": "main",
            "container": {"image": "alpine:3.20", "command": ["sh", "-c"], "args": [script]},
            "outputs": {"artifacts": [{"name": "hello-art", "path": path}]}}]}})


def submit(cp, ns: str, wf: dict) -> float:
    cp.api("POST", WF.format(ns=ns), wf)
    return time.monotonic()


def get_wf(cp, ns: str, name: str) -> dict:
    return cp.get(f"{WF.format(ns=ns)}/{name}") or {}


def wait_phase(plane, ns: str, name: str, timeout: float = 120, phases=("Succeeded", "Failed", "Error")) -> dict:
    def done():
        wf = get_wf(plane.cp, ns, name)
        return wf if (wf.get("status") or {}).get("phase") in phases else None
    return wait_for(done, f"workflow {ns}/{name} in {phases}", timeout=timeout, procs=plane.cp.procs)


def pods_of(cp, ns: str, workflow: str) -> list[dict]:
    sel = urllib.parse.quote(f"workflows.argoproj.io/workflow={workflow}")
    return cp.api("GET", f"/api/v1/namespaces/{ns}/pods?labelSelector={sel}")["items"]


def events_of(cp, ns: str, pod: dict) -> list[dict]:
    sel = urllib.parse.quote(f"involvedObject.uid={pod['metadata']['uid']}")
    return cp.api("GET", f"/api/v1/namespaces/{ns}/events?fieldSelector={sel}")["items"]


def artifacts_of(wf: dict) -> dict[str, dict]:
    """name -> artifact, as the controller recorded them from the WorkflowTaskResult."""
    return {a["name"]: a for n in wf["status"]["nodes"].values() if n.get("type") == "Pod"
            for a in (n.get("outputs") or {}).get("artifacts") or []}


def read_object(s3, bucket: str, key: str) -> bytes:
    r = s3.client().get_object(bucket, key)
    try:
        return r.read()
    finally:
        r.close()
        r.release_conn()


def untar_one(data: bytes) -> bytes:
    """Argo's S3 artifacts are a gzipped tar of the path (archive: default)."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as t:
        (member,) = [m for m in t.getmembers() if m.isfile()]
        return t.extractfile(member).read()


def create(cp, path: str, obj: dict) -> dict:
    return cp.api("POST", path, obj)


def grant_executor(cp, ns: str, sa: str = "default") -> None:
    """Argo v3.7's executor rights (manifests/quick-start: the executor Role)."""
    create(cp, f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "executor"},
        "rules": EXECUTOR_ROLE})
    create(cp, f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": f"executor-{sa}"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "executor"},
        "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": ns}]})


def namespace(cp, ns: str) -> None:
    create(cp, "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    # the serviceaccount controller makes `default`; a pod created before it is rejected
    wait_for(lambda: cp.get(f"/api/v1/namespaces/{ns}/serviceaccounts/default"), f"{ns}/default", timeout=30)


@pytest.fixture(scope="module")
def argo(real_plane):
    """Argo v3.7.18's CRDs, its controller (as a process) configured with the seed's repository at
    minio.argo.svc:9000 (a Service in argo that the kubelet's DNS routes to versitygw), the bucket made,
    team-a with the keys and the executor's rights; team-b without the Secret."""
    cp, s3 = real_plane.cp, real_plane.s3
    install_argo_crds(cp, manifests("v3.7.18"))
    for ns in ("argo", "team-a", "team-b"):
        namespace(cp, ns)
    create(cp, "/api/v1/namespaces/argo/configmaps", {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "workflow-controller-configmap"},
        "data": {"artifactRepository": yaml.safe_dump(REPOSITORY)}})
    create(cp, "/api/v1/namespaces/argo/services", {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "minio"},
        "spec": {"selector": {"app": "minio"}, "ports": [{"port": 9000}]}})
    for ns in ("team-a", "team-b"):
        grant_executor(cp, ns)
    create(cp, "/api/v1/namespaces/team-a/secrets", {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "minio"},
        "stringData": {"accesskey": s3.access_key, "secretkey": s3.secret_key}})
    s3.client().make_bucket("argo-bucket")
    with ArgoController(cp, namespace="argo") as ctl:
        yield real_plane, ctl


def test_the_seeds_artifacts_workflow_really_runs(argo, capsys):
    plane, ctl = argo
    cp, s3 = plane.cp, plane.s3
    mark = cp.audit_mark()
    t0 = submit(cp, "team-a", artifact_workflow("art"))
    wf = wait_phase(plane, "team-a", "art")
    took = time.monotonic() - t0
    assert wf["status"]["phase"] == "Succeeded", json.dumps(wf["status"], indent=1)

    # the pod as the kubelet reported it: init, then main and wait, all exited 0
    (pod,) = pods_of(cp, "team-a", "art")
    st = pod["status"]
    assert st["phase"] == "Succeeded" and pod["spec"]["nodeName"] == "real-node"
    states = {c["name"]: c["state"]["terminated"] for c in st["initContainerStatuses"] + st["containerStatuses"]}
    assert set(states) == {"init", "main", "wait"}
    assert all(t["exitCode"] == 0 and t["reason"] == "Completed" for t in states.values()), states
    reasons = [(e["reason"], e["message"]) for e in events_of(cp, "team-a", pod)]
    assert ("Started", "Started container main") in reasons and ("Created", "Created container: wait") in reasons

    # the artifact and the main container's log, under the keys Argo chose (<workflow>/<pod>/...)
    arts = artifacts_of(wf)
    assert set(arts) == {"hello-art", "main-logs"}, arts
    key = arts["hello-art"]["s3"]["key"]
    assert key == "art/art/hello-art.tgz"
    assert untar_one(read_object(s3, "argo-bucket", key)) == b"hello world\n"
    log = read_object(s3, "argo-bucket", arts["main-logs"]["s3"]["key"]).decode()
    assert "hello world" in log

    # the executor acted as the pod's ServiceAccount (its TokenRequest token), not as the admin
    writers = {(e["user"]["username"], e["verb"]) for e in cp.audit_events(mark)
               if e["objectRef"].get("resource") == "workflowtaskresults" and e["verb"] in ("create", "patch")}
    assert ("system:serviceaccount:team-a:default", "create") in writers, writers
    assert all(u == "system:serviceaccount:team-a:default" for u, _ in writers), writers
    with capsys.disabled():
        keys = sorted(a["s3"]["key"] for a in arts.values())
        print(f"\n[real executor] workflow art Succeeded in {took:.1f}s (submit to phase); objects {keys}")


def test_two_pods_at_once_keep_their_own_fixed_paths(argo):
    """Both write /tmp/hello_world.txt and run argoexec in /var/run/argo at the same time: each pod's
    mount namespaces keep them apart, so each artifact holds its own workflow's text."""
    plane, _ = argo
    cp, s3 = plane.cp, plane.s3
    names = ["par-1", "par-2", "par-3"]
    threads = [threading.Thread(target=submit, args=(cp, "team-a", artifact_workflow(
        n, f"echo {n} > /tmp/hello_world.txt; sleep 1"))) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for n in names:
        wf = wait_phase(plane, "team-a", n)
        assert wf["status"]["phase"] == "Succeeded", wf["status"].get("message")
        key = artifacts_of(wf)["hello-art"]["s3"]["key"]
        assert untar_one(read_object(s3, "argo-bucket", key)) == f"{n}\n".encode()


def test_a_failing_main_container_fails_the_pod_and_the_workflow(argo):
    plane, _ = argo
    cp = plane.cp
    submit(cp, "team-a", artifact_workflow("fails", "echo about to fail; exit 3"))
    wf = wait_phase(plane, "team-a", "fails")
    (pod,) = pods_of(cp, "team-a", "fails")
    main = next(c for c in pod["status"]["containerStatuses"] if c["name"] == "main")["state"]["terminated"]
    assert pod["status"]["phase"] == "Failed"
    assert main["exitCode"] == 3 and main["reason"] == "Error"
    assert wf["status"]["phase"] == "Failed"
    node = wf["status"]["nodes"]["fails"]
    assert node["message"] == "main: Error (exit code 3)", node  # the controller names the container


def test_a_missing_secret_is_the_kubelets_failed_mount_and_the_pod_waits(argo):
    """team-b has no `minio` Secret: the kubelet cannot set up the secret volume Argo mounts at
    /argo/secret/minio (FailedMount, retried; the pod stays Pending, its containers waiting
    PodInitializing); once the Secret exists the next retry mounts it and the workflow runs."""
    plane, _ = argo
    cp, s3 = plane.cp, plane.s3
    submit(cp, "team-b", artifact_workflow("nosecret"))

    def failed_mount():
        pods = pods_of(cp, "team-b", "nosecret")
        return pods and [e for e in events_of(cp, "team-b", pods[0]) if e["reason"] == "FailedMount"]
    (event,) = wait_for(failed_mount, "the FailedMount event", timeout=60, procs=cp.procs)
    assert event["type"] == "Warning" and event["source"] == {"component": "kubelet", "host": "real-node"}
    assert event["message"] == 'MountVolume.SetUp failed for volume "minio" : secret "minio" not found'
    time.sleep(2)
    (pod,) = pods_of(cp, "team-b", "nosecret")
    assert pod["status"]["phase"] == "Pending"
    waiting = {c["name"]: c["state"]["waiting"]["reason"]
               for c in pod["status"]["initContainerStatuses"] + pod["status"]["containerStatuses"]}
    assert waiting == {"init": "PodInitializing", "main": "PodInitializing", "wait": "PodInitializing"}
    assert get_wf(cp, "team-b", "nosecret")["status"]["phase"] == "Running"

    create(cp, "/api/v1/namespaces/team-b/secrets", {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "minio"},
        "stringData": {"accesskey": s3.access_key, "secretkey": s3.secret_key}})
    wf = wait_phase(plane, "team-b", "nosecret")
    assert wf["status"]["phase"] == "Succeeded", wf["status"].get("message")
    assert cp.get(f"/api/v1/namespaces/team-b/events/{event['metadata']['name']}")["count"] >= 2


def test_the_pods_security_context_sets_the_process_ids(argo):
    """spec.securityContext (Argo copies it into the pod) runs the containers as that user and group;
    Argo's executor works as non-root (the emissary's files in /var/run/argo, the artifact upload)."""
    plane, _ = argo
    cp, s3 = plane.cp, plane.s3
    wf = artifact_workflow("ids", "echo $(id -u):$(id -g) > /tmp/hello_world.txt")
    wf["spec"]["securityContext"] = {"runAsUser": 1234, "runAsGroup": 2345, "runAsNonRoot": True}
    submit(cp, "team-a", wf)
    done = wait_phase(plane, "team-a", "ids")
    assert done["status"]["phase"] == "Succeeded", done["status"].get("message")
    key = artifacts_of(done)["hello-art"]["s3"]["key"]
    assert untar_one(read_object(s3, "argo-bucket", key)) == b"1234:2345\n"
