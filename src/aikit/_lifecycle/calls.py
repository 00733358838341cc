"""One callback-mode call's state, and the one function that runs a final callback sequence.

Per call, on its owner's thread: ``on_data``* in wire order, then exactly one of
``on_response``/``on_error``, then ``on_terminate``, then ``formula`` — and nothing after that
(docs/architecture/guarantees.md). ``Call`` enforces "exactly once" on the owner's thread, so
the I/O thread, ``terminate()``, ``client.close()`` and a newer ``exclusive`` call may all race
to post a final result. ``on_retry`` runs before the final sequence; the result's futures and
awaiting coroutines are resolved right after it (``futures.py``).
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
    from ..errors import RetryInfo
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

    on_response = on_error = on_terminate = formula = on_data = on_retry = None


_SPENT = _Spent()

#: ``Call._waiters`` once the call is resolved: nothing more is ever added.
_RESOLVED: tuple[()] = ()


class Call:
    """One callback-mode request: its abort switch, its owner, its callback sequence.

    It is the result's control (``wait``/``terminate``/``on_resolved``) and the owner's
    tracked request (``cancel``). ``_finished`` is claimed under ``_lock``, on the owner's thread
    (or by ``cancel``).
    """

    __slots__ = (
        "_delivered", "_dropped", "_final_posted", "_finished", "_lock", "_on_release", "_owner",
        "_superseded", "_waiters", "abort", "params", "result",
    )

    def __init__(self, params: Any, result: OpenAIResult, owner: Owner) -> None:
        self.params = params
        self.result = result
        self.abort = Abortable()
        self._owner = owner
        self._finished = False  # a final result was claimed (delivered or cancelled)
        self._final_posted = False  # one final message is queued: a second would be a no-op
        self._dropped = False
        self._lock = threading.Lock()
        self._delivered = threading.Event()
        #: The error that ends the call whatever its answer: a newer exclusive call came.
        self._superseded: OpenAIError | None = None
        #: Run with the result once it is final (futures, awaiting coroutines).
        self._waiters: list[Callable[[Any], object]] | tuple[()] | None = None
        #: Run once when the call lets go of its callbacks (it leaves its group).
        self._on_release: Callable[[Call], object] | None = None

    @property
    def cancelled(self) -> bool:
        return self.abort.aborted

    @property
    def owner(self) -> Owner:
        return self._owner

    @property
    def finished(self) -> bool:
        """A final result was claimed: delivered, cancelled, or being delivered now."""
        return self._finished

    # -- the result's control -----------------------------------------------------------
    def wait(self, timeout: float | None) -> bool:
        owner = self._owner
        if owner.owns_current_thread():
            return owner.run_until(self._delivered.is_set, timeout)
        return self._delivered.wait(timeout)

    def terminate(self, reason: ErrorKind = ErrorKind.TERMINATED) -> None:
        """Abort the I/O and post on_error + on_terminate (once) to the owner at once,
        whatever the I/O thread is doing (``deadline`` uses this with TIMEOUT)."""
        if self._delivered.is_set():
            return
        self.abort.abort(reason)  # the first reason wins
        # Posted unless a final is queued already: whoever aborted the call first, it ends.
        self.post_final(None, [aborted_error(self.abort.reason)])

    def supersede(self, error: OpenAIError) -> None:
        """A newer ``exclusive`` call of the same group came: end with ``error`` (on_error +
        on_terminate), whatever answer is already queued for the owner, and send nothing more.
        A no-op once the call has finished."""
        with self._lock:
            if self._finished or self._superseded is not None:
                return
            self._superseded = error
        self.abort.abort(ErrorKind.TERMINATED)
        self.post_final(None, [error])

    def on_resolved(self, fn: Callable[[Any], object]) -> bool:
        """Run ``fn(result)`` once the call is final: on the owner's thread right after
        on_terminate (or on the thread that cancels it). False, and ``fn`` is not kept, when
        that has happened already."""
        with self._lock:
            waiters = self._waiters
            if waiters is _RESOLVED:
                return False
            if waiters is None:
                self._waiters = [fn]
            else:
                assert isinstance(waiters, list)
                waiters.append(fn)
            return True

    def _resolve(self) -> None:
        with self._lock:
            waiters, self._waiters = self._waiters, _RESOLVED
        for fn in waiters or ():
            try:
                fn(self.result)
            except Exception:
                logger.exception("aikit: resolving the future of a request raised")

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
        self._resolve()  # futures get the cancelled result: they never hang
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
        """Queue the end of the call, once: after ``terminate()`` the I/O thread's own final
        would only sit in the owner's mailbox (and count as undelivered at exit). The first
        one queued is delivered; a supersede replaces its content on delivery."""
        with self._lock:
            if self._final_posted:
                return
            self._final_posted = True
        self.post(self._deliver_final, response, errors, data)

    # -- running on the owner's thread --------------------------------------------------
    def _deliver_final(
        self, response: HTTPResponse | None, errors: list[OpenAIError], data: Any = None
    ) -> None:
        with self._lock:
            if self._finished:
                return
            self._finished = True
            superseded = self._superseded
        if superseded is not None:  # whatever was queued before, the call was superseded
            response, errors, data = None, [superseded], None
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
            self._resolve()
            self._release()

    def _release(self) -> None:
        """Break result <-> call and drop the user's callbacks once delivered, so a closed
        window referenced by them is freed now, on its own thread — not later by the cycle
        collector on an I/O thread, where freeing Tk objects aborts the process."""
        self.result._control = None
        self.params = _SPENT
        hook, self._on_release = self._on_release, None
        if hook is not None:
            hook(self)

    def deliver_data(self, chunk: OpenAIResult) -> None:
        """Owner thread: one stream chunk to on_data then formula (4D passes chunks to both)."""
        if self._finished or self._dropped or self._superseded is not None:
            return
        params = self.params
        invoke(params.on_data, chunk)
        invoke(params.formula, chunk)

    def deliver_retry(self, info: RetryInfo) -> None:
        """Owner thread: ``on_retry``; skipped once the call is terminated, superseded or
        finished (its retry will not happen, or the final sequence has started)."""
        if self._finished or self._dropped or self.abort.aborted:
            return
        invoke(self.params.on_retry, info)
