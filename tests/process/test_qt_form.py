"""The Qt adapter with PySide6 on the offscreen platform."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from aikit import process
from aikit.process._registry import resolve_owner

pytestmark = pytest.mark.gui

T = 10.0
REPO = Path(process.__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def qapp() -> Any:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before the QApplication exists
    widgets = pytest.importorskip("PySide6.QtWidgets")
    return widgets.QApplication.instance() or widgets.QApplication([])


@pytest.fixture
def widget(qapp: Any) -> Any:
    from PySide6.QtWidgets import QWidget
    from shiboken6 import delete, isValid

    w = QWidget()
    yield w
    if isValid(w):
        delete(w)


def spin(app: Any, predicate: Callable[[], bool], timeout: float = T) -> bool:
    """Run Qt's event processing (deferred deletes included) until ``predicate()`` holds."""
    from PySide6.QtCore import QEvent

    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        app.processEvents()
        app.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        time.sleep(0.002)
    return True


def post_from_worker(fn: Callable[[], Any]) -> None:
    sig = process.Signal()
    process.call_worker("qt-poster", lambda: sig.trigger(fn()))
    assert sig.wait(T)


def test_messages_run_on_the_gui_thread_in_order(qapp: Any, widget: Any) -> None:
    form = process.qt.attach(widget)
    assert process.current_process().kind == "form"
    assert resolve_owner() is form
    seen: list[tuple[int, int]] = []

    def produce() -> None:
        for i in range(300):
            process.call_form(form, lambda i=i: seen.append((i, threading.get_ident())))

    post_from_worker(produce)
    assert seen == []  # the queued signal waits for the event loop
    assert spin(qapp, lambda: len(seen) == 300)
    assert [i for i, _ in seen] == list(range(300))
    assert {ident for _, ident in seen} == {threading.get_ident()}


def test_posting_from_the_gui_thread_is_queued_not_direct(qapp: Any, widget: Any) -> None:
    form = process.qt.attach(widget)
    log: list[str] = []
    assert form.post(log.append, "queued")
    assert log == []  # a direct connection would have run it inside post()
    assert spin(qapp, lambda: log == ["queued"])


def test_main_process_messages_are_delivered_by_qt_while_attached(qapp: Any, widget: Any) -> None:
    process.qt.attach(widget)
    ran: list[int] = []
    post_from_worker(lambda: process.call_worker(1, lambda: ran.append(threading.get_ident())))
    assert spin(qapp, lambda: bool(ran))
    assert ran == [threading.get_ident()]


def test_deleting_the_widget_closes_the_form(qapp: Any, widget: Any, new_request: Any) -> None:
    from shiboken6 import delete

    form = process.qt.attach(widget)
    req = new_request()
    assert form.track(req)
    ran: list[str] = []
    post_from_worker(
        lambda: (
            process.call_form(form, ran.append, "form message"),
            process.call_worker(1, ran.append, "process message"),
        )
    )
    delete(widget)
    assert not form.is_alive()
    assert req.cancelled.is_set()
    assert process.current_process().kind == "main"
    post_from_worker(lambda: ran.append(f"late: {process.call_form(form, print)}"))
    assert process.pump(T)
    assert ran == ["late: False", "process message"]
    qapp.processEvents()
    assert "form message" not in ran


def test_delete_later_is_noticed_by_the_event_loop(qapp: Any, widget: Any) -> None:
    form = process.qt.attach(widget)
    widget.deleteLater()
    assert spin(qapp, lambda: not form.is_alive())
    assert process.call_form(form, print) is False


def test_attach_checks_thread_and_argument(qapp: Any, widget: Any) -> None:
    with pytest.raises(TypeError, match="widget_or_app"):
        process.qt.attach("widget")
    sig = process.Signal()

    def from_worker() -> None:
        try:
            process.qt.attach(widget)
        except RuntimeError as exc:
            sig.trigger(str(exc))

    process.call_worker("qt-poster", from_worker)
    assert sig.wait(T)
    assert "GUI thread" in sig.value
    form = process.qt.attach(widget)
    assert process.qt.attach(widget) is form


def test_missing_pyside6_gives_an_install_hint() -> None:
    code = """
        import sys
        sys.modules["PySide6"] = None
        try:
            import aikit.process.qt
        except ImportError as exc:
            print(exc)
    """
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    assert "pip install 'aikit-sdk[qt]'" in result.stdout
