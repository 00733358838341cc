"""FakeOpenAIServer rate limits (per-key token buckets, 429s, headers) and ``status_counts``."""

from __future__ import annotations

import re
import threading
import time
from typing import Any

import pytest
import requests

from aikit.testing import FakeOpenAIServer
from aikit.testing._limits import estimate_tokens, go_duration

from ._support import chat_body

_RESET = re.compile(r"^(\d+h)?(\d+m)?(\d+(\.\d{1,3})?s|\d+ms)$")


def chat(
    http: requests.Session, server: FakeOpenAIServer, key: str = "sk-a", **body: Any
) -> requests.Response:
    return http.post(
        server.url + "/chat/completions",
        json=chat_body(**body),
        headers={"Authorization": f"Bearer {key}"},
    )


def test_go_duration_formats_like_openai() -> None:
    assert go_duration(0) == "0s"
    assert go_duration(0.12) == "120ms"
    assert go_duration(0.0001) == "1ms"
    assert go_duration(1) == "1s"
    assert go_duration(1.2) == "1.2s"
    assert go_duration(72.5) == "1m12.5s"
    assert go_duration(360) == "6m0s"
    assert go_duration(3725) == "1h2m5s"


def test_token_estimate() -> None:
    assert estimate_tokens(chat_body("hello there")) == 2 + 16
    assert estimate_tokens(chat_body("a b c", max_tokens=10)) == 13
    assert estimate_tokens(chat_body("a", max_completion_tokens=5)) == 6
    assert estimate_tokens({"model": "m", "input": "one two", "max_output_tokens": 20}) == 22
    assert estimate_tokens({"model": "m", "input": [1, 2, 3]}) == 3 + 16
    assert estimate_tokens({"model": "m", "messages": []}) == 1 + 16  # at least one
    assert estimate_tokens(None) == 17


def test_headers_are_real_and_go_down(server: FakeOpenAIServer, http: requests.Session) -> None:
    server.set_rate_limits(requests_per_minute=6, tokens_per_minute=60)
    first, second, third = (chat(http, server, max_tokens=10) for _ in range(3))
    for response in (first, second, third):
        assert response.status_code == 200
        assert response.headers["x-ratelimit-limit-requests"] == "6"
        assert response.headers["x-ratelimit-limit-tokens"] == "60"
        assert _RESET.match(response.headers["x-ratelimit-reset-requests"])
        assert _RESET.match(response.headers["x-ratelimit-reset-tokens"])
    # "hello there" (2 words) + max_tokens 10 = 12 tokens a request; refills are too slow to
    # lift a floor between two quick requests (a request every 10 s, a token a second).
    remaining = [int(r.headers["x-ratelimit-remaining-requests"]) for r in (first, second, third)]
    assert remaining == [5, 4, 3]
    tokens = [int(r.headers["x-ratelimit-remaining-tokens"]) for r in (first, second, third)]
    assert tokens == [48, 36, 24]
    # An unlimited endpoint pays nothing but shows the key's buckets.
    models = http.get(server.url + "/models", headers={"Authorization": "Bearer sk-a"})
    assert models.headers["x-ratelimit-remaining-requests"] == "3"
    assert first.headers["x-ratelimit-reset-requests"] in ("10s", "9.999s", "9.998s")
    server.set_rate_limits()  # off again: the plausible constants come back
    assert chat(http, server).headers["x-ratelimit-limit-requests"] == "10000"


def test_burst_gets_429_then_refills(server: FakeOpenAIServer, http: requests.Session) -> None:
    server.set_rate_limits(requests_per_minute=120)  # a bucket of 120, refilled 2 a second
    statuses = []
    started = time.monotonic()
    for _ in range(200):
        response = chat(http, server)
        statuses.append(response.status_code)
        if response.status_code == 429:
            break
    assert statuses[-1] == 429
    refilled = 2 * (time.monotonic() - started)  # while the burst went on
    assert 120 <= statuses.count(200) <= 120 + refilled + 1
    error = response.json()["error"]
    assert error["type"] == "requests" and error["code"] == "rate_limit_exceeded"
    assert error["param"] is None
    message = error["message"]
    assert message.startswith("Rate limit reached for requests per min (RPM)")
    assert "Limit: 120, Used: 120, Requested: 1." in message
    wait = re.search(r"Please try again in (\d+)ms\.", message)
    assert wait and 0 < int(wait.group(1)) <= 500
    assert response.headers["retry-after"] == "1"
    assert 0 < int(response.headers["retry-after-ms"]) <= 500
    assert response.headers["x-ratelimit-remaining-requests"] == "0"
    assert "x-ratelimit-limit-tokens" not in response.headers  # tokens are unlimited
    # A 429 takes nothing: the bucket refills on schedule, within about half a second.
    started = time.monotonic()
    while (status := chat(http, server).status_code) == 429:
        assert time.monotonic() - started < 3, "the bucket never refilled"
        time.sleep(0.05)
    assert status == 200
    assert time.monotonic() - started < 1.5
    assert server.status_counts[429] >= 2


