"""``aikit batch run``: every line answered once, bad input refused, and a run killed at any
moment resumed without re-sending a finished line (the SQLite journal next to the output)."""

from __future__ import annotations

import io
import json
import os
import pathlib
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from aikit import OpenAI
from aikit._cli_batch import Progress
from aikit.cli import main
from aikit.testing import FakeOpenAIServer

ROOT = pathlib.Path(__file__).resolve().parents[1]


def chat_line(cid: str, **extra: Any) -> dict[str, Any]:
    """A chat line whose body carries its custom_id (``user``), to find it in the server log."""
    body = {"model": "fake-gpt-4o-mini", "user": cid,
            "messages": [{"role": "user", "content": f"hello {cid}"}], **extra}
    return {"custom_id": cid, "method": "POST", "url": "/v1/chat/completions", "body": body}


def write_jsonl(path: pathlib.Path, items: Iterable[dict[str, Any] | str]) -> pathlib.Path:
    with path.open("w", encoding="utf-8") as f:
        for item in items:
            f.write((item if isinstance(item, str) else json.dumps(item)) + "\n")
    return path


def read_output(path: pathlib.Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def sent_by(server: FakeOpenAIServer) -> Counter[str]:
    """How many requests the server received for each custom_id (the body's ``user``)."""
    return Counter(r.json.get("user") for r in server.requests if isinstance(r.json, dict))


def journal_ids(path: pathlib.Path) -> set[str]:
    """custom_ids the journal records, read without writing to it; empty while it is created."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
        try:
            return {row[0] for row in db.execute("SELECT custom_id FROM done")}
        finally:
            db.close()
    except sqlite3.Error:
        return set()


@pytest.fixture
def opts(aikit_server: FakeOpenAIServer) -> list[str]:
    return ["--base-url", aikit_server.url, "--api-key", aikit_server.api_key or ""]


def test_direct_run_sends_every_line_once(
    opts: list[str], aikit_server: FakeOpenAIServer, tmp_path: pathlib.Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    lines = [chat_line(f"c{i}", x_vendor={"n": i}) for i in range(25)]
    lines += [
        {"custom_id": "emb", "method": "POST", "url": "/v1/embeddings",
         "body": {"model": "text-embedding-3-small", "input": "abc", "user": "emb"}},
        {"custom_id": "resp", "method": "POST", "url": "/v1/responses",
         "body": {"model": "fake-gpt-4o-mini", "input": "hi", "user": "resp"}},
        {"custom_id": "mod", "method": "POST", "url": "/v1/moderations",
         "body": {"input": "I will kill it", "user": "mod"}},
    ]
    src = write_jsonl(tmp_path / "in.jsonl", lines)
    out = tmp_path / "out.jsonl"
    assert main(["batch", "run", str(src), "--out", str(out), "--concurrency", "4", *opts]) == 0
    err = capsys.readouterr().err
    assert "28/28 lines done, 28 succeeded, 0 failed" in err and len(err.splitlines()) == 1
    results = read_output(out)
    assert sorted(r["custom_id"] for r in results) == sorted(x["custom_id"] for x in lines)
    for r in results:
        assert r["id"].startswith("batch_req_") and r["error"] is None
        assert r["response"]["status_code"] == 200 and r["response"]["request_id"]
    by_id = {r["custom_id"]: r["response"]["body"] for r in results}
    assert by_id["c3"]["choices"][0]["message"]["content"] == "Echo: hello c3"
    assert by_id["emb"]["object"] == "list" and by_id["resp"]["object"] == "response"
    assert by_id["mod"]["results"][0]["flagged"] is True
    # Each body reached the wire exactly as given, extension keys included, once.
    assert sent_by(aikit_server) == Counter(x["custom_id"] for x in lines)
    sent = {r.json["user"]: r for r in aikit_server.requests}
    assert sent["c7"].json == lines[7]["body"] and sent["c7"].path == "/v1/chat/completions"
    assert sent["emb"].path == "/v1/embeddings" and sent["mod"].path == "/v1/moderations"
    # The journal records every line, and the output's length.
    assert journal_ids(tmp_path / "out.jsonl.journal") == set(by_id)


def test_failed_lines_exit_1(
    opts: list[str], aikit_server: FakeOpenAIServer, tmp_path: pathlib.Path,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = tmp_path / "AIProviders.json"
    config.write_text(json.dumps({"providers": {"local": {"baseURL": aikit_server.url}}}))
    monkeypatch.setenv("AIKIT_PROVIDERS", str(config))
    bad_route = chat_line("nowhere")
    bad_route["body"]["model"] = "unknown:model"  # no such provider: nothing sent, an error
    src = write_jsonl(tmp_path / "in.jsonl", [chat_line("a"), bad_route])
    out = tmp_path / "out.jsonl"
    aikit_server.fail_next(400)
    assert main(["batch", "run", str(src), "--out", str(out), "--concurrency", "1",
                 *opts]) == 1
    assert "2 failed" in capsys.readouterr().err
    by_id = {r["custom_id"]: r for r in read_output(out)}
    assert by_id["a"]["response"]["status_code"] == 400 and by_id["a"]["error"] is None
    assert by_id["a"]["response"]["body"]["error"]["message"]
    assert by_id["nowhere"]["response"] is None
    assert by_id["nowhere"]["error"]["code"] == "provider"
    assert by_id["nowhere"]["error"]["message"]


@pytest.mark.parametrize(("bad", "message"), [
    ('{"custom_id": "b", "body": ', "invalid JSON"),
    (json.dumps({"url": "/v1/chat/completions", "body": {}}), "missing custom_id"),
    (json.dumps(chat_line("a")), "duplicate custom_id 'a' (first on line 1)"),
    (json.dumps({**chat_line("b"), "url": "/v1/images/generations"}), "unsupported url"),
    (json.dumps({**chat_line("b"), "body": [1]}), "body must be a JSON object"),
])
def test_bad_input_sends_nothing(
    bad: str, message: str, opts: list[str], aikit_server: FakeOpenAIServer,
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str],
) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", [chat_line("a"), "", bad, chat_line("c")])
    out = tmp_path / "out.jsonl"
    assert main(["batch", "run", str(src), "--out", str(out), *opts]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("aikit: error: ")
    assert f"in.jsonl:3: {message}" in err
    assert aikit_server.requests == [] and not out.exists()


def test_api_mode_lines_share_one_url(opts: list[str], tmp_path: pathlib.Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    emb = {"custom_id": "e", "url": "/v1/embeddings", "body": {"input": "x"}}
    src = write_jsonl(tmp_path / "in.jsonl", [chat_line("a"), emb])
    assert main(["batch", "run", str(src), "--out", str(tmp_path / "o"), "--mode", "api",
                 *opts]) == 2
    assert "in.jsonl:2: url /v1/embeddings differs" in capsys.readouterr().err


def test_refuses_to_overwrite_without_resume(
    opts: list[str], aikit_server: FakeOpenAIServer, tmp_path: pathlib.Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", [chat_line("a")])
    out = tmp_path / "out.jsonl"
    out.write_text("precious\n")
    assert main(["batch", "run", str(src), "--out", str(out), *opts]) == 2
    err = capsys.readouterr().err
    assert "out.jsonl exists: use --resume" in err and "remove" in err
    assert out.read_text() == "precious\n" and aikit_server.requests == []
    # --resume over an output without a journal is refused too: it cannot be trusted.
    assert main(["batch", "run", str(src), "--out", str(out), "--resume", *opts]) == 2
    assert "has no journal" in capsys.readouterr().err
    out.unlink()
    assert main(["batch", "run", str(src), "--out", str(out), *opts]) == 0
    assert main(["batch", "run", str(src), "--out", str(out), *opts]) == 2
    assert "out.jsonl.journal exists: use --resume" in capsys.readouterr().err
    assert len(aikit_server.requests) == 1


def test_resume_sends_only_unfinished_lines(
    opts: list[str], aikit_server: FakeOpenAIServer, tmp_path: pathlib.Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    first = [chat_line(f"a{i}") for i in range(10)]
    src = write_jsonl(tmp_path / "in.jsonl", first)
    out = tmp_path / "out.jsonl"
    assert main(["batch", "run", str(src), "--out", str(out), *opts]) == 0
    # A crash after a write but before its commit leaves bytes the journal does not record.
    size = out.stat().st_size
    with out.open("ab") as f:
        f.write(b'{"id":"batch_req_x","custom_id":"b0","respo')
    more = [chat_line(f"b{i}") for i in range(5)]
    write_jsonl(src, first + more)
    assert main(["batch", "run", str(src), "--out", str(out), "--resume", *opts]) == 0
    assert "15/15 lines done, 15 succeeded, 0 failed (10 from before)" in capsys.readouterr().err
    results = read_output(out)
    assert {r["custom_id"] for r in results[:10]} == {f"a{i}" for i in range(10)}
    assert Counter(r["custom_id"] for r in results) == Counter(
        x["custom_id"] for x in first + more)
    assert out.read_bytes()[size:size + 2] == b'{"'
    assert sent_by(aikit_server) == Counter(x["custom_id"] for x in first + more)
    # Nothing left: a resume sends nothing; another input is refused.
    assert main(["batch", "run", str(src), "--out", str(out), "--resume", *opts]) == 0
    assert len(aikit_server.requests) == 15
    write_jsonl(src, more)
    assert main(["batch", "run", str(src), "--out", str(out), "--resume", *opts]) == 2
    assert "resume with the same input" in capsys.readouterr().err


def test_rpm_is_honoured(opts: list[str], aikit_server: FakeOpenAIServer,
                         tmp_path: pathlib.Path) -> None:
    # The client's bucket holds 6 s of its rate (120 requests at 1200/min), then 20/s: the
    # 30 lines past the burst take 1.5 s. The server allows the same: it never says 429.
    aikit_server.set_rate_limits(requests_per_minute=1200)
    src = write_jsonl(tmp_path / "in.jsonl", [chat_line(f"c{i}") for i in range(150)])
    started = time.monotonic()
    assert main(["batch", "run", str(src), "--out", str(tmp_path / "out.jsonl"), "--rpm", "1200",
                 "--tpm", "1000000", *opts]) == 0
    assert time.monotonic() - started >= 1.2
    assert aikit_server.status_counts[429] == 0 and len(aikit_server.requests) == 150
    last = read_output(tmp_path / "out.jsonl")
    assert len(last) == 150


def requires_batches() -> None:
    with OpenAI(api_key="k", base_url="http://127.0.0.1:9/v1") as client:
        if not callable(getattr(getattr(client, "batches", None), "run", None)):
            pytest.skip("client.batches.run (the Batch API client) is not available")


def test_api_mode(opts: list[str], aikit_server: FakeOpenAIServer, tmp_path: pathlib.Path,
                  capsys: pytest.CaptureFixture[str]) -> None:
    requires_batches()
    lines = [chat_line(f"c{i}") for i in range(12)]
    src = write_jsonl(tmp_path / "in.jsonl", lines)
    out = tmp_path / "out.jsonl"
    assert main(["batch", "run", str(src), "--out", str(out), "--mode", "api",
                 "--poll-interval", "0.05", *opts]) == 0
    results = read_output(out)
    assert sorted(r["custom_id"] for r in results) == sorted(x["custom_id"] for x in lines)
    assert all(r["response"]["status_code"] == 200 for r in results)
    assert not any(r.path == "/v1/chat/completions" for r in aikit_server.requests)
    assert journal_ids(tmp_path / "out.jsonl.journal") == {x["custom_id"] for x in lines}


class TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar() -> None:
    pytest.importorskip("tqdm")
    stream = TTY()
    bar = Progress(10, 2, 0, stream)
    bar.update(7, 1)
    bar.close()
    assert "7/10" in stream.getvalue() and "failed=1" in stream.getvalue()
    quiet = io.StringIO()  # not a terminal: nothing until the caller's summary line
    bar = Progress(10, 0, 0, quiet)
    bar.update(10, 0)
    bar.close()
    assert quiet.getvalue() == ""


def test_plain_progress_without_tqdm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tqdm", None)  # tqdm not installed: a plain line
    monkeypatch.setattr("aikit._cli_batch.PLAIN_EVERY", 0.0)
    stream = TTY()
    bar = Progress(10, 0, 0, stream)
    bar.update(4, 1)
    assert stream.getvalue().startswith("aikit: batch: 4/10 done, 1 failed, ")
    assert "ETA" in stream.getvalue()


# -- a real process, stopped hard ---------------------------------------------------------------

class Run:
    """``python -m aikit batch run in.jsonl --out out.jsonl ...`` in ``cwd``; its stderr goes
    to a file (a pipe nobody reads could fill up and stall it)."""

    def __init__(self, server: FakeOpenAIServer, cwd: pathlib.Path, *extra: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AIKIT_"))}
        env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
        self.log = cwd / f"stderr-{time.monotonic_ns()}.txt"
        with self.log.open("wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "aikit", "batch", "run", "in.jsonl", "--out",
                 "out.jsonl", "--base-url", server.url, "--api-key", server.api_key or "",
                 *extra], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=err)

    def finish(self, timeout: float) -> tuple[int, str]:
        """Wait (killing it after ``timeout``): its exit status and stderr."""
        try:
            self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode, self.log.read_text(errors="replace")

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 60) -> None:
        """Poll (bounded) until ``predicate()``; fail with the run's stderr if it never
        holds (or the run ends first)."""
        deadline = time.monotonic() + timeout
        for _ in range(int(timeout / 0.02) + 1):
            if predicate():
                return
            if time.monotonic() > deadline or self.proc.poll() is not None:
                break
            time.sleep(0.02)
        status, err = self.finish(0)
        pytest.fail(f"the run made no progress (exit status {status}): {err}")

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.finish(10)


def slow_run(server: FakeOpenAIServer, tmp_path: pathlib.Path, count: int) -> list[str]:
    ids = [f"line-{i:03d}" for i in range(count)]
    write_jsonl(tmp_path / "in.jsonl", [chat_line(cid) for cid in ids])
    server.delay_next(0.04, times=10 * count)  # 4 in flight: about 100 lines a second
    return ids


def check_consistent(tmp_path: pathlib.Path) -> list[str]:
    """The output is whole JSON lines, exactly those the journal records, each once."""
    done = [r["custom_id"] for r in read_output(tmp_path / "out.jsonl")]
    assert len(done) == len(set(done))
    assert set(done) == journal_ids(tmp_path / "out.jsonl.journal")
    return done


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_killed_run_resumes_without_resending_finished_lines(
    aikit_server: FakeOpenAIServer, tmp_path: pathlib.Path,
) -> None:
    ids = slow_run(aikit_server, tmp_path, 300)
    journal = tmp_path / "out.jsonl.journal"
    run = Run(aikit_server, tmp_path, "--concurrency", "4")
    try:
        run.wait_for(lambda: len(journal_ids(journal)) >= 50)
    finally:
        run.kill()
    finished = journal_ids(journal)
    assert 50 <= len(finished) < 300, "the run was not stopped in the middle"
    status, err = Run(aikit_server, tmp_path, "--concurrency", "4", "--resume").finish(120)
    assert status == 0, err
    assert f"({len(finished)} from before)" in err
    assert sorted(check_consistent(tmp_path)) == ids
    sent = sent_by(aikit_server)
    assert all(sent[cid] >= 1 for cid in ids)
    assert [cid for cid in finished if sent[cid] != 1] == []  # finished: never sent again
    assert sum(sent.values()) <= 300 + 2 * 4 * 2  # at most the lines in flight, again


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child is POSIX")
def test_ctrl_c_exits_130_with_a_consistent_journal(
    aikit_server: FakeOpenAIServer, tmp_path: pathlib.Path,
) -> None:
    ids = slow_run(aikit_server, tmp_path, 200)
    journal = tmp_path / "out.jsonl.journal"
    run = Run(aikit_server, tmp_path, "--concurrency", "4")
    try:
        run.wait_for(lambda: len(journal_ids(journal)) >= 20)
        run.proc.send_signal(signal.SIGINT)
    finally:
        status, err = run.finish(30)
    assert status == 130, err
    assert "interrupted: rerun with --resume" in err
    done = check_consistent(tmp_path)
    assert 20 <= len(done) < 200
    status, err = Run(aikit_server, tmp_path, "--concurrency", "4", "--resume").finish(120)
    assert status == 0, err
    assert sorted(check_consistent(tmp_path)) == ids
    sent = sent_by(aikit_server)
    assert [cid for cid in done if sent[cid] != 1] == []


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_killed_api_run_reads_its_batch_back(
    aikit_server: FakeOpenAIServer, tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str],
) -> None:
    requires_batches()
    ids = [f"line-{i:03d}" for i in range(40)]
    write_jsonl(tmp_path / "in.jsonl", [chat_line(cid) for cid in ids])
    aikit_server.batch_step = 0.1  # 2 lines a step: the batch runs for about 2 seconds
    aikit_server.batch_lines_per_step = 2
    journal = tmp_path / "out.jsonl.journal"

    def batches() -> int:
        try:
            db = sqlite3.connect(f"file:{journal}?mode=ro", uri=True, timeout=1)
            try:
                return int(db.execute("SELECT count(*) FROM batches").fetchone()[0])
            finally:
                db.close()
        except sqlite3.Error:
            return 0

    run = Run(aikit_server, tmp_path, "--mode", "api", "--poll-interval", "0.05")
    try:
        run.wait_for(lambda: batches() == 1)
    finally:
        run.kill()
    assert len(journal_ids(journal)) < 40, "the batch ended before the kill"
    assert main(["batch", "run", str(tmp_path / "in.jsonl"), "--out", str(tmp_path / "out.jsonl"),
                 "--mode", "api", "--poll-interval", "0.05", "--resume",
                 "--base-url", aikit_server.url, "--api-key", aikit_server.api_key or ""]) == 0
    assert "40/40 lines done, 40 succeeded" in capsys.readouterr().err
    assert sorted(check_consistent(tmp_path)) == ids
    # The resumed run read the batch back: no second batch, no second upload.
    assert [r.path for r in aikit_server.requests if r.method == "POST"].count("/v1/batches") == 1
    assert [r.path for r in aikit_server.requests if r.method == "POST"].count("/v1/files") == 1
