"""AD202 artifact-repository-valid on snapshot fixtures: every rule of argo.repository_problems."""
from __future__ import annotations

import pytest

from argodoctor import argo
from argodoctor.engine.registry import select_checks
from argodoctor.engine.runner import run_checks

from .builders import (
    SEED_REPO,
    configmap,
    context,
    controller,
    controller_configmap,
    seed_objects,
    workflow,
)

ANNOTATION = "workflows.argoproj.io/default-artifact-repository"
DROP = object()  # s3(field=DROP) removes the field


def s3(**changes) -> dict:
    """The seed's repository with some s3 fields changed (DROP removes one)."""
    fields = dict(SEED_REPO["s3"])
    for k, v in changes.items():
        if v is DROP:
            fields.pop(k, None)
        else:
            fields[k] = v
    return {"archiveLogs": True, "s3": fields}


def results(*objects):
    return run_checks(select_checks(["AD202"]), context(*objects))


def one(repo: dict):
    """The single AD202 result of the controller's namespace, with `repo` as the controller's repository."""
    res = [r for r in results(controller(), controller_configmap(repo=repo)) if r.namespace == "argo"]
    assert len(res) == 1, res
    return res[0]


def failing(repo: dict, *expected: str):
    r = one(repo)
    assert r.status == "fail", r.message
    assert r.remediation == "configure-artifact-repository"
    assert r.message.startswith("ConfigMap argo/workflow-controller-configmap key artifactRepository: "), r.message
    for text in expected:
        assert text in r.message, r.message
    return r


def passing(repo: dict):
    r = one(repo)
    assert r.status == "pass", r.message
    assert r.remediation is None
    return r


# ---------------------------------------------------------------- passing

def test_seed_repository_passes_in_every_namespace():
    res = results(*seed_objects())
    assert {(r.namespace, r.status) for r in res} == {("argo", "pass"), ("team-a", "pass")}
    for r in res:
        assert r.id == "AD202" and r.slug == "artifact-repository-valid"
        assert r.object == "ConfigMap/workflow-controller-configmap"
        assert r.message == ("s3 bucket argo-bucket, endpoint minio:9000, from "
                             "ConfigMap argo/workflow-controller-configmap key artifactRepository "
                             f"({r.namespace} has no ConfigMap artifact-repositories: the controller's repository "
                             "is used)")


def test_seed_repository_passes_in_the_config_form():
    res = results(controller(), controller_configmap(form="config"))
    assert [r.status for r in res] == ["pass"]
    assert "ConfigMap argo/workflow-controller-configmap key config" in res[0].message


def test_seed_repository_has_no_problems():
    repo = argo.Repository("argo", "ConfigMap argo/x key y", SEED_REPO)
    assert argo.repository_problems(repo) == []


def test_skipped_where_ad201_failed():
    res = results(controller(), controller_configmap(repo=None), workflow("team-a"))
    assert {r.namespace for r in res} == {"argo", "team-a"}
    for r in res:
        assert r.status == "skip"
        assert r.message == f"blocked: AD201 artifact-repository-configured is fail for {r.namespace}"


# ---------------------------------------------------------------- repo.error: ConfigMap, key, YAML

# argo-workflows v3.7.18 artifactrepositories.go Resolve: without a ref, a namespace's
# artifact-repositories that has no default annotation, or whose annotation names a missing key, is
# skipped silently and the controller's repository is used (the real controller records
# {"default": true} as status.artifactRepositoryRef).
def test_artifact_repositories_configmap_without_default_annotation_falls_back():
    repos = configmap("artifact-repositories", "team-a", {"my-repo": s3(endpoint="https://bad")})
    res = {r.namespace: r for r in results(controller(), controller_configmap(), repos, workflow("team-a"))}
    r = res["team-a"]
    assert r.status == "pass" and r.object == "ConfigMap/workflow-controller-configmap", r.message
    assert r.message.endswith(f"(ConfigMap team-a/artifact-repositories has no `{ANNOTATION}` annotation: "
                              "the controller's repository is used)"), r.message


def test_annotation_naming_a_missing_key_falls_back():
    repos = configmap("artifact-repositories", "team-a", {"my-repo": SEED_REPO}, {ANNOTATION: "typo"})
    r = next(r for r in results(controller(), controller_configmap(), repos, workflow("team-a"))
             if r.namespace == "team-a")
    assert r.status == "pass" and r.object == "ConfigMap/workflow-controller-configmap"
    assert ("ConfigMap team-a/artifact-repositories has no key 'typo', which its default annotation names "
            "(keys: my-repo): the controller's repository is used") in r.message


