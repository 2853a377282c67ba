"""argodoctor as an in-cluster CronJob: a plain Kubernetes CronJob (not an Argo CronWorkflow, so it
keeps reporting when Argo itself is broken) with the least privilege: read what the checks read,
write nothing but its own report ConfigMap and Events."""
from __future__ import annotations

import copy
import dataclasses
from typing import Any

from .. import __version__

DEFAULT_IMAGE = f"ghcr.io/argodoctor/argodoctor:{__version__}"
CONFIG_DIR = "/etc/argodoctor"  # where the exemptions ConfigMap is mounted
DEFAULT_RESOURCES = {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}}
LABELS = {"app.kubernetes.io/name": "argodoctor", "app.kubernetes.io/managed-by": "argodoctor"}
MANAGED_BY = "app.kubernetes.io/managed-by"
# Set only on a Namespace that `cronjob install` created (one that existed is never applied, so never
# claimed): uninstall deletes a Namespace only with it.
CREATED_BY = ("argodoctor.io/created-by", "cronjob-install")


@dataclasses.dataclass
class CronJobSpec:
    namespace: str = "argodoctor"
    name: str = "argodoctor"
    schedule: str = "0 * * * *"
    image: str = DEFAULT_IMAGE
    report_configmap: str = "argodoctor-report"
    report_to: tuple[str, ...] = ()  # more sinks: s3://..., besides the report ConfigMap
    events: bool = True
    push_gateway: str = ""  # a Prometheus Pushgateway to push the metrics to (check --push-gateway)
    push_job: str = "argodoctor"
    exemptions: str = ""  # an exemptions file's text (check --config): stored in a ConfigMap the pod mounts
    resources: dict[str, Any] = dataclasses.field(default_factory=lambda: DEFAULT_RESOURCES)
    extra_args: tuple[str, ...] = ()  # passed through to `argodoctor check`
    # What the job reads, and so its role (argodoctor.engine.permissions): no Secret (check --no-secrets), and
    # namespaced objects only in the controller's and the workflow namespaces (check --namespaced-read).
    secrets: bool = True
    namespaced_read: bool = False
    controller_namespace: str = "argo"
    workflow_namespaces: tuple[str, ...] = ()

    @property
    def read_namespaces(self) -> tuple[str, ...] | None:
        """The namespaces the job reads (--namespaced-read), or None: cluster-wide."""
        return (self.controller_namespace, *self.workflow_namespaces) if self.namespaced_read else None

    @property
    def config_map(self) -> str:
        return f"{self.name}-config"

    @property
    def report_url(self) -> str:
        return f"configmap://{self.namespace}/{self.report_configmap}"

    def command(self) -> list[str]:
        cmd = ["argodoctor", "check", "--fail-on", "none", "-o", "table", "--report-to", self.report_url]
        for sink in self.report_to:
            cmd += ["--report-to", sink]
        if self.events:
            cmd.append("--events")
        if self.push_gateway:
            cmd += ["--push-gateway", self.push_gateway]
            if self.push_job != "argodoctor":
                cmd += ["--push-job", self.push_job]
        if not self.secrets:
            cmd.append("--no-secrets")
        if self.namespaced_read:
            cmd += ["--namespaced-read", "--controller-namespace", self.controller_namespace]
            for ns in self.workflow_namespaces:
                cmd += ["--workflow-namespace", ns]
        if self.exemptions:
            cmd += ["--config", f"{CONFIG_DIR}/argodoctor.yaml"]
        return cmd + list(self.extra_args)


