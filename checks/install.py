"""Is Argo installed and running, as the detected version needs? AD101 CRDs, AD102 controller,
AD104 executor image version skew. (AD103 lives in config.py.)"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from argodoctor import argo
from argodoctor.engine.context import Context
from argodoctor.engine.model import Check, Result
from argodoctor.errors import KubeError
from argodoctor.view.cluster import not_in_files


def _established(crd: dict) -> bool:
    conds = {c.get("type"): c.get("status") for c in (crd.get("status") or {}).get("conditions") or []}
    return conds.get("Established") == "True"


class CRDsInstalled(Check):
    id = "AD101"
    slug = "crds-installed"
    group = "install"
    title = "every Argo CRD the version needs is installed and Established"
    remediation = "install-argo"
    reads = ("Deployment", "CustomResourceDefinition")

    def run(self, ctx: Context) -> Iterable[Result]:
        version = ctx.version
        crds = {c["metadata"]["name"]: c for c in ctx.view.list("CustomResourceDefinition")
                if c["metadata"]["name"].endswith(".argoproj.io")}
        needed = argo.required_crds(version)
        missing = [n for n in needed if n not in crds]
        pending = [n for n in needed if n in crds and not _established(crds[n])]
        at = f"Argo {version}" if version else "Argo (no controller found; judged by the newest release)"
        if not crds and ctx.view.partial:  # `helm template` leaves out a chart's crds/; argo-helm 1.0 applies
            # them from a hook Job: files without CRDs say nothing of the cluster's
            yield self.skipped(not_in_files(f"the {len(needed)} argoproj.io CRDs {at} needs", plural=True,
                                            also=", or by `helm install` from a chart's crds/, which `helm template` "
                                                 "leaves out without --include-crds"))
        elif not crds:
            yield self.failed(f"Argo is not installed: none of the {len(needed)} argoproj.io CRDs {at} needs exists")
        elif missing or pending:
            parts = [f"missing {', '.join(missing)}"] if missing else []
            parts += [f"not Established: {', '.join(pending)}"] if pending else []
            yield self.failed(f"{at}: {'; '.join(parts)}; workflows of those kinds cannot be created")
        else:
            yield self.passed(f"all {len(needed)} CRDs {at} needs are Established")


class ControllerRunning(Check):
    id = "AD102"
    slug = "controller-running"
    group = "install"
    title = "the workflow-controller Deployment exists and is Available"
    remediation = "install-argo"
    reads = ("Deployment",)

    def run(self, ctx: Context) -> Iterable[Result]:
        c = ctx.controller
        read = getattr(ctx.view, "namespaces", None)  # check --namespaced-read: other namespaces are not seen
        if c.deployment is None and read:
            yield self.skipped(f"no workflow-controller Deployment in the namespaces read ({', '.join(read)}, "
                               "--namespaced-read): check --controller-namespace, or check without --namespaced-read",
                               namespace=c.namespace)
            return
        if c.deployment is None and ctx.view.partial:
            yield self.skipped(not_in_files(f"a workflow-controller Deployment (looked for first in {c.namespace})"),
                               namespace=c.namespace)
            return
        if c.deployment is None:
            yield self.failed(f"no workflow-controller Deployment in any namespace (looked first in {c.namespace})",
                              namespace=c.namespace)
            return
        ok, why = argo.deployment_available(c.deployment)
        obj = f"Deployment/{c.deployment['metadata']['name']}"
        version = f" ({c.image})" if c.image else ""
        if ok:
            yield self.passed(f"workflow-controller{version}: {why}", namespace=c.namespace, object=obj)
        else:
            yield self.failed(f"workflow-controller{version} {why}; check its logs (a configmap key the version "
                              "rejects is fatal from v3.4: see AD103/AD402)", namespace=c.namespace, object=obj,
                              remediation=None)


class VersionSkew(Check):
    id = "AD104"
    slug = "version-skew"
    group = "install"
    title = "the executor image in effect has the controller's version"
    severity = "warning"
    remediation = "set-executor-image"
    reads = ("Deployment", "ConfigMap")

    def run(self, ctx: Context) -> Iterable[Result]:
        c = ctx.controller
        if c.deployment is None or c.version is None:
            yield self.skipped("no controller image version to compare with", namespace=c.namespace)
            return
        image, where = argo.executor_image(c.version, ctx.config, c)
        exec_version = argo.image_version(image)
        obj = f"Deployment/{c.deployment['metadata']['name']}"
        if exec_version == c.version:
            yield self.passed(f"executor {image} ({where}) matches controller {c.version}", namespace=c.namespace,
                              object=obj)
        elif exec_version is None:
            yield self.warned(f"executor {image} ({where}) has no version tag; the controller is {c.version}",
                              namespace=c.namespace, object=obj)
        else:
            yield self.warned(f"executor {image} ({where}) is {exec_version} but the controller is {c.version}; "
                              "mismatched executors misread the controller's pod spec", namespace=c.namespace,
                              object=obj)


class ControllerConfigValid(Check):
    id = "AD103"
    slug = "controller-config-valid"
    group = "install"
    title = "the controller configmap parses, in one form, with only keys and types the version accepts"
    remediation = "rewrite-controller-config"
    reads = ("Deployment", "ConfigMap", "Node")

    def run(self, ctx: Context) -> Iterable[Result]:
        from argodoctor.argo import config_keys as argo_config

        c, config = ctx.controller, ctx.config
        obj = f"ConfigMap/{c.configmap_name}"
        if config.configmap is None:
            yield self.failed(f"ConfigMap {c.namespace}/{c.configmap_name} does not exist; the controller "
                              "starts without an artifact repository or any setting", namespace=c.namespace,
                              object=obj, remediation="install-argo")
            return
        problems = argo_config.config_problems(config, ctx.version)
        at = f"Argo {ctx.version}" if ctx.version else "the newest Argo (no controller version found)"
        initless = _initless_pod(ctx, config) if not problems else None
        if initless:
            verdict, why = initless
            result = self.failed if verdict == "fail" else self.warned
            yield result(f"key initlessPod: {why}", namespace=c.namespace, object=obj, remediation=None)
            return
        if not problems:
            yield self.passed(f"{len(config.settings)} setting(s) in the {config.form} form, all valid for {at}",
                              namespace=c.namespace, object=obj)
            return
        for p in problems:
            where = f"key {p.key}" if p.key else "the ConfigMap"
            line = f", line {p.line}" + (f", column {p.column}" if p.column else "") if p.line else ""
            yield self.failed(f"{where}{line}: {p.message}", namespace=c.namespace, object=obj)


class CronWorkflowValid(Check):
    """What of a CronWorkflow's schedule the detected Argo version refuses (argo.cron_schedule_problem). Its
    other catalog rules (Argo's cron parser, time zones, concurrencyPolicy) are not judged yet."""

    id = "AD108"
    slug = "cron-workflow-valid"
    group = "install"
    title = "every CronWorkflow has a schedule its Argo version accepts"
    reads = ("Deployment", "CronWorkflow")

    def run(self, ctx: Context) -> Iterable[Result]:
        version = ctx.version
        if version is None or not version.at_least(4, 0):
            yield self.passed(f"Argo {version or '(version unknown)'} accepts `schedule` and `schedules`")
            return
        bad = 0
        for cron in ctx.view.list("CronWorkflow"):
            spec = cron.get("spec") if isinstance(cron.get("spec"), dict) else {}
            found = argo.cron_schedule_problem(spec, version)
            if found:
                bad += 1
                verdict, why = found
                meta = cron["metadata"]
                result = self.failed if verdict == "fail" else self.warned
                yield result(f"CronWorkflow {meta.get('namespace')}/{meta.get('name')} {why}",
                             namespace=meta.get("namespace"), object=f"CronWorkflow/{meta.get('name')}")
        if not bad:
            yield self.passed(f"every CronWorkflow sets `schedules`, as Argo {version} requires")


def _initless_pod(ctx: Context, config: Any) -> tuple[str, str] | None:
    """AD103's Kubernetes rule for v4.1's initlessPod (argo.initless_pod_problem): the minor versions of the
    kubelets (Nodes) and, live, of the API server."""
    pod = config.settings.get("initlessPod")
    if not (isinstance(pod, dict) and pod.get("enabled") is True) or (ctx.version and not ctx.version.at_least(4, 1)):
        return None
    minors = []
    try:
        nodes = ctx.view.list("Node")
    except KubeError:
        nodes = []  # unreadable: judged by the API server's version alone (live)
    for node in nodes:
        kubelet = str(((node.get("status") or {}).get("nodeInfo") or {}).get("kubeletVersion") or "")
        parsed = argo.parse_version(kubelet)
        if parsed and parsed.major == 1:
            minors.append(parsed.minor)
    kube = getattr(ctx.view, "kube", None)
    if kube is not None:
        try:
            info = kube.request("GET", "/version")
            minor = "".join(ch for ch in str(info.get("minor", "")) if ch.isdigit())
            if str(info.get("major")) == "1" and minor:
                minors.append(int(minor))
        except KubeError:
            pass
    return argo.initless_pod_problem(minors)


class ControllerReach(Check):
    """Workflow objects no controller will run, or that two controllers both run (argo.claims)."""

    id = "AD105"
    slug = "controller-reach"
    group = "install"
    title = "every Workflow and CronWorkflow is run by exactly one controller"
    requires = ("AD102",)
    reads = ("Deployment", "ConfigMap", "Workflow", "CronWorkflow")

    def run(self, ctx: Context) -> Iterable[Result]:
        controllers = []
        for c in argo.find_controllers(ctx.view.list("Deployment")):
            settings = argo.parse_controller_config(ctx.view.get("ConfigMap", c.namespace, c.configmap_name)).settings
            controllers.append((c, settings))
        by_ns: dict[str, dict[tuple[str, ...], list[str]]] = {}
        claimants: dict[tuple[str, Any], tuple[str, ...]] = {}  # by (namespace, instance-id label)
        for kind in ("Workflow", "CronWorkflow"):
            for obj in ctx.view.list(kind):
                meta = obj["metadata"]
                ns, labels = meta.get("namespace") or "", meta.get("labels") or {}
                key = (ns, labels.get(argo.INSTANCE_ID_LABEL))
                who = claimants.get(key)
                if who is None:  # claims() reads nothing else of the object
                    who = claimants[key] = tuple(_name(c) for c, settings in controllers
                                                 if argo.claims(c, settings, ns, labels))
                by_ns.setdefault(ns, {}).setdefault(who, []).append(f"{kind} {meta.get('name')}")
        for ns in sorted(by_ns):
            groups = by_ns[ns]
            bad = False
            for who, objs in sorted(groups.items()):
                shown = ", ".join(objs[:3]) + (f" (+{len(objs) - 3} more)" if len(objs) > 3 else "")
                if not who:
                    bad = True
                    yield self.failed(f"no controller runs {shown}: {_why_none(controllers, ns)}", namespace=ns,
                                      object=objs[0].replace(" ", "/", 1))
                elif len(who) > 1:
                    bad = True
                    yield self.failed(f"{shown} claimed by {len(who)} controllers ({', '.join(who)}): both run it; "
                                      "give each controller its own instanceID and label the workflows for one",
                                      namespace=ns, object=objs[0].replace(" ", "/", 1))
            if not bad:
                runners = sorted({w[0] for w in groups})
                yield self.passed(f"{sum(len(o) for o in groups.values())} workflow object(s) run by "
                                  f"{', '.join(runners)}", namespace=ns)


def _name(c: argo.Controller) -> str:
    return f"{c.namespace}/{(c.deployment or {}).get('metadata', {}).get('name', argo.CONTROLLER_NAME)}"


def _why_none(controllers: list[tuple[argo.Controller, dict]], ns: str) -> str:
    """What each controller watches, so the user sees which label or namespace is off."""
    if not controllers:
        return "there is no workflow-controller"
    parts = []
    for c, settings in controllers:
        watched = argo.watched_namespace(c, settings.get("namespace"))
        scope = f"only namespace {watched}" if watched else "every namespace"
        iid = settings.get("instanceID")
        label = (f"only objects labelled {argo.INSTANCE_ID_LABEL}={iid}" if iid
                 else f"only objects without the {argo.INSTANCE_ID_LABEL} label")
        parts.append(f"{_name(c)} watches {scope} and {label}")
    return "; ".join(parts)
