"""``Signal``: 4D's one-shot flag for handing a value between processes."""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["Signal"]


class Signal:
    """One-shot flag carrying a value (4D's New signal).

    ``trigger`` is idempotent and wakes every waiter. ``wait`` is a pure block: it does NOT run
    the mailbox, so callbacks wait too; use ``pump()`` or ``result.wait()`` for that.
    """

    __slots__ = ("_event", "_lock", "_value")

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._value: Any = None

    def trigger(self, value: Any = None) -> None:
        with self._lock:
            if self._event.is_set():
                return
            self._value = value
            self._event.set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._event.wait(timeout)

    @property
    def signaled(self) -> bool:
        return self._event.is_set()

    @property
    def value(self) -> Any:
        """What the first ``trigger`` carried (None before)."""
        return self._value

    def __repr__(self) -> str:
        return f"<Signal signaled={self.signaled} value={self._value!r}>"
