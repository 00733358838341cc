"""Options of the Responses API calls (4D's ``OpenAIResponsesParameters`` and its siblings).

Fixed against 4D's port: function tools and a function ``tool_choice`` go in the flat shape the
Responses API reads (4D sent the nested Chat shape, which the API rejects); ``store``,
``parallel_tool_calls`` and ``stream_options`` are sent only when given (4D always sent the
first two and sent ``stream_options`` without ``stream``); empty ``tools``/``include`` lists are
not sent; every call has the chat default model (4D had none, so ``compact`` failed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import attrs

from ._chat_parameters import DEFAULT_CHAT_MODEL, to_tools
from ._parameters_base import OpenAIParameters, one_of, optional
from ._settings import check_int, check_mapping, check_number, check_str
from .objects import OpenAITool

__all__ = [
    "OpenAIResponsesCompactParameters",
    "OpenAIResponsesInputItemsParameters",
    "OpenAIResponsesInputTokensParameters",
    "OpenAIResponsesParameters",
    "OpenAIResponsesRetrieveParameters",
    "flat_tool_choice",
]


def _default_model(value: Any) -> Any:
    return DEFAULT_CHAT_MODEL if value is None else value


def _to_bool(value: Any) -> bool:
    return bool(value)


def flat_tool_choice(value: Any) -> Any:
    """``tool_choice`` as the Responses API reads it: ``{"type": "function", "name": ...}``;
    the Chat shape ``{"type": "function", "function": {"name": ...}}`` is flattened."""
    if isinstance(value, Mapping) and value.get("type") == "function":
        inner = value.get("function")
        if isinstance(inner, Mapping) and "name" in inner:
            return {"type": "function", "name": inner["name"]}
    return value


def _tools_body(tools: Sequence[OpenAITool] | None) -> list[dict[str, Any]] | None:
    converted = to_tools(tools)
    return [tool.to_responses_body() for tool in converted] if converted else None


@attrs.define(eq=False, kw_only=True)
class _ModelParameters(OpenAIParameters):
    """A ``model`` with the chat default (gpt-4o-mini), and the flat tool shapes."""

    model: str = attrs.field(
        default=DEFAULT_CHAT_MODEL, converter=_default_model, validator=optional(check_str)
    )

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.user:
            out["user"] = self.user
        if self.model:
            out["model"] = self.model
        for name in self.PLAIN_FIELDS:
            value = getattr(self, name)
            if value is None or (name in ("tools", "include") and not value):
                continue
            if name == "tools":
                value = _tools_body(value)
            elif name == "tool_choice":
                value = flat_tool_choice(value)
            out[name] = value
        out.update(self._extra_body())
        return out


@attrs.define(eq=False, kw_only=True)
class OpenAIResponsesParameters(_ModelParameters):
    """Options of ``responses.create()`` and ``responses.stream()`` (``input`` is their
    argument). ``stream_options`` is sent only with ``stream=True``; ``on_data`` receives each
    event of a stream, or each status change of a polled background response."""

    stream: bool = attrs.field(default=False, converter=_to_bool)
    stream_options: Mapping[str, Any] | None = attrs.field(
        default=None, validator=optional(check_mapping)
    )
    instructions: str | None = attrs.field(default=None, validator=optional(check_str))
    previous_response_id: str | None = attrs.field(default=None, validator=optional(check_str))
    conversation: str | Mapping[str, Any] | None = None
    tools: list[OpenAITool] | None = attrs.field(default=None, converter=to_tools)
    tool_choice: str | Mapping[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    max_tool_calls: int | None = attrs.field(default=None, validator=optional(check_int, 1))
    max_output_tokens: int | None = attrs.field(default=None, validator=optional(check_int, 1))
    temperature: float | None = attrs.field(default=None, validator=optional(check_number, 0, 2))
    top_p: float | None = attrs.field(default=None, validator=optional(check_number, 0, 1))
    top_logprobs: int | None = attrs.field(default=None, validator=optional(check_int, 0))
    text: Mapping[str, Any] | None = attrs.field(default=None, validator=optional(check_mapping))
    reasoning: Mapping[str, Any] | None = attrs.field(
        default=None, validator=optional(check_mapping)
    )
    include: Sequence[str] | None = None
    #: Run the response in the background: with callbacks it is polled (or streamed and, on a
    #: dropped connection, resumed) until it ends; ``terminate()`` then also cancels it.
    background: bool | None = None
    store: bool | None = None
    metadata: Mapping[str, str] | None = attrs.field(
        default=None, validator=optional(check_mapping)
    )
    service_tier: str | None = attrs.field(default=None, validator=optional(check_str))
    truncation: str | None = attrs.field(default=None, validator=one_of("auto", "disabled"))
    prompt: Mapping[str, Any] | None = None
    context_management: Sequence[Mapping[str, Any]] | None = None
    moderation: Mapping[str, Any] | None = None
    safety_identifier: str | None = attrs.field(default=None, validator=optional(check_str))
    prompt_cache_key: str | None = attrs.field(default=None, validator=optional(check_str))
    prompt_cache_retention: str | None = attrs.field(
        default=None, validator=optional(check_str)
    )
    prompt_cache_options: Mapping[str, Any] | None = None

    PLAIN_FIELDS: ClassVar[tuple[str, ...]] = (
        "instructions", "conversation", "previous_response_id", "include", "text",
        "max_output_tokens", "tools", "tool_choice", "max_tool_calls", "parallel_tool_calls",
        "temperature", "top_p", "top_logprobs", "reasoning", "metadata", "prompt",
        "context_management", "moderation", "prompt_cache_key", "prompt_cache_retention",
        "prompt_cache_options", "background", "store", "safety_identifier", "service_tier",
        "truncation",
    )

    @property
    def is_async(self) -> bool:
        """Callback mode also when ``on_data`` follows a background response's status."""
        return super().is_async or (bool(self.on_data) and bool(self.background))

    def body(self) -> dict[str, Any]:
        """The request body without ``input`` (the resource appends it)."""
        out = super().body()
        if self.stream:
            out["stream"] = True
            if self.stream_options is not None:
                out["stream_options"] = self.stream_options
        return out


