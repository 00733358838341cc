"""Shared bootstrap for the samples: command line, and a client that works with or without a key.

With ``OPENAI_API_KEY`` or ``OPENAI_BASE_URL`` set, a sample talks to that API. Without either,
it starts ``aikit.testing.FakeOpenAIServer`` (a local simulator that echoes, not a model) and
says so on its first line, so every sample runs out of the box, offline, in CI and for a
newcomer who has no key yet.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

try:
    import aikit  # noqa: F401  (only checks that it is importable)
except ImportError:  # a plain checkout: let `python samples/x.py` find the package beside it
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from aikit import OpenAI
from aikit.testing import FakeOpenAIServer

__all__ = ["DEFAULT_MODEL", "SELF_TEST_TIMEOUT", "open_client", "parse_args", "uses_real_api"]

DEFAULT_MODEL = "gpt-4o-mini"
#: Upper bound of a ``--self-test`` run, so a hang fails CI instead of blocking it.
SELF_TEST_TIMEOUT = 30.0


def parse_args(description: str, argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The options every sample understands: ``--model`` and ``--self-test``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--model", default=DEFAULT_MODEL, help=f"chat model (default {DEFAULT_MODEL})"
    )
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="run non-interactively, print what happened, exit 0 on success",
    )
    return parser.parse_args(argv)


def uses_real_api() -> bool:
    """True when the environment points at a real API (a key or a base URL is configured)."""
    return bool(os.environ.get("OPENAI_API_KEY") or os.environ.get("OPENAI_BASE_URL"))


@contextlib.contextmanager
def open_client(sample: str) -> Iterator[OpenAI]:
    """A client for the configured API, or for an embedded simulator started here.

    The first line printed says which, so nobody mistakes the simulator's echo for a model.
    The client is closed (and the simulator stopped) on exit.
    """
    if uses_real_api():
        client = OpenAI()  # OPENAI_API_KEY / OPENAI_BASE_URL / OPENAI_ORG_ID ... from the env
        print(f"{sample}: using {client.base_url}", flush=True)
        with client:
            yield client
        return
    with FakeOpenAIServer() as server:
        print(
            f"{sample}: no API key configured: using the embedded simulator at {server.url} "
            "(aikit.testing.FakeOpenAIServer: echo replies, not a model); set OPENAI_API_KEY "
            "to use the real API",
            flush=True,
        )
        with OpenAI("sk-sample-simulator", server.url) as client:
            yield client
