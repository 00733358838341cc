"""FakeOpenAIServer Responses API: create, streams, tools, storage, background jobs, resume.

Raw HTTP (``requests`` and a bare socket), so these tests depend on the simulator only; the
shapes are checked against OpenAI's spec (``tests/prism``) with ``jsonschema``.
"""

from __future__ import annotations

import json
import pathlib
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests

from aikit.testing import FakeOpenAIServer
from aikit.testing._schema_instance import schema_instance

from ._support import RawConnection, wait_until

SPEC_PATH = (
    pathlib.Path(__file__).resolve().parent.parent / "prism" / "openai-openapi.aikit-v2.prism.yaml"
)
MODEL = "gpt-4o-mini"
TEXT_EVENTS = [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
    "response.output_text.delta",
    "response.output_text.delta",
    "response.output_text.delta",
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
]

Validate = Callable[[str, Any], None]


@pytest.fixture(scope="module")
def spec() -> Validate:
    """Validate an instance against a ``components/schemas`` entry of OpenAI's spec."""
    yaml = pytest.importorskip("yaml")
    jsonschema = pytest.importorskip("jsonschema")
    referencing = pytest.importorskip("referencing")
    from referencing.jsonschema import DRAFT202012

    with SPEC_PATH.open(encoding="utf-8") as fh:
        document = yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    resource = referencing.Resource.from_contents(document, default_specification=DRAFT202012)
    registry = referencing.Registry().with_resource("urn:openai-spec", resource)
    event_schemas: dict[str, str] = {}
    for branch in document["components"]["schemas"]["ResponseStreamEvent"]["anyOf"]:
        name = branch["$ref"].rsplit("/", 1)[1]
        event_type = document["components"]["schemas"][name]["properties"]["type"]["enum"][0]
        event_schemas[event_type] = name

    def validate(schema_name: str, instance: Any) -> None:
        if schema_name == "ResponseStreamEvent":  # one event: check it against its own schema
            schema_name = event_schemas[instance["type"]]
        schema = {"$ref": f"urn:openai-spec#/components/schemas/{schema_name}"}
        jsonschema.Draft202012Validator(schema, registry=registry).validate(instance)

    return validate


def post(http: requests.Session, server: FakeOpenAIServer, **body: Any) -> requests.Response:
    return http.post(server.url + "/responses", json={"model": MODEL, **body})


