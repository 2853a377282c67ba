"""Plans of the artifact remediations, on snapshot fixtures (planning only reads)."""
from __future__ import annotations

import yaml
from argodoctor.remediations.configure_artifact_repository import ConfigureArtifactRepository
from argodoctor.remediations.deploy_object_store import DeployObjectStore

from argodoctor import argo
from argodoctor.fixer import render_plan

from .builders import SEED_REPO, context, controller, controller_configmap, secret, workflow

NS = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "argo"}}


def test_set_config_key_replaces_only_that_block():
    text = ("# settings\nparallelism: 10   # a comment\nartifactRepository:\n  s3:\n    bucket: old\n\n"
            "executor:\n  imagePullPolicy: Always\n")
    out = argo.set_config_key(text, "artifactRepository", {"s3": {"bucket": "new"}})
    assert out == ("# settings\nparallelism: 10   # a comment\nartifactRepository:\n  s3:\n    bucket: new\n\n"
                   "executor:\n  imagePullPolicy: Always\n")
    assert argo.set_config_key("a: 1", "b", 2) == "a: 1\nb: 2\n"
    assert argo.set_config_key(out, "artifactRepository", None) == (
        "# settings\nparallelism: 10   # a comment\n\nexecutor:\n  imagePullPolicy: Always\n")


def test_normalized_endpoint():
    assert argo.normalized_endpoint("http://minio:9000/bucket", False) == ("minio:9000", True)
    assert argo.normalized_endpoint("https://s3.example.com", True) == ("s3.example.com", False)
    assert argo.normalized_endpoint("minio:9000", True) == ("minio:9000", True)


def test_configure_writes_a_repository_when_none_exists():
    ctx = context(NS, controller(), controller_configmap(repo=None, parallelism=10), workflow("team-a"))
    plan = ConfigureArtifactRepository().plan(ctx)
    [cm] = [a for a in plan.actions if a.kind == "ConfigMap"]
    repo = yaml.safe_load(cm.desired["data"]["artifactRepository"])
    assert repo["s3"]["endpoint"] == "minio.argo.svc:9000" and repo["s3"]["bucket"] == "argo-artifacts"
    assert "parallelism" not in cm.desired["data"]  # only its own key; the applier keeps the rest
    assert any("Secret minio is needed in team-a" in n for n in plan.notes)  # deploy-object-store makes it


def test_configure_qualifies_a_bare_service_name_and_fixes_types():
    repo = {"s3": dict(SEED_REPO["s3"], endpoint="http://minio:9000", insecure="true",
                       createBucketIfNotPresent=True)}
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "minio", "namespace": "argo"},
           "spec": {"ports": [{"port": 9000}]}}
    ctx = context(NS, controller(), controller_configmap(repo=repo, form="config", parallelism=10), svc,
                  secret("minio", "argo", accesskey="a", secretkey="s"), workflow("team-a"))
    plan = ConfigureArtifactRepository().plan(ctx)
    cm = next(a for a in plan.actions if a.kind == "ConfigMap")
    config = yaml.safe_load(cm.desired["data"]["config"])
    assert config["parallelism"] == 10
    assert config["artifactRepository"]["s3"]["endpoint"] == "minio.argo.svc:9000"
    assert config["artifactRepository"]["s3"]["insecure"] is True
    assert config["artifactRepository"]["s3"]["createBucketIfNotPresent"] == {}
    assert [(a.kind, a.namespace) for a in plan.actions if a.kind == "Secret"] == [("Secret", "team-a")]


def test_configure_leaves_a_valid_repository_alone():
    ctx = context(NS, controller(), controller_configmap(repo={"s3": dict(SEED_REPO["s3"],
                                                                            endpoint="s3.amazonaws.com")}))
    assert ConfigureArtifactRepository().plan(ctx).actions == []


def test_deploy_object_store_plans_minio_with_generated_keys_shown_redacted():
    ctx = context(NS, controller(), controller_configmap(repo=None))
    plan = DeployObjectStore().plan(ctx)
    assert [(a.kind, a.name) for a in plan.actions] == [
        ("Secret", "minio"), ("PersistentVolumeClaim", "minio"), ("Deployment", "minio"), ("Service", "minio")]
    text = render_plan(plan)
    assert "accesskey: <redacted>" in text and "storage: 10Gi" in text
    body = plan.actions[0].materialize(None)
    assert body["data"]["accesskey"] != plan.actions[0].desired["data"]["accesskey"]


def test_deploy_object_store_leaves_a_foreign_store_and_external_endpoints_alone():
    helm_svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "minio", "namespace": "argo",
                                                                   "labels": {"heritage": "Helm"}}}
    plan = DeployObjectStore().plan(context(NS, controller(), controller_configmap(), helm_svc))
    assert plan.actions == [] and "not argodoctor's" in plan.notes[0]
    ext = {"s3": dict(SEED_REPO["s3"], endpoint="s3.amazonaws.com")}
    plan = DeployObjectStore().plan(context(NS, controller(), controller_configmap(repo=ext)))
    assert plan.actions == [] and "outside the cluster" in plan.notes[0]


def test_copy_artifact_secret_follows_the_repository_each_namespace_really_resolves():
    from argodoctor.remediations.copy_artifact_secret import CopyArtifactSecret

    from .builders import configmap
    own = {"s3": {**SEED_REPO["s3"], "accessKeySecret": {"name": "own", "key": "a"},
                  "secretKeySecret": {"name": "own", "key": "s"}}}
    annotation = {"workflows.argoproj.io/default-artifact-repository": "mine"}
    objs = [controller(), controller_configmap(), secret("minio", "argo", accesskey="a", secretkey="s"),
            # team-a: its own repository serves (annotated key present) -> the controller's secret is not read
            configmap("artifact-repositories", "team-a", {"mine": own}, annotation),
            secret("own", "team-a", a="x", s="y"), workflow("team-a"),
            # team-b: no annotation -> falls back to the controller's repository -> needs minio
            configmap("artifact-repositories", "team-b", {"mine": own}), workflow("team-b")]
    plan = CopyArtifactSecret().plan(context(*objs))
    copies = sorted((a.desired["metadata"]["namespace"], a.desired["metadata"]["name"]) for a in plan.actions)
    assert copies == [("team-b", "minio")]
