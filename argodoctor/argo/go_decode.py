"""Argo's configuration decoded as the controller decodes it: the one decoder for every Argo-config
read (the controller ConfigMap, with its nested workflowDefaults, executor, mainContainer,
artifactRepository, sso, persistence ...; each `artifact-repositories` entry).

Argo reads these with sigs.k8s.io/yaml v1.4.0 (config/controller.go parseConfigMap: UnmarshalStrict;
workflow/artifactrepositories/artifactrepositories.go get: Unmarshal, at v3.7.18), which works in two
steps, followed here one for one:

1. YAML to JSON (sigs.k8s.io/yaml yaml.go yamlToJSONTarget / convertToJSONableObject): mapping keys
   become strings (`true`, `1`); a number or boolean whose target field is a Go string becomes a
   string ("2024"); a NaN or infinity that stays a number cannot be marshalled: an error. The target
   of a key is found as encoding/json finds it, except that a field promoted from an embedded struct
   is recursed into through the embedded field (t.Field(f.index[0])), so no coercion happens there.
2. encoding/json into the Go structs (go/src/encoding/json/decode.go object() and literalStore,
   encode.go typeFields, fold.go: Go 1.25, which argo-workflows v3.7.18's and v4.0.5's go.mod name;
   the same in the Go 1.26.8 that builds the oracle, tests/controlplane/argo/cmd/decodecheck): a key
   takes the field of exactly its name, else the first field (in field order) whose name folds to the
   same (fold.go foldName: ASCII case, plus U+017F and U+212A, which fold to S and K), so `repoUrl`
   fills RepoURL; an unknown key is an error under DisallowUnknownFields, which UnmarshalStrict sets,
   at every depth; a value of the wrong JSON kind is an error (UnmarshalTypeError) whether strict or
   not; null leaves a field alone, except a non-pointer type with its own UnmarshalJSON, which gets
   the null (metav1.Duration then fails: `time: invalid duration ""`). Inside such a type (Quantity,
   IntOrString, wfv1.Item, ParallelSteps ...) the type's own code decides; the ones not modelled below
   accept anything here (a miss, never a false fail).

The struct trees are not typed in: `decodecheck schema` (tests/controlplane/argo/cmd/decodecheck/
schema.go) walks config.Config and v1alpha1.ArtifactRepository with reflect at a pinned Argo release,
into config-tree-<version>.json beside this file; `tools/gen-config-tree.sh` regenerates them. Only
the releases the Go module proxy serves are generated (v3.7.18, v4.0.5); for other versions nested
keys are not judged (AD103 falls back to argodoctor/argo_config.py's top-level tables).
YAML itself is read by PyYAML with the plain scalars yaml.v2 reads as numbers or booleans marked
(load_yaml, PlainScalar). Not followed: duplicate keys (UnmarshalStrict refuses them: a miss) and
PyYAML's YAML 1.1 sexagesimal integers (`1:30`, a string to yaml.v2).
"""
from __future__ import annotations

import base64
import dataclasses
import datetime
import decimal
import functools
import json
import math
import re
import struct
from pathlib import Path
from typing import Any

from .version import Version

_HERE = Path(__file__).parent


@dataclasses.dataclass
class Problem:
    path: str  # where, as written: workflowDefaults.spec.foo, links[0].url
    unknown: bool  # an unknown field (fatal only under strict decoding); else a value Go cannot decode
    message: str


@dataclasses.dataclass
class Decoded:
    value: Any  # the input with every key Go matches renamed to its field's json name (unknown keys kept)
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.problems


class Schema:
    """One Argo version's tree, as written by `decodecheck schema`."""

    def __init__(self, data: dict[str, Any]):
        self.argo: str = data["argo"]
        self.version = _version(self.argo)
        self.roots: dict[str, Any] = data["roots"]
        self._types: dict[str, Any] = data["types"]
        self._fields: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        return self._types[node["ref"]] if "ref" in node else node

    def lookup(self, struct_id: str, node: dict[str, Any], key: str) -> dict[str, Any] | None:
        """The field encoding/json decodes `key` into: the exact name, else the first folded match."""
        if struct_id not in self._fields:
            exact: dict[str, Any] = {}
            folded: dict[str, Any] = {}
            for field in node["fields"] or ():  # trees written before schema.go emitted [] hold null
                exact[field["name"]] = field
                folded.setdefault(fold(field["name"]), field)  # "first folded match takes precedence"
            self._fields[struct_id] = (exact, folded)
        exact, folded = self._fields[struct_id]
        return exact.get(key) or folded.get(fold(key))


