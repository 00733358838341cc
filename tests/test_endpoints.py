"""Every endpoint end to end over real sockets, sync and callback mode."""

from __future__ import annotations

import io
import pathlib
import threading
from collections.abc import Callable
from typing import Any

import pytest

from aikit import OpenAI
from aikit.objects import OpenAIMessage, OpenAITool
from aikit.testing import FakeOpenAIServer

from .helpers import Recorder, in_worker

USER = [{"role": "user", "content": "hello there"}]


def both_modes(call: Callable[[dict[str, Any]], Any]) -> tuple[Any, Any]:
    """The same call sync, then in callback mode from a worker (on_response on that worker)."""
    sync = call({})
    rec = Recorder(last="on_terminate")
    _, worker = in_worker(lambda: call(rec.callbacks("on_response", "on_terminate")))
    rec.wait()
    assert rec.names == ["on_response", "on_terminate"], [r[2].errors for r in rec.events]
    assert rec.threads == {worker}
    return sync, rec.events[0][2]


def test_chat_create(aikit_server: FakeOpenAIServer, aikit_client: OpenAI) -> None:
    sync, async_ = both_modes(lambda p: aikit_client.chat.completions.create(USER, p))
    for result in (sync, async_):
        assert result.success, result.errors
        assert result.choice.message.text == "Echo: hello there"
        assert result.choices[0].text == "Echo: hello there"
        assert result.choice.finish_reason == "stop"
        assert result.usage["total_tokens"] > 0
    sent = aikit_server.requests[0].json
    assert sent["model"] == "gpt-4o-mini"  # 4D default model
    assert sent["messages"] == USER


def test_chat_body_rules(aikit_server: FakeOpenAIServer, aikit_client: OpenAI) -> None:
    tool = OpenAITool(name="get_weather", description="Weather", parameters={"type": "object"})
    aikit_client.chat.completions.create(
        [OpenAIMessage(role="user", content="hi")],
        {"temperature": 0, "top_p": 0, "n": 2, "tools": [tool], "seed": 7, "stop": ["x"],
         "max_tokens": 5, "parallel_tool_calls": False, "metadata": {"k": "v"},
         "onTerminate": None, "timeout": 30, "maxRetries": 1},
    )
    sent = aikit_server.requests[-1].json
    assert sent["temperature"] == 0  # 0 is sent
    assert "top_p" not in sent  # 0 is not (4D)
    assert sent["n"] == 2
    assert sent["tools"] == [{"type": "function", "function": {
        "name": "get_weather", "description": "Weather", "parameters": {"type": "object"}}}]
    for key in ("seed", "stop", "max_tokens", "parallel_tool_calls", "metadata"):
        assert key in sent  # passed through, not dropped
    for key in ("timeout", "maxRetries", "max_retries", "onTerminate", "stream_options"):
        assert key not in sent  # execution keys are never sent
    aikit_client.chat.completions.create(USER, tools=[])
    sent = aikit_server.requests[-1].json
    assert "tools" not in sent and "n" not in sent and "temperature" not in sent


def test_stored_completions(aikit_server: FakeOpenAIServer, aikit_client: OpenAI) -> None:
    created = aikit_client.chat.completions.create(USER, store=True, metadata={"topic": "demo"})
    cid = created.body["id"]
    assert aikit_client.chat.completions.retrieve(cid).body["id"] == cid
    listed = aikit_client.chat.completions.list(metadata={"topic": "demo"}, limit=5, order="desc")
    assert [c["id"] for c in listed.body["data"]] == [cid]
    assert aikit_server.requests[-1].query["metadata[topic]"] == "demo"
    assert aikit_client.chat.completions.list(metadata={"topic": "nope"}).body["data"] == []
    updated = aikit_client.chat.completions.update(cid, {"topic": "changed"})
    assert updated.body["metadata"] == {"topic": "changed"}
    messages = aikit_client.chat.completions.messages.list(cid, limit=10)
    assert messages.body["data"][0]["content"] == "hello there"
    _, async_ = both_modes(lambda p: aikit_client.chat.completions.retrieve(cid, p))
    assert async_.body["id"] == cid
    assert aikit_client.chat.completions.delete(cid).body["deleted"] is True
    assert aikit_client.chat.completions.retrieve(cid).status == 404


