"""The command line over real sockets: every command, --json, and one-line errors."""

from __future__ import annotations

import argparse
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
                          text=True, timeout=timeout, env=env, cwd=ROOT,
                          stdin=subprocess.DEVNULL)


@pytest.fixture(autouse=True)
def _data_dir(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> pathlib.Path:
    """The conversation log of every test in its own folder, never the user's."""
    folder = tmp_path / "aikit-data"
    monkeypatch.setenv("AIKIT_DATA_DIR", str(folder))
    return folder


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
                            text=True, env=env, stdin=subprocess.DEVNULL)
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


# -- options, the default command, stdin --------------------------------------------------------

def test_options_before_the_command_are_kept(aikit_server: FakeOpenAIServer,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--base-url", aikit_server.url, "--api-key", aikit_server.api_key or "",
                 "models"]) == 0
    assert aikit_server.requests[-1].path == "/v1/models"
    assert "fake-gpt-4o-mini" in capsys.readouterr().out
    # mixed: some before, some after
    assert main(["--base-url", aikit_server.url, "-m", "m-before", "chat", "hi", "--json",
                 "--api-key", aikit_server.api_key or ""]) == 0
    assert aikit_server.requests[-1].json["model"] == "m-before"


def test_env_key_does_not_send_a_local_prompt_to_openai(
        aikit_server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-the-environment-1234")
    before = len(aikit_server.requests)
    # The simulator wants its own key: a 401, but from the local server, not OpenAI.
    main(["--base-url", aikit_server.url, "chat", "local only", "--no-log"])
    assert len(aikit_server.requests) == before + 1
    assert aikit_server.requests[-1].json["messages"][-1]["content"] == "local only"
    capsys.readouterr()


def test_a_prompt_alone_means_chat(opts: list[str], aikit_server: FakeOpenAIServer,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*opts, "hello shortcut"]) == 0
    assert capsys.readouterr().out.strip() == "Echo: hello shortcut"
    assert main(["hello again", *opts]) == 0
    assert capsys.readouterr().out.strip() == "Echo: hello again"


def test_stdin_follows_the_prompt(opts: list[str], aikit_server: FakeOpenAIServer,
                                  tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    piped = tmp_path / "in.txt"
    piped.write_text("the file")
    with piped.open() as f:
        monkeypatch.setattr(sys, "stdin", f)
        assert main(["chat", "summarise", *opts]) == 0
    assert aikit_server.requests[-1].json["messages"][-1]["content"] == "summarise\n\nthe file"
    with piped.open() as f:
        monkeypatch.setattr(sys, "stdin", f)
        assert main([*opts]) == 0  # stdin alone: chat
    assert aikit_server.requests[-1].json["messages"][-1]["content"] == "the file"
    capsys.readouterr()


def test_a_prompt_is_required(opts: list[str], aikit_server: FakeOpenAIServer,
                              capsys: pytest.CaptureFixture[str]) -> None:
    before = len(aikit_server.requests)
    assert main(["chat", *opts]) == 2
    err = capsys.readouterr().err
    assert err.startswith("aikit: error: a prompt is required") and len(err.splitlines()) == 1
    assert len(aikit_server.requests) == before


def test_chat_options_reach_the_request(opts: list[str], aikit_server: FakeOpenAIServer,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chat", "hi", "-s", "Be brief.", "--temperature", "0.3", "--max-tokens", "7",
                 "-m", "m2", *opts]) == 0
    body = aikit_server.requests[-1].json
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert body["temperature"] == 0.3 and body["max_tokens"] == 7 and body["model"] == "m2"
    assert main(["chat", "hi", "--api", "responses", "--max-tokens", "20", *opts]) == 0
    assert aikit_server.requests[-1].json["max_output_tokens"] == 20
    capsys.readouterr()


