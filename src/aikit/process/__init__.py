"""4D's process model in Python: threads with FIFO mailboxes, so callbacks run where they belong.

A process runs its messages one at a time on its own thread. Workers are created by name on
first ``call_worker``; the main thread is process 1 and runs its messages when it calls
``pump()``; a GUI thread becomes a form process with ``tk.attach``, ``qt.attach`` or
``asyncio.attach``. Nothing here knows about HTTP.

The GUI adapters are imported on first access (``process.tk`` ...), so importing this package
never imports tkinter, PySide6 or asyncio.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from aikit.process._api import call_worker, current_process, kill_worker, pump
from aikit.process._forms import Form, call_form
from aikit.process._process import Process
from aikit.process._registry import NoProcessError, Owner
from aikit.process._signal import Signal

if TYPE_CHECKING:
    from aikit.process import asyncio as asyncio
    from aikit.process import qt as qt
    from aikit.process import tk as tk

__all__ = [
    "Form",
    "NoProcessError",
    "Owner",
    "Process",
    "Signal",
    "call_form",
    "call_worker",
    "current_process",
    "kill_worker",
    "pump",
]

_ADAPTERS = frozenset({"asyncio", "qt", "tk"})


def __getattr__(name: str) -> Any:
    if name in _ADAPTERS:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_ADAPTERS])
