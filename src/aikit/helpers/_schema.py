"""Class introspection and the strict JSON schema builder behind ``aikit.helpers.structured``.

Kept apart from the public module so that the rules of OpenAI's strict mode (every object
closed and fully ``required``, optional values as unions with null, no ``$ref`` with sibling
keys) live in one place, shared by response formats and function tools.
"""

from __future__ import annotations

import collections.abc
import copy
import dataclasses
import enum
import functools
import inspect
import re
import sys
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, Literal, Union, get_args, get_origin

import attrs

NONE_TYPE = type(None)
DEFS = "#/$defs/"
#: Origins emitted as JSON arrays (``tuple[T, ...]`` is handled apart).
ARRAYS: tuple[Any, ...] = (
    list, collections.abc.Sequence, collections.abc.MutableSequence, collections.abc.Iterable,
)
MAPPINGS: tuple[Any, ...] = (dict, collections.abc.Mapping, collections.abc.MutableMapping)
_SCALARS: tuple[tuple[type, str], ...] = (
    (bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"),
)
#: Qualifiers that only say whether a TypedDict key may be left out.
_KEY_QUALIFIERS = ("Required", "NotRequired", "ReadOnly")
_NAME_CHARS = re.compile(r"[^a-zA-Z0-9_-]")
_KIND_ERROR = "`cls` must be an attrs class, a dataclass, a TypedDict or a pydantic model, not "


@dataclasses.dataclass(frozen=True)
class FieldInfo:
    """One field of a supported class, as both the schema and the conversion need it."""

    key: str  # the JSON key
    arg: str  # the constructor keyword (attrs strips a leading underscore)
    tp: Any
    optional: bool  # may be left out of the input: a default, or a NotRequired key
    none_default: bool  # null is always accepted (default None, or a NotRequired key)
    description: str | None


def describe(obj: object) -> str:
    """A short name for an error message: the class name, or the type of an instance."""
    if isinstance(obj, type):
        return obj.__qualname__
    return f"{type(obj).__qualname__} instance {obj!r}"[:80]


def kind_error(cls: object) -> TypeError:
    return TypeError(_KIND_ERROR + describe(cls))


def type_name(tp: Any) -> str:
    """``list[int]`` rather than ``typing.List[int]``, ``Order`` rather than its repr."""
    if isinstance(tp, type) and get_origin(tp) is None:
        return tp.__qualname__
    return repr(tp).replace("typing.", "")


def schema_name(cls: object) -> str:
    """A name the API accepts (``^[a-zA-Z0-9_-]{1,64}$``) derived from the class name."""
    raw = getattr(cls, "__name__", None)
    if not isinstance(raw, str):
        raw = type(cls).__name__
    return _NAME_CHARS.sub("_", raw)[:64] or "schema"


def is_pydantic(cls: object) -> bool:
    """True for a pydantic v2 model class; never imports pydantic (no model exists without it)."""
    module = sys.modules.get("pydantic")
    base = getattr(module, "BaseModel", None) if module is not None else None
    return isinstance(base, type) and isinstance(cls, type) and issubclass(cls, base)


def class_kind(cls: object) -> str | None:
    """``"pydantic"``, ``"attrs"``, ``"dataclass"``, ``"typeddict"`` or None (unsupported)."""
    if not isinstance(cls, type) or get_origin(cls) is not None:
        return None
    if is_pydantic(cls):
        return "pydantic"
    if attrs.has(cls):
        return "attrs"
    if dataclasses.is_dataclass(cls):
        return "dataclass"
    if issubclass(cls, dict) and hasattr(cls, "__required_keys__"):
        return "typeddict"
    return None


def unwrap(tp: Any) -> Any:
    """Strip what does not change the JSON shape: Annotated, Required/NotRequired, NewType
    and ``type X = ...`` aliases."""
    while True:
        origin = get_origin(tp)
        if origin is typing.Annotated or getattr(origin, "_name", None) in _KEY_QUALIFIERS:
            tp = get_args(tp)[0]
        elif isinstance(tp, typing.NewType):
            tp = tp.__supertype__
        elif type(tp).__name__ == "TypeAliasType":
            tp = tp.__value__
        else:
            return tp


def admits_none(tp: Any) -> bool:
    tp = unwrap(tp)
    if tp is None or tp is NONE_TYPE or tp is Any or tp is object:
        return True
    origin = get_origin(tp)
    if origin is Union or origin is types.UnionType:
        return any(admits_none(arg) for arg in get_args(tp))
    return origin is Literal and None in get_args(tp)


def first_paragraph(doc: str | None) -> str | None:
    """The docstring's first paragraph on one line: what a model needs, without the details."""
    if not doc:
        return None
    lines: list[str] = []
    for line in inspect.cleandoc(doc).splitlines():
        if not line.strip():
            break
        lines.append(line.strip())
    return " ".join(lines) or None


def class_doc(cls: type) -> str | None:
    doc = cls.__dict__.get("__doc__")
    if not isinstance(doc, str) or (
        dataclasses.is_dataclass(cls) and doc.startswith(f"{cls.__name__}(")
    ):
        return None  # dataclasses write their signature there
    return first_paragraph(doc)


@functools.lru_cache(maxsize=512)
def class_fields(cls: type) -> tuple[FieldInfo, ...]:
    """The fields of an attrs class, dataclass or TypedDict, with resolved type hints."""
    try:
        hints = typing.get_type_hints(cls, include_extras=True)
    except Exception as exc:  # NameError for an unresolvable forward reference, mostly
        raise TypeError(f"cannot resolve the type hints of {cls.__qualname__}: {exc}") from exc
    kind = class_kind(cls)
    out: list[FieldInfo] = []
    if kind == "typeddict":
        optional: frozenset[str] = getattr(cls, "__optional_keys__", frozenset())
        for key, tp in hints.items():
            # The hint decides too: with string annotations the class cannot see NotRequired.
            qualifier = getattr(get_origin(tp), "_name", None)
            left_out = qualifier == "NotRequired" or (key in optional and qualifier != "Required")
            out.append(FieldInfo(key, key, tp, left_out, left_out, None))
    elif kind == "attrs":
        for a in attrs.fields(cls):
            if a.init:
                tp = hints.get(a.name, a.type)
                has_default = a.default is not attrs.NOTHING
                out.append(FieldInfo(a.name, a.alias or a.name.lstrip("_"), tp, has_default,
                                     has_default and a.default is None, _description(a.metadata)))
    elif kind == "dataclass":
        for f in dataclasses.fields(cls):
            if f.init:
                missing = dataclasses.MISSING
                has_default = f.default is not missing or f.default_factory is not missing
                out.append(FieldInfo(f.name, f.name, hints.get(f.name, f.type), has_default,
                                     f.default is None, _description(f.metadata)))
    for field in out:
        if field.tp is None or isinstance(field.tp, str):
            raise TypeError(f"{cls.__qualname__}.{field.key} has no usable type annotation")
    return tuple(out)


def _description(metadata: Mapping[Any, Any]) -> str | None:
    text = metadata.get("description")
    return text if isinstance(text, str) and text else None


def literal_schema(values: Sequence[Any], path: str) -> dict[str, Any]:
    """``const`` for one value, ``enum`` for several, one branch per JSON type."""
    groups: dict[str, list[Any]] = {}
    for value in values:
        plain = value.value if isinstance(value, enum.Enum) else value
        if plain is None:
            kind = "null"
        elif isinstance(plain, (bool, int, float, str)):
            kind = next(name for py, name in _SCALARS if isinstance(plain, py))
        else:
            raise TypeError(f"{path}: the value {plain!r} is not a JSON scalar")
        groups.setdefault(kind, []).append(plain)
    if not groups:
        raise TypeError(f"{path}: a Literal or Enum needs at least one value")
    parts = [
        {"type": "null"} if kind == "null"
        else {"type": kind, "const": vals[0]} if len(vals) == 1
        else {"type": kind, "enum": vals}
        for kind, vals in groups.items()
    ]
    return parts[0] if len(parts) == 1 else {"anyOf": parts}


def any_of(schemas: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """A flat, duplicate-free ``anyOf`` (or the single schema)."""
    parts: list[dict[str, Any]] = []
    for schema in schemas:
        for part in schema["anyOf"] if set(schema) == {"anyOf"} else [schema]:
            if part not in parts:
                parts.append(part)
    return parts[0] if len(parts) == 1 else {"anyOf": parts}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return schema if not schema else any_of([schema, {"type": "null"}])


def _dict_error(path: str, tp: Any) -> TypeError:
    return TypeError(
        f"{path}: {type_name(tp)} has free-form keys, which a strict JSON schema cannot express "
        "(every object needs fixed properties, all required, and additionalProperties: false); "
        "use a class with named fields instead"
    )


class SchemaBuilder:
    """Builds one schema: each nested class goes once into ``$defs``; the root stays inline
    and a reference back to it is ``{"$ref": "#"}``. ``strict=False`` (non-strict tools) also
    allows ``Any`` and ``dict[str, T]``."""

    def __init__(self, root: object = None, *, strict: bool = True) -> None:
        self.root = root
        self.strict = strict
        self.defs: dict[str, dict[str, Any]] = {}
        self.names: dict[object, str] = {}

    def finish(self, schema: dict[str, Any]) -> dict[str, Any]:
        """The schema with its ``$defs``; every ``$ref`` that carries siblings is inlined."""
        out: dict[str, Any] = unravel(schema, self.defs)
        if self.defs:
            out["$defs"] = {name: unravel(d, self.defs, (name,)) for name, d in self.defs.items()}
        return out

    def object_schema(self, cls: type) -> dict[str, Any]:
        if class_kind(cls) == "pydantic":
            return self._pydantic(cls)
        out: dict[str, Any] = {"type": "object"}
        doc = class_doc(cls)
        if doc:
            out["description"] = doc
        properties: dict[str, Any] = {}
        for field in class_fields(cls):
            schema = self.schema(field.tp, f"{cls.__qualname__}.{field.key}")
            if field.none_default:
                schema = nullable(schema)
            if field.description:
                schema = {**schema, "description": field.description}
            properties[field.key] = schema
        out.update(properties=properties, required=list(properties), additionalProperties=False)
        return out

    def ref(self, cls: type) -> dict[str, Any]:
        if cls is self.root:
            return {"$ref": "#"}
        name = self.names.get(cls)
        if name is None:
            name = base = schema_name(cls)
            suffix = 1
            while name in self.defs:
                suffix += 1
                name = f"{base[:60]}_{suffix}"
            self.names[cls] = name
            self.defs[name] = {}  # reserved, so that a recursive reference finds the name
            self.defs[name] = self.object_schema(cls)
        return {"$ref": DEFS + name}

    def schema(self, tp: Any, path: str) -> dict[str, Any]:
        """The schema of one annotation; ``path`` (``Order.items[]``) names it in errors."""
        tp = unwrap(tp)
        origin, args = get_origin(tp), get_args(tp)
        if tp is Any or tp is object:
            if self.strict:
                raise TypeError(f"{path}: Any has no JSON schema; strict mode needs a type")
            return {}
        if tp is None or tp is NONE_TYPE:
            return {"type": "null"}
        if origin is Literal:
            return literal_schema(args, path)
        if origin is Union or origin is types.UnionType:
            return any_of([self.schema(arg, path) for arg in args])
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            raise TypeError(f"{path}: {type_name(tp)} has a fixed length, which a strict schema "
                            "cannot express; use tuple[T, ...], a list or a class")
        if origin is tuple or origin in ARRAYS or tp in (list, tuple):
            item = args[0] if args else Any
            return {"type": "array", "items": self.schema(item, f"{path}[]")}
        if origin in MAPPINGS or tp in MAPPINGS:
            if self.strict:
                raise _dict_error(path, tp)
            if args and unwrap(args[0]) is not str:
                raise TypeError(f"{path}: JSON object keys are strings, not {type_name(args[0])}")
            return {"type": "object",
                    "additionalProperties": self.schema(args[1] if args else Any, f"{path}[]")}
        if origin is None and isinstance(tp, type):
            if issubclass(tp, enum.Enum):
                return literal_schema([member.value for member in tp], path)
            for py, name in _SCALARS:
                if tp is py:
                    return {"type": name}
            if class_kind(tp) is not None:
                return self.ref(tp)
        raise TypeError(f"{path}: {type_name(tp)} is not supported (use str, int, float, bool, "
                        "None, lists, unions, Literal, Enum or an attrs/dataclass/TypedDict/"
                        "pydantic class)")

    def _pydantic(self, cls: type) -> dict[str, Any]:
        """pydantic's own schema made strict, its ``$defs`` merged into ours."""
        raw = dict(cls.model_json_schema())  # type: ignore[attr-defined]
        where = cls.__qualname__
        for name, definition in raw.pop("$defs", {}).items():
            strict_def = strictify(definition, f"{where}.$defs.{name}")
            if self.defs.get(name) and self.defs[name] != strict_def:
                raise TypeError(f"{where}: two different schemas are named {name!r}; "
                                "rename one of the classes")
            self.defs[name] = strict_def
        root = strictify(raw, where)
        ref = root.get("$ref")
        if isinstance(ref, str) and ref.startswith(DEFS) and set(root) <= {"$ref", "title"}:
            root = copy.deepcopy(self.defs[ref[len(DEFS):]])  # recursive: the root is a $ref
        return root


_SCHEMA_KEYS = ("items", "additionalProperties", "not", "contains")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")


def strictify(node: dict[str, Any], path: str) -> dict[str, Any]:
    """pydantic's JSON schema in the strict form: objects closed and fully required, no
    ``default``, ``oneOf`` as ``anyOf``; free-form dicts and ``Any`` refused."""
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("default", "discriminator"):
            continue
        if key == "properties":
            out[key] = {name: strictify(s, f"{path}.{name}") for name, s in value.items()}
        elif key in _SCHEMA_KEYS and isinstance(value, dict):
            out[key] = strictify(value, f"{path}[]")
        elif key in _SCHEMA_LISTS:
            out["anyOf" if key == "oneOf" else key] = [strictify(s, path) for s in value]
        else:
            out[key] = copy.deepcopy(value)
    all_of = out.pop("allOf", None)
    if all_of is not None:  # older pydantic wraps a described $ref as allOf: [{$ref}]
        if len(all_of) != 1:
            raise TypeError(f"{path}: allOf is not supported in a strict JSON schema")
        out = {**all_of[0], **out}
    if out.get("type") == "object" or "properties" in out:
        if "properties" not in out:
            raise _dict_error(path, dict)
        out["required"] = list(out["properties"])
        out["additionalProperties"] = False
    elif not set(out) - {"title", "description"}:
        raise TypeError(f"{path}: Any has no JSON schema; strict mode needs a concrete type")
    return out


def unravel(node: Any, defs: Mapping[str, Any], seen: tuple[str, ...] = ()) -> Any:
    """A copy of ``node`` where a ``$ref`` with sibling keys (a description) is replaced by
    the definition plus those keys: strict mode does not accept siblings next to ``$ref``."""
    if isinstance(node, list):
        return [unravel(item, defs, seen) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and len(node) > 1 and ref.startswith(DEFS):
        name = ref[len(DEFS):]
        if defs.get(name) and name not in seen:
            rest = {k: v for k, v in node.items() if k != "$ref"}
            return unravel({**defs[name], **rest}, defs, (*seen, name))
    return {key: unravel(value, defs, seen) for key, value in node.items()}
