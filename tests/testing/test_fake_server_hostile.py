"""FakeOpenAIServer's hostile-server faults, checked on the wire with plain sockets and requests.

Early hints, redirects, raw and gzip-bomb bodies, truncated, stalled and trickled responses,
streams that end without ``[DONE]`` or carry scripted events.
"""

from __future__ import annotations

import json
import socket
import time
import zlib
from http.client import HTTPConnection, IncompleteRead

import pytest
import requests

from aikit.testing import FakeOpenAIServer, _wire

from ._support import RawConnection, chat_body, sse_chunks, sse_data, wait_until


def _read_to_close(raw: RawConnection) -> bytes:
    """Everything the server sends until it closes the connection (timeout: test failure)."""
    data = raw.buffer
    raw.buffer = b""
    while chunk := raw.sock.recv(65536):
        data += chunk
    return data


def _timed_read_to_close(raw: RawConnection) -> list[tuple[float, bytes]]:
    """Each piece received until the close, with the monotonic time it arrived."""
    pieces: list[tuple[float, bytes]] = []
    while chunk := raw.sock.recv(65536):
        pieces.append((time.monotonic(), chunk))
    return pieces


def _inflated_size(body: bytes, limit: int) -> int:
    """Size of a gzip body once inflated, piece by piece (never more than 1 MiB at a time)."""
    inflater = zlib.decompressobj(31)
    total = 0
    data = body
    while data and total <= limit:
        total += len(inflater.decompress(data, 1 << 20))
        data = inflater.unconsumed_tail
    assert inflater.eof
    return total


# -- early hints ------------------------------------------------------------------------------


def test_early_hints_come_before_the_answer_on_the_same_connection(
    server: FakeOpenAIServer,
) -> None:
    server.early_hints_next(times=2)
    with RawConnection(server) as raw:
        for _ in range(2):
            raw.send("GET", "/v1/models")
            assert raw.read_line() == b"HTTP/1.1 103 Early Hints"
            hints: dict[str, str] = {}
            while line := raw.read_line():
                name, _, value = line.decode().partition(":")
                hints[name.lower()] = value.strip()
            assert "rel=preload" in hints["link"]
            status, headers = raw.read_head()
            assert status == 200
            assert json.loads(raw.read_body(headers))["object"] == "list"
        raw.send("GET", "/v1/models")  # the script is used up: a plain answer again
        assert raw.read_line() == b"HTTP/1.1 200 OK"
    assert server.total_connections == 1


def test_early_hints_precede_a_stream_and_a_scripted_answer(server: FakeOpenAIServer) -> None:
    server.early_hints_next()
    server.redirect_next("/v1/elsewhere")  # another family: the same request takes both
    with RawConnection(server) as raw:
        raw.send("GET", "/v1/models")
        assert raw.read_line() == b"HTTP/1.1 103 Early Hints"
        while raw.read_line():
            pass
        status, headers = raw.read_head()
        assert (status, headers["location"]) == (307, "/v1/elsewhere")
        raw.read_body(headers)
        server.early_hints_next()
        raw.send("POST", "/v1/chat/completions", chat_body(stream=True))
        assert raw.read_line() == b"HTTP/1.1 103 Early Hints"
        while raw.read_line():
            pass
        status, headers = raw.read_head()
        assert status == 200
        assert sse_data(raw.read_body(headers))[-1] == "[DONE]"


# -- redirects, raw bodies, gzip bombs --------------------------------------------------------


def test_redirect_next_sends_the_location_as_given(
    server: FakeOpenAIServer, http: requests.Session
) -> None:
    server.redirect_next("http://[::1")  # not a valid URL: requests itself cannot parse it
    server.redirect_next("https://example.invalid/v1/models", status=301, times=2)
    conn = HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request("GET", "/v1/models")
        response = conn.getresponse()
        assert (response.status, response.read()) == (307, b"")
        assert response.getheader("location") == "http://[::1"
    finally:
        conn.close()
    for _ in range(2):
        answer = http.post(server.url + "/embeddings", json={}, allow_redirects=False)
        assert answer.status_code == 301
        assert answer.headers["location"] == "https://example.invalid/v1/models"
    assert http.get(server.url + "/models", allow_redirects=False).status_code == 200
    server.redirect_next("http://127.0.0.1/€uro")  # beyond Latin-1: sent as UTF-8
    with RawConnection(server) as raw:
        raw.send("GET", "/v1/models")
        lines = []
        while line := raw.read_line():
            lines.append(line)
    assert "Location: http://127.0.0.1/€uro".encode() in lines


