"""Writing settings into the controller configmap, in whichever form it uses (`config: |` or one
key per setting), touching nothing but those settings. Shared by the remediations that change it."""
from __future__ import annotations

import json
from typing import Any

from argodoctor import argo
from argodoctor.engine.context import Context
from argodoctor.engine.model import Action


def config_action(ctx: Context, changes: dict[str, Any], reason: str) -> Action:
    """An Action setting each key of `changes` in the controller configmap (None removes the key)."""
    c, config = ctx.controller, ctx.config
    before = config.configmap
    data = (before or {}).get("data") or {}
    remove: list[tuple[str, ...]] = []
    if config.form in ("config", "mixed"):
        text = data.get("config") or ""
        for key, value in changes.items():
            text = argo.set_config_key(text, key, value)
        new = {"config": text}
        if config.form == "mixed":  # fold the stray keys into `config`, the form the controller reads
            for key in data:
                if key != "config" and key not in changes:
                    text = argo.set_config_key(text, key, (config.raw or config.settings).get(key))  # as written
            new = {"config": text}
            remove = [("data", k) for k in data if k != "config"]
    else:
        new = {k: _value_text(v) for k, v in changes.items() if v is not None}
        remove = [("data", k) for k, v in changes.items() if v is None and k in data]
    desired = {"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": c.configmap_name, "namespace": c.namespace}, "data": new}
    return Action(desired, before, reason, remove=remove)


def _value_text(value: Any) -> str:
    """A setting's text in the per-key form: YAML for mappings and lists, the plain scalar otherwise."""
    if isinstance(value, (dict, list)):
        import yaml  # here: plugins are imported by every command, `list` included

        return yaml.safe_dump(value, sort_keys=False, default_flow_style=False)
    return value if isinstance(value, str) else json.dumps(value)
