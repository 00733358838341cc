"""The asyncio adapter on real running loops: affinity, close, coalescing, re-entry."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import Any

import pytest

from aikit import process
from aikit.process._registry import resolve_owner

T = 10.0


def run_on(worker: str, fn: Callable[[], Any]) -> Any:
    sig = process.Signal()

    def job() -> None:
        try:
            sig.trigger((True, fn()))
        except BaseException as exc:
            sig.trigger((False, exc))

    process.call_worker(worker, job)
    assert sig.wait(T)
    ok, value = sig.value
    if not ok:
        raise value
    return value


def test_messages_run_on_the_loop_thread_and_main_becomes_a_form() -> None:
    async def main() -> tuple[process.Form, int, tuple[int, str], bool]:
        form = process.asyncio.attach()
        me = process.current_process()
        loop = asyncio.get_running_loop()
        done: asyncio.Future[int] = loop.create_future()
        process.call_worker(
            "w", process.call_form, form, lambda: done.set_result(threading.get_ident())
        )
        ident = await asyncio.wait_for(done, T)
        return form, ident, (me.number, me.kind), resolve_owner() is form

    form, ident, (number, kind), owner_is_form = asyncio.run(main())
    assert ident == threading.get_ident()
    assert (number, kind) == (1, "form")
    assert owner_is_form
    # asyncio.run closed the loop: the form is gone and process 1 is "main" again.
    assert process.current_process().kind == "main"
    assert not form.is_alive()
    assert process.call_form(form, print) is False
    assert resolve_owner() is process.current_process()


def test_main_process_messages_are_delivered_by_the_loop_while_attached() -> None:
    async def main() -> int:
        process.asyncio.attach()
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        run_on("w", lambda: process.call_worker(1, lambda: done.set_result(threading.get_ident())))
        return await asyncio.wait_for(done, T)  # no pump(): the loop delivers

    assert asyncio.run(main()) == threading.get_ident()


def test_pending_messages_for_the_process_survive_attach_and_are_delivered() -> None:
    ran: list[str] = []
    process.call_worker(1, ran.append, "queued before attach")

    async def main() -> None:
        process.asyncio.attach()
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        process.call_worker(1, done.set_result, None)
        await asyncio.wait_for(done, T)

    asyncio.run(main())
    assert ran == ["queued before attach"]


def test_closing_drops_form_messages_cancels_requests_and_keeps_process_messages(
    new_request: Any, caplog: pytest.LogCaptureFixture
) -> None:
    loop = asyncio.new_event_loop()
    ran: list[str] = []
    try:
        form = process.asyncio.attach(loop)  # not running yet: bound to this thread
        req = new_request()
        assert form.track(req) and form.in_flight == 1
        assert process.call_form(form, ran.append, "form message")
        process.call_worker(1, ran.append, "process message")
    finally:
        loop.close()
    assert not form.is_alive()
    assert req.cancelled.is_set()
    with caplog.at_level(logging.DEBUG, logger="aikit"):
        assert process.call_form(form, ran.append, "late") is False
    assert any("closed" in r.getMessage() for r in caplog.records if r.name == "aikit")
    assert form.track(new_request()) is False
    assert process.pump(T)
    assert ran == ["process message"]


def test_a_closed_loop_is_noticed_when_a_worker_posts(new_request: Any) -> None:
    loop = asyncio.new_event_loop()
    form = process.asyncio.attach(loop)
    req = new_request()
    assert form.track(req)
    loop.close()
    assert run_on("w", lambda: process.call_form(form, print)) is False
    assert req.cancelled.is_set()
    assert process.current_process().kind == "main"


def test_a_plain_thread_with_a_loop_becomes_a_form_process_for_the_loop_lifetime() -> None:
    ready = threading.Event()
    info: dict[str, Any] = {}

    async def main() -> None:
        form = process.asyncio.attach()
        me = process.current_process()
        info.update(form=form, number=me.number, kind=me.kind)
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        info["done"] = lambda: done.set_result(threading.get_ident())
        ready.set()
        info["ran_on"] = await asyncio.wait_for(done, T)

    def thread_main() -> None:
        asyncio.run(main())
        info["kind_after"] = process.current_process().kind

    thread = threading.Thread(target=thread_main)
    thread.start()
    assert ready.wait(T)
    form = info["form"]
    assert info["kind"] == "form" and info["number"] >= 2
    assert resolve_owner(info["number"]) is form.process
    assert process.call_form(form, info["done"])
    thread.join(T)
    assert info["ran_on"] == thread.ident
    assert info["kind_after"] == "thread"
    assert not form.is_alive()
    with pytest.raises(ValueError, match="owner"):
        resolve_owner(info["number"])


@pytest.mark.parametrize("coalesce", [True, False])
def test_coalescing_replaces_in_place_only_when_enabled(coalesce: bool) -> None:
    async def main() -> list[Any]:
        form = process.asyncio.attach(coalesce_data=coalesce)
        seen: list[Any] = []
        # Posted from the loop thread without yielding: nothing is drained in between.
        form.post(seen.append, ("data", 1), key="request-1")
        form.post(seen.append, "other")
        for i in range(2, 101):
            form.post(seen.append, ("data", i), key="request-1")
        form.post(seen.append, "final")
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        form.post(done.set_result, None)
        await asyncio.wait_for(done, T)
        return seen

    seen = asyncio.run(main())
    if coalesce:
        assert seen == [("data", 100), "other", "final"]
    else:
        assert seen == [("data", 1), "other", *[("data", i) for i in range(2, 101)], "final"]


def test_coalescing_from_a_worker_while_the_loop_is_busy() -> None:
    async def main() -> list[Any]:
        form = process.asyncio.attach(coalesce_data=True)
        seen: list[Any] = []
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def produce() -> None:
            for i in range(500):
                form.post(seen.append, i, key="r")
            form.post(seen.append, "final")
            form.post(done.set_result, None)

        run_on("producer", produce)  # blocks the loop thread: nothing drains meanwhile
        await asyncio.wait_for(done, T)
        return seen

    assert asyncio.run(main()) == [499, "final"]


def test_run_until_on_the_loop_thread_drains_the_form_queue_directly() -> None:
    async def main() -> tuple[bool, list[str]]:
        form = process.asyncio.attach()
        log: list[str] = []
        process.call_worker("w", process.call_form, form, log.append, "from worker")
        ok = form.run_until(lambda: bool(log), T)  # blocks the loop, yet the message runs
        return ok, log

    assert asyncio.run(main()) == (True, ["from worker"])


@pytest.mark.parametrize("thread", ["main", "worker"])
def test_form_mailbox_is_fifo_across_form_and_process_posts(thread: str) -> None:
    """On main the form drains the locked deque, on a worker its SimpleQueue: both keep order."""

    async def main() -> tuple[list[tuple[int, int]], int]:
        form = process.asyncio.attach()
        me = form.process
        got: list[tuple[int, int]] = []
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def record(i: int) -> None:
            got.append((i, threading.get_ident()))

        # No await in between: all five are queued before the loop can drain any of them.
        for i in range(5):
            if i % 3 == 0:
                form.post(record, i)
            elif i % 3 == 1:
                process.call_form(form, record, i)
            else:
                process.call_worker(me, record, i)  # a plain process message, same mailbox
        assert got == []
        form.post(done.set_result, None)
        await asyncio.wait_for(done, T)
        return got, threading.get_ident()

    if thread == "main":
        got, loop_ident = asyncio.run(main())
    else:
        got, loop_ident = run_on("fifo-loop", lambda: asyncio.run(main()))
    assert got == [(i, loop_ident) for i in range(5)]


def test_form_messages_do_not_preempt_each_other() -> None:
    async def main() -> list[str]:
        form = process.asyncio.attach()
        log: list[str] = []
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def first() -> None:
            log.append("first-start")
            form.post(log.append, "second")
            log.append("first-end")
            form.post(done.set_result, None)

        run_on("w", lambda: process.call_form(form, first))
        await asyncio.wait_for(done, T)
        return log

    assert asyncio.run(main()) == ["first-start", "first-end", "second"]


def test_a_raising_form_message_is_logged_and_delivery_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def main() -> bool:
        form = process.asyncio.attach()
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        form.post(lambda: 1 / 0)
        form.post(done.set_result, True)
        return await asyncio.wait_for(done, T)

    with caplog.at_level(logging.ERROR, logger="aikit"):
        assert asyncio.run(main())
    assert any(r.exc_info and r.exc_info[0] is ZeroDivisionError for r in caplog.records)


def test_form_owner_api(new_request: Any) -> None:
    async def main() -> None:
        form = process.asyncio.attach()
        assert process.asyncio.attach() is form  # same loop: same form
        assert form.owns_current_thread()
        assert run_on("w", form.owns_current_thread) is False
        assert resolve_owner(form) is form
        req = new_request()
        assert form.track(req) and form.in_flight == 1
        assert process.pump(timeout=0.05) is False  # the form's request counts for pump
        form.untrack(req)
        assert form.in_flight == 0 and process.pump(T)
        with pytest.raises(RuntimeError, match="thread"):
            run_on("w", lambda: form.run_until(lambda: True))
        form.close()
        assert process.current_process().kind == "main"
        assert form.post(print) is False

    asyncio.run(main())


def test_attach_errors() -> None:
    with pytest.raises(RuntimeError, match="running event loop"):
        process.asyncio.attach()
    with pytest.raises(TypeError, match="loop"):
        process.asyncio.attach("loop")  # type: ignore[arg-type]
    closed = asyncio.new_event_loop()
    closed.close()
    with pytest.raises(RuntimeError, match="closed"):
        process.asyncio.attach(closed)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        with pytest.raises(RuntimeError, match="thread"):
            run_on("w", lambda: process.asyncio.attach(loop))
        process.asyncio.attach()
        other = asyncio.new_event_loop()
        try:
            with pytest.raises(RuntimeError, match="already attached"):
                process.asyncio.attach(other)
        finally:
            other.close()

    asyncio.run(main())
