"""set-executor-security-context: writes a restricted-compliant `executor.securityContext` into the
controller configmap (argo.RESTRICTED_EXECUTOR_SECURITY_CONTEXT: non-root 8737, no privilege escalation,
all capabilities dropped, RuntimeDefault seccomp), keeping the executor's other fields and every other
key. The init and wait containers of every workflow pod then pass Pod Security "restricted"."""
from __future__ import annotations

from argodoctor.remediations.controller_config import config_action

from argodoctor import argo
from argodoctor.engine.context import Context
from argodoctor.engine.model import Plan, Remediation
from argodoctor.k8s import pod_security


class SetExecutorSecurityContext(Remediation):
    id = "set-executor-security-context"
    title = "write a restricted-compliant executor.securityContext into the controller configmap"
    fixes = ("AD404",)

    def plan(self, ctx: Context) -> Plan:
        plan = Plan(self.id)
        if ctx.config.configmap is None:
            plan.notes.append("the controller configmap does not exist: install-argo first")
            return plan
        restricted = pod_security.Level("restricted", pod_security.LATEST)
        if not any(pod_security.violations(argo.executor_pod(e, ctx.config, None), restricted)
                   for e in ctx.executors.all if e not in ("docker", "pns")):
            return plan  # already compliant (docker and pns cannot be: set-executor's job)
        executor = ctx.config.settings.get("executor")
        executor = dict(executor) if isinstance(executor, dict) else {}
        sc = dict(executor.get("securityContext") or {})
        executor["securityContext"] = {**sc, **argo.RESTRICTED_EXECUTOR_SECURITY_CONTEXT}
        plan.actions.append(config_action(ctx, {"executor": executor},
                                          "init and wait containers that Pod Security \"restricted\" admits"))
        return plan
