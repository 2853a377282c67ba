"""YAML that users write inside Kubernetes objects (a ConfigMap's `config`, a repository key), loaded
with bounds, so one tenant's hostile text cannot stall or blind a cluster-wide run.

Aliases make a small text stand for a huge tree (the "billion laughs"): the tree is measured as it would
be walked, each alias expanded, by a count over the composed node graph (each node visited once, its
expanded size and depth memoized), before anything is constructed. Beyond the limits the caller gets
TooComplex with a message that says so, and judges nothing in that text.
"""
from __future__ import annotations

import functools
from typing import Any

MAX_BYTES = 1 << 20  # a ConfigMap holds at most 1 MiB anyway
MAX_NODES = 100_000  # expanded: what a walk of the loaded value would visit
MAX_DEPTH = 64



@functools.cache
def _loader_class() -> Any:
    import yaml  # here, not at the top: PyYAML costs 30 ms to import, and `argodoctor list` needs none

    class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
        """The safe loader, except that an integer too long for Python to read (over
        sys.get_int_max_str_digits() digits: ValueError) is kept as its text, like over_long_int in JSON."""

    def construct_int(loader: Any, node: Any) -> Any:
        try:
            return yaml.constructor.SafeConstructor.construct_yaml_int(loader, node)
        except ValueError:
            return loader.construct_scalar(node)

    Loader.add_constructor("tag:yaml.org,2002:int", construct_int)
    return Loader


def over_long_int(text: str) -> int | str:
    """json.loads' parse_int: an integer as Python reads it, or, past the digits Python converts (4,300 by
    default: CVE-2020-10735), its text. No Kubernetes object holds such a number (the API server reads
    numbers as int64 or float64); a field a check reads then fails the parse boundary's type check, and
    every other field stays as it was written: loading never fails on it, and writers emit it."""
    try:
        return int(text)
    except ValueError:
        return text


class TooComplex(ValueError):
    """The text is too large, too deep, or expands too far to be judged."""


class Invalid(ValueError):
    """Not valid YAML: PyYAML's problem, with the line and column (1-based) where they are known."""

    def __init__(self, problem: str, line: int | None = None, column: int | None = None):
        super().__init__(problem)
        self.problem, self.line, self.column = problem, line, column


def _invalid(e: Exception) -> Invalid:
    mark = getattr(e, "problem_mark", None)
    problem = getattr(e, "problem", None) or str(e)
    return Invalid(problem, *((mark.line + 1, mark.column + 1) if mark is not None else ()))


def _measure(root: Any, max_nodes: int = MAX_NODES, max_depth: int = MAX_DEPTH) -> tuple[int, int]:
    """(expanded node count, depth) of a composed graph; raises TooComplex on a cycle or past the limits."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    # iterative post-order: (node, children pushed?)
    stack: list[tuple[Any, bool]] = [(root, False)]
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


def _children(node: Any) -> list[Any]:
    import yaml

    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def load(text: str | None, loader_class: Any = None) -> Any:
    """The value of one YAML document, or None for empty text. Raises Invalid for invalid YAML
    and TooComplex past the limits (say "too large/deep to judge"). `loader_class`: a subclass of
    the safe loader (argo.go_decode's reads plain scalars as Go's yaml.v2 does)."""
    text = text or ""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise TooComplex(f"it is larger than {MAX_BYTES // 1024} KiB")
    import yaml

    loader = (loader_class or _loader_class())(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _measure(node)
        return loader.construct_document(node)
    except yaml.YAMLError as e:
        raise _invalid(e) from None
    except RecursionError:  # the pure-Python composer, where libyaml is missing
        raise TooComplex(f"it nests deeper than {MAX_DEPTH} levels") from None
    finally:
        loader.dispose()


def load_all(text: str, max_nodes: int, max_depth: int) -> list[Any]:
    """Every document of a multi-document text (a snapshot file), each measured before it is built."""
    return [doc for doc, _, _ in load_all_located(text, max_nodes, max_depth)]


Place = tuple[int, dict[str, tuple[int, bool]]]  # (start line, {data key: (its line, a block scalar?)})


def load_all_located(text: str, max_nodes: int, max_depth: int) -> list[tuple[Any, Place, list[Place]]]:
    """load_all, each document with where it is: the line it starts on (1-based) and the line of each
    key of its `data` (a ConfigMap's), and for a List the same for each of its `items`."""
    import yaml

    def place(node: Any) -> Place:
        keys: dict[str, tuple[int, bool]] = {}
        for key, value in node.value if isinstance(node, yaml.MappingNode) else ():
            if key.value == "data" and isinstance(value, yaml.MappingNode):
                keys = {k.value: (k.start_mark.line + 1, getattr(v, "style", None) in ("|", ">"))
                        for k, v in value.value if isinstance(k, yaml.ScalarNode)}
        return node.start_mark.line + 1, keys

    loader = _loader_class()(text)
    docs = []
    try:
        while loader.check_node():
            node = loader.get_node()
            _measure(node, max_nodes, max_depth)
            items: list[Place] = []
            if isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    if key.value == "items" and isinstance(value, yaml.SequenceNode):
                        items = [place(n) for n in value.value]
            docs.append((loader.construct_document(node), place(node), items))
    except yaml.YAMLError as e:
        raise _invalid(e) from None
    except RecursionError:
        raise TooComplex(f"it nests deeper than {max_depth} levels") from None
    finally:
        loader.dispose()
    return docs
