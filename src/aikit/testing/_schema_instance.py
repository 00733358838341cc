"""A minimal JSON instance of a JSON Schema: the fake model's answer to structured outputs.

The keywords structured outputs use are honoured: ``type`` (one or a list), ``properties`` and
``required`` (only required properties are filled), ``items``/``prefixItems``/``minItems``,
``enum``/``const`` (their first value), ``anyOf``/``oneOf`` (the first branch that is not
``null``), ``allOf`` (objects merged), ``$ref`` (``#/...`` pointers into ``$defs`` or
``definitions``), string lengths and a few ``format``s, and number bounds. Strings are ``"x"``,
numbers 0, booleans false, arrays one item long. ``pattern`` is not honoured.
"""

from __future__ import annotations

import json
import math
from typing import Any

JSONSchema = dict[str, Any]

_MAX_DEPTH = 8  # past it, recursion takes the way out: null branches, empty arrays
_GIVE_UP = 100  # a schema with no finite instance (a required self-reference) ends in null
_FORMATS = {
    "date-time": "2000-01-01T00:00:00Z",
    "date": "2000-01-01",
    "time": "00:00:00Z",
    "duration": "P1D",
    "email": "x@example.com",
    "hostname": "example.com",
    "ipv4": "127.0.0.1",
    "ipv6": "::1",
    "uri": "https://example.com/x",
    "uuid": "00000000-0000-0000-0000-000000000000",
}


def schema_instance(schema: Any) -> Any:
    """A small value valid against ``schema`` (see the module docstring for what is read)."""
    return _Builder(schema).build(schema, 0)


def schema_text(schema: Any) -> str:
    """The instance as JSON text, as a model would write it."""
    return json.dumps(schema_instance(schema), ensure_ascii=False)


