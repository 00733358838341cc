"""Providers and model aliases: file search, resolution, and routing over sockets.

Each provider is its own FakeOpenAIServer; the servers' request logs prove where a request
went, which key it carried, and that the client's own key never reached another provider.
"""

from __future__ import annotations

import json
import pathlib
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from aikit import OpenAI, OpenAIError
from aikit.providers import ModelRoute, OpenAIProviders, config_path
from aikit.testing import FakeOpenAIServer

from .helpers import Recorder, in_worker

CLIENT_KEY = "sk-client-own-key-7777"
ALPHA_KEY = "sk-alpha-file-key-1111"
BETA_KEY = "sk-beta-env-key-2222"
MESSAGES = [{"role": "user", "content": "hi"}]
TERMINAL = ("on_response", "on_error", "on_terminate")
PROVIDER_ENV = ("ALPHA_API_KEY", "BETA_API_KEY", "KEYLESS_API_KEY", "MY:PROV_API_KEY",
                "MY_PROV_API_KEY", "MY-PROV_API_KEY", "OLLAMA_API_KEY", "ZZZ_API_KEY")


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path) -> None:
    """No real provider file of this machine is read: empty cwd, home and config dirs."""
    for name in ("home", "xdg", "cwd", "appdata"):
        (tmp_path / name).mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("APPDATA", str(tmp_path / "appdata"))
    monkeypatch.chdir(tmp_path / "cwd")
    for name in PROVIDER_ENV:
        monkeypatch.delenv(name, raising=False)


def write(path: pathlib.Path, data: Any) -> pathlib.Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


@pytest.fixture
def home() -> Iterator[FakeOpenAIServer]:
    """The client's own base URL: plain model ids go here, with the client's key."""
    with FakeOpenAIServer(api_key=CLIENT_KEY) as server:
        yield server


@pytest.fixture
def alpha() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(api_key=ALPHA_KEY) as server:
        yield server


@pytest.fixture
def beta() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(api_key=BETA_KEY) as server:
        yield server


@pytest.fixture
def keyless() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture
def config(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: pathlib.Path,
    alpha: FakeOpenAIServer,
    beta: FakeOpenAIServer,
    keyless: FakeOpenAIServer,
) -> pathlib.Path:
    """./AIProviders.json with three providers: key in the file (4D camelCase keys), key from
    BETA_API_KEY (snake_case keys), and no key at all."""
    monkeypatch.setenv("BETA_API_KEY", BETA_KEY)
    return write(tmp_path / "cwd" / "AIProviders.json", {
        "providers": {
            "alpha": {"baseURL": alpha.url, "apiKey": ALPHA_KEY,
                      "organization": "org-alpha", "project": "proj-alpha"},
            "beta": {"base_url": beta.url, "organization": "org-beta"},
            "keyless": {"baseURL": keyless.url},
        },
        "models": {
            "fast": {"provider": "alpha", "model": "gpt-x"},
            "emb": {"provider": "beta", "model": "text-embed"},
            "local": {"provider": "keyless", "model": "llama3:8b"},
        },
    })


@pytest.fixture
def client(config: pathlib.Path, home: FakeOpenAIServer) -> Iterator[OpenAI]:
    with OpenAI(CLIENT_KEY, home.url, max_retries=0) as c:
        yield c


def auth(server: FakeOpenAIServer) -> list[str | None]:
    return [r.headers.get("Authorization") for r in server.requests]


def models(server: FakeOpenAIServer) -> list[Any]:
    return [r.json.get("model") if isinstance(r.json, dict) else None for r in server.requests]


def assert_client_key_never_leaked(*servers: FakeOpenAIServer) -> None:
    for server in servers:
        for request in server.requests:
            assert all(CLIENT_KEY not in v for v in request.headers.values())


# -- routing over sockets ---------------------------------------------------------------------


