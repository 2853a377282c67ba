"""install-argo: server-side applies the official install manifests of a chosen Argo version, from
the release URL or from --manifests FILE|DIR (air-gapped), CRDs first (waiting until Established).
It only creates what is absent: an existing installation's objects are never overwritten."""
from __future__ import annotations

import os
from typing import Any

from argodoctor import argo
from argodoctor.cluster import KINDS
from argodoctor.context import Context
from argodoctor.errors import UserError
from argodoctor.fixer import get_live
from argodoctor.manifests import load_manifests, modernize, wait_established
from argodoctor.model import Action, Plan, Remediation

FLAVOURS = {False: "cluster-install", True: "namespace-install"}


def read_manifests(ctx: Context, version: str) -> tuple[list[dict[str, Any]], str]:
    """(objects, where they came from): --manifests FILE, DIR or URL, else the release's URL."""
    flavour = FLAVOURS[ctx.options.namespaced]
    src = ctx.options.manifests
    if src and not src.startswith(("https://", "http://")):
        path = src
        if os.path.isdir(src):
            candidates = [os.path.join(src, f"{flavour}.yaml"), os.path.join(src, "install.yaml")]
            path = next((c for c in candidates if os.path.isfile(c)), candidates[0])
        try:
            with open(path, encoding="utf-8") as f:
                return load_manifests(f.read()), path
        except OSError as e:
            raise UserError(f"cannot read manifests {path}: {e.strerror or e}") from None
    url = src or argo.RELEASE_URL.format(version=version, flavour="namespace-install" if ctx.options.namespaced
                                         else "install")
    try:
        import urllib.request  # here: plugins are imported by every command, `list` included

        with urllib.request.urlopen(url, timeout=30) as resp:
            return load_manifests(resp.read().decode()), url
    except OSError as e:
        raise UserError(f"cannot download {url}: {e}; on an air-gapped cluster pass --manifests FILE|DIR") from None


class InstallArgo(Remediation):
    id = "install-argo"
    title = "server-side apply the official Argo install manifests (CRDs first)"
    fixes = ("AD101", "AD102")

    def plan(self, ctx: Context) -> Plan:
        plan = Plan(self.id)
        view = ctx.view
        installed = {c["metadata"]["name"] for c in view.list("CustomResourceDefinition")}
        version = ctx.options.install_version or (str(ctx.version) if ctx.version else argo.DEFAULT_INSTALL_VERSION)
        missing_crds = [n for n in argo.required_crds(argo.parse_version(version)) if n not in installed]
        if ctx.controller.deployment is not None and not missing_crds:
            return plan  # installed; AD102 says whether it runs
        docs, source = read_manifests(ctx, version)
        docs, plan.notes = modernize(docs)
        ns = ctx.options.controller_namespace or argo.DEFAULT_CONTROLLER_NAMESPACE
        if view.get("Namespace", None, ns) is None:
            plan.actions.append(Action({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}, None,
                                       f"Argo {version} runs here"))
        crds = [d for d in docs if d["kind"] == "CustomResourceDefinition"]
        for obj in crds + [d for d in docs if d["kind"] != "CustomResourceDefinition"]:
            meta = obj.setdefault("metadata", {})
            if _namespaced(obj) and not meta.get("namespace"):
                meta["namespace"] = ns
            live = view.get(obj["kind"], meta.get("namespace"), meta["name"]) if obj["kind"] in KINDS else (
                get_live(view.kube, obj) if view.live else None)
            if live is not None:
                continue  # never overwrite what exists
            wait = None
            if obj["kind"] == "CustomResourceDefinition":
                def wait(kube, name=meta["name"]):
                    wait_established(kube, [name])
            plan.actions.append(Action(obj, None, f"Argo {version} from {source}", wait=wait, brief=True))
        return plan


_CLUSTER_SCOPED = {"Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding", "PriorityClass"}


def _namespaced(obj: dict[str, Any]) -> bool:
    return obj["kind"] not in _CLUSTER_SCOPED
