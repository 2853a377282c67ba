"""rewrite-controller-config: makes the controller configmap acceptable to the running version:
removes the keys a strict controller (v3.4+) rejects, converts values whose type is plainly wrong
("10" for an int, "true" for a bool), folds a mixed form into `config`, and keeps every other key
as it was. YAML it cannot parse is left for a person (the plan says where)."""
from __future__ import annotations

from typing import Any

from argodoctor.remediations.controller_config import config_action

from argodoctor.argo import config_keys as argo_config
from argodoctor.engine.context import Context
from argodoctor.engine.model import Plan, Remediation


def _converted(kind: str, value: Any) -> tuple[bool, Any]:
    if kind == "int" and isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return True, int(value.strip())
    if kind == "bool" and isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return True, value.strip().lower() == "true"
    if kind == "string" and isinstance(value, (int, float, bool)):
        return True, str(value).lower() if isinstance(value, bool) else str(value)
    return False, value


class RewriteControllerConfig(Remediation):
    id = "rewrite-controller-config"
    title = "remove configmap keys the version rejects and fix value types, keeping every other key"
    fixes = ("AD103", "AD402")

    def plan(self, ctx: Context) -> Plan:
        plan = Plan(self.id)
        config = ctx.config
        if config.configmap is None:
            return plan  # install-argo creates it
        accepted = argo_config.accepted_settings(ctx.version)
        changes: dict[str, Any] = {}
        for key, value in (config.raw or config.settings).items():
            name = argo_config.setting_name(key, ctx.version)  # case-insensitive, as Go matches it
            kind = accepted.get(name, "any") if name is not None else None
            if kind is None:
                if argo_config.strict(ctx.version):
                    changes[key] = None
                continue
            ok, new = _converted(kind, value)
            if ok and new != value:
                changes[key] = new
        for p in config.problems:
            if "YAML" in p.message:
                where = f", line {p.line}" if p.line else ""
                plan.notes.append(f"key {p.key}{where}: {p.message}: correct it by hand")
        for p in argo_config.config_problems(config, ctx.version):
            # a problem inside a setting (workflowDefaults.spec.foo): which part to drop is a person's call
            if p.key in (config.raw or {}) and p.message.startswith((f"{p.key}.", f"{p.key}[")):
                plan.notes.append(f"key {p.key}: {p.message.split('; ')[0]}: correct it by hand")
        if changes or config.form == "mixed":
            removed = ", ".join(k for k, v in changes.items() if v is None)
            reason = f"removes {removed} (rejected by Argo {ctx.version})" if removed else "fixes value types"
            plan.actions.append(config_action(ctx, changes, reason))
        return plan
