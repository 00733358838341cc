"""Who receives callbacks: the ``Owner`` contract, owner resolution and worker creation.

The HTTP layer's one door into the process model: it resolves ``owner=`` here and talks to the
result only through ``Owner`` (docs/architecture/processes.md). Workers are created here, on
first use by name, and shut down here (tests return to a clean state with
``shutdown_workers``).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, Protocol, runtime_checkable

from aikit.process._forms import Form
from aikit.process._process import MAIN, Cancellable, Process, current
from aikit.process._table import by_number, local, lock, numbers, worker_threads, workers
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


NO_FORM_ON_LOOP = (
    "thread {thread!r} runs an asyncio event loop but no form is attached, so the callbacks "
    "would wait for process.pump(), which the loop never calls. Call "
    "aikit.process.asyncio.attach() in the loop first (or pass owner=)."
)


def _asyncio_loop_running() -> bool:
    """Whether this thread is running an asyncio loop (asyncio is not imported for this)."""
    asyncio = sys.modules.get("asyncio")
    if asyncio is None:
        return False
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


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
        if proc is MAIN and _asyncio_loop_running():
            # The main process is served by pump(), which a running loop never calls: the
            # callbacks would wait forever. Say so instead of hanging.
            raise NoProcessError(NO_FORM_ON_LOOP.format(thread=threading.current_thread().name))
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


def _after_fork() -> None:
    """A forked child has only the thread that called ``fork()``: every other worker's thread
    is gone. Forget those workers (the next ``call_worker`` of their name starts a new one;
    a message posted to an old ``Process`` object is dropped, as for a killed worker) and
    every request the parent had in flight (it goes on there; the lifecycle ends its result
    in the child). Locks a parent thread may have held at fork time are re-made. Becoming the
    main thread of the child, a forking thread that was no process is process 1 there."""
    for each in (lock, MAIN._cond):
        _reinit(each)
    me = threading.current_thread()
    survivors: list[Process] = [MAIN]
    for proc in list(by_number.values()):
        if proc is MAIN:
            continue
        if proc._thread is me:
            _reinit(proc._cond)
            survivors.append(proc)
            continue
        proc._alive = False
        by_number.pop(proc._number, None)
        if isinstance(proc, Worker) and workers.get(proc._name) is proc:
            del workers[proc._name]
    for name, old in list(workers.items()):  # killed workers kept under their name
        if old._thread is not me:
            del workers[name]
    worker_threads.intersection_update({me})
    for proc in survivors:
        proc._requests.clear()
        form = proc._form
        if form is not None:
            form._requests.clear()
    if getattr(local, "process", None) is None:
        MAIN._thread = me  # the child's main thread (threading.main_thread() agrees)


def _reinit(taken: Any) -> None:
    """Free a lock that a thread of the parent held at fork time (in place: others hold it)."""
    reinit = getattr(taken, "_at_fork_reinit", None)
    if reinit is not None:
        reinit()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
