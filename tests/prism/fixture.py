"""Start and stop Stoplight Prism as a request-conformance oracle for OpenAI's spec.

``prism_server(log_path)`` is a context manager yielding ``http://127.0.0.1:PORT/v1``. Prism
validates every request against ``openai-openapi.aikit-v1.prism.yaml`` (next to this file; pass
``spec=SPEC_V2`` for the v2 file with ``/v1/responses*``) and answers 422 (or 415 for a wrong
Content-Type) with a ``validation`` list when it does not conform.

Availability rules (see README.md): no ``node`` on PATH -> the caller skips; ``node`` present but
Prism not installed in ``node_modules`` -> the caller skips on a developer machine and fails in
CI (``CI`` set, where ``.ci/run`` installs it), telling to run ``npm ci`` here.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "API_KEY",
    "HERE",
    "SPEC",
    "SPEC_V2",
    "PrismUnavailable",
    "find_prism",
    "prism_server",
]

HERE = Path(__file__).resolve().parent
SPEC = HERE / "openai-openapi.aikit-v1.prism.yaml"
#: The larger spec with the Responses API (and more); Prism takes 8-20 s to load it.
SPEC_V2 = HERE / "openai-openapi.aikit-v2.prism.yaml"
#: Any non-empty bearer key satisfies the spec's security scheme.
API_KEY = "sk-prism-test"
HOST = "127.0.0.1"
STARTUP_TIMEOUT = 30.0
#: Prism compiles the v2 spec's schemas for 8-20 s before it answers.
STARTUP_TIMEOUT_V2 = 45.0


class PrismUnavailable(Exception):
    """Prism cannot run here. ``skip`` is True when the tests should skip (no Node.js, or Prism
    not installed outside CI); False for a setup error that must fail (Prism missing in CI)."""

    def __init__(self, message: str, *, skip: bool) -> None:
        super().__init__(message)
        self.skip = skip


def find_prism() -> Path:
    """The ``prism`` launcher installed by ``npm ci`` in this folder; raises PrismUnavailable."""
    node = shutil.which("node")
    if node is None:
        raise PrismUnavailable(
            "node/npm not installed: Node.js is needed to run Stoplight Prism "
            "(install Node.js and npm, then run `npm ci` in tests/prism)",
            skip=True,
        )
    names = ("prism.cmd", "prism") if sys.platform == "win32" else ("prism",)
    for name in names:
        candidate = HERE / "node_modules" / ".bin" / name
        if candidate.is_file():
            return candidate
    hint = "" if shutil.which("npm") else " (npm is missing too: install npm first)"
    raise PrismUnavailable(
        "Stoplight Prism is not installed: run `npm ci` in tests/prism "
        f"(CI does this; `npm install --no-audit --no-fund` also works){hint}",
        skip=not os.environ.get("CI"),
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _answers(port: int) -> bool:
    """True once ``GET /v1/models`` with a bearer key gets HTTP 200 (no proxy involved)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=2.0)
    try:
        conn.request("GET", "/v1/models", headers={"Authorization": f"Bearer {API_KEY}"})
        response = conn.getresponse()
        response.read()
        return response.status == 200
    except OSError:
        return False
    finally:
        conn.close()


def _log_tail(log_path: Path, limit: int = 2000) -> str:
    try:
        text = log_path.read_text("utf-8", "replace")
    except OSError:
        return "(no log)"
    return text[-limit:] or "(empty log)"


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate the Prism process we started (and its own children, via its process group)."""
    if proc.poll() is not None:
        return
    if sys.platform == "win32":
        proc.terminate()
    else:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        if sys.platform == "win32":
            proc.kill()
        else:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def _start(
    prism: Path, log_path: Path, spec: Path = SPEC
) -> tuple[subprocess.Popen[bytes], int] | str:
    """One attempt: the running process and its port, or an error text."""
    port = _free_port()
    env = dict(os.environ)
    env.pop("NODE_ENV", None)  # "production" would make Prism fork a second process
    cmd = [str(prism), "mock", "-h", HOST, "-p", str(port), "-v", "error", str(spec)]
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=HERE,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=sys.platform != "win32",
        )
    timeout = STARTUP_TIMEOUT if spec == SPEC else STARTUP_TIMEOUT_V2
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return f"Prism exited with code {proc.returncode}:\n{_log_tail(log_path)}"
        if _answers(port):
            return proc, port
        time.sleep(0.1)
    _stop(proc)
    return (
        f"Prism did not answer GET /v1/models within {timeout:.0f} s:\n"
        f"{_log_tail(log_path)}"
    )


@contextlib.contextmanager
def prism_server(log_path: Path, attempts: int = 3, spec: Path = SPEC) -> Iterator[str]:
    """Run ``prism mock`` on a free port of 127.0.0.1 with ``spec`` (the v1 file by default);
    yield the base URL ending in ``/v1``.

    Raises PrismUnavailable (see `find_prism`) or RuntimeError when Prism does not start.
    The port is picked before Prism binds it, so a lost race is retried on a new port.
    """
    prism = find_prism()
    error = ""
    for _ in range(attempts):
        started = _start(prism, log_path, spec)
        if isinstance(started, str):
            error = started
            continue
        proc, port = started
        try:
            yield f"http://{HOST}:{port}/v1"
        finally:
            _stop(proc)
        return
    raise RuntimeError(error)
