"""The vision helper: message shapes as the server receives them, real MIME types, failures
that send nothing and still reach the callbacks (an unusable image ends the call with an error,
delivered to ``on_error`` and ``on_terminate`` on the owner like any failed request)."""

from __future__ import annotations

import base64
import copy
from pathlib import Path
from typing import Any

import pytest

from aikit import OpenAI, OpenAIError, process
from aikit.helpers import OpenAIVision, OpenAIVisionHelper
from aikit.helpers.vision import image_mime_type
from aikit.parameters import OpenAIChatCompletionsParameters
from aikit.results import OpenAIChatCompletionsResult
from aikit.testing import FakeOpenAIServer

from .helpers import Recorder, in_worker

URL = "https://example.com/otter.png"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + b"\x00" * 20
GIF = b"GIF89a\x01\x00\x01\x00" + b"\x00" * 10
WEBP = b"RIFF\x1a\x00\x00\x00WEBPVP8 " + b"\x00" * 14


def sent_content(server: FakeOpenAIServer) -> list[dict[str, Any]]:
    body = server.requests[-1].json
    assert len(body["messages"]) == 1 and body["messages"][0]["role"] == "user"
    content: list[dict[str, Any]] = body["messages"][0]["content"]
    return content


def data_url(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def test_vision_factory(aikit_client: OpenAI) -> None:
    vision = aikit_client.chat.vision
    assert isinstance(vision, OpenAIVision) and aikit_client.chat.vision is vision
    assert isinstance(vision.create(URL), OpenAIVisionHelper)


def test_url_message_shape(aikit_server: FakeOpenAIServer, aikit_client: OpenAI) -> None:
    result = aikit_client.chat.vision.create(URL).prompt("What is this?")
    assert isinstance(result, OpenAIChatCompletionsResult) and result.success
    assert result.choice.text == "Echo: What is this?"
    assert sent_content(aikit_server) == [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": URL, "detail": "low"}},
    ]
    assert aikit_server.requests[-1].json["model"] == "gpt-4o-mini"


def test_detail_override(aikit_server: FakeOpenAIServer, aikit_client: OpenAI) -> None:
    helper = aikit_client.chat.vision.create(URL)
    helper.prompt("a", detail="high")
    assert sent_content(aikit_server)[1]["image_url"]["detail"] == "high"
    params = {"detail": "auto", "model": "gpt-4o"}
    helper.prompt("b", params)
    assert sent_content(aikit_server)[1]["image_url"]["detail"] == "auto"
    assert aikit_server.requests[-1].json["model"] == "gpt-4o"
    assert params == {"detail": "auto", "model": "gpt-4o"}  # the caller's dict is untouched
    helper.prompt("c")
    assert sent_content(aikit_server)[1]["image_url"]["detail"] == "low"
    assert aikit_client.chat.vision.create(URL, detail="high").detail == "high"
    with pytest.raises(ValueError, match="detail"):
        helper.prompt("d", detail="ultra")
    with pytest.raises(TypeError, match="text"):
        helper.prompt(None)  # type: ignore[arg-type]


def test_params_never_mutated(aikit_server: FakeOpenAIServer, aikit_client: OpenAI) -> None:
    params: dict[str, Any] = {"temperature": 0, "maxCompletionTokens": 5}
    snapshot = copy.deepcopy(params)
    aikit_client.chat.vision.create(URL).prompt("x", params)
    assert params == snapshot  # 4D wrote `model` into it
    obj = OpenAIChatCompletionsParameters(temperature=0)
    aikit_client.chat.vision.create(URL).prompt("x", obj)
    assert obj.to_dict() == OpenAIChatCompletionsParameters(temperature=0).to_dict()
    assert aikit_server.requests[-1].json["temperature"] == 0


@pytest.mark.parametrize(
    ("data", "name", "mime"),
    [
        (PNG, "image.png", "image/png"),
        (JPEG, "photo.png", "image/jpeg"),  # the bytes win over a wrong extension
        (GIF, "anim.bin", "image/gif"),
        (WEBP, "pic", "image/webp"),
        (b"\x00\x01 unknown", "pic.webp", "image/webp"),  # no magic: the extension
        (b"\x00\x01 unknown", "pic.JPG", "image/jpeg"),
    ],
)
def test_file_data_url_has_the_real_mime_type(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI, tmp_path: Path,
    data: bytes, name: str, mime: str,
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    helper = aikit_client.chat.vision.from_file(path)
    assert helper.error is None and helper.image_url == data_url(mime, data)
    assert helper.prompt("Describe").success
    assert sent_content(aikit_server)[1] == {
        "type": "image_url", "image_url": {"url": data_url(mime, data), "detail": "low"}}
    aikit_client.chat.vision.from_file(str(path)).prompt("again")  # a str path too
    assert sent_content(aikit_server)[1]["image_url"]["url"] == data_url(mime, data)


@pytest.mark.parametrize(
    ("data", "mime"),
    [(PNG, "image/png"), (JPEG, "image/jpeg"), (GIF, "image/gif"), (WEBP, "image/webp")],
)
def test_bytes_data_url(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI, data: bytes, mime: str
) -> None:
    assert aikit_client.chat.vision.from_bytes(bytearray(data)).prompt("What?").success
    assert sent_content(aikit_server)[1]["image_url"]["url"] == data_url(mime, data)


def test_bytes_with_explicit_mime_type(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    raw = b"\x00raw-avif"
    aikit_client.chat.vision.from_bytes(raw, mime_type="image/avif").prompt("What?")
    assert sent_content(aikit_server)[1]["image_url"]["url"] == data_url("image/avif", raw)


def test_picture_object(aikit_server: FakeOpenAIServer, aikit_client: OpenAI) -> None:
    class Picture:  # a Pillow-like image
        def save(self, fp: Any, format: str) -> None:
            assert format == "PNG"
            fp.write(PNG)

    aikit_client.chat.vision.from_picture(Picture()).prompt("What?")
    assert sent_content(aikit_server)[1]["image_url"]["url"] == data_url("image/png", PNG)
    with pytest.raises(TypeError):
        aikit_client.chat.vision.from_picture(42)


def test_mime_sniffing() -> None:
    assert image_mime_type(PNG) == "image/png"
    assert image_mime_type(b"nothing") is None
    assert image_mime_type(b"nothing", "x.gif") == "image/gif"
    assert image_mime_type(b"nothing", "x.pdf") is None


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda vision, tmp: vision.from_file(tmp / "missing.png"), "missing.png"),
        (lambda vision, tmp: vision.from_bytes(b""), "empty"),
        (lambda vision, tmp: vision.from_bytes(b"not an image at all"), "not PNG, JPEG"),
        (lambda vision, tmp: vision.from_file(tmp), "Cannot read"),  # a directory
    ],
)
def test_unusable_image_fails_without_sending(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI, tmp_path: Path, make: Any, needle: str
) -> None:
    helper = make(aikit_client.chat.vision, tmp_path)
    assert isinstance(helper.error, OpenAIError) and needle in helper.error.message
    result = helper.prompt("What is this?")
    assert isinstance(result, OpenAIChatCompletionsResult)
    assert result.terminated and not result.success and result.status is None
    assert len(result.errors) == 1 and isinstance(result.errors[0], OpenAIError)
    assert needle in str(result.errors[0])
    assert result.wait(0) is True
    assert aikit_server.requests == []
    with pytest.raises(OpenAIError):
        helper.prompt("raise", throw=True)


