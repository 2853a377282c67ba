"""The controller ConfigMap: its two forms (one `config: |` key, or one key per setting) parsed."""
from __future__ import annotations

import dataclasses
import re
from typing import Any

from ..view import safe_yaml
from . import go_decode


@dataclasses.dataclass
class ConfigProblem:
    key: str
    message: str
    line: int | None = None
    column: int | None = None


@dataclasses.dataclass
class ControllerConfig:
    """The controller configmap, parsed. `settings` maps each setting to its value as the controller
    reads it (go_decode.canonical: `ArtifactRepository` or `artifactory.repoUrl` under the json names
    Go matches them to, `instanceID: 2024` as "2024"); `raw` holds them as written, for AD103."""

    configmap: dict[str, Any] | None
    settings: dict[str, Any]
    problems: list[ConfigProblem]
    form: str  # "config" (one `config: |` key), "keys" (one key per setting), "mixed" or "empty"
    raw: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def name(self) -> str:
        meta = (self.configmap or {}).get("metadata", {})
        return f"{meta.get('namespace')}/{meta.get('name')}"

    def source(self, setting: str) -> str:
        """Where a setting lives, for messages: 'ConfigMap argo/x key config' or '... key artifactRepository'."""
        key = "config" if self.form in ("config", "mixed") and setting not in (
            (self.configmap or {}).get("data") or {}) else setting
        return f"ConfigMap {self.name} key {key}"


def parse_controller_config(configmap: dict[str, Any] | None) -> ControllerConfig:
    """The settings of the controller ConfigMap. Its text is the user's: parsed with bounds
    (safe_yaml), and a `data` that is not a mapping of strings is a problem, not a crash."""
    if configmap is None:
        return ControllerConfig(None, {}, [], "empty")
    raw = configmap.get("data")
    problems: list[ConfigProblem] = []
    if raw is not None and not isinstance(raw, dict):
        problems.append(ConfigProblem("data", f"`data` is a {type(raw).__name__}, not a mapping of keys to text"))
        raw = {}
    data: dict[str, str] = {}
    for key, text in (raw or {}).items():
        if isinstance(key, str) and (text is None or isinstance(text, str)):
            data[key] = text or ""
        else:
            problems.append(ConfigProblem(str(key), f"key {str(key)!r}: expected YAML text, got a "
                                                    f"{type(text).__name__}"))
    settings: dict[str, Any] = {}
    if "config" in data:
        form = "mixed" if len(data) > 1 else "config"
        if form == "mixed":
            others = ", ".join(sorted(k for k in data if k != "config"))
            problems.append(ConfigProblem("config", f"`config` is mixed with other keys ({others}); "
                                                    "the controller reads only one form"))
        parsed = _load(data["config"], "config", problems)
        if isinstance(parsed, dict):
            settings.update({str(k): v for k, v in parsed.items()})
        elif parsed is not None:
            problems.append(ConfigProblem("config", "`config` does not hold a YAML mapping"))
    else:
        form = "keys" if data else "empty"
    for key, text in data.items():
        if key != "config":
            value = _load_setting(key, text, problems, missing := object())
            if value is not missing:
                settings[key] = value
    canonical = go_decode.canonical(settings, "config")
    return ControllerConfig(configmap, canonical if isinstance(canonical, dict) else settings, problems, form,
                            raw=settings)


def _load(text: str, key: str, problems: list[ConfigProblem], failed: Any = None) -> Any:
    try:
        return go_decode.load_yaml(text)
    except safe_yaml.Invalid as e:
        problems.append(ConfigProblem(key, f"not valid YAML: {e.problem}", e.line, e.column))
    except safe_yaml.TooComplex as e:
        problems.append(ConfigProblem(key, f"too large or too deep to judge: {e}"))
    return failed


def _load_setting(key: str, text: str, problems: list[ConfigProblem], failed: Any) -> Any:
    """One key of the one-key-per-setting form, read as config/controller.go parseConfigMap (v3.7.18)
    reads it: pasted into one YAML text after `key: ` (one line) or under `key:`, indented by two spaces
    (several lines, outer newlines trimmed), so `nodeEvents: "enabled: false"` is invalid YAML there.
    Lines and columns are those of the key's own text."""
    if "\n" in text:
        body = text.strip("\n")
        snippet = f"{key}:\n  " + "\n  ".join(body.split("\n")) + "\n"
        first_line = len(text) - len(text.lstrip("\n")) + 1  # the key's line 1 is the snippet's line 2

        def where(line: int | None, column: int | None) -> tuple[int | None, int | None]:
            if line is None or line < 2:
                return None, None
            return line - 2 + first_line, max(1, column - 2) if column else column
    else:
        snippet = f"{key}: {text}\n"

        def where(line: int | None, column: int | None) -> tuple[int | None, int | None]:
            return (1, max(1, column - len(key) - 2)) if line == 1 and column else (line, column)
    try:
        parsed = go_decode.load_yaml(snippet)
    except safe_yaml.Invalid as e:
        problems.append(ConfigProblem(key, f"not valid YAML: {e.problem}", *where(e.line, e.column)))
        return failed
    except safe_yaml.TooComplex as e:
        problems.append(ConfigProblem(key, f"too large or too deep to judge: {e}"))
        return failed
    if isinstance(parsed, dict) and len(parsed) == 1 and key in parsed:
        return parsed[key]
    return _load(text, key, problems, failed)  # e.g. a `---` inside the text: judged on its own


def set_config_key(text: str, key: str, value: Any) -> str:
    """The `config: |` text with top-level `key` replaced by `value` (removed when value is None),
    every other line kept byte for byte. Appends the key when it is absent."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if re.match(rf"{re.escape(key)}\s*:", line)), None)
    block: list[str] = []
    if value is not None:
        import yaml

        dumped = yaml.safe_dump({key: value}, sort_keys=False, default_flow_style=False)
        block = dumped.splitlines(keepends=True)
    if start is None:
        if block and lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        return "".join(lines + block)
    end = start + 1
    # The block runs until the next line that starts at column 0 (another key or a document marker).
    while end < len(lines) and (not lines[end].strip() or lines[end][0] in " \t#"):
        end += 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1  # keep blank lines that separate it from what follows
    return "".join(lines[:start] + block + lines[end:])
