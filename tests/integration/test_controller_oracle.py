"""Differential test against Argo's real workflow-controller (v3.7.18, built from the Go module proxy):
for generated configurations, what the controller did with each Workflow is compared with what
argodoctor predicts from the same objects read back from the cluster.

Per configuration (one namespace each): an `artifact-repositories` ConfigMap in one of four states, an
`artifactRepositoryRef` in one of five, service accounts on the spec and/or the template, an executor
SA on the spec or the template, and the spec either on the Workflow or joined from a WorkflowTemplate
through `workflowTemplateRef`; plus labelled Workflows an un-instanced controller must ignore.
Compared: `status.artifactRepositoryRef` (or the `failed to find any artifact repository` error), the
pod's `serviceAccountName`, its artifact secret volumes, its `exec-sa-token` volume, and whether the
controller picked the Workflow up at all."""
from __future__ import annotations

import itertools
import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml

from argodoctor import argo
from argodoctor.engine.context import Context, Options
from argodoctor.view.cluster import LiveView
from argodoctor.view.kube import Kube

from ..conftest import manifests
from ..harness import ArgoController, ControlPlane, install_argo_crds, wait_for

pytestmark = pytest.mark.integration

ANNOTATION = argo.DEFAULT_REPO_ANNOTATION
CM_STATES = ("none", "no-annotation", "annotated", "annotated-missing-key")
REF_STATES = ("none", "local", "central", "nowhere", "annotation")
SA_STATES = ("none", "spec", "template", "both")
EXECUTOR_STATES = ("none", "spec", "template")
IGNORED_LABELS = 12  # configurations whose Workflow carries an instance id the controller does not have


def repo(secret: str) -> str:
    return yaml.safe_dump({"archiveLogs": True, "s3": {
        "bucket": "argo", "endpoint": "s3.invalid:9000", "insecure": True,
        "accessKeySecret": {"name": secret, "key": "accesskey"},
        "secretKeySecret": {"name": secret, "key": "secretkey"}}})


def cm(ns: str, name: str, data: dict[str, str], default_key: str | None = None) -> dict:
    meta: dict = {"name": name, "namespace": ns}
    if default_key:
        meta["annotations"] = {ANNOTATION: default_key}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}


