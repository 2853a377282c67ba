"""Plans of the artifact remediations, on snapshot fixtures (planning only reads)."""
from __future__ import annotations

import pytest
import yaml
from argodoctor.remediations.configure_artifact_repository import ConfigureArtifactRepository
from argodoctor.remediations.deploy_object_store import DeployObjectStore

from argodoctor import argo
from argodoctor.fix.fixer import render_plan

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


def _tenant_repo(secret_name: str) -> dict:
    return {"s3": {**SEED_REPO["s3"], "accessKeySecret": {"name": secret_name, "key": "user"},
                   "secretKeySecret": {"name": secret_name, "key": "password"}}}


def test_copy_artifact_secret_never_copies_what_a_tenant_configmap_names():
    """Issue 31: team-a's own artifact-repositories names payroll-db (only in team-b) and argo-postgres-config
    (in the controller's namespace, used by no repository of the install): neither is copied, team-a gets
    notes saying what to create where."""
    from argodoctor.remediations.copy_artifact_secret import CopyArtifactSecret

    from .builders import configmap
    annotation = {"workflows.argoproj.io/default-artifact-repository": "default"}
    objs = [controller(), controller_configmap(), secret("minio", "argo", accesskey="a", secretkey="s"),
            secret("argo-postgres-config", "argo", user="u", password="p"),
            secret("payroll-db", "team-b", user="u", password="p"),
            configmap("artifact-repositories", "team-a",
                      {"default": _tenant_repo("payroll-db"), "pg": _tenant_repo("argo-postgres-config"),
                       "bad": _tenant_repo("../../vault-ns/secrets/db")}, annotation),
            workflow("team-a"), workflow("team-a", "pg", artifactRepositoryRef={"key": "pg"}),
            workflow("team-a", "bad", artifactRepositoryRef={"key": "bad"}), workflow("team-b")]
    plan = CopyArtifactSecret().plan(context(*objs))
    copies = [(a.namespace, a.name) for a in plan.actions]
    assert copies == [("team-b", "minio")]  # the seed case: the install's repository, in team-b
    notes = "\n".join(plan.notes)
    assert "names Secret payroll-db (keys password, user), which team-a lacks: create it in team-a" in notes
    assert "names Secret argo-postgres-config (keys password, user), which team-a lacks" in notes
    assert "not a valid Secret name" in notes and "skipped" in notes


def test_copy_artifact_secret_copies_only_the_referenced_keys_from_the_controller_namespace():
    from argodoctor.remediations.copy_artifact_secret import CopyArtifactSecret

    objs = [controller(), controller_configmap(),
            secret("minio", "argo", accesskey="a", secretkey="s", rootPassword="r"),
            # a Secret of that name elsewhere is never a source
            secret("minio", "team-c", accesskey="a", secretkey="s"), workflow("team-a")]
    plan = CopyArtifactSecret().plan(context(*objs))
    [action] = plan.actions
    assert (action.namespace, action.name) == ("team-a", "minio")
    assert sorted(action.desired["data"]) == ["accesskey", "secretkey"]
    assert action.desired["metadata"]["annotations"]["argodoctor.io/copied-from"] == "argo/minio"
    assert "rootPassword" not in render_plan(plan)
    # Without it in the controller's namespace there is nothing to copy from (team-c's is not a source).
    objs = [controller(), controller_configmap(), secret("minio", "team-c", accesskey="a", secretkey="s"),
            workflow("team-a")]
    plan = CopyArtifactSecret().plan(context(*objs))
    assert plan.actions == [] and "argo does not hold it" in plan.notes[0]


def test_a_planned_object_appears_once_across_the_plans_of_one_command():
    """configure-artifact-repository and copy-artifact-secret both plan the copy into team-a: with --all it
    was listed twice (issue 31); Plan.once keeps the first and notes the second."""
    from argodoctor.remediations.copy_artifact_secret import CopyArtifactSecret

    ctx = context(controller(), controller_configmap(), secret("minio", "argo", accesskey="a", secretkey="s"),
                  workflow("team-a"))
    first, second = ConfigureArtifactRepository().plan(ctx), CopyArtifactSecret().plan(ctx)
    assert ("team-a", "minio") in [(a.namespace, a.name) for a in first.actions]
    assert [(a.namespace, a.name) for a in second.actions] == [("team-a", "minio")]
    planned: dict = {}
    first.once(planned), second.once(planned)
    assert [(a.namespace, a.name) for a in first.actions + second.actions].count(("team-a", "minio")) == 1
    assert second.actions == []
    assert "Secret team-a/minio is already in the plan of configure-artifact-repository" in second.notes


@pytest.mark.parametrize("dry_run", [True, False])
def test_a_declined_plan_holds_nothing_back_from_later_plans(dry_run):
    """fix: when configure-artifact-repository's plan is declined (or held, or refused), copy-artifact-secret
    still offers the copy into team-a; only a dry run, where nothing applies, shows it once."""
    from argodoctor.remediations.copy_artifact_secret import CopyArtifactSecret

    from argodoctor.fix.fixer import plan_each

    ctx = context(controller(), controller_configmap(), secret("minio", "argo", accesskey="a", secretkey="s"),
                  workflow("team-a"))
    shown: dict = {}

    def decline(plan, rem_id):
        shown[rem_id] = [(a.namespace, a.name) for a in plan.actions]
        return False

    targeted = plan_each([ConfigureArtifactRepository, CopyArtifactSecret], ctx, decline, dry_run=dry_run)
    assert "AD203" in targeted and ("team-a", "minio") in shown["configure-artifact-repository"]
    assert shown["copy-artifact-secret"] == ([] if dry_run else [("team-a", "minio")])