def create(http: requests.Session, server: FakeOpenAIServer, **body: Any) -> dict[str, Any]:
    response = post(http, server, **body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def retrieve(http: requests.Session, server: FakeOpenAIServer, response_id: str) -> dict[str, Any]:
    response = http.get(f"{server.url}/responses/{response_id}")
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def parse_event(block: bytes) -> dict[str, Any]:
    """One SSE event of a Responses stream: its ``event:`` line names the data's type."""
    lines = block.decode().strip("\n").split("\n")
    assert len(lines) == 2 and lines[0].startswith("event: ") and lines[1].startswith("data: ")
    event: dict[str, Any] = json.loads(lines[1][len("data: ") :])
    assert event["type"] == lines[0][len("event: ") :]
    return event


def sse_events(raw: bytes) -> list[dict[str, Any]]:
    assert b"[DONE]" not in raw
    return [parse_event(block.encode()) for block in raw.decode().split("\n\n") if block]


def stream(http: requests.Session, server: FakeOpenAIServer, **body: Any) -> list[dict[str, Any]]:
    response = post(http, server, stream=True, **body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    return sse_events(response.content)


def types(events: list[dict[str, Any]]) -> list[str]:
    return [event["type"] for event in events]


def output_text(response: dict[str, Any]) -> str:
    return "".join(
        part.get("text", "")
        for item in response["output"]
        if item["type"] == "message"
        for part in item["content"]
    )


def job_running(response_id: str) -> bool:
    return any(t.name == f"FakeOpenAIServer-job:{response_id}" for t in threading.enumerate())


# -- create ----------------------------------------------------------------------------------


def test_create_from_a_string(
    server: FakeOpenAIServer, http: requests.Session, spec: Validate
) -> None:
    response = post(http, server, input="Why is 42 special", instructions="Be brief.")
    assert response.headers["x-request-id"].startswith("req_")
    assert "x-ratelimit-remaining-tokens" in response.headers
    body = response.json()
    spec("Response", body)
    assert body["id"].startswith("resp_") and body["object"] == "response"
    assert (body["status"], body["model"], body["background"]) == ("completed", MODEL, False)
    assert isinstance(body["completed_at"], int) and body["error"] is None
    assert body["instructions"] == "Be brief." and body["store"] is True
    (message,) = body["output"]
    assert message["id"].startswith("msg_")
    assert (message["type"], message["role"], message["status"]) == (
        "message",
        "assistant",
        "completed",
    )
    assert message["content"] == [
        {
            "type": "output_text",
            "annotations": [],
            "logprobs": [],
            "text": "Echo: Why is 42 special",
        }
    ]
    usage = body["usage"]
    assert (usage["input_tokens"], usage["output_tokens"], usage["total_tokens"]) == (6, 5, 11)
    assert usage["output_tokens_details"] == {"reasoning_tokens": 0}


def test_create_from_items_with_text_and_image_parts(
    server: FakeOpenAIServer, http: requests.Session, spec: Validate
) -> None:
    items = [
        {"role": "system", "content": "You describe images."},
        {
            "role": "user",
            "content": [
                {"type": "input_text", "text": "look at"},
                {"type": "input_image", "image_url": "data:image/png;base64,AAAA"},
                {"type": "input_image", "file_id": "file-abc", "detail": "low"},
                {"type": "input_text", "text": "this"},
            ],
        },
    ]
    body = create(http, server, input=items, metadata={"k": "v"}, temperature=0.2)
    spec("Response", body)
    assert output_text(body) == "Echo: look at this"
    assert body["metadata"] == {"k": "v"} and body["temperature"] == 0.2
    listed = http.get(f"{server.url}/responses/{body['id']}/input_items?order=asc").json()
    spec("ResponseItemList", listed)
    system, user = listed["data"]
    assert system["id"].startswith("msg_") and system["type"] == "message"
    assert system["content"] == [{"type": "input_text", "text": "You describe images."}]
    assert user["content"][1] == {
        "type": "input_image",
        "detail": "auto",
        "file_id": None,
        "image_url": "data:image/png;base64,AAAA",
    }
    assert user["content"][2]["detail"] == "low"


def test_text_stream_events(
    server: FakeOpenAIServer, http: requests.Session, spec: Validate
) -> None:
    events = stream(http, server, input="hello there")
    assert types(events) == TEXT_EVENTS
    assert [event["sequence_number"] for event in events] == list(range(len(events)))
    for event in events:
        spec("ResponseStreamEvent", event)
    created, in_progress, added, part_added = events[:4]
    assert created["response"]["status"] == in_progress["response"]["status"] == "in_progress"
    assert created["response"]["output"] == [] and "usage" not in created["response"]
    assert added["item"]["status"] == "in_progress" and added["item"]["content"] == []
    item_id = added["item"]["id"]
    assert part_added["part"]["text"] == ""
    deltas = [event for event in events if event["type"] == "response.output_text.delta"]
    assert all(event["item_id"] == item_id and event["logprobs"] == [] for event in deltas)
    text = "".join(event["delta"] for event in deltas)
    assert text == "Echo: hello there" == events[7]["text"]
    final = events[-1]["response"]
    assert final["status"] == "completed" and output_text(final) == text
    assert final["output"] == [events[-2]["item"]]
    assert retrieve(http, server, final["id"]) == final  # stored like any other


def test_stream_tokens_next_and_stream_options(
    server: FakeOpenAIServer, http: requests.Session
) -> None:
    server.stream_tokens_next(5)
    events = stream(http, server, input="x", stream_options={"include_obfuscation": False})
    deltas = [e["delta"] for e in events if e["type"] == "response.output_text.delta"]
    assert deltas == [f"tok{index} " for index in range(5)]
    response = post(http, server, input="x", stream_options={"include_obfuscation": False})
    assert response.status_code == 400 and response.json()["error"]["param"] == "stream_options"


# -- tools -----------------------------------------------------------------------------------

WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather of a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
    "strict": True,
}


def test_function_call_round_trip(
    server: FakeOpenAIServer, http: requests.Session, spec: Validate
) -> None:
    server.reply_next(tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}])
    first = create(http, server, input="Weather in Paris?", tools=[WEATHER_TOOL])
    spec("Response", first)
    assert first["tools"] == [WEATHER_TOOL]
    (call,) = first["output"]
    assert call["type"] == "function_call" and call["status"] == "completed"
    assert call["id"].startswith("fc_") and call["call_id"].startswith("call_")
    assert (call["name"], json.loads(call["arguments"])) == ("get_weather", {"city": "Paris"})

    answer = {"type": "function_call_output", "call_id": call["call_id"], "output": "18C"}
    second = create(http, server, previous_response_id=first["id"], input=[answer])
    assert second["previous_response_id"] == first["id"]
    assert output_text(second) == "Tool said: 18C"
    (stored_answer,) = http.get(f"{server.url}/responses/{second['id']}/input_items").json()["data"]
    assert stored_answer["id"].startswith("fco_") and stored_answer["call_id"] == call["call_id"]
    third = create(http, server, previous_response_id=second["id"], input="thanks")
    assert output_text(third) == "Echo: thanks"
    assert third["usage"]["input_tokens"] > second["usage"]["input_tokens"]  # whole context

    # The conversation can also be sent whole, without previous_response_id.
    history = [
        {"role": "user", "content": "Weather?"},
        {"type": "function_call", "call_id": "call_x", "name": "get_weather", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_x", "output": "rain"},
    ]
    assert output_text(create(http, server, input=history)) == "Tool said: rain"
    # An item_reference stands for a stored item.
    (question,) = http.get(f"{server.url}/responses/{first['id']}/input_items").json()["data"]
    referenced = create(http, server, input=[{"type": "item_reference", "id": question["id"]}])
    assert output_text(referenced) == "Echo: Weather in Paris?"
    missing = post(http, server, input=[{"type": "item_reference", "id": "msg_nope"}])
    assert missing.status_code == 404


def test_function_call_outputs_must_answer_calls(
    server: FakeOpenAIServer, http: requests.Session
) -> None:
    server.reply_next(tool_calls=[{"name": "get_weather", "arguments": "{}", "id": "call_w"}])
    first = create(http, server, input="Weather?", tools=[WEATHER_TOOL])
    assert first["output"][0]["call_id"] == "call_w"
    unanswered = post(http, server, previous_response_id=first["id"], input="and tomorrow?")
    assert unanswered.status_code == 400
    assert unanswered.json()["error"]["message"] == "No tool output found for function call call_w."
    orphan = {"type": "function_call_output", "call_id": "call_nope", "output": "x"}
    unknown = post(http, server, previous_response_id=first["id"], input=[orphan])
    assert unknown.status_code == 400
    assert unknown.json()["error"]["message"] == (
        "No tool call found for function call output with call_id call_nope."
    )
    assert post(http, server, input=[orphan]).status_code == 400
    # The rejected requests left the scripts alone: the next reply is the echo.
    answer = {"type": "function_call_output", "call_id": "call_w", "output": "sun"}
    ok = create(http, server, previous_response_id=first["id"], input=[answer])
    assert output_text(ok) == "Tool said: sun"


def test_function_call_stream(
    server: FakeOpenAIServer, http: requests.Session, spec: Validate
) -> None:
    arguments = json.dumps({"city": "Paris", "unit": "celsius"})
    server.reply_next("Checking.", tool_calls=[{"name": "get_weather", "arguments": arguments}])
    events = stream(http, server, input="Weather?", tools=[WEATHER_TOOL])
    for event in events:
        spec("ResponseStreamEvent", event)
    call_events = [e for e in events if e.get("output_index") == 1]
    assert types(call_events) == [
        "response.output_item.added",
        *["response.function_call_arguments.delta"] * (len(call_events) - 3),
        "response.function_call_arguments.done",
        "response.output_item.done",
    ]
    added = call_events[0]["item"]
    assert (added["type"], added["arguments"], added["status"]) == (
        "function_call",
        "",
        "in_progress",
    )
    deltas = "".join(e["delta"] for e in call_events if e["type"].endswith("arguments.delta"))
    assert deltas == arguments == call_events[-2]["arguments"]
    assert call_events[-2]["name"] == "get_weather"
    final = events[-1]["response"]
    assert [item["type"] for item in final["output"]] == ["message", "function_call"]


# -- scripted refusals, reasoning, failures ---------------------------------------------------


def test_refusal(server: FakeOpenAIServer, http: requests.Session, spec: Validate) -> None:
    server.reply_next(refusal="I can't help with that.", times=2)
    body = create(http, server, input="something bad")
    spec("Response", body)
    assert body["output"][0]["content"] == [
        {"type": "refusal", "refusal": "I can't help with that."}
    ]
    events = stream(http, server, input="something bad")
    for event in events:
        spec("ResponseStreamEvent", event)
    assert events[3]["part"] == {"type": "refusal", "refusal": ""}
    deltas = [e["delta"] for e in events if e["type"] == "response.refusal.delta"]
    assert "".join(deltas) == "I can't help with that."
    assert "response.refusal.done" in types(events)
    assert "response.output_text.delta" not in types(events)


def test_reasoning_scripted_and_from_reasoning_models(
    server: FakeOpenAIServer, http: requests.Session, spec: Validate
) -> None:
    server.reply_next("42", reasoning="Adding the numbers.", times=2)
    body = create(http, server, input="6 * 7?")
    spec("Response", body)
    reasoning, message = body["output"]
    assert reasoning["id"].startswith("rs_") and reasoning["type"] == "reasoning"
    assert message["type"] == "message"
    assert reasoning["summary"] == [{"type": "summary_text", "text": "Adding the numbers."}]
    assert output_text(body) == "42"
    assert body["usage"]["output_tokens_details"]["reasoning_tokens"] == 3
    events = stream(http, server, input="6 * 7?")
    for event in events:
        spec("ResponseStreamEvent", event)
    assert types(events)[2:8] == [
        "response.output_item.added",
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done",
    ]
    assert types(events)[8:10] == [
        "response.reasoning_summary_part.done",
        "response.output_item.done",
    ]
    assert events[7]["text"] == "Adding the numbers." and events[2]["item"]["summary"] == []

    wanted = {"effort": "low", "summary": "auto"}
    thinking = create(http, server, model="o4-mini", input="hi", reasoning=wanted)
    assert [item["type"] for item in thinking["output"]] == ["reasoning", "message"]
    assert thinking["reasoning"] == wanted
    plain = create(http, server, model="gpt-4o", input="hi", reasoning=wanted)
    assert [item["type"] for item in plain["output"]] == ["message"]


def test_failed_and_incomplete_endings(
    server: FakeOpenAIServer, http: requests.Session, spec: Validate
) -> None:
    server.reply_next("partial", status="failed", times=2)
    failed = create(http, server, input="x")
    spec("Response", failed)
    assert failed["status"] == "failed" and failed["completed_at"] is None
    assert failed["error"]["code"] == "server_error" and failed["error"]["message"]
    events = stream(http, server, input="x")
    assert events[-1]["type"] == "response.failed"
    assert events[-1]["response"]["status"] == "failed" and events[-1]["response"]["error"]
    spec("ResponseStreamEvent", events[-1])

    server.reply_next("cut short", status="incomplete", times=2)
    incomplete = create(http, server, input="x")
    spec("Response", incomplete)
    assert incomplete["status"] == "incomplete"
    assert incomplete["incomplete_details"] == {"reason": "max_output_tokens"}
    assert incomplete["output"][0]["status"] == "incomplete"
    events = stream(http, server, input="x")
    assert events[-1]["type"] == "response.incomplete"
    assert events[-1]["response"]["incomplete_details"] == {"reason": "max_output_tokens"}

    server.stream_tokens_next(20)  # more than max_output_tokens: cut, as a model would be
    cut = create(http, server, input="x", max_output_tokens=16)
    assert (cut["status"], cut["max_output_tokens"]) == ("incomplete", 16)
    assert output_text(cut) == "".join(f"tok{index} " for index in range(16))


def test_reply_next_checks_the_new_arguments(server: FakeOpenAIServer) -> None:
    with pytest.raises(ValueError, match="status"):
        server.reply_next(status="done")
    with pytest.raises(TypeError, match="refusal"):
        server.reply_next(refusal=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="reasoning"):
        server.reply_next(reasoning=b"x")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        server.background_step = -1
    assert server.background_step == 0.05


# -- stored responses ------------------------------------------------------------------------


def test_retrieve_delete_and_store_false(server: FakeOpenAIServer, http: requests.Session) -> None:
    body = create(http, server, input="keep me")
    url = f"{server.url}/responses/{body['id']}"
    assert retrieve(http, server, body["id"]) == body
    assert http.delete(url).json() == {"id": body["id"], "object": "response", "deleted": True}
    for response in (http.get(url), http.delete(url), http.get(url + "/input_items")):
        assert response.status_code == 404
        assert response.json()["error"]["message"] == f"Response with id '{body['id']}' not found."
    unstored = create(http, server, input="forget me", store=False)
    assert unstored["store"] is False
    assert http.get(f"{server.url}/responses/{unstored['id']}").status_code == 404
    chained = post(http, server, input="x", previous_response_id=unstored["id"])
    assert chained.status_code == 404
    assert chained.json()["error"] == {
        "message": f"Previous response with id '{unstored['id']}' not found.",
        "type": "invalid_request_error",
        "param": "previous_response_id",
        "code": "previous_response_not_found",
    }
    server.reset()
    assert http.get(f"{server.url}/responses/{body['id']}").status_code == 404


def test_input_items_pagination(server: FakeOpenAIServer, http: requests.Session) -> None:
    items = [{"role": "user", "content": word} for word in ("one", "two", "three")]
    items.append({"id": "msg_mine", "type": "message", "role": "user", "content": "four"})
    body = create(http, server, input=items)
    url = f"{server.url}/responses/{body['id']}/input_items"
    listed = http.get(url).json()
    texts = [item["content"][0]["text"] for item in listed["data"]]
    assert texts == ["four", "three", "two", "one"]  # newest first by default
    assert listed["first_id"] == "msg_mine" and listed["has_more"] is False
    page = http.get(url, params={"limit": 2, "order": "asc"}).json()
    assert [item["content"][0]["text"] for item in page["data"]] == ["one", "two"]
    assert page["has_more"] is True
    rest = http.get(url, params={"order": "asc", "after": page["last_id"]}).json()
    assert [item["content"][0]["text"] for item in rest["data"]] == ["three", "four"]
    assert http.get(url, params={"limit": 101}).status_code == 400


def test_input_tokens_and_compact(
    server: FakeOpenAIServer, http: requests.Session, spec: Validate
) -> None:
    counted = http.post(
        server.url + "/responses/input_tokens",
        json={"model": MODEL, "input": "one two three", "instructions": "be brief"},
    ).json()
    spec("TokenCountsResource", counted)
    assert counted == {"object": "response.input_tokens", "input_tokens": 5}
    first = create(http, server, input="alpha beta")
    counted = http.post(
        server.url + "/responses/input_tokens",
        json={"previous_response_id": first["id"], "input": "gamma"},
    ).json()
    assert counted["input_tokens"] == 2 + 3 + 1  # the question, the echo, the new input

    compacted = http.post(
        server.url + "/responses/compact",
        json={"model": MODEL, "previous_response_id": first["id"]},
    ).json()
    spec("CompactResource", compacted)
    assert compacted["object"] == "response.compaction"
    question, compaction = compacted["output"]
    assert question["role"] == "user" and question["content"][0]["text"] == "alpha beta"
    assert compaction["type"] == "compaction" and compaction["encrypted_content"]
    assert compacted["usage"]["input_tokens"] == 5
    # The compacted window is valid input for the next turn.
    follow_up = [*compacted["output"], {"role": "user", "content": "next"}]
    assert output_text(create(http, server, input=follow_up)) == "Echo: next"
    no_model = http.post(server.url + "/responses/compact", json={"input": "x"})
    assert no_model.status_code == 400 and no_model.json()["error"]["param"] == "model"


# -- validation ------------------------------------------------------------------------------

CHAT_TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        ({"model": None, "input": "x"}, 400, "model"),
        ({}, 400, "input"),
        ({"input": 3}, 400, "input"),
        ({"input": ["x"]}, 400, "input[0]"),
        ({"input": [{"content": "x"}]}, 400, "input[0].role"),
        ({"input": [{"role": "robot", "content": "x"}]}, 400, "input[0].role"),
        ({"input": [{"role": "user"}]}, 400, "input[0].content"),
        (
            {"input": [{"role": "user", "content": [{"type": "text", "text": "chat part"}]}]},
            400,
            "input[0].content[0].type",
        ),
        (
            {"input": [{"role": "assistant", "content": [{"type": "input_text", "text": "x"}]}]},
            400,
            "input[0].content[0].type",
        ),
        (
            {"input": [{"role": "user", "content": [{"type": "input_image", "detail": "low"}]}]},
            400,
            "input[0].content[0].image_url",
        ),
        (
            {"input": [{"type": "function_call", "name": "f", "arguments": "{}"}]},
            400,
            "input[0].call_id",
        ),
        ({"input": [{"type": "image_generation_call"}]}, 400, "input[0].type"),
        ({"input": "x", "tools": [CHAT_TOOL]}, 400, "tools[0].name"),
        ({"input": "x", "tools": {"type": "function"}}, 400, "tools"),
        ({"input": "x", "max_output_tokens": 15}, 400, "max_output_tokens"),
        ({"input": "x", "max_output_tokens": "16"}, 400, "max_output_tokens"),
        ({"input": "x", "background": True, "store": False}, 400, "background"),
        ({"input": "x", "stream": "yes"}, 400, "stream"),
        ({"input": "x", "previous_response_id": "resp_x", "conversation": "c"}, 400, None),
        ({"input": "x", "previous_response_id": "resp_nope"}, 404, "previous_response_id"),
        ({"input": "x", "response_format": {"type": "json_object"}}, 400, "response_format"),
        ({"input": "x", "text": {"format": {"type": "yaml"}}}, 400, "text.format.type"),
        (
            {"input": "x", "text": {"format": {"type": "json_schema", "json_schema": {}}}},
            400,
            "text.format.name",
        ),
        ({"input": "x", "metadata": {"k": 1}}, 400, "metadata"),
    ],
)
def test_invalid_requests(
    server: FakeOpenAIServer,
    http: requests.Session,
    body: dict[str, Any],
    status: int,
    param: str | None,
) -> None:
    server.reply_next("scripted")
    response = post(http, server, **body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error"
    assert error["message"]
    assert output_text(create(http, server, input="x")) == "scripted"  # the script was left


def test_chat_shaped_tool_message(server: FakeOpenAIServer, http: requests.Session) -> None:
    response = post(http, server, input="x", tools=[WEATHER_TOOL, CHAT_TOOL])
    assert response.json()["error"] == {
        "message": "Missing required parameter: 'tools[1].name'.",
        "type": "invalid_request_error",
        "param": "tools[1].name",
        "code": "missing_required_parameter",
    }


def test_auth_methods_and_routes(http: requests.Session) -> None:
    with FakeOpenAIServer(api_key="sk-responses-key-0000") as server:
        denied = post(http, server, input="x")
        assert denied.status_code == 401
        assert denied.json()["error"]["code"] == "invalid_api_key"
        headers = {"Authorization": "Bearer sk-responses-key-0000"}
        ok = http.post(
            server.url + "/responses", json={"model": MODEL, "input": "x"}, headers=headers
        )
        assert ok.status_code == 200
        assert ok.headers["x-ratelimit-limit-requests"] == "10000"
        listing = http.get(server.url + "/responses", headers=headers)
        assert listing.status_code == 405 and listing.headers["allow"] == "POST"
        counted = http.get(server.url + "/responses/input_tokens", headers=headers)
        assert counted.status_code == 405  # not taken for a response id
        cancel = http.get(server.url + f"/responses/{ok.json()['id']}/cancel", headers=headers)
        assert cancel.status_code == 405


def test_transport_faults_apply_to_responses(
    server: FakeOpenAIServer, http: requests.Session
) -> None:
    server.reply_next("scripted")
    server.fail_next(429, headers={"retry-after": "1"})
    limited = post(http, server, input="x")
    assert limited.status_code == 429 and limited.headers["retry-after"] == "1"
    server.drop_next()
    with pytest.raises(requests.ConnectionError):
        post(http, server, input="x")
    server.delay_next(0.2)
    started = time.monotonic()
    assert output_text(create(http, server, input="x")) == "scripted"
    assert time.monotonic() - started >= 0.2


# -- structured outputs ----------------------------------------------------------------------

PERSON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 2},
        "age": {"type": "integer", "minimum": 18, "maximum": 130},
        "score": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
        "tags": {"type": "array", "items": {"type": "string", "enum": ["friend", "work"]}},
        "nickname": {"anyOf": [{"type": "null"}, {"type": "string"}]},
        "active": {"type": "boolean"},
        "address": {"$ref": "#/$defs/address"},
        "kind": {"const": "person"},
    },
    "required": ["name", "age", "score", "tags", "nickname", "active", "address", "kind"],
    "additionalProperties": False,
    "$defs": {
        "address": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "zip": {"type": ["string", "null"], "format": "date"},
                "geo": {
                    "type": "object",
                    "properties": {"lat": {"type": "number"}, "lng": {"type": "number"}},
                    "required": ["lat", "lng"],
                    "additionalProperties": False,
                },
                "previous": {"anyOf": [{"$ref": "#/$defs/address"}, {"type": "null"}]},
            },
            "required": ["city", "zip", "geo", "previous"],
            "additionalProperties": False,
        }
    },
}


