"""Deadlines, and "retry only what never started" (docs/architecture/lifecycle.md,
"Deadlines and aborts" and "One attempt"): a trickling or stalled server cannot hold a call
past its budget, and nothing of an answer that started is ever sent again."""

from __future__ import annotations

import contextlib
import pathlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from aikit import OpenAI, process
from aikit.testing import FakeOpenAIServer

from .helpers import TIMEOUT, Recorder, in_worker

MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A listener whose backlog is full: a connect to it hangs (SYNs are dropped)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(8):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    probe = socket.socket()
    probe.settimeout(0.5)
    try:
        probe.connect(("127.0.0.1", port))
        pytest.skip("this kernel accepts connects past a full backlog")
    except OSError:
        pass
    finally:
        probe.close()
    yield port
    for filler in fillers:
        filler.close()
    listener.close()


def connecting_to(port: int, timeout: float = TIMEOUT) -> bool:
    """Wait until some socket is in SYN_SENT towards ``port`` (Linux /proc/net/tcp)."""
    table = pathlib.Path("/proc/net/tcp")
    if not table.exists():
        pytest.skip("needs /proc/net/tcp to see a connect in progress")
    wanted = f":{port:04X}"
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for line in table.read_text().splitlines()[1:]:
            fields = line.split()
            if fields[2].endswith(wanted) and fields[3] == "02":  # 02 = SYN_SENT
                return True
        time.sleep(0.01)
    return False


def chat_posts(server: FakeOpenAIServer) -> int:
    return sum(1 for r in server.requests if r.path.endswith("/chat/completions"))


@pytest.mark.parametrize("phase", ["body", "headers"])
def test_timeout_is_a_total_deadline_for_a_trickle(aikit_server: FakeOpenAIServer,
                                                   phase: str) -> None:
    aikit_server.trickle_next(0.5, phase=phase)
    with OpenAI(aikit_server.api_key, aikit_server.url, timeout=2, max_retries=0) as client:
        started = time.monotonic()
        result = client.chat.completions.create(MESSAGES)
        took = time.monotonic() - started
    assert result.errors and result.errors[0].is_timeout_error
    assert took < 4.0, f"a trickle held a timeout=2 call for {took:.1f} s"


def test_a_body_that_trickles_is_not_sent_again(aikit_server: FakeOpenAIServer) -> None:
    aikit_server.trickle_next(0.5, phase="body")
    with OpenAI(aikit_server.api_key, aikit_server.url, timeout=1.5, max_retries=3) as client:
        result = client.chat.completions.create(MESSAGES)
    error = result.errors[0]
    assert error.is_timeout_error and error.status == 200  # the answer had started
    assert chat_posts(aikit_server) == 1


def test_connect_is_bounded_by_timeout(silent_port: int) -> None:
    with OpenAI("sk-test-key-123", f"http://127.0.0.1:{silent_port}/v1", timeout=1,
                max_retries=0) as client:
        started = time.monotonic()
        result = client.models.list()
        took = time.monotonic() - started
    assert result.errors[0].is_timeout_error or result.errors[0].is_connection_error
    assert took < 3.0


def test_deadline_covers_retries_and_back_off(aikit_server: FakeOpenAIServer) -> None:
    aikit_server.fail_next(503, headers={"retry-after": "1"}, times=20)
    with OpenAI(aikit_server.api_key, aikit_server.url, max_retries=10) as client:
        started = time.monotonic()
        result = client.models.list(deadline=1.5)
        took = time.monotonic() - started
    assert result.errors[0].is_timeout_error, result.errors
    assert 1.2 < took < 3.5
    assert 1 <= len(aikit_server.requests) <= 3


def test_deadline_in_callback_mode_ends_a_stalled_call(aikit_server: FakeOpenAIServer) -> None:
    aikit_server.delay_next(30)
    client = OpenAI(aikit_server.api_key, aikit_server.url, max_retries=0)
    rec = Recorder()
    started = time.monotonic()
    _, worker = in_worker(lambda: client.models.list(
        rec.callbacks("on_response", "on_error", "on_terminate"), deadline=1.0))
    rec.wait()
    assert time.monotonic() - started < 5.0
    assert rec.names == ["on_error", "on_terminate"] and rec.threads == {worker}
    assert rec.events[0][2].errors[0].is_timeout_error
    client.close()


def test_deadline_must_be_positive(aikit_client: OpenAI) -> None:
    with pytest.raises(ValueError, match="deadline"):
        aikit_client.models.list(deadline=0)


def test_terminate_frees_the_io_thread_while_connecting(aikit_server: FakeOpenAIServer,
                                                        silent_port: int) -> None:
    """One I/O thread: a call stuck connecting is terminated, and the next call runs at once
    instead of waiting for the connect timeout (60 s). Owned by a worker; the client is closed
    whatever happens, so a failure here leaves no I/O thread to the next tests."""
    stuck = OpenAI("sk-test-key-123", f"http://127.0.0.1:{silent_port}/v1", timeout=60,
                   max_retries=0, max_concurrent_requests=1)
    try:
        rec = Recorder()
        pending, worker = in_worker(lambda: stuck.models.list(
            rec.callbacks("on_error", "on_terminate")))
        assert connecting_to(silent_port), "the I/O thread never started connecting"
        pending.terminate()
        rec.wait()
        assert rec.names == ["on_error", "on_terminate"] and rec.threads == {worker}
        assert rec.events[0][2].errors[0].kind == "terminated"
        # The same (single) I/O thread now serves another call, well before the 60 s timeout.
        stuck.base_url = aikit_server.url
        stuck.api_key = aikit_server.api_key
        follow = Recorder()
        started = time.monotonic()
        in_worker(lambda: stuck.models.list(follow.callbacks("on_response", "on_terminate")))
        follow.wait()
        assert follow.names == ["on_response", "on_terminate"]
        assert time.monotonic() - started < 10.0
        assert threading.active_count() < 50
    finally:
        stuck.close()


