"""Artifact repositories: which one a workflow namespace resolves, and the secrets it names."""
from __future__ import annotations

import dataclasses
from typing import Any

from ..view import safe_yaml
from .config import ControllerConfig
from .go_decode import canonical, load_yaml
from .version import Version
from .workflows import WORKFLOW_KINDS, Catalogue, describe

ARTIFACT_REPOSITORIES_CONFIGMAP = "artifact-repositories"
DEFAULT_REPO_ANNOTATION = "workflows.argoproj.io/default-artifact-repository"


@dataclasses.dataclass
class SecretRef:
    field: str  # e.g. s3.accessKeySecret
    name: str
    key: str


@dataclasses.dataclass
class Repository:
    """One artifact repository a workflow namespace resolves, and where it came from."""

    namespace: str  # the workflow namespace that uses it
    source: str  # "ConfigMap argo/workflow-controller-configmap key artifactRepository"
    spec: dict[str, Any] | None  # the repository (s3:, gcs:, ...); None when it cannot be read
    error: str | None = None
    used_by: str = "default"  # "default" or "Workflow team-a/x (artifactRepositoryRef)"
    configmap: tuple[str, str] | None = None  # (namespace, name) of the ConfigMap holding it
    key: str | None = None
    why: str = ""  # why this repository is the one resolved, for messages

    @property
    def kind(self) -> str | None:
        for k in REPOSITORY_TYPES:
            if isinstance((self.spec or {}).get(k), dict):
                return k
        return None

    def secret_refs(self, version: Version | None = None) -> list[SecretRef]:
        return secret_refs(self.spec or {}, version)


# The repository types of ArtifactRepository (argo-workflows config/config.go at v3.0.10, then
# pkg/apis/workflow/v1alpha1/artifact_repository_types.go): s3, artifactory, hdfs, oss, gcs at every
# version; azure from v3.4; plugin from v4.0. http, git and raw are artifact locations only, never a
# repository (the CATALOG listed them as repository types; the source does not).
REPOSITORY_TYPES = ("s3", "gcs", "azure", "oss", "artifactory", "hdfs", "plugin")
REPOSITORY_TYPE_SINCE = {"azure": (3, 4), "plugin": (4, 0)}
LOCATION_ONLY_TYPES = ("http", "git", "raw")

# The secrets Argo mounts into a workflow pod for each repository type, as volumes without `optional`
# (so a missing Secret or key keeps the pod in ContainerCreating): workflowpod.go createSecretVolumes
# (v3.0..v3.3) / createSecretVolumesFromArtifactLocations (v3.4+). (field path, since which version).
# useSDKCreds does not stop a named selector from being mounted.
MOUNTED_SECRETS: dict[str, tuple[tuple[str, tuple[int, int]], ...]] = {
    "s3": (("accessKeySecret", (3, 0)), ("secretKeySecret", (3, 0)),
           ("encryptionOptions.serverSideCustomerKeySecret", (3, 4)),  # only with enableEncryption: true
           ("caSecret", (3, 5)), ("sessionTokenSecret", (3, 6))),
    "gcs": (("serviceAccountKeySecret", (3, 0)),),
    "azure": (("accountKeySecret", (3, 4)),),
    "oss": (("accessKeySecret", (3, 0)), ("secretKeySecret", (3, 0))),
    "artifactory": (("usernameSecret", (3, 0)), ("passwordSecret", (3, 0))),
    "hdfs": (("krbCCacheSecret", (3, 0)), ("krbKeytabSecret", (3, 0))),
}


def _at(spec: Any, path: str) -> Any:
    for part in path.split("."):
        spec = spec.get(part) if isinstance(spec, dict) else None
    return spec


