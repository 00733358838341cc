"""Processes: a thread plus a FIFO mailbox, the Python shape of 4D's main process and workers.

Also the main process itself (process 1, the interpreter's main thread) and the lookup of the
calling thread's process, which forms and the public functions both need. A process's lock
guards its queue, its tracked requests and its attached form; user code (messages,
``cancel()``, form hooks) never runs under it (docs/architecture/processes.md).
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, Protocol

from aikit.process._mailbox import Call, Mailbox
from aikit.process._table import by_number, local, unregister

if TYPE_CHECKING:
    from aikit.process._forms import Form

__all__ = ["MAIN", "Cancellable", "Process", "cancel_all", "current"]

_log = logging.getLogger("aikit")


class Cancellable(Protocol):
    """What ``track`` accepts: an in-flight request that the owner can abort."""

    def cancel(self) -> object: ...


def _describe(fn: object) -> str:
    return str(getattr(fn, "__qualname__", None) or repr(fn))


def cancel_all(requests: list[Cancellable], why: str) -> None:
    """Cancel each request, logging (not raising) its errors: every one gets its cancel()."""
    for request in requests:
        try:
            request.cancel()
        except Exception:
            _log.exception("aikit: cancelling %r (%s) raised", request, why)


class Process(Mailbox):
    """A thread with a FIFO mailbox (4D's process). Messages run one at a time on that thread.

    Process 1 ("main") is the interpreter's main thread: its messages run only inside ``pump()``
    or ``run_until()``, or from a GUI loop when a form is attached on it. Workers are processes
    with their own daemon thread looping over the mailbox.
    """

    __slots__ = (
        "__weakref__",
        "_ephemeral",
        "_killed",
        "_kind",
        "_name",
        "_number",
        "_requests",
        "_thread",
    )

    def __init__(
        self,
        name: str,
        number: int,
        kind: str,
        thread: threading.Thread,
        *,
        alive: bool = True,
        ephemeral: bool = False,
    ) -> None:
        super().__init__(alive=alive)
        self._name = name
        self._number = number
        self._kind = kind
        self._thread = thread
        self._ephemeral = ephemeral  # a plain thread that is a process only while a form is on it
        self._killed = False
        self._requests: set[Cancellable] = set()

    # -- identity ----------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._name

    @property
    def number(self) -> int:
        """1 for main, >= 2 for workers and form threads, 0 for a plain thread (no mailbox)."""
        return self._number

    @property
    def kind(self) -> str:
        """One of "main", "worker", "form" (a live form is attached on its thread), "thread"."""
        form = self._form
        if form is not None and form.is_alive():
            return "form"
        if self._ephemeral and not self._alive:
            return "thread"  # its form closed: the thread is a plain thread again
        return self._kind

    def __repr__(self) -> str:
        return f"<Process {self._number} {self._name!r} {self.kind}>"

    # -- Owner protocol ----------------------------------------------------------------------

    def post(
        self, fn: Callable[..., object], /, *args: Any, key: Hashable | None = None, **kwargs: Any
    ) -> bool:
        """Queue ``fn(*args, **kwargs)``; thread-safe. False when the process is gone.

        ``key`` exists for ``Owner`` compatibility and is ignored: processes never coalesce.
        """
        if not callable(fn):
            raise TypeError(f"fn must be callable, not {type(fn).__name__}")
        return self._put(fn, args, kwargs)

    def is_alive(self) -> bool:
        return self._alive

    def owns_current_thread(self) -> bool:
        return threading.current_thread() is self._thread

    def track(self, request: Cancellable) -> bool:
        """Register an in-flight request to cancel if this process dies; False if it is gone."""
        return self._track(request, None)

    def untrack(self, request: Cancellable) -> None:
        self._untrack(request, None)

    @property
    def in_flight(self) -> int:
        return len(self._requests)

    def run_until(self, predicate: Callable[[], bool], timeout: float | None = None) -> bool:
        """Run queued messages one at a time until ``predicate()`` or timeout; own thread only.

        This is the re-entry point behind ``pump()`` and ``result.wait()``: other messages run
        while waiting, and a post (or an ``untrack``) wakes it at once, without polling.
        """
        self._check_owner()
        deadline = None if timeout is None else time.monotonic() + timeout
        cond = self._cond
        items = self._items
        while True:
            seq = self._seq  # read before the predicate: a change after it skips the sleep
            if predicate():
                return True
            call: Call | None = None
            sleep = False
            remaining: float | None = None
            with cond:
                if items:
                    call = self._pop_locked()
                elif not self._alive and not self._requests:
                    break
                elif seq == self._seq:
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        break
                    self._waiting = sleep = True
            if sleep:
                try:
                    call = self._wakeq.get(timeout=remaining)
                except queue.Empty:
                    call = self._reclaim()
                except BaseException:  # e.g. KeyboardInterrupt while the main thread waits
                    pending = self._reclaim()
                    if pending is not None:
                        with cond:
                            items.appendleft(pending)
                    raise
            if call is not None:
                self._run(call)
            if deadline is not None and time.monotonic() >= deadline:
                break
        return predicate()

    # -- internals ---------------------------------------------------------------------------

    def _check_owner(self) -> None:
        if threading.current_thread() is not self._thread:
            raise RuntimeError(
                f"run_until() must be called on the thread of process {self._name!r}, "
                f"not from {threading.current_thread().name!r}"
            )

    def _run(self, call: Call) -> None:
        fn, args, kwargs = call
        try:
            fn(*args, **kwargs)
        except Exception:
            _log.exception("aikit: message %s in process %r raised", _describe(fn), self._name)

    def _drain(self, form: Form, limit: int) -> bool:
        """Run up to ``limit`` messages for ``form``'s GUI loop; True if more are waiting."""
        cond = self._cond
        items = self._items
        for _ in range(limit):
            with cond:
                if self._form is not form:
                    return False
                if not items:
                    self._wake_pending = False
                    return False
                call = self._pop_locked()
            self._run(call)
        with cond:
            if self._form is form and items:
                return True
            if self._form is form:
                self._wake_pending = False
            return False

    def _idle(self) -> bool:
        form = self._form
        return not self._pending() and not self._requests and (form is None or not form._requests)

    def _track(self, request: Cancellable, form: Form | None) -> bool:
        with self._cond:
            if not self._alive:
                return False
            if form is None:
                self._requests.add(request)
                return True
            if self._form is not form:
                return False
            form._requests.add(request)
            return True

    def _untrack(self, request: Cancellable, form: Form | None) -> None:
        cond = self._cond
        with cond:
            (self._requests if form is None else form._requests).discard(request)
            self._seq += 1
            self._notify_locked()

    def _kill(self) -> None:
        """kill_worker on a non-worker (main, form thread) only empties its mailbox, as in 4D."""
        with self._cond:
            dropped = len(self._items)
            self._items.clear()
            self._keyed.clear()
            self._seq += 1
        if dropped:
            self._dropped(dropped, "kill_worker emptied its mailbox")

    def _attach(self, form: Form) -> None:
        with self._cond:
            self._form = form
            self._wake_pending = kick = self._pending()
        if kick:
            form._wake()

    def _detach(self, form: Form) -> None:
        """Form closed: drop its messages and cancel its requests (all of them on a form thread)."""
        cond = self._cond
        with cond:
            if self._form is not form:
                return
            self._form = None
            self._wake_pending = False
            requests = list(form._requests)
            form._requests.clear()
            before = len(self._items)
            if self._ephemeral:
                self._alive = False
                self._items.clear()
                requests.extend(self._requests)
                self._requests.clear()
            else:
                kept = [item for item in self._items if type(item) is tuple]
                self._items.clear()
                self._items.extend(kept)
            self._keyed.clear()
            dropped = before - len(self._items)
            self._seq += 1
            self._notify_locked()
        if self._ephemeral:
            unregister(self)
            if self.owns_current_thread():
                local.process = None
        if dropped:
            self._dropped(dropped, "its form closed")
        cancel_all(requests, "form closed")


MAIN = Process("main", 1, "main", threading.main_thread())
by_number[1] = MAIN


def current() -> Process | None:
    """The calling thread's process; None on a plain thread (or once its form has closed)."""
    proc: Process | None = getattr(local, "process", None)
    if proc is not None:
        if proc._ephemeral:
            form = proc._form
            if form is not None:
                form.is_alive()  # notices a closed loop/window, which ends the form process
            if not proc._alive:
                local.process = None
                return None
        return proc
    if threading.current_thread() is MAIN._thread:
        return MAIN
    return None


def _warn_undelivered() -> None:
    """At exit: the main process's callbacks that will never run, said once, with the fix.

    A script that makes callback calls from the main thread and ends without ``pump()`` or
    ``result.wait()`` would otherwise drop them without a word.
    """
    count = len(MAIN._items)
    in_flight = len(MAIN._requests)
    if count or in_flight:
        _log.warning(
            "aikit: the main process exits with %d undelivered callback message(s) and %d "
            "call(s) still in flight; their callbacks never ran. The main thread receives "
            "callbacks only while it calls aikit.process.pump() or result.wait(): wait for "
            "the results before the script ends.",
            count, in_flight,
        )


atexit.register(_warn_undelivered)
