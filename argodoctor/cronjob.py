"""argodoctor as an in-cluster CronJob: a plain Kubernetes CronJob (not an Argo CronWorkflow, so it
keeps reporting when Argo itself is broken) with the least privilege: read what the checks read,
write nothing but its own report ConfigMap and Events."""
from __future__ import annotations

import copy
import dataclasses
from typing import Any

from . import __version__

RBAC = "rbac.authorization.k8s.io"
DEFAULT_IMAGE = f"ghcr.io/argodoctor/argodoctor:{__version__}"
CONFIG_DIR = "/etc/argodoctor"  # where the exemptions ConfigMap is mounted
DEFAULT_RESOURCES = {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}}
LABELS = {"app.kubernetes.io/name": "argodoctor", "app.kubernetes.io/managed-by": "argodoctor"}


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
        if self.exemptions:
            cmd += ["--config", f"{CONFIG_DIR}/argodoctor.yaml"]
        return cmd + list(self.extra_args)


def manifests(spec: CronJobSpec) -> list[dict[str, Any]]:
    """Namespace, ServiceAccount, reader ClusterRole + binding, events ClusterRole + binding, the report
    ConfigMap with a Role that may write only it, and the CronJob."""
    from .permissions import reader_cluster_role  # here: the CLI reads DEFAULT_IMAGE at start-up

    ns, name = spec.namespace, spec.name

    def meta(n: str, namespaced: bool = True) -> dict[str, Any]:
        return {"name": n, "labels": dict(LABELS), **({"namespace": ns} if namespaced else {})}
    sa = {"kind": "ServiceAccount", "name": name, "namespace": ns}
    reader = reader_cluster_role(f"{name}-reader")
    reader["metadata"]["labels"] = dict(LABELS)
    # Access reviews let AD100 say what the identity cannot read (system:basic-user grants the same).
    reader["rules"].append({"apiGroups": ["authorization.k8s.io"], "resources": ["selfsubjectaccessreviews"],
                            "verbs": ["create"]})
    events = {"apiVersion": f"{RBAC}/v1", "kind": "ClusterRole", "metadata": meta(f"{name}-events", False),
              "rules": [{"apiGroups": [""], "resources": ["events"], "verbs": ["create"]}]}
    report_role = {"apiVersion": f"{RBAC}/v1", "kind": "Role", "metadata": meta(f"{name}-report"),
                   "rules": [{"apiGroups": [""], "resources": ["configmaps"],
                              "resourceNames": [spec.report_configmap], "verbs": ["get", "patch", "update"]}]}

    def binding(kind: str, role_kind: str, role: str, namespaced: bool) -> dict[str, Any]:
        return {"apiVersion": f"{RBAC}/v1", "kind": kind, "metadata": meta(role, namespaced),
                "roleRef": {"apiGroup": RBAC, "kind": role_kind, "name": role}, "subjects": [sa]}

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
        reader, binding("ClusterRoleBinding", "ClusterRole", f"{name}-reader", False),
        events, binding("ClusterRoleBinding", "ClusterRole", f"{name}-events", False),
        # Created here so the job needs no `create` on ConfigMaps, only patch of this one.
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(spec.report_configmap), "data": {}},
        report_role, binding("RoleBinding", "Role", f"{name}-report", True),
        *config, cronjob,
    ]
