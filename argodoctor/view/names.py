"""Kubernetes object names as the API server validates them, and the one function that turns names into
API paths. A name read from cluster data (a Secret a repository names, a workflow's serviceAccountName)
is judged here before it reaches a URL; every path segment is percent-escaped here, and nowhere else."""
from __future__ import annotations

import re
from urllib.parse import quote

from ..errors import UserError

# k8s.io/apimachinery v0.35.4 pkg/util/validation/validation.go: dns1123LabelFmt, dns1123SubdomainFmt and
# their maximum lengths (Go's regexp anchors ^...$ match the whole text: fullmatch, not Python's `$`).
_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_LABEL = re.compile(_LABEL)
_DNS1123_SUBDOMAIN = re.compile(rf"{_LABEL}(\.{_LABEL})*")
DNS1123_LABEL_MAX = 63
DNS1123_SUBDOMAIN_MAX = 253

# k8s.io/apimachinery v0.35.4 pkg/api/validation/path/name.go: NameMayNotBe, NameMayNotContain
# ("names specified as path segments (like the REST API or etcd store)"), IsValidPathSegmentName.
PATH_NAME_MAY_NOT_BE = (".", "..")
PATH_NAME_MAY_NOT_CONTAIN = ("/", "%")

# Which rule each kind's name follows: kubernetes v1.35 pkg/apis/core/validation/validation.go
# ValidateSecretName, ValidateConfigMapName (NameIsDNSSubdomain), ValidateServiceAccountName
# (apimachinery pkg/api/validation/generic.go: NameIsDNSSubdomain), ValidateNamespaceName (NameIsDNSLabel).
_LABEL_KINDS = frozenset({"Namespace"})


class InvalidName(UserError):
    """A name that no object can have, met where a request would carry it."""


def dns1123_label(value: str) -> list[str]:
    """apimachinery IsDNS1123Label: what is wrong with value as a DNS-1123 label ([] when valid)."""
    errs = []
    if len(value) > DNS1123_LABEL_MAX:
        errs.append(f"must be no more than {DNS1123_LABEL_MAX} characters")
    if not _DNS1123_LABEL.fullmatch(value):
        errs.append("must not contain dots" if _DNS1123_SUBDOMAIN.fullmatch(value) else
                    "must consist of lower case alphanumeric characters or '-', and must start and end with an "
                    "alphanumeric character")
    return errs


def dns1123_subdomain(value: str) -> list[str]:
    """apimachinery IsDNS1123Subdomain: what is wrong with value as a DNS-1123 subdomain ([] when valid)."""
    errs = []
    if len(value) > DNS1123_SUBDOMAIN_MAX:
        errs.append(f"must be no more than {DNS1123_SUBDOMAIN_MAX} characters")
    if not _DNS1123_SUBDOMAIN.fullmatch(value):
        errs.append("must consist of lower case alphanumeric characters, '-' or '.', and must start and end with "
                    "an alphanumeric character")
    return errs


def path_segment(value: str) -> list[str]:
    """apimachinery IsValidPathSegmentName: what keeps value from being a name in a path ([] when fine)."""
    if value in PATH_NAME_MAY_NOT_BE:
        return [f"may not be '{value}'"]
    return [f"may not contain '{c}'" for c in PATH_NAME_MAY_NOT_CONTAIN if c in value]


def problems(kind: str, name: str) -> list[str]:
    """Why name cannot be the name of an object of kind (Secret, ConfigMap, ServiceAccount: DNS-1123
    subdomains; Namespace: a DNS-1123 label); [] when it can."""
    rule = dns1123_label if kind in _LABEL_KINDS else dns1123_subdomain
    return path_segment(name) + rule(name)


def invalid(kind: str, name: str) -> str | None:
    """'"X" is not a valid Secret name: ...' when name cannot be one, else None. The name is shown quoted
    and cut (it is the tenant's text, not a credential)."""
    found = problems(kind, name)
    if not found:
        return None
    shown = name if len(name) <= 80 else name[:77] + "..."
    return f"{shown!r} is not a valid {kind} name: it {'; it '.join(dict.fromkeys(found))}"


def check(kind: str, name: str) -> str:
    """name, when it can be the name of an object of kind; else InvalidName (before any request)."""
    why = invalid(kind, name)
    if why:
        raise InvalidName(why)
    return name


def _segment(value: str) -> str:
    # Kubernetes names never hold these (path_segment); refusing them here means no request path holds a
    # dot segment that a URL library could resolve (urllib3 removes `.` and `..` segments, RFC 3986 5.2.4).
    why = path_segment(value)
    if not value or why:
        raise InvalidName(f"{value!r} cannot be part of an API path: it {'; it '.join(why) or 'is empty'}")
    return quote(value, safe="")


def api_path(group: str, version: str, plural: str = "", namespace: str | None = None,
             name: str | None = None) -> str:
    """The API server path of a collection or an object, each segment percent-escaped:
    /api/v1[/namespaces/NS]/PLURAL[/NAME] for the core group, /apis/GROUP/VERSION/... for the others
    (no plural: the group version's discovery document)."""
    parts = ["apis", group, version] if group else ["api", version]
    if plural:
        parts += [*(["namespaces", namespace] if namespace else []), plural, *([name] if name else [])]
    return "/" + "/".join(_segment(p) for p in parts)
