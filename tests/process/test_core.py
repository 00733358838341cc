"""Workers, the main process, kill, signals, owners (docs/architecture/guarantees.md)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from aikit import process
from aikit.process._process import MAIN
from aikit.process._registry import NoProcessError, Owner, resolve_owner, shutdown_workers
from aikit.process._table import by_number

T = 10.0
REPO = Path(process.__file__).resolve().parents[2]


def run_on(worker: str | int, fn: Callable[[], Any]) -> Any:
    """Run ``fn`` as a message on ``worker`` and return its result (or re-raise its error)."""
    sig = process.Signal()

    def job() -> None:
        try:
            sig.trigger((True, fn()))
        except BaseException as exc:
            sig.trigger((False, exc))

    process.call_worker(worker, job)
    assert sig.wait(T), "the worker did not run the message"
    ok, value = sig.value
    if not ok:
        raise value
    return value


def in_thread(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` on a plain (non-process) thread and return its result (or re-raise)."""
    box: list[tuple[bool, Any]] = []

    def target() -> None:
        try:
            box.append((True, fn()))
        except BaseException as exc:
            box.append((False, exc))

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(T)
    assert box, "the thread did not finish"
    ok, value = box[0]
    if not ok:
        raise value
    return value


def run_script(code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
        cwd=REPO,
    )


# -- identity --------------------------------------------------------------------------------


def test_main_thread_is_process_1_named_main() -> None:
    me = process.current_process()
    assert (me.name, me.number, me.kind) == ("main", 1, "main")
    assert me.owns_current_thread()
    assert resolve_owner() is me
    assert resolve_owner(1) is me


def test_worker_identity() -> None:
    name, number, kind, ident = run_on(
        "w",
        lambda: (
            process.current_process().name,
            process.current_process().number,
            process.current_process().kind,
            threading.get_ident(),
        ),
    )
    assert (name, kind) == ("w", "worker")
    assert number >= 2
    assert ident != threading.get_ident()
    assert resolve_owner(number) is resolve_owner("w")


def test_plain_thread_is_kind_thread_and_cannot_receive() -> None:
    def probe() -> tuple[str, int, bool, bool]:
        me = process.current_process()
        return me.kind, me.number, me.post(print), me.is_alive()

    assert in_thread(probe) == ("thread", 0, False, False)


def test_numbering_exit_warning_and_daemon_workers_in_a_fresh_interpreter() -> None:
    result = run_script(
        """
        import threading
        from aikit import process
        first = process.Signal()
        process.call_worker("first", lambda: first.trigger(process.current_process().number))
        assert first.wait(10)
        print("first worker number", first.value, process.current_process().number)
        # A worker blocked forever must not keep the interpreter alive (daemon thread).
        process.call_worker("stuck", threading.Event().wait)
        for i in range(3):
            process.call_worker(1, print, "never delivered", i)
        """
    )
    assert result.returncode == 0, result.stderr
    assert "first worker number 2 1" in result.stdout
    assert "never delivered" not in result.stdout
    warnings = [line for line in result.stderr.splitlines() if "main process exits" in line]
    assert len(warnings) == 1, result.stderr
    assert "3 undelivered callback message(s)" in warnings[0]
    assert "aikit.process.pump()" in warnings[0]
    assert "result.wait()" in warnings[0]


def test_no_exit_warning_once_main_pumped() -> None:
    result = run_script(
        """
        from aikit import process
        process.call_worker(1, print, "delivered")
        assert process.pump(10)
        """
    )
    assert result.returncode == 0, result.stderr
    assert "delivered" in result.stdout
    assert "main process exits" not in result.stderr


def test_importing_process_stays_cheap_and_adapters_load_lazily() -> None:
    result = run_script(
        """
        import sys
        import aikit.process as p
        assert "tkinter" not in sys.modules and "PySide6" not in sys.modules
        assert "aikit.process.tk" not in sys.modules
        assert p.asyncio.attach is sys.modules["aikit.process.asyncio"].attach
        try:
            p.nope
        except AttributeError as exc:
            print("ok", exc)
        """
    )
    assert result.returncode == 0, result.stderr
    assert "ok" in result.stdout


