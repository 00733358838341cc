"""Structured outputs and function tools from Python classes and functions.

OpenAI's strict mode makes the model follow a JSON schema exactly, but only a subset of JSON
Schema is allowed: every object closed (``additionalProperties: false``) with all its keys
``required``, optional values as unions with null. This module writes such schemas for attrs
classes, dataclasses, TypedDicts and (when installed) pydantic models, turns the model's JSON
back into instances of those classes, and describes a plain Python function as a tool.

pydantic is optional and never imported here: a pydantic model can only exist once pydantic
has been imported by its author.
"""

from __future__ import annotations

import enum
import functools
import inspect
import json
import re
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeVar, Union, cast, get_args, get_origin

from ._schema import (
    ARRAYS,
    MAPPINGS,
    NONE_TYPE,
    SchemaBuilder,
    admits_none,
    class_fields,
    class_kind,
    first_paragraph,
    kind_error,
    nullable,
    schema_name,
    type_name,
    unwrap,
)

__all__ = [
    "call_with_arguments",
    "chat_response_format",
    "function_tool_fields",
    "json_schema",
    "parse_as",
    "responses_text_format",
    "schema_name",
]

T = TypeVar("T")
R = TypeVar("R")

#: What the API accepts as a tool or schema name.
_API_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


# -- schemas ---------------------------------------------------------------------------------


def json_schema(cls: object) -> dict[str, Any]:
    """The strict JSON schema of ``cls`` (attrs class, dataclass, TypedDict or pydantic model).

    Nested classes appear once each under ``$defs`` and are referred to by ``$ref``; the root
    stays inline. Raises TypeError, naming the field, for a type strict mode cannot express
    (``dict[str, T]``, ``Any``, fixed-length tuples, arbitrary classes).
    """
    if class_kind(cls) is None:
        raise kind_error(cls)
    builder = SchemaBuilder(cls)
    return builder.finish(builder.object_schema(cast(type, cls)))


def chat_response_format(cls: object) -> dict[str, Any]:
    """The Chat Completions ``response_format`` that makes the reply an instance of ``cls``."""
    return {
        "type": "json_schema",
        "json_schema": {"name": schema_name(cls), "schema": json_schema(cls), "strict": True},
    }


def responses_text_format(cls: object) -> dict[str, Any]:
    """The Responses API ``text`` parameter that makes the output an instance of ``cls``."""
    return {
        "format": {
            "type": "json_schema", "name": schema_name(cls), "schema": json_schema(cls),
            "strict": True,
        }
    }


# -- parsing ---------------------------------------------------------------------------------


def parse_as(cls: type[T], text: str | bytes) -> T:
    """The model's JSON reply as an instance of ``cls`` (a plain dict for a TypedDict).

    Nested values are converted by their declared types (nested classes, Enum members, Literal
    checks). Raises ValueError naming the path (``items[2].price: expected a number, got 'x'``)
    when the text is not JSON or a value does not fit; nothing half-built is returned.
    """
    kind = class_kind(cls)
    if kind is None:
        raise kind_error(cls)
    if kind == "pydantic":
        try:
            return cast(T, cast(Any, cls).model_validate_json(text))
        except ValueError as exc:  # pydantic's ValidationError
            raise ValueError(_pydantic_message(exc, "")) from None
    if not isinstance(text, (str, bytes, bytearray)):
        raise ValueError(f"expected JSON text, got {_show(text)}")
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"invalid JSON: {exc}") from None
    return cast(T, _build(cls, kind, data, ""))


def _join(path: str, part: str | int) -> str:
    if isinstance(part, int):
        return f"{path}[{part}]"
    return f"{path}.{part}" if path else part


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _fail(path: str, expected: str, value: Any) -> typing.NoReturn:
    message = f"{expected}, got {_show(value)}"
    raise ValueError(f"{path}: {message}" if path else message)


