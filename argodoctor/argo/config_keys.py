"""What the workflow-controller ConfigMap accepts at each Argo minor version (check AD103).

The accepted top-level keys are the `json:"..."` tags of the Go struct `Config` in
config/config.go of argoproj/argo-workflows at each release. The controller reads the
ConfigMap in one of two forms: one `config: |` key holding the whole struct as YAML, or
one key per setting, each key's YAML merged into the struct. Either way every value is
YAML that must fit its field's Go type, and from v3.4 an unknown key is fatal
(`json: unknown field "<key>"`, feat: Fail on invalid config #8295, docs/upgrading.md).

Provenance of each row of the table (see _PROVENANCE): where a version's struct was read
from a real source file it says so; where it was derived from changelogs, docs or the
release manifests, or interpolated between the versions read, it says that instead.
The table is per minor version, as of its latest patch release; a key backported in a
patch release (e.g. `columns` into v3.4.x) may still be fatal on that minor's early patches.
"""
from __future__ import annotations

import datetime
import difflib
import re
from typing import Any

from argodoctor.argo import ConfigProblem, ControllerConfig, Version, go_decode

KINDS = ("mapping", "list", "string", "bool", "int", "duration-string", "any")

# ---------------------------------------------------------------- the table

# v2.12: a stored argoproj/argo-workflows config/config.go (module github.com/argoproj/argo,
# before the v3 module rename) with nodeEvents, mainContainer, workflowRestrictions and
# initialDelay (absent from the v2.9-v2.11 struct) and without v3.0's containerRuntimeExecutors.
_BASE: dict[str, str] = {
    "nodeEvents": "mapping",
    "executorImage": "string",
    "executorImagePullPolicy": "string",
    "executor": "mapping",
    "executorResources": "mapping",
    "mainContainer": "mapping",
    "kubeConfig": "mapping",
    "containerRuntimeExecutor": "string",
    "kubeletPort": "int",
    "kubeletInsecure": "bool",
    "artifactRepository": "mapping",
    "namespace": "string",
    "instanceID": "string",
    "metricsConfig": "mapping",
    "telemetryConfig": "mapping",
    "parallelism": "int",
    "persistence": "mapping",
    "links": "list",
    "dockerSockPath": "string",
    "workflowDefaults": "mapping",
    "podSpecLogStrategy": "mapping",
    "workflowRestrictions": "mapping",
    "initialDelay": "duration-string",  # metav1.Duration
    # Up to v3.3 `sso` is read from the same ConfigMap by the argo-server, whose
    # server/apiserver.Config embeds config.Config and adds SSO; from v3.4 it is in config.Config.
    "sso": "mapping",
}

