"""The chat helper: tool registration shapes, tool rounds in every mode, the fixed 4D bugs (listed
in the docstring of ``aikit/helpers/chat_helper.py``) and history trimming, end to end over real
sockets against FakeOpenAIServer."""

from __future__ import annotations

import copy
import json
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import requests

from aikit import OpenAI
from aikit.helpers import OpenAIChatHelper
from aikit.helpers.history import trim_history
from aikit.helpers.tools import execute_tool_call, format_tool_result
from aikit.objects import OpenAITool
from aikit.parameters import OpenAIChatCompletionsParameters
from aikit.testing import FakeOpenAIServer
from tests.prism.fixture import API_KEY as PRISM_KEY
from tests.test_conformance_prism import prism_url  # noqa: F401  (the session fixture)

from .helpers import TIMEOUT, Recorder, in_worker

ROOT = Path(__file__).resolve().parent.parent

WEATHER_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
}
FLAT_WEATHER: dict[str, Any] = {
    "name": "get_weather",
    "description": "Current weather of a city.",
    "parameters": WEATHER_PARAMETERS,
}
OPENAI_WEATHER: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather of a city.",
        "parameters": WEATHER_PARAMETERS,
    },
}
FLAT_TIME: dict[str, Any] = {"name": "get_time", "description": "Current time."}


def weather(args: dict[str, Any]) -> dict[str, Any]:
    return {"city": args.get("city"), "temp": 21}


def get_time(args: dict[str, Any]) -> str:
    return "12:00"


class Tools:
    """An object handler: methods named after the tools."""

    def __init__(self) -> None:
        self.threads: list[int] = []
        self.tools = [FLAT_WEATHER, FLAT_TIME]

    def get_weather(self, args: dict[str, Any]) -> str:
        self.threads.append(threading.get_ident())
        return f"sunny in {args['city']}"

    def get_time(self, args: dict[str, Any]) -> str:
        return "noon"


@pytest.fixture
def helper(aikit_client: OpenAI) -> OpenAIChatHelper:
    return aikit_client.chat.create("You are terse.")


def names(helper: OpenAIChatHelper) -> list[str | None]:
    return [t.name for t in helper.parameters.tools or []]


def sent_names(helper: OpenAIChatHelper) -> list[str]:
    return [t["function"]["name"] for t in helper.parameters.body().get("tools", [])]


def roles(messages: list[Any]) -> list[str]:
    return [m["role"] if isinstance(m, dict) else m.role for m in messages]


def assert_coherent(messages: list[dict[str, Any]]) -> None:
    """Every tool message answers the nearest assistant message before it, whose tool calls
    are all answered before anything else comes."""
    pending: set[str] = set()
    for i, message in enumerate(messages):
        if message["role"] == "tool":
            assert message["tool_call_id"] in pending, f"orphan tool message {i}: {messages}"
            pending.discard(message["tool_call_id"])
            continue
        assert not pending, f"unanswered tool calls {pending} before message {i}"
        if message["role"] == "assistant" and message.get("tool_calls"):
            pending = {call["id"] for call in message["tool_calls"]}
    assert not pending, f"unanswered tool calls {pending} at the end"


def assert_requests_valid(server: FakeOpenAIServer) -> None:
    for request in server.requests:
        if request.path.endswith("/chat/completions"):
            assert_coherent(request.json["messages"])


# -- construction and settings ------------------------------------------------------------------


def test_create_defaults(aikit_client: OpenAI) -> None:
    helper = aikit_client.chat.create("Be brief.")
    assert isinstance(helper, OpenAIChatHelper)
    assert helper.system_prompt.role == "system" and helper.system_prompt.content == "Be brief."
    assert helper.messages == [] and helper.last_errors == []
    assert helper.number_of_messages == 15 and helper.max_tool_rounds == 10
    assert helper.auto_handle_tool_calls is True
    assert isinstance(helper.parameters, OpenAIChatCompletionsParameters)
    assert helper.parameters.model == "gpt-4o-mini"


