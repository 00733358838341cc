"""The store interface of the rate limiter, and the default store (one process).

The limiter's algorithm lives in ``_limiter``; a store only keeps, per key, one small state
and runs a change over it atomically, with its own clock. That is all another store (a
database, a cache) has to provide: docs/architecture/limits.md ("Writing a store").
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Protocol, TypeVar

__all__ = ["Change", "InProcessStore", "State", "Store"]

#: One key's state: a tuple of floats whose layout belongs to the limiter. A store keeps it
#: as it is (floats round-tripped exactly, e.g. with ``repr``); it may read only ``state[0]``,
#: the store-clock time after which the state means nothing any more (it may then drop it).
State = tuple[float, ...]

T = TypeVar("T")

#: ``change(state, now) -> (new_state, result)``: ``state`` is the key's state or None (none
#: yet, or expired), ``now`` the store's clock in seconds. ``new_state`` is what to keep: the
#: very object given (``is``) means unchanged (a store may skip the write), None means forget
#: the key. A change is pure: it may run more than once (optimistic retries), only the run
#: whose result is returned counts.
Change = Callable[[State | None, float], tuple[State | None, T]]


class Store(Protocol):
    """Where rate-limit budgets live, shared by every client (thread, process, machine) that
    uses the same store.

    One method, ``update(key, change)``, which must be atomic per key: read the key's state
    (None when there is none, or when ``state[0] <= now``), call ``change(state, now)`` with
    the store's clock, keep what it returns, and return its result, with no other update of
    that key in between (a lock, a transaction, or optimistic concurrency that runs
    ``change`` again on a conflict). ``now`` is seconds on a clock that every user of the
    store shares and that never jumps back much (``time.monotonic()`` in one process,
    ``time.time()`` on one machine, the server's clock for a networked store); only
    differences of it matter. Stores never interpret a state beyond ``state[0]``.
    ``update`` may raise on a failure of the store itself (the call then fails as an
    internal error); it must never block for long without a timeout.
    """

    def update(self, key: str, change: Change[T]) -> T:
        """Run ``change`` over ``key``'s state atomically and return its result."""
        ...


class InProcessStore:
    """The default store: the budgets of one process, shared by its threads (a lock and a
    dict; ``time.monotonic()``). Give one instance to several clients to make them share
    their budgets; each client otherwise gets its own. Safe after ``fork()``: a child starts
    with no state.
    """

    __slots__ = ("_lock", "_pid", "_states", "_sweep_at")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid = os.getpid()
        #: Keys with a live state. Empty is the limiter's fast path (nothing to wait for).
        self._states: dict[str, State] = {}
        self._sweep_at = 0.0

    def update(self, key: str, change: Change[T]) -> T:
        if self._pid != os.getpid():
            self.reset_after_fork()
        with self._lock:
            now = time.monotonic()
            old = self._states.get(key)
            if old is not None and old[0] <= now:
                old = None
            new, result = change(old, now)
            if new is None:
                self._states.pop(key, None)
            elif new is not old:
                self._states[key] = new
            if now >= self._sweep_at and self._states:  # expired keys of other budgets
                self._sweep_at = now + 1.0
                self._states = {k: s for k, s in self._states.items() if s[0] > now}
        return result

    def reset_after_fork(self) -> None:
        """In a forked child: a new lock (the parent's may have been held) and no state."""
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._states = {}
        self._sweep_at = 0.0

    def __repr__(self) -> str:
        return f"InProcessStore({len(self._states)} live key(s))"


def encode(state: State) -> str:
    """A state as text (exact: ``repr`` of each float)."""
    return ",".join([repr(x) for x in state])


def decode(text: str | bytes) -> State | None:
    """The state ``encode`` wrote; None for anything else (a foreign or damaged value)."""
    if isinstance(text, bytes):
        text = text.decode("ascii", "replace")
    try:
        return tuple([float(x) for x in text.split(",")])
    except ValueError:
        return None