def test_annotated_key_is_used_and_judged():
    repos = configmap("artifact-repositories", "team-a", {"my-repo": s3(endpoint="https://minio:9000", insecure=DROP)},
                      {ANNOTATION: "my-repo"})
    r = next(r for r in results(controller(), controller_configmap(), repos, workflow("team-a"))
             if r.namespace == "team-a")
    assert r.status == "fail" and r.object == "ConfigMap/artifact-repositories"
    assert r.message.startswith("ConfigMap team-a/artifact-repositories key my-repo: endpoint"), r.message
    assert r.message.endswith(f"(named by its `{ANNOTATION}` annotation)")


def test_yaml_error_names_line_and_column():
    text = "s3:\n  bucket: argo-bucket\n  endpoint: minio:9000\n   insecure: true\n"
    repos = configmap("artifact-repositories", "team-a", {"my-repo": text}, {ANNOTATION: "my-repo"})
    r = next(r for r in results(controller(), controller_configmap(), repos, workflow("team-a"))
             if r.namespace == "team-a")
    assert r.status == "fail"
    assert "ConfigMap team-a/artifact-repositories key my-repo is not valid YAML at line 4, column 12" in r.message
    assert "mapping values are not allowed" in r.message  # libyaml: "in this context", PyYAML: "here"


def test_repository_that_is_not_a_mapping():
    repos = configmap("artifact-repositories", "team-a", {"my-repo": "just text"}, {ANNOTATION: "my-repo"})
    r = next(r for r in results(controller(), controller_configmap(), repos, workflow("team-a"))
             if r.namespace == "team-a")
    assert r.status == "fail" and "does not hold a YAML mapping" in r.message


# ---------------------------------------------------------------- endpoint

def test_http_scheme_names_the_corrected_endpoint_and_insecure():
    failing(s3(endpoint="http://minio:9000", insecure=DROP),
            'endpoint "http://minio:9000" has a scheme; Argo wants host[:port]: use endpoint: minio:9000',
            "set insecure: true")


def test_http_scheme_with_insecure_already_set():
    r = failing(s3(endpoint="http://minio:9000", insecure=True), "use endpoint: minio:9000")
    assert "set insecure: true" not in r.message


def test_https_scheme_says_insecure_stays_false():
    r = failing(s3(endpoint="https://s3.amazonaws.com", insecure=DROP),
                'endpoint "https://s3.amazonaws.com" has a scheme; Argo wants host[:port]: use endpoint: '
                "s3.amazonaws.com with insecure false or omitted")
    assert "set insecure: true" not in r.message


def test_https_scheme_with_insecure_true_says_remove_it():
    failing(s3(endpoint="https://minio.example.com:9000", insecure=True),
            "use endpoint: minio.example.com:9000 and remove insecure: true or set it false")


def test_endpoint_with_a_path():
    failing(s3(endpoint="minio:9000/argo-bucket"),
            'endpoint "minio:9000/argo-bucket" has a path ("/argo-bucket"); Argo wants host[:port]: '
            "use endpoint: minio:9000")


def test_endpoint_with_scheme_and_path():
    failing(s3(endpoint="http://minio:9000/minio/argo-bucket"),
            'endpoint "http://minio:9000/minio/argo-bucket" has a scheme and a path; Argo wants host[:port]: '
            "use endpoint: minio:9000")


@pytest.mark.parametrize("endpoint", ["", None, "   "])
def test_empty_endpoint(endpoint):
    repo = s3(endpoint=DROP) if endpoint is None else s3(endpoint=endpoint)
    failing(repo, "endpoint is empty; Argo needs the S3 service's host[:port]")


@pytest.mark.parametrize("endpoint, expected", [
    ("minio:abc", 'endpoint port "abc" is not a number'),
    ("minio:0", "endpoint port 0 is out of range: a port is 1 to 65535"),
    ("minio:65536", "endpoint port 65536 is out of range"),
    ("minio:70000", "endpoint port 70000 is out of range"),
    ("minio:", 'endpoint "minio:" has an empty port'),
    ("minio:9000:9", 'endpoint "minio:9000:9" has more than one ":"'),
    ("fd00::1", 'endpoint "fd00::1" has more than one ":"'),
    (":9000", 'endpoint ":9000" has no host'),
    ("mi nio:9000", 'endpoint host "mi nio" is not a valid host name or IP address'),
    ("-minio:9000", 'endpoint host "-minio" is not a valid host name or IP address'),
    ("[fd00::1:9000", "malformed IPv6 address"),
])
def test_bad_host_or_port(endpoint, expected):
    failing(s3(endpoint=endpoint), expected)


