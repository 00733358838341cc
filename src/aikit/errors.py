"""The one error class: HTTP, API and transport failures all arrive as ``OpenAIError``.

Errors are carried in ``result.errors`` and raised only by ``result.throw()`` or ``throw=True``,
so callers check a single list whatever went wrong.
"""

from __future__ import annotations

import enum
import json
import logging
from collections.abc import Mapping
from typing import Any

import attrs

__all__ = ["ErrorKind", "OpenAIError", "RetryInfo"]


class ErrorKind(str, enum.Enum):
    """What went wrong, in one word. A ``str`` enum: ``err.kind == "timeout"`` works too.

    Only ``CONNECTION`` and ``TIMEOUT`` failures that happened before any byte of the answer
    arrived are retried; everything after the first byte is final.
    """

    #: The server answered with an error: an HTTP status >= 300 or an in-band error object.
    API = "api"
    #: No answer: refused, reset or dropped before the first response byte.
    CONNECTION = "connection"
    #: ``timeout`` or ``deadline`` passed (connect, headers, body, or an idle stream).
    TIMEOUT = "timeout"
    #: ``result.terminate()`` (or ``client.close()``) ended the call.
    TERMINATED = "terminated"
    #: The owner process is gone; nothing is delivered.
    CANCELLED = "cancelled"
    #: A stream failed after it started: dropped, truncated, malformed, or an error event.
    STREAM = "stream"
    #: The answer started but broke the protocol: a body cut short, a bad redirect,
    #: JSON too deeply nested to decode.
    PROTOCOL = "protocol"
    #: The answer exceeded ``max_response_bytes`` (body, decompressed body or one event).
    TOO_LARGE = "too_large"
    #: The request could not be built or sent as given (bad URL, header value, port).
    REQUEST = "request"
    #: An unknown provider or alias: nothing was sent.
    PROVIDER = "provider"
    #: The vision helper could not read its image: nothing was sent.
    INVALID_IMAGE = "invalid_image"
    #: The chat helper stopped at ``max_tool_rounds``.
    MAX_TOOL_ROUNDS = "max_tool_rounds"
    #: Structured outputs: the model refused to answer (``result.parsed`` is None).
    REFUSAL = "refusal"
    #: Structured outputs: the answer is not JSON of the requested class.
    PARSE = "parse"
    #: An unexpected exception inside aikit (a bug); the original is ``__cause__``.
    INTERNAL = "internal"

    def __str__(self) -> str:
        return self.value


def _detail_text(detail: Any) -> str:
    """FastAPI's ``detail``: a text, or validation items ``{"loc": [...], "msg": ...}`` joined
    as ``body.messages: field required; ...``; ``""`` when it is neither."""
    if isinstance(detail, str):
        return detail.strip()
    if not isinstance(detail, list):
        return ""
    parts: list[str] = []
    for item in detail:
        if isinstance(item, dict) and isinstance(item.get("msg"), str):
            loc = item.get("loc")
            where = ".".join(str(x) for x in loc) if isinstance(loc, list) else ""
            parts.append(f"{where}: {item['msg']}" if where else item["msg"])
        elif isinstance(item, str):
            parts.append(item)
    return "; ".join(parts)


def internal_error(exc: BaseException) -> OpenAIError:
    """An exception nobody planned for, as the call's error: the call still finishes. Its
    text may hold anything (a key, a body), so only its type is shown; it is ``__cause__``."""
    logging.getLogger("aikit").debug(
        "aikit: unexpected %s inside a request", type(exc).__name__, exc_info=exc
    )
    error = OpenAIError(f"Unexpected error inside aikit ({type(exc).__name__}).",
                        kind=ErrorKind.INTERNAL)
    release_frames(exc)
    error.__cause__ = exc
    return error


def release_frames(error: BaseException) -> None:
    """Drop the frames an error drags along (its traceback and the exception it was raised
    while handling): a result kept by user code must not pin a response or its socket."""
    error.__traceback__ = None
    error.__context__ = None
    error.__suppress_context__ = True


