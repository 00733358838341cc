"""The client-side rate limiter: budgets per origin and model, shared through a store.

``Runner.open``'s attempt calls ``acquire`` before it sends (it blocks, abortably, until the
call may go) and ``settle`` after the answer (cool-down on a 429, pacing from the
``x-ratelimit-*`` headers, the token estimate corrected from ``usage``). The budgets are GCRA
token buckets ("virtual scheduling": one time per bucket instead of a level and a stamp), so
an update is one read-modify-write of a few floats, done atomically by the store. The
algorithm and the reasons for its choices: docs/architecture/limits.md.
"""

from __future__ import annotations

import email.utils
import functools
import json
import math
import re
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .._http.response import HTTPResponse
from .._logging import logger
from ._store import InProcessStore, State, Store

if TYPE_CHECKING:
    from .._http.abort import Abortable
    from .._http.request import RequestSpec

__all__ = [
    "Limiter",
    "Ticket",
    "estimate_spec",
    "estimate_tokens",
    "parse_duration",
]

#: A configured bucket holds this many seconds of its rate (at least one request / one
#: call's tokens): a job starts with a short burst, then its calls are spread evenly.
BURST_SECONDS = 6.0
#: The server's budget is "low" below this share of its limit: pacing starts.
LOW_FRACTION = 0.1
#: Pace at this share of the server's refill rate, so a little slack builds up again.
PACE_SHARE = 0.95
#: A 429 without a usable retry-after pauses its origin and model this long (seconds).
DEFAULT_COOL_DOWN = 1.0
#: Longest cool-down taken from a retry-after (the retry rules ignore longer hints too).
MAX_COOL_DOWN = 60.0
#: Output tokens a generating call is charged when it sets no maximum (the answer's
#: ``usage`` then charges what it really used above that).
DEFAULT_OUTPUT_TOKENS = 16
CHARS_PER_TOKEN = 4
#: Endpoints whose calls generate output tokens (charged their ``max_tokens``).
GENERATING = ("/chat/completions", "/responses", "/completions")

# The state's layout (a tuple of floats, store-clock times unless said otherwise).
EXPIRES = 0  # after this the state means nothing (stores may drop it)
EPOCH = 1  # time of the last cool-down: reservations made before it are void
COOL = 2  # nothing goes before this
REQ_TAT = 3  # configured requests bucket: theoretical arrival time
TOK_TAT = 4  # configured tokens bucket
PR_UNTIL = 5  # adaptive request pacing: on until then
PR_GAP = 6  # ... seconds between two requests
PR_TAT = 7  # ... next free time
PT_UNTIL = 8  # adaptive token pacing: on until then
PT_GAP = 9  # ... seconds per token
PT_TAT = 10  # ... next free time
_SIZE = 11
_FRESH: State = (0.0,) * _SIZE
_NEED_COST: Any = ("need cost",)  # _reserve's answer for a call whose tokens must be estimated

_LOG_EVERY = 10.0  # seconds between two warnings about a failing store
_MAX_SLEEP = 60.0  # longest single wait of a call held by the limiter


class _Bucket:
    """A configured budget: ``per_minute`` units, ``interval`` seconds each, ``tolerance``
    seconds of burst (``capacity`` units)."""

    __slots__ = ("capacity", "interval", "tolerance")

    def __init__(self, per_minute: float) -> None:
        rate = per_minute / 60.0
        self.capacity = max(1.0, rate * BURST_SECONDS)
        self.interval = 1.0 / rate
        self.tolerance = self.capacity * self.interval

    def earliest(self, tat: float, amount: float) -> float:
        """When the bucket holds ``amount`` (capped at its capacity: a call larger than the
        whole bucket goes once it is full, and leaves it in debt)."""
        return tat - self.tolerance + min(amount, self.capacity) * self.interval


class Ticket:
    """What ``acquire`` reserved for one attempt (``settle`` corrects it)."""

    __slots__ = ("charges", "cost", "epoch", "key", "tokens")

    def __init__(self, key: str, cost: int, epoch: float, charges: tuple[float, ...]) -> None:
        self.key = key
        self.cost = cost
        self.epoch = epoch
        #: What was added to REQ_TAT, TOK_TAT, PR_TAT and PT_TAT (to give back on abort).
        self.charges = charges
        #: The call's tokens were counted (a tokens budget or token pacing applied).
        self.tokens = charges[1] > 0 or charges[3] > 0


