"""Retries, with the number of attempts counted by the server.

The rules are in docs/architecture/lifecycle.md ("Send with retries") and
docs/architecture/guarantees.md ("Retry only what never started").
"""

from __future__ import annotations

import email.utils
import socket
import time

import pytest

from aikit import OpenAI
from aikit._headers import Headers
from aikit._http.response import HTTPResponse
from aikit._http.retry import retry_delay, should_retry
from aikit.testing import FakeOpenAIServer

FAST = {"retry-after-ms": "1"}


def attempts(server: FakeOpenAIServer) -> int:
    return sum(1 for r in server.requests if r.path == "/v1/models")


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503])
def test_retried_statuses(status: int, aikit_server: FakeOpenAIServer,
                          aikit_client: OpenAI) -> None:
    aikit_server.fail_next(status, headers=FAST, times=5)
    result = aikit_client.models.list()
    assert attempts(aikit_server) == 3  # max_retries 2 -> 3 attempts
    assert result.status == status and not result.success


def test_retry_then_success(aikit_server: FakeOpenAIServer, aikit_client: OpenAI) -> None:
    aikit_server.fail_next(503, headers=FAST, times=1)
    result = aikit_client.models.list()
    assert result.success
    assert attempts(aikit_server) == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_not_retried_statuses(status: int, aikit_server: FakeOpenAIServer,
                              aikit_client: OpenAI) -> None:
    aikit_server.fail_next(status, headers=FAST, times=5)
    assert aikit_client.models.list().status == status
    assert attempts(aikit_server) == 1


def test_x_should_retry_overrides(aikit_server: FakeOpenAIServer, aikit_client: OpenAI) -> None:
    aikit_server.fail_next(400, headers={**FAST, "x-should-retry": "true"}, times=5)
    aikit_client.models.list()
    assert attempts(aikit_server) == 3
    aikit_server.clear()
    aikit_server.fail_next(503, headers={**FAST, "x-should-retry": "false"}, times=5)
    aikit_client.models.list()
    assert attempts(aikit_server) == 1


def test_insufficient_quota_is_not_retried(aikit_server: FakeOpenAIServer,
                                            aikit_client: OpenAI) -> None:
    body = {"error": {"message": "You exceeded your current quota", "type": "insufficient_quota",
                      "code": "insufficient_quota", "param": None}}
    aikit_server.fail_next(429, headers=FAST, body=body, times=5)
    result = aikit_client.models.list()
    assert attempts(aikit_server) == 1
    assert result.errors[0].is_rate_limit_error
    assert result.errors[0].code == "insufficient_quota"


def test_max_retries_zero_per_call(aikit_server: FakeOpenAIServer, aikit_client: OpenAI) -> None:
    aikit_server.fail_next(503, headers=FAST, times=5)
    aikit_client.models.list(max_retries=0)
    assert attempts(aikit_server) == 1
    aikit_server.clear()
    aikit_server.fail_next(503, headers=FAST, times=5)
    aikit_client.models.list({"maxRetries": 4})
    assert attempts(aikit_server) == 5


def test_retry_after_seconds_is_honoured(aikit_server: FakeOpenAIServer,
                                         aikit_client: OpenAI) -> None:
    aikit_server.fail_next(429, headers={"retry-after": "1"}, times=1)
    started = time.monotonic()
    assert aikit_client.models.list().success
    assert time.monotonic() - started >= 0.95  # waited the server's second, not 0.5 s backoff


def test_connection_drop_is_retried(aikit_server: FakeOpenAIServer, aikit_client: OpenAI) -> None:
    aikit_server.drop_next(times=1)
    result = aikit_client.models.list()
    assert result.success
    assert attempts(aikit_server) == 2


def test_connection_drop_every_time(aikit_server: FakeOpenAIServer) -> None:
    aikit_server.drop_next(times=5)
    with OpenAI(aikit_server.api_key, aikit_server.url, max_retries=1) as client:
        result = client.models.list()
    assert attempts(aikit_server) == 2
    assert result.status is None
    assert result.errors[0].is_connection_error


def test_connection_refused_is_a_connection_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with OpenAI("sk-x", f"http://127.0.0.1:{port}/v1", max_retries=1) as client:
        result = client.models.list()
    (error,) = result.errors
    assert error.is_connection_error and not error.is_timeout_error
    assert "refused" in str(error)


def test_read_timeout_is_retried(aikit_server: FakeOpenAIServer) -> None:
    aikit_server.delay_next(3, times=2)
    with OpenAI(aikit_server.api_key, aikit_server.url, timeout=0.3, max_retries=1) as client:
        result = client.models.list()
    assert attempts(aikit_server) == 2
    assert result.errors[0].is_timeout_error


def _response(status: int, headers: dict[str, str], body: object = None) -> HTTPResponse:
    return HTTPResponse(status, "", Headers(headers), b"", body)


def test_retry_after_forms() -> None:
    assert retry_delay(_response(429, {"retry-after-ms": "1500"}), 0) == pytest.approx(1.5)
    assert retry_delay(_response(429, {"retry-after": "2"}), 0) == pytest.approx(2.0)
    date = email.utils.formatdate(time.time() + 5, usegmt=True)
    assert 3.5 <= retry_delay(_response(429, {"retry-after": date}), 0) <= 5.5
    # over the 60 s cap, zero and garbage fall back to exponential backoff with jitter
    for headers in ({"retry-after": "120"}, {"retry-after": "0"}, {"retry-after": "soon"}):
        assert 0.375 <= retry_delay(_response(429, headers), 0) <= 0.5
    assert 0.75 <= retry_delay(_response(500, {}), 1) <= 1.0
    assert 6.0 <= retry_delay(_response(500, {}), 10) <= 8.0


def test_should_retry_table() -> None:
    assert should_retry(_response(500, {}))
    assert not should_retry(_response(200, {}))
    assert not should_retry(_response(400, {}))
    assert should_retry(_response(400, {"x-should-retry": "TRUE"}))
    assert not should_retry(_response(429, {}, {"error": {"code": "insufficient_quota"}}))
