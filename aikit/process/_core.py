"""Processes: a thread plus a FIFO mailbox, the Python shape of 4D's workers and main process.

The mailbox, the registry and owner resolution live together because they share one lock
discipline: a process's lock guards its queue, its tracked requests and its attached form;
``_registry_lock`` guards the name/number tables. User code (messages, ``cancel()``, form hooks)
never runs under either lock. A worker's queue is the exception: a lock-free ``SimpleQueue``
(see ``Worker``), so only its requests and form sit under its lock.
"""

from __future__ import annotations

import atexit
import itertools
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from aikit.process._forms import Form

__all__ = [
    "Cancellable",
    "NoProcessError",
    "Owner",
    "Process",
    "Signal",
    "call_worker",
    "current_process",
    "kill_worker",
    "pump",
    "resolve_owner",
    "shutdown_workers",
]

_log = logging.getLogger("aikit")

_NO_PROCESS = (
    "thread {thread!r} is not a process, so nothing could deliver callbacks to it. Either run "
    "this code in a worker (process.call_worker(name, fn)), attach a form on this thread "
    "(process.tk.attach / process.qt.attach / process.asyncio.attach), or pass owner= "
    "(a Process, a Form, a worker name or a process number)."
)


class NoProcessError(RuntimeError):
    """The current thread has no mailbox (a plain thread), so it cannot receive callbacks."""


class Cancellable(Protocol):
    """What ``track`` accepts: an in-flight request that the owner can abort."""

    def cancel(self) -> object: ...


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


class _Msg:
    """A form message: tagged with its form (dropped when the form closes) and maybe a key."""

    __slots__ = ("args", "fn", "form", "key", "kwargs")

    def __init__(
        self,
        fn: Callable[..., object],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        key: Hashable | None,
        form: Form,
    ) -> None:
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.key = key
        self.form = form


# Plain process messages are bare tuples: the cheapest thing to allocate on the hot path.
_Call = tuple[Callable[..., object], tuple[Any, ...], dict[str, Any]]
_Item = _Call | _Msg


def _nothing() -> None:
    return None


# Put on a worker's queue to wake its thread (kill, untrack, form closed); never run, never
# counted as a message.
_WAKE: _Call = (_nothing, (), {})

# A worker waits in ``get(True, _IDLE_WAIT)`` and simply waits again on Empty: measured on Linux
# with CPython 3.11, a hop to a thread blocked in a timed get() took ~5 us against ~9-13 us for an
# untimed get() (the OS wake-up path differs). It costs one idle wake-up per hour.
_IDLE_WAIT = 3600.0


def _describe(fn: object) -> str:
    return str(getattr(fn, "__qualname__", None) or repr(fn))


def _cancel_all(requests: list[Cancellable], why: str) -> None:
    for request in requests:
        try:
            request.cancel()
        except Exception:
            _log.exception("aikit: cancelling %r (%s) raised", request, why)