def _pydantic_message(exc: ValueError, path: str) -> str:
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return f"{path}: {exc}" if path else str(exc)
    parts = []
    for error in errors():
        where = path
        for part in error.get("loc", ()):
            where = _join(where, part)
        parts.append(f"{where}: {error['msg']}" if where else str(error["msg"]))
    return "; ".join(parts)


def _literal_matches(option: Any, value: Any) -> bool:
    plain = option.value if isinstance(option, enum.Enum) else option
    if isinstance(plain, bool) or isinstance(value, bool) or plain is None:
        return plain is value
    if isinstance(plain, (int, float)) and isinstance(value, (int, float)):
        return bool(plain == value)
    return type(plain) is type(value) and bool(plain == value)


_EXPECTED = {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}


def _convert(tp: Any, value: Any, path: str) -> Any:
    """``value`` (decoded JSON) as the annotation ``tp`` says, or ValueError naming ``path``."""
    tp = unwrap(tp)
    origin, args = get_origin(tp), get_args(tp)
    if tp is Any or tp is object:
        return value
    if tp is None or tp is NONE_TYPE:
        return value if value is None else _fail(path, "expected null", value)
    if origin is Literal:
        for option in args:
            if _literal_matches(option, value):
                return option
        allowed = ", ".join(repr(o.value if isinstance(o, enum.Enum) else o) for o in args)
        _fail(path, f"expected one of {allowed}", value)
    if origin is Union or origin is types.UnionType:
        if value is None and admits_none(tp):
            return None
        options = [arg for arg in args if unwrap(arg) is not NONE_TYPE]
        if len(options) == 1:
            return _convert(options[0], value, path)
        for option in options:
            try:
                return _convert(option, value, path)
            except ValueError:
                continue
        _fail(path, f"expected {type_name(tp)}", value)
    if origin is tuple or origin in ARRAYS or tp in (list, tuple):
        if not isinstance(value, (list, tuple)):
            _fail(path, "expected a list", value)
        if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
            if len(args) != len(value):
                _fail(path, f"expected a list of {len(args)} items", value)
            pairs = enumerate(zip(args, value, strict=True))
            return tuple(_convert(a, v, _join(path, i)) for i, (a, v) in pairs)
        item = args[0] if args else Any
        items = [_convert(item, v, _join(path, i)) for i, v in enumerate(value)]
        return tuple(items) if origin is tuple or tp is tuple else items
    if origin in MAPPINGS or tp in MAPPINGS:
        if not isinstance(value, dict):
            _fail(path, "expected an object", value)
        item = args[1] if len(args) == 2 else Any
        return {k: _convert(item, v, _join(path, str(k))) for k, v in value.items()}
    if origin is None and isinstance(tp, type):
        if issubclass(tp, enum.Enum):
            if isinstance(value, tp):
                return value
            try:
                return tp(value)
            except (ValueError, TypeError):
                allowed = ", ".join(repr(member.value) for member in tp)
                _fail(path, f"expected one of {allowed}", value)
        kind = class_kind(tp)
        if kind is not None:
            return _build(tp, kind, value, path)
        if tp in _EXPECTED:
            return _scalar(tp, value, path)
    raise TypeError(f"{path}: {type_name(tp)} is not supported")


def _scalar(tp: type, value: Any, path: str) -> Any:
    if tp is bool:
        ok = isinstance(value, bool)
    elif tp is str:
        ok = isinstance(value, str)
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        ok = False
    elif tp is int:
        if isinstance(value, float) and value.is_integer():
            return int(value)  # JSON does not tell 3 from 3.0
        ok = isinstance(value, int)
    else:
        return float(value)
    return value if ok else _fail(path, f"expected {_EXPECTED[tp]}", value)


