"""Secrets that other controllers write: the objects that declare a Secret of a known name, which will exist
once their controller syncs it (AD203 counts such a declaration instead of reporting the Secret missing).

One row per declaring kind, each read from its project's API types (field names and defaults):
- ExternalSecret, external-secrets.io (external-secrets/external-secrets apis/externalsecrets/v1/
  externalsecret_types.go, v0.16+; v1beta1 before): the Secret is spec.target.name, defaulting to the
  ExternalSecret's own name; spec.target.creationPolicy `Owner` (the default) and `Orphan` create it,
  `Merge` only writes into one that exists, `None` writes none. Its keys: spec.data[].secretKey and the
  keys of spec.target.template.data; spec.dataFrom (or template.dataFrom/templateFrom) adds keys known
  only to the provider. Its sync state: status.conditions[type=Ready].
- SealedSecret, bitnami.com (bitnami-labs/sealed-secrets pkg/apis/sealedsecrets/v1alpha1/
  sealedsecret_expansion.go Unseal): a Secret of the SealedSecret's own name and namespace, with the keys
  of spec.encryptedData (and spec.template.data).
- VaultStaticSecret, VaultDynamicSecret, VaultPKISecret, secrets.hashicorp.com (hashicorp/
  vault-secrets-operator api/v1beta1 *_types.go, Destination): spec.destination.name, only when
  spec.destination.create is true; its keys come from Vault (unknown here).
- SecretProviderClass, secrets-store.csi.x-k8s.io (kubernetes-sigs/secrets-store-csi-driver apis/v1/
  secretproviderclass_types.go SecretObject): each spec.secretObjects[].secretName with data[].key; synced
  only while a pod mounts the class's CSI volume, so a workflow pod that does not mount it never gets it.
- OnePasswordItem, onepassword.com (1Password/onepassword-operator api/v1/onepassworditem_types.go): a
  Secret of the item's own name; its keys are the 1Password item's fields (unknown here).
Only the fields above are kept of these objects (view._slim): never a template's data values or a
SealedSecret's ciphertext."""
from __future__ import annotations

import dataclasses
from typing import Any

DECLARER_KINDS = ("ExternalSecret", "SealedSecret", "VaultStaticSecret", "VaultDynamicSecret", "VaultPKISecret",
                  "SecretProviderClass", "OnePasswordItem")
CONTROLLER = {"ExternalSecret": "External Secrets Operator", "SealedSecret": "the Sealed Secrets controller",
              "VaultStaticSecret": "the Vault Secrets Operator", "VaultDynamicSecret": "the Vault Secrets Operator",
              "VaultPKISecret": "the Vault Secrets Operator",
              "SecretProviderClass": "the Secrets Store CSI driver (only while a pod mounts the class's volume)",
              "OnePasswordItem": "the 1Password operator"}


@dataclasses.dataclass(frozen=True)
class Declared:
    kind: str
    declarer: str  # the declaring object's name
    namespace: str
    secret: str
    keys: frozenset[str] | None  # None: decided by the provider, not knowable here
    condition: str | None  # the sync state as its status says, e.g. "Ready=False (SecretSyncedError: ...)"
    from_files: bool = False  # declared by the files of `check -f` (not yet applied)

    @property
    def controller(self) -> str:
        return CONTROLLER[self.kind]

    def describe(self) -> str:
        return f"{self.kind} {self.namespace}/{self.declarer}"


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _ready(obj: dict[str, Any]) -> str | None:
    for c in _mapping(obj.get("status")).get("conditions") or []:
        if isinstance(c, dict) and c.get("type") == "Ready":
            why = ": ".join(str(c[k])[:200] for k in ("reason", "message") if c.get(k))
            return f"Ready={c.get('status')}" + (f" ({why})" if why else "")
    return None


