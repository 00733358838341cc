"""One streamed (or polled) response: events in ``sequence_number`` order, a running snapshot,
resumption after a drop, and one final result however it ends.

The lifecycle runs these sessions like the chat ``StreamSession`` (same ``chunks()`` and
``final``): on the caller's thread for ``responses.stream()``, on an I/O thread with every
event posted to the owner in callback mode (docs/architecture/lifecycle.md, "Streams").
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator, Iterator
from typing import TYPE_CHECKING, Any

from ._http.abort import Abortable
from ._http.response import HTTPResponse
from ._http.sse import SSEDecoder
from ._responses_accumulate import ResponsesAccumulator
from ._responses_results import TERMINAL_STATUSES, OpenAIResponsesStreamResult, response_error
from ._streaming import EventStream
from .errors import ErrorKind, OpenAIError, internal_error, release_frames
from .types._events import event_from_api

if TYPE_CHECKING:
    from ._http.request import RequestSpec
    from ._http.transport import StreamHandle
    from ._streaming import Opener

__all__ = ["Follow", "PollSession", "ResponsesStream", "ResponsesStreamSession"]

Chunk = OpenAIResponsesStreamResult
#: Builds the follow-up requests of a response: ``("stream", id, after)`` resumes a stream,
#: ``("poll", id, None)`` retrieves it, ``("cancel", id, None)`` cancels it.
Follow = Callable[[str, str, "int | None"], "RequestSpec"]
_TERMINAL_EVENTS = frozenset({"response.completed", "response.failed", "response.incomplete"})
_POLL_FIRST, _POLL_FACTOR, _POLL_MAX = 0.25, 1.5, 5.0


class _Session:
    """What the two sessions share: the final result, the cancel of a terminated background
    response, and the ``on_end`` hook of the sync iterator."""

    def __init__(
        self, opener: Opener, spec: RequestSpec, abort: Abortable,
        on_end: Callable[[], object] | None = None, *, follow: Follow | None = None,
    ) -> None:
        self._open = opener
        self._spec = spec
        self.abort = abort
        self._on_end = on_end
        self._follow = follow
        self.final: Chunk | None = None
        self._response_id: str | None = None
        self._background = False

    def chunks(self) -> Generator[Chunk, None, None]:
        try:
            yield from self._run()
        except Exception as exc:
            self.final = Chunk.final(None, errors=[internal_error(exc)])
        finally:
            self._cancel_if_terminated()
            if self._on_end is not None:
                self._on_end()

    def _run(self) -> Iterator[Chunk]:
        raise NotImplementedError

    def _next(self, kind: str, after: int | None = None) -> RequestSpec:
        """A follow-up request of this response, under the call's own deadline."""
        assert self._follow is not None and self._response_id is not None
        spec = self._follow(kind, self._response_id, after)
        spec.deadline = self._spec.deadline
        return spec

    def _note(self, response: object) -> None:
        """Remember the id and background flag of the response being followed."""
        if isinstance(response, dict):
            if isinstance(response.get("id"), str):
                self._response_id = response["id"]
            if response.get("background") is True:
                self._background = True

    def _cancel_if_terminated(self) -> None:
        """``terminate()`` on a background response also cancels it on the server."""
        if (self.abort.reason is not ErrorKind.TERMINATED or not self._background
                or self._response_id is None or self._follow is None):
            return
        outcome = self._open(self._next("cancel"), Abortable())  # the call's switch is off
        if isinstance(outcome, HTTPResponse):
            return
        if not isinstance(outcome, OpenAIError):
            outcome.close()


