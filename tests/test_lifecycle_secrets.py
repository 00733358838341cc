"""Credentials never leave their origin, and passwords in URLs are masked like keys
(docs/architecture/guarantees.md)."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import pytest

from aikit import OpenAI
from aikit.testing import FakeOpenAIServer

KEY = "sk-cross-origin-secret-0123456789"


@pytest.fixture
def other() -> Iterator[FakeOpenAIServer]:
    """A second origin (another port): where a redirect sends the client."""
    server = FakeOpenAIServer()
    server.start()
    yield server
    server.stop()


def test_cross_origin_redirect_drops_every_credential(other: FakeOpenAIServer) -> None:
    home = FakeOpenAIServer(api_key=KEY)
    home.start()
    try:
        home.redirect_next(other.url + "/models", status=307)
        headers = {"X-Custom-Key": f"Key {KEY}", "api-key": KEY, "x-api-key": KEY,
                   "X-Trace": "kept"}
        with OpenAI(KEY, home.url, custom_headers=headers) as client:
            result = client.models.list()
        assert result.success  # served by the other origin, which needs no key
        sent = other.requests[-1].headers
        names = {name.lower() for name in sent}
        assert not names & {"authorization", "x-custom-key", "api-key", "x-api-key"}
        assert all(KEY not in value for value in sent.values())
        assert sent["X-Trace"] == "kept"
    finally:
        home.stop()


def test_same_origin_redirect_keeps_the_key(aikit_server: FakeOpenAIServer,
                                            aikit_client: OpenAI) -> None:
    aikit_server.redirect_next(aikit_server.url + "/models", status=302)
    result = aikit_client.models.list()
    assert result.success  # the home server checks the key: it arrived after the hop
    assert aikit_server.requests[-1].headers["Authorization"] == f"Bearer {aikit_server.api_key}"


def test_post_redirected_with_303_becomes_a_get(aikit_server: FakeOpenAIServer,
                                                aikit_client: OpenAI) -> None:
    aikit_server.redirect_next(aikit_server.url + "/models", status=303)
    aikit_client.chat.completions.create([{"role": "user", "content": "hi"}])
    assert [r.method for r in aikit_server.requests][-2:] == ["POST", "GET"]


def test_url_password_is_masked_in_repr_logs_and_errors(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there: a connection error
    url = f"http://proxyuser:hunter2secret@127.0.0.1:{port}/v1"
    with caplog.at_level(logging.DEBUG, logger="aikit"), OpenAI(KEY, url, max_retries=1) as c:
        shown = repr(c)
        result = c.models.list()
    assert "hunter2secret" not in shown and "proxyuser" in shown
    assert result.errors and result.errors[0].is_connection_error
    texts = [str(e) for e in result.errors] + [repr(e) for e in result.errors]
    texts += [r.getMessage() for r in caplog.records]
    assert caplog.records  # the debug and retry lines were written, and checked
    assert not [t for t in texts if "hunter2secret" in t or KEY in t]


def test_a_key_in_a_custom_header_is_masked_in_debug_logs(
    aikit_server: FakeOpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="aikit"), OpenAI(
        aikit_server.api_key, aikit_server.url,
        custom_headers={"X-Goog-Api-Key": aikit_server.api_key or ""},
    ) as client:
        assert client.models.list().success
    lines = [r.getMessage() for r in caplog.records]
    assert any("X-Goog-Api-Key" in line for line in lines)
    assert not [line for line in lines if (aikit_server.api_key or "") in line]