def test_ids_are_url_encoded(aikit_server: FakeOpenAIServer, aikit_client: OpenAI) -> None:
    aikit_client.models.retrieve("ft:gpt-4o-mini:org/x?y")
    sent = aikit_server.requests[-1]
    # unencoded, "?y" would have become a query string and "/" a deeper path
    assert sent.path == "/v1/models/ft%3Agpt-4o-mini%3Aorg%2Fx%3Fy"
    assert sent.raw_query == ""


def test_models(aikit_client: OpenAI) -> None:
    sync, async_ = both_modes(lambda p: aikit_client.models.list(p))
    assert [m.id for m in sync.models] == [m.id for m in async_.models] != []
    first = sync.models[0].id
    sync, async_ = both_modes(lambda p: aikit_client.models.retrieve(first, p))
    assert sync.model.id == async_.model.id == first


def test_embeddings(aikit_server: FakeOpenAIServer, aikit_client: OpenAI) -> None:
    sync, async_ = both_modes(lambda p: aikit_client.embeddings.create(["a", "b"], "emb-1", p))
    assert sync.vectors == async_.vectors and len(sync.vectors) == 2
    assert sync.model == "emb-1" and sync.usage["prompt_tokens"] > 0
    as_float = aikit_client.embeddings.create("hello", "emb-1", dimensions=4)
    as_b64 = aikit_client.embeddings.create("hello", "emb-1", dimensions=4,
                                            encoding_format="base64")
    assert aikit_server.requests[-1].json["encoding_format"] == "base64"
    assert isinstance(aikit_server.requests[-1].json["dimensions"], int)
    assert as_b64.vector == pytest.approx(as_float.vector, rel=1e-6)
    assert len(as_float.vector) == 4


def test_images(tmp_path: pathlib.Path, aikit_server: FakeOpenAIServer,
                aikit_client: OpenAI) -> None:
    sync, _ = both_modes(
        lambda p: aikit_client.images.generate("a red cat", p, response_format="b64_json", n=2))
    assert len(sync.images) == 2 and sync.image.b64_json
    written = sync.save_images_to_disk(tmp_path / "out", prefix="cat")
    assert [p.name for p in written] == ["cat0.png", "cat1.png"]
    assert written[0].read_bytes().startswith(b"\x89PNG")
    by_url = aikit_client.images.generate("a red cat")
    sent = aikit_server.requests[-1].json
    assert sent["model"] == "dall-e-2" and sent["size"] == "1024x1024"  # 4D defaults
    assert by_url.image.url.startswith("http://127.0.0.1")
    assert by_url.image.as_bytes() == sync.image.as_bytes()


def test_moderations(aikit_server: FakeOpenAIServer, aikit_client: OpenAI) -> None:
    sync, async_ = both_modes(lambda p: aikit_client.moderations.create("I will kill it", "", p))
    assert sync.moderation.item.flagged and async_.moderation.item.flagged
    assert "model" not in aikit_server.requests[0].json  # empty model not sent
    calm = aikit_client.moderations.create(["nice day"], "omni-moderation-latest")
    assert calm.moderation.item.flagged is False
    assert isinstance(calm.moderation.item.category_scores, dict)