def configuration(i: int, cm_state: str, ref_state: str, sa_state: str, executor: str) -> tuple[str, list[dict]]:
    """A namespace and the objects of one configuration; the Workflow is always named `wf`."""
    ns = f"oracle-{i:03d}"
    via_template = i % 2 == 1  # the spec comes from a WorkflowTemplate through workflowTemplateRef
    objs: list[dict] = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}]
    objs += [{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": n, "namespace": ns}}
             for n in ("default", "spec-sa", "tmpl-sa", "exec-sa", "tmpl-exec-sa")]
    if cm_state == "no-annotation":
        objs.append(cm(ns, "artifact-repositories", {"default-v1": repo("ns-default-s3")}))
    elif cm_state == "annotated":
        objs.append(cm(ns, "artifact-repositories", {"default-v1": repo("ns-default-s3")}, "default-v1"))
    elif cm_state == "annotated-missing-key":
        objs.append(cm(ns, "artifact-repositories", {"default-v1": repo("ns-default-s3")}, "typo"))
    if ref_state in ("local", "central", "annotation"):
        objs.append(cm(ns, "repos", {"mine": repo("ns-ref-s3")}, "mine" if ref_state == "annotation" else None))
    ref = {"local": {"configMap": "repos", "key": "mine"}, "central": {"configMap": "repos", "key": "central"},
           "nowhere": {"configMap": "repos", "key": "ghost"}, "annotation": {"configMap": "repos"}}.get(ref_state)
    template: dict = {"name": "main", "container": {"image": "alpine:3.20", "command": ["echo", "hi"]}}
    spec: dict = {"entrypoint": "main", "templates": [template]}
    if sa_state in ("spec", "both"):
        spec["serviceAccountName"] = "spec-sa"
    if sa_state in ("template", "both"):
        template["serviceAccountName"] = "tmpl-sa"
    if executor == "spec":
        spec["executor"] = {"serviceAccountName": "exec-sa"}
    elif executor == "template":
        template["executor"] = {"serviceAccountName": "tmpl-exec-sa"}
    if ref:
        spec["artifactRepositoryRef"] = ref
    if via_template:
        objs.append({"apiVersion": "argoproj.io/v1alpha1", "kind": "WorkflowTemplate",
                     "metadata": {"name": "wt", "namespace": ns}, "spec": spec})
        spec = {"workflowTemplateRef": {"name": "wt"}}
    objs.append({"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
                 "metadata": {"name": "wf", "namespace": ns}, "spec": spec})
    return ns, objs


def ignored(i: int) -> tuple[str, list[dict]]:
    ns = f"oracle-label-{i:02d}"
    return ns, [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
                {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": ns}},
                {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
                 "metadata": {"name": "wf", "namespace": ns,
                              "labels": {argo.INSTANCE_ID_LABEL: f"team-{i}"}},
                 "spec": {"entrypoint": "main", "templates": [
                     {"name": "main", "container": {"image": "alpine:3.20", "command": ["true"]}}]}}]


def path_of(obj: dict) -> str:
    kind, ns = obj["kind"], obj["metadata"].get("namespace")
    if kind == "Namespace":
        return "/api/v1/namespaces"
    plural = {"ServiceAccount": "serviceaccounts", "ConfigMap": "configmaps"}.get(kind)
    if plural:
        return f"/api/v1/namespaces/{ns}/{plural}"
    return f"/apis/argoproj.io/v1alpha1/namespaces/{ns}/{kind.lower()}s"


@pytest.fixture(scope="module")
def oracle(own_control_plane: ControlPlane):
    cp = own_control_plane
    install_argo_crds(cp, manifests("v3.7.18"))
    cp.api("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "argo"}})
    cp.api("POST", "/api/v1/namespaces/argo/configmaps", cm("argo", "workflow-controller-configmap",
                                                            {"artifactRepository": repo("controller-s3")}))
    cp.api("POST", "/api/v1/namespaces/argo/configmaps", cm("argo", "repos", {"central": repo("central-s3")}))
    configs = [configuration(i, *axes) for i, axes in
               enumerate(itertools.product(CM_STATES, REF_STATES, SA_STATES, EXECUTOR_STATES))]
    configs += [ignored(i) for i in range(IGNORED_LABELS)]
    with ThreadPoolExecutor(8) as pool:  # namespaces first, then what lives in them, Workflows last
        for wave in (("Namespace",), ("ServiceAccount", "ConfigMap", "WorkflowTemplate"), ("Workflow",)):
            list(pool.map(lambda o: cp.api("POST", path_of(o), o),
                          [o for _, objs in configs for o in objs if o["kind"] in wave]))
    ctl = ArgoController(cp, namespace="argo")
    ctl.start()
    try:
        ctl.wait_ready()
        yield cp, ctl, [ns for ns, _ in configs]
    finally:
        ctl.stop()


def observe(cp: ControlPlane, ctl: ArgoController, namespaces: list[str]) -> dict[str, dict]:
    """Per namespace: the Workflow's status and its pod, once the controller has acted on every
    Workflow it runs (a pod, or an error); labelled ones it ignores are judged after that."""
    wanted = {ns for ns in namespaces if not ns.startswith("oracle-label-")}

    def snapshot() -> dict[str, dict] | None:
        wfs = {w["metadata"]["namespace"]: w for w in cp.api("GET", "/apis/argoproj.io/v1alpha1/workflows")["items"]}
        pods = {p["metadata"]["namespace"]: p for p in cp.api(
            "GET", "/api/v1/pods?labelSelector=workflows.argoproj.io%2Fworkflow%3Dwf")["items"]}
        seen = {ns: {"status": wfs[ns].get("status") or {}, "pod": pods.get(ns)} for ns in wfs}
        done = all(ns in pods or (seen[ns]["status"].get("phase") in ("Error", "Failed")) for ns in wanted)
        return seen if done else None
    seen = wait_for(snapshot, "the controller to act on every Workflow", timeout=240, procs=[ctl.process, *cp.procs])
    time.sleep(3)  # the ignored ones had as long as the rest, and then some
    return snapshot() or seen


def predict(ctx: Context, ns: str) -> dict:
    """What argodoctor says about the Workflow `wf` in ns, in the controller's terms."""
    wf = next(o for o in ctx.view.list("Workflow") if o["metadata"]["namespace"] == ns)
    controller = ctx.controller
    settings = ctx.config.settings
    if not argo.claims(controller, settings, ns, wf["metadata"].get("labels") or {}):
        return {"picked_up": False}
    spec, _ = ctx.catalogue.joined(wf)
    repos = ctx.repositories(ns)
    if isinstance(spec.get("artifactRepositoryRef"), dict):
        repo_ = next(r for r in repos if r.used_by.startswith(f"Workflow {ns}/wf"))
    else:
        repo_ = next(r for r in repos if r.used_by == "default")
    if repo_.error:
        assert "failed to find any artifact repository" in repo_.error, repo_.error
        return {"picked_up": True, "error": "failed to find any artifact repository"}
    if repo_.key == "artifactRepository":
        ref = {"default": True}
    else:
        ref = {"namespace": repo_.configmap[0], "configMap": repo_.configmap[1], "key": repo_.key}
    [ident] = [i for i in ctx.identities.by_namespace[ns] if i.used_by.startswith(f"Workflow {ns}/wf")]
    token = None
    if ident.executor_service_account:
        token = argo.token_secret_name(ctx.view.get("ServiceAccount", ns, ident.executor_service_account),
                                       ctx.version)
    return {"picked_up": True, "ref": ref, "service_account": ident.service_account,
            "secrets": sorted({r.name for r in repo_.secret_refs(ctx.version)}), "executor_token": token}


def actual(seen: dict | None) -> dict:
    if seen is None or not seen["status"]:
        return {"picked_up": False}
    status, pod = seen["status"], seen["pod"]
    if pod is None:
        nodes = (status.get("nodes") or {}).values()
        messages = [status.get("message") or ""] + [n.get("message") or "" for n in nodes]
        text = " | ".join(m for m in messages if m)
        return {"picked_up": True, "error": "failed to find any artifact repository"
                if "failed to find any artifact repository" in text else text}
    ref = {k: v for k, v in (status.get("artifactRepositoryRef") or {}).items()
           if k in ("default", "namespace", "configMap", "key")}
    volumes = pod["spec"].get("volumes") or []
    secrets = sorted({v["secret"]["secretName"] for v in volumes if v.get("secret") and v["name"] != "exec-sa-token"})
    token = next((v["secret"]["secretName"] for v in volumes if v["name"] == "exec-sa-token"), None)
    return {"picked_up": True, "ref": ref, "service_account": pod["spec"]["serviceAccountName"],
            "secrets": secrets, "executor_token": token}


def test_argodoctor_agrees_with_the_real_controller(oracle, capsys):
    cp, ctl, namespaces = oracle
    seen = observe(cp, ctl, namespaces)
    # the controller runs as a process here, not as a Deployment: its version and namespace are given
    ctx = Context(LiveView(Kube(str(cp.kubeconfig()))), Options(argo_version="v3.7.18", controller_namespace="argo"))
    disagreements = []
    outcomes: dict[str, int] = {}
    for ns in namespaces:
        want, got = predict(ctx, ns), actual(seen.get(ns))
        ref = got.get("ref") or {}
        where = {**ref, "namespace": "<own>"} if ref.get("namespace") == ns else ref
        key = "not picked up" if not got["picked_up"] else (
            f"error: {got['error']}" if "error" in got else f"ref {json.dumps(where, sort_keys=True)}"
            + (", executor token" if got.get("executor_token") else ""))
        outcomes[key] = outcomes.get(key, 0) + 1
        if want != got:
            disagreements.append(f"{ns}: argodoctor {json.dumps(want)} != controller {json.dumps(got)}")
    with capsys.disabled():
        print(f"\n[oracle] {len(namespaces)} configurations, {len(disagreements)} disagreements; outcomes:")
        for k, n in sorted(outcomes.items()):
            print(f"[oracle]   {n:4d} {k}")
    assert len(namespaces) >= 200
    assert not disagreements, "\n".join(disagreements[:20])
    # every compared field took more than one value: no comparison was vacuous
    observed = [actual(seen.get(ns)) for ns in namespaces]
    for field in ("service_account", "secrets", "executor_token", "ref"):
        assert len({json.dumps(o.get(field), sort_keys=True) for o in observed if "ref" in o}) > 1, field