def test_aliases_give_each_provider_only_its_own_key(
    client: OpenAI, home: FakeOpenAIServer, alpha: FakeOpenAIServer, beta: FakeOpenAIServer,
    keyless: FakeOpenAIServer,
) -> None:
    results = [
        client.chat.completions.create(MESSAGES, model="fast"),
        client.embeddings.create("hi", "emb"),
        client.chat.completions.create(MESSAGES, model="local"),
        client.chat.completions.create(MESSAGES, model="gpt-4o-mini"),
    ]
    assert [r.success for r in results] == [True] * 4, [r.errors for r in results]
    assert models(alpha) == ["gpt-x"] and auth(alpha) == [f"Bearer {ALPHA_KEY}"]
    assert models(beta) == ["text-embed"] and auth(beta) == [f"Bearer {BETA_KEY}"]
    assert models(keyless) == ["llama3:8b"] and auth(keyless) == [None]
    assert models(home) == ["gpt-4o-mini"] and auth(home) == [f"Bearer {CLIENT_KEY}"]
    # The route's organization/project replace the client's (4D sent the client's).
    assert alpha.requests[0].headers["OpenAI-Organization"] == "org-alpha"
    assert alpha.requests[0].headers["OpenAI-Project"] == "proj-alpha"
    assert beta.requests[0].headers["OpenAI-Organization"] == "org-beta"
    assert "OpenAI-Project" not in beta.requests[0].headers
    assert "OpenAI-Organization" not in keyless.requests[0].headers
    assert_client_key_never_leaked(alpha, beta, keyless)


def test_client_organization_is_not_sent_to_providers(
    config: pathlib.Path, home: FakeOpenAIServer, keyless: FakeOpenAIServer
) -> None:
    with OpenAI(CLIENT_KEY, home.url, organization="org-client", project="proj-c") as client:
        assert client.chat.completions.create(MESSAGES, model="keyless:m").success
        assert client.chat.completions.create(MESSAGES, model="m").success
    sent = keyless.requests[0].headers
    assert "OpenAI-Organization" not in sent and "OpenAI-Project" not in sent
    assert home.requests[0].headers["OpenAI-Organization"] == "org-client"


def test_provider_model_syntax_sync_on_every_json_endpoint(
    client: OpenAI, alpha: FakeOpenAIServer, beta: FakeOpenAIServer, home: FakeOpenAIServer
) -> None:
    assert client.chat.completions.create(MESSAGES, model="alpha:gpt-x").success
    assert client.embeddings.create("hi", "emb").success
    assert client.images.generate("cat", model="beta:img").success
    assert client.moderations.create("x", "alpha:omni").success
    assert [(r.path, r.json["model"]) for r in alpha.requests] == [
        ("/v1/chat/completions", "gpt-x"), ("/v1/moderations", "omni"),
    ]
    assert [(r.path, r.json["model"]) for r in beta.requests] == [
        ("/v1/embeddings", "text-embed"), ("/v1/images/generations", "img"),
    ]
    assert set(auth(alpha)) == {f"Bearer {ALPHA_KEY}"}
    assert set(auth(beta)) == {f"Bearer {BETA_KEY}"}
    assert home.requests == []


def test_provider_model_syntax_in_callback_mode(
    client: OpenAI, alpha: FakeOpenAIServer, beta: FakeOpenAIServer, home: FakeOpenAIServer
) -> None:
    recs = [Recorder() for _ in range(4)]

    def issue() -> None:
        client.chat.completions.create(MESSAGES, recs[0].callbacks(*TERMINAL), model="alpha:gpt-x")
        client.embeddings.create("hi", "emb", recs[1].callbacks(*TERMINAL))
        client.images.generate("cat", recs[2].callbacks(*TERMINAL), model="beta:img")
        client.moderations.create("x", "alpha:omni", recs[3].callbacks(*TERMINAL))

    _, worker = in_worker(issue)
    for rec in recs:
        rec.wait()
        assert rec.names == ["on_response", "on_terminate"]
        assert rec.threads == {worker}
    assert sorted(models(alpha)) == ["gpt-x", "omni"]
    assert sorted(models(beta)) == ["img", "text-embed"]
    assert set(auth(alpha)) == {f"Bearer {ALPHA_KEY}"}
    assert set(auth(beta)) == {f"Bearer {BETA_KEY}"}
    assert home.requests == []


def test_streaming_routes_sync_and_callbacks(
    client: OpenAI, alpha: FakeOpenAIServer, keyless: FakeOpenAIServer
) -> None:
    final = client.chat.completions.create(MESSAGES, model="alpha:gpt-x", stream=True)
    assert final.success, final.errors
    with client.chat.completions.stream(MESSAGES, model="local") as stream:
        chunks = list(stream)
    assert chunks and stream.result is not None and stream.result.success
    rec = Recorder()
    data: list[Any] = []
    in_worker(lambda: client.chat.completions.create(
        MESSAGES, {"on_data": data.append, **rec.callbacks(*TERMINAL)}, model="fast",
        stream=True,
    ))
    rec.wait()
    assert data and rec.names == ["on_response", "on_terminate"]
    assert models(alpha) == ["gpt-x", "gpt-x"]
    assert all(r.json["stream"] is True for r in alpha.requests)
    assert set(auth(alpha)) == {f"Bearer {ALPHA_KEY}"}
    assert models(keyless) == ["llama3:8b"] and auth(keyless) == [None]


