"""Argo Workflows knowledge, written once for checks and remediations alike.

Sources: argo-workflows docs and code at the versions named in
../shared/CATALOG.md (workflow-controller flags, config/config.go,
workflow/artifactrepositories/artifactrepositories.go).
"""
from __future__ import annotations

import dataclasses
import re
from typing import Any

import yaml

CONTROLLER_NAME = "workflow-controller"
CONTROLLER_CONFIGMAP = "workflow-controller-configmap"
DEFAULT_CONTROLLER_NAMESPACE = "argo"
ARTIFACT_REPOSITORIES_CONFIGMAP = "artifact-repositories"
DEFAULT_REPO_ANNOTATION = "workflows.argoproj.io/default-artifact-repository"
WORKFLOW_KINDS = ("Workflow", "WorkflowTemplate", "CronWorkflow")


# ---------------------------------------------------------------- versions

@dataclasses.dataclass(frozen=True, order=True)
class Version:
    major: int
    minor: int
    patch: int = 0

    def __str__(self) -> str:
        return f"v{self.major}.{self.minor}.{self.patch}"

    def at_least(self, major: int, minor: int) -> bool:
        return (self.major, self.minor) >= (major, minor)


_VERSION_RE = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?")


def parse_version(text: str | None) -> Version | None:
    """'v3.7.18', '3.4', 'v3.5.0-rc1' -> Version; anything else (latest, a digest) -> None."""
    m = _VERSION_RE.match((text or "").strip())
    if not m:
        return None
    return Version(int(m[1]), int(m[2]), int(m[3] or 0))


def image_version(image: str | None) -> Version | None:
    """The version in an image reference's tag: quay.io/argoproj/workflow-controller:v3.7.18."""
    if not image:
        return None
    ref = image.split("@", 1)[0]
    last = ref.rsplit("/", 1)[-1]
    if ":" not in last:
        return None
    return parse_version(last.rsplit(":", 1)[1])


# ---------------------------------------------------------------- controller

@dataclasses.dataclass
class Controller:
    """The workflow-controller Deployment and what its container says."""

    deployment: dict[str, Any] | None
    namespace: str
    args: list[str]
    image: str | None

    @property
    def version(self) -> Version | None:
        return image_version(self.image)

    def flag(self, name: str) -> str | None:
        """The value of --name (as '--name value' or '--name=value'); None when absent."""
        for i, arg in enumerate(self.args):
            if arg == name and i + 1 < len(self.args):
                return self.args[i + 1]
            if arg.startswith(name + "="):
                return arg.split("=", 1)[1]
        return None

    def has_flag(self, name: str) -> bool:
        return any(a == name or a.startswith(name + "=") for a in self.args)

    @property
    def configmap_name(self) -> str:
        return self.flag("--configmap") or CONTROLLER_CONFIGMAP

    @property
    def namespaced(self) -> bool:
        value = self.flag("--namespaced")
        return self.has_flag("--namespaced") and value not in ("false", "False", "0")

    @property
    def managed_namespace(self) -> str | None:
        return self.flag("--managed-namespace")


def _is_controller(dep: dict[str, Any]) -> bool:
    meta = dep.get("metadata", {})
    if meta.get("name") == CONTROLLER_NAME or (meta.get("labels") or {}).get("app") == CONTROLLER_NAME:
        return True
    return any("workflow-controller" in (c.get("image") or "") for c in _containers(dep))


def _containers(dep: dict[str, Any]) -> list[dict[str, Any]]:
    return ((dep.get("spec") or {}).get("template", {}).get("spec") or {}).get("containers") or []


def find_controller(deployments: list[dict[str, Any]], namespace_hint: str | None = None) -> Controller:
    """The controller Deployment (preferring namespace_hint); a placeholder when none exists."""
    found = [d for d in deployments if _is_controller(d)]
    if namespace_hint:
        found.sort(key=lambda d: d["metadata"].get("namespace") != namespace_hint)
    if not found:
        return Controller(None, namespace_hint or DEFAULT_CONTROLLER_NAMESPACE, [], None)
    dep = found[0]
    containers = _containers(dep)
    main = next((c for c in containers if c.get("name") == "workflow-controller"),
                containers[0] if containers else {})
    args = [str(a) for a in (main.get("command") or [])[1:] + (main.get("args") or [])]
    return Controller(dep, dep["metadata"].get("namespace") or DEFAULT_CONTROLLER_NAMESPACE,
                      args, main.get("image"))


