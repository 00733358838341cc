"""Messages and choices as a server sent them: built without ever raising, and fast.

A stream builds a choice and its delta message for every chunk it reads. Through attrs'
``__init__`` that costs more than decoding the chunk, so the usual shapes are written straight
into the objects' slots, which is exactly what ``__init__`` does with them: the message's
validators and checks run, and the choice's converters would hand its messages back unchanged.
`_SLOTS_OK` checks once that the classes still have the fields this relies on; if they change,
every object is built through its class again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

from ._records import Record
from .objects import OpenAIChoice, OpenAIMessage, _check_content, _check_role, _to_message

__all__ = ["choice_from_api", "message_from_api"]

_ROLE_CONTENT = frozenset({"role", "content"})
_CHOICE_KEYS = frozenset({"index", "finish_reason", "logprobs", "message", "delta"})


def _fields(cls: type) -> tuple[tuple[str, bool, Any, Any], ...]:
    """``(name, defaults to None, validator, converter)`` of each attrs field, in order."""
    return tuple((f.name, f.default is None, f.validator, f.converter) for f in attrs.fields(cls))


_SLOTS_OK = _fields(OpenAIMessage) == (
    ("_data", True, None, None),
    ("extra", False, None, None),  # its factory is dict: `{}` is passed instead
    ("role", True, _check_role, None),
    ("content", True, _check_content, None),
    ("user", True, None, None),
    ("tool_calls", True, None, None),
    ("tool_call_id", True, None, None),
    ("name", True, None, None),
    ("refusal", True, None, None),
    ("annotations", True, None, None),
    ("audio", True, None, None),
    ("function_call", True, None, None),
) and _fields(OpenAIChoice) == (
    ("_data", True, None, None),
    ("extra", False, None, None),
    ("index", True, None, None),
    ("finish_reason", True, None, None),
    ("logprobs", True, None, None),
    ("message", True, None, _to_message),
    ("delta", True, None, _to_message),
) and OpenAIChoice._check is Record._check

_new = object.__new__


def _setters(cls: type, count: int) -> list[Callable[[Any, Any], None]]:
    """The setters of the slots of ``cls``'s fields, in order: the member descriptors
    themselves, bypassing the attrs ``__setattr__`` hooks as ``__init__`` does."""
    if not _SLOTS_OK:
        return [_unused] * count
    return [getattr(cls, f.name).__set__ for f in attrs.fields(cls)]


def _unused(_obj: Any, _value: Any) -> None:  # pragma: no cover - the classes changed
    raise AssertionError("the slot fast path is off")


(_m_data, _m_extra, _m_role, _m_content, _m_user, _m_calls, _m_call_id, _m_name, _m_refusal,
 _m_annotations, _m_audio, _m_function_call) = _setters(OpenAIMessage, 12)
_c_data, _c_extra, _c_index, _c_finish, _c_logprobs, _c_message, _c_delta = _setters(
    OpenAIChoice, 7
)
_ROLE = attrs.fields(OpenAIMessage).role
_CONTENT = attrs.fields(OpenAIMessage).content


def message_from_api(value: Any) -> OpenAIMessage:
    """A message as a server sent it, never raising: what does not fit the message shape
    (``"content": 42``, ``"role": 5``, a message that is a string) is left out, so reading a
    reply never fails; the raw value stays in the result's ``body``."""
    if type(value) is dict:  # the usual shape: no copy, no ABC isinstance (a stream's deltas)
        role = value.get("role")
        content = value.get("content")
        if (role is None or type(role) is str) and (
            content is None or type(content) is str or type(content) is list
        ):
            if _SLOTS_OK and value.keys() <= _ROLE_CONTENT:  # a stream's delta, usually
                message = _new(OpenAIMessage)  # OpenAIMessage(value), slot by slot: see above
                _m_data(message, None)
                _m_extra(message, {})
                _m_role(message, role)
                _m_content(message, content)
                _m_user(message, None)
                _m_calls(message, None)
                _m_call_id(message, None)
                _m_name(message, None)
                _m_refusal(message, None)
                _m_annotations(message, None)
                _m_audio(message, None)
                _m_function_call(message, None)
                _check_role(message, _ROLE, role)
                _check_content(message, _CONTENT, content)
                message._check()
                return message
            if "text" not in value:  # nothing to leave out: no copy either
                return OpenAIMessage._from_dict(value)
    elif not isinstance(value, Mapping):
        return OpenAIMessage()
    data = dict(value)
    if not isinstance(data.get("content"), (str, list, type(None))):
        data["content"] = None
    if not isinstance(data.get("role"), (str, type(None))):
        data["role"] = None
    if not isinstance(data.get("text", ""), str):
        del data["text"]
    return OpenAIMessage(data)


def choice_from_api(value: Mapping[str, Any]) -> OpenAIChoice:
    """A choice as a server sent it: its ``message``/``delta`` through `message_from_api`."""
    if _SLOTS_OK and type(value) is dict and value.keys() <= _CHOICE_KEYS:
        message = value.get("message")
        delta = value.get("delta")
        choice = _new(OpenAIChoice)
        _c_data(choice, None)
        _c_extra(choice, {})
        _c_index(choice, value.get("index"))
        _c_finish(choice, value.get("finish_reason"))
        _c_logprobs(choice, value.get("logprobs"))
        _c_message(choice, None if message is None else message_from_api(message))
        _c_delta(choice, None if delta is None else message_from_api(delta))
        return choice
    data = dict(value)
    for key in ("message", "delta"):
        item = data.get(key)
        if item is not None:
            data[key] = message_from_api(item)
    return OpenAIChoice._from_dict(data)
