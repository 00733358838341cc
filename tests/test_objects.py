"""Data objects: constructor forms, 4D message/tool rules, wire shapes, decoding."""

from __future__ import annotations

import base64
import io
import math
import struct
from pathlib import Path
from typing import Any

import pytest

from aikit.objects import (
    OpenAIChoice,
    OpenAIEmbedding,
    OpenAIFile,
    OpenAIFileDeleted,
    OpenAIImage,
    OpenAIMessage,
    OpenAIModel,
    OpenAIModeration,
    OpenAIModerationItem,
    OpenAITool,
)

ALL_CLASSES = [
    OpenAIChoice,
    OpenAIEmbedding,
    OpenAIFile,
    OpenAIFileDeleted,
    OpenAIImage,
    OpenAIMessage,
    OpenAIModel,
    OpenAIModeration,
    OpenAIModerationItem,
    OpenAITool,
]

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


# -- constructor forms ----------------------------------------------------------------------


@pytest.mark.parametrize("cls", ALL_CLASSES)
def test_every_class_builds_empty_from_dict_and_kwargs(cls: type[Any]) -> None:
    assert isinstance(cls(), cls)
    assert isinstance(cls({}), cls)
    assert cls({"unknown_key": 1}).extra == {"unknown_key": 1}
    with pytest.raises(AttributeError, match="unknown_key"):
        _ = cls({"unknown_key": 1}).unknown_key  # extra keys are not attributes
    with pytest.raises(TypeError, match="unexpected keyword argument 'other'"):
        cls(other=2)
    assert cls(extra={"other": 2}).extra == {"other": 2}


@pytest.mark.parametrize("cls", ALL_CLASSES)
@pytest.mark.parametrize("bad", ["text", 3, ["a"]])
def test_wrong_positional_type_names_the_class(cls: type[Any], bad: Any) -> None:
    with pytest.raises(TypeError, match=cls.__name__):
        cls(bad)


def test_message_dict_kwargs_and_camel_case() -> None:
    a = OpenAIMessage({"role": "tool", "toolCallId": "call_1", "content": "42"})
    b = OpenAIMessage(role="tool", tool_call_id="call_1", content="42")
    assert (a.role, a.tool_call_id, a.content) == ("tool", "call_1", "42")
    assert a.to_body() == b.to_body() == {"role": "tool", "content": "42", "tool_call_id": "call_1"}


def test_message_kwargs_override_dict_and_unknown_keys_are_kept() -> None:
    m = OpenAIMessage(
        {"role": "user", "content": "a", "refusal": None, "reasoning": "r"}, content="b"
    )
    assert (m.role, m.content, m.refusal) == ("user", "b", None)
    assert m.extra == {"reasoning": "r"}
    with pytest.raises(AttributeError):
        _ = m.nothing_here  # type: ignore[attr-defined]
    with pytest.raises(TypeError, match="reasoning"):
        OpenAIMessage(role="user", reasoning="r")  # type: ignore[call-arg]


def test_message_from_another_message_is_a_copy() -> None:
    m = OpenAIMessage(role="user", content="hi", annotations=[], extra={"x": 1})
    n = OpenAIMessage(m)
    assert n is not m
    assert n.to_body() == m.to_body()


def test_message_validation_names_the_argument() -> None:
    with pytest.raises(TypeError, match="`role`"):
        OpenAIMessage(role=1)
    with pytest.raises(TypeError, match="`content`"):
        OpenAIMessage(content=42)
    with pytest.raises(TypeError, match="`content`"):
        OpenAIMessage(content=("a", "b"))
    m = OpenAIMessage(role="user")
    with pytest.raises(TypeError, match="`content`"):
        m.content = 3  # type: ignore[assignment]
    with pytest.raises(TypeError, match="`text`"):
        m.text = None  # type: ignore[assignment]


# -- text -----------------------------------------------------------------------------------


def test_text_getter() -> None:
    assert OpenAIMessage(content="hello").text == "hello"
    assert OpenAIMessage().text == ""
    parts = [
        {"type": "image_url", "image_url": {"url": "u"}},
        {"type": "text", "text": "first"},
        {"type": "text", "text": "second"},
    ]
    assert OpenAIMessage(content=parts).text == "first"
    assert OpenAIMessage(content=[{"type": "image_url", "image_url": {"url": "u"}}]).text == ""
    assert OpenAIMessage(content=[]).text == ""


def test_text_setter_replaces_none_and_string_content() -> None:
    m = OpenAIMessage(role="user")
    m.text = "a"
    assert m.content == "a"
    m.text = "b"
    assert m.content == "b"


