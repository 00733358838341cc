"""The scripting half of FakeOpenAIServer: ``*_next`` methods that queue replies and faults,
the pace of background responses and batches, rate limits and size limits.

Each method checks its arguments at once (a bad script fails in the test that wrote it, not in
a server thread later) and queues the fault in its family (see ``_faults``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ._api import dump_json
from ._content import default_error_body
from ._faults import (
    STREAM_FAULT_KINDS,
    TRICKLE_PHASES,
    Answer,
    Cut,
    Pace,
    StreamFault,
    answer_body,
    check_bytes,
    check_seconds,
    check_status,
    check_times,
    gzip_of_zeros,
    header_items,
    stream_events,
)
from ._handler import Core
from ._state import REPLY_STATUSES, ScriptedReply, scripted_call


class FaultScripting:
    """Mixin of FakeOpenAIServer holding its scripting API (the server supplies ``_core``)."""

    _core: Core

    # -- answers: replace what the endpoint would say ---------------------------------------

    def fail_next(
        self,
        status: int,
        headers: Mapping[str, object] | None = None,
        body: Mapping[str, Any] | str | bytes | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` requests with ``status`` (any endpoint).

        ``body`` defaults to OpenAI's error body for that status; a mapping is sent as JSON,
        str/bytes as is. ``headers`` (e.g. ``retry-after``) override the default headers.
        """
        check_status(status)
        items = header_items(headers)
        if body is None:
            payload, content_type = dump_json(default_error_body(status)), "application/json"
        else:
            payload, content_type = answer_body(body)
        self._core.faults.add_answer(Answer(status, items, payload, content_type), times)

    def redirect_next(self, location: str, status: int = 307, times: int = 1) -> None:
        """Answer the next ``times`` requests with a redirect to ``location`` (any endpoint).

        ``location`` is sent as given, even when it is no valid URL (``http://[::1``), so a
        client's handling of hostile redirects can be tested; only line breaks are refused.
        """
        if not isinstance(location, str):
            raise TypeError(f"location must be a str, got {type(location).__name__}")
        if not 300 <= check_status(status) <= 399:
            raise ValueError(f"status must be a 3xx redirect status, got {status!r}")
        items = header_items({"Location": location})
        answer = Answer(status, items, b"", "text/plain; charset=utf-8")
        self._core.faults.add_answer(answer, times)

    def raw_next(
        self,
        body: bytes,
        status: int = 200,
        headers: Mapping[str, object] | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` requests with exactly ``body`` (any endpoint).

        Sent as ``application/json`` unless ``headers`` say otherwise; for hostile JSON such
        as ``b"[" * 100_000``. ``headers`` may also override ``Content-Length``.
        """
        if not isinstance(body, bytes):
            raise TypeError(f"body must be bytes, got {type(body).__name__}")
        answer = Answer(check_status(status), header_items(headers), body, "application/json")
        self._core.faults.add_answer(answer, times)

    def gzip_bomb_next(self, decompressed_bytes: int = 200 * 2**20, times: int = 1) -> None:
        """Answer the next ``times`` requests with a 200 JSON gzip body inflating to that size.

        About a thousandth of ``decompressed_bytes`` travels (zeros compress well); the body
        is built once per size, piece by piece, never whole in memory.
        """
        size = check_bytes(decompressed_bytes, "decompressed_bytes")
        check_times(times)
        headers = (("Content-Encoding", "gzip"),)
        answer = Answer(200, headers, gzip_of_zeros(size), "application/json")
        self._core.faults.add_answer(answer, times)

    # -- delivery: when and how the answer's bytes go out -----------------------------------

    def delay_next(self, seconds: float, times: int = 1) -> None:
        """Make the next ``times`` requests wait ``seconds`` before any answer.

        The wait ends early, with no answer, when the client leaves or the server stops.
        """
        self._core.faults.add_delay(check_seconds(seconds, "seconds"), times)

    def drop_next(self, times: int = 1, *, after_bytes: int = 0) -> None:
        """Read the next ``times`` requests, then close the connection.

        By default no response byte is sent (the client sees a connection error before any
        response). With ``after_bytes`` the first bytes of the response (status line, headers,
        body) are sent before the close: a truncated response.
        """
        cut = Cut(check_bytes(after_bytes, "after_bytes"))
        self._core.faults.add_cut(cut, times)

    def truncate_next(self, after_bytes: int = 10, times: int = 1) -> None:
        """Send the next ``times`` answers' full headers (their whole ``Content-Length``) but
        close the connection after ``after_bytes`` bytes of body (any endpoint)."""
        cut = Cut(check_bytes(after_bytes, "after_bytes"), in_body=True)
        self._core.faults.add_cut(cut, times)

    def stall_next(self, after_bytes: int = 10, seconds: float = 30.0, times: int = 1) -> None:
        """Send the next ``times`` answers' headers and ``after_bytes`` of body, then nothing
        for ``seconds`` (less if the client leaves or the server stops), then close."""
        stall = check_seconds(seconds, "seconds")
        cut = Cut(check_bytes(after_bytes, "after_bytes"), in_body=True, stall=stall)
        self._core.faults.add_cut(cut, times)

    def trickle_next(self, interval: float = 0.5, times: int = 1, phase: str = "body") -> None:
        """Send the next ``times`` answers one byte every ``interval`` seconds.

        ``phase="headers"`` trickles from the status line on; ``"body"`` sends the headers at
        once, then trickles the body. A trickle ends (the connection closes) after 120 s, or
        when the client leaves or the server stops.
        """
        if phase not in TRICKLE_PHASES:
            raise ValueError(f"phase must be one of {TRICKLE_PHASES}, got {phase!r}")
        self._core.faults.add_pace(Pace(check_seconds(interval, "interval"), phase), times)

    def early_hints_next(self, times: int = 1) -> None:
        """Precede the next ``times`` answers with an interim ``103 Early Hints`` (a ``Link``
        header) on the same connection."""
        self._core.faults.add_early_hints(times)

    # -- streams ----------------------------------------------------------------------------

    def stream_fault_next(self, kind: str, after_chunks: int = 0, times: int = 1) -> None:
        """Break the next ``times`` streamed replies after ``after_chunks`` events.

        ``"drop"`` closes the socket (no ``[DONE]``, no final chunk of the chunked body);
        ``"malformed"`` sends ``data: {not json``; ``"error_event"`` sends an in-band error
        event (chat: ``{"error": ...}``; Responses: ``{"type": "error", "code": "server_error",
        ..., "sequence_number": n}``); ``"stall"`` stops sending but keeps the socket open until
        the client leaves or the server stops; ``"eof"`` ends the chunked body cleanly before
        any finish reason (chat, so no ``[DONE]`` either) or terminal event (Responses:
        ``response.completed``, ``.failed``, ``.incomplete``). Past the last event the fault
        replaces chat's ``[DONE]``, or follows a Responses stream's terminal event. Applies to
        every stream, a resumed Responses stream (``GET /responses/{id}?stream=true``)
        included; non-streamed requests leave it queued.
        """
        if kind not in STREAM_FAULT_KINDS:
            raise ValueError(f"kind must be one of {STREAM_FAULT_KINDS}, got {kind!r}")
        fault = StreamFault(kind, check_bytes(after_chunks, "after_chunks"))
        self._core.faults.add_stream_fault(fault, times)

    def stream_raw_next(self, events: Sequence[str], times: int = 1) -> None:
        """Send exactly these SSE ``data:`` payloads, one event each, then ``data: [DONE]``
        (chat only: a Responses stream has no terminator), as the next ``times`` streamed
        replies (e.g. a chunk with ``"usage": [1, 2]``)."""
        self._core.faults.add_stream_events(stream_events(events), times)

    # -- background responses ---------------------------------------------------------------

    @property
    def background_step(self) -> float:
        """Seconds between two steps of a background response (default 0.05).

        A job releases the events of its response one per step, the first at once: it is
        ``queued`` until its ``response.in_progress`` event (the third), ``in_progress`` until
        its terminal event (the last), so a short echo reply takes about a dozen steps. Its
        stream (``stream: true``, or a resume with ``starting_after``) sends each event when
        released. 0 runs jobs at once (the create request still answers ``queued``). A new
        value applies to jobs created after.
        """
        return self._core.sim.state.background_step

    @background_step.setter
    def background_step(self, seconds: float) -> None:
        self._core.sim.state.background_step = check_seconds(seconds, "background_step")

    # -- rate limits ------------------------------------------------------------------------

    def set_rate_limits(
        self,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
    ) -> None:
        """Limit each API key's requests and tokens per minute, as OpenAI does (None: no limit).

        Each limit is a token bucket per key (the bearer token; no key shares one bucket):
        capacity the per-minute limit, refilled continuously at limit/60 per second, full at
        first. Each POST to a model endpoint (chat completions, responses, embeddings,
        images, moderations) costs 1 request and an estimate of its tokens: the words of its
        ``messages`` / ``input`` / ``prompt`` / ``instructions`` (at least 1) plus its
        ``max_tokens`` / ``max_completion_tokens`` / ``max_output_tokens``, else 16. A request
        either bucket cannot pay for gets 429 (and pays nothing): OpenAI's body
        ``{"error": {"message": "Rate limit reached for requests per min (RPM) on <model> in
        organization org-fake: Limit: N, Used: U, Requested: 1. Please try again in 1.2s.
        ...", "type": "requests" | "tokens", "param": null, "code": "rate_limit_exceeded"}}``
        with ``retry-after`` (whole seconds, rounded up, at least 1) and ``retry-after-ms``
        until the bucket holds enough. A request larger than the token limit itself gets a
        429 "Request too large ..." with no retry-after (waiting would not help). Other
        endpoints (files, uploads, batches, lists, retrieves) pay nothing.

        While limits are on, every answer carries its key's ``x-ratelimit-limit-requests``,
        ``-limit-tokens``, ``-remaining-requests``, ``-remaining-tokens`` (ints, after this
        request), ``-reset-requests`` and ``-reset-tokens`` (time until the bucket is full
        again, as OpenAI writes it: ``"0s"``, ``"120ms"``, ``"1s"``, ``"1m12.5s"``,
        ``"6m0s"``); an unlimited dimension has no headers. With limits off the headers are
        plausible constants. Calling again replaces the limits and refills every bucket;
        ``set_rate_limits()`` turns them off. ``reset()`` refills the buckets too.
        """
        for name, value in (
            ("requests_per_minute", requests_per_minute),
            ("tokens_per_minute", tokens_per_minute),
        ):
            if value is not None and (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
                or value <= 0
            ):
                raise ValueError(f"{name} must be a number > 0 or None, got {value!r}")
        rpm = None if requests_per_minute is None else float(requests_per_minute)
        tpm = None if tokens_per_minute is None else float(tokens_per_minute)
        self._core.sim.limits.configure(rpm, tpm)

    # -- batches and large files ------------------------------------------------------------

    def fail_batch_lines(self, custom_ids: Iterable[str], status: int = 500) -> None:
        """Make batch request lines with these ``custom_id``s fail with ``status`` (400-599).

        Applies to every batch line processed from now on (until ``clear()``): it goes to the
        batch's error file as ``{"id": ..., "custom_id": ..., "response": {"status_code":
        status, "request_id": ..., "body": <OpenAI's error body for status>}, "error":
        null}`` and counts as failed.
        """
        if isinstance(custom_ids, str):
            raise TypeError("custom_ids must be an iterable of str, not a single str")
        ids = list(custom_ids)
        if not all(isinstance(custom_id, str) for custom_id in ids):
            raise TypeError(f"custom_ids must all be str, got {ids!r}")
        if not 400 <= check_status(status) <= 599:
            raise ValueError(f"status must be an HTTP error status (400-599), got {status!r}")
        state = self._core.sim.state
        with state.lock:
            state.failing_batch_lines.update(dict.fromkeys(ids, status))

    @property
    def batch_step(self) -> float:
        """Seconds between two processing steps of a batch (default 0.01).

        A batch is ``validating`` for one step (its input file is then checked), then
        ``in_progress``: each step processes ``batch_lines_per_step`` lines and advances
        ``request_counts``; then ``finalizing`` for one step, then ``completed``. A cancel
        makes a batch ``cancelling`` at once and ``cancelled`` a step later. Read at each step.
        """
        return self._core.sim.state.batch_step

    @batch_step.setter
    def batch_step(self, seconds: float) -> None:
        self._core.sim.state.batch_step = check_seconds(seconds, "batch_step")

    @property
    def batch_lines_per_step(self) -> int:
        """Input lines a batch processes per step (default 5000; read at each step)."""
        return self._core.sim.state.batch_lines_per_step

    @batch_lines_per_step.setter
    def batch_lines_per_step(self, lines: int) -> None:
        self._core.sim.state.batch_lines_per_step = _positive_int(lines, "batch_lines_per_step")

    @property
    def expire_batches_after(self) -> float | None:
        """Seconds after its creation when a batch not yet done expires (default None: never).

        Checked at each step of every running batch: it ends ``expired`` (``expired_at``),
        its output and error files holding the lines processed so far (``output_file_id`` /
        ``error_file_id`` set only if it has some); lines never run count neither completed
        nor failed.
        """
        return self._core.sim.state.expire_batches_after

    @expire_batches_after.setter
    def expire_batches_after(self, seconds: float | None) -> None:
        value = None if seconds is None else check_seconds(seconds, "expire_batches_after")
        self._core.sim.state.expire_batches_after = value

    @property
    def batch_max_lines(self) -> int:
        """Most requests a batch input file may hold (OpenAI's 50,000); more fails the batch."""
        return self._core.sim.state.batch_max_lines

    @batch_max_lines.setter
    def batch_max_lines(self, lines: int) -> None:
        self._core.sim.state.batch_max_lines = _positive_int(lines, "batch_max_lines")

    @property
    def batch_max_bytes(self) -> int:
        """Largest batch input file in bytes (OpenAI's 200 MB); larger fails the batch."""
        return self._core.sim.state.batch_max_bytes

    @batch_max_bytes.setter
    def batch_max_bytes(self, size: int) -> None:
        self._core.sim.state.batch_max_bytes = _positive_int(size, "batch_max_bytes")

    @property
    def max_file_bytes(self) -> int:
        """Largest file ``POST /v1/files`` takes in one request (default 512 MB).

        A larger one gets 413 ``{"error": {"message": "File is too large ...", "type":
        "invalid_request_error", "param": "file", "code": "file_too_large"}}``: send it
        through the Uploads API (``/v1/uploads``, parts of at most 64 MB) instead.
        """
        return self._core.sim.state.max_file_bytes

    @max_file_bytes.setter
    def max_file_bytes(self, size: int) -> None:
        self._core.sim.state.max_file_bytes = _positive_int(size, "max_file_bytes")

    # -- replies (chat completions and Responses) -------------------------------------------

    def reply_next(
        self,
        text: str | None = None,
        *,
        tool_calls: Sequence[Mapping[str, Any]] | None = None,
        finish_reason: str | None = None,
        usage: Mapping[str, Any] | None = None,
        refusal: str | None = None,
        reasoning: str | None = None,
        status: str = "completed",
        times: int = 1,
    ) -> None:
        """Script the next ``times`` chat completion or Responses replies (streamed or not).

        ``text`` None with no tool calls keeps the echo text (or, for a ``json_schema``
        format, the minimal JSON instance of the schema); a scripted text is sent as is.
        ``tool_calls`` items are ``{"name": ..., "arguments": dict | JSON str, "id":
        optional}`` (Responses: flat ``function_call`` items, the id as their ``call_id``); with
        them ``finish_reason`` defaults to ``"tool_calls"``, else ``"stop"`` (chat only).
        ``usage`` replaces the computed usage object. ``refusal`` replaces the text by a
        refusal (chat: the message's ``refusal``; Responses: a ``refusal`` content part).
        Responses only: ``reasoning`` adds a reasoning item with that summary before the
        message; ``status`` ``"failed"`` ends the response failed (``error`` with code
        ``server_error``, stream ending in ``response.failed``), ``"incomplete"`` ends it
        incomplete (``incomplete_details.reason`` ``max_output_tokens``, stream ending in
        ``response.incomplete``).
        """
        for name, value in (("text", text), ("refusal", refusal), ("reasoning", reasoning)):
            if value is not None and not isinstance(value, str):
                raise TypeError(f"{name} must be a str or None, got {type(value).__name__}")
        if status not in REPLY_STATUSES:
            raise ValueError(f"status must be one of {REPLY_STATUSES}, got {status!r}")
        reply = ScriptedReply(
            text=text,
            tool_calls=tuple(scripted_call(call) for call in tool_calls or ()),
            finish_reason=finish_reason,
            usage=dict(usage) if usage is not None else None,
            refusal=refusal,
            reasoning=reasoning,
            status=status,
        )
        self._core.sim.state.add_replies(reply, check_times(times))

    def stream_tokens_next(self, n: int, times: int = 1) -> None:
        """Script replies of exactly ``n`` content chunks, ``"tok0 "``, ``"tok1 "``, ...

        For long-stream tests: the non-streamed form of the same reply is the joined text.
        """
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n!r}")
        reply = ScriptedReply(chunks=tuple(f"tok{index} " for index in range(n)))
        self._core.sim.state.add_replies(reply, check_times(times))


def _positive_int(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    return value