def fold(name: str) -> str:
    """encoding/json's foldName for names matched against ASCII field names (`decodecheck schema` refuses
    any other): ASCII upper case; U+017F (long s) and U+212A (Kelvin) fold to S and K (unicode.SimpleFold
    orbits); any other non-ASCII rune folds to a non-ASCII rune, so it is kept and never matches."""
    return "".join("S" if c == "\u017f" else "K" if c == "\u212a" else c.upper() if c < "\x80" else c
                   for c in name)


def _version(text: str) -> Version:
    major, minor, patch = (int(x) for x in re.findall(r"\d+", text)[:3])
    return Version(major, minor, patch)


@functools.cache
def schemas() -> tuple[Schema, ...]:
    """Every generated tree shipped with argodoctor, oldest first."""
    found = [Schema(json.loads(p.read_text())) for p in _HERE.glob("config-tree-v*.json")]
    return tuple(sorted(found, key=lambda s: s.version))


def schema_for(version: Version | None) -> Schema | None:
    """The tree that is known to hold for `version`: one generated at the same minor version and at a
    patch not older (a later patch may add fields; an earlier one is assumed to have none that the
    generated one lacks). None when there is none: then nested keys must not be judged."""
    if version is None:
        return None
    for schema in schemas():
        s = schema.version
        if (s.major, s.minor) == (version.major, version.minor) and version.patch <= s.patch:
            return schema
    return None


def newest_schema() -> Schema | None:
    return schemas()[-1] if schemas() else None


def decode(value: Any, root: str, schema: Schema, strict: bool) -> Decoded:
    """`value` (as PyYAML loaded it) decoded into `root` ("config" or "artifactRepository") of `schema`,
    strictly (UnmarshalStrict) or not."""
    problems: list[Problem] = []
    node = schema.roots[root]
    as_json = _to_json(value, node, schema, True, "", problems)
    if problems:  # sigs.k8s.io/yaml stops at its first conversion error
        return Decoded(value, problems)
    canonical = _decode(as_json, node, schema, strict, "", problems)
    return Decoded(_plain(canonical), problems)


def _plain(value: Any) -> Any:
    """`value` with every PlainScalar a plain str again: what readers downstream get."""
    if isinstance(value, PlainScalar):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def decode_field(value: Any, field: str, schema: Schema, strict: bool) -> Decoded:
    """One top-level setting of the controller ConfigMap decoded into its config.Config field (found as
    Go finds it); paths start with `field`. Unknown fields give an empty result."""
    decoded = decode({field: value}, "config", schema, strict)
    canonical = next(iter(decoded.value.values()), value) if isinstance(decoded.value, dict) else value
    return Decoded(canonical, decoded.problems)


def canonical(value: Any, root: str, version: Version | None = None) -> Any:
    """`value` with its keys renamed to the json names Go matches them to (`repoUrl` -> `repoURL`), by
    the version's tree or else the newest one; unchanged when no tree is shipped."""
    schema = schema_for(version) or newest_schema()
    if schema is None:
        return value
    return decode(value, root, schema, strict=False).value


# ---------------------------------------------------------------- step 1: YAML to JSON

_STRING_KINDS = ("string", "number-string")


def _target(node: dict[str, Any] | None, schema: Schema, addressable: bool) -> tuple[dict[str, Any] | None, bool]:
    """What convertToJSONableObject's indirect() leaves of a target: pointers followed (allocated, hence
    addressable), a type with an unmarshaler gives None. In a map's element (reflect.Zero, not
    addressable) a pointer-receiver unmarshaler is not seen, and its underlying kind counts."""
    while node is not None:
        if node.get("kind") == "ptr":
            node, addressable = node["elem"], True
            continue
        resolved = schema.resolve(node)
        if resolved["kind"] == "custom":
            if addressable or resolved["valueReceiver"]:
                return None, addressable
            return ({"kind": "string"} if resolved["underlying"] == "string" else None), addressable
        return resolved, addressable
    return None, addressable