@pytest.mark.parametrize("endpoint", ["minio:9000", "minio", "minio.argo.svc.cluster.local:9000", "10.0.0.7:9000",
                                      "[fd00::1]:9000", "minio:65535", "minio:1"])
def test_good_endpoints(endpoint):
    passing(s3(endpoint=endpoint))


# ---------------------------------------------------------------- insecure

def test_insecure_true_with_port_443():
    failing(s3(endpoint="minio.example.com:443", insecure=True),
            "insecure is true but the endpoint's port 443 is HTTPS; Argo will speak plain HTTP to a TLS port")


@pytest.mark.parametrize("insecure", [DROP, False])
def test_port_80_without_insecure_true(insecure):
    failing(s3(endpoint="minio:80", insecure=insecure),
            "the endpoint's port 80 is plain HTTP but insecure is not true; Argo will speak TLS to it")


@pytest.mark.parametrize("endpoint, insecure", [("minio:80", True), ("s3.example.com:443", DROP),
                                                ("s3.example.com:443", False)])
def test_insecure_agreeing_with_the_port(endpoint, insecure):
    passing(s3(endpoint=endpoint, insecure=insecure))


@pytest.mark.parametrize("value, shown", [("true", '"true"'), ("yes please", '"yes please"'), (1, "1")])
def test_insecure_of_the_wrong_type(value, shown):
    failing(s3(insecure=value), f"insecure is {shown}, of the wrong type: it must be a boolean")


# ---------------------------------------------------------------- bucket

@pytest.mark.parametrize("bucket, expected", [
    ("", "bucket is empty"),
    (DROP, "bucket is empty"),
    ("ab", 'bucket "ab" is not a valid S3 bucket name: it is 2 characters long, not 3 to 63'),
    ("a" * 64, "it is 64 characters long, not 3 to 63"),
    ("Argo-Bucket", "characters other than lowercase letters, digits, dots and hyphens (A B)"),
    ("argo_bucket", "characters other than lowercase letters, digits, dots and hyphens (_)"),
    ("argo bucket", "(space)"),
    ("-argo-bucket", "it must start and end with a letter or digit"),
    ("argo-bucket.", "it must start and end with a letter or digit"),
    ("argo..bucket", "it has two adjacent dots"),
    ("argo.-bucket", "it has a hyphen next to a dot"),
    ("192.168.5.4", "it is formatted like an IP address"),
    ("xn--argo-bucket", "it starts with the reserved prefix xn--"),
    ("argo-bucket-s3alias", "it ends with the reserved suffix -s3alias"),
])
def test_invalid_bucket_names(bucket, expected):
    failing(s3(bucket=bucket), expected)


def test_bucket_name_lists_every_broken_rule():
    failing(s3(bucket="_Argo..Bucket"), 'bucket "_Argo..Bucket" is not a valid S3 bucket name: ',
            "(A B _)", "start and end with a letter or digit", "two adjacent dots")


@pytest.mark.parametrize("bucket", ["argo-bucket", "abc", "my.argo.bucket", "a" * 63, "2024-artifacts"])
def test_valid_bucket_names(bucket):
    passing(s3(bucket=bucket))


# ---------------------------------------------------------------- createBucketIfNotPresent

@pytest.mark.parametrize("value, shown", [(True, "true"), (False, "false"), ("true", '"true"'), ("yes", '"yes"')])
def test_create_bucket_must_be_an_object(value, shown):
    failing(s3(createBucketIfNotPresent=value),
            f"createBucketIfNotPresent must be an object such as {{}} for S3, not {shown}")


def test_create_bucket_object_locking_must_be_a_boolean():
    failing(s3(createBucketIfNotPresent={"objectLocking": "true"}),
            'createBucketIfNotPresent.objectLocking must be a boolean, not "true"')


@pytest.mark.parametrize("value", [{}, {"objectLocking": True}, None])
def test_create_bucket_valid_forms(value):
    passing(s3(createBucketIfNotPresent=value))


# ---------------------------------------------------------------- secret selectors

def test_access_key_secret_without_key():
    failing(s3(accessKeySecret={"name": "minio"}), "s3.accessKeySecret has no key: a secret selector needs both")


def test_secret_key_secret_without_name():
    failing(s3(secretKeySecret={"key": "secretkey"}), "s3.secretKeySecret has no name")