def secret_refs(spec: dict[str, Any], version: Version | None = None) -> list[SecretRef]:
    """The secret selectors of a repository spec that Argo mounts into workflow pods at that version
    (the newest when unknown). A selector without name or key is skipped by Argo (and is AD202's)."""
    refs: list[SecretRef] = []
    for kind in REPOSITORY_TYPES:
        body = spec.get(kind)
        if not isinstance(body, dict):
            continue
        for path, since in MOUNTED_SECRETS.get(kind, ()):
            if version is not None and not version.at_least(*since):
                continue
            if path.startswith("encryptionOptions.") and _at(body, "encryptionOptions.enableEncryption") is not True:
                continue
            value = _at(body, path)
            if isinstance(value, dict) and value.get("name") and value.get("key"):
                refs.append(SecretRef(f"{kind}.{path}", str(value["name"]), str(value["key"])))
    return refs


def _load(cm: dict[str, Any], key: str, repo: Repository) -> Repository:
    """The repository text under key, parsed; a text that is no YAML mapping is the workflow's error
    (`failed to unmarshall config map key ...`), not a fall-back."""
    text = (cm.get("data") or {})[key]
    if text is not None and not isinstance(text, str):
        repo.error = f"{repo.source} is not YAML text (a ConfigMap value must be a string)"
        return repo
    try:
        spec = load_yaml(text or "")  # plain scalars read as Go's yaml.v2 reads them
    except safe_yaml.Invalid as e:
        repo.error = f"{repo.source} is not valid YAML at line {e.line}, column {e.column}: {e.problem}"
        return repo
    except safe_yaml.TooComplex as e:
        repo.error = f"{repo.source} is too large or too deep to judge: {e}"
        return repo
    if not isinstance(spec, dict):
        repo.error = f"{repo.source} does not hold a YAML mapping"
        return repo
    # get() decodes the entry with sigs.k8s.io/yaml Unmarshal (not strict): keys match field names
    # case-insensitively (`repoUrl` fills repoURL), so the spec is read by the names Argo fills.
    repo.spec = canonical(spec, "artifactRepository")
    return repo


def _key_in(cm: dict[str, Any] | None, key: str | None) -> tuple[str, str | None]:
    """(the key Argo looks up in cm: the ref's, else the default annotation's; why cm does not serve,
    or None when it holds that key)."""
    meta = cm["metadata"] if cm else {}
    where = f"ConfigMap {meta.get('namespace')}/{meta.get('name')}"
    if cm is None:
        return "", "does not exist"
    annotated = (meta.get("annotations") or {}).get(DEFAULT_REPO_ANNOTATION)
    key = key or annotated or ""  # GetKeyOr(annotation)
    if not key:
        return "", f"{where} has no `{DEFAULT_REPO_ANNOTATION}` annotation"
    if key not in (cm.get("data") or {}):
        named = "the ref" if key != annotated else "its default annotation"
        keys = ", ".join(sorted(cm.get("data") or {})) or "none"
        return key, f"{where} has no key {key!r}, which {named} names (keys: {keys})"
    return key, None


# argo-workflows v3.0.2..v4.1 workflow/artifactrepositories/artifactrepositories.go Resolve and get
# (read at v3.7.18; PR 5660 for issue 5646): without a ref, artifact-repositories in the workflow's
# namespace serves only when it exists and holds the key its default annotation names; any miss (no
# ConfigMap, no annotation, no such key) falls back to the controller's artifactRepository, silently.
def resolve_default_repository(ns: str, configmaps: dict[tuple[str, str], dict[str, Any]],
                               config: ControllerConfig) -> Repository | None:
    """What a workflow in ns without artifactRepositoryRef uses; None when nothing is configured."""
    cm = configmaps.get((ns, ARTIFACT_REPOSITORIES_CONFIGMAP))
    key, miss = _key_in(cm, None)
    if miss is None:
        where = f"ConfigMap {ns}/{ARTIFACT_REPOSITORIES_CONFIGMAP} key {key}"
        return _load(cm, key, Repository(ns, where, None, configmap=(ns, ARTIFACT_REPOSITORIES_CONFIGMAP), key=key,
                                         why=f"named by its `{DEFAULT_REPO_ANNOTATION}` annotation"))
    why = (f"{ns} has no ConfigMap {ARTIFACT_REPOSITORIES_CONFIGMAP}" if cm is None else miss) + \
        ": the controller's repository is used"
    spec = config.settings.get("artifactRepository")
    if not spec:
        return None
    repo = Repository(ns, config.source("artifactRepository"), spec if isinstance(spec, dict) else None,
                      configmap=_cm_key(config.configmap), key="artifactRepository", why=why)
    if not isinstance(spec, dict):
        repo.error = f"{repo.source}: artifactRepository is not a mapping"
    return repo