def test_raw_next_sends_exact_bytes(server: FakeOpenAIServer) -> None:
    hostile = b"[" * 100_000
    server.raw_next(hostile)
    server.raw_next(b"not json", status=418, headers={"Content-Type": "text/plain", "X-A": 1})
    conn = HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request("POST", "/v1/chat/completions", json.dumps(chat_body()))
        response = conn.getresponse()
        assert response.status == 200
        assert response.getheader("content-type") == "application/json"
        assert response.read() == hostile
        conn.request("GET", "/v1/models")
        response = conn.getresponse()
        assert (response.status, response.read()) == (418, b"not json")
        assert response.getheader("content-type") == "text/plain"
        assert response.getheader("x-a") == "1"
    finally:
        conn.close()


def test_gzip_bomb_is_small_on_the_wire_and_inflates_to_its_size(
    server: FakeOpenAIServer,
) -> None:
    size = 200 * 2**20
    server.gzip_bomb_next()
    server.gzip_bomb_next(decompressed_bytes=1000)
    with RawConnection(server, timeout=10) as raw:
        raw.send("GET", "/v1/models")
        status, headers = raw.read_head()
        assert status == 200
        assert headers["content-type"] == "application/json"
        assert headers["content-encoding"] == "gzip"
        body = raw.read_body(headers)
        assert len(body) == int(headers["content-length"]) < 400_000
        assert _inflated_size(body, size) == size
        raw.send("GET", "/v1/models")
        _, headers = raw.read_head()
        assert zlib.decompress(raw.read_body(headers), 31) == bytes(1000)


def test_new_scripts_validate_their_arguments(server: FakeOpenAIServer) -> None:
    with pytest.raises(ValueError):
        server.redirect_next("http://a/\r\nX-Injected: 1")
    with pytest.raises(ValueError):
        server.redirect_next("/x", status=200)
    with pytest.raises(TypeError):
        server.redirect_next(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        server.raw_next("text")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        server.raw_next(b"{}", status=99)
    with pytest.raises(ValueError):
        server.gzip_bomb_next(-1)
    with pytest.raises(ValueError):
        server.truncate_next(after_bytes=-1)
    with pytest.raises(ValueError):
        server.stall_next(seconds=-1)
    with pytest.raises(ValueError, match="phase"):
        server.trickle_next(phase="trailers")
    with pytest.raises(ValueError):
        server.trickle_next(interval=-0.1)
    with pytest.raises(ValueError):
        server.early_hints_next(times=0)
    with pytest.raises(TypeError):
        server.stream_raw_next("data")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        server.stream_raw_next([{"not": "a str"}])  # type: ignore[list-item]
    with pytest.raises(ValueError):
        server.stream_fault_next("eof", times=0)


# -- truncated, stalled and trickled responses ------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v1/models", None),
        ("POST", "/v1/embeddings", {"model": "m", "input": "hello"}),
        ("POST", "/v1/chat/completions", chat_body()),
    ],
)
def test_truncate_next_closes_inside_the_body(
    server: FakeOpenAIServer, method: str, path: str, body: object
) -> None:
    server.truncate_next(after_bytes=7)
    with RawConnection(server) as raw:
        raw.send(method, path, body)
        status, headers = raw.read_head()
        received = _read_to_close(raw)
    assert status == 200
    assert int(headers["content-length"]) > len(received) == 7
    assert received == b'{"objec' if path != "/v1/chat/completions" else received == b'{"id":"'


