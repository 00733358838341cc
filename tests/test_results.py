"""Result classes built from canned HTTP responses (no sockets)."""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path
from typing import Any

import pytest

from aikit._headers import Headers
from aikit._http.response import HTTPResponse
from aikit.errors import OpenAIError
from aikit.objects import (
    OpenAIChoice,
    OpenAIEmbedding,
    OpenAIFile,
    OpenAIFileDeleted,
    OpenAIImage,
    OpenAIMessage,
    OpenAIModel,
    OpenAIModeration,
)
from aikit.results import (
    OpenAIChatCompletionsResult,
    OpenAIChatCompletionsStreamResult,
    OpenAIEmbeddingsResult,
    OpenAIFileDeletedResult,
    OpenAIFileListResult,
    OpenAIFileResult,
    OpenAIImagesResult,
    OpenAIModelListResult,
    OpenAIModelResult,
    OpenAIModerationResult,
    OpenAIResult,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 8
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 8
WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 8


def response(
    body: Any = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
    reason: str = "OK",
) -> HTTPResponse:
    if isinstance(body, (bytes, str)):
        content = body.encode() if isinstance(body, str) else body
        parsed = HTTPResponse.parse_body(content, "application/json")
    else:
        content = json.dumps(body).encode() if body is not None else b""
        parsed = body
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    return HTTPResponse(status, reason, Headers(all_headers), content, parsed)


COMPLETION = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1700000000,
    "model": "gpt-4o-mini",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "42", "refusal": None},
            "finish_reason": "stop",
            "logprobs": None,
        },
        {"index": 1, "message": {"role": "assistant", "content": "forty-two"}},
    ],
    "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6},
}


# -- chat completions -----------------------------------------------------------------------


def test_chat_result_choices() -> None:
    r = OpenAIChatCompletionsResult(response=response(COMPLETION), terminated=True)
    assert r.success and r.terminated and r.errors == []
    assert r.status == 200
    assert len(r.choices) == 2
    assert all(isinstance(c, OpenAIChoice) for c in r.choices)
    assert r.choice is not None and r.choice.message is not None
    assert r.choice.message.text == "42"
    assert r.choices[0].text == "42"
    assert r.choices[1].text == "forty-two"
    assert r.choice.finish_reason == "stop"
    assert r.usage == COMPLETION["usage"]
    assert r.body == COMPLETION


def test_chat_result_error_body() -> None:
    err = {
        "error": {
            "message": "Bad model",
            "type": "invalid_request_error",
            "param": "model",
            "code": "model_not_found",
        }
    }
    r = OpenAIChatCompletionsResult(
        response=response(err, 404, {"x-request-id": "req_9"}, "Not Found"), terminated=True
    )
    assert not r.success
    assert r.choices == [] and r.choice is None
    (e,) = r.errors
    assert isinstance(e, OpenAIError)
    assert (e.status, e.message, e.code, e.type, e.param) == (
        404,
        "Bad model",
        "model_not_found",
        "invalid_request_error",
        "model",
    )
    assert e.is_not_found_error
    assert e.request_id == r.request_id == "req_9"
    with pytest.raises(OpenAIError, match="Bad model"):
        r.throw()


def test_in_band_error_on_200_and_provider_string_errors() -> None:
    r = OpenAIChatCompletionsResult(response=response({"error": "quota"}))
    assert not r.success
    assert r.errors[0].message == "quota"
    html = OpenAIChatCompletionsResult(response=response(b"<html>bad gateway</html>", 502))
    assert html.body is None
    assert html.errors[0].is_internal_server_error