def default_repository_miss(ns: str, configmaps: dict[tuple[str, str], dict[str, Any]]) -> str:
    """Why ns's own artifact-repositories does not serve as its default (for AD201's message)."""
    cm = configmaps.get((ns, ARTIFACT_REPOSITORIES_CONFIGMAP))
    return f"no ConfigMap {ns}/{ARTIFACT_REPOSITORIES_CONFIGMAP}" if cm is None else (_key_in(cm, None)[1] or "")


def _cm_key(cm: dict[str, Any] | None) -> tuple[str, str] | None:
    return (cm["metadata"].get("namespace"), cm["metadata"]["name"]) if cm else None


# Same source: with a ref, its ConfigMap (default name artifact-repositories) is tried in the workflow's
# namespace, then in the controller's; the first that exists and holds the key (the ref's, else the
# annotation's) wins; neither -> `failed to find any artifact repository`, with no fall-back.
def resolve_ref(ns: str, ref: dict[str, Any], used_by: str, controller_ns: str,
                configmaps: dict[tuple[str, str], dict[str, Any]]) -> Repository:
    name = str(ref.get("configMap") or ARTIFACT_REPOSITORIES_CONFIGMAP)
    misses = []
    for where in dict.fromkeys((ns, controller_ns)):
        cm = configmaps.get((where, name))
        key, miss = _key_in(cm, ref.get("key") or None)
        if miss is None:
            source = f"ConfigMap {where}/{name} key {key}"
            why = "the ref's ConfigMap in the workflow's namespace" if where == ns else (
                f"the ref's ConfigMap in the controller's namespace ({misses[0]} in {ns})")
            return _load(cm, key, Repository(ns, source, None, used_by=used_by, configmap=(where, name), key=key,
                                             why=why))
        misses.append(miss if cm is not None else f"no ConfigMap {where}/{name}")
    key_text = f" key {ref['key']!r}" if ref.get("key") else ""
    return Repository(ns, f"ConfigMap {name}{key_text}", None, used_by=used_by, error=(
        f"artifactRepositoryRef (ConfigMap {name!r}{key_text}) resolves nowhere: {'; '.join(misses)}; the "
        "workflow fails with `failed to find any artifact repository`"))


def artifact_repository_refs(objects_by_kind: dict[str, list[dict[str, Any]]], catalogue: Catalogue
                             ) -> dict[str, list[tuple[dict[str, Any], str]]]:
    """namespace -> [(artifactRepositoryRef, 'Workflow ns/name')]: each distinct ref the joined spec of a
    workflow object carries (its own, its workflowTemplateRef's template's, or workflowDefaults')."""
    found: dict[str, list[tuple[dict[str, Any], str]]] = {}
    seen: set[tuple[str, str, str]] = set()
    for kind in WORKFLOW_KINDS:
        for o in objects_by_kind.get(kind, []):
            ref = catalogue.joined(o)[0].get("artifactRepositoryRef")
            if not isinstance(ref, dict):
                continue
            ns = o["metadata"].get("namespace")
            ident = (ns, str(ref.get("configMap") or ""), str(ref.get("key") or ""))
            if ident in seen:
                continue  # one result per distinct ref, not per workflow
            seen.add(ident)
            found.setdefault(ns, []).append((ref, describe(o)))
    return found
