"""4D AIKit behaviours users compared against: followed, or deliberately fixed (over sockets).

- byte uploads without a filename: named ``file.pdf``, ``application/octet-stream`` (4D);
- ``strict`` of a function tool: read from the OpenAI shape as 4D does, but sent inside
  ``function``, where Chat Completions reads it (4D sent it at the tool's root);
- ``register_tools`` with incomplete entries: entries without a tool are skipped (4D), tools
  without a handler are kept and answered with an error text (4D dropped them silently);
- ``embeddings.create`` without a model sends ``model: ""`` (4D), no guessed default.
"""

from __future__ import annotations

import io
import logging
from typing import Any

import pytest

from aikit import OpenAI, OpenAITool
from aikit.testing import FakeOpenAIServer

USER = [{"role": "user", "content": "hi"}]
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
          "additionalProperties": False}


# -- byte uploads ------------------------------------------------------------------------------


@pytest.mark.parametrize("content", [b"%PDF-1.4 body", io.BytesIO(b"%PDF-1.4 body")],
                         ids=["bytes", "unnamed-file-object"])
def test_unnamed_upload_is_file_pdf(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI, content: Any
) -> None:
    result = aikit_client.files.create(content, "user_data")
    assert result.success, result.errors
    upload = aikit_server.requests[-1].files["file"]
    assert (upload.filename, upload.content_type) == ("file.pdf", "application/octet-stream")
    assert upload.content == b"%PDF-1.4 body"
    assert result.file is not None and result.file.filename == "file.pdf"


def test_named_upload_keeps_its_name_and_type(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    for kwargs in ({"filename": "batch.jsonl"}, {"params": {"filename": "batch.jsonl"}}):
        result = aikit_client.files.create(b'{"a": 1}\n', "batch", **kwargs)
        assert result.success, result.errors
        upload = aikit_server.requests[-1].files["file"]
        assert upload.filename == "batch.jsonl" and upload.content_type != "application/pdf"
    aikit_client.files.create(("notes.txt", b"x"), "user_data")
    assert aikit_server.requests[-1].files["file"].filename == "notes.txt"


# -- strict ------------------------------------------------------------------------------------


def _sent_tools(server: FakeOpenAIServer) -> list[dict[str, Any]]:
    tools: list[dict[str, Any]] = server.requests[-1].json["tools"]
    return tools


@pytest.mark.parametrize(
    ("tool", "strict"),
    [
        ({"type": "function", "function": {"name": "w", "parameters": SCHEMA, "strict": True}},
         True),
        ({"type": "function", "strict": True, "function": {"name": "w", "parameters": SCHEMA}},
         True),
        ({"type": "function", "strict": True,
          "function": {"name": "w", "parameters": SCHEMA, "strict": False}}, False),
        ({"tool": {"type": "function", "function": {"name": "w", "parameters": SCHEMA,
                                                    "strict": True}}, "handler": print}, True),
        ({"name": "w", "parameters": SCHEMA, "strict": 1}, True),
        ({"type": "function", "function": {"name": "w", "parameters": SCHEMA}}, None),
    ],
    ids=["inside-function", "at-root", "inside-wins", "compound", "flat-truthy", "absent"],
)
def test_strict_is_sent_inside_function(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI, tool: dict[str, Any],
    strict: bool | None,
) -> None:
    expected: dict[str, Any] = {"name": "w", "parameters": SCHEMA}
    if strict is not None:
        expected["strict"] = strict
    for given in (tool, OpenAITool(tool)):
        assert aikit_client.chat.completions.create(USER, tools=[given]).success
        assert _sent_tools(aikit_server) == [{"type": "function", "function": expected}]
    helper = aikit_client.chat.create("sys")
    helper.register_tool(tool)
    assert helper.prompt("hi").success
    assert _sent_tools(aikit_server) == [{"type": "function", "function": expected}]


# -- register_tools with incomplete entries ------------------------------------------------------


def describe_weather(arguments: dict[str, Any]) -> str:
    """Weather in a city."""
    return f"sunny in {arguments.get('city')}"


def test_register_tools_incomplete_entries(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    helper = aikit_client.chat.create("sys")
    with caplog.at_level(logging.WARNING, logger="aikit"):
        helper.register_tools({
            "weather": {"handler": describe_weather},           # no tool: the key names it
            "clock": {"tool": None, "handler": describe_weather},  # empty tool slot: same
            "unhandled": {"tool": {"name": "lookup", "parameters": SCHEMA}},  # no handler
            "junk": {"tool": "not a tool", "handler": describe_weather},
        })
        helper.register_tools([{"handler": describe_weather}, {"tool": None}, None])
    assert [t.name for t in helper.tools] == ["weather", "clock", "lookup"]
    assert set(helper.tool_handlers) == {"weather", "clock"}
    assert len([r for r in caplog.records if "ignored" in r.getMessage()]) == 4

    aikit_server.reply_next(tool_calls=[
        {"name": "weather", "arguments": {"city": "Paris"}, "id": "c1"},
        {"name": "lookup", "arguments": {"city": "Rome"}, "id": "c2"},
    ])
    result = helper.prompt("weather?")
    assert result.success, result.errors
    first = aikit_server.requests[0].json
    assert first["tools"][0] == {"type": "function", "function": {
        "name": "weather", "description": "Weather in a city."}}
    assert all("tool" not in t["function"] for t in first["tools"])
    answers = {m["tool_call_id"]: m["content"]
               for m in aikit_server.requests[1].json["messages"] if m["role"] == "tool"}
    assert answers == {"c1": "sunny in Paris",
                       "c2": "Error: No handler registered for function 'lookup'"}


# -- embeddings without a model ----------------------------------------------------------------


def test_embeddings_without_a_model_send_an_empty_model(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    for call in (lambda: aikit_client.embeddings.create("x"),
                 lambda: aikit_client.embeddings.create("x", "")):
        result = call()
        assert aikit_server.requests[-1].json["model"] == ""
        assert not result.success and result.errors[0].is_bad_request_error  # as OpenAI says
    assert aikit_client.embeddings.create("x", "text-embedding-3-small").success
    with pytest.raises(TypeError, match="`model`"):
        aikit_client.embeddings.create("x", 3)  # type: ignore[arg-type]
    assert len(aikit_server.requests) == 3
