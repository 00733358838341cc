"""Structured outputs over sockets: ``chat.completions.parse`` and ``responses.parse`` with each
class kind, in sync and callback mode; a refusal and an answer that is not the class give
``parsed is None`` and an error; function tools declared from typed Python functions."""

from __future__ import annotations

import dataclasses
import enum
from typing import Any, Literal, TypedDict

import attrs
import pytest

from aikit import ErrorKind, OpenAI, OpenAITool
from aikit.testing import FakeOpenAIServer

from .helpers import Recorder, in_worker

USER = [{"role": "user", "content": "describe a city"}]


class Size(enum.Enum):
    SMALL = "small"
    LARGE = "large"


@attrs.define
class AttrsStreet:
    name: str
    number: int


@attrs.define
class AttrsCity:
    name: str
    size: Size
    streets: list[AttrsStreet]
    mayor: str | None
    kind: Literal["city", "town"]


@dataclasses.dataclass
class DataCity:
    name: str
    population: int
    tags: list[str]
    capital: bool | None


class DictCity(TypedDict):
    name: str
    area: float


def kinds() -> list[Any]:
    found: list[Any] = [AttrsCity, DataCity, DictCity]
    try:
        import pydantic
    except ImportError:
        return found

    class PydanticCity(pydantic.BaseModel):
        name: str
        districts: list[str]

    return [*found, PydanticCity]


def check_instance(cls: Any, parsed: Any) -> None:
    if cls is DictCity:
        assert isinstance(parsed, dict) and set(parsed) == {"name", "area"}
    else:
        assert isinstance(parsed, cls)


@pytest.mark.parametrize("cls", kinds(), ids=lambda c: c.__name__)
def test_chat_parse_each_class_kind(aikit_server: FakeOpenAIServer, aikit_client: OpenAI,
                                    cls: Any) -> None:
    result = aikit_client.chat.completions.parse(USER, response_format=cls)
    assert result.success, result.errors
    check_instance(cls, result.parsed)
    sent = aikit_server.requests[-1].json["response_format"]
    assert sent["type"] == "json_schema" and sent["json_schema"]["strict"] is True


@pytest.mark.parametrize("cls", kinds(), ids=lambda c: c.__name__)
def test_responses_parse_each_class_kind(aikit_server: FakeOpenAIServer, aikit_client: OpenAI,
                                         cls: Any) -> None:
    result = aikit_client.responses.parse("describe a city", text_format=cls)
    assert result.success, result.errors
    check_instance(cls, result.parsed)
    assert aikit_server.requests[-1].json["text"]["format"]["type"] == "json_schema"


def test_invalid_json_gives_no_instance_and_an_error(aikit_server: FakeOpenAIServer,
                                                     aikit_client: OpenAI) -> None:
    aikit_server.reply_next('{"name": "Paris", "population": "many"}', times=2)
    chat = aikit_client.chat.completions.parse(USER, response_format=DataCity)
    responses = aikit_client.responses.parse("x", text_format=DataCity)
    for result in (chat, responses):
        assert result.parsed is None and not result.success
        assert result.errors[0].kind == ErrorKind.PARSE and "population" in str(result.errors[0])


def test_refusal_gives_no_instance_and_an_error(aikit_server: FakeOpenAIServer,
                                                aikit_client: OpenAI) -> None:
    aikit_server.reply_next(refusal="I can't help with that.", times=2)
    chat = aikit_client.chat.completions.parse(USER, response_format=DataCity)
    responses = aikit_client.responses.parse("x", text_format=DataCity)
    for result in (chat, responses):
        assert result.parsed is None and not result.success
        assert result.errors[0].kind == ErrorKind.REFUSAL
        assert "can't help" in result.errors[0].message


def test_parse_in_callback_mode_sets_parsed_before_the_callbacks(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    rec = Recorder()
    _, worker = in_worker(lambda: aikit_client.responses.parse(
        "x", text_format=AttrsCity, **rec.callbacks("on_response", "on_error", "on_terminate")))
    rec.wait()
    assert rec.names == ["on_response", "on_terminate"] and rec.threads == {worker}
    assert isinstance(rec.events[0][2].parsed, AttrsCity)
    aikit_server.reply_next(refusal="no")
    rec = Recorder()
    in_worker(lambda: aikit_client.chat.completions.parse(
        USER, response_format=AttrsCity,
        **rec.callbacks("on_response", "on_error", "on_terminate")))
    rec.wait()
    assert rec.names == ["on_error", "on_terminate"]
    assert rec.events[0][2].errors[0].kind == ErrorKind.REFUSAL


def test_a_function_tool_from_a_typed_function(aikit_server: FakeOpenAIServer,
                                               aikit_client: OpenAI) -> None:
    calls: list[tuple[str, Size, int]] = []

    def book(city: str, size: Size, nights: int = 1) -> str:
        """Book a hotel.

        Args:
            city: where to stay.
            size: the room size.
            nights: how many nights.
        """
        calls.append((city, size, nights))
        return f"booked {city}"

    tool = OpenAITool.from_function(book)
    assert tool.name == "book" and tool.description == "Book a hotel."
    assert tool.parameters is not None
    assert tool.parameters["properties"]["city"]["description"] == "where to stay."
    aikit_server.reply_next(tool_calls=[{"name": "book",
                                         "arguments": {"city": "Oslo", "size": "large",
                                                       "nights": 2}}])
    helper = aikit_client.chat.create("You book hotels.")
    helper.register_tool(tool)
    result = helper.prompt("book me a room")
    assert result.success, result.errors
    assert calls == [(("Oslo"), Size.LARGE, 2)]
    sent_tool = aikit_server.requests[0].json["tools"][0]["function"]
    assert sent_tool["strict"] is True and sent_tool["parameters"]["additionalProperties"] is False
