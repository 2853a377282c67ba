"""Small builders for snapshot fixtures: Kubernetes objects as the checks read them."""
from __future__ import annotations

import base64
from typing import Any

import yaml

from argodoctor.engine.context import Context, Options
from argodoctor.view.cluster import SnapshotView

SEED_REPO = {
    "archiveLogs": True,
    "s3": {"bucket": "argo-bucket", "endpoint": "minio:9000", "insecure": True,
           "accessKeySecret": {"name": "minio", "key": "accesskey"},
           "secretKeySecret": {"name": "minio", "key": "secretkey"}},
}


def controller(version: str = "v3.7.18", namespace: str = "argo", args: list[str] | None = None) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "workflow-controller", "namespace": namespace},
            "spec": {"template": {"spec": {"containers": [{
                "name": "workflow-controller", "command": ["workflow-controller"], "args": args or [],
                "image": f"quay.io/argoproj/workflow-controller:{version}"}]}}}}


def configmap(name: str, namespace: str, data: dict[str, Any], annotations: dict | None = None) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace, "annotations": annotations or {}},
            "data": {k: v if isinstance(v, str) else yaml.safe_dump(v) for k, v in data.items()}}


def controller_configmap(namespace: str = "argo", repo: dict | None = SEED_REPO, form: str = "keys",
                         **settings: Any) -> dict:
    values = dict(settings)
    if repo is not None:
        values["artifactRepository"] = repo
    if form == "config":
        return configmap("workflow-controller-configmap", namespace, {"config": yaml.safe_dump(values)})
    return configmap("workflow-controller-configmap", namespace, values)


def secret(name: str, namespace: str, **data: str) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": name, "namespace": namespace},
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}}


def workflow(namespace: str, name: str = "wf", kind: str = "Workflow", **spec: Any) -> dict:
    body = {"entrypoint": "main", **spec}
    if kind == "CronWorkflow":
        body = {"schedule": "* * * * *", "workflowSpec": body}
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": kind,
            "metadata": {"name": name, "namespace": namespace}, "spec": body}


def seed_objects() -> list[dict]:
    """The seed's setup: controller + configmap in argo, Secret minio only in argo, a Workflow in team-a."""
    return [controller(), controller_configmap(), secret("minio", "argo", accesskey="a", secretkey="s"),
            workflow("team-a")]


def crds(version: str | None = "v3.7.18", established: bool = True) -> list[dict]:
    """Minimal CustomResourceDefinitions of the Argo version, as a cluster with Argo installed has them."""
    from argodoctor.argo import parse_version, required_crds

    status = {"conditions": [{"type": "Established", "status": "True" if established else "False"}]}
    return [{"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
             "metadata": {"name": name}, "spec": {"group": "argoproj.io"}, "status": status}
            for name in required_crds(parse_version(version))]


def context(*objects: dict, with_crds: bool = True, **options: Any) -> Context:
    """A Context over a snapshot of objects; Argo's CRDs are added unless with_crds=False."""
    objs = list(objects) + (crds() if with_crds else [])
    return Context(SnapshotView("fixture", objs), Options(**options))