# -- 1. affinity -----------------------------------------------------------------------------


def test_messages_run_on_the_worker_thread_whoever_posts() -> None:
    worker_ident = run_on("aff", threading.get_ident)
    seen: list[int] = []
    done = process.Signal()

    def record() -> None:
        seen.append(threading.get_ident())
        if len(seen) == 4:
            done.trigger()

    owner = resolve_owner("aff")
    process.call_worker("aff", record)  # from main
    in_thread(lambda: process.call_worker("aff", record))  # from a plain thread
    run_on("other", lambda: process.call_worker("aff", record))  # from another worker
    in_thread(lambda: owner.post(record))  # the Owner API, as the HTTP layer uses it
    assert done.wait(T)
    assert seen == [worker_ident] * 4


# -- 2. order --------------------------------------------------------------------------------


def test_fifo_three_senders_1000_messages_each() -> None:
    received: list[tuple[int, int]] = []
    done = process.Signal()

    def record(sender: int, seq: int) -> None:
        received.append((sender, seq))
        if len(received) == 3000:
            done.trigger()

    run_on("sink", lambda: None)  # create it first so senders race only on the queue

    def sender(n: int) -> None:
        for seq in range(1000):
            process.call_worker("sink", record, n, seq)

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(T)
    assert done.wait(T)
    assert len(received) == 3000
    for n in range(3):
        assert [seq for s, seq in received if s == n] == list(range(1000))


def test_callbacks_and_call_worker_messages_share_one_queue() -> None:
    owner = resolve_owner("mix")
    got: list[int] = []
    done = process.Signal()

    def record(i: int) -> None:
        got.append(i)
        if i == 199:
            done.trigger()

    for i in range(200):
        if i % 2:
            owner.post(record, i)
        else:
            process.call_worker("mix", record, i)
    assert done.wait(T)
    assert got == list(range(200))


# -- 3. no pre-emption -----------------------------------------------------------------------


def test_a_message_never_interrupts_the_running_one() -> None:
    log: list[str] = []
    b_posted = threading.Event()
    c_posted = threading.Event()
    done = process.Signal()

    def a() -> None:
        log.append("A-start")
        process.call_worker("np", log.append, "B")  # to itself
        b_posted.set()
        c_posted.wait(T)  # meanwhile another worker posts C
        log.append("A-end")

    def c() -> None:
        log.append("C")
        done.trigger()

    def poster() -> None:
        b_posted.wait(T)
        process.call_worker("np", c)
        c_posted.set()

    process.call_worker("np", a)
    process.call_worker("poster", poster)
    assert done.wait(T)
    assert log == ["A-start", "A-end", "B", "C"]


def test_signal_wait_does_not_pump_but_pump_does() -> None:
    def body() -> tuple[bool, bool, bool]:
        inner = process.Signal()
        process.call_worker("sp", inner.trigger, "ran")
        blocked = inner.wait(0.2)  # pure block: the queued message cannot run
        pumped = process.pump(T)
        return blocked, pumped, inner.value == "ran"

    assert run_on("sp", body) == (False, True, True)


def test_run_until_runs_one_message_at_a_time_and_stops_at_the_predicate() -> None:
    def body() -> tuple[bool, list[int], list[int]]:
        log: list[int] = []
        for i in range(3):
            process.call_worker("ru", log.append, i)
        ok = process.current_process().run_until(lambda: len(log) >= 2, T)
        after = list(log)
        return ok, after, log

    ok, after, log = run_on("ru", body)
    assert ok
    assert after == [0, 1]
    run_on("ru", lambda: None)  # the third message runs later, in the loop
    assert log == [0, 1, 2]


def test_run_until_raises_off_its_thread() -> None:
    main = process.current_process()
    with pytest.raises(RuntimeError, match="thread"):
        in_thread(lambda: main.run_until(lambda: True))
    with pytest.raises(RuntimeError, match="thread"):
        run_on("x", lambda: main.run_until(lambda: True))
    worker = resolve_owner("x")
    with pytest.raises(RuntimeError, match="thread"):
        worker.run_until(lambda: True)