class Limiter:
    """One client's rate limiter over a store (see the module docstring).

    ``requests_per_minute``/``tokens_per_minute``: the budgets the caller gives (None: none);
    ``adaptive``: also follow what the server says (``x-ratelimit-*`` headers, 429s).
    """

    def __init__(
        self, store: Store, requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None, adaptive: bool = True, *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self._clock = clock  # what a wait is measured on (a test gives its own)
        self.requests_per_minute = requests_per_minute
        self.tokens_per_minute = tokens_per_minute
        self.adaptive = adaptive
        self._requests = None if requests_per_minute is None else _Bucket(requests_per_minute)
        self._tokens = None if tokens_per_minute is None else _Bucket(tokens_per_minute)
        #: The fast path: no budget of the caller's and a store of this process with no live
        #: state means nothing can make a call wait (one attribute and one dict check).
        self._idle: InProcessStore | None = (
            store if isinstance(store, InProcessStore) and self._requests is None
            and self._tokens is None else None
        )
        self._paced: set[tuple[str, int]] = set()  # (key, PR_UNTIL or PT_UNTIL) we paced
        self._failed_at = -_LOG_EVERY

    GENERATING = GENERATING

    @staticmethod
    def estimate(body: Mapping[str, Any], generates: bool) -> int:
        """A call's token cost (``RequestSpec.cost``): ``estimate_tokens``."""
        return estimate_tokens(body, generates)

    # -- before sending -------------------------------------------------------------------
    def acquire(self, spec: RequestSpec, abort: Abortable) -> Ticket | None:
        """Block until ``spec``'s call may go (or ``abort`` fires); what was reserved."""
        idle = self._idle
        if idle is not None and not idle._states:
            return None
        key = limit_key(spec.url, spec.model)
        cost = spec.cost
        requests, tokens = self._requests, self._tokens

        def reserve(state: State | None, now: float) -> tuple[State | None, Any]:
            return _reserve(state, now, requests, tokens, cost)

        reserved = self._update(key, reserve)
        if reserved is _NEED_COST:  # token pacing applies: estimate the call now
            cost = spec.cost = estimate_spec(spec)
            reserved = self._update(key, reserve)
        if reserved is None or reserved is _NEED_COST:
            return None
        delay, epoch, charges = reserved
        while delay > 0:
            if _sleep(abort, delay, self._clock):  # terminated, deadline passed, client closed
                self._update(key, functools.partial(_release, epoch=epoch, charges=charges))
                return None

            def confirm(
                state: State | None, now: float, epoch: float = epoch
            ) -> tuple[State | None, Any]:
                if state is None or state[EPOCH] == epoch:
                    return state, None  # no cool-down since: the slot holds
                return _reserve(state, now, requests, tokens, cost)  # void: queue again

            again = self._update(key, confirm)
            if again is None:
                break
            delay, epoch, charges = again
        return Ticket(key, cost, epoch, charges)

    # -- after the answer -----------------------------------------------------------------
    def settle(self, spec: RequestSpec, ticket: Ticket | None, answer: Any) -> bool:
        """Learn from an answer (an HTTPResponse, or a stream's answer). True when it put
        the origin and model in a cool-down: the call's retry then waits for that instead of
        its own back-off."""
        meta = answer if type(answer) is HTTPResponse else answer.meta
        if ticket is None and meta.status != 429 and not self._paced:
            # The common case, kept to a few lookups: nothing reserved, nothing paced, and
            # the server has more than LOW_FRACTION (1/10) of its limits left.
            if not self.adaptive:
                return False
            get = meta.headers._items.get
            try:
                left, limit = get(_REMAINING_REQUESTS), get(_LIMIT_REQUESTS)
                if left is None or (limit is not None and int(left[1]) * 10 > int(limit[1])):
                    left, limit = get(_REMAINING_TOKENS), get(_LIMIT_TOKENS)
                    if left is None or (
                        limit is not None and int(left[1]) * 10 > int(limit[1])
                    ):
                        return False
            except ValueError:
                pass
        return self._learn(spec, ticket, meta)

    def _learn(self, spec: RequestSpec, ticket: Ticket | None, meta: HTTPResponse) -> bool:
        items: Mapping[str, tuple[str, str]] = meta.headers._items
        cooled = False
        key = None if ticket is None else ticket.key
        if self.adaptive:
            if meta.status == 429 and _error_code(meta.json) != "insufficient_quota":
                key = key or limit_key(spec.url, spec.model)
                seconds = _retry_after(items)
                if seconds is None or seconds <= 0:
                    seconds = DEFAULT_COOL_DOWN
                cool = functools.partial(
                    _cool_down, seconds=min(seconds, MAX_COOL_DOWN),
                    requests=self._requests, tokens=self._tokens,
                )
                cooled = self._update(key, cool) is not None
            key = self._adapt(items, key, spec)
        if ticket is not None and ticket.tokens and meta.status < 300:
            body = meta.json
            usage = body.get("usage") if isinstance(body, dict) else None
            total = usage.get("total_tokens") if isinstance(usage, dict) else None
            if isinstance(total, int) and total > ticket.cost:
                # Charged what it used beyond the estimate; never refunded below it, as
                # OpenAI charges the estimate (prompt + max_tokens) when a request arrives.
                self._update(ticket.key, functools.partial(
                    _charge_tokens, extra=total - ticket.cost, tokens=self._tokens))
        return cooled

    def _adapt(
        self, items: Mapping[str, tuple[str, str]], key: str | None, spec: RequestSpec
    ) -> str | None:
        """Pace when the server's remaining budget is low; stop when it is not any more."""
        for dimension, until in (("requests", PR_UNTIL), ("tokens", PT_UNTIL)):
            found = items.get(_REMAINING[dimension])
            if found is None:
                continue
            remaining = _number(found[1])
            if remaining is None:
                continue
            found = items.get(_LIMIT[dimension])
            limit = None if found is None else _number(found[1])
            if limit is not None and remaining > LOW_FRACTION * limit:
                if self._paced:
                    key = key or limit_key(spec.url, spec.model)
                    if (key, until) in self._paced:
                        self._paced.discard((key, until))
                        self._update(key, functools.partial(_unpace, until=until))
                continue
            found = items.get(_RESET[dimension])
            reset = None if found is None else parse_duration(found[1])
            if reset is None or reset <= 0:
                continue
            # OpenAI's buckets refill continuously and "reset" is the time until full: the
            # refill rate is what is missing over that time. Without a limit, assume a
            # window: what remains must last until the reset.
            if limit is not None and limit > remaining:
                rate = (limit - remaining) / reset
            else:
                rate = max(remaining, 1.0) / reset
            key = key or limit_key(spec.url, spec.model)
            self._paced.add((key, until))
            self._update(key, functools.partial(
                _pace, until=until, gap=1.0 / (rate * PACE_SHARE), seconds=reset))
        return key

    def _update(self, key: str, change: Any) -> Any:
        """``store.update``; a failing store lets the call go unlimited (the server still
        enforces its limits) and logs a warning at most every 10 s."""
        try:
            return self.store.update(key, change)
        except Exception as exc:
            now = time.monotonic()
            if now - self._failed_at >= _LOG_EVERY:
                self._failed_at = now
                logger.warning("Rate-limit store %s failed (%s: %s); calls go unlimited",
                               type(self.store).__name__, type(exc).__name__, exc)
            return None

    def reset_after_fork(self) -> None:
        """In a forked child (``Runner``'s fork hook): the store starts over there."""
        self._paced = set()
        reset = getattr(self.store, "reset_after_fork", None)
        if reset is not None:
            reset()


def _sleep(abort: Abortable, seconds: float, clock: Callable[[], float]) -> bool:
    """``abort.wait`` for ``seconds`` (in slices: a huge token debt must not overflow the
    wait); True when the call was aborted."""
    end = clock() + seconds
    while True:
        left = end - clock()
        if left <= 0:
            return False
        if abort.wait(min(left, _MAX_SLEEP)):
            return True


# -- the changes (pure functions of a state and the store's clock) -------------------------


def _fresh(state: State | None) -> list[float]:
    return list(_FRESH if state is None or len(state) != _SIZE else state)


def _finish(s: list[float], now: float) -> State | None:
    """The state to keep: its expiry is its last meaningful time; None when all passed."""
    expires = max(s[COOL], s[REQ_TAT], s[TOK_TAT], s[PR_UNTIL], s[PT_UNTIL], s[PR_TAT],
                  s[PT_TAT])
    if expires <= now:
        return None
    s[EXPIRES] = expires
    return tuple(s)


def _reserve(
    state: State | None, now: float, requests: _Bucket | None, tokens: _Bucket | None,
    cost: int,
) -> tuple[State | None, tuple[float, float, tuple[float, ...]]]:
    """Reserve the call's slot in every budget that applies: (delay, epoch, charges); or
    ``_NEED_COST`` when token pacing applies to a call not estimated yet (``cost < 0``)."""
    s = _fresh(state)
    if cost < 0:
        if s[PT_UNTIL] > now and s[PT_GAP] > 0:
            return state, _NEED_COST
        cost = 0
    go = max(now, s[COOL])
    if requests is not None:
        go = max(go, requests.earliest(s[REQ_TAT], 1))
    if tokens is not None and cost > 0:
        go = max(go, tokens.earliest(s[TOK_TAT], cost))
    pace_requests = s[PR_UNTIL] > now and s[PR_GAP] > 0
    if pace_requests:
        go = max(go, s[PR_TAT])
    pace_tokens = s[PT_UNTIL] > now and s[PT_GAP] > 0 and cost > 0
    if pace_tokens:
        go = max(go, s[PT_TAT])
    charges = [0.0, 0.0, 0.0, 0.0]
    if requests is not None:
        charges[0] = requests.interval
        s[REQ_TAT] = max(s[REQ_TAT], go) + charges[0]
    if tokens is not None and cost > 0:
        charges[1] = cost * tokens.interval
        s[TOK_TAT] = max(s[TOK_TAT], go) + charges[1]
    if pace_requests:
        charges[2] = s[PR_GAP]
        s[PR_TAT] = max(s[PR_TAT], go) + charges[2]
    if pace_tokens:
        charges[3] = cost * s[PT_GAP]
        s[PT_TAT] = max(s[PT_TAT], go) + charges[3]
    if charges == [0.0, 0.0, 0.0, 0.0] and go == now:  # nothing applies: nothing written
        return state, (0.0, s[EPOCH], (0.0, 0.0, 0.0, 0.0))
    return _finish(s, now), (go - now, s[EPOCH], tuple(charges))


def _release(
    state: State | None, now: float, epoch: float, charges: tuple[float, ...]
) -> tuple[State | None, bool]:
    """Give back an unused reservation (its call was aborted while waiting)."""
    if state is None or state[EPOCH] != epoch:
        return state, True  # a cool-down since has reset the schedules already
    s = list(state)
    for index, charge in zip((REQ_TAT, TOK_TAT, PR_TAT, PT_TAT), charges, strict=True):
        s[index] -= charge
    return _finish(s, now), True


def _cool_down(
    state: State | None, now: float, seconds: float, requests: _Bucket | None,
    tokens: _Bucket | None,
) -> tuple[State | None, bool]:
    """A 429: nothing goes to this origin and model for ``seconds``; every reservation made
    before is void (its call queues again), and the budgets start empty when it ends, so the
    calls resume paced instead of all at once."""
    s = _fresh(state)
    end = s[COOL] = max(s[COOL], now + seconds)
    s[EPOCH] = now if now != s[EPOCH] else math.nextafter(now, math.inf)
    if requests is not None:
        s[REQ_TAT] = end + requests.tolerance - requests.interval  # one may go at the end
    if tokens is not None:
        s[TOK_TAT] = end + tokens.tolerance - min(tokens.tolerance, tokens.interval)
    if s[PR_UNTIL] > now:  # pacing restarts at the end (void reservations dropped)
        s[PR_TAT] = end
    if s[PT_UNTIL] > now:
        s[PT_TAT] = end
    return _finish(s, now), True


def _pace(
    state: State | None, now: float, until: int, gap: float, seconds: float
) -> tuple[State | None, bool]:
    """Space calls ``gap`` seconds apart (per request or per token) for ``seconds``."""
    s = _fresh(state)
    tat = until + 2  # PR_TAT / PT_TAT
    if not (s[until] > now and s[until + 1] > 0):
        s[tat] = max(s[tat], now)  # starts now (a schedule already running keeps going)
    s[until] = now + seconds
    s[until + 1] = gap
    return _finish(s, now), True


def _unpace(state: State | None, now: float, until: int) -> tuple[State | None, bool]:
    if state is None or state[until] <= now:
        return state, True
    s = list(state)
    s[until] = 0.0
    s[until + 1] = 0.0
    s[until + 2] = 0.0
    return _finish(s, now), True


def _charge_tokens(
    state: State | None, now: float, extra: int, tokens: _Bucket | None
) -> tuple[State | None, bool]:
    """The answer used ``extra`` tokens beyond the estimate: charge them now."""
    s = _fresh(state)
    if tokens is not None:
        s[TOK_TAT] = max(s[TOK_TAT], now) + extra * tokens.interval
    if s[PT_UNTIL] > now and s[PT_GAP] > 0:
        s[PT_TAT] = max(s[PT_TAT], now) + extra * s[PT_GAP]
    return _finish(s, now), True


# -- keys, headers, estimates ----------------------------------------------------------------

_REMAINING = {d: f"x-ratelimit-remaining-{d}" for d in ("requests", "tokens")}
_REMAINING_REQUESTS, _REMAINING_TOKENS = _REMAINING["requests"], _REMAINING["tokens"]
_LIMIT = {d: f"x-ratelimit-limit-{d}" for d in ("requests", "tokens")}
_LIMIT_REQUESTS, _LIMIT_TOKENS = _LIMIT["requests"], _LIMIT["tokens"]
_RESET = {d: f"x-ratelimit-reset-{d}" for d in ("requests", "tokens")}


@functools.lru_cache(maxsize=512)
def _origin(url: str) -> str:
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if port is None:
        port = 443 if scheme == "https" else 80
    return f"{scheme}://{host}:{port}"


def limit_key(url: str, model: str) -> str:
    """The budget a call belongs to: its origin (``scheme://host:port``) and model."""
    return f"{_origin(url)} {model}"


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(h|ms|m|s|us|µs|ns)")


def parse_duration(text: str) -> float | None:
    """Seconds in a reset header: OpenAI's (Go) durations ``"6m0s"``, ``"1s"``, ``"120ms"``,
    ``"1m12.5s"``, or plain seconds (``"0.5"``); None when unreadable."""
    text = text.strip()
    plain = _number(text)
    if plain is not None:
        return plain
    total, pos = 0.0, 0
    for match in _PART.finditer(text):
        if match.start() != pos:
            return None
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    return total if pos == len(text) and pos > 0 else None


def _retry_after(items: Mapping[str, tuple[str, str]]) -> float | None:
    """The 429's hint in seconds: ``retry-after-ms``, ``retry-after`` (seconds or a date)."""
    found = items.get("retry-after-ms")
    if found is not None:
        value = _number(found[1])
        if value is not None:
            return value / 1000.0
    found = items.get("retry-after")
    if found is None:
        return None
    value = _number(found[1])
    if value is not None:
        return value
    parsed = email.utils.parsedate_tz(found[1])
    if parsed is None:
        return None
    return float(email.utils.mktime_tz(parsed)) - time.time()


def _error_code(body: Any) -> Any:
    error = body.get("error") if isinstance(body, dict) else None
    return error.get("code") if isinstance(error, dict) else None


_OTHER_TEXT_KEYS = ("input", "prompt", "instructions", "system")
_MAX_KEYS = ("max_tokens", "max_completion_tokens", "max_output_tokens")
#: Inside a message or item, the fields that are text the model reads.
_PART_KEYS = ("content", "text", "input", "output", "arguments", "refusal")


def estimate_spec(spec: RequestSpec) -> int:
    """``estimate_tokens`` of a prepared request's JSON body (0 without one)."""
    body = spec.body
    if not isinstance(body, (bytes, bytearray)) or body[:1] != b"{":
        return 0
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return 0
    if not isinstance(data, dict):
        return 0
    try:
        path = urlsplit(spec.url).path
    except ValueError:
        path = ""
    return estimate_tokens(data, path.endswith(GENERATING))


def estimate_tokens(body: Mapping[str, Any], generates: bool) -> int:
    """A request's token cost, as OpenAI estimates it when it arrives: its prompt text at
    ``CHARS_PER_TOKEN`` characters a token (at least 1), plus, for a call that ``generates``,
    its output maximum (``max_tokens``, ``max_completion_tokens`` or ``max_output_tokens``,
    else ``DEFAULT_OUTPUT_TOKENS``) times ``n``."""
    chars = 0
    messages = body.get("messages")
    if type(messages) is list:  # the common case, kept quick: plain text messages
        for message in messages:
            content = message.get("content") if type(message) is dict else None
            if type(content) is str and "tool_calls" not in message:
                chars += len(content)
            else:
                chars += _chars(message)
    for key in _OTHER_TEXT_KEYS:
        value = body.get(key)
        if value is not None:
            chars += _chars(value)
    cost = max(1, -(-chars // CHARS_PER_TOKEN))
    if generates:
        output = DEFAULT_OUTPUT_TOKENS
        for key in _MAX_KEYS:
            value = body.get(key)
            if type(value) is int and value >= 0:
                output = value
                break
        n = body.get("n")
        cost += output * (n if type(n) is int and n > 1 else 1)
    return cost


def _chars(value: Any, depth: int = 0) -> int:
    """Characters of text in a prompt value (a token id counts as one token)."""
    if isinstance(value, str):
        return len(value)
    if depth > 8:
        return 0
    if isinstance(value, list):
        return sum([_chars(item, depth + 1) for item in value])
    if isinstance(value, dict):
        total = 0
        for key in _PART_KEYS:
            part = value.get(key)
            if part is not None:
                total += _chars(part, depth + 1)
        function = value.get("function")
        if isinstance(function, dict):
            total += _chars(function, depth + 1)
        calls = value.get("tool_calls")
        if isinstance(calls, list):
            total += _chars(calls, depth + 1)
        return total
    if type(value) is int:
        return CHARS_PER_TOKEN
    return 0