def test_rate_limit_and_request_id() -> None:
    headers = {
        "X-RateLimit-Limit-Requests": "500",
        "x-ratelimit-limit-tokens": "30000",
        "x-ratelimit-remaining-requests": "499",
        "x-ratelimit-remaining-tokens": "29000.0",
        "x-ratelimit-reset-requests": "120ms",
        "x-ratelimit-reset-tokens": "6m0s",
        "X-Request-Id": "req_1",
    }
    r = OpenAIChatCompletionsResult(response=response(COMPLETION, headers=headers))
    rl = r.rate_limit
    assert rl is not None
    assert (rl.limit_requests, rl.limit_tokens) == (500, 30000)
    assert (rl.remaining_requests, rl.remaining_tokens) == (499, 29000)
    assert (rl.reset_requests, rl.reset_tokens) == ("120ms", "6m0s")
    assert r.request_id == "req_1"
    assert r.headers is not None and r.headers["content-type"] == "application/json"


def test_pending_and_transport_failure_results() -> None:
    pending = OpenAIChatCompletionsResult()
    assert not pending.success and not pending.terminated
    assert pending.choices == [] and pending.choice is None and pending.usage is None
    assert pending.rate_limit is None and pending.request_id is None and pending.body is None
    assert pending.wait() is True  # no request behind it: nothing to wait for
    failure = OpenAIError("Connection refused", kind="connection")
    failed = OpenAIChatCompletionsResult(errors=[failure], terminated=True)
    assert failed.errors == [failure] and not failed.success
    with pytest.raises(OpenAIError):
        failed.throw()
    assert "success=False" in repr(failed)


@pytest.mark.parametrize("body", [None, [], "text", {"choices": "x"}, {"choices": [1, None]}])
def test_chat_result_tolerates_odd_bodies(body: Any) -> None:
    r = OpenAIChatCompletionsResult(response=response(body))
    assert r.choices == [] and r.choice is None


# -- streaming ------------------------------------------------------------------------------

STREAM_RESPONSE = HTTPResponse(
    200, "OK", Headers({"Content-Type": "text/event-stream", "x-request-id": "req_s"})
)


