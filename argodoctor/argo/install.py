"""What an install of a version consists of: its CRDs and its release manifests."""
from __future__ import annotations

from .version import Version

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
