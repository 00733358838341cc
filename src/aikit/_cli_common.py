"""What the commands of ``aikit`` share: the client, errors, colour, ``--verbose`` lines."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from collections.abc import Iterator
from typing import IO, Any

from ._logging import logger, mask_key
from ._results_base import OpenAIResult
from .client import OpenAI

__all__ = ["CLIError", "UsageError", "check", "make_client", "print_json", "style", "verbose"]

NO_KEY = "no API key: set OPENAI_API_KEY (export OPENAI_API_KEY=sk-...) or pass --api-key"
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0", "[::1]"})


class CLIError(Exception):
    """A user-facing failure: printed as one line, exit status 1."""

    status = 1


class UsageError(CLIError):
    """Bad options or configuration, found before anything is sent: exit status 2."""

    status = 2


def style(text: str, code: str, stream: IO[str] | None = None) -> str:
    """``text`` in the ANSI style ``code`` (``"2"`` dim, ``"31"`` red) when ``stream`` is a
    terminal and ``NO_COLOR`` is unset; else unchanged."""
    stream = stream or sys.stderr
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    if not tty or os.environ.get("NO_COLOR", "") != "" or os.environ.get("TERM") == "dumb":
        return text
    return f"\x1b[{code}m{text}\x1b[0m"


def error_line(message: str) -> str:
    return style(f"aikit: error: {message}", "31")


def is_local(url: str) -> bool:
    """True for a base URL on this machine (no key needed there)."""
    from urllib.parse import urlsplit

    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return False
    return host in _LOCAL_HOSTS or host.startswith("127.") or host.endswith(".localhost")


def make_client(args: argparse.Namespace, **extra: Any) -> OpenAI:
    """The client the options describe. UsageError, before anything is sent, when no key is
    configured for a server that is not on this machine (a provider decides for itself)."""
    kwargs: dict[str, Any] = dict(extra)
    for name in ("api_key", "base_url", "provider"):
        value = getattr(args, name, None)
        if value:
            kwargs[name] = value
    timeout = getattr(args, "timeout", None)
    if timeout:
        # "Ends in about that time": one attempt, so a silent server is not tried again.
        kwargs.update(timeout=timeout, max_retries=0)
    client = OpenAI(**kwargs)
    if not client.api_key and not client.provider and not is_local(client.base_url):
        client.close()
        raise UsageError(NO_KEY)
    if getattr(args, "verbose", False):
        key = mask_key(client.api_key) or "none"
        note(f"base URL {client.base_url}, key {key}"
             + (f", timeout {timeout:g} s" if timeout else ""))
    return client


def check(result: OpenAIResult) -> OpenAIResult:
    if not result.success:
        errors = result.errors
        raise CLIError(str(errors[0]) if errors else f"request failed (status {result.status})")
    return result


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def note(message: str) -> None:
    """A ``--verbose`` line on stderr (dim on a terminal)."""
    print(style(f"aikit: {message}", "2"), file=sys.stderr, flush=True)


class _VerboseHandler(logging.Handler):
    """The client's own debug lines, shortened: ``POST URL -> 200 in 0.012s``."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            args = record.args if isinstance(record.args, tuple) else ()
            if str(record.msg).startswith("%s %s -> %s in %.3fs") and len(args) >= 4:
                method, url, status, seconds = args[:4]
                text = f"{method} {url} -> {status} in {seconds:.3f}s"
            elif record.levelno < logging.INFO and "Retrying" not in str(record.msg):
                text = record.getMessage().split(" (request id")[0]
            else:
                text = record.getMessage()
            note(text)
        except Exception:  # a log line must never end the command
            self.handleError(record)


@contextlib.contextmanager
def verbose(on: bool) -> Iterator[None]:
    """While the command runs: the client's request lines on stderr (keys masked there)."""
    if not on:
        yield
        return
    handler = _VerboseHandler(logging.DEBUG)
    old = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)