# -- OpenAI(provider=...) ---------------------------------------------------------------------


@pytest.mark.parametrize("form", ["keyword", "dict"])
def test_client_configured_from_a_provider(
    form: str, config: pathlib.Path, alpha: FakeOpenAIServer
) -> None:
    client = OpenAI(provider="alpha") if form == "keyword" else OpenAI({"provider": "alpha"})
    with client:
        assert (client.base_url, client.api_key) == (alpha.url, ALPHA_KEY)
        assert (client.organization, client.project) == ("org-alpha", "proj-alpha")
        assert client.chat.completions.create(MESSAGES, model="gpt-x").success
    sent = alpha.requests[0]
    assert sent.headers["Authorization"] == f"Bearer {ALPHA_KEY}"
    assert sent.headers["OpenAI-Organization"] == "org-alpha"
    assert sent.headers["OpenAI-Project"] == "proj-alpha"
    assert sent.json["model"] == "gpt-x"


def test_explicit_settings_win_over_the_provider(
    config: pathlib.Path, alpha: FakeOpenAIServer
) -> None:
    with OpenAI({"provider": "alpha", "apiKey": "sk-explicit-9999", "project": "p-mine"}) as c:
        assert c.api_key == "sk-explicit-9999" and c.project == "p-mine"
        assert c.organization == "org-alpha"
        result = c.models.list()
    assert result.errors[0].is_authentication_error  # the server expects ALPHA_KEY
    assert alpha.requests[0].headers["Authorization"] == "Bearer sk-explicit-9999"
    with OpenAI(provider="alpha", api_key="sk-explicit-9999") as c:
        assert c.api_key == "sk-explicit-9999"


def test_provider_key_from_environment(config: pathlib.Path, beta: FakeOpenAIServer) -> None:
    with OpenAI(provider="beta") as client:
        assert client.api_key == BETA_KEY
        assert client.models.list().success
    assert auth(beta) == [f"Bearer {BETA_KEY}"]


def test_provider_client_settings(tmp_path: pathlib.Path, alpha: FakeOpenAIServer) -> None:
    path = write(tmp_path / "p.json", {"providers": {"slow": {
        "baseURL": alpha.url, "apiKey": ALPHA_KEY, "timeout": 7, "maxRetries": 5,
        "customHeaders": {"X-Team": "blue"}, "max_retries": 9,
    }}})
    providers = OpenAIProviders(path)
    settings: dict[str, Any] = {"timeout": 3.0}
    assert providers.apply_settings(settings, "slow") is None
    assert settings == {"timeout": 3.0, "base_url": alpha.url, "api_key": ALPHA_KEY,
                        "max_retries": 5, "custom_headers": {"X-Team": "blue"}}
    bad = write(tmp_path / "bad.json", {"providers": {"p": {
        "baseURL": alpha.url, "timeout": "soon", "customHeaders": {"X": 1}}}})
    providers = OpenAIProviders(bad)
    settings = {}
    assert providers.apply_settings(settings, "p") is None
    assert settings == {"base_url": alpha.url}
    assert len(providers.errors) == 2


def test_provider_without_base_url(tmp_path: pathlib.Path, home: FakeOpenAIServer) -> None:
    providers = OpenAIProviders(write(tmp_path / "p.json", {"providers": {"p": {"apiKey": "k"}}}))
    error = providers.apply_settings({}, "p")
    assert isinstance(error, OpenAIError)
    assert error.message == "Provider 'p' missing required baseURL"
    settings: dict[str, Any] = {"base_url": home.url}
    assert providers.apply_settings(settings, "p") is None  # an explicit URL completes it
    assert settings == {"base_url": home.url, "api_key": "k"}


