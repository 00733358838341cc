"""The Uploads API over the simulator: create, parts, complete, cancel, and ``upload_file``
(several parts, from bytes, a path or a file object; a failed part cancels the upload)."""

from __future__ import annotations

import hashlib
import io
import pathlib
from typing import Any

import pytest
import requests

from aikit import OpenAI, OpenAIUploadResult
from aikit.testing import FakeOpenAIServer

from .helpers import Recorder, in_worker

DATA = bytes(range(256)) * 40  # 10,240 bytes


def parts(server: FakeOpenAIServer) -> list[Any]:
    return [r for r in server.requests if r.path.endswith("/parts")]


def test_create_parts_complete_round_trip(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    created = aikit_client.uploads.create("data.jsonl", "batch", len(DATA), "application/jsonl")
    assert created.success, created.errors
    upload = created.upload
    assert upload is not None and upload.id and upload.status == "pending"
    assert upload.bytes == len(DATA) and upload.filename == "data.jsonl"
    assert created.file is None
    assert aikit_server.last_request is not None and aikit_server.last_request.json == {
        "filename": "data.jsonl", "purpose": "batch", "bytes": len(DATA),
        "mime_type": "application/jsonl"}

    first = aikit_client.uploads.add_part(upload.id, DATA[:6000])
    second = aikit_client.uploads.add_part(upload.id, io.BytesIO(DATA[6000:]))
    assert first.success and second.success, (first.errors, second.errors)
    assert first.part is not None and second.part is not None
    assert first.part.upload_id == upload.id and first.part.id

    done = aikit_client.uploads.complete(upload.id, [first.part.id, second.part.id],
                                         md5=hashlib.md5(DATA).hexdigest())
    assert done.success, done.errors
    assert done.upload is not None and done.upload.status == "completed"
    assert done.file is not None and done.file.id and done.file.bytes == len(DATA)
    assert done.file.filename == "data.jsonl" and done.file.purpose == "batch"
    assert aikit_client.files.content(done.file.id).content == DATA


def test_cancel_and_errors(aikit_server: FakeOpenAIServer, aikit_client: OpenAI) -> None:
    upload = aikit_client.uploads.create("x.bin", "assistants", 3, "application/octet-stream")
    assert upload.upload is not None and upload.upload.id
    cancelled = aikit_client.uploads.cancel(upload.upload.id)
    assert cancelled.success and cancelled.upload is not None
    assert cancelled.upload.status == "cancelled"
    late = aikit_client.uploads.add_part(upload.upload.id, b"abc")
    assert not late.success and late.part is None and late.errors[0].status == 400
    wrong = aikit_client.uploads.create("x.bin", "assistants", 3, "application/octet-stream")
    assert wrong.upload is not None and wrong.upload.id
    part = aikit_client.uploads.add_part(wrong.upload.id, b"ab")
    assert part.part is not None and part.part.id
    mismatch = aikit_client.uploads.complete(wrong.upload.id, [part.part.id])
    assert not mismatch.success and mismatch.file is None
    assert mismatch.errors[0].code == "upload_size_mismatch"


def test_bad_input_sends_nothing(aikit_server: FakeOpenAIServer, aikit_client: OpenAI) -> None:
    uploads = aikit_client.uploads
    with pytest.raises(ValueError, match="filename"):
        uploads.create("", "batch", 1, "text/plain")
    with pytest.raises(TypeError, match="bytes"):
        uploads.create("a", "batch", "1", "text/plain")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="bytes"):
        uploads.create("a", "batch", -1, "text/plain")
    with pytest.raises(ValueError, match="did you mean 'expires_after'"):
        uploads.create("a", "batch", 1, "text/plain", expire_after={})  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="upload_id"):
        uploads.add_part("", b"x")
    with pytest.raises(TypeError, match="data"):
        uploads.add_part("upload_1", None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="part_ids"):
        uploads.complete("upload_1", [])
    with pytest.raises(TypeError, match="part_ids"):
        uploads.complete("upload_1", "part_1")
    with pytest.raises(ValueError, match="part_ids\\[1\\]"):
        uploads.complete("upload_1", ["part_1", ""])
    with pytest.raises(ValueError, match="empty"):
        uploads.upload_file(b"", "batch")
    with pytest.raises(ValueError, match="part_size"):
        uploads.upload_file(b"x", "batch", part_size=0)
    with pytest.raises(ValueError, match="sync"):
        uploads.upload_file(b"x", "batch", params={"onTerminate": print})
    assert aikit_server.requests == []


def test_callbacks_on_the_plain_calls(aikit_client: OpenAI) -> None:
    rec = Recorder()
    _, worker = in_worker(lambda: aikit_client.uploads.create(
        "a.txt", "assistants", 1, "text/plain", **rec.callbacks("on_response", "on_terminate")))  # type: ignore[arg-type]
    rec.wait()
    assert rec.names == ["on_response", "on_terminate"] and rec.threads == {worker}
    assert isinstance(rec.events[0][2], OpenAIUploadResult)


@pytest.mark.parametrize("form", ["bytes", "path", "file object"])
def test_upload_file_in_several_parts(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI, tmp_path: pathlib.Path, form: str
) -> None:
    path = tmp_path / "big.jsonl"
    path.write_bytes(DATA)
    source: Any = {"bytes": ("big.jsonl", DATA), "path": path,
                   "file object": path.open("rb")}[form]
    try:
        result = aikit_client.uploads.upload_file(source, "batch", part_size=3000)
    finally:
        if hasattr(source, "close"):
            source.close()
    assert isinstance(result, OpenAIUploadResult) and result.success, result.errors
    assert result.file is not None and result.file.id and result.file.bytes == len(DATA)
    assert result.file.filename == "big.jsonl"
    assert [len(r.files["data"].content) for r in parts(aikit_server)] == [3000, 3000, 3000, 1240]
    create = next(r for r in aikit_server.requests if r.path == "/v1/uploads")
    assert create.json["mime_type"] == "application/jsonl" and create.json["bytes"] == len(DATA)
    complete = aikit_server.last_request
    assert complete is not None and complete.json["md5"] == hashlib.md5(DATA).hexdigest()
    assert aikit_client.files.content(result.file.id).content == DATA


def test_upload_file_names_bytes_and_sets_the_type(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    result = aikit_client.uploads.upload_file(DATA, "assistants", filename="notes.txt",
                                              mime_type="text/plain", timeout=30)
    assert result.success, result.errors
    assert result.file is not None and result.file.filename == "notes.txt"
    create = next(r for r in aikit_server.requests if r.path == "/v1/uploads")
    assert create.json["mime_type"] == "text/plain"
    assert len(parts(aikit_server)) == 1  # 64 MB parts by default


def test_a_failed_part_cancels_the_upload(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    seen = {"parts": 0}

    class FailSecondPart(requests.Session):
        def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
                    ) -> requests.Response:
            if str(url).endswith("/parts"):
                seen["parts"] += 1
                if seen["parts"] == 2:
                    aikit_server.fail_next(400)
            return super().request(method, url, *args, **kwargs)

    with FailSecondPart() as session:
        result = aikit_client.uploads.upload_file(DATA, "batch", part_size=3000,
                                                  http_agent=session)
    assert not result.success and result.file is None
    assert result.errors[0].status == 400
    assert aikit_server.requests[-1].path.endswith("/cancel")
    assert len(parts(aikit_server)) == 2  # nothing after the failed part
    seen["parts"] = 0
    with pytest.raises(Exception, match="400"):
        aikit_client.uploads.upload_file(DATA, "batch", part_size=3000, throw=True,
                                         http_agent=FailSecondPart())
