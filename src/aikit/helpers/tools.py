"""Tool registration shapes and tool-call execution for the chat helper (4D ``OpenAIChatHelper``).

Registration accepts every shape 4D AIKit accepts (see ``iter_tool_specs``) and turns each into
a clean ``OpenAITool`` (no handler, nothing callable inside, so nothing of Python leaks onto the
wire) plus its handler. Bad inputs are logged and skipped, never raised: 4D only asserts there,
and a half-registered tool set is more useful than an exception in the middle of a setup.

Execution turns one tool call into the text of its ``tool`` message, with 4D's error texts, so
that every call the model made gets exactly one answer and the next request stays valid.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Mapping
from typing import Any

from .._logging import logger
from .._records import Record
from ..objects import OpenAITool

__all__ = [
    "ToolSpec",
    "execute_tool_call",
    "format_tool_result",
    "iter_tool_specs",
    "prepare_tool",
    "tool_call_name",
]

#: A tool ready to send, and what runs its calls (None: sent but unhandled).
ToolSpec = tuple[OpenAITool, Any]

#: Kinds whose calls carry a name the helper can route to a handler.
NAMED_KINDS = ("function", "custom")

#: Handler values that cannot be a handler (an object handler is looked up by member name).
_NOT_HANDLERS = (str, bytes, bytearray, int, float, bool, list, tuple, set, frozenset)


def _member(obj: Any, name: str) -> Any:
    """``obj[name]`` for a dict, the attribute otherwise (extra keys of records too); or None."""
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return obj.get(name)
    try:
        return getattr(obj, name, None)
    except Exception:  # a property that raises is simply not a member
        return None


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _candidate_name(tool: Any) -> str | None:
    """The tool's name in any shape: flat, OpenAI ``function``, custom, or wrapped in ``tool``."""
    for source in (tool, _member(tool, "tool")):
        if source is None:
            continue
        for container in (source, _member(source, "function"), _member(source, "custom")):
            if container is None or isinstance(container, str):
                continue
            name = _str_or_none(_member(container, "name"))
            if name is not None:
                return name
    return None


def _is_handler(value: Any) -> bool:
    return value is not None and not isinstance(value, _NOT_HANDLERS)


def prepare_tool(
    tool: Any, handler: Any = None, default_name: str | None = None
) -> ToolSpec | None:
    """One tool in any accepted shape -> ``(clean OpenAITool, handler)``; None (logged) if bad.

    The handler is, in order: the one given, the tool's ``handler`` (root, compound or inner),
    then a callable member of the tool object named after the tool (``{"tool": ..., "name":
    fn}``). ``default_name`` names a tool that has none (the key of a ``{name: tool}`` dict).
    The caller's objects are never modified.
    """
    if tool is None:
        return None
    if not isinstance(tool, (Mapping, Record)):
        logger.warning(
            "aikit: a tool must be an OpenAITool or a dict, not %s; ignored", type(tool).__name__
        )
        return None
    inner = _member(tool, "tool")
    if inner is not None and not isinstance(inner, (Mapping, Record)):
        logger.warning(
            "aikit: the `tool` of %r must be an OpenAITool or a dict, not %s; ignored",
            default_name or tool, type(inner).__name__,
        )
        return None
    if handler is None:
        handler = _member(tool, "handler")
    if handler is None and inner is not None:
        handler = _member(inner, "handler")
    name = _candidate_name(tool) or default_name
    if handler is None and name:
        member = _member(tool, name)
        if callable(member):
            handler = member
    try:
        converted = OpenAITool(tool)
    except (TypeError, ValueError) as exc:
        logger.warning("aikit: tool %r ignored: %s", name or tool, exc)
        return None
    # A clean copy: no handler, no empty ``tool`` slot of a compound, nothing callable (a
    # built-in tool sends its other keys).
    data = {
        k: v for k, v in converted.to_dict().items()
        if k not in ("handler", "tool") and not callable(v)
    }
    if not data.get("name") and default_name and data.get("type", "function") in NAMED_KINDS:
        data["name"] = default_name
    clean = OpenAITool(data)
    if not isinstance(clean.type, str) or not clean.type:
        logger.warning("aikit: tool %r has no valid `type`; ignored", name)
        return None
    if clean.type in NAMED_KINDS and _str_or_none(clean.name) is None:
        logger.warning("aikit: a %s tool needs a non-empty str `name`; ignored: %r",
                       clean.type, tool)
        return None
    if handler is not None and not _is_handler(handler):
        logger.warning(
            "aikit: the handler of tool %r must be a function or an object with a method named "
            "after the tool, not %s; the tool is kept without a handler",
            clean.name, type(handler).__name__,
        )
        handler = None
    return clean, handler


def _looks_like_one_tool(x: Mapping[str, Any]) -> bool:
    """A single tool dict rather than a ``{name: tool}`` mapping (whose values are not str)."""
    return (
        isinstance(x.get("type"), str)
        or isinstance(x.get("name"), str)
        or isinstance(x.get("function"), Mapping)
    )


def _function_tool(name: str, fn: Any) -> dict[str, Any]:
    """A minimal tool for a bare function given as ``{name: fn}``: its docstring describes it."""
    tool: dict[str, Any] = {"type": "function", "name": name}
    doc = inspect.getdoc(fn)
    if doc:
        tool["description"] = doc.strip().split("\n\n")[0]
    return tool


def _handler_only(value: Any) -> bool:
    """``{"handler": fn}`` (or with ``"tool": None``): a compound that brings no tool."""
    return (
        isinstance(value, Mapping)
        and set(value) <= {"tool", "handler"}
        and value.get("tool") is None
        and callable(value.get("handler"))
    )


