"""Options of ``chat.completions.create()``, and the conversions of its fields."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import attrs

from ._parameters_base import OpenAIParameters, optional
from ._records import Record
from ._settings import check_int, check_mapping, check_number, check_str
from .objects import OpenAITool

__all__ = ["DEFAULT_CHAT_MODEL", "OpenAIChatCompletionsParameters", "to_tools"]

#: 4D's default chat model, used when none is given.
DEFAULT_CHAT_MODEL = "gpt-4o-mini"


def _to_bool(value: Any) -> bool:
    return bool(value)


def _default_chat_model(value: Any) -> Any:
    return DEFAULT_CHAT_MODEL if value is None else value


def to_tools(value: Any) -> list[OpenAITool] | None:
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


@attrs.define(eq=False, kw_only=True)
class OpenAIChatCompletionsParameters(OpenAIParameters):
    """Options of ``chat.completions.create()``.

    Differences from 4D, on purpose: ``n`` and ``temperature`` are sent only when given,
    ``stream_options`` only when streaming, an empty ``tools`` list is not sent. Every other
    request field of the API has a field here too (``seed``, ``stop``, ``max_tokens``, ...),
    sent when not None; keys given in a dict that the class does not model are sent as given
    (provider extensions), unless one is a near miss of a known field (see ``OpenAIParameters``).
    """

    model: str = attrs.field(
        default=DEFAULT_CHAT_MODEL, converter=_default_chat_model, validator=optional(check_str)
    )
    stream: bool = attrs.field(default=False, converter=_to_bool)
    #: Sent only with ``stream=True`` (e.g. ``{"include_usage": True}``).
    stream_options: dict[str, Any] | None = attrs.field(
        default=None, validator=optional(check_mapping)
    )
    #: Sent when > 0.
    max_completion_tokens: int | None = attrs.field(
        default=None, validator=optional(check_int)
    )
    n: int | None = attrs.field(default=None, validator=optional(check_int, 1))
    #: 0 is sent; None is not.
    temperature: float | None = attrs.field(default=None, validator=optional(check_number, 0, 2))
    #: Sent when > 0 (4D rule).
    top_p: float | None = attrs.field(default=None, validator=optional(check_number))
    #: Sent when true.
    store: bool = attrs.field(default=False, converter=_to_bool)
    reasoning_effort: str | None = attrs.field(
        default=None, validator=optional(check_str)
    )
    response_format: dict[str, Any] | None = None
    tools: list[OpenAITool] | None = attrs.field(default=None, converter=to_tools)
    tool_choice: str | Mapping[str, Any] | None = None
    prediction: dict[str, Any] | None = None
    service_tier: str | None = attrs.field(default=None, validator=optional(check_str))
    metadata: dict[str, str] | None = attrs.field(
        default=None, validator=optional(check_mapping)
    )
    # The other request fields of the spec, sent as given when not None.
    frequency_penalty: float | None = attrs.field(
        default=None, validator=optional(check_number, -2, 2)
    )
    presence_penalty: float | None = attrs.field(
        default=None, validator=optional(check_number, -2, 2)
    )
    max_tokens: int | None = attrs.field(default=None, validator=optional(check_int, 1))
    seed: int | None = attrs.field(default=None, validator=optional(check_int))
    stop: str | Sequence[str] | None = None
    logit_bias: Mapping[str, int] | None = attrs.field(
        default=None, validator=optional(check_mapping)
    )
    logprobs: bool | None = None
    top_logprobs: int | None = attrs.field(default=None, validator=optional(check_int, 0))
    parallel_tool_calls: bool | None = None
    modalities: Sequence[str] | None = None
    audio: Mapping[str, Any] | None = attrs.field(default=None, validator=optional(check_mapping))
    verbosity: str | None = attrs.field(default=None, validator=optional(check_str))
    web_search_options: Mapping[str, Any] | None = attrs.field(
        default=None, validator=optional(check_mapping)
    )
    moderation: Mapping[str, Any] | None = None
    safety_identifier: str | None = attrs.field(default=None, validator=optional(check_str))
    prompt_cache_key: str | None = attrs.field(default=None, validator=optional(check_str))
    prompt_cache_retention: str | None = attrs.field(
        default=None, validator=optional(check_str)
    )
    prompt_cache_options: Mapping[str, Any] | None = None
    #: Deprecated by the API in favour of ``tools``/``tool_choice``; sent as given.
    functions: Sequence[Mapping[str, Any]] | None = None
    function_call: str | Mapping[str, Any] | None = None

    #: Fields sent as given when not None, after those with 4D's rules.
    PLAIN_FIELDS: ClassVar[tuple[str, ...]] = (
        "frequency_penalty", "presence_penalty", "max_tokens", "seed", "stop", "logit_bias",
        "logprobs", "top_logprobs", "parallel_tool_calls", "modalities", "audio", "verbosity",
        "web_search_options", "moderation", "safety_identifier", "prompt_cache_key",
        "prompt_cache_retention", "prompt_cache_options", "functions", "function_call",
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
        tools = to_tools(self.tools)
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
        self._add_plain(out)
        out.update(self._extra_body())
        return out
