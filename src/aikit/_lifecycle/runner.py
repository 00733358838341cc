"""The request lifecycle: the one place where a call runs, from its spec to its final result.

    build (client) -> send with retries -> read and decode -> deliver

Sync calls run it on the caller's thread; callback calls run it as one job of the I/O pool and
post every callback to the owner. Whatever happens inside — an HTTP error, a hostile answer, a
bug — the call ends with exactly one final result (docs/architecture/lifecycle.md).
"""

from __future__ import annotations

import functools
import os
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any, TypeVar

from .._http.abort import Abortable, watchdog
from .._http.response import HTTPResponse
from .._logging import logger, redact_headers
from .._streaming import ChatStream, SessionFactory, StreamSession
from ..errors import ErrorKind, OpenAIError, RetryInfo, internal_error, release_frames
from .calls import Call, invoke
from .pool import IOPool, PoolClosed

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from .._http.request import RequestSpec
    from .._http.transport import Transport
    from .._results_base import OpenAIResult
    from ..limits._limiter import Limiter
    from .futures import Groups

__all__ = ["Runner"]

R = TypeVar("R", bound="OpenAIResult")
Outcome = Any  # HTTPResponse | StreamHandle | OpenAIError


class Runner:
    """Runs calls for one client: owns its transport, its I/O pool and its calls in flight."""

    #: The callback calls of each (owner, group), made on the first call with a ``group``.
    _groups: Groups | None = None

    def __init__(
        self, *, pool_size: int, proxies: Mapping[str, str] | None, verify: bool | str | None,
        limiter: Limiter | None = None,
    ) -> None:
        #: The client's rate limiter (``aikit.limits``): None costs nothing per call.
        self._limiter = limiter
        self._pool_size = pool_size
        self._proxies = proxies
        self._verify = verify
        self._transport: Transport | None = None
        self._pool: IOPool | None = None
        self._lock = threading.Lock()
        self._calls: set[Call] = set()
        self._controls: set[Abortable] = set()  # sync calls in progress (set ops are atomic)
        self._closed = False
        _runners.add(self)  # weakly: a forked child starts over (_after_fork)

    # -- entry points -------------------------------------------------------------------
    def run(
        self, spec: RequestSpec, params: Any, result_type: type[R],
        session: SessionFactory | None = None,
    ) -> R:
        """One call in sync or callback mode (``params.is_async``). A stream (or a polled
        background response) is read by ``session`` (chat's ``StreamSession`` for a stream
        when none is given), which yields what ``on_data`` gets."""
        if session is None and spec.stream:
            session = StreamSession
        if params.is_async:
            return self._submit(spec, params, result_type, session)
        if params.on_retry is not None:  # sync: on the caller's thread, before the back-off
            spec.on_retry = functools.partial(invoke, params.on_retry)
        result = result_type()
        control = self._sync_control()
        timer = self._start_deadline(spec, control.abort)
        try:
            if session is not None and spec.error is None:
                reader = session(self.open, spec, control)
                for _ in reader.chunks():
                    pass
                result = reader.final
            else:
                result._complete(*self.exchange(spec, control))
        except Exception as exc:  # a bug or a hostile answer: still an error result
            result = result_type()
            result._complete(None, [internal_error(exc)])
        finally:
            if timer is not None:
                watchdog.cancel(timer)
            self._controls.discard(control)
        result._mark_terminated()
        if params.throw:
            result.throw()
        return result

    def stream(
        self, spec: RequestSpec, session: SessionFactory = StreamSession,
        stream_type: Callable[[Any], Any] = ChatStream,
    ) -> Any:
        """A sync iterator (``stream_type``) over a stream's chunks, on the caller's thread."""
        control = self._sync_control()
        timer = self._start_deadline(spec, control.abort)

        def ended() -> None:
            if timer is not None:
                watchdog.cancel(timer)
            self._controls.discard(control)

        return stream_type(session(self.open, spec, control, ended))

    def _sync_control(self) -> Abortable:
        """The switch of a call run on its caller's thread; ``close()`` cuts it too."""
        control = Abortable()
        if self._closed:
            control.abort(ErrorKind.TERMINATED)
        self._controls.add(control)
        return control

    def close(self) -> None:
        """Terminate calls in flight (their on_error/on_terminate still run), never send a
        queued one, stop the I/O threads and close every pooled connection."""
        with self._lock:
            self._closed = True
            calls = list(self._calls)
            pool, self._pool = self._pool, None
        for call in calls:
            call.terminate()
        for control in list(self._controls):  # sync calls and streams on other threads
            control.abort(ErrorKind.TERMINATED)
        if pool is not None:
            # Queued jobs belong to calls terminated above. Running ones end now, and may
            # still send their clean-up (the cancel of a background response): the
            # transport is closed only once they are joined.
            pool.close()
        with self._lock:
            transport, self._transport = self._transport, None
        if transport is not None:
            transport.close()

    # -- callback mode ------------------------------------------------------------------
    def _submit(
        self, spec: RequestSpec, params: Any, result_type: type[R],
        session: SessionFactory | None,
    ) -> R:
        from ..process._registry import resolve_owner

        group = params.group
        if params.exclusive and not group:
            raise ValueError("`exclusive=True` needs a `group` (the calls it supersedes)")
        owner = resolve_owner(params.owner)  # a caller with no process: raises here
        result = result_type()
        call = Call(params, result, owner)
        result._control = call
        if not owner.track(call):
            call.cancel()  # the owner is gone already: a cancelled result, nothing sent
            return result
        if params.on_retry is not None:  # on the owner's thread, in order with the rest
            spec.on_retry = functools.partial(call.post, call.deliver_retry)
        if group:
            self._join_group(call, group, params.exclusive)
        timer = self._start_deadline(spec, call.terminate)  # time spent queued counts too
        with self._lock:
            pool = None if self._closed else self._pool
            if pool is None and not self._closed:
                pool = self._pool = IOPool(self._pool_size)
            if pool is not None:
                self._calls.add(call)
        if pool is None:
            call.terminate()  # the client is closed: on_error + on_terminate, nothing sent
            return result
        try:
            pool.submit(lambda: self._job(call, spec, timer, session))
        except PoolClosed:  # close() ran between the check above and here
            self._forget(call)
            call.terminate()
        return result

    def _join_group(self, call: Call, group: str, exclusive: bool) -> None:
        """Put ``call`` in its owner's ``group``; ``exclusive`` first supersedes the owner's
        older calls of that group still in flight (on_error + on_terminate, ``terminated``)."""
        groups = self._groups
        if groups is None:
            from .futures import Groups

            with self._lock:
                if self._groups is None:
                    self._groups = Groups()
                groups = self._groups
        from .futures import superseded_error

        for older in groups.join(call, group, exclusive):
            older.supersede(superseded_error(group))

    def _job(
        self, call: Call, spec: RequestSpec, timer: Any, session: SessionFactory | None
    ) -> None:
        """The I/O thread's part of a call. Never raises: it always posts a final result
        (ignored on the owner when ``terminate()`` already delivered one)."""
        try:
            if call.cancelled:
                return  # terminated or owner gone while queued: never sent
            if session is not None and spec.error is None:
                self._deliver_stream(call, spec, session)
            else:
                call.post_final(*self.exchange(spec, call.abort))
        except BaseException as exc:
            call.post_final(None, [internal_error(exc)])
        finally:
            if timer is not None:
                watchdog.cancel(timer)
            self._forget(call)

    def _deliver_stream(self, call: Call, spec: RequestSpec, session: SessionFactory) -> None:
        """Post each chunk to the owner (coalescing key: the call), then the end."""
        reader = session(self.open, spec, call.abort)
        chunks = reader.chunks()
        try:
            for chunk in chunks:
                if call.cancelled or not call.post(call.deliver_data, chunk, key=call):
                    break
        finally:
            chunks.close()  # the session's own clean-up runs here, on the I/O thread
        final = reader.final
        if final is not None:
            call.post_final(final._response, final._errors or [], final._data)

    def _forget(self, call: Call) -> None:
        with self._lock:
            self._calls.discard(call)

    @staticmethod
    def _start_deadline(spec: RequestSpec, expire: Any) -> Any:
        """Arm the call's ``deadline``: at that time ``expire(TIMEOUT)`` ends it wherever it
        is (connecting, reading, sleeping between retries, or still queued)."""
        if spec.deadline is None:
            return None
        return watchdog.schedule(spec.deadline, lambda: expire(ErrorKind.TIMEOUT))

    # -- send with retries --------------------------------------------------------------
    def exchange(
        self, spec: RequestSpec, control: Abortable
    ) -> tuple[HTTPResponse | None, list[OpenAIError]]:
        """A non-stream call's outcome: the answer, or the error that ended it."""
        outcome = self.open(spec, control)
        if isinstance(outcome, OpenAIError):
            return None, [outcome]
        if not isinstance(outcome, HTTPResponse):  # an SSE answer to a plain request
            outcome.close()
            return None, [OpenAIError("Unexpected event stream.", kind=ErrorKind.PROTOCOL)]
        return outcome, []

    def open(self, spec: RequestSpec, control: Abortable) -> Outcome:
        """Send with retries: an HTTPResponse, an open StreamHandle, or an OpenAIError."""
        if spec.error is not None:  # e.g. an unknown provider: nothing is sent
            return spec.error
        transport = self._get_transport()
        if isinstance(transport, OpenAIError):
            return transport
        debug = logger.isEnabledFor(10)
        limiter = self._limiter
        cooled = [False]  # the last answer put its origin and model in a shared cool-down

        def attempt(retries_taken: int) -> Outcome:
            # The limiter first: it may wait (abortably) for the budget or a cool-down.
            ticket = None if limiter is None else limiter.acquire(spec, control)
            started = time.monotonic()
            answer = transport.send(spec, control)
            if limiter is not None:
                cooled[0] = limiter.settle(spec, ticket, answer)
            if debug:
                meta = answer if isinstance(answer, HTTPResponse) else answer.meta
                logger.debug(
                    "%s %s -> %s in %.3fs (request id %s, retries taken %d, headers %s)",
                    spec.method, _shown(spec), meta.status, time.monotonic() - started,
                    meta.headers.get("x-request-id"), retries_taken,
                    redact_headers(spec.headers, spec.secrets),
                )
            return answer

        def on_retry(outcome: HTTPResponse | OpenAIError, delay: float, n: int) -> None:
            what = outcome.status if isinstance(outcome, HTTPResponse) else outcome.message
            logger.info("Retrying %s %s in %.2f s after %s", spec.method, _shown(spec), delay,
                        what)
            notify = spec.on_retry  # the call's on_retry: invoked here (sync) or posted
            if notify is not None:
                notify(RetryInfo(attempt=n, delay=delay, error=_retry_error(outcome)))

        outcome = _retrying()(
            attempt, spec.retries, cancelled=lambda: control.aborted,
            # After a 429 the limiter's cool-down is the wait (the next attempt's acquire):
            # no back-off of the call's own on top of it.
            sleep=control.wait if limiter is None else (
                lambda delay: cooled[0] or control.wait(delay)),
            on_retry=on_retry,
        )
        if isinstance(outcome, OpenAIError):
            release_frames(outcome)
            if debug:
                logger.debug("%s %s failed: %s", spec.method, _shown(spec), outcome)
        return outcome

    def _get_transport(self) -> Transport | OpenAIError:
        transport = self._transport
        if transport is None:
            from .._http.transport import Transport

            with self._lock:
                if self._closed:
                    return OpenAIError("The client is closed.", kind=ErrorKind.TERMINATED)
                if self._transport is None:
                    self._transport = Transport(
                        pool_size=self._pool_size, proxies=self._proxies, verify=self._verify
                    )
                transport = self._transport
        return transport


