"""The process table: process numbers, worker names, and which process each thread is.

Plain state with no behaviour of its own, kept below ``Process`` and ``Worker`` so they can
leave the table (kill, form closed, thread end) without importing the code that creates them.
``lock`` guards the three tables and is never held while user code runs
(docs/architecture/processes.md). The objects here are never rebound: importing them by name
is safe.
"""

from __future__ import annotations

import itertools
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aikit.process._process import Process
    from aikit.process._worker import Worker

__all__ = ["by_number", "local", "lock", "numbers", "unregister", "worker_threads", "workers"]

lock = threading.Lock()
# A killed worker stays under its name until replaced: its successor joins its thread first.
workers: dict[str, Worker] = {}
by_number: dict[int, Process] = {}
worker_threads: set[threading.Thread] = set()
numbers = itertools.count(2)  # 1 is the main process; 0 marks a plain thread
# ``local.process``: the thread's process (a worker or a form thread; main is found by thread).
# ``local.plain``: the stand-in Process that current_process() returns on a plain thread.
local = threading.local()


def unregister(proc: Process, *, keep_name: bool = False) -> None:
    """Forget ``proc``'s number (and, unless ``keep_name``, its worker name)."""
    with lock:
        if by_number.get(proc.number) is proc:
            del by_number[proc.number]
        if not keep_name and workers.get(proc.name) is proc:
            del workers[proc.name]
