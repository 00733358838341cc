"""One streamed chat completion: open (with retries), decode SSE, accumulate, finish.

Used by the lifecycle for callback mode (chunks posted to the owner) and by the sync iterator
``stream()``. Every way a stream can end becomes a final result; nothing escapes as an
exception, whatever the server sends (docs/architecture/lifecycle.md, "Streams").
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator, Iterator
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import attrs

from ._accumulate import ChoiceAccumulator
from ._chat_results import OpenAIChatCompletionsStreamResult
from ._http.abort import Abortable
from ._http.response import HTTPResponse
from ._http.sse import SSEDecoder
from .errors import ErrorKind, OpenAIError, internal_error, release_frames

if TYPE_CHECKING:
    from typing_extensions import Self

    from ._http.request import RequestSpec
    from ._http.transport import StreamHandle

__all__ = [
    "ChatStream", "EventStream", "Opener", "Session", "SessionFactory", "StreamSession",
]

Chunk = OpenAIChatCompletionsStreamResult
#: The scanner json.loads runs, configured as json.loads configures it.
_scan: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
#: A chunk's constructor takes (response, errors, terminated, control, data): passed by
#: position, since parsing keywords costs as much as the rest of building a chunk.
_POSITIONAL = tuple(a.alias for a in attrs.fields(Chunk) if a.init and not a.kw_only) == (
    "response", "errors", "terminated", "control", "data")
#: Sends the request with retries: the open stream, a plain answer, or the final error.
Opener = Callable[["RequestSpec", Abortable], "StreamHandle | HTTPResponse | OpenAIError"]


class Session(Protocol):
    """What the lifecycle reads a stream with: ``chunks()``, then ``final`` (never None once
    the chunks are exhausted or closed). Chat streams and Responses streams both are one."""

    abort: Abortable
    final: Any

    def chunks(self) -> Generator[Any, None, None]: ...


#: Builds a session: ``(opener, spec, abort, on_end=None)``.
SessionFactory = Callable[..., Session]


class StreamSession:
    """Iterate ``chunks()`` on any thread; afterwards ``final`` holds the terminated result."""

    def __init__(
        self, opener: Opener, spec: RequestSpec, abort: Abortable,
        on_end: Callable[[], object] | None = None,
    ) -> None:
        self._open = opener
        self._on_end = on_end
        self._spec = spec
        self.abort = abort
        self.final: Chunk | None = None

    def chunks(self) -> Generator[Chunk, None, None]:
        """The chunks; afterwards ``final`` is set, whatever happened (a bug included)."""
        try:
            yield from self._open_chunks()
        except Exception as exc:
            self.final = Chunk.final([], errors=[internal_error(exc)])
        finally:  # drained, closed, or garbage-collected: release the call's resources
            if self._on_end is not None:
                self._on_end()

    def _open_chunks(self) -> Iterator[Chunk]:
        """Send the request and return what yields its chunks (a plain function: one
        generator less for every chunk to pass through); ``final`` is set when none will."""
        if self._spec.error is not None:  # e.g. an unknown provider: nothing is sent
            self.final = Chunk.final([], errors=[self._spec.error])
            return iter(())
        outcome = self._open(self._spec, self.abort)
        if isinstance(outcome, OpenAIError):
            self.final = Chunk.final([], errors=[outcome])
            return iter(())
        if isinstance(outcome, HTTPResponse):
            return self._answer(outcome)
        return self._read(outcome)

    def _answer(self, response: HTTPResponse) -> Iterator[Chunk]:
        try:
            yield from self._not_a_stream(response)
        except Exception as exc:  # a body no accessor expected: still one final result
            self.final = Chunk.final([], errors=[_unreadable(exc)], response=response)

    def _not_a_stream(self, response: HTTPResponse) -> Iterator[Chunk]:
        """A JSON answer (an error, or a server that ignores ``stream``): a normal result,
        and for a 2xx completion one chunk carrying the whole message, never zero chunks."""
        body = response.json
        choices = body.get("choices") if isinstance(body, dict) else None
        if 200 <= response.status < 300 and isinstance(choices, list) and choices:
            as_deltas = [
                {"index": c.get("index", i), "delta": c.get("message") or {},
                 "finish_reason": c.get("finish_reason")}
                for i, c in enumerate(choices) if isinstance(c, dict)
            ]
            yield Chunk.chunk({**body, "object": "chat.completion.chunk", "choices": as_deltas},
                              response)
            self.final = Chunk.final(choices, body, body.get("usage"), response)
            return
        if 200 <= response.status < 300:
            error = OpenAIError("Expected an event stream, got a response without choices.",
                                status=response.status, body=body, kind="stream")
            self.final = Chunk.final([], errors=[error], response=response)
            return
        final = Chunk(response=response, terminated=True)
        self.final = final

    def _read(self, handle: StreamHandle) -> Iterator[Chunk]:
        # The loop runs once per event: names are bound to locals. Neither an event nor the
        # decoder's buffer needs a size check of its own beyond ``total``: every byte they hold
        # was counted in it first (the per-event check stays, for the order of the errors).
        decode = SSEDecoder().decode
        scan = _scan
        acc = ChoiceAccumulator(deferred_meta=True)  # the parsed chunks are ours, read-only
        add = acc.add
        meta = handle.meta
        limit = self._spec.max_bytes
        abort = self.abort
        errors: list[OpenAIError] = []
        done = False
        total = 0
        try:
            for raw in handle.chunks():
                total += len(raw)
                if total > limit:  # a stream is a body too: bounded as a whole
                    errors.append(_event_too_large(limit))
                    break
                for event, data, _, _ in decode(raw):
                    try:  # `_parse`'s fast path, inlined (json.loads minus its wrapper)
                        parsed, end = scan(data, 0) if event is None else (None, -1)
                    except (StopIteration, ValueError, RecursionError):
                        end = -1
                    size = len(data)
                    if end != size or size > limit or type(parsed) is not dict or (
                        parsed.get("error")
                    ):  # anything else: checked as always, [DONE] first ("[DONE" is no JSON)
                        if data.startswith("[DONE]"):
                            done = True
                            break
                        if size > limit:
                            errors.append(_event_too_large(limit))
                            break
                        parsed = _parse(data, event)
                        if isinstance(parsed, OpenAIError):
                            errors.append(parsed)
                            break
                    try:
                        add(parsed)
                        chunk = (Chunk(meta, None, False, None, parsed) if _POSITIONAL
                                 else Chunk(response=meta, terminated=False, data=parsed))
                    except Exception as exc:  # e.g. "usage": [1, 2] — malformed, not a crash
                        errors.append(_unreadable(exc))
                        break
                    yield chunk
                if done or errors or abort.reason is not None:  # ``abort.aborted``, inlined
                    break
        except OpenAIError as exc:
            release_frames(exc)
            errors.append(exc)
        except RecursionError as exc:  # a chunk nested too deeply for json
            errors.append(_unreadable(exc))
        finally:
            handle.close()
        if not done and not errors and not abort.aborted:
            errors.append(OpenAIError("The stream ended before [DONE] (truncated).",
                                      kind=ErrorKind.STREAM))
        final_meta = HTTPResponse(meta.status, meta.reason, meta.headers)
        try:
            self.final = Chunk.final(acc.choices(), acc.meta, acc.usage, final_meta, errors)
        except Exception as exc:
            self.final = Chunk.final([], errors=[*errors, _unreadable(exc)], response=final_meta)


def _event_too_large(limit: int) -> OpenAIError:
    return OpenAIError(f"The stream or one of its events is larger than max_response_bytes "
                       f"({limit} bytes).", kind=ErrorKind.TOO_LARGE)


def _unreadable(exc: BaseException) -> OpenAIError:
    return OpenAIError(f"Malformed stream chunk ({type(exc).__name__}).",
                       kind=ErrorKind.STREAM)


def _parse(data: str, event: str | None) -> dict[str, Any] | OpenAIError:
    try:
        # json.loads minus its wrapper, which costs about as much as decoding a small chunk:
        # a value that starts at 0 and ends the text is exactly what json.loads returns.
        parsed, end = _scan(data, 0)
        if end != len(data):
            parsed = json.loads(data)  # whitespace after the value, or extra data
    except StopIteration:  # no value at 0: leading whitespace, a BOM or not JSON
        try:
            parsed = json.loads(data)
        except (ValueError, RecursionError):
            return OpenAIError(f"Malformed stream chunk: {data[:80]!r}", kind="stream")
    except (ValueError, RecursionError):
        return OpenAIError(f"Malformed stream chunk: {data[:80]!r}", kind="stream")
    if not isinstance(parsed, dict):
        return OpenAIError(f"Malformed stream chunk: {data[:80]!r}", kind="stream")
    error = parsed.get("error")
    if error or event == "error":
        err = OpenAIError.from_response(0, "stream error", None, parsed)
        err.status, err.kind = None, ErrorKind.STREAM
        return err
    return parsed


T = TypeVar("T")


class EventStream(Generic[T]):
    """``with ... as stream: for item in stream: ...``: items arrive on the caller's thread;
    leaving the loop or the block closes the connection. ``stream.result`` is then the final
    result. ``ChatStream`` and ``ResponsesStream`` are the two kinds."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._iter: Generator[T, None, None] | None = None
        self._closed = False

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[T]:
        if self._iter is None:
            self._iter = self._session.chunks()
        return self._iter

    def __next__(self) -> T:
        return next(iter(self))

    def close(self) -> None:
        """Close the connection; the result then says the stream was cut short."""
        if self._closed:
            return
        self._closed = True
        if self._iter is not None:
            if self._session.final is None:
                self._session.abort.abort()
            self._iter.close()

    @property
    def result(self) -> T:
        """The final result: the accumulated message, or what went wrong."""
        final: T | None = self._session.final
        if final is None:
            if not self._closed:
                for _ in self:  # drain the rest so the result is complete
                    pass
                final = self._session.final
            if final is None:
                err = OpenAIError("The stream was closed before it ended.", kind="terminated")
                final = self._session.final = self._cut_short(err)
        return final

    def _cut_short(self, error: OpenAIError) -> T:
        raise NotImplementedError


class ChatStream(EventStream[Chunk]):
    """``with client.chat.completions.stream(messages) as stream: for chunk in stream: ...``

    Chunks arrive on the caller's thread; leaving the loop or the block closes the
    connection. ``stream.result`` is then the final accumulated result.
    """

    def _cut_short(self, error: OpenAIError) -> Chunk:
        return Chunk.final([], errors=[error])