# ---------------------------------------------------------------- controller configmap

@dataclasses.dataclass
class ConfigProblem:
    key: str
    message: str
    line: int | None = None
    column: int | None = None


@dataclasses.dataclass
class ControllerConfig:
    """The controller configmap, parsed. `settings` maps each setting to its value."""

    configmap: dict[str, Any] | None
    settings: dict[str, Any]
    problems: list[ConfigProblem]
    form: str  # "config" (one `config: |` key), "keys" (one key per setting), "mixed" or "empty"

    @property
    def name(self) -> str:
        meta = (self.configmap or {}).get("metadata", {})
        return f"{meta.get('namespace')}/{meta.get('name')}"

    def source(self, setting: str) -> str:
        """Where a setting lives, for messages: 'ConfigMap argo/x key config' or '... key artifactRepository'."""
        key = "config" if self.form in ("config", "mixed") and setting not in (
            (self.configmap or {}).get("data") or {}) else setting
        return f"ConfigMap {self.name} key {key}"


def yaml_error(e: yaml.YAMLError) -> tuple[str, int | None, int | None]:
    mark = getattr(e, "problem_mark", None)
    problem = getattr(e, "problem", None) or str(e)
    if mark is None:
        return problem, None, None
    return problem, mark.line + 1, mark.column + 1


def parse_controller_config(configmap: dict[str, Any] | None) -> ControllerConfig:
    if configmap is None:
        return ControllerConfig(None, {}, [], "empty")
    data: dict[str, str] = configmap.get("data") or {}
    problems: list[ConfigProblem] = []
    settings: dict[str, Any] = {}
    if "config" in data:
        form = "mixed" if len(data) > 1 else "config"
        if form == "mixed":
            others = ", ".join(sorted(k for k in data if k != "config"))
            problems.append(ConfigProblem("config", f"`config` is mixed with other keys ({others}); "
                                                    "the controller reads only one form"))
        try:
            parsed = yaml.safe_load(data["config"] or "") or {}
            if isinstance(parsed, dict):
                settings.update(parsed)
            else:
                problems.append(ConfigProblem("config", "`config` does not hold a YAML mapping"))
        except yaml.YAMLError as e:
            msg, line, col = yaml_error(e)
            problems.append(ConfigProblem("config", f"not valid YAML: {msg}", line, col))
    else:
        form = "keys" if data else "empty"
    for key, text in data.items():
        if key == "config":
            continue
        try:
            settings[key] = yaml.safe_load(text or "")
        except yaml.YAMLError as e:
            msg, line, col = yaml_error(e)
            problems.append(ConfigProblem(key, f"not valid YAML: {msg}", line, col))
    return ControllerConfig(configmap, settings, problems, form)


# ---------------------------------------------------------------- workflow namespaces and identities

def workflow_namespaces(objects_by_kind: dict[str, list[dict[str, Any]]], controller: Controller,
                        extra: list[str] | tuple[str, ...] = ()) -> list[str]:
    """The controller's namespace, every namespace holding workflow objects, the managed
    namespace of a --namespaced controller, and any given with -n."""
    found = {controller.namespace, *extra}
    for objs in objects_by_kind.values():
        found.update(o["metadata"]["namespace"] for o in objs if o.get("metadata", {}).get("namespace"))
    if controller.namespaced and controller.managed_namespace:
        found.add(controller.managed_namespace)
    return sorted(found)


