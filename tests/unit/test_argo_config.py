"""AD103's knowledge: which top-level settings the controller ConfigMap accepts at each Argo version."""
from __future__ import annotations

import functools
import re

import pytest
import yaml

from argodoctor.argo import parse_controller_config, parse_version
from argodoctor.argo.config_keys import KINDS, KNOWN_VERSIONS, accepted_settings, config_problems, provenance, strict

from ..conftest import MANIFESTS


def v(text: str):
    version = parse_version(text)
    assert version is not None
    return version


def keys_cm(**data: str) -> dict:
    """A controller ConfigMap in the one-key-per-setting form; every value is the key's YAML text."""
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "workflow-controller-configmap", "namespace": "argo"}, "data": dict(data)}


def config_cm(text: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "workflow-controller-configmap", "namespace": "argo"}, "data": {"config": text}}


def problems(cm: dict | None, version: str | None) -> list:
    return config_problems(parse_controller_config(cm), v(version) if version else None)


def by_key(found: list) -> dict:
    return {p.key: p for p in found}


# ---- the table

def test_every_known_version_has_a_table_of_valid_kinds_and_a_provenance():
    for major, minor in KNOWN_VERSIONS:
        table = accepted_settings(v(f"v{major}.{minor}.0"))
        assert {"artifactRepository", "parallelism", "executor", "workflowDefaults"} <= set(table)
        assert set(table.values()) <= set(KINDS)
        text = provenance(v(f"v{major}.{minor}.0"))
        assert text.split(":")[0] in ("source", "derived", "interpolated")


def test_executor_keys_accepted_up_to_v3_3_and_gone_from_v3_4():
    assert accepted_settings(v("v3.3.10"))["containerRuntimeExecutor"] == "string"
    assert accepted_settings(v("v3.3.10"))["containerRuntimeExecutors"] == "list"
    assert "containerRuntimeExecutors" not in accepted_settings(v("v2.12.13"))  # from v3.0
    assert accepted_settings(v("v3.0.10"))["containerRuntimeExecutors"] == "list"
    for key in ("containerRuntimeExecutor", "containerRuntimeExecutors", "kubeletPort", "dockerSockPath"):
        assert key not in accepted_settings(v("v3.4.0"))


def test_deprecated_executor_fields_removed_in_v3_3():
    assert accepted_settings(v("v3.2.11"))["executorImage"] == "string"
    assert "executorImage" not in accepted_settings(v("v3.3.0"))
    assert "executorResources" not in accepted_settings(v("v3.3.0"))


def test_keys_added_in_later_versions():
    assert "images" not in accepted_settings(v("v3.0.10"))
    assert accepted_settings(v("v3.1.15"))["images"] == "mapping"
    assert "podGCDeleteDelayDuration" not in accepted_settings(v("v3.1.15"))
    assert accepted_settings(v("v3.2.0"))["podGCDeleteDelayDuration"] == "duration-string"
    assert "retentionPolicy" not in accepted_settings(v("v3.2.11"))
    assert accepted_settings(v("v3.3.0"))["retentionPolicy"] == "mapping"
    assert "synchronization" not in accepted_settings(v("v3.6.19"))
    assert accepted_settings(v("v3.7.0"))["synchronization"] == "mapping"
    assert "initlessPod" not in accepted_settings(v("v3.7.18"))
    assert accepted_settings(v("v4.1.2"))["initlessPod"] == "mapping"
    assert accepted_settings(v("v4.1.2"))["disableAgentPodCreation"] == "bool"


def test_nearest_known_minor_not_above():
    assert accepted_settings(None) == accepted_settings(v("v4.1.0"))
    assert accepted_settings(v("v4.9.1")) == accepted_settings(v("v4.1.0"))
    assert accepted_settings(v("v3.4.18")) == accepted_settings(v("v3.4.0"))
    assert accepted_settings(v("v2.9.0")) == accepted_settings(v("v2.12.0"))  # below the oldest: the oldest


def test_accepted_settings_returns_a_copy():
    accepted_settings(v("v3.7.0"))["bogus"] = "int"
    assert "bogus" not in accepted_settings(v("v3.7.0"))


