"""Request building: URL, headers (with their precedence) and the prepared request.

Pure functions of the client's settings and the call's parameters; no I/O here.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
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
    """

    __slots__ = (
        "body", "deadline", "error", "headers", "max_bytes", "method", "retries", "secrets",
        "session", "stream", "timeout", "url",
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
