"""What makes a repository one Argo can use (AD202): per-type rules, S3 endpoints and buckets."""
from __future__ import annotations

import dataclasses
import re
from typing import Any

from .repositories import LOCATION_ONLY_TYPES, REPOSITORY_TYPE_SINCE, REPOSITORY_TYPES, Repository, SecretRef
from .version import Version


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

_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_HOST_BAD_CHARS = set("`~!@#$%^&*()+={}[]|\\\"';:><?/ \t")
_IPV4_LIKE = re.compile(r"^\d+\.\d+\.\d+\.\d+$")


def repository_problems(repo: Repository, version: Version | None = None,
                        drivers: list[str] | None = None) -> list[str]:
    """What is wrong with one resolved artifact repository, in words a user can act on; [] when valid.

    Sources: workflow/artifactrepositories/artifactrepositories.go (`config map missing key`), the
    ArtifactRepository type and its per-type structs (pkg/apis/workflow/v1alpha1 artifact_repository_types.go
    and workflow_types.go at v3.0.10..v4.1.2: which types exist at which version, field types), each
    type's artifact driver (what it needs to work: S3 endpoint host[:port] for minio-go, Azure's endpoint
    URL, OSS's endpoint, Artifactory's repoURL, HDFS addresses), minio-go getEndpointURL/isValidEndpointURL
    and s3utils.CheckValidBucketName, and the AWS bucket naming rules.
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
    location_only = [k for k in LOCATION_ONLY_TYPES if k in spec]
    for k in location_only:
        problems.append(f"{k} is not a repository type: Argo can read {k} artifacts but cannot store "
                        f"artifacts or logs there; use one of {', '.join(_types_at(version))}")
    if not present and not location_only:
        keys = ", ".join(sorted(map(str, spec))) or "none"
        problems.append(f"no known repository type: give one of {', '.join(_types_at(version))} (keys found: {keys})")
    elif len(kinds) > 1:
        problems.append(f"more than one repository type ({', '.join(kinds)}); Argo uses only one: keep one")
    for k in kinds:
        since = REPOSITORY_TYPE_SINCE.get(k)
        if since and version is not None and not version.at_least(*since):
            problems.append(f"{k} repositories arrived in v{since[0]}.{since[1]}; Argo {version} does not know them")
            continue
        problems += _selector_problems(spec[k], k)
        problems += _TYPE_RULES.get(k, lambda body: [])(spec[k])
        if k == "plugin" and drivers is not None:
            problems += _plugin_driver_problems(spec[k], drivers)
    return problems


# A plugin repository names an artifact driver the controller config must list (v4.0+ config/config.go
# GetArtifactDriver: `artifact driver %s not found`, returned by workflow/controller/workflowpod.go when it
# builds the pod's plugin containers, so every pod that stores or reads artifacts there fails). The
# v4.1.2 quick-start ships exactly this: artifactRepository.plugin.name `test` and no artifactDrivers.
def _plugin_driver_problems(plugin: dict[str, Any], drivers: list[str]) -> list[str]:
    name = plugin.get("name")
    if not isinstance(name, str) or not name.strip() or name in drivers:
        return []
    known = f" (it lists {', '.join(drivers)})" if drivers else " (it has none)"
    return [f"plugin.name {name!r} is not an artifactDrivers entry of the controller config{known}: every pod "
            f"using this repository fails with `artifact driver {name} not found`; add {{name: {name}, image: "
            "<the driver's image>}} to artifactDrivers"]


def _types_at(version: Version | None) -> list[str]:
    return [k for k in REPOSITORY_TYPES
            if version is None or k not in REPOSITORY_TYPE_SINCE or version.at_least(*REPOSITORY_TYPE_SINCE[k])]


def _required(body: dict[str, Any], kind: str, *fields: str) -> list[str]:
    return [f"{kind}.{f} is empty; Argo needs it" for f in fields if not str(body.get(f) or "").strip()]


def _credentials_pair(body: dict[str, Any], kind: str, first: str, second: str) -> list[str]:
    a, b = body.get(first) is not None, body.get(second) is not None
    if a == b or body.get("useSDKCreds") is True:
        return []
    given, lacking = (first, second) if a else (second, first)
    return [f"{given} is given without {lacking}: give both, or neither with useSDKCreds: true "
            "(credentials from the pod's cloud identity)"]


def _url_problems(value: Any, what: str) -> list[str]:
    text = str(value or "")
    m = _SCHEME_RE.match(text)
    if not m or m[1].lower() not in ("http", "https") or not text[m.end():].split("/")[0]:
        return [f'{what} "{text}" is not an http(s) URL such as https://host/path']
    return []


def _gcs_problems(gcs: dict[str, Any]) -> list[str]:
    # GCSBucket: bucket and an optional serviceAccountKeySecret (without it the driver uses the pod's
    # default credentials); there is no endpoint field.
    problems = _required(gcs, "gcs", "bucket")
    if "endpoint" in gcs:
        problems.append("gcs has no endpoint setting (Argo talks to storage.googleapis.com); remove it")
    return problems


def _azure_problems(azure: dict[str, Any]) -> list[str]:
    # AzureBlobContainer (v3.4+): endpoint is a URL, parsed with url.Parse and the container appended
    # (workflow/artifacts/azure/azure.go), e.g. https://<account>.blob.core.windows.net.
    problems = _required(azure, "azure", "endpoint", "container")
    if azure.get("endpoint"):
        problems += _url_problems(azure["endpoint"], "azure.endpoint")
    # v3.7.18 azure.go newAzureContainerClient: "accountKey secret is required for Azure Blob Storage if
    # useSDKCreds is false"
    if azure.get("accountKeySecret") is None and azure.get("useSDKCreds") is not True:
        problems.append("azure has neither accountKeySecret nor useSDKCreds: true; the executor fails with "
                        "`accountKey secret is required for Azure Blob Storage if useSDKCreds is false`")
    return problems


def _oss_problems(oss: dict[str, Any]) -> list[str]:
    # OSSBucket: endpoint as the OSS SDK takes it (Argo's docs write http://oss-...aliyuncs.com), bucket,
    # createBucketIfNotPresent a boolean here (an object only for S3).
    problems = _required(oss, "oss", "endpoint", "bucket")
    create = oss.get("createBucketIfNotPresent")
    if create is not None and not isinstance(create, bool):
        problems.append(f"oss.createBucketIfNotPresent must be a boolean for OSS, not {_show(create)}")
    return problems + _credentials_pair(oss, "oss", "accessKeySecret", "secretKeySecret")


def _artifactory_problems(art: dict[str, Any]) -> list[str]:
    # ArtifactoryArtifactRepository: repoURL, the base every artifact URL is built on.
    problems = _required(art, "artifactory", "repoURL")
    if art.get("repoURL"):
        problems += _url_problems(art["repoURL"], "artifactory.repoURL")
    return problems


def _hdfs_problems(hdfs: dict[str, Any]) -> list[str]:
    addresses = hdfs.get("addresses")
    if not isinstance(addresses, list) or not addresses:
        return ["hdfs.addresses is empty: list the namenode addresses (host:port)"]
    return []


def _plugin_problems(plugin: dict[str, Any]) -> list[str]:
    return _required(plugin, "plugin", "name")


def _kind(value: Any) -> str:
    return {bool: "boolean", int: "number", float: "number", str: "string", list: "list"}.get(type(value), "value")


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
                # Never echo it: a value where a selector belongs is often the credential itself.
                problems.append(f"{where} must be a secret selector {{name: ..., key: ...}}, not a "
                                f"{_kind(value)} (its value is not shown: it may be a credential)")
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
    return problems + _credentials_pair(s3, "s3", "accessKeySecret", "secretKeySecret")


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


_TYPE_RULES = {"s3": _s3_problems, "gcs": _gcs_problems, "azure": _azure_problems, "oss": _oss_problems,
               "artifactory": _artifactory_problems, "hdfs": _hdfs_problems, "plugin": _plugin_problems}
