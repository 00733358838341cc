"""The shared base of GUI adapters: a form is its thread's process, delivered by a GUI loop.

While a form is attached, the thread's process reports kind "form" and the GUI loop (not
``pump()``) runs its whole mailbox in FIFO order. Messages posted to the form itself are tagged,
so closing the form drops them and cancels the requests it tracked, while plain process messages
(``call_worker(1, fn)``) survive for the next ``pump()``. On a thread that was not a process, the
form creates one that lives exactly as long as the form.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable
from typing import Any

from aikit.process._process import Cancellable, Process, current
from aikit.process._table import by_number, local, lock, numbers

__all__ = ["Form", "call_form"]

_log = logging.getLogger("aikit")


class Form:
    """A window (or event loop) that receives messages on its GUI thread (4D's CALL FORM target).

    Subclasses implement ``_wake`` (from any thread: make the GUI loop call ``_drain`` soon;
    False if the loop is gone) and ``_target_alive`` (cheap and thread-safe), and may override
    ``_on_close``. They must be created on the GUI thread.
    """

    _BATCH = 200  # messages per GUI tick, so a flood of messages cannot freeze the UI

    def __init__(self, *, coalesce_data: bool = False) -> None:
        self._coalesce = bool(coalesce_data)
        self._closed = False
        self._requests: set[Cancellable] = set()  # guarded by the process's lock
        self._process: Process = _attach(self)

    # -- identity ----------------------------------------------------------------------------

    @property
    def process(self) -> Process:
        """The process of the GUI thread (process 1 when attached on the main thread)."""
        return self._process

    @property
    def name(self) -> str:
        return self._process.name

    @property
    def number(self) -> int:
        return self._process.number

    @property
    def kind(self) -> str:
        return "form"

    @property
    def coalesce_data(self) -> bool:
        return self._coalesce

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<{type(self).__name__} on process {self._process.number} {state}>"

    # -- Owner protocol ----------------------------------------------------------------------

    def post(
        self, fn: Callable[..., object], /, *args: Any, key: Hashable | None = None, **kwargs: Any
    ) -> bool:
        """Queue ``fn(*args, **kwargs)`` for the GUI thread; False when the form is closed.

        With ``coalesce_data=True``, a non-None ``key`` replaces a still-pending message with
        the same key in place: the newest content keeps the older message's queue position.
        """
        if not callable(fn):
            raise TypeError(f"fn must be callable, not {type(fn).__name__}")
        return self._post(fn, args, kwargs, key)

    def _post(
        self,
        fn: Callable[..., object],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        key: Hashable | None,
    ) -> bool:
        if not self._closed and self._process._put_form(
            self, fn, args, kwargs, key if self._coalesce else None
        ):
            return True
        if _log.isEnabledFor(logging.DEBUG):
            _log.debug("aikit: dropped a message for %r: the form is closed", self)
        return False

    def is_alive(self) -> bool:
        if self._closed:
            return False
        if self._target_alive():
            return True
        self.close()
        return False

    def owns_current_thread(self) -> bool:
        return self._process.owns_current_thread()

    def track(self, request: Cancellable) -> bool:
        """Register a request to cancel when the form closes; False if it is closed already."""
        return not self._closed and self._process._track(request, self)

    def untrack(self, request: Cancellable) -> None:
        self._process._untrack(request, self)

    @property
    def in_flight(self) -> int:
        return len(self._requests)

    def run_until(self, predicate: Callable[[], bool], timeout: float | None = None) -> bool:
        """Drain this thread's mailbox directly (outside the GUI loop) until ``predicate()``."""
        if not self._process.owns_current_thread():
            raise RuntimeError(f"run_until() must be called on the GUI thread of {self!r}")
        return self._process.run_until(predicate, timeout)

    def close(self) -> None:
        """Detach: pending form messages are dropped, tracked requests cancelled. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._process._detach(self)
        self._on_close()

    # -- adapter hooks -----------------------------------------------------------------------

    def _wake(self) -> bool:
        return not self._closed

    def _target_alive(self) -> bool:
        return True

    def _on_close(self) -> None:
        return None

    def _drain(self) -> bool:
        """Run one batch of messages on the GUI thread; True if more are waiting."""
        return self._process._drain(self, self._BATCH)


def _attach(form: Form) -> Process:
    """Make the current thread's process deliver its messages through ``form``'s GUI loop."""
    proc = current()
    if proc is not None and not proc._alive:
        proc = None  # a killed worker finishing its last message: give the thread a fresh process
    if proc is not None:
        existing = proc._form
        if existing is not None and existing is not form and existing.is_alive():
            raise RuntimeError(
                f"a form is already attached on thread {proc._thread.name!r}; close() it first"
            )
    else:
        thread = threading.current_thread()
        proc = Process(thread.name, next(numbers), "form", thread, ephemeral=True)
        with lock:
            by_number[proc._number] = proc
        local.process = proc
    proc._attach(form)
    return proc


def _attached_form(cls: type[Form]) -> Form | None:
    """The live form of class ``cls`` attached on the calling thread, if any."""
    proc = current()
    form = None if proc is None else proc._form
    if isinstance(form, cls) and form.is_alive():
        return form
    return None


def call_form(form: Form, fn: Callable[..., object], /, *args: Any, **kwargs: Any) -> bool:
    """Queue ``fn(*args, **kwargs)`` on a form's GUI thread (4D's CALL FORM).

    Returns False (and logs at DEBUG) when the form is closed. Arguments are passed by reference.
    """
    if not isinstance(form, Form):
        raise TypeError(
            f"form must be a Form (from process.tk/qt/asyncio.attach), not {type(form).__name__}"
        )
    if not callable(fn):
        raise TypeError(f"fn must be callable, not {type(fn).__name__}")
    return form._post(fn, args, kwargs, None)