def test_unknown_provider_client_fails_every_call_without_sending(
    config: pathlib.Path, monkeypatch: pytest.MonkeyPatch, home: FakeOpenAIServer
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", home.url)
    monkeypatch.setenv("OPENAI_API_KEY", CLIENT_KEY)
    with OpenAI(provider="nope") as client:
        result = client.chat.completions.create(MESSAGES)
        rec = Recorder()
        in_worker(lambda: client.models.list(rec.callbacks(*TERMINAL)))
        rec.wait()
    assert result.terminated and not result.success
    assert result.errors[0].kind == "provider"
    assert result.errors[0].message == "Provider 'nope' not found in configuration"
    assert rec.names == ["on_error", "on_terminate"]
    assert home.requests == []


# -- resolution failures ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("models_", "model", "message"),
    [
        ({}, "zzz:gpt-x", "Provider 'zzz' not found in configuration"),
        ({"a": {"provider": "gone", "model": "m"}}, "a",
         "Model alias 'a': Provider 'gone' not found in configuration"),
        ({"a": {"model": "m"}}, "a", "Model alias 'a' has no provider defined"),
        ({"a": {"provider": "nourl", "model": "m"}}, "a",
         "Provider 'nourl' missing required baseURL"),
        ({}, "nourl:m", "Provider 'nourl' missing required baseURL"),
        ({"a": {"provider": "keyless"}}, "a", "Model alias 'a' has no model defined"),
    ],
)
def test_resolution_errors_fail_without_sending(
    models_: dict[str, Any], model: str, message: str, tmp_path: pathlib.Path,
    home: FakeOpenAIServer, keyless: FakeOpenAIServer,
) -> None:
    write(tmp_path / "cwd" / "AIProviders.json", {
        "providers": {"keyless": {"baseURL": keyless.url}, "nourl": {"apiKey": "k"}},
        "models": models_,
    })
    with OpenAI(CLIENT_KEY, home.url) as client:
        error = client.providers.resolve_model(model)
        assert isinstance(error, OpenAIError)
        assert (error.message, error.kind, error.status) == (message, "provider", None)
        result = client.chat.completions.create(MESSAGES, model=model)
        stream = client.chat.completions.create(MESSAGES, model=model, stream=True)
        rec = Recorder()
        in_worker(lambda: client.embeddings.create("x", model, rec.callbacks(*TERMINAL)))
        rec.wait()
    for failed in (result, stream):
        assert failed.terminated and not failed.success
        assert failed.errors[0].message == message
    assert rec.names == ["on_error", "on_terminate"]
    assert rec.events[0][2].errors[0].kind == "provider"
    assert home.requests == [] and keyless.requests == []


def test_stream_iterator_with_unknown_provider_sends_nothing(
    config: pathlib.Path, home: FakeOpenAIServer
) -> None:
    with OpenAI(CLIENT_KEY, home.url, max_retries=0) as client:
        with client.chat.completions.stream(MESSAGES, model="zzz:gpt") as stream:
            assert list(stream) == []
        assert stream.result is not None
        assert stream.result.errors[0].kind == "provider"
    assert home.requests == []