def _workflow_spec(obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj.get("spec") or {}
    if obj.get("kind") == "CronWorkflow":
        return spec.get("workflowSpec") or {}
    return spec


def workflow_service_accounts(objects_by_kind: dict[str, list[dict[str, Any]]], namespaces: list[str],
                              config: ControllerConfig) -> dict[str, set[str]]:
    """namespace -> service accounts workflows there run as (default: workflowDefaults', else `default`)."""
    defaults = (config.settings.get("workflowDefaults") or {})
    default_sa = ((defaults.get("spec") or {}) if isinstance(defaults, dict) else {}).get(
        "serviceAccountName") or "default"
    result: dict[str, set[str]] = {ns: {default_sa} for ns in namespaces}
    for objs in objects_by_kind.values():
        for o in objs:
            ns = o["metadata"].get("namespace")
            sa = _workflow_spec(o).get("serviceAccountName")
            if ns in result and sa:
                result[ns].add(sa)
    return result


# ---------------------------------------------------------------- artifact repositories

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
    line_offset: int = 0  # the repository text's first line inside `config`, for messages

    @property
    def kind(self) -> str | None:
        for k in ("s3", "gcs", "oss", "azure", "artifactory", "hdfs", "http", "git", "raw"):
            if isinstance((self.spec or {}).get(k), dict):
                return k
        return None

    def secret_refs(self) -> list[SecretRef]:
        return secret_refs(self.spec or {})


def secret_refs(spec: dict[str, Any], prefix: str = "") -> list[SecretRef]:
    """Every {name, key} secret selector in a repository spec (accessKeySecret, caSecret, ...)."""
    refs: list[SecretRef] = []
    for field, value in spec.items():
        if not isinstance(value, dict):
            continue
        path = f"{prefix}{field}"
        if field.endswith("Secret") and "name" in value:
            refs.append(SecretRef(path, str(value.get("name") or ""), str(value.get("key") or "")))
        else:
            refs += secret_refs(value, path + ".")
    return refs


def _repo_from_configmap(cm: dict[str, Any], key: str | None, ns: str, used_by: str) -> Repository:
    meta = cm["metadata"]
    where = f"ConfigMap {meta.get('namespace')}/{meta['name']}"
    key = key or (meta.get("annotations") or {}).get(DEFAULT_REPO_ANNOTATION)
    repo = Repository(ns, f"{where} key {key}", None, used_by=used_by,
                      configmap=(meta.get("namespace"), meta["name"]), key=key)
    if not key:
        repo.source = where
        repo.error = (f"{where} has no key given and no `{DEFAULT_REPO_ANNOTATION}` annotation "
                      "naming the default")
        return repo
    data = cm.get("data") or {}
    if key not in data:
        repo.error = f"{where} has no key {key!r} (keys: {', '.join(sorted(data)) or 'none'})"
        return repo
    try:
        spec = yaml.safe_load(data[key] or "")
    except yaml.YAMLError as e:
        msg, line, col = yaml_error(e)
        repo.error = f"{repo.source} is not valid YAML at line {line}, column {col}: {msg}"
        return repo
    if not isinstance(spec, dict):
        repo.error = f"{repo.source} does not hold a YAML mapping"
        return repo
    repo.spec = spec
    return repo


def resolve_default_repository(ns: str, configmaps: dict[tuple[str, str], dict[str, Any]],
                               config: ControllerConfig) -> Repository | None:
    """What a workflow in ns without artifactRepositoryRef uses; None when nothing is configured."""
    cm = configmaps.get((ns, ARTIFACT_REPOSITORIES_CONFIGMAP))
    if cm is not None:
        # Once this ConfigMap exists Argo uses it, with the key its annotation names;
        # a missing annotation or key is an error, not a fall-back to the controller's.
        return _repo_from_configmap(cm, None, ns, "default")
    spec = config.settings.get("artifactRepository")
    if spec:
        repo = Repository(ns, config.source("artifactRepository"),
                          spec if isinstance(spec, dict) else None,
                          configmap=_cm_key(config.configmap), key="artifactRepository")
        if not isinstance(spec, dict):
            repo.error = f"{repo.source}: artifactRepository is not a mapping"
        return repo
    return None


def _cm_key(cm: dict[str, Any] | None) -> tuple[str, str] | None:
    return (cm["metadata"].get("namespace"), cm["metadata"]["name"]) if cm else None


def resolve_ref(ns: str, ref: dict[str, Any], used_by: str, controller_ns: str,
                configmaps: dict[tuple[str, str], dict[str, Any]]) -> Repository:
    """An artifactRepositoryRef: its ConfigMap is looked up in ns, then the controller's namespace."""
    name = ref.get("configMap") or ARTIFACT_REPOSITORIES_CONFIGMAP
    for where in (ns, controller_ns):
        cm = configmaps.get((where, name))
        if cm is not None:
            return _repo_from_configmap(cm, ref.get("key"), ns, used_by)
    return Repository(ns, f"ConfigMap {name}", None, error=(
        f"artifactRepositoryRef names ConfigMap {name!r}, found neither in {ns} nor in {controller_ns}"),
        used_by=used_by)


def artifact_repository_refs(objects_by_kind: dict[str, list[dict[str, Any]]]
                             ) -> dict[str, list[tuple[dict[str, Any], str]]]:
    """namespace -> [(artifactRepositoryRef, 'Workflow ns/name')] used by workflow objects."""
    found: dict[str, list[tuple[dict[str, Any], str]]] = {}
    seen: set[tuple[str, str, str]] = set()
    for kind, objs in objects_by_kind.items():
        for o in objs:
            ref = _workflow_spec(o).get("artifactRepositoryRef")
            if not isinstance(ref, dict):
                continue
            ns = o["metadata"].get("namespace")
            ident = (ns, ref.get("configMap") or "", ref.get("key") or "")
            if ident in seen:
                continue  # one result per distinct ref, not per workflow
            seen.add(ident)
            found.setdefault(ns, []).append((ref, f"{kind} {ns}/{o['metadata']['name']}"))
    return found


# ---------------------------------------------------------------- S3 repositories

@dataclasses.dataclass
class S3Settings:
    """An `s3:` repository as Argo's executor reads it (config.S3ArtifactRepository)."""

    endpoint: str  # host[:port], no scheme, no path
    bucket: str
    insecure: bool
    region: str | None
    access_key: SecretRef | None
    secret_key: SecretRef | None
    session_token: SecretRef | None
    ca: SecretRef | None
    use_sdk_creds: bool
    create_bucket: Any  # createBucketIfNotPresent as written (an object `{}` when valid)

    @property
    def host(self) -> str:
        return self.endpoint.rsplit(":", 1)[0] if _has_port(self.endpoint) else self.endpoint

    @property
    def port(self) -> int:
        if _has_port(self.endpoint):
            try:
                return int(self.endpoint.rsplit(":", 1)[1])
            except ValueError:
                pass
        return 80 if self.insecure else 443


def _has_port(endpoint: str) -> bool:
    return ":" in endpoint and not endpoint.endswith("]")


def _ref(value: Any, field: str) -> SecretRef | None:
    if not isinstance(value, dict):
        return None
    return SecretRef(field, str(value.get("name") or ""), str(value.get("key") or ""))


def s3_settings(spec: dict[str, Any] | None) -> S3Settings | None:
    """The S3 settings of a repository spec, or None when it is not an S3 repository."""
    s3 = (spec or {}).get("s3")
    if not isinstance(s3, dict):
        return None
    return S3Settings(
        endpoint=str(s3.get("endpoint") or ""), bucket=str(s3.get("bucket") or ""),
        insecure=s3.get("insecure") is True, region=s3.get("region"),
        access_key=_ref(s3.get("accessKeySecret"), "s3.accessKeySecret"),
        secret_key=_ref(s3.get("secretKeySecret"), "s3.secretKeySecret"),
        session_token=_ref(s3.get("sessionTokenSecret"), "s3.sessionTokenSecret"),
        ca=_ref(s3.get("caSecret"), "s3.caSecret"),
        use_sdk_creds=s3.get("useSDKCreds") is True,
        create_bucket=s3.get("createBucketIfNotPresent"))


# ---------------------------------------------------------------- repository validation (AD202)

REPOSITORY_TYPES = ("s3", "gcs", "oss", "azure", "artifactory", "hdfs", "http", "git", "raw")
_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_HOST_BAD_CHARS = set("`~!@#$%^&*()+={}[]|\\\"';:><?/ \t")
_IPV4_LIKE = re.compile(r"^\d+\.\d+\.\d+\.\d+$")


def repository_problems(repo: Repository) -> list[str]:
    """What is wrong with one resolved artifact repository, in words a user can act on; [] when valid.

    Sources: workflow/artifactrepositories/artifactrepositories.go (`config map missing key`),
    config.ArtifactRepository and v1alpha1.S3Bucket (field types: insecure *bool,
    createBucketIfNotPresent *CreateS3BucketOptions), minio-go getEndpointURL/isValidEndpointURL and
    s3utils.CheckValidBucketName (what the executor's S3 client rejects), and the AWS bucket naming rules.
    Only S3 gets type-specific rules; every type gets the type and secret-selector rules.
    """
    if repo.error:
        return [repo.error]
    spec = repo.spec
    if not isinstance(spec, dict):
        return ["the repository cannot be read (not a YAML mapping)"]
    problems: list[str] = []
    present = [k for k in REPOSITORY_TYPES if k in spec]
    kinds = [k for k in present if isinstance(spec[k], dict)]
    for k in present:
        if k not in kinds:
            problems.append(f"{k} must be a mapping of settings, not {_show(spec[k])}")
    if not present:
        keys = ", ".join(sorted(map(str, spec))) or "none"
        problems.append(f"no known repository type: give one of {', '.join(REPOSITORY_TYPES)} (keys found: {keys})")
    elif len(kinds) > 1:
        problems.append(f"more than one repository type ({', '.join(kinds)}); Argo uses only one: keep one")
    for k in kinds:
        problems += _selector_problems(spec[k], k)
    if "s3" in kinds:
        problems += _s3_problems(spec["s3"])
    return problems


def _show(value: Any) -> str:
    """A value as it would be written in YAML, for messages: true, null, "text", 9000."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


def _selector_problems(spec: dict[str, Any], path: str) -> list[str]:
    """Secret selectors ({name, key}) anywhere under a repository type that lack a name or a key."""
    problems: list[str] = []
    for field, value in spec.items():
        where = f"{path}.{field}"
        if str(field).endswith("Secret"):
            if value is None:
                continue
            if not isinstance(value, dict):
                problems.append(f"{where} must be a secret selector {{name: ..., key: ...}}, not {_show(value)}")
                continue
            missing = [part for part in ("name", "key") if not value.get(part)]
            if missing:
                problems.append(f"{where} has no {' and no '.join(missing)}: a secret selector needs both "
                                "name (the Secret) and key (the entry in it)")
        elif isinstance(value, dict):
            problems += _selector_problems(value, where)
    return problems


def _s3_problems(s3: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    raw_insecure = s3.get("insecure")
    if raw_insecure is not None and not isinstance(raw_insecure, bool):
        problems.append(f"insecure is {_show(raw_insecure)}, of the wrong type: it must be a boolean "
                        "(insecure: true or insecure: false, unquoted)")
    settings = s3_settings({"s3": s3})
    if settings is None:  # not reached: s3 is a mapping
        return problems
    endpoint_problems, port, scheme = _endpoint_problems(settings.endpoint, settings.insecure)
    problems += endpoint_problems
    if scheme is None and port == 443 and settings.insecure:
        problems.append("insecure is true but the endpoint's port 443 is HTTPS; Argo will speak plain HTTP to a "
                        "TLS port: remove insecure (or set it false)")
    if scheme is None and port == 80 and not settings.insecure:
        problems.append("the endpoint's port 80 is plain HTTP but insecure is not true; Argo will speak TLS to it: "
                        "set insecure: true")
    problems += _bucket_problems(settings.bucket)
    create = s3.get("createBucketIfNotPresent")
    if create is not None and not isinstance(create, dict):
        problems.append(f"createBucketIfNotPresent must be an object such as {{}} for S3, not {_show(create)}")
    elif isinstance(create, dict) and not isinstance(create.get("objectLocking", False), bool):
        problems.append(f"createBucketIfNotPresent.objectLocking must be a boolean, not "
                        f"{_show(create['objectLocking'])}")
    access, secret = s3.get("accessKeySecret") is not None, s3.get("secretKeySecret") is not None
    if access != secret and s3.get("useSDKCreds") is not True:
        given, lacking = ("accessKeySecret", "secretKeySecret") if access else ("secretKeySecret", "accessKeySecret")
        problems.append(f"{given} is given without {lacking}: give both, or neither with useSDKCreds: true "
                        "(credentials from the pod's cloud identity)")
    return problems


def _endpoint_problems(endpoint: str, insecure: bool) -> tuple[list[str], int | None, str | None]:
    """Problems of an S3 endpoint (host[:port], no scheme, no path), the port it names, and its scheme."""
    if not endpoint.strip():
        return (["endpoint is empty; Argo needs the S3 service's host[:port], e.g. s3.amazonaws.com or "
                 "minio:9000"], None, None)
    problems: list[str] = []
    m = _SCHEME_RE.match(endpoint)
    scheme = m[1].lower() if m else None
    rest = endpoint[m.end():] if m else endpoint
    hostport, slash, path = rest.partition("/")
    fix = f"use endpoint: {hostport}" if hostport else "use the S3 service's host[:port]"
    if scheme:
        what = "a scheme and a path" if slash else "a scheme"
        msg = f'endpoint "{endpoint}" has {what}; Argo wants host[:port]: {fix}'
        if scheme == "http" and not insecure:
            msg += " and set insecure: true (http:// means plain HTTP; without insecure: true Argo speaks TLS)"
        elif scheme == "http":
            msg += " (insecure: true is already set, as http:// needs)"
        elif scheme == "https":
            msg += (" and remove insecure: true or set it false (https:// means TLS)" if insecure
                    else " with insecure false or omitted (https:// means TLS, the default)")
        problems.append(msg)
    elif slash:
        problems.append(f'endpoint "{endpoint}" has a path ("/{path}"); Argo wants host[:port]: {fix} '
                        "(the bucket goes in bucket, an object prefix in keyFormat)")
    port_problems, port = _host_port_problems(hostport, endpoint)
    return problems + port_problems, port, scheme


def _host_port_problems(hostport: str, endpoint: str) -> tuple[list[str], int | None]:
    host, port_text, bracketed = hostport, None, False
    if hostport.startswith("["):  # IPv6: [::1]:9000
        close = hostport.find("]")
        after = hostport[close + 1:] if close >= 0 else ""
        if close < 0 or (after and not after.startswith(":")):
            return [f'endpoint "{endpoint}" has a malformed IPv6 address; write [address]:port'], None
        host, bracketed = hostport[1:close], True
        port_text = after[1:] if after else None
    elif hostport.count(":") > 1:
        return [f'endpoint "{endpoint}" has more than one ":"; write host:port (an IPv6 address in brackets: '
                "[fd00::1]:9000)"], None
    elif ":" in hostport:
        host, port_text = hostport.split(":", 1)
    problems: list[str] = []
    if not host:
        problems.append(f'endpoint "{endpoint}" has no host')
    elif not bracketed and (_HOST_BAD_CHARS & set(host) or host[0] in ".-_" or host[-1] in "-_"):
        problems.append(f'endpoint host "{host}" is not a valid host name or IP address')
    if port_text is None:
        return problems, None
    if not port_text:
        problems.append(f'endpoint "{endpoint}" has an empty port; write host:port, or just host for the '
                        "default port (443, or 80 with insecure: true)")
        return problems, None
    if not port_text.isdigit():
        problems.append(f'endpoint port "{port_text}" is not a number')
        return problems, None
    port = int(port_text)
    if not 1 <= port <= 65535:
        problems.append(f"endpoint port {port} is out of range: a port is 1 to 65535")
        return problems, None
    return problems, port


def _bucket_problems(bucket: str) -> list[str]:
    """AWS S3 bucket naming rules (which MinIO and minio-go enforce too, mostly)."""
    if not bucket.strip():
        return ["bucket is empty; name the bucket Argo stores artifacts in"]
    why: list[str] = []
    if not 3 <= len(bucket) <= 63:
        why.append(f"it is {len(bucket)} characters long, not 3 to 63")
    bad = sorted(set(re.sub(r"[a-z0-9.-]", "", bucket)))
    if bad:
        shown = " ".join(repr(c)[1:-1] if c != " " else "space" for c in bad)
        why.append(f"it has characters other than lowercase letters, digits, dots and hyphens ({shown})")
    if not (bucket[0].isascii() and bucket[0].isalnum() and bucket[-1].isascii() and bucket[-1].isalnum()):
        why.append("it must start and end with a letter or digit")
    if ".." in bucket:
        why.append("it has two adjacent dots")
    if ".-" in bucket or "-." in bucket:
        why.append("it has a hyphen next to a dot")
    if _IPV4_LIKE.match(bucket):
        why.append("it is formatted like an IP address")
    for prefix in ("xn--", "sthree-"):
        if bucket.startswith(prefix):
            why.append(f"it starts with the reserved prefix {prefix}")
    for suffix in ("-s3alias", "--ol-s3"):
        if bucket.endswith(suffix):
            why.append(f"it ends with the reserved suffix {suffix}")
    if not why:
        return []
    return [f'bucket "{bucket}" is not a valid S3 bucket name: {"; ".join(why)}']


def normalized_endpoint(endpoint: str, insecure: bool) -> tuple[str, bool]:
    """The endpoint as Argo wants it (host[:port]) and the `insecure` its scheme implies:
    'http://minio:9000/x' -> ('minio:9000', True); 'https://s3.example.com' -> ('s3.example.com', False)."""
    m = _SCHEME_RE.match(endpoint)
    scheme = m[1].lower() if m else None
    hostport = (endpoint[m.end():] if m else endpoint).partition("/")[0]
    if scheme == "http":
        insecure = True
    elif scheme == "https":
        insecure = False
    return hostport, insecure


def set_config_key(text: str, key: str, value: Any) -> str:
    """The `config: |` text with top-level `key` replaced by `value` (removed when value is None),
    every other line kept byte for byte. Appends the key when it is absent."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if re.match(rf"{re.escape(key)}\s*:", line)), None)
    block: list[str] = []
    if value is not None:
        dumped = yaml.safe_dump({key: value}, sort_keys=False, default_flow_style=False)
        block = dumped.splitlines(keepends=True)
    if start is None:
        if block and lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        return "".join(lines + block)
    end = start + 1
    # The block runs until the next line that starts at column 0 (another key or a document marker).
    while end < len(lines) and (not lines[end].strip() or lines[end][0] in " \t#"):
        end += 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1  # keep blank lines that separate it from what follows
    return "".join(lines[:start] + block + lines[end:])


# ---------------------------------------------------------------- executors and their rights

EXECUTOR_LABEL = "workflows.argoproj.io/container-runtime-executor"
LEGACY_EXECUTORS = ("docker", "kubelet", "k8sapi", "pns")


@dataclasses.dataclass(frozen=True)
class Executors:
    """The executor in effect by default, and every executor a workflow may select by label."""

    default: str
    selectable: tuple[str, ...] = ()
    source: str = ""  # where the default comes from, for messages

    @property
    def all(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.default, *self.selectable)))


