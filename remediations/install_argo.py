"""install-argo: server-side applies the official install manifests of a chosen Argo version, from
the release URL (https only, its SHA-256 checked against the digest pinned for the release) or from
--manifests FILE|DIR (air-gapped; the user's own file, its digest shown), CRDs first (waiting until
Established). It only creates what is absent: an existing installation's objects are never overwritten."""
from __future__ import annotations

import hashlib
import os
from typing import Any

from argodoctor import argo
from argodoctor.engine.context import Context
from argodoctor.engine.model import Action, Plan, Remediation
from argodoctor.errors import UserError
from argodoctor.fix.fixer import get_live
from argodoctor.fix.manifests import load_manifests, modernize, wait_established
from argodoctor.view.cluster import KINDS

FLAVOURS = {False: "cluster-install", True: "namespace-install"}


def read_manifests(ctx: Context, version: str) -> tuple[list[dict[str, Any]], str, str]:
    """(objects, where they came from, a note on their SHA-256): --manifests FILE or DIR (the user's own
    choice: its digest is shown), else the release's file over https, refused unless its SHA-256 is the one
    pinned for that release (argo.RELEASE_SHA256); --manifests https://... is held to the same pin."""
    flavour = FLAVOURS[ctx.options.namespaced]
    src = ctx.options.manifests
    tag = version if version.startswith("v") else f"v{version}"
    pinned = argo.RELEASE_SHA256.get((tag, _RELEASE_FILE[flavour]))
    if src and src.lower().startswith("http://"):
        raise UserError(f"refusing to download manifests over http:// ({src}): anyone on the way could change "
                        "what is applied with cluster-admin rights; use https:// or --manifests FILE|DIR")
    if src and "://" not in src:
        path = src
        if os.path.isdir(src):
            candidates = [os.path.join(src, f"{flavour}.yaml"), os.path.join(src, "install.yaml")]
            path = next((c for c in candidates if os.path.isfile(c)), candidates[0])
        try:
            with open(path, "rb") as f:
                body = f.read()
        except OSError as e:
            raise UserError(f"cannot read manifests {path}: {e.strerror or e}") from None
        sha = hashlib.sha256(body).hexdigest()
        known = next((f"Argo {v} {name}.yaml" for (v, name), d in argo.RELEASE_SHA256.items() if d == sha), None)
        what = f"the release file {known}" if known else "your own file: not a release file argodoctor pins"
        note = f"manifests {path}: sha256 {sha} ({what})"
        return _load(body, path), path, note
    if src and not src.lower().startswith("https://"):
        raise UserError(f"--manifests {src}: a FILE, a DIR or an https:// URL")
    if pinned is None:
        raise UserError(f"no SHA-256 is pinned for Argo {tag}'s {_RELEASE_FILE[flavour]}.yaml, so argodoctor will "
                        "not download it; choose a pinned release with --install-version (" +
                        ", ".join(sorted({v for v, _ in argo.RELEASE_SHA256}, key=argo.parse_version)) +
                        ") or download and review the file yourself and pass --manifests FILE")
    url = src or argo.RELEASE_URL.format(version=tag, flavour=_RELEASE_FILE[flavour])
    try:
        import urllib.request  # here: plugins are imported by every command, `list` included

        with urllib.request.urlopen(url, timeout=30) as resp:
            body = resp.read(_MAX_MANIFESTS + 1)
    except OSError as e:
        raise UserError(f"cannot download {url}: {e}; on an air-gapped cluster pass --manifests FILE|DIR") from None
    sha = hashlib.sha256(body).hexdigest()
    if sha != pinned:
        raise UserError(f"the manifests downloaded from {url} have SHA-256 {sha}, not the {pinned} pinned for Argo "
                        f"{tag}: refusing to apply them")
    return _load(body, url), url, f"manifests {url}: sha256 {sha}, as pinned for Argo {tag}"


_RELEASE_FILE = {"cluster-install": "install", "namespace-install": "namespace-install"}  # the release's names
_MAX_MANIFESTS = 64 << 20  # bytes; v4.1.2's full CRDs are about 2 MiB


def _load(body: bytes, where: str) -> list[dict[str, Any]]:
    try:
        return load_manifests(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise UserError(f"manifests {where} are not UTF-8 text") from None


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
        docs, source, digest_note = read_manifests(ctx, version)
        docs, plan.notes = modernize(docs)
        plan.notes.insert(0, digest_note)
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
