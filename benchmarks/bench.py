#!/usr/bin/env python3
"""aikit benchmarks: aikit's performance targets, each measured against its baseline in one run.

    python benchmarks/bench.py [--quick] [--only NAME...] [--json]

Rows (``--only`` takes these names, or their numbers 1-9, comma- or space-separated):

    sync       sync call overhead vs raw requests.Session POST + json.loads    <= 1.05x
    openai     sync call vs openai-python's sync client                         <= 0.7x
    callbacks  2,000 callback calls from one worker vs                          <= 1.1x
               ThreadPoolExecutor(max_concurrent_requests) + requests
    hop        worker-to-worker call_worker ping-pong vs two threads +          p50 <= 1.5x,
               SimpleQueue                                                      p99 <= 1 ms
    stream     streaming events/s: sync stream() and callback on_data vs        >= 3x
               openai-python stream=True (rows stream, stream-cb); sync
               stream() vs raw requests iter_lines + json.loads (stream-raw)    >= 0.75x
    import     ``import aikit`` vs ``import openai``, net of interpreter start  <= 0.3x
    inflight   1,000 in-flight callback calls, server delays each answer 1 s    threads, fds
    responses  Responses API streaming events/s: responses.stream() vs          >= 3x
               openai-python responses.create(stream=True)
    bulk       2,000 requests at the simulator's rate limit: aikit batch run   <= 1.10x ideal,
               --mode direct vs AsyncOpenAI + Semaphore(16), default retries:  <= 1% 429s,
               wall time / the limit's ideal time, 429s, attempts              fewer attempts

All HTTP goes to a tiny HTTP/1.1 keep-alive server that this script starts in a subprocess on
127.0.0.1 (so its GIL and CPU time are not the client's); it answers every chat completion
(and every POST /responses) with the same fixed JSON body or SSE body, and delays answers under
``/slow``. Row ``bulk`` instead runs aikit's own simulator (``aikit.testing.FakeOpenAIServer``)
in this process, with its rate limits on.
The script reports; it does not gate: the exit code is 0 unless a row could not be measured.
Never run it as a timed unit test.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from queue import SimpleQueue
from typing import Any

ROOT = Path(__file__).resolve().parent.parent / "src"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # a plain checkout: import the aikit next to this folder

API_KEY = "sk-bench-0000000000000000"
MODEL = "gpt-4o-mini"
MESSAGES: list[dict[str, str]] = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Could you explain me why 42 is a special number?"},
]
TIMEOUT = 30.0  # seconds, for every client: a stuck call ends the row instead of the run
ROW_NAMES = ("sync", "openai", "callbacks", "hop", "stream", "import", "inflight", "responses",
             "bulk")
#: The input of every Responses API call.
RESPONSES_INPUT = "Could you explain me why 42 is a special number?"


class BenchError(RuntimeError):
    """A row could not be measured (a call failed, a wait timed out)."""


# =============================================================================================
# The server (runs in a subprocess: ``bench.py --serve``)
# =============================================================================================

_COMPLETION: dict[str, Any] = {
    "id": "chatcmpl-bench",
    "object": "chat.completion",
    "created": 1700000000,
    "model": "gpt-4o-mini-2024-07-18",
    "system_fingerprint": "fp_bench",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "42 is the answer to the ultimate question of life, the universe, "
                "and everything, according to Douglas Adams.",
                "refusal": None,
            },
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 28, "completion_tokens": 24, "total_tokens": 52},
}

_HEADERS = (
    b"x-request-id: req_bench\r\n"
    b"openai-processing-ms: 1\r\n"
    b"x-ratelimit-limit-requests: 10000\r\n"
    b"x-ratelimit-remaining-requests: 9999\r\n"
    b"x-ratelimit-reset-requests: 6ms\r\n"
)


def _json_response(body: bytes, status: bytes = b"200 OK") -> bytes:
    return (
        b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\n"
        + b"Content-Length: " + str(len(body)).encode() + b"\r\n" + _HEADERS + b"\r\n" + body
    )


def _sse_events(count: int) -> list[bytes]:
    """``count`` chat.completion.chunk events (role first, finish_reason last) then [DONE]."""
    base = {k: _COMPLETION[k] for k in ("id", "created", "model", "system_fingerprint")}
    events: list[bytes] = []
    for i in range(count):
        delta: dict[str, Any] = {"content": f"w{i} "}
        finish = None
        if i == 0:
            delta = {"role": "assistant", "content": ""}
        elif i == count - 1:
            delta, finish = {}, "stop"
        chunk = {
            "object": "chat.completion.chunk",
            **base,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        events.append(b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + b"\n\n")
    events.append(b"data: [DONE]\n\n")
    return events


def _sse_response(count: int) -> bytes:
    """A chunked text/event-stream answer, one HTTP chunk per event (as OpenAI sends them)."""
    framed = b"".join(b"%x\r\n%s\r\n" % (len(e), e) for e in _sse_events(count))
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n"
        b"Transfer-Encoding: chunked\r\nCache-Control: no-cache\r\n" + _HEADERS + b"\r\n"
        + framed + b"0\r\n\r\n"
    )


_RESPONSE_ID = "resp_bench"
_MESSAGE_ID = "msg_bench"


def _response_object(status: str, output: list[dict[str, Any]],
                     usage: dict[str, Any] | None) -> dict[str, Any]:
    """A Response object with every field OpenAI sends."""
    return {
        "id": _RESPONSE_ID, "object": "response", "created_at": 1741476777, "status": status,
        "background": False, "error": None, "incomplete_details": None, "instructions": None,
        "max_output_tokens": None, "max_tool_calls": None, "model": "gpt-4o-mini-2024-07-18",
        "output": output, "parallel_tool_calls": True, "previous_response_id": None,
        "prompt_cache_key": None, "reasoning": {"effort": None, "summary": None},
        "safety_identifier": None, "service_tier": "default", "store": True,
        "temperature": 1.0, "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": "auto", "tools": [], "top_logprobs": 0, "top_p": 1.0,
        "truncation": "disabled", "usage": usage, "user": None, "metadata": {},
    }


def _responses_events(deltas: int) -> list[dict[str, Any]]:
    """A streamed text answer as OpenAI sends it: created, in_progress, the message item and
    its output_text part opened, ``deltas`` text deltas, everything closed, completed."""
    texts = [f"w{i} " for i in range(deltas)]
    text = "".join(texts)
    where = {"item_id": _MESSAGE_ID, "output_index": 0, "content_index": 0}
    empty_part = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
    part = {**empty_part, "text": text}
    item = {"id": _MESSAGE_ID, "type": "message", "status": "in_progress", "content": [],
            "role": "assistant"}
    done_item = {**item, "status": "completed", "content": [part]}
    usage = {"input_tokens": 18,
             "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
             "output_tokens": deltas, "output_tokens_details": {"reasoning_tokens": 0},
             "total_tokens": 18 + deltas}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": _response_object("in_progress", [], None)},
        {"type": "response.in_progress", "response": _response_object("in_progress", [], None)},
        {"type": "response.output_item.added", "output_index": 0, "item": item},
        {"type": "response.content_part.added", **where, "part": empty_part},
        *({"type": "response.output_text.delta", **where, "delta": t, "logprobs": []}
          for t in texts),
        {"type": "response.output_text.done", **where, "text": text, "logprobs": []},
        {"type": "response.content_part.done", **where, "part": part},
        {"type": "response.output_item.done", "output_index": 0, "item": done_item},
        {"type": "response.completed",
         "response": _response_object("completed", [done_item], usage)},
    ]
    for number, event in enumerate(events):
        event["sequence_number"] = number
    return events


def _responses_sse_response(deltas: int) -> bytes:
    """The events as a chunked text/event-stream answer: ``event: <type>`` and ``data: <json>``
    per event, one HTTP chunk per event (as OpenAI sends them)."""
    framed = []
    for event in _responses_events(deltas):
        data = json.dumps(event, separators=(",", ":"))
        framed.append(f"event: {event['type']}\ndata: {data}\n\n".encode())
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n"
        b"Transfer-Encoding: chunked\r\nCache-Control: no-cache\r\n" + _HEADERS + b"\r\n"
        + b"".join(b"%x\r\n%s\r\n" % (len(e), e) for e in framed) + b"0\r\n\r\n"
    )


_STREAM_RE = re.compile(rb'"stream"\s*:\s*true')
_LENGTH_RE = re.compile(rb"\r\ncontent-length:\s*(\d+)")


def _dechunk(buf: bytearray, start: int) -> tuple[bytes, int] | None:
    """A chunked request body starting at ``start``: (body, end offset), or None if partial."""
    parts: list[bytes] = []
    pos = start
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            return None
        size = int(bytes(buf[pos:eol]).split(b";")[0], 16)
        if size == 0:
            end = buf.find(b"\r\n\r\n", eol)
            return (b"".join(parts), end + 4) if end >= 0 else None
        if len(buf) < eol + 2 + size + 2:
            return None
        parts.append(bytes(buf[eol + 2 : eol + 2 + size]))
        pos = eol + 2 + size + 2


class _BenchProtocol(asyncio.Protocol):
    """HTTP/1.1 keep-alive: parse just enough of each request to frame it and pick the answer."""

    connections = 0  # accepted so far (reported at /_bench/stats)

    def __init__(self, answers: dict[str, bytes], delay: float) -> None:
        self._answers = answers
        self._delay = delay
        self._buf = bytearray()
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        _BenchProtocol.connections += 1

    def data_received(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        while True:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buf[:end]).lower()
            start = end + 4
            if b"\r\ntransfer-encoding: chunked" in head:
                framed = _dechunk(buf, start)
                if framed is None:
                    return
                body, consumed = framed
            else:
                match = _LENGTH_RE.search(head)
                length = int(match.group(1)) if match else 0
                if len(buf) < start + length:
                    return
                body, consumed = bytes(buf[start : start + length]), start + length
            del buf[:consumed]
            self._respond(head, body)

    def _respond(self, head: bytes, body: bytes) -> None:
        path = head.split(b" ", 2)[1]
        if path.endswith(b"/chat/completions"):
            answer = self._answers["sse" if _STREAM_RE.search(body) else "json"]
        elif path.endswith(b"/responses"):
            answer = self._answers["responses_sse" if _STREAM_RE.search(body) else "responses"]
        elif path == b"/_bench/stats":
            stats = {"connections": _BenchProtocol.connections}
            answer = _json_response(json.dumps(stats).encode())
        else:
            answer = self._answers["404"]
        close = b"\r\nconnection: close" in head
        if path.startswith(b"/slow/"):
            asyncio.get_running_loop().call_later(self._delay, self._write, answer, close)
        else:
            self._write(answer, close)

    def _write(self, answer: bytes, close: bool) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        transport.write(answer)
        if close:
            transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None


def serve(events: int, delay: float, lifetime: float) -> None:
    """Serve on 127.0.0.1 (port printed on stdout) until stdin closes or ``lifetime`` ends."""
    answers = {
        "json": _json_response(json.dumps(_COMPLETION, separators=(",", ":")).encode()),
        "sse": _sse_response(events),
        "responses": _json_response(json.dumps(_responses_events(1)[-1]["response"]).encode()),
        "responses_sse": _responses_sse_response(events),
        "404": _json_response(b'{"error":{"message":"not found","type":"invalid_request_error"}}',
                              b"404 Not Found"),
    }

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: _BenchProtocol(answers, delay), "127.0.0.1", 0, backlog=2048
        )
        port = server.sockets[0].getsockname()[1]
        print(port, flush=True)
        stop = asyncio.Event()
        # The parent closes our stdin when it is done (or dies): stop then.
        threading.Thread(
            target=lambda: (sys.stdin.read(), loop.call_soon_threadsafe(stop.set)), daemon=True
        ).start()
        with suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), lifetime)
        server.close()

    asyncio.run(main())


@dataclass
class Server:
    proc: subprocess.Popen[str]
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def slow_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slow/v1"

    def connections(self) -> int:
        """Connections the server accepted so far (this query's own one not counted)."""
        import http.client

        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("GET", "/_bench/stats", headers={"Connection": "close"})
            return int(json.loads(conn.getresponse().read())["connections"]) - 1
        finally:
            conn.close()


@contextmanager
def bench_server(events: int, delay: float) -> Iterator[Server]:
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--serve", "--events", str(events),
         "--delay", str(delay)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # the port; the server is listening once it is printed
        if not line.strip().isdigit():
            raise BenchError(f"the benchmark server did not start (printed {line!r})")
        yield Server(proc, int(line))
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


# =============================================================================================
# Measuring helpers
# =============================================================================================


@dataclass
class Sizes:
    """Counts and time budgets of one run (``--quick`` shrinks them)."""

    # Sync rows alternate short batches many times: this machine's speed drifts within a
    # second, and a slow spell then hits both sides of a round instead of one side's median.
    sync_calls: int = 25  # per round and side
    sync_rounds: int = 120
    openai_calls: int = 20
    openai_rounds: int = 60
    callback_calls: int = 2000
    callback_rounds: int = 7
    hop_round_trips: int = 5000
    hop_rounds: int = 5
    stream_events: int = 2000
    stream_rounds: int = 15
    import_runs: int = 15
    inflight_calls: int = 1000
    inflight_delay: float = 1.0
    bulk_requests: int = 2000  # at bulk_rpm: ideal 20 s
    bulk_rpm: int = 6000
    row_budget: float = 60.0  # seconds a row may spend measuring before it stops adding rounds

    @classmethod
    def quick(cls) -> Sizes:
        return cls(
            sync_calls=20, sync_rounds=40, openai_calls=15, openai_rounds=20,
            callback_calls=600, callback_rounds=3, hop_round_trips=2000, hop_rounds=3,
            stream_events=2000, stream_rounds=5, import_runs=5, inflight_calls=200,
            bulk_requests=300, row_budget=15.0,
        )


@dataclass
class Row:
    name: str
    what: str
    aikit: str
    baseline: str
    ratio: float | None
    target: str
    status: str  # PASS, MISS, INFO, SKIP, ERROR
    notes: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def us(seconds: float) -> str:
    return f"{seconds * 1e6:.1f} us"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def interleave(
    sides: dict[str, Callable[[], float]], rounds: int, budget: float, collect: bool = True
) -> dict[str, list[float]]:
    """Run each side once per round (order alternating), at least 2 rounds, ``rounds`` at most,
    and no new round once ``budget`` seconds have passed. Each side returns its own figure.

    ``collect``: a full gc.collect() before each side (for long sides); short sides run many
    rounds without it, letting the collector run where it falls, on both sides alike."""
    out: dict[str, list[float]] = {name: [] for name in sides}
    names = list(sides)
    gc.collect()
    started = time.monotonic()
    for i in range(rounds):
        if i >= 2 and time.monotonic() - started > budget:
            break
        for name in names if i % 2 == 0 else names[::-1]:
            if collect:
                gc.collect()
            out[name].append(sides[name]())
    return out


def paired_ratio(a: Sequence[float], b: Sequence[float]) -> float:
    """Median of the per-round ratios: each round's two sides ran back to back, so a slow
    spell of the machine affects both terms of a ratio instead of one side's median."""
    return median([x / y for x, y in zip(a, b, strict=True)])


def per_call(
    fn: Callable[[], object], calls: int, cpu: list[float] | None = None
) -> Callable[[], float]:
    """A side that times ``calls`` sequential calls of ``fn``; its figure is wall seconds per
    call. The calling thread's CPU seconds per call go to ``cpu`` when given."""

    def side() -> float:
        cpu_started = time.thread_time()
        started = time.perf_counter()
        for _ in range(calls):
            fn()
        elapsed = time.perf_counter() - started
        if cpu is not None:
            cpu.append((time.thread_time() - cpu_started) / calls)
        return elapsed / calls

    return side


def wait_for(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def chat_payload(stream: bool = False) -> bytes:
    body: dict[str, Any] = {"model": MODEL, "messages": MESSAGES}
    if stream:
        body["stream"] = True
    return json.dumps(body).encode()


RAW_HEADERS = {
    "Authorization": f"Bearer {API_KEY}",
    "Content-Type": "application/json",
    "Accept": "application/json",
}


def raw_session(pool: int = 10) -> Any:
    import requests
    import requests.adapters

    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_maxsize=pool, max_retries=0)
    session.mount("http://", adapter)
    return session


def raw_chat(session: Any, url: str) -> str:
    """What a hand-written client does: POST the JSON, check the status, json.loads."""
    response = session.post(url, data=chat_payload(), headers=RAW_HEADERS, timeout=TIMEOUT)
    if response.status_code != 200:
        raise BenchError(f"raw requests got HTTP {response.status_code}")
    data = json.loads(response.content)
    return str(data["choices"][0]["message"]["content"])


def aikit_client(url: str, **kwargs: Any) -> Any:
    from aikit import OpenAI

    kwargs.setdefault("timeout", TIMEOUT)
    return OpenAI(api_key=API_KEY, base_url=url, **kwargs)


def aikit_chat(client: Any) -> str:
    result = client.chat.completions.create(MESSAGES, model=MODEL)
    if not result.success:
        raise BenchError(f"aikit call failed: {result.errors}")
    return str(result.choice.text)


def openai_module() -> Any | None:
    try:
        import openai
    except ImportError:
        return None
    return openai


def openai_client(url: str) -> Any:
    import openai

    return openai.OpenAI(api_key=API_KEY, base_url=url, max_retries=2, timeout=TIMEOUT)


def openai_chat(client: Any) -> str:
    completion = client.chat.completions.create(model=MODEL, messages=MESSAGES)
    return str(completion.choices[0].message.content)


# =============================================================================================
# Rows
# =============================================================================================


@dataclass
class Context:
    server: Server
    sizes: Sizes


def row_sync(ctx: Context) -> list[Row]:
    """1. aikit sync create() vs raw requests.Session POST + json.loads, same keep-alive server."""
    s = ctx.sizes
    client = aikit_client(ctx.server.url)
    session = raw_session()
    url = ctx.server.url + "/chat/completions"
    try:
        for _ in range(50):  # warm up: connections, lazy imports, caches
            aikit_chat(client)
            raw_chat(session, url)
        opened = ctx.server.connections()
        cpu: dict[str, list[float]] = {"aikit": [], "raw": []}
        figures = interleave(
            {
                "aikit": per_call(lambda: aikit_chat(client), s.sync_calls, cpu["aikit"]),
                "raw": per_call(lambda: raw_chat(session, url), s.sync_calls, cpu["raw"]),
            },
            s.sync_rounds,
            s.row_budget,
            collect=False,
        )
        opened = ctx.server.connections() - opened - 1  # minus the first query's own
    finally:
        client.close()
        session.close()
    a, b = median(figures["aikit"]), median(figures["raw"])
    ratio = paired_ratio(figures["aikit"], figures["raw"])
    ca, cb = median(cpu["aikit"]), median(cpu["raw"])
    return [Row(
        "sync", "sync call overhead vs raw requests.Session + json.loads",
        f"{us(a)}/call", f"{us(b)}/call", ratio, "<= 1.05x", verdict(ratio <= 1.05),
        [f"{len(figures['aikit'])} interleaved rounds x {s.sync_calls} calls; figures are "
         "medians of rounds, ratio the median of per-round ratios",
         f"client CPU per call: aikit {us(ca)}, raw {us(cb)} ({ca / cb:.2f}x); "
         f"{opened} new connection(s) while measuring (keep-alive)"],
        {"aikit_s": a, "baseline_s": b, "aikit_cpu_s": ca, "baseline_cpu_s": cb,
         "rounds": figures},
    )]


def row_openai(ctx: Context) -> list[Row]:
    """2. aikit sync create() vs openai-python's sync client, same server."""
    if openai_module() is None:
        return [Row("openai", "sync call vs openai-python", "-", "-", None, "<= 0.7x", "SKIP",
                    ["openai is not installed (pip install openai)"])]
    s = ctx.sizes
    client = aikit_client(ctx.server.url)
    oclient = openai_client(ctx.server.url)
    try:
        for _ in range(50):
            aikit_chat(client)
            openai_chat(oclient)
        opened = ctx.server.connections()
        cpu: dict[str, list[float]] = {"aikit": [], "openai": []}
        figures = interleave(
            {
                "aikit": per_call(lambda: aikit_chat(client), s.openai_calls, cpu["aikit"]),
                "openai": per_call(lambda: openai_chat(oclient), s.openai_calls, cpu["openai"]),
            },
            s.openai_rounds,
            s.row_budget,
            collect=False,
        )
        opened = ctx.server.connections() - opened - 1
    finally:
        client.close()
        oclient.close()
    a, b = median(figures["aikit"]), median(figures["openai"])
    ratio = paired_ratio(figures["aikit"], figures["openai"])
    ca, cb = median(cpu["aikit"]), median(cpu["openai"])
    version = getattr(openai_module(), "__version__", "?")
    return [Row(
        "openai", "sync call vs openai-python sync client",
        f"{us(a)}/call", f"{us(b)}/call", ratio, "<= 0.7x", verdict(ratio <= 0.7),
        [f"{len(figures['aikit'])} interleaved rounds x {s.openai_calls} calls (openai "
         f"{version}); ratio = median of per-round ratios",
         f"client CPU per call: aikit {us(ca)}, openai {us(cb)} ({ca / cb:.2f}x); "
         f"{opened} new connection(s) while measuring (keep-alive)"],
        {"aikit_s": a, "baseline_s": b, "aikit_cpu_s": ca, "baseline_cpu_s": cb,
         "rounds": figures},
    )]


def row_callbacks(ctx: Context) -> list[Row]:
    """3. N callback calls issued from one worker, until all N on_response ran there, vs a
    ThreadPoolExecutor(max_concurrent_requests) + one shared requests.Session (the same shape
    as aikit's I/O pool: one Session, a connection pool as large as the thread pool), with the
    results collected by the issuing thread through as_completed."""
    from aikit import process

    s = ctx.sizes
    n = s.callback_calls
    client = aikit_client(ctx.server.url)
    pool = client.max_concurrent_requests
    session = raw_session(pool)
    executor = ThreadPoolExecutor(pool)
    url = ctx.server.url + "/chat/completions"
    worker = "bench-callbacks"
    timeout = 120.0

    def aikit_batch(count: int) -> float:
        done = process.Signal()
        state = {"ok": 0, "failed": 0}

        def on_response(result: Any) -> None:
            _ = result.choice.text
            state["ok"] += 1
            if state["ok"] + state["failed"] == count:
                done.trigger(time.perf_counter())

        def on_error(result: Any) -> None:
            state["failed"] += 1
            if state["ok"] + state["failed"] == count:
                done.trigger(time.perf_counter())

        def issue() -> None:
            for _ in range(count):
                client.chat.completions.create(
                    MESSAGES, model=MODEL, on_response=on_response, on_error=on_error
                )

        started = time.perf_counter()
        process.call_worker(worker, issue)
        if not done.wait(timeout):
            raise BenchError(f"aikit delivered {state} of {count} callbacks in {timeout} s")
        if state["failed"]:
            raise BenchError(f"{state['failed']} of {count} aikit callback calls failed")
        return float(done.value) - started

    def raw_batch(count: int) -> float:
        started = time.perf_counter()
        futures = [executor.submit(raw_chat, session, url) for _ in range(count)]
        for future in as_completed(futures, timeout=timeout):
            future.result()
        return time.perf_counter() - started

    try:
        aikit_batch(min(n, 200))
        raw_batch(min(n, 200))
        figures = interleave(
            {"aikit": lambda: aikit_batch(n), "raw": lambda: raw_batch(n)},
            s.callback_rounds,
            s.row_budget,
        )
    finally:
        process.kill_worker(worker)
        client.close()
        executor.shutdown(wait=True)
        session.close()
    a, b = median(figures["aikit"]), median(figures["raw"])
    ratio = paired_ratio(figures["aikit"], figures["raw"])
    return [Row(
        "callbacks", f"{n} callback calls from one worker vs ThreadPoolExecutor({pool})+requests",
        f"{a:.3f} s", f"{b:.3f} s", ratio, "<= 1.1x", verdict(ratio <= 1.1),
        [f"{len(figures['aikit'])} interleaved rounds, medians, ratio of pairs; "
         f"aikit {n / a:.0f} calls/s, raw {n / b:.0f} calls/s"],
        {"aikit_s": a, "baseline_s": b, "calls": n, "rounds": figures},
    )]


def row_hop(ctx: Context) -> list[Row]:
    """4. One hop = post a message to another thread until it runs there. aikit: two workers
    ping-ponging with call_worker; baseline: two plain threads ping-ponging on SimpleQueues."""
    from aikit import process

    s = ctx.sizes
    n = s.hop_round_trips
    timeout = 60.0
    ping, pong = "bench-ping", "bench-pong"

    def aikit_round() -> list[float]:
        hops: list[float] = []
        done = process.Signal()

        def on_ping(sent: float, k: int) -> None:
            hops.append(time.perf_counter() - sent)
            if k >= n:
                done.trigger()
                return
            process.call_worker(pong, on_pong, time.perf_counter(), k)

        def on_pong(sent: float, k: int) -> None:
            hops.append(time.perf_counter() - sent)
            process.call_worker(ping, on_ping, time.perf_counter(), k + 1)

        def start() -> None:
            process.call_worker(pong, on_pong, time.perf_counter(), 0)

        process.call_worker(ping, start)
        if not done.wait(timeout) or len(hops) != 2 * n:
            raise BenchError("aikit ping-pong did not finish")
        return hops

    def thread_round() -> list[float]:
        hops: list[float] = []
        inbox_a: SimpleQueue[tuple[float, int] | None] = SimpleQueue()
        inbox_b: SimpleQueue[tuple[float, int] | None] = SimpleQueue()

        def run_a() -> None:
            inbox_b.put((time.perf_counter(), 0))
            while True:
                item = inbox_a.get(timeout=timeout)
                if item is None:
                    return
                hops.append(time.perf_counter() - item[0])
                if item[1] >= n:
                    inbox_b.put(None)
                    return
                inbox_b.put((time.perf_counter(), item[1]))

        def run_b() -> None:
            while True:
                item = inbox_b.get(timeout=timeout)
                if item is None:
                    return
                hops.append(time.perf_counter() - item[0])
                inbox_a.put((time.perf_counter(), item[1] + 1))

        threads = [threading.Thread(target=run_b), threading.Thread(target=run_a)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout)
        if len(hops) != 2 * n:
            raise BenchError("thread ping-pong did not finish")
        return hops

    results: dict[str, list[float]] = {"aikit": [], "threads": []}
    rounds: dict[str, list[float]] = {"aikit": [], "threads": []}

    def side(name: str, fn: Callable[[], list[float]]) -> Callable[[], float]:
        def run() -> float:
            hops = fn()
            results[name].extend(hops)
            rounds[name].append(median(hops))
            return median(hops)

        return run

    try:
        aikit_round()  # warm up: both workers exist from here on
        thread_round()
        interleave(
            {"aikit": side("aikit", aikit_round), "threads": side("threads", thread_round)},
            s.hop_rounds,
            s.row_budget,
        )
    finally:
        process.kill_worker(ping)
        process.kill_worker(pong)
    a, b = median(results["aikit"]), median(results["threads"])
    p99, p99_base = quantile(results["aikit"], 0.99), quantile(results["threads"], 0.99)
    ratio = a / b
    return [Row(
        "hop", "call_worker hop (worker ping-pong) vs 2 threads + SimpleQueue",
        f"{us(a)}/hop", f"{us(b)}/hop", ratio, "p50 <= 1.5x, p99 <= 1 ms",
        verdict(ratio <= 1.5 and p99 <= 1e-3),
        [f"figures and ratio: median (p50) hop over all rounds; aikit p99 {us(p99)} "
         f"(threads p99 {us(p99_base)}), "
         f"p99.9 {us(quantile(results['aikit'], 0.999))}, max {us(max(results['aikit']))}; "
         f"{len(results['aikit'])} hops"],
        {"aikit_s": a, "baseline_s": b, "aikit_p99_s": p99, "baseline_p99_s": p99_base,
         "round_medians": rounds},
    )]


def row_stream(ctx: Context) -> list[Row]:
    """5. Events/s over one SSE body: aikit sync stream() and callback on_data into a worker,
    vs openai-python stream=True; and aikit stream() vs raw requests iter_lines + json.loads."""
    from aikit import process

    s = ctx.sizes
    events = s.stream_events
    url = ctx.server.url
    client = aikit_client(url)
    session = raw_session()
    has_openai = openai_module() is not None
    oclient = openai_client(url) if has_openai else None
    worker = "bench-stream"
    timeout = 60.0

    def check(count: int, who: str) -> None:
        if count != events:
            raise BenchError(f"{who} saw {count} chunks, expected {events}")

    def aikit_sync() -> float:
        started = time.perf_counter()
        count = 0
        with client.chat.completions.stream(MESSAGES, model=MODEL) as stream:
            for chunk in stream:
                _ = chunk.choice.text
                count += 1
        elapsed = time.perf_counter() - started
        check(count, "aikit stream()")
        return events / elapsed

    def aikit_callback() -> float:
        done = process.Signal()
        state = {"n": 0}

        def on_data(chunk: Any) -> None:
            _ = chunk.choice.text
            state["n"] += 1

        def on_terminate(result: Any) -> None:
            done.trigger((time.perf_counter(), result.success))

        def issue() -> None:
            client.chat.completions.create(
                MESSAGES, model=MODEL, stream=True, on_data=on_data, on_terminate=on_terminate
            )

        started = time.perf_counter()
        process.call_worker(worker, issue)
        if not done.wait(timeout):
            raise BenchError("aikit callback stream did not end")
        ended, ok = done.value
        if not ok:
            raise BenchError("aikit callback stream failed")
        check(state["n"], "aikit on_data")
        return float(events / (ended - started))

    def openai_stream() -> float:
        assert oclient is not None
        started = time.perf_counter()
        count = 0
        for chunk in oclient.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True):
            _ = chunk.choices[0].delta.content
            count += 1
        elapsed = time.perf_counter() - started
        check(count, "openai-python")
        return events / elapsed

    def raw_stream() -> float:
        """The minimum a hand-written SSE client does: iter_lines, skip all but data lines and
        [DONE], json.loads each event, read its delta's content."""
        started = time.perf_counter()
        count = 0
        headers = {**RAW_HEADERS, "Accept": "text/event-stream"}
        with session.post(url + "/chat/completions", data=chat_payload(stream=True),
                          headers=headers, stream=True, timeout=TIMEOUT) as response:
            if response.status_code != 200:
                raise BenchError(f"raw requests got HTTP {response.status_code}")
            for line in response.iter_lines():
                if line.startswith(b"data: ") and line != b"data: [DONE]":
                    _ = json.loads(line[6:])["choices"][0]["delta"].get("content")
                    count += 1
        elapsed = time.perf_counter() - started
        check(count, "raw requests")
        return events / elapsed

    sides: dict[str, Callable[[], float]] = {
        "aikit": aikit_sync, "aikit_cb": aikit_callback, "raw": raw_stream,
    }
    if has_openai:
        sides["openai"] = openai_stream
    try:
        for fn in sides.values():
            fn()
        figures = interleave(sides, s.stream_rounds, s.row_budget, collect=False)
    finally:
        process.kill_worker(worker)
        client.close()
        session.close()
        if oclient is not None:
            oclient.close()
    med = {name: median(values) for name, values in figures.items()}
    note = (f"{events} events/stream, {len(figures['aikit'])} interleaved rounds, figures are "
            "medians, ratios the medians of per-round ratios")
    raw_ratio = paired_ratio(figures["aikit"], figures["raw"])
    raw_row = Row(
        "stream-raw", "streaming events/s, sync stream() vs raw requests iter_lines + json.loads",
        f"{med['aikit']:.0f} ev/s", f"{med['raw']:.0f} ev/s", raw_ratio, ">= 0.75x",
        verdict(raw_ratio >= 0.75),
        [f"callback on_data reaches {paired_ratio(figures['aikit_cb'], figures['raw']):.2f}x "
         "of raw requests"],
    )
    if not has_openai:
        return [Row("stream", "streaming events/s vs openai-python", f"{med['aikit']:.0f} ev/s",
                    "-", None, ">= 3x", "SKIP", ["openai is not installed", note],
                    {"events_per_s": figures}),
                raw_row]
    base = med["openai"]

    def ratio(name: str) -> float:
        return paired_ratio(figures[name], figures["openai"])

    raw_row.notes.append(f"raw requests reaches {ratio('raw'):.2f}x of openai-python")
    return [
        Row("stream", "streaming events/s, sync stream() vs openai-python stream=True",
            f"{med['aikit']:.0f} ev/s", f"{base:.0f} ev/s", ratio("aikit"), ">= 3x",
            verdict(ratio("aikit") >= 3.0), [note], {"events_per_s": figures}),
        Row("stream-cb", "streaming events/s, callback on_data into a worker vs openai-python",
            f"{med['aikit_cb']:.0f} ev/s", f"{base:.0f} ev/s", ratio("aikit_cb"), ">= 3x",
            verdict(ratio("aikit_cb") >= 3.0)),
        raw_row,
    ]