def test_strict_from_v3_4():
    assert not strict(v("v2.12.13"))
    assert not strict(v("v3.3.10"))
    assert strict(v("v3.4.0"))
    assert strict(v("v4.1.2"))
    assert strict(None)


# ---- unknown keys

def test_container_runtime_executor_ok_on_v3_3_fatal_on_v3_4():
    cm = keys_cm(containerRuntimeExecutor="emissary")
    assert problems(cm, "v3.3.10") == []
    [found] = problems(cm, "v3.4.18")
    assert found.key == "containerRuntimeExecutor"
    assert 'fatal: the controller refuses to start: json: unknown field "containerRuntimeExecutor"' in found.message
    assert "removed in v3.4" in found.message
    assert found.line is None  # one key per setting: no line inside `config`


def test_unknown_key_before_v3_4_is_ignored_not_fatal():
    [found] = problems(keys_cm(retentionPolicy="completed: 10\n"), "v3.2.11")
    assert found.key == "retentionPolicy"
    assert "ignored by the controller" in found.message
    assert "fatal" not in found.message
    assert "added in v3.3" in found.message


def test_key_added_later_is_fatal_on_a_strict_older_version():
    [found] = problems(keys_cm(synchronization="enableAPI: true\n"), "v3.6.19")
    assert "added in v3.7" in found.message and 'json: unknown field "synchronization"' in found.message
    # a field of config.SyncConfig at v3.7.18 (enableAPI is not: the controller refuses it)
    assert problems(keys_cm(synchronization="controllerName: c1\n"), "v3.7.18") == []


def test_removed_executor_image_suggests_executor_image():
    [found] = problems(keys_cm(executorImage="quay.io/argoproj/argoexec:v3.3.10"), "v3.3.10")
    assert "removed in v3.3" in found.message and "executor.image" in found.message
    assert "ignored by the controller" in found.message
    assert problems(keys_cm(executorImage="quay.io/argoproj/argoexec:v3.2.11"), "v3.2.11") == []


def test_typo_suggests_the_setting():
    [found] = problems(keys_cm(parralelism="10"), "v3.5.15")
    assert "did you mean parallelism?" in found.message


def test_sso_is_accepted_in_every_version():
    for version in ("v2.12.13", "v3.3.10", "v3.4.18", "v4.1.2"):
        assert problems(keys_cm(sso="issuer: https://dex\n"), version) == []


def test_unknown_version_is_checked_against_the_newest():
    [found] = problems(keys_cm(containerRuntimeExecutor="docker"), None)
    assert "v4.1" in found.message and "not detected" in found.message and "fatal" in found.message


# ---- kinds

def test_wrong_int():
    [found] = problems(keys_cm(parallelism="ten"), "v3.7.18")
    assert found.key == "parallelism"
    assert 'parallelism is "ten" (a string), of the wrong type: expected an int' in found.message


def test_quoted_number_in_key_form_is_an_int():
    # ConfigMap data values are strings; the controller reads `parallelism: "10"` as the YAML 10.
    assert problems(keys_cm(parallelism="10", namespaceParallelism="4"), "v3.7.18") == []


def test_wrong_kinds_of_each_sort():
    cm = keys_cm(executor="quay.io/argoproj/argoexec:v3.7.18", links="name: x\n", instanceID="2024",
                 initialDelay="30", podGCDeleteDelayDuration="soon", disableAgentPodCreation="maybe")
    found = by_key(problems(cm, "v4.1.2"))
    # instanceID: 2024 is accepted: sigs.k8s.io/yaml turns a number into the string a string field takes
    assert set(found) == {"executor", "links", "initialDelay", "podGCDeleteDelayDuration", "disableAgentPodCreation"}
    assert "expected a mapping" in found["executor"].message
    assert "expected a list" in found["links"].message
    assert "expected a duration string" in found["initialDelay"].message
    assert "expected a duration string" in found["podGCDeleteDelayDuration"].message
    assert "expected a boolean" in found["disableAgentPodCreation"].message


