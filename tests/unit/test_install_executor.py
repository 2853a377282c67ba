"""AD101, AD102, AD104, AD401-AD403 and their remediations' plans, on snapshot fixtures."""
from __future__ import annotations

import yaml
from argodoctor.remediations.set_executor import SetExecutor
from argodoctor.remediations.set_executor_image import SetExecutorImage, matching_image

from argodoctor import argo
from argodoctor.engine.registry import select_checks
from argodoctor.engine.runner import run_checks

from .builders import context, controller, controller_configmap, crds, workflow


def run(ids: str, *objects, **kw):
    return {r.id: r for r in run_checks(select_checks(ids.split(",")), context(*objects, **kw))}


def node(name: str, runtime: str) -> dict:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
            "status": {"nodeInfo": {"containerRuntimeVersion": runtime}}}


def available(dep: dict, ok: bool = True) -> dict:
    dep["status"] = {"replicas": 1, "availableReplicas": int(ok), "conditions": [
        {"type": "Available", "status": "True" if ok else "False", "reason": "MinimumReplicasAvailable"
         if ok else "MinimumReplicasUnavailable"}]}
    return dep


def test_required_crds_follow_the_version():
    assert len(argo.required_crds(argo.Version(2, 12))) == 5
    assert "workflowtasksets.argoproj.io" in argo.required_crds(argo.Version(3, 2))
    assert "workflowtaskresults.argoproj.io" not in argo.required_crds(argo.Version(3, 2))
    assert len(argo.required_crds(argo.Version(3, 4))) == 8 == len(argo.required_crds(None))


def test_ad101_missing_pending_and_not_installed():
    r = run("AD101", controller("v3.7.18"), with_crds=False)["AD101"]
    assert r.status == "fail" and "Argo is not installed" in r.message and r.remediation == "install-argo"
    partial = [c for c in crds() if not c["metadata"]["name"].startswith("workflowtaskresults")]
    r = run("AD101", controller("v3.7.18"), *partial, with_crds=False)["AD101"]
    assert r.status == "fail" and "missing workflowtaskresults.argoproj.io" in r.message
    r = run("AD101", controller("v3.7.18"), *crds(established=False), with_crds=False)["AD101"]
    assert "not Established" in r.message
    # v3.2 needs no workflowtaskresults CRD
    assert run("AD101", controller("v3.2.11"), *partial, with_crds=False)["AD101"].status == "pass"


def test_ad102():
    assert run("AD102")["AD102"].message.startswith("no workflow-controller Deployment")
    assert run("AD102", available(controller()))["AD102"].status == "pass"
    r = run("AD102", available(controller(), ok=False))["AD102"]
    assert r.status == "fail" and "MinimumReplicasUnavailable" in r.message


