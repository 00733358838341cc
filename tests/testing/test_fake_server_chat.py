"""FakeOpenAIServer chat completions: echo, scripts, tools, validation, SSE streams, storage."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
import requests

from aikit.testing import FakeOpenAIServer

from ._support import RawConnection, chat_body, sse_chunks, sse_data


def post_chat(http: requests.Session, server: FakeOpenAIServer, **body: Any) -> requests.Response:
    return http.post(server.url + "/chat/completions", json=body)


def create(http: requests.Session, server: FakeOpenAIServer, **extra: Any) -> dict[str, Any]:
    response = http.post(server.url + "/chat/completions", json=chat_body(**extra))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def stream(http: requests.Session, server: FakeOpenAIServer, body: dict[str, Any]) -> bytes:
    response = http.post(server.url + "/chat/completions", json=body, stream=True)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["transfer-encoding"] == "chunked"
    return response.raw.read()


def test_echo_reply_shape_and_usage(server: FakeOpenAIServer, http: requests.Session) -> None:
    messages = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Why is 42 special"},
    ]
    body = post_chat(http, server, model="any-model-name", messages=messages).json()
    assert body["object"] == "chat.completion"
    assert body["id"].startswith("chatcmpl-")
    assert isinstance(body["created"], int)
    assert body["model"] == "any-model-name"
    assert body["choices"] == [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "Echo: Why is 42 special",
                "refusal": None,
                "annotations": [],
            },
            "logprobs": None,
            "finish_reason": "stop",
        }
    ]
    usage = body["usage"]
    assert (usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"]) == (7, 5, 12)
    assert "metadata" not in body
    again = post_chat(http, server, model="any-model-name", messages=messages).json()
    assert again["choices"] == body["choices"] and again["usage"] == body["usage"]


def test_echo_of_content_parts_and_n_choices(
    server: FakeOpenAIServer, http: requests.Session
) -> None:
    parts = [
        {"type": "text", "text": "look at"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
        {"type": "text", "text": "this"},
    ]
    body = create(http, server, n=3)
    assert [choice["index"] for choice in body["choices"]] == [0, 1, 2]
    assert body["usage"]["completion_tokens"] == 3 * 3  # "Echo: hello there" per choice
    messages = [{"role": "user", "content": parts}]
    reply = post_chat(http, server, model="m", messages=messages).json()
    assert reply["choices"][0]["message"]["content"] == "Echo: look at this"


def test_tool_results_are_reported_back(server: FakeOpenAIServer, http: requests.Session) -> None:
    calls = [
        {"id": "call_a", "type": "function", "function": {"name": "f", "arguments": "{}"}},
        {"id": "call_b", "type": "function", "function": {"name": "g", "arguments": "{}"}},
    ]
    messages = [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": None, "tool_calls": calls},
        {"role": "tool", "tool_call_id": "call_a", "content": "sunny"},
        {"role": "tool", "tool_call_id": "call_b", "content": [{"type": "text", "text": "20C"}]},
    ]
    body = post_chat(http, server, model="m", messages=messages).json()
    assert body["choices"][0]["message"]["content"] == "Tool said: sunny | 20C"


def test_reply_next_text_times_and_overrides(
    server: FakeOpenAIServer, http: requests.Session
) -> None:
    server.reply_next("Scripted answer", times=2)
    server.reply_next(finish_reason="length", usage={"prompt_tokens": 1, "total_tokens": 1})
    first = create(http, server)
    assert first["choices"][0]["message"]["content"] == "Scripted answer"
    assert first["choices"][0]["finish_reason"] == "stop"
    chunks = sse_chunks(stream(http, server, chat_body(stream=True)))
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks) == (
        "Scripted answer"
    )
    third = create(http, server)
    assert third["choices"][0]["message"]["content"] == "Echo: hello there"  # text None = echo
    assert third["choices"][0]["finish_reason"] == "length"
    assert third["usage"] == {"prompt_tokens": 1, "total_tokens": 1}
    assert create(http, server)["choices"][0]["finish_reason"] == "stop"


def test_reply_next_tool_calls(server: FakeOpenAIServer, http: requests.Session) -> None:
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]
    server.reply_next(
        tool_calls=[
            {"name": "get_weather", "arguments": {"city": "Paris"}},
            {"name": "get_time", "arguments": '{"tz": "CET"}', "id": "call_custom"},
        ]
    )
    body = create(http, server, tools=tools)
    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    message = choice["message"]
    assert message["content"] is None
    first, second = message["tool_calls"]
    assert re.fullmatch(r"call_\d+", first["id"])
    assert first["type"] == "function"
    assert first["function"] == {"name": "get_weather", "arguments": '{"city": "Paris"}'}
    assert second["id"] == "call_custom"
    assert second["function"]["arguments"] == '{"tz": "CET"}'

    # The conversation continues offline: the tool results are echoed back.
    messages = [
        {"role": "user", "content": "hello there"},
        message,
        {"role": "tool", "tool_call_id": first["id"], "content": "rainy"},
        {"role": "tool", "tool_call_id": "call_custom", "content": "noon"},
    ]
    follow_up = post_chat(http, server, model="m", messages=messages, tools=tools).json()
    assert follow_up["choices"][0]["message"]["content"] == "Tool said: rainy | noon"

    server.reply_next("Let me check.", tool_calls=[{"name": "x"}], finish_reason="stop")
    both = create(http, server)["choices"][0]
    assert both["message"]["content"] == "Let me check."
    assert both["message"]["tool_calls"][0]["function"]["arguments"] == "{}"
    assert both["finish_reason"] == "stop"


def test_reply_next_rejects_bad_scripts(server: FakeOpenAIServer) -> None:
    with pytest.raises(ValueError):
        server.reply_next(tool_calls=[{"arguments": {}}])
    with pytest.raises(TypeError):
        server.reply_next(tool_calls=["get_weather"])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        server.reply_next(tool_calls=[{"name": "f", "id": 3}])
    with pytest.raises(TypeError):
        server.reply_next(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        server.reply_next("x", times=0)
    with pytest.raises(ValueError):
        server.stream_tokens_next(-1)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "m"}, "messages"),
        ({"model": "m", "messages": []}, "messages"),
        ({"model": "m", "messages": "hi"}, "messages"),
        ({"messages": [{"role": "user", "content": "x"}]}, "model"),
        ({"model": "m", "messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
        ({"model": "m", "messages": ["x"]}, "messages[0]"),
        (chat_body(n=0), "n"),
        (chat_body(n=True), "n"),
        (chat_body(stream="yes"), "stream"),
        (chat_body(stream_options={"include_usage": True}), "stream_options"),
        (chat_body(tools=[]), "tools"),
        (chat_body(metadata={"k": 1}), "metadata"),
        (
            {"model": "m", "messages": [{"role": "tool", "tool_call_id": "c", "content": "x"}]},
            "messages.[0].tool_call_id",
        ),
        (
            {"model": "m", "messages": [{"role": "tool", "content": "x"}]},
            "messages[0].tool_call_id",
        ),
        (
            {
                "model": "m",
                "messages": [
                    {"role": "user", "content": "x"},
                    {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function"}]},
                ],
            },
            "messages.[1].role",
        ),
        (
            {
                "model": "m",
                "messages": [
                    {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function"}]},
                    {"role": "tool", "tool_call_id": "c2", "content": "x"},
                ],
            },
            "messages.[1].tool_call_id",
        ),
    ],
)
def test_invalid_requests_get_400_naming_the_param(
    server: FakeOpenAIServer, http: requests.Session, body: dict[str, Any], param: str
) -> None:
    server.reply_next("kept for the next valid request")
    response = http.post(server.url + "/chat/completions", json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == param
    assert error["type"] == "invalid_request_error"
    assert set(error) == {"message", "type", "param", "code"}
    assert create(http, server)["choices"][0]["message"]["content"].startswith("kept")


def test_stream_events_one_per_http_chunk(server: FakeOpenAIServer) -> None:
    text = "one two three four five six seven eight nine ten"
    server.reply_next(text)
    with RawConnection(server) as raw:
        raw.send("POST", "/v1/chat/completions", chat_body(stream=True))
        status, headers = raw.read_head()
        assert status == 200
        assert headers["content-type"] == "text/event-stream; charset=utf-8"
        assert headers["x-request-id"] == "req_1"
        chunks = raw.iter_chunks()
    assert all(chunk.startswith(b"data: ") and chunk.endswith(b"\n\n") for chunk in chunks)
    assert all(len(sse_data(chunk)) == 1 for chunk in chunks)
    assert chunks[-1] == b"data: [DONE]\n\n"
    parsed = [json.loads(sse_data(chunk)[0]) for chunk in chunks[:-1]]
    assert parsed[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    pieces = [c["choices"][0]["delta"]["content"] for c in parsed[1:-1]]
    assert len(pieces) == 10
    assert pieces[:2] == ["one ", "two "]
    assert "".join(pieces) == text
    last = parsed[-1]["choices"][0]
    assert last["delta"] == {} and last["finish_reason"] == "stop"
    for chunk in parsed:
        assert chunk["object"] == "chat.completion.chunk"
        assert chunk["id"] == parsed[0]["id"] and chunk["model"] == "gpt-4o-mini"
        assert "usage" not in chunk


def test_stream_usage_chunk_when_asked(server: FakeOpenAIServer, http: requests.Session) -> None:
    body = chat_body("count me", stream=True, stream_options={"include_usage": True})
    chunks = sse_chunks(stream(http, server, body))
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["prompt_tokens"] == 2
    assert chunks[-1]["usage"]["completion_tokens"] == 3
    assert all(chunk["usage"] is None for chunk in chunks[:-1])
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"


def test_stream_of_several_choices(server: FakeOpenAIServer, http: requests.Session) -> None:
    chunks = sse_chunks(stream(http, server, chat_body("a b", stream=True, n=2)))
    texts = {0: "", 1: ""}
    finishes = {}
    for chunk in chunks:
        for choice in chunk["choices"]:
            texts[choice["index"]] += choice["delta"].get("content") or ""
            if choice["finish_reason"]:
                finishes[choice["index"]] = choice["finish_reason"]
    assert texts == {0: "Echo: a b", 1: "Echo: a b"}
    assert finishes == {0: "stop", 1: "stop"}


def test_tool_call_stream_reassembles(server: FakeOpenAIServer, http: requests.Session) -> None:
    arguments = {"city": "Paris", "unit": "celsius", "days": [1, 2, 3]}
    server.reply_next(
        tool_calls=[
            {"name": "get_weather", "arguments": arguments},
            {"name": "get_time", "arguments": {"tz": "Europe/Paris"}, "id": "call_t"},
        ]
    )
    tools = [{"type": "function", "function": {"name": "get_weather"}}]
    chunks = sse_chunks(stream(http, server, chat_body(stream=True, tools=tools)))
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": None}
    calls: dict[int, dict[str, Any]] = {}
    finish = None
    for chunk in chunks:
        choice = chunk["choices"][0]
        finish = choice["finish_reason"] or finish
        for delta in choice["delta"].get("tool_calls", []):
            if "id" in delta:
                assert delta["type"] == "function"
                assert delta["function"]["arguments"] == ""
                calls[delta["index"]] = {"id": delta["id"], **delta["function"]}
            else:
                assert set(delta) == {"index", "function"}
                assert set(delta["function"]) == {"arguments"}
                assert 0 < len(delta["function"]["arguments"]) <= 5
                calls[delta["index"]]["arguments"] += delta["function"]["arguments"]
    assert finish == "tool_calls"
    assert calls[0]["name"] == "get_weather"
    assert json.loads(calls[0]["arguments"]) == arguments
    assert calls[1] == {"id": "call_t", "name": "get_time", "arguments": '{"tz": "Europe/Paris"}'}
    argument_chunks = sum(
        1 for c in chunks for d in c["choices"][0]["delta"].get("tool_calls", []) if "id" not in d
    )
    assert argument_chunks >= len(json.dumps(arguments)) // 5


def test_stream_tokens_next_gives_exact_chunk_count(
    server: FakeOpenAIServer, http: requests.Session
) -> None:
    server.stream_tokens_next(200)
    server.stream_tokens_next(3)
    chunks = sse_chunks(stream(http, server, chat_body(stream=True)))
    pieces = [c["choices"][0]["delta"]["content"] for c in chunks[1:-1]]
    assert pieces == [f"tok{i} " for i in range(200)]
    assert create(http, server)["choices"][0]["message"]["content"] == "tok0 tok1 tok2 "


def test_chunk_delay_slows_streams(server: FakeOpenAIServer, http: requests.Session) -> None:
    server.chunk_delay = 0.04
    server.stream_tokens_next(5)
    started = time.monotonic()
    chunks = sse_chunks(stream(http, server, chat_body(stream=True)))
    assert len(chunks) == 7
    assert time.monotonic() - started >= 0.04 * 6


def test_stored_completions_crud(server: FakeOpenAIServer, http: requests.Session) -> None:
    url = server.url + "/chat/completions"
    unstored = create(http, server)
    first = create(http, server, store=True, metadata={"topic": "a", "user": "u1"})
    second = create(http, server, store=True, metadata={"topic": "b"}, model="other")
    streamed = stream(http, server, chat_body(stream=True, store=True, metadata={"topic": "a"}))
    third_id = sse_chunks(streamed)[0]["id"]
    assert first["metadata"] == {"topic": "a", "user": "u1"}

    listing = http.get(url).json()
    assert listing["object"] == "list"
    assert [c["id"] for c in listing["data"]] == [first["id"], second["id"], third_id]
    assert listing["first_id"] == first["id"] and listing["last_id"] == third_id
    assert listing["has_more"] is False
    assert unstored["id"] not in [c["id"] for c in listing["data"]]
    assert listing["data"][2]["choices"][0]["message"]["content"] == "Echo: hello there"

    def ids(**query: str) -> list[str]:
        return [c["id"] for c in http.get(url, params=query).json()["data"]]

    assert ids(model="other") == [second["id"]]
    assert ids(**{"metadata[topic]": "a"}) == [first["id"], third_id]
    assert ids(**{"metadata[topic]": "a", "metadata[user]": "u1"}) == [first["id"]]
    assert ids(order="desc") == [third_id, second["id"], first["id"]]
    page = http.get(url, params={"limit": "1", "after": first["id"]}).json()
    assert [c["id"] for c in page["data"]] == [second["id"]] and page["has_more"] is True
    assert http.get(url, params={"order": "sideways"}).status_code == 400
    assert http.get(url, params={"limit": "x"}).json()["error"]["param"] == "limit"
    empty = http.get(url, params={"model": "nothing"}).json()
    assert empty == {
        "object": "list",
        "data": [],
        "first_id": None,
        "last_id": None,
        "has_more": False,
    }

    item_url = f"{url}/{first['id']}"
    assert http.get(item_url).json() == listing["data"][0]
    updated = http.post(item_url, json={"metadata": {"topic": "z"}}).json()
    assert updated["metadata"] == {"topic": "z"}
    assert ids(**{"metadata[topic]": "z"}) == [first["id"]]
    assert http.post(item_url, json={}).json()["error"]["param"] == "metadata"

    messages = http.get(item_url + "/messages").json()
    assert messages["object"] == "list"
    assert [(m["id"], m["role"], m["content"]) for m in messages["data"]] == [
        (f"{first['id']}-0", "user", "hello there")
    ]
    assert messages["data"][0]["content_parts"] is None
    assert messages["first_id"] == messages["last_id"] == f"{first['id']}-0"

    deleted = http.delete(item_url).json()
    assert deleted == {"object": "chat.completion.deleted", "id": first["id"], "deleted": True}
    for response in (http.get(item_url), http.delete(item_url), http.get(item_url + "/messages")):
        assert response.status_code == 404
    assert http.get(f"{url}/{unstored['id']}").status_code == 404


def test_stored_messages_pagination_and_parts(
    server: FakeOpenAIServer, http: requests.Session
) -> None:
    parts = [{"type": "text", "text": "part"}]
    messages = [
        {"role": "system", "content": "s"},
        {"role": "user", "content": "u1"},
        {"role": "assistant", "content": "a"},
        {"role": "user", "content": parts},
    ]
    body = post_chat(http, server, model="m", messages=messages, store=True).json()
    url = f"{server.url}/chat/completions/{body['id']}/messages"
    page = http.get(url, params={"limit": "2", "order": "desc"}).json()
    assert [m["id"][-2:] for m in page["data"]] == ["-3", "-2"]
    assert page["data"][0]["content"] is None and page["data"][0]["content_parts"] == parts
    assert page["has_more"] is True
    rest = http.get(url, params={"after": page["last_id"], "order": "desc"}).json()
    assert [m["role"] for m in rest["data"]] == ["user", "system"]
    assert rest["has_more"] is False
