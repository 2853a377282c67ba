"""deploy-object-store: an in-cluster MinIO, as the seed guide's Helm install leaves it
(Deployment, Service on 9000, credentials Secret `minio` with keys accesskey/secretkey, PVC),
in the controller's namespace unless the repository's endpoint names another Service."""
from __future__ import annotations

import base64
import copy
import secrets
from typing import Any

from argodoctor import argo
from argodoctor.engine.context import Context
from argodoctor.engine.model import Action, Plan, Remediation
from argodoctor.fix.fixer import get_live, is_subset
from argodoctor.s3 import ServiceRef, service_of
from argodoctor.view.cluster import KINDS

NAME = "minio"
PORT = 9000
ACCESS_KEY, SECRET_KEY = "accesskey", "secretkey"  # the Helm chart's key names, as the seed guide uses
DEFAULT_IMAGE = "quay.io/minio/minio:RELEASE.2025-04-22T22-12-26Z"
DEFAULT_SIZE = "10Gi"
# The Pod Security Standards' restricted profile (k8s.io/pod-security-admission/policy, as
# argodoctor.k8s.pod_security mirrors it: runAsNonRoot, a non-zero runAsUser, seccomp RuntimeDefault, no
# privilege escalation, capabilities drop ALL), so MinIO runs in a namespace that enforces restricted.
POD_SECURITY_CONTEXT = {"runAsNonRoot": True, "runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000,
                        "seccompProfile": {"type": "RuntimeDefault"}}
CONTAINER_SECURITY_CONTEXT = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                              "runAsNonRoot": True}
# Enough for an artifact store of a few workflows (MinIO's own guide asks more for production).
RESOURCES = {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}}
LABELS = {"app": NAME, "app.kubernetes.io/name": "minio", "app.kubernetes.io/managed-by": "argodoctor"}


def store_location(ctx: Context) -> ServiceRef | None:
    """Where the object store should be: the in-cluster Service the default repository names,
    else (no repository at all) `minio` in the controller's namespace. None when the repository
    points at a store outside the cluster, which argodoctor does not replace."""
    namespaces = {n["metadata"]["name"] for n in ctx.view.list("Namespace")}
    home = ctx.controller.namespace
    default = next((r for r in ctx.repositories(home) if r.used_by == "default"), None)
    if default is None:
        ns = ctx.options.object_store_namespace or home
        return ServiceRef(ns, NAME, PORT)
    s = argo.s3_settings(default.spec)
    if s is None:
        return None
    endpoint, insecure = argo.normalized_endpoint(s.endpoint, s.insecure)
    s = argo.S3Settings(**{**s.__dict__, "endpoint": endpoint, "insecure": insecure})
    return service_of(s, home, namespaces)


def manifests(ns: str, name: str, port: int, image: str, size: str) -> list[dict[str, Any]]:
    """The MinIO objects, without the Secret (whose keys are generated at apply time)."""
    sel = {"app": name}
    env = [{"name": var, "valueFrom": {"secretKeyRef": {"name": name, "key": key}}}
           for var, key in (("MINIO_ROOT_USER", ACCESS_KEY), ("MINIO_ROOT_PASSWORD", SECRET_KEY))]
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "labels": dict(LABELS, app=name)},
        "spec": {
            "replicas": 1, "strategy": {"type": "Recreate"}, "selector": {"matchLabels": sel},
            "template": {
                "metadata": {"labels": dict(LABELS, app=name)},
                "spec": {
                    "securityContext": copy.deepcopy(POD_SECURITY_CONTEXT),
                    "containers": [{
                        "name": "minio", "image": image, "args": ["server", "/data", "--address", f":{port}"],
                        "env": env, "ports": [{"name": "http", "containerPort": port}],
                        "securityContext": copy.deepcopy(CONTAINER_SECURITY_CONTEXT),
                        "resources": copy.deepcopy(RESOURCES),
                        "readinessProbe": {"httpGet": {"path": "/minio/health/ready", "port": port}},
                        "livenessProbe": {"httpGet": {"path": "/minio/health/live", "port": port}},
                        "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                    }],
                    "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": name}}],
                },
            },
        },
    }
    service = {"apiVersion": "v1", "kind": "Service",
               "metadata": {"name": name, "namespace": ns, "labels": dict(LABELS, app=name)},
               "spec": {"selector": sel, "ports": [{"name": "http", "port": port, "targetPort": port}]}}
    pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
           "metadata": {"name": name, "namespace": ns, "labels": dict(LABELS, app=name)},
           "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}}
    return [pvc, deployment, service]


class DeployObjectStore(Remediation):
    id = "deploy-object-store"
    title = "deploy an in-cluster MinIO (Deployment, Service, credentials Secret, PVC)"
    fixes = ("AD204", "AD501")

    def plan(self, ctx: Context) -> Plan:
        plan = Plan(self.id)
        where = store_location(ctx)
        if where is None:
            plan.notes.append("the artifact repository points at an object store outside the cluster; "
                              "argodoctor does not replace it")
            return plan
        ns, name = where.namespace, where.name
        view = ctx.view
        if view.get("Namespace", None, ns) is None:
            plan.notes.append(f"namespace {ns} does not exist: create it first")
            return plan
        for kind in ("Deployment", "Service"):
            live = view.get(kind, ns, name)
            if live is not None and not _ours(live):
                plan.notes.append(f"{kind} {ns}/{name} exists and is not argodoctor's (installed by Helm or by "
                                  "hand?): left alone; AD204 and AD501 say whether it works")
                return plan
        if view.get("Secret", ns, name) is None:
            plan.actions.append(_secret_action(ns, name))
        for obj in manifests(ns, name, where.port, ctx.options.minio_image or DEFAULT_IMAGE,
                             ctx.options.storage_size or DEFAULT_SIZE):
            live = _live(view, obj)
            if obj["kind"] == "PersistentVolumeClaim" and live is not None:
                continue  # a claim's spec is immutable once bound; keep the data
            if live is None or not is_subset(obj, live):
                plan.actions.append(Action(obj, live, "MinIO for the artifact repository"))
        return plan


def _ours(obj: dict[str, Any]) -> bool:
    return (obj["metadata"].get("labels") or {}).get("app.kubernetes.io/managed-by") == "argodoctor"


def _live(view: Any, obj: dict[str, Any]) -> dict[str, Any] | None:
    meta = obj["metadata"]
    if obj["kind"] in KINDS:
        return view.get(obj["kind"], meta["namespace"], meta["name"])
    # PersistentVolumeClaims are not a kind the checks read: ask for this one by name.
    return get_live(view.kube, obj) if view.live else None


def _secret_action(ns: str, name: str) -> Action:
    desired = {"apiVersion": "v1", "kind": "Secret",
               "metadata": {"name": name, "namespace": ns, "labels": dict(LABELS, app=name)},
               "type": "Opaque", "data": {ACCESS_KEY: "<generated>", SECRET_KEY: "<generated>"}}

    def materialize(_kube: Any) -> dict[str, Any]:
        # Generated here, sent to the API server, never printed or logged.
        keys = {ACCESS_KEY: "argo" + secrets.token_hex(8), SECRET_KEY: secrets.token_urlsafe(30)}
        return dict(desired, data={k: base64.b64encode(v.encode()).decode() for k, v in keys.items()})

    return Action(desired, None, "MinIO's credentials, generated", sensitive=True, materialize=materialize)