def test_ad104_and_set_executor_image():
    c = controller("v3.7.18", args=["--executor-image", "quay.io/argoproj/argoexec:v3.5.1"])
    r = run("AD104", c)["AD104"]
    assert r.status == "warn" and "v3.5.1" in r.message and "--executor-image" in r.message
    plan = SetExecutorImage().plan(context(c, controller_configmap()))
    [a] = plan.actions
    args = a.desired["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args == ["--executor-image", "quay.io/argoproj/argoexec:v3.7.18"]
    cm = controller_configmap(executor={"image": "my.registry/argoexec:v3.6.0", "imagePullPolicy": "Always"})
    assert run("AD104", controller("v3.7.18"), cm)["AD104"].status == "warn"
    plan = SetExecutorImage().plan(context(controller("v3.7.18"), cm))
    executor = yaml.safe_load(plan.actions[0].desired["data"]["executor"])
    assert executor == {"image": "my.registry/argoexec:v3.7.18", "imagePullPolicy": "Always"}
    assert plan.actions[1].desired["spec"]["template"]["metadata"]["annotations"]["argodoctor.io/restartedAt"]
    assert run("AD104", controller("v3.7.18"))["AD104"].status == "pass"
    want = "localhost:5000/argoexec:v3.1.2"
    assert matching_image("localhost:5000/argoexec@sha256:ab", argo.Version(3, 1, 2)) == want


def test_executor_in_effect_per_version():
    def ex(version, settings=None, args=None):
        cm = controller_configmap(repo=None, **(settings or {}))
        ctx = context(controller(version, args=args), cm)
        return argo.executors_in_effect(ctx.version, ctx.config, ctx.controller).default
    assert ex("v2.12.13") == "docker" and ex("v3.2.11") == "docker" and ex("v3.3.10") == "emissary"
    assert ex("v3.4.18", {"containerRuntimeExecutor": "docker"}) == "emissary"
    # up to v3.1 the flag wins over the configmap; from v3.2 the configmap wins
    flag = ["--container-runtime-executor", "pns"]
    assert ex("v3.1.15", {"containerRuntimeExecutor": "k8sapi"}, flag) == "pns"
    assert ex("v3.2.11", {"containerRuntimeExecutor": "k8sapi"}, flag) == "k8sapi"
    assert ex("v3.2.11", None, flag) == "pns"


def test_ad401_lists_incompatible_nodes_and_skips_from_v3_4():
    nodes = [node("n1", "containerd://1.7.0"), node("n2", "docker://20.10"), node("n3", "cri-o://1.28")]
    r = run("AD401", controller("v3.2.11"), controller_configmap(), *nodes)["AD401"]
    assert r.status == "fail" and "2 of 3 nodes do not run docker: n1 (containerd://1.7.0), n3 (cri-o://1.28)" \
        in r.message and r.remediation == "set-executor"
    assert run("AD401", controller("v3.2.11"), controller_configmap(containerRuntimeExecutor="pns"),
               *nodes)["AD401"].status == "pass"
    assert run("AD401", controller("v3.2.11"), controller_configmap(), node("d", "docker://20.10"))["AD401"].status \
        == "pass"
    assert run("AD401", controller("v3.5.15"), controller_configmap(), *nodes)["AD401"].status == "skip"


def test_ad401_follows_container_runtime_executors_selectors():
    cm = controller_configmap(containerRuntimeExecutor="pns", containerRuntimeExecutors=[
        {"name": "docker", "selector": {"matchLabels": {argo.EXECUTOR_LABEL: "docker"}}}])
    wf = workflow("team-a", "legacy")
    wf["metadata"]["labels"] = {argo.EXECUTOR_LABEL: "docker"}
    r = run("AD401", controller("v3.1.15"), cm, wf, node("n1", "containerd://1.7.0"))["AD401"]
    assert r.status == "fail" and "Workflow team-a/legacy" in r.message
    assert run("AD401", controller("v3.1.15"), cm, workflow("team-a"), node("n1", "containerd://1.7.0"))[
        "AD401"].status == "pass"
    assert run("AD403", controller("v3.1.15"), cm)["AD403"].status == "warn"


def test_ad402_and_ad403():
    cm = controller_configmap(containerRuntimeExecutor="pns")
    r = run("AD402", controller("v3.4.18"), cm)["AD402"]
    assert r.status == "fail" and 'json: unknown field "containerRuntimeExecutor"' in r.message
    assert r.remediation == "rewrite-controller-config"
    assert run("AD402", controller("v3.3.10"), cm)["AD402"].status == "pass"
    assert run("AD402", controller("v3.7.18"), controller_configmap())["AD402"].status == "pass"
    assert run("AD403", controller("v3.2.11"), controller_configmap())["AD403"].status == "warn"
    assert run("AD403", controller("v3.2.11"), cm)["AD403"].status == "pass"
    assert run("AD403", controller("v3.5.15"), controller_configmap())["AD403"].status == "pass"


def test_set_executor_plans():
    plan = SetExecutor().plan(context(controller("v3.2.11"), controller_configmap(form="config")))
    cm, restart = plan.actions
    assert yaml.safe_load(cm.desired["data"]["config"])["containerRuntimeExecutor"] == "emissary"
    assert "argodoctor.io/restartedAt" in restart.desired["spec"]["template"]["metadata"]["annotations"]
    plan = SetExecutor().plan(context(controller("v3.0.10"), controller_configmap()))
    assert plan.actions[0].desired["data"]["containerRuntimeExecutor"] == "pns"
    # up to v3.1 the flag wins: change the flag
    c = controller("v3.1.15", args=["--container-runtime-executor", "docker"])
    plan = SetExecutor().plan(context(c, controller_configmap()))
    assert plan.actions[0].desired["spec"]["template"]["spec"]["containers"][0]["args"] == [
        "--container-runtime-executor", "emissary"]
    assert SetExecutor().plan(context(controller("v3.2.11"), controller_configmap(
        containerRuntimeExecutor="emissary"))).actions == []
    assert SetExecutor().plan(context(controller("v3.7.18"), controller_configmap())).actions == []


def test_ad103_and_rewrite_controller_config():
    from argodoctor.remediations.rewrite_controller_config import RewriteControllerConfig

    cm = controller_configmap(form="config", parallelism="10", containerRuntimeExecutor="pns")
    res = [r for r in run_checks(select_checks(["AD103"]), context(controller("v3.5.15"), cm))]
    messages = " | ".join(r.message for r in res)
    assert all(r.status == "fail" for r in res) and 'json: unknown field "containerRuntimeExecutor"' in messages
    assert "key containerRuntimeExecutor, line" in messages and "parallelism" in messages
    plan = RewriteControllerConfig().plan(context(controller("v3.5.15"), cm))
    [a] = plan.actions
    config = yaml.safe_load(a.desired["data"]["config"])
    assert "containerRuntimeExecutor" not in config and config["parallelism"] == 10
    assert config["artifactRepository"]["s3"]["bucket"] == "argo-bucket"  # the rest kept
    # per-key form: the key is removed by a merge patch, others untouched
    cm = controller_configmap(containerRuntimeExecutor="pns")
    [a] = RewriteControllerConfig().plan(context(controller("v3.4.18"), cm)).actions
    assert a.remove == [("data", "containerRuntimeExecutor")] and a.desired["data"] == {}
    # before v3.4 the key is valid: nothing to do
    assert RewriteControllerConfig().plan(context(controller("v3.3.10"), cm)).actions == []
    missing = run_checks(select_checks(["AD103"]), context(controller("v3.7.18")))
    assert missing[0].status == "fail" and missing[0].remediation == "install-argo"


def _https_server(directory, tmp_path, monkeypatch):
    """A local HTTPS server of directory's files, with a self-signed certificate the process trusts."""
    import http.server
    import ssl
    import subprocess
    import threading
    from functools import partial

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-days", "1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # ssl.create_default_context's default verify paths
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(
        http.server.SimpleHTTPRequestHandler, directory=str(directory)))
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"https://127.0.0.1:{server.server_address[1]}"