def _build(cls: type, kind: str, value: Any, path: str) -> Any:
    """An instance of a supported class (a dict for a TypedDict) from a decoded JSON object."""
    if kind == "pydantic":
        try:
            return cast(Any, cls).model_validate(value)
        except ValueError as exc:
            raise ValueError(_pydantic_message(exc, path)) from None
    if not isinstance(value, dict):
        _fail(path, "expected an object", value)
    fields = class_fields(cls)
    known = {field.key for field in fields}
    for key in value:
        if key not in known:
            raise ValueError(f"{_join(path, str(key))}: unexpected key "
                             f"(not a field of {cls.__qualname__})")
    kwargs: dict[str, Any] = {}
    for field in fields:
        where = _join(path, field.key)
        if field.key not in value:
            if field.optional:
                continue
            raise ValueError(f"{where}: missing (a required field of {cls.__qualname__})")
        item = value[field.key]
        if item is None and field.none_default and not admits_none(field.tp):
            if kind != "typeddict":  # a TypedDict's NotRequired key is then left out
                kwargs[field.arg] = None
            continue
        kwargs[field.arg] = _convert(field.tp, item, where)
    if kind == "typeddict":
        return kwargs
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:  # validators and converters of the class
        raise ValueError(f"{path or cls.__qualname__}: {exc}") from exc


# -- function tools --------------------------------------------------------------------------


def _signature(fn: Callable[..., object]) -> tuple[inspect.Signature, dict[str, Any], str]:
    """Signature, resolved hints and a label; TypeError for what a schema cannot describe."""
    target: Any = fn.func if isinstance(fn, functools.partial) else fn
    if not (inspect.isroutine(target) or inspect.isclass(target)):
        target = type(target).__call__  # a callable object
    label = getattr(target, "__qualname__", None) or repr(fn)
    try:
        signature = inspect.signature(fn)
        hints = typing.get_type_hints(target, include_extras=True)
    except Exception as exc:
        raise TypeError(f"cannot read the signature of {label}: {exc}") from exc
    for p in signature.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            stars = "*" if p.kind is p.VAR_POSITIONAL else "**"
            raise TypeError(f"{label}: {stars}{p.name} cannot be described by a JSON schema; "
                            "a tool takes named parameters only")
        if p.name not in hints:
            raise TypeError(f"parameter {p.name!r} of {label} has no type annotation; every "
                            "parameter needs one to build the tool's schema")
    return signature, hints, label


_SECTION = re.compile(r"^([A-Za-z][A-Za-z ]*):\s*$")
_ARGS_SECTIONS = {"args", "arguments", "parameters", "params", "keyword args",
                  "keyword arguments", "other parameters"}
_OTHER_SECTIONS = {"returns", "return", "yields", "yield", "raises", "examples", "example",
                   "notes", "note", "attributes", "see also", "warning", "warnings", "todo",
                   "references"}
_GOOGLE_ENTRY = re.compile(r"^\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:(.*)$")
_REST_PARAM = re.compile(
    r"^:(?:param|parameter|arg|argument|key|keyword)\s+(?:[^:]*\s)?(\w+)\s*:(.*)$"
)


def _section(line: str) -> str | None:
    """The lower-cased name of a docstring section header (``Args:``), or None."""
    match = _SECTION.match(line.strip())
    name = match.group(1).lower() if match else None
    return name if name in _ARGS_SECTIONS or name in _OTHER_SECTIONS else None