def _to_json(value: Any, node: dict[str, Any] | None, schema: Schema, addressable: bool, path: str,
             problems: list[Problem]) -> Any:
    target, addressable = _target(node, schema, addressable)
    kind = target["kind"] if target else None
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = _key_string(key)
            if name is None:
                problems.append(Problem(path, False, f"the key {key!r}, of the wrong type: expected a string, number "
                                                     "or boolean (error converting YAML to JSON)"))
                return value
            sub: dict[str, Any] | None = None
            sub_addressable = addressable
            if kind == "struct":
                field = schema.lookup(_struct_id(node, schema), target, name)
                if field is not None:
                    sub = field.get("via") or field["type"]
            elif kind == "map":
                sub, sub_addressable = target["elem"], False
            out[name] = _to_json(item, sub, schema, sub_addressable, _join(path, name), problems)
        return out
    if isinstance(value, list):
        elem = target["elem"] if kind in ("slice", "array") else None
        return [_to_json(item, elem, schema, True, f"{path}[{i}]", problems) for i, item in enumerate(value)]
    if isinstance(value, (datetime.date, datetime.datetime)):
        return str(value)  # yaml.v2 keeps a timestamp as its text when decoding into interface{}
    if kind in _STRING_KINDS and isinstance(value, (bool, int, float)):
        return _go_scalar_string(value)
    if isinstance(value, int) and not isinstance(value, bool) and not -(1 << 63) <= value < (1 << 64):
        value = float(value)  # yaml.v2 resolves an integer beyond int64/uint64 as a float
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        problems.append(Problem(path, False, f"{_go_float(value)}, which JSON cannot hold: expected a "
                                             "finite number (error converting YAML to JSON)"))
    return value


def _struct_id(node: dict[str, Any] | None, schema: Schema) -> str:
    while node is not None and node.get("kind") == "ptr":
        node = node["elem"]
    return (node or {}).get("ref") or str(id(node))


def _key_string(key: Any) -> str | None:
    """convertToJSONableObject's key conversion: strings, ints, floats (FormatFloat 'g', 32 bits), bools."""
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, int):
        return str(key)
    if isinstance(key, float):
        return {"+Inf": ".inf", "-Inf": "-.inf", "NaN": ".nan"}.get(_go_float(key), _go_float(key))
    if isinstance(key, (datetime.date, datetime.datetime)):
        return str(key)
    return None


def _go_scalar_string(value: bool | int | float) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return _go_float(value)


def _go_float(value: float) -> str:
    """strconv.FormatFloat(v, 'g', -1, 32), as sigs.k8s.io/yaml turns a float into a string: the
    shortest digits that round-trip the float32, in exponent form when the exponent is below -4 or
    from 6 up (shortest 'g' decides with precision 6: go/src/strconv/ftoa.go)."""
    if math.isnan(value):
        return "NaN"
    try:
        f32 = struct.unpack("f", struct.pack("f", value))[0]
    except OverflowError:
        f32 = math.copysign(math.inf, value)
    if math.isinf(f32):
        return "+Inf" if f32 > 0 else "-Inf"
    if f32 == 0:
        return "0"
    digits = ""
    for significant in range(1, 10):
        digits = f"{f32:.{significant - 1}e}"
        if struct.unpack("f", struct.pack("f", float(digits)))[0] == f32:
            break
    sign, ds, exp = decimal.Decimal(digits).as_tuple()
    mantissa = "".join(map(str, ds)).rstrip("0") or "0"
    point = len(ds) + int(exp) - 1  # the decimal exponent of the first digit
    prefix = "-" if sign else ""
    if point < -4 or point >= 6:
        frac = f".{mantissa[1:]}" if len(mantissa) > 1 else ""
        return f"{prefix}{mantissa[0]}{frac}e{'-' if point < 0 else '+'}{abs(point):02d}"
    return prefix + format(decimal.Decimal(digits).copy_abs().normalize(), "f")


# ---------------------------------------------------------------- step 2: encoding/json

def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


_EXPECTED = {"struct": "a mapping (key: value pairs)", "map": "a mapping (key: value pairs)",
             "slice": "a list", "array": "a list", "string": "a string", "number-string": "a number",
             "bool": "a boolean (true or false)", "int": "an int (a whole number such as 10)",
             "uint": "a whole number, not negative", "float": "a number", "bytes": "base64 text",
             "interface": "null", "unsupported": "null"}


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return str(value)


def _mismatch(path: str, value: Any, expected: str, problems: list[Problem]) -> None:
    """encoding/json's UnmarshalTypeError (`json: cannot unmarshal string into Go struct field ...`)."""
    kind = {"bool": "a boolean", "number": "a number", "string": "a string", "array": "a list",
            "object": "a mapping"}[_json_kind(value)]
    problems.append(Problem(path, False, f"{_show(value)} ({kind}), of the wrong type: expected {expected}"))