# -- fork --------------------------------------------------------------------------------------
#: Every live runner, weakly (a client is never kept alive for this).
_runners: weakref.WeakSet[Runner] = weakref.WeakSet()


def _after_fork() -> None:
    """In a forked child, every runner starts over: the child has only the thread that called
    ``fork()``, so no I/O thread, and the parent's pooled connections are sockets shared with
    the parent (two processes on one connection would interleave their exchanges)."""
    for runner in list(_runners):
        try:
            _reset_in_child(runner)
        except Exception:  # a bug: said, but a fork must not fail for it
            logger.exception("aikit: resetting a client in a forked child failed")


def _reset_in_child(runner: Runner) -> None:
    """Runner state in a forked child: a new lock, no I/O pool (its threads are not here: the
    next callback call starts a new one), no transport (the next call opens its own
    connections; the inherited ones are closed here, never shut down, which would cut them
    for the parent too), no call in flight, and a fresh limiter state."""
    _reinit_lock(runner._lock)
    calls, runner._calls = runner._calls, set()
    runner._controls = set()  # sync calls of threads the child does not have
    runner._pool = None
    runner._groups = None  # the inherited calls were its only members
    transport, runner._transport = runner._transport, None
    if runner._limiter is not None:
        runner._limiter.reset_after_fork()  # e.g. an in-process store: no state any more
    for call in calls:
        _drop_inherited(call)
    if transport is not None:
        _close_inherited(transport)


