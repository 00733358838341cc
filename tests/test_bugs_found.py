"""Bugs users found, each reproduced over a real socket against the embedded simulator."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from aikit import OpenAI
from aikit.cli import main
from aikit.errors import ErrorKind, OpenAIError
from aikit.objects import OpenAIMessage
from aikit.testing import FakeOpenAIServer

USER = [{"role": "user", "content": "hi"}]


def completion(message: Any) -> bytes:
    return json.dumps({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
    }).encode()


# -- "." and ".." ids --------------------------------------------------------------------------

DOT_CALLS: list[tuple[str, Callable[[OpenAI, str], Any]]] = [
    ("file_id", lambda c, i: c.files.delete(i)),
    ("file_id", lambda c, i: c.files.retrieve(i)),
    ("file_id", lambda c, i: c.files.content(i)),
    ("model", lambda c, i: c.models.retrieve(i)),
    ("completion_id", lambda c, i: c.chat.completions.retrieve(i)),
    ("completion_id", lambda c, i: c.chat.completions.delete(i)),
    ("completion_id", lambda c, i: c.chat.completions.messages.list(i)),
]


@pytest.mark.parametrize("dots", [".", ".."])
@pytest.mark.parametrize(("argument", "call"), DOT_CALLS)
def test_dot_ids_are_refused_and_nothing_is_sent(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI, dots: str, argument: str,
    call: Callable[[OpenAI, str], Any],
) -> None:
    with pytest.raises(ValueError, match=f"`{argument}`"):
        call(aikit_client, dots)
    assert aikit_server.requests == []


def test_ids_that_only_contain_dots_still_go_out(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    for file_id in ("...", ".a", "a.."):
        result = aikit_client.files.retrieve(file_id)
        assert result.status == 404, result.errors
    assert [r.path for r in aikit_server.requests] == [
        "/v1/files/...", "/v1/files/.a", "/v1/files/a.."
    ]


# -- malformed choices -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "role"),
    [
        ({"role": "assistant", "content": 42}, "assistant"),
        ({"role": 7, "content": {"text": "x"}, "text": 3}, None),
        ("just a string", None),
        (["a", "list"], None),
    ],
    ids=["int-content", "bad-role-dict-content", "str-message", "list-message"],
)
def test_malformed_message_is_tolerated(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI, message: Any, role: str | None
) -> None:
    aikit_server.raw_next(completion(message))
    result = aikit_client.chat.completions.create(USER)
    assert result.success, result.errors
    choice = result.choice
    assert choice is not None and len(result.choices) == 1
    assert isinstance(choice.message, OpenAIMessage)
    assert (choice.message.role, choice.message.content, choice.text) == (role, None, "")
    assert choice.finish_reason == "stop"
    assert result.body["choices"][0]["message"] == message  # the raw value is kept


def test_malformed_delta_in_a_stream_is_tolerated(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    events = [
        {"id": "c", "object": "chat.completion.chunk", "model": "m",
         "choices": [{"index": 0, "delta": "oops", "finish_reason": None}]},
        {"id": "c", "object": "chat.completion.chunk", "model": "m",
         "choices": [{"index": 0, "delta": {"role": "assistant", "content": 42},
                      "finish_reason": None}]},
        {"id": "c", "object": "chat.completion.chunk", "model": "m",
         "choices": [{"index": 0, "delta": {"content": "ok"}, "finish_reason": "stop"}]},
    ]
    sse = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
    aikit_server.raw_next(sse.encode(), headers={"Content-Type": "text/event-stream"})
    texts: list[str] = []
    with aikit_client.chat.completions.stream(USER) as stream:
        for chunk in stream:
            assert chunk.choice is not None and chunk.choice.delta is not None
            texts.append(chunk.choice.text)
        final = stream.result
    assert texts == ["", "", "ok"]
    assert final.choice is not None and final.choice.finish_reason == "stop"
    assert isinstance(final.choice.text, str)


# -- FastAPI ``detail`` error bodies -------------------------------------------------------------


def test_detail_text_is_the_error_message(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    aikit_server.fail_next(404, body={"detail": "Model 'x' not found"})
    result = aikit_client.chat.completions.create(USER)
    error = result.errors[0]
    assert (error.status, error.message, error.kind) == (404, "Model 'x' not found", "api")
    assert str(error) == "Error code: 404 - Model 'x' not found"
    assert error.body == {"detail": "Model 'x' not found"}


def test_detail_validation_items_are_joined(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    aikit_server.fail_next(422, body={"detail": [
        {"loc": ["body", "messages", 0, "role"], "msg": "field required",
         "type": "value_error.missing"},
        {"loc": ["body", "temperature"], "msg": "ensure this value is <= 2", "type": "x"},
        {"unexpected": True},
    ]})
    with pytest.raises(OpenAIError) as info:
        aikit_client.chat.completions.create(USER, throw=True)
    assert info.value.is_unprocessable_entity_error
    assert info.value.message == (
        "body.messages.0.role: field required; body.temperature: ensure this value is <= 2"
    )


def test_openai_error_shape_still_wins(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    aikit_server.fail_next(400, body={"error": {"message": "real", "code": "c"},
                                      "detail": "ignored", "message": "ignored too"})
    error = aikit_client.models.list().errors[0]
    assert (error.message, error.code, error.kind) == ("real", "c", ErrorKind.API)


def test_vllm_message_shape(aikit_server: FakeOpenAIServer, aikit_client: OpenAI) -> None:
    aikit_server.fail_next(400, body={"object": "error", "message": "model x does not exist",
                                      "type": "NotFoundError", "param": None, "code": 404})
    error = aikit_client.models.list().errors[0]
    assert (error.message, error.type, error.code) == (
        "model x does not exist", "NotFoundError", 404
    )


# -- per-token embeddings ------------------------------------------------------------------------


def embeddings_body(*embeddings: Any) -> bytes:
    return json.dumps({
        "object": "list", "model": "local",
        "data": [{"object": "embedding", "index": i, "embedding": e}
                 for i, e in enumerate(embeddings)],
    }).encode()


def test_per_token_embeddings_stay_usable(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    tokens = [[0.5, 1], [2, -0.25], [0, 0]]
    aikit_server.raw_next(embeddings_body(tokens, [1, 2]))
    result = aikit_client.embeddings.create(["a b c", "d"], "local")
    assert result.success, result.errors
    assert result.vector == [[0.5, 1.0], [2.0, -0.25], [0.0, 0.0]]
    assert result.vectors == [result.vector, [1.0, 2.0]]
    assert [e.per_token for e in result.embeddings] == [True, False]
    assert result.embedding is not None and result.embedding.per_token
    assert result.model == "local"


@pytest.mark.parametrize("bad", [["x", "y"], [1, [2]], {"v": 1}, "not base64!"])
def test_malformed_embedding_never_raises(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI, bad: Any
) -> None:
    aikit_server.raw_next(embeddings_body(bad))
    result = aikit_client.embeddings.create("a", "local")
    assert result.vector == [] and result.vectors == [[]]
    assert result.embedding is not None and result.embedding.index == 0
    assert result.body["data"][0]["embedding"] == bad


def test_cli_prints_one_line_per_token_vector(
    aikit_server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    aikit_server.raw_next(embeddings_body([[0.5, 1], [2, -0.25]], [3, 4]))
    opts = ["--base-url", aikit_server.url, "--api-key", aikit_server.api_key or ""]
    assert main(["embed", "a b", "c", *opts]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "0.500000 1.000000", "2.000000 -0.250000", "3.000000 4.000000"
    ]
    assert aikit_server.requests[-1].json["model"] == "text-embedding-3-small"  # CLI default
