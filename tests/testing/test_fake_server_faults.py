"""FakeOpenAIServer fault scripting: HTTP failures, delays, drops and broken streams."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time

import pytest
import requests

from aikit.testing import FakeOpenAIServer

from ._support import RawConnection, chat_body, sse_data, wait_until


def test_fail_next_default_bodies_headers_and_times(
    server: FakeOpenAIServer, http: requests.Session
) -> None:
    server.fail_next(429, headers={"retry-after": 1, "x-should-retry": "true"}, times=2)
    server.fail_next(500)
    models = server.url + "/models"
    for _ in range(2):
        response = http.get(models)
        assert response.status_code == 429
        assert response.json() == {
            "error": {
                "message": "Rate limit reached",
                "type": "requests",
                "param": None,
                "code": "rate_limit_exceeded",
            }
        }
        assert response.headers["retry-after"] == "1"
        assert response.headers["x-should-retry"] == "true"
        assert response.headers["x-request-id"].startswith("req_")
        assert "x-ratelimit-remaining-requests" in response.headers
    server_error = http.get(models)
    assert server_error.status_code == 500
    assert server_error.json()["error"]["type"] == "server_error"
    assert http.get(models).status_code == 200
    assert len(server.requests) == 4


def test_fail_next_custom_bodies(server: FakeOpenAIServer, http: requests.Session) -> None:
    quota = {
        "error": {"message": "quota", "type": "insufficient_quota", "code": "insufficient_quota"}
    }
    server.fail_next(429, body=quota)
    server.fail_next(502, body="<html>bad gateway</html>")
    server.fail_next(503, body=b'{"error": "raw"}')
    server.fail_next(400, headers={"Content-Type": "application/problem+json"}, body=b"{}")
    server.fail_next(418)
    server.fail_next(204)
    url = server.url + "/embeddings"
    first = http.post(url, json={})
    assert first.json() == quota
    second = http.post(url, json={})
    assert (second.status_code, second.text) == (502, "<html>bad gateway</html>")
    assert second.headers["content-type"].startswith("text/plain")
    third = http.post(url, json={})
    assert third.headers["content-type"] == "application/json"
    assert third.content == b'{"error": "raw"}'
    assert http.post(url, json={}).headers["content-type"] == "application/problem+json"
    teapot = http.post(url, json={})
    assert teapot.status_code == 418
    assert teapot.json()["error"]["type"] == "invalid_request_error"
    no_content = http.post(url, json={})
    assert no_content.status_code == 204 and no_content.content == b""
    assert http.get(server.url + "/models").status_code == 200


def test_fail_next_applies_to_any_endpoint_before_auth(http: requests.Session) -> None:
    with FakeOpenAIServer(api_key="sk-right-key-0000") as server:
        server.fail_next(503)
        assert http.get(server.url + "/nowhere").status_code == 503
        server.fail_next(401)
        response = http.get(server.url + "/models")
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "invalid_api_key"


def test_script_arguments_are_validated(server: FakeOpenAIServer) -> None:
    with pytest.raises(ValueError):
        server.fail_next(42)
    with pytest.raises(ValueError):
        server.fail_next(500, headers={"x": "a\r\nb"})
    with pytest.raises(TypeError):
        server.fail_next(500, body=3)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        server.fail_next(500, times=0)
    with pytest.raises(ValueError):
        server.delay_next(-1)
    with pytest.raises(ValueError):
        server.drop_next(times=-2)
    with pytest.raises(ValueError, match="kind"):
        server.stream_fault_next("explode")
    with pytest.raises(ValueError):
        server.stream_fault_next("drop", after_chunks=-1)


def test_delay_next_and_one_fault_of_each_family_per_request(
    server: FakeOpenAIServer, http: requests.Session
) -> None:
    server.delay_next(0.2)
    server.fail_next(503)
    started = time.monotonic()
    response = http.get(server.url + "/models")
    assert response.status_code == 503  # the same request took the delay and the failure
    assert time.monotonic() - started >= 0.2
    started = time.monotonic()
    assert http.get(server.url + "/models").status_code == 200
    assert time.monotonic() - started < 0.2


def test_a_recorded_request_has_taken_its_faults(server: FakeOpenAIServer) -> None:
    server.delay_next(0.3)
    statuses: list[int] = []
    first = threading.Thread(
        target=lambda: statuses.append(requests.get(server.url + "/models", timeout=5).status_code)
    )
    first.start()
    wait_until(lambda: len(server.requests) == 1)
    server.fail_next(503)  # meant for the next request, not the one already recorded
    second = requests.get(server.url + "/models", timeout=5).status_code
    first.join(5)
    assert (statuses, second) == ([200], 503)


def test_delay_is_cut_short_by_stop() -> None:
    server = FakeOpenAIServer().start()
    server.delay_next(30)
    errors: list[BaseException] = []

    def call() -> None:
        try:
            requests.get(server.url + "/models", timeout=10)
        except requests.RequestException as exc:
            errors.append(exc)

    thread = threading.Thread(target=call)
    thread.start()
    wait_until(lambda: len(server.requests) == 1)
    started = time.monotonic()
    server.stop()
    thread.join(5)
    assert time.monotonic() - started < 1.5
    assert not thread.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], requests.ConnectionError)


def test_delay_ends_when_the_client_leaves(server: FakeOpenAIServer) -> None:
    server.delay_next(30)
    with RawConnection(server) as raw:
        raw.send("GET", "/v1/models")
        wait_until(lambda: len(server.requests) == 1)
        assert server.open_connections == 1
    wait_until(lambda: server.open_connections == 0, timeout=5)  # not after 30 s
    assert server.total_connections == 1


def test_drop_next_closes_without_a_byte(server: FakeOpenAIServer, http: requests.Session) -> None:
    server.drop_next(times=2)
    server.fail_next(500)
    for _ in range(2):
        with pytest.raises(requests.ConnectionError):
            http.post(server.url + "/chat/completions", json=chat_body())
    assert len(server.requests) == 2
    assert server.requests[0].json == chat_body()  # the request was read before the drop
    with RawConnection(server) as raw:
        server.drop_next()
        raw.send("GET", "/v1/models")
        assert raw.sock.recv(1) == b""
    # A queued failure is left for the first request that is not dropped.
    assert http.get(server.url + "/models").status_code == 500
    assert http.get(server.url + "/models").status_code == 200


def test_drop_next_after_bytes_truncates_the_response(server: FakeOpenAIServer) -> None:
    server.drop_next(after_bytes=40)  # inside the status line and headers
    server.fail_next(503)  # taken by the same request: one fault of each family
    with RawConnection(server) as raw:
        raw.send("GET", "/v1/models")
        received = b""
        while chunk := raw.sock.recv(4096):
            received += chunk
        assert received.startswith(b"HTTP/1.1 503 ") and len(received) == 40

    server.drop_next(after_bytes=10_000)  # more than the response: all of it, then close
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=2)
    conn.request("GET", "/v1/models")
    response = conn.getresponse()
    assert response.status == 200
    assert json.loads(response.read())["object"] == "list"
    conn.close()

    server.drop_next(after_bytes=300)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=2)
    conn.request("POST", "/v1/chat/completions", json.dumps(chat_body()))
    response = conn.getresponse()
    assert response.status == 200
    with pytest.raises(http.client.IncompleteRead):
        response.read()
    conn.close()
    with pytest.raises(ValueError):
        server.drop_next(after_bytes=-1)


def _stream_with_fault(
    server: FakeOpenAIServer, kind: str, after: int
) -> tuple[RawConnection, list[bytes]]:
    server.reply_next("alpha beta gamma delta")
    server.stream_fault_next(kind, after_chunks=after)
    raw = RawConnection(server, timeout=2)
    raw.send("POST", "/v1/chat/completions", chat_body(stream=True))
    status, _ = raw.read_head()
    assert status == 200
    return raw, [raw.read_chunk() or b"" for _ in range(after)]


def test_stream_fault_drop(server: FakeOpenAIServer) -> None:
    raw, chunks = _stream_with_fault(server, "drop", 2)
    with raw:
        assert [json.loads(sse_data(c)[0])["choices"][0]["delta"] for c in chunks] == [
            {"role": "assistant", "content": ""},
            {"content": "alpha "},
        ]
        with pytest.raises(ConnectionError):  # no terminating chunk
            raw.read_line()
    # http.client sees a truncated body.
    server.stream_fault_next("drop", after_chunks=1)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=2)
    conn.request("POST", "/v1/chat/completions", json.dumps(chat_body(stream=True)))
    response = conn.getresponse()
    with pytest.raises(http.client.IncompleteRead):
        response.read()
    conn.close()


def test_stream_fault_drop_with_requests(server: FakeOpenAIServer, http: requests.Session) -> None:
    server.stream_fault_next("drop", after_chunks=3)
    response = http.post(server.url + "/chat/completions", json=chat_body(stream=True), stream=True)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        b"".join(response.iter_content(chunk_size=None))
    assert http.get(server.url + "/models").status_code == 200


def test_stream_fault_malformed(server: FakeOpenAIServer) -> None:
    raw, chunks = _stream_with_fault(server, "malformed", 1)
    with raw:
        assert len(chunks) == 1
        rest = raw.iter_chunks()  # the chunked body still ends properly
    assert rest == [b"data: {not json\n\n"]


def test_stream_fault_error_event(server: FakeOpenAIServer) -> None:
    raw, _ = _stream_with_fault(server, "error_event", 0)
    with raw:
        rest = raw.iter_chunks()
    assert len(rest) == 1
    error = json.loads(sse_data(rest[0])[0])["error"]
    assert error["type"] == "server_error" and error["message"]


def test_stream_fault_stall_until_client_leaves(server: FakeOpenAIServer) -> None:
    raw, chunks = _stream_with_fault(server, "stall", 2)
    assert len(chunks) == 2
    raw.sock.settimeout(0.3)
    with pytest.raises(socket.timeout):
        raw.read_line()
    assert server.open_connections == 1
    raw.close()
    wait_until(lambda: server.open_connections == 0)


def test_stream_fault_stall_until_stop() -> None:
    server = FakeOpenAIServer().start()
    raw, _ = _stream_with_fault(server, "stall", 1)
    with raw:
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 1.5
        with pytest.raises(ConnectionError):
            raw.read_line()


def test_stream_fault_after_the_last_event_replaces_done(
    server: FakeOpenAIServer, http: requests.Session
) -> None:
    server.stream_fault_next("malformed", after_chunks=1000)
    response = http.post(server.url + "/chat/completions", json=chat_body(stream=True))
    events = sse_data(response.content)
    assert events[-1] == "{not json"
    assert "[DONE]" not in events
    assert json.loads(events[-2])["choices"][0]["finish_reason"] == "stop"


def test_stream_faults_wait_for_a_streamed_request(
    server: FakeOpenAIServer, http: requests.Session
) -> None:
    server.stream_fault_next("error_event")
    assert http.post(server.url + "/chat/completions", json=chat_body()).status_code == 200
    assert http.get(server.url + "/models").status_code == 200
    response = http.post(server.url + "/chat/completions", json=chat_body(stream=True))
    assert "error" in json.loads(sse_data(response.content)[0])
    response = http.post(server.url + "/chat/completions", json=chat_body(stream=True))
    assert sse_data(response.content)[-1] == "[DONE]"


def test_clear_forgets_scripted_faults(server: FakeOpenAIServer, http: requests.Session) -> None:
    server.fail_next(500, times=3)
    server.drop_next()
    server.delay_next(5)
    server.stream_fault_next("drop")
    server.stream_tokens_next(2)
    server.clear()
    assert http.get(server.url + "/models").status_code == 200
    response = http.post(server.url + "/chat/completions", json=chat_body(stream=True))
    assert sse_data(response.content)[-1] == "[DONE]"