def test_run_until_wakes_at_once_when_a_message_arrives() -> None:
    main = MAIN
    ran = threading.Event()

    def poster() -> None:
        deadline = time.monotonic() + T
        while not main._waiting and time.monotonic() < deadline:
            time.sleep(0.001)
        main.post(ran.set)

    thread = threading.Thread(target=poster)
    thread.start()
    start = time.monotonic()
    assert main.run_until(ran.is_set, timeout=T)
    elapsed = time.monotonic() - start
    thread.join(T)
    assert elapsed < 0.5  # woken by the post, not by a timeout or a slow poll


def test_run_until_times_out_false() -> None:
    start = time.monotonic()
    assert process.current_process().run_until(lambda: False, timeout=0.05) is False
    assert time.monotonic() - start < 5


# -- 4. workers ------------------------------------------------------------------------------


def test_workers_keep_thread_and_thread_local_state() -> None:
    local = threading.local()

    def first() -> int:
        local.value = 42
        return threading.get_ident()

    def second() -> tuple[int, int]:
        return threading.get_ident(), local.value

    ident = run_on("state", first)
    assert run_on("state", second) == (ident, 42)


def test_worker_threads_are_daemons() -> None:
    assert run_on("d", lambda: threading.current_thread().daemon) is True


def test_worker_names_are_case_sensitive() -> None:
    lower = run_on("db", lambda: (threading.get_ident(), process.current_process().number))
    upper = run_on("DB", lambda: (threading.get_ident(), process.current_process().number))
    assert lower != upper


def test_call_worker_by_number_and_by_process() -> None:
    number = run_on("num", lambda: process.current_process().number)
    assert run_on(number, lambda: process.current_process().name) == "num"
    proc = resolve_owner("num")
    assert isinstance(proc, process.Process)
    sig = process.Signal()
    process.call_worker(proc, lambda: sig.trigger(process.current_process().name))
    assert sig.wait(T) and sig.value == "num"


def test_call_worker_unknown_number_is_a_silent_no_op() -> None:
    before = threading.active_count()
    registry = dict(by_number)
    assert process.call_worker(987654, print, "never") is None
    assert by_number == registry
    assert threading.active_count() == before


def test_call_worker_passes_kwargs_including_key() -> None:
    assert run_on("kw", lambda: None) is None
    sig = process.Signal()
    process.call_worker("kw", lambda *a, **k: sig.trigger((a, k)), 1, key="k", fn="f")
    assert sig.wait(T)
    assert sig.value == ((1,), {"key": "k", "fn": "f"})


@pytest.mark.parametrize(
    ("call", "error", "word"),
    [
        (lambda: process.call_worker("w", 42), TypeError, "fn"),
        (lambda: process.call_worker("", print), ValueError, "process"),
        (lambda: process.call_worker(1.5, print), TypeError, "process"),
        (lambda: process.call_worker(["w"], print), TypeError, "process"),
        (lambda: process.call_worker(True, print), TypeError, "process"),
        (lambda: process.kill_worker(""), ValueError, "process"),
        (lambda: process.kill_worker(2.0), TypeError, "process"),
        (lambda: process.call_form("form", print), TypeError, "form"),
        (lambda: resolve_owner(1.5), TypeError, "owner"),
        (lambda: resolve_owner(""), ValueError, "owner"),
        (lambda: resolve_owner(987654), ValueError, "owner"),
        (lambda: MAIN.post("not callable"), TypeError, "fn"),
    ],
)
def test_bad_input(call: Callable[[], Any], error: type[Exception], word: str) -> None:
    with pytest.raises(error, match=word):
        call()


# -- 5. kill_worker --------------------------------------------------------------------------


