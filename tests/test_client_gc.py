"""A delivered call keeps nothing of the user's alive (no cycle for the collector to find on
an I/O thread, where freeing GUI objects is fatal)."""

from __future__ import annotations

import gc
import weakref
from typing import Any

from aikit import OpenAI

from .helpers import TIMEOUT


class Window:
    """Stands for a GUI window whose bound methods are the callbacks."""

    def __init__(self) -> None:
        self.done = False

    def on_terminate(self, result: Any) -> None:
        self.done = True


def test_callbacks_are_released_after_delivery(aikit_client: OpenAI) -> None:
    gc.disable()  # only reference counting may free the window here
    try:
        window = Window()
        ref = weakref.ref(window)
        result = aikit_client.models.list(on_terminate=window.on_terminate)
        assert result.wait(TIMEOUT) and window.done
        del window
        assert ref() is None, "the delivered call still holds the window"
        assert result.wait(0) and result.terminated  # still usable after release
        result.terminate()  # no-op
    finally:
        gc.enable()