def executors_in_effect(version: Version | None, config: ControllerConfig, controller: Controller) -> Executors:
    """As the controller of that version decides: v3.4+ runs emissary only. Up to v3.1 the
    --container-runtime-executor flag wins over the configmap; from v3.2 the configmap wins and the
    flag is the fallback; with neither, docker up to v3.2 and emissary in v3.3."""
    if version is None or version.at_least(3, 4):
        return Executors("emissary", (), "the only executor from v3.4" if version else "version unknown")
    key = config.settings.get("containerRuntimeExecutor")
    flag = controller.flag("--container-runtime-executor")
    cm_source = f"containerRuntimeExecutor in {config.source('containerRuntimeExecutor')}"
    flag_source = "the controller's --container-runtime-executor flag"
    if flag and not version.at_least(3, 2):
        default, source = flag, flag_source
    elif key:
        default, source = str(key), cm_source
    elif flag:
        default, source = flag, flag_source
    elif version.at_least(3, 3):
        default, source = "emissary", "the default from v3.3"
    else:
        default, source = "docker", "the default up to v3.2"
    selectable: tuple[str, ...] = ()
    listed = config.settings.get("containerRuntimeExecutors")
    if version.at_least(3, 0) and isinstance(listed, list):
        selectable = tuple(str(e.get("name")) for e in listed if isinstance(e, dict) and e.get("name"))
    return Executors(default, selectable, source)


