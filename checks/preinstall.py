"""AD001-AD004, `check --pre`: before `fix install-argo` or `deploy-object-store`, can the install
succeed here? Rights to create what it creates, a Kubernetes version the release supports, storage for
the object store's claim, and an executor the nodes' runtimes allow."""
from __future__ import annotations

from collections.abc import Iterable

from argodoctor import argo
from argodoctor.engine.context import Context
from argodoctor.engine.model import Check, Result
from argodoctor.engine.permissions import FIX_WRITES, access_review, merge_grants, whoami
from argodoctor.errors import KubeError
from argodoctor.view.cluster import Kind

from .executor import node_runtime

# storage.k8s.io/v1 StorageClass: the annotation the DefaultStorageClass admission plugin reads (and the
# beta one it still honours), plugin/pkg/admission/storage/storageclass/setdefault, util GetDefaultClass.
DEFAULT_CLASS = ("storageclass.kubernetes.io/is-default-class", "storageclass.beta.kubernetes.io/is-default-class")


def install_version(ctx: Context) -> argo.Version:
    """The release `fix install-argo` installs: --install-version, else the one installed, else the default."""
    text = ctx.options.install_version
    if not text:
        try:
            installed = ctx.version
        except KubeError:
            installed = None
        text = str(installed) if installed else argo.DEFAULT_INSTALL_VERSION
    version = argo.parse_version(text)
    assert version is not None, text  # --install-version is validated by the CLI
    return version


class InstallPermissions(Check):
    id = "AD001"
    slug = "install-permissions"
    group = "pre-install"
    title = "the caller may create what install-argo and deploy-object-store create"
    live_only = True

    def run(self, ctx: Context) -> Iterable[Result]:
        kube = ctx.view.kube
        ns = ctx.controller.namespace
        denied = []
        for g in merge_grants([*FIX_WRITES["install-argo"], *FIX_WRITES["deploy-object-store"]]):
            kind = Kind("", g.group, "v1", g.resource, g.namespaced)
            if not access_review(kube, "create", kind, ns if g.namespaced else ""):
                denied.append(f"{g.resource}{'.' + g.group if g.group else ''}")
        rbac = Kind("", "rbac.authorization.k8s.io", "v1", "clusterroles", False)
        user = whoami(kube)
        if denied:
            yield self.failed(f"{user} may not create {', '.join(denied)} (in {ns} or cluster-wide): install-argo "
                              "and deploy-object-store would stop half-way; `argodoctor role --for fix` prints "
                              "a ClusterRole that suffices", namespace=ns)
        elif not access_review(kube, "escalate", rbac):
            yield self.warned(f"{user} may create what the install creates, but not escalate: creating Argo's "
                              "ClusterRoles is refused unless it already holds every right they grant "
                              "(`argodoctor role --for fix --manifests FILE` adds those rights, without escalate)",
                              namespace=ns)
        else:
            yield self.passed(f"{user} may create every kind install-argo and deploy-object-store create",
                              namespace=ns)


class KubernetesVersionSupported(Check):
    id = "AD002"
    slug = "kubernetes-version-supported"
    group = "pre-install"
    title = "the cluster's Kubernetes version is one the Argo release supports"
    live_only = True
    reads = ("Deployment",)

    def run(self, ctx: Context) -> Iterable[Result]:
        version = install_version(ctx)
        info = ctx.view.kube.request("GET", "/version")
        minor = "".join(ch for ch in str(info.get("minor", "")) if ch.isdigit())
        if str(info.get("major")) != "1" or not minor:
            yield self.skipped(f"the API server reports version {info.get('gitVersion')!r}, not 1.x")
            return
        support = argo.kubernetes_support(version, int(minor))
        text = f"{info.get('gitVersion')}: {support.why}"
        if support.verdict == "unknown":
            yield self.skipped(text)
        else:
            yield {"pass": self.passed, "warn": self.warned, "fail": self.failed}[support.verdict](text)


class DefaultStorageClass(Check):
    id = "AD003"
    slug = "default-storage-class"
    group = "pre-install"
    title = "a default StorageClass can provision the object store's volume"
    reads = ("StorageClass",)

    def run(self, ctx: Context) -> Iterable[Result]:
        classes = ctx.view.list("StorageClass")
        default = sorted(c["metadata"]["name"] for c in classes
                         if any((c["metadata"].get("annotations") or {}).get(a) == "true" for a in DEFAULT_CLASS))
        if len(default) == 1:
            yield self.passed(f"StorageClass {default[0]} is the default: MinIO's claim (deploy-object-store) gets "
                              "a volume from it")
        elif default:
            yield self.passed(f"{len(default)} StorageClasses are marked default ({', '.join(default)}): the "
                              "newest one provisions MinIO's claim")
        else:
            names = ", ".join(sorted(c["metadata"]["name"] for c in classes)) or "none"
            yield self.warned(f"no default StorageClass (StorageClasses: {names}): deploy-object-store's claim "
                              "stays Pending unless a PersistentVolume without a class is there to bind; mark a "
                              f"class with {DEFAULT_CLASS[0]}=true")


class RuntimeAllowsExecutor(Check):
    id = "AD004"
    slug = "runtime-allows-executor"
    group = "pre-install"
    title = "the nodes' container runtimes work with the release's default executor"
    reads = ("Node", "Deployment")

    def run(self, ctx: Context) -> Iterable[Result]:
        version = install_version(ctx)
        # A fresh install: no configmap setting, no flag; argo.executors_in_effect says what that leaves.
        fresh = argo.executors_in_effect(version, argo.parse_controller_config(None),
                                         argo.Controller(None, ctx.controller.namespace, [], None))
        if fresh.default != "docker":
            yield self.passed(f"Argo {version} runs {fresh.default} ({fresh.source}), which works on any container "
                              "runtime")
            return
        nodes = ctx.view.list("Node")
        runtimes = {n["metadata"]["name"]: node_runtime(n) or "unknown" for n in nodes}
        other = sorted(f"{name} ({rt})" for name, rt in runtimes.items() if not rt.startswith("docker://"))
        if not nodes:
            yield self.skipped("no Node objects to compare the docker executor with")
        elif other:
            yield self.failed(f"Argo {version} runs the docker executor ({fresh.source}), but {len(other)} of "
                              f"{len(nodes)} nodes do not run docker: {', '.join(other[:5])}; after installing, "
                              "set containerRuntimeExecutor: emissary (argodoctor fix set-executor), or install "
                              "v3.4 or newer")
        else:
            yield self.passed(f"all {len(nodes)} nodes run docker, which Argo {version}'s docker executor needs")