# One change a line: (version, key, kind) adds the key (or changes its kind); kind None removes it.
_CHANGES: tuple[tuple[tuple[int, int], str, str | None], ...] = (
    ((3, 0), "containerRuntimeExecutors", "list"),  # v3.0: executor chosen by workflow label (CATALOG)
    ((3, 0), "namespaceParallelism", "int"),  # v3.0: before v3.1.0-rc1 (not in its changelog), absent in v2.12
    ((3, 0), "podGCGracePeriodSeconds", "int"),  # v3.0: *int64; same evidence as namespaceParallelism
    ((3, 0), "resourceRateLimit", "mapping"),  # v3.0.3/v3.1: {limit, burst}; "config for potential CPU hogs" #5853
    ((3, 1), "images", "mapping"),  # v3.1: command lookup for the new emissary executor (#4925)
    ((3, 2), "podGCDeleteDelayDuration", "duration-string"),  # v3.2: "deletion delay when using PodGC" #6168
    ((3, 3), "executorImage", None),  # v3.3 removed (#8009): use executor.image or --executor-image
    ((3, 3), "executorImagePullPolicy", None),  # v3.3 removed (#8009): use executor.imagePullPolicy
    ((3, 3), "executorResources", None),  # v3.3 removed (#8009): use executor.resources
    ((3, 3), "retentionPolicy", "mapping"),  # v3.3: retention controller (#6854)
    ((3, 3), "navColor", "string"),  # v3.3: UI nav bar colour (#7387)
    ((3, 4), "containerRuntimeExecutor", None),  # v3.4 removed: emissary is the only executor (#7829)
    ((3, 4), "containerRuntimeExecutors", None),  # v3.4 removed (#7829)
    ((3, 4), "kubeletPort", None),  # v3.4 removed with the kubelet executor
    ((3, 4), "kubeletInsecure", None),  # v3.4 removed with the kubelet executor
    ((3, 4), "dockerSockPath", None),  # v3.4 removed with the docker executor
    ((3, 4), "columns", "list"),  # v3.4.x backport of #10693 (v3.5): the v3.4.18 quick-start sets it
    ((3, 6), "workflowEvents", "mapping"),  # v3.6: switch off workflow events (#13746)
    ((3, 7), "synchronization", "mapping"),  # v3.7: database-backed multi-controller locks (#14309)
    ((4, 0), "artifactDrivers", "list"),  # v4.0: artifact driver plugins
    ((4, 0), "failedPodRestart", "mapping"),  # v4.0: restart pods that fail before running
    ((4, 1), "disableAgentPodCreation", "bool"),  # v4.1: "Disable agent pod creation for plugins" #7891
    ((4, 1), "initlessPod", "mapping"),  # v4.1: pod layout without the argoexec init container #16154
)

KNOWN_VERSIONS: tuple[tuple[int, int], ...] = (
    (2, 12), (3, 0), (3, 1), (3, 2), (3, 3), (3, 4), (3, 5), (3, 6), (3, 7), (4, 0), (4, 1))

# Where each version's key list comes from. "source": a config type of that version was read;
# "derived": from Argo's changelog, docs or release manifests; "interpolated": inferred between those.
_PROVENANCE: dict[tuple[int, int], str] = {
    (2, 12): "source: stored config/config.go (module github.com/argoproj/argo), identified as v2.12 by "
             "elimination against the v2.9-v2.11 and v3 structs; sso from server/apiserver/config.go",
    (3, 0): "interpolated: the v2.12 struct plus the fields of the v3.2 struct that the v3.1.0 changelog "
            "does not add; containerRuntimeExecutors also per the v3.0.10 quick-start manifest",
    (3, 1): "derived: CHANGELOG v3.1.0-rc1 (emissary #4925); the v3.1.15 quick-start sets images and "
            "namespaceParallelism",
    (3, 2): "source: stored config/config.go (module argo-workflows/v3, podGCDeleteDelayDuration, no 3.3 "
            "fields); CHANGELOG v3.2.0-rc1 #6168",
    (3, 3): "derived: CHANGELOG v3.3.0-rc1/rc9 (#6854, #7387, #8009), docs/upgrading.md (Upgrading to v3.3), "
            "v3.3.10 quick-start",
    (3, 4): "source: pkg.go.dev argo-workflows/v3@v3.4.17/config and stored config/config.go commit 00f1bf2f; "
            "docs/upgrading.md (Upgrading to v3.4); columns from the v3.4.18 quick-start",
    (3, 5): "interpolated: same as v3.4 (columns, #10693, was announced for v3.5; the v3.5.15 quick-start "
            "sets it)",
    (3, 6): "interpolated: stored config/config.go of the v3.6 metrics rework (OpenTelemetry) has "
            "workflowEvents; #13746 merged 2024-10-15",
    (3, 7): "source: config/config.go commit 185c0a8f; docs/new-features.md of v3.7 (#14309)",
    (4, 0): "interpolated: v4.1.2 CRDs carry artifact plugins and failedPodRestarts, the v4.1.0 feature list "
            "does not name them, argo-helm#3653 says failedPodRestart is not in v3.7.6",
    (4, 1): "source: docs/workflow-controller-configmap.md commit 03c3f558 (Config table generated from "
            "config.go); docs/new-features.md of v4.1.0 (commit 17e5c964)",
}

