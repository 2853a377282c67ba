"""AD201 and AD203 on snapshot fixtures: every result path."""
from __future__ import annotations

from argodoctor.engine.registry import select_checks
from argodoctor.engine.runner import run_checks

from .builders import (
    SEED_REPO,
    configmap,
    context,
    controller,
    controller_configmap,
    secret,
    seed_objects,
    workflow,
)


def run(ids: str, *objects, **options):
    ctx = context(*objects, **options)
    return {(r.id, r.namespace): r for r in run_checks(select_checks(ids.split(",")), ctx)}


def test_ad201_passes_from_controller_configmap_in_either_form():
    for form in ("keys", "config"):
        res = run("AD201", controller(), controller_configmap(form=form), workflow("team-a"))
        for ns in ("argo", "team-a"):
            r = res[("AD201", ns)]
            assert r.status == "pass", r.message
            assert "s3 bucket argo-bucket, endpoint minio:9000" in r.message
            key = "config" if form == "config" else "artifactRepository"
            assert f"ConfigMap argo/workflow-controller-configmap key {key}" in r.message


def test_ad201_fails_when_nothing_is_configured():
    res = run("AD201", controller(), controller_configmap(repo=None), workflow("team-a"))
    r = res[("AD201", "team-a")]
    assert r.status == "fail" and r.remediation == "configure-artifact-repository"
    assert "no ConfigMap team-a/artifact-repositories" in r.message
    assert "argo/workflow-controller-configmap" in r.message


def test_ad201_fails_without_controller_or_configmap_in_the_default_namespace():
    res = run("AD201", workflow("team-a"))
    assert {k: r.status for k, r in res.items()} == {("AD201", "argo"): "fail", ("AD201", "team-a"): "fail"}


def test_ad201_prefers_the_namespace_artifact_repositories_configmap():
    repos = configmap("artifact-repositories", "team-a", {"my-repo": SEED_REPO},
                      {"workflows.argoproj.io/default-artifact-repository": "my-repo"})
    res = run("AD201", controller(), controller_configmap(repo=None), repos, workflow("team-a"))
    r = res[("AD201", "team-a")]
    assert r.status == "pass" and "ConfigMap team-a/artifact-repositories key my-repo" in r.message
    assert r.object == "ConfigMap/artifact-repositories"
    assert res[("AD201", "argo")].status == "fail"  # that ConfigMap serves team-a only


def test_ad201_unreadable_repository_is_left_to_ad202():
    repos = configmap("artifact-repositories", "team-a", {"my-repo": "s3: [unclosed"},
                      {"workflows.argoproj.io/default-artifact-repository": "my-repo"})
    r = run("AD201", controller(), controller_configmap(), repos, workflow("team-a"))[("AD201", "team-a")]
    assert r.status == "pass" and "see AD202" in r.message


def test_namespaces_come_from_workflow_objects_and_flags():
    res = run("AD201", controller(), controller_configmap(), workflow("team-a"),
              workflow("team-b", kind="WorkflowTemplate"), workflow("team-c", kind="CronWorkflow"),
              namespaces=("extra",))
    assert sorted(ns for _, ns in res) == ["argo", "extra", "team-a", "team-b", "team-c"]


def test_managed_namespace_of_a_namespaced_controller():
    c = controller(args=["--namespaced", "--managed-namespace", "wf-ns"])
    res = run("AD201", c, controller_configmap())
    assert sorted(ns for _, ns in res) == ["argo", "wf-ns"]


def test_ad203_fails_in_team_a_only_and_names_the_fix():
    res = run("AD203", *seed_objects())
    assert res[("AD203", "argo")].status == "pass"
    r = res[("AD203", "team-a")]
    assert r.status == "fail" and r.remediation == "copy-artifact-secret" and r.object == "Secret/minio"
    assert 'secret "minio" not found in team-a' in r.message and "exists only in argo" in r.message


def test_ad203_passes_when_every_namespace_has_the_secret():
    res = run("AD203", *seed_objects(), secret("minio", "team-a", accesskey="a", secretkey="s"))
    assert {k: r.status for k, r in res.items()} == {("AD203", "argo"): "pass", ("AD203", "team-a"): "pass"}


def test_ad203_missing_everywhere_has_no_automatic_fix():
    res = run("AD203", controller(), controller_configmap(), workflow("team-a"))
    r = res[("AD203", "team-a")]
    assert r.status == "fail" and r.remediation is None and "exists in no namespace" in r.message


def test_ad203_missing_key_and_empty_value():
    objs = [controller(), controller_configmap(), secret("minio", "argo", accesskey="a", secretkey="s"),
            workflow("team-a"), secret("minio", "team-a", accesskey="")]
    r = run("AD203", *objs)[("AD203", "team-a")]
    assert r.status == "fail" and r.remediation is None
    assert "lacks key secretkey" in r.message and "empty value for accesskey" in r.message


