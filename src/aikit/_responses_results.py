"""The Responses API's data objects and results: a response, its output items, and the result
classes of every ``client.responses`` call.

Fixed against 4D's port: ``output_text`` reads only the ``output_text`` parts of ``message``
items (4D took any ``text`` key, input parts included); a result's ``response`` is None for an
error body (4D wrapped it); the status helpers know every status the API has; a failed or
incomplete response is an error, not a success.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import attrs

from ._records import Record
from ._results_base import OpenAIListPage, OpenAIResult
from .errors import ErrorKind, OpenAIError

if TYPE_CHECKING:
    from ._http.response import HTTPResponse
    from .types._events import OpenAIResponsesEvent

__all__ = [
    "TERMINAL_STATUSES",
    "OpenAIResponse",
    "OpenAIResponseDeleted",
    "OpenAIResponseDeletedResult",
    "OpenAIResponseFunctionCall",
    "OpenAIResponseItem",
    "OpenAIResponseMessage",
    "OpenAIResponseReasoning",
    "OpenAIResponsesInputItemsResult",
    "OpenAIResponsesInputTokensResult",
    "OpenAIResponsesResult",
    "OpenAIResponsesStreamResult",
    "output_item",
    "response_error",
]

#: A response in one of these has ended; ``queued`` and ``in_progress`` have not.
TERMINAL_STATUSES = frozenset({"completed", "failed", "incomplete", "cancelled"})


# -- output items -------------------------------------------------------------------------------


@attrs.define(eq=False, kw_only=True)
class OpenAIResponseItem(Record):
    """An item of ``output`` (or of ``input_items``): the typed ones below, and every other
    kind (built-in tool calls, ``function_call_output`` ...) as this class, fields in
    ``extra``."""

    type: str | None = None
    id: str | None = None
    status: str | None = None


@attrs.define(eq=False, kw_only=True)
class OpenAIResponseMessage(OpenAIResponseItem):
    """A ``message`` item: ``content`` parts are ``output_text`` (text, annotations) or
    ``refusal``; input messages carry ``input_text``/``input_image``/``input_file`` parts."""

    role: str | None = None
    content: list[dict[str, Any]] | str | None = None

    @property
    def text(self) -> str:
        """The ``output_text`` (or ``input_text``) parts joined, or a string content."""
        content = self.content
        if isinstance(content, str):
            return content
        parts = [
            p.get("text") for p in content or ()
            if isinstance(p, Mapping) and p.get("type") in ("output_text", "input_text")
        ]
        return "".join(t for t in parts if isinstance(t, str))

    @property
    def refusal(self) -> str | None:
        """The refusal text, when the model refused; None otherwise."""
        for part in self.content if isinstance(self.content, list) else ():
            if isinstance(part, Mapping) and part.get("type") == "refusal":
                value = part.get("refusal")
                return value if isinstance(value, str) else ""
        return None


@attrs.define(eq=False, kw_only=True)
class OpenAIResponseFunctionCall(OpenAIResponseItem):
    """A ``function_call`` item: answer it with a ``function_call_output`` of its ``call_id``."""

    call_id: str | None = None
    name: str | None = None
    arguments: str | None = None

    @property
    def parsed_arguments(self) -> dict[str, Any] | None:
        """``arguments`` decoded; None when they are not a JSON object."""
        try:
            value = json.loads(self.arguments or "")
        except (ValueError, RecursionError):
            return None
        return value if isinstance(value, dict) else None


@attrs.define(eq=False, kw_only=True)
class OpenAIResponseReasoning(OpenAIResponseItem):
    """A ``reasoning`` item: its ``summary`` parts (and, when asked, ``encrypted_content`` to
    send back in a stateless conversation)."""

    summary: list[dict[str, Any]] | None = None
    content: list[dict[str, Any]] | None = None
    encrypted_content: str | None = None

    @property
    def summary_text(self) -> str:
        texts = [p.get("text") for p in self.summary or () if isinstance(p, Mapping)]
        return "\n\n".join(t for t in texts if isinstance(t, str))


_ITEM_CLASSES: dict[str, type[OpenAIResponseItem]] = {
    "message": OpenAIResponseMessage,
    "function_call": OpenAIResponseFunctionCall,
    "reasoning": OpenAIResponseReasoning,
}


def output_item(value: object) -> OpenAIResponseItem:
    """An item as a server sent it, as its class; never raises (a malformed item keeps what
    it has in ``extra``)."""
    if not isinstance(value, Mapping):
        return OpenAIResponseItem()
    cls = _ITEM_CLASSES.get(value.get("type"), OpenAIResponseItem)  # type: ignore[arg-type]
    try:
        return cls._from_dict(dict(value))
    except Exception:  # a field of the wrong type: keep the item raw
        return OpenAIResponseItem(extra=dict(value))


# -- the response -------------------------------------------------------------------------------


@attrs.define(eq=False, kw_only=True)
class OpenAIResponse(Record):
    """A Response object: ``status``, ``output`` (raw dicts; ``items`` gives them classes),
    ``output_text``, ``usage`` and the request's settings as the server echoes them."""

    id: str | None = None
    object: str | None = None
    created_at: float | None = None
    completed_at: float | None = None
    status: str | None = None
    model: str | None = None
    output: list[dict[str, Any]] | None = None
    error: dict[str, Any] | None = None
    incomplete_details: dict[str, Any] | None = None
    instructions: str | list[Any] | None = None
    usage: dict[str, Any] | None = None
    previous_response_id: str | None = None
    conversation: dict[str, Any] | None = None
    background: bool | None = None
    metadata: dict[str, str] | None = None
    text: dict[str, Any] | None = None
    reasoning: dict[str, Any] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None

    @property
    def items(self) -> list[OpenAIResponseItem]:
        return [output_item(item) for item in self.output or ()]

    @property
    def output_text(self) -> str:
        """Every ``output_text`` part of every ``message`` item, in order, joined with no
        separator (as openai-python); refusals, tool calls and reasoning are left out."""
        texts: list[str] = []
        for item in self.output or ():
            if not isinstance(item, Mapping) or item.get("type") != "message":
                continue
            for part in item.get("content") or ():
                if isinstance(part, Mapping) and part.get("type") == "output_text":
                    text = part.get("text")
                    if isinstance(text, str):
                        texts.append(text)
        return "".join(texts)

    @property
    def function_calls(self) -> list[OpenAIResponseFunctionCall]:
        return [i for i in self.items if isinstance(i, OpenAIResponseFunctionCall)]

    @property
    def refusal(self) -> str | None:
        for item in self.items:
            if isinstance(item, OpenAIResponseMessage) and item.refusal is not None:
                return item.refusal
        return None

    @property
    def reasoning_summary(self) -> str:
        texts = [i.summary_text for i in self.items if isinstance(i, OpenAIResponseReasoning)]
        return "\n\n".join(t for t in texts if t)

    @property
    def is_complete(self) -> bool:
        return self.status == "completed"

    @property
    def is_failed(self) -> bool:
        return self.status == "failed"

    @property
    def is_in_progress(self) -> bool:
        """Queued or running (a background response still to poll)."""
        return self.status in ("queued", "in_progress")

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