def _as_json_int(value: Any) -> int | None:
    """The integer a JSON number token spells, as ParseInt sees it: json.Marshal writes an integral
    float64 below 1e21 without a fraction or exponent ('f' format), so 10.0 decodes into an int."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    return None


def _decode(value: Any, node: dict[str, Any], schema: Schema, strict: bool, path: str,
            problems: list[Problem]) -> Any:
    if node.get("kind") == "ptr":
        return value if value is None else _decode(value, node["elem"], schema, strict, path, problems)
    resolved = schema.resolve(node)
    kind = resolved["kind"]
    if kind == "custom":
        if resolved["unmarshaler"] == "json":
            _custom_json(node.get("ref", ""), value, path, problems)
        elif value is not None and not isinstance(value, str):
            _mismatch(path, value, "a string", problems)  # literalStore: a TextUnmarshaler takes strings
        return value
    if value is None or kind == "any":
        return value
    if kind == "struct":
        if not isinstance(value, dict):
            _mismatch(path, value, _EXPECTED[kind], problems)
            return value
        out: dict[str, Any] = {}
        struct_id = node.get("ref") or str(id(resolved))
        for key in sorted(value):  # json.Marshal sorted the keys: the later of two spellings wins
            field = schema.lookup(struct_id, resolved, key)
            where = _join(path, key)
            if field is None:
                if strict:
                    problems.append(Problem(where, True, f'json: unknown field "{key}"'))
                out.setdefault(key, value[key])
                continue
            if field.get("quoted"):
                if value[key] is not None and not isinstance(value[key], str):
                    problems.append(Problem(where, False, "not text: expected a quoted value (,string)"))
                decoded = value[key]
            else:
                decoded = _decode(value[key], field["type"], schema, strict, where, problems)
            _merge(out, field["name"], decoded)
        return out
    if kind == "map":
        if not isinstance(value, dict):
            _mismatch(path, value, _EXPECTED[kind], problems)
            return value
        if resolved["key"] == "unsupported":
            _mismatch(path, value, "nothing JSON can spell (an unsupported map key type)", problems)
            return value
        out = {}
        for key in sorted(value):
            where = _join(path, key)
            if resolved["key"] in ("int", "uint") and not re.fullmatch(r"-?\d+" if resolved["key"] == "int"
                                                                       else r"\d+", key):
                problems.append(Problem(where, False, f"key {key!r} of the wrong type: expected a whole number"))
            _merge(out, key, _decode(value[key], resolved["elem"], schema, strict, where, problems))
        return out
    if kind in ("slice", "array"):
        if not isinstance(value, list):
            _mismatch(path, value, _EXPECTED[kind], problems)
            return value
        return [_decode(item, resolved["elem"], schema, strict, f"{path}[{i}]", problems)
                for i, item in enumerate(value)]
    if kind == "bytes":
        if isinstance(value, list):
            for i, item in enumerate(value):
                _decode(item, {"kind": "uint", "bits": 8}, schema, strict, f"{path}[{i}]", problems)
        elif not isinstance(value, str) or not _base64_ok(value):
            _mismatch(path, value, _EXPECTED[kind], problems)
        return value
    if not _scalar_fits(kind, resolved.get("bits", 64), _as_yaml_v2_read(kind, value)):
        _mismatch(path, value, _EXPECTED.get(kind, kind), problems)
    return value


class PlainScalar(str):
    """A plain (unquoted) scalar PyYAML keeps as a string but Go's yaml.v2 reads as a number or a
    boolean (goyaml.v2 resolve.go: strconv base 0 takes `0o17`, `0x1F`, `017`, `1_000`; yamlStyleFloat
    takes `1e3`; `y`/`n` are booleans). Made by yaml_v2_loader(); quoted text stays a plain str."""


_YAML_V2_PLAIN = re.compile(r"""[-+]?(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|[0-9][0-9_]*
                                |(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)|[yYnN]""", re.X)
_YAML_V2_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")


@functools.cache
def yaml_v2_loader() -> Any:
    """safe_yaml's loader, with the plain scalars yaml.v2 reads as numbers or booleans (and PyYAML's
    YAML 1.1 resolvers leave as strings: they are tried first) constructed as PlainScalar."""
    from ..view import safe_yaml

    base = safe_yaml._loader_class()
    loader = type("YamlV2Loader", (base,), {})
    tag = "tag:argodoctor,2026:yaml-v2-plain"
    loader.add_implicit_resolver(tag, _YAML_V2_PLAIN, list("0123456789+-.yYnN"))
    loader.add_constructor(tag, lambda self, node: PlainScalar(self.construct_scalar(node)))
    # written back (a fix's plan) as the plain text it was read from
    import yaml

    for dumper in (yaml.SafeDumper, getattr(yaml, "CSafeDumper", None)):
        if dumper is not None:
            dumper.add_representer(PlainScalar, lambda d, data: d.represent_str(str(data)))
    return loader


def load_yaml(text: str | None) -> Any:
    """safe_yaml.load with yaml_v2_loader(): for the texts Argo decodes with sigs.k8s.io/yaml."""
    from ..view import safe_yaml

    return safe_yaml.load(text, yaml_v2_loader())


def _as_yaml_v2_read(kind: str, value: Any) -> Any:
    """A PlainScalar judged as the number or boolean yaml.v2 made of it, for a numeric or boolean field."""
    if not isinstance(value, PlainScalar):
        return value
    if kind == "bool":
        return {"y": True, "Y": True, "n": False, "N": False}.get(value, value)
    if kind not in ("int", "uint", "float"):
        return value
    plain = value.replace("_", "")
    try:
        return int(plain, 0)
    except ValueError:
        pass
    if re.fullmatch(r"[-+]?0[0-7]+", plain):  # strconv base 0: a leading 0 is octal
        return int(plain, 8)
    if _YAML_V2_FLOAT.fullmatch(plain):
        return float(plain)
    return value


def _merge(out: dict[str, Any], name: str, value: Any) -> None:
    """A second key for the same field decodes into what the first left: objects merge, the rest replace."""
    if isinstance(out.get(name), dict) and isinstance(value, dict):
        merged = dict(out[name])
        for k, v in value.items():
            _merge(merged, k, v)
        out[name] = merged
    else:
        out[name] = value


def _scalar_fits(kind: str, bits: int, value: Any) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "number-string":
        return isinstance(value, str) and bool(_JSON_NUMBER.fullmatch(value))
    if kind == "bool":
        return isinstance(value, bool)
    if kind in ("int", "uint"):
        n = _as_json_int(value)
        if n is None:
            return False
        if kind == "int":
            return -(1 << (bits - 1)) <= n < (1 << (bits - 1))
        return 0 <= n < (1 << bits)
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        return bits == 64 or abs(value) <= 3.4028234663852886e38
    return False  # interface, unsupported: only null


_JSON_NUMBER = re.compile(r"-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?")


def _base64_ok(text: str) -> bool:
    try:
        base64.b64decode(text.replace("\r", "").replace("\n", ""), validate=True)
    except ValueError:
        return False
    return True


# Go time.ParseDuration: [-+]? then "0" or one or more (number unit) pairs, no spaces.
GO_DURATION = re.compile(r"[-+]?(0|((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+)")


def _custom_json(type_id: str, value: Any, path: str, problems: list[Problem]) -> None:
    """What the UnmarshalJSON of a type modelled here accepts (apimachinery v0.33.1); the rest accept
    anything here."""
    name = type_id.rsplit("/", 1)[-1]
    if name == "v1.Duration":  # meta/v1/duration.go: json.Unmarshal into a string, then ParseDuration
        if not isinstance(value, str) or not GO_DURATION.fullmatch(value):
            shown = "null (empty)" if value is None else _show(value)
            problems.append(Problem(path, False, f"{shown}, not a duration: expected a duration string such as "
                                                 '"30s" or "5m" (metav1.Duration)'))
    elif name == "intstr.IntOrString":  # util/intstr: a string, else json.Unmarshal into an int32
        n = _as_json_int(value)
        if not (value is None or isinstance(value, str) or (n is not None and -(1 << 31) <= n < (1 << 31))):
            _mismatch(path, value, "a string or a whole number", problems)
    elif name == "v1.Time":  # meta/v1/time.go: null, else a string (RFC 3339)
        if value is not None and not isinstance(value, str):
            _mismatch(path, value, "an RFC 3339 time string", problems)
    elif name == "resource.Quantity":  # api/resource/quantity.go: null, else ParseQuantity of the text
        if isinstance(value, (dict, list, bool)):
            _mismatch(path, value, "a quantity such as 100m or 1Gi", problems)