def check_responses_events(server: Server) -> int:
    """Fetch the Responses SSE body once and validate every event with openai-python's own
    pydantic model of its type (required fields and types checked, not the lenient parsing its
    stream does); the event count."""
    import typing

    import pydantic
    from openai.types.responses import ResponseStreamEvent

    union = typing.get_args(ResponseStreamEvent)[0]  # Annotated[Union[...], discriminator]
    models: dict[str, Any] = {
        typing.get_args(cls.model_fields["type"].annotation)[0]: cls
        for cls in typing.get_args(union)
    }
    session = raw_session()
    body = json.dumps({"model": MODEL, "input": RESPONSES_INPUT, "stream": True}).encode()
    headers = {**RAW_HEADERS, "Accept": "text/event-stream"}
    name, count = None, 0
    try:
        with session.post(server.url + "/responses", data=body, headers=headers, stream=True,
                          timeout=TIMEOUT) as response:
            for line in response.iter_lines():
                if line.startswith(b"event: "):
                    name = line[7:].decode()
                elif line.startswith(b"data: "):
                    kind = json.loads(line[6:]).get("type")
                    if kind != name or kind not in models:
                        raise BenchError(f"event {name!r} carries data of type {kind!r}")
                    try:
                        models[kind].model_validate_json(line[6:])
                    except pydantic.ValidationError as exc:
                        raise BenchError(f"openai-python refuses {kind}: {exc}") from None
                    count += 1
    finally:
        session.close()
    return count