def test_install_argo_reads_manifests_from_a_file_a_dir_or_an_https_url_with_the_pinned_digest(tmp_path,
                                                                                               monkeypatch):
    import hashlib

    import pytest
    from argodoctor.remediations.install_argo import read_manifests

    from argodoctor.engine.context import Options
    from argodoctor.errors import UserError

    from ..conftest import manifests

    src = manifests("v3.3.10")
    sha = hashlib.sha256(src.read_bytes()).hexdigest()
    ctx = context()
    for given in (str(src), str(src.parent)):
        ctx.options = Options(manifests=given)
        docs, where, note = read_manifests(ctx, "v3.3.10")
        assert len(docs) == 24 and where.endswith("cluster-install.yaml")
        assert f"sha256 {sha} (the release file Argo v3.3.10 install.yaml)" in note
    served = tmp_path / "served"
    served.mkdir()
    (served / "install.yaml").write_bytes(src.read_bytes())
    (served / "tampered.yaml").write_bytes(src.read_bytes().replace(b"workflow-controller", b"workflow-c0ntroller"))
    # the user's own file is the user's choice: read, its digest shown as not a release's
    ctx.options = Options(manifests=str(served / "tampered.yaml"))
    assert "your own file" in read_manifests(ctx, "v3.3.10")[2]
    server, base = _https_server(served, tmp_path, monkeypatch)
    try:
        ctx.options = Options(manifests=f"{base}/install.yaml")
        docs, where, note = read_manifests(ctx, "v3.3.10")
        assert len(docs) == 24 and where == f"{base}/install.yaml" and f"sha256 {sha}, as pinned" in note
        ctx.options = Options(manifests=f"{base}/tampered.yaml")
        with pytest.raises(UserError, match=f"not the {sha} pinned for Argo v3.3.10: refusing"):
            read_manifests(ctx, "v3.3.10")
        ctx.options = Options(manifests=f"{base}/install.yaml")
        with pytest.raises(UserError, match="no SHA-256 is pinned for Argo v3.3.99.*--manifests FILE"):
            read_manifests(ctx, "v3.3.99")  # an unknown release: refused before anything is downloaded
        ctx.options = Options(manifests=f"{base}/missing.yaml")
        with pytest.raises(UserError, match="cannot download"):
            read_manifests(ctx, "v3.3.10")
        ctx.options = Options(manifests=f"http://127.0.0.1:{server.server_address[1]}/install.yaml")
        with pytest.raises(UserError, match="refusing to download manifests over http://"):
            read_manifests(ctx, "v3.3.10")
    finally:
        server.shutdown()
    ctx.options = Options(manifests=str(tmp_path / "nope.yaml"))
    with pytest.raises(UserError, match="cannot read manifests"):
        read_manifests(ctx, "v3.3.10")


def test_the_pinned_digests_are_those_of_the_release_files():
    """Every release file of the workplace's copy is pinned, with its SHA-256; nothing else is."""
    import hashlib

    from argodoctor.argo import RELEASE_SHA256

    from ..conftest import MANIFESTS

    found = {}
    for f in sorted(MANIFESTS.glob("v*/*-install.yaml")):
        name = {"cluster-install": "install", "namespace-install": "namespace-install"}[f.stem]
        found[(f.parent.name, name)] = hashlib.sha256(f.read_bytes()).hexdigest()
    assert len(found) >= 19 and found == RELEASE_SHA256


