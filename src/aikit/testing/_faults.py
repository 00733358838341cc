"""Scripted faults: what each one is, the queues they wait in, and the bytes some need.

Each family has one queue, and a request takes at most one entry of each family (the families
are listed on ``FakeOpenAIServer``), so faults of different families combine on one request
while faults of one family go to successive requests in the order scripted.
"""

from __future__ import annotations

import json
import threading
import zlib
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from ._api import dump_json

STREAM_FAULT_KINDS: tuple[str, ...] = ("drop", "malformed", "error_event", "stall", "eof")
TRICKLE_PHASES: tuple[str, ...] = ("headers", "body")

MALFORMED_EVENT = b"data: {not json\n\n"
ERROR_EVENT = (
    b'data: {"error": {"message": "The server had an error while processing your request.'
    b' (simulated stream error)", "type": "server_error", "param": null, "code": null}}\n\n'
)
DONE_EVENT = b"data: [DONE]\n\n"
EARLY_HINTS_LINK = "</v1/models>; rel=preload"

_GZIP_PIECE = 1 << 20
_T = TypeVar("_T")


@dataclass(frozen=True)
class Answer:
    """A scripted response sent instead of the endpoint's answer (status, headers, body)."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    content_type: str


@dataclass(frozen=True)
class Cut:
    """Ends a response early: after ``after_bytes`` bytes, optionally held open, then closed.

    ``in_body`` counts the bytes from the first body byte (``truncate_next``,
    ``stall_next``), otherwise from the first byte of the response (``drop_next``).
    """

    after_bytes: int
    in_body: bool = False
    stall: float = 0.0

    @property
    def silent(self) -> bool:
        """A drop before the first byte: the request gets no answer at all."""
        return self.after_bytes == 0 and not self.in_body


@dataclass(frozen=True)
class Pace:
    """``trickle_next``: one byte every ``interval`` seconds, from the head or from the body."""

    interval: float
    phase: str


@dataclass(frozen=True)
class StreamFault:
    """A scripted failure of the next streamed reply (see ``stream_fault_next``)."""

    kind: str
    after_chunks: int


@dataclass(frozen=True)
class Transport:
    """The faults one request took when it arrived."""

    delay: float | None = None
    cut: Cut | None = None
    answer: Answer | None = None
    pace: Pace | None = None
    early_hints: bool = False


class Faults:
    """The fault queues of one server; thread-safe (one lock, never held while waiting)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._delays: deque[float] = deque()
        self._answers: deque[Answer] = deque()
        self._cuts: deque[Cut] = deque()
        self._paces: deque[Pace] = deque()
        self._hints: deque[bool] = deque()
        self._stream_faults: deque[StreamFault] = deque()
        self._stream_events: deque[tuple[bytes, ...]] = deque()

    def _add(self, queue: deque[_T], item: _T, times: int) -> None:
        count = check_times(times)
        with self._lock:
            queue.extend([item] * count)

    def add_delay(self, seconds: float, times: int) -> None:
        self._add(self._delays, seconds, times)

    def add_answer(self, answer: Answer, times: int) -> None:
        self._add(self._answers, answer, times)

    def add_cut(self, cut: Cut, times: int) -> None:
        self._add(self._cuts, cut, times)

    def add_pace(self, pace: Pace, times: int) -> None:
        self._add(self._paces, pace, times)

    def add_early_hints(self, times: int) -> None:
        self._add(self._hints, True, times)

    def add_stream_fault(self, fault: StreamFault, times: int) -> None:
        self._add(self._stream_faults, fault, times)

    def add_stream_events(self, events: tuple[bytes, ...], times: int) -> None:
        self._add(self._stream_events, events, times)

    def take_transport(self) -> Transport:
        """Take at most one delay, cut, answer, pace and interim for an arriving request.

        A drop at 0 bytes takes nothing else but the delay: a request that gets no byte of an
        answer could not have carried the other faults, so they wait for the next request.
        """
        with self._lock:
            delay = self._delays.popleft() if self._delays else None
            cut = self._cuts.popleft() if self._cuts else None
            if cut is not None and cut.silent:
                return Transport(delay, cut)
            return Transport(
                delay,
                cut,
                self._answers.popleft() if self._answers else None,
                self._paces.popleft() if self._paces else None,
                bool(self._hints.popleft()) if self._hints else False,
            )

    def take_stream(self) -> tuple[StreamFault | None, tuple[bytes, ...] | None]:
        """Take the stream fault and scripted events of a streamed reply, if any."""
        with self._lock:
            fault = self._stream_faults.popleft() if self._stream_faults else None
            events = self._stream_events.popleft() if self._stream_events else None
        return fault, events

    def clear(self) -> None:
        with self._lock:
            for queue in (
                self._delays,
                self._answers,
                self._cuts,
                self._paces,
                self._hints,
                self._stream_faults,
                self._stream_events,
            ):
                queue.clear()