def test_text_setter_updates_first_text_part_without_touching_callers_list() -> None:
    parts: list[Any] = [
        {"type": "image_url", "image_url": {"url": "u"}},
        {"type": "text", "text": "old"},
    ]
    m = OpenAIMessage({"role": "user", "content": parts})
    m.text = "new"
    assert m.content == [
        {"type": "image_url", "image_url": {"url": "u"}},
        {"type": "text", "text": "new"},
    ]
    assert parts[1] == {"type": "text", "text": "old"}


def test_text_setter_inserts_text_part_at_front() -> None:
    m = OpenAIMessage(content=[{"type": "image_url", "image_url": {"url": "u"}}])
    m.text = "describe"
    assert m.content == [
        {"type": "text", "text": "describe"},
        {"type": "image_url", "image_url": {"url": "u"}},
    ]
    assert m.text == "describe"


def test_text_key_in_constructor_goes_through_the_setter_and_is_never_sent() -> None:
    m = OpenAIMessage({"role": "user", "text": "hi"})
    assert m.content == "hi"
    assert "text" not in m.extra
    assert "text" not in m.to_body()


# -- image and file parts -------------------------------------------------------------------


def test_add_image_url_converts_string_content() -> None:
    m = OpenAIMessage(role="user", content="What is this?")
    m.add_image_url("https://x/cat.png", "low")
    assert m.content == [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "https://x/cat.png", "detail": "low"}},
    ]
    assert m.text == "What is this?"


@pytest.mark.parametrize("detail", ["auto", "low", "high"])
def test_add_image_url_keeps_known_details(detail: str) -> None:
    m = OpenAIMessage(role="user")
    m.add_image_url("u", detail)
    assert m.content == [{"type": "image_url", "image_url": {"url": "u", "detail": detail}}]


@pytest.mark.parametrize("detail", ["", "medium", "LOW"])
def test_add_image_url_drops_unknown_details(detail: str) -> None:
    m = OpenAIMessage(role="user", content=None)
    m.add_image_url("u", detail)
    assert m.content == [{"type": "image_url", "image_url": {"url": "u"}}]


def test_add_image_url_appends_to_a_list_without_mutating_it() -> None:
    parts: list[Any] = [{"type": "text", "text": "t"}]
    m = OpenAIMessage(role="user", content=parts)
    m.add_image_url("u")
    m.add_image_url("v", "high")
    assert len(parts) == 1
    assert isinstance(m.content, list)
    assert [p["type"] for p in m.content] == ["text", "image_url", "image_url"]


def test_add_file_id() -> None:
    m = OpenAIMessage(role="user", content="Summarise")
    m.add_file_id("file-abc")
    assert m.content == [
        {"type": "text", "text": "Summarise"},
        {"type": "file", "file": {"file_id": "file-abc"}},
    ]
    empty = OpenAIMessage(role="user")
    empty.add_file_id("file-1")
    assert empty.content == [{"type": "file", "file": {"file_id": "file-1"}}]


# -- to_body --------------------------------------------------------------------------------


def test_to_body_omits_none_and_keeps_extra() -> None:
    m = OpenAIMessage(
        {"role": "assistant", "content": "x", "refusal": None, "annotations": [], "name": None}
    )
    assert m.to_body() == {"role": "assistant", "content": "x", "annotations": []}


def test_to_body_keeps_null_content_for_assistant_tool_calls() -> None:
    calls = [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
    m = OpenAIMessage(role="assistant", content=None, tool_calls=calls)
    body = m.to_body()
    assert body == {"role": "assistant", "content": None, "tool_calls": calls}
    assert list(body) == ["role", "content", "tool_calls"]


def test_to_body_drops_null_content_elsewhere() -> None:
    assert OpenAIMessage(role="assistant").to_body() == {"role": "assistant"}
    assert OpenAIMessage(role="user", tool_calls=[{"id": "x"}]).to_body() == {
        "role": "user",
        "tool_calls": [{"id": "x"}],
    }
    assert OpenAIMessage(role="assistant", tool_calls=[]).to_body() == {
        "role": "assistant",
        "tool_calls": [],
    }


# -- OpenAIChoice ---------------------------------------------------------------------------


def test_choice_wraps_message_and_delta() -> None:
    c = OpenAIChoice(
        {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "hi"}}
    )
    assert isinstance(c.message, OpenAIMessage)
    assert c.message.text == "hi"
    assert c.text == "hi"
    assert c.finish_reason == "stop"
    assert c.delta is None

    d = OpenAIChoice({"index": 1, "delta": {"content": "he"}, "logprobs": None})
    assert isinstance(d.delta, OpenAIMessage)
    assert d.text == "he"
    assert d.index == 1

    assert OpenAIChoice().text == ""
    assert OpenAIChoice(message=OpenAIMessage(content="m")).text == "m"
    with pytest.raises(TypeError):
        OpenAIChoice(message="not a message")


