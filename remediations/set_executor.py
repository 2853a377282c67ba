"""set-executor: moves off the docker executor: `emissary` from v3.1, `pns` before, set where the
version reads it (the controller flag up to v3.1 when present, else the configmap), then restarts
the controller through a pod-template annotation."""
from __future__ import annotations

import datetime as dt
from typing import Any

from argodoctor.remediations.controller_config import config_action

from argodoctor import argo
from argodoctor.engine.context import Context
from argodoctor.engine.model import Action, Plan, Remediation

RESTARTED_AT = "argodoctor.io/restartedAt"


def target_executor(version: argo.Version) -> str:
    return "emissary" if version.at_least(3, 1) else "pns"


class SetExecutor(Remediation):
    id = "set-executor"
    title = "switch from the docker executor to emissary (v3.1+) or pns, and restart the controller"
    fixes = ("AD401", "AD403")

    def plan(self, ctx: Context) -> Plan:
        plan = Plan(self.id)
        c, version = ctx.controller, ctx.version
        if c.deployment is None or version is None or version.at_least(3, 4):
            return plan  # nothing to choose: no controller, or emissary is the only executor
        ex = ctx.executors
        if "docker" not in ex.all:
            return plan
        target = target_executor(version)
        changes: dict[str, Any] = {}
        flag = c.flag("--container-runtime-executor")
        if ex.default == "docker" and flag and not version.at_least(3, 2):
            plan.actions.append(self._flag_action(ctx, target))  # up to v3.1 the flag wins
        elif ex.default == "docker":
            changes["containerRuntimeExecutor"] = target
        listed = ctx.config.settings.get("containerRuntimeExecutors")
        if isinstance(listed, list) and any(isinstance(e, dict) and e.get("name") == "docker" for e in listed):
            changes["containerRuntimeExecutors"] = [dict(e, name=target) if isinstance(e, dict) and
                                                    e.get("name") == "docker" else e for e in listed]
        if changes:
            plan.actions.append(config_action(ctx, changes, f"the {target} executor works on any runtime"))
        plan.actions.append(restart_action(c, "to read the new executor setting"))
        return plan

    @staticmethod
    def _flag_action(ctx: Context, target: str) -> Action:
        c = ctx.controller
        container = controller_container(c)
        args = list(container.get("args") or [])
        for i, a in enumerate(args):
            if a == "--container-runtime-executor" and i + 1 < len(args):
                args[i + 1] = target
            elif a.startswith("--container-runtime-executor="):
                args[i] = f"--container-runtime-executor={target}"
        return Action(deployment_patch(c, {"containers": [{"name": container["name"], "args": args}]}),
                      c.deployment, f"--container-runtime-executor {target}")


def controller_container(c: argo.Controller) -> dict[str, Any]:
    containers = c.deployment["spec"]["template"]["spec"]["containers"]
    return next((x for x in containers if x.get("name") == "workflow-controller"), containers[0])


def deployment_patch(c: argo.Controller, pod_spec: dict[str, Any] | None = None,
                      annotations: dict[str, str] | None = None) -> dict[str, Any]:
    meta = c.deployment["metadata"]
    template: dict[str, Any] = {}
    if pod_spec:
        template["spec"] = pod_spec
    if annotations:
        template["metadata"] = {"annotations": annotations}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": meta["name"], "namespace": meta["namespace"]}, "spec": {"template": template}}


def restart_action(c: argo.Controller, why: str) -> Action:
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return Action(deployment_patch(c, annotations={RESTARTED_AT: stamp}), c.deployment,
                  f"restart the controller {why}")
