"""Logger ``aikit`` and the one function that masks secrets before they reach a log line."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

__all__ = ["logger", "mask_key", "redact_headers", "setup_from_env"]

logger = logging.getLogger("aikit")

_SECRET_HEADERS = frozenset({"authorization", "x-api-key", "api-key", "proxy-authorization"})


def mask_key(key: str | None) -> str:
    """``sk-abc...wxyz`` -> ``sk-...wxyz``: enough to tell keys apart, never the key."""
    if not key:
        return ""
    if len(key) <= 8:
        return "***"
    prefix = key[:3] if key[:3].isascii() and key[2:3] == "-" else ""
    return f"{prefix}...{key[-4:]}"


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in headers.items():
        if name.lower() in _SECRET_HEADERS:
            scheme, _, secret = value.partition(" ")
            out[name] = f"{scheme} {mask_key(secret)}" if secret else mask_key(value)
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