def _parse_docstring(doc: str | None) -> tuple[str | None, dict[str, str]]:
    """The summary (first paragraph) and per-parameter texts of a Google-style (``Args:``)
    or reST (``:param name:``) docstring; the model reads both to call the tool well."""
    if not doc:
        return None, {}
    lines = inspect.cleandoc(doc).splitlines()
    head: list[str] = []
    for line in lines:
        if not line.strip() or _section(line) or line.startswith(":"):
            break
        head.append(line)
    texts: dict[str, list[str]] = {}
    current: str | None = None
    section: int | None = None  # indent of the current Args: header
    entry: int | None = None  # indent of its entries
    for line in lines:
        text, indent = line.strip(), len(line) - len(line.lstrip())
        if not text:
            continue
        if section is not None and indent <= section:
            section = current = None
        header = _section(line)
        if header:
            section = indent if header in _ARGS_SECTIONS else None
            entry = current = None
            continue
        if section is not None:
            entry = indent if entry is None else entry
            match = _GOOGLE_ENTRY.match(text) if indent <= entry else None
            if match:
                current = match.group(1)
                texts[current] = [match.group(2).strip()]
            elif current is not None and indent > entry:
                texts[current].append(text)
            continue
        match = _REST_PARAM.match(text) if indent == 0 else None
        if match:
            current = match.group(1)
            texts[current] = [match.group(2).strip()]
        elif current is not None and indent > 0:
            texts[current].append(text)
        else:
            current = None
    params = {name: " ".join(t for t in parts if t) for name, parts in texts.items()}
    return first_paragraph("\n".join(head)), {k: v for k, v in params.items() if v}


def function_tool_fields(
    fn: Callable[..., object], *, name: str | None = None, strict: bool = True
) -> dict[str, Any]:
    """The fields of an ``OpenAITool`` describing ``fn``: name, docstring summary, a parameters
    schema from the type hints (per-parameter descriptions from the docstring) and the handler.

    In strict mode every parameter is ``required`` and one defaulting to None is nullable;
    with ``strict=False`` parameters with a default are optional. Raises TypeError for an
    unannotated parameter or ``*args``/``**kwargs``, ValueError for a name the API refuses.
    """
    signature, hints, label = _signature(fn)
    target = fn.func if isinstance(fn, functools.partial) else fn
    tool_name = name if name is not None else schema_name(target)
    if not _API_NAME.match(tool_name):
        raise ValueError(f"tool name {tool_name!r} must match {_API_NAME.pattern}")
    summary, texts = _parse_docstring(inspect.getdoc(target))
    builder = SchemaBuilder(None, strict=strict)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for p in signature.parameters.values():
        schema = builder.schema(hints[p.name], f"{label}({p.name})")
        if p.default is None:
            schema = nullable(schema)
        if p.name in texts:
            schema = {**schema, "description": texts[p.name]}
        properties[p.name] = schema
        if strict or p.default is p.empty:
            required.append(p.name)
    parameters: dict[str, Any] = {"type": "object", "properties": properties,
                                  "required": required}
    if strict:
        parameters["additionalProperties"] = False
    return {
        "type": "function", "name": tool_name, "description": summary,
        "parameters": builder.finish(parameters), "strict": strict, "handler": fn,
    }


def call_with_arguments(fn: Callable[..., R], arguments: Mapping[str, Any] | str) -> R:
    """Call ``fn`` with a tool call's arguments (a JSON object, decoded or not), each converted
    to its annotated type as ``parse_as`` does (nested classes, Enum members).

    Raises ValueError naming the argument when one is missing, unknown or does not fit; what
    ``fn`` itself raises propagates unchanged.
    """
    if isinstance(arguments, (str, bytes, bytearray)):
        try:
            arguments = json.loads(arguments)
        except ValueError as exc:
            raise ValueError(f"invalid JSON arguments: {exc}") from None
    if not isinstance(arguments, Mapping):
        raise ValueError(f"the arguments must be a JSON object, got {_show(arguments)}")
    signature, hints, label = _signature(fn)
    for key in arguments:
        if key not in signature.parameters:
            raise ValueError(f"{key}: unexpected argument (not a parameter of {label})")
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for p in signature.parameters.values():
        if p.name in arguments:
            value = arguments[p.name]
            if not (value is None and p.default is None):
                value = _convert(hints[p.name], value, p.name)
        elif p.default is not p.empty:
            value = p.default
        else:
            raise ValueError(f"{p.name}: missing argument of {label}")
        if p.kind is p.POSITIONAL_ONLY:
            args.append(value)
        else:
            kwargs[p.name] = value
    return fn(*args, **kwargs)
