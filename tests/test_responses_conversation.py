"""``client.responses.conversation()``: chaining by ``previous_response_id``, instructions on
every request, tool rounds (sync, callbacks, streams), ``max_tool_rounds``, errors, and one
prompt at a time — end to end over the embedded simulator, which rejects a request that
leaves a function call of the previous response unanswered."""

from __future__ import annotations

import copy
import threading
from typing import Any

import pytest

from aikit import OpenAI, process
from aikit.errors import ErrorKind
from aikit.helpers.conversation import OpenAIResponsesConversation
from aikit.objects import OpenAITool
from aikit.parameters import OpenAIResponsesParameters
from aikit.testing import FakeOpenAIServer

from .helpers import TIMEOUT, Recorder, in_worker

TERMINALS = ("on_response", "on_error", "on_terminate", "formula")
FLAT_WEATHER: dict[str, Any] = {
    "name": "get_weather",
    "description": "Current weather of a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]},
}
FLAT_TIME: dict[str, Any] = {"name": "get_time", "description": "Current time."}


def weather(args: dict[str, Any]) -> dict[str, Any]:
    return {"city": args.get("city"), "temp": 21}


def get_time(args: dict[str, Any]) -> str:
    return "12:00"


def forecast(city: str, days: int) -> str:
    """Forecast of a city.

    Args:
        city: The city.
        days: How many days.
    """
    return f"{city}: sunny for {days} days"


class Tools:
    """An object handler; records the thread its methods run on."""

    def __init__(self) -> None:
        self.threads: list[int] = []
        self.tools = [FLAT_WEATHER, FLAT_TIME]

    def get_weather(self, args: dict[str, Any]) -> str:
        self.threads.append(threading.get_ident())
        return f"sunny in {args['city']}"

    def get_time(self, args: dict[str, Any]) -> str:
        self.threads.append(threading.get_ident())
        return "noon"


def bodies(server: FakeOpenAIServer) -> list[dict[str, Any]]:
    return [r.json for r in server.requests if r.path.endswith("/responses")]


def outputs(body: dict[str, Any]) -> list[tuple[str, str]]:
    """``(call_id, output)`` of the function_call_output items of a request body."""
    items = body["input"] if isinstance(body["input"], list) else []
    return [(i["call_id"], i["output"]) for i in items if i.get("type") == "function_call_output"]


def call_ids(result: Any) -> list[str]:
    return [c.call_id for c in result.response.function_calls]


@pytest.fixture
def conv(aikit_client: OpenAI) -> OpenAIResponsesConversation:
    return aikit_client.responses.conversation(instructions="You are terse.")


# -- construction and settings ------------------------------------------------------------------


