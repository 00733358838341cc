"""Settings and their checks: one rule for client and per-call options, keys and URLs.

TypeError for a wrong type, ValueError for a wrong value, the argument named in backquotes,
a secret never shown; a refused call sends nothing.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Callable
from typing import Any

import pytest

from aikit import OpenAI, OpenAIParameters
from aikit._logging import mask_key, mask_url
from aikit._settings import (
    DEFAULT_MAX_RESPONSE_BYTES,
    SETTING_CHECKS,
    SETTINGS,
    check_api_key,
    check_int,
    check_number,
    check_seconds,
    collect_settings,
)
from aikit.parameters import OpenAIChatCompletionsParameters
from aikit.providers import OpenAIProviders
from aikit.testing import FakeOpenAIServer

USER = [{"role": "user", "content": "hi"}]
SECRET = "sk-proj-SECRETsecret1234567890"

# (option, wrong type, wrong value): each refused the same way by the client and by a call.
SHARED_OPTIONS = [
    ("timeout", "ten", 0),
    ("timeout", None, -1.5),
    ("timeout", True, float("nan")),
    ("max_retries", "2", -1),
    ("max_retries", 1.0, -5),
]


def _client_with(name: str, value: Any) -> Any:
    return OpenAI("sk-x", "http://127.0.0.1:9/v1", **{name: value})


def _call_with(name: str, value: Any) -> Any:
    return OpenAIParameters(**{name: value})


@pytest.mark.parametrize("make", [_client_with, _call_with], ids=["client", "call"])
@pytest.mark.parametrize(("name", "wrong_type", "wrong_value"), SHARED_OPTIONS)
def test_one_rule_for_client_and_call(
    make: Callable[[str, Any], Any], name: str, wrong_type: Any, wrong_value: Any
) -> None:
    if wrong_type is not None:  # None means "not given" for both
        with pytest.raises(TypeError, match=f"`{name}`"):
            make(name, wrong_type)
    with pytest.raises(ValueError, match=f"`{name}`"):
        make(name, wrong_value)


@pytest.mark.parametrize(
    ("kwargs", "exc", "needle"),
    [
        ({"deadline": 0}, ValueError, "`deadline`"),
        ({"deadline": -3}, ValueError, "`deadline`"),
        ({"deadline": "soon"}, TypeError, "`deadline`"),
        ({"extra_headers": ["X-A: b"]}, TypeError, "`extra_headers`"),
        ({"extra_headers": {"X-A": 1}}, TypeError, "`extra_headers`"),
        ({"on_response": "print"}, TypeError, "`on_response`"),
    ],
)
def test_per_call_execution_options(kwargs: dict[str, Any], exc: type[Exception],
                                    needle: str) -> None:
    with pytest.raises(exc, match=needle):
        OpenAIParameters(**kwargs)


def test_deadline_is_an_execution_field_accepted_from_a_dict() -> None:
    p = OpenAIChatCompletionsParameters({"deadline": 2.5, "maxRetries": 0, "timeout": 1})
    assert (p.deadline, p.max_retries, p.timeout) == (2.5, 0, 1)
    assert "deadline" in OpenAIParameters.EXECUTION_FIELDS
    assert "deadline" not in p.body()


def test_bad_per_call_timeout_sends_nothing(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    with pytest.raises(ValueError, match="`timeout`"):
        aikit_client.chat.completions.create(USER, timeout=0)
    with pytest.raises(TypeError, match="`max_retries`"):
        aikit_client.models.list(max_retries="3")
    assert aikit_server.requests == []


def test_execution_fields_are_never_sent(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    result = aikit_client.chat.completions.create(USER, {"deadline": 60, "timeout": 30})
    assert result.success, result.errors
    sent = aikit_server.requests[-1].json
    assert "deadline" not in sent and "timeout" not in sent


def test_messages_name_the_argument_and_show_only_numbers() -> None:
    with pytest.raises(ValueError, match=r"^`max_retries` must be >= 0, not -1$"):
        check_int(-1, "max_retries", 0)
    with pytest.raises(TypeError, match=r"^`n` must be an int, not str$"):
        check_int("3", "n")
    with pytest.raises(ValueError, match=r"^`temperature` must be between 0 and 2, not 2\.5$"):
        check_number(2.5, "temperature", 0, 2)
    with pytest.raises(ValueError, match=r"^`deadline` must be > 0 seconds, not 0$"):
        check_seconds(0, "deadline")
    with pytest.raises(TypeError) as info:
        OpenAI(custom_headers={"Authorization": 5, "X-Key": SECRET})
    assert "`custom_headers`" in str(info.value) and SECRET not in str(info.value)
    with pytest.raises(TypeError) as info:
        OpenAI(proxies={"https": f"http://user:{SECRET}@proxy:3128", "x": 1})
    assert "`proxies`" in str(info.value) and SECRET not in str(info.value)


def test_max_response_bytes_setting() -> None:
    assert DEFAULT_MAX_RESPONSE_BYTES == 256 * 2**20
    assert "max_response_bytes" in SETTINGS
    assert SETTING_CHECKS["max_response_bytes"](1024) == 1024
    with pytest.raises(ValueError, match="`max_response_bytes`"):
        SETTING_CHECKS["max_response_bytes"](0)
    with pytest.raises(TypeError, match="`max_response_bytes`"):
        SETTING_CHECKS["max_response_bytes"]("1MB")
    # Accepted by every constructor form (4D camelCase too).
    assert collect_settings((), {"max_response_bytes": 10}) == {"max_response_bytes": 10}
    assert collect_settings(({"maxResponseBytes": 10},), {}) == {"max_response_bytes": 10}
    OpenAI(max_response_bytes=2**20).close()


def test_every_setting_has_a_check_or_takes_anything() -> None:
    unchecked = SETTINGS - SETTING_CHECKS.keys()
    assert unchecked == {"http_agent", "provider"}  # a session object; checked by name lookup


def test_provider_settings_use_the_same_checks(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "AIProviders.json"
    path.write_text(json.dumps({"providers": {"p": {
        "baseURL": "http://127.0.0.1:9/v1", "timeout": 0, "maxRetries": 2,
        "maxResponseBytes": 4096, "proxies": {"https": 3},
    }}}))
    providers = OpenAIProviders(path)
    assert sorted(providers.errors) == [
        "Provider 'p': 'proxies' has an invalid value; ignored",
        "Provider 'p': 'timeout' has an invalid value; ignored",
    ]
    settings: dict[str, Any] = {}
    assert providers.apply_settings(settings, "p") is None
    assert settings["max_retries"] == 2 and settings["max_response_bytes"] == 4096
    assert "timeout" not in settings


# -- constructor forms -------------------------------------------------------------------------


def test_none_key_keeps_the_base_url(aikit_server: FakeOpenAIServer,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", aikit_server.api_key or "")
    with OpenAI(None, aikit_server.url) as client:
        assert client.base_url == aikit_server.url
        assert client.models.list().success
    with OpenAI(None, {"baseURL": aikit_server.url}) as client:
        assert client.models.list().success
    assert len(aikit_server.requests) == 2


def test_none_key_without_environment_sends_no_key() -> None:
    client = OpenAI(None, "http://127.0.0.1:1/v1")
    assert (client.api_key, client.base_url) == ("", "http://127.0.0.1:1/v1")
    client.close()


# -- keys and URLs -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad", [SECRET + "\n", " " + SECRET, SECRET[:8] + "\t" + SECRET[8:], SECRET + "\x00",
            "\ufeff" + SECRET, SECRET + "\u200b", SECRET + "\u00a0"],
    ids=["newline", "space", "tab", "nul", "bom", "zero-width", "nbsp"],
)
def test_key_with_whitespace_or_control_chars_is_refused_unseen(bad: str) -> None:
    for make in (lambda: OpenAI(bad), lambda: OpenAI(api_key=bad),
                 lambda: OpenAI({"apiKey": bad})):
        with pytest.raises(ValueError, match="`api_key`") as info:
            make()
        text = str(info.value) + repr(info.value)
        for secret_piece in (SECRET, SECRET[-4:], mask_key(SECRET), SECRET[3:11]):
            assert secret_piece not in text


def test_key_from_the_environment_is_checked_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET + "\r\n")
    with pytest.raises(ValueError, match="`api_key`") as info:
        OpenAI(base_url="http://127.0.0.1:9/v1")
    assert SECRET[-4:] not in str(info.value)


def test_good_keys_pass() -> None:
    assert check_api_key(None) == ""
    assert check_api_key(SECRET) == SECRET
    with pytest.raises(TypeError, match="`api_key`"):
        check_api_key(b"sk-bytes")


def test_provider_key_with_a_newline_sends_nothing(
    aikit_server: FakeOpenAIServer, tmp_path: pathlib.Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "AIProviders.json"
    path.write_text(json.dumps({"providers": {"p": {
        "baseURL": aikit_server.url, "apiKey": SECRET + "\n"}}}))
    monkeypatch.setenv("AIKIT_PROVIDERS", str(path))
    with OpenAI(aikit_server.api_key, aikit_server.url) as client:
        result = client.chat.completions.create(USER, model="p:gpt-4o-mini")
    assert not result.success
    error = result.errors[0]
    assert error.kind == "provider" and "whitespace" in error.message
    assert SECRET[-4:] not in str(error)
    assert aikit_server.requests == []


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("http://user:secret@host/v1", "http://user:***@host/v1"),
        ("https://u:p@ss@h:8443/v1?q=a@b#f", "https://u:***@h:8443/v1?q=a@b#f"),
        ("http://:pw@127.0.0.1:1/v1", "http://:***@127.0.0.1:1/v1"),
        ("user:pw@proxy:3128", "user:***@proxy:3128"),
        ("http://u:p@[::1/v1", "http://u:***@[::1/v1"),  # malformed host, still masked
        ("http://u:p@h:notaport/", "http://u:***@h:notaport/"),
        ("http://host/v1/files/a:b@c", "http://host/v1/files/a:b@c"),  # a path, not userinfo
        ("http://token@host/v1", "http://token@host/v1"),  # no password
        ("https://api.openai.com/v1", "https://api.openai.com/v1"),
        ("", ""),
        ("::::@@@//", ":***@//"),  # garbage: masked rather than trusted
        ("http://[", "http://["),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_mask_url_never_raises() -> None:
    class Unprintable:
        def __str__(self) -> str:
            raise RuntimeError("no")

    assert mask_url(None) == ""
    assert mask_url(Unprintable()) == ""  # type: ignore[arg-type]
    assert mask_url(pathlib.PurePosixPath("a:b@c")) == "a:***@c"  # type: ignore[arg-type]