def test_files_round_trip(tmp_path: pathlib.Path, aikit_server: FakeOpenAIServer,
                          aikit_client: OpenAI) -> None:
    path = tmp_path / "data.jsonl"
    path.write_bytes(b'{"a": 1}\n' * 1000)
    sources: list[tuple[Any, dict[str, Any], str]] = [
        (path, {}, "data.jsonl"),
        (b"raw bytes", {"filename": "notes.txt"}, "notes.txt"),
        (io.BytesIO(b"from a file object"), {"filename": "obj.md"}, "obj.md"),
        (("tuple.pdf", b"%PDF-1.4"), {}, "tuple.pdf"),
    ]
    ids = []
    for source, extra, name in sources:
        result = aikit_client.files.create(
            source, "user_data", expires_after={"anchor": "created_at", "seconds": 3600}, **extra
        )
        assert result.success, result.errors
        assert result.file.filename == name
        ids.append(result.file.id)
        upload = aikit_server.requests[-1]
        assert upload.form["purpose"] == "user_data"
        assert upload.form["expires_after[seconds]"] == "3600"
    first_upload = aikit_server.requests[0].files["file"]
    assert first_upload.content == path.read_bytes()
    assert first_upload.content_type == "application/jsonl"
    listed = aikit_client.files.list(purpose="user_data", limit=10)
    assert {f.id for f in listed.files} == set(ids)
    assert listed.first_id in ids and listed.has_more is False
    _, got = both_modes(lambda p: aikit_client.files.retrieve(ids[1], p))
    assert got.file.bytes == len(b"raw bytes")
    assert aikit_client.files.content(ids[1]).content == b"raw bytes"
    deleted = aikit_client.files.delete(ids[1])
    assert deleted.deleted.deleted is True
    assert aikit_client.files.retrieve(ids[1]).errors[0].is_not_found_error


def test_upload_retry_resends_the_whole_file(tmp_path: pathlib.Path,
                                             aikit_server: FakeOpenAIServer,
                                             aikit_client: OpenAI) -> None:
    payload = bytes(range(256)) * 4096  # 1 MiB
    aikit_server.fail_next(503, headers={"retry-after-ms": "1"})
    result = aikit_client.files.create(io.BytesIO(payload), "batch", filename="big.bin")
    assert result.success
    uploads = [r for r in aikit_server.requests if r.path == "/v1/files"]
    assert len(uploads) == 2
    assert uploads[-1].files["file"].content == payload


@pytest.mark.parametrize(
    ("call", "needle"),
    [
        (lambda c: c.chat.completions.create([]), "messages"),
        (lambda c: c.chat.completions.create("hi"), "messages"),
        (lambda c: c.chat.completions.create([3]), "messages"),
        (lambda c: c.chat.completions.create([{"role": 3, "content": "x"}]), "role"),
        (lambda c: c.chat.completions.create(USER, tools="x"), "tools"),
        (lambda c: c.chat.completions.retrieve(""), "completion_id"),
        (lambda c: c.chat.completions.update("x", "not a dict"), "metadata"),
        (lambda c: c.chat.completions.messages.list(""), "completion_id"),
        (lambda c: c.embeddings.create("", "m"), "input"),
        (lambda c: c.embeddings.create(3, "m"), "input"),
        (lambda c: c.embeddings.create("x", "m", encoding_format="hex"), "encoding_format"),
        (lambda c: c.images.generate(""), "prompt"),
        (lambda c: c.moderations.create(None), "input"),
        (lambda c: c.files.create(b"x", ""), "purpose"),
        (lambda c: c.files.create("/nonexistent/file.txt", "batch"), "file.txt"),
        (lambda c: c.files.create(io.StringIO("text"), "batch"), "file"),
        (lambda c: c.files.create(42, "batch"), "file"),
        (lambda c: c.files.retrieve(""), "file_id"),
        (lambda c: c.files.delete(""), "file_id"),
        (lambda c: c.files.content(""), "file_id"),
    ],
)
def test_bad_input_raises_and_sends_nothing(
    call: Callable[[OpenAI], Any], needle: str, aikit_server: FakeOpenAIServer,
    aikit_client: OpenAI,
) -> None:
    with pytest.raises((TypeError, ValueError, FileNotFoundError), match=needle):
        call(aikit_client)
    assert aikit_server.requests == []


def test_callback_mode_runs_one_request_per_call(aikit_server: FakeOpenAIServer,
                                                 aikit_client: OpenAI) -> None:
    done = threading.Event()
    seen: list[str] = []

    def issue() -> None:
        aikit_client.embeddings.create("x", "m", on_terminate=lambda r: (seen.append("t"),
                                                                         done.set()))

    in_worker(issue)
    assert done.wait(10)
    assert seen == ["t"] and len(aikit_server.requests) == 1
