"""YAML that users write inside Kubernetes objects (a ConfigMap's `config`, a repository key), loaded
with bounds, so one tenant's hostile text cannot stall or blind a cluster-wide run.

Aliases make a small text stand for a huge tree (the "billion laughs"): the tree is measured as it would
be walked, each alias expanded, by a count over the composed node graph (each node visited once, its
expanded size and depth memoized), before anything is constructed. Beyond the limits the caller gets
TooComplex with a message that says so, and judges nothing in that text.
"""
from __future__ import annotations

from typing import Any

import yaml

MAX_BYTES = 1 << 20  # a ConfigMap holds at most 1 MiB anyway
MAX_NODES = 100_000  # expanded: what a walk of the loaded value would visit
MAX_DEPTH = 64

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class TooComplex(ValueError):
    """The text is too large, too deep, or expands too far to be judged."""


def _measure(root: yaml.Node, max_nodes: int = MAX_NODES, max_depth: int = MAX_DEPTH) -> tuple[int, int]:
    """(expanded node count, depth) of a composed graph; raises TooComplex on a cycle or past the limits."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    # iterative post-order: (node, children pushed?)
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    on_path: set[int] = set()
    while stack:
        node, expanded = stack.pop()
        key = id(node)
        if expanded:
            on_path.discard(key)
            kids = _children(node)
            size[key] = 1 + sum(size[id(k)] for k in kids)
            depth[key] = 1 + max((depth[id(k)] for k in kids), default=0)
            if size[key] > max_nodes:
                raise TooComplex(f"it expands to more than {max_nodes:,} nodes (aliases?)")
            if depth[key] > max_depth:
                raise TooComplex(f"it nests deeper than {max_depth} levels")
            continue
        if key in size:
            continue
        if key in on_path:
            raise TooComplex("an alias refers to a node that contains it (recursive)")
        on_path.add(key)
        stack.append((node, True))
        stack.extend((k, False) for k in _children(node) if id(k) not in size)
    return size[id(root)], depth[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def load(text: str | None) -> Any:
    """The value of one YAML document, or None for empty text. Raises yaml.YAMLError for invalid YAML
    and TooComplex past the limits (say "too large/deep to judge")."""
    text = text or ""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise TooComplex(f"it is larger than {MAX_BYTES // 1024} KiB")
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _measure(node)
        return loader.construct_document(node)
    except RecursionError:  # the pure-Python composer, where libyaml is missing
        raise TooComplex(f"it nests deeper than {MAX_DEPTH} levels") from None
    finally:
        loader.dispose()


def load_all(text: str, max_nodes: int, max_depth: int) -> list[Any]:
    """Every document of a multi-document text (a snapshot file), each measured before it is built."""
    loader = _Loader(text)
    docs = []
    try:
        while loader.check_node():
            node = loader.get_node()
            _measure(node, max_nodes, max_depth)
            docs.append(loader.construct_document(node))
    except RecursionError:
        raise TooComplex(f"it nests deeper than {max_depth} levels") from None
    finally:
        loader.dispose()
    return docs
