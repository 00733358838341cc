"""Type-ahead in a Tk form under Xvfb: ``group="suggest", exclusive=True``.

Each keystroke asks for a suggestion while the server is slow; a newer keystroke supersedes
the older calls of the group, so only the newest answer ever reaches the widget, every widget
call runs on the Tk thread, and the older calls end (once) as ``terminated``.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from aikit import OpenAI, OpenAIChatCompletionsResult, process
from aikit.testing import FakeOpenAIServer
from tests.gui_support import ThreadLog, spin, tk_root  # noqa: F401
from tests.process.conftest import clean_processes, display  # noqa: F401

pytestmark = pytest.mark.gui

T = 20.0


class Suggestions:
    """The form: an Entry the user types into, a Label that shows the suggestion."""

    def __init__(self, root: Any, client: OpenAI) -> None:
        import tkinter

        self.client = client
        self.entry = tkinter.Entry(root)
        self.label = tkinter.Label(root, text="")
        self.entry.pack()
        self.label.pack()
        self.entry.bind("<<Typed>>", self.typed)
        self.results: dict[str, OpenAIChatCompletionsResult] = {}
        self.ended: dict[str, tuple[int, OpenAIChatCompletionsResult]] = {}
        self.errors: dict[str, list[str]] = {}
        self.shown: list[str] = []
        self.callback_threads: set[int] = set()

    def press(self, char: str) -> None:
        """One keystroke: the character lands in the Entry, which tells the form."""
        self.entry.insert("end", char)
        self.entry.event_generate("<<Typed>>")

    def typed(self, _event: Any) -> None:
        text = self.entry.get()
        self.results[text] = self.client.chat.completions.create(
            [{"role": "user", "content": text}],
            group="suggest",
            exclusive=True,
            on_response=self.show,
            on_error=lambda r: self.failed(text, r),
            on_terminate=lambda r: self.end(text, r),
        )

    def show(self, result: OpenAIChatCompletionsResult) -> None:
        self.callback_threads.add(threading.get_ident())
        assert result.choice is not None and result.choice.message is not None
        text = result.choice.message.text or ""
        self.shown.append(text)
        self.label.configure(text=text)

    def failed(self, text: str, result: OpenAIChatCompletionsResult) -> None:
        self.callback_threads.add(threading.get_ident())
        self.errors.setdefault(text, []).extend(e.kind.value for e in result.errors)

    def end(self, text: str, result: OpenAIChatCompletionsResult) -> None:
        self.callback_threads.add(threading.get_ident())
        assert text not in self.ended, f"on_terminate ran twice for {text!r}"
        self.ended[text] = (threading.get_ident(), result)


def test_type_ahead_shows_only_the_newest_answer(
    tk_root: Any, aikit_server: FakeOpenAIServer, aikit_client: OpenAI,  # noqa: F811
) -> None:
    process.tk.attach(tk_root)
    form = Suggestions(tk_root, aikit_client)
    log = ThreadLog()
    log.wrap(form.label, "configure", label="label")
    log.wrap(form.entry, "insert", "get", "event_generate", label="entry")
    assert spin(tk_root.update, form.entry.winfo_ismapped, T)  # events reach a shown window
    # Slow answers: each keystroke's call is still waiting for its answer on the server when
    # the next key comes (typed through the Tk loop as soon as the server has the request).
    aikit_server.delay_next(2.0, times=3)
    for i, char in enumerate("abc"):
        tk_root.after(0, form.press, char)
        assert spin(tk_root.update, lambda n=i + 1: len(aikit_server.requests) == n, T)
    assert spin(tk_root.update, lambda: len(form.ended) == 3, T), (
        f"calls did not all end: {sorted(form.ended)}"
    )

    tk_thread = threading.get_ident()
    assert list(form.results) == ["a", "ab", "abc"]
    assert form.shown == ["Echo: abc"]  # the only answer that ever reached the widget
    assert form.label.cget("text") == "Echo: abc"
    assert [what for what, _ in log.calls if what == "label.configure"] == ["label.configure"]
    assert log.foreign(tk_thread) == [] and "entry.insert" in log.names()
    assert form.callback_threads == {tk_thread}
    assert {thread for thread, _ in form.ended.values()} == {tk_thread}
    for older in ("a", "ab"):
        _, result = form.ended[older]
        assert result is form.results[older] and not result.success
        assert form.errors[older] == ["terminated"]  # on_error once, superseded
        assert "Superseded" in result.errors[0].message
    _, newest = form.ended["abc"]
    assert newest is form.results["abc"] and newest.success
    assert "abc" not in form.errors