def test_defaults_and_helper_settings_never_sent(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    conv = aikit_client.responses.conversation()
    assert isinstance(conv, OpenAIResponsesConversation)
    assert conv.max_tool_rounds == 10 and conv.last_response_id is None
    assert conv.responses == [] and conv.last_errors == [] and conv.tools == []
    params = {"model": "gpt-4o", "maxToolRounds": 4, "temperature": 0.5}
    conv = aikit_client.responses.conversation(params, max_retries=0)
    assert params == {"model": "gpt-4o", "maxToolRounds": 4, "temperature": 0.5}
    assert conv.max_tool_rounds == 4 and conv.parameters.max_retries == 0
    conv = aikit_client.responses.conversation(
        OpenAIResponsesParameters({"model": "gpt-4o", "max_tool_rounds": 2}), temperature=0.5)
    assert conv.max_tool_rounds == 2 and "max_tool_rounds" not in conv.parameters.extra
    assert conv.prompt("hi").success
    body = bodies(aikit_server)[-1]
    assert body["model"] == "gpt-4o" and body["temperature"] == 0.5
    assert not {"max_tool_rounds", "maxToolRounds", "tools", "tool_choice"} & set(body)
    with pytest.raises(ValueError, match="max_tool_rounds"):
        conv.max_tool_rounds = -1
    with pytest.raises(TypeError, match="max_tool_rounds"):
        conv.max_tool_rounds = True
    r = repr(conv)
    assert r.startswith("<OpenAIResponsesConversation ") and "resp_" in r and len(r) < 200
    assert aikit_client.api_key not in r


def test_bad_input_raises_before_anything_is_sent(
    aikit_server: FakeOpenAIServer, conv: OpenAIResponsesConversation
) -> None:
    for bad, error in ((42, TypeError), ("", ValueError), ([], ValueError), (b"x", TypeError)):
        with pytest.raises(error):
            conv.prompt(bad)  # type: ignore[arg-type]
    assert aikit_server.requests == [] and conv.responses == []
    assert conv.prompt("still usable").success


# -- chaining -------------------------------------------------------------------------------------


def test_prompts_chain_previous_response_id_and_send_instructions_each_time(
    aikit_server: FakeOpenAIServer, conv: OpenAIResponsesConversation
) -> None:
    first = conv.prompt("My name is Ada.")
    assert first.success and first.output_text == "Echo: My name is Ada."
    second = conv.prompt({"role": "user", "content": "And my name?"})
    third = conv.prompt([{"role": "user", "content": "Bye."}])
    assert third.success
    ids = [r.response.id for r in (first, second, third)]
    assert conv.responses == ids and conv.last_response_id == ids[-1]
    sent = bodies(aikit_server)
    assert [b.get("previous_response_id") for b in sent] == [None, ids[0], ids[1]]
    assert [b["instructions"] for b in sent] == ["You are terse."] * 3
    assert sent[0]["input"] == "My name is Ada."
    conv.instructions = "Be kind."
    conv.prompt("hello")
    assert bodies(aikit_server)[-1]["instructions"] == "Be kind."


def test_reset_and_resume(aikit_server: FakeOpenAIServer, aikit_client: OpenAI) -> None:
    conv = aikit_client.responses.conversation()
    first = conv.prompt("one")
    conv.reset()
    assert conv.last_response_id is None and conv.responses == []
    conv.prompt("two")
    assert "previous_response_id" not in bodies(aikit_server)[-1]
    resumed = aikit_client.responses.conversation(previous_response_id=first.response.id)
    assert resumed.last_response_id == first.response.id
    assert resumed.prompt("three").success
    assert bodies(aikit_server)[-1]["previous_response_id"] == first.response.id
    resumed.last_response_id = None
    resumed.prompt("four")
    assert "previous_response_id" not in bodies(aikit_server)[-1]


def test_with_a_conversation_object_no_previous_response_id(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    conv = aikit_client.responses.conversation(conversation="conv_123")
    assert conv.prompt("one").success and conv.prompt("two").success
    sent = bodies(aikit_server)
    assert [b.get("conversation") for b in sent] == ["conv_123", "conv_123"]
    assert all("previous_response_id" not in b for b in sent)


# -- tool registration ----------------------------------------------------------------------------


def test_registration_shapes_and_the_callers_objects_untouched(aikit_client: OpenAI) -> None:
    mine = OpenAIResponsesParameters(tools=[FLAT_TIME, {**FLAT_WEATHER, "handler": weather}])
    conv = aikit_client.responses.conversation(mine)
    assert [t.name for t in conv.tools] == ["get_time", "get_weather"]
    assert conv.tool_handlers == {"get_weather": weather}  # get_time: sent, unhandled
    flat = copy.deepcopy(FLAT_WEATHER)
    conv.register_tool(flat, get_time)  # same name: replaces
    conv.register_tools({"echo": lambda args: args, "get_time": {"handler": get_time}})
    conv.register_tools([{"type": "web_search"}, {"type": "web_search"}])
    conv.register_tools(Tools())
    assert flat == FLAT_WEATHER and [t.name for t in mine.tools or []] == ["get_time",
                                                                         "get_weather"]
    assert sorted(t.name or t.type for t in conv.tools) == [
        "echo", "get_time", "get_weather", "web_search"]
    assert all(t.handler is None for t in conv.tools)
    conv.unregister_tool("GET_TIME")
    assert "get_time" not in conv.tool_handlers
    assert conv.parameters.tools is None  # the tools are the conversation's
    conv.unregister_tools()
    assert conv.tools == [] and conv.tool_handlers == {}


def test_tools_sent_flat_and_never_empty(
    aikit_server: FakeOpenAIServer, conv: OpenAIResponsesConversation
) -> None:
    conv.parameters.tool_choice = "auto"
    conv.register_tool(FLAT_WEATHER, weather)
    conv.prompt("one")
    tools = bodies(aikit_server)[-1]["tools"]
    assert tools == [{"type": "function", "name": "get_weather",
                      "description": FLAT_WEATHER["description"],
                      "parameters": FLAT_WEATHER["parameters"], "strict": None}]
    conv.unregister_tools()
    assert conv.prompt("two").success
    assert not {"tools", "tool_choice"} & set(bodies(aikit_server)[-1])


# -- sync tool rounds ---------------------------------------------------------------------------


def test_sync_tool_round_sends_the_outputs(
    aikit_server: FakeOpenAIServer, conv: OpenAIResponsesConversation
) -> None:
    conv.register_tool(FLAT_WEATHER, weather)
    conv.prompt("hello")
    aikit_server.reply_next(tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}])
    result = conv.prompt("Weather in Paris?")
    assert result.success and result.terminated and conv.last_errors == []
    assert result.output_text == 'Tool said: {"city":"Paris","temp":21}'
    assert not result.response.function_calls
    _, asked, follow_up = bodies(aikit_server)
    assert len(conv.responses) == 3 and conv.last_response_id == result.response.id
    assert asked["previous_response_id"] == conv.responses[0]
    assert follow_up["previous_response_id"] == conv.responses[1]
    assert follow_up["instructions"] == "You are terse." and follow_up["tools"]
    assert [i["type"] for i in follow_up["input"]] == ["function_call_output"]
    [(call_id, output)] = outputs(follow_up)
    assert call_id.startswith("call_") and output == '{"city":"Paris","temp":21}'


