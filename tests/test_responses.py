"""The Responses API over real sockets (the embedded simulator): every method sync and in
callback mode, the callback sequence and thread affinity for every outcome, streams with
their failures, background runs polled, resumed and cancelled."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from aikit import (
    OpenAI,
    OpenAIMessage,
    OpenAIResponseFunctionCall,
    OpenAIResponsesResult,
    OpenAIResponsesStreamResult,
    OpenAITool,
    process,
)
from aikit.testing import FakeOpenAIServer
from aikit.types import ResponseCompletedEvent, ResponseTextDeltaEvent

from .helpers import TIMEOUT, Recorder, in_worker

SEQ = ("on_data", "on_response", "on_error", "on_terminate")
TEXT = "one two three four five"


def run_in_worker(call: Callable[[dict[str, Any]], Any]) -> tuple[Recorder, int, Any]:
    """``call(callbacks)`` in a new worker; waits for on_terminate."""
    rec = Recorder(last="on_terminate")
    result, worker = in_worker(lambda: call(rec.callbacks(*SEQ)))
    rec.wait()
    return rec, worker, result


def deltas(rec: Recorder) -> str:
    return "".join(
        chunk.event.delta for name, _, chunk in rec.events
        if name == "on_data" and isinstance(chunk.event, ResponseTextDeltaEvent)
        and chunk.event.delta
    )


# -- sync round trips ---------------------------------------------------------------------------


def test_create_sync(aikit_server: FakeOpenAIServer, aikit_client: OpenAI) -> None:
    result = aikit_client.responses.create(TEXT, instructions="Be brief.")
    assert isinstance(result, OpenAIResponsesResult) and result.success, result.errors
    response = result.response
    assert response is not None and response.status == "completed"
    assert result.output_text == f"Echo: {TEXT}" == response.output_text
    assert result.usage and result.usage["total_tokens"] > 0
    sent = aikit_server.requests[-1].json
    assert sent["input"] == TEXT and sent["instructions"] == "Be brief."
    assert sent["model"] == "gpt-4o-mini"
    assert "store" not in sent and "parallel_tool_calls" not in sent  # 4D always sent them


def test_input_forms(aikit_server: FakeOpenAIServer, aikit_client: OpenAI) -> None:
    message = OpenAIMessage(role="user", content="look")
    message.add_image_url("https://example.invalid/a.png", "low")
    first = aikit_client.responses.create([message])
    assert first.success, first.errors
    sent = aikit_server.requests[-1].json["input"]
    assert sent == [{"role": "user", "content": [
        {"type": "input_text", "text": "look"},
        {"type": "input_image", "image_url": "https://example.invalid/a.png", "detail": "low"},
    ]}]
    again = aikit_client.responses.create(first, previous_response_id=first.response.id)
    assert again.success, again.errors
    assert aikit_server.requests[-1].json["input"] == first.response.output
    with pytest.raises(TypeError, match="`input`"):
        aikit_client.responses.create(5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="`input`"):
        aikit_client.responses.create("")
    assert len(aikit_server.requests) == 2


def test_every_other_method_sync(aikit_server: FakeOpenAIServer, aikit_client: OpenAI) -> None:
    created = aikit_client.responses.create(TEXT)
    rid = created.response.id
    got = aikit_client.responses.retrieve(rid)
    assert got.success and got.response.id == rid and got.output_text == created.output_text
    items = aikit_client.responses.input_items.list(rid, limit=5, order="asc")
    assert items.success and items.items and items.first_id
    count = aikit_client.responses.input_tokens.count(TEXT)
    assert count.success and count.input_tokens > 0
    compacted = aikit_client.responses.compact(previous_response_id=rid)
    assert compacted.success, compacted.errors
    deleted = aikit_client.responses.delete(rid)
    assert deleted.success and deleted.deleted is not None and deleted.deleted.deleted
    gone = aikit_client.responses.retrieve(rid)
    assert not gone.success and gone.errors[0].is_not_found_error and gone.response is None
    paths = [(r.method, r.path) for r in aikit_server.requests]
    assert ("GET", f"/v1/responses/{rid}/input_items") in paths
    assert ("POST", "/v1/responses/input_tokens") in paths
    assert ("POST", "/v1/responses/compact") in paths


def test_function_tools_go_flat_and_calls_are_typed(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    aikit_server.reply_next(tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}])
    chat_shape = {"type": "function", "function": {"name": "get_weather",
                                                   "parameters": {"type": "object"}}}
    result = aikit_client.responses.create(
        "weather?", tools=[chat_shape],
        tool_choice={"type": "function", "function": {"name": "get_weather"}})
    assert result.success, result.errors
    sent = aikit_server.requests[-1].json
    assert sent["tools"][0]["name"] == "get_weather" and "function" not in sent["tools"][0]
    assert sent["tool_choice"] == {"type": "function", "name": "get_weather"}
    calls = result.response.function_calls
    assert len(calls) == 1 and isinstance(calls[0], OpenAIResponseFunctionCall)
    assert calls[0].parsed_arguments == {"city": "Paris"}
    answer = aikit_client.responses.create(
        [{"type": "function_call_output", "call_id": calls[0].call_id, "output": "sunny"}],
        previous_response_id=result.response.id, tools=[OpenAITool(name="get_weather")])
    assert answer.success, answer.errors


@pytest.mark.parametrize(("status", "needle"), [("failed", "failed"),
                                                ("incomplete", "incomplete")])
def test_failed_and_incomplete_are_errors(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI, status: str, needle: str
) -> None:
    aikit_server.reply_next("partial", status=status)
    result = aikit_client.responses.create(TEXT)
    assert not result.success and needle in result.errors[0].message
    assert result.response is not None and result.response.status == status


# -- streams -------------------------------------------------------------------------------------


def test_sync_stream_iterates_typed_events_in_order(aikit_client: OpenAI) -> None:
    here = threading.get_ident()
    seen: list[OpenAIResponsesStreamResult] = []
    threads = set()
    with aikit_client.responses.stream(TEXT) as stream:
        for item in stream:
            threads.add(threading.get_ident())
            seen.append(item)
        final = stream.result
    assert threads == {here}
    numbers = [item.event.sequence_number for item in seen if item.event is not None]
    assert numbers == list(range(len(seen)))
    kinds = [item.event.type for item in seen if item.event is not None]
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert isinstance(seen[-1].event, ResponseCompletedEvent)
    text = "".join(i.event.delta for i in seen if isinstance(i.event, ResponseTextDeltaEvent)
                   and i.event.delta)
    assert final.success and final.terminated and final.output_text == text == f"Echo: {TEXT}"
    assert seen[len(seen) // 2].snapshot is not None


def test_stream_callbacks_on_the_owner(aikit_client: OpenAI) -> None:
    rec, worker, pending = run_in_worker(
        lambda cbs: aikit_client.responses.create(TEXT, stream=True, **cbs))
    assert rec.names[-2:] == ["on_response", "on_terminate"]
    assert set(rec.names[:-2]) == {"on_data"} and rec.threads == {worker}
    final = rec.events[-1][2]
    assert final is pending and final.terminated and final.output_text == deltas(rec)
    numbers = [c.event.sequence_number for n, _, c in rec.events if n == "on_data"]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)


@pytest.mark.parametrize(("kind", "needle"), [
    ("drop", ""), ("malformed", "Malformed"), ("error_event", "error"),
    ("eof", "ended before"),
])
def test_mid_stream_failures(aikit_server: FakeOpenAIServer, aikit_client: OpenAI,
                             kind: str, needle: str) -> None:
    aikit_server.stream_fault_next(kind, after_chunks=3)
    rec, worker, _ = run_in_worker(
        lambda cbs: aikit_client.responses.create(TEXT, stream=True, **cbs))
    assert rec.names == ["on_data"] * 3 + ["on_error", "on_terminate"]
    assert rec.threads == {worker}
    assert needle in rec.events[-1][2].errors[0].message
    assert len(aikit_server.requests) == 1  # not a background response: never resumed


@pytest.mark.parametrize("status", ["failed", "incomplete"])
def test_stream_ending_failed_or_incomplete(aikit_server: FakeOpenAIServer,
                                            aikit_client: OpenAI, status: str) -> None:
    aikit_server.reply_next("partial", status=status)
    rec, _, _ = run_in_worker(lambda cbs: aikit_client.responses.create(TEXT, stream=True,
                                                                         **cbs))
    assert rec.names[-2:] == ["on_error", "on_terminate"]
    last_event = [c for n, _, c in rec.events if n == "on_data"][-1].event
    assert last_event.type == f"response.{status}"
    assert status in rec.events[-1][2].errors[0].message


def test_stall_is_an_idle_timeout(aikit_server: FakeOpenAIServer) -> None:
    aikit_server.stream_fault_next("stall", after_chunks=2)
    with OpenAI(aikit_server.api_key, aikit_server.url, timeout=0.5) as client:
        rec, _, _ = run_in_worker(lambda cbs: client.responses.create(TEXT, stream=True, **cbs))
    assert rec.names == ["on_data", "on_data", "on_error", "on_terminate"]
    assert rec.events[-1][2].errors[0].is_timeout_error


def test_http_error_instead_of_a_stream(aikit_server: FakeOpenAIServer,
                                        aikit_client: OpenAI) -> None:
    aikit_server.fail_next(400)
    rec, _, _ = run_in_worker(lambda cbs: aikit_client.responses.create(TEXT, stream=True,
                                                                         **cbs))
    assert rec.names == ["on_error", "on_terminate"]
    assert rec.events[-1][2].errors[0].is_bad_request_error  # 4D lost this error (R2)


def test_transport_error_sequence() -> None:
    client = OpenAI("sk-test", "http://127.0.0.1:9/v1", max_retries=0)
    rec, worker, _ = run_in_worker(lambda cbs: client.responses.create(TEXT, **cbs))
    assert rec.names == ["on_error", "on_terminate"] and rec.threads == {worker}
    assert rec.events[-1][2].errors[0].is_connection_error
    client.close()


def test_terminate_a_stream(aikit_server: FakeOpenAIServer, aikit_client: OpenAI) -> None:
    aikit_server.stream_fault_next("stall", after_chunks=2)
    rec = Recorder(last="on_terminate")
    first = threading.Event()

    def on_data(_: Any) -> None:
        first.set()

    pending, worker = in_worker(lambda: aikit_client.responses.create(
        TEXT, stream=True, on_data=on_data, **rec.callbacks("on_error", "on_terminate")),
        name="responses-terminate")
    assert first.wait(TIMEOUT)
    pending.terminate()
    rec.wait()
    assert rec.names == ["on_error", "on_terminate"] and rec.threads == {worker}
    assert rec.events[-1][2].errors[0].kind == "terminated"


def test_killed_owner_gets_nothing(aikit_server: FakeOpenAIServer, aikit_client: OpenAI) -> None:
    aikit_server.stream_fault_next("stall", after_chunks=1)
    rec = Recorder()
    started = threading.Event()

    def on_data(_: Any) -> None:
        started.set()

    in_worker(lambda: aikit_client.responses.create(
        TEXT, stream=True, on_data=on_data, **rec.callbacks("on_error", "on_terminate")),
        name="responses-killed")
    assert started.wait(TIMEOUT)
    process.kill_worker("responses-killed")
    assert not rec.done.wait(1.0)
    assert rec.events == []


# -- background runs -----------------------------------------------------------------------------


def test_background_polled_until_it_ends(aikit_server: FakeOpenAIServer,
                                         aikit_client: OpenAI) -> None:
    rec, worker, _ = run_in_worker(
        lambda cbs: aikit_client.responses.create(TEXT, background=True, **cbs))
    statuses = [c.response.status for n, _, c in rec.events if n == "on_data"]
    assert statuses[0] == "queued" and statuses[-1] == "completed"
    assert len(statuses) == len(set(statuses))  # status changes only
    assert rec.names[-2:] == ["on_response", "on_terminate"] and rec.threads == {worker}
    assert rec.events[-1][2].output_text == f"Echo: {TEXT}"


def test_background_stream_resumes_after_a_drop(aikit_server: FakeOpenAIServer,
                                                aikit_client: OpenAI) -> None:
    aikit_server.stream_fault_next("drop", after_chunks=4)
    rec, _, _ = run_in_worker(lambda cbs: aikit_client.responses.create(
        TEXT, stream=True, background=True, **cbs))
    numbers = [c.event.sequence_number for n, _, c in rec.events if n == "on_data"]
    assert numbers == list(range(len(numbers)))  # none lost, none twice
    assert rec.names[-2:] == ["on_response", "on_terminate"]
    final = rec.events[-1][2]
    assert final.output_text == deltas(rec) == f"Echo: {TEXT}"
    resumed = [r for r in aikit_server.requests if r.method == "GET"]
    assert len(resumed) == 1 and resumed[0].query == {"stream": "true", "starting_after": "3"}


def test_terminate_a_background_run_cancels_it(aikit_server: FakeOpenAIServer) -> None:
    aikit_server.background_step = 0.5  # slow enough to be terminated while running
    client = OpenAI(aikit_server.api_key, aikit_server.url)
    rec = Recorder(last="on_terminate")
    queued = threading.Event()
    polled: list[OpenAIResponsesStreamResult] = []

    def on_data(result: OpenAIResponsesStreamResult) -> None:
        polled.append(result)
        queued.set()

    pending, _ = in_worker(lambda: client.responses.create(
        TEXT, background=True, on_data=on_data, **rec.callbacks("on_error", "on_terminate")))
    assert queued.wait(TIMEOUT)
    pending.terminate()
    rec.wait()
    assert rec.names == ["on_error", "on_terminate"]
    assert polled[0].response is not None and polled[0].response.status == "queued"
    rid = polled[0].response.id
    client.close()  # joins the I/O thread, which sends the cancel
    cancels = [r for r in aikit_server.requests
               if r.method == "POST" and r.path == f"/v1/responses/{rid}/cancel"]
    assert len(cancels) == 1
    assert OpenAI(aikit_server.api_key, aikit_server.url).responses.retrieve(
        rid).response.status == "cancelled"


def test_every_method_in_callback_mode(aikit_server: FakeOpenAIServer,
                                       aikit_client: OpenAI) -> None:
    rid = aikit_client.responses.create(TEXT).response.id
    calls: list[Callable[[dict[str, Any]], Any]] = [
        lambda cbs: aikit_client.responses.create(TEXT, **cbs),
        lambda cbs: aikit_client.responses.retrieve(rid, **cbs),
        lambda cbs: aikit_client.responses.input_items.list(rid, **cbs),
        lambda cbs: aikit_client.responses.input_tokens.count(TEXT, **cbs),
        lambda cbs: aikit_client.responses.compact(TEXT, **cbs),
        lambda cbs: aikit_client.responses.delete(rid, **cbs),
    ]
    for call in calls:
        rec, worker, pending = run_in_worker(call)
        assert rec.names == ["on_response", "on_terminate"], rec.events[-1][2].errors
        assert rec.threads == {worker} and rec.events[-1][2] is pending