def _reinit_lock(lock: Any) -> None:
    """Release a lock that a thread of the parent may have held at fork time (the thread is
    not in the child: the lock would stay taken for ever)."""
    reinit = getattr(lock, "_at_fork_reinit", None)
    if reinit is not None:
        reinit()


def _drop_inherited(call: Call) -> None:
    """A callback call in flight in the parent goes on there, not here: in the child its
    result ends at once, cancelled, without any callback (as when its owner is gone). Its
    switch and locks are replaced first, so the parent's socket is never shut down from
    here and no lock held at fork time blocks."""
    call._lock = threading.Lock()
    call._delivered = threading.Event()
    call.abort = Abortable()
    call._on_release = None  # it leaves the parent's groups, dropped above, with no lock
    call.cancel()


def _close_inherited(transport: Transport) -> None:
    """Close the child's copies of the parent's pooled connections (a close, not a shutdown:
    the parent's connections stay up). The pools' locks are re-made first."""
    for adapter in set(transport.session.adapters.values()):
        managers = [getattr(adapter, "poolmanager", None),
                    *getattr(adapter, "proxy_manager", {}).values()]
        for manager in managers:
            pools = getattr(manager, "pools", None)
            _reinit_lock(getattr(pools, "lock", None))
            for pool in list(getattr(pools, "_container", {}).values()):
                _reinit_lock(getattr(getattr(pool, "pool", None), "mutex", None))
    transport.close()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def _retrying() -> Any:
    """``run_with_retries``, imported on first use (tenacity costs start-up time)."""
    global _run_with_retries
    if _run_with_retries is None:
        from .._http.retry import run_with_retries

        _run_with_retries = run_with_retries
    return _run_with_retries


_run_with_retries: Any = None


def _retry_error(outcome: HTTPResponse | OpenAIError) -> OpenAIError:
    """What ``on_retry`` is told about the attempt retried: its error, without the attempt's
    frames, or an ``api`` error built from its answer."""
    if isinstance(outcome, OpenAIError):
        release_frames(outcome)
        return outcome
    body = outcome.json
    text = body if body is not None else outcome.content.decode("utf-8", "replace")
    return OpenAIError.from_response(outcome.status, outcome.reason, outcome.headers, text)


def _shown(spec: RequestSpec) -> str:
    """The URL as a log line may show it: no password, no query."""
    from urllib.parse import urlsplit

    from .._http.transport import origin_of

    try:
        path = urlsplit(spec.url).path
    except ValueError:
        path = ""
    return origin_of(spec.url) + path
