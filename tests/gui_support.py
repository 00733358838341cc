"""Helpers for the GUI tests: load a sample, pump a GUI loop, record threads, take screenshots.

Screenshots of Tk windows go through ``xwd`` (package x11-apps) and a small pure-Python XWD to
PNG converter, so no imaging library is needed; ``png_pixels`` reads a PNG back (whoever wrote
it, Qt included) so a test can check that the picture is not blank.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import importlib
import shutil
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"


def import_sample(name: str) -> ModuleType:
    """Import ``samples/<name>.py`` as a module (samples import their ``_common`` sibling)."""
    if name in sys.modules:
        return sys.modules[name]
    sys.path.insert(0, str(SAMPLES))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(SAMPLES))


def spin(step: Callable[[], object], predicate: Callable[[], bool], timeout: float) -> bool:
    """Run one GUI loop ``step`` (``root.update``, ``app.processEvents``) until ``predicate``."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        step()
        time.sleep(0.002)
    return True


class ThreadLog:
    """Wraps methods of GUI objects to record which thread called them.

    GUI toolkits may only be called from their own thread; a call from an aikit I/O thread
    would show up here as a second thread ident.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def wrap(self, obj: Any, *names: str, label: str = "") -> None:
        for name in names:
            original = getattr(obj, name)
            setattr(obj, name, self._recorder(f"{label or type(obj).__name__}.{name}", original))

    def _recorder(self, what: str, original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def recorded(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((what, threading.get_ident()))
            return original(*args, **kwargs)

        return recorded

    def names(self) -> set[str]:
        return {what for what, _ in self.calls}

    def foreign(self, ident: int) -> list[tuple[str, int]]:
        """Calls made on any thread other than ``ident``."""
        return [(what, t) for what, t in self.calls if t != ident]


# -- screenshots ------------------------------------------------------------------------------


def xwd_window(window_id: int, display: str, out: Path) -> Path:
    """Dump one X window with ``xwd`` and convert it to PNG at ``out``."""
    xwd = shutil.which("xwd")
    if xwd is None:
        raise FileNotFoundError("xwd is not installed (Debian/Ubuntu package x11-apps)")
    raw = subprocess.run(
        [xwd, "-silent", "-display", display, "-id", str(window_id)],
        check=True,
        capture_output=True,
        timeout=20,
    ).stdout
    out.write_bytes(xwd_to_png(raw))
    return out


def xwd_to_png(data: bytes) -> bytes:
    """Convert an X Window Dump (ZPixmap, TrueColor, 16/24/32 bits per pixel) to RGB PNG."""
    if len(data) < 100:
        raise ValueError("not an XWD file: too short")
    header = struct.unpack(">25I", data[:100])
    (size, version, fmt, _depth, width, height, _xoff, byte_order, _unit, _bit_order, _pad,
     bpp, bytes_per_line, _visual, red_mask, green_mask, blue_mask, _bits_rgb, _cmap,
     ncolors) = header[:20]
    if version != 7 or fmt != 2:
        raise ValueError(f"unsupported XWD file (version {version}, format {fmt})")
    if bpp not in (16, 24, 32):
        raise ValueError(f"unsupported XWD pixel size: {bpp} bits")
    offset = size + ncolors * 12
    step = bpp // 8
    endian = "little" if byte_order == 0 else "big"
    masks = [(mask, (mask & -mask).bit_length() - 1, mask >> ((mask & -mask).bit_length() - 1))
             for mask in (red_mask, green_mask, blue_mask)]
    rows: list[bytes] = []
    for y in range(height):
        line = data[offset + y * bytes_per_line: offset + y * bytes_per_line + width * step]
        if len(line) < width * step:
            raise ValueError("truncated XWD pixel data")
        if step == 4 and endian == "little" and (red_mask, green_mask, blue_mask) == (
            0xFF0000, 0xFF00, 0xFF
        ):  # the common case (Xvfb depth 24): B G R X bytes, sliced without a pixel loop
            rgb = bytearray(width * 3)
            rgb[0::3], rgb[1::3], rgb[2::3] = line[2::4], line[1::4], line[0::4]
        else:
            rgb = bytearray()
            for x in range(0, width * step, step):
                pixel = int.from_bytes(line[x: x + step], endian)
                for mask, shift, top in masks:
                    rgb.append(((pixel & mask) >> shift) * 255 // top if top else 0)
        rows.append(bytes(rgb))
    return png_rgb(width, height, rows)


def png_rgb(width: int, height: int, rows: Iterable[bytes]) -> bytes:
    """Encode 8-bit RGB rows as PNG (filter 0 on every row)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    raw = b"".join(b"\x00" + row for row in rows)
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 6))
            + chunk(b"IEND", b""))


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Decode an 8-bit RGB/RGBA, non-interlaced PNG: ``(width, height, rows of RGB bytes)``."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG file")
    pos, idat, ihdr = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos: pos + 4])
        kind, body = data[pos + 4: pos + 8], data[pos + 8: pos + 8 + length]
        if kind == b"IHDR":
            ihdr = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", ihdr)
    if depth != 8 or color not in (2, 6) or interlace:
        raise ValueError(f"unsupported PNG (depth {depth}, color type {color})")
    bpp = 3 if color == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    previous = bytearray(stride)
    rows: list[bytes] = []
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1: start + 1 + stride])
        for i in range(stride) if kind else ():
            a = line[i - bpp] if i >= bpp else 0
            b = previous[i]
            c = previous[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pred) & 0xFF
        previous = line
        rgb = bytes(line) if bpp == 3 else bytes(
            v for i, v in enumerate(line) if i % 4 != 3
        )
        rows.append(rgb)
    return width, height, rows


