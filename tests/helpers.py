"""Test helpers: run code inside a worker and record callbacks with the thread they ran on."""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from collections.abc import Callable
from typing import Any

from aikit import process

TIMEOUT = 20.0


class Recorder:
    """Collects ``(callback name, thread ident, result)`` and signals when ``last`` fires."""

    def __init__(self, last: str = "on_terminate") -> None:
        self.events: list[tuple[str, int, Any]] = []
        self.done = threading.Event()
        self._last = last

    def callback(self, name: str) -> Callable[[Any], None]:
        def cb(result: Any) -> None:
            self.events.append((name, threading.get_ident(), result))
            if name == self._last:
                self.done.set()

        cb.__name__ = name
        return cb

    def callbacks(self, *names: str) -> dict[str, Callable[[Any], None]]:
        return {n: self.callback(n) for n in names}

    @property
    def names(self) -> list[str]:
        return [n for n, _, _ in self.events]

    @property
    def threads(self) -> set[int]:
        return {t for _, t, _ in self.events}

    def wait(self, timeout: float = TIMEOUT) -> None:
        assert self.done.wait(timeout), f"callbacks did not finish: {self.names}"


def in_worker(fn: Callable[[], Any], name: str | None = None, timeout: float = TIMEOUT) -> Any:
    """Run ``fn`` as a message of a (new) worker and return ``(value, worker thread ident)``."""
    box: dict[str, Any] = {}
    done = threading.Event()

    def body() -> None:
        box["ident"] = threading.get_ident()
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed back to the test thread
            box["error"] = exc
        done.set()

    process.call_worker(name or f"test-{uuid.uuid4().hex[:8]}", body)
    assert done.wait(timeout), "worker message did not run"
    if "error" in box:
        raise box["error"]
    return box["value"], box["ident"]


def fd_targets() -> set[str]:
    """``fd:target`` of every open descriptor of this process (targets make a leak readable)."""
    out = set()
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            out.add(f"{fd}:{os.readlink(f'/proc/self/fd/{fd}')}")
    return out


def aikit_threads() -> int:
    """Threads of aikit (I/O pool, workers, deadlines), not of the in-process fake server."""
    return sum(1 for t in threading.enumerate() if t.name.startswith("aikit"))
