"""One callback-mode call's state, and the one function that runs a final callback sequence.

Per call, on its owner's thread: ``on_data``* in wire order, then exactly one of
``on_response``/``on_error``, then ``on_terminate``, then ``formula`` — and nothing after that
(docs/architecture/guarantees.md). ``Call`` enforces "exactly once" on the owner's thread, so
the I/O thread, ``terminate()`` and ``client.close()`` may all race to post a final result.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from .._http.abort import Abortable, aborted_error
from .._logging import logger
from ..errors import ErrorKind, OpenAIError

if TYPE_CHECKING:
    from .._http.response import HTTPResponse
    from .._results_base import OpenAIResult
    from ..process._registry import Owner

__all__ = ["Call", "Callbacks", "deliver_final", "invoke"]


class Callbacks(Protocol):
    """What ``deliver_final`` reads: a parameters object, or a helper's own chain."""

    @property
    def on_response(self) -> Callable[[Any], Any] | None: ...

    @property
    def on_error(self) -> Callable[[Any], Any] | None: ...

    @property
    def on_terminate(self) -> Callable[[Any], Any] | None: ...

    @property
    def formula(self) -> Callable[[Any], Any] | None: ...


def invoke(callback: Callable[[Any], Any] | None, arg: Any) -> None:
    """Run a user callback; an exception is logged and the sequence goes on."""
    if callback is None:
        return
    try:
        callback(arg)
    except Exception:
        logger.exception("aikit callback %r raised", getattr(callback, "__name__", callback))


def deliver_final(callbacks: Callbacks, result: Any) -> None:
    """The end of every callback sequence: on_response or on_error, on_terminate, formula."""
    if result.success:
        invoke(callbacks.on_response, result)
    else:
        invoke(callbacks.on_error, result)
    invoke(callbacks.on_terminate, result)
    invoke(callbacks.formula, result)


class _Spent:
    """What a finished call keeps instead of the user's parameters: no callbacks at all."""

    on_response = on_error = on_terminate = formula = on_data = None


_SPENT = _Spent()


class Call:
    """One callback-mode request: its abort switch, its owner, its callback sequence.

    It is the result's control (``wait``/``terminate``) and the owner's tracked request
    (``cancel``). ``_finished`` is only touched on the owner's thread.
    """

    __slots__ = (
        "_delivered", "_dropped", "_finished", "_lock", "_owner", "abort", "params", "result",
    )

    def __init__(self, params: Any, result: OpenAIResult, owner: Owner) -> None:
        self.params = params
        self.result = result
        self.abort = Abortable()
        self._owner = owner
        self._finished = False  # a final result was claimed (delivered or cancelled)
        self._dropped = False
        self._lock = threading.Lock()
        self._delivered = threading.Event()

    @property
    def cancelled(self) -> bool:
        return self.abort.aborted

    # -- the result's control -----------------------------------------------------------
    def wait(self, timeout: float | None) -> bool:
        owner = self._owner
        if owner.owns_current_thread():
            return owner.run_until(self._delivered.is_set, timeout)
        return self._delivered.wait(timeout)

    def terminate(self, reason: ErrorKind = ErrorKind.TERMINATED) -> None:
        """Abort the I/O and post on_error + on_terminate (once) to the owner at once,
        whatever the I/O thread is doing (``deadline`` uses this with TIMEOUT)."""
        if self._delivered.is_set() or self.abort.aborted:
            return
        self.abort.abort(reason)
        self.post_final(None, [aborted_error(self.abort.reason)])

    # -- the owner's tracked request (kill_worker, form closed) ---------------------------
    def cancel(self) -> None:
        """Owner gone: stop the I/O, deliver nothing. The result still ends consistent:
        terminated, with a ``cancelled`` error (unless it was already delivered)."""
        with self._lock:
            self._dropped = True
            claimed = not self._finished
            self._finished = True
        self.abort.abort(ErrorKind.CANCELLED)
        if claimed:
            self.result._complete(None, [aborted_error(ErrorKind.CANCELLED)])
            self.result._mark_terminated()
        self._delivered.set()
        self._release()

    # -- posting from any thread --------------------------------------------------------
    def post(self, fn: Callable[..., None], *args: Any, key: object = None) -> bool:
        if self._dropped:
            return False
        try:
            posted = self._owner.post(fn, *args, key=key)
        except Exception:  # a broken form's wake-up must not lose the call silently
            logger.exception("aikit: could not post to the owner of a request")
            posted = False
        if not posted:
            logger.debug("owner of a request is gone; cancelling it")
            self.cancel()
        return posted

    def post_final(
        self, response: HTTPResponse | None, errors: list[OpenAIError], data: Any = None
    ) -> None:
        self.post(self._deliver_final, response, errors, data)

    # -- running on the owner's thread --------------------------------------------------
    def _deliver_final(
        self, response: HTTPResponse | None, errors: list[OpenAIError], data: Any = None
    ) -> None:
        with self._lock:
            if self._finished:
                return
            self._finished = True
        result = self.result
        result._complete(response, errors)
        if data is not None:  # a stream's accumulated body
            result._data = data  # type: ignore[attr-defined]
        result._mark_terminated()
        try:
            deliver_final(self.params, result)
        finally:
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
        params = self.params
        invoke(params.on_data, chunk)
        invoke(params.formula, chunk)
