"""The per-call abort switch and the one watchdog thread that enforces deadlines.

A blocked ``connect``, header read or body read cannot be interrupted by a flag: the only way
to free the thread is to shut the socket down under it. ``Abortable`` remembers the socket a
call is using (from the moment it is created, before ``connect``), so ``terminate()``, an owner
that goes away, or a passed deadline can cut it from any thread. See
docs/architecture/lifecycle.md ("Deadlines and aborts").
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from ..errors import ErrorKind, OpenAIError

__all__ = ["Abortable", "Watchdog", "aborted_error", "watchdog"]

_MESSAGES = {
    ErrorKind.TERMINATED: "Request terminated.",
    ErrorKind.CANCELLED: "The owner process is gone.",
    ErrorKind.TIMEOUT: "The call's deadline passed.",
}


def aborted_error(reason: ErrorKind | None, status: int | None = None) -> OpenAIError:
    """The error of a call ended by ``abort(reason)``."""
    kind = reason or ErrorKind.TERMINATED
    return OpenAIError(_MESSAGES.get(kind, "Request terminated."), status=status, kind=kind)


class Abortable:
    """One call's switch. ``abort(kind)`` ends the whole call (retries and back-off included);
    ``expire_attempt()`` only cuts the current attempt, whose own time budget ran out."""

    __slots__ = ("_event", "_lock", "_sock", "attempt_expired", "reason")

    def __init__(self) -> None:
        #: Why the call was aborted: TERMINATED, CANCELLED or TIMEOUT (a ``deadline``).
        self.reason: ErrorKind | None = None
        #: The current attempt's ``timeout`` passed (the call itself may still retry).
        self.attempt_expired = False
        self._sock: Any = None
        self._event: threading.Event | None = None  # made by the first wait(): most calls
        self._lock = threading.Lock()  # never sleep, and an Event costs as much as a call

    @property
    def aborted(self) -> bool:
        return self.reason is not None

    def wait(self, timeout: float) -> bool:
        """Sleep (a retry's back-off) unless or until the call is aborted; True if it was."""
        with self._lock:
            if self.reason is not None:
                return True
            if self._event is None:
                self._event = threading.Event()
            event = self._event
        return event.wait(timeout)

    def attach(self, sock: Any) -> None:
        """Remember the socket in use (a new one before its connect, or a pooled one)."""
        with self._lock:
            self._sock = sock
            cut = self.reason is not None or self.attempt_expired
        if cut:
            _shutdown(sock)

    def detach(self) -> None:
        with self._lock:
            self._sock = None

    def abort(self, reason: ErrorKind = ErrorKind.TERMINATED) -> None:
        """End the call: shut its socket down and wake its back-off. Safe from any thread;
        the first reason wins."""
        with self._lock:
            if self.reason is None:
                self.reason = reason
            event = self._event
            sock = self._sock
        if event is not None:
            event.set()
        if sock is not None:
            _shutdown(sock)

    def expire_attempt(self) -> None:
        with self._lock:
            self.attempt_expired = True
            sock = self._sock
        if sock is not None:
            _shutdown(sock)


def _shutdown(sock: Any) -> None:
    """Shut down (not close: the owning thread closes) a socket; this wakes a blocked
    ``connect``, ``recv`` or ``send`` on Linux, macOS and Windows alike."""
    with contextlib.suppress(OSError, AttributeError):
        sock.shutdown(socket.SHUT_RDWR)


_TICK = 1.0
_LINGER = 1.0


class _Timer:
    __slots__ = ("action", "live", "when")

    def __init__(self, when: float, action: Callable[[], None]) -> None:
        self.when = when
        self.action = action
        self.live = True


class Watchdog:
    """One daemon thread that runs each scheduled action when its monotonic time comes.

    Cheap on the hot path: scheduling pushes on a heap and wakes the thread only when the new
    time is the earliest; cancelling just marks the entry. Cancelled entries are dropped when
    they reach the top, or all at once when they outnumber the live ones (bounded memory).
    """

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, _Timer]] = []
        self._live = 0
        self._seq = itertools.count()
        self._cond = threading.Condition(threading.Lock())
        self._thread: threading.Thread | None = None
        self._wake_at = 0.0  # when the thread will look at the heap again (if sleeping)

    def schedule(self, when: float, action: Callable[[], None]) -> _Timer:
        timer = _Timer(when, action)
        with self._cond:
            heap = self._heap
            if len(heap) > 2 * self._live + 1024:
                heap[:] = [entry for entry in heap if entry[2].live]
                heapq.heapify(heap)
            heapq.heappush(heap, (when, next(self._seq), timer))
            self._live += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="aikit-deadlines",
                                                daemon=True)
                self._wake_at = 0.0
                self._thread.start()
            elif when < self._wake_at:
                self._cond.notify()
        return timer

    def cancel(self, timer: _Timer) -> None:
        if timer.live:
            with self._cond:
                if timer.live:
                    timer.live = False
                    self._live -= 1

    def _run(self) -> None:
        """Run due actions; with no live timer for ``_LINGER`` seconds, end (the next
        ``schedule`` starts a new thread), so an idle program keeps no aikit thread."""
        heap = self._heap
        while True:
            with self._cond:
                idle_since: float | None = None
                while True:
                    while heap and not heap[0][2].live:
                        heapq.heappop(heap)
                    now = time.monotonic()
                    if heap and heap[0][0] <= now:
                        timer = heapq.heappop(heap)[2]
                        timer.live = False
                        self._live -= 1
                        break
                    if self._live == 0:  # only cancelled entries left: forget them
                        heap.clear()
                        if idle_since is None:
                            idle_since = now
                        elif now - idle_since >= _LINGER:
                            self._thread = None
                            return
                        pause = _LINGER - (now - idle_since)
                    else:
                        idle_since = None
                        # A tick at least each second: cancellations do not wake us, and a
                        # far-off time (timeout=1e12) must not overflow time_t.
                        pause = min(heap[0][0] - now, _TICK)
                    self._wake_at = now + pause
                    self._cond.wait(pause)
                self._wake_at = 0.0
            with contextlib.suppress(Exception):  # an action only cuts a socket: never die
                timer.action()
            del timer


#: The process-wide watchdog (its thread starts on first use).
watchdog = Watchdog()


def _after_fork() -> None:
    """A forked child has no watchdog thread and must not inherit the parent's timers (or
    its lock, possibly held at fork time): start over, in place, as modules hold it."""
    watchdog.__init__()  # type: ignore[misc]


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
