"""Retry rules as small functions, run by tenacity.

Only what happens before the first response byte of a stream is retried; a non-stream call is
retried on its status or on a transport failure. The happy path never builds a tenacity object.
The rules are told in docs/architecture/lifecycle.md ("Send with retries") and promised in
docs/architecture/guarantees.md ("Retry only what never started").
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable
from typing import Any

import tenacity

from .._headers import Headers
from ..errors import OpenAIError
from .response import HTTPResponse

__all__ = ["retry_delay", "run_with_retries", "should_retry"]

RETRY_STATUSES = frozenset({408, 409, 429})
MAX_RETRY_AFTER = 60.0
INITIAL_DELAY = 0.5
MAX_DELAY = 8.0

Outcome = Any  # HTTPResponse | OpenAIError | an open stream (never retried)


def should_retry(outcome: Outcome) -> bool:
    """True for 408/409/429/5xx (``x-should-retry`` overrides) and pre-response failures."""
    if isinstance(outcome, OpenAIError):
        return outcome.status is None and outcome.kind in ("connection", "timeout")
    if not isinstance(outcome, HTTPResponse):
        return False  # a stream that has started: nothing after its first byte is retried
    status = outcome.status
    if status < 300:
        return False
    override = outcome.headers.get("x-should-retry")
    if override is not None:
        if override.strip().lower() == "true":
            return True
        if override.strip().lower() == "false":
            return False
    if status == 429 and _error_code(outcome.json) == "insufficient_quota":
        return False
    return status in RETRY_STATUSES or status >= 500


def _error_code(body: Any) -> Any:
    err = body.get("error") if isinstance(body, dict) else None
    return err.get("code") if isinstance(err, dict) else None


def _retry_after(headers: Headers | None) -> float | None:
    """The server's hint in seconds, or None when absent or unparsable."""
    if headers is None:
        return None
    raw = headers.get("retry-after-ms")
    if raw is not None:
        try:
            return float(raw) / 1000.0
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError:
        pass
    parsed = email.utils.parsedate_tz(raw)
    if parsed is None:
        return None
    return float(email.utils.mktime_tz(parsed)) - time.time()


def retry_delay(outcome: Outcome, retries_taken: int) -> float:
    """Server hint when 0 < hint <= 60 s, else ``min(0.5 * 2**n, 8) * U(0.75, 1.0)``."""
    headers = outcome.headers if isinstance(outcome, HTTPResponse) else None
    hint = _retry_after(headers)
    if hint is not None and 0 < hint <= MAX_RETRY_AFTER:
        return hint
    base = min(INITIAL_DELAY * 2.0 ** min(retries_taken, 1000), MAX_DELAY)
    return base * random.uniform(0.75, 1.0)


class _Wait(tenacity.wait.wait_base):
    """tenacity wait that reads the last outcome (Retry-After) and counts retries taken."""

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        outcome = retry_state.outcome
        assert outcome is not None
        last: Outcome = outcome.exception() if outcome.failed else outcome.result()
        return retry_delay(last, retry_state.attempt_number - 1)


def run_with_retries(
    attempt: Callable[[int], Any],
    max_retries: int,
    *,
    cancelled: Callable[[], bool],
    sleep: Callable[[float], Any],
    on_retry: Callable[[Outcome, float, int], None] | None = None,
) -> Outcome:
    """Call ``attempt(retries_taken)`` until its outcome is final; never raises OpenAIError.

    ``attempt`` returns an HTTPResponse (or an open stream, which is final) or raises
    OpenAIError for transport failures.
    ``sleep`` must return early when the call is cancelled (an Event's ``wait``).
    """
    first = _outcome_of(attempt, 0)
    if max_retries <= 0 or not should_retry(first) or cancelled():
        return first
    pending: list[Outcome] = [first]
    taken = [0]

    def next_attempt() -> Any:
        if pending:
            out = pending.pop()
        else:
            taken[0] += 1
            out = _outcome_of(attempt, taken[0])
        if isinstance(out, OpenAIError):
            raise out
        return out

    def before_sleep(state: tenacity.RetryCallState) -> None:
        if on_retry is not None and state.outcome is not None and state.next_action is not None:
            o = state.outcome
            last: Outcome = o.exception() if o.failed else o.result()
            on_retry(last, state.next_action.sleep, state.attempt_number)

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(max_retries + 1) | _StopWhen(cancelled),
        wait=_Wait(),
        retry=tenacity.retry_if_exception(_retryable_exc) | tenacity.retry_if_result(should_retry),
        sleep=sleep,
        before_sleep=before_sleep,
        retry_error_callback=lambda state: _last(state),
        reraise=True,
    )
    try:
        result: Outcome = retrying(next_attempt)
    except OpenAIError as exc:
        return exc
    return result


def _retryable_exc(exc: BaseException) -> bool:
    return isinstance(exc, OpenAIError) and should_retry(exc)


class _StopWhen(tenacity.stop.stop_base):
    """Stop retrying once the call is terminated or its owner is gone."""

    def __init__(self, cancelled: Callable[[], bool]) -> None:
        self._cancelled = cancelled

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        return self._cancelled()


def _last(state: tenacity.RetryCallState) -> Outcome:
    outcome = state.outcome
    assert outcome is not None
    if outcome.failed:
        exc = outcome.exception()
        assert isinstance(exc, OpenAIError)
        return exc
    return outcome.result()


def _outcome_of(attempt: Callable[[int], Any], n: int) -> Outcome:
    try:
        return attempt(n)
    except OpenAIError as exc:
        return exc
