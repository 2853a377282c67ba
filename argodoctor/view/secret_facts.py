"""Shape facts of a secret value, recorded at the moment the value is replaced by its digest, so checks
(and snapshots) can tell `echo KEY | base64` mistakes without ever keeping the value: whether it has
leading or trailing whitespace, ends in a newline, or holds non-printable bytes. Only the facts a check
judges (problems() below) are recorded: not the length, which would tell a reader of a snapshot how long
each password is (emptiness shows already: an empty value's digest is empty)."""
from __future__ import annotations

import json
from typing import Any

SHAPES_ANNOTATION = "argodoctor.io/value-shapes"  # on redacted Secrets: {key: facts}


def facts(raw: bytes) -> dict[str, Any]:
    text = raw.decode("utf-8", "replace")
    body = raw[:-1] if raw.endswith(b"\n") else raw
    return {"trailing_newline": raw.endswith(b"\n"),
            "whitespace": bool(raw) and text != text.strip(),
            "nonprintable": any(b < 0x20 or b == 0x7F for b in body if b not in (0x09,))}


def encode(shapes: dict[str, dict[str, Any]]) -> str:
    return json.dumps(shapes, sort_keys=True, separators=(",", ":"))


def of(secret: dict[str, Any], key: str) -> dict[str, Any] | None:
    """The recorded facts of one key of a redacted Secret, or None when none were recorded."""
    ann = ((secret.get("metadata") or {}).get("annotations") or {}).get(SHAPES_ANNOTATION)
    try:
        shapes = json.loads(ann) if isinstance(ann, str) else None
    except ValueError:
        return None
    found = shapes.get(key) if isinstance(shapes, dict) else None
    return found if isinstance(found, dict) else None


def problems(f: dict[str, Any]) -> list[str]:
    """What is wrong with a credential of these facts, in words (never the value)."""
    out = []
    if f.get("trailing_newline"):
        out.append("ends in a newline (the `echo KEY | base64` mistake; use `echo -n` or --from-literal)")
    elif f.get("whitespace"):
        out.append("has leading or trailing whitespace")
    if f.get("nonprintable"):
        out.append("holds non-printable bytes")
    return out