def iter_tool_specs(x: Any) -> list[ToolSpec]:
    """Every tool of a ``register_tools`` argument, prepared; bad entries logged and skipped.

    Shapes (4D ``registerTools``): a dict with a ``tools`` list (or an object with a ``tools``
    attribute) whose handler is the whole object, looked up by tool name; a ``{name: tool}``
    dict whose values are tools, ``{"tool", "handler"}`` compounds or bare functions (the key
    names a tool that has no name); a list of tools or compounds; a single tool.

    Incomplete entries: a tool without a handler is kept (sent, its calls answered with an
    error text) where 4D silently dropped it; ``{name: {"handler": fn}}`` is the function
    ``name`` described by ``fn``'s docstring, like ``{name: fn}``; a list entry with no tool
    (``{"handler": fn}``, ``{"tool": None, ...}``) is skipped with a warning, as in 4D.
    """
    specs: list[ToolSpec | None] = []
    if x is None:
        return []
    if isinstance(x, OpenAITool):
        specs.append(prepare_tool(x))
    elif isinstance(x, Mapping):
        tools = x.get("tools")
        if isinstance(tools, (list, tuple)):
            for tool in tools:
                own = _member(tool, "handler") if tool is not None else None
                specs.append(prepare_tool(tool, own if own is not None else x))
        elif _looks_like_one_tool(x):
            specs.append(prepare_tool(x))
        else:
            for key, value in x.items():
                if not isinstance(key, str) or not key:
                    logger.warning("aikit: tool key %r is not a non-empty str; ignored", key)
                elif value is None:
                    logger.warning("aikit: tool %r is None; ignored", key)
                elif callable(value) and not isinstance(value, (Mapping, Record)):
                    specs.append(prepare_tool(_function_tool(key, value), value))
                elif _handler_only(value):
                    handler = _member(value, "handler")
                    specs.append(prepare_tool(_function_tool(key, handler), handler))
                else:
                    specs.append(prepare_tool(value, default_name=key))
    elif isinstance(x, (list, tuple)):
        for item in x:
            tool = _member(item, "tool") if isinstance(item, (Mapping, Record)) else None
            tool = item if tool is None else tool
            if tool is None or not isinstance(tool, (Mapping, Record)) or not (
                _candidate_name(tool) or _str_or_none(_member(tool, "type"))
            ):
                logger.warning("aikit: list entry %r is not a tool (no name, no type); ignored",
                               item)
                continue
            specs.append(prepare_tool(item))
    elif isinstance(_member(x, "tools"), (list, tuple)) and not isinstance(x, _NOT_HANDLERS):
        for tool in _member(x, "tools"):
            own = _member(tool, "handler") if tool is not None else None
            specs.append(prepare_tool(tool, own if own is not None else x))
    else:
        logger.warning(
            "aikit: register_tools() takes a dict, a list or an object with a `tools` list, "
            "not %s; ignored", type(x).__name__,
        )
    return [spec for spec in specs if spec is not None]


# -- execution ----------------------------------------------------------------------------------


def tool_call_name(call: Mapping[str, Any]) -> str | None:
    """The function (or custom tool) name of a tool call, None when missing."""
    kind = call.get("type") or "function"
    container = call.get("custom") if kind == "custom" else call.get("function")
    if not isinstance(container, Mapping):
        return None
    return _str_or_none(container.get("name"))


def format_tool_result(value: Any) -> str:
    """A handler's return value as tool message content: str as is, dict/list compact JSON,
    None -> "" (not "None", which a model would read as data), anything else ``str()``."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (Mapping, list, tuple)):
        try:
            return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            return str(value)
    return str(value)


def _resolve(handler: Any, name: str) -> Any:
    """What to call: a plain function as is, else the handler's member named ``name``, else the
    handler itself when it is callable; None when there is nothing to call."""
    if inspect.isroutine(handler):
        return handler
    member = _member(handler, name)
    if callable(member):
        return member
    if callable(handler) and not isinstance(handler, Mapping):
        return handler
    return None


def execute_tool_call(call: Mapping[str, Any], handlers: Mapping[str, Any]) -> str:
    """Run one tool call and return the content of its ``tool`` message (never raises).

    Function calls get their JSON arguments parsed into a dict; custom tool calls get their
    ``input`` string. Error texts are 4D's, which models already understand.
    """
    name = tool_call_name(call)
    if name is None:
        return "Error: Tool call without a function name"
    handler = handlers.get(name)
    if handler is None:
        return f"Error: No handler registered for function '{name}'"
    argument: Any
    if (call.get("type") or "function") == "custom":
        custom = call.get("custom")
        raw = custom.get("input") if isinstance(custom, Mapping) else None
        argument = raw if isinstance(raw, str) else ""
    else:
        function = call.get("function")
        raw = function.get("arguments") if isinstance(function, Mapping) else None
        if raw is None or raw == "":
            argument = {}
        elif isinstance(raw, Mapping):
            argument = dict(raw)
        else:
            try:
                argument = json.loads(raw) if isinstance(raw, str) else None
            except ValueError:
                argument = None
            if not isinstance(argument, dict):
                return f"Error: Invalid JSON arguments for function '{name}'"
    target = _resolve(handler, name)
    if target is None:
        return f"Error: unknown function '{name}'. Seems not implemented."
    try:
        value = target(argument)
        if inspect.isawaitable(value):
            close = getattr(value, "close", None)
            if callable(close):
                close()  # no "coroutine was never awaited" warning
            raise TypeError("the handler returned an awaitable; use a plain function")
    except Exception as exc:
        logger.info("aikit: tool handler %r raised", name, exc_info=True)
        return f"Error executing function '{name}': {exc or type(exc).__name__}"
    return format_tool_result(value)