@dataclasses.dataclass(frozen=True)
class Permission:
    """One verb on one resource, as RBAC names it."""

    verb: str
    resource: str
    group: str = ""
    subresource: str = ""

    def __str__(self) -> str:
        res = f"{self.resource}/{self.subresource}" if self.subresource else self.resource
        return f"{self.verb} {res}" + (f".{self.group}" if self.group else "")


TASK_RESULTS = (Permission("create", "workflowtaskresults", "argoproj.io"),
                Permission("patch", "workflowtaskresults", "argoproj.io"))
LEGACY_POD_PATCH = Permission("patch", "pods")


def executor_permissions(version: Version | None, executors: Executors) -> list[Permission]:
    """The rights a workflow's service account needs for its executor(s) at that version
    (docs/workflow-rbac.md of each release): up to v3.2 the seed's pod rules (+ pods/exec create for
    k8sapi, nodes/proxy get for kubelet); from v3.3 workflowtaskresults create/patch."""
    if version is None or version.at_least(3, 3):
        return list(TASK_RESULTS)
    perms = [Permission("get", "pods"), Permission("watch", "pods"), LEGACY_POD_PATCH,
             Permission("get", "pods", subresource="log"), Permission("watch", "pods", subresource="log")]
    if "k8sapi" in executors.all:
        perms.append(Permission("create", "pods", subresource="exec"))
    if "kubelet" in executors.all:
        perms.append(Permission("get", "nodes", subresource="proxy"))
    return perms


