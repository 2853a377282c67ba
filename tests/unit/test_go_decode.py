"""go_decode: Argo's configuration decoded by encoding/json's rules over the generated v3.7.18 tree.
Each expectation here was also checked against Argo's own decoder (decodecheck, built from the
controller's module); tests/integration/test_go_decoding.py compares the two over generated cases."""
from __future__ import annotations

import pytest

from argodoctor.argo import Version, go_decode, parse_controller_config
from argodoctor.argo.config_keys import config_problems, setting_name

V3_7_18 = Version(3, 7, 18)


@pytest.fixture(scope="module")
def tree():
    schema = go_decode.schema_for(V3_7_18)
    assert schema is not None and schema.argo == "v3.7.18"
    return schema


def problems(value, tree, root="config", strict=True):
    return [(p.path, p.unknown) for p in go_decode.decode(value, root, tree, strict).problems]


# ---- field names: exact first, then encoding/json's fold (decode.go object(), fold.go foldName)

def test_case_insensitive_names_fill_the_field(tree):
    decoded = go_decode.decode({"artifactory": {"repoUrl": "https://af/argo", "USERNAMESECRET": {"Name": "a",
                                                                                                   "key": "u"}}},
                               "artifactRepository", tree, strict=True)
    assert decoded.ok
    assert decoded.value == {"artifactory": {"repoURL": "https://af/argo", "usernameSecret": {"name": "a",
                                                                                                "key": "u"}}}


def test_fold_is_ascii_case_plus_long_s_and_kelvin(tree):
    assert go_decode.fold("repoUrl") == go_decode.fold("REPOURL")
    assert go_decode.fold("\u017fecretKey") == go_decode.fold("secretKey")  # U+017F folds with s
    assert go_decode.fold("\u212aey") == go_decode.fold("key")  # U+212A (Kelvin) folds with k
    assert go_decode.fold("ké") != go_decode.fold("KE")
    assert problems({"s3": {"\u017fecretKeySecret": {"name": "a", "key": "b"}}}, tree, "artifactRepository") == []


def test_two_spellings_of_one_field_merge_the_later_sorted_wins(tree):
    # json.Marshal sorts map keys, so "repoUrl" (after "repoURL") is decoded last
    decoded = go_decode.decode({"artifactory": {"repoURL": "a", "repoUrl": "b"}}, "artifactRepository", tree, True)
    assert decoded.ok and decoded.value["artifactory"]["repoURL"] == "b"


def test_map_keys_are_arbitrary(tree):
    assert problems({"images": {"Any/Image:tag": {"entrypoint": ["a"]}}}, tree) == []


# ---- strict decoding: unknown fields at every depth (DisallowUnknownFields)

@pytest.mark.parametrize("value,path", [
    ({"bogus": 1}, "bogus"),
    ({"workflowDefaults": {"spec": {"foo": 1}}}, "workflowDefaults.spec.foo"),
    ({"mainContainer": {"resources": {"limitz": {}}}}, "mainContainer.resources.limitz"),
    ({"executor": {"securityContext": {"runAsUser": 1, "nope": True}}}, "executor.securityContext.nope"),
    ({"links": [{"name": "a", "url": "u"}, {"nmae": "b"}]}, "links[1].nmae"),
    ({"sso": {"issuer": "https://dex", "rbac": {"enabled": True, "x": 1}}}, "sso.rbac.x"),
    ({"persistence": {"postgresql": {"host": "db", "prot": 5432}}}, "persistence.postgresql.prot"),
    ({"synchronization": {"semaphore": {}}}, "synchronization.semaphore"),
])
def test_unknown_field_at_any_depth_is_fatal_when_strict(tree, value, path):
    assert problems(value, tree) == [(path, True)]
    assert problems(value, tree, strict=False) == []