def test_install_argo_plans_kinds_and_names_and_notes_the_digest():
    from argodoctor.remediations.install_argo import InstallArgo

    from ..conftest import manifests

    plan = InstallArgo().plan(context(with_crds=False, manifests=str(manifests("v3.7.18"))))
    described = [a.describe() for a in plan.actions]
    assert any(d.startswith("create CustomResourceDefinition workflows.argoproj.io") for d in described)
    assert any(d.startswith("create Deployment argo/workflow-controller") for d in described)
    assert "sha256 08042a842ac3d51b" in plan.notes[0] and "the release file Argo v3.7.18 install.yaml" in plan.notes[0]


def test_setting_names_match_case_insensitively_and_nested_unknowns_are_found():
    # encoding/json (decode.go object(): exact name, else fold.go's case folding) fills artifactRepository
    # from `ArtifactRepository` and parallelism from `Parallelism`: neither is unknown nor removed by the
    # fix; `foo` is, and with v3.7.18's tree so is mainContainer.imagez (UnmarshalStrict at every depth).
    from argodoctor.remediations.rewrite_controller_config import RewriteControllerConfig

    cm = controller_configmap(form="config", repo=None, ArtifactRepository={"S3": {"bucket": "b"}}, Parallelism=10,
                              mainContainer={"imagePullPolicy": "Always", "imagez": "x"}, foo=1)
    for version, nested in (("v3.7.18", True), ("v3.5.15", False)):
        messages = [r.message for r in run_checks(select_checks(["AD103"]), context(controller(version), cm))]
        assert any('unknown field "foo"' in m for m in messages), messages
        assert any("mainContainer.imagez" in m for m in messages) is nested, messages
        assert not any("ArtifactRepository" in m or "Parallelism" in m for m in messages), messages
        [a] = RewriteControllerConfig().plan(context(controller(version), cm)).actions
        config = yaml.safe_load(a.desired["data"]["config"])
        assert "foo" not in config and config["ArtifactRepository"] == {"S3": {"bucket": "b"}}
        assert config["Parallelism"] == 10
    repo = argo.resolve_default_repository("team-a", {}, argo.parse_controller_config(cm))
    assert repo.spec == {"s3": {"bucket": "b"}} and repo.kind == "s3"


# Issue 23 item 3: v4.1's initlessPod needs Kubernetes image volumes (ImageVolume: alpha 1.31, beta off 1.33,
# beta on by default 1.35; kubernetes v1.35.4 pkg/features/kube_features.go).
def _kubelet(version: str) -> dict:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": f"n-{version}"},
            "status": {"nodeInfo": {"kubeletVersion": version, "containerRuntimeVersion": "containerd://2.0"}}}


def _initless(argo_version: str, *kubelets: str, enabled: bool = True):
    cm = controller_configmap(initlessPod={"enabled": enabled})
    return [r for r in run_checks(select_checks(["AD103"]),
                                  context(controller(argo_version), cm, *map(_kubelet, kubelets)))]


def test_initless_pod_on_a_cluster_without_image_volumes_by_default():
    (r,) = _initless("v4.1.2", "v1.35.1", "v1.34.2")
    assert r.status == "warn" and "ImageVolume feature gate" in r.message and r.remediation is None
    (r,) = _initless("v4.1.2", "v1.30.4")
    assert r.status == "fail" and "1.30 does not have" in r.message
    (r,) = _initless("v4.1.2", "v1.35.1", "v1.36.0")
    assert r.status == "pass"
    (r,) = _initless("v4.1.2", "v1.30.4", enabled=False)
    assert r.status == "pass"


# Issue 23 item 3: v4 removed a CronWorkflow's singular `schedule` (docs/upgrading.md @v4.0.5;
# ValidateCronWorkflow: `cron workflow must have at least one schedule`).
def _cron(argo_version: str, **spec):
    cron = workflow("team-a", "nightly", kind="CronWorkflow")
    cron["spec"].pop("schedule")
    cron["spec"].update(spec)
    return run_checks(select_checks(["AD108"]), context(controller(argo_version), controller_configmap(), cron))


def test_a_v4_cron_workflow_with_the_removed_singular_schedule_fails():
    (r,) = _cron("v4.0.5", schedule="0 1 * * *")
    assert r.status == "fail" and "cron workflow must have at least one schedule" in r.message
    assert r.object == "CronWorkflow/nightly" and r.namespace == "team-a"
    (r,) = _cron("v4.1.2", schedule="0 1 * * *", schedules=["0 2 * * *"])
    assert r.status == "warn"
    (r,) = _cron("v4.1.2", schedules=["0 2 * * *"])
    assert r.status == "pass"
    (r,) = _cron("v3.7.18", schedule="0 1 * * *")  # v3 still reads it
    assert r.status == "pass"