def legacy_pod_patch_fallback(version: Version | None) -> bool:
    """v3.3-v3.5 executors fall back to patching their pod when they may not write task results."""
    return version is not None and version.at_least(3, 3) and not version.at_least(3, 6)


def minimal_role_rules(perms: list[Permission]) -> list[dict[str, Any]]:
    """RBAC rules granting exactly perms, one rule per (group, resource)."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for p in perms:
        res = f"{p.resource}/{p.subresource}" if p.subresource else p.resource
        grouped.setdefault((p.group, res), [])
        if p.verb not in grouped[(p.group, res)]:
            grouped[(p.group, res)].append(p.verb)
    return [{"apiGroups": [g], "resources": [r], "verbs": v} for (g, r), v in grouped.items()]


BROAD_ROLES = ("cluster-admin", "admin", "edit")


# ---------------------------------------------------------------- install

# The CRDs each release's install manifests define (per minor version, from the official manifests).
_CRDS_BASE = ("clusterworkflowtemplates", "cronworkflows", "workfloweventbindings", "workflows", "workflowtemplates")
CRD_ADDED = {(3, 2): ("workflowtasksets",), (3, 3): ("workflowtaskresults",), (3, 4): ("workflowartifactgctasks",)}
DEFAULT_INSTALL_VERSION = "v3.7.18"
RELEASE_URL = "https://github.com/argoproj/argo-workflows/releases/download/{version}/{flavour}.yaml"


def required_crds(version: Version | None) -> list[str]:
    """Full CRD names (workflows.argoproj.io, ...) the version's controller needs."""
    names = list(_CRDS_BASE)
    for (major, minor), added in sorted(CRD_ADDED.items()):
        if version is None or version.at_least(major, minor):
            names += added
    return sorted(f"{n}.argoproj.io" for n in names)


