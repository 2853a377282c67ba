"""Which Kubernetes versions each Argo release was tested with, as its own docs say.

- v3.1..v3.4: the Kubernetes Compatibility Matrix of docs/releases.md at v3.4.18 (`✓` fully supported,
  `?` untested, `x` not supported: 3.4 on 1.17..1.19, `?` on 1.20);
- v3.5: the same matrix at v3.5.15 (1.28..1.30);
- v3.6, v3.7, v4.0, v4.1: docs/tested-kubernetes-versions.md at v3.6.19 (v1.28.13 and v1.31.0), v3.7.18
  and v4.0.10 (v1.31.9 and v1.33.1), v4.1.2 (v1.34.9 and v1.36.2);
- v2.12, v3.0: no documented matrix.

docs/releases.md (v3.6+), "Notes on Compatibility": "Argo versions may be compatible with newer and older
Kubernetes versions, but only two minor versions are tested ... newer k8s versions are generally
supported". So only `x` is a failure; older than tested is a warning, newer a pass that says so.
"""
from __future__ import annotations

import dataclasses

from .version import Version

# (major, minor) of Argo -> (lowest, highest Kubernetes 1.x minor tested, 1.x minors known not to work)
TESTED: dict[tuple[int, int], tuple[int, int, tuple[int, ...]]] = {
    (3, 1): (17, 19, ()), (3, 2): (19, 21, ()), (3, 3): (21, 23, ()), (3, 4): (21, 25, (17, 18, 19)),
    (3, 5): (28, 30, ()), (3, 6): (28, 31, ()), (3, 7): (31, 33, ()), (4, 0): (31, 33, ()), (4, 1): (34, 36, ()),
}


@dataclasses.dataclass(frozen=True)
class Support:
    verdict: str  # "pass", "warn", "fail", "unknown"
    why: str


def kubernetes_support(argo: Version, kube_minor: int) -> Support:
    """How Argo `argo` stands on Kubernetes 1.<kube_minor>."""
    row = TESTED.get((argo.major, argo.minor))
    if row is None:
        return Support("unknown", f"Argo {argo} documents no Kubernetes versions it was tested with")
    low, high, broken = row
    tested = f"1.{low}..1.{high}" if low != high else f"1.{low}"
    if kube_minor in broken:
        return Support("fail", f"Argo {argo.major}.{argo.minor} does not support Kubernetes 1.{kube_minor} "
                               f"(its compatibility matrix marks it x; tested: {tested})")
    if kube_minor < low:
        return Support("warn", f"Kubernetes 1.{kube_minor} is older than the versions Argo {argo.major}."
                               f"{argo.minor} was tested with ({tested}): it may work, untested")
    if kube_minor > high:
        return Support("pass", f"Kubernetes 1.{kube_minor} is newer than the versions Argo {argo.major}.{argo.minor} "
                               f"was tested with ({tested}); Argo's docs: newer Kubernetes versions are generally "
                               "supported (it uses stable APIs)")
    return Support("pass", f"Kubernetes 1.{kube_minor} is among the versions Argo {argo.major}.{argo.minor} was "
                           f"tested with ({tested})")


# initlessPod (v4.1+ config/config.go InitlessPodConfig; docs/initless-pod.md at v4.1.2) delivers argoexec
# into the main container through an `image` volume (KEP-4639). Kubernetes v1.35.4 pkg/features/
# kube_features.go, ImageVolume: alpha off 1.31, beta off 1.33, beta on by default 1.35. Below 1.31 no
# API server knows the volume source: the pods are refused. 1.31-1.34 need the gate turned on by hand on
# the API server and every kubelet, which argodoctor cannot see: a warning, never a failure.
IMAGE_VOLUME_DEFAULT_ON = 35
IMAGE_VOLUME_ALPHA = 31


def initless_pod_problem(kubernetes_minors: list[int]) -> tuple[str, str] | None:
    """(verdict, why) when the nodes' or API server's Kubernetes may not run initlessPod pods, else None."""
    if not kubernetes_minors:
        return None
    low = min(kubernetes_minors)
    if low >= IMAGE_VOLUME_DEFAULT_ON:
        return None
    if low < IMAGE_VOLUME_ALPHA:
        return ("fail", f"initlessPod.enabled needs Kubernetes image volumes (KEP-4639), which Kubernetes 1.{low} "
                        "does not have (alpha from 1.31, on by default from 1.35): every workflow pod would be "
                        "refused; turn initlessPod off or upgrade")
    return ("warn", f"initlessPod.enabled needs the ImageVolume feature gate, off by default on Kubernetes 1.{low} "
                    "(on by default from 1.35): unless it is turned on for the API server and every kubelet, "
                    "workflow pods cannot start")