# -- building and checking scripted faults ----------------------------------------------------


def check_times(times: int) -> int:
    if isinstance(times, bool) or not isinstance(times, int) or times < 1:
        raise ValueError(f"times must be an int >= 1, got {times!r}")
    return times


def check_bytes(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be an int >= 0, got {value!r}")
    return value


def check_seconds(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(f"{name} must be a number >= 0, got {value!r}")
    return float(value)


def check_status(status: int) -> int:
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise ValueError(f"status must be an HTTP status code, got {status!r}")
    return status


def header_items(headers: Mapping[str, object] | None) -> tuple[tuple[str, str], ...]:
    """Headers as (name, text) pairs; line breaks are refused (they would forge headers)."""
    items: list[tuple[str, str]] = []
    for name, value in (headers or {}).items():
        text = str(value)
        if not name or any(c in name + text for c in "\r\n") or ":" in name:
            raise ValueError(f"invalid header {name!r}: {text!r}")
        items.append((name, text))
    return tuple(items)


def guess_content_type(payload: bytes) -> str:
    try:
        json.loads(payload)
    except ValueError:
        return "text/plain; charset=utf-8"
    return "application/json"


def sse_event(payload: str) -> bytes:
    """One SSE event whose data is exactly ``payload`` (a line break starts a new data line)."""
    lines = payload.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "".join(f"data: {line}\n" for line in lines).encode() + b"\n"


_gzip_cache: dict[int, bytes] = {}
_gzip_lock = threading.Lock()


def gzip_of_zeros(size: int) -> bytes:
    """The gzip of ``size`` zero bytes, compressed piece by piece and cached.

    Deflate shrinks zeros about a thousand times, so 200 MB travel as about 200 KB and are
    never held in memory whole.
    """
    with _gzip_lock:
        cached = _gzip_cache.get(size)
        if cached is None:
            compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: gzip framing
            piece = bytes(_GZIP_PIECE)
            parts: list[bytes] = []
            for start in range(0, size, _GZIP_PIECE):
                parts.append(compressor.compress(piece[: min(_GZIP_PIECE, size - start)]))
            parts.append(compressor.flush())
            cached = _gzip_cache[size] = b"".join(parts)
        return cached


def answer_body(body: Mapping[str, Any] | str | bytes) -> tuple[bytes, str]:
    """A scripted body as bytes and its content type (JSON for a mapping, else guessed)."""
    if isinstance(body, Mapping):
        return dump_json(dict(body)), "application/json"
    if isinstance(body, (str, bytes)):
        payload = body.encode() if isinstance(body, str) else body
        return payload, guess_content_type(payload)
    raise TypeError(f"body must be a dict, str or bytes, got {type(body).__name__}")


def stream_events(events: Iterable[str]) -> tuple[bytes, ...]:
    if isinstance(events, (str, bytes)):
        raise TypeError("events must be a list of str, not a single string")
    encoded: list[bytes] = []
    for event in events:
        if not isinstance(event, str):
            raise TypeError(f"each event must be a str, got {type(event).__name__}")
        encoded.append(sse_event(event))
    return tuple(encoded)
