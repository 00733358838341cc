"""The samples: each runs headless with ``--self-test`` against its embedded simulator, and the
chat windows are driven in-process to prove that streamed tokens, Stop and errors reach the
window on the GUI thread only (and that the Tk window actually draws: a screenshot is checked).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aikit import OpenAI
from aikit.testing import FakeOpenAIServer
from tests.gui_support import (
    REPO,
    SAMPLES,
    ThreadLog,
    distinct_colors,
    import_sample,
    png_pixels,
    spin,
    tk_root,  # noqa: F401  (a fixture shared with the streaming tests)
    xwd_window,
)

# Reused, not duplicated: the Xvfb display and the per-test process cleanup of tests/process.
from tests.process.conftest import clean_processes, display  # noqa: F401

RUN_TIMEOUT = 60  # a sample's own self-test gives up after 30 s; this is the backstop
T = 10.0
SIMULATOR_LINE = "no API key configured: using the embedded simulator at http://127.0.0.1:"


def sample_env(**extra: str) -> dict[str, str]:
    """The environment of a newcomer without a key: no OPENAI_*/AIKIT_* variable, no proxy."""
    env = {
        k: v for k, v in os.environ.items()
        if not k.upper().startswith(("OPENAI_", "AIKIT_"))
        and k.upper() not in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")
    }
    env["NO_PROXY"] = "127.0.0.1,localhost"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def run_sample(name: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, str(SAMPLES / f"{name}.py"), "--self-test"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )
    print(f"$ python samples/{name}.py --self-test  -> exit {proc.returncode}\n{proc.stdout}")
    if proc.stderr:
        print(f"[stderr]\n{proc.stderr}")
    return proc


def check_run(proc: subprocess.CompletedProcess[str], name: str, *expected: str) -> None:
    assert proc.returncode == 0, f"{name} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    first = proc.stdout.splitlines()[0]
    assert SIMULATOR_LINE in first, f"first line should say the simulator is used: {first!r}"
    for text in expected:
        assert text in proc.stdout, f"{text!r} missing from the output of {name}"


# -- every sample, as a subprocess ------------------------------------------------------------


CONSOLE_SAMPLES = {
    "sync_script": ["Echo: Why is 42 a special number?", "model_not_found", "sync_script: OK"],
    "worker_callbacks": ["[asker #", "] on_response for", "[writer #",
                         "Echo: Name a prime number", "worker_callbacks: OK"],
    "asyncio_app": ["Echo: What is 6 times 7?", "Echo: Tell me a very short story",
                    "callbacks off the loop thread: none", "asyncio_app: OK"],
}
GUI_SAMPLES = {"tk_chat", "qt_chat"}  # need a display / PySide6: tested below
# Samples added later still run here, with the checks every sample must pass.
#: Samples with a test of their own (they need an optional extra).
OWN_TESTS = {"dask_bulk": "tests/test_dask_sample.py"}
OTHER_SAMPLES = sorted(
    p.stem for p in SAMPLES.glob("*.py")
    if not p.stem.startswith("_") and p.stem not in CONSOLE_SAMPLES
    and p.stem not in GUI_SAMPLES and p.stem not in OWN_TESTS
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [*CONSOLE_SAMPLES.items(), *((name, []) for name in OTHER_SAMPLES)],
)
def test_console_sample_self_test(name: str, expected: list[str]) -> None:
    check_run(run_sample(name, sample_env()), name, *expected)


@pytest.mark.gui
def test_tk_chat_self_test(display: str) -> None:  # noqa: F811
    proc = run_sample("tk_chat", sample_env(DISPLAY=display))
    check_run(proc, "tk_chat", "You: Hello from the Tk self-test",
              "Assistant: Echo: Hello from the Tk self-test", "tk_chat: OK")


@pytest.mark.gui
def test_qt_chat_self_test() -> None:
    pytest.importorskip("PySide6.QtWidgets", reason="PySide6 is not installed (extra 'qt')")
    env = sample_env(QT_QPA_PLATFORM="offscreen")
    env.pop("DISPLAY", None)
    proc = run_sample("qt_chat", env)
    check_run(proc, "qt_chat", "You: Hello from the Qt self-test",
              "Assistant: Echo: Hello from the Qt self-test", "qt_chat: OK")


# -- the Tk window, driven in-process ---------------------------------------------------------


def tk_window(root: Any, client: OpenAI, log: ThreadLog) -> Any:
    """A tk_chat.ChatWindow whose Tk calls and callbacks are all recorded with their thread."""
    window = import_sample("tk_chat").ChatWindow(root, client, "fake-gpt-4o-mini")
    log.wrap(window.text, "insert", "see", "delete", "mark_set", "get", label="Text")
    log.wrap(window.status, "configure", label="status")
    log.wrap(window.model_box, "configure", label="model_box")
    log.wrap(root, "after", "after_cancel", "event_generate", "update", label="root")
    log.wrap(window, "_on_data", "_on_response", "_on_error", "_on_terminate", label="window")
    return window


@pytest.mark.gui
def test_tk_chat_window_streams_stops_and_stays_on_the_tk_thread(
    tk_root: Any, aikit_server: FakeOpenAIServer, aikit_client: OpenAI,  # noqa: F811
) -> None:
    log = ThreadLog()
    window = tk_window(tk_root, aikit_client, log)
    # The model list arrives through on_response on the Tk thread.
    assert spin(tk_root.update, lambda: window.models_loaded, T)
    assert "fake-gpt-4o" in window.model_box.cget("values")

    # 1. A streamed answer appears in the Text widget, token by token.
    assert window.send("hello Tk window") is not None
    assert spin(tk_root.update, lambda: window.last_result is not None, T)
    first = window.last_result
    assert first.success
    assert window.answer_text() == "Echo: hello Tk window" == first.choice.message.text
    assert window.chunks > 1  # several on_data deliveries, not one final insert
    assert "You: hello Tk window\nAssistant: Echo: hello Tk window" in window.transcript()

    # 2. Stop on a long, slow answer: on_error(terminated) + on_terminate, then no more text.
    aikit_server.chunk_delay = 0.005
    aikit_server.stream_tokens_next(5000)  # ~25 s if nobody pressed Stop
    assert window.send("a long answer please") is not None
    assert spin(tk_root.update, lambda: window.chunks >= 10, T)
    window.stop_button.invoke()  # the Stop button calls result.terminate()
    assert spin(tk_root.update, lambda: window.last_result is not first, T)
    stopped = window.last_result
    assert stopped.terminated and not stopped.success
    assert stopped.errors[0].kind == "terminated"
    shown = window.chunks
    assert 10 <= shown < 5000
    size = len(window.transcript())
    assert "[stopped:" in window.transcript()
    spin(tk_root.update, lambda: False, 0.3)  # keep the loop running: nothing may arrive
    assert window.chunks == shown and len(window.transcript()) == size
    assert str(window.stop_button.cget("state")) == "disabled"
    assert window.send("ask again") is not None  # the window is usable after a stop
    assert spin(tk_root.update, lambda: window.result is None, T)

    # 3. Every Tk call and every callback ran on this (the Tk) thread.
    main = threading.get_ident()
    assert {"Text.insert", "window._on_data", "window._on_error", "root.after"} <= log.names()
    assert log.foreign(main) == []


@pytest.mark.gui
def test_tk_chat_window_shows_errors(
    tk_root: Any, aikit_server: FakeOpenAIServer, aikit_client: OpenAI,  # noqa: F811
) -> None:
    window = import_sample("tk_chat").ChatWindow(tk_root, aikit_client, "fake-gpt-4o-mini")
    assert spin(tk_root.update, lambda: window.models_loaded, T)
    aikit_server.fail_next(400, body={"error": {"message": "simulated bad request",
                                                "type": "invalid_request_error"}})
    window.send("this one fails")
    assert spin(tk_root.update, lambda: window.last_result is not None, T)
    assert "[error: simulated bad request]" in window.transcript()
    assert "simulated bad request" in str(window.status.cget("text"))


@pytest.mark.gui
def test_tk_chat_screenshot(
    tk_root: Any, display: str, aikit_client: OpenAI, tmp_path: Path  # noqa: F811
) -> None:
    """A picture of the window after a streamed answer, so a broken layout is visible."""
    window = import_sample("tk_chat").ChatWindow(tk_root, aikit_client, "fake-gpt-4o-mini")
    window.send("Draw me, please: is the layout fine?")
    assert spin(tk_root.update, lambda: window.last_result is not None and window.models_loaded,
                T)
    for _ in range(5):  # let geometry and drawing settle
        tk_root.update_idletasks()
        tk_root.update()
    try:
        path = xwd_window(tk_root.winfo_id(), display, tmp_path / "tk_chat.png")
    except FileNotFoundError as exc:
        pytest.skip(f"screenshot needs xwd: {exc}")
    print(f"Tk chat screenshot: {path}")
    width, height, rows = png_pixels(path.read_bytes())
    assert width >= 600 and height >= 400, f"window is {width}x{height}, asked 600x400"
    colors = distinct_colors(rows)
    assert len(colors) >= 4, f"the screenshot is (almost) one flat colour: {len(colors)} colours"
    # Inside the Text widget, the streamed answer is drawn: dark glyph pixels on white.
    text = window.text
    x0, y0 = text.winfo_rootx() - tk_root.winfo_rootx(), text.winfo_rooty() - tk_root.winfo_rooty()
    box = (x0, y0, x0 + text.winfo_width(), y0 + text.winfo_height())
    inside = distinct_colors(rows, box)
    background = max(inside, key=inside.__getitem__)
    ink = sum(n for rgb, n in inside.items() if sum(rgb) < 3 * 128)
    print(f"{width}x{height}, {len(colors)} colours; Text widget {box}: background "
          f"#{background.hex()}, {ink} dark pixels")
    assert background == b"\xff\xff\xff"
    assert ink > 200, "no text drawn in the Text widget"


# -- the Qt window, driven in-process ---------------------------------------------------------


@pytest.fixture(scope="module")
def qapp() -> Any:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before the QApplication exists
    widgets = pytest.importorskip("PySide6.QtWidgets", reason="PySide6 is not installed")
    return widgets.QApplication.instance() or widgets.QApplication([])


@pytest.fixture
def qt_window(qapp: Any, aikit_client: OpenAI) -> Iterator[Any]:
    from shiboken6 import delete, isValid

    window = import_sample("qt_chat").ChatWindow(aikit_client, "fake-gpt-4o-mini")
    window.show()
    yield window
    if isValid(window):
        window.close()  # closes the form: its requests are cancelled
        delete(window)


@pytest.mark.gui
def test_qt_chat_window_streams_stops_and_stays_on_the_gui_thread(
    qapp: Any, qt_window: Any, aikit_server: FakeOpenAIServer
) -> None:
    window = qt_window
    log = ThreadLog()
    log.wrap(window.view, "textCursor", "setTextCursor", "ensureCursorVisible", "toPlainText",
             label="view")
    log.wrap(window.status, "setText", "setStyleSheet", label="status")
    log.wrap(window.model_box, "addItems", label="model_box")
    log.wrap(window, "_on_data", "_on_response", "_on_error", "_on_terminate", "_on_models",
             label="window")
    step = qapp.processEvents

    assert spin(step, lambda: window.models_loaded, T)
    assert window.model_box.findText("fake-gpt-4o") >= 0

    window.entry.setText("hello Qt window")
    window.send_button.click()
    assert spin(step, lambda: window.last_result is not None, T)
    first = window.last_result
    assert first.success and window.chunks > 1
    assert window.answer_text() == "Echo: hello Qt window" == first.choice.message.text
    assert "You: hello Qt window\nAssistant: Echo: hello Qt window" in window.transcript()

    aikit_server.chunk_delay = 0.005
    aikit_server.stream_tokens_next(5000)
    assert window.send("a long answer please") is not None
    assert spin(step, lambda: window.chunks >= 10, T)
    window.stop_button.click()
    assert spin(step, lambda: window.last_result is not first, T)
    stopped = window.last_result
    assert stopped.errors[0].kind == "terminated" and not stopped.success
    shown, size = window.chunks, len(window.transcript())
    assert 10 <= shown < 5000 and "[stopped:" in window.transcript()
    spin(step, lambda: False, 0.3)
    assert window.chunks == shown and len(window.transcript()) == size
    assert not window.stop_button.isEnabled() and window.send_button.isEnabled()

    main = threading.get_ident()
    assert {"view.setTextCursor", "window._on_data", "window._on_error"} <= log.names()
    assert log.foreign(main) == []


@pytest.mark.gui
def test_qt_chat_screenshot(qapp: Any, qt_window: Any, tmp_path: Path) -> None:
    window = qt_window
    window.send("Draw me too")
    assert spin(qapp.processEvents, lambda: window.last_result is not None, T)
    qapp.processEvents()
    path = tmp_path / "qt_chat.png"
    assert window.grab().save(str(path), "PNG")
    print(f"Qt chat screenshot: {path}")
    width, height, rows = png_pixels(path.read_bytes())
    assert width >= 600 and height >= 400
    colors = distinct_colors(rows)
    print(f"{width}x{height}, {len(colors)} colours")
    assert len(colors) >= 4, "the Qt screenshot is (almost) one flat colour"