def row_responses(ctx: Context) -> list[Row]:
    """8. Events/s over one Responses API SSE body: aikit responses.stream() vs openai-python
    responses.create(stream=True), both reading each text delta."""
    if openai_module() is None:
        return [Row("responses", "Responses streaming events/s vs openai-python", "-", "-",
                    None, ">= 3x", "SKIP", ["openai is not installed (pip install openai)"])]
    s = ctx.sizes
    deltas = s.stream_events
    events = deltas + 8  # created, in_progress, item/part added, deltas, 4 x done, completed
    client = aikit_client(ctx.server.url)
    oclient = openai_client(ctx.server.url)
    delta_type = "response.output_text.delta"

    def check(count: int, seen: int, who: str) -> None:
        if count != events or seen != deltas:
            raise BenchError(f"{who} saw {count} events ({seen} deltas), expected {events} "
                             f"({deltas})")

    def aikit_stream() -> float:
        started = time.perf_counter()
        count = seen = 0
        with client.responses.stream(RESPONSES_INPUT, model=MODEL) as stream:
            for item in stream:
                event = item.event
                if event.type == delta_type:
                    _ = event.delta
                    seen += 1
                count += 1
        elapsed = time.perf_counter() - started
        result = stream.result
        if result is None or not result.success:
            raise BenchError(f"aikit responses.stream() failed: {result and result.errors}")
        check(count, seen, "aikit responses.stream()")
        return events / elapsed

    def openai_stream() -> float:
        started = time.perf_counter()
        count = seen = 0
        for event in oclient.responses.create(model=MODEL, input=RESPONSES_INPUT, stream=True):
            if event.type == delta_type:
                _ = event.delta
                seen += 1
            count += 1
        elapsed = time.perf_counter() - started
        check(count, seen, "openai-python")
        return events / elapsed

    sides: dict[str, Callable[[], float]] = {"aikit": aikit_stream, "openai": openai_stream}
    try:
        valid = check_responses_events(ctx.server)
        if valid != events:
            raise BenchError(f"the server sent {valid} events, expected {events}")
        for fn in sides.values():  # warm up, and both sides read the same deltas
            fn()
        figures = interleave(sides, s.stream_rounds, s.row_budget, collect=False)
    finally:
        client.close()
        oclient.close()
    med = {name: median(values) for name, values in figures.items()}
    ratio = paired_ratio(figures["aikit"], figures["openai"])
    version = getattr(openai_module(), "__version__", "?")
    return [Row(
        "responses", "Responses streaming events/s, responses.stream() vs openai-python",
        f"{med['aikit']:.0f} ev/s", f"{med['openai']:.0f} ev/s", ratio, ">= 3x",
        verdict(ratio >= 3.0),
        [f"{events} events/stream ({deltas} output_text deltas, each event validated by openai "
         f"{version}'s models), {len(figures['aikit'])} interleaved rounds, figures are "
         "medians, ratio the median of per-round ratios"],
        {"events_per_s": figures, "events": events, "deltas": deltas},
    )]


