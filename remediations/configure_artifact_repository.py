"""configure-artifact-repository: writes a valid `artifactRepository` into the controller
configmap, pointing at the object store it finds (or deploy-object-store deploys), and copies the
credentials Secret into each workflow namespace. Every other configmap key stays byte for byte."""
from __future__ import annotations

import copy
from typing import Any

from argodoctor.remediations.controller_config import config_action
from argodoctor.remediations.copy_artifact_secret import copy_actions
from argodoctor.remediations.deploy_object_store import ACCESS_KEY, NAME, PORT, SECRET_KEY, store_location

from argodoctor import argo
from argodoctor.engine.context import Context
from argodoctor.engine.model import Plan, Remediation
from argodoctor.s3 import service_of

DEFAULT_BUCKET = "argo-artifacts"


class ConfigureArtifactRepository(Remediation):
    id = "configure-artifact-repository"
    title = "write a valid artifactRepository (to the object store it finds or deploys)"
    fixes = ("AD201", "AD202", "AD203", "AD501")

    def plan(self, ctx: Context) -> Plan:
        plan = Plan(self.id)
        config = ctx.config
        current = config.settings.get("artifactRepository")
        desired = self.desired(ctx, current, plan)
        repo = desired if desired is not None else current
        if desired is not None and desired != current:
            plan.actions.append(config_action(ctx, {"artifactRepository": desired},
                                             "artifactRepository pointing at the object store"))
        if isinstance(repo, dict):
            needs = [(ns, argo.secret_refs(repo, ctx.version)) for ns in ctx.workflow_namespaces
                     if _uses_controller_repo(ctx, ns)]
            actions, notes = copy_actions(ctx, needs)
            plan.actions += actions
            plan.notes += notes
        return plan

    def desired(self, ctx: Context, current: Any, plan: Plan) -> dict[str, Any] | None:
        """The repository to write, or None to keep what is there."""
        if not current:
            where = store_location(ctx)
            ns = where.namespace if where else ctx.controller.namespace
            return {"archiveLogs": True, "s3": {
                "bucket": ctx.options.bucket or DEFAULT_BUCKET, "endpoint": f"{NAME}.{ns}.svc:{PORT}",
                "insecure": True, "accessKeySecret": {"name": NAME, "key": ACCESS_KEY},
                "secretKeySecret": {"name": NAME, "key": SECRET_KEY}}}
        if not isinstance(current, dict) or not isinstance(current.get("s3"), dict):
            plan.notes.append("the repository is not S3: argodoctor only rewrites S3 repositories")
            return None
        repo = copy.deepcopy(current)
        s3 = repo["s3"]
        if isinstance(s3.get("insecure"), str):
            s3["insecure"] = s3["insecure"].strip().lower() == "true"
        endpoint, insecure = argo.normalized_endpoint(str(s3.get("endpoint") or ""), s3.get("insecure") is True)
        endpoint = self._qualified(ctx, endpoint, insecure)
        s3["endpoint"] = endpoint
        if insecure:
            s3["insecure"] = True
        elif "insecure" in s3:
            s3["insecure"] = False
        if "createBucketIfNotPresent" in s3 and not isinstance(s3["createBucketIfNotPresent"], dict):
            if s3["createBucketIfNotPresent"] in (True, "true", "True"):
                s3["createBucketIfNotPresent"] = {}
            else:
                del s3["createBucketIfNotPresent"]
        return repo

    @staticmethod
    def _qualified(ctx: Context, endpoint: str, insecure: bool) -> str:
        """A bare Service name resolves only in the pod's own namespace: qualify it as name.ns.svc."""
        settings = argo.s3_settings({"s3": {"endpoint": endpoint, "insecure": insecure}})
        home = ctx.controller.namespace
        ref = service_of(settings, home, set()) if settings else None
        if ref is None or "." in settings.host:
            return endpoint
        holders = sorted(s["metadata"]["namespace"] for s in ctx.view.list("Service")
                         if s["metadata"]["name"] == ref.name)
        ns = home if home in holders or not holders else holders[0]
        if len(ctx.workflow_namespaces) == 1 and ns == home:
            return endpoint  # only the controller's namespace runs workflows: the short name works
        return f"{ref.name}.{ns}.svc:{settings.port}"


def _uses_controller_repo(ctx: Context, ns: str) -> bool:
    """Whether ns's default is the controller configmap's repository: its own artifact-repositories is
    absent or does not hold the key its default annotation names (argo.resolve_default_repository)."""
    return argo.default_repository_miss(ns, ctx.configmaps()) != ""