# Why a removed key went away, for messages.
_REMOVED_HINTS: dict[str, str] = {
    "executorImage": "use executor.image, or the controller's --executor-image flag",
    "executorImagePullPolicy": "use executor.imagePullPolicy",
    "executorResources": "use executor.resources",
    "containerRuntimeExecutor": "emissary is the only executor: delete it",
    "containerRuntimeExecutors": "emissary is the only executor: delete it",
    "kubeletPort": "the kubelet executor is gone: delete it",
    "kubeletInsecure": "the kubelet executor is gone: delete it",
    "dockerSockPath": "the docker executor is gone: delete it",
}


def _build_tables() -> dict[tuple[int, int], dict[str, str]]:
    tables: dict[tuple[int, int], dict[str, str]] = {}
    current = dict(_BASE)
    for version in KNOWN_VERSIONS:
        for changed_in, key, kind in _CHANGES:
            if changed_in != version:
                continue
            if kind is None:
                current.pop(key, None)
            else:
                current[key] = kind
        tables[version] = dict(current)
    return tables


_TABLES = _build_tables()


def _known(version: Version | None) -> tuple[int, int]:
    """The nearest known minor version not above `version`; the newest for None, the oldest below v2.12."""
    if version is None:
        return KNOWN_VERSIONS[-1]
    wanted = (version.major, version.minor)
    below = [v for v in KNOWN_VERSIONS if v <= wanted]
    return below[-1] if below else KNOWN_VERSIONS[0]


def accepted_settings(version: Version | None) -> dict[str, str]:
    """Top-level key -> expected YAML kind, for the nearest known minor version not above `version`
    (the newest known one when the version is unknown)."""
    return dict(_TABLES[_known(version)])


def provenance(version: Version | None) -> str:
    """Where the key list used for `version` comes from (real source, derived or interpolated)."""
    return _PROVENANCE[_known(version)]


def strict(version: Version | None) -> bool:
    """From v3.4 the controller parses its ConfigMap strictly: an unknown key is fatal."""
    return version is None or version.at_least(3, 4)


# ---------------------------------------------------------------- checking

_EXPECTED = {
    "mapping": "a mapping (key: value pairs)",
    "list": "a list",
    "string": "a string",
    "bool": "a boolean (true or false)",
    "int": "an int (a whole number such as 10)",
    "duration-string": 'a duration string such as "30s" or "5m"',
}


def _fits(kind: str, value: Any) -> bool:
    if value is None or kind == "any":
        return True  # JSON null leaves any Go field at its zero value
    if kind == "mapping":
        return isinstance(value, dict)
    if kind == "list":
        return isinstance(value, list)
    if kind == "string":
        # YAML timestamps reach the controller as strings too, and so do numbers and booleans:
        # sigs.k8s.io/yaml (yaml.go convertToJSONableObject) converts them for a string field.
        return isinstance(value, (str, datetime.date, int, float))
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "duration-string":
        return isinstance(value, str) and bool(go_decode.GO_DURATION.fullmatch(value))
    return True


def _yaml_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return str(value)


def _label(version: Version | None) -> str:
    if version is None:
        newest = KNOWN_VERSIONS[-1]
        return f"Argo v{newest[0]}.{newest[1]} (the newest known; the version was not detected)"
    return f"Argo {version}"


def _history(key: str) -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
    """The first known version accepting `key` and the first one after that no longer does."""
    added = removed = None
    for version in KNOWN_VERSIONS:
        if key in _TABLES[version]:
            if added is None:
                added = version
        elif added is not None and removed is None:
            removed = version
    return added, removed


