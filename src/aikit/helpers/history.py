"""The chat helper's history: the reply as it is kept, and trimming without orphan answers.

``OpenAIChatHelper`` appends each reply through ``stored_message`` and trims with
``trim_history`` after every reply; both work on ``OpenAIMessage`` objects or plain dicts.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from ..objects import OpenAIMessage

__all__ = ["stored_message", "trim_history"]


def _role(message: Any) -> Any:
    return message.get("role") if isinstance(message, Mapping) else getattr(message, "role", None)


def _tool_calls(message: Any) -> list[Any]:
    calls = (
        message.get("tool_calls")
        if isinstance(message, Mapping)
        else getattr(message, "tool_calls", None)
    )
    return calls if isinstance(calls, list) else []


def _tool_call_id(message: Any) -> Any:
    if isinstance(message, Mapping):
        return message.get("tool_call_id")
    return getattr(message, "tool_call_id", None)


def _complete_sequence(messages: list[Any]) -> tuple[int, int] | None:
    """``(start, end)`` of the oldest assistant tool-call message immediately followed by
    ``tool`` messages answering all of its calls (4D's rule), or None."""
    for start, message in enumerate(messages):
        if _role(message) != "assistant":
            continue
        ids = {c.get("id") for c in _tool_calls(message) if isinstance(c, Mapping)}
        ids.discard(None)
        if not ids:
            continue
        answered: set[Any] = set()
        end = start + 1
        while (
            end < len(messages)
            and _role(messages[end]) == "tool"
            and _tool_call_id(messages[end]) in ids
        ):
            answered.add(_tool_call_id(messages[end]))
            end += 1
        if answered == ids:
            return start, end
    return None


def trim_history(messages: list[Any], limit: int) -> None:
    """Trim ``messages`` in place to at most ``limit`` entries (no limit when ``limit <= 0``).

    4D's order: whole tool-call sequences (oldest first) go before plain messages, then the
    oldest message. Fixed: a ``tool`` message left at the front (its assistant message gone)
    goes too, so what is sent never starts with an orphan answer.
    """
    if limit > 0:
        while len(messages) > limit:
            span = _complete_sequence(messages)
            if span is not None:
                del messages[span[0] : span[1]]
            else:
                del messages[0]
            while messages and _role(messages[0]) == "tool":
                del messages[0]
    while messages and _role(messages[0]) == "tool":
        del messages[0]


def stored_message(message: OpenAIMessage) -> OpenAIMessage:
    """The assistant reply as kept in history: a copy whose tool calls are replayable.

    Stream deltas leave an ``index`` on each call and some providers omit ``id``, ``type``,
    ``function.name`` or ``arguments``; each call gets what the API requires back (a generated
    id, ``type``, a str name and arguments) so that its ``tool`` answer can refer to it.
    """
    data = message.to_dict()
    data.setdefault("role", "assistant")
    calls: list[dict[str, Any]] = []
    for call in _tool_calls(message):
        if not isinstance(call, Mapping):
            continue
        fixed = dict(call)
        fixed.pop("index", None)
        if not isinstance(fixed.get("id"), str) or not fixed["id"]:
            fixed["id"] = f"call_{uuid.uuid4().hex[:24]}"
        kind = fixed.get("type") or "function"
        fixed["type"] = kind
        if kind == "function":
            function = dict(fixed["function"]) if isinstance(fixed.get("function"), Mapping) else {}
            if not isinstance(function.get("name"), str):
                function["name"] = ""
            arguments = function.get("arguments")
            if isinstance(arguments, Mapping):
                function["arguments"] = json.dumps(arguments, separators=(",", ":"))
            elif not isinstance(arguments, str):
                function["arguments"] = "{}"
            fixed["function"] = function
        calls.append(fixed)
    data["tool_calls"] = calls or None
    return OpenAIMessage(data)
