"""The command line over real sockets: every command, --json, and one-line errors."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

from aikit.cli import main
from aikit.testing import FakeOpenAIServer

ROOT = pathlib.Path(__file__).resolve().parents[1]


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AIKIT_"))}
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "aikit", *args], capture_output=True,
                          text=True, timeout=timeout, env=env, cwd=ROOT)


def test_demo_says_it_uses_the_simulator_first() -> None:
    done = run("demo", timeout=120)
    assert done.returncode == 0, done.stderr
    first = done.stdout.splitlines()[0]
    assert "embedded simulator" in first and "http://127.0.0.1:" in first
    assert "Echo: Why is 42 a special number?" in done.stdout
    assert "same as caller: True" in done.stdout


def test_serve_prints_its_url_first() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env["PYTHONPATH"] = str(ROOT / "src")
    proc = subprocess.Popen([sys.executable, "-m", "aikit", "serve"], stdout=subprocess.PIPE,
                            text=True, env=env)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        assert main(["models", "--base-url", url, "--api-key", "sk-any"]) == 0
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def opts(aikit_server: FakeOpenAIServer) -> list[str]:
    return ["--base-url", aikit_server.url, "--api-key", aikit_server.api_key]


def test_commands(opts: list[str], tmp_path: pathlib.Path, aikit_server: FakeOpenAIServer,
                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", *opts]) == 0
    assert "fake-gpt-4o-mini" in capsys.readouterr().out
    assert main(["chat", "hello cli", *opts]) == 0
    assert capsys.readouterr().out.strip() == "Echo: hello cli"
    assert aikit_server.requests[-1].json["stream"] is True
    assert main(["chat", "hi", "--json", "--model", "m1", *opts]) == 0
    assert json.loads(capsys.readouterr().out)["model"] == "m1"
    assert main(["embed", "a", "b", *opts]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 2
    assert main(["image", "a cat", "--out", str(tmp_path), *opts]) == 0
    assert (tmp_path / "image0.png").read_bytes().startswith(b"\x89PNG")
    capsys.readouterr()
    assert main(["moderate", "I will kill it", *opts]) == 0
    assert capsys.readouterr().out.startswith("flagged")
    path = tmp_path / "notes.txt"
    path.write_text("file body")
    assert main(["files", "upload", str(path), *opts]) == 0
    file_id = capsys.readouterr().out.split("\t")[0]
    assert main(["files", "list", *opts]) == 0
    assert file_id in capsys.readouterr().out
    assert main(["files", "content", file_id, *opts]) == 0
    capsys.readouterr()
    assert main(["files", "delete", file_id, *opts]) == 0
    assert json.loads(capsys.readouterr().out)["deleted"] is True


def test_chat_through_the_responses_api(opts: list[str], aikit_server: FakeOpenAIServer,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chat", "hello responses", "--api", "responses", "--system", "Be brief.",
                 *opts]) == 0
    assert capsys.readouterr().out.strip() == "Echo: hello responses"
    sent = aikit_server.requests[-1]
    assert sent.path == "/v1/responses" and sent.json["stream"] is True
    assert sent.json["instructions"] == "Be brief."
    assert main(["chat", "hi", "--api", "responses", "--no-stream", *opts]) == 0
    assert capsys.readouterr().out.strip() == "Echo: hi"
    assert main(["chat", "hi", "--api", "responses", "--json", *opts]) == 0
    assert json.loads(capsys.readouterr().out)["object"] == "response"
    aikit_server.stream_fault_next("error_event", after_chunks=2)
    assert main(["chat", "hi", "--api", "responses", *opts]) == 1
    assert "aikit: error:" in capsys.readouterr().err


def test_errors_are_one_line(opts: list[str], aikit_server: FakeOpenAIServer,
                             capsys: pytest.CaptureFixture[str]) -> None:
    aikit_server.fail_next(401)
    assert main(["models", *opts]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("aikit: error:") and "401" in err and len(err.splitlines()) == 1
    assert main(["files", "upload", "/nonexistent/x.txt", *opts]) == 1
    assert "x.txt" in capsys.readouterr().err


def test_providers_masks_keys(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "AIProviders.json"
    config.write_text(json.dumps({
        "providers": {"local": {"baseURL": "http://127.0.0.1:9/v1",
                                "apiKey": "sk-local-secret-123456"}},
        "models": {"fast": {"provider": "local", "model": "m"}}}))
    monkeypatch.setenv("AIKIT_PROVIDERS", str(config))
    assert main(["providers"]) == 0
    out = capsys.readouterr().out
    assert "sk-local-secret-123456" not in out and "...3456" in out
    assert "alias fast -> local:m" in out