def test_keys_have_their_own_buckets(server: FakeOpenAIServer, http: requests.Session) -> None:
    server.set_rate_limits(requests_per_minute=2)
    assert [chat(http, server, "sk-a").status_code for _ in range(3)] == [200, 200, 429]
    assert chat(http, server, "sk-b").status_code == 200
    no_key = http.post(server.url + "/embeddings", json={"model": "m", "input": "x"})
    assert no_key.status_code == 200
    assert chat(http, server, "sk-a").status_code == 429
    server.reset()  # refills every bucket, keeps the limits
    assert [chat(http, server, "sk-a").status_code for _ in range(3)] == [200, 200, 429]


def test_token_limit(server: FakeOpenAIServer, http: requests.Session) -> None:
    server.set_rate_limits(tokens_per_minute=100)
    assert chat(http, server, max_tokens=90).status_code == 200  # 92 tokens
    refused = chat(http, server, max_tokens=10)  # 12 tokens, about 8 left
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["type"] == "tokens" and error["code"] == "rate_limit_exceeded"
    assert "tokens per min (TPM)" in error["message"] and "Requested: 12." in error["message"]
    assert int(refused.headers["retry-after"]) >= 1
    assert "x-ratelimit-limit-requests" not in refused.headers
    assert refused.headers["x-ratelimit-limit-tokens"] == "100"
    # Smaller requests still fit; a request over the whole limit never does (no retry-after).
    assert chat(http, server, "sk-a", max_tokens=1).status_code == 200
    too_large = chat(http, server, "sk-b", max_tokens=500)
    assert too_large.status_code == 429
    assert too_large.json()["error"]["message"].startswith("Request too large")
    assert "retry-after" not in too_large.headers
    # Responses count max_output_tokens; images and moderations are limited too.
    big = {"model": "m", "input": "hi", "max_output_tokens": 200}
    headers = {"Authorization": "Bearer sk-c"}
    assert http.post(server.url + "/responses", json=big, headers=headers).status_code == 429
    moderation = {"model": "m", "input": "x " * 120}
    assert (
        http.post(server.url + "/moderations", json=moderation, headers=headers).status_code == 429
    )


def test_files_and_lists_are_not_limited(server: FakeOpenAIServer, http: requests.Session) -> None:
    server.set_rate_limits(requests_per_minute=1)
    assert chat(http, server).status_code == 200
    assert chat(http, server).status_code == 429
    headers = {"Authorization": "Bearer sk-a"}
    for _ in range(3):
        assert http.get(server.url + "/models", headers=headers).status_code == 200
        assert http.get(server.url + "/files", headers=headers).status_code == 200
        assert http.get(server.url + "/batches", headers=headers).status_code == 200
        assert http.get(server.url + "/chat/completions", headers=headers).status_code == 200


def test_status_counts(server: FakeOpenAIServer, http: requests.Session) -> None:
    assert server.status_counts == {}
    server.set_rate_limits(requests_per_minute=2)
    for _ in range(4):
        chat(http, server)
    http.get(server.url + "/nope")
    server.fail_next(503)
    http.get(server.url + "/models")
    counts = server.status_counts
    assert counts == {200: 2, 429: 2, 404: 1, 503: 1}
    counts[200] = 99  # a copy
    assert server.status_counts[200] == 2
    server.clear()
    assert server.status_counts == {}


def test_streams_are_counted_and_limited(server: FakeOpenAIServer, http: requests.Session) -> None:
    server.set_rate_limits(requests_per_minute=1)
    first = chat(http, server, stream=True)
    assert first.status_code == 200 and first.headers["x-ratelimit-remaining-requests"] == "0"
    assert chat(http, server, stream=True).status_code == 429
    assert server.status_counts == {200: 1, 429: 1}


def test_threads_share_the_bucket_exactly(server: FakeOpenAIServer) -> None:
    server.set_rate_limits(requests_per_minute=40)  # refills 2 every 3 s: none during the test
    results: list[int] = []
    lock = threading.Lock()
    started = time.monotonic()

    def worker() -> None:
        with requests.Session() as session:
            session.trust_env = False
            for _ in range(20):
                status = chat(session, server).status_code
                with lock:
                    results.append(status)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(results) == 120
    assert 40 <= results.count(200) <= 40 + (time.monotonic() - started) * 40 / 60 + 1
    assert results.count(429) == 120 - results.count(200)
    assert server.status_counts == {200: results.count(200), 429: results.count(429)}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"requests_per_minute": 0},
        {"requests_per_minute": -1},
        {"tokens_per_minute": float("inf")},
        {"tokens_per_minute": True},
        {"requests_per_minute": "60"},
    ],
)
def test_set_rate_limits_checks_its_arguments(
    server: FakeOpenAIServer, kwargs: dict[str, Any]
) -> None:
    with pytest.raises(ValueError):
        server.set_rate_limits(**kwargs)
