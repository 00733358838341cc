"""The command line as a user runs it: a real process, a pipe or a terminal (POSIX only)."""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

from aikit.testing import FakeOpenAIServer

if sys.platform == "win32":  # pragma: no cover
    pytest.skip("pty and SIGINT: POSIX only", allow_module_level=True)

import pty

ROOT = pathlib.Path(__file__).resolve().parents[1]
NO_KEY = ("aikit: error: no API key: set OPENAI_API_KEY (export OPENAI_API_KEY=sk-...) "
          "or pass --api-key")


@pytest.fixture
def env(tmp_path: pathlib.Path) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AIKIT_"))}
    out["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + out.get("PYTHONPATH", "")
    out["AIKIT_DATA_DIR"] = str(tmp_path / "data")
    out["NO_PROXY"] = "127.0.0.1,localhost"
    out.pop("NO_COLOR", None)
    return out


def aikit(env: dict[str, str], *args: str, stdin: str | None = None,
          timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aikit", *args], input=stdin, capture_output=True, text=True,
        timeout=timeout, env=env, cwd=ROOT,
        stdin=None if stdin is not None else subprocess.DEVNULL)


def in_pty(env: dict[str, str], *args: str) -> tuple[subprocess.Popen[bytes], int]:
    """The command with a terminal as stdin, stdout and stderr; returns it and the master."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "aikit", *args], stdin=slave, stdout=slave,
                            stderr=slave, env=env, cwd=ROOT, start_new_session=True)
    os.close(slave)
    return proc, master


def read_until(master: int, proc: subprocess.Popen[bytes], predicate: object,
               limit: float = 60) -> bytes:
    """Everything the terminal shows until ``predicate(output)`` or the process ends."""
    import select

    out = b""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if callable(predicate) and predicate(out):
            break
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                data = os.read(master, 4096)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            out += data
        elif proc.poll() is not None:
            break
    return out


@pytest.fixture
def url(aikit_server: FakeOpenAIServer) -> str:
    return aikit_server.url


def test_options_before_and_after_the_command(env: dict[str, str], url: str,
                                              aikit_server: FakeOpenAIServer) -> None:
    key = aikit_server.api_key or ""
    done = aikit(env, "--base-url", url, "--api-key", key, "models")
    assert done.returncode == 0, done.stderr
    assert "fake-gpt-4o-mini" in done.stdout
    assert aikit_server.requests[-1].path == "/v1/models"
    done = aikit(env, "chat", "after", "--base-url", url, "--api-key", key)
    assert done.returncode == 0 and done.stdout.strip() == "Echo: after"


def test_env_key_with_a_local_url_stays_local(env: dict[str, str], url: str,
                                              aikit_server: FakeOpenAIServer) -> None:
    env["OPENAI_API_KEY"] = aikit_server.api_key or ""
    done = aikit(env, "--base-url", url, "hello local")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Echo: hello local"
    assert aikit_server.requests[-1].json["messages"][-1]["content"] == "hello local"


def test_stdin_from_a_pipe(env: dict[str, str], url: str,
                           aikit_server: FakeOpenAIServer) -> None:
    opts = ["--base-url", url, "--api-key", aikit_server.api_key or ""]
    done = aikit(env, *opts, "chat", "summarise", stdin="line one\nline two\n")
    assert done.returncode == 0, done.stderr
    sent = aikit_server.requests[-1].json["messages"][-1]["content"]
    assert sent == "summarise\n\nline one\nline two\n"
    done = aikit(env, *opts, stdin="only stdin")
    assert done.returncode == 0, done.stderr
    assert aikit_server.requests[-1].json["messages"][-1]["content"] == "only stdin"
    done = aikit(env, *opts, "chat")
    assert done.returncode == 2 and len(done.stderr.splitlines()) == 1


def test_continue_across_invocations_and_logs(env: dict[str, str], url: str,
                                              aikit_server: FakeOpenAIServer) -> None:
    opts = ["--base-url", url, "--api-key", aikit_server.api_key or ""]
    assert aikit(env, *opts, "first question").returncode == 0
    done = aikit(env, *opts, "-c", "second question")
    assert done.returncode == 0, done.stderr
    messages = aikit_server.requests[-1].json["messages"]
    assert [(m["role"], m["content"]) for m in messages] == [
        ("user", "first question"), ("assistant", "Echo: first question"),
        ("user", "second question")]
    done = aikit(env, "logs", "-n", "2")
    assert done.returncode == 0, done.stderr
    assert done.stdout.index("> first question") < done.stdout.index("> second question")
    assert "Echo: second question" in done.stdout


def test_timeout_against_a_silent_server(env: dict[str, str], url: str,
                                         aikit_server: FakeOpenAIServer) -> None:
    aikit_server.delay_next(30)
    started = time.monotonic()
    done = aikit(env, "--base-url", url, "--api-key", aikit_server.api_key or "",
                 "--timeout", "2", "chat", "hello?")
    took = time.monotonic() - started
    assert done.returncode == 1
    assert done.stderr.startswith("aikit: error:") and len(done.stderr.splitlines()) == 1
    assert 1.5 < took < 15


def test_ctrl_c_during_a_stream(env: dict[str, str], url: str,
                                aikit_server: FakeOpenAIServer) -> None:
    aikit_server.chunk_delay = 0.05
    aikit_server.stream_tokens_next(500)
    proc, master = in_pty(env, "--base-url", url, "--api-key", aikit_server.api_key or "",
                          "chat", "count")
    try:
        shown = read_until(master, proc, lambda out: out.count(b"tok") >= 5)
        assert b"tok" in shown
        os.killpg(proc.pid, signal.SIGINT)
        shown += read_until(master, proc, lambda out: False, limit=30)
        assert proc.wait(30) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        os.close(master)
    assert b"Traceback" not in shown
    assert shown.endswith(b"\n")  # the shell prompt starts on a new line
    assert b"tok499" not in shown


def test_colour_only_on_a_terminal(env: dict[str, str]) -> None:
    proc, master = in_pty(env, "--base-url", "https://api.example.invalid/v1", "models")
    try:
        shown = read_until(master, proc, lambda out: False, limit=30)
        assert proc.wait(30) == 2
    finally:
        os.close(master)
    assert b"\x1b[31maikit: error: no API key" in shown
    env["NO_COLOR"] = "1"
    proc, master = in_pty(env, "--base-url", "https://api.example.invalid/v1", "models")
    try:
        shown = read_until(master, proc, lambda out: False, limit=30)
        assert proc.wait(30) == 2
    finally:
        os.close(master)
    assert b"\x1b[" not in shown and b"aikit: error: no API key" in shown


def test_broken_pipe_is_quiet(env: dict[str, str], url: str,
                              aikit_server: FakeOpenAIServer) -> None:
    cmd = (f"{sys.executable} -m aikit --base-url {url} --api-key "
           f"{aikit_server.api_key or ''} models | head -1")
    done = subprocess.run(["/bin/sh", "-c", cmd], capture_output=True, text=True, timeout=60,
                          env=env, cwd=ROOT, stdin=subprocess.DEVNULL)
    assert done.returncode == 0
    assert done.stdout.strip()
    assert "Traceback" not in done.stderr and done.stderr == ""
    # A reader that leaves before the answer is written: the writer still exits quietly.
    proc = subprocess.Popen([sys.executable, "-m", "aikit", "--base-url", url, "--api-key",
                             aikit_server.api_key or "", "--json", "models"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT,
                            stdin=subprocess.DEVNULL)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    status = proc.wait(60)
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert status in (0, 141), err
    assert "Traceback" not in err and err == ""


def test_no_key_and_a_remote_url_sends_nothing(env: dict[str, str],
                                               aikit_server: FakeOpenAIServer) -> None:
    # Anything sent to the remote name would go through this proxy, which logs it; a DNS
    # lookup would not even be tried through a proxy.
    proxy = aikit_server.url.rsplit("/v1", 1)[0]
    env.update(HTTP_PROXY=proxy, http_proxy=proxy, HTTPS_PROXY=proxy, https_proxy=proxy)
    for remote in ("https://api.example.invalid/v1", "http://api.example.invalid/v1"):
        done = aikit(env, "--base-url", remote, "chat", "secret prompt")
        assert done.returncode == 2
        assert done.stderr == NO_KEY + "\n"
        done = aikit(env, "models", "--base-url", remote)
        assert done.returncode == 2 and done.stderr == NO_KEY + "\n"
    assert aikit_server.requests == []
    # With a key the same command goes out (to the proxy): the check above happened first.
    aikit(env, "--base-url", "http://api.example.invalid/v1", "--api-key", "sk-x",
          "--timeout", "5", "models")
    assert len(aikit_server.requests) == 1
