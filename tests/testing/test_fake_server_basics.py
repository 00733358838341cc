"""FakeOpenAIServer: lifecycle, auth, common headers, routing, models, request recording."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from aikit.testing import FakeOpenAIServer, Headers
from aikit.testing._records import MultipartError, parse_multipart

from ._support import RawConnection, chat_body, wait_until

KEY = "sk-test-aikit-0000"
RATE_HEADERS = (
    "x-ratelimit-limit-requests",
    "x-ratelimit-limit-tokens",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-remaining-tokens",
    "x-ratelimit-reset-requests",
    "x-ratelimit-reset-tokens",
)


def test_lifecycle_url_and_restart(http: requests.Session) -> None:
    server = FakeOpenAIServer()
    assert "stopped" in repr(server)
    with pytest.raises(RuntimeError):
        server.url  # noqa: B018
    server.start()
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v1", server.url)
        assert "simulator" in repr(server)
        with pytest.raises(RuntimeError, match="already running"):
            server.start()
        assert http.get(server.url + "/models").status_code == 200
        port = server.port
    finally:
        server.stop()
    server.stop()  # idempotent
    with pytest.raises(requests.ConnectionError):
        http.get(f"http://127.0.0.1:{port}/v1/models", timeout=2)
    with server:  # restartable, on a new port
        assert http.get(server.url + "/models").status_code == 200


def test_any_key_accepted_without_configured_key(
    server: FakeOpenAIServer, http: requests.Session
) -> None:
    assert server.api_key is None
    assert http.get(server.url + "/models").status_code == 200
    assert http.get(server.url + "/models", headers={"Authorization": "Bearer x"}).ok


def test_wrong_or_missing_key_gets_openai_401_with_masked_key(http: requests.Session) -> None:
    with FakeOpenAIServer(api_key=KEY) as server:
        wrong = "sk-wrong-secret-key-9876"
        response = http.get(server.url + "/models", headers={"Authorization": f"Bearer {wrong}"})
        assert response.status_code == 401
        error = response.json()["error"]
        assert error == {
            "message": "Incorrect API key provided: sk-...9876.",
            "type": "invalid_request_error",
            "param": None,
            "code": "invalid_api_key",
        }
        assert wrong not in response.text
        short = http.get(server.url + "/models", headers={"Authorization": "Bearer abc"})
        assert "abc" not in short.text
        missing = http.get(server.url + "/models")
        assert missing.status_code == 401
        assert missing.json()["error"]["code"] == "invalid_api_key"
        for name in RATE_HEADERS:
            assert name in missing.headers
        ok = http.get(server.url + "/models", headers={"Authorization": f"Bearer {KEY}"})
        assert ok.status_code == 200


def test_every_response_has_request_id_and_rate_limit_headers(
    server: FakeOpenAIServer, http: requests.Session
) -> None:
    responses = [
        http.get(server.url + "/models"),
        http.get(server.url + "/nope"),
        http.post(server.url + "/chat/completions", json=chat_body()),
        http.post(server.url + "/chat/completions", json={}),
    ]
    assert [r.headers["x-request-id"] for r in responses] == ["req_1", "req_2", "req_3", "req_4"]
    assert [r.request_id for r in server.requests] == ["req_1", "req_2", "req_3", "req_4"]
    for response in responses:
        for name in RATE_HEADERS:
            assert response.headers[name]
    first, second = (int(r.headers["x-ratelimit-remaining-requests"]) for r in responses[:2])
    assert second == first - 1
    assert responses[0].headers["x-ratelimit-reset-requests"] == "1s"
    assert responses[0].headers["x-ratelimit-reset-tokens"] == "6m0s"
    after_chat = int(responses[3].headers["x-ratelimit-remaining-tokens"])
    assert after_chat < int(responses[0].headers["x-ratelimit-remaining-tokens"])


def test_unknown_path_404_and_wrong_method_405(
    server: FakeOpenAIServer, http: requests.Session
) -> None:
    missing = http.get(server.url + "/does/not/exist")
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == "Invalid URL (GET /v1/does/not/exist)"
    assert missing.json()["error"]["type"] == "invalid_request_error"
    wrong = http.delete(server.url + "/models")
    assert wrong.status_code == 405
    assert wrong.headers["Allow"] == "GET"
    assert set(wrong.json()["error"]) == {"message", "type", "param", "code"}
    assert http.put(server.url + "/chat/completions", json={}).status_code == 405
    head = http.head(server.url + "/models")
    assert head.status_code == 405
    assert http.get(server.url + "/models").status_code == 200  # connection still in sync


def test_models_list_retrieve_and_models_seen_in_requests(
    server: FakeOpenAIServer, http: requests.Session
) -> None:
    listing = http.get(server.url + "/models").json()
    assert listing["object"] == "list"
    ids = [model["id"] for model in listing["data"]]
    assert "fake-gpt-4o-mini" in ids
    assert all(i.startswith("fake-") for i in ids)
    for model in listing["data"]:
        assert set(model) == {"id", "object", "created", "owned_by"}
        assert model["object"] == "model"

    unknown = http.get(server.url + "/models/gpt-4o-mini")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "model_not_found"

    for model in ("gpt-4o-mini", "ft:gpt-4o-mini:acme:x:1", "org/model-7b"):
        body = chat_body(model=model)
        assert http.post(server.url + "/chat/completions", json=body).status_code == 200
    ids = [model["id"] for model in http.get(server.url + "/models").json()["data"]]
    assert ids[-3:] == ["gpt-4o-mini", "ft:gpt-4o-mini:acme:x:1", "org/model-7b"]
    assert http.get(server.url + "/models/ft%3Agpt-4o-mini%3Aacme%3Ax%3A1").json()["id"] == (
        "ft:gpt-4o-mini:acme:x:1"
    )
    assert http.get(server.url + "/models/org%2Fmodel-7b").json()["id"] == "org/model-7b"
    assert http.get(server.url + "/models/fake-gpt-4o").json()["owned_by"] == "aikit-testing"
    with FakeOpenAIServer(models=["llama3"]) as other:
        assert http.get(other.url + "/models/llama3").status_code == 200


def test_recorded_request_fields(server: FakeOpenAIServer, http: requests.Session) -> None:
    http.post(
        server.url + "/chat/completions?a=1&a=2&metadata%5Bk%5D=v&empty=",
        json=chat_body("hi"),
        headers={"X-Custom": "yes"},
    )
    request = server.requests[-1]
    assert server.last_request == request
    assert request.method == "POST"
    assert request.path == "/v1/chat/completions"
    assert request.query == {"a": "2", "metadata[k]": "v", "empty": ""}
    assert request.raw_query == "a=1&a=2&metadata%5Bk%5D=v&empty="
    assert request.headers["x-custom"] == "yes"
    assert request.headers["X-CUSTOM"] == "yes"
    assert "content-type" in request.headers
    assert request.json == chat_body("hi")
    assert request.body.startswith(b"{")
    assert request.form == {} and request.files == {}


def test_headers_mapping_is_case_insensitive_and_joins_repeats() -> None:
    headers = Headers([("Accept", "a"), ("X-Y", "1"), ("x-y", "2")])
    assert headers["ACCEPT"] == "a"
    assert headers["x-y"] == "1, 2"
    assert list(headers) == ["Accept", "X-Y"]
    assert len(headers) == 2 and "accept" in headers
    assert not headers.__contains__(3)
    assert headers.get("missing") is None
    assert "Accept" in repr(headers)


def test_keep_alive_serves_several_requests_on_one_connection(server: FakeOpenAIServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        for _ in range(3):
            conn.request("GET", "/v1/models")
            response = conn.getresponse()
            assert response.status == 200
            response.read()
        assert server.open_connections == 1
    finally:
        conn.close()
    wait_until(lambda: server.open_connections == 0)


def test_chunked_request_body(server: FakeOpenAIServer, http: requests.Session) -> None:
    pieces = [b'{"model": "m", ', b'"messages": [{"role": "user", ', b'"content": "chunked"}]}']
    response = http.post(server.url + "/chat/completions", data=iter(pieces))
    assert response.status_code == 200
    assert server.requests[-1].headers["transfer-encoding"] == "chunked"
    assert response.json()["choices"][0]["message"]["content"] == "Echo: chunked"

    # Chunk extensions and trailers, written by hand.
    with RawConnection(server) as raw:
        body = b'{"model":"m","messages":[{"role":"user","content":"raw"}]}'
        framed = b"%x;ext=1\r\n%s\r\n0\r\nX-Trailer: t\r\n\r\n" % (len(body), body)
        raw.sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n" + framed
        )
        status, headers = raw.read_head()
        assert status == 200
        assert b"Echo: raw" in raw.read_body(headers)


def test_unreadable_bodies_get_400(server: FakeOpenAIServer, http: requests.Session) -> None:
    with RawConnection(server) as raw:
        raw.sock.sendall(b"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Length: zz\r\n\r\n")
        status, headers = raw.read_head()
        assert status == 400
        assert headers["connection"] == "close"
    with RawConnection(server) as raw:
        raw.sock.sendall(
            b"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"
        )
        assert raw.read_head()[0] == 400
    invalid = http.post(server.url + "/chat/completions", data=b"{not json")
    assert invalid.status_code == 400
    assert "JSON" in invalid.json()["error"]["message"]
    assert server.requests[-1].json is None
    not_object = http.post(server.url + "/chat/completions", json=[1, 2])
    assert not_object.status_code == 400
    empty = http.post(server.url + "/embeddings")
    assert empty.status_code == 400


def test_protocol_errors_get_json_bodies(server: FakeOpenAIServer) -> None:
    for request_line, status in ((b"FOO /v1/models HTTP/1.1", 501), (b"garbage", 400)):
        with RawConnection(server) as raw:
            raw.sock.sendall(request_line + b"\r\nHost: x\r\n\r\n")
            got, headers = raw.read_head()
            assert got == status
            assert headers["x-request-id"].startswith("req_")
            assert headers["content-type"] == "application/json"
            assert json.loads(raw.read_body(headers))["error"]["message"]


def test_clear_and_reset(server: FakeOpenAIServer, http: requests.Session) -> None:
    http.post(server.url + "/chat/completions", json=chat_body(store=True))
    server.fail_next(500)
    server.reply_next("scripted")
    server.clear()
    assert server.requests == []
    response = http.post(server.url + "/chat/completions", json=chat_body("again"))
    assert response.json()["choices"][0]["message"]["content"] == "Echo: again"
    assert len(http.get(server.url + "/chat/completions").json()["data"]) == 1
    server.reset()
    assert http.get(server.url + "/chat/completions").json()["data"] == []
    assert http.get(server.url + "/models/gpt-4o-mini").status_code == 404


def test_multipart_parser_edge_cases() -> None:
    body = (
        b"preamble\r\n--XyZ\r\n"
        b'Content-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n'
        b"--XyZ\r\n"
        b"Content-Disposition: form-data; name=\"file\"; filename*=UTF-8''na%C3%AFve.txt\r\n"
        b"\r\n\r\n--Xy\r\n\r\n--XyZ--\r\nepilogue"
    )
    form, files = parse_multipart(body, 'multipart/form-data; boundary="XyZ"')
    assert form == {"purpose": "batch"}
    assert files["file"] == ("naïve.txt", "", b"\r\n--Xy\r\n")
    with pytest.raises(MultipartError, match="closing"):
        parse_multipart(b"--b\r\nContent-Disposition: form-data; name=a\r\n\r\nx", "x; boundary=b")
    with pytest.raises(MultipartError, match="boundary"):
        parse_multipart(b"", "multipart/form-data")
    with pytest.raises(MultipartError):
        parse_multipart(b"--b\r\nX-No-Disposition: 1\r\n\r\nx\r\n--b--", "x; boundary=b")


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM semantics differ on Windows")
def test_serve_prints_url_first_and_stops_on_sigterm(tmp_path: Path) -> None:
    env = dict(
        os.environ, PYTHONPATH=_import_root() + os.pathsep + os.environ.get("PYTHONPATH", "")
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "aikit.testing", "--api-key", KEY],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v1", url)
        session = requests.Session()
        session.trust_env = False
        with session:
            response = session.get(url + "/models", headers={"Authorization": f"Bearer {KEY}"})
            assert response.status_code == 200
            assert session.get(url + "/models").status_code == 401
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0
        assert process.stderr is not None
        assert "simulator" in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def _import_root() -> str:
    import aikit.testing

    return str(Path(aikit.testing.__file__).resolve().parents[2])