def test_truncate_next_with_http_client_and_a_scripted_failure(server: FakeOpenAIServer) -> None:
    server.truncate_next(after_bytes=0, times=2)
    server.fail_next(503)
    conn = HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request("GET", "/v1/models")
        response = conn.getresponse()
        assert response.status == 503  # the headers came whole, the body not at all
        with pytest.raises(IncompleteRead):
            response.read()
    finally:
        conn.close()
    with RawConnection(server) as raw:  # a stream is cut inside its chunked body too
        raw.send("POST", "/v1/chat/completions", chat_body(stream=True))
        status, headers = raw.read_head()
        assert (status, headers["transfer-encoding"]) == (200, "chunked")
        assert _read_to_close(raw) == b""


def test_stall_next_holds_the_body_then_closes(server: FakeOpenAIServer) -> None:
    server.stall_next(after_bytes=4, seconds=0.6)
    with RawConnection(server) as raw:
        raw.send("GET", "/v1/models")
        status, headers = raw.read_head()
        started = time.monotonic()
        assert (status, raw.read_exact(4)) == (200, b'{"ob')
        raw.sock.settimeout(0.2)
        with pytest.raises(socket.timeout):
            raw.sock.recv(1)
        raw.sock.settimeout(5)
        assert _read_to_close(raw) == b""
        assert time.monotonic() - started >= 0.5
    assert int(headers["content-length"]) > 4


def test_stall_next_ends_when_the_client_leaves_or_the_server_stops() -> None:
    server = FakeOpenAIServer().start()
    try:
        server.stall_next(after_bytes=1, seconds=60)
        raw = RawConnection(server)
        raw.send("GET", "/v1/models")
        raw.read_head()
        raw.read_exact(1)
        raw.close()
        wait_until(lambda: server.open_connections == 0, timeout=5)
        server.stall_next(after_bytes=1, seconds=60)
        with RawConnection(server) as raw:
            raw.send("GET", "/v1/models")
            raw.read_head()
            raw.read_exact(1)
            started = time.monotonic()
            server.stop()
            assert time.monotonic() - started < 3
            assert _read_to_close(raw) == b""
    finally:
        server.stop()


def test_trickle_next_spaces_the_body_bytes(server: FakeOpenAIServer) -> None:
    body = b'{"a": [1, 2]}'
    interval = 0.05
    server.raw_next(body)
    server.trickle_next(interval=interval)
    with RawConnection(server) as raw:
        raw.send("GET", "/v1/models")
        sent = time.monotonic()
        status, headers = raw.read_head()
        head_done = time.monotonic()
        early = len(raw.buffer)  # body bytes that came with the head
        received = raw.read_exact(len(body))
        body_done = time.monotonic()
    assert (status, headers["content-length"], received) == (200, str(len(body)), body)
    assert head_done - sent < 5  # a trickled head (~400 bytes) would take ~20 s
    # Byte k leaves at least k intervals after byte 0.
    assert body_done - head_done >= (len(body) - 1 - early) * interval * 0.8
    assert body_done - head_done < 30


def test_trickle_next_headers_phase_spaces_the_status_line(server: FakeOpenAIServer) -> None:
    status_line = b"HTTP/1.1 200 OK\r\n"
    interval = 0.02
    server.trickle_next(interval=interval, phase="headers")
    with RawConnection(server) as raw:
        raw.send("GET", "/v1/models")
        first = raw.sock.recv(65536)
        started = time.monotonic()
        received = first
        while len(received) < len(status_line):
            received += raw.sock.recv(65536)
        elapsed = time.monotonic() - started
    assert received[: len(status_line)] == status_line
    assert 0 < len(first) < len(status_line)
    assert elapsed >= (len(status_line) - 1 - len(first)) * interval * 0.8


def test_trickle_next_stops_when_the_client_leaves(server: FakeOpenAIServer) -> None:
    server.trickle_next(interval=0.05, times=2)
    with RawConnection(server) as raw:
        raw.send("POST", "/v1/chat/completions", chat_body(stream=True))
        raw.read_head()
        raw.read_exact(3)
    wait_until(lambda: server.open_connections == 0, timeout=5)
    # The second trickle is still queued, and the server serves on.
    with RawConnection(server) as raw:
        raw.send("GET", "/v1/models")
        assert raw.read_head()[0] == 200