def row_import(ctx: Context) -> list[Row]:
    """6. Fresh-interpreter wall time of ``import X`` minus ``pass``, interleaved, medians."""
    s = ctx.sizes
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AIKIT_", "OPENAI_")) and k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    # Both packages import from cached bytecode, kept outside the checkout (the warm-up runs
    # write it): compiling sources on every run would measure the compiler.
    env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "aikit-bench-pycache")
    has_openai = openai_module() is not None
    codes = {"pass": "pass", "aikit": "import aikit"}
    if has_openai:
        codes["openai"] = "import openai"

    def run(code: str) -> float:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.perf_counter() - started

    for code in codes.values():  # warm up: .pyc files written, page cache filled
        run(code)
    figures = interleave(
        {name: (lambda c=code: run(c)) for name, code in codes.items()},  # type: ignore[misc]
        s.import_runs,
        s.row_budget,
    )
    med = {name: median(values) for name, values in figures.items()}
    net_aikit = med["aikit"] - med["pass"]
    selftime = import_time_ms(env, "aikit")
    notes = [f"{len(figures['pass'])} interleaved runs each; interpreter start "
             f"{med['pass'] * 1e3:.1f} ms; -X importtime cumulative: aikit {selftime:.1f} ms"]
    if not has_openai:
        return [Row("import", "import aikit vs import openai", f"{net_aikit * 1e3:.1f} ms", "-",
                    None, "<= 0.3x", "SKIP", ["openai is not installed", *notes])]
    net_openai = med["openai"] - med["pass"]
    notes[0] += f", openai {import_time_ms(env, 'openai'):.1f} ms"
    ratio = net_aikit / net_openai
    return [Row(
        "import", "import aikit vs import openai (net of interpreter start)",
        f"{net_aikit * 1e3:.1f} ms", f"{net_openai * 1e3:.1f} ms", ratio, "<= 0.3x",
        verdict(ratio <= 0.3), notes,
        {"aikit_s": net_aikit, "baseline_s": net_openai, "runs": figures},
    )]