def test_inline_structs_are_flattened(tree):
    # S3ArtifactRepository embeds S3Bucket; Workflow embeds TypeMeta (`json:",inline"`)
    assert problems({"s3": {"bucket": "b", "endpoint": "e:9000", "insecure": True}}, tree, "artifactRepository") == []
    assert problems({"workflowDefaults": {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow"}}, tree) == []
    assert problems({"s3": {"S3Bucket": {}}}, tree, "artifactRepository") == [("s3.S3Bucket", True)]


def test_persistence_embeds_the_db_config_of_its_connection(tree):
    assert problems({"persistence": {"archive": True, "postgresql": {"host": "db", "port": 5432,
                                                                     "tableName": "t"}}}, tree) == []


# ---- values: the YAML-to-JSON coercion, then encoding/json's type rules

def test_numbers_and_booleans_become_strings_for_string_fields(tree):
    decoded = go_decode.decode({"instanceID": 2024, "namespace": True}, "config", tree, True)
    assert decoded.ok and decoded.value == {"instanceID": "2024", "namespace": "true"}


def test_but_not_through_an_embedded_struct(tree):
    # sigs.k8s.io/yaml recurses into t.Field(f.index[0]) (S3Bucket), not the promoted field: no coercion
    assert problems({"s3": {"bucket": 5}}, tree, "artifactRepository", strict=False) == [("s3.bucket", False)]
    assert problems({"s3": {"accessKeySecret": {"name": 5, "key": "k"}}}, tree, "artifactRepository",
                    strict=False) == [("s3.accessKeySecret.name", False)]


@pytest.mark.parametrize("value", [
    {"parallelism": "ten"}, {"parallelism": 1.5}, {"parallelism": True}, {"parallelism": [1]},
    {"executor": "quay.io/argoproj/argoexec"}, {"links": {"name": "x"}}, {"nodeEvents": {"enabled": "yes"}},
    {"initialDelay": 30}, {"initialDelay": "soon"}, {"initialDelay": None},
    {"podGCGracePeriodSeconds": 1 << 63}, {"resourceRateLimit": {"burst": 2.5}},
    {"mainContainer": {"ports": [{"containerPort": "http"}]}},
    {"executor": {"readinessProbe": {"httpGet": {"port": True}}}},
])
def test_wrong_types_fail_strict_or_not(tree, value):
    assert problems(value, tree) and problems(value, tree, strict=False)


@pytest.mark.parametrize("value", [
    {"parallelism": 10.0},  # json.Marshal writes 10: an int
    {"parallelism": None}, {"executor": None}, {"links": None},  # null leaves a field alone
    {"podGCDeleteDelayDuration": None},  # a pointer: null is nil (not the Duration's UnmarshalJSON)
    {"initialDelay": "1m30s"}, {"resourceRateLimit": {"limit": 10, "burst": 1}},
    {"executor": {"readinessProbe": {"httpGet": {"port": "http"}}, "resources": {"limits": {"cpu": 1}}}},
    {"workflowDefaults": {"spec": {"activeDeadlineSeconds": 300, "arguments": {"parameters": [
        {"name": "p", "value": 5}]}}}},
])
def test_right_types_pass(tree, value):
    assert problems(value, tree) == []


def test_nan_cannot_be_converted_to_json(tree):
    assert problems({"bogus": float("nan")}, tree, strict=False) == [("bogus", False)]


# ---- versions: the tree is used only where it is known to hold

def test_tree_only_for_its_minor_up_to_its_patch():
    assert go_decode.schema_for(Version(3, 7, 0)) is not None
    assert go_decode.schema_for(Version(3, 7, 19)) is None  # a later patch may have added fields
    assert go_decode.schema_for(Version(3, 5, 15)) is None
    assert go_decode.schema_for(None) is None


def cm(**data):
    return {"metadata": {"name": "workflow-controller-configmap", "namespace": "argo"}, "data": data}


def test_ad103_reports_nested_unknown_fields_with_their_path():
    found = config_problems(parse_controller_config(cm(workflowDefaults="spec:\n  foo: 1\n")), V3_7_18)
    assert [p.key for p in found] == ["workflowDefaults"]
    assert found[0].message.startswith("workflowDefaults.spec.foo is not a field of Argo v3.7.18")
    assert 'json: unknown field "foo"' in found[0].message


def test_ad103_does_not_judge_nested_keys_without_a_tree():
    # v3.5: no generated tree (the module proxy does not serve it): a miss, never a false fail
    config = parse_controller_config(cm(workflowDefaults="spec:\n  foo: 1\n"))
    assert config_problems(config, Version(3, 5, 15)) == []
    assert config_problems(config, Version(3, 7, 19)) == []


def test_ad103_accepts_case_insensitive_setting_names():
    config = parse_controller_config(cm(config="ArtifactRepository:\n  s3:\n    Bucket: b\nPARALLELISM: 3\n"))
    assert config_problems(config, V3_7_18) == []
    assert config_problems(config, Version(3, 5, 15)) == []  # the table is matched the same way
    assert config.settings["artifactRepository"]["s3"]["bucket"] == "b"
    assert config.raw["ArtifactRepository"]["s3"]["Bucket"] == "b"
    assert setting_name("ArtifactRepository", None) == "artifactRepository"


def test_one_line_value_is_pasted_after_the_key_as_the_controller_does():
    # parseConfigMap joins `nodeEvents: enabled: false`: invalid YAML for the controller too
    config = parse_controller_config(cm(nodeEvents="enabled: false"))
    [found] = config_problems(config, V3_7_18)
    assert found.key == "nodeEvents" and "not valid YAML" in found.message
    assert config_problems(parse_controller_config(cm(nodeEvents="enabled: false\n")), V3_7_18) == []
    assert config_problems(parse_controller_config(cm(nodeEvents="{enabled: false}")), V3_7_18) == []


def test_struct_without_fields(tree):
    # v1alpha1.NoneStrategy has no fields: `archive: {none: {}}` is common and must not crash
    archive = {"name": "x", "archive": {"none": {}}}
    value = {"workflowDefaults": {"spec": {"templates": [{"name": "a", "outputs": {"artifacts": [archive]}}]}}}
    assert problems(value, tree) == []
    archive["archive"]["none"] = {"x": 1}
    assert problems(value, tree) == [("workflowDefaults.spec.templates[0].outputs.artifacts[0].archive.none.x", True)]


# ---- v4.0.5: its own tree (pkg/apis/workflow/v1alpha1 Synchronization has no singular semaphore/mutex)

def test_v4_removed_the_singular_semaphore():
    v4 = go_decode.schema_for(Version(4, 0, 5))
    assert v4 is not None and v4.argo == "v4.0.5"
    assert go_decode.schema_for(Version(4, 1, 2)) is None
    config = parse_controller_config(cm(workflowDefaults="spec:\n  synchronization:\n    semaphore:\n"
                                                          "      configMapKeyRef: {name: s, key: k}\n"))
    assert config_problems(config, V3_7_18) == []
    [found] = config_problems(config, Version(4, 0, 5))
    assert found.message.startswith("workflowDefaults.spec.synchronization.semaphore is not a field of Argo v4.0.5")
    assert config_problems(config, Version(4, 1, 2)) == []  # no v4.1 tree: nested keys not judged


def test_rewrite_controller_config_leaves_nested_problems_to_a_person():
    from argodoctor.remediations.rewrite_controller_config import RewriteControllerConfig

    from .builders import context, controller, controller_configmap

    cm = controller_configmap(workflowDefaults="spec:\n  foo: 1\n", Parallelism="3")
    plan = RewriteControllerConfig().plan(context(controller("v3.7.18"), cm))
    assert plan.actions == []  # Parallelism is parallelism to the controller: nothing to remove
    assert plan.notes == ["key workflowDefaults: workflowDefaults.spec.foo is not a field of Argo v3.7.18 "
                          "(generated from its config.Config): correct it by hand"]


@pytest.mark.parametrize("text", ["1e3", "0o17", "0x1F", "1_000", "+5", "017"])
def test_plain_numbers_yaml_v2_reads_are_not_false_fails(tree, text):
    # PyYAML keeps some plain scalars as strings that yaml.v2 (resolve.go) reads as numbers; quoted,
    # they are strings to both, and the controller refuses them in an int field
    assert config_problems(parse_controller_config(cm(parallelism=text)), V3_7_18) == []
    [found] = config_problems(parse_controller_config(cm(parallelism=f"'{text}'")), V3_7_18)
    assert "of the wrong type" in found.message
    assert config_problems(parse_controller_config(cm(nodeEvents="enabled: y\n")), V3_7_18) == []
    assert config_problems(parse_controller_config(cm(nodeEvents="enabled: 'y'\n")), V3_7_18) != []


def test_rewrite_folds_a_mixed_form_keeping_names_and_plain_numbers_as_written():
    import yaml
    from argodoctor.remediations.rewrite_controller_config import RewriteControllerConfig

    from .builders import configmap, context, controller

    cm = configmap("workflow-controller-configmap", "argo", {"config": "instanceID: ci\n", "Parallelism": "1e3"})
    [action] = RewriteControllerConfig().plan(context(controller("v3.7.18"), cm)).actions
    text = action.desired["data"]["config"]
    assert "Parallelism: 1e3" in text and yaml.safe_load(text) == {"instanceID": "ci", "Parallelism": "1e3"}