def test_verbose_lines_mask_the_key(opts: list[str], aikit_server: FakeOpenAIServer,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-v", "models", *opts]) == 0
    err = capsys.readouterr().err
    assert f"GET {aikit_server.url}/models -> 200 in " in err
    key = aikit_server.api_key or ""
    assert key and key not in err
    assert "\x1b[" not in err  # not a terminal: no colour


# -- conversations ------------------------------------------------------------------------------

def test_continue_sends_the_earlier_exchanges(opts: list[str], aikit_server: FakeOpenAIServer,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chat", "first", "-s", "Sys.", *opts]) == 0
    assert main(["chat", "second", "-c", *opts]) == 0
    assert [m["content"] for m in aikit_server.requests[-1].json["messages"]] == [
        "Sys.", "first", "Echo: first", "second"]
    assert main(["chat", "other", *opts]) == 0  # a new conversation
    capsys.readouterr()
    assert main(["logs", "--json", "-n", "5"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["prompt"] for r in rows] == ["first", "second", "other"]
    assert rows[0]["cid"] == rows[1]["cid"] != rows[2]["cid"]
    assert main(["chat", "third", "--cid", rows[0]["cid"], *opts]) == 0
    assert [m["content"] for m in aikit_server.requests[-1].json["messages"]][-2:] == [
        "Echo: second", "third"]
    capsys.readouterr()
    assert main(["logs"]) == 0
    out = capsys.readouterr().out
    assert "> third" in out and "> first" not in out  # the last 3, newest last
    assert out.index("> other") < out.index("> third")
    assert main(["chat", "x", "--cid", "nope", *opts]) == 1
    assert "nope" in capsys.readouterr().err


def test_continue_with_an_empty_log_is_one_line(opts: list[str],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chat", "x", "-c", *opts]) == 1
    err = capsys.readouterr().err
    assert err.startswith("aikit: error: no conversation") and len(err.splitlines()) == 1


def test_log_location(monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path) -> None:
    from aikit._cli_log import data_dir

    assert data_dir() == pathlib.Path(os.environ["AIKIT_DATA_DIR"])
    monkeypatch.delenv("AIKIT_DATA_DIR")
    if sys.platform.startswith("linux"):
        monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
        assert data_dir() == tmp_path / "xdg" / "aikit"
        monkeypatch.delenv("XDG_DATA_HOME")
        assert data_dir() == pathlib.Path.home() / ".local" / "share" / "aikit"


# -- errors -------------------------------------------------------------------------------------

def test_no_key_for_a_remote_server_sends_nothing(
        aikit_server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    # Anything sent to the remote name would go through this proxy: the simulator logs it.
    monkeypatch.setenv("HTTP_PROXY", aikit_server.url.rsplit("/v1", 1)[0])
    monkeypatch.setenv("http_proxy", aikit_server.url.rsplit("/v1", 1)[0])
    remote = "http://api.example.invalid/v1"
    for argv in (["--base-url", remote, "models"], ["--base-url", remote, "hello"],
                 ["chat", "hi", "--base-url", remote]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err == ("aikit: error: no API key: set OPENAI_API_KEY (export "
                       "OPENAI_API_KEY=sk-...) or pass --api-key\n")
    assert aikit_server.requests == []
    # The same command with a key does go out (through the proxy): the check above is real.
    main(["--base-url", remote, "--api-key", "sk-x", "--timeout", "5", "models"])
    capsys.readouterr()
    assert len(aikit_server.requests) == 1


def test_unreachable_host_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--base-url", "http://127.0.0.1:9/v1", "models"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("aikit: error:") and "127.0.0.1:9" in err
    assert len(err.splitlines()) == 1


def test_upload_a_folder_is_one_line(opts: list[str], tmp_path: pathlib.Path,
                                     aikit_server: FakeOpenAIServer,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["files", "upload", str(tmp_path), *opts]) == 1
    err = capsys.readouterr().err
    assert "folder" in err and len(err.splitlines()) == 1
    assert aikit_server.requests == []


def test_timeout_ends_a_silent_call(opts: list[str], aikit_server: FakeOpenAIServer,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    import time

    aikit_server.delay_next(30)
    started = time.monotonic()
    assert main(["chat", "hi", "--timeout", "1", *opts]) == 1
    assert time.monotonic() - started < 10
    err = capsys.readouterr().err
    assert err.startswith("aikit: error:") and len(err.splitlines()) == 1


def test_image_never_overwrites(opts: list[str], tmp_path: pathlib.Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "image0.png").write_bytes(b"mine")
    assert main(["image", "a cat", "--out", str(tmp_path), *opts]) == 0
    assert (tmp_path / "image0.png").read_bytes() == b"mine"
    assert capsys.readouterr().out.strip() == str(tmp_path / "image1.png")
    assert (tmp_path / "image1.png").read_bytes().startswith(b"\x89PNG")


def test_every_command_has_help_with_an_example() -> None:
    from aikit.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, command in sub.choices.items():
        text = command.format_help()
        assert command.description, name
        assert "example" in text and f"aikit {name}" in text, name
    chat = sub.choices["chat"].format_help()
    assert "(default: chat)" in chat
    assert "(default: .)" in sub.choices["image"].format_help()
