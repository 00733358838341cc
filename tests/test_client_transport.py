"""Transport choices: one shared Session under many threads, proxies from options and env."""

from __future__ import annotations

import pathlib
import threading

import pytest

from aikit import OpenAI
from aikit.testing import FakeOpenAIServer

PROXIED = "http://aikit-proxy.test/v1"  # reserved name: only the local proxy ever sees it


def test_one_session_shared_by_fifty_threads(aikit_server: FakeOpenAIServer) -> None:
    """The client shares one requests.Session (cookies off) across threads: 50 threads each
    get their own answers back, none lost or crossed."""
    client = OpenAI(aikit_server.api_key, aikit_server.url)
    wrong: list[str] = []
    failures: list[object] = []
    start = threading.Barrier(50)

    def worker(n: int) -> None:
        start.wait(10)
        for i in range(10):
            text = f"thread {n} call {i}"
            result = client.chat.completions.create([{"role": "user", "content": text}])
            if not result.success:
                failures.append(result.errors)
            elif result.choice.message.text != f"Echo: {text}":
                wrong.append(result.choice.message.text)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert failures == [] and wrong == []
    assert len(aikit_server.requests) == 500
    assert len({id(client._runner._get_transport().session)}) == 1
    client.close()


def test_proxies_option(aikit_server: FakeOpenAIServer) -> None:
    root = aikit_server.url.removesuffix("/v1")
    with OpenAI(aikit_server.api_key, PROXIED, proxies={"http": root}, max_retries=0) as c:
        c.models.list()
    assert aikit_server.requests[-1].headers["Host"] == "aikit-proxy.test"  # came via the proxy


def test_proxy_from_environment(aikit_server: FakeOpenAIServer,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", aikit_server.url.removesuffix("/v1"))
    with OpenAI(aikit_server.api_key, PROXIED, max_retries=0) as client:
        client.models.list()
    assert aikit_server.requests[-1].headers["Host"] == "aikit-proxy.test"  # came via the proxy


def test_closed_client_refuses_new_calls(aikit_server: FakeOpenAIServer) -> None:
    """A call on a closed client ends as an error result (sync and callback), nothing sent."""
    client = OpenAI(aikit_server.api_key, aikit_server.url)
    assert client.models.list().success
    client.close()
    sent = len(aikit_server.requests)
    result = client.models.list()
    assert not result.success and result.terminated
    assert result.errors[0].kind == "terminated" and "closed" in result.errors[0].message
    seen: list[str] = []
    pending = client.models.list(on_error=lambda r: seen.append("error"),
                                 on_terminate=lambda r: seen.append("terminate"))
    assert pending.wait(10) and seen == ["error", "terminate"]
    assert len(aikit_server.requests) == sent


def test_netrc_never_replaces_the_key(aikit_server: FakeOpenAIServer, tmp_path: pathlib.Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """requests' trust_env would let a ~/.netrc entry overwrite Authorization with Basic."""
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password hunter2\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    with OpenAI(aikit_server.api_key, aikit_server.url) as client:
        assert client.models.list().success
    assert aikit_server.requests[-1].headers["Authorization"] == f"Bearer {aikit_server.api_key}"


def test_ca_bundle_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/corporate-ca.pem")
    transport = OpenAI("sk-x", "https://127.0.0.1:9/v1")._runner._get_transport()
    assert transport._environment("https://127.0.0.1:9/v1/models")[1] == (
        "/etc/ssl/certs/corporate-ca.pem"
    )
    explicit = OpenAI("sk-x", "https://127.0.0.1:9/v1", verify=False)._runner._get_transport()
    assert explicit._environment("https://127.0.0.1:9/v1/models")[1] is False
