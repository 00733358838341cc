"""asyncio adapter: an event loop's thread becomes a form process.

Posting wakes the loop with ``loop.call_soon_threadsafe`` (the only thread-safe asyncio call),
at most once per batch; the drain then runs on the loop thread between tasks. A closed loop
means the form is gone: that is noticed when posting, or by ``is_alive()``.
"""

from __future__ import annotations

import asyncio

from aikit.process._forms import Form, _attached_form

__all__ = ["AsyncioForm", "attach"]


class AsyncioForm(Form):
    """An asyncio loop's thread as a form; closed once the loop is closed."""

    def __init__(self, loop: asyncio.AbstractEventLoop, *, coalesce_data: bool) -> None:
        self._loop = loop
        super().__init__(coalesce_data=coalesce_data)

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def _wake(self) -> bool:
        if self._closed:
            return False
        try:
            self._loop.call_soon_threadsafe(self._run_drain)
        except RuntimeError:  # "Event loop is closed": the loop closed while we posted
            self.close()
            return False
        return True

    def _run_drain(self) -> None:
        if not self._closed and self._drain():
            self._loop.call_soon(self._run_drain)  # yield to other tasks between batches

    def _target_alive(self) -> bool:
        return not self._loop.is_closed()


def attach(
    loop: asyncio.AbstractEventLoop | None = None, coalesce_data: bool = False
) -> AsyncioForm:
    """Make the loop's thread a form process; call it on that thread (e.g. inside a coroutine).

    ``loop`` defaults to the running loop. Attaching the same loop again returns the same form.
    """
    if loop is None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError(
                "process.asyncio.attach() needs a running event loop: call it from a coroutine "
                "or pass loop="
            ) from None
    elif not isinstance(loop, asyncio.AbstractEventLoop):
        raise TypeError(f"loop must be an asyncio event loop, not {type(loop).__name__}")
    if loop.is_closed():
        raise RuntimeError("process.asyncio.attach(): the event loop is closed")
    if loop.is_running():
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not loop:
            raise RuntimeError(
                "process.asyncio.attach() must be called on the thread that runs the loop"
            )
    existing = _attached_form(AsyncioForm)
    if isinstance(existing, AsyncioForm) and existing.loop is loop:
        return existing
    return AsyncioForm(loop, coalesce_data=coalesce_data)