def distinct_colors(
    rows: list[bytes], box: tuple[int, int, int, int] | None = None
) -> dict[bytes, int]:
    """Pixel counts per RGB value, over the whole image or ``box`` = (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box if box is not None else (0, 0, len(rows[0]) // 3, len(rows))
    counts: dict[bytes, int] = {}
    for row in rows[y0:y1]:
        for x in range(x0 * 3, x1 * 3, 3):
            pixel = row[x: x + 3]
            counts[pixel] = counts.get(pixel, 0) + 1
    return counts


@pytest.fixture
def tk_root(display: str) -> Iterator[Any]:
    """A real Tk root on the Xvfb display (skips when no window can be opened)."""
    tkinter = pytest.importorskip("tkinter")
    try:
        root = tkinter.Tk()
    except tkinter.TclError as exc:
        pytest.skip(f"cannot open a Tk window on {display}: {exc}")
    yield root
    with contextlib.suppress(tkinter.TclError):
        root.destroy()
    del root
    # Tk objects live in reference cycles; collect them here, on the Tk thread. Left to the
    # cyclic GC they may be freed on an aikit I/O thread, and Tcl aborts the process.
    gc.collect()


# -- a sample's own --self-test, photographed just before it closes its window -----------------


def shoot_sample_self_test(name: str, out: str) -> int:
    """Run ``samples/<name>.py --self-test`` in this process; photograph the window at the end.

    Meant for a subprocess (``python -c``) on an X display: the sample's own ``main`` runs
    unchanged, but its window's last close (``Tk.destroy`` for tk_chat, ``ChatWindow.close`` for
    qt_chat, both called once the streamed answer is shown) first dumps the window with ``xwd``
    to ``out`` (PNG) and prints ``SCREENSHOT {json}``: the image size and the box of the text
    widget inside it, so the caller can check that text was drawn there.
    """
    import json
    import os

    sample = import_sample(name)
    windows: list[Any] = []
    init = sample.ChatWindow.__init__

    def record(self: Any, *args: Any, **kwargs: Any) -> None:
        windows.append(self)
        init(self, *args, **kwargs)

    sample.ChatWindow.__init__ = record
    display = os.environ["DISPLAY"]

    def shoot(window_id: int, box: tuple[int, int, int, int]) -> None:
        try:
            xwd_window(window_id, display, Path(out))
            print("SCREENSHOT " + json.dumps({"path": out, "text_box": box}), flush=True)
        except (OSError, ValueError, subprocess.SubprocessError) as exc:
            print(f"SCREENSHOT-FAILED {type(exc).__name__}: {exc}", flush=True)

    if name == "tk_chat":
        import tkinter

        destroy = tkinter.Tk.destroy

        def destroy_after_shot(root: Any) -> None:
            if windows and not Path(out).exists():
                for _ in range(5):  # let geometry and drawing settle
                    root.update_idletasks()
                    root.update()
                text = windows[0].text
                x0 = text.winfo_rootx() - root.winfo_rootx()
                y0 = text.winfo_rooty() - root.winfo_rooty()
                shoot(root.winfo_id(), (x0, y0, x0 + text.winfo_width(), y0 + text.winfo_height()))
            destroy(root)

        tkinter.Tk.destroy = destroy_after_shot  # type: ignore[method-assign]
    else:
        from PySide6.QtCore import QPoint
        from PySide6.QtWidgets import QApplication

        close = sample.ChatWindow.close

        def close_after_shot(window: Any) -> Any:
            if not Path(out).exists():
                for _ in range(5):
                    QApplication.processEvents()
                    time.sleep(0.02)
                view = window.view
                at = view.mapTo(window, QPoint(0, 0))
                box = (at.x(), at.y(), at.x() + view.width(), at.y() + view.height())
                shoot(int(window.winId()), box)
            return close(window)

        sample.ChatWindow.close = close_after_shot
    return int(sample.main(["--self-test"]))