class OpenAIError(Exception):
    """A failed request: an HTTP error status, an in-band API error, or a transport failure.

    ``kind`` (an `ErrorKind`) says what went wrong. ``status`` is the HTTP status when an
    answer arrived: always for ``api`` errors, and also for an answer that started and then
    broke (``protocol``, ``timeout``, ``too_large`` with status 200); None when no answer
    arrived, and for failures while reading a stream.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: Any = None,
        type: str | None = None,
        param: str | None = None,
        request_id: str | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        kind: ErrorKind | str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.type = type
        self.param = param
        self.request_id = request_id
        self.body = body
        self.headers = headers
        #: An ``ErrorKind``; by default ``API`` when a status is given, else ``INTERNAL``.
        self.kind: ErrorKind = ErrorKind(kind) if kind is not None else (
            ErrorKind.API if status is not None else ErrorKind.INTERNAL
        )

    @classmethod
    def from_response(
        cls,
        status: int,
        reason: str,
        headers: Mapping[str, str] | None,
        body: Any,
    ) -> OpenAIError:
        """Build the error for an HTTP response, reading OpenAI's ``{"error": {...}}`` shape.

        Other servers' shapes are understood too: ``{"error": "text"}``, FastAPI's
        ``{"detail": "text"}`` or ``{"detail": [validation items]}`` (llama-cpp-python),
        ``{"message": "text"}`` (vLLM), and a bare text body.
        """
        request_id = headers.get("x-request-id") if headers is not None else None
        err: Any = body.get("error") if isinstance(body, dict) else None
        code = type_ = param = None
        if isinstance(err, dict):
            message = err.get("message")
            if not isinstance(message, str):
                message = json.dumps(message) if message is not None else reason
            code, type_, param = err.get("code"), err.get("type"), err.get("param")
            inner: Any = err
        elif isinstance(err, str):
            message, inner = err, body
        elif isinstance(body, dict) and _detail_text(body.get("detail")):
            message, inner = _detail_text(body.get("detail")), body
        elif isinstance(body, dict) and isinstance(body.get("message"), str) and body["message"]:
            message, inner = body["message"], body
            code, type_, param = body.get("code"), body.get("type"), body.get("param")
        elif isinstance(body, str) and body.strip():
            message, inner = body.strip()[:500], body
        else:
            message, inner = reason or f"HTTP {status}", body
        return cls(
            message,
            status=status,
            code=code,
            type=type_ if type_ is None else str(type_),
            param=param if param is None else str(param),
            request_id=request_id,
            body=inner,
            headers=headers,
            kind=ErrorKind.API,
        )

    def __str__(self) -> str:
        if self.status is not None:
            return f"Error code: {self.status} - {self.message}"
        return self.message

    def __repr__(self) -> str:
        return f"OpenAIError({self.message!r}, status={self.status!r}, code={self.code!r})"

    @property
    def is_bad_request_error(self) -> bool:
        return self.status == 400

    @property
    def is_authentication_error(self) -> bool:
        return self.status == 401

    @property
    def is_permission_denied_error(self) -> bool:
        return self.status == 403

    @property
    def is_not_found_error(self) -> bool:
        return self.status == 404

    @property
    def is_unprocessable_entity_error(self) -> bool:
        return self.status == 422

    @property
    def is_rate_limit_error(self) -> bool:
        return self.status == 429

    @property
    def is_internal_server_error(self) -> bool:
        return self.status is not None and self.status >= 500

    @property
    def is_connection_error(self) -> bool:
        """True for every failure without an HTTP status except termination (timeouts too)."""
        return self.status is None and self.kind in ("connection", "timeout", "stream")

    @property
    def is_timeout_error(self) -> bool:
        return self.kind == "timeout"

    @property
    def is_terminated(self) -> bool:
        return self.kind in ("terminated", "cancelled")


@attrs.frozen
class RetryInfo:
    """What ``on_retry`` receives before each retry of a call (none for the first attempt).

    In callback mode it runs on the owner's thread, in order with the call's other callbacks
    (so before ``on_response``/``on_error``); in sync mode on the caller's thread, before the
    back-off starts. A raising ``on_retry`` is logged and the call goes on.
    """

    #: 1 for the first retry (the second attempt), 2 for the next, ...
    attempt: int
    #: Seconds the call waits before that retry (the server's ``retry-after`` or the back-off).
    delay: float
    #: Why the previous attempt is retried: its transport error (``connection``, ``timeout``),
    #: or an ``api`` error built from the retried answer (its status, message and headers).
    error: OpenAIError