class _Builder:
    def __init__(self, root: Any) -> None:
        self._root = root

    def build(self, schema: Any, depth: int) -> Any:
        if depth > _GIVE_UP:
            return None
        if not isinstance(schema, dict):
            return "x"  # true (or a malformed schema): anything goes
        if "$ref" in schema:
            target = self._resolve(schema["$ref"])
            siblings = {key: value for key, value in schema.items() if key != "$ref"}
            merged = {**target, **siblings} if isinstance(target, dict) else siblings
            return self.build(merged, depth + 1)
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return schema["enum"][0]
        for keyword in ("anyOf", "oneOf"):
            branches = schema.get(keyword)
            if isinstance(branches, list) and branches:
                return self.build(self._branch(branches, depth), depth + 1)
        parts = schema.get("allOf")
        if isinstance(parts, list) and parts:
            return self._all_of(schema, parts, depth)
        kind = self._type(schema, depth)
        if kind == "object":
            return self._object(schema, depth)
        if kind == "array":
            return self._array(schema, depth)
        if kind == "string":
            return self._string(schema)
        if kind in ("integer", "number"):
            return _number(schema, kind == "integer")
        if kind == "boolean":
            return False
        if kind == "null":
            return None
        return "x"

    def _resolve(self, ref: Any) -> Any:
        if not isinstance(ref, str) or not ref.startswith("#"):
            return {}
        target = self._root
        for raw in ref[1:].split("/")[1:]:
            key = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(target, dict) and key in target:
                target = target[key]
            elif isinstance(target, list) and key.isdigit() and int(key) < len(target):
                target = target[int(key)]
            else:
                return {}
        return target

    def _branch(self, branches: list[Any], depth: int) -> Any:
        """The first branch that is not ``null``; ``null`` itself when recursion runs deep."""
        nulls = [branch for branch in branches if _is_null(branch)]
        others = [branch for branch in branches if not _is_null(branch)]
        if nulls and (depth > _MAX_DEPTH or not others):
            return nulls[0]
        return others[0] if others else branches[0]

    def _all_of(self, schema: JSONSchema, parts: list[Any], depth: int) -> Any:
        rest = {key: value for key, value in schema.items() if key != "allOf"}
        values = [self.build(part, depth + 1) for part in parts]
        if rest:
            values.append(self.build(rest, depth + 1))
        if all(isinstance(value, dict) for value in values):
            merged: dict[str, Any] = {}
            for value in values:
                merged.update(value)
            return merged
        return values[0]

    def _type(self, schema: JSONSchema, depth: int) -> str | None:
        kind = schema.get("type")
        if isinstance(kind, list):
            names = [name for name in kind if isinstance(name, str)]
            if "null" in names and (depth > _MAX_DEPTH or len(names) == 1):
                return "null"
            others = [name for name in names if name != "null"]
            return others[0] if others else None
        if isinstance(kind, str):
            return kind
        if "properties" in schema or "required" in schema:
            return "object"
        if "items" in schema or "prefixItems" in schema:
            return "array"
        return None

    def _object(self, schema: JSONSchema, depth: int) -> dict[str, Any]:
        properties = schema.get("properties")
        properties = properties if isinstance(properties, dict) else {}
        required = schema.get("required")
        names = (
            [name for name in required if isinstance(name, str)]
            if isinstance(required, list)
            else []
        )
        wanted = schema.get("minProperties")
        if isinstance(wanted, int) and len(names) < wanted:
            names += [name for name in properties if name not in names][: wanted - len(names)]
        return {name: self.build(properties.get(name, {}), depth + 1) for name in names}

    def _array(self, schema: JSONSchema, depth: int) -> list[Any]:
        low = schema.get("minItems")
        high = schema.get("maxItems")
        count = low if isinstance(low, int) and low > 1 else 1
        if depth > _MAX_DEPTH or (isinstance(high, int) and high < count):
            count = low if isinstance(low, int) else 0
        prefix = schema.get("prefixItems")
        prefix = prefix if isinstance(prefix, list) else []
        items = schema.get("items", {})
        values = [self.build(prefix[index], depth + 1) for index in range(min(count, len(prefix)))]
        values += [self.build(items, depth + 1) for _ in range(count - len(values))]
        return values

    def _string(self, schema: JSONSchema) -> str:
        pattern = _FORMATS.get(str(schema.get("format")))
        if pattern is not None:
            return pattern
        low = schema.get("minLength")
        high = schema.get("maxLength")
        length = max(low, 1) if isinstance(low, int) else 1
        if isinstance(high, int):
            length = min(length, high)
        return "x" * length


def _is_null(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("type") == "null" and len(schema) <= 2


def _number(schema: JSONSchema, integer: bool) -> int | float:
    """0, or the first bound-derived candidate that meets every bound (and ``multipleOf``)."""
    bounds = {
        key: value
        for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")
        if isinstance(value := schema.get(key), (int, float)) and not isinstance(value, bool)
    }

    def fits(value: float) -> bool:
        step = bounds.get("multipleOf")
        return (
            value >= bounds.get("minimum", -math.inf)
            and value <= bounds.get("maximum", math.inf)
            and value > bounds.get("exclusiveMinimum", -math.inf)
            and value < bounds.get("exclusiveMaximum", math.inf)
            and (not step or math.isclose(value / step, round(value / step)))
        )

    low = max(bounds.get("minimum", -math.inf), bounds.get("exclusiveMinimum", -math.inf))
    high = min(bounds.get("maximum", math.inf), bounds.get("exclusiveMaximum", math.inf))
    candidates: list[float] = [0.0, low, high, low + 1, high - 1]
    if math.isfinite(low) and math.isfinite(high):
        candidates.append((low + high) / 2)
    step = bounds.get("multipleOf")
    if step and math.isfinite(low):
        candidates.append(math.ceil(low / step) * step)
        candidates.append((math.floor(low / step) + 1) * step)
    for candidate in candidates:
        if not math.isfinite(candidate):
            continue
        values = [math.ceil(candidate), math.floor(candidate)] if integer else [candidate]
        for value in values:
            if fits(value):
                return int(value) if integer or float(value).is_integer() else value
    return 0
