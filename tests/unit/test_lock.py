"""Issue 31 item 8: the image installs from requirements.lock with --require-hashes; the lock must cover
every dependency pyproject declares (and the build backend, for `pip install --no-build-isolation .`),
each pinned to one version that satisfies pyproject's specifier, with at least one SHA-256."""
from __future__ import annotations

import re
from pathlib import Path

import tomllib
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]


def locked() -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) of requirements.lock (pip-compile's format)."""
    text = (ROOT / "requirements.lock").read_text()
    out: dict[str, tuple[str, list[str]]] = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        m = re.match(r"([A-Za-z0-9._-]+)==([^\s\\;]+)", block)
        if m:
            out[canonicalize_name(m[1])] = (m[2], re.findall(r"--hash=sha256:([0-9a-f]{64})", block))
    return out


def test_the_lock_covers_pyprojects_dependencies_with_hashes():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    pins = locked()
    assert pins and all(hashes for _, hashes in pins.values()), "every pin carries its files' SHA-256"
    wanted = [Requirement(r) for r in project["project"]["dependencies"] + project["build-system"]["requires"]]
    for req in wanted:
        name = canonicalize_name(req.name)
        assert name in pins, f"{req} is not in requirements.lock: regenerate it (see its header)"
        assert req.specifier.contains(pins[name][0], prereleases=True), f"{req}: the lock pins {pins[name][0]}"


def test_the_dockerfile_installs_from_the_lock_with_hashes_on_a_base_pinned_by_digest():
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^ARG BASE_IMAGE=\S+@sha256:[0-9a-f]{64}$", text, re.M)
    assert "--require-hashes" in text and "-r requirements.lock" in text
    assert re.search(r"--no-deps --no-build-isolation --no-index \.", text)
