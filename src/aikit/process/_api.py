"""The public functions of the process model, named after 4D's commands."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from aikit.process._process import Process, current
from aikit.process._registry import NO_PROCESS, NoProcessError, worker
from aikit.process._table import by_number, local, workers

__all__ = ["call_worker", "current_process", "kill_worker", "pump"]


def current_process() -> Process:
    """The process of the calling thread; a plain thread gets kind "thread" (number 0)."""
    proc = current()
    if proc is not None:
        return proc
    plain: Process | None = getattr(local, "plain", None)
    if plain is None:
        thread = threading.current_thread()
        plain = Process(thread.name, 0, "thread", thread, alive=False)
        local.plain = plain
    return plain


def call_worker(
    process: str | int | Process, fn: Callable[..., object], /, *args: Any, **kwargs: Any
) -> None:
    """Queue ``fn(*args, **kwargs)`` on a process and return at once (4D's CALL WORKER).

    ``process`` is a worker name (the worker is created on first use), a process number (a
    silent no-op if there is none; 1 is the main process, whose messages run when it pumps) or
    a ``Process``. Arguments are passed by reference, not copied: hand over objects you no
    longer mutate, or copy them yourself. A killed worker calling its own name does nothing.
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, not {type(fn).__name__}")
    if type(process) is str:
        target: Process | None = workers.get(process)
        if target is None or not target._alive:
            if not process:
                raise ValueError("process: a worker name must not be empty")
            me = getattr(local, "process", None)
            if me is not None and me._killed and me._name == process:
                return
            target = worker(process)
    elif isinstance(process, bool):
        raise TypeError("process must be a worker name, a process number or a Process, not bool")
    elif isinstance(process, int):
        target = by_number.get(process)
        if target is None:
            return
    elif isinstance(process, Process):
        target = process
    elif isinstance(process, str):  # a str subclass
        return call_worker(str(process), fn, *args, **kwargs)
    else:
        raise TypeError(
            "process must be a worker name, a process number or a Process, "
            f"not {type(process).__name__}"
        )
    target._put(fn, args, kwargs)


def kill_worker(process: str | int | Process | None = None) -> None:
    """Stop a worker (4D's KILL WORKER): pending messages are dropped, the running one finishes,
    its in-flight requests are cancelled. None means the current worker; unknown targets are
    ignored; on the main process (or a form thread) it only empties the mailbox.
    """
    target: Process | None
    if process is None:
        target = current()
    elif isinstance(process, bool):
        raise TypeError("process must be a worker name, a process number or a Process, not bool")
    elif isinstance(process, str):
        if not process:
            raise ValueError("process: a worker name must not be empty")
        target = workers.get(process)
    elif isinstance(process, int):
        target = by_number.get(process)
    elif isinstance(process, Process):
        target = process
    else:
        raise TypeError(
            "process must be a worker name, a process number, a Process or None, "
            f"not {type(process).__name__}"
        )
    if target is not None:
        target._kill()


def pump(timeout: float | None = None) -> bool:
    """Run the current process's messages until its queue is empty and it owns no in-flight
    request (or timeout). True if that idle state was reached. The main thread must call this
    (or ``result.wait()``) to receive its callbacks.
    """
    proc = current()
    if proc is None:
        raise NoProcessError(NO_PROCESS.format(thread=threading.current_thread().name))
    return proc.run_until(proc._idle, timeout)
