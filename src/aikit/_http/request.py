"""Request building: URL, headers (with their precedence) and the prepared request.

Pure functions of the client's settings and the call's parameters; no I/O here.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

from .._version import __version__
from ..errors import OpenAIError

__all__ = [
    "USER_AGENT",
    "RequestSpec",
    "build_headers",
    "build_url",
    "field_pairs",
    "merge_headers",
    "query_pairs",
]

USER_AGENT = f"aikit/{__version__}"


def _text(value: Any) -> str:
    """A query or form value as text; booleans as JSON spells them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def field_pairs(key: str, value: Any) -> list[tuple[str, str]]:
    """One query or form field as (name, text) pairs: dicts become ``key[sub]``, lists repeat
    the key, None values are left out."""
    if value is None:
        return []
    if isinstance(value, Mapping):
        return [(f"{key}[{k}]", _text(v)) for k, v in value.items() if v is not None]
    if isinstance(value, (list, tuple)):
        return [(key, _text(v)) for v in value if v is not None]
    return [(key, _text(value))]


def query_pairs(fields: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every field of ``fields`` as query pairs (``extra_query``)."""
    return [pair for key, value in fields.items() for pair in field_pairs(key, value)]


def build_url(base: str, path: str, query: Iterable[tuple[str, str]] | None = None) -> str:
    """``base`` without one trailing slash, then ``path`` and the encoded query."""
    base = base or "https://api.openai.com/v1"
    if base.endswith("/"):
        base = base[:-1]
    url = base + path
    if query:
        encoded = urlencode(list(query))
        if encoded:
            url += "?" + encoded
    return url


def build_headers(
    *,
    api_key: str,
    base_url: str,
    organization: str,
    project: str,
    content_type: str | None,
    accept: str,
    overrides: Iterable[Mapping[str, str] | None] = (),
) -> dict[str, str]:
    """Computed headers, then each of ``overrides`` in turn (client ``custom_headers``, then
    the call's ``extra_headers``): later wins, whatever the case of the name."""
    headers: dict[str, str] = {"User-Agent": USER_AGENT, "Accept": accept}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
        if is_anthropic(base_url):
            headers["x-api-key"] = api_key
            headers["anthropic-version"] = "2023-06-01"
    if organization:
        headers["OpenAI-Organization"] = organization
    if project:
        headers["OpenAI-Project"] = project
    if content_type:
        headers["Content-Type"] = content_type
    for extra in overrides:
        if extra:
            merge_headers(headers, extra)
    return headers


class RequestSpec:
    """A prepared request: everything the lifecycle needs, fixed at call time.

    Plain slots and no ``repr``: it holds the call's secrets.

    It pickles, to be sent by another process of the same job (a worker of a bulk run):
    every field travels, the secrets included (so never pickle one to storage or to anyone
    else), except what is bound to this process, dropped (None): ``session``, a caller's
    ``requests.Session`` (``http_agent``: the receiving client sends through its own
    transport), and ``on_retry``, which ``Runner.run`` binds to the call and its owner here
    (the receiving runner binds its own from the call's parameters). ``deadline``, an
    absolute ``time.monotonic()``, travels as the wall-clock time it stands for and is turned
    back into the receiver's monotonic time, so it stays the same moment across processes.
    """

    __slots__ = (
        "body", "cost", "deadline", "error", "headers", "max_bytes", "method", "model",
        "on_retry", "retries", "secrets", "session", "stream", "timeout", "url",
    )

    def __init__(
        self, method: str, url: str, headers: dict[str, str], body: Any, timeout: float,
        retries: int, session: Any = None, stream: bool = False, *,
        deadline: float | None = None, max_bytes: int = 256 * 2**20,
        secrets: tuple[str, ...] = (),
    ) -> None:
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        #: Per attempt: connect + headers + body in total; for a stream, connect + headers,
        #: then the longest silence between two chunks.
        self.timeout = timeout
        self.retries = retries
        #: A ``requests.Session`` of the caller's (4D ``httpAgent``), or None.
        self.session = session
        self.stream = stream
        #: ``time.monotonic()`` by which the whole call, retries included, must end.
        self.deadline = deadline
        #: Largest body, decompressed body or single stream event accepted.
        self.max_bytes = max_bytes
        #: Values that must never leave their origin nor reach a message (key, URL password).
        self.secrets = secrets
        #: Set when the call must fail without sending (e.g. an unknown provider).
        self.error: OpenAIError | None = None
        #: The model the body names (after provider routing), "" for none: with the URL's
        #: origin, the rate-limit budget the call belongs to (``aikit.limits``).
        self.model = ""
        #: The call's estimated tokens (prompt + output maximum), set by the client when a
        #: rate limiter runs: 0 for a call without a JSON body, -1 for one the limiter
        #: estimates from ``body`` only if it needs to (no tokens budget given).
        self.cost = 0
        #: Told of each retry before its back-off (``Runner.run`` sets it from ``on_retry``:
        #: called on the caller's thread, or posted to the owner): takes a ``RetryInfo``.
        self.on_retry: Callable[[Any], object] | None = None

    def __getstate__(self) -> dict[str, Any]:
        """Every slot that is set, less what is bound to this process (``session``,
        ``on_retry``); ``deadline`` as a wall-clock time."""
        state = {
            name: getattr(self, name) for name in _slot_names(type(self))
            if hasattr(self, name) and name not in _LOCAL_ONLY
        }
        deadline = state.pop("deadline", None)
        if deadline is not None:
            state["deadline_wall"] = time.time() + (deadline - time.monotonic())
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        wall = state.pop("deadline_wall", None)
        state["deadline"] = None if wall is None else time.monotonic() + (wall - time.time())
        for name in _LOCAL_ONLY & set(_slot_names(type(self))):
            state.setdefault(name, None)
        for name, value in state.items():
            setattr(self, name, value)


#: Fields a pickled spec leaves out (None in the copy): bound to this process.
_LOCAL_ONLY = frozenset({"session", "on_retry"})


def _slot_names(cls: type) -> list[str]:
    """The slots of ``cls`` and its bases (``__slots__`` lists only a class's own)."""
    names: list[str] = []
    for klass in cls.__mro__:
        slots = klass.__dict__.get("__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            if name not in ("__dict__", "__weakref__") and name not in names:
                names.append(name)
    return names


@functools.lru_cache(maxsize=64)
def is_anthropic(base_url: str) -> bool:
    host = (urlsplit(base_url).hostname or "").lower()
    return host == "anthropic.com" or host.endswith(".anthropic.com")


def merge_headers(headers: dict[str, str], extra: Mapping[str, str]) -> None:
    """Case-insensitive override: a later ``authorization`` replaces ``Authorization``."""
    lowered = {k.lower(): k for k in headers}
    for name, value in extra.items():
        old = lowered.get(name.lower())
        if old is not None and old != name:
            del headers[old]
        headers[name] = value
        lowered[name.lower()] = name
