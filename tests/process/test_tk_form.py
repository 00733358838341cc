"""The Tk adapter on a real Tk root (under Xvfb when there is no display)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from aikit import process
from aikit.process._registry import resolve_owner

tkinter = pytest.importorskip("tkinter")

pytestmark = pytest.mark.gui

T = 10.0


@pytest.fixture
def root(display: str) -> Iterator[Any]:
    try:
        tk_root = tkinter.Tk()
    except tkinter.TclError as exc:
        pytest.skip(f"cannot open a Tk window on {display}: {exc}")
    yield tk_root
    with contextlib.suppress(tkinter.TclError):  # unless the test destroyed it
        tk_root.destroy()


def spin(root: Any, predicate: Callable[[], bool], timeout: float = T) -> bool:
    """Drive Tk with update() until ``predicate()`` holds (as an update()-driven app would)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        root.update()
        time.sleep(0.002)
    return True


def post_from_worker(fn: Callable[[], Any]) -> None:
    """Run ``fn`` on a worker and wait until it has run (so its posts are queued)."""
    sig = process.Signal()
    process.call_worker("tk-poster", lambda: sig.trigger(fn()))
    assert sig.wait(T)


def test_messages_run_on_the_tk_thread_in_order(root: Any) -> None:
    form = process.tk.attach(root)
    assert process.current_process().kind == "form"
    assert resolve_owner() is form
    seen: list[tuple[int, int]] = []

    def produce() -> None:
        for i in range(100):
            process.call_form(form, lambda i=i: seen.append((i, threading.get_ident())))

    post_from_worker(produce)
    assert seen == []  # nothing runs until Tk processes events
    assert spin(root, lambda: len(seen) == 100)
    assert [i for i, _ in seen] == list(range(100))
    assert {ident for _, ident in seen} == {threading.get_ident()}


def test_main_process_messages_are_delivered_by_tk_while_attached(root: Any) -> None:
    process.tk.attach(root)
    ran: list[int] = []
    post_from_worker(lambda: process.call_worker(1, lambda: ran.append(threading.get_ident())))
    assert spin(root, lambda: bool(ran))  # no pump(): the Tk loop delivers
    assert ran == [threading.get_ident()]


def test_mainloop_delivers_messages(root: Any) -> None:
    form = process.tk.attach(root)
    log: list[str] = []
    root.after(int(T * 1000), root.quit)  # safety net: never hang the suite

    def start() -> None:
        process.call_worker(
            "tk-poster",
            lambda: (
                process.call_form(form, log.append, "hello"),
                process.call_form(form, root.quit),
            ),
        )

    root.after(0, start)
    root.mainloop()
    assert log == ["hello"]


def test_destroying_the_root_closes_the_form(root: Any, new_request: Any) -> None:
    form = process.tk.attach(root)
    req = new_request()
    assert form.track(req)
    ran: list[str] = []
    post_from_worker(
        lambda: (
            process.call_form(form, ran.append, "form message"),
            process.call_worker(1, ran.append, "process message"),
        )
    )
    root.destroy()
    assert not form.is_alive()
    assert req.cancelled.is_set()
    assert process.current_process().kind == "main"
    assert process.call_form(form, ran.append, "late") is False
    assert process.pump(T)
    assert ran == ["process message"]  # the form's pending message was dropped


def test_a_message_that_destroys_the_root_stops_delivery(root: Any) -> None:
    form = process.tk.attach(root)
    ran: list[str] = []
    post_from_worker(
        lambda: (
            process.call_form(form, ran.append, "before"),
            process.call_form(form, root.destroy),
            process.call_form(form, ran.append, "after"),
        )
    )
    assert spin(root, lambda: not form.is_alive())
    assert ran == ["before"]


def test_destroying_a_child_widget_keeps_the_form(root: Any) -> None:
    form = process.tk.attach(root)
    label = tkinter.Label(root, text="child")
    label.pack()
    label.destroy()
    root.update()
    assert form.is_alive()
    done: list[bool] = []
    post_from_worker(lambda: process.call_form(form, done.append, True))
    assert spin(root, lambda: bool(done))


def test_coalescing_on_tk(root: Any) -> None:
    form = process.tk.attach(root, coalesce_data=True)
    seen: list[Any] = []

    def produce() -> None:
        for i in range(200):
            form.post(seen.append, i, key="stream")
        form.post(seen.append, "final")

    post_from_worker(produce)
    assert spin(root, lambda: "final" in seen)
    assert seen == [199, "final"]


def test_attach_is_idempotent_per_root_and_checks_its_argument(root: Any) -> None:
    form = process.tk.attach(root)
    assert process.tk.attach(root) is form
    with pytest.raises(TypeError, match="root"):
        process.tk.attach("root")
    other = tkinter.Toplevel(root)
    with pytest.raises(RuntimeError, match="already attached"):
        process.tk.attach(other)
