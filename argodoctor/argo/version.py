"""Argo versions: parsed from the controller image tag or --argo-version."""
from __future__ import annotations

import dataclasses
import re


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
