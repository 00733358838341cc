"""The tool side of ``OpenAIResponsesConversation``: registration (the chat helper's shapes) and
the Responses form of tool calls and their answers.

A reply's ``function_call`` (and ``custom_tool_call``) items are run with the chat helper's
``execute_tool_call`` — same handler lookup, same error texts — and each one gets exactly one
``function_call_output`` (``custom_tool_call_output``) item, so a response chained with
``previous_response_id`` never has an unanswered call (the API rejects the next request then).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .._logging import logger
from .._records import Record
from ..objects import OpenAITool
from .tools import execute_tool_call, iter_tool_specs, prepare_tool

__all__ = [
    "ToolRegistry",
    "answered_ids",
    "capped_outputs",
    "is_forced",
    "reply_calls",
    "run_calls",
]

#: Call item type -> the type of the item that answers it.
_ANSWER_TYPES = {"function_call": "function_call_output",
                 "custom_tool_call": "custom_tool_call_output"}


class ToolRegistry:
    """Tools sent with each request and the handlers that answer their calls; registration
    accepts every shape the chat helper accepts (``tools.prepare_tool``/``iter_tool_specs``),
    ``OpenAITool.from_function(fn)`` tools included (their handler calls ``fn`` with the
    arguments as keywords)."""

    _tools: list[OpenAITool]
    _handlers: dict[str, Any]

    def _init_tools(self) -> None:
        self._tools = []
        self._handlers = {}

    @property
    def tools(self) -> list[OpenAITool]:
        """The tools sent with each request (a copy; handlers are never sent)."""
        return list(self._tools)

    @property
    def tool_handlers(self) -> dict[str, Any]:
        """Tool name -> handler (a copy)."""
        return dict(self._handlers)

    def register_tool(self, tool: OpenAITool | Mapping[str, Any], handler: object = None) -> None:
        """Add (or replace, by name) one tool and the handler that answers its calls.

        ``handler``: a function called with the parsed arguments dict, or an object whose
        method named after the tool is called; by default the tool's own ``handler``. A tool
        without one is sent and its calls answered with an error text. Invalid tools are
        logged and ignored.
        """
        spec = prepare_tool(tool, handler)
        if spec is not None:
            self._add(*spec)

    def register_tools(self, tools: object) -> None:
        """Register many tools at once, in any shape of ``tools.iter_tool_specs``."""
        for spec in iter_tool_specs(tools):
            self._add(*spec)

    def _add(self, tool: OpenAITool, handler: Any) -> None:
        if tool.name:
            self.unregister_tool(tool.name)
        else:  # a built-in tool (web_search, ...): one per type
            self._tools = [t for t in self._tools if t.name or t.type != tool.type]
        self._tools.append(tool)
        if tool.name and handler is not None:
            self._handlers[tool.name] = handler

    def unregister_tool(self, name: str) -> None:
        """Remove the tool(s) and handler of that name (case-insensitive, as 4D compares)."""
        if not isinstance(name, str) or not name:
            return
        key = name.casefold()
        for registered in [n for n in self._handlers if n.casefold() == key]:
            del self._handlers[registered]
        self._tools = [t for t in self._tools if (t.name or "").casefold() != key]

    def unregister_tools(self) -> None:
        """Remove every tool (built-ins too) and handler; ``tools`` is then not sent."""
        self._handlers.clear()
        self._tools = []


def reply_calls(output: Iterable[Any] | None) -> list[dict[str, Any]]:
    """The call items of a response's ``output`` that the conversation answers (function and
    custom tool calls); one without ``call_id`` cannot be answered and is logged."""
    calls: list[dict[str, Any]] = []
    for item in output or ():
        if not isinstance(item, Mapping) or item.get("type") not in _ANSWER_TYPES:
            continue
        if not isinstance(item.get("call_id"), str) or not item["call_id"]:
            logger.warning("aikit: a %s item without call_id cannot be answered: %r",
                           item.get("type"), item)
            continue
        calls.append(dict(item))
    return calls


def _chat_call(item: Mapping[str, Any]) -> dict[str, Any]:
    """A Responses call item in the chat shape ``execute_tool_call`` reads."""
    name = item.get("name")
    if item.get("type") == "custom_tool_call":
        return {"id": item["call_id"], "type": "custom",
                "custom": {"name": name, "input": item.get("input")}}
    return {"id": item["call_id"], "type": "function",
            "function": {"name": name, "arguments": item.get("arguments")}}


def _answer(item: Mapping[str, Any], output: str) -> dict[str, Any]:
    return {"type": _ANSWER_TYPES[item["type"]], "call_id": item["call_id"], "output": output}


def run_calls(calls: list[dict[str, Any]], handlers: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Run every call (never raises): one answer item each, in order; a call without a
    handler, with bad arguments or whose handler raises is answered with the error text."""
    return [_answer(call, execute_tool_call(_chat_call(call), handlers)) for call in calls]


def capped_outputs(calls: list[dict[str, Any]], cap: int) -> list[dict[str, Any]]:
    """Answers for calls not run because ``max_tool_rounds`` was reached."""
    return [
        _answer(call, f"Error: function '{call.get('name') or ''}' not called: "
                      f"max_tool_rounds ({cap}) reached")
        for call in calls
    ]


def answered_ids(items: object) -> set[str]:
    """The ``call_id`` of every ``*_output`` item of an input list (dicts or records)."""
    found: set[str] = set()
    for item in items if isinstance(items, list) else ():
        data = item.to_dict() if isinstance(item, Record) else item
        if (isinstance(data, Mapping) and str(data.get("type", "")).endswith("_output")
                and isinstance(data.get("call_id"), str)):
            found.add(data["call_id"])
    return found


def is_forced(choice: object) -> bool:
    """A ``tool_choice`` that forces a tool: kept on follow-ups it would loop until
    ``max_tool_rounds`` (``allowed_tools`` in ``auto`` mode does not force)."""
    if choice is None or choice in ("auto", "none"):
        return False
    if isinstance(choice, Mapping):
        return not (choice.get("type") == "allowed_tools" and choice.get("mode") == "auto")
    return True
