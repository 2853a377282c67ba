"""What an install of a version consists of: its CRDs and its release manifests."""
from __future__ import annotations

from .version import Version

# The CRDs each release's install manifests define (per minor version, from the official manifests).
_CRDS_BASE = ("clusterworkflowtemplates", "cronworkflows", "workfloweventbindings", "workflows", "workflowtemplates")
CRD_ADDED = {(3, 2): ("workflowtasksets",), (3, 3): ("workflowtaskresults",), (3, 4): ("workflowartifactgctasks",)}
DEFAULT_INSTALL_VERSION = "v3.7.18"
RELEASE_URL = "https://github.com/argoproj/argo-workflows/releases/download/{version}/{flavour}.yaml"

# SHA-256 of the release files install-argo downloads (RELEASE_URL's install.yaml and namespace-install.yaml),
# pinned per release: a download whose bytes differ is refused, and so is a release not listed here (the
# user may pass the file with --manifests instead). Computed with `sha256sum` over the official manifests of
# each release kept in the workplace's test data (argo-manifests/<version>/cluster-install.yaml is the
# release's install.yaml, namespace-install.yaml its namespace-install.yaml; built from manifests/
# cluster-install and manifests/namespace-install at the release tag with the image tags set to the
# release, as the release process builds them). To pin a new release: sha256sum both of its files.
RELEASE_SHA256: dict[tuple[str, str], str] = {
    ("v2.12.13", "install"): "16f038655a0656954c70feb216d954d0700c4438ea02825ce752e198933bcb65",
    ("v2.12.13", "namespace-install"): "09dfdde1b572e7c7613eed6586e4c8950ab86b493a26bd5f70228c7a4a33ca2e",
    ("v3.0.10", "install"): "b8741e3951080378d8336a5040fabd663b85f33128d5dc48e90e0cc03ea41a7f",
    ("v3.0.10", "namespace-install"): "295d1ae0b1ac21b6c7f6aa20d7b2c265408c4032ab876dfad3ac78f3dda8ec19",
    ("v3.1.15", "install"): "53a5983165321d40b908a95467295ddd84cc8325d0d1fcaa34f45e06dd551cbf",
    ("v3.1.15", "namespace-install"): "09b7bf06c5f6aa3a80b6d7adcecbdf23c8067f50ad07a6b8de22f5f13c11aa78",
    ("v3.2.11", "install"): "da1749d96f90fccb86b919e40a6664312dc01a800f2b346e5d71c18cfe2a8beb",
    ("v3.2.11", "namespace-install"): "597ab060f6cad7fc6bd6c2ece060a37fe31639ed51f3d9cb2dbca9b68cddfa98",
    ("v3.3.10", "install"): "6f86e1a32a8080da7cb9a0c696dcac0d3fdd027f19e0e718707b07bf65ddda97",
    ("v3.3.10", "namespace-install"): "965f57b7cb752f50dc091414a7c43124db8ebc3ae56f06cb2a5a72898333e316",
    ("v3.4.18", "install"): "2e081886ccafcc4d90e4effc2d4d896f2334aec01307ac2741974b10fc71f772",
    ("v3.4.18", "namespace-install"): "f3dee539f186a992f726cb16b16fecb23c932992e5380a55076318e84d238850",
    ("v3.5.15", "install"): "bcccfe7e84ebfddbf27d7df5764158a170a11aa5ab6a76133c0dc53800d05781",
    ("v3.5.15", "namespace-install"): "9e2fa02dde97aa69f9a9cbe34f08bec3d926a223f517aa7ae5efe4cb2e2b36e8",
    ("v3.6.19", "install"): "d1315ccd7f2bddcfff46be3041c21dc6b2ffadb41338fa20f76fdb95df4f58c9",
    ("v3.6.19", "namespace-install"): "37941a058374d8854fdebac2e58f02973d33837965d0ea4d19a9a338d25c7bc2",
    ("v3.7.18", "install"): "08042a842ac3d51b9a51200263d08916286b4bb2beb8ed35fcf9ed6f583c2714",
    ("v3.7.18", "namespace-install"): "d0ea6eb4683f48f29453fcdd3f82060c78c74169fbb9800bc012381da8e853f6",
    ("v4.1.2", "install"): "a499cea05d4d62cf6e93d99926a173fa1c140e67b51f69552fa7e2c8dc4514dc",
}


def required_crds(version: Version | None) -> list[str]:
    """Full CRD names (workflows.argoproj.io, ...) the version's controller needs."""
    names = list(_CRDS_BASE)
    for (major, minor), added in sorted(CRD_ADDED.items()):
        if version is None or version.at_least(major, minor):
            names += added
    return sorted(f"{n}.argoproj.io" for n in names)