@attrs.define(eq=False, kw_only=True)
class OpenAIResponsesInputTokensParameters(_ModelParameters):
    """Options of ``responses.input_tokens.count()``: the request fields that shape the input
    (no ``include``, which that endpoint does not define; 4D sent it)."""

    instructions: str | None = attrs.field(default=None, validator=optional(check_str))
    previous_response_id: str | None = attrs.field(default=None, validator=optional(check_str))
    conversation: str | Mapping[str, Any] | None = None
    tools: list[OpenAITool] | None = attrs.field(default=None, converter=to_tools)
    tool_choice: str | Mapping[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    text: Mapping[str, Any] | None = attrs.field(default=None, validator=optional(check_mapping))
    reasoning: Mapping[str, Any] | None = attrs.field(
        default=None, validator=optional(check_mapping)
    )
    truncation: str | None = attrs.field(default=None, validator=one_of("auto", "disabled"))
    personality: str | None = attrs.field(default=None, validator=optional(check_str))

    PLAIN_FIELDS: ClassVar[tuple[str, ...]] = (
        "instructions", "conversation", "previous_response_id", "tools", "tool_choice",
        "parallel_tool_calls", "text", "reasoning", "truncation", "personality",
    )


@attrs.define(eq=False, kw_only=True)
class OpenAIResponsesCompactParameters(_ModelParameters):
    """Options of ``responses.compact()``; ``model`` is required by the API, so the chat
    default is sent when none is given."""

    previous_response_id: str | None = attrs.field(default=None, validator=optional(check_str))
    instructions: str | None = attrs.field(default=None, validator=optional(check_str))
    prompt_cache_key: str | None = attrs.field(default=None, validator=optional(check_str))
    prompt_cache_retention: str | None = attrs.field(
        default=None, validator=optional(check_str)
    )
    prompt_cache_options: Mapping[str, Any] | None = None
    service_tier: str | None = attrs.field(default=None, validator=optional(check_str))

    PLAIN_FIELDS: ClassVar[tuple[str, ...]] = (
        "previous_response_id", "instructions", "prompt_cache_key", "prompt_cache_retention",
        "prompt_cache_options", "service_tier",
    )


def _include_pairs(include: Sequence[str] | None) -> list[tuple[str, str]]:
    return [("include[]", str(value)) for value in include or ()]


@attrs.define(eq=False, kw_only=True)
class OpenAIResponsesRetrieveParameters(OpenAIParameters):
    """Options of ``responses.retrieve()``: ``include[]`` values, and ``starting_after`` /
    ``include_obfuscation`` for a resumed stream (4D could pass none of them)."""

    include: Sequence[str] | None = None
    starting_after: int | None = attrs.field(default=None, validator=optional(check_int, 0))
    include_obfuscation: bool | None = None

    def query(self) -> list[tuple[str, str]]:
        pairs = _include_pairs(self.include)
        if self.starting_after is not None:
            pairs.append(("starting_after", str(self.starting_after)))
        if self.include_obfuscation is not None:
            pairs.append(("include_obfuscation", "true" if self.include_obfuscation else "false"))
        return pairs


@attrs.define(eq=False, kw_only=True)
class OpenAIResponsesInputItemsParameters(OpenAIParameters):
    """Options of ``responses.input_items.list()``; ``order`` only when given (4D always sent
    ``asc``), ``include`` as repeated ``include[]`` values, no ``user``."""

    after: str | None = attrs.field(default=None, validator=optional(check_str))
    limit: int | None = attrs.field(default=None, validator=optional(check_int, 1))
    order: str | None = attrs.field(default=None, validator=one_of("asc", "desc"))
    include: Sequence[str] | None = None

    def query(self) -> list[tuple[str, str]]:
        pairs: list[tuple[str, str]] = []
        if self.after:
            pairs.append(("after", self.after))
        if self.limit is not None:
            pairs.append(("limit", str(self.limit)))
        if self.order:
            pairs.append(("order", self.order))
        pairs.extend(_include_pairs(self.include))
        return pairs