def _unknown_hint(key: str, accepted: dict[str, str], table_version: tuple[int, int]) -> str:
    added, removed = _history(key)
    if removed is not None and removed <= table_version:
        why = _REMOVED_HINTS.get(key, "delete it")
        return f" (removed in v{removed[0]}.{removed[1]}: {why})"
    if added is not None and added > table_version:
        return f" (it was added in v{added[0]}.{added[1]})"
    close = difflib.get_close_matches(key, list(accepted), n=1, cutoff=0.8)
    if not close:
        close = [k for k in accepted if k.lower() == key.lower()]
    return f" (did you mean {close[0]}?)" if close else ""


def _key_line(text: str, key: str) -> int | None:
    """The 1-based line of `text` where top-level `key` starts (`key:` at column 1, maybe quoted)."""
    pattern = re.compile(rf"""^(["']?){re.escape(key)}\1[ \t]*:(\s|$)""")
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.match(line):
            return number
    return None


def setting_name(key: str, version: Version | None) -> str | None:
    """The setting `key` fills, matched as encoding/json matches it (go_decode: the exact name, else
    the first whose name folds to the same, so `ArtifactRepository` fills artifactRepository); None
    for an unknown key. By the generated tree of the version when there is one, else the table."""
    tree = go_decode.schema_for(version)
    names = ([f["name"] for f in tree.resolve(tree.roots["config"])["fields"]] if tree is not None
             else list(_TABLES[_known(version)]))
    if key in names:
        return key
    return next((n for n in names if go_decode.fold(n) == go_decode.fold(key)), None)


def config_problems(config: ControllerConfig, version: Version | None) -> list[ConfigProblem]:
    """AD103's findings: the ConfigMap missing, the parse problems already found (invalid YAML with
    line/column, `config` mixed with other keys), keys unknown to `version` (fatal from v3.4, ignored
    before) and values the controller cannot decode. In the `config: |` form a key's line is its line
    inside the `config` text; in the one-key-per-setting form it is None.

    Where the version's struct tree was generated (go_decode.schema_for) each value is decoded as the
    controller decodes it, so an unknown field is found at any depth (workflowDefaults.spec.foo) and
    a value of the wrong type anywhere; elsewhere only top-level keys and their YAML kinds are judged
    (a false fail is worse than a miss: nested keys are not judged without the tree)."""
    if config.configmap is None:
        return [ConfigProblem("", "the controller's ConfigMap does not exist: the controller runs with "
                                  "built-in defaults (no artifact repository, no settings)")]
    problems = list(config.problems)
    table_version = _known(version)
    accepted = _TABLES[table_version]
    tree = go_decode.schema_for(version)
    label = _label(version)
    data = config.configmap.get("data") or {}
    config_text = data.get("config") if config.form in ("config", "mixed") else None
    for key, value in (config.raw or config.settings).items():
        key = str(key)
        line = None
        if isinstance(config_text, str) and key not in data:
            line = _key_line(config_text, key)
        column = 1 if line is not None else None
        name = setting_name(key, version)
        if name is None:
            hint = _unknown_hint(key, accepted, table_version)
            if strict(version):
                message = (f"{key} is not a setting of {label}{hint}; fatal: the controller refuses to start: "
                           f'json: unknown field "{key}"')
            else:
                message = f"{key} is not a setting of {label}{hint}; ignored by the controller"
            problems.append(ConfigProblem(key, message, line, column))
        elif tree is not None:
            for p in go_decode.decode_field(value, key, tree, strict(version)).problems:
                if p.unknown:
                    message = (f"{p.path} is not a field of {label} (generated from its config.Config); fatal: "
                               f"the controller refuses to start: {p.message}")
                else:
                    message = f"{p.path} is {p.message} in {label}; the controller cannot parse its configuration"
                problems.append(ConfigProblem(key, message, line, column))
        elif not _fits(accepted.get(name, "any"), value):
            message = (f"{key} is {_show(value)} ({_yaml_kind(value)}), of the wrong type: expected "
                       f"{_EXPECTED[accepted[name]]} in {label}; the controller cannot parse its configuration")
            problems.append(ConfigProblem(key, message, line, column))
    return problems
