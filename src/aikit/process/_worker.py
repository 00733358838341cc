"""Workers: named processes, each with its own daemon thread, created on first ``call_worker``."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aikit.process._mailbox import IDLE_WAIT, WAKE, Item, Msg
from aikit.process._process import Cancellable, Process, cancel_all
from aikit.process._table import local, lock, unregister, worker_threads, workers

if TYPE_CHECKING:
    from aikit.process._forms import Form

__all__ = ["Worker"]


class Worker(Process):
    """A named process with its own daemon thread, created by ``call_worker`` on first use.

    Its mailbox is a ``queue.SimpleQueue`` instead of the locked deque: posting is one ``put``
    and the thread sleeps in ``get``, which is what makes a worker-to-worker hop cheap (designs
    where the waiting thread takes a lock around the queue measured about twice as slow per hop).
    Only the worker's own thread takes messages off it (``_loop``, ``run_until``, or the
    ``_drain`` of a form attached on that thread), so FIFO holds; ``_kill`` empties it from any
    thread, but those messages are dropped anyway. Form messages go on the same queue as
    ``Msg``: coalescing updates them in place under the lock, and one whose form closed is
    dropped when it comes out.
    """

    __slots__ = ("_predecessor", "_q", "_waiters")

    def __init__(self, name: str, number: int, predecessor: threading.Thread | None) -> None:
        thread = threading.Thread(target=self._main, name=f"aikit-worker-{name}", daemon=True)
        super().__init__(name, number, "worker", thread)
        self._predecessor = predecessor
        self._q: queue.SimpleQueue[Item] = queue.SimpleQueue()
        self._waiters = 0  # run_until() depth on the worker's thread: it wants untrack wake-ups

    def _main(self) -> None:
        local.process = self
        try:
            predecessor, self._predecessor = self._predecessor, None
            if predecessor is not None:
                predecessor.join()  # 4D: never two threads for one worker name
            self._loop()
        finally:
            self._finish()

    def _loop(self) -> None:
        get = self._q.get
        while self._alive:  # _kill puts WAKE, so a sleeping loop sees it at once
            try:
                item = get(True, IDLE_WAIT)
            except queue.Empty:
                continue
            if type(item) is tuple and item is not WAKE and self._alive:
                self._run(item)  # the hot path: a plain message
            else:
                self._take(item)

    def _take(self, item: Item) -> None:
        """Run a message taken off the queue, unless it is a wake-up or has been dropped since:
        the worker was killed, or (a form message) its form closed."""
        if item is WAKE:
            return
        if not self._alive:
            self._dropped(1, "kill_worker")
            return
        if type(item) is tuple:
            self._run(item)
            return
        assert isinstance(item, Msg)
        with self._cond:
            call = self._unkey_locked(item) if item.form is self._form else None
        if call is None:
            self._dropped(1, "its form closed")
        else:
            self._run(call)

    def run_until(self, predicate: Callable[[], bool], timeout: float | None = None) -> bool:
        self._check_owner()
        deadline = None if timeout is None else time.monotonic() + timeout
        get = self._q.get
        # Raised before the first predicate() call: an untrack() after that check sees it and
        # puts WAKE, so the get() below cannot sleep through it.
        self._waiters += 1
        try:
            while not predicate():
                if not self._alive and not self._requests:
                    break
                wait = IDLE_WAIT
                if deadline is not None:
                    wait = deadline - time.monotonic()
                    if wait <= 0:
                        break
                try:
                    item = get(True, wait)
                except queue.Empty:
                    continue  # timed out: the deadline check above ends the wait
                self._take(item)
            else:
                return True
        finally:
            self._waiters -= 1
        return predicate()

    def _put(
        self, fn: Callable[..., object], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> bool:
        if not self._alive:
            self._dropped(1, "it is no longer alive")
            return False
        self._q.put((fn, args, kwargs))
        # Read after the put: _attach sets _form before it looks at the queue, so either it
        # sees this message or this sees the form.
        if self._form is None:
            return True
        with self._cond:
            form = self._form
            if form is None or self._wake_pending:
                return True
            self._wake_pending = True
        return form._wake() or self._alive

    def _enqueue_form_locked(self, msg: Msg) -> None:
        self._q.put(msg)  # the put itself wakes the thread if it sleeps in get()

    def _pending(self) -> bool:
        # Stray WAKE items count too: a caller waiting for "empty" then takes them, harmlessly.
        return not self._q.empty()

    def _drain(self, form: Form, limit: int) -> bool:
        get = self._q.get_nowait
        for _ in range(limit):
            if self._form is not form:
                return False
            try:
                item = get()
            except queue.Empty:
                break
            self._take(item)
        with self._cond:
            if self._form is not form:
                return False
            # Checked under the lock: a poster that finds _wake_pending still set has put its
            # message before this check, so it is seen here.
            if self._q.empty():
                self._wake_pending = False
                return False
            return True

    def _untrack(self, request: Cancellable, form: Form | None) -> None:
        super()._untrack(request, form)
        if self._waiters:
            self._q.put(WAKE)

    def _detach(self, form: Form) -> None:
        super()._detach(form)  # its queued messages are dropped as they come out (_take)
        if self._waiters:
            self._q.put(WAKE)  # after its requests were cancelled: a wait on one may be over

    def _kill(self) -> None:
        """Drop pending messages and cancel requests; the running message finishes, then exit."""
        with self._cond:
            if not self._alive:
                return
            self._alive = False  # from here post() refuses and the thread drops what it takes
            self._killed = True
            self._keyed.clear()
            requests = list(self._requests)
            self._requests.clear()
            form = self._form
        dropped = 0
        while True:
            try:
                item = self._q.get_nowait()
            except queue.Empty:
                break
            if item is not WAKE:
                dropped += 1
        unregister(self, keep_name=True)
        if form is not None:
            form.close()
        if dropped:
            self._dropped(dropped, "kill_worker")
        cancel_all(requests, "worker killed")
        self._q.put(WAKE)  # last: a run_until() waiting on a cancelled request sees it done

    def _finish(self) -> None:
        self._kill()
        with lock:
            if workers.get(self._name) is self:
                del workers[self._name]
            worker_threads.discard(self._thread)
