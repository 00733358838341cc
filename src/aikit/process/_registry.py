"""Who receives callbacks: the ``Owner`` contract, owner resolution and worker creation.

The HTTP layer's one door into the process model: it resolves ``owner=`` here and talks to the
result only through ``Owner`` (docs/architecture/processes.md). Workers are created here, on
first use by name, and shut down here (tests return to a clean state with
``shutdown_workers``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, Protocol, runtime_checkable

from aikit.process._forms import Form
from aikit.process._process import Cancellable, Process, current
from aikit.process._table import by_number, lock, numbers, worker_threads, workers
from aikit.process._worker import Worker

__all__ = [
    "NO_PROCESS",
    "Cancellable",
    "NoProcessError",
    "Owner",
    "resolve_owner",
    "shutdown_workers",
    "worker",
]

NO_PROCESS = (
    "thread {thread!r} is not a process, so nothing could deliver callbacks to it. Either run "
    "this code in a worker (process.call_worker(name, fn)), attach a form on this thread "
    "(process.tk.attach / process.qt.attach / process.asyncio.attach), or pass owner= "
    "(a Process, a Form, a worker name or a process number)."
)


class NoProcessError(RuntimeError):
    """The current thread has no mailbox (a plain thread), so it cannot receive callbacks."""


@runtime_checkable
class Owner(Protocol):
    """A target of callbacks: a ``Process`` or a ``Form``; what ``resolve_owner`` returns."""

    def post(
        self, fn: Callable[..., object], /, *args: Any, key: Hashable | None = None, **kwargs: Any
    ) -> bool: ...

    def is_alive(self) -> bool: ...

    def owns_current_thread(self) -> bool: ...

    def track(self, request: Cancellable) -> bool: ...

    def untrack(self, request: Cancellable) -> None: ...

    @property
    def in_flight(self) -> int: ...

    def run_until(self, predicate: Callable[[], bool], timeout: float | None = None) -> bool: ...


def worker(name: str) -> Worker:
    """The live worker called ``name``, started on first use."""
    with lock:
        old = workers.get(name)
        if old is not None and old._alive:
            return old
        predecessor = old._thread if old is not None and old._thread.is_alive() else None
        new = Worker(name, next(numbers), predecessor)
        workers[name] = new
        by_number[new._number] = new
        worker_threads.add(new._thread)
        new._thread.start()
        return new


def resolve_owner(owner: object = None) -> Owner:
    """Who receives a request's callbacks.

    None: the calling thread's form if one is attached, else its process (``NoProcessError``
    on a plain thread). A Process or Form: itself. A str: that worker, created on first use.
    An int: that process (ValueError if none).
    """
    if owner is None:
        proc = current()
        if proc is None:
            raise NoProcessError(NO_PROCESS.format(thread=threading.current_thread().name))
        form = proc._form
        if form is not None and form.is_alive():
            return form
        return proc
    if isinstance(owner, Process):
        return owner
    if isinstance(owner, bool):
        raise TypeError(
            "owner must be a Process, a Form, a worker name or a process number, not bool"
        )
    if isinstance(owner, str):
        if not owner:
            raise ValueError("owner: a worker name must not be empty")
        return worker(str(owner))
    if isinstance(owner, int):
        found = by_number.get(owner)
        if found is None:
            raise ValueError(f"owner: there is no process number {owner}")
        return found
    if isinstance(owner, (Form, Owner)):  # Form first: the protocol check is the slow one
        return owner
    raise TypeError(
        "owner must be a Process, a Form, a worker name or a process number, "
        f"not {type(owner).__name__}"
    )


def shutdown_workers(timeout: float | None = 5.0) -> bool:
    """Kill every worker and join their threads (tests use it to return to a clean state).

    True if all threads ended within ``timeout``.
    """
    with lock:
        alive = list(workers.values())
        threads = list(worker_threads)
    for each in alive:
        each._kill()
    deadline = None if timeout is None else time.monotonic() + timeout
    me = threading.current_thread()
    for thread in threads:
        if thread is me:
            continue
        thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
    return not any(t.is_alive() for t in threads if t is not me)