def response_error(body: Mapping[str, Any]) -> OpenAIError | None:
    """The error a failed or incomplete response carries (None for any other status)."""
    status = body.get("status")
    if status == "failed":
        err = body.get("error") if isinstance(body.get("error"), Mapping) else {}
        code = err.get("code") if isinstance(err, Mapping) else None
        message = err.get("message") if isinstance(err, Mapping) else None
        return OpenAIError(f"The response failed: {message or code or 'no reason given'}",
                           code=code, body=dict(body), kind=ErrorKind.API)
    if status == "incomplete":
        details = body.get("incomplete_details")
        reason = details.get("reason") if isinstance(details, Mapping) else None
        return OpenAIError(f"The response is incomplete: {reason or 'no reason given'}",
                           code=reason, body=dict(body), kind=ErrorKind.API)
    return None


# -- results ------------------------------------------------------------------------------------


@attrs.define(eq=False, repr=False)
class OpenAIResponsesResult(OpenAIResult):
    """The result of ``responses.create/retrieve/cancel/compact``: ``response``,
    ``output_text``, ``usage``; ``parsed`` after ``responses.parse``. A response that failed
    or is incomplete makes the result fail, with the reason in ``errors``."""

    #: The instance ``responses.parse`` built from the output text (None otherwise).
    parsed: Any = attrs.field(default=None, kw_only=True)

    @property
    def response(self) -> OpenAIResponse | None:
        body = self.body
        if isinstance(body, dict) and body.get("object") in ("response", "response.compaction"):
            return OpenAIResponse._from_dict(body)
        return None

    @property
    def output_text(self) -> str:
        response = self.response
        return response.output_text if response is not None else ""

    @property
    def output(self) -> list[OpenAIResponseItem]:
        response = self.response
        return response.items if response is not None else []

    @property
    def errors(self) -> list[OpenAIError]:
        if self._errors:
            return list(self._errors)
        body = self.body
        r = self._response
        if isinstance(body, dict) and body.get("object") == "response" and (
                r is None or r.status < 300):
            error = response_error(body)  # its ``error`` is the response's, not the call's
            return [error] if error is not None else []
        return super().errors


