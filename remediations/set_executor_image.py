"""set-executor-image: sets the executor image in effect to the controller's version: the
--executor-image flag where the controller has one, else the configmap's executor.image."""
from __future__ import annotations

from argodoctor.remediations.controller_config import config_action
from argodoctor.remediations.set_executor import controller_container, deployment_patch, restart_action

from argodoctor import argo
from argodoctor.engine.context import Context
from argodoctor.engine.model import Action, Plan, Remediation


def matching_image(image: str, version: argo.Version) -> str:
    """The same repository at the controller's version: quay.io/argoproj/argoexec:v3.5.1 -> ...:v3.7.18."""
    ref = image.split("@", 1)[0]
    repo = ref.rsplit(":", 1)[0] if ":" in ref.rsplit("/", 1)[-1] else ref
    return f"{repo}:{version}"


class SetExecutorImage(Remediation):
    id = "set-executor-image"
    title = "set the executor image in effect to the controller's version"
    fixes = ("AD104",)

    def plan(self, ctx: Context) -> Plan:
        plan = Plan(self.id)
        c, version = ctx.controller, ctx.controller.version
        if c.deployment is None or version is None:
            return plan
        image, _where = argo.executor_image(version, ctx.config, c)
        if argo.image_version(image) == version:
            return plan
        want = matching_image(image, version)
        if c.flag("--executor-image"):
            container = controller_container(c)
            args = [want if i > 0 and (container.get("args") or [])[i - 1] == "--executor-image"
                    else f"--executor-image={want}" if a.startswith("--executor-image=") else a
                    for i, a in enumerate(container.get("args") or [])]
            plan.actions.append(Action(deployment_patch(c, {"containers": [{"name": container["name"],
                                                                             "args": args}]}),
                                       c.deployment, f"--executor-image {want}"))
        else:
            executor = ctx.config.settings.get("executor")
            executor = dict(executor) if isinstance(executor, dict) else {}
            executor["image"] = want
            plan.actions.append(config_action(ctx, {"executor": executor}, f"executor.image {want}"))
            plan.actions.append(restart_action(c, "to read the new executor image"))
        return plan