def test_structured_output_instances_validate(
    server: FakeOpenAIServer, http: requests.Session
) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    fmt = {"type": "json_schema", "name": "person", "schema": PERSON_SCHEMA, "strict": True}
    body = create(http, server, input="Who?", text={"format": fmt})
    assert body["text"]["format"] == fmt
    person = json.loads(output_text(body))
    jsonschema.Draft202012Validator(PERSON_SCHEMA).validate(person)
    assert person["nickname"] == "x" and person["tags"] == ["friend"]

    chat_format = {
        "type": "json_schema",
        "json_schema": {"name": "person", "schema": PERSON_SCHEMA},
    }
    chat = http.post(
        server.url + "/chat/completions",
        json={
            "model": MODEL,
            "messages": [{"role": "user", "content": "Who?"}],
            "response_format": chat_format,
        },
    ).json()
    jsonschema.Draft202012Validator(PERSON_SCHEMA).validate(
        json.loads(chat["choices"][0]["message"]["content"])
    )
    server.reply_next("{not json")  # a scripted text is sent as is
    assert output_text(create(http, server, input="Who?", text={"format": fmt})) == "{not json"


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "array", "minItems": 3, "items": {"type": "string", "maxLength": 0}},
        {"type": "integer", "exclusiveMinimum": 4, "multipleOf": 3},
        {"type": "number", "minimum": -2.5, "maximum": -1.5},
        {"allOf": [{"properties": {"a": {"type": "string"}}, "required": ["a"]}, {"required": []}]},
        {"oneOf": [{"type": "null"}, {"type": "string", "format": "email"}]},
        {"type": "object", "minProperties": 1, "properties": {"a": {"type": "boolean"}}},
        {
            "$ref": "#/$defs/node",
            "$defs": {
                "node": {
                    "type": "object",
                    "properties": {
                        "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}
                    },
                    "required": ["children"],
                }
            },
        },
    ],
)
def test_schema_instances(schema: dict[str, Any]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.Draft202012Validator(schema).validate(schema_instance(schema))


def test_chat_refusal(server: FakeOpenAIServer, http: requests.Session) -> None:
    server.reply_next(refusal="No can do.", times=2)
    body = {"model": MODEL, "messages": [{"role": "user", "content": "x"}]}
    message = http.post(server.url + "/chat/completions", json=body).json()["choices"][0]["message"]
    assert (message["content"], message["refusal"]) == (None, "No can do.")
    raw = http.post(server.url + "/chat/completions", json={**body, "stream": True}).content
    chunks = [json.loads(line[6:]) for line in raw.decode().split("\n") if line[6:7] == "{"]
    deltas = [chunk["choices"][0]["delta"] for chunk in chunks]
    assert deltas[0] == {"role": "assistant", "content": None, "refusal": ""}
    assert "".join(delta.get("refusal", "") for delta in deltas[1:]) == "No can do."
    assert raw.endswith(b"data: [DONE]\n\n")


# -- background ------------------------------------------------------------------------------


def test_background_job_runs_queued_in_progress_completed(
    server: FakeOpenAIServer, http: requests.Session, spec: Validate
) -> None:
    server.background_step = 0.05
    server.stream_tokens_next(6)
    created = create(http, server, input="slow", background=True)
    spec("Response", created)
    assert (created["status"], created["background"], created["output"]) == ("queued", True, [])
    seen = [created["status"]]
    deadline = time.monotonic() + 10
    while seen[-1] != "completed":
        assert time.monotonic() < deadline, seen
        status = retrieve(http, server, created["id"])["status"]
        if status != seen[-1]:
            seen.append(status)
        time.sleep(0.005)
    assert seen == ["queued", "in_progress", "completed"]  # in progress ~0.7 s: polling sees it
    final = retrieve(http, server, created["id"])
    spec("Response", final)
    assert output_text(final) == "".join(f"tok{index} " for index in range(6))
    wait_until(lambda: not job_running(created["id"]))
    again = http.post(f"{server.url}/responses/{created['id']}/cancel")
    assert again.json()["status"] == "completed"  # a finished job is left as it ended


def test_cancel_a_running_job(
    server: FakeOpenAIServer, http: requests.Session, spec: Validate
) -> None:
    server.background_step = 0.05
    server.stream_tokens_next(200)  # ten seconds of work
    created = create(http, server, input="long", background=True)
    response_id = created["id"]
    wait_until(lambda: retrieve(http, server, response_id)["status"] == "in_progress", 5)
    cancelled = http.post(f"{server.url}/responses/{response_id}/cancel")
    assert cancelled.status_code == 200
    spec("Response", cancelled.json())
    assert cancelled.json()["status"] == "cancelled"
    assert server.requests[-1].path == f"/v1/responses/{response_id}/cancel"
    wait_until(lambda: not job_running(response_id), 2)  # the job stopped, well before 10 s
    assert retrieve(http, server, response_id)["status"] == "cancelled"  # and stays so
    assert http.post(f"{server.url}/responses/{response_id}/cancel").json()["status"] == "cancelled"

    queued = create(http, server, input="x", background=True)
    server.background_step = 30  # applies to jobs created after
    slow = create(http, server, input="x", background=True)
    assert http.post(f"{server.url}/responses/{slow['id']}/cancel").json()["status"] == "cancelled"
    wait_until(lambda: not job_running(slow["id"]))
    wait_until(lambda: retrieve(http, server, queued["id"])["status"] == "completed", 5)


def test_cancel_a_synchronous_response(server: FakeOpenAIServer, http: requests.Session) -> None:
    body = create(http, server, input="x")
    response = http.post(f"{server.url}/responses/{body['id']}/cancel")
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Cannot cancel a synchronous response."
    assert http.post(f"{server.url}/responses/resp_nope/cancel").status_code == 404
    replay = http.get(f"{server.url}/responses/{body['id']}", params={"stream": "true"})
    assert replay.status_code == 400 and replay.json()["error"]["param"] == "stream"


def test_background_stream_resumes_where_it_dropped(
    server: FakeOpenAIServer, http: requests.Session, spec: Validate
) -> None:
    server.background_step = 0.05
    server.stream_tokens_next(30)  # 39 events, about two seconds
    body = {"model": MODEL, "input": "go", "stream": True, "background": True}
    with RawConnection(server) as raw:
        raw.send("POST", "/v1/responses", body)
        status, headers = raw.read_head()
        assert status == 200 and headers["content-type"].startswith("text/event-stream")
        first = [parse_event(raw.read_chunk() or b"") for _ in range(5)]
    assert types(first[:3]) == ["response.created", "response.queued", "response.in_progress"]
    assert first[0]["response"]["status"] == first[1]["response"]["status"] == "queued"
    response_id = first[0]["response"]["id"]
    assert retrieve(http, server, response_id)["status"] == "in_progress"  # still running
    url = f"{server.url}/responses/{response_id}"
    resumed = http.get(url, params={"stream": "true", "starting_after": 4}, stream=True)
    rest = sse_events(resumed.raw.read())
    events = first + rest
    assert [event["sequence_number"] for event in events] == list(range(39))  # no gap, no repeat
    for event in events:
        spec("ResponseStreamEvent", event)
    assert rest[-1]["type"] == "response.completed"
    deltas = [e["delta"] for e in events if e["type"] == "response.output_text.delta"]
    assert "".join(deltas) == output_text(rest[-1]["response"])
    assert retrieve(http, server, response_id) == rest[-1]["response"]

    # Once finished, the stream replays and ends; starting_after without stream is ignored.
    replay = sse_events(http.get(url, params={"stream": "true"}).content)
    assert replay == events
    tail = sse_events(http.get(url, params={"stream": "true", "starting_after": 36}).content)
    assert [e["sequence_number"] for e in tail] == [37, 38]
    assert http.get(url, params={"starting_after": 36}).json() == rest[-1]["response"]
    assert http.get(url, params={"stream": "true", "starting_after": 99}).content == b""
    bad = http.get(url, params={"stream": "true", "starting_after": "x"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "starting_after"


def test_a_live_stream_ends_when_its_job_is_cancelled(
    server: FakeOpenAIServer, http: requests.Session
) -> None:
    server.background_step = 0.05
    server.stream_tokens_next(200)
    with RawConnection(server) as raw:
        raw.send(
            "POST",
            "/v1/responses",
            {"model": MODEL, "input": "x", "stream": True, "background": True},
        )
        raw.read_head()
        created = parse_event(raw.read_chunk() or b"")
        for _ in range(3):
            raw.read_chunk()
        cancel = http.post(f"{server.url}/responses/{created['response']['id']}/cancel")
        assert cancel.json()["status"] == "cancelled"
        rest = [parse_event(chunk) for chunk in raw.iter_chunks()]  # ends cleanly, soon
    assert len(rest) < 10
    assert not {"response.completed", "response.failed"} & set(types(rest))


def test_stop_ends_jobs_and_live_streams() -> None:
    server = FakeOpenAIServer().start()
    server.background_step = 30
    with requests.Session() as http:
        http.trust_env = False
        job = create(http, server, input="x", background=True)
    with RawConnection(server) as raw:
        raw.send(
            "POST",
            "/v1/responses",
            {"model": MODEL, "input": "x", "stream": True, "background": True},
        )
        raw.read_head()
        assert parse_event(raw.read_chunk() or b"")["type"] == "response.created"
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 1.5
        with pytest.raises(ConnectionError):
            raw.read_chunk()
    wait_until(lambda: not job_running(job["id"]), 2)


# -- stream faults ---------------------------------------------------------------------------


def _open_stream(server: FakeOpenAIServer, path: str = "/v1/responses") -> RawConnection:
    raw = RawConnection(server, timeout=5)
    if path == "/v1/responses":
        raw.send("POST", path, {"model": MODEL, "input": "alpha beta gamma", "stream": True})
    else:
        raw.send("GET", path)
    status, _ = raw.read_head()
    assert status == 200
    return raw


def test_stream_fault_drop(server: FakeOpenAIServer, http: requests.Session) -> None:
    server.stream_fault_next("drop", after_chunks=3)
    with _open_stream(server) as raw:
        events = [parse_event(raw.read_chunk() or b"") for _ in range(3)]
        assert [e["sequence_number"] for e in events] == [0, 1, 2]
        with pytest.raises(ConnectionError):  # no terminating chunk
            raw.read_line()
    server.stream_fault_next("drop", after_chunks=1000)  # after the terminal event
    streamed = http.post(
        server.url + "/responses", json={"model": MODEL, "input": "x", "stream": True}, stream=True
    )
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        b"".join(streamed.iter_content(chunk_size=None))


def test_stream_fault_malformed_and_error_event(server: FakeOpenAIServer, spec: Validate) -> None:
    server.stream_fault_next("malformed", after_chunks=2)
    with _open_stream(server) as raw:
        chunks = raw.iter_chunks()  # the chunked body still ends properly
    assert [parse_event(c)["sequence_number"] for c in chunks[:2]] == [0, 1]
    assert chunks[2:] == [b"data: {not json\n\n"]

    server.stream_fault_next("error_event", after_chunks=4)
    with _open_stream(server) as raw:
        events = [parse_event(chunk) for chunk in raw.iter_chunks()]
    assert len(events) == 5
    error = events[-1]
    spec("ResponseStreamEvent", error)
    assert error == {
        "type": "error",
        "code": "server_error",
        "message": error["message"],
        "param": None,
        "sequence_number": 4,
    }

    server.stream_fault_next("malformed", after_chunks=1000)  # follows the terminal event
    with _open_stream(server) as raw:
        chunks = raw.iter_chunks()
    assert parse_event(chunks[-2])["type"] == "response.completed"
    assert chunks[-1] == b"data: {not json\n\n"


def test_stream_fault_eof_ends_before_the_terminal_event(server: FakeOpenAIServer) -> None:
    server.stream_fault_next("eof", after_chunks=1000)
    with _open_stream(server) as raw:
        events = [parse_event(chunk) for chunk in raw.iter_chunks()]
        raw.send("GET", "/v1/models")  # a clean end: the connection stays usable
        assert raw.read_head()[0] == 200
    deltas = ["response.output_text.delta"] * 4  # "Echo: alpha beta gamma"
    assert types(events) == [*TEXT_EVENTS[:4], *deltas, *TEXT_EVENTS[7:-1]]


def test_stream_faults_apply_to_resumed_streams(
    server: FakeOpenAIServer, http: requests.Session
) -> None:
    server.background_step = 0
    created = create(http, server, input="alpha beta", background=True)
    wait_until(lambda: retrieve(http, server, created["id"])["status"] == "completed")
    path = f"/v1/responses/{created['id']}?stream=true&starting_after=3"
    server.stream_fault_next("error_event", after_chunks=1)
    with _open_stream(server, path) as raw:
        events = [parse_event(chunk) for chunk in raw.iter_chunks()]
    assert [(e["type"], e["sequence_number"]) for e in events] == [
        ("response.content_part.added", 4),
        ("error", 5),
    ]
    server.stream_fault_next("eof", after_chunks=1000)
    with _open_stream(server, path) as raw:
        events = [parse_event(chunk) for chunk in raw.iter_chunks()]
    assert events[0]["sequence_number"] == 4
    assert events[-1]["type"] == "response.output_item.done"  # the terminal event held back
