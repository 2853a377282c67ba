"""Server-side apply of arbitrary manifests (CRDs first, waiting until Established)."""
from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from ..errors import KubeError, UserError
from ..view.cluster import KINDS
from ..view.kube import Kube
from ..view.names import api_path


class Discovery:
    """apiVersion + kind -> (plural, namespaced), read from the API server per group-version."""

    def __init__(self, kube: Kube):
        self.kube = kube
        self._gv: dict[str, dict[str, tuple[str, bool]]] = {}

    def _load(self, api_version: str) -> dict[str, tuple[str, bool]]:
        try:
            doc = self.kube.request("GET", api_path(*_group_version(api_version)))
        except KubeError as e:
            if e.not_found:
                return {}
            raise
        return {r["kind"]: (r["name"], bool(r.get("namespaced")))
                for r in doc.get("resources", []) if "/" not in r["name"]}

    def resource(self, api_version: str, kind: str) -> tuple[str, bool]:
        if kind not in self._gv.get(api_version, {}):
            self._gv[api_version] = self._load(api_version)  # new CRDs appear after a re-read
        try:
            return self._gv[api_version][kind]
        except KeyError:
            raise UserError(f"the API server does not serve {kind} in {api_version}") from None

    def path(self, obj: dict[str, Any], namespace: str | None = None) -> str:
        api_version, kind = obj["apiVersion"], obj["kind"]
        plural, namespaced = self.resource(api_version, kind)
        ns = obj["metadata"].get("namespace") or namespace
        if namespaced and not ns:
            raise UserError(f"{kind} {obj['metadata']['name']} needs a namespace")
        return api_path(*_group_version(api_version), plural, ns if namespaced else None, obj["metadata"]["name"])


def _group_version(api_version: str) -> tuple[str, str]:
    """("apps", "v1") for apps/v1, ("", "v1") for the core group's v1."""
    group, _, version = api_version.rpartition("/")
    return group, version


def load_manifests(text: str) -> list[dict[str, Any]]:
    import yaml  # here: plugins import this module, and `argodoctor list` needs no YAML

    docs = []
    for doc in yaml.safe_load_all(text):
        if not isinstance(doc, dict):
            continue
        if doc.get("kind", "").endswith("List") and isinstance(doc.get("items"), list):
            docs += [d for d in doc["items"] if isinstance(d, dict)]
        elif doc.get("kind"):
            docs.append(doc)
    return docs


def modernize(docs: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """Rewrites manifest objects in APIs that Kubernetes no longer serves (v2.12's CRDs are
    apiextensions.k8s.io/v1beta1, removed in Kubernetes 1.22) into their current form.
    Returns (objects, a note per rewrite)."""
    out, notes = [], []
    for doc in docs:
        if doc.get("kind") == "CustomResourceDefinition" and doc.get("apiVersion") == "apiextensions.k8s.io/v1beta1":
            doc = _crd_v1(doc)
            notes.append(f"CustomResourceDefinition {doc['metadata']['name']}: apiextensions.k8s.io/v1beta1 "
                         "(removed in Kubernetes 1.22) rewritten as v1")
        out.append(doc)
    return out, notes


def _crd_v1(doc: dict[str, Any]) -> dict[str, Any]:
    spec = dict(doc.get("spec") or {})
    schema = (spec.pop("validation", None) or {}).get("openAPIV3Schema") or {
        "type": "object", "x-kubernetes-preserve-unknown-fields": True}
    subresources = spec.pop("subresources", None)
    columns = [{("jsonPath" if k == "JSONPath" else k): v for k, v in c.items()}
               for c in spec.pop("additionalPrinterColumns", None) or []]
    names = [v.get("name") for v in spec.get("versions") or []] or [spec.get("version")]
    spec.pop("version", None)
    spec.pop("preserveUnknownFields", None)
    versions = []
    for i, name in enumerate(names):
        v: dict[str, Any] = {"name": name, "served": True, "storage": i == 0, "schema": {"openAPIV3Schema": schema}}
        if subresources:
            v["subresources"] = subresources
        if columns:
            v["additionalPrinterColumns"] = columns
        versions.append(v)
    spec["versions"] = versions
    return dict(doc, apiVersion="apiextensions.k8s.io/v1", spec=spec)


def wait_established(kube: Kube, names: Iterable[str], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    for name in names:
        while True:
            crd = kube.request("GET", KINDS["CustomResourceDefinition"].path(None, name))
            conds = {c["type"]: c["status"] for c in (crd.get("status") or {}).get("conditions") or []}
            if conds.get("Established") == "True":
                break
            if time.monotonic() > deadline:
                raise UserError(f"CustomResourceDefinition {name} not Established after {timeout:.0f}s")
            time.sleep(0.2)


def apply_manifests(kube: Kube, docs: list[dict[str, Any]], namespace: str | None = None) -> list[str]:
    """Applies docs by server-side apply: Namespaces and CRDs first (waiting until Established),
    then the rest. Namespaced objects without a namespace go to `namespace`. Returns what it applied."""
    disco = Discovery(kube)
    docs, _notes = modernize(docs)
    first = [d for d in docs if d["kind"] in ("Namespace", "CustomResourceDefinition")]
    rest = [d for d in docs if d not in first]
    applied = []
    for obj in first:
        kube.apply(disco.path(obj), obj)
        applied.append(f"{obj['kind']}/{obj['metadata']['name']}")
    wait_established(kube, [d["metadata"]["name"] for d in first if d["kind"] == "CustomResourceDefinition"])
    for obj in rest:
        _plural, namespaced = disco.resource(obj["apiVersion"], obj["kind"])
        if namespaced and not obj["metadata"].get("namespace"):
            obj = dict(obj, metadata=dict(obj["metadata"], namespace=namespace))
        kube.apply(disco.path(obj, namespace), obj)
        applied.append(f"{obj['kind']}/{obj['metadata']['name']}")
    return applied