def import_time_ms(env: dict[str, str], module: str) -> float:
    """The cumulative ``-X importtime`` figure of ``module``'s top-level import, in ms."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"],
                          env=env, capture_output=True, text=True, timeout=60, check=True)
    for line in done.stderr.splitlines():
        parts = [p.strip() for p in line.split("|")]
        if len(parts) == 3 and parts[2] == module:
            return int(parts[1]) / 1e3
    return float("nan")


def count_threads() -> tuple[int, int]:
    """(Python threads, OS threads of this process)."""
    try:
        tasks = len(os.listdir("/proc/self/task"))
    except OSError:
        tasks = -1
    return threading.active_count(), tasks


def count_fds() -> int:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return -1


def row_inflight(ctx: Context) -> list[Row]:
    """7. N callback calls in flight at once against answers delayed by 1 s: thread count,
    callbacks delivered, threads and fds after close() + kill_worker."""
    from aikit import process

    s = ctx.sizes
    n = s.inflight_calls
    worker = "bench-inflight"
    gc.collect()
    threads0, tasks0 = count_threads()
    fds0 = count_fds()
    client = aikit_client(ctx.server.slow_url, timeout=60.0, max_retries=0)  # FIFO waits
    pool = client.max_concurrent_requests
    done = process.Signal()
    state = {"ok": 0, "failed": 0}

    def on_terminate(result: Any) -> None:
        state["ok" if result.success else "failed"] += 1
        if state["ok"] + state["failed"] == n:
            done.trigger(time.perf_counter())

    def issue() -> None:
        for _ in range(n):
            client.chat.completions.create(MESSAGES, model=MODEL, on_terminate=on_terminate)

    expected = n / pool * s.inflight_delay
    timeout = expected * 1.5 + 30.0
    peak_threads, peak_tasks, peak_fds = threads0, tasks0, fds0
    started = time.perf_counter()
    process.call_worker(worker, issue)
    deadline = time.monotonic() + timeout
    try:
        while not done.wait(0.05) and time.monotonic() < deadline:
            threads, tasks = count_threads()
            peak_threads, peak_tasks = max(peak_threads, threads), max(peak_tasks, tasks)
            peak_fds = max(peak_fds, count_fds())
    finally:
        client.close()
        process.kill_worker(worker)
    elapsed = (done.value - started) if done.signaled else float("nan")
    gc.collect()
    settled = wait_for(lambda: count_threads()[0] <= threads0 and count_fds() <= fds0, 10.0)
    threads1, tasks1 = count_threads()
    fds1 = count_fds()
    # Threads as a fresh process would count them: this process's main thread + what aikit added.
    used = peak_threads - threads0 + 1
    limit = pool + 4
    delivered = state["ok"] + state["failed"]
    ok = used <= limit and state["ok"] == n and settled
    return [Row(
        "inflight", f"{n} in-flight callback calls, answers delayed {s.inflight_delay:g} s",
        f"{used} thr, {delivered}/{n} cb", f"limit {limit} thr", None,
        "thr<=pool+4, all cb, back to base", verdict(ok),
        [f"peak {peak_threads} Python threads / {peak_tasks} OS threads / {peak_fds} fds "
         f"(before: {threads0} / {tasks0} / {fds0}; after close+kill: {threads1} / {tasks1} / "
         f"{fds1}); {state['failed']} failed; all delivered in {elapsed:.1f} s "
         f"(ideal {expected:.1f} s)"],
        {"threads_used": used, "limit": limit, "ok": state["ok"], "failed": state["failed"],
         "before": [threads0, tasks0, fds0], "peak": [peak_threads, peak_tasks, peak_fds],
         "after": [threads1, tasks1, fds1], "elapsed_s": elapsed, "back_to_baseline": settled},
    )]


def drain_rate_limit(server: Any, key: str, limit: float) -> int:
    """Spend ``key``'s request budget on the simulator: POST until every connection has been
    answered 429 (the bucket is empty), then forget those requests and statuses. Returns how
    many requests it took. Bounded by count and time (2 x ``limit`` requests, 60 s)."""
    import http.client

    body = chat_payload()
    headers = {**RAW_HEADERS, "Authorization": f"Bearer {key}"}
    sent = {"n": 0}
    lock = threading.Lock()
    deadline = time.monotonic() + 60.0

    def drainer() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=TIMEOUT)
        try:
            while time.monotonic() < deadline:
                with lock:
                    if sent["n"] >= 2 * limit:
                        return
                    sent["n"] += 1
                conn.request("POST", "/v1/chat/completions", body, headers)
                response = conn.getresponse()
                response.read()
                if response.status == 429:
                    return
                if response.status != 200:
                    raise BenchError(f"draining the simulator's budget got HTTP "
                                     f"{response.status}")
        finally:
            conn.close()

    with ThreadPoolExecutor(8) as pool:
        for future in [pool.submit(drainer) for _ in range(8)]:
            future.result()
    if server.status_counts[429] < 1:
        raise BenchError(f"{sent['n']} requests did not spend the simulator's budget")
    server.clear()  # forget the draining requests and their statuses (the bucket stays empty)
    return sent["n"]


def row_bulk(ctx: Context) -> list[Row]:
    """9. The same N-request job against the rate-limited simulator (R requests/min per key):
    ``aikit batch run --mode direct --rpm R --concurrency 16`` (a subprocess) vs openai-python
    AsyncOpenAI + asyncio.Semaphore(16) with its default 2 retries. Wall time against the
    limit's ideal N / (R / 60), 429s and attempts the server saw."""
    from aikit.testing import FakeOpenAIServer

    s = ctx.sizes
    n, rpm, concurrency = s.bulk_requests, s.bulk_rpm, 16
    ideal = n / (rpm / 60.0)
    timeout = ideal * 3 + 60.0
    has_openai = openai_module() is not None
    body = {"model": MODEL, "messages": MESSAGES}

    @contextmanager
    def limited_server() -> Iterator[Any]:
        """A fresh simulator whose key has just spent its budget: the limit binds from the
        first request, as in the steady state of any job longer than the burst."""
        with FakeOpenAIServer(api_key=API_KEY) as server:
            server.set_rate_limits(requests_per_minute=rpm)
            drain_rate_limit(server, API_KEY, rpm)
            yield server

    def tally(server: Any, elapsed: float, ok: int, failed: int) -> dict[str, Any]:
        attempts = len(server.requests)
        rejected = server.status_counts[429]
        return {"wall_s": elapsed, "ideal_s": ideal, "vs_ideal": elapsed / ideal, "ok": ok,
                "failed": failed, "attempts": attempts, "429s": rejected,
                "429_share": rejected / attempts if attempts else 0.0,
                "statuses": dict(server.status_counts)}

    def aikit_side(folder: Path) -> dict[str, Any]:
        source, out = folder / "in.jsonl", folder / "out.jsonl"
        with source.open("w") as f:
            for i in range(n):
                f.write(json.dumps({"custom_id": f"req-{i}", "method": "POST",
                                    "url": "/v1/chat/completions", "body": body}) + "\n")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "aikit-bench-pycache")
        with limited_server() as server:
            command = [sys.executable, "-m", "aikit", "batch", "run", str(source), "--out",
                       str(out), "--mode", "direct", "--rpm", str(rpm), "--concurrency",
                       str(concurrency), "--base-url", server.url, "--api-key", API_KEY]
            connections = server.total_connections
            first: list[float] = []
            finished = threading.Event()

            def watch() -> None:  # when the command's first connection arrives
                while not finished.wait(0.002):
                    if server.total_connections > connections:
                        first.append(time.perf_counter())
                        return

            watcher = threading.Thread(target=watch, daemon=True)
            started = time.perf_counter()
            watcher.start()
            try:
                done = subprocess.run(command, env=env, capture_output=True, text=True,
                                      timeout=timeout)
            finally:
                elapsed = time.perf_counter() - started
                finished.set()
                watcher.join(5.0)
            if done.returncode not in (0, 1):  # 1: some lines failed (counted below)
                raise BenchError(f"aikit batch run exited {done.returncode}: "
                                 f"{done.stderr.strip()[-500:]}")
            statuses: dict[str, int] = {}
            for line in out.read_text().splitlines():
                record = json.loads(line)
                status = (record.get("response") or {}).get("status_code")
                statuses[record["custom_id"]] = status
            ok = sum(status == 200 for status in statuses.values())
            figures = tally(server, elapsed, ok, n - ok)
        figures["output_lines"] = len(statuses)
        figures["start_s"] = first[0] - started if first else None  # to the first connection
        return figures

    def openai_side() -> dict[str, Any]:
        import openai

        failures: dict[str, int] = {}

        async def job(url: str) -> tuple[float, int]:
            client = openai.AsyncOpenAI(base_url=url, api_key=API_KEY, max_retries=2,
                                        timeout=TIMEOUT)
            gate = asyncio.Semaphore(concurrency)

            async def one() -> str | None:
                async with gate:
                    completion = await client.chat.completions.create(model=MODEL,
                                                                      messages=MESSAGES)
                return completion.choices[0].message.content

            try:
                started = time.perf_counter()
                outcomes = await asyncio.wait_for(
                    asyncio.gather(*(one() for _ in range(n)), return_exceptions=True),
                    timeout)
                elapsed = time.perf_counter() - started
            finally:
                await client.close()
            for outcome in outcomes:
                if isinstance(outcome, BaseException):
                    name = type(outcome).__name__
                    failures[name] = failures.get(name, 0) + 1
            return elapsed, n - sum(failures.values())

        with limited_server() as server:
            elapsed, ok = asyncio.run(job(server.url))
            figures = tally(server, elapsed, ok, n - ok)
        figures["failures"] = failures
        return figures

    def describe(name: str, f: dict[str, Any]) -> str:
        return (f"{name}: {f['wall_s']:.1f} s = {f['vs_ideal']:.2f}x ideal; {f['ok']}/{n} "
                f"succeeded, {f['failed']} failed; {f['429s']} 429s in {f['attempts']} "
                f"attempts ({f['429_share']:.1%})")

    def short(f: dict[str, Any]) -> str:
        failed = f", {f['failed']} failed" if f["failed"] else ""
        return f"{f['vs_ideal']:.2f}x{failed}, {f['429_share']:.1%} 429, {f['attempts']} att"

    with tempfile.TemporaryDirectory(prefix="aikit-bench-bulk-") as folder:
        a = aikit_side(Path(folder))
    complete = a["ok"] == n and a["output_lines"] == n
    notes = [f"{n} chat completions, simulator limit {rpm:g} requests/min per key (budget "
             f"spent before each side), ideal {ideal:.1f} s; concurrency {concurrency}",
             describe("aikit batch run --mode direct", a)
             + (f"; {a['start_s']:.2f} s of it before its first connection (interpreter "
                "start, imports, reading the input): net of that "
                f"{(a['wall_s'] - a['start_s']) / ideal:.2f}x" if a["start_s"] is not None
                else "")]
    if not complete:
        notes.append(f"aikit output: {a['output_lines']} lines, {a['ok']} with status 200")
    target = "<=1.10x ideal, <=1% 429, fewer att"
    what = f"{n}-request job at {rpm:g} rpm: aikit batch run vs AsyncOpenAI + Semaphore"
    if not has_openai:
        notes.append("openai is not installed (pip install openai): no baseline")
        return [Row("bulk", what, short(a), "-", a["vs_ideal"], target, "SKIP", notes,
                    {"aikit": a, "requests": n, "rpm": rpm, "ideal_s": ideal})]
    b = openai_side()
    version = getattr(openai_module(), "__version__", "?")
    notes.append(describe(f"openai {version} AsyncOpenAI(max_retries=2)", b)
                 + (f" ({', '.join(f'{k} x{v}' for k, v in b['failures'].items())})"
                    if b["failures"] else ""))
    ok = (complete and a["vs_ideal"] <= 1.10 and a["429_share"] <= 0.01
          and a["attempts"] < b["attempts"])
    return [Row("bulk", what, short(a), short(b), a["vs_ideal"], target, verdict(ok), notes,
                {"aikit": a, "baseline": b, "requests": n, "rpm": rpm, "ideal_s": ideal})]