def test_secret_selector_without_name_and_key():
    failing(s3(accessKeySecret={}), "s3.accessKeySecret has no name and no key")


def test_secret_selector_that_is_not_a_mapping_never_echoes_the_value():
    r = failing(s3(accessKeySecret="AKIAIOSFODNN7EXAMPLE"),
                "s3.accessKeySecret must be a secret selector {name: ..., key: ...}, not a string (its value is not "
                "shown: it may be a credential)")
    assert "AKIA" not in r.message


def test_nested_secret_selector_is_checked_too():
    failing(s3(encryptionOptions={"enableEncryption": True, "serverSideCustomerKeySecret": {"name": "ssec"}}),
            "s3.encryptionOptions.serverSideCustomerKeySecret has no key")


@pytest.mark.parametrize("drop, given, lacking", [("secretKeySecret", "accessKeySecret", "secretKeySecret"),
                                                  ("accessKeySecret", "secretKeySecret", "accessKeySecret")])
def test_only_one_of_the_two_keys(drop, given, lacking):
    failing(s3(**{drop: DROP}), f"{given} is given without {lacking}: give both")


def test_only_one_key_is_fine_with_sdk_credentials():
    passing(s3(secretKeySecret=DROP, useSDKCreds=True))


def test_no_keys_at_all_is_fine():
    passing(s3(accessKeySecret=DROP, secretKeySecret=DROP, useSDKCreds=True))
    passing(s3(accessKeySecret=DROP, secretKeySecret=DROP))


# ---------------------------------------------------------------- repository type

def test_no_known_repository_type():
    failing({"archiveLogs": True, "s4": {"bucket": "argo-bucket"}},
            "no known repository type: give one of s3, gcs, azure, oss, artifactory, hdfs "
            "(keys found: archiveLogs, s4)")


def test_type_key_that_is_not_a_mapping():
    failing({"s3": "minio:9000"}, 's3 must be a mapping of settings, not "minio:9000"')


def test_more_than_one_type():
    repo = s3()
    repo["gcs"] = {"bucket": "argo-bucket"}
    failing(repo, "more than one repository type (s3, gcs)")


def test_non_s3_repository_gets_only_the_type_agnostic_rules():
    # A GCS bucket name with an underscore, no endpoint: none of the S3 rules apply.
    gcs = {"gcs": {"bucket": "my_argo_bucket", "serviceAccountKeySecret": {"name": "gcs-creds", "key": "sa.json"}}}
    r = passing(gcs)
    assert r.message.startswith("gcs bucket my_argo_bucket, from ConfigMap argo/workflow-controller-configmap")
    broken = {"gcs": {"bucket": "b", "serviceAccountKeySecret": {"name": "gcs-creds"}}}
    r = failing(broken, "gcs.serviceAccountKeySecret has no key")
    assert "bucket" not in r.message.split(": ", 1)[1]


# ---- every repository type by its own rules (pkg/apis/workflow/v1alpha1 artifact_repository_types.go and
# workflow_types.go at v3.0.10..v4.1.2; each driver under workflow/artifacts/)

@pytest.mark.parametrize("repo", [
    {"gcs": {"bucket": "argo"}},  # no key: the pod's default credentials (Workload Identity)
    {"azure": {"endpoint": "https://acct.blob.core.windows.net", "container": "argo", "useSDKCreds": True}},
    {"oss": {"endpoint": "http://oss-cn-zhangjiakou-internal.aliyuncs.com", "bucket": "argo",
             "accessKeySecret": {"name": "oss", "key": "a"}, "secretKeySecret": {"name": "oss", "key": "s"},
             "createBucketIfNotPresent": True}},
    {"artifactory": {"repoURL": "https://artifactory.example.com/artifactory/argo",
                     "usernameSecret": {"name": "af", "key": "u"}, "passwordSecret": {"name": "af", "key": "p"}}},
    {"hdfs": {"addresses": ["nn1:8020"], "hdfsUser": "argo", "pathFormat": "{{workflow.name}}"}},
])
def test_each_type_passes_by_its_own_rules(repo):
    r = passing(repo)
    assert r.message.startswith(next(iter(repo)))


