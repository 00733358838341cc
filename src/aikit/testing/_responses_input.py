"""What a Responses request sends: input items, tools and text format, checked like OpenAI.

The checks are the ones that catch client bugs cheaply: item and content-part shapes (a chat
``{"type": "text"}`` part or a chat-shaped function tool is refused, naming the parameter),
and function calls paired with their outputs. Items come back normalized (message content as a
list of parts), so stored input items look like OpenAI's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ._api import invalid, json_type, missing
from ._content import JSONDict, content_text, count_tokens

_ROLES = ("user", "assistant", "system", "developer")
_INPUT_PARTS = ("input_text", "input_image", "input_file")
_OUTPUT_PARTS = ("output_text", "refusal")
_ITEM_TYPES = (
    "message",
    "function_call",
    "function_call_output",
    "item_reference",
    "reasoning",
    "compaction",
)
_FORMATS = ("text", "json_object", "json_schema")
ID_PREFIXES = {
    "message": "msg",
    "function_call": "fc",
    "function_call_output": "fco",
    "reasoning": "rs",
    "compaction": "cmp",
}


def read_input(value: Any) -> list[JSONDict]:
    """The ``input`` as items (a string is one user message), each checked and normalized."""
    if isinstance(value, str):
        return [_message({"role": "user", "content": value}, "input")]
    if not isinstance(value, list):
        raise invalid(
            "input",
            "Invalid type for 'input': expected one of a string or array of input items, but "
            f"got {json_type(value)} instead.",
            "invalid_type",
        )
    return [_item(item, f"input[{index}]") for index, item in enumerate(value)]


def _item(item: Any, param: str) -> JSONDict:
    if not isinstance(item, dict):
        raise _wrong_type(param, "an object", item)
    kind = item.get("type")
    if kind is None:
        if "role" in item:
            kind = "message"
        elif "id" in item:
            kind = "item_reference"
        else:
            raise missing(f"{param}.role")
    if kind not in _ITEM_TYPES:
        raise _unsupported(f"{param}.type", kind, _ITEM_TYPES)
    if kind == "message":
        return _message(item, param)
    fields = {
        "function_call": ("call_id", "name", "arguments"),
        "function_call_output": ("call_id",),
        "item_reference": ("id",),
        "compaction": ("encrypted_content",),
        "reasoning": (),
    }[kind]
    for name in fields:
        if not isinstance(item.get(name), str):
            raise missing(f"{param}.{name}")
    if kind == "function_call_output" and not isinstance(item.get("output"), (str, list)):
        raise missing(f"{param}.output")
    if kind == "reasoning" and not isinstance(item.get("summary"), list):
        raise missing(f"{param}.summary")
    normalized = dict(item, type=kind)
    if kind in ("function_call", "function_call_output"):
        normalized.setdefault("status", "completed")
    return normalized


def _message(item: JSONDict, param: str) -> JSONDict:
    role = item.get("role")
    if role not in _ROLES:
        raise _unsupported(f"{param}.role", role, _ROLES)
    content = item.get("content")
    allowed = _OUTPUT_PARTS if role == "assistant" else _INPUT_PARTS
    if isinstance(content, str):
        if role == "assistant":
            parts = [{"type": "output_text", "text": content, "annotations": [], "logprobs": []}]
        else:
            parts = [{"type": "input_text", "text": content}]
    elif isinstance(content, list):
        parts = [
            _part(part, f"{param}.content[{index}]", allowed) for index, part in enumerate(content)
        ]
    elif content is None:
        raise missing(f"{param}.content")
    else:
        raise _wrong_type(f"{param}.content", "a string or an array of content parts", content)
    message: JSONDict = {"type": "message", "role": role, "content": parts}
    if isinstance(item.get("id"), str):
        message = {"id": item["id"], **message}
    message["status"] = "completed"
    return message


def _part(part: Any, param: str, allowed: tuple[str, ...]) -> JSONDict:
    if not isinstance(part, dict):
        raise _wrong_type(param, "an object", part)
    kind = part.get("type")
    if kind not in allowed:
        raise _unsupported(f"{param}.type", kind, allowed)
    if kind in ("input_text", "output_text") and not isinstance(part.get("text"), str):
        raise missing(f"{param}.text")
    if kind == "refusal" and not isinstance(part.get("refusal"), str):
        raise missing(f"{param}.refusal")
    if kind == "input_image":
        if not any(isinstance(part.get(name), str) for name in ("image_url", "file_id")):
            raise missing(f"{param}.image_url")
        return {
            "type": kind,
            "detail": part.get("detail") or "auto",
            "file_id": part.get("file_id"),
            "image_url": part.get("image_url"),
        }
    if kind == "input_file" and not any(
        isinstance(part.get(name), str) for name in ("file_id", "file_data", "file_url")
    ):
        raise invalid(
            param,
            f"Invalid '{param}': an input_file needs one of 'file_id', 'file_data' or 'file_url'.",
        )
    if kind == "output_text":
        return {"annotations": [], "logprobs": [], **part}
    return dict(part)


def read_tools(tools: Any) -> list[JSONDict]:
    """The ``tools``; function tools are flat (``{"type": "function", "name": ...}``)."""
    if tools is None:
        return []
    if not isinstance(tools, list):
        raise _wrong_type("tools", "an array", tools)
    normalized: list[JSONDict] = []
    for index, tool in enumerate(tools):
        param = f"tools[{index}]"
        if not isinstance(tool, dict):
            raise _wrong_type(param, "an object", tool)
        if not isinstance(tool.get("type"), str):
            raise missing(f"{param}.type")
        if tool["type"] == "function":
            name = tool.get("name")
            if not isinstance(name, str) or not name:
                # Also what a Chat-shaped tool ({"type": "function", "function": {...}}) gets.
                raise missing(f"{param}.name")
            tool = {
                "type": "function",
                "name": name,
                "description": tool.get("description"),
                "parameters": tool.get("parameters"),
                "strict": tool.get("strict", True),
            }
        normalized.append(dict(tool))
    return normalized


def read_text(text: Any) -> JSONDict:
    """The ``text`` parameter with its defaults; a json_schema format needs name and schema."""
    if text is None:
        text = {}
    if not isinstance(text, dict):
        raise _wrong_type("text", "an object", text)
    fmt = text.get("format", {"type": "text"})
    if not isinstance(fmt, dict):
        raise _wrong_type("text.format", "an object", fmt)
    if fmt.get("type") not in _FORMATS:
        raise _unsupported("text.format.type", fmt.get("type"), _FORMATS)
    if fmt["type"] == "json_schema":
        if not isinstance(fmt.get("name"), str):
            raise missing("text.format.name")
        if not isinstance(fmt.get("schema"), dict):
            raise missing("text.format.schema")
    return {"format": dict(fmt), "verbosity": text.get("verbosity", "medium")}


def check_calls(previous_output: Sequence[JSONDict], items: Sequence[JSONDict]) -> None:
    """Every ``function_call_output`` answers a known call, and every call of the previous
    response or of the input gets its output, as OpenAI insists."""
    pending = [item["call_id"] for item in previous_output if item.get("type") == "function_call"]
    known = set(pending)
    for index, item in enumerate(items):
        kind = item.get("type")
        if kind == "function_call":
            pending.append(item["call_id"])
            known.add(item["call_id"])
        elif kind == "function_call_output":
            call_id = item["call_id"]
            if call_id not in known:
                raise invalid(
                    f"input[{index}]",
                    f"No tool call found for function call output with call_id {call_id}.",
                    None,
                )
            if call_id in pending:
                pending.remove(call_id)
    if pending:
        raise invalid("input", f"No tool output found for function call {pending[0]}.", None)


def item_text(item: JSONDict) -> str:
    """The words of an item, for token counts and echo."""
    kind = item.get("type")
    if kind == "message":
        parts = item.get("content") or []
        refusals = [part["refusal"] for part in parts if part.get("type") == "refusal"]
        return " ".join([content_text(parts), *refusals]).strip()
    if kind == "function_call":
        return f"{item.get('name', '')} {item.get('arguments', '')}"
    if kind == "function_call_output":
        return content_text(item.get("output"))
    if kind == "reasoning":
        return content_text(item.get("summary"))
    return ""


def context_tokens(items: Iterable[JSONDict], instructions: str | None = None) -> int:
    return count_tokens(instructions or "") + sum(count_tokens(item_text(i)) for i in items)


def as_messages(items: Iterable[JSONDict]) -> list[JSONDict]:
    """The conversation in chat form, for ``echo_reply`` (tool outputs as tool messages)."""
    messages: list[JSONDict] = []
    for item in items:
        kind = item.get("type")
        if kind == "message":
            messages.append({"role": item["role"], "content": item["content"]})
        elif kind == "function_call":
            messages.append({"role": "assistant", "content": ""})
        elif kind == "function_call_output":
            messages.append({"role": "tool", "content": item_text(item)})
    return messages


def _wrong_type(param: str, expected: str, value: Any) -> Exception:
    return invalid(
        param,
        f"Invalid type for '{param}': expected {expected}, but got {json_type(value)} instead.",
        "invalid_type",
    )


def _unsupported(param: str, value: Any, supported: Iterable[str]) -> Exception:
    names = ", ".join(f"'{name}'" for name in supported)
    return invalid(param, f"Invalid value: '{value}'. Supported values are: {names}.")
