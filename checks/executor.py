"""The workflow executor: can it work on the nodes' runtime (AD401), is its config key obsolete
(AD402), does it need the node's docker socket (AD403)?"""
from __future__ import annotations

from collections.abc import Iterable

from argodoctor import argo
from argodoctor.engine.context import Context
from argodoctor.engine.model import Check, Result
from argodoctor.k8s import pod_security
from argodoctor.k8s.rbac import label_selector_matches

EXECUTOR_KEYS = ("containerRuntimeExecutor", "containerRuntimeExecutors")


def docker_users(ctx: Context, executors: argo.Executors) -> list[str]:
    """Workflow objects that a containerRuntimeExecutors selector sends to the docker executor."""
    entries = ctx.config.settings.get("containerRuntimeExecutors")
    if not isinstance(entries, list):
        return []
    found = []
    for kind, objs in ctx.workflow_objects().items():
        for o in objs:
            labels = o["metadata"].get("labels") or {}
            chosen = next((e.get("name") for e in entries if isinstance(e, dict)
                           and label_selector_matches(e.get("selector") or {}, labels)), executors.default)
            if chosen == "docker":
                found.append(f"{kind} {o['metadata'].get('namespace')}/{o['metadata']['name']}")
    return found


class ExecutorRuntimeCompatible(Check):
    id = "AD401"
    slug = "executor-runtime-compatible"
    group = "executor"
    title = "the docker executor is not used on nodes that do not run docker"
    remediation = "set-executor"
    reads = ("Deployment", "ConfigMap", "Node", *argo.WORKFLOW_KINDS)

    def run(self, ctx: Context) -> Iterable[Result]:
        c = ctx.controller
        if ctx.version is None:
            yield self.skipped("no workflow-controller version found (see AD102)", namespace=c.namespace)
            return
        if ctx.version.at_least(3, 4):
            yield self.skipped(f"Argo {ctx.version} runs emissary only; no runtime dependency", namespace=c.namespace)
            return
        ex = ctx.executors
        nodes = ctx.view.list("Node")
        other = sorted((n["metadata"]["name"], node_runtime(n) or "unknown") for n in nodes
                       if not node_runtime(n).startswith("docker://"))
        by_selector = docker_users(ctx, ex) if ex.default != "docker" else []
        if ex.default != "docker" and not by_selector:
            yield self.passed(f"executor {ex.default} ({ex.source}) does not depend on the node's runtime",
                              namespace=c.namespace)
            return
        if not nodes:
            yield self.skipped("no Node objects to compare the docker executor with", namespace=c.namespace)
            return
        if not other:
            yield self.passed(f"executor docker ({ex.source}); all {len(nodes)} nodes run docker",
                              namespace=c.namespace)
            return
        listed = ", ".join(f"{name} ({rt})" for name, rt in other[:10]) + (
            f" and {len(other) - 10} more" if len(other) > 10 else "")
        who = (f"the docker executor is in effect ({ex.source})" if ex.default == "docker"
               else f"containerRuntimeExecutors sends {', '.join(by_selector[:5])} to the docker executor")
        yield self.failed(f"{who}, but {len(other)} of {len(nodes)} nodes do not run docker: {listed}; steps there "
                          "fail with `Cannot connect to the Docker daemon at unix:///var/run/docker.sock`",
                          namespace=c.namespace)


class ExecutorConfigObsolete(Check):
    id = "AD402"
    slug = "executor-config-obsolete"
    group = "executor"
    title = "no executor key is left in the configmap from v3.4 (fatal to the controller)"
    remediation = "rewrite-controller-config"
    reads = ("Deployment", "ConfigMap")

    def run(self, ctx: Context) -> Iterable[Result]:
        c = ctx.controller
        if ctx.version is None:
            yield self.skipped("no workflow-controller version found (see AD102)", namespace=c.namespace)
            return
        present = [k for k in EXECUTOR_KEYS if k in ctx.config.settings]
        obj = f"ConfigMap/{c.configmap_name}"
        if not ctx.version.at_least(3, 4):
            yield self.passed(f"Argo {ctx.version} still reads {' and '.join(EXECUTOR_KEYS)}", namespace=c.namespace,
                              object=obj)
            return
        flag = c.has_flag("--container-runtime-executor")
        if not present and not flag:
            yield self.passed(f"no executor setting left over (Argo {ctx.version} runs emissary only)",
                              namespace=c.namespace, object=obj)
            return
        where = [f"{k} in {ctx.config.source(k)}" for k in present]
        if flag:
            where.append("the controller's --container-runtime-executor flag")
        yield self.failed(f"Argo {ctx.version} parses its configmap strictly: {', '.join(where)} is fatal, the "
                          f'controller exits with `json: unknown field "{(present or EXECUTOR_KEYS)[0]}"`',
                          namespace=c.namespace, object=obj,
                          remediation=self.remediation if present else None)


