"""Sync vs callback execution: the bounded I/O pool and the per-request callback sequence.

In callback mode the HTTP work runs on a pool thread and every callback is posted to the owner
process, where this module guarantees: on_data* in wire order, then exactly one of
on_response/on_error, then on_terminate, then formula — and nothing after that.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._http.response import HTTPResponse
from ._http.transport import Abortable
from ._logging import logger
from .errors import OpenAIError
from .parameters import OpenAIParameters
from .results import OpenAIResult

if TYPE_CHECKING:
    from .process._core import Owner

__all__ = ["Call", "IOPool"]


class IOPool:
    """At most ``size`` daemon threads; jobs beyond that queue FIFO. Daemon threads never keep
    the interpreter alive (unlike ThreadPoolExecutor, which joins at exit)."""

    def __init__(self, size: int, name: str = "aikit-io") -> None:
        self.size = size
        self._name = name
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._idle = threading.Semaphore(0)
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, job: Callable[[], None]) -> None:
        if self._closed:
            raise RuntimeError("the client is closed")
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
            try:
                job()
            except BaseException:  # a bug in aikit must not kill the pool thread
                logger.exception("aikit I/O job failed")
            del job
            self._idle.release()

    def close(self, timeout: float = 5.0) -> None:
        """Stop the threads once their current job ends (jobs still queued are dropped)."""
        with self._lock:
            self._closed = True
            threads = list(self._threads)
            self._threads.clear()
        while True:  # drop queued jobs: their calls were cancelled by the client
            try:
                self._jobs.get_nowait()
            except queue.Empty:
                break
        for _ in threads:
            self._jobs.put(None)
        current = threading.current_thread()
        for thread in threads:
            if thread is not current:
                thread.join(timeout)

    @property
    def thread_count(self) -> int:
        return len(self._threads)


Execute = Callable[["Call"], "tuple[HTTPResponse | None, list[OpenAIError]]"]


class Call:
    """One request: its abort switch, its owner, and the state of its callback sequence.

    It is the result's ``RequestControl`` (wait/terminate) and the owner's tracked request
    (cancel). ``_finished`` is only touched on the owner's thread.
    """

    __slots__ = (
        "_delivered",
        "_dropped",
        "_finished",
        "_owner",
        "abort",
        "params",
        "result",
    )

    def __init__(
        self, params: OpenAIParameters, result: OpenAIResult, owner: Owner | None
    ) -> None:
        self.params = params
        self.result = result
        self.abort = Abortable()
        self._owner = owner
        self._finished = False
        self._dropped = False
        self._delivered = threading.Event()

    # -- state --------------------------------------------------------------------------
    @property
    def cancelled(self) -> bool:
        return self.abort.aborted

    # -- RequestControl -----------------------------------------------------------------
    def wait(self, timeout: float | None) -> bool:
        owner = self._owner
        if owner is not None and owner.owns_current_thread():
            return owner.run_until(self._delivered.is_set, timeout)
        return self._delivered.wait(timeout)

    def terminate(self) -> None:
        """Abort the I/O and post on_error(terminated) + on_terminate (once) to the owner."""
        if self._delivered.is_set() or self.abort.aborted:
            return
        self.abort.abort()
        error = OpenAIError("Request terminated by terminate().", kind="terminated")
        self.post_final(None, [error])

    # -- owner-side cancellation (kill_worker, form closed) -----------------------------
    def cancel(self) -> None:
        """Owner gone: stop the I/O, deliver nothing."""
        self._dropped = True
        self.abort.abort()
        self._delivered.set()
        self._release()

    # -- posting from the I/O thread ----------------------------------------------------
    def post(self, fn: Callable[..., None], *args: Any, key: object = None) -> bool:
        owner = self._owner
        assert owner is not None
        if self._dropped:
            return False
        if not owner.post(fn, *args, key=key):
            logger.debug("owner of a request is gone; cancelling it")
            self.cancel()
            return False
        return True

    def post_final(
        self, response: HTTPResponse | None, errors: list[OpenAIError], data: Any = None
    ) -> None:
        self.post(self._deliver_final, response, errors, data)

    # -- running on the owner's thread --------------------------------------------------
    def _deliver_final(
        self, response: HTTPResponse | None, errors: list[OpenAIError], data: Any = None
    ) -> None:
        if self._finished or self._dropped:
            return
        self._finished = True
        result = self.result
        result._complete(response, errors)
        if data is not None:  # a stream's accumulated body
            result._data = data  # type: ignore[attr-defined]
        result._mark_terminated()
        params = self.params
        try:
            if result.success:
                invoke(params.on_response, result)
            else:
                invoke(params.on_error, result)
            invoke(params.on_terminate, result)
            invoke(params.formula, result)
        finally:
            if self._owner is not None:
                self._owner.untrack(self)
            self._delivered.set()
            self._release()

    def _release(self) -> None:
        """Break result <-> call and drop the user's callbacks once delivered, so a closed
        window referenced by them is freed now, on its own thread — not later by the cycle
        collector on an I/O thread, where freeing Tk objects aborts the process."""
        self.result._control = None
        self.params = _SPENT

    def deliver_data(self, chunk: OpenAIResult) -> None:
        """Owner thread: one stream chunk to on_data then formula (4D passes chunks to both)."""
        if self._finished or self._dropped:
            return
        invoke(self.params.on_data, chunk)
        invoke(self.params.formula, chunk)


#: What a finished call keeps instead of the user's parameters: no callbacks at all.
_SPENT = OpenAIParameters()


def invoke(callback: Callable[[Any], Any] | None, arg: Any) -> None:
    """Run a user callback; an exception is logged and the sequence goes on (DESIGN §3)."""
    if callback is None:
        return
    try:
        callback(arg)
    except Exception:
        logger.exception("aikit callback %r raised", getattr(callback, "__name__", callback))