def deployment_available(dep: dict[str, Any] | None) -> tuple[bool, str]:
    """(Available?, why not) from the Deployment's status conditions and replica counts."""
    if dep is None:
        return False, "does not exist"
    status = dep.get("status") or {}
    conds = {c.get("type"): c for c in status.get("conditions") or []}
    avail = conds.get("Available", {})
    if avail.get("status") == "True":
        return True, f"{status.get('availableReplicas', 0)}/{status.get('replicas', 0)} replicas available"
    if avail:
        return False, f"not Available: {avail.get('reason', '')} {avail.get('message', '')}".strip()
    return False, "has no Available condition yet (no replica has become ready)"


def executor_image(version: Version | None, config: ControllerConfig, controller: Controller) -> tuple[str, str]:
    """(image, where it is set): --executor-image, else the configmap's executor.image, else the default
    quay.io/argoproj/argoexec:<controller version>."""
    flag = controller.flag("--executor-image")
    if flag:
        return flag, "the controller's --executor-image flag"
    executor = config.settings.get("executor")
    if isinstance(executor, dict) and executor.get("image"):
        return str(executor["image"]), f"executor.image in {config.source('executor')}"
    tag = str(version) if version else "latest"
    return f"quay.io/argoproj/argoexec:{tag}", "the default"