@pytest.mark.parametrize("repo,expected", [
    ({"gcs": {"bucket": "argo", "endpoint": "storage.googleapis.com"}}, "gcs has no endpoint setting"),
    ({"azure": {"endpoint": "acct.blob.core.windows.net", "container": "argo", "useSDKCreds": True}},
     'azure.endpoint "acct.blob.core.windows.net" is not an http(s) URL'),
    ({"azure": {"endpoint": "https://acct.blob.core.windows.net", "container": "argo"}},
     "`accountKey secret is required for Azure Blob Storage if useSDKCreds is false`"),
    ({"oss": {"endpoint": "oss.example.com", "bucket": "b", "createBucketIfNotPresent": {}}},
     "oss.createBucketIfNotPresent must be a boolean for OSS"),
    ({"artifactory": {"repoURL": ""}}, "artifactory.repoURL is empty"),
    ({"hdfs": {"hdfsUser": "argo"}}, "hdfs.addresses is empty"),
    ({"http": {"url": "https://example.com/store"}}, "http is not a repository type"),
    ({"git": {"repo": "https://github.com/x/y"}}, "git is not a repository type"),
])
def test_each_type_fails_by_its_own_rules(repo, expected):
    failing(repo, expected)


def test_azure_before_v3_4_is_unknown_to_the_controller():
    repo = {"azure": {"endpoint": "https://acct.blob.core.windows.net", "container": "argo", "useSDKCreds": True}}
    res = [r for r in results(controller("v3.3.10"), controller_configmap(repo=repo)) if r.namespace == "argo"]
    assert res[0].status == "fail" and "azure repositories arrived in v3.4; Argo v3.3.10 does not know them" \
        in res[0].message


def test_azure_repository_passes():
    passing({"azure": {"endpoint": "https://acct.blob.core.windows.net", "container": "argo",
                       "accountKeySecret": {"name": "azure", "key": "key"}}})


# ---------------------------------------------------------------- messages and refs

def test_every_problem_is_reported_in_one_result():
    r = failing(s3(endpoint="http://minio:9000", bucket="Argo_Bucket", createBucketIfNotPresent=True,
                   insecure=DROP, secretKeySecret=DROP),
                "use endpoint: minio:9000", 'bucket "Argo_Bucket" is not a valid S3 bucket name',
                "createBucketIfNotPresent must be an object such as {} for S3, not true",
                "accessKeySecret is given without secretKeySecret")
    assert r.message.count("; ") >= 3
    assert r.object == "ConfigMap/workflow-controller-configmap"


def test_artifact_repository_ref_is_checked_and_named():
    repos = configmap("my-repos", "team-a", {"broken": s3(endpoint="https://minio:9000", insecure=DROP),
                                             "good": SEED_REPO})
    objs = [controller(), controller_configmap(), repos,
            workflow("team-a", "wf-broken", artifactRepositoryRef={"configMap": "my-repos", "key": "broken"}),
            workflow("team-a", "wf-good", kind="WorkflowTemplate",
                     artifactRepositoryRef={"configMap": "my-repos", "key": "good"})]
    res = [r for r in results(*objs) if r.namespace == "team-a"]
    assert len(res) == 3  # the default repository and the two refs
    default = next(r for r in res if r.object == "ConfigMap/workflow-controller-configmap")
    assert default.status == "pass"
    broken = next(r for r in res if "key broken" in r.message)
    assert broken.status == "fail" and broken.object == "ConfigMap/my-repos"
    assert broken.message.startswith("ConfigMap team-a/my-repos key broken, used by Workflow team-a/wf-broken "
                                     "(artifactRepositoryRef): ")
    assert 'endpoint "https://minio:9000" has a scheme' in broken.message
    good = next(r for r in res if "key good" in r.message)
    assert good.status == "pass" and good.message == (
        "s3 bucket argo-bucket, endpoint minio:9000, from ConfigMap team-a/my-repos key good, "
        "used by WorkflowTemplate team-a/wf-good (artifactRepositoryRef) (the ref's ConfigMap in the workflow's "
        "namespace)")


def test_artifact_repository_ref_to_a_missing_key_or_configmap():
    repos = configmap("artifact-repositories", "argo", {"default-v1": SEED_REPO})
    objs = [controller(), controller_configmap(), repos,
            workflow("team-a", "wf1", artifactRepositoryRef={"key": "nope"}),
            workflow("team-a", "wf2", artifactRepositoryRef={"configMap": "ghost", "key": "x"})]
    res = [r for r in results(*objs) if r.namespace == "team-a" and r.status == "fail"]
    assert len(res) == 2
    missing_key = next(r for r in res if "nope" in r.message)
    assert missing_key.object is None  # resolves nowhere: no ConfigMap to name
    assert ("no ConfigMap team-a/artifact-repositories; ConfigMap argo/artifact-repositories has no key 'nope', "
            "which the ref names (keys: default-v1)") in missing_key.message
    assert "`failed to find any artifact repository`" in missing_key.message
    ghost = next(r for r in res if "ghost" in r.message)
    assert ghost.object is None
    assert "artifactRepositoryRef (ConfigMap 'ghost' key 'x') resolves nowhere: no ConfigMap team-a/ghost; " \
           "no ConfigMap argo/ghost" in ghost.message


