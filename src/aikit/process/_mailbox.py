"""The mailbox under every process: message shapes, the locked FIFO and the owner's wake-up.

One lock per mailbox guards its queue, its keyed (coalescable) form messages and its attached
form; user code never runs under it (docs/architecture/processes.md). The owner thread is the
only one that ever waits, and it sleeps on a ``SimpleQueue`` token rather than a ``Condition``:
far cheaper per hop.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import deque
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aikit.process._forms import Form

__all__ = ["IDLE_WAIT", "WAKE", "Call", "Item", "Mailbox", "Msg"]

_log = logging.getLogger("aikit")


class Msg:
    """A form message: tagged with its form (dropped when the form closes) and maybe a key."""

    __slots__ = ("args", "fn", "form", "key", "kwargs")

    def __init__(
        self,
        fn: Callable[..., object],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        key: Hashable | None,
        form: Form,
    ) -> None:
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.key = key
        self.form = form


# Plain process messages are bare tuples: the cheapest thing to allocate on the hot path.
Call = tuple[Callable[..., object], tuple[Any, ...], dict[str, Any]]
Item = Call | Msg


def _nothing() -> None:
    return None


# Put on a worker's queue to wake its thread (kill, untrack, form closed); never run, never
# counted as a message.
WAKE: Call = (_nothing, (), {})

# A worker waits in ``get(True, IDLE_WAIT)`` and simply waits again on Empty: measured on Linux
# with CPython 3.11, a hop to a thread blocked in a timed get() took ~5 us against ~9-13 us for an
# untimed get() (the OS wake-up path differs). It costs one idle wake-up per hour.
IDLE_WAIT = 3600.0


class Mailbox:
    """A FIFO of messages with a lock, and the hand-off that wakes its sleeping owner.

    ``Process`` builds on it; ``Worker`` swaps the deque for a lock-free queue and overrides the
    producer side. ``_alive`` False means the mailbox refuses posts.
    """

    __slots__ = (
        "_alive",
        "_cond",
        "_form",
        "_items",
        "_keyed",
        "_seq",
        "_waiting",
        "_wake_pending",
        "_wakeq",
    )

    def __init__(self, *, alive: bool) -> None:
        self._alive = alive
        self._items: deque[Item] = deque()
        # A plain Lock guards the mailbox; the owner thread (the only one that ever waits)
        # sleeps on a SimpleQueue token: far cheaper per hop than Condition.wait/notify.
        self._cond = threading.Lock()
        self._wakeq: queue.SimpleQueue[Call | None] = queue.SimpleQueue()
        self._waiting = False  # the owner thread sleeps on _wakeq
        self._seq = 0  # bumped on every change a waiter may care about (lost-wakeup guard)
        self._keyed: dict[Hashable, Msg] = {}
        self._form: Form | None = None
        self._wake_pending = False  # a drain is scheduled on the attached form's loop

    def _put(
        self, fn: Callable[..., object], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> bool:
        cond = self._cond
        form: Form | None = None
        call = (fn, args, kwargs)
        handed: Call | None = None
        with cond:
            if self._alive:
                self._seq += 1
                if self._waiting and not self._items:
                    # The owner sleeps on an empty mailbox: hand the message straight to it.
                    self._waiting = False
                    handed = call
                else:
                    self._items.append(call)
                    form = self._form
                    if form is None or self._wake_pending:
                        form = None
                    else:
                        self._wake_pending = True
                queued = True
            else:
                queued = False
        if handed is not None:
            # Put after the lock is released, so the owner never wakes only to block on it.
            self._wakeq.put(handed)
            return True
        if not queued:
            self._dropped(1, "it is no longer alive")
            return False
        return True if form is None else (form._wake() or self._alive)

    def _put_form(
        self,
        form: Form,
        fn: Callable[..., object],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        key: Hashable | None,
    ) -> bool:
        cond = self._cond
        with cond:
            if self._form is not form or not self._alive:
                return False
            if key is not None:
                pending = self._keyed.get(key)
                if pending is not None:
                    # Coalesce in place: newest content, oldest queue position.
                    pending.fn, pending.args, pending.kwargs = fn, args, kwargs
                    return True
                msg = Msg(fn, args, kwargs, key, form)
                self._keyed[key] = msg
            else:
                msg = Msg(fn, args, kwargs, None, form)
            self._enqueue_form_locked(msg)
            if self._wake_pending:
                return True
            self._wake_pending = True
        return form._wake()

    def _enqueue_form_locked(self, msg: Msg) -> None:
        self._items.append(msg)
        self._seq += 1
        self._notify_locked()

    def _notify_locked(self) -> None:
        """Wake the owner thread if it sleeps (call with the lock held).

        Invariant: whoever flips ``_waiting`` from True to False, other than the owner itself,
        puts exactly one item on ``_wakeq`` (None, or a handed-over message).
        """
        if self._waiting:
            self._waiting = False
            self._wakeq.put(None)

    def _reclaim(self) -> Call | None:
        """After the owner's wait ended without an item: stop waiting, and take the one item a
        poster may already have committed to hand over (it is put right after its lock)."""
        with self._cond:
            if self._waiting:
                self._waiting = False
                return None
        item: Call | None = self._wakeq.get()
        return item

    def _pop_locked(self) -> Call:
        item = self._items.popleft()
        if type(item) is tuple:
            return item
        assert isinstance(item, Msg)
        return self._unkey_locked(item)

    def _unkey_locked(self, msg: Msg) -> Call:
        """A form message leaves the queue: from now on a new post with its key queues anew."""
        if msg.key is not None and self._keyed.get(msg.key) is msg:
            del self._keyed[msg.key]
        return (msg.fn, msg.args, msg.kwargs)

    def _pending(self) -> bool:
        """Messages are queued (a hint when read without the lock)."""
        return bool(self._items)

    def _dropped(self, count: int, why: str) -> None:
        if _log.isEnabledFor(logging.DEBUG):
            _log.debug("aikit: dropped %d message(s) for %r: %s", count, self, why)