def test_params_camel_case_and_helper_settings_never_sent(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    params = {"model": "gpt-4o", "maxRetries": 0, "numberOfMessages": 4, "seed": 7}
    helper = aikit_client.chat.create(
        "sys", params, max_tool_rounds=2, auto_handle_tool_calls=False
    )
    assert params == {"model": "gpt-4o", "maxRetries": 0, "numberOfMessages": 4, "seed": 7}
    assert (helper.number_of_messages, helper.max_tool_rounds) == (4, 2)
    assert helper.auto_handle_tool_calls is False and helper.parameters.max_retries == 0
    assert helper.prompt("hi").success
    body = aikit_server.requests[-1].json
    assert body["model"] == "gpt-4o" and body["seed"] == 7
    assert not {"numberOfMessages", "number_of_messages", "max_tool_rounds"} & set(body)


def test_user_parameters_object_never_mutated(aikit_client: OpenAI) -> None:
    mine = OpenAIChatCompletionsParameters(model="gpt-4o", tools=[FLAT_TIME])
    helper = aikit_client.chat.create("sys", mine)
    helper.register_tool(FLAT_WEATHER, weather)
    helper.unregister_tool("get_time")
    assert helper.parameters is not mine
    assert [t.name for t in mine.tools or []] == ["get_time"]
    assert names(helper) == ["get_weather"]


def test_settings_are_validated(helper: OpenAIChatHelper) -> None:
    with pytest.raises(ValueError, match="max_tool_rounds"):
        helper.max_tool_rounds = -1
    with pytest.raises(TypeError, match="number_of_messages"):
        helper.number_of_messages = "3"  # type: ignore[assignment]
    with pytest.raises(TypeError, match="Cannot prompt with parameter of type list"):
        helper.prompt(["hi"])  # type: ignore[arg-type]
    assert helper.messages == []


# -- registration shapes (no network) ----------------------------------------------------------


def test_register_tool_flat_and_openai_shapes(helper: OpenAIChatHelper) -> None:
    flat, openai_format = copy.deepcopy(FLAT_WEATHER), copy.deepcopy(OPENAI_WEATHER)
    helper.register_tool(flat, weather)
    assert names(helper) == ["get_weather"] and helper.tool_handlers == {"get_weather": weather}
    helper.register_tool(openai_format, get_time)  # same name: replaces
    assert names(helper) == ["get_weather"] and helper.tool_handlers["get_weather"] is get_time
    assert flat == FLAT_WEATHER and openai_format == OPENAI_WEATHER  # never mutated
    tool = helper.parameters.tools[0]  # type: ignore[index]
    assert tool.handler is None  # the handler lives in the registry, never on the wire
    assert helper.parameters.body()["tools"] == [
        {"type": "function", "function": {k: v for k, v in FLAT_WEATHER.items()}}
    ]


def test_register_tool_handler_found_on_the_tool(helper: OpenAIChatHelper) -> None:
    helper.register_tool({**FLAT_WEATHER, "handler": weather})  # handler key
    helper.register_tool({"tool": FLAT_TIME, "handler": get_time})  # compound
    assert helper.tool_handlers == {"get_weather": weather, "get_time": get_time}
    helper.register_tool({"tool": OPENAI_WEATHER, "get_weather": get_time})  # member by name
    assert helper.tool_handlers["get_weather"] is get_time
    helper.register_tool(OpenAITool(FLAT_TIME, handler=weather))  # OpenAITool.handler
    assert helper.tool_handlers["get_time"] is weather
    helper.register_tool({**OPENAI_WEATHER, "handler": get_time})  # root handler, OpenAI shape
    assert helper.tool_handlers["get_weather"] is get_time
    assert names(helper) == ["get_time", "get_weather"]  # a replaced tool moves to the end


def test_register_tool_without_handler_is_sent_unhandled(helper: OpenAIChatHelper) -> None:
    helper.register_tool(FLAT_TIME)
    assert names(helper) == ["get_time"] and helper.tool_handlers == {}


def test_unregister_is_case_insensitive(helper: OpenAIChatHelper) -> None:
    helper.register_tools([{"tool": FLAT_WEATHER, "handler": weather}, FLAT_TIME])
    helper.unregister_tool("GET_Weather")
    assert names(helper) == ["get_time"] and helper.tool_handlers == {}
    helper.unregister_tool("nope")
    helper.unregister_tool("")
    assert names(helper) == ["get_time"]
    helper.register_tool({**FLAT_TIME, "name": "Get_Time"}, get_time)  # replaces, any case
    assert names(helper) == ["Get_Time"]
    helper.unregister_tools()
    assert helper.parameters.tools is None and helper.tool_handlers == {}
    assert "tools" not in helper.parameters.body()


def test_register_tools_name_to_tool_dict(helper: OpenAIChatHelper) -> None:
    nameless_openai = {"type": "function", "function": {"description": "d"}}
    given = {
        "get_weather": {"tool": copy.deepcopy(OPENAI_WEATHER), "handler": weather},
        "get_time": {"description": "Current time.", "handler": get_time},  # no name: the key
        "lookup": nameless_openai,  # OpenAI shape without a name: the key
        "echo": lambda args: args,  # a bare function
        "ignored_key": {"tool": {**FLAT_TIME, "name": "clock"}},  # its own name wins
    }
    snapshot = copy.deepcopy({k: v for k, v in given.items() if k != "echo"})
    helper.register_tools(given)
    assert sorted(names(helper)) == ["clock", "echo", "get_time", "get_weather", "lookup"]
    assert sorted(helper.tool_handlers) == ["echo", "get_time", "get_weather"]
    assert {k: v for k, v in given.items() if k != "echo"} == snapshot  # 4D overwrote names
    assert "name" not in nameless_openai["function"]


def test_register_tools_lists(helper: OpenAIChatHelper) -> None:
    helper.register_tools([
        {"tool": OPENAI_WEATHER, "handler": weather},
        OpenAITool(FLAT_TIME, handler=get_time),
        {"type": "web_search"},
    ])
    assert names(helper) == ["get_weather", "get_time", None]
    assert helper.tool_handlers == {"get_weather": weather, "get_time": get_time}
    helper.register_tools([{"type": "web_search"}])  # built-ins: one per type
    assert [t.type for t in helper.parameters.tools or []].count("web_search") == 1


def test_register_tools_whole_object_handler(helper: OpenAIChatHelper) -> None:
    calls: list[str] = []
    spec = {
        "tools": [FLAT_WEATHER, FLAT_TIME],
        "get_weather": lambda args: calls.append("weather") or "w",
        "get_time": lambda args: calls.append("time") or "t",
    }
    helper.register_tools(spec)
    assert names(helper) == ["get_weather", "get_time"]
    assert helper.tool_handlers == {"get_weather": spec, "get_time": spec}
    call = {"id": "1", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}
    assert execute_tool_call(call, helper.tool_handlers) == "t" and calls == ["time"]


def test_register_tools_object_with_methods(helper: OpenAIChatHelper) -> None:
    tools = Tools()
    helper.register_tools(tools)
    assert names(helper) == ["get_weather", "get_time"]
    call = {"id": "1", "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'}}
    assert execute_tool_call(call, helper.tool_handlers) == "sunny in Oslo"


def test_register_tools_single_tool(helper: OpenAIChatHelper) -> None:
    helper.register_tools({**FLAT_WEATHER, "handler": weather})
    helper.register_tools(OpenAITool(FLAT_TIME))
    assert names(helper) == ["get_weather", "get_time"]


def test_construction_tools_all_kept(aikit_client: OpenAI) -> None:
    """4D iterated the list it mutated: handler-less tools were dropped, others skipped."""
    given = [
        {**FLAT_WEATHER, "handler": weather},
        FLAT_TIME,  # no handler: kept, sent, unhandled
        {"tool": {"name": "a"}, "handler": get_time},
        {"type": "function", "function": {"name": "b"}, "handler": get_time},
    ]
    snapshot = copy.deepcopy([{k: v for k, v in t.items() if k != "handler"} for t in given])
    helper = aikit_client.chat.create("sys", {"tools": given})
    assert names(helper) == ["get_weather", "get_time", "a", "b"]
    assert sorted(helper.tool_handlers) == ["a", "b", "get_weather"]
    assert sent_names(helper) == ["get_weather", "get_time", "a", "b"]
    assert [{k: v for k, v in t.items() if k != "handler"} for t in given] == snapshot


def test_bad_inputs_are_logged_not_raised(
    helper: OpenAIChatHelper, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="aikit")
    helper.register_tool(None)
    helper.register_tool(42)
    helper.register_tool({"description": "no name"})
    helper.register_tool({"type": "function", "function": {"description": "no name"}})
    helper.register_tool(FLAT_TIME, handler="not a handler")
    helper.register_tools("nonsense")
    helper.register_tools(12)
    helper.register_tools([None, 3, "x", {"description": "neither name nor type"}])
    helper.register_tools({"a": None, "b": 5, "": FLAT_TIME})
    helper.register_tools(None)
    assert names(helper) == ["get_time"] and helper.tool_handlers == {}
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) >= 10


# -- tool execution texts ---------------------------------------------------------------------


def call(name: str | None, arguments: Any = "{}") -> dict[str, Any]:
    function: dict[str, Any] = {"arguments": arguments}
    if name is not None:
        function["name"] = name
    return {"id": "c1", "type": "function", "function": function}


def test_tool_error_texts() -> None:
    def boom(args: dict[str, Any]) -> None:
        raise RuntimeError("kaput")

    handlers: dict[str, Any] = {"ok": weather, "boom": boom, "obj": Tools(), "list": lambda a: [1]}
    assert execute_tool_call(call("missing"), handlers) == (
        "Error: No handler registered for function 'missing'")
    assert execute_tool_call(call("ok", "{not json"), handlers) == (
        "Error: Invalid JSON arguments for function 'ok'")
    assert execute_tool_call(call("ok", "[1, 2]"), handlers) == (
        "Error: Invalid JSON arguments for function 'ok'")
    assert execute_tool_call(call("obj"), handlers) == (
        "Error: unknown function 'obj'. Seems not implemented.")
    assert execute_tool_call(call("boom"), handlers) == (
        "Error executing function 'boom': kaput")
    assert execute_tool_call(call(None), handlers) == "Error: Tool call without a function name"
    assert execute_tool_call(call("ok", ""), handlers) == '{"city":null,"temp":21}'
    assert execute_tool_call(call("ok", None), handlers) == '{"city":null,"temp":21}'
    assert execute_tool_call(call("list"), handlers) == "[1]"


def test_tool_result_formatting() -> None:
    assert format_tool_result("as is") == "as is"
    assert format_tool_result({"a": [1, 2], "b": "é"}) == '{"a":[1,2],"b":"é"}'
    assert format_tool_result([{"x": 1}]) == '[{"x":1}]'
    assert format_tool_result(None) == ""
    assert format_tool_result(5) == "5" and format_tool_result(True) == "True"


def test_custom_tool_call_gets_its_input() -> None:
    custom = {"id": "c", "type": "custom", "custom": {"name": "sql", "input": "SELECT 1"}}
    assert execute_tool_call(custom, {"sql": lambda text: f"ran {text}"}) == "ran SELECT 1"


# -- sync mode, end to end ------------------------------------------------------------------------


def test_sync_tool_round(aikit_server: FakeOpenAIServer, helper: OpenAIChatHelper) -> None:
    helper.register_tool(FLAT_WEATHER, weather)
    aikit_server.reply_next(tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}])
    result = helper.prompt("Weather in Paris?")
    assert result.success and result.terminated
    assert result.choice.message.text == 'Tool said: {"city":"Paris","temp":21}'
    assert roles(helper.messages) == ["user", "assistant", "tool", "assistant"]
    call_id = helper.messages[1].tool_calls[0]["id"]  # type: ignore[index]
    assert helper.messages[2].tool_call_id == call_id
    assert helper.last_errors == []
    requests_ = aikit_server.requests
    assert len(requests_) == 2
    assert roles(requests_[1].json["messages"]) == ["system", "user", "assistant", "tool"]
    assert requests_[1].json["tools"][0]["function"]["name"] == "get_weather"
    assert_requests_valid(aikit_server)