def chunk_dict(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-s",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def test_stream_chunk() -> None:
    data = chunk_dict({"role": "assistant", "content": "Hel"})
    c = OpenAIChatCompletionsStreamResult.chunk(data, STREAM_RESPONSE)
    assert isinstance(c, OpenAIChatCompletionsResult)
    assert c.success and not c.terminated and c.errors == []
    assert c.body is data
    assert c.choice is not None and c.choice.delta is not None and c.choice.message is None
    assert c.choice.delta.text == "Hel"
    assert c.choice.text == "Hel"
    assert c.usage is None
    assert c.request_id == "req_s"
    assert c.status == 200


def test_stream_chunk_without_response_and_usage_chunk() -> None:
    usage = {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
    c = OpenAIChatCompletionsStreamResult.chunk({"choices": [], "usage": usage})
    assert c.success
    assert c.choices == [] and c.choice is None
    assert c.usage == usage
    assert c.rate_limit is None


def test_stream_error_chunk() -> None:
    c = OpenAIChatCompletionsStreamResult.chunk(
        {"error": {"message": "overloaded", "type": "server_error", "code": "x"}},
        STREAM_RESPONSE,
    )
    assert not c.success
    (e,) = c.errors
    assert e.message == "overloaded"
    assert e.status is None and e.kind == "stream"
    assert e.type == "server_error"
    assert e.request_id == "req_s"
    with pytest.raises(OpenAIError, match="overloaded"):
        c.throw()


def test_stream_chunk_must_be_a_dict() -> None:
    with pytest.raises(TypeError):
        OpenAIChatCompletionsStreamResult.chunk("data: {}")  # type: ignore[arg-type]


def test_stream_final() -> None:
    calls = [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
    meta = chunk_dict({}, "tool_calls")
    meta["system_fingerprint"] = "fp"
    usage = {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
    final = OpenAIChatCompletionsStreamResult.final(
        [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello", "tool_calls": calls},
                "finish_reason": "tool_calls",
            }
        ],
        meta,
        usage,
        STREAM_RESPONSE,
    )
    assert final.success and final.terminated and final.errors == []
    assert final.body == {
        "id": "chatcmpl-s",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o-mini",
        "system_fingerprint": "fp",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello", "tool_calls": calls},
                "finish_reason": "tool_calls",
            }
        ],
        "usage": usage,
    }
    choice = final.choice
    assert choice is not None and choice.message is not None
    assert choice.message.text == "Hello"
    assert choice.message.tool_calls == calls
    assert choice.finish_reason == "tool_calls"
    assert choice.delta is None
    assert final.usage == usage
    assert final.request_id == "req_s"


def test_stream_final_accepts_choices_messages_and_the_usage_chunk() -> None:
    usage_chunk = {"id": "x", "model": "m", "choices": [], "usage": {"total_tokens": 9}}
    final = OpenAIChatCompletionsStreamResult.final(
        [
            OpenAIChoice(index=0, delta={"content": "a"}, finish_reason="stop"),
            OpenAIMessage(role="assistant", content="b"),
        ],
        last_chunk=usage_chunk,
    )
    assert [c.text for c in final.choices] == ["a", "b"]
    assert [c.index for c in final.choices] == [0, 1]
    assert final.choices[0].message is not None
    assert final.choices[0].message.role == "assistant"
    assert final.usage == {"total_tokens": 9}
    assert final.success  # no response object needed


def test_stream_final_with_errors_and_empty_final() -> None:
    err = OpenAIError("stream cut", kind="stream")
    final = OpenAIChatCompletionsStreamResult.final([], None, None, STREAM_RESPONSE, [err])
    assert not final.success and final.terminated
    assert final.errors == [err]
    assert final.choices == [] and final.choice is None
    assert final.body["object"] == "chat.completion"


def test_stream_result_without_data_reads_the_response() -> None:
    err = {"error": {"message": "Invalid key", "type": "invalid_request_error"}}
    r = OpenAIChatCompletionsStreamResult(response=response(err, 401), terminated=True)
    assert not r.success
    assert r.errors[0].is_authentication_error
    ok = OpenAIChatCompletionsStreamResult(response=response(COMPLETION), terminated=True)
    assert ok.success and ok.choice is not None and ok.choice.text == "42"


# -- embeddings -----------------------------------------------------------------------------


def test_embeddings_result() -> None:
    packed = base64.b64encode(struct.pack("<2f", 0.5, -0.25)).decode()
    body = {
        "object": "list",
        "data": [
            {"object": "embedding", "index": 0, "embedding": [0.1, 0.2]},
            {"object": "embedding", "index": 1, "embedding": packed},
        ],
        "model": "text-embedding-3-small",
        "usage": {"prompt_tokens": 2, "total_tokens": 2},
    }
    r = OpenAIEmbeddingsResult(response=response(body))
    assert all(isinstance(e, OpenAIEmbedding) for e in r.embeddings)
    assert r.embedding is not None and r.embedding.index == 0
    assert r.vectors == [[0.1, 0.2], [0.5, -0.25]]
    assert r.vector == [0.1, 0.2]
    assert r.model == "text-embedding-3-small"
    assert r.usage == {"prompt_tokens": 2, "total_tokens": 2}


def test_embeddings_result_empty() -> None:
    r = OpenAIEmbeddingsResult(response=response({"data": None}))
    assert r.embeddings == [] and r.embedding is None and r.vectors == [] and r.vector is None
    assert r.model == ""
    assert OpenAIEmbeddingsResult().model == ""


# -- images ---------------------------------------------------------------------------------


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_images_result_and_save_images_to_disk(tmp_path: Path) -> None:
    body = {
        "created": 1,
        "data": [
            {"b64_json": b64(PNG), "revised_prompt": "p"},
            {"b64_json": b64(JPEG)},
            {"revised_prompt": "no bytes"},
            {"b64_json": b64(WEBP)},
            {"b64_json": b64(b"unknown format")},
        ],
    }
    r = OpenAIImagesResult(response=response(body))
    assert len(r.images) == 5 and all(isinstance(i, OpenAIImage) for i in r.images)
    assert r.image is not None and r.image.revised_prompt == "p"
    folder = tmp_path / "out" / "nested"
    written = r.save_images_to_disk(folder, prefix="cat")
    assert [p.name for p in written] == ["cat0.png", "cat1.jpg", "cat3.webp", "cat4.png"]
    assert all(p.parent == folder for p in written)
    assert (folder / "cat0.png").read_bytes() == PNG
    assert (folder / "cat1.jpg").read_bytes() == JPEG
    assert not (folder / "cat2.png").exists()
    assert (
        OpenAIImagesResult(response=response(body)).save_images_to_disk(str(tmp_path))[0]
        == tmp_path / "image0.png"
    )


def test_images_result_empty(tmp_path: Path) -> None:
    r = OpenAIImagesResult(response=response({"error": {"message": "nope"}}, 400))
    assert r.images == [] and r.image is None
    assert r.save_images_to_disk(tmp_path / "x") == []
    with pytest.raises(TypeError, match="`folder`"):
        r.save_images_to_disk(None)  # type: ignore[arg-type]


# -- models ---------------------------------------------------------------------------------


def test_model_list_and_model() -> None:
    body = {"object": "list", "data": [{"id": "a", "object": "model"}, {"id": "b"}, "junk"]}
    models = OpenAIModelListResult(response=response(body)).models
    assert [m.id for m in models] == ["a", "b"]
    assert all(isinstance(m, OpenAIModel) for m in models)
    assert OpenAIModelListResult(response=response({})).models == []

    m = OpenAIModelResult(response=response({"id": "gpt-4o", "owned_by": "openai"})).model
    assert m is not None and (m.id, m.owned_by) == ("gpt-4o", "openai")


def test_model_hugging_face_wrapper_and_missing_id() -> None:
    hf = OpenAIModelResult(response=response({"data": {"id": "meta-llama/x", "object": "model"}}))
    assert hf.model is not None and hf.model.id == "meta-llama/x"
    assert OpenAIModelResult(response=response({"object": "model"})).model is None
    assert OpenAIModelResult().model is None


# -- moderations and files ------------------------------------------------------------------


def test_moderation_result() -> None:
    body = {
        "id": "modr-1",
        "model": "omni-moderation-latest",
        "results": [{"flagged": False, "categories": {}, "category_scores": {}}],
    }
    mod = OpenAIModerationResult(response=response(body)).moderation
    assert isinstance(mod, OpenAIModeration)
    assert mod.item is not None and mod.item.flagged is False
    assert OpenAIModerationResult(response=response({"results": []})).moderation is None


def test_file_results() -> None:
    file_body = {
        "id": "file-1",
        "object": "file",
        "bytes": 3,
        "filename": "a.txt",
        "purpose": "user_data",
        "created_at": 1,
    }
    f = OpenAIFileResult(response=response(file_body)).file
    assert isinstance(f, OpenAIFile) and f.filename == "a.txt"
    assert OpenAIFileResult(response=response({"error": {"message": "x"}}, 404)).file is None

    listing = {
        "object": "list",
        "data": [file_body, {"id": "file-2", "bytes": 1}, 7],
        "first_id": "file-1",
        "last_id": "file-2",
        "has_more": True,
    }
    lr = OpenAIFileListResult(response=response(listing))
    assert [x.id for x in lr.files] == ["file-1", "file-2"]
    assert (lr.first_id, lr.last_id, lr.has_more) == ("file-1", "file-2", True)
    empty = OpenAIFileListResult(response=response({"object": "list", "data": []}))
    assert (empty.files, empty.first_id, empty.last_id, empty.has_more) == ([], "", "", False)
    assert OpenAIFileListResult().has_more is False

    d = OpenAIFileDeletedResult(
        response=response({"id": "file-1", "object": "file", "deleted": True})
    ).deleted
    assert isinstance(d, OpenAIFileDeleted) and d.deleted is True
    assert OpenAIFileDeletedResult(response=response({})).deleted is None


def test_file_content_result_keeps_raw_bytes() -> None:
    raw = HTTPResponse(
        200, "OK", Headers({"Content-Type": "application/octet-stream"}), b"\x00\x01"
    )
    r = OpenAIResult(response=raw)
    assert r.content == b"\x00\x01"
    assert r.body is None and r.success