def test_kill_drops_pending_finishes_current_and_restarts_after_the_old_thread_ended() -> None:
    log: list[str] = []
    gate = threading.Event()
    started = process.Signal()

    def a() -> None:
        log.append("A-start")
        started.trigger(threading.current_thread())
        gate.wait(T)
        log.append("A-end")

    process.call_worker("k", a)
    assert started.wait(T)
    old_thread: threading.Thread = started.value
    old = resolve_owner("k")
    process.call_worker("k", log.append, "B")
    process.call_worker("k", log.append, "C")
    process.kill_worker("k")
    assert not old.is_alive()
    assert old.post(log.append, "late") is False

    fresh = process.Signal()
    process.call_worker(
        "k",
        lambda: fresh.trigger((threading.current_thread(), old_thread.is_alive(), list(log))),
    )
    gate.set()
    assert fresh.wait(T)
    new_thread, old_alive, seen = fresh.value
    assert new_thread is not old_thread
    assert old_alive is False
    assert seen == ["A-start", "A-end"]  # B and C were dropped, A finished


def test_a_recreated_worker_runs_nothing_before_the_old_thread_ended(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gate = threading.Event()
    started = process.Signal()

    def blocked() -> None:
        started.trigger((threading.current_thread(), threading.get_ident()))
        gate.wait(T)

    process.call_worker("again", blocked)
    assert started.wait(T)
    old_thread, old_ident = started.value
    # The successor waits for its predecessor with join(): seeing that call (or the probe
    # running) tells, without any timing, that the new worker got as far as it may while the
    # old thread is still blocked in ``blocked``.
    reached = threading.Event()
    join = old_thread.join

    def observed_join(timeout: float | None = None) -> None:
        reached.set()
        join(timeout)

    monkeypatch.setattr(old_thread, "join", observed_join)
    process.kill_worker("again")
    probe = process.Signal()

    def record() -> None:
        probe.trigger((threading.get_ident(), old_thread.is_alive(), gate.is_set()))
        reached.set()

    process.call_worker("again", record)
    assert reached.wait(T), "the new worker neither waited for the old thread nor ran"
    gate.set()
    assert probe.wait(T)
    ident, old_alive, released = probe.value
    assert ident != old_ident
    assert released, "the new worker ran while the old one was still inside its message"
    assert old_alive is False
    old_thread.join(T)
    assert not old_thread.is_alive()


def test_kill_cancels_requests_outside_any_lock(new_request: Any) -> None:
    owner = resolve_owner("kc")
    plain = new_request()
    seen: list[Any] = []

    class Reentrant:
        """cancel() calls into the owner from another thread: that blocks if a lock is held."""

        def cancel(self) -> None:
            box: list[tuple[int, bool, bool, bool]] = []
            probe = threading.Thread(
                target=lambda: box.append(
                    (owner.in_flight, owner.post(print), owner.track(plain), owner.is_alive())
                )
            )
            probe.start()
            probe.join(5.0)
            seen.append(box[0] if box else "blocked: cancel() ran under the owner's lock")

    assert owner.track(plain)
    assert owner.track(Reentrant())
    assert owner.in_flight == 2
    killer = threading.Thread(target=process.kill_worker, args=("kc",))
    killer.start()
    killer.join(T)
    assert not killer.is_alive()
    assert plain.cancelled.is_set()
    assert seen == [(0, False, False, False)]
    assert owner.in_flight == 0


def test_killed_worker_calling_itself_is_a_no_op() -> None:
    ran: list[str] = []

    def body() -> str:
        process.kill_worker()  # None = the current worker
        process.call_worker("self", ran.append, "revived")
        return "finished"  # the current message goes on after the kill

    assert run_on("self", body) == "finished"
    probe = run_on("self", lambda: list(ran))  # a fresh worker, started after the old one ended
    assert probe == []
    assert ran == []


def test_kill_unknown_targets_is_a_no_op() -> None:
    process.kill_worker("nobody")
    process.kill_worker(987654)
    in_thread(process.kill_worker)  # a plain thread is not a worker


def test_kill_worker_on_main_only_empties_its_mailbox() -> None:
    ran: list[int] = []
    process.call_worker(1, ran.append, 1)
    process.kill_worker(1)
    assert process.pump(T)
    assert ran == []
    assert process.current_process().is_alive()
    process.call_worker(1, ran.append, 2)
    assert process.pump(T)
    assert ran == [2]


def test_posting_to_a_killed_worker_returns_false_and_logs_debug(
    caplog: pytest.LogCaptureFixture,
) -> None:
    owner = resolve_owner("gone")
    process.kill_worker("gone")
    with caplog.at_level(logging.DEBUG, logger="aikit"):
        assert owner.post(print) is False
        process.call_worker(owner, print)  # by Process object: also dropped
    dropped = [r for r in caplog.records if r.name == "aikit" and r.levelno == logging.DEBUG]
    assert len(dropped) == 2
    assert "dropped" in dropped[0].getMessage()


def test_track_on_a_dead_owner_returns_false(new_request: Any) -> None:
    owner = resolve_owner("dead")
    process.kill_worker("dead")
    req = new_request()
    assert owner.track(req) is False
    assert not req.cancelled.is_set()  # the caller cancels it, not the owner


# -- 6. main process -------------------------------------------------------------------------


def test_main_messages_run_only_when_main_pumps() -> None:
    ran: list[int] = []
    # The 4D reply pattern: a worker answers process 1.
    run_on("replier", lambda: process.call_worker(1, lambda: ran.append(threading.get_ident())))
    assert ran == []
    assert process.pump(T) is True
    assert ran == [threading.get_ident()]


def test_pump_waits_for_in_flight_requests(new_request: Any) -> None:
    owner = resolve_owner()
    req = new_request()
    assert owner.track(req) and owner.in_flight == 1
    assert process.pump(timeout=0.05) is False  # still in flight

    ran: list[str] = []
    go = threading.Event()

    def io_thread() -> None:
        go.wait(T)
        owner.post(ran.append, "callback")
        owner.untrack(req)

    thread = threading.Thread(target=io_thread)
    thread.start()
    go.set()
    assert process.pump(T) is True
    thread.join(T)
    assert ran == ["callback"]
    assert owner.in_flight == 0


def test_untrack_wakes_a_sleeping_pump_at_once(new_request: Any) -> None:
    main = MAIN
    req = new_request()
    assert main.track(req)

    def io_thread() -> None:
        deadline = time.monotonic() + T
        while not main._waiting and time.monotonic() < deadline:
            time.sleep(0.001)  # until pump() sleeps
        main.untrack(req)

    thread = threading.Thread(target=io_thread)
    thread.start()
    start = time.monotonic()
    assert process.pump(T) is True
    elapsed = time.monotonic() - start
    thread.join(T)
    assert elapsed < 0.5  # woken by untrack(), not by the timeout


@pytest.mark.parametrize("poster", ["main", "worker"])
def test_main_mailbox_is_fifo_until_one_pump(poster: str) -> None:
    got: list[tuple[int, int]] = []
    main = resolve_owner()
    assert main is MAIN

    def record(i: int) -> None:
        got.append((i, threading.get_ident()))

    def post_five() -> None:
        for i in range(5):
            if i % 2:
                main.post(record, i)  # the Owner API, as the HTTP layer uses it
            else:
                process.call_worker(1, record, i)

    if poster == "main":
        post_five()
    else:
        run_on("fifo-poster", post_five)
    assert got == []  # nothing runs before the main thread pumps
    assert process.pump(T)
    assert got == [(i, threading.get_ident()) for i in range(5)]


def test_pump_from_a_worker_runs_its_own_queue() -> None:
    def body() -> list[int]:
        log: list[int] = []
        for i in range(5):
            process.call_worker(process.current_process(), log.append, i)
        assert process.pump(T)
        return log

    assert run_on("pw", body) == [0, 1, 2, 3, 4]


# -- 7. plain threads ------------------------------------------------------------------------


def test_plain_thread_gets_no_process_error_naming_the_three_fixes() -> None:
    with pytest.raises(NoProcessError) as info:
        in_thread(resolve_owner)
    assert isinstance(info.value, RuntimeError)
    message = str(info.value)
    assert "process.call_worker" in message
    assert "attach" in message and "tk" in message and "qt" in message and "asyncio" in message
    assert "owner=" in message
    with pytest.raises(NoProcessError):
        in_thread(process.pump)


# -- 9. exit / stress ------------------------------------------------------------------------


def test_stress_8_workers_5000_cross_posted_messages_then_threads_return_to_baseline() -> None:
    baseline = threading.active_count()
    names = [f"stress{i}" for i in range(8)]
    per_worker = 5000
    total = len(names) * per_worker
    received: dict[str, list[tuple[str, int]]] = {name: [] for name in names}
    counter = [0]
    lock = threading.Lock()
    done = process.Signal()

    def receive(me: str, source: str, seq: int) -> None:
        received[me].append((source, seq))  # only ever touched on ``me``'s own thread
        with lock:
            counter[0] += 1
            if counter[0] == total:
                done.trigger()

    def produce(index: int) -> None:
        for seq in range(per_worker):
            target = names[(index + 1 + seq % 7) % 8]
            process.call_worker(target, receive, target, names[index], seq)

    for index, name in enumerate(names):
        process.call_worker(name, produce, index)
    assert done.wait(30)
    assert sum(len(v) for v in received.values()) == total
    for index, source in enumerate(names):
        for target in names:
            got = [seq for s, seq in received[target] if s == source]
            expected = [
                seq for seq in range(per_worker) if names[(index + 1 + seq % 7) % 8] == target
            ]
            assert got == expected  # none lost, none duplicated, per-sender order kept
    assert shutdown_workers(T)
    assert threading.active_count() == baseline


# -- 10. data hand-off -----------------------------------------------------------------------


def test_call_worker_arguments_are_passed_by_reference() -> None:
    payload: list[int] = []
    sig = process.Signal()

    def touch(obj: list[int]) -> None:
        obj.append(1)
        sig.trigger(obj)

    process.call_worker("ref", touch, payload)
    assert sig.wait(T)
    assert sig.value is payload and payload == [1]


# -- errors in messages ----------------------------------------------------------------------


def test_a_raising_message_is_logged_and_the_worker_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def boom() -> None:
        raise ValueError("boom")

    after = process.Signal()
    with caplog.at_level(logging.ERROR, logger="aikit"):
        process.call_worker("err", boom)
        process.call_worker("err", after.trigger, "still running")
        assert after.wait(T)
    errors = [r for r in caplog.records if r.name == "aikit" and r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert errors[0].exc_info is not None and errors[0].exc_info[0] is ValueError
    assert "boom" in errors[0].getMessage()


def test_a_raising_message_in_pump_is_logged_and_pump_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ran: list[str] = []
    process.call_worker(1, lambda: 1 / 0)
    process.call_worker(1, ran.append, "next")
    with caplog.at_level(logging.ERROR, logger="aikit"):
        assert process.pump(T)
    assert ran == ["next"]
    assert any(r.exc_info and r.exc_info[0] is ZeroDivisionError for r in caplog.records)


# -- Signal ----------------------------------------------------------------------------------


def test_signal_is_one_shot_and_wakes_all_waiters() -> None:
    sig = process.Signal()
    assert sig.value is None and not sig.signaled
    assert sig.wait(0.01) is False
    results: list[bool] = []
    ready = threading.Barrier(6)

    def waiter() -> None:
        ready.wait(T)
        results.append(sig.wait(T))

    threads = [threading.Thread(target=waiter) for _ in range(5)]
    for thread in threads:
        thread.start()
    ready.wait(T)
    sig.trigger("first")
    sig.trigger("second")  # idempotent: the first value stays
    for thread in threads:
        thread.join(T)
    assert results == [True] * 5
    assert sig.value == "first" and sig.signaled
    assert sig.wait() is True


# -- owner protocol --------------------------------------------------------------------------


def test_processes_satisfy_the_owner_protocol(new_request: Any) -> None:
    owner = resolve_owner("proto")
    assert isinstance(owner, Owner)
    assert resolve_owner(owner) is owner
    assert owner.is_alive()
    assert not owner.owns_current_thread()
    assert run_on("proto", owner.owns_current_thread) is True
    req = new_request()
    assert owner.track(req) and owner.in_flight == 1
    owner.untrack(req)
    assert owner.in_flight == 0
    assert resolve_owner() is process.current_process()
    assert run_on("proto", resolve_owner) is owner