def test_sync_several_calls_and_every_error_kind(
    aikit_server: FakeOpenAIServer, helper: OpenAIChatHelper
) -> None:
    def boom(args: dict[str, Any]) -> None:
        raise ValueError("no such city")

    helper.register_tool(FLAT_WEATHER, weather)
    helper.register_tool({"name": "explode"}, boom)
    helper.register_tool({"name": "unhandled"})
    helper.register_tool({"name": "absent"}, object())
    aikit_server.reply_next(tool_calls=[
        {"name": "get_weather", "arguments": {"city": "Oslo"}},
        {"name": "explode", "arguments": {}},
        {"name": "unhandled", "arguments": {}},
        {"name": "absent", "arguments": {}},
        {"name": "get_weather", "arguments": "{oops"},
    ])
    result = helper.prompt("go")
    assert result.success
    assert result.choice.message.text == "Tool said: " + " | ".join([
        '{"city":"Oslo","temp":21}',
        "Error executing function 'explode': no such city",
        "Error: No handler registered for function 'unhandled'",
        "Error: unknown function 'absent'. Seems not implemented.",
        "Error: Invalid JSON arguments for function 'get_weather'",
    ])
    assert roles(helper.messages) == ["user", "assistant", *["tool"] * 5, "assistant"]
    assert_requests_valid(aikit_server)


