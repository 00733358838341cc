"""Parameter classes: per-call options, 4D camelCase or snake_case, dict or keywords.

Execution keys (callbacks, timeout, deadline, retries, headers, owner, throw) steer the call and
are never sent. Everything else is the request: ``body()`` for JSON endpoints, ``query()`` for
the list endpoints, ``form_fields()`` for the file upload. Keys a class does not model are sent
as given (None values left out). Values are checked by the shared checks of ``_settings``, the
same as client settings: TypeError for a wrong type, ValueError for a wrong value.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar

import attrs

from ._records import Record, snake_case
from ._settings import (
    check_callable,
    check_choice,
    check_headers,
    check_int,
    check_mapping,
    check_number,
    check_seconds,
    check_str,
)
from .objects import OpenAITool

__all__ = [
    "OpenAIChatCompletionsListParameters",
    "OpenAIChatCompletionsMessagesParameters",
    "OpenAIChatCompletionsParameters",
    "OpenAIEmbeddingsParameters",
    "OpenAIFileListParameters",
    "OpenAIFileParameters",
    "OpenAIImageParameters",
    "OpenAIModerationParameters",
    "OpenAIParameters",
]

Callback = Callable[[Any], Any]
P = TypeVar("P", bound="OpenAIParameters")
Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]

#: Callback fields; ``formula`` is 4D's name for ``on_terminate`` and also receives stream chunks.
CALLBACK_FIELDS = ("on_response", "on_error", "on_terminate", "formula", "on_data")
_CALLBACK_NAMES = (*CALLBACK_FIELDS, "onResponse", "onError", "onTerminate", "onData")


def _optional(check: Callable[..., Any], *args: Any) -> Validator:
    """An attrs validator: None passes, anything else goes through the shared ``check``
    (TypeError for a wrong type, ValueError for a wrong value, naming the field)."""

    def validate(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not None:
            check(value, attribute.name, *args)

    return validate


def _one_of(*allowed: str) -> Validator:
    """Like ``_optional(check_choice)``, but ``""`` also means "not given" (4D's unset text)."""

    def validate(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not None and value != "":
            check_choice(value, attribute.name, allowed)

    return validate


@attrs.define(init=False, eq=False)
class OpenAIParameters(Record):
    """Options every call accepts (4D ``OpenAIParameters``)."""

    #: Called with the result on success only (callback mode).
    on_response: Callback | None = attrs.field(
        default=None, validator=_optional(check_callable), kw_only=True
    )
    #: Called with the result on failure only.
    on_error: Callback | None = attrs.field(
        default=None, validator=_optional(check_callable), kw_only=True
    )
    #: Called with the result always, after on_response/on_error.
    on_terminate: Callback | None = attrs.field(
        default=None, validator=_optional(check_callable), kw_only=True
    )
    #: 4D's legacy terminal callback: after on_terminate; also receives stream chunks.
    formula: Callback | None = attrs.field(
        default=None, validator=_optional(check_callable), kw_only=True
    )
    #: Stream chunk callback (chat completions with ``stream=True``).
    on_data: Callback | None = attrs.field(
        default=None, validator=_optional(check_callable), kw_only=True
    )
    #: Raise the first error (sync mode) instead of only reporting it.
    throw: bool = attrs.field(default=False, kw_only=True)
    #: Seconds (> 0) for connect and each read, and for a whole non-stream attempt;
    #: None uses the client's timeout.
    timeout: float | None = attrs.field(
        default=None, validator=_optional(check_seconds), kw_only=True
    )
    #: Seconds from now (> 0) for the whole call, retries and back-off included; None: none.
    deadline: float | None = attrs.field(
        default=None, validator=_optional(check_seconds), kw_only=True
    )
    #: None uses the client's value; 0 disables retries for this call.
    max_retries: int | None = attrs.field(
        default=None, validator=_optional(check_int, 0), kw_only=True
    )
    #: Highest-precedence headers for this call.
    extra_headers: dict[str, str] | None = attrs.field(
        default=None, validator=_optional(check_headers), kw_only=True
    )
    #: Where callbacks run: a process, a worker name, or a form (default: the caller's).
    owner: Any = attrs.field(default=None, kw_only=True)
    #: 4D ``httpAgent``: a ``requests.Session`` to send this call with.
    http_agent: Any = attrs.field(default=None, kw_only=True)
    #: End-user id sent in JSON bodies.
    user: str | None = attrs.field(default=None, kw_only=True)

    #: Fields that steer the call and are never part of the request.
    EXECUTION_FIELDS: ClassVar[frozenset[str]] = frozenset(
        (
            *CALLBACK_FIELDS,
            "throw",
            "timeout",
            "deadline",
            "max_retries",
            "extra_headers",
            "owner",
            "http_agent",
        )
    )

    def __attrs_post_init__(self) -> None:
        for key, value in self.extra.items():
            if callable(value) or _looks_like_callback(key):
                hint = difflib.get_close_matches(key, _CALLBACK_NAMES, n=1)
                did_you_mean = f" (did you mean {hint[0]!r}?)" if hint else ""
                raise ValueError(
                    f"unknown callback {key!r}{did_you_mean}; callbacks are "
                    "on_response, on_error, on_terminate, formula and on_data"
                )

    @classmethod
    def coerce(cls: type[P], params: Any = None, /, **kwargs: Any) -> P:
        """Build from None, a dict (camelCase or snake_case), or any parameters instance,
        with keyword arguments merged over it. Raises TypeError naming ``params``."""
        if params is None:
            return cls(**kwargs)
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
        out.update(self._extra_body())
        return out

    def _extra_body(self) -> dict[str, Any]:
        return {k: v for k, v in self.extra.items() if v is not None}


def _looks_like_callback(key: str) -> bool:
    """``onRespose``, ``on_reponse``: a misspelt callback must not be sent as a body field."""
    snake = snake_case(key)
    return snake.startswith("on_") or key == "formula"


# -- converters shared by the endpoint classes ---------------------------------------------

#: 4D's default chat model, used when none is given.
DEFAULT_CHAT_MODEL = "gpt-4o-mini"


def _to_bool(value: Any) -> bool:
    return bool(value)


def _default_chat_model(value: Any) -> Any:
    return DEFAULT_CHAT_MODEL if value is None else value


def _to_tools(value: Any) -> list[OpenAITool] | None:
    """``tools`` as OpenAITool instances (dicts in any shape OpenAITool accepts)."""
    if value is None:
        return None
    if not isinstance(value, (list, tuple)):
        raise TypeError(
            f"`tools` must be a list of OpenAITool or dicts, not {type(value).__name__}"
        )
    tools: list[OpenAITool] = []
    for i, item in enumerate(value):
        if isinstance(item, OpenAITool):
            tools.append(item)
        elif isinstance(item, (Mapping, Record)):
            tools.append(OpenAITool(item))
        else:
            raise TypeError(
                f"`tools[{i}]` must be an OpenAITool or a dict, not {type(item).__name__}"
            )
    return tools


def _text(value: Any) -> str:
    """A query or form value as text; booleans as JSON spells them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _pairs(key: str, value: Any) -> list[tuple[str, str]]:
    """One field as (name, text) pairs: dicts become ``key[sub]``, lists repeat the key."""
    if value is None:
        return []
    if isinstance(value, Mapping):
        return [(f"{key}[{k}]", _text(v)) for k, v in value.items() if v is not None]
    if isinstance(value, (list, tuple)):
        return [(key, _text(v)) for v in value if v is not None]
    return [(key, _text(value))]


# -- chat completions -----------------------------------------------------------------------


@attrs.define(init=False, eq=False)
class OpenAIChatCompletionsParameters(OpenAIParameters):
    """Options of ``chat.completions.create()``.

    Differences from 4D, on purpose: ``n`` and ``temperature`` are sent only when given,
    ``stream_options`` only when streaming, an empty ``tools`` list is not sent, and fields
    this class does not model (``seed``, ``stop``, ``max_tokens``, ``parallel_tool_calls``,
    ...) are sent as given instead of being dropped.
    """

    model: str = attrs.field(
        default=DEFAULT_CHAT_MODEL, converter=_default_chat_model, validator=_optional(check_str)
    )
    stream: bool = attrs.field(default=False, converter=_to_bool)
    #: Sent only with ``stream=True`` (e.g. ``{"include_usage": True}``).
    stream_options: dict[str, Any] | None = attrs.field(
        default=None, validator=_optional(check_mapping)
    )
    #: Sent when > 0.
    max_completion_tokens: int | None = attrs.field(
        default=None, validator=_optional(check_int)
    )
    n: int | None = attrs.field(default=None, validator=_optional(check_int, 1))
    #: 0 is sent; None is not.
    temperature: float | None = attrs.field(default=None, validator=_optional(check_number, 0, 2))
    #: Sent when > 0 (4D rule).
    top_p: float | None = attrs.field(default=None, validator=_optional(check_number))
    #: Sent when true.
    store: bool = attrs.field(default=False, converter=_to_bool)
    reasoning_effort: str | None = attrs.field(
        default=None, validator=_optional(check_str)
    )
    response_format: dict[str, Any] | None = None
    tools: list[OpenAITool] | None = attrs.field(default=None, converter=_to_tools)
    tool_choice: Any = None
    prediction: dict[str, Any] | None = None
    service_tier: str | None = attrs.field(default=None, validator=_optional(check_str))
    metadata: dict[str, str] | None = attrs.field(
        default=None, validator=_optional(check_mapping)
    )

    def body(self) -> dict[str, Any]:
        """The request body without ``messages`` (the resource appends them), in 4D's order."""
        out: dict[str, Any] = {}
        if self.user:
            out["user"] = self.user
        if self.model:
            out["model"] = self.model
        if self.max_completion_tokens is not None and self.max_completion_tokens > 0:
            out["max_completion_tokens"] = self.max_completion_tokens
        if self.n is not None:
            out["n"] = self.n
        if self.temperature is not None:
            out["temperature"] = self.temperature
        if self.top_p is not None and self.top_p > 0:
            out["top_p"] = self.top_p
        if self.store:
            out["store"] = True
        if self.stream:
            out["stream"] = True
            if self.stream_options is not None:
                out["stream_options"] = self.stream_options
        if self.reasoning_effort:
            out["reasoning_effort"] = self.reasoning_effort
        if self.response_format is not None:
            out["response_format"] = self.response_format
        # Re-converted here so tools appended to the list after construction are sent too.
        tools = _to_tools(self.tools)
        if tools:
            out["tools"] = [tool.to_body() for tool in tools]
        if self.tool_choice is not None:
            out["tool_choice"] = self.tool_choice
        if self.prediction is not None:
            out["prediction"] = self.prediction
        if self.service_tier:
            out["service_tier"] = self.service_tier
        if self.metadata is not None:
            out["metadata"] = self.metadata
        out.update(self._extra_body())
        return out


# -- list endpoints (GET with a query string) -----------------------------------------------


@attrs.define(init=False, eq=False)
class _ListParameters(OpenAIParameters):
    """Pagination shared by the list endpoints; ``order`` is sent only when given."""

    after: str | None = attrs.field(default=None, validator=_optional(check_str))
    #: Sent when > 0.
    limit: int | None = attrs.field(default=None, validator=_optional(check_int))
    order: str | None = attrs.field(default=None, validator=_one_of("asc", "desc"))

    def query(self) -> list[tuple[str, str]]:
        """Query-string pairs, values as text (booleans ``true``/``false``); ``user`` is not
        added (a GET has no end user to report) and unmodelled keys are passed through."""
        pairs: list[tuple[str, str]] = []
        if self.after:
            pairs.append(("after", self.after))
        if self.limit is not None and self.limit > 0:
            pairs.append(("limit", str(self.limit)))
        if self.order:
            pairs.append(("order", self.order))
        pairs.extend(self._more_query())
        for key, value in self._extra_body().items():
            pairs.extend(_pairs(key, value))
        return pairs

    def _more_query(self) -> list[tuple[str, str]]:
        return []

    def body(self) -> dict[str, Any]:
        """The query as a dict (a GET sends no body); prefer ``query()``."""
        return dict(self.query())


@attrs.define(init=False, eq=False)
class OpenAIChatCompletionsListParameters(_ListParameters):
    """Options of ``chat.completions.list()``; ``metadata={"k": "v"}`` is sent as
    ``metadata[k]=v``."""

    model: str | None = attrs.field(default=None, validator=_optional(check_str))
    metadata: dict[str, str] | None = attrs.field(
        default=None, validator=_optional(check_mapping)
    )

    def _more_query(self) -> list[tuple[str, str]]:
        pairs: list[tuple[str, str]] = []
        if self.model:
            pairs.append(("model", self.model))
        if self.metadata:
            pairs.extend(_pairs("metadata", self.metadata))
        return pairs


@attrs.define(init=False, eq=False)
class OpenAIChatCompletionsMessagesParameters(_ListParameters):
    """Options of ``chat.completions.messages.list()``."""


@attrs.define(init=False, eq=False)
class OpenAIFileListParameters(_ListParameters):
    """Options of ``files.list()``."""

    purpose: str | None = attrs.field(default=None, validator=_optional(check_str))

    def _more_query(self) -> list[tuple[str, str]]:
        return [("purpose", self.purpose)] if self.purpose else []


# -- embeddings, images, moderations, files -------------------------------------------------


@attrs.define(init=False, eq=False)
class OpenAIEmbeddingsParameters(OpenAIParameters):
    """Options of ``embeddings.create()`` (``input`` and ``model`` are its arguments)."""

    encoding_format: str | None = attrs.field(
        default=None, validator=_one_of("float", "base64")
    )
    dimensions: int | None = attrs.field(default=None, validator=_optional(check_int, 1))

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.user:
            out["user"] = self.user
        if self.encoding_format:
            out["encoding_format"] = self.encoding_format
        if self.dimensions is not None:
            out["dimensions"] = self.dimensions
        out.update(self._extra_body())
        return out


@attrs.define(init=False, eq=False)
class OpenAIImageParameters(OpenAIParameters):
    """Options of ``images.generate()``; 4D's defaults (dall-e-2, one 1024x1024 image as a URL).

    The default ``response_format="url"`` is not sent to GPT image models, which reject the
    field (they always answer base64).
    """

    model: str | None = attrs.field(default="dall-e-2", validator=_optional(check_str))
    n: int | None = attrs.field(default=1, validator=_optional(check_int, 1))
    size: str | None = attrs.field(default="1024x1024", validator=_optional(check_str))
    style: str | None = attrs.field(default=None, validator=_optional(check_str))
    quality: str | None = attrs.field(default=None, validator=_optional(check_str))
    response_format: str | None = attrs.field(
        default="url", validator=_one_of("url", "b64_json")
    )
    background: str | None = attrs.field(default=None, validator=_optional(check_str))
    output_format: str | None = attrs.field(default=None, validator=_optional(check_str))
    output_compression: int | None = attrs.field(
        default=None, validator=_optional(check_int, 0)
    )
    moderation: str | None = attrs.field(default=None, validator=_optional(check_str))

    def body(self) -> dict[str, Any]:
        """The request body without ``prompt`` (the resource adds it)."""
        out: dict[str, Any] = {}
        if self.user:
            out["user"] = self.user
        if self.model:
            out["model"] = self.model
        if self.n is not None:
            out["n"] = self.n
        for name in ("size", "style", "quality"):
            value = getattr(self, name)
            if value:
                out[name] = value
        gpt_image = (self.model or "").startswith("gpt-image")
        if self.response_format and not (gpt_image and self.response_format == "url"):
            out["response_format"] = self.response_format
        for name in ("background", "output_format", "output_compression", "moderation"):
            value = getattr(self, name)
            if value is not None and value != "":
                out[name] = value
        out.update(self._extra_body())
        return out


@attrs.define(init=False, eq=False)
class OpenAIModerationParameters(OpenAIParameters):
    """Options of ``moderations.create()``: the body is ``input`` and ``model`` (added by the
    resource) plus unmodelled keys; ``user`` is not sent, as in 4D (the endpoint has none)."""

    def body(self) -> dict[str, Any]:
        return self._extra_body()


@attrs.define(init=False, eq=False)
class OpenAIFileParameters(OpenAIParameters):
    """Options of ``files.create()`` (``purpose`` is its argument).

    ``filename`` names a ``bytes`` upload and is not a form field. ``expires_after`` becomes
    the fields ``expires_after[anchor]`` and ``expires_after[seconds]``; the anchor defaults to
    ``created_at``, the only one the API knows. ``user`` is not sent: the upload endpoint
    rejects unknown fields.
    """

    filename: str | None = attrs.field(default=None, validator=_optional(check_str))
    expires_after: dict[str, Any] | None = attrs.field(
        default=None, validator=_optional(check_mapping)
    )

    def body(self) -> dict[str, Any]:
        """Form fields before flattening: ``expires_after`` as a dict, then unmodelled keys."""
        out: dict[str, Any] = {}
        if self.expires_after is not None:
            expires: dict[str, Any] = {}
            anchor = self.expires_after.get("anchor")
            seconds = self.expires_after.get("seconds")
            if anchor:
                expires["anchor"] = anchor
            elif seconds:
                expires["anchor"] = "created_at"
            if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and seconds > 0:
                expires["seconds"] = int(seconds)
            if expires:
                out["expires_after"] = expires
        out.update(self._extra_body())
        return out

    def form_fields(self) -> list[tuple[str, str]]:
        """Multipart text fields as (name, value) pairs, dicts flattened to ``key[sub]``."""
        pairs: list[tuple[str, str]] = []
        for key, value in self.body().items():
            pairs.extend(_pairs(key, value))
        return pairs
