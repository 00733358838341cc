"""The constructor shared by data and parameter classes: typed keywords, or one 4D dict.

Python code uses keywords, checked by attrs' generated ``__init__`` (an unknown keyword is a
``TypeError`` naming it, and mypy sees every field's type). 4D code builds objects from one dict
(``OpenAIMessage({"role": "user", ...})``): that is the explicit alternative path, the
positional ``data`` argument. Its camelCase keys map to their snake_case field, and keys a class
does not model are kept in ``extra`` instead of being dropped, so provider fields survive a round
trip. Attributes are only the fields: a typo raises ``AttributeError``; ``extra`` holds the rest.
See docs/architecture/typing.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar, TypeVar

import attrs

__all__ = ["Record", "snake_case"]

_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")
_R = TypeVar("_R", bound="Record")
#: Per class: its field names in order, and ``{name: default}`` of those with a plain default.
_ORDER: dict[type, tuple[str, ...]] = {}
_FIELDS: dict[type, frozenset[str]] = {}
_DEFAULTS: dict[type, dict[str, Any]] = {}
#: Per class: True when a dict of field names may go straight to the keyword ``__init__``.
_PLAIN: dict[type, bool] = {}


def snake_case(key: str) -> str:
    """``maxRetries`` -> ``max_retries``; ``imageURL`` -> ``image_url``; snake keys unchanged."""
    if key.islower() or not any(c.isupper() for c in key):
        return key
    return _CAMEL.sub(r"_\1", key).lower().replace("u_r_l", "url")


@attrs.define(eq=False)
class Record:
    """Base for the attrs data and parameter classes (``@attrs.define(eq=False, kw_only=True)``).

    ``data`` (positional) is the 4D form: a dict, or another record, merged under the keyword
    arguments (a keyword left at its default does not hide the dict's value).
    """

    _data: Mapping[str, Any] | Record | None = attrs.field(default=None, repr=False)
    #: Keys given in ``data`` that the class does not model, in input order.
    extra: dict[str, Any] = attrs.field(factory=dict, kw_only=True)

    #: Input keys that name a field differently (e.g. 4D's ``category_score``).
    _aliases: ClassVar[dict[str, str]] = {}

    def __attrs_post_init__(self) -> None:
        data = self._data
        if data is None:
            self._check()
            return
        self._data = None
        known, extra = self._split(self._normalize(self._as_dict(data)))
        # Keywords given with the dict win over it; the merged values go through attrs'
        # ``__init__`` once more, so converters and validators run as for keywords.
        defaults = _defaults(type(self))
        for name in _field_order(type(self)):
            value = getattr(self, name)
            default = defaults[name]
            if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
                if value != default.factory():
                    known[name] = value
            elif value is not default:
                known[name] = value
        extra.update(self.extra)
        type(self).__init__(self, **known, extra=extra)

    def _check(self) -> None:
        """Checks across fields, after construction (a subclass hook)."""

    @classmethod
    def _normalize(cls, data: dict[str, Any]) -> dict[str, Any]:
        """The 4D input shapes of a class reduced to its fields (a subclass hook)."""
        return data

    @classmethod
    def _as_dict(cls, data: object) -> dict[str, Any]:
        if isinstance(data, Record):
            return data.to_dict()
        if isinstance(data, Mapping):
            return dict(data)
        raise TypeError(
            f"{cls.__name__}() takes a dict or keyword arguments, not {type(data).__name__}"
        )

    @classmethod
    def _split(cls, data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """``(fields, extra)`` of a 4D dict: camelCase and aliases mapped to field names."""
        fields = cls._field_names()
        known: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in data.items():
            name = cls._aliases.get(key) or key
            if name not in fields:
                snake = snake_case(name)
                name = cls._aliases.get(snake, snake)
            if name in fields:
                known[name] = value
            elif key == "extra" and isinstance(value, Mapping):
                extra.update(value)
            else:
                extra[key] = value
        return known, extra

    @classmethod
    def _from_dict(cls: type[_R], data: dict[str, Any]) -> _R:
        """``cls(data)``, faster when every key is a field name (what a server sends).

        A stream builds a message and a choice for every chunk it reads, so the dict is only
        split, and the keyword ``__init__`` runs once. Aliases, camelCase and ``extra`` keys, or a
        class with its own input shapes, go through ``cls(data)``.
        """
        plain = _PLAIN.get(cls)
        if plain is None:
            plain = _PLAIN[cls] = not cls._aliases and (
                cls._normalize.__func__ is Record._normalize.__func__  # type: ignore[attr-defined]
            )
        if not plain:
            return cls(data)
        fields = cls._field_names()
        if data.keys() <= fields:  # the usual case: fields only, nothing for ``extra``
            return cls(**data)
        known: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in data.items():
            if key in fields:
                known[key] = value
            elif key.islower() and key != "extra":  # snake_case(key) is key: an extra key
                extra[key] = value
            else:
                return cls(data)
        return cls(**known, extra=extra)

    @classmethod
    def _field_names(cls) -> frozenset[str]:
        """The fields an input key may name (not ``extra`` nor the ``data`` argument)."""
        names = _FIELDS.get(cls)
        if names is None:
            names = _FIELDS[cls] = frozenset(_field_order(cls))
        return names

    def to_dict(self) -> dict[str, Any]:
        """Every field that is set (not None), then ``extra``; a shallow copy."""
        out: dict[str, Any] = {}
        for name in _field_order(type(self)):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        out.update(self.extra)
        return out


def _defaults(cls: type) -> dict[str, Any]:
    """``{field: default}``: a value, or the ``attrs.Factory`` that makes it."""
    found = _DEFAULTS.get(cls)
    if found is None:
        found = _DEFAULTS[cls] = {
            a.name: a.default for a in attrs.fields(cls) if a.name not in ("_data", "extra")
        }
    return found


def _field_order(cls: type) -> tuple[str, ...]:
    """The field names an input key may name, in definition order."""
    found = _ORDER.get(cls)
    if found is None:
        found = _ORDER[cls] = tuple(
            a.name for a in attrs.fields(cls) if a.name not in ("_data", "extra")
        )
    return found