def declared(kind: str, obj: dict[str, Any]) -> list[Declared]:
    """The Secrets one object declares (none when it writes none)."""
    meta = _mapping(obj.get("metadata"))
    name, ns = str(meta.get("name") or ""), str(meta.get("namespace") or "")
    spec = _mapping(obj.get("spec"))
    if kind == "ExternalSecret":
        target = _mapping(spec.get("target"))
        if target.get("creationPolicy", "Owner") not in ("Owner", "Orphan"):
            return []  # Merge writes into an existing Secret; None writes none
        template = _mapping(target.get("template"))
        keys: set[str] | None = {str(d.get("secretKey")) for d in spec.get("data") or [] if isinstance(d, dict)}
        keys |= {str(k) for k in _mapping(template.get("data"))}
        if spec.get("dataFrom") or template.get("templateFrom"):
            keys = None
        return [Declared(kind, name, ns, str(target.get("name") or name), frozenset(keys) if keys is not None
                         else None, _ready(obj))]
    if kind == "SealedSecret":
        keys = {str(k) for k in _mapping(spec.get("encryptedData"))}
        keys |= {str(k) for k in _mapping(_mapping(spec.get("template")).get("data"))}
        return [Declared(kind, name, ns, name, frozenset(keys), _ready(obj))]
    if kind in ("VaultStaticSecret", "VaultDynamicSecret", "VaultPKISecret"):
        dest = _mapping(spec.get("destination"))
        if dest.get("create") is not True or not dest.get("name"):
            return []
        return [Declared(kind, name, ns, str(dest["name"]), None, _ready(obj))]
    if kind == "SecretProviderClass":
        return [Declared(kind, name, ns, str(o.get("secretName")),
                         frozenset(str(d.get("key")) for d in o.get("data") or [] if isinstance(d, dict)), None)
                for o in spec.get("secretObjects") or [] if isinstance(o, dict) and o.get("secretName")]
    if kind == "OnePasswordItem":
        return [Declared(kind, name, ns, name, None, _ready(obj))]
    return []


def slim(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    """What the view keeps of a declaring object: its names, keys and sync state, no secret material."""
    out = {k: obj[k] for k in ("apiVersion", "kind") if k in obj}
    meta = _mapping(obj.get("metadata"))
    out["metadata"] = {k: meta[k] for k in ("name", "namespace", "uid", "labels") if k in meta}
    spec = _mapping(obj.get("spec"))
    if kind == "ExternalSecret":
        target = _mapping(spec.get("target"))
        template = _mapping(target.get("template"))
        kept_target = {k: target[k] for k in ("name", "creationPolicy") if k in target}
        if template:
            kept_target["template"] = {"data": {str(k): "" for k in _mapping(template.get("data"))},
                                       **({"templateFrom": [{}]} if template.get("templateFrom") else {})}
        data = [{"secretKey": d.get("secretKey")} for d in spec.get("data") or [] if isinstance(d, dict)]
        out["spec"] = {"target": kept_target, "data": data, **({"dataFrom": [{}]} if spec.get("dataFrom") else {})}
    elif kind == "SealedSecret":
        template_keys = _mapping(_mapping(spec.get("template")).get("data"))
        out["spec"] = {"encryptedData": {str(k): "" for k in _mapping(spec.get("encryptedData"))},
                       "template": {"data": {str(k): "" for k in template_keys}}}
    elif kind in ("VaultStaticSecret", "VaultDynamicSecret", "VaultPKISecret"):
        dest = _mapping(spec.get("destination"))
        out["spec"] = {"destination": {k: dest[k] for k in ("name", "create") if k in dest}}
    elif kind == "SecretProviderClass":
        out["spec"] = {"secretObjects": [
            {"secretName": o.get("secretName"),
             "data": [{"key": d.get("key")} for d in o.get("data") or [] if isinstance(d, dict)]}
            for o in spec.get("secretObjects") or [] if isinstance(o, dict)]}
    status = _mapping(obj.get("status"))
    if isinstance(status.get("conditions"), list):
        out["status"] = {"conditions": [{k: c[k] for k in ("type", "status", "reason", "message") if k in c}
                                        for c in status["conditions"][:10] if isinstance(c, dict)]}
    return out


def declarations(view: Any) -> dict[tuple[str, str], list[Declared]]:
    """(namespace, Secret name) -> the objects that declare it, of every declaring kind whose CRD the
    cluster has (each kind listed once; one not served or not readable is left out: no false verdict). A
    view of files (check -f --offline) has no CRD list to ask: every kind of the files is read."""
    from ..errors import KubeError
    from .cluster import KINDS

    try:
        served = {str((c.get("metadata") or {}).get("name")) for c in view.list("CustomResourceDefinition")}
    except KubeError:
        served = None  # unknown: try each kind; a 404 is an empty list
    out: dict[tuple[str, str], list[Declared]] = {}
    for kind in DECLARER_KINDS:
        k = KINDS[kind]
        if served is not None and f"{k.plural}.{k.group}" not in served and not view.partial:
            continue
        try:
            objs = view.list(kind)
        except KubeError:
            continue
        manifests = getattr(view, "manifests", None)  # check -f over a cluster: which came from the files
        in_files = manifests.keys(kind) if manifests is not None else set()
        for obj in objs:
            for d in declared(kind, obj):
                d = dataclasses.replace(d, from_files=view.partial or (d.namespace, d.declarer) in in_files)
                out.setdefault((d.namespace, d.secret), []).append(d)
    return out
