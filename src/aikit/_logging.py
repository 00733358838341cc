"""Logger ``aikit`` and the functions that mask secrets before they reach a log line or a repr."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping

__all__ = ["logger", "mask_key", "mask_url", "redact_headers", "setup_from_env"]

logger = logging.getLogger("aikit")

_SCHEME = re.compile(r"(?:[A-Za-z][A-Za-z0-9+.-]*:)?//")
_SECRET_HEADERS = frozenset({"authorization", "x-api-key", "api-key", "proxy-authorization"})


def mask_key(key: str | None) -> str:
    """``sk-abc...wxyz`` -> ``sk-...wxyz``: enough to tell keys apart, never the key."""
    if not key:
        return ""
    if len(key) <= 8:
        return "***"
    prefix = key[:3] if key[:3].isascii() and key[2:3] == "-" else ""
    return f"{prefix}...{key[-4:]}"


def mask_url(url: str | None) -> str:
    """``http://user:secret@host/v1`` -> ``http://user:***@host/v1``; anything else unchanged.

    The authority is found the way ``urllib.parse.urlsplit`` (and so requests) finds it: after
    ``scheme://`` (or from the start, for a proxy given as ``user:pw@host:3128``), up to the
    first ``/``, ``?`` or ``#``; its userinfo ends at the last ``@``. Written by hand rather
    than with ``urlsplit`` so that a malformed URL (a bad port, an unclosed ``[``) is still
    masked, and nothing here ever raises.
    """
    if url is None:
        return ""
    if not isinstance(url, str):  # a caller passing a URL object: still never raise
        try:
            url = str(url)
        except Exception:
            return ""
    scheme = _SCHEME.match(url)
    start = scheme.end() if scheme else 0
    end = len(url)
    for stop in "/?#":
        found = url.find(stop, start)
        if 0 <= found < end:
            end = found
    at = url.rfind("@", start, end)
    if at < 0:
        return url
    colon = url.find(":", start, at)
    if colon < 0:
        return url  # a user name alone: no password to hide
    return f"{url[:colon + 1]}***{url[at:]}"


def redact_headers(
    headers: Mapping[str, str], secrets: tuple[str, ...] = ()
) -> dict[str, str]:
    """Headers as a log line may show them: credential headers masked, and any other header
    whose value holds one of ``secrets`` (a key in a custom header) masked too."""
    out: dict[str, str] = {}
    for name, value in headers.items():
        if name.lower() in _SECRET_HEADERS:
            scheme, _, secret = value.partition(" ")
            out[name] = f"{scheme} {mask_key(secret)}" if secret else mask_key(value)
        elif any(secret and secret in value for secret in secrets):
            out[name] = mask_key(value)
        else:
            out[name] = value
    return out


def setup_from_env() -> None:
    """``AIKIT_LOG=debug|info`` turns on a stderr handler for logger ``aikit``."""
    level = os.environ.get("AIKIT_LOG", "").strip().lower()
    if level not in ("debug", "info") or logger.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("[%(asctime)s %(name)s %(levelname)s] %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if level == "debug" else logging.INFO)
