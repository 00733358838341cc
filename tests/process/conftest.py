"""Fixtures for aikit.process: a clean process registry per test, and a display for Tk."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from aikit import process
from aikit.process._process import MAIN
from aikit.process._registry import shutdown_workers

TIMEOUT = 10.0  # generous: a correct run takes milliseconds


@pytest.fixture(autouse=True)
def clean_processes() -> Iterator[None]:
    """Every test starts and ends with no worker, no form and an empty main mailbox."""
    _reset()
    yield
    _reset()


def _reset() -> None:
    assert shutdown_workers(TIMEOUT), "worker threads did not end"
    form = MAIN._form
    if form is not None:
        form.close()
    process.kill_worker(1)  # on the main process this only empties the mailbox (4D rule)


def wait_for(predicate: Callable[[], bool], timeout: float = TIMEOUT) -> bool:
    """Wait for a condition set by another thread, checking every 5 ms (test harness only)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


class FakeRequest:
    """Stands in for an HTTP request: records ``cancel()`` and the thread that called it."""

    def __init__(self) -> None:
        self.cancelled = threading.Event()
        self.cancel_thread: int | None = None

    def cancel(self) -> None:
        self.cancel_thread = threading.get_ident()
        self.cancelled.set()


@pytest.fixture
def new_request() -> Callable[[], FakeRequest]:
    """A factory of fake in-flight requests (fixtures avoid importing conftest by name)."""
    return FakeRequest


@pytest.fixture(name="wait_for")
def wait_for_fixture() -> Callable[..., bool]:
    return wait_for


# -- display for Tk --------------------------------------------------------------------------


def _free_display() -> int:
    for number in range(90, 400):
        if (
            not Path(f"/tmp/.X11-unix/X{number}").exists()
            and not Path(f"/tmp/.X{number}-lock").exists()
        ):
            return number
    raise RuntimeError("no free X display number")


@pytest.fixture(scope="session")
def display() -> Iterator[str]:
    """An X display: $DISPLAY if set, else a private Xvfb started (and stopped) here."""
    pytest.importorskip("tkinter", reason="tkinter is not available")
    existing = os.environ.get("DISPLAY")
    if existing:
        yield existing
        return
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        pytest.skip("Tk tests need a display: DISPLAY is unset and Xvfb is not on PATH")
    number = _free_display()
    proc = subprocess.Popen(
        [xvfb, f":{number}", "-screen", "0", "640x480x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        socket = Path(f"/tmp/.X11-unix/X{number}")
        if not wait_for(lambda: socket.exists() or proc.poll() is not None):
            pytest.skip("Xvfb did not start within 10 s")
        if proc.poll() is not None:
            pytest.skip(f"Xvfb exited with status {proc.returncode}")
        os.environ["DISPLAY"] = f":{number}"
        yield f":{number}"
    finally:
        os.environ.pop("DISPLAY", None)
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
