"""Callback mode: the per-request sequence under every outcome, on the owner.

The promises tested are in docs/architecture/guarantees.md ("Thread affinity", "Per-call
order", "Owner gone / close"); docs/architecture/processes.md tells a callback call end to end.
"""

from __future__ import annotations

import logging
import socket
import threading
from typing import Any

import pytest

from aikit import OpenAI, OpenAIError, process
from aikit.testing import FakeOpenAIServer

from .helpers import TIMEOUT, Recorder, in_worker

ALL = ("on_response", "on_error", "on_terminate", "formula")


def test_success_sequence_runs_on_the_owner(aikit_client: OpenAI) -> None:
    rec = Recorder(last="formula")

    def issue() -> tuple[Any, bool]:
        result = aikit_client.models.list(rec.callbacks(*ALL))
        # Read on the owner before this message returns: the result is completed by a message
        # on this same worker, which cannot run until then, so it is still pending here.
        return result, result.terminated

    (pending, terminated_at_return), worker = in_worker(issue)
    assert terminated_at_return is False  # returned at once, pending
    rec.wait()
    assert rec.names == ["on_response", "on_terminate", "formula"]
    assert rec.threads == {worker}
    final = rec.events[0][2]
    assert final is pending and final.terminated and final.success
    assert [m.id for m in final.models]


def test_4d_camelcase_callbacks(aikit_client: OpenAI) -> None:
    rec = Recorder(last="formula")
    params = {"onResponse": rec.callback("on_response"),
              "onTerminate": rec.callback("on_terminate"), "formula": rec.callback("formula")}
    in_worker(lambda: aikit_client.models.list(params))
    rec.wait()
    assert rec.names == ["on_response", "on_terminate", "formula"]


def test_http_error_sequence(aikit_server: FakeOpenAIServer, aikit_client: OpenAI) -> None:
    aikit_server.fail_next(404, times=1)
    rec = Recorder(last="formula")
    _, worker = in_worker(lambda: aikit_client.models.retrieve("nope", rec.callbacks(*ALL)))
    rec.wait()
    assert rec.names == ["on_error", "on_terminate", "formula"]
    assert rec.threads == {worker}
    assert rec.events[0][2].errors[0].is_not_found_error


def test_connection_refused_sequence() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = OpenAI("sk-x", f"http://127.0.0.1:{port}/v1", max_retries=0)
    rec = Recorder()
    _, worker = in_worker(lambda: client.models.list(rec.callbacks(*ALL[:3])))
    rec.wait()
    assert rec.names == ["on_error", "on_terminate"]
    assert rec.threads == {worker}
    assert rec.events[0][2].errors[0].is_connection_error
    client.close()


def test_timeout_sequence(aikit_server: FakeOpenAIServer) -> None:
    aikit_server.delay_next(5, times=1)
    client = OpenAI(aikit_server.api_key, aikit_server.url, timeout=0.3, max_retries=0)
    rec = Recorder()
    in_worker(lambda: client.models.list(rec.callbacks(*ALL[:3])))
    rec.wait()
    assert rec.names == ["on_error", "on_terminate"]
    assert rec.events[0][2].errors[0].is_timeout_error
    client.close()


def test_terminate_pending_call(aikit_server: FakeOpenAIServer, aikit_client: OpenAI) -> None:
    aikit_server.delay_next(10, times=1)
    rec = Recorder()
    started = threading.Event()

    def issue() -> Any:
        result = aikit_client.models.list(rec.callbacks(*ALL[:3]))
        started.set()
        result.terminate()
        return result

    result, worker = in_worker(issue)
    rec.wait(5)
    assert rec.names == ["on_error", "on_terminate"]
    assert rec.threads == {worker}
    error = result.errors[0]
    assert "terminated" in error.message and error.status is None
    result.terminate()  # finished: a no-op