# -- OpenAITool -----------------------------------------------------------------------------

SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


def test_tool_flat_4d_shape() -> None:
    t = OpenAITool({"name": "weather", "description": "Get weather", "parameters": SCHEMA})
    assert (t.type, t.name, t.strict) == ("function", "weather", None)
    assert t.to_body() == {
        "type": "function",
        "function": {"name": "weather", "description": "Get weather", "parameters": SCHEMA},
    }


def test_tool_openai_shape_with_strict_at_root() -> None:
    t = OpenAITool(
        {
            "type": "function",
            "function": {"name": "weather", "parameters": SCHEMA},
            "strict": True,
        }
    )
    assert t.name == "weather"
    assert t.strict is True
    assert t.to_body() == {
        "type": "function",
        "function": {"name": "weather", "parameters": SCHEMA, "strict": True},
    }


def test_tool_strict_inside_function_and_false_is_sent() -> None:
    t = OpenAITool({"type": "function", "function": {"name": "f", "strict": False}})
    assert t.to_body() == {"type": "function", "function": {"name": "f", "strict": False}}


def test_tool_function_level_extras_and_handler_are_not_sent() -> None:
    def handler(args: dict[str, Any]) -> str:
        return "ok"

    t = OpenAITool({"name": "f", "parameters": SCHEMA, "handler": handler, "required": ["x"]})
    assert t.handler is handler
    assert t.extra == {"required": ["x"]}
    assert t.to_body() == {"type": "function", "function": {"name": "f", "parameters": SCHEMA}}


def test_tool_compound_form_keeps_the_handler() -> None:
    def handler(args: dict[str, Any]) -> str:
        return "ok"

    t = OpenAITool({"tool": {"type": "function", "function": {"name": "f"}}, "handler": handler})
    assert t.name == "f"
    assert t.handler is handler
    assert t.to_body() == {"type": "function", "function": {"name": "f"}}

    flat = OpenAITool({"tool": {"name": "g", "description": "d"}, "handler": handler})
    assert (flat.name, flat.description, flat.handler) == ("g", "d", handler)


def test_tool_from_tool_is_a_copy() -> None:
    t = OpenAITool(name="f", strict=True)
    u = OpenAITool(t)
    assert u is not t
    assert u.to_body() == t.to_body()


def test_custom_tool_spec_shape_and_flat_shape() -> None:
    fmt = {"type": "grammar", "grammar": {"definition": "start: /a+/", "syntax": "lark"}}
    spec = OpenAITool(
        {"type": "custom", "custom": {"name": "sql", "description": "Run SQL", "format": fmt}}
    )
    flat = OpenAITool({"type": "custom", "name": "sql", "description": "Run SQL", "format": fmt})
    expected = {
        "type": "custom",
        "custom": {"name": "sql", "description": "Run SQL", "format": fmt},
    }
    assert spec.to_body() == flat.to_body() == expected
    assert OpenAITool(type="custom", name="free").to_body() == {
        "type": "custom",
        "custom": {"name": "free"},
    }


def test_builtin_tool_passes_its_fields_but_not_strict_or_handler() -> None:
    t = OpenAITool(
        {"type": "web_search", "search_context_size": "low", "strict": True, "handler": print}
    )
    assert t.to_body() == {"type": "web_search", "search_context_size": "low"}
    fs = OpenAITool(type="file_search", name="", extra={"vector_store_ids": ["vs_1"]})
    assert fs.to_body() == {"type": "file_search", "vector_store_ids": ["vs_1"]}


# -- OpenAIEmbedding ------------------------------------------------------------------------


def test_embedding_list() -> None:
    e = OpenAIEmbedding({"object": "embedding", "index": 0, "embedding": [0.5, -1, 2]})
    assert e.embedding == [0.5, -1.0, 2.0]
    assert all(isinstance(v, float) for v in e.embedding)
    assert OpenAIEmbedding().embedding == []


def test_embedding_base64_little_endian_float32_with_inf_and_nan() -> None:
    values = [1.5, -2.25, math.inf, -math.inf, math.nan, 0.0]
    raw = struct.pack("<6f", *values) + b"\x01\x02"  # trailing bytes: floor(len / 4) values
    e = OpenAIEmbedding(embedding=base64.b64encode(raw).decode())
    assert e.embedding == [1.5, -2.25, 999999999.0, -999999999.0, 0.0, 0.0]


def test_embedding_rejects_other_types() -> None:
    with pytest.raises(TypeError, match="`embedding`"):
        OpenAIEmbedding(embedding=3)


