"""Work at scale: a result as a ``concurrent.futures.Future``, awaiting a result, and the
exclusive groups of a client (docs/architecture/lifecycle.md, "Futures, await and exclusive
groups").

- ``result_future``: a Future resolved with the result itself once the call is final (on the
  owner's thread right after ``on_terminate``); done at once for a finished or sync result.
  Never resolved with an exception: API and transport errors are in ``result.errors``. A call
  cancelled because its owner went away resolves it with the cancelled result.
- ``await_result``: the same, for a coroutine running on the loop of the asyncio form that owns
  the call; its asyncio future is resolved on that form's thread, which is the loop's.
- ``Groups``: per client, the callback calls in flight of each (owner, group); a new call with
  ``exclusive=True`` supersedes the older ones of its owner and group.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from concurrent.futures import Future, InvalidStateError
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import ErrorKind, OpenAIError

if TYPE_CHECKING:
    import asyncio

    from .calls import Call

__all__ = ["Groups", "await_result", "result_future", "superseded_error"]

T = TypeVar("T")


def result_future(result: T) -> Future[T]:
    """A Future of ``result`` (an ``OpenAIResult``): done once its call has delivered
    ``on_terminate`` (its done-callbacks then run on the owner's thread), or at once."""
    future: Future[T] = Future()

    def settle(value: Any) -> None:
        with contextlib.suppress(InvalidStateError):  # cancelled by the caller: nobody waits
            future.set_result(value)

    control = getattr(result, "_control", None)
    if control is None or not control.on_resolved(settle):
        settle(result)
    return future


async def await_result(result: T) -> T:
    """``await result``: at once when it is final; else once its call has delivered
    ``on_terminate``, which needs this loop's asyncio form to own the call."""
    import asyncio

    control = getattr(result, "_control", None)
    if control is None:
        return result
    loop = asyncio.get_running_loop()
    if not _delivered_by(control.owner, loop):
        raise RuntimeError(
            "await on a pending aikit result: its callbacks are delivered by "
            f"{control.owner!r}, not by this event loop's asyncio form. Await it on the loop "
            "that made the call after process.asyncio.attach(), or use result.future() or "
            "result.wait() elsewhere."
        )
    waiter: asyncio.Future[None] = loop.create_future()
    if not control.on_resolved(functools.partial(_wake, loop, waiter)):
        return result
    await waiter  # cancelling the awaiting task leaves the call running (terminate() ends it)
    return result


def _delivered_by(owner: Any, loop: asyncio.AbstractEventLoop) -> bool:
    """True when ``owner``'s callbacks run on ``loop``: the calling thread's live asyncio form
    (attached on this loop) is the owner, or its process is."""
    from ..process._registry import NoProcessError, resolve_owner
    from ..process.asyncio import AsyncioForm

    try:
        here = resolve_owner()
    except NoProcessError:
        return False
    return (
        isinstance(here, AsyncioForm)
        and here.loop is loop
        and (owner is here or owner is here.process)
    )


def _wake(loop: asyncio.AbstractEventLoop, waiter: asyncio.Future[None], _result: Any) -> None:
    """Resolve ``waiter``: directly on the loop's thread (the owner's, after on_terminate),
    through ``call_soon_threadsafe`` from another (a call cancelled from elsewhere)."""
    import asyncio

    try:
        running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        _set(waiter)
        return
    with contextlib.suppress(RuntimeError):  # the loop is closed: nobody awaits any more
        loop.call_soon_threadsafe(_set, waiter)


def _set(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():  # done: the awaiting task was cancelled
        waiter.set_result(None)


class Groups:
    """The callback calls in flight of one client, per (owner, group name).

    A call stays in its group until it lets go of its callbacks (delivered or cancelled).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # Keyed by the owner's id: its calls hold the owner, so the id is not reused while a
        # key exists (a key goes away with its last call).
        self._members: dict[tuple[int, str], list[Call]] = {}

    def join(self, call: Call, name: str, exclusive: bool) -> list[Call]:
        """Add ``call`` to its owner's group ``name``; with ``exclusive``, return the older
        calls of that group still in flight (they leave it), for the caller to supersede."""
        key = (id(call.owner), name)
        call._on_release = functools.partial(self._leave, key)
        with self._lock:
            members = self._members.get(key)
            if members is None:
                members = self._members[key] = []
            if exclusive:
                older = [c for c in members if not c.finished]
                members.clear()
            else:
                older = []
                members[:] = [c for c in members if not c.finished]
            if not call.finished:
                members.append(call)
            if not members:
                del self._members[key]
        return older

    def _leave(self, key: tuple[int, str], call: Call) -> None:
        with self._lock:
            members = self._members.get(key)
            if members is None:
                return
            try:
                members.remove(call)
            except ValueError:  # superseded: it left when the newer call joined
                return
            if not members:
                del self._members[key]

    def reset_after_fork(self) -> None:
        """In a forked child: a new lock (a parent thread may have held it), no member (the
        parent's calls are not the child's)."""
        self._lock = threading.Lock()
        self._members = {}

    def __len__(self) -> int:
        """Calls tracked in all groups (tests check nothing stays behind)."""
        with self._lock:
            return sum(len(members) for members in self._members.values())


def superseded_error(name: str) -> OpenAIError:
    """The error of a call ended by a newer exclusive call of its group."""
    return OpenAIError(
        f"Superseded by a newer call of group {name!r} (exclusive=True).",
        kind=ErrorKind.TERMINATED,
    )
