"""What every endpoint of the simulator shares: responses, API errors, parameter checks, pages.

Endpoints never touch a socket: each turns a RecordedRequest into a complete ``Response`` or a
``StreamPlan`` (the SSE events to send), and raises ``APIError`` for OpenAI's error answers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ._content import JSONDict, error_body
from ._records import RecordedRequest


def dump_json(payload: Any) -> bytes:
    """Compact UTF-8 JSON, as the server sends it."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass
class Response:
    """A complete (non-streamed) HTTP response."""

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def json(
        cls, payload: Any, status: int = 200, headers: list[tuple[str, str]] | None = None
    ) -> Response:
        return cls(status, dump_json(payload), "application/json", list(headers or ()))


class Release(Protocol):
    """When the events of a live stream (a background response) may go out."""

    def wait(self, index: int, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for event ``index`` to be released; True once it is."""

    def withheld(self, index: int) -> bool:
        """True when event ``index`` will never be released (the job was cancelled or halted)."""


@dataclass
class StreamPlan:
    """The SSE events of one streamed reply, then its ``terminator`` if any.

    ``closing`` is the index of the first event that tells the client the reply is complete
    (chat: a finish reason; Responses: the terminal ``response.completed``, ``.failed`` or
    ``.incomplete`` event): the ``"eof"`` stream fault ends the stream before it.
    ``terminator`` follows the events: chat's ``data: [DONE]``, None for Responses streams,
    which end with their terminal event. ``error_event(index)`` is the in-band error event the
    ``"error_event"`` fault sends in place of event ``index`` (None: chat's ``{"error": ...}``).
    ``release`` paces a live stream: event ``index`` goes out once released.
    """

    events: list[bytes]
    closing: int
    terminator: bytes | None = None
    error_event: Callable[[int], bytes] | None = None
    release: Release | None = None


class APIError(Exception):
    """An OpenAI-style error response, raised by endpoints and turned into a Response."""

    def __init__(
        self,
        status: int,
        message: str,
        param: str | None = None,
        code: str | None = None,
        error_type: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = error_body(message, error_type, param, code)

    def response(self) -> Response:
        return Response.json(self.body, self.status)


def missing(param: str) -> APIError:
    """OpenAI's 400 for a required parameter that was not sent."""
    return APIError(
        400, f"Missing required parameter: '{param}'.", param, "missing_required_parameter"
    )


def required_model(body: JSONDict) -> str:
    """The request's ``model``: a non-empty string, else OpenAI's 400 for a missing one."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise missing("model")
    return model


def invalid(param: str, message: str, code: str | None = "invalid_value") -> APIError:
    return APIError(400, message, param, code)


def json_type(value: Any) -> str:
    """The JSON type name OpenAI's messages use for a value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def int_param(value: Any, name: str, default: int, low: int, high: int) -> int:
    """Read an integer body parameter, rejecting bools and out-of-range values like OpenAI."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(
            name,
            f"Invalid type for '{name}': expected an integer, but got {json_type(value)}.",
            "invalid_type",
        )
    if not low <= value <= high:
        raise invalid(
            name,
            f"Invalid '{name}': {value} is out of range [{low}, {high}].",
            "integer_out_of_range",
        )
    return value


def int_query(query: Mapping[str, str], name: str, default: int, high: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid(name, f"Invalid '{name}': expected an integer, got '{raw}'.") from None
    if not 1 <= value <= high:
        raise invalid(name, f"Invalid '{name}': {value} is out of range [1, {high}].")
    return value


def paginate(
    items: Sequence[JSONDict],
    query: Mapping[str, str],
    default_limit: int,
    max_limit: int,
    default_order: str,
) -> JSONDict:
    """OpenAI's cursor pagination: ``after`` an id, ``limit`` items, ``order`` asc or desc."""
    order = query.get("order") or default_order
    if order not in ("asc", "desc"):
        raise invalid("order", f"Invalid 'order': '{order}'. Expected 'asc' or 'desc'.")
    limit = int_query(query, "limit", default_limit, max_limit)
    ordered = list(items) if order == "asc" else list(reversed(items))
    after = query.get("after")
    if after:
        ids = [item["id"] for item in ordered]
        ordered = ordered[ids.index(after) + 1 :] if after in ids else []
    page = ordered[:limit]
    return {
        "object": "list",
        "data": page,
        "first_id": page[0]["id"] if page else None,
        "last_id": page[-1]["id"] if page else None,
        "has_more": len(ordered) > limit,
    }


def json_object(request: RecordedRequest) -> JSONDict:
    """The request's JSON body, which must be an object; OpenAI's 400 otherwise."""
    if isinstance(request.json, dict):
        return request.json
    if not request.body.strip():
        raise APIError(400, "This endpoint expects a JSON object body, but the body was empty.")
    if request.json is None:
        raise APIError(
            400,
            "We could not parse the JSON body of your request. The OpenAI API expects a JSON "
            "payload, but what was sent was not valid JSON.",
        )
    raise APIError(
        400, f"The JSON body must be an object, but got {json_type(request.json)}.", None
    )
