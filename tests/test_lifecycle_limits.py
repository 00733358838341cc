"""Bounded memory, and what happens to calls when their owner or their client goes away
(docs/architecture/lifecycle.md)."""

from __future__ import annotations

import gc
import json
import threading
import time
import tracemalloc
from typing import Any

from aikit import OpenAI, process
from aikit.testing import FakeOpenAIServer

from .helpers import TIMEOUT, Recorder, in_worker

MiB = 2**20
MESSAGES = [{"role": "user", "content": "hi"}]


def eventually(predicate: Any, timeout: float = TIMEOUT) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())


def test_gzip_bomb_is_cut_at_max_response_bytes(aikit_server: FakeOpenAIServer) -> None:
    aikit_server.gzip_bomb_next(decompressed_bytes=200 * MiB)
    with OpenAI(aikit_server.api_key, aikit_server.url, max_response_bytes=8 * MiB) as client:
        tracemalloc.start()
        try:
            result = client.models.list()
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    error = result.errors[0]
    assert error.kind == "too_large" and "max_response_bytes" in error.message
    assert peak < 64 * MiB, f"peak {peak / MiB:.0f} MiB while refusing a bomb"


def test_body_over_the_limit(aikit_server: FakeOpenAIServer) -> None:
    aikit_server.raw_next(b'{"data": "' + b"x" * (3 * MiB) + b'"}')
    with OpenAI(aikit_server.api_key, aikit_server.url, max_response_bytes=MiB) as client:
        result = client.models.list()
        assert result.errors[0].kind == "too_large"
        assert client.models.list().success  # the next call is unaffected


def test_one_stream_event_over_the_limit(aikit_server: FakeOpenAIServer) -> None:
    huge = {"id": "c", "object": "chat.completion.chunk", "model": "m",
            "choices": [{"index": 0, "delta": {"content": "x" * (2 * MiB)}}]}
    aikit_server.stream_raw_next([json.dumps(huge)])
    with OpenAI(aikit_server.api_key, aikit_server.url, max_response_bytes=MiB) as client:
        result = client.chat.completions.create(MESSAGES, stream=True)
    assert result.errors[0].kind == "too_large"


def test_kill_worker_never_sends_a_queued_call(aikit_server: FakeOpenAIServer) -> None:
    """One I/O thread busy; the worker queues a second call, then is killed. A later call
    from the main thread runs after the slot frees: the killed worker's call was never sent."""
    aikit_server.delay_next(10.0)  # the first call holds the only I/O slot until killed
    client = OpenAI(aikit_server.api_key, aikit_server.url, max_concurrent_requests=1)

    def queue_two() -> None:
        client.models.list(on_terminate=lambda r: None)
        client.models.retrieve("queued-model", on_terminate=lambda r: None)

    in_worker(queue_two, name="doomed")
    process.kill_worker("doomed")
    after = client.models.list(on_terminate=lambda r: None)
    assert after.wait(TIMEOUT) and after.success
    paths = [r.path for r in aikit_server.requests]
    assert not [p for p in paths if p.endswith("/queued-model")]
    client.close()


def test_close_never_sends_a_queued_call(aikit_server: FakeOpenAIServer) -> None:
    aikit_server.delay_next(1.0)
    client = OpenAI(aikit_server.api_key, aikit_server.url, max_concurrent_requests=1)
    first = Recorder()
    queued = Recorder()
    client.models.list(first.callbacks("on_error", "on_terminate"))
    client.models.retrieve("queued-model", queued.callbacks("on_error", "on_terminate"))
    client.close()
    assert process.pump(TIMEOUT)
    assert first.names == queued.names == ["on_error", "on_terminate"]
    assert not [r for r in aikit_server.requests if r.path.endswith("/queued-model")]


def test_kill_worker_closes_connections_on_the_wire(aikit_server: FakeOpenAIServer) -> None:
    aikit_server.delay_next(30, times=3)
    client = OpenAI(aikit_server.api_key, aikit_server.url)
    in_worker(lambda: [client.models.list(on_terminate=lambda r: None) for _ in range(3)],
              name="on-the-wire")
    assert eventually(lambda: len(aikit_server.requests) == 3)
    assert aikit_server.open_connections == 3
    process.kill_worker("on-the-wire")
    assert eventually(lambda: aikit_server.open_connections == 0), "connections left open"
    client.close()


