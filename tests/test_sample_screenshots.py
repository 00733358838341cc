"""The chat samples on a real X display (Xvfb), photographed with their streamed answer shown.

- ``qt_chat --self-test`` runs with ``QT_QPA_PLATFORM=xcb`` on Xvfb, not only offscreen: this is
  what needs the xcb system libraries that ``.ci/run`` installs (without them Qt aborts, 134).
- ``tk_chat`` and ``qt_chat`` run their own ``--self-test`` in a subprocess that dumps the window
  with ``xwd`` just before the sample closes it (``tests.gui_support.shoot_sample_self_test``).
  Each picture is kept for CI in ``artifacts/screenshots/<sample>.png`` (git-ignored) and
  checked: a real size, more than a few colours, and the text widget not uniform (glyphs drawn).
  No OCR here: that the drawn text is the streamed echo is checked on the window's text, which
  ``--self-test`` prints.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from tests.gui_support import REPO, distinct_colors, png_pixels

# Reused, not duplicated: the Xvfb display of tests/process, the sample runner of test_samples.
from tests.process.conftest import display  # noqa: F401
from tests.test_samples import RUN_TIMEOUT, check_run, run_sample, sample_env

SCREENSHOTS = REPO / "artifacts" / "screenshots"
MIN_WIDTH, MIN_HEIGHT = 300, 200
MIN_COLORS = 8  # a window with widgets, borders and anti-aliased text has far more
MIN_INK = 200  # pixels of the text widget that differ from its background: drawn glyphs
EXPECTED = {
    "tk_chat": ("You: Hello from the Tk self-test", "Assistant: Echo: Hello from the Tk self-test",
                "tk_chat: OK"),
    "qt_chat": ("You: Hello from the Qt self-test", "Assistant: Echo: Hello from the Qt self-test",
                "qt_chat: OK"),
}


def need_pyside6() -> None:
    pytest.importorskip("PySide6.QtWidgets", reason="PySide6 is not installed (extra 'qt')")


@pytest.mark.gui
def test_qt_chat_self_test_on_xcb(display: str) -> None:  # noqa: F811
    """The Qt sample on a real X server (the xcb platform plugin), not the offscreen one."""
    need_pyside6()
    proc = run_sample("qt_chat", sample_env(DISPLAY=display, QT_QPA_PLATFORM="xcb"))
    assert proc.returncode != 134, (
        "Qt aborted on xcb: system libraries of the xcb platform plugin are missing "
        f"(see .ci/run):\n{proc.stderr}"
    )
    check_run(proc, "qt_chat", *EXPECTED["qt_chat"])


@pytest.mark.gui
@pytest.mark.parametrize("name", ["tk_chat", "qt_chat"])
def test_sample_screenshot(name: str, display: str) -> None:  # noqa: F811
    if name == "qt_chat":
        need_pyside6()
    if shutil.which("xwd") is None:
        pytest.skip("screenshots need xwd (Debian/Ubuntu package x11-apps)")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    out = SCREENSHOTS / f"{name}.png"
    out.unlink(missing_ok=True)
    code = ("import sys; from tests.gui_support import shoot_sample_self_test; "
            "sys.exit(shoot_sample_self_test(sys.argv[1], sys.argv[2]))")
    proc = subprocess.run(
        [sys.executable, "-c", code, name, str(out)],
        env=sample_env(DISPLAY=display, QT_QPA_PLATFORM="xcb"),
        cwd=REPO, capture_output=True, text=True, timeout=RUN_TIMEOUT,
    )
    print(f"$ {name} --self-test with a screenshot -> exit {proc.returncode}\n{proc.stdout}")
    if proc.stderr:
        print(f"[stderr]\n{proc.stderr}")
    check_run(proc, name, *EXPECTED[name])  # the window's text holds the streamed echo

    shots = [line for line in proc.stdout.splitlines() if line.startswith("SCREENSHOT")]
    assert len(shots) == 1 and shots[0].startswith("SCREENSHOT "), f"no screenshot: {shots}"
    x0, y0, x1, y1 = json.loads(shots[0].split(" ", 1)[1])["text_box"]
    print(f"{name} screenshot: {out.relative_to(REPO)}")
    width, height, rows = png_pixels(out.read_bytes())
    assert width >= MIN_WIDTH and height >= MIN_HEIGHT, f"{name} window is {width}x{height}"
    colors = distinct_colors(rows)
    assert len(colors) > MIN_COLORS, f"{name} screenshot is (almost) flat: {len(colors)} colours"

    box = (max(x0, 0), max(y0, 0), min(x1, width), min(y1, height))
    assert box[2] - box[0] >= 100 and box[3] - box[1] >= 50, f"text widget box {box}"
    inside = distinct_colors(rows, box)
    background = max(inside, key=inside.__getitem__)
    ink = sum(n for rgb, n in inside.items() if rgb != background)
    print(f"{width}x{height}, {len(colors)} colours; text widget {box}: background "
          f"#{background.hex()}, {len(inside)} colours, {ink} non-background pixels")
    assert len(inside) > 2 and ink > MIN_INK, f"no text drawn in the {name} text widget"
