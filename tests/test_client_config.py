"""Constructor forms, environment fallbacks, header rules and validation (TypeError for a wrong
type, ValueError for a bad value)."""

from __future__ import annotations

import json
import pathlib
from typing import Any

import pytest

from aikit import OpenAI, OpenAIParameters
from aikit.testing import FakeOpenAIServer

KEY = "sk-test-aikit-0000"


def last_headers(server: FakeOpenAIServer) -> Any:
    assert server.requests, "the server received nothing"
    return server.requests[-1].headers


def test_env_only(monkeypatch: pytest.MonkeyPatch, aikit_server: FakeOpenAIServer) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", aikit_server.api_key)
    monkeypatch.setenv("OPENAI_BASE_URL", aikit_server.url)
    monkeypatch.setenv("OPENAI_ORG_ID", "org-env")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj-env")
    with OpenAI() as client:
        assert client.models.list().success
    headers = last_headers(aikit_server)
    assert headers["Authorization"] == f"Bearer {aikit_server.api_key}"
    assert headers["OpenAI-Organization"] == "org-env"
    assert headers["OpenAI-Project"] == "proj-env"


def test_default_base_url_without_env() -> None:
    client = OpenAI()
    assert client.base_url == "https://api.openai.com/v1"
    assert client.api_key == ""


def test_env_fills_only_what_is_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env-1234")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    client = OpenAI("sk-explicit-5678")
    assert client.api_key == "sk-explicit-5678"
    assert client.base_url == "http://127.0.0.1:9/v1"


@pytest.mark.parametrize(
    "make",
    [
        lambda s: OpenAI(s.api_key, s.url),
        lambda s: OpenAI(api_key=s.api_key, base_url=s.url),
        lambda s: OpenAI({"apiKey": s.api_key, "baseURL": s.url}),
        lambda s: OpenAI({"api_key": s.api_key, "base_url": s.url}),
        lambda s: OpenAI(s.api_key, {"baseURL": s.url}),
    ],
    ids=["key+url", "keywords", "4d-dict", "snake-dict", "key+dict"],
)
def test_constructor_forms_reach_the_server(make: Any, aikit_server: FakeOpenAIServer) -> None:
    with make(aikit_server) as client:
        result = client.models.list()
    assert result.success, result.errors
    assert last_headers(aikit_server)["Authorization"] == f"Bearer {aikit_server.api_key}"


def test_json_file(tmp_path: pathlib.Path, aikit_server: FakeOpenAIServer) -> None:
    path = tmp_path / "aikit.json"
    path.write_text(json.dumps({"apiKey": aikit_server.api_key, "baseURL": aikit_server.url,
                                "maxRetries": 0, "organization": "org-file", "name": "ignored"}))
    with OpenAI(path) as client:
        assert client.max_retries == 0
        assert client.models.list().success
    assert last_headers(aikit_server)["OpenAI-Organization"] == "org-file"


def test_trailing_slash_is_normalised(aikit_server: FakeOpenAIServer) -> None:
    with OpenAI(aikit_server.api_key, aikit_server.url + "/") as client:
        assert client.models.list().success
    assert aikit_server.requests[-1].path == "/v1/models"


def test_attributes_stay_writable(aikit_server: FakeOpenAIServer) -> None:
    client = OpenAI("sk-wrong-key-9999", "http://127.0.0.1:9/v1", max_retries=0)
    client.base_url = aikit_server.url
    client.api_key = aikit_server.api_key
    assert client.models.list().success
    client.close()


def test_wrong_key_is_401(aikit_server: FakeOpenAIServer) -> None:
    with OpenAI("sk-wrong-key-9999", aikit_server.url) as client:
        result = client.models.list()
    assert not result.success
    assert result.status == 401
    assert result.errors[0].is_authentication_error


def test_header_precedence(aikit_server: FakeOpenAIServer) -> None:
    client = OpenAI(aikit_server.api_key, aikit_server.url,
                    custom_headers={"X-Team": "client", "X-Both": "client"})
    client.models.list(extra_headers={"X-Both": "call"})
    headers = last_headers(aikit_server)
    assert headers["X-Team"] == "client"
    assert headers["X-Both"] == "call"
    assert headers["User-Agent"].startswith("aikit/")
    assert "Content-Type" not in headers  # no body, no content type
    client.models.list({"extraHeaders": {"authorization": f"Bearer {aikit_server.api_key}"}})
    assert last_headers(aikit_server)["Authorization"] == f"Bearer {aikit_server.api_key}"
    client.close()


def test_no_authorization_without_key() -> None:
    client = OpenAI(base_url="http://127.0.0.1:9/v1")
    headers = client._headers(OpenAIParameters(), None, "application/json")
    assert "Authorization" not in headers
    client.api_key = "sk-anthropic-0000"
    client.base_url = "https://api.anthropic.com/v1/"
    headers = client._headers(OpenAIParameters(), "application/json", "application/json")
    assert headers["x-api-key"] == "sk-anthropic-0000"
    assert headers["anthropic-version"] == "2023-06-01"
    assert headers["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    ("args", "kwargs", "needle"),
    [
        ((3,), {}, "api_key"),
        (("k", 3.5), {}, "base_url"),
        ((), {"timeout": "ten"}, "timeout"),
        ((), {"timeout": 0}, "timeout"),
        ((), {"max_retries": -1}, "max_retries"),
        ((), {"max_retries": "2"}, "max_retries"),
        ((), {"custom_headers": ["X-A: b"]}, "custom_headers"),
        ((), {"max_concurrent_requests": 0}, "max_concurrent_requests"),
        ((), {"api_key": 12}, "api_key"),
        ((), {"verify": 3}, "verify"),
        ((), {"apikey": "x"}, "apikey"),
    ],
)
def test_bad_constructor_input_names_the_argument(
    args: tuple[Any, ...], kwargs: dict[str, Any], needle: str
) -> None:
    with pytest.raises((TypeError, ValueError), match=needle):
        OpenAI(*args, **kwargs)


@pytest.mark.parametrize(
    ("provider", "error"), [(3, TypeError), (["openai"], TypeError), ("", ValueError)]
)
def test_provider_wrong_type_or_empty(provider: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="provider"):
        OpenAI(provider=provider)


def test_missing_config_file_is_named(tmp_path: pathlib.Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nope\.json"):
        OpenAI(tmp_path / "nope.json")


def test_max_concurrent_requests_is_public() -> None:
    assert OpenAI().max_concurrent_requests == 16
    assert OpenAI(max_concurrent_requests=4).max_concurrent_requests == 4
