"""Tk adapter: the Tk thread becomes a form process, drained by a ``root.after`` poller.

Tk may only be called from the thread that created the interpreter, so posting never touches
Tk: messages go to the mailbox and a self-rescheduling ``after`` callback on the Tk thread runs
them (every ``poll_ms``, at most a batch per tick). Works under ``mainloop()`` and under
``update()``-driven loops alike.
"""

from __future__ import annotations

import contextlib
import tkinter

from aikit.process._forms import Form, _attached_form

__all__ = ["TkForm", "attach"]


class TkForm(Form):
    """A Tk widget's thread as a form; closed when the widget is destroyed."""

    def __init__(self, root: tkinter.Misc, *, coalesce_data: bool, poll_ms: int) -> None:
        self._root: tkinter.Misc | None = root
        self._poll_ms = poll_ms
        self._job: str | None = None
        super().__init__(coalesce_data=coalesce_data)
        root.bind("<Destroy>", self._on_destroy, add="+")
        self._job = root.after(poll_ms, self._tick)

    @property
    def root(self) -> tkinter.Misc | None:
        """The attached widget (None once closed)."""
        return self._root

    def _on_destroy(self, event: tkinter.Event[tkinter.Misc]) -> None:
        # <Destroy> bound on a toplevel also fires for each child: only the root itself counts.
        if self._root is not None and str(event.widget) == str(self._root):
            self.close()

    def _tick(self) -> None:
        self._job = None
        root = self._root
        if self._closed or root is None:
            return
        try:
            exists = bool(root.winfo_exists())
        except tkinter.TclError:
            exists = False
        if not exists:
            self.close()
            return
        more = self._drain()
        if self._closed:
            return
        try:
            self._job = root.after(1 if more else self._poll_ms, self._tick)
        except tkinter.TclError:
            self.close()

    def _on_close(self) -> None:
        # Only the Tk thread may touch Tk; elsewhere the next tick sees _closed and stops.
        if not self.owns_current_thread():
            return
        root, job = self._root, self._job
        self._root = self._job = None
        if root is not None and job is not None:
            with contextlib.suppress(tkinter.TclError):
                root.after_cancel(job)


def attach(root: tkinter.Misc, coalesce_data: bool = False, *, poll_ms: int = 10) -> TkForm:
    """Make the Tk thread (call this on it, usually the main thread) a form process.

    Messages for it run from Tk's event loop; destroying ``root`` closes the form (pending
    form messages dropped, tracked requests cancelled). Attaching the same root again returns
    the same form.
    """
    if not isinstance(root, tkinter.Misc):
        raise TypeError(f"root must be a tkinter widget (tkinter.Tk), not {type(root).__name__}")
    if poll_ms < 1:
        raise ValueError(f"poll_ms must be >= 1, not {poll_ms}")
    existing = _attached_form(TkForm)
    if isinstance(existing, TkForm) and existing.root is root:
        return existing
    return TkForm(root, coalesce_data=coalesce_data, poll_ms=poll_ms)
