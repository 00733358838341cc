"""The base parameter class: options of every call, 4D camelCase or snake_case, dict or keywords.

Execution keys (callbacks, timeout, deadline, retries, headers, owner, throw, group) steer the
call and are never sent. Everything else is the request: ``body()`` for JSON endpoints,
``query()`` for the list endpoints, ``form_fields()`` for the file upload. Keys a class does not
model are sent as given (None values left out). Values are checked by the shared checks of
``_settings``, the same as client settings: TypeError for a wrong type, ValueError for a wrong
value.

The classes for each endpoint derive from ``OpenAIParameters`` and validate their fields with
``optional`` and ``one_of``; ``aikit.parameters`` exports them all.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import attrs

if TYPE_CHECKING:
    import requests

    from .process import Owner

from ._records import Record, snake_case
from ._settings import (
    check_callable,
    check_choice,
    check_headers,
    check_int,
    check_mapping,
    check_seconds,
)

__all__ = ["CALLBACK_FIELDS", "OpenAIParameters", "near_miss", "one_of", "optional"]

Callback = Callable[[Any], object]
P = TypeVar("P", bound="OpenAIParameters")
Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]

#: Callback fields; ``formula`` is 4D's name for ``on_terminate`` and also receives stream chunks.
CALLBACK_FIELDS = ("on_response", "on_error", "on_terminate", "formula", "on_data")
_CALLBACK_NAMES = (*CALLBACK_FIELDS, "on_retry", "onResponse", "onError", "onTerminate", "onData",
                   "onRetry")


def optional(check: Callable[..., Any], *args: Any) -> Validator:
    """An attrs validator: None passes, anything else goes through the shared ``check``
    (TypeError for a wrong type, ValueError for a wrong value, naming the field)."""

    def validate(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not None:
            check(value, attribute.name, *args)

    return validate


def check_group(value: Any, name: str) -> str:
    """A group name: a non-empty str."""
    if not isinstance(value, str):
        raise TypeError(f"`{name}` must be a str, not {type(value).__name__}")
    if not value:
        raise ValueError(f"`{name}` must not be empty")
    return value


def one_of(*allowed: str) -> Validator:
    """Like ``optional(check_choice)``, but ``""`` also means "not given" (4D's unset text)."""

    def validate(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not None and value != "":
            check_choice(value, attribute.name, allowed)

    return validate


@attrs.define(eq=False, kw_only=True)
class OpenAIParameters(Record):
    """Options every call accepts (4D ``OpenAIParameters``)."""

    #: Called with the result on success only (callback mode).
    on_response: Callback | None = attrs.field(
        default=None, validator=optional(check_callable), kw_only=True
    )
    #: Called with the result on failure only.
    on_error: Callback | None = attrs.field(
        default=None, validator=optional(check_callable), kw_only=True
    )
    #: Called with the result always, after on_response/on_error.
    on_terminate: Callback | None = attrs.field(
        default=None, validator=optional(check_callable), kw_only=True
    )
    #: 4D's legacy terminal callback: after on_terminate; also receives stream chunks.
    formula: Callback | None = attrs.field(
        default=None, validator=optional(check_callable), kw_only=True
    )
    #: Stream chunk callback (chat completions with ``stream=True``).
    on_data: Callback | None = attrs.field(
        default=None, validator=optional(check_callable), kw_only=True
    )
    #: Told of each retry (a ``RetryInfo``: attempt, delay, error) before its back-off: on the
    #: owner's thread in callback mode (before on_response/on_error), else on the caller's.
    on_retry: Callable[[Any], object] | None = attrs.field(
        default=None, validator=optional(check_callable), kw_only=True
    )
    #: Callback mode: the call's group (per owner and client), for ``exclusive``.
    group: str | None = attrs.field(default=None, validator=optional(check_group), kw_only=True)
    #: Callback mode: terminate the owner's older calls of ``group`` still in flight (their
    #: on_error + on_terminate run, kind ``terminated``) before this one is sent.
    exclusive: bool = attrs.field(default=False, kw_only=True)
    #: Raise the first error (sync mode) instead of only reporting it.
    throw: bool = attrs.field(default=False, kw_only=True)
    #: Seconds (> 0) for connect and each read, and for a whole non-stream attempt;
    #: None uses the client's timeout.
    timeout: float | None = attrs.field(
        default=None, validator=optional(check_seconds), kw_only=True
    )
    #: Seconds from now (> 0) for the whole call, retries and back-off included; None: none.
    deadline: float | None = attrs.field(
        default=None, validator=optional(check_seconds), kw_only=True
    )
    #: None uses the client's value; 0 disables retries for this call.
    max_retries: int | None = attrs.field(
        default=None, validator=optional(check_int, 0), kw_only=True
    )
    #: Highest-precedence headers for this call.
    extra_headers: dict[str, str] | None = attrs.field(
        default=None, validator=optional(check_headers), kw_only=True
    )
    #: Where callbacks run: a process, a worker name, or a form (default: the caller's).
    owner: Owner | str | int | None = attrs.field(default=None, kw_only=True)
    #: 4D ``httpAgent``: a ``requests.Session`` to send this call with.
    http_agent: requests.Session | None = attrs.field(default=None, kw_only=True)
    #: End-user id sent in JSON bodies.
    user: str | None = attrs.field(default=None, kw_only=True)
    #: Sent as given, last, over every other body field (a JSON body, or the upload's form).
    extra_body: Mapping[str, Any] | None = attrs.field(
        default=None, validator=optional(check_mapping), kw_only=True
    )
    #: Added as given to the URL's query string (e.g. Azure's ``api-version``).
    extra_query: Mapping[str, Any] | None = attrs.field(
        default=None, validator=optional(check_mapping), kw_only=True
    )

    #: Request fields sent as given when not None (a subclass lists its own).
    PLAIN_FIELDS: ClassVar[tuple[str, ...]] = ()

    #: Fields that steer the call and are never part of the request.
    EXECUTION_FIELDS: ClassVar[frozenset[str]] = frozenset(
        (
            *CALLBACK_FIELDS,
            "on_retry",
            "group",
            "exclusive",
            "throw",
            "timeout",
            "deadline",
            "max_retries",
            "extra_headers",
            "owner",
            "http_agent",
            "extra_body",
            "extra_query",
        )
    )

    def _check(self) -> None:
        if self.exclusive and not self.group:
            raise ValueError("`exclusive=True` needs a `group` (the calls it supersedes)")
        names = self._field_names()
        for key, value in self.extra.items():
            if callable(value) or _looks_like_callback(key):
                hint = difflib.get_close_matches(key, _CALLBACK_NAMES, n=1)
                did_you_mean = f" (did you mean {hint[0]!r}?)" if hint else ""
                raise ValueError(
                    f"unknown callback {key!r}{did_you_mean}; callbacks are "
                    "on_response, on_error, on_terminate, formula, on_data and on_retry"
                )
            near = near_miss(snake_case(key), names)
            if near is not None:
                raise ValueError(
                    f"unknown parameter {key!r} (did you mean {near!r}?); nothing was sent. "
                    f"To send it as it is, pass extra_body={{{key!r}: ...}}"
                )

    @classmethod
    def coerce(cls: type[P], params: Any = None, /, **kwargs: Any) -> P:
        """Build from None, a dict (camelCase or snake_case), or any parameters instance,
        with keyword arguments merged over it. Raises TypeError naming ``params``.

        Keys the class does not model go through the dict form: they are provider extensions
        and are sent, unless one is a near miss of a known field (``ValueError``).
        """
        if params is None:
            if kwargs.keys() <= cls._field_names():
                return cls(**kwargs)
            return cls(kwargs)
        if isinstance(params, cls) and not kwargs:
            return params
        if isinstance(params, Record):
            return cls({**params.to_dict(), **kwargs})
        if isinstance(params, Mapping):
            return cls({**params, **kwargs})
        raise TypeError(
            f"`params` must be None, a dict or an OpenAIParameters, not {type(params).__name__}"
        )

    @property
    def is_async(self) -> bool:
        """Callback mode: any terminal callback, or on_data while streaming."""
        if self.on_response or self.on_error or self.on_terminate or self.formula:
            return True
        return bool(self.on_data) and bool(getattr(self, "stream", False))

    def body(self) -> dict[str, Any]:
        """JSON body fields: ``user`` when set, then the keys this class does not model."""
        out: dict[str, Any] = {}
        if self.user:
            out["user"] = self.user
        self._add_plain(out)
        out.update(self._extra_body())
        return out

    def _add_plain(self, out: dict[str, Any]) -> None:
        for name in self.PLAIN_FIELDS:
            value = getattr(self, name)
            if value is not None:
                out[name] = value

    def _unmodelled(self) -> dict[str, Any]:
        """The keys given in a dict that the class does not model (None left out)."""
        return {k: v for k, v in self.extra.items() if v is not None}

    def _extra_body(self) -> dict[str, Any]:
        """What goes last in a body: the unmodelled keys, then ``extra_body`` as given."""
        out = self._unmodelled()
        if self.extra_body:
            out.update(self.extra_body)
        return out


def near_miss(key: str, names: Iterable[str]) -> str | None:
    """The known name ``key`` is most likely a typo of: within edit distance 2 (a swap of two
    neighbours counts 1), and at most a third of the name's length, so short provider
    extensions (``k``, ``tfs``) are not taken for typos; None when nothing is that close."""
    best: tuple[int, str] | None = None
    for name in names:
        if name == key or abs(len(name) - len(key)) > 2:
            continue
        limit = min(2, len(name) // 3)
        if limit == 0:
            continue
        distance = _distance(key, name, limit)
        if distance <= limit and (best is None or (distance, name) < best):
            best = (distance, name)
    return None if best is None else best[1]


def _distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance of ``a`` and ``b`` (``limit + 1`` once above it)."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def _looks_like_callback(key: str) -> bool:
    """``onRespose``, ``on_reponse``: a misspelt callback must not be sent as a body field."""
    snake = snake_case(key)
    return snake.startswith("on_") or key == "formula"