@attrs.define(eq=False, kw_only=True)
class OpenAIResponseDeleted(Record):
    id: str | None = None
    object: str | None = None
    deleted: bool | None = None


@attrs.define(eq=False, repr=False)
class OpenAIResponseDeletedResult(OpenAIResult):
    """The result of ``responses.delete()``."""

    @property
    def deleted(self) -> OpenAIResponseDeleted | None:
        body = self.body
        if isinstance(body, dict) and isinstance(body.get("id"), str):
            return OpenAIResponseDeleted._from_dict(body)
        return None


@attrs.define(eq=False, repr=False)
class OpenAIResponsesInputItemsResult(OpenAIListPage):
    """The result of ``responses.input_items.list()``: one page of the input items."""

    @property
    def items(self) -> list[OpenAIResponseItem]:
        body = self.body
        data = body.get("data") if isinstance(body, dict) else None
        return [output_item(item) for item in data] if isinstance(data, list) else []


@attrs.define(eq=False, repr=False)
class OpenAIResponsesInputTokensResult(OpenAIResult):
    """The result of ``responses.input_tokens.count()``."""

    @property
    def input_tokens(self) -> int:
        body = self.body
        value = body.get("input_tokens") if isinstance(body, dict) else None
        return value if isinstance(value, int) and not isinstance(value, bool) else 0


_S = TypeVar("_S", bound="OpenAIResponsesStreamResult")


class SnapshotSource(Protocol):
    def snapshot(self) -> dict[str, Any]: ...


@attrs.define(eq=False, repr=False)
class OpenAIResponsesStreamResult(OpenAIResponsesResult):
    """A streamed (or polled background) response: one per event, then one final result.

    An event result (``of_event()``) is not terminated: ``event`` is the typed event
    (``type``, ``sequence_number`` and its fields), ``body`` its JSON, and ``snapshot`` the
    response as received so far. The final result (``final()``) is terminated: ``response``
    is the whole response (``output_text``, ``usage`` ...), partial when the stream failed.
    A polled status change is like an event result whose ``response`` is the polled response.
    """

    #: The event's JSON, or the response's (final and polled results).
    _data: dict[str, Any] | None = None
    _event: OpenAIResponsesEvent | None = None
    _source: SnapshotSource | None = None

    @classmethod
    def of_event(
        cls: type[_S], data: dict[str, Any], event: OpenAIResponsesEvent,
        source: SnapshotSource | None, response: HTTPResponse | None,
    ) -> _S:
        return cls(response, None, False, None, data, event, source)

    @classmethod
    def polled(cls: type[_S], body: dict[str, Any], response: HTTPResponse | None) -> _S:
        return cls(response=response, terminated=False, data=body)

    @classmethod
    def final(
        cls: type[_S], body: dict[str, Any] | None, response: HTTPResponse | None = None,
        errors: list[OpenAIError] | None = None,
    ) -> _S:
        return cls(response=response, errors=list(errors) if errors else None, terminated=True,
                   data=body)

    @property
    def event(self) -> OpenAIResponsesEvent | None:
        """The event this result carries; None on the final result and polled ones."""
        return self._event

    @property
    def snapshot(self) -> OpenAIResponse | None:
        """The response as received so far (in callback mode, possibly a few events ahead
        of this one); the response itself on final and polled results."""
        if self._source is not None:
            return OpenAIResponse._from_dict(self._source.snapshot())
        return self.response

    @property
    def body(self) -> Any:
        if self._data is not None:
            return self._data
        return self._response.json if self._response is not None else None

    @property
    def errors(self) -> list[OpenAIError]:
        if self._errors:
            return list(self._errors)
        if self._event is not None:
            return []
        return super().errors

    @property
    def success(self) -> bool:
        if self.errors:
            return False
        r = self._response
        if r is not None:
            return 200 <= r.status < 300
        return self._data is not None