# Resolve with a ref: the workflow's namespace first, but only where the ConfigMap holds the key;
# else the controller's namespace.
def test_ref_skips_a_namespace_configmap_without_the_key():
    local = configmap("my-repos", "team-a", {"other": SEED_REPO})
    central = configmap("my-repos", "argo", {"shared": s3(bucket="central")})
    r = next(r for r in results(controller(), controller_configmap(), local, central,
                                workflow("team-a", artifactRepositoryRef={"configMap": "my-repos", "key": "shared"}))
             if r.namespace == "team-a" and "shared" in r.message)
    assert r.status == "pass" and r.object == "ConfigMap/my-repos"
    assert "from ConfigMap argo/my-repos key shared" in r.message
    assert "the ref's ConfigMap in the controller's namespace (ConfigMap team-a/my-repos has no key 'shared'" \
        in r.message


def test_ref_without_key_uses_the_annotation():
    local = configmap("artifact-repositories", "team-a", {"mine": s3(bucket="mine")}, {ANNOTATION: "mine"})
    r = next(r for r in results(controller(), controller_configmap(), local,
                                workflow("team-a", artifactRepositoryRef={"configMap": "artifact-repositories"}))
             if r.namespace == "team-a" and "artifactRepositoryRef" in r.message)
    assert r.status == "pass" and "from ConfigMap team-a/artifact-repositories key mine" in r.message


def test_text_shaped_like_a_credential_never_reaches_a_message():
    # a key pasted into the endpoint: the message quotes the endpoint, the credential is scrubbed
    r = failing(s3(endpoint="https://AKIAIOSFODNN7EXAMPLE:9000"), "has a scheme")
    assert "AKIAIOSFODNN7EXAMPLE" not in r.message and "<redacted: looks like a credential>" in r.message


# ---- names as the controller matches them (encoding/json: case-insensitive; argo.go_decode)

ARTIFACTORY_HELM_SPELLING = {"artifactory": {"repoUrl": "https://artifactory.example.com/artifactory/argo",
                                             "usernameSecret": {"name": "af", "key": "u"},
                                             "passwordSecret": {"name": "af", "key": "p"}}}


def test_artifactory_repo_url_in_the_argo_helm_spelling_passes():
    # argo-helm's values.yaml writes `repoUrl`; the controller fills RepoURL from it
    passing(ARTIFACTORY_HELM_SPELLING)
    repos = configmap("artifact-repositories", "team-a", {"my-repo": ARTIFACTORY_HELM_SPELLING},
                      {ANNOTATION: "my-repo"})
    r = next(r for r in results(controller(), controller_configmap(), repos, workflow("team-a"))
             if r.namespace == "team-a")
    assert r.status == "pass" and r.object == "ConfigMap/artifact-repositories", r.message


# Issue 23 item 3: v4's `plugin` repositories need a matching artifactDrivers entry (config/config.go
# GetArtifactDriver @v4.0.0..v4.1.2). The v4.1.2 quick-start's controller ConfigMap
# (manifests/quick-start/base/overlays/workflow-controller-configmap.yaml) ships this repository and no drivers.
QUICK_START_V4 = {"archiveLogs": True, "plugin": {"name": "test", "configuration": "bucket: my-bucket\n"}}


def v4(repo: dict, **settings):
    res = [r for r in results(controller("v4.1.2"), controller_configmap(repo=repo, **settings))
           if r.namespace == "argo"]
    assert len(res) == 1, res
    return res[0]


def test_the_v4_quick_starts_plugin_repository_without_its_driver_fails():
    r = v4(QUICK_START_V4)
    assert r.status == "fail" and "artifact driver test not found" in r.message and "(it has none)" in r.message
    r = v4(QUICK_START_V4, artifactDrivers=[{"name": "other", "image": "x"}])
    assert r.status == "fail" and "(it lists other)" in r.message


def test_a_plugin_repository_with_its_driver_passes():
    assert v4(QUICK_START_V4, artifactDrivers=[{"name": "test", "image": "example/driver:v1"}]).status == "pass"