class Process:
    """A thread with a FIFO mailbox (4D's process). Messages run one at a time on that thread.

    Process 1 ("main") is the interpreter's main thread: its messages run only inside ``pump()``
    or ``run_until()``, or from a GUI loop when a form is attached on it. Workers are processes
    with their own daemon thread looping over the mailbox.
    """

    __slots__ = (
        "__weakref__",
        "_alive",
        "_cond",
        "_ephemeral",
        "_form",
        "_items",
        "_keyed",
        "_killed",
        "_kind",
        "_name",
        "_number",
        "_requests",
        "_seq",
        "_thread",
        "_waiting",
        "_wake_pending",
        "_wakeq",
    )

    def __init__(
        self,
        name: str,
        number: int,
        kind: str,
        thread: threading.Thread,
        *,
        alive: bool = True,
        ephemeral: bool = False,
    ) -> None:
        self._name = name
        self._number = number
        self._kind = kind
        self._thread = thread
        self._alive = alive
        self._ephemeral = ephemeral  # a plain thread that is a process only while a form is on it
        self._killed = False
        self._items: deque[_Item] = deque()
        # A plain Lock guards the mailbox; the owner thread (the only one that ever waits)
        # sleeps on a SimpleQueue token: far cheaper per hop than Condition.wait/notify.
        self._cond = threading.Lock()
        self._wakeq: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self._waiting = False  # the owner thread sleeps on _wakeq
        self._seq = 0  # bumped on every change a waiter may care about (lost-wakeup guard)
        self._requests: set[Cancellable] = set()
        self._keyed: dict[Hashable, _Msg] = {}
        self._form: Form | None = None
        self._wake_pending = False  # a drain is scheduled on the attached form's loop

    # -- identity ----------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._name

    @property
    def number(self) -> int:
        """1 for main, >= 2 for workers and form threads, 0 for a plain thread (no mailbox)."""
        return self._number

    @property
    def kind(self) -> str:
        """One of "main", "worker", "form" (a live form is attached on its thread), "thread"."""
        form = self._form
        if form is not None and form.is_alive():
            return "form"
        if self._ephemeral and not self._alive:
            return "thread"  # its form closed: the thread is a plain thread again
        return self._kind

    def __repr__(self) -> str:
        return f"<Process {self._number} {self._name!r} {self.kind}>"

    # -- Owner protocol ----------------------------------------------------------------------

    def post(
        self, fn: Callable[..., object], /, *args: Any, key: Hashable | None = None, **kwargs: Any
    ) -> bool:
        """Queue ``fn(*args, **kwargs)``; thread-safe. False when the process is gone.

        ``key`` exists for ``Owner`` compatibility and is ignored: processes never coalesce.
        """
        if not callable(fn):
            raise TypeError(f"fn must be callable, not {type(fn).__name__}")
        return self._put(fn, args, kwargs)

    def is_alive(self) -> bool:
        return self._alive

    def owns_current_thread(self) -> bool:
        return threading.current_thread() is self._thread

    def track(self, request: Cancellable) -> bool:
        """Register an in-flight request to cancel if this process dies; False if it is gone."""
        return self._track(request, None)

    def untrack(self, request: Cancellable) -> None:
        self._untrack(request, None)

    @property
    def in_flight(self) -> int:
        return len(self._requests)

    def run_until(self, predicate: Callable[[], bool], timeout: float | None = None) -> bool:
        """Run queued messages one at a time until ``predicate()`` or timeout; own thread only.

        This is the re-entry point behind ``pump()`` and ``result.wait()``: other messages run
        while waiting, and a post (or an ``untrack``) wakes it at once, without polling.
        """
        self._check_owner()
        deadline = None if timeout is None else time.monotonic() + timeout
        cond = self._cond
        items = self._items
        while True:
            seq = self._seq  # read before the predicate: a change after it skips the sleep
            if predicate():
                return True
            call: _Call | None = None
            sleep = False
            remaining: float | None = None
            with cond:
                if items:
                    call = self._pop_locked()
                elif not self._alive and not self._requests:
                    break
                elif seq == self._seq:
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        break
                    self._waiting = sleep = True
            if sleep:
                try:
                    call = self._wakeq.get(timeout=remaining)
                except queue.Empty:
                    call = self._reclaim()
                except BaseException:  # e.g. KeyboardInterrupt while the main thread waits
                    pending = self._reclaim()
                    if pending is not None:
                        with cond:
                            items.appendleft(pending)
                    raise
            if call is not None:
                self._run(call)
            if deadline is not None and time.monotonic() >= deadline:
                break
        return predicate()

    # -- internals ---------------------------------------------------------------------------

    def _check_owner(self) -> None:
        if threading.current_thread() is not self._thread:
            raise RuntimeError(
                f"run_until() must be called on the thread of process {self._name!r}, "
                f"not from {threading.current_thread().name!r}"
            )

    def _put(
        self, fn: Callable[..., object], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> bool:
        cond = self._cond
        form: Form | None = None
        call = (fn, args, kwargs)
        handed: _Call | None = None
        with cond:
            if self._alive:
                self._seq += 1
                if self._waiting and not self._items:
                    # The owner sleeps on an empty mailbox: hand the message straight to it.
                    self._waiting = False
                    handed = call
                else:
                    self._items.append(call)
                    form = self._form
                    if form is None or self._wake_pending:
                        form = None
                    else:
                        self._wake_pending = True
                queued = True
            else:
                queued = False
        if handed is not None:
            # Put after the lock is released, so the owner never wakes only to block on it.
            self._wakeq.put(handed)
            return True
        if not queued:
            self._dropped(1, "it is no longer alive")
            return False
        return True if form is None else (form._wake() or self._alive)

    def _put_form(
        self,
        form: Form,
        fn: Callable[..., object],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        key: Hashable | None,
    ) -> bool:
        cond = self._cond
        with cond:
            if self._form is not form or not self._alive:
                return False
            if key is not None:
                pending = self._keyed.get(key)
                if pending is not None:
                    # Coalesce in place: newest content, oldest queue position.
                    pending.fn, pending.args, pending.kwargs = fn, args, kwargs
                    return True
                msg = _Msg(fn, args, kwargs, key, form)
                self._keyed[key] = msg
            else:
                msg = _Msg(fn, args, kwargs, None, form)
            self._enqueue_form_locked(msg)
            if self._wake_pending:
                return True
            self._wake_pending = True
        return form._wake()

    def _enqueue_form_locked(self, msg: _Msg) -> None:
        self._items.append(msg)
        self._seq += 1
        self._notify_locked()

    def _notify_locked(self) -> None:
        """Wake the owner thread if it sleeps (call with the lock held).

        Invariant: whoever flips ``_waiting`` from True to False, other than the owner itself,
        puts exactly one item on ``_wakeq`` (None, or a handed-over message).
        """
        if self._waiting:
            self._waiting = False
            self._wakeq.put(None)

    def _reclaim(self) -> _Call | None:
        """After the owner's wait ended without an item: stop waiting, and take the one item a
        poster may already have committed to hand over (it is put right after its lock)."""
        with self._cond:
            if self._waiting:
                self._waiting = False
                return None
        item: _Call | None = self._wakeq.get()
        return item

    def _pop_locked(self) -> _Call:
        item = self._items.popleft()
        if type(item) is tuple:
            return item
        assert isinstance(item, _Msg)
        return self._unkey_locked(item)

    def _unkey_locked(self, msg: _Msg) -> _Call:
        """A form message leaves the queue: from now on a new post with its key queues anew."""
        if msg.key is not None and self._keyed.get(msg.key) is msg:
            del self._keyed[msg.key]
        return (msg.fn, msg.args, msg.kwargs)

    def _pending(self) -> bool:
        """Messages are queued (a hint when read without the lock)."""
        return bool(self._items)

    def _run(self, call: _Call) -> None:
        fn, args, kwargs = call
        try:
            fn(*args, **kwargs)
        except Exception:
            _log.exception("aikit: message %s in process %r raised", _describe(fn), self._name)

    def _drain(self, form: Form, limit: int) -> bool:
        """Run up to ``limit`` messages for ``form``'s GUI loop; True if more are waiting."""
        cond = self._cond
        items = self._items
        for _ in range(limit):
            with cond:
                if self._form is not form:
                    return False
                if not items:
                    self._wake_pending = False
                    return False
                call = self._pop_locked()
            self._run(call)
        with cond:
            if self._form is form and items:
                return True
            if self._form is form:
                self._wake_pending = False
            return False

    def _idle(self) -> bool:
        form = self._form
        return not self._pending() and not self._requests and (form is None or not form._requests)

    def _track(self, request: Cancellable, form: Form | None) -> bool:
        with self._cond:
            if not self._alive:
                return False
            if form is None:
                self._requests.add(request)
                return True
            if self._form is not form:
                return False
            form._requests.add(request)
            return True

    def _untrack(self, request: Cancellable, form: Form | None) -> None:
        cond = self._cond
        with cond:
            (self._requests if form is None else form._requests).discard(request)
            self._seq += 1
            self._notify_locked()

    def _kill(self) -> None:
        """kill_worker on a non-worker (main, form thread) only empties its mailbox, as in 4D."""
        with self._cond:
            dropped = len(self._items)
            self._items.clear()
            self._keyed.clear()
            self._seq += 1
        if dropped:
            self._dropped(dropped, "kill_worker emptied its mailbox")

    def _attach(self, form: Form) -> None:
        with self._cond:
            self._form = form
            self._wake_pending = kick = self._pending()
        if kick:
            form._wake()

    def _detach(self, form: Form) -> None:
        """Form closed: drop its messages and cancel its requests (all of them on a form thread)."""
        cond = self._cond
        with cond:
            if self._form is not form:
                return
            self._form = None
            self._wake_pending = False
            requests = list(form._requests)
            form._requests.clear()
            before = len(self._items)
            if self._ephemeral:
                self._alive = False
                self._items.clear()
                requests.extend(self._requests)
                self._requests.clear()
            else:
                kept = [item for item in self._items if type(item) is tuple]
                self._items.clear()
                self._items.extend(kept)
            self._keyed.clear()
            dropped = before - len(self._items)
            self._seq += 1
            self._notify_locked()
        if self._ephemeral:
            _unregister(self)
            if self.owns_current_thread():
                _local.process = None
        if dropped:
            self._dropped(dropped, "its form closed")
        _cancel_all(requests, "form closed")

    def _dropped(self, count: int, why: str) -> None:
        if _log.isEnabledFor(logging.DEBUG):
            _log.debug("aikit: dropped %d message(s) for %r: %s", count, self, why)


class Worker(Process):
    """A named process with its own daemon thread, created by ``call_worker`` on first use.

    Its mailbox is a ``queue.SimpleQueue`` instead of the locked deque: posting is one ``put``
    and the thread sleeps in ``get``, which is what makes a worker-to-worker hop cheap (designs
    where the waiting thread takes a lock around the queue measured about twice as slow per hop).
    Only the worker's own thread takes messages off it (``_loop``, ``run_until``, or the
    ``_drain`` of a form attached on that thread), so FIFO holds; ``_kill`` empties it from any
    thread, but those messages are dropped anyway. Form messages go on the same queue as
    ``_Msg``: coalescing updates them in place under the lock, and one whose form closed is
    dropped when it comes out.
    """

    __slots__ = ("_predecessor", "_q", "_waiters")

    def __init__(self, name: str, number: int, predecessor: threading.Thread | None) -> None:
        thread = threading.Thread(target=self._main, name=f"aikit-worker-{name}", daemon=True)
        super().__init__(name, number, "worker", thread)
        self._predecessor = predecessor
        self._q: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._waiters = 0  # run_until() depth on the worker's thread: it wants untrack wake-ups

    def _main(self) -> None:
        _local.process = self
        try:
            predecessor, self._predecessor = self._predecessor, None
            if predecessor is not None:
                predecessor.join()  # 4D: never two threads for one worker name
            self._loop()
        finally:
            self._finish()

    def _loop(self) -> None:
        get = self._q.get
        while self._alive:  # _kill puts _WAKE, so a sleeping loop sees it at once
            try:
                item = get(True, _IDLE_WAIT)
            except queue.Empty:
                continue
            if type(item) is tuple and item is not _WAKE and self._alive:
                self._run(item)  # the hot path: a plain message
            else:
                self._take(item)

    def _take(self, item: _Item) -> None:
        """Run a message taken off the queue, unless it is a wake-up or has been dropped since:
        the worker was killed, or (a form message) its form closed."""
        if item is _WAKE:
            return
        if not self._alive:
            self._dropped(1, "kill_worker")
            return
        if type(item) is tuple:
            self._run(item)
            return
        assert isinstance(item, _Msg)
        with self._cond:
            call = self._unkey_locked(item) if item.form is self._form else None
        if call is None:
            self._dropped(1, "its form closed")
        else:
            self._run(call)

    def run_until(self, predicate: Callable[[], bool], timeout: float | None = None) -> bool:
        self._check_owner()
        deadline = None if timeout is None else time.monotonic() + timeout
        get = self._q.get
        # Raised before the first predicate() call: an untrack() after that check sees it and
        # puts _WAKE, so the get() below cannot sleep through it.
        self._waiters += 1
        try:
            while not predicate():
                if not self._alive and not self._requests:
                    break
                wait = _IDLE_WAIT
                if deadline is not None:
                    wait = deadline - time.monotonic()
                    if wait <= 0:
                        break
                try:
                    item = get(True, wait)
                except queue.Empty:
                    continue  # timed out: the deadline check above ends the wait
                self._take(item)
            else:
                return True
        finally:
            self._waiters -= 1
        return predicate()

    def _put(
        self, fn: Callable[..., object], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> bool:
        if not self._alive:
            self._dropped(1, "it is no longer alive")
            return False
        self._q.put((fn, args, kwargs))
        # Read after the put: _attach sets _form before it looks at the queue, so either it
        # sees this message or this sees the form.
        if self._form is None:
            return True
        with self._cond:
            form = self._form
            if form is None or self._wake_pending:
                return True
            self._wake_pending = True
        return form._wake() or self._alive

    def _enqueue_form_locked(self, msg: _Msg) -> None:
        self._q.put(msg)  # the put itself wakes the thread if it sleeps in get()

    def _pending(self) -> bool:
        # Stray _WAKE items count too: a caller waiting for "empty" then takes them, harmlessly.
        return not self._q.empty()

    def _drain(self, form: Form, limit: int) -> bool:
        get = self._q.get_nowait
        for _ in range(limit):
            if self._form is not form:
                return False
            try:
                item = get()
            except queue.Empty:
                break
            self._take(item)
        with self._cond:
            if self._form is not form:
                return False
            # Checked under the lock: a poster that finds _wake_pending still set has put its
            # message before this check, so it is seen here.
            if self._q.empty():
                self._wake_pending = False
                return False
            return True

    def _untrack(self, request: Cancellable, form: Form | None) -> None:
        super()._untrack(request, form)
        if self._waiters:
            self._q.put(_WAKE)

    def _detach(self, form: Form) -> None:
        super()._detach(form)  # its queued messages are dropped as they come out (_take)
        if self._waiters:
            self._q.put(_WAKE)  # after its requests were cancelled: a wait on one may be over

    def _kill(self) -> None:
        """Drop pending messages and cancel requests; the running message finishes, then exit."""
        with self._cond:
            if not self._alive:
                return
            self._alive = False  # from here post() refuses and the thread drops what it takes
            self._killed = True
            self._keyed.clear()
            requests = list(self._requests)
            self._requests.clear()
            form = self._form
        dropped = 0
        while True:
            try:
                item = self._q.get_nowait()
            except queue.Empty:
                break
            if item is not _WAKE:
                dropped += 1
        _unregister(self, keep_name=True)
        if form is not None:
            form.close()
        if dropped:
            self._dropped(dropped, "kill_worker")
        _cancel_all(requests, "worker killed")
        self._q.put(_WAKE)  # last: a run_until() waiting on a cancelled request sees it done

    def _finish(self) -> None:
        self._kill()
        with _registry_lock:
            if _workers.get(self._name) is self:
                del _workers[self._name]
            _worker_threads.discard(self._thread)


# -- registry ----------------------------------------------------------------------------------

_registry_lock = threading.Lock()
_workers: dict[str, Worker] = {}  # a killed worker stays until replaced, as its successor's join
_by_number: dict[int, Process] = {}
_worker_threads: set[threading.Thread] = set()
_numbers = itertools.count(2)
_local = threading.local()

_MAIN = Process("main", 1, "main", threading.main_thread())
_by_number[1] = _MAIN


def _unregister(proc: Process, *, keep_name: bool = False) -> None:
    with _registry_lock:
        if _by_number.get(proc._number) is proc:
            del _by_number[proc._number]
        if not keep_name and isinstance(proc, Worker) and _workers.get(proc._name) is proc:
            del _workers[proc._name]


def _current() -> Process | None:
    proc: Process | None = getattr(_local, "process", None)
    if proc is not None:
        if proc._ephemeral:
            form = proc._form
            if form is not None:
                form.is_alive()  # notices a closed loop/window, which ends the form process
            if not proc._alive:
                _local.process = None
                return None
        return proc
    if threading.current_thread() is _MAIN._thread:
        return _MAIN
    return None


def _worker(name: str) -> Worker:
    """The live worker called ``name``, started on first use."""
    with _registry_lock:
        old = _workers.get(name)
        if old is not None and old._alive:
            return old
        predecessor = old._thread if old is not None and old._thread.is_alive() else None
        worker = Worker(name, next(_numbers), predecessor)
        _workers[name] = worker
        _by_number[worker._number] = worker
        _worker_threads.add(worker._thread)
        worker._thread.start()
        return worker


def _attach_form(form: Form) -> Process:
    """Make the current thread's process deliver its messages through ``form``'s GUI loop."""
    proc = _current()
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
        proc = Process(thread.name, next(_numbers), "form", thread, ephemeral=True)
        with _registry_lock:
            _by_number[proc._number] = proc
        _local.process = proc
    proc._attach(form)
    return proc


# -- public functions --------------------------------------------------------------------------


def current_process() -> Process:
    """The process of the calling thread; a plain thread gets kind "thread" (number 0)."""
    proc = _current()
    if proc is not None:
        return proc
    plain: Process | None = getattr(_local, "plain", None)
    if plain is None:
        thread = threading.current_thread()
        plain = Process(thread.name, 0, "thread", thread, alive=False)
        _local.plain = plain
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
        target: Process | None = _workers.get(process)
        if target is None or not target._alive:
            if not process:
                raise ValueError("process: a worker name must not be empty")
            me = getattr(_local, "process", None)
            if me is not None and me._killed and me._name == process:
                return
            target = _worker(process)
    elif isinstance(process, bool):
        raise TypeError("process must be a worker name, a process number or a Process, not bool")
    elif isinstance(process, int):
        target = _by_number.get(process)
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
        target = _current()
    elif isinstance(process, bool):
        raise TypeError("process must be a worker name, a process number or a Process, not bool")
    elif isinstance(process, str):
        if not process:
            raise ValueError("process: a worker name must not be empty")
        target = _workers.get(process)
    elif isinstance(process, int):
        target = _by_number.get(process)
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
    proc = _current()
    if proc is None:
        raise NoProcessError(_NO_PROCESS.format(thread=threading.current_thread().name))
    return proc.run_until(proc._idle, timeout)


def resolve_owner(owner: object = None) -> Owner:
    """Who receives a request's callbacks.

    None: the calling thread's form if one is attached, else its process (``NoProcessError``
    on a plain thread). A Process or Form: itself. A str: that worker, created on first use.
    An int: that process (ValueError if none).
    """
    if owner is None:
        proc = _current()
        if proc is None:
            raise NoProcessError(_NO_PROCESS.format(thread=threading.current_thread().name))
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
        return _worker(str(owner))
    if isinstance(owner, int):
        found = _by_number.get(owner)
        if found is None:
            raise ValueError(f"owner: there is no process number {owner}")
        return found
    from aikit.process._forms import Form  # a cycle at import time, cheap at call time

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
    with _registry_lock:
        workers = list(_workers.values())
        threads = list(_worker_threads)
    for worker in workers:
        worker._kill()
    deadline = None if timeout is None else time.monotonic() + timeout
    me = threading.current_thread()
    for thread in threads:
        if thread is me:
            continue
        thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
    return not any(t.is_alive() for t in threads if t is not me)


class Signal:
    """One-shot flag carrying a value (4D's New signal).

    ``trigger`` is idempotent and wakes every waiter. ``wait`` is a pure block: it does NOT run
    the mailbox, so callbacks wait too; use ``pump()`` or ``result.wait()`` for that.
    """

    __slots__ = ("_event", "_lock", "_value")

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._value: Any = None

    def trigger(self, value: Any = None) -> None:
        with self._lock:
            if self._event.is_set():
                return
            self._value = value
            self._event.set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._event.wait(timeout)

    @property
    def signaled(self) -> bool:
        return self._event.is_set()

    @property
    def value(self) -> Any:
        """What the first ``trigger`` carried (None before)."""
        return self._value

    def __repr__(self) -> str:
        return f"<Signal signaled={self.signaled} value={self._value!r}>"


def _warn_undelivered() -> None:
    count = len(_MAIN._items)
    if count:
        _log.warning(
            "aikit: %d message(s) posted to the main process were never delivered; the main "
            "thread receives them only while it calls aikit.process.pump() or result.wait()",
            count,
        )


atexit.register(_warn_undelivered)
