"""Work at scale: ``on_retry``, ``result.future()``, ``await result`` and exclusive groups.

Over the embedded simulator; calls are made slow with ``delay_next`` or a stalled stream, and
every wait is an Event (or a condition polled) under a generous timeout. The contract is in
docs/architecture/lifecycle.md ("Futures, await and exclusive groups").
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from aikit import OpenAI, OpenAIResult, RetryInfo, process
from aikit.testing import FakeOpenAIServer

from .helpers import TIMEOUT, Recorder, in_worker

FAST = {"retry-after-ms": "1"}
FINAL = ("on_response", "on_error", "on_terminate")


def wait_for(predicate: Callable[[], bool], timeout: float = TIMEOUT) -> bool:
    """A condition set by another thread, checked every 5 ms."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def idle(client: OpenAI) -> bool:
    """No I/O job of the client is running or queued (each posted its final result)."""
    return not client._runner._calls


def groups_left(client: OpenAI) -> int:
    groups = client._runner._groups
    return 0 if groups is None else len(groups)


# -- on_retry ----------------------------------------------------------------------------------


def test_on_retry_runs_on_the_owner_before_on_response(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    aikit_server.fail_next(500, headers=FAST, times=1)
    rec = Recorder()
    issued, worker = in_worker(lambda: aikit_client.models.list(
        rec.callbacks(*FINAL), on_retry=rec.callback("on_retry")))
    rec.wait()
    assert rec.names == ["on_retry", "on_response", "on_terminate"]
    assert rec.threads == {worker}
    info = rec.events[0][2]
    assert isinstance(info, RetryInfo)
    assert info.attempt == 1
    assert info.delay == pytest.approx(0.001)
    assert info.error.status == 500 and info.error.kind == "api"
    assert info.error.message  # the server's error message, read from the retried answer
    assert issued.success and issued is rec.events[1][2]


def test_on_retry_after_a_connection_failure_and_a_final_error(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    aikit_server.drop_next()  # no answer at all: a connection error, retried
    aikit_server.fail_next(503, headers=FAST, times=5)
    rec = Recorder()
    _, worker = in_worker(lambda: aikit_client.models.list(
        rec.callbacks(*FINAL), on_retry=rec.callback("on_retry"), max_retries=2))
    rec.wait()
    assert rec.names == ["on_retry", "on_retry", "on_error", "on_terminate"]
    assert rec.threads == {worker}
    first, second = rec.events[0][2], rec.events[1][2]
    assert (first.attempt, second.attempt) == (1, 2)
    assert first.error.kind == "connection" and first.error.status is None
    assert first.error.__traceback__ is None  # detached: it holds no frame of the attempt
    assert second.error.status == 503 and second.delay == pytest.approx(0.001)
    assert rec.events[2][2].status == 503


def test_on_retry_in_sync_mode_runs_on_the_callers_thread(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    aikit_server.fail_next(429, headers=FAST, times=2)
    seen: list[tuple[int, int, int]] = []

    def on_retry(info: RetryInfo) -> None:
        # Told before the back-off and the next attempt: the server has seen `attempt` requests.
        seen.append((info.attempt, threading.get_ident(), len(aikit_server.requests)))

    result = aikit_client.models.list(on_retry=on_retry)
    assert result.success and result.terminated
    me = threading.get_ident()
    assert seen == [(1, me, 1), (2, me, 2)]


def test_a_raising_on_retry_is_logged_and_the_call_goes_on(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    def on_retry(info: RetryInfo) -> None:
        raise RuntimeError("boom")

    aikit_server.fail_next(500, headers=FAST, times=1)
    with caplog.at_level(logging.ERROR, logger="aikit"):
        assert aikit_client.models.list(on_retry=on_retry).success  # sync
        aikit_server.fail_next(500, headers=FAST, times=1)
        rec = Recorder()
        in_worker(lambda: aikit_client.models.list(rec.callbacks(*FINAL), on_retry=on_retry))
        rec.wait()
    assert rec.names == ["on_response", "on_terminate"]
    assert sum("on_retry" in r.getMessage() for r in caplog.records) == 2


def test_no_on_retry_after_the_call_was_terminated(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    aikit_server.fail_next(500, headers={"retry-after": "30"}, times=1)
    rec = Recorder()

    def issue() -> OpenAIResult:
        result = aikit_client.models.list(rec.callbacks(*FINAL), on_retry=rec.callback("on_retry"))
        # The on_retry message is queued behind this one: terminate while it is still there.
        assert wait_for(lambda: len(aikit_server.requests) == 1)
        assert wait_for(lambda: result._control is not None and result._control.abort._event
                        is not None)  # the call sleeps in its back-off
        result.terminate()
        return result

    in_worker(issue)
    rec.wait()
    assert rec.names == ["on_error", "on_terminate"]  # nothing after, nothing stale before
    assert rec.events[0][2].errors[0].kind == "terminated"


# -- future() ----------------------------------------------------------------------------------


def test_future_is_resolved_after_on_terminate_on_the_owner(aikit_client: OpenAI) -> None:
    terminated = threading.Event()
    seen: dict[str, Any] = {}
    resolved = threading.Event()

    def done(future: Any) -> None:
        seen.update(after_terminate=terminated.is_set(), thread=threading.get_ident(),
                    value=future.result())
        resolved.set()

    def issue() -> tuple[OpenAIResult, Any, bool]:
        result = aikit_client.models.list(on_terminate=lambda r: terminated.set())
        future = result.future()
        future.add_done_callback(done)
        return result, future, future.done()

    (result, future, done_at_once), worker = in_worker(issue)
    assert done_at_once is False  # the call cannot end while this worker's message runs
    assert future.result(TIMEOUT) is result
    assert resolved.wait(TIMEOUT)
    assert seen == {"after_terminate": True, "thread": worker, "value": result}
    assert result.success and result.terminated
    assert result.future().result(0) is result  # asked again once finished: done at once


def test_future_of_a_sync_result_is_done_at_once(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    result = aikit_client.models.list()
    future = result.future()
    assert future.done() and future.result() is result and result.success
    aikit_server.fail_next(401)
    failed = aikit_client.models.list()
    assert failed.future().result(0) is failed  # an API error is in the result, not raised
    assert failed.errors[0].status == 401


def test_future_of_a_terminated_call(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    aikit_server.delay_next(30.0)
    rec = Recorder()

    def issue() -> tuple[OpenAIResult, Any]:
        result = aikit_client.models.list(rec.callbacks(*FINAL))
        return result, result.future()

    (result, future), _ = in_worker(issue)
    result.terminate()  # from this (another) thread
    assert future.result(TIMEOUT) is result
    assert rec.names == ["on_error", "on_terminate"]
    assert result.errors[0].kind == "terminated"


def test_future_of_a_call_whose_owner_died_gets_the_cancelled_result(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    aikit_server.delay_next(30.0)
    rec = Recorder()

    def issue() -> tuple[OpenAIResult, Any]:
        result = aikit_client.models.list(rec.callbacks(*FINAL))
        return result, result.future()

    (result, future), _ = in_worker(issue, name="doomed")
    process.kill_worker("doomed")
    assert future.result(TIMEOUT) is result
    assert result.terminated and result.errors[0].kind == "cancelled"
    assert rec.names == []  # an owner gone gets no callback


def test_cancelling_a_future_leaves_the_call_alone(aikit_client: OpenAI) -> None:
    rec = Recorder()

    def issue() -> tuple[OpenAIResult, bool, Any]:
        result = aikit_client.models.list(rec.callbacks(*FINAL))
        first = result.future()
        return result, first.cancel(), result.future()

    (result, cancelled, second), _ = in_worker(issue)
    assert cancelled
    assert second.result(TIMEOUT) is result and result.success
    assert rec.names == ["on_response", "on_terminate"]


# -- await -------------------------------------------------------------------------------------


def test_await_a_result_in_an_asyncio_app(aikit_client: OpenAI) -> None:
    terminated: list[int] = []

    async def main() -> tuple[OpenAIResult, OpenAIResult, bool, int]:
        process.asyncio.attach()
        result = aikit_client.chat.completions.create(
            [{"role": "user", "content": "hello"}],
            on_terminate=lambda r: terminated.append(threading.get_ident()),
        )
        pending = not result.terminated
        got = await asyncio.wait_for(result, TIMEOUT)
        assert terminated  # on_terminate ran before the await returned
        again = await result  # finished: at once
        assert again is got
        return result, got, pending, threading.get_ident()

    result, got, pending, loop_thread = asyncio.run(main())
    assert pending and got is result and result.success
    assert got.choice is not None and got.choice.message is not None
    assert got.choice.message.text == "Echo: hello"
    assert terminated == [loop_thread]


def test_await_a_sync_result_returns_it_at_once(aikit_client: OpenAI) -> None:
    async def main() -> tuple[OpenAIResult, OpenAIResult]:
        result = aikit_client.models.list()  # sync: no form needed
        return result, await result

    result, got = asyncio.run(main())
    assert got is result and result.success


def test_await_where_the_loop_does_not_deliver_the_call_raises(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    aikit_server.delay_next(30.0)

    async def owned_by_a_worker() -> OpenAIResult:
        process.asyncio.attach()
        result = aikit_client.models.list(on_terminate=lambda r: None, owner="elsewhere")
        with pytest.raises(RuntimeError, match="not by this event loop's asyncio form"):
            await result
        return result

    result = asyncio.run(owned_by_a_worker())
    assert wait_for(lambda: len(aikit_server.requests) == 1)  # it took the delay: end it
    result.terminate()
    assert result.future().result(TIMEOUT) is result

    errors: list[BaseException] = []

    async def main() -> OpenAIResult:
        process.asyncio.attach()
        result = aikit_client.models.list(on_terminate=lambda r: None)

        def other_loop() -> None:
            async def wrong() -> None:
                await result

            try:
                asyncio.run(wrong())
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=other_loop)
        thread.start()
        await asyncio.get_running_loop().run_in_executor(None, thread.join, TIMEOUT)
        return await asyncio.wait_for(result, TIMEOUT)  # its own loop: fine

    assert asyncio.run(main()).success
    assert len(errors) == 1 and isinstance(errors[0], RuntimeError)


# -- exclusive groups --------------------------------------------------------------------------


def _chat(client: OpenAI, text: str, rec: Recorder, **options: Any) -> OpenAIResult:
    return client.chat.completions.create(
        [{"role": "user", "content": text}], rec.callbacks(*FINAL), **options)


def test_exclusive_call_supersedes_the_older_ones_of_its_group(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    aikit_server.delay_next(1.0, times=3)
    recs = [Recorder(), Recorder(), Recorder()]

    def issue() -> list[OpenAIResult]:
        return [_chat(aikit_client, text, rec, group="suggest", exclusive=True)
                for text, rec in zip(("a", "ab", "abc"), recs, strict=True)]

    results, worker = in_worker(issue)
    for rec in recs:
        rec.wait()
    old1, old2, new = recs
    assert new.names == ["on_response", "on_terminate"]
    assert results[2].choice is not None and results[2].choice.message is not None
    assert results[2].choice.message.text == "Echo: abc"
    for rec, result in ((old1, results[0]), (old2, results[1])):
        assert rec.names == ["on_error", "on_terminate"]  # each exactly once
        error = result.errors[0]
        assert error.kind == "terminated" and "Superseded" in error.message
        assert "'suggest'" in error.message
        assert result.terminated and not result.success
    assert {t for rec in recs for t in rec.threads} == {worker}
    assert wait_for(lambda: groups_left(aikit_client) == 0)


def test_an_answer_already_queued_for_the_owner_is_superseded_too(
    aikit_client: OpenAI,
) -> None:
    old, new = Recorder(), Recorder()

    def issue() -> tuple[OpenAIResult, OpenAIResult]:
        first = _chat(aikit_client, "a", old, group="g", exclusive=True)
        # Its answer arrives and its final result is posted to this worker, queued behind
        # this message: the newer call must still win.
        assert wait_for(lambda: idle(aikit_client))
        return first, _chat(aikit_client, "ab", new, group="g", exclusive=True)

    (first, second), _ = in_worker(issue)
    old.wait()
    new.wait()
    assert old.names == ["on_error", "on_terminate"]
    assert first.errors[0].kind == "terminated" and first.body is None
    assert new.names == ["on_response", "on_terminate"] and second.success


def test_a_superseded_stream_gets_no_more_chunks(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    aikit_server.stream_fault_next("stall", after_chunks=2)
    old, new = Recorder(), Recorder()
    chunks: list[Any] = []
    state: dict[str, OpenAIResult] = {}

    def on_data(chunk: Any) -> None:
        chunks.append(chunk)
        if len(chunks) == 2 and "new" not in state:  # the stream stalls here: supersede it
            state["new"] = _chat(aikit_client, "next", new, group="g", exclusive=True)

    def issue() -> OpenAIResult:
        return _chat(aikit_client, "streamed", old, group="g", exclusive=True, stream=True,
                     on_data=on_data)

    first, _ = in_worker(issue)
    old.wait()
    new.wait()
    assert len(chunks) == 2
    assert old.names == ["on_error", "on_terminate"] and first.errors[0].kind == "terminated"
    assert new.names == ["on_response", "on_terminate"] and state["new"].success


def test_groups_are_isolated_by_name_and_by_owner(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    aikit_server.delay_next(1.0, times=2)
    a1, a2, b1, a3 = Recorder(), Recorder(), Recorder(), Recorder()

    def in_a() -> list[OpenAIResult]:
        return [_chat(aikit_client, "one", a1, group="g1", exclusive=True),
                _chat(aikit_client, "two", a2, group="g2", exclusive=True)]  # another name

    (first, second), _ = in_worker(in_a, name="A")
    # Another owner, same group name: A's call is untouched.
    in_worker(lambda: _chat(aikit_client, "three", b1, group="g1", exclusive=True), name="B")
    # Plain group members (not exclusive) do not supersede each other either.
    in_worker(lambda: _chat(aikit_client, "four", a3, group="g1"), name="A")
    for rec in (a1, a2, b1, a3):
        rec.wait()
        assert rec.names == ["on_response", "on_terminate"]
    assert first.success and second.success
    assert wait_for(lambda: groups_left(aikit_client) == 0)


def test_exclusive_supersedes_plain_members_and_not_other_owners(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    aikit_server.delay_next(2.0, times=4)
    p1, p2, other, new = Recorder(), Recorder(), Recorder(), Recorder()
    in_worker(lambda: _chat(aikit_client, "b", other, group="g"), name="B")

    def issue() -> None:
        _chat(aikit_client, "1", p1, group="g")
        _chat(aikit_client, "2", p2, group="g")
        _chat(aikit_client, "3", new, group="g", exclusive=True)

    in_worker(issue, name="A")
    for rec in (p1, p2, other, new):
        rec.wait()
    assert p1.names == p2.names == ["on_error", "on_terminate"]
    assert other.names == new.names == ["on_response", "on_terminate"]


def test_exclusive_needs_a_group(aikit_client: OpenAI) -> None:
    with pytest.raises(ValueError, match="exclusive"):
        aikit_client.models.list(exclusive=True)
    with pytest.raises(ValueError, match="exclusive"):
        aikit_client.models.list({"exclusive": True}, on_terminate=print)
    with pytest.raises(TypeError, match="group"):
        aikit_client.models.list(group=3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="group"):
        aikit_client.models.list(group="")


def test_group_options_are_never_sent(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    result = aikit_client.chat.completions.create(
        [{"role": "user", "content": "x"}], group="g", exclusive=True, on_retry=print)
    assert result.success  # sync: the group is ignored
    body = aikit_server.requests[-1].json
    assert not {"group", "exclusive", "on_retry"} & set(body)


def test_close_ends_group_calls_once_and_leaves_no_member(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    aikit_server.delay_next(30.0, times=2)
    recs = [Recorder(), Recorder()]
    in_worker(lambda: [_chat(aikit_client, text, rec, group="g")
                       for text, rec in zip("xy", recs, strict=True)])
    aikit_client.close()
    for rec in recs:
        rec.wait()
        assert rec.names == ["on_error", "on_terminate"]
    assert wait_for(lambda: groups_left(aikit_client) == 0)