def test_raising_callback_is_logged_and_sequence_goes_on(
    aikit_client: OpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    rec = Recorder(last="formula")

    def boom(result: Any) -> None:
        rec.events.append(("on_response", threading.get_ident(), result))
        raise RuntimeError("callback bug")

    params = {**rec.callbacks("on_terminate", "formula"), "on_response": boom}
    with caplog.at_level(logging.ERROR, logger="aikit"):
        in_worker(lambda: aikit_client.models.list(params))
        rec.wait()
    assert rec.names == ["on_response", "on_terminate", "formula"]
    assert "callback bug" in caplog.text


def test_killed_owner_gets_nothing(aikit_server: FakeOpenAIServer, aikit_client: OpenAI) -> None:
    aikit_server.delay_next(1.0, times=1)
    rec = Recorder()
    in_worker(lambda: aikit_client.models.list(rec.callbacks(*ALL[:3])), name="doomed")
    process.kill_worker("doomed")
    # a second request from a fresh worker completes: the pool and the server are healthy
    rec2 = Recorder()
    in_worker(lambda: aikit_client.models.list(rec2.callbacks("on_terminate")), name="doomed")
    rec2.wait()
    assert rec.names == []
    assert not rec.done.is_set()


def test_wait_runs_other_queued_callbacks(aikit_server: FakeOpenAIServer,
                                          aikit_client: OpenAI) -> None:
    """Inside slow.wait() the worker runs fast's callback and a queued message; slow can only
    end after fast's callback ran (it terminates slow), so the order is deterministic."""
    order: list[str] = []
    aikit_server.stream_fault_next("stall", after_chunks=1)

    def issue() -> list[str]:
        slow = aikit_client.chat.completions.create(
            [{"role": "user", "content": "x"}], stream=True,
            on_terminate=lambda r: order.append("slow"))

        def fast_done(result: Any) -> None:
            order.append("fast")
            slow.terminate()

        fast = aikit_client.models.list(on_terminate=fast_done)
        process.call_worker(process.current_process().name, lambda: order.append("message"))
        assert order == []  # nothing runs before the worker waits
        assert slow.wait(TIMEOUT)
        assert fast.terminated
        return list(order)

    seen, _ = in_worker(issue)
    assert sorted(seen[:2]) == ["fast", "message"]
    assert seen[2:] == ["slow"]


def test_main_thread_callbacks_run_only_in_pump(aikit_client: OpenAI) -> None:
    ran: list[int] = []
    result = aikit_client.models.list(on_terminate=lambda r: ran.append(threading.get_ident()))
    assert not result.terminated and ran == []
    assert result.wait(TIMEOUT)
    assert ran == [threading.get_ident()]


def test_throw(aikit_server: FakeOpenAIServer, aikit_client: OpenAI) -> None:
    aikit_server.fail_next(401, times=1)
    with pytest.raises(OpenAIError) as info:
        aikit_client.models.list(throw=True)
    assert info.value.is_authentication_error
    assert not aikit_client.models.list().errors  # throw only when asked


def test_plain_thread_gets_clear_error(aikit_server: FakeOpenAIServer,
                                       aikit_client: OpenAI) -> None:
    box: dict[str, BaseException] = {}

    def run() -> None:
        try:
            aikit_client.models.list(on_response=print)
        except BaseException as exc:
            box["error"] = exc

    t = threading.Thread(target=run)
    t.start()
    t.join(TIMEOUT)
    message = str(box["error"])
    assert isinstance(box["error"], process.NoProcessError)
    for fix in ("call_worker", "attach", "owner="):
        assert fix in message
    assert aikit_server.requests == []


def test_owner_by_worker_name(aikit_client: OpenAI) -> None:
    rec = Recorder()
    result = aikit_client.models.list(on_terminate=rec.callback("on_terminate"), owner="receiver")
    rec.wait()
    _, receiver = in_worker(lambda: None, name="receiver")
    assert rec.threads == {receiver}
    assert result.terminated


@pytest.mark.parametrize(
    ("params", "error", "needle"),
    [
        ({"on_response": "not callable"}, TypeError, "on_response"),
        ({"onRespose": print}, ValueError, "onRespose"),
        ({"on_reponse": print}, ValueError, "on_reponse"),
        ({"timeout": -1}, ValueError, "timeout"),
        ({"max_retries": 1.5}, TypeError, "max_retries"),
        ({"extra_headers": {"X": 1}}, TypeError, "extra_headers"),
    ],
)
def test_bad_call_input_sends_nothing(
    params: dict[str, Any], error: type[Exception], needle: str,
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI,
) -> None:
    with pytest.raises(error, match=needle):
        aikit_client.models.list(params)
    with pytest.raises((TypeError, ValueError), match="model"):
        aikit_client.models.retrieve("")
    with pytest.raises(TypeError, match="params"):
        aikit_client.models.list(["on_response"])
    assert aikit_server.requests == []
