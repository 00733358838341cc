"""Rate limits as OpenAI applies them: per API key, requests and tokens per minute.

Each limit is a continuously refilling token bucket: its capacity is the per-minute limit and it
refills at limit/60 per second. A request to a model endpoint costs one request and an estimate
of its tokens (the words of its prompt, at least 1, plus ``max_tokens`` /
``max_completion_tokens`` / ``max_output_tokens``, else 16). A request that either bucket cannot
pay for gets OpenAI's 429 and takes nothing; every answer carries the ``x-ratelimit-*``
headers of its key's buckets.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._api import Response
from ._content import count_tokens, error_body

Headers = list[tuple[str, str]]

#: Output tokens a request is charged when it sets no maximum.
DEFAULT_OUTPUT_TOKENS = 16
_MAX_KEYS = ("max_tokens", "max_completion_tokens", "max_output_tokens")
_TEXT_KEYS = ("messages", "input", "prompt", "instructions")
_ORGANIZATION = "org-fake"


def estimate_tokens(body: Any) -> int:
    """What a request is charged in tokens: prompt words (at least 1) plus its output maximum."""
    prompt = 0
    maximum: int | None = None
    if isinstance(body, dict):
        prompt = sum(_words(body.get(key)) for key in _TEXT_KEYS)
        for key in _MAX_KEYS:
            value = body.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                maximum = value
                break
    return max(1, prompt) + (DEFAULT_OUTPUT_TOKENS if maximum is None else maximum)


def _words(value: Any) -> int:
    """Words of the text in a messages / input value (token ids count one each)."""
    if isinstance(value, str):
        return count_tokens(value)
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return 1
    if isinstance(value, list):
        return sum(_words(item) for item in value)
    if isinstance(value, dict):
        for key in ("content", "text", "input", "output"):
            if key in value:
                return _words(value[key])
    return 0


def go_duration(seconds: float) -> str:
    """A duration as OpenAI's reset headers write it (Go's format): 120ms, 1s, 1m12.5s, 6m0s."""
    if seconds <= 0:
        return "0s"
    millis = math.ceil(round(seconds * 1000, 6))
    if millis < 1000:
        return f"{millis}ms"
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    text = f"{rest / 1000:.3f}".rstrip("0").rstrip(".") + "s"
    if hours:
        return f"{hours}h{minutes}m{text}"
    if minutes:
        return f"{minutes}m{text}"
    return text


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"


@dataclass
class _Bucket:
    capacity: float
    level: float
    stamp: float

    @property
    def rate(self) -> float:
        return self.capacity / 60.0

    def refill(self, now: float) -> None:
        if now > self.stamp:
            self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
            self.stamp = now

    def wait_for(self, amount: float) -> float:
        """Seconds until the bucket holds ``amount`` (0 if it does now)."""
        return max(0.0, (amount - self.level) / self.rate)

    def until_full(self) -> float:
        return (self.capacity - self.level) / self.rate


@dataclass
class _Pair:
    requests: _Bucket | None
    tokens: _Bucket | None


class RateLimits:
    """The buckets of every API key; thread-safe. Off (no limit, no buckets) by default."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._rpm: float | None = None
        self._tpm: float | None = None
        self._keys: dict[str, _Pair] = {}

    @property
    def active(self) -> bool:
        return self._rpm is not None or self._tpm is not None

    def configure(self, requests_per_minute: float | None, tokens_per_minute: float | None) -> None:
        """Replace the limits; every key starts again with full buckets."""
        with self._lock:
            self._rpm = requests_per_minute
            self._tpm = tokens_per_minute
            self._keys.clear()

    def refill_all(self) -> None:
        """Forget every key's use (full buckets), keeping the limits."""
        with self._lock:
            self._keys.clear()

    def admit(self, key: str, tokens: int, model: str) -> tuple[Headers, Response | None]:
        """Charge one request of ``tokens`` to ``key``: its headers, and the 429 if refused."""
        with self._lock:
            pair = self._pair(key)
            rejection = None
            for kind, bucket, amount in (
                ("requests", pair.requests, 1),
                ("tokens", pair.tokens, tokens),
            ):
                if bucket is not None and bucket.level < amount:
                    rejection = _too_many(kind, bucket, amount, model)
                    break
            if rejection is None:
                for bucket, amount in ((pair.requests, 1), (pair.tokens, tokens)):
                    if bucket is not None:
                        bucket.level -= amount
            headers = _headers(pair)
        if rejection is not None:
            rejection.headers[:0] = headers
        return headers, rejection

    def headers(self, key: str) -> Headers:
        """The headers of ``key``'s buckets as they stand (nothing charged)."""
        with self._lock:
            return _headers(self._pair(key))

    def _pair(self, key: str) -> _Pair:
        now = self._clock()
        pair = self._keys.get(key)
        if pair is None:
            pair = _Pair(
                None if self._rpm is None else _Bucket(self._rpm, self._rpm, now),
                None if self._tpm is None else _Bucket(self._tpm, self._tpm, now),
            )
            self._keys[key] = pair
        for bucket in (pair.requests, pair.tokens):
            if bucket is not None:
                bucket.refill(now)
        return pair


def _headers(pair: _Pair) -> Headers:
    """The ``x-ratelimit-*`` headers of the limited dimensions (an unlimited one has none)."""
    headers: Headers = []
    for kind, bucket in (("requests", pair.requests), ("tokens", pair.tokens)):
        if bucket is not None:
            headers += [
                (f"x-ratelimit-limit-{kind}", _number(bucket.capacity)),
                (f"x-ratelimit-remaining-{kind}", str(max(0, math.floor(bucket.level + 1e-9)))),
                (f"x-ratelimit-reset-{kind}", go_duration(bucket.until_full())),
            ]
    order = ("limit", "remaining", "reset")
    headers.sort(key=lambda item: order.index(item[0].split("-")[2]))
    return headers


def _too_many(kind: str, bucket: _Bucket, amount: int, model: str) -> Response:
    """OpenAI's 429 for a bucket that cannot pay ``amount``."""
    unit = "requests per min (RPM)" if kind == "requests" else "tokens per min (TPM)"
    limit = _number(bucket.capacity)
    if amount > bucket.capacity:  # can never fit: retrying does not help, so no retry-after
        message = (
            f"Request too large for {model} in organization {_ORGANIZATION} on {unit}: "
            f"Limit: {limit}, Requested: {amount}. The input or output tokens must be reduced "
            "in order to run successfully."
        )
        return Response.json(error_body(message, kind, None, "rate_limit_exceeded"), 429)
    wait = bucket.wait_for(amount)
    used = max(0, math.ceil(bucket.capacity - bucket.level - 1e-9))
    message = (
        f"Rate limit reached for {unit} on {model} in organization {_ORGANIZATION}: "
        f"Limit: {limit}, Used: {used}, Requested: {amount}. "
        f"Please try again in {go_duration(wait)}. "
        "Visit https://platform.openai.com/account/rate-limits to learn more."
    )
    retry = [
        ("retry-after", str(max(1, math.ceil(wait)))),
        ("retry-after-ms", str(max(1, math.ceil(wait * 1000)))),
    ]
    return Response.json(error_body(message, kind, None, "rate_limit_exceeded"), 429, retry)