def test_missing_file_callbacks_on_owner(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI, tmp_path: Path
) -> None:
    rec = Recorder(last="formula")
    helper = aikit_client.chat.vision.from_file(tmp_path / "nope.jpg")
    result, worker = in_worker(lambda: helper.prompt(
        "What?", rec.callbacks("on_response", "on_error", "on_terminate", "formula")))
    rec.wait()
    assert rec.names == ["on_error", "on_terminate", "formula"]
    assert rec.threads == {worker}
    assert all(r is result for _, _, r in rec.events) and result.terminated
    assert aikit_server.requests == []


def test_missing_file_callbacks_on_main_after_pump(
    aikit_client: OpenAI, tmp_path: Path
) -> None:
    seen: list[str] = []
    helper = aikit_client.chat.vision.from_file(tmp_path / "nope.jpg")
    helper.prompt("What?", on_error=lambda r: seen.append("error"),
                  on_terminate=lambda r: seen.append("terminate"))
    assert seen == []  # never pre-empts the caller
    assert process.pump(5)
    assert seen == ["error", "terminate"]


def test_callback_mode_success_on_owner(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    rec = Recorder()
    helper = aikit_client.chat.vision.from_bytes(PNG)
    pending, worker = in_worker(lambda: helper.prompt(
        "What?", rec.callbacks("on_response", "on_error", "on_terminate")))
    rec.wait()
    assert rec.names == ["on_response", "on_terminate"] and rec.threads == {worker}
    assert rec.events[0][2] is pending and pending.choice.text == "Echo: What?"


def test_bad_argument_types_raise(aikit_client: OpenAI) -> None:
    vision = aikit_client.chat.vision
    with pytest.raises(ValueError):
        vision.create("")
    with pytest.raises(TypeError):
        vision.create(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        vision.from_bytes("text")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        vision.from_file(3)  # type: ignore[arg-type]