def test_close_closes_connections_of_failed_results_still_held(
    aikit_server: FakeOpenAIServer,
) -> None:
    """Failed results (with their errors) stay referenced by user code; close() still leaves
    no connection open."""
    client = OpenAI(aikit_server.api_key, aikit_server.url, timeout=1, max_retries=0)
    kept = []
    for script in (lambda: aikit_server.truncate_next(after_bytes=5),
                   lambda: aikit_server.stall_next(after_bytes=5, seconds=30),
                   lambda: aikit_server.fail_next(500)):
        script()
        kept.append(client.chat.completions.create(MESSAGES))
    kept.append(client.models.list())  # a success: its connection is pooled
    assert [bool(r.errors) for r in kept] == [True, True, True, False]
    client.close()
    gc.disable()  # nothing may rely on the collector to free sockets
    try:
        assert eventually(lambda: aikit_server.open_connections == 0), (
            f"{aikit_server.open_connections} connections open after close()"
        )
    finally:
        gc.enable()
    assert all(r.terminated for r in kept)


def test_a_closed_form_never_sends_its_queued_calls(aikit_server: FakeOpenAIServer) -> None:
    """A form (here an asyncio loop) closes while its call waits for an I/O slot."""
    import asyncio

    aikit_server.delay_next(1.0)
    client = OpenAI(aikit_server.api_key, aikit_server.url, max_concurrent_requests=1)
    queued = threading.Event()

    def run_form() -> None:
        loop = asyncio.new_event_loop()
        form = process.asyncio.attach(loop)
        client.models.list(on_terminate=lambda r: None)
        client.models.retrieve("queued-model", on_terminate=lambda r: None)
        queued.set()
        form.close()
        loop.close()

    thread = threading.Thread(target=run_form)
    thread.start()
    assert queued.wait(TIMEOUT)
    thread.join(TIMEOUT)
    after = client.models.list(on_terminate=lambda r: None)
    assert after.wait(TIMEOUT) and after.success
    assert not [r for r in aikit_server.requests if r.path.endswith("/queued-model")]
    client.close()


def test_close_ends_sync_calls_on_other_threads(aikit_server: FakeOpenAIServer) -> None:
    aikit_server.delay_next(30)
    client = OpenAI(aikit_server.api_key, aikit_server.url, max_retries=0)
    box: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: box.update(result=client.models.list()))
    thread.start()
    assert eventually(lambda: len(aikit_server.requests) == 1)
    started = time.monotonic()
    client.close()
    thread.join(TIMEOUT)
    assert not thread.is_alive() and time.monotonic() - started < 5
    assert box["result"].errors[0].kind == "terminated"


def test_a_killed_owners_result_ends_consistent(aikit_server: FakeOpenAIServer) -> None:
    """No callback runs, but whoever holds the result sees it ended, cancelled."""
    aikit_server.delay_next(30)
    client = OpenAI(aikit_server.api_key, aikit_server.url)
    pending, _ = in_worker(lambda: client.models.list(on_terminate=lambda r: None),
                           name="short-lived")
    assert eventually(lambda: len(aikit_server.requests) == 1)
    process.kill_worker("short-lived")
    assert pending.wait(TIMEOUT)
    assert pending.terminated and pending.errors[0].kind == "cancelled"
    client.close()


def test_close_closes_connections_of_a_pool_still_referenced(
    aikit_server: FakeOpenAIServer,
) -> None:
    """urllib3 closes a dropped pool's sockets only when the pool is collected; anything that
    still holds it (a traceback kept by a debugger or a log handler, say) would keep them
    open. close() closes them itself."""
    client = OpenAI(aikit_server.api_key, aikit_server.url)
    assert client.models.list().success
    adapter = client._runner._get_transport().session.get_adapter(aikit_server.url)
    pools = adapter.poolmanager.pools  # a container that cannot be iterated, only its keys
    held = [pools.get(key) for key in pools.keys()]  # noqa: SIM118
    assert held and aikit_server.open_connections == 1
    client.close()
    assert eventually(lambda: aikit_server.open_connections == 0), "a pooled socket stayed open"