def test_ad203_checks_every_secret_the_repository_names():
    repo = {"s3": dict(SEED_REPO["s3"], sessionTokenSecret={"name": "sts", "key": "token"},
                       caSecret={"name": "ca", "key": "ca.crt"})}
    objs = [controller(), controller_configmap(repo=repo), secret("minio", "argo", accesskey="a", secretkey="s"),
            secret("sts", "argo", token="t")]
    res = {r.object: r for r in run_checks(select_checks(["AD203"]), context(*objs))}
    assert res["Secret/minio"].status == "pass" and res["Secret/sts"].status == "pass"
    assert res["Secret/ca"].status == "fail" and "s3.caSecret" in res["Secret/ca"].message


def test_ad203_follows_artifact_repository_refs_with_controller_namespace_fallback():
    repos = configmap("artifact-repositories", "argo", {"other": {"s3": dict(
        SEED_REPO["s3"], accessKeySecret={"name": "other", "key": "a"},
        secretKeySecret={"name": "other", "key": "s"})}})
    wf = workflow("team-a", artifactRepositoryRef={"key": "other"})
    objs = [*seed_objects()[:3], repos, wf, secret("minio", "team-a", accesskey="a", secretkey="s")]
    res = [r for r in run_checks(select_checks(["AD203"]), context(*objs)) if r.namespace == "team-a"]
    other = next(r for r in res if r.object == "Secret/other")
    assert other.status == "fail" and "ConfigMap argo/artifact-repositories key other" in other.message


def test_ad203_is_skipped_where_ad201_failed():
    res = run("AD203", controller(), controller_configmap(repo=None), workflow("team-a"))
    assert set(res) == {("AD203", "argo"), ("AD203", "team-a")}
    for r in res.values():
        assert r.status == "skip" and f"blocked: AD201 artifact-repository-configured is fail for {r.namespace}" \
            in r.message


# ---- AD203 follows what Argo mounts per type and version (workflowpod.go createSecretVolumes /
# createSecretVolumesFromArtifactLocations, v3.0.10..v4.1.2)

def _secrets(version: str, repo: dict, *secrets) -> dict[str, str]:
    objs = [controller(version), controller_configmap(repo=repo), *secrets]
    ctx = context(*objs)
    return {r.object: r.status for r in run_checks(select_checks(["AD203"]), ctx) if r.namespace == "argo"}


def test_ad203_session_token_and_ca_only_from_the_versions_that_mount_them():
    s3 = {"s3": {**SEED_REPO["s3"], "sessionTokenSecret": {"name": "sts", "key": "t"},
                 "caSecret": {"name": "ca", "key": "ca.crt"}}}
    keys = secret("minio", "argo", accesskey="a", secretkey="s")
    assert _secrets("v3.4.18", s3, keys) == {"Secret/minio": "pass"}
    assert _secrets("v3.5.15", s3, keys) == {"Secret/minio": "pass", "Secret/ca": "fail"}
    assert _secrets("v3.7.18", s3, keys) == {"Secret/minio": "pass", "Secret/ca": "fail", "Secret/sts": "fail"}


def test_ad203_sse_c_key_only_with_encryption_enabled():
    sse = {"serverSideCustomerKeySecret": {"name": "ssec", "key": "k"}}
    keys = secret("minio", "argo", accesskey="a", secretkey="s")
    off = {"s3": {**SEED_REPO["s3"], "encryptionOptions": sse}}
    on = {"s3": {**SEED_REPO["s3"], "encryptionOptions": {**sse, "enableEncryption": True}}}
    assert _secrets("v3.7.18", off, keys) == {"Secret/minio": "pass"}
    assert _secrets("v3.7.18", on, keys) == {"Secret/minio": "pass", "Secret/ssec": "fail"}


def test_ad203_each_type_has_its_own_secret_fields_and_sdk_creds_still_mount_named_ones():
    gcs = {"gcs": {"bucket": "b", "serviceAccountKeySecret": {"name": "gcs", "key": "sa.json"}}}
    assert _secrets("v3.7.18", gcs) == {"Secret/gcs": "fail"}
    assert _secrets("v3.7.18", gcs, secret("gcs", "argo", **{"sa.json": "{}"})) == {"Secret/gcs": "pass"}
    assert _secrets("v3.7.18", {"gcs": {"bucket": "b"}}) == {}  # default credentials: nothing to mount
    art = {"artifactory": {"repoURL": "https://a.example.com/r", "usernameSecret": {"name": "af", "key": "u"},
                           "passwordSecret": {"name": "af", "key": "p"}}}
    assert _secrets("v3.7.18", art) == {"Secret/af": "fail"}
    sdk = {"s3": {**SEED_REPO["s3"], "useSDKCreds": True}}
    assert _secrets("v3.7.18", sdk) == {"Secret/minio": "fail"}  # named, so mounted, so required
    assert _secrets("v3.7.18", {"s3": {"bucket": "b", "endpoint": "s3.amazonaws.com", "useSDKCreds": True}}) == {}