def test_sync_failure_sets_last_errors_and_next_prompt_clears(
    aikit_server: FakeOpenAIServer, helper: OpenAIChatHelper
) -> None:
    helper.parameters.max_retries = 0
    aikit_server.fail_next(500)
    result = helper.prompt("hi")
    assert not result.success and helper.last_errors and helper.last_errors[0].status == 500
    assert roles(helper.messages) == ["user"]  # 4D: the user message stays
    assert helper.prompt("again").success and helper.last_errors == []


def test_sync_throw_raises_after_history_update(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    helper = aikit_client.chat.create("sys", throw=True, max_retries=0)
    aikit_server.fail_next(400)
    with pytest.raises(Exception, match="400"):
        helper.prompt("hi")
    assert helper.last_errors and roles(helper.messages) == ["user"]


def test_auto_handle_off_returns_tool_calls(
    aikit_server: FakeOpenAIServer, helper: OpenAIChatHelper
) -> None:
    helper.auto_handle_tool_calls = False
    helper.register_tool(FLAT_WEATHER, weather)
    aikit_server.reply_next(tool_calls=[{"name": "get_weather", "arguments": {"city": "Rome"}}])
    result = helper.prompt("Weather?")
    assert result.choice.finish_reason == "tool_calls" and len(aikit_server.requests) == 1
    assert roles(helper.messages) == ["user", "assistant"]


def test_sync_stream_tool_round(aikit_server: FakeOpenAIServer, aikit_client: OpenAI) -> None:
    helper = aikit_client.chat.create("sys", stream=True, stream_options={"include_usage": True})
    helper.register_tool(FLAT_WEATHER, weather)
    aikit_server.reply_next(tool_calls=[{"name": "get_weather", "arguments": {"city": "Lima"}}])
    result = helper.prompt("Weather?")
    assert result.success and result.choice.text == 'Tool said: {"city":"Lima","temp":21}'
    assert roles(helper.messages) == ["user", "assistant", "tool", "assistant"]
    assert "index" not in helper.messages[1].tool_calls[0]  # type: ignore[index]
    assert_requests_valid(aikit_server)


# -- callback mode, end to end ------------------------------------------------------------------


TERMINALS = ("on_response", "on_error", "on_terminate", "formula")


def test_callbacks_fire_once_after_tool_rounds_on_owner(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    """4D: on_response + on_terminate both rerouted to the helper processed the reply twice,
    and the reply of the async follow-up was lost. Here: once each, with the final answer."""
    rec = Recorder(last="formula")
    tools = Tools()
    helper = aikit_client.chat.create("sys", rec.callbacks(*TERMINALS))
    helper.register_tools(tools)
    aikit_server.reply_next(tool_calls=[
        {"name": "get_weather", "arguments": {"city": "Kyiv"}},
        {"name": "get_time", "arguments": {}},
    ])
    pending, worker = in_worker(lambda: helper.prompt("Weather and time?"))
    rec.wait()
    assert pending is not None and aikit_server.requests  # the first request's result
    assert rec.names == ["on_response", "on_terminate", "formula"]
    assert rec.threads == {worker} and tools.threads == [worker]
    final = rec.events[0][2]
    assert final.success and final.choice.text == "Tool said: sunny in Kyiv | noon"
    assert final is not pending and pending.terminated
    assert roles(helper.messages) == ["user", "assistant", "tool", "tool", "assistant"]
    assert len(aikit_server.requests) == 2
    assert_requests_valid(aikit_server)
    # nothing more arrives later
    in_worker(lambda: None)
    assert rec.names == ["on_response", "on_terminate", "formula"]


def test_callback_mode_on_main_thread_with_pump(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    """The main process gets every round's internal callback and the user's, in pump()."""
    from aikit import process

    rec = Recorder()
    helper = aikit_client.chat.create("sys", rec.callbacks("on_response", "on_terminate"))
    helper.register_tool(FLAT_TIME, get_time)
    aikit_server.reply_next(tool_calls=[{"name": "get_time"}], times=2)
    helper.prompt("time?")
    assert rec.names == []  # nothing runs before the main thread pumps
    assert process.pump(TIMEOUT)  # returns only when the whole chain is over
    assert rec.names == ["on_response", "on_terminate"]
    assert rec.threads == {threading.main_thread().ident}
    assert rec.events[0][2].choice.text == "Tool said: 12:00"
    assert len(aikit_server.requests) == 3


def test_callback_mode_from_a_plain_thread_fails_before_sending(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    from aikit.process import NoProcessError

    helper = aikit_client.chat.create("sys", on_response=lambda r: None)
    box: dict[str, BaseException] = {}

    def plain() -> None:
        try:
            helper.prompt("hi")
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=plain)
    thread.start()
    thread.join(TIMEOUT)
    assert isinstance(box.get("error"), NoProcessError)
    assert helper.messages == [] and aikit_server.requests == []


def test_reset_while_a_prompt_runs(aikit_server: FakeOpenAIServer, aikit_client: OpenAI) -> None:
    rec = Recorder()
    helper = aikit_client.chat.create("sys", rec.callbacks("on_response", "on_terminate"))
    aikit_server.delay_next(0.3)

    def start() -> None:
        helper.prompt("old")
        helper.reset()

    in_worker(start)
    rec.wait()
    assert rec.names == ["on_response", "on_terminate"]
    assert helper.messages == []  # the old reply did not land in the new history

def test_callback_mode_without_tools(aikit_server: FakeOpenAIServer, aikit_client: OpenAI) -> None:
    rec = Recorder()
    helper = aikit_client.chat.create("sys", {"onResponse": rec.callback("on_response"),
                                              "onTerminate": rec.callback("on_terminate")})
    pending, worker = in_worker(lambda: helper.prompt("hello"))
    rec.wait()
    assert rec.names == ["on_response", "on_terminate"] and rec.threads == {worker}
    assert rec.events[0][2] is pending and pending.choice.text == "Echo: hello"
    assert roles(helper.messages) == ["user", "assistant"]


def test_callback_mode_error_once(aikit_server: FakeOpenAIServer, aikit_client: OpenAI) -> None:
    rec = Recorder(last="formula")
    helper = aikit_client.chat.create("sys", rec.callbacks(*TERMINALS), max_retries=0)
    aikit_server.fail_next(500)
    _, worker = in_worker(lambda: helper.prompt("hello"))
    rec.wait()
    assert rec.names == ["on_error", "on_terminate", "formula"] and rec.threads == {worker}
    assert helper.last_errors and helper.last_errors[0].status == 500


def test_callback_mode_follow_up_failure_reaches_on_error(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    rec = Recorder(last="on_terminate")
    helper = aikit_client.chat.create("sys", rec.callbacks(*TERMINALS[:3]), max_retries=0)

    def flaky(args: dict[str, Any]) -> str:
        aikit_server.fail_next(503)  # the follow-up request fails
        return "ok"

    helper.register_tool({"name": "flaky"}, flaky)
    aikit_server.reply_next(tool_calls=[{"name": "flaky", "arguments": {}}])
    in_worker(lambda: helper.prompt("go"))
    rec.wait()
    assert rec.names == ["on_error", "on_terminate"]
    assert rec.events[0][2].status == 503 and helper.last_errors[0].status == 503


def test_stream_callbacks_every_chunk_of_every_round(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    """4D: with include_usage the last chunk has no choices, so tools never ran, and chunks
    without choices were not forwarded to on_data."""
    rec = Recorder(last="on_terminate")
    helper = aikit_client.chat.create(
        "sys", rec.callbacks("on_data", "on_response", "on_error", "on_terminate"),
        stream=True, stream_options={"include_usage": True},
    )
    tools = Tools()
    helper.register_tools(tools)
    aikit_server.reply_next(tool_calls=[{"name": "get_weather", "arguments": {"city": "Nice"}}])
    pending, worker = in_worker(lambda: helper.prompt("Weather?"))
    rec.wait()
    assert rec.names[-2:] == ["on_response", "on_terminate"]
    assert set(rec.names[:-2]) == {"on_data"}
    assert rec.threads == {worker} and tools.threads == [worker]
    chunks = [r for n, _, r in rec.events if n == "on_data"]
    assert sum(1 for c in chunks if not c.choices) == 2  # one usage chunk per round
    assert len({c.body["id"] for c in chunks}) == 2  # chunks of both rounds
    final = rec.events[-1][2]
    assert final.choice.text == "Tool said: sunny in Nice" and final.usage
    text = "".join(c.choice.delta.text for c in chunks if c.choice and c.choice.delta)
    assert text.endswith("Tool said: sunny in Nice")
    assert pending is not None and not pending.choice.text  # the first round asked for tools
    assert roles(helper.messages) == ["user", "assistant", "tool", "assistant"]
    assert_requests_valid(aikit_server)


def test_stream_formula_only(aikit_server: FakeOpenAIServer, aikit_client: OpenAI) -> None:
    seen: list[Any] = []
    done = threading.Event()

    def formula(result: Any) -> None:
        seen.append(result)
        if result.terminated:
            done.set()

    helper = aikit_client.chat.create("sys", {"stream": True, "formula": formula})
    helper.register_tool(FLAT_TIME, get_time)
    aikit_server.reply_next(tool_calls=[{"name": "get_time"}])
    in_worker(lambda: helper.prompt("time?"))
    assert done.wait(TIMEOUT)
    in_worker(lambda: None)  # let anything late arrive
    assert [r.terminated for r in seen].count(True) == 1 and seen[-1].terminated
    assert seen[-1].choice.text == "Tool said: 12:00" and len(seen) > 4


# -- the other fixed 4D bugs ----------------------------------------------------------------------

NAMELESS_COMPLETION: dict[str, Any] = {
    "id": "chatcmpl-nameless",
    "object": "chat.completion",
    "created": 1,
    "model": "gpt-4o-mini",
    "choices": [{
        "index": 0,
        "finish_reason": "tool_calls",
        "message": {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_x", "type": "function", "function": {"arguments": "{}"}},
        ]},
    }],
}


def test_nameless_tool_call_still_answered(
    aikit_server: FakeOpenAIServer, helper: OpenAIChatHelper
) -> None:
    """4D skipped it: no tool message, and the next request was rejected."""
    aikit_server.fail_next(200, body=NAMELESS_COMPLETION)
    result = helper.prompt("go")
    assert result.success, result.errors
    assert result.choice.text == "Tool said: Error: Tool call without a function name"
    sent = aikit_server.requests[1].json["messages"]
    assert roles(sent) == ["system", "user", "assistant", "tool"]
    assert sent[3]["tool_call_id"] == "call_x"
    assert sent[2]["tool_calls"][0]["function"]["name"] == ""
    assert_requests_valid(aikit_server)


def test_tool_call_without_id_gets_one(
    aikit_server: FakeOpenAIServer, helper: OpenAIChatHelper
) -> None:
    body = copy.deepcopy(NAMELESS_COMPLETION)
    body["choices"][0]["message"]["tool_calls"] = [
        {"type": "function", "function": {"name": "get_time", "arguments": ""}}]
    helper.register_tool(FLAT_TIME, get_time)
    aikit_server.fail_next(200, body=body)
    assert helper.prompt("time").choice.text == "Tool said: 12:00"
    assert_requests_valid(aikit_server)


@pytest.mark.parametrize("mode", ["sync", "callback"])
def test_tool_rounds_capped(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI, mode: str
) -> None:
    """4D had no cap: a model that always asks for a tool looped forever."""
    rec = Recorder(last="on_terminate")
    params: dict[str, Any] = rec.callbacks(*TERMINALS) if mode == "callback" else {}
    helper = aikit_client.chat.create("sys", params, max_tool_rounds=3)
    ran: list[int] = []
    helper.register_tool(FLAT_TIME, lambda args: ran.append(1) or "12:00")
    aikit_server.reply_next(tool_calls=[{"name": "get_time"}], times=50)
    if mode == "sync":
        result = helper.prompt("time?")
    else:
        in_worker(lambda: helper.prompt("time?"))
        rec.wait()
        assert rec.names == ["on_response", "on_terminate", "formula"]
        result = rec.events[0][2]
    assert len(aikit_server.requests) == 1 + 3 and len(ran) == 3
    assert result.success and result.choice.finish_reason == "tool_calls"
    assert len(helper.last_errors) == 1 and "max_tool_rounds (3)" in str(helper.last_errors[0])
    # the last calls were answered (not run), so the history stays sendable
    assert helper.messages[-1].role == "tool" and "not called" in helper.messages[-1].text
    assert_coherent([m.to_body() for m in helper.messages])
    aikit_server.clear()
    for name in TERMINALS:  # back to sync mode for the check
        setattr(helper.parameters, name, None)
    assert helper.prompt("thanks").success and helper.last_errors == []
    assert_requests_valid(aikit_server)


def test_max_tool_rounds_zero(aikit_server: FakeOpenAIServer, helper: OpenAIChatHelper) -> None:
    helper.max_tool_rounds = 0
    helper.register_tool(FLAT_TIME, get_time)
    aikit_server.reply_next(tool_calls=[{"name": "get_time"}])
    result = helper.prompt("time?")
    assert result.choice.finish_reason == "tool_calls" and len(aikit_server.requests) == 1
    assert helper.last_errors


@pytest.mark.parametrize("how", ["reset", "unregister_tools", "unregister_tool"])
def test_no_empty_tools_sent(
    aikit_server: FakeOpenAIServer, helper: OpenAIChatHelper, how: str
) -> None:
    """4D sent ``tools: []`` after reset()/unregisterTools(), which OpenAI rejects."""
    helper.parameters.tool_choice = "auto"
    helper.register_tool(FLAT_TIME, get_time)
    assert helper.prompt("one").success
    assert aikit_server.requests[-1].json["tools"]
    if how == "unregister_tool":
        helper.unregister_tool("get_time")
    else:
        getattr(helper, how)()
    result = helper.prompt("two")
    assert result.success, result.errors
    body = aikit_server.requests[-1].json
    assert "tools" not in body and "tool_choice" not in body
    if how == "reset":
        assert roles(helper.messages) == ["user", "assistant"]
        assert helper.system_prompt.content == "You are terse."


def test_forced_tool_choice_only_on_first_round(
    aikit_server: FakeOpenAIServer, helper: OpenAIChatHelper
) -> None:
    helper.parameters.tool_choice = "required"
    helper.register_tool(FLAT_TIME, get_time)
    aikit_server.reply_next(tool_calls=[{"name": "get_time"}])
    assert helper.prompt("time").choice.text == "Tool said: 12:00"
    first, follow_up = aikit_server.requests
    assert first.json["tool_choice"] == "required" and "tool_choice" not in follow_up.json


# -- trimming -----------------------------------------------------------------------------------


def m(role: str, **kw: Any) -> dict[str, Any]:
    return {"role": role, "content": kw.pop("content", role), **kw}


def tc(*ids: str) -> dict[str, Any]:
    calls = [{"id": i, "type": "function", "function": {"name": "f", "arguments": "{}"}}
             for i in ids]
    return {"role": "assistant", "content": None, "tool_calls": calls}


def tr(call_id: str) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "content": "r"}


def test_trim_drops_tool_sequences_first() -> None:
    history = [m("user"), m("assistant"), m("user"), tc("a", "b"), tr("a"), tr("b"),
               m("assistant", content="final")]
    trim_history(history, 4)
    assert roles(history) == ["user", "assistant", "user", "assistant"]
    assert history[-1]["content"] == "final"


def test_trim_never_leaves_an_orphan_tool_message() -> None:
    # An incomplete sequence (a foreign message in between) is not removed as a whole: 4D's
    # fallback deleted the assistant message and left its answer first.
    history = [tc("a", "b"), tr("a"), m("user"), tr("b"), m("user"), m("assistant")]
    trim_history(history, 5)
    assert roles(history)[0] != "tool"
    history = [tr("z"), m("user")]
    trim_history(history, 0)  # no limit, but an orphan at the front still goes
    assert roles(history) == ["user"]


def test_trim_limits() -> None:
    history = [m("user"), m("assistant")] * 5
    trim_history(history, 0)
    assert len(history) == 10
    trim_history(history, -1)
    assert len(history) == 10
    trim_history(history, 3)
    assert roles(history) == ["assistant", "user", "assistant"]


def conversation(helper: OpenAIChatHelper, server: FakeOpenAIServer) -> None:
    """20 turns: plain ones, single tool calls, double tool calls and a two-round turn."""
    for turn in range(20):
        kind = turn % 4
        if kind == 1:
            server.reply_next(tool_calls=[{"name": "get_time"}])
        elif kind == 2:
            server.reply_next(tool_calls=[{"name": "get_time"}, {"name": "get_weather",
                                                                 "arguments": {"city": "X"}}])
        elif kind == 3 and turn % 8 == 3:
            server.reply_next(tool_calls=[{"name": "get_time"}], times=2)
        result = helper.prompt(f"turn {turn}")
        assert result.success, (turn, result.errors)
        limit = helper.number_of_messages
        assert len(helper.messages) <= limit, (turn, roles(helper.messages))
        assert helper.messages[0].role != "tool"
        assert_coherent([msg.to_body() for msg in helper.messages])


@pytest.mark.parametrize("limit", [2, 3, 4, 5, 6])
def test_trimmed_histories_stay_coherent(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI, limit: int
) -> None:
    helper = aikit_client.chat.create("sys", number_of_messages=limit)
    helper.register_tools([{"tool": FLAT_TIME, "handler": get_time},
                           {"tool": FLAT_WEATHER, "handler": weather}])
    conversation(helper, aikit_server)
    assert len(aikit_server.requests) > 20
    assert_requests_valid(aikit_server)  # the server would also have answered 400


@pytest.mark.prism
def test_trimmed_histories_conform_to_openapi(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI, prism_url: str  # noqa: F811
) -> None:
    """Every body sent during the trimmed conversations is accepted by Prism (no 422)."""
    bodies: list[dict[str, Any]] = []
    for limit in (2, 3, 4, 5, 6):
        aikit_server.clear()
        helper = aikit_client.chat.create("sys", number_of_messages=limit)
        helper.register_tools([{"tool": FLAT_TIME, "handler": get_time},
                               {"tool": FLAT_WEATHER, "handler": weather}])
        conversation(helper, aikit_server)
        bodies.extend(r.json for r in aikit_server.requests)
    with requests.Session() as session:
        session.trust_env = False
        orphan = {"model": "gpt-4o-mini", "messages": [{"role": "tool", "content": "x"}]}
        rejected = session.post(f"{prism_url}/chat/completions", json=orphan, timeout=30,
                                headers={"Authorization": f"Bearer {PRISM_KEY}"})
        assert rejected.status_code == 422  # the oracle does look at messages
        for body in bodies:
            response = session.post(f"{prism_url}/chat/completions", json=body, timeout=30,
                                    headers={"Authorization": f"Bearer {PRISM_KEY}"})
            assert response.status_code not in (415, 422), (
                json.dumps(body)[:2000], response.text[:2000])
            assert response.ok, response.text[:500]


# -- sample ---------------------------------------------------------------------------------------


def test_sample_self_test() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    done = subprocess.run(
        [sys.executable, str(ROOT / "samples" / "tools_chat.py"), "--self-test"],
        capture_output=True, text=True, timeout=60, env=env, cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    first = done.stdout.splitlines()[0]
    assert "simulator" in first and "FakeOpenAIServer" in first
    assert "Tool said:" in done.stdout