def test_every_call_gets_one_output_with_the_error_texts(
    aikit_server: FakeOpenAIServer, conv: OpenAIResponsesConversation
) -> None:
    def boom(args: dict[str, Any]) -> None:
        raise ValueError("no such city")

    conv.register_tool(FLAT_WEATHER, weather)
    conv.register_tool({"name": "explode"}, boom)
    conv.register_tool({"name": "unhandled"})
    aikit_server.reply_next(tool_calls=[
        {"name": "get_weather", "arguments": {"city": "Oslo"}},
        {"name": "explode"},
        {"name": "unhandled"},
        {"name": "never_registered"},
        {"name": "get_weather", "arguments": "{oops"},
    ])
    result = conv.prompt("go")
    assert result.success, result.errors
    texts = [text for _, text in outputs(bodies(aikit_server)[1])]
    assert texts == [
        '{"city":"Oslo","temp":21}',
        "Error executing function 'explode': no such city",
        "Error: No handler registered for function 'unhandled'",
        "Error: No handler registered for function 'never_registered'",
        "Error: Invalid JSON arguments for function 'get_weather'",
    ]
    assert result.output_text == "Tool said: " + " | ".join(texts)


def test_from_function_tool_gets_keyword_arguments(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    tool = OpenAITool.from_function(forecast)
    conv = aikit_client.responses.conversation(tools=[tool])
    assert conv.tool_handlers == {"forecast": tool.handler}
    aikit_server.reply_next(tool_calls=[
        {"name": "forecast", "arguments": {"city": "Rome", "days": 3}},
        {"name": "forecast", "arguments": {"city": "Rome"}},
    ])
    assert conv.prompt("forecast?").success
    first, missing = outputs(bodies(aikit_server)[1])
    assert first[1] == "Rome: sunny for 3 days"
    assert missing[1].startswith("Error executing function 'forecast'") and "days" in missing[1]
    assert bodies(aikit_server)[0]["tools"][0]["parameters"]["required"] == ["city", "days"]


def test_forced_tool_choice_only_on_the_first_request(
    aikit_server: FakeOpenAIServer, conv: OpenAIResponsesConversation
) -> None:
    conv.parameters.tool_choice = "required"
    conv.register_tool(FLAT_TIME, get_time)
    aikit_server.reply_next(tool_calls=[{"name": "get_time"}])
    assert conv.prompt("time").output_text == "Tool said: 12:00"
    first, follow_up = bodies(aikit_server)
    assert first["tool_choice"] == "required" and "tool_choice" not in follow_up


@pytest.mark.parametrize("mode", ["sync", "callback"])
def test_max_tool_rounds_cap(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI, mode: str
) -> None:
    rec = Recorder(last="formula")
    params: dict[str, Any] = rec.callbacks(*TERMINALS) if mode == "callback" else {}
    conv = aikit_client.responses.conversation(params, max_tool_rounds=3)
    ran: list[int] = []
    conv.register_tool(FLAT_TIME, lambda args: ran.append(1) or "12:00")
    aikit_server.reply_next(tool_calls=[{"name": "get_time"}], times=50)
    if mode == "sync":
        result = conv.prompt("time?")
    else:
        in_worker(lambda: conv.prompt("time?"))
        rec.wait()
        assert rec.names == ["on_response", "on_terminate", "formula"]
        result = rec.events[0][2]
    assert len(bodies(aikit_server)) == 1 + 3 and len(ran) == 3 and len(conv.responses) == 4
    assert result.success and result.response.function_calls
    [error] = conv.last_errors
    assert error.kind == ErrorKind.MAX_TOOL_ROUNDS and "max_tool_rounds (3)" in str(error)
    # The unanswered calls are answered (not run) at the head of the next prompt: the
    # simulator, like OpenAI, refuses a request that leaves them open.
    pending = call_ids(result)
    aikit_server.clear()
    for name in TERMINALS:
        setattr(conv.parameters, name, None)
    thanks = conv.prompt("thanks")
    assert thanks.success, thanks.errors and conv.last_errors == []
    sent = bodies(aikit_server)[0]
    assert [c for c, _ in outputs(sent)] == pending
    assert all("not called: max_tool_rounds (3) reached" in t for _, t in outputs(sent))
    assert sent["input"][-1] == {"role": "user", "content": "thanks"} and len(ran) == 3


def test_max_tool_rounds_zero_lets_the_caller_answer(
    aikit_server: FakeOpenAIServer, conv: OpenAIResponsesConversation
) -> None:
    conv.max_tool_rounds = 0
    conv.register_tool(FLAT_TIME, get_time)
    aikit_server.reply_next(tool_calls=[{"name": "get_time"}, {"name": "get_time"}])
    result = conv.prompt("time?")
    assert len(bodies(aikit_server)) == 1 and conv.last_errors
    mine, other = call_ids(result)
    answer = conv.prompt([{"type": "function_call_output", "call_id": mine, "output": "9:00"}])
    assert answer.success, answer.errors
    sent = outputs(bodies(aikit_server)[-1])  # the caller's answer is not duplicated
    assert sorted(sent) == sorted([(mine, "9:00"), (other, sent[0][1])])
    assert "not called" in dict(sent)[other]


def test_sync_failures(aikit_server: FakeOpenAIServer, aikit_client: OpenAI) -> None:
    conv = aikit_client.responses.conversation(max_retries=0)
    first = conv.prompt("one")
    aikit_server.fail_next(500)
    failed = conv.prompt("two")
    assert not failed.success and conv.last_errors[0].status == 500
    assert conv.last_response_id == first.response.id  # unchanged
    assert conv.prompt("three").success and conv.last_errors == []
    assert bodies(aikit_server)[-1]["previous_response_id"] == first.response.id
    throwing = aikit_client.responses.conversation(throw=True, max_retries=0)
    aikit_server.fail_next(400)
    with pytest.raises(Exception, match="400"):
        throwing.prompt("boom")
    assert throwing.last_errors and throwing.prompt("fine").success


def test_sync_follow_up_failure_answers_on_the_next_prompt(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    conv = aikit_client.responses.conversation(max_retries=0)

    def flaky(args: dict[str, Any]) -> str:
        aikit_server.fail_next(503)  # the follow-up request fails
        return "ran"

    conv.register_tool({"name": "flaky"}, flaky)
    aikit_server.reply_next(tool_calls=[{"name": "flaky"}])
    result = conv.prompt("go")
    assert result.status == 503 and conv.last_errors[0].status == 503
    asked = conv.last_response_id
    assert conv.prompt("again").success
    sent = bodies(aikit_server)[-1]
    assert sent["previous_response_id"] == asked and [t for _, t in outputs(sent)] == ["ran"]


def test_sync_stream_tool_round(aikit_server: FakeOpenAIServer, aikit_client: OpenAI) -> None:
    conv = aikit_client.responses.conversation(stream=True)
    conv.register_tool(FLAT_WEATHER, weather)
    aikit_server.reply_next(tool_calls=[{"name": "get_weather", "arguments": {"city": "Lima"}}])
    result = conv.prompt("Weather?")
    assert result.success and result.output_text == 'Tool said: {"city":"Lima","temp":21}'
    assert len(conv.responses) == 2 and all(b["stream"] for b in bodies(aikit_server))


# -- callback mode ----------------------------------------------------------------------------


def test_callbacks_once_after_the_tool_round_on_the_owner(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    rec = Recorder(last="formula")
    tools = Tools()
    conv = aikit_client.responses.conversation(rec.callbacks(*TERMINALS), instructions="Hi.")
    conv.register_tools(tools)
    aikit_server.reply_next(tool_calls=[
        {"name": "get_weather", "arguments": {"city": "Kyiv"}},
        {"name": "get_time"},
    ])
    pending, worker = in_worker(lambda: conv.prompt("Weather and time?"), name="conv-cb")
    rec.wait()
    assert rec.names == ["on_response", "on_terminate", "formula"]
    assert rec.threads == {worker} and tools.threads == [worker, worker]
    final = rec.events[0][2]
    assert final.success and final.output_text == "Tool said: sunny in Kyiv | noon"
    assert final is not pending and pending.terminated and pending.response.function_calls
    assert conv.responses == [pending.response.id, final.response.id]
    first, follow_up = bodies(aikit_server)
    assert follow_up["previous_response_id"] == pending.response.id
    assert first["instructions"] == follow_up["instructions"] == "Hi."
    in_worker(lambda: None, name="conv-cb")  # nothing more arrives later
    assert rec.names == ["on_response", "on_terminate", "formula"]


def test_callback_mode_on_the_main_thread_with_pump(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    rec = Recorder()
    conv = aikit_client.responses.conversation(rec.callbacks("on_response", "on_terminate"))
    conv.register_tool(FLAT_TIME, get_time)
    aikit_server.reply_next(tool_calls=[{"name": "get_time"}], times=2)
    conv.prompt("time?")
    assert rec.names == []
    assert process.pump(TIMEOUT)
    assert rec.names == ["on_response", "on_terminate"]
    assert rec.threads == {threading.main_thread().ident}
    assert rec.events[0][2].output_text == "Tool said: 12:00"
    assert len(bodies(aikit_server)) == 3


def test_callback_mode_from_a_plain_thread_fails_before_sending(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    from aikit.process import NoProcessError

    conv = aikit_client.responses.conversation(on_response=lambda r: None)
    box: dict[str, BaseException] = {}

    def plain() -> None:
        try:
            conv.prompt("hi")
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=plain)
    thread.start()
    thread.join(TIMEOUT)
    assert isinstance(box.get("error"), NoProcessError) and aikit_server.requests == []
    conv.parameters.on_response = None  # not left busy: a sync prompt works
    assert conv.prompt("sync").success


def test_http_error_on_error_and_on_terminate_once(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    rec = Recorder(last="formula")
    conv = aikit_client.responses.conversation(rec.callbacks(*TERMINALS), max_retries=0)
    aikit_server.fail_next(500, times=3)
    _, worker = in_worker(lambda: conv.prompt("hello"), name="conv-err")
    rec.wait()
    assert rec.names == ["on_error", "on_terminate", "formula"] and rec.threads == {worker}
    assert rec.events[0][2].status == 500 and conv.last_errors[0].status == 500
    assert conv.last_response_id is None and len(aikit_server.requests) == 1
    in_worker(lambda: None, name="conv-err")
    assert rec.names == ["on_error", "on_terminate", "formula"]


def test_callback_follow_up_failure_reaches_on_error(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    rec = Recorder()
    conv = aikit_client.responses.conversation(rec.callbacks(*TERMINALS[:3]), max_retries=0)

    def flaky(args: dict[str, Any]) -> str:
        aikit_server.fail_next(503)
        return "ok"

    conv.register_tool({"name": "flaky"}, flaky)
    aikit_server.reply_next(tool_calls=[{"name": "flaky"}])
    in_worker(lambda: conv.prompt("go"))
    rec.wait()
    assert rec.names == ["on_error", "on_terminate"]
    assert rec.events[0][2].status == 503 and conv.last_errors[0].status == 503


def test_follow_up_that_cannot_be_sent_still_ends_once(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    """The follow-up raises while being built (here: a tool made unsendable by its handler)."""
    rec = Recorder(last="formula")
    conv = aikit_client.responses.conversation(rec.callbacks(*TERMINALS))

    def breaks_the_next_request(args: dict[str, Any]) -> str:
        conv._tools.append(42)  # type: ignore[arg-type]
        return "ok"

    conv.register_tool({"name": "breaker"}, breaks_the_next_request)
    aikit_server.reply_next(tool_calls=[{"name": "breaker"}])
    in_worker(lambda: conv.prompt("go"))
    rec.wait()
    assert rec.names == ["on_error", "on_terminate", "formula"]
    [error] = conv.last_errors
    assert error.kind == ErrorKind.REQUEST and rec.events[0][2].errors == [error]
    assert len(bodies(aikit_server)) == 1


def test_one_prompt_at_a_time(aikit_server: FakeOpenAIServer, aikit_client: OpenAI) -> None:
    """A second prompt while one runs raises; one sent from the final callbacks is fine."""
    rec = Recorder(last="on_response")
    done = threading.Event()
    seen: list[Any] = []

    def chain_next(result: Any) -> None:
        if len(seen) == 0:
            seen.append(conv.prompt("second"))
        else:
            done.set()

    conv = aikit_client.responses.conversation(on_response=rec.callback("on_response"),
                                               on_terminate=chain_next)
    aikit_server.delay_next(0.3)

    def twice() -> None:
        conv.prompt("first")
        with pytest.raises(RuntimeError, match="still running"):
            conv.prompt("too early")
        conv.parameters.on_response = None  # a sync prompt is refused too
        conv.parameters.on_terminate = None
        with pytest.raises(RuntimeError):
            conv.prompt("sync, too early")
        conv.parameters.on_response = rec.callback("on_response")
        conv.parameters.on_terminate = chain_next

    in_worker(twice)
    assert done.wait(TIMEOUT)
    assert len(bodies(aikit_server)) == 2
    _, second = bodies(aikit_server)
    assert second["previous_response_id"] == conv.responses[0] and second["input"] == "second"


def test_a_dead_owner_releases_the_conversation(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    conv = aikit_client.responses.conversation(on_response=lambda r: None)
    aikit_server.delay_next(1)
    in_worker(lambda: conv.prompt("lost"), name="conv-owner")
    process.kill_worker("conv-owner")  # its callbacks will never come
    rec = Recorder()
    conv.parameters.on_terminate = rec.callback("on_terminate")
    in_worker(lambda: conv.prompt("again"))
    rec.wait()
    assert rec.events[0][2].success


def test_reset_while_a_prompt_runs(aikit_server: FakeOpenAIServer, aikit_client: OpenAI) -> None:
    rec = Recorder()
    conv = aikit_client.responses.conversation(rec.callbacks("on_response", "on_terminate"))
    aikit_server.delay_next(0.3)

    def start() -> None:
        conv.prompt("old")
        conv.reset()

    in_worker(start)
    rec.wait()
    assert rec.names == ["on_response", "on_terminate"]
    assert conv.responses == [] and conv.last_response_id is None


# -- streaming ------------------------------------------------------------------------------------


def test_stream_events_of_every_round_in_order(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    rec = Recorder(last="on_terminate")  # formula also gets every event
    conv = aikit_client.responses.conversation(rec.callbacks("on_data", *TERMINALS),
                                               stream=True)
    tools = Tools()
    conv.register_tools(tools)
    aikit_server.reply_next(tool_calls=[{"name": "get_weather", "arguments": {"city": "Nice"}}])
    pending, worker = in_worker(lambda: conv.prompt("Weather?"), name="conv-stream")
    rec.wait()
    in_worker(lambda: None, name="conv-stream")  # the final formula has run
    terminal = [n for n in rec.names if n != "on_data" and n != "formula"]
    assert terminal == ["on_response", "on_terminate"] and rec.names[-1] == "formula"
    assert rec.threads == {worker} and tools.threads == [worker]
    events = [r.body for n, _, r in rec.events if n == "on_data"]
    kinds = [e["type"] for e in events]
    assert kinds.count("response.created") == 2 and kinds.count("response.completed") == 2
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    split = kinds.index("response.completed") + 1
    assert kinds[split] == "response.created"
    for round_events in (events[:split], events[split:]):  # each round in wire order
        numbers = [e["sequence_number"] for e in round_events]
        assert numbers == sorted(numbers) == list(range(len(numbers)))
    created = [e["response"]["id"] for e in events if e["type"] == "response.created"]
    assert created == conv.responses
    formula = [r for n, _, r in rec.events if n == "formula"]
    assert len(formula) == len(events) + 1  # every event, then the final result once
    final = rec.events[-1][2]
    assert final.terminated and final.output_text == "Tool said: sunny in Nice"
    assert final is rec.events[rec.names.index("on_response")][2]
    assert pending is not None and pending.response.function_calls
    assert rec.names.count("on_response") == 1 and rec.names.count("on_terminate") == 1