def test_right_kinds_and_empty_values_pass():
    cm = keys_cm(executor="resources:\n  requests:\n    cpu: 10m\n", links="- name: x\n  url: http://x\n",
                 initialDelay="30s", podGCDeleteDelayDuration="1m30s", kubeletInsecure="true",
                 instanceID="ci", images="", nodeEvents="enabled: false\n")
    assert problems(cm, "v3.3.10") == []


# ---- the `config: |` form and lines

def test_lines_inside_config():
    text = ("instanceID: ci\n"
            "# a comment\n"
            "parallelism: ten\n"
            "artifactRepository:\n"
            "  s3:\n"
            "    bucket: b\n"
            "containerRuntimeExecutors:\n"
            "- name: emissary\n")
    found = by_key(problems(config_cm(text), "v3.4.18"))
    assert set(found) == {"parallelism", "containerRuntimeExecutors"}
    assert (found["parallelism"].line, found["parallelism"].column) == (3, 1)
    assert found["containerRuntimeExecutors"].line == 7
    assert "fatal" in found["containerRuntimeExecutors"].message


def test_quoted_key_line():
    found = by_key(problems(config_cm('instanceID: ci\n"fooBar": 1\n'), "v3.7.18"))
    assert found["fooBar"].line == 2


def test_config_form_clean():
    text = yaml.safe_dump({"instanceID": "ci", "parallelism": 10, "columns": [{"name": "c", "type": "label",
                                                                               "key": "k"}]})
    assert problems(config_cm(text), "v3.5.15") == []


# ---- problems found while parsing, and the missing ConfigMap

def test_missing_configmap():
    [found] = problems(None, "v3.7.18")
    assert found.key == ""
    assert "does not exist" in found.message


def test_yaml_errors_are_passed_through_with_line_and_column():
    found = problems(config_cm("instanceID: ci\nparallelism: [1\n"), "v3.7.18")
    assert len(found) == 1 and found[0].key == "config"
    assert "not valid YAML" in found[0].message
    assert found[0].line is not None and found[0].column is not None


def test_mixed_form_is_reported_and_keys_still_checked():
    cm = keys_cm(config="instanceID: ci\nbogus: 1\n", parallelism="ten")
    found = by_key(problems(cm, "v3.7.18"))
    assert "mixed" in found["config"].message
    assert found["bogus"].line == 2  # inside `config`
    assert found["parallelism"].line is None  # its own key


def test_empty_configmap_has_no_problems():
    assert problems(keys_cm(), "v3.7.18") == []


# ---- the official releases' own ConfigMaps must pass at their version

@functools.lru_cache(maxsize=1)
def _release_configmaps() -> tuple[tuple[str, str, dict], ...]:
    """(version, file, ConfigMap) for every workflow-controller-configmap in the release manifests."""
    found = []
    for folder in sorted(MANIFESTS.glob("v*")) if MANIFESTS.is_dir() else []:
        for path in sorted(folder.glob("*.yaml")):
            # Parse only the documents that can be the ConfigMap: the full CRDs run to megabytes.
            for chunk in re.split(r"^---\s*$", path.read_text(), flags=re.MULTILINE):
                if "kind: ConfigMap" not in chunk or "workflow-controller-configmap" not in chunk:
                    continue
                doc = yaml.safe_load(chunk) or {}
                if doc.get("kind") == "ConfigMap" and doc["metadata"]["name"] == "workflow-controller-configmap":
                    found.append((folder.name, path.stem, doc))
    return tuple(found)


@pytest.mark.parametrize("version,cm", [pytest.param(ver, cm, id=f"{ver}-{name}")
                                        for ver, name, cm in _release_configmaps()])
def test_release_manifest_configmap_is_valid_for_its_version(version, cm):
    assert problems(cm, version) == []


def test_release_manifests_exercise_executor_keys():
    quick_start = [cm for ver, _, cm in _release_configmaps() if ver == "v3.3.10" and cm.get("data")]
    if not quick_start:
        pytest.skip(f"Argo release manifests not found in {MANIFESTS}")
    cm = quick_start[0]
    assert "containerRuntimeExecutors" in cm["data"]
    [found] = problems(cm, "v3.4.18")  # the v3.3 quick-start ConfigMap is fatal to a v3.4 controller
    assert found.key == "containerRuntimeExecutors" and "fatal" in found.message