def test_keyless_provider_client_does_not_get_openai_api_key(
    config: pathlib.Path, monkeypatch: pytest.MonkeyPatch, keyless: FakeOpenAIServer
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", CLIENT_KEY)
    with OpenAI(provider="keyless") as client:
        assert client.models.list().success
    assert auth(keyless) == [None]


# -- ids that only look like provider:model ---------------------------------------------------


def test_fine_tuned_ids_are_plain_model_ids(client: OpenAI, home: FakeOpenAIServer) -> None:
    model = "ft:gpt-4o-mini:org::abc123"
    assert client.providers.resolve_model(model) is None
    assert client.chat.completions.create(MESSAGES, model=model).success
    assert models(home) == [model]


def test_without_any_config_colon_ids_are_untouched(home: FakeOpenAIServer) -> None:
    with OpenAI(CLIENT_KEY, home.url) as client:
        assert client.providers.path is None and client.providers.list() == []
        for model in ("llama3:8b", "alpha:gpt-x", "ft:gpt-4o:o::1"):
            assert client.chat.completions.create(MESSAGES, model=model).success
    assert models(home) == ["llama3:8b", "alpha:gpt-x", "ft:gpt-4o:o::1"]


def test_colons_in_provider_names_and_model_ids(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, home: FakeOpenAIServer,
    alpha: FakeOpenAIServer, keyless: FakeOpenAIServer,
) -> None:
    write(tmp_path / "cwd" / "AIProviders.json", {"providers": {
        "my": {"baseURL": home.url},
        "my:prov": {"baseURL": alpha.url},
        "ollama": {"baseURL": keyless.url},
    }, "models": {"team:fast": {"provider": "my:prov", "model": "gpt-x"}}})
    monkeypatch.setenv("MY_PROV_API_KEY", ALPHA_KEY)  # "MY:PROV_API_KEY" is not set
    providers = OpenAIProviders()
    assert providers.list() == ["my", "my:prov", "ollama"]
    route = providers.resolve_model("my:prov:gpt-4o")
    assert route == ModelRoute("my:prov", "gpt-4o", alpha.url, ALPHA_KEY)
    route = providers.resolve_model("my:other")
    assert isinstance(route, ModelRoute) and (route.provider, route.model) == ("my", "other")
    route = providers.resolve_model("ollama:llama3:8b")
    assert isinstance(route, ModelRoute) and route.model == "llama3:8b"
    route = providers.resolve_model("team:fast")  # an alias wins over provider:model
    assert isinstance(route, ModelRoute) and route.provider == "my:prov"
    got = providers.get("my:prov")
    assert got is not None and got["name"] == "my:prov"
    assert got["model_aliases"] == [{"name": "team:fast", "provider": "my:prov",
                                     "model": "gpt-x"}]
    with OpenAI("sk-unused-0000", home.url) as client:
        assert client.chat.completions.create(MESSAGES, model="my:prov:gpt-4o").success
        assert client.chat.completions.create(MESSAGES, model="ollama:llama3:8b").success
    assert models(alpha) == ["gpt-4o"] and auth(alpha) == [f"Bearer {ALPHA_KEY}"]
    assert models(keyless) == ["llama3:8b"]
    assert home.requests == []


def test_env_key_names(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "p.json", {"providers": {
        "my-prov": {"baseURL": "http://127.0.0.1:9/v1"},
        "filed": {"baseURL": "http://127.0.0.1:9/v1", "apiKey": "sk-from-file-0000"},
    }})
    providers = OpenAIProviders(path)

    def key(model: str) -> str:
        route = providers.resolve_model(model)
        assert isinstance(route, ModelRoute)
        return route.api_key

    assert key("my-prov:m") == ""
    monkeypatch.setenv("MY_PROV_API_KEY", "sk-sanitised-1")
    assert key("my-prov:m") == "sk-sanitised-1"
    monkeypatch.setenv("MY-PROV_API_KEY", "sk-verbatim-2")  # 4D's name comes first
    assert key("my-prov:m") == "sk-verbatim-2"
    monkeypatch.setenv("FILED_API_KEY", "sk-env-3")
    assert key("filed:m") == "sk-from-file-0000"  # the file's key beats the environment


# -- the file ---------------------------------------------------------------------------------


def test_search_order(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user = write(tmp_path / "xdg" / "aikit" / "AIProviders.json",
                 {"providers": {"user": {"baseURL": "http://127.0.0.1:9/v1"}}})
    assert config_path() == user
    assert OpenAIProviders().list() == ["user"]
    cwd = write(tmp_path / "cwd" / "AIProviders.json",
                {"providers": {"cwd": {"baseURL": "http://127.0.0.1:9/v1"}}})
    assert config_path() == cwd
    explicit = write(tmp_path / "elsewhere.json",
                     {"providers": {"env": {"baseURL": "http://127.0.0.1:9/v1"}}})
    monkeypatch.setenv("AIKIT_PROVIDERS", str(explicit))
    providers = OpenAIProviders()
    assert providers.path == explicit and providers.list() == ["env"]  # no merge
    assert isinstance(providers.resolve_model("cwd:m"), OpenAIError)
    monkeypatch.setenv("AIKIT_PROVIDERS", str(tmp_path / "missing.json"))
    providers = OpenAIProviders()
    assert providers.path == cwd
    assert providers.errors and "AIKIT_PROVIDERS" in providers.errors[0]


@pytest.mark.parametrize(
    ("platform", "parts"),
    [
        ("linux", ("home", ".config")),
        ("darwin", ("home", "Library", "Application Support")),
        ("win32", ("appdata",)),
    ],
)
def test_user_config_dir_per_platform(
    platform: str, parts: tuple[str, ...], tmp_path: pathlib.Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    expected = write(tmp_path.joinpath(*parts, "aikit", "AIProviders.json"), "{}")
    monkeypatch.delenv("XDG_CONFIG_HOME")
    with monkeypatch.context() as m:
        m.setattr(sys, "platform", platform)
        found = config_path()
    assert found == expected


def test_relative_xdg_config_home_is_ignored(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = write(tmp_path / "home" / ".config" / "aikit" / "AIProviders.json", "{}")
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/dir")
    with monkeypatch.context() as m:
        m.setattr(sys, "platform", "linux")
        assert config_path() == expected


@pytest.mark.parametrize(
    "content",
    [
        '{"providers": {"alpha": {"baseURL": "http://127.0.0.1:9/v1", "apiKey": "'
        + ALPHA_KEY + '"',
        '["not", "an", "object"]',
        '{"providers": ["alpha"]}',
        '{"providers": {}, "models": "fast"}',
        b'{"providers": {"alpha": {"baseURL": "\xff"}}}',
        "[" * 100_000,
    ],
)
def test_malformed_file(
    content: str | bytes, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch,
    home: FakeOpenAIServer,
) -> None:
    path = write(tmp_path / "cwd" / "AIProviders.json", content)
    providers = OpenAIProviders()
    assert providers.path == path and providers.errors
    assert providers.list() == [] and providers.model_aliases() == []
    assert providers.get("alpha") is None
    assert providers.resolve_model("alpha:m") is None  # nothing configured: a plain id
    assert ALPHA_KEY not in " ".join(providers.errors)
    with OpenAI(CLIENT_KEY, home.url) as client:  # construction never raises
        assert client.chat.completions.create(MESSAGES, model="alpha:m").success
    with OpenAI(provider="alpha") as client:
        failed = client.chat.completions.create(MESSAGES)
        assert failed.errors[0].kind == "provider"
    assert models(home) == ["alpha:m"]


def test_bad_entries_are_skipped_and_reported(tmp_path: pathlib.Path) -> None:
    path = write(tmp_path / "p.json", {
        "providers": {"ok": {"baseURL": "http://127.0.0.1:9/v1", "apiKey": {"k": ALPHA_KEY},
                             "project": 42},
                      "broken": "http://127.0.0.1:9/v1"},
        "models": {"bad": "ok:gpt", "good": {"provider": "ok", "model": "m"}},
    })
    providers = OpenAIProviders(path)
    assert providers.list() == ["ok"]
    assert [a["name"] for a in providers.model_aliases()] == ["good"]
    route = providers.resolve_model("good")
    assert route == ModelRoute("ok", "m", "http://127.0.0.1:9/v1", "", "", "42")
    assert len(providers.errors) == 3
    assert ALPHA_KEY not in repr(providers.errors)
    assert providers.resolve_model("bad") is None  # not an alias: "bad" is a plain id


def test_get_list_and_aliases(config: pathlib.Path, alpha: FakeOpenAIServer) -> None:
    providers = OpenAIProviders(config)
    assert providers.errors == []
    assert providers.list() == ["alpha", "beta", "keyless"]
    assert providers.model_aliases() == providers.modelAliases() == [
        {"name": "emb", "provider": "beta", "model": "text-embed"},
        {"name": "fast", "provider": "alpha", "model": "gpt-x"},
        {"name": "local", "provider": "keyless", "model": "llama3:8b"},
    ]
    got = providers.get("alpha")
    assert got == {"baseURL": alpha.url, "apiKey": ALPHA_KEY, "organization": "org-alpha",
                   "project": "proj-alpha", "name": "alpha",
                   "model_aliases": [{"name": "fast", "provider": "alpha", "model": "gpt-x"}],
                   "modelAliases": [{"name": "fast", "provider": "alpha", "model": "gpt-x"}]}
    got["model_aliases"].clear()
    got["apiKey"] = "changed"
    again = providers.get("alpha")
    assert again is not None and again["apiKey"] == ALPHA_KEY and again["model_aliases"]
    assert providers.get("Alpha") is None and providers.get("missing") is None
    assert providers.resolve_model("gpt-4o") is None


def test_secrets_are_masked(config: pathlib.Path, alpha: FakeOpenAIServer) -> None:
    providers = OpenAIProviders()
    route = providers.resolve_model("fast")
    assert isinstance(route, ModelRoute) and route.api_key == ALPHA_KEY
    beta_route = providers.resolve_model("emb")
    for text in (repr(route), repr(providers), repr(beta_route), str(route),
                 " ".join(providers.errors)):
        assert ALPHA_KEY not in text and BETA_KEY not in text
    assert "sk-...1111" in repr(route)
    error = providers.resolve_model("zzz:x")
    assert isinstance(error, OpenAIError) and ALPHA_KEY not in repr(error)