def test_a_body_cut_half_way_is_not_sent_again(aikit_server: FakeOpenAIServer) -> None:
    aikit_server.truncate_next(after_bytes=10)
    with OpenAI(aikit_server.api_key, aikit_server.url, max_retries=3) as client:
        result = client.chat.completions.create(MESSAGES)
    error = result.errors[0]
    assert error.kind == "protocol" and error.status == 200
    assert chat_posts(aikit_server) == 1


def test_a_body_that_stalls_after_its_first_byte(aikit_server: FakeOpenAIServer) -> None:
    aikit_server.stall_next(after_bytes=10, seconds=30)
    with OpenAI(aikit_server.api_key, aikit_server.url, timeout=1, max_retries=3) as client:
        started = time.monotonic()
        result = client.chat.completions.create(MESSAGES)
        took = time.monotonic() - started
    assert result.errors[0].is_timeout_error and result.errors[0].status == 200
    assert chat_posts(aikit_server) == 1 and took < 5


def test_early_hints_are_skipped(aikit_server: FakeOpenAIServer, aikit_client: OpenAI) -> None:
    aikit_server.early_hints_next()
    result = aikit_client.chat.completions.create(MESSAGES)
    assert result.success and result.status == 200
    assert result.choice is not None and result.choice.text


def test_a_stream_that_ends_without_done_is_an_error(aikit_server: FakeOpenAIServer,
                                                    aikit_client: OpenAI) -> None:
    aikit_server.stream_fault_next("eof", after_chunks=2)
    rec = Recorder()
    _, worker = in_worker(lambda: aikit_client.chat.completions.create(
        MESSAGES, stream=True, **rec.callbacks("on_data", "on_error", "on_terminate")))
    rec.wait()
    assert rec.names == ["on_data", "on_data", "on_error", "on_terminate"]
    assert rec.threads == {worker}
    assert rec.events[-1][2].errors[0].kind == "stream"


def test_terminate_racing_completion_keeps_a_delivered_success(aikit_client: OpenAI) -> None:
    """terminate() from another thread at any moment: a success that was delivered stays a
    success, and each call still gets exactly one final callback."""
    outcomes: list[tuple[str, bool]] = []
    for _ in range(50):
        rec = Recorder()
        pending, _ = in_worker(lambda rec=rec: aikit_client.models.list(
            rec.callbacks("on_response", "on_error", "on_terminate")), name="racer")
        pending.terminate()
        rec.wait()
        final = rec.names[0]
        assert rec.names[1:] == ["on_terminate"]
        pending.terminate()  # after delivery: does nothing
        done = threading.Event()
        process.call_worker("racer", done.set)
        assert done.wait(TIMEOUT)
        assert len(rec.names) == 2
        assert pending.success == (final == "on_response")
        outcomes.append((final, pending.success))
    assert all(ok == (name == "on_response") for name, ok in outcomes)


def test_a_huge_timeout_leaves_deadlines_working(aikit_server: FakeOpenAIServer) -> None:
    """One watchdog serves every call: a far-off time must not break it for the others."""
    with OpenAI(aikit_server.api_key, aikit_server.url, timeout=1e12) as client:
        assert client.models.list().success
    aikit_server.trickle_next(0.5, phase="body")
    with OpenAI(aikit_server.api_key, aikit_server.url, timeout=1.5, max_retries=0) as client:
        started = time.monotonic()
        result = client.models.list()
    assert result.errors[0].is_timeout_error and time.monotonic() - started < 4.0


def test_no_aikit_thread_outlives_an_idle_period(aikit_client: OpenAI) -> None:
    assert aikit_client.models.list().success
    aikit_client.close()
    end = time.monotonic() + TIMEOUT
    while time.monotonic() < end and any(
        t.name.startswith("aikit") for t in threading.enumerate()
    ):
        time.sleep(0.05)
    assert not [t.name for t in threading.enumerate() if t.name.startswith("aikit")]


def test_deadline_cuts_a_tls_handshake_that_never_answers() -> None:
    """A host that accepts TCP but never speaks TLS: the handshake is cut at the deadline."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    port = listener.getsockname()[1]
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                accepted.append(listener.accept()[0])

    acceptor = threading.Thread(target=accept)
    acceptor.start()
    try:
        with OpenAI("sk-test-key-123", f"https://127.0.0.1:{port}/v1", timeout=30,
                    max_retries=0) as client:
            started = time.monotonic()
            result = client.models.list(deadline=0.5)
            took = time.monotonic() - started
        assert result.errors[0].is_timeout_error and took < 3.0
    finally:
        stop.set()
        acceptor.join(TIMEOUT)
        for sock in accepted:
            sock.close()
        listener.close()


def test_an_error_answer_cut_short_is_still_retried(aikit_server: FakeOpenAIServer) -> None:
    """A 503 whose body breaks: the status alone says "retry", and nothing was accepted."""
    aikit_server.fail_next(503)
    aikit_server.truncate_next(after_bytes=3)
    with OpenAI(aikit_server.api_key, aikit_server.url, max_retries=2) as client:
        result = client.models.list()
    assert result.success and len(aikit_server.requests) == 2