class ExecutorPrivileged(Check):
    id = "AD403"
    slug = "executor-privileged"
    group = "executor"
    title = "the docker executor (which mounts the node's docker.sock) is not in effect"
    severity = "warning"
    remediation = "set-executor"
    reads = ("Deployment", "ConfigMap", *argo.WORKFLOW_KINDS)

    def run(self, ctx: Context) -> Iterable[Result]:
        c = ctx.controller
        if ctx.version is None:
            yield self.skipped("no workflow-controller version found (see AD102)", namespace=c.namespace)
            return
        if ctx.version.at_least(3, 4):
            yield self.passed(f"Argo {ctx.version} runs emissary, the only executor from v3.4", namespace=c.namespace)
            return
        ex = ctx.executors
        if ex.default == "docker":
            yield self.warned(f"the docker executor is in effect ({ex.source}): every workflow pod mounts the "
                              "node's /var/run/docker.sock, which is root on the node", namespace=c.namespace)
        elif "docker" in ex.selectable:
            yield self.warned("containerRuntimeExecutors lets workflows select the docker executor, which mounts "
                              "the node's docker.sock", namespace=c.namespace)
        else:
            yield self.passed(f"executor {ex.default} ({ex.source}) does not mount docker.sock", namespace=c.namespace)


class ExecutorPodSecurity(Check):
    """Pod Security Admission (the namespace's enforce level) against the pod parts the executor in effect
    creates (argo.executor_pod), evaluated as k8s.io/pod-security-admission/policy does (pod_security)."""

    id = "AD404"
    slug = "executor-pod-security"
    group = "executor"
    title = "the namespace's Pod Security level admits the pods the executor creates"
    remediation = "set-executor-security-context"
    requires = ("AD101",)
    reads = ("Deployment", "ConfigMap", "Namespace", *argo.WORKFLOW_KINDS, argo.CLUSTER_TEMPLATE_KIND)

    def run(self, ctx: Context) -> Iterable[Result]:
        namespaces = {n["metadata"]["name"]: n for n in ctx.view.list("Namespace")}
        contexts: dict[str, list] | None = None  # read off every workflow once a namespace enforces a level
        skips, open_ = self.split_blocked(ctx, ctx.workflow_namespaces)
        yield from skips
        for ns in open_:
            level = pod_security.namespace_level(namespaces.get(ns))
            if level is None:
                yield self.passed("enforces no Pod Security level (or privileged)", namespace=ns)
                continue
            problems = []
            if contexts is None:
                contexts = _pod_security_contexts(ctx)
            for executor in ctx.executors.all:
                for sc in contexts.get(ns, [None]):
                    found = pod_security.violations(argo.executor_pod(executor, ctx.config, sc), level)
                    if found and (executor, pod_security.message(level, found)) not in problems:
                        problems.append((executor, pod_security.message(level, found)))
            if not problems:
                yield self.passed(f'Pod Security "{level}" admits the pods executor {"/".join(ctx.executors.all)} '
                                  "creates (init and wait; main containers are each template's)", namespace=ns,
                                  object=f"Namespace/{ns}")
                continue
            executors = {e for e, _ in problems}
            fix = "set-executor" if executors & {"docker", "pns"} else self.remediation
            text = "; ".join(f"executor {e}: pods are refused: {m}" for e, m in problems)
            yield self.failed(text, namespace=ns, object=f"Namespace/{ns}", remediation=fix)


def _pod_security_contexts(ctx: Context) -> dict[str, list]:
    """ns -> the distinct pod securityContexts its workflows set (template's, else the joined spec's)."""
    found: dict[str, list] = {}
    for objs in ctx.workflow_objects().values():
        for obj in objs:
            spec = ctx.catalogue.joined(obj)[0]
            scs = [t.get("securityContext") or spec.get("securityContext") for t in argo.templates(spec)
                   if argo.is_pod_template(t)] or [spec.get("securityContext")]
            bucket = found.setdefault(obj["metadata"].get("namespace"), [])
            for sc in scs:
                sc = sc if isinstance(sc, dict) else None
                if sc not in bucket:
                    bucket.append(sc)
    return found


def node_runtime(node: dict) -> str:
    """A Node's status.nodeInfo.containerRuntimeVersion, '' when unset or null at any level."""
    return ((node.get("status") or {}).get("nodeInfo") or {}).get("containerRuntimeVersion") or ""