# -- OpenAIImage ----------------------------------------------------------------------------


def test_image_as_bytes_from_b64(tmp_path: Path) -> None:
    img = OpenAIImage({"b64_json": base64.b64encode(PNG).decode(), "revised_prompt": "a cat"})
    assert img.as_bytes() == PNG
    assert img.revised_prompt == "a cat"
    target = tmp_path / "sub" / "cat.png"
    assert img.save_to_disk(target) is True
    assert target.read_bytes() == PNG


def test_image_without_data() -> None:
    assert OpenAIImage().as_bytes() is None
    assert OpenAIImage(b64_json="###").as_bytes() is None
    assert OpenAIImage().save_to_disk("never-written.png") is False
    assert not Path("never-written.png").exists()


def test_image_url_refuses_non_http_schemes(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("x")
    assert OpenAIImage(url=secret.as_uri()).as_bytes() is None
    data_url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert OpenAIImage(url=data_url).as_bytes() == PNG


class _FakeResponse:
    def __init__(self, status: int, content: bytes) -> None:
        self.status_code = status
        self.content = content


class _FakeSession:
    def __init__(self, status: int) -> None:
        self.status = status
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def get(self, url: str, **kwargs: Any) -> _FakeResponse:
        self.calls.append((url, kwargs))
        return _FakeResponse(self.status, PNG)


def test_image_url_download_with_a_session() -> None:
    ok = _FakeSession(200)
    assert OpenAIImage(url="https://cdn/x.png").as_bytes(ok) == PNG
    assert ok.calls[0][0] == "https://cdn/x.png"
    assert "headers" not in ok.calls[0][1]  # no credentials go to the image host
    assert OpenAIImage(url="https://cdn/x.png").as_bytes(_FakeSession(404)) is None
    assert OpenAIImage(url="https://cdn/x.png").as_bytes(_FakeSession(203)) is None


def test_image_url_download_with_urllib(monkeypatch: pytest.MonkeyPatch) -> None:
    import urllib.request

    class Resp(io.BytesIO):
        status = 200

    seen: list[Any] = []

    def fake_urlopen(url: Any, timeout: float = 0) -> Resp:
        seen.append(url)
        return Resp(PNG)

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    assert OpenAIImage(url="https://cdn/y.png").as_bytes() == PNG
    assert seen == ["https://cdn/y.png"]

    def failing_urlopen(url: Any, timeout: float = 0) -> Resp:
        raise urllib.error.URLError("down")

    monkeypatch.setattr(urllib.request, "urlopen", failing_urlopen)
    assert OpenAIImage(url="https://cdn/y.png").as_bytes() is None


# -- models, moderations, files -------------------------------------------------------------


def test_model() -> None:
    m = OpenAIModel({"id": "gpt-4o", "created": 1, "object": "model", "owned_by": "openai"})
    assert (m.id, m.created, m.object, m.owned_by) == ("gpt-4o", 1, "model", "openai")
    assert OpenAIModel({"id": "x", "ownedBy": "me"}).owned_by == "me"  # 4D keys in a dict


def test_moderation_item_and_category_score_alias() -> None:
    body = {
        "id": "modr-1",
        "model": "omni-moderation-latest",
        "results": [
            {
                "flagged": True,
                "categories": {"violence": True},
                "category_scores": {"violence": 0.9},
                "category_applied_input_types": {"violence": ["text"]},
            }
        ],
    }
    mod = OpenAIModeration(body)
    item = mod.item
    assert isinstance(item, OpenAIModerationItem)
    assert item.flagged is True
    assert item.categories == {"violence": True}
    assert item.category_scores == item.category_score == {"violence": 0.9}
    assert item.category_applied_input_types == {"violence": ["text"]}
    assert OpenAIModeration(id="x").item is None
    assert OpenAIModeration(results=[]).item is None
    assert OpenAIModerationItem({"category_score": {"a": 1}}).category_scores == {"a": 1}


def test_file_and_file_deleted() -> None:
    f = OpenAIFile(
        {
            "id": "file-1",
            "object": "file",
            "bytes": 120,
            "created_at": 1,
            "expires_at": 2,
            "filename": "data.jsonl",
            "purpose": "batch",
            "status": "processed",
            "status_details": None,
        }
    )
    assert (f.id, f.bytes, f.filename, f.purpose, f.expires_at) == (
        "file-1",
        120,
        "data.jsonl",
        "batch",
        2,
    )
    d = OpenAIFileDeleted({"id": "file-1", "object": "file", "deleted": True})
    assert (d.id, d.deleted, d.object) == ("file-1", True, "file")