class ResponsesStreamSession(_Session):
    """Iterate ``chunks()`` on any thread; afterwards ``final`` holds the terminated result.

    A background response whose connection fails mid-stream is resumed from the last
    ``sequence_number`` (``follow``), at most ``max_retries`` times; an event already seen is
    never yielded twice.
    """

    def __init__(
        self, *args: Any, resume_id: str | None = None, after: int = -1, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._acc = ResponsesAccumulator()
        self._last = after
        if resume_id is not None:  # retrieve(stream=True): a stored background response
            self._response_id, self._background = resume_id, True
        self._errors: list[OpenAIError] = []
        self._ended = False
        self._meta: HTTPResponse | None = None

    def _run(self) -> Iterator[Chunk]:
        spec = self._spec
        if spec.error is not None:
            self.final = Chunk.final(None, errors=[spec.error])
            return
        outcome = self._open(spec, self.abort)
        resumes = 0
        while True:
            if isinstance(outcome, OpenAIError):
                self._errors.append(outcome)
                break
            if isinstance(outcome, HTTPResponse):
                yield from self._answer(outcome)
                return
            if self._meta is None:
                self._meta = HTTPResponse(outcome.meta.status, outcome.meta.reason,
                                          outcome.meta.headers)
            yield from self._read(outcome)
            if self._ended or self.abort.aborted or not self._resumable(resumes):
                break
            resumes += 1
            self._errors.clear()
            outcome = self._open(self._next("stream", self._last), self.abort)
        self._finish()

    def _resumable(self, resumes: int) -> bool:
        return (self._background and self._response_id is not None and self._follow is not None
                and resumes < self._spec.retries and all(
                    e.kind in (ErrorKind.CONNECTION, ErrorKind.TIMEOUT, ErrorKind.PROTOCOL,
                               ErrorKind.STREAM) for e in self._errors))

    def _read(self, handle: StreamHandle) -> Iterator[Chunk]:
        decode = SSEDecoder().decode
        limit = self._spec.max_bytes
        meta = self._meta
        add = self._acc.add
        total = 0
        try:
            for raw in handle.chunks():
                total += len(raw)
                if total > limit:
                    self._errors.append(_too_large(limit))
                    return
                for name, data, _, _ in decode(raw):
                    parsed = _parse(data, name, limit)
                    if isinstance(parsed, OpenAIError):
                        self._errors.append(parsed)
                        return
                    number = parsed.get("sequence_number")
                    if isinstance(number, int) and not isinstance(number, bool):
                        if number <= self._last:
                            continue  # replayed by a resume: delivered already
                        self._last = number
                    kind = parsed.get("type")
                    if kind == "error":
                        self._errors.append(_error_event(parsed))
                        return
                    if kind in ("response.created", "response.queued"):
                        self._note(parsed.get("response"))
                    add(parsed)
                    yield Chunk.of_event(parsed, event_from_api(parsed), self._acc, meta)
                    if kind in _TERMINAL_EVENTS:
                        self._ended = True
                        return
                if self.abort.reason is not None:
                    return
        except OpenAIError as exc:
            release_frames(exc)
            self._errors.append(exc)
        except RecursionError as exc:
            self._errors.append(_unreadable(exc))
        finally:
            handle.close()
        if not self._ended and not self._errors and not self.abort.aborted:
            self._errors.append(OpenAIError(
                "The stream ended before the response did (no response.completed).",
                kind=ErrorKind.STREAM))

    def _finish(self) -> None:
        errors = list(self._errors)
        body = self._acc.snapshot()
        if self._ended and not errors:
            error = response_error(body)
            if error is not None:
                errors.append(error)
        if self.abort.aborted and not errors:
            reason = self.abort.reason
            errors.append(OpenAIError("The stream was closed before it ended.",
                                      kind=reason if reason is not None else "terminated"))
        self.final = Chunk.final(body or None, self._meta, errors)

    def _answer(self, response: HTTPResponse) -> Iterator[Chunk]:
        """A JSON answer: an error (no event; its body says why), or a server that ignored
        ``stream`` (one ``response.completed`` event, then the same final as a stream)."""
        body = response.json
        if 200 <= response.status < 300 and isinstance(body, dict) and body.get(
                "object") == "response":
            event = {"type": "response.completed", "sequence_number": 0, "response": body}
            self._acc.add(event)
            yield Chunk.of_event(event, event_from_api(event), self._acc, response)
            error = response_error(body)
            self.final = Chunk.final(body, response, [error] if error else [])
            return
        if 200 <= response.status < 300:
            self.final = Chunk.final(None, response, [OpenAIError(
                "Expected an event stream, got an answer that is not a response.",
                status=response.status, body=body, kind=ErrorKind.STREAM)])
            return
        self.final = Chunk.final(None, response, [])


class PollSession(_Session):
    """A background response in callback mode: send it, then retrieve it with back-off
    until its status is terminal; each status change is one chunk (``on_data``)."""

    def _run(self) -> Iterator[Chunk]:
        spec = self._spec
        outcome: Any = spec.error if spec.error is not None else self._open(spec, self.abort)
        delay = _POLL_FIRST
        status: object = None
        while True:
            if isinstance(outcome, OpenAIError):
                self.final = Chunk.final(None, errors=[outcome])
                return
            if not isinstance(outcome, HTTPResponse):
                outcome.close()
                self.final = Chunk.final(None, errors=[OpenAIError(
                    "Unexpected event stream.", kind=ErrorKind.PROTOCOL)])
                return
            body = outcome.json
            if not (200 <= outcome.status < 300 and isinstance(body, dict)):
                self.final = Chunk.final(None, outcome, [])
                return
            self._note(body)
            if body.get("status") != status:
                status = body.get("status")
                yield Chunk.polled(body, outcome)
            if status in TERMINAL_STATUSES or self._response_id is None or self._follow is None:
                error = response_error(body)
                if status == "cancelled":
                    error = OpenAIError("The background response was cancelled.",
                                        body=body, kind=ErrorKind.CANCELLED)
                self.final = Chunk.final(body, outcome, [error] if error else [])
                return
            if self.abort.wait(delay):
                reason = self.abort.reason
                self.final = Chunk.final(body, outcome, [OpenAIError(
                    "The call was ended while the response was running.",
                    kind=reason if reason is not None else ErrorKind.TERMINATED)])
                return
            delay = min(delay * _POLL_FACTOR, _POLL_MAX)
            outcome = self._open(self._next("poll"), self.abort)


# -- event decoding -------------------------------------------------------------------------------

def _parse(data: str, name: str | None, limit: int) -> dict[str, Any] | OpenAIError:
    if len(data) > limit:
        return _too_large(limit)
    try:
        parsed = json.loads(data)
    except (ValueError, RecursionError):
        return OpenAIError(f"Malformed stream event: {data[:80]!r}", kind=ErrorKind.STREAM)
    if not isinstance(parsed, dict):
        return OpenAIError(f"Malformed stream event: {data[:80]!r}", kind=ErrorKind.STREAM)
    if "type" not in parsed and name:
        parsed["type"] = name
    return parsed


def _error_event(parsed: dict[str, Any]) -> OpenAIError:
    message = parsed.get("message")
    code = parsed.get("code")
    return OpenAIError(f"The stream reported an error: {message or code or 'no message'}",
                       code=code if isinstance(code, str) else None, body=parsed,
                       kind=ErrorKind.STREAM)


def _too_large(limit: int) -> OpenAIError:
    return OpenAIError(f"The stream or one of its events is larger than max_response_bytes "
                       f"({limit} bytes).", kind=ErrorKind.TOO_LARGE)


def _unreadable(exc: BaseException) -> OpenAIError:
    return OpenAIError(f"Malformed stream event ({type(exc).__name__}).", kind=ErrorKind.STREAM)


class ResponsesStream(EventStream[OpenAIResponsesStreamResult]):
    """``with client.responses.stream(input) as stream: for event in stream: ...``

    Each item is an ``OpenAIResponsesStreamResult`` (``.event``, ``.snapshot``), on the
    caller's thread; ``stream.result`` is then the final result (``.response``,
    ``.output_text``).
    """

    def _cut_short(self, error: OpenAIError) -> OpenAIResponsesStreamResult:
        return Chunk.final(None, errors=[error])
