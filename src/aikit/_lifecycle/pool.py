"""The bounded I/O pool that runs callback-mode calls.

At most ``size`` daemon threads; jobs beyond that queue FIFO. Daemon threads never keep the
interpreter alive (unlike ThreadPoolExecutor, which joins at exit). A job is the lifecycle's
own function, which never raises (docs/architecture/lifecycle.md, "Always finish").
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable

__all__ = ["IOPool", "PoolClosed"]


class PoolClosed(RuntimeError):
    """The pool was closed before the job could be queued."""


class IOPool:
    def __init__(self, size: int, name: str = "aikit-io") -> None:
        self.size = size
        self._name = name
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._idle = threading.Semaphore(0)
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, job: Callable[[], None]) -> None:
        """Queue ``job``; raises PoolClosed after ``close()``."""
        if self._closed:
            raise PoolClosed("the client is closed")
        self._jobs.put(job)
        if self._idle.acquire(blocking=False):
            return
        with self._lock:
            if len(self._threads) < self.size:
                thread = threading.Thread(
                    target=self._run, name=f"{self._name}-{len(self._threads)}", daemon=True
                )
                self._threads.append(thread)
                thread.start()

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            job()
            del job
            self._idle.release()

    def close(self, timeout: float = 5.0) -> list[Callable[[], None]]:
        """Stop the threads once their current job ends; return the jobs still queued (the
        caller finishes their calls: nothing queued is ever sent after close)."""
        with self._lock:
            self._closed = True
            threads = list(self._threads)
            self._threads.clear()
        dropped: list[Callable[[], None]] = []
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                dropped.append(job)
        for _ in threads:
            self._jobs.put(None)
        current = threading.current_thread()
        end = time.monotonic() + timeout
        for thread in threads:
            if thread is not current:
                thread.join(max(0.0, end - time.monotonic()))
        return dropped

    @property
    def thread_count(self) -> int:
        return len(self._threads)
