"""The parts of a workflow pod the executor contributes, shaped as the controller builds them, so Pod
Security Admission can be asked about them before a workflow runs (AD404).

argo-workflows workflow/controller/workflowpod.go, read at v3.2.11 and v3.7.18: init and wait are built by
newExecContainer with the configmap's `executor.securityContext`; the pns executor (up to v3.3) replaces
wait's securityContext with capabilities SYS_PTRACE and SYS_CHROOT added and sets shareProcessNamespace;
the docker executor (up to v3.3) mounts the node's /var/run/docker.sock as a hostPath volume into wait;
emissary adds the var-run-argo emptyDir; the pod's securityContext is the template's, else the spec's.
The main containers are the workflow author's (each template's securityContext, or the configmap's
`mainContainer`) and are not modelled here.
"""
from __future__ import annotations

from typing import Any

from .config import ControllerConfig

# docs/workflow-pod-security-context.md (v3.7.18): "Argo provides a non-root executor image that runs by
# default as user 8737"; with the Pod Security Standards' restricted profile's requirements.
RESTRICTED_EXECUTOR_SECURITY_CONTEXT = {
    "runAsNonRoot": True, "runAsUser": 8737, "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"},
}


def executor_security_context(config: ControllerConfig) -> dict[str, Any] | None:
    executor = config.settings.get("executor")
    sc = executor.get("securityContext") if isinstance(executor, dict) else None
    return sc if isinstance(sc, dict) else None


def executor_pod(executor: str, config: ControllerConfig, pod_security_context: dict[str, Any] | None
                 ) -> dict[str, Any]:
    """The pod spec as far as the executor shapes it (main containers left out)."""
    sc = executor_security_context(config)
    init = {"name": "init", "image": "argoexec"}
    wait = {"name": "wait", "image": "argoexec"}
    if sc is not None:
        init["securityContext"] = dict(sc)
        wait["securityContext"] = dict(sc)
    spec: dict[str, Any] = {"initContainers": [init], "containers": [wait],
                            "volumes": [{"name": "var-run-argo", "emptyDir": {}}]}
    if executor == "pns":
        wait["securityContext"] = {"capabilities": {"add": ["SYS_PTRACE", "SYS_CHROOT"]}}
        spec["shareProcessNamespace"] = True
    elif executor == "docker":
        spec["volumes"].append({"name": "docker-sock", "hostPath": {"path": "/var/run/docker.sock",
                                                                    "type": "Socket"}})
    if pod_security_context:
        spec["securityContext"] = pod_security_context
    return spec
