"""``OpenAITool``: a tool offered to the model, in every shape 4D and the two APIs use.

Kept flat (4D's shape) and put in each API's wire shape by ``to_body()`` (Chat Completions)
and ``to_responses_body()`` (the Responses API). ``aikit.objects`` exports it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from ._records import Record

__all__ = ["OpenAITool"]



def _to_strict(value: Any) -> bool | None:
    return None if value is None else bool(value)


def _plain(value: Any) -> dict[str, Any]:
    if isinstance(value, Record):
        return value.to_dict()
    return dict(value)


@attrs.define(eq=False, kw_only=True)
class OpenAITool(Record):
    """A tool offered to the model, kept flat (4D shape) and put in the wire shape by
    ``to_body()``.

    Accepted inputs: the OpenAI shape ``{"type": "function", "function": {...}, "strict": ...}``,
    the flat ``{"name", "description", "parameters"}``, the compound ``{"tool": ...,
    "handler": ...}``, custom tools as ``{"type": "custom", "custom": {...}}`` or flat, and
    built-in tools (``{"type": "web_search", ...}``) whose other keys are sent as given.
    """

    type: str = "function"
    name: str | None = None
    description: str | None = None
    parameters: dict[str, Any] | None = None
    #: None means "not given", and then nothing is sent.
    strict: bool | None = attrs.field(default=None, converter=_to_strict)
    #: Input format of a custom tool.
    format: dict[str, Any] | None = None
    #: Called by the chat helper for this tool's calls; never sent.
    handler: object = None

    @classmethod
    def _normalize(cls, src: dict[str, Any]) -> dict[str, Any]:
        """Reduce every accepted input shape to the flat one."""
        tool = src.get("tool")
        if isinstance(tool, (Mapping, Record)):
            inner = _plain(tool)
            if src.get("handler") is not None and inner.get("handler") is None:
                inner["handler"] = src["handler"]
            src = inner
        kind = src.get("type") or "function"
        function = src.get("function")
        if kind == "function" and isinstance(function, Mapping):
            flat: dict[str, Any] = {"type": "function"}
            if "strict" in src:
                flat["strict"] = src["strict"]
            if src.get("handler") is not None:
                flat["handler"] = src["handler"]
            flat.update(function)  # a ``strict`` inside ``function`` wins, as in 4D
            return flat
        custom = src.get("custom")
        if kind == "custom" and isinstance(custom, Mapping):
            rest = {k: v for k, v in src.items() if k != "custom"}
            return {**rest, **custom}
        return dict(src)

    def to_body(self) -> dict[str, Any]:
        """The tool as the Chat Completions API expects it (spec ``ChatCompletionTool``,
        ``CustomToolChatCompletions``); ``handler`` is never sent."""
        if self.type == "function":
            function: dict[str, Any] = {}
            if self.name is not None:
                function["name"] = self.name
            if self.description:
                function["description"] = self.description
            if self.parameters is not None:
                function["parameters"] = self.parameters
            if self.strict is not None:
                function["strict"] = self.strict
            return {"type": "function", "function": function}
        if self.type == "custom":
            custom: dict[str, Any] = {}
            if self.name is not None:
                custom["name"] = self.name
            if self.description:
                custom["description"] = self.description
            if self.format is not None:
                custom["format"] = self.format
            return {"type": "custom", "custom": custom}
        return self._builtin_body()

    def to_responses_body(self) -> dict[str, Any]:
        """The tool as the Responses API expects it: function and custom tools are flat
        (``{"type": "function", "name", "description", "parameters", "strict"}``; the API
        requires ``parameters`` and ``strict``, null allowed); built-in tools as in chat."""
        if self.type in ("function", "custom"):
            body: dict[str, Any] = {"type": self.type, "name": self.name}
            if self.description:
                body["description"] = self.description
            if self.type == "function":
                body["parameters"] = self.parameters
                body["strict"] = self.strict
            elif self.format is not None:
                body["format"] = self.format
            return body
        return self._builtin_body()

    @classmethod
    def from_function(
        cls, fn: Callable[..., object], *, name: str | None = None, strict: bool = True
    ) -> OpenAITool:
        """A function tool declared from a typed Python function: the parameters schema from
        its signature, the description from its docstring (``Args:`` lines describe the
        parameters), and ``fn`` as its handler."""
        from .helpers.structured import call_with_arguments, function_tool_fields

        fields = function_tool_fields(fn, name=name, strict=strict)
        # The helpers call a handler with the arguments dict: convert it to fn's own types.
        fields["handler"] = functools.partial(call_with_arguments, fn)
        return cls(**fields)

    def _builtin_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.type}
        for key, value in self.to_dict().items():
            if key in ("type", "strict", "handler") or value is None:
                continue
            if key in ("name", "description") and not value:
                continue
            body[key] = value
        return body
