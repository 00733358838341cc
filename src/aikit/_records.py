"""The 4D-style constructor shared by data and parameter classes.

4D code builds objects from one dict (``OpenAIMessage({"role": "user", ...})``); Python code uses
keywords. Both work here, camelCase keys are mapped to their snake_case field, and keys a class
does not model are kept in ``extra`` instead of being dropped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar, TypeVar

import attrs

__all__ = ["Record", "snake_case"]

_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")
_R = TypeVar("_R", bound="Record")
#: Per class: the field names `Record._from_dict` may pass straight to ``__attrs_init__``
#: (empty when the class needs its full constructor).
_PLAIN_FIELDS: dict[type, frozenset[str]] = {}


def snake_case(key: str) -> str:
    """``maxRetries`` -> ``max_retries``; ``imageURL`` -> ``image_url``; snake keys unchanged."""
    if key.islower() or not any(c.isupper() for c in key):
        return key
    return _CAMEL.sub(r"_\1", key).lower().replace("u_r_l", "url")


@attrs.define(init=False, eq=False)
class Record:
    """Base for attrs classes built from a dict and/or keyword arguments.

    Subclasses are ``@attrs.define(init=False)``; their fields are set from the merged input and
    anything else lands in ``extra`` (in input order).
    """

    extra: dict[str, Any] = attrs.field(factory=dict, kw_only=True)

    #: Input keys that name a field differently (e.g. 4D's ``category_score``).
    _aliases: ClassVar[dict[str, str]] = {}

    def __init__(self, data: Mapping[str, Any] | Record | None = None, /, **kwargs: Any) -> None:
        merged = self._merge_input(data, kwargs)
        fields = self._field_names()
        known: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in merged.items():
            name = self._aliases.get(key) or key
            if name not in fields:
                snake = snake_case(name)
                name = self._aliases.get(snake, snake)
            if name in fields and name != "extra":
                known[name] = value
            elif key == "extra" and isinstance(value, Mapping):
                extra.update(value)
            else:
                extra[key] = value
        self.__attrs_init__(**known, extra=extra)

    @classmethod
    def _from_dict(cls: type[_R], data: dict[str, Any]) -> _R:
        """``cls(data)``, built faster when every key is a field name or a lower-case extra key.

        A stream builds a message and a choice for every chunk it reads, so the per-key merging
        and camelCase lookups of ``__init__`` are skipped. Anything else (aliases, camelCase or
        ``extra`` keys, a subclass constructor) goes through ``cls(data)``. Validators,
        converters and ``__attrs_post_init__`` still run.
        """
        fields = _PLAIN_FIELDS.get(cls)
        if fields is None:
            plain = not cls._aliases and cls.__init__ is Record.__init__
            fields = _PLAIN_FIELDS[cls] = cls._field_names() - {"extra"} if plain else frozenset()
        if not fields:
            return cls(data)
        if data.keys() <= fields:  # the usual case: fields only, nothing for ``extra``
            self = cls.__new__(cls)
            self.__attrs_init__(**data, extra={})
            return self
        known: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in data.items():
            if key in fields:
                known[key] = value
            elif key.islower() and key != "extra":  # snake_case(key) is key: an extra key
                extra[key] = value
            else:
                return cls(data)
        self = cls.__new__(cls)
        self.__attrs_init__(**known, extra=extra)
        return self

    @classmethod
    def _merge_input(
        cls, data: Mapping[str, Any] | Record | None, kwargs: Mapping[str, Any]
    ) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        if isinstance(data, Record):
            merged.update(data.to_dict())
        elif isinstance(data, Mapping):
            merged.update(data)
        elif data is not None:
            raise TypeError(
                f"{cls.__name__}() takes a dict or keyword arguments, "
                f"not {type(data).__name__}"
            )
        merged.update(kwargs)
        return merged

    @classmethod
    def _field_names(cls) -> frozenset[str]:
        cached: frozenset[str] | None = cls.__dict__.get("_aikit_fields")
        if cached is None:
            cached = frozenset(a.name for a in attrs.fields(cls))
            cls._aikit_fields = cached  # type: ignore[attr-defined]
        return cached

    def to_dict(self) -> dict[str, Any]:
        """Every field that is set (not None), then ``extra``; a shallow copy."""
        out: dict[str, Any] = {}
        for a in attrs.fields(type(self)):
            if a.name == "extra":
                continue
            value = getattr(self, a.name)
            if value is not None:
                out[a.name] = value
        out.update(self.extra)
        return out

    def __getattr__(self, name: str) -> Any:
        # Keys the class does not model stay readable as attributes, as in 4D.
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            extra = object.__getattribute__(self, "extra")
        except AttributeError:
            raise AttributeError(name) from None
        if name in extra:
            return extra[name]
        raise AttributeError(f"{type(self).__name__!s} has no attribute {name!r}")