def test_trickle_has_a_total_bound(
    server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_wire, "TRICKLE_LIMIT", 0.3)
    server.trickle_next(interval=0.05)  # the answer would take ~25 s at this pace
    with RawConnection(server) as raw:
        raw.send("GET", "/v1/models")
        status, headers = raw.read_head()
        started = time.monotonic()
        received = _read_to_close(raw)
        assert time.monotonic() - started < 5
    assert status == 200
    assert 0 < len(received) < int(headers["content-length"])


# -- streams: clean EOF and scripted events ---------------------------------------------------


@pytest.mark.parametrize("after", [0, 2, 1000])
def test_stream_fault_eof_ends_cleanly_without_done_or_finish(
    server: FakeOpenAIServer, after: int
) -> None:
    server.reply_next("one two three four")
    server.stream_fault_next("eof", after_chunks=after)
    with RawConnection(server) as raw:
        raw.send(
            "POST",
            "/v1/chat/completions",
            chat_body(stream=True, stream_options={"include_usage": True}),
        )
        status, _ = raw.read_head()
        chunks = raw.iter_chunks()  # ends with the terminating chunk: a clean end
        raw.send("GET", "/v1/models")  # and the connection stays usable
        assert raw.read_head()[0] == 200
    assert status == 200
    events = sse_data(b"".join(chunks))
    assert "[DONE]" not in events
    parsed = sse_chunks(b"".join(chunks))
    assert all(choice["finish_reason"] is None for c in parsed for choice in c["choices"])
    assert len(events) == min(after, 5)  # role + four words come before the finish chunk


def test_stream_raw_next_sends_exactly_the_events(
    server: FakeOpenAIServer, http: requests.Session
) -> None:
    events = ['{"usage": [1, 2]}', "not json", "two\nlines"]
    server.stream_raw_next(events)
    assert http.post(server.url + "/chat/completions", json=chat_body()).json()["choices"]
    response = http.post(server.url + "/chat/completions", json=chat_body(stream=True))
    assert sse_data(response.content) == [*events, "[DONE]"]
    response = http.post(server.url + "/chat/completions", json=chat_body(stream=True))
    assert sse_chunks(response.content)[0]["object"] == "chat.completion.chunk"


def test_stream_raw_next_combines_with_a_stream_fault(server: FakeOpenAIServer) -> None:
    server.stream_raw_next(['{"a": 1}', '{"b": 2}', '{"c": 3}'], times=2)
    server.stream_fault_next("eof", after_chunks=2)
    with RawConnection(server) as raw:
        raw.send("POST", "/v1/chat/completions", chat_body(stream=True))
        _, headers = raw.read_head()
        assert sse_data(raw.read_body(headers)) == ['{"a": 1}', '{"b": 2}']
        raw.send("POST", "/v1/chat/completions", chat_body(stream=True))
        _, headers = raw.read_head()
        assert sse_data(raw.read_body(headers)) == ['{"a": 1}', '{"b": 2}', '{"c": 3}', "[DONE]"]


# -- bookkeeping ------------------------------------------------------------------------------


def test_total_connections_counts_every_accepted_connection(
    server: FakeOpenAIServer, http: requests.Session
) -> None:
    assert server.total_connections == 0
    for _ in range(3):  # one keep-alive connection
        assert http.get(server.url + "/models").status_code == 200
    assert server.total_connections == 1
    server.truncate_next(after_bytes=2)
    with pytest.raises(requests.RequestException):
        http.get(server.url + "/models")
    assert http.get(server.url + "/models").status_code == 200  # on a new connection
    assert server.total_connections == 2
    wait_until(lambda: server.open_connections == 1)


def test_clear_forgets_the_new_scripts(server: FakeOpenAIServer, http: requests.Session) -> None:
    server.early_hints_next()
    server.redirect_next("/x")
    server.raw_next(b"[")
    server.truncate_next()
    server.stall_next()
    server.trickle_next()
    server.stream_raw_next(["{}"])
    server.stream_fault_next("eof")
    server.clear()
    assert http.get(server.url + "/models", allow_redirects=False).json()["object"] == "list"
    response = http.post(server.url + "/chat/completions", json=chat_body(stream=True))
    assert sse_data(response.content)[-1] == "[DONE]"
