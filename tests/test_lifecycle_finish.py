"""Always finish: whatever goes wrong inside a call, it ends with one error result, and in
callback mode with exactly one on_error + on_terminate on the owner
(docs/architecture/lifecycle.md, "Always finish")."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from aikit import OpenAI, OpenAIError, process
from aikit.testing import FakeOpenAIServer

from .helpers import TIMEOUT, Recorder, in_worker

MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture
def no_job_failures(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """No ERROR line from logger aikit: an exception never escapes on an I/O thread."""
    with caplog.at_level(logging.DEBUG, logger="aikit"):
        yield
    errors = [r for r in caplog.records if r.name.startswith("aikit") and r.levelno >= 40]
    assert errors == []


def both_modes(call: Callable[[dict[str, Any]], Any]) -> tuple[Any, Any, Recorder, int]:
    """Run ``call`` sync, then in callback mode on a worker: (sync result, final, rec, ident)."""
    sync = call({})
    rec = Recorder()
    _, worker = in_worker(lambda: call(rec.callbacks("on_response", "on_error", "on_terminate")))
    rec.wait()
    return sync, rec.events[-1][2], rec, worker


def check_error(rec: Recorder, worker: int, *results: Any, kind: str) -> OpenAIError:
    assert rec.names == ["on_error", "on_terminate"]
    assert rec.threads == {worker}
    for result in results:
        assert result.terminated and not result.success
        assert result.errors[0].kind == kind, result.errors
    error: OpenAIError = results[0].errors[0]
    return error


@pytest.mark.usefixtures("no_job_failures")
def test_json_nested_too_deeply(aikit_server: FakeOpenAIServer, aikit_client: OpenAI) -> None:
    aikit_server.raw_next(b"[" * 100_000, times=2)
    sync, final, rec, worker = both_modes(lambda p: aikit_client.models.list(p))
    error = check_error(rec, worker, sync, final, kind="protocol")
    assert error.status == 200 and "nested too deeply" in error.message


@pytest.mark.usefixtures("no_job_failures")
def test_chunk_with_a_usage_list(aikit_server: FakeOpenAIServer, aikit_client: OpenAI) -> None:
    chunk = {"id": "c1", "object": "chat.completion.chunk", "model": "m", "usage": [1, 2],
             "choices": [{"index": 0, "delta": {"content": "x"}, "finish_reason": None}]}
    aikit_server.stream_raw_next([json.dumps(chunk)], times=2)
    sync, final, rec, worker = both_modes(
        lambda p: aikit_client.chat.completions.create(MESSAGES, p, stream=True)
    )
    check_error(rec, worker, sync, final, kind="stream")


@pytest.mark.usefixtures("no_job_failures")
def test_redirect_to_an_invalid_url(aikit_server: FakeOpenAIServer, aikit_client: OpenAI) -> None:
    aikit_server.redirect_next("http://[::1", times=2)
    sync, final, rec, worker = both_modes(lambda p: aikit_client.models.list(p))
    error = check_error(rec, worker, sync, final, kind="protocol")
    assert error.status == 307 and "invalid URL" in error.message


@pytest.mark.usefixtures("no_job_failures")
def test_header_value_that_cannot_be_sent(aikit_server: FakeOpenAIServer,
                                          aikit_client: OpenAI) -> None:
    sync, final, rec, worker = both_modes(
        lambda p: aikit_client.models.list(p, extra_headers={"X-Note": "café ☕"})
    )
    check_error(rec, worker, sync, final, kind="request")
    assert aikit_server.requests == []


@pytest.mark.usefixtures("no_job_failures")
def test_port_out_of_range(aikit_server: FakeOpenAIServer) -> None:
    client = OpenAI(aikit_server.api_key, "http://127.0.0.1:70000/v1")
    sync, final, rec, worker = both_modes(lambda p: client.models.list(p))
    error = check_error(rec, worker, sync, final, kind="request")
    assert aikit_server.api_key not in str(error)
    client.close()


@pytest.mark.usefixtures("no_job_failures")
def test_a_bug_inside_aikit_still_finishes(aikit_server: FakeOpenAIServer, aikit_client: OpenAI,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """No socket makes aikit itself raise; a patched decoder stands for any bug."""
    from aikit._http.response import HTTPResponse

    def broken(*_: Any) -> Any:
        raise KeyError("a bug")

    monkeypatch.setattr(HTTPResponse, "parse_body", staticmethod(broken))
    sync, final, rec, worker = both_modes(lambda p: aikit_client.models.list(p))
    error = check_error(rec, worker, sync, final, kind="internal")
    assert isinstance(error.__cause__, KeyError)


def test_calls_racing_close_all_finish(aikit_server: FakeOpenAIServer) -> None:
    """Calls submitted while close() runs: each ends with exactly one final delivery, and the
    owner's pump() never waits on a lost one."""
    aikit_server.delay_next(0.2, times=50)
    client = OpenAI(aikit_server.api_key, aikit_server.url, max_concurrent_requests=2)
    finals: list[str] = []
    started = threading.Event()

    def submit_many() -> int:
        count = 0
        for i in range(60):
            client.models.list(on_response=lambda r: finals.append("ok"),
                               on_error=lambda r: finals.append("error"),
                               on_terminate=lambda r: finals.append("end"))
            count += 1
            if i == 5:
                started.set()
        return count

    closer = threading.Thread(target=lambda: (started.wait(TIMEOUT), client.close()))
    closer.start()
    submitted, _ = in_worker(submit_many, name="racer")
    closer.join(TIMEOUT)
    done = threading.Event()
    process.call_worker("racer", done.set)
    assert done.wait(TIMEOUT)
    # Every call delivered exactly one final callback and one on_terminate, on the worker.
    assert finals.count("end") == submitted == 60
    assert finals.count("ok") + finals.count("error") == 60


def test_pump_does_not_wait_on_a_failed_call(aikit_server: FakeOpenAIServer,
                                             aikit_client: OpenAI) -> None:
    aikit_server.raw_next(b"[" * 100_000)
    rec = Recorder()
    aikit_client.models.list(rec.callbacks("on_error", "on_terminate"))
    assert process.pump(timeout=TIMEOUT)  # True: nothing left in flight
    assert rec.names == ["on_error", "on_terminate"]