def manifests(spec: CronJobSpec) -> list[dict[str, Any]]:
    """Namespace, ServiceAccount, the reader's and the events' roles + bindings (argodoctor.engine.permissions:
    a ClusterRole each, or with namespaced_read Roles in the namespaces read), the report ConfigMap with a
    Role that may write only it, and the CronJob."""
    from ..engine.permissions import (  # here: the CLI reads DEFAULT_IMAGE
        bindings,
        events_roles,
        reader_roles,
        report_role,
    )

    ns, name = spec.namespace, spec.name

    def meta(n: str, namespaced: bool = True) -> dict[str, Any]:
        return {"name": n, "labels": dict(LABELS), **({"namespace": ns} if namespaced else {})}
    rbac = []
    for roles in (reader_roles(f"{name}-reader", secrets=spec.secrets, namespaces=spec.read_namespaces, labels=LABELS),
                  events_roles(f"{name}-events", spec.read_namespaces, LABELS)):
        for role, bound in zip(roles, bindings(roles, f"{ns}/{name}", LABELS), strict=True):
            rbac += [role, bound]
    report = report_role(f"{name}-report", ns, spec.report_configmap, LABELS)

    security = {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001, "readOnlyRootFilesystem": True,
                "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                "seccompProfile": {"type": "RuntimeDefault"}}
    mounts: list[dict[str, Any]] = [{"name": "tmp", "mountPath": "/tmp"}]
    volumes: list[dict[str, Any]] = [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}]
    config: list[dict[str, Any]] = []
    if spec.exemptions:
        mounts.append({"name": "config", "mountPath": CONFIG_DIR, "readOnly": True})
        volumes.append({"name": "config", "configMap": {"name": spec.config_map}})
        config.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(spec.config_map),
                       "data": {"argodoctor.yaml": spec.exemptions}})
    cronjob = {
        "apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta(name),
        "spec": {
            "schedule": spec.schedule, "concurrencyPolicy": "Forbid", "startingDeadlineSeconds": 300,
            "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 3,
            "jobTemplate": {"spec": {"backoffLimit": 1, "activeDeadlineSeconds": 900,
                                     "ttlSecondsAfterFinished": 86400,
                                     "template": {"metadata": {"labels": dict(LABELS)}, "spec": {
                                         "serviceAccountName": name, "restartPolicy": "Never",
                                         "automountServiceAccountToken": True,
                                         "securityContext": {"runAsNonRoot": True, "fsGroup": 10001},
                                         "containers": [{
                                             "name": "argodoctor", "image": spec.image, "command": spec.command(),
                                             "env": [{"name": "HOME", "value": "/tmp"}],
                                             "resources": copy.deepcopy(spec.resources),
                                             "securityContext": security,
                                             "volumeMounts": mounts}],
                                         "volumes": volumes}}}},
        },
    }
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": dict(LABELS)}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(name)},
        *rbac,
        # Created here so the job needs no `create` on ConfigMaps, only patch of this one.
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(spec.report_configmap), "data": {}},
        report, *bindings([report], f"{ns}/{name}", LABELS),
        *config, cronjob,
    ]


def created_namespace(obj: dict[str, Any]) -> dict[str, Any]:
    """The Namespace object as install creates it: marked as argodoctor's creation."""
    obj = copy.deepcopy(obj)
    obj["metadata"].setdefault("annotations", {})[CREATED_BY[0]] = CREATED_BY[1]
    return obj


def not_ours(kind: str, live: dict[str, Any]) -> str | None:
    """Why uninstall must keep live (an object with one of argodoctor's names), or None when install made
    it: it carries argodoctor's managed-by label, and a Namespace also the mark install sets on creating it."""
    meta = live.get("metadata") or {}
    where = f"{kind} {meta['namespace'] + '/' if meta.get('namespace') else ''}{meta.get('name')}"
    if kind == "Namespace" and ((meta.get("annotations") or {}).get(CREATED_BY[0]) != CREATED_BY[1]
                                or (meta.get("labels") or {}).get(MANAGED_BY) != "argodoctor"):
        return (f"{where} was not created by `argodoctor cronjob install` (no {CREATED_BY[0]}): kept, "
                "with what else it holds")
    if (meta.get("labels") or {}).get(MANAGED_BY) != "argodoctor":
        return f"{where} does not carry {MANAGED_BY}: argodoctor, so argodoctor did not make it: kept"
    return None


def namespaced_grants(kube: Any, spec: CronJobSpec) -> list[dict[str, Any]]:
    """The Roles and RoleBindings an install with --namespaced-read made in the namespaces it read (their
    namespaces are not recorded anywhere else): one LIST of each kind cluster-wide, by argodoctor's
    managed-by label; a binding counts when it binds this job's ServiceAccount to one of its roles, and a
    Role when such a binding names it."""
    from ..view.cluster import KINDS

    ours = {f"{spec.name}-reader", f"{spec.name}-events"}
    query = {"labelSelector": f"{MANAGED_BY}=argodoctor"}
    bound = [b for b in kube.list(KINDS["RoleBinding"].path(), query=query)
             if b["metadata"].get("name") in ours and (b.get("roleRef") or {}).get("kind") == "Role"
             and b["roleRef"].get("name") in ours
             and any(s.get("kind") == "ServiceAccount" and s.get("name") == spec.name
                     and s.get("namespace") == spec.namespace for s in b.get("subjects") or [])]
    wanted = {(b["metadata"].get("namespace"), b["roleRef"]["name"]) for b in bound}
    roles = [r for r in kube.list(KINDS["Role"].path(), query=query)
             if (r["metadata"].get("namespace"), r["metadata"].get("name")) in wanted]
    kinded = [{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, **obj}
              for kind, objs in (("RoleBinding", bound), ("Role", roles)) for obj in objs]
    return [{**o, "metadata": {"name": o["metadata"]["name"], "namespace": o["metadata"]["namespace"]}}
            for o in kinded]