ROWS: dict[str, Callable[[Context], list[Row]]] = {
    "sync": row_sync,
    "openai": row_openai,
    "callbacks": row_callbacks,
    "hop": row_hop,
    "stream": row_stream,
    "import": row_import,
    "inflight": row_inflight,
    "responses": row_responses,
    "bulk": row_bulk,
}


# =============================================================================================
# Command line
# =============================================================================================


def format_row(row: Row) -> str:
    ratio = f"{row.ratio:.2f}x" if row.ratio is not None else "-"
    line = (f"{row.name:<10} aikit {row.aikit:>18}  base {row.baseline:>18}  "
            f"ratio {ratio:>6}  target {row.target:<24} {row.status}")
    return "\n".join([line, *(f"{'':<11}{note}" for note in row.notes)])


def parse_only(values: Sequence[str] | None) -> list[str]:
    if not values:
        return list(ROW_NAMES)
    wanted: list[str] = []
    for value in values:
        for name in filter(None, (v.strip() for v in value.split(","))):
            if name.isdigit() and 1 <= int(name) <= len(ROW_NAMES):
                name = ROW_NAMES[int(name) - 1]
            if name not in ROWS:
                raise SystemExit(f"bench.py: unknown row {name!r} (choose from "
                                 f"{', '.join(ROW_NAMES)} or 1-{len(ROW_NAMES)})")
            if name not in wanted:
                wanted.append(name)
    return [name for name in ROW_NAMES if name in wanted]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smaller counts (< 60 s in all)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help=f"rows: {', '.join(ROW_NAMES)}")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--events", type=int, default=2000, help=argparse.SUPPRESS)
    parser.add_argument("--delay", type=float, default=1.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.events, args.delay, lifetime=1800.0)
        return 0

    names = parse_only(args.only)
    sizes = Sizes.quick() if args.quick else Sizes()
    # Only 127.0.0.1 is ever contacted: make sure no proxy from the environment intercepts it.
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
    for name in [k for k in os.environ if k.startswith(("OPENAI_", "AIKIT_"))]:
        del os.environ[name]

    rows: list[Row] = []
    started = time.monotonic()
    if not args.json:
        print(f"aikit benchmarks ({'quick' if args.quick else 'default'} run, "
              f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs)", flush=True)
    with bench_server(sizes.stream_events, sizes.inflight_delay) as server:
        ctx = Context(server, sizes)
        for name in names:
            try:
                produced = ROWS[name](ctx)
            except Exception as exc:  # report the row as not measured, go on with the others
                produced = [Row(name, "", "-", "-", None, "-", "ERROR",
                                [f"{type(exc).__name__}: {exc}"])]
            rows.extend(produced)
            if not args.json:
                for row in produced:
                    print(format_row(row), flush=True)
    elapsed = time.monotonic() - started
    if args.json:
        print(json.dumps({
            "quick": args.quick,
            "python": sys.version.split()[0],
            "cpus": os.cpu_count(),
            "seconds": round(elapsed, 1),
            "rows": [asdict(row) for row in rows],
        }, indent=2, default=str))
    else:
        print(f"done in {elapsed:.1f} s", flush=True)
    return 1 if any(row.status == "ERROR" for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
