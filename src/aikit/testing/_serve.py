"""``serve()``: run a FakeOpenAIServer in the foreground (``aikit serve``, demos, samples)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType
from typing import Any

from ._server import FakeOpenAIServer

__all__ = ["main", "serve"]


def serve(host: str = "127.0.0.1", port: int = 0, api_key: str | None = None) -> None:
    """Serve until Ctrl+C or SIGTERM, printing the base URL as the first line of stdout.

    The URL line comes first and is flushed so that a parent process can read it and connect;
    the note that this is a simulator goes to stderr.
    """
    stopped = threading.Event()
    previous: Any = None
    in_main_thread = threading.current_thread() is threading.main_thread()

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    if in_main_thread:  # before the URL is printed: a parent may signal as soon as it reads it
        previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        with FakeOpenAIServer(api_key=api_key, host=host, port=port) as server:
            print(server.url, flush=True)
            print(
                "aikit FakeOpenAIServer: an OpenAI API simulator (echo replies, no model). "
                "Ctrl+C to stop.",
                file=sys.stderr,
                flush=True,
            )
            while not stopped.wait(0.2):
                pass
    except KeyboardInterrupt:
        pass
    finally:
        if in_main_thread and previous is not None:
            signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m aikit.testing [--host H] [--port P] [--api-key K]``."""
    parser = argparse.ArgumentParser(
        prog="python -m aikit.testing", description="Run the aikit OpenAI API simulator."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--api-key", default=None, help="key to require (default: accept any)")
    args = parser.parse_args(argv)
    serve(host=args.host, port=args.port, api_key=args.api_key)
    return 0
