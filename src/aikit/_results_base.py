"""The base result class: what every call returns and every callback receives.

A result is filled once — on the calling thread in sync mode, on the owner's thread just before
its callbacks run in callback mode — and is read-only for users after that. The classes for
each endpoint derive from ``OpenAIResult``; ``aikit.results`` exports them all.

A pending result can also be waited for as a ``concurrent.futures.Future`` (``future()``) or
awaited on the loop of the asyncio form that owns it (``await result``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from ._headers import Headers
from ._http.response import HTTPResponse
from .errors import OpenAIError

if TYPE_CHECKING:
    from collections.abc import Generator
    from concurrent.futures import Future

    from typing_extensions import Self

    from .process import Owner

__all__ = ["OpenAIListPage", "OpenAIResult", "RateLimit", "RequestControl", "body_dict"]


class RequestControl(Protocol):
    """What a pending result delegates ``wait()``, ``terminate()``, ``future()`` and
    ``await`` to (a callback-mode ``Call``)."""

    def wait(self, timeout: float | None) -> bool: ...

    def terminate(self) -> None: ...

    def on_resolved(self, fn: Callable[[Any], object]) -> bool: ...

    @property
    def owner(self) -> Owner: ...


@attrs.frozen
class RateLimit:
    """The ``x-ratelimit-*`` headers; counts as numbers, resets as the server's strings."""

    limit_requests: int | None
    limit_tokens: int | None
    remaining_requests: int | None
    remaining_tokens: int | None
    reset_requests: str | None
    reset_tokens: str | None

    @classmethod
    def from_headers(cls, headers: Headers) -> RateLimit:
        def number(name: str) -> int | None:
            raw = headers.get(name)
            if raw is None:
                return None
            try:
                return int(raw)
            except ValueError:
                try:
                    return int(float(raw))
                except ValueError:
                    return None

        return cls(
            limit_requests=number("x-ratelimit-limit-requests"),
            limit_tokens=number("x-ratelimit-limit-tokens"),
            remaining_requests=number("x-ratelimit-remaining-requests"),
            remaining_tokens=number("x-ratelimit-remaining-tokens"),
            reset_requests=headers.get("x-ratelimit-reset-requests"),
            reset_tokens=headers.get("x-ratelimit-reset-tokens"),
        )


@attrs.define(eq=False, repr=False)
class OpenAIResult:
    """Outcome of one request: HTTP response and/or errors, plus wait/terminate while pending."""

    _response: HTTPResponse | None = None
    _errors: list[OpenAIError] | None = None
    _terminated: bool = False
    _control: RequestControl | None = None

    # -- filled by the client -------------------------------------------------------------
    def _complete(
        self, response: HTTPResponse | None, errors: list[OpenAIError] | None = None
    ) -> None:
        self._response = response
        self._errors = errors or None

    def _mark_terminated(self) -> None:
        self._terminated = True

    # -- public accessors -----------------------------------------------------------------
    @property
    def success(self) -> bool:
        """True when a 2xx response arrived and nothing went wrong after it."""
        r = self._response
        return r is not None and 200 <= r.status < 300 and not self.errors

    @property
    def errors(self) -> list[OpenAIError]:
        if self._errors:
            return list(self._errors)
        r = self._response
        if r is None:
            return []
        body = r.json
        if r.status >= 300 or (isinstance(body, dict) and body.get("error")):
            text = body if body is not None else r.content.decode("utf-8", "replace")
            return [OpenAIError.from_response(r.status, r.reason, r.headers, text)]
        return []

    @property
    def terminated(self) -> bool:
        return self._terminated

    @property
    def status(self) -> int | None:
        return self._response.status if self._response is not None else None

    @property
    def headers(self) -> Headers | None:
        return self._response.headers if self._response is not None else None

    @property
    def rate_limit(self) -> RateLimit | None:
        headers = self.headers
        return RateLimit.from_headers(headers) if headers is not None else None

    @property
    def body(self) -> Any:
        """The parsed JSON body, or None."""
        return self._response.json if self._response is not None else None

    @property
    def content(self) -> bytes:
        """The raw response body (``files.content()`` returns the file's bytes here)."""
        return self._response.content if self._response is not None else b""

    @property
    def usage(self) -> dict[str, Any] | None:
        body = self.body
        usage = body.get("usage") if isinstance(body, dict) else None
        return usage if isinstance(usage, dict) else None

    @property
    def request_id(self) -> str | None:
        headers = self.headers
        return headers.get("x-request-id") if headers is not None else None

    def throw(self) -> None:
        """Raise the first error, if any."""
        errors = self.errors
        if errors:
            raise errors[0]

    def wait(self, timeout: float | None = None) -> bool:
        """Block until ``on_terminate`` has run, running this process's other messages meanwhile.

        Returns True when terminated, False on timeout. A sync result returns True at once.
        """
        control = self._control
        if self._terminated or control is None:
            return True
        return control.wait(timeout)

    def terminate(self) -> None:
        """Abort a pending call: ``on_error`` then ``on_terminate`` follow; no-op when finished."""
        control = self._control
        if control is not None and not self._terminated:
            control.terminate()

    def future(self) -> Future[Self]:
        """A ``concurrent.futures.Future`` resolved with this result itself once the call has
        ended: on the owner's thread right after ``on_terminate`` (done-callbacks run there),
        or already done for a sync or finished result.

        Never resolved with an exception: errors are in ``errors`` as usual. A call cancelled
        because its owner went away (``kill_worker``, a closed form) resolves it too, with the
        cancelled result (no callback ran). Cancelling the future does not stop the call
        (``terminate()`` does). Any thread may wait on it: ``result.future().result(30)``.
        """
        from ._lifecycle.futures import result_future

        return result_future(self)

    def __await__(self) -> Generator[Any, None, Self]:
        """``await result``: this result once the call has ended (right after ``on_terminate``),
        at once for a sync or finished result.

        A pending result is awaited on the thread whose asyncio loop delivers its callbacks:
        the call was made (or ``owner=``) with ``process.asyncio.attach()`` active on that
        loop; elsewhere ``RuntimeError``. Cancelling the awaiting task leaves the call running.
        """
        from ._lifecycle.futures import await_result

        return await_result(self).__await__()

    def __repr__(self) -> str:
        state = "terminated" if self._terminated else "pending"
        return f"<{type(self).__name__} status={self.status} success={self.success} {state}>"


def body_dict(result: OpenAIResult) -> dict[str, Any]:
    """The JSON body when it is an object, else ``{}`` (accessors never raise)."""
    body = result.body
    return body if isinstance(body, dict) else {}


@attrs.define(eq=False, repr=False)
class OpenAIListPage(OpenAIResult):
    """One page of a list endpoint: ``first_id``/``last_id`` (``""`` when absent) and
    ``has_more``, shared by the file, batch and input-item lists."""

    @property
    def first_id(self) -> str:
        value = body_dict(self).get("first_id")
        return value if isinstance(value, str) else ""

    @property
    def last_id(self) -> str:
        value = body_dict(self).get("last_id")
        return value if isinstance(value, str) else ""

    @property
    def has_more(self) -> bool:
        return body_dict(self).get("has_more") is True
