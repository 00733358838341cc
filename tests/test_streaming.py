"""Streaming over real sockets: the callback sequence, affinity and every failure.

How a stream runs is told in docs/architecture/lifecycle.md ("Streams"); the sequence and
affinity promised are in docs/architecture/guarantees.md ("Per-call order", "Thread affinity").
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from aikit import OpenAI
from aikit.testing import FakeOpenAIServer

from .helpers import TIMEOUT, Recorder, in_worker

USER = [{"role": "user", "content": "one two three four five"}]
SEQ = ("on_data", "on_response", "on_error", "on_terminate")


def stream_in_worker(client: OpenAI, **kwargs: Any) -> tuple[Recorder, int, Any]:
    rec = Recorder(last="on_terminate")
    result, worker = in_worker(lambda: client.chat.completions.create(
        USER, stream=True, **rec.callbacks(*SEQ), **kwargs))
    rec.wait()
    return rec, worker, result


def data_texts(rec: Recorder) -> list[str]:
    out = []
    for name, _, chunk in rec.events:
        if name == "on_data" and chunk.choice is not None and chunk.choice.delta is not None:
            out.append(chunk.choice.delta.text)
    return out


def test_stream_sequence_and_accumulation(aikit_server: FakeOpenAIServer,
                                          aikit_client: OpenAI) -> None:
    rec, worker, pending = stream_in_worker(
        aikit_client, stream_options={"include_usage": True})
    names = rec.names
    assert names[-2:] == ["on_response", "on_terminate"]
    assert set(names[:-2]) == {"on_data"} and len(names) > 5
    assert rec.threads == {worker}
    final = rec.events[-1][2]
    assert final is pending and final.terminated and final.success
    assert final.choice.message.text == "Echo: one two three four five"
    assert "".join(data_texts(rec)) == final.choice.message.text
    assert final.choice.finish_reason == "stop"
    assert final.usage and final.usage["total_tokens"] > 0
    assert all(not chunk.terminated for n, _, chunk in rec.events if n == "on_data")
    sent = aikit_server.requests[-1]
    assert sent.json["stream"] is True and sent.headers["Accept"] == "text/event-stream"


def test_formula_gets_chunks_and_final(aikit_client: OpenAI) -> None:
    seen: list[Any] = []
    done = threading.Event()

    def formula(result: Any) -> None:
        seen.append(result)
        if result.terminated:
            done.set()

    in_worker(lambda: aikit_client.chat.completions.create(
        USER, {"stream": True, "formula": formula}))
    assert done.wait(TIMEOUT)
    terminated = [chunk.terminated for chunk in seen]
    assert terminated[-1] is True and not any(terminated[:-1]) and len(terminated) > 2


def test_tool_call_reassembled(aikit_server: FakeOpenAIServer, aikit_client: OpenAI) -> None:
    args = {"city": "Paris", "unit": "celsius", "days": [1, 2, 3]}
    aikit_server.reply_next(tool_calls=[{"name": "get_weather", "arguments": args}])
    rec, _, _ = stream_in_worker(aikit_client)
    final = rec.events[-1][2]
    call = final.choice.message.tool_calls[0]
    assert call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"]) == args
    assert call["id"] and call["type"] == "function"
    assert final.choice.finish_reason == "tool_calls"
    assert sum(1 for n in rec.names if n == "on_data") > 4  # it did arrive in pieces


@pytest.mark.parametrize(
    ("kind", "needle"),
    [("drop", ""), ("malformed", "Malformed"), ("error_event", "")],
)
def test_mid_stream_failures(kind: str, needle: str, aikit_server: FakeOpenAIServer,
                             aikit_client: OpenAI) -> None:
    aikit_server.stream_fault_next(kind, after_chunks=3)
    rec, worker, _ = stream_in_worker(aikit_client)
    assert rec.names[-2:] == ["on_error", "on_terminate"]
    assert rec.names.count("on_data") == 3  # the good chunks, never the bad one
    assert rec.threads == {worker}
    error = rec.events[-1][2].errors[0]
    assert error.status is None and needle in error.message
    assert len(aikit_server.requests) == 1  # nothing after the first byte is retried


def test_stall_is_an_idle_timeout(aikit_server: FakeOpenAIServer) -> None:
    aikit_server.stream_fault_next("stall", after_chunks=2)
    client = OpenAI(aikit_server.api_key, aikit_server.url, timeout=0.5)
    rec, _, _ = stream_in_worker(client)
    assert rec.names == ["on_data", "on_data", "on_error", "on_terminate"]
    assert rec.events[-1][2].errors[0].is_timeout_error
    client.close()


def test_http_error_instead_of_stream(aikit_server: FakeOpenAIServer,
                                      aikit_client: OpenAI) -> None:
    aikit_server.fail_next(400)
    rec, _, _ = stream_in_worker(aikit_client)
    assert rec.names == ["on_error", "on_terminate"]
    assert rec.events[-1][2].errors[0].is_bad_request_error


def test_server_that_ignores_stream(aikit_server: FakeOpenAIServer,
                                    aikit_client: OpenAI) -> None:
    completion = {"id": "c1", "object": "chat.completion", "created": 1, "model": "m",
                  "choices": [{"index": 0, "finish_reason": "stop",
                               "message": {"role": "assistant", "content": "plain JSON"}}]}
    aikit_server.fail_next(200, body=completion)
    rec, _, _ = stream_in_worker(aikit_client)
    assert rec.names == ["on_data", "on_response", "on_terminate"]  # never zero chunks
    assert rec.events[-1][2].choice.message.text == "plain JSON"


def test_terminate_closes_the_connection_fast(aikit_server: FakeOpenAIServer,
                                              aikit_client: OpenAI) -> None:
    aikit_server.stream_fault_next("stall", after_chunks=2)
    rec = Recorder(last="on_terminate")
    box: dict[str, Any] = {}

    def on_data(chunk: Any) -> None:
        rec.events.append(("on_data", threading.get_ident(), chunk))
        if len(rec.events) == 2:
            box["t0"] = time.monotonic()
            box["result"].terminate()

    def issue() -> None:
        box["result"] = aikit_client.chat.completions.create(
            USER, stream=True, on_data=on_data,
            **rec.callbacks("on_response", "on_error", "on_terminate"))

    in_worker(issue)
    rec.wait()
    assert time.monotonic() - box["t0"] < 1.0
    assert rec.names == ["on_data", "on_data", "on_error", "on_terminate"]
    assert "terminated" in rec.events[-1][2].errors[0].message
    deadline = time.monotonic() + 5
    while aikit_server.open_connections and time.monotonic() < deadline:
        time.sleep(0.02)
    assert aikit_server.open_connections == 0


def test_sync_stream_iterates_on_caller_thread(aikit_client: OpenAI) -> None:
    me = threading.get_ident()
    threads = set()
    texts = []
    with aikit_client.chat.completions.stream(USER) as stream:
        for chunk in stream:
            threads.add(threading.get_ident())
            if chunk.choice is not None and chunk.choice.delta is not None:
                texts.append(chunk.choice.delta.text)
    assert threads == {me}
    assert stream.result.success
    assert "".join(texts) == stream.result.choice.message.text == "Echo: one two three four five"


def test_leaving_the_loop_closes_the_connection(aikit_server: FakeOpenAIServer,
                                                aikit_client: OpenAI) -> None:
    aikit_server.stream_fault_next("stall", after_chunks=3)
    with aikit_client.chat.completions.stream(USER) as stream:
        for i, _ in enumerate(stream):
            if i == 1:
                break
    deadline = time.monotonic() + 5
    while aikit_server.open_connections and time.monotonic() < deadline:
        time.sleep(0.02)
    assert aikit_server.open_connections == 0
    assert not stream.result.success


def test_sync_create_with_stream_returns_the_accumulated_result(aikit_client: OpenAI) -> None:
    result = aikit_client.chat.completions.create(USER, stream=True)
    assert result.terminated and result.success
    assert result.choice.message.text == "Echo: one two three four five"


def test_sync_stream_failure_is_in_the_result(aikit_server: FakeOpenAIServer,
                                              aikit_client: OpenAI) -> None:
    aikit_server.stream_fault_next("error_event", after_chunks=1)
    with aikit_client.chat.completions.stream(USER) as stream:
        chunks = list(stream)
    assert len(chunks) == 1
    assert not stream.result.success and stream.result.errors


def test_long_stream_in_order(aikit_server: FakeOpenAIServer, aikit_client: OpenAI) -> None:
    aikit_server.stream_tokens_next(2000)
    rec, _, _ = stream_in_worker(aikit_client)
    texts = [t for t in data_texts(rec) if t]
    assert texts == [f"tok{i} " for i in range(2000)]


def test_main_thread_stream_with_wait(aikit_client: OpenAI) -> None:
    got: list[int] = []
    result = aikit_client.chat.completions.create(
        USER, stream=True, on_data=lambda c: got.append(threading.get_ident()))
    assert result.wait(TIMEOUT)
    assert got and set(got) == {threading.get_ident()}
