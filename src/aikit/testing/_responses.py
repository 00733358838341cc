"""The Responses API: create (whole, streamed or in the background), retrieve (or resume its
stream), delete, cancel, input items, input token counts and compaction.

The reply is the chat simulator's: a scripted one (``reply_next``, ``stream_tokens_next``), a
JSON instance of the requested schema (``text.format`` json_schema), or the echo of the
conversation; scripted tool calls become flat ``function_call`` items. Responses are stored
(unless ``store: false``) with their input items, so ``previous_response_id`` chains them.
"""

from __future__ import annotations

import base64
import json
import re
import time
from typing import Any

from ._api import (
    APIError,
    Response,
    StreamPlan,
    dump_json,
    invalid,
    json_object,
    json_type,
    missing,
    paginate,
    required_model,
)
from ._background import Job
from ._content import JSONDict, count_tokens, echo_reply, split_every, split_words
from ._records import RecordedRequest
from ._responses_input import (
    ID_PREFIXES,
    as_messages,
    check_calls,
    context_tokens,
    item_text,
    read_input,
    read_text,
    read_tools,
)
from ._responses_stream import (
    Output,
    call_item,
    error_events,
    message_item,
    reasoning_item,
    stream_events,
)
from ._schema_instance import schema_text
from ._state import ScriptedReply, SimState, StoredResponse

_REASONING_MODEL = re.compile(r"(?:fake-)?(?:o\d|gpt-5)")
_ARGUMENT_PIECE = 5
_MIN_OUTPUT_TOKENS = 16
_FAILED_MESSAGE = "The server had an error while processing your request. Sorry about that!"


def create_response(
    state: SimState, request: RecordedRequest, params: dict[str, str]
) -> Response | StreamPlan:
    body = json_object(request)
    model = required_model(body)
    if "response_format" in body:
        raise APIError(
            400,
            "Unsupported parameter: 'response_format'. In the Responses API, this parameter "
            "has moved to 'text.format'. Try again with the new parameter.",
            "response_format",
            "unsupported_parameter",
        )
    stream = _flag(body, "stream", False)
    background = _flag(body, "background", False)
    store = _flag(body, "store", True)
    if body.get("stream_options") is not None and not stream:
        raise invalid(
            "stream_options",
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            None,
        )
    if background and not store:
        raise invalid("background", "Background mode requires 'store' to be true.", None)
    max_output = body.get("max_output_tokens")
    if max_output is not None:
        if isinstance(max_output, bool) or not isinstance(max_output, int):
            raise _wrong_type("max_output_tokens", "an integer", max_output)
        if max_output < _MIN_OUTPUT_TOKENS:
            raise invalid(
                "max_output_tokens",
                "Invalid 'max_output_tokens': integer below minimum value. Expected a value >= "
                f"{_MIN_OUTPUT_TOKENS}, but got {max_output} instead.",
                "integer_below_min_value",
            )
    metadata = body.get("metadata")
    if metadata is not None and (
        not isinstance(metadata, dict)
        or not all(isinstance(value, str) for value in metadata.values())
    ):
        raise invalid("metadata", "Invalid 'metadata': expected an object of strings.")
    reasoning = body.get("reasoning")
    if reasoning is not None and not isinstance(reasoning, dict):
        raise _wrong_type("reasoning", "an object", reasoning)
    instructions = _optional_str(body, "instructions")
    tools = read_tools(body.get("tools"))
    text = read_text(body.get("text"))
    previous_id, prior, items = _context(state, body)
    state.remember_model(model)
    items = _with_ids(state, items)
    context = [*prior, *items]

    reply = state.take_reply()
    response_id = f"resp_fake{state.next_number('resp')}"
    outputs, status, output_tokens = _reply(
        state, reply, context, model, reasoning, text, max_output
    )
    if reply.usage is not None:
        usage = dict(reply.usage)
    else:
        usage = _usage(context_tokens(context, instructions), *output_tokens)
    total = usage.get("total_tokens")
    state.use_tokens(total if isinstance(total, int) else 0)
    now = int(time.time())
    final: JSONDict = {
        "id": response_id,
        "object": "response",
        "created_at": now,
        "status": status,
        "background": background,
        "completed_at": now if status == "completed" else None,
        "error": {"code": "server_error", "message": _FAILED_MESSAGE}
        if status == "failed"
        else None,
        "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None,
        "instructions": instructions,
        "max_output_tokens": max_output,
        "max_tool_calls": body.get("max_tool_calls"),
        "model": model,
        "output": [output.item for output in outputs],
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": previous_id,
        "reasoning": {
            "effort": (reasoning or {}).get("effort"),
            "summary": (reasoning or {}).get("summary"),
        },
        "service_tier": "default",
        "store": store,
        "temperature": body.get("temperature", 1.0),
        "text": text,
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": tools,
        "top_logprobs": body.get("top_logprobs", 0),
        "top_p": body.get("top_p", 1.0),
        "truncation": body.get("truncation", "disabled"),
        "usage": usage,
        "metadata": dict(metadata or {}),
    }
    if isinstance(body.get("user"), str):
        final["user"] = body["user"]
    conversation = body.get("conversation")
    if conversation is not None:
        conversation_id = conversation.get("id") if isinstance(conversation, dict) else conversation
        final["conversation"] = {"id": conversation_id}
    final = json.loads(dump_json(final))  # nothing shared with the request body
    job: Job | None = None
    events: list[bytes] = []
    in_progress_at = 0
    if stream or background:
        events, in_progress_at = stream_events(final, outputs, background)
    if background:
        job = Job(final, events, in_progress_at, state.background_step, state.stopping)
    if store:
        stored = StoredResponse(final, items, [*context, *final["output"]], job)
        with state.lock:
            state.responses[response_id] = stored
    if job is not None:
        job.start()
        if not stream:
            return Response.json(job.queued)
    if stream:
        return StreamPlan(events, len(events) - 1, None, error_events(0), job)
    return Response.json(final)


def _context(state: SimState, body: JSONDict) -> tuple[str | None, list[JSONDict], list[JSONDict]]:
    """The previous response's id and conversation (its output included), and the new input
    items: what the model sees, in that order."""
    previous_id = body.get("previous_response_id")
    if previous_id is not None and not isinstance(previous_id, str):
        raise _wrong_type("previous_response_id", "a string", previous_id)
    if previous_id is not None and body.get("conversation") is not None:
        raise APIError(
            400,
            "Mutually exclusive parameters: Ensure you are only providing one of: "
            "'previous_response_id' or 'conversation'.",
            None,
            "mutually_exclusive_parameters",
        )
    raw_input = body.get("input")
    if raw_input is None and previous_id is None:
        raise missing("input")
    items = read_input(raw_input) if raw_input is not None else []
    with state.lock:
        previous = None
        if previous_id is not None:
            previous = state.responses.get(previous_id)
            if previous is None:
                raise APIError(
                    404,
                    f"Previous response with id '{previous_id}' not found.",
                    "previous_response_id",
                    "previous_response_not_found",
                )
        prior = list(previous.context) if previous is not None else []
        prior_output = list(previous.current()["output"]) if previous is not None else []
        items = [_dereference(state, item, index) for index, item in enumerate(items)]
    check_calls(prior_output, items)
    return previous_id, prior, items


def _dereference(state: SimState, item: JSONDict, index: int) -> JSONDict:
    """An ``item_reference`` replaced by the stored item it names (the lock is held)."""
    if item.get("type") != "item_reference":
        return item
    for stored in state.responses.values():
        for candidate in stored.context:
            if candidate.get("id") == item["id"]:
                return dict(candidate)
    raise APIError(404, f"Item with id '{item['id']}' not found.", f"input[{index}].id")


def _with_ids(state: SimState, items: list[JSONDict]) -> list[JSONDict]:
    """Items as stored: each with an id (``msg_...`` for a message) first."""
    named: list[JSONDict] = []
    for item in items:
        if isinstance(item.get("id"), str):
            named.append(item)
            continue
        prefix = ID_PREFIXES.get(str(item.get("type")), "item")
        rest = {key: value for key, value in item.items() if key != "id"}
        named.append({"id": f"{prefix}_fake{state.next_number(prefix)}", **rest})
    return named


def _reply(
    state: SimState,
    reply: ScriptedReply,
    context: list[JSONDict],
    model: str,
    reasoning: JSONDict | None,
    text_param: JSONDict,
    max_output: int | None,
) -> tuple[list[Output], str, tuple[int, int]]:
    """The output items, the final status, and (output, reasoning) token counts."""
    status = reply.status
    outputs: list[Output] = []
    summary = reply.reasoning
    if summary is None and (reasoning or {}).get("summary") and _REASONING_MODEL.match(model):
        summary = "Thinking it over. " + echo_reply(as_messages(context))
    if summary is not None:
        item = reasoning_item(f"rs_fake{state.next_number('rs')}", summary)
        outputs.append(Output(item, split_words(summary)))
    refusal = reply.refusal
    text: str | None = None
    if refusal is not None:
        pieces = split_words(refusal)
    elif reply.chunks is not None:
        pieces = list(reply.chunks)
        text = "".join(pieces)
    elif reply.text is not None or not reply.tool_calls:
        text = reply.text
        if text is None:
            fmt = text_param["format"]
            json_schema = fmt["type"] == "json_schema"
            text = schema_text(fmt["schema"]) if json_schema else echo_reply(as_messages(context))
        pieces = split_words(text)
    else:
        pieces = []
    if max_output is not None and status == "completed" and len(pieces) > max_output:
        status = "incomplete"  # cut like a model that ran out of tokens
        pieces = pieces[:max_output]
        if refusal is not None:
            refusal = "".join(pieces)
        else:
            text = "".join(pieces)
    item_status = "completed" if status == "completed" else "incomplete"
    if text is not None or refusal is not None:
        item_id = f"msg_fake{state.next_number('msg')}"
        outputs.append(Output(message_item(item_id, text, refusal, item_status), pieces))
    for call in reply.tool_calls:
        call_id = call.id or f"call_{state.next_number('call')}"
        item = call_item(
            f"fc_fake{state.next_number('fc')}", call_id, call.name, call.arguments, item_status
        )
        outputs.append(Output(item, split_every(call.arguments, _ARGUMENT_PIECE)))
    reasoning_tokens = count_tokens(summary or "")
    output_tokens = sum(count_tokens(item_text(output.item)) for output in outputs)
    return outputs, status, (output_tokens, reasoning_tokens)


def _usage(input_tokens: int, output_tokens: int, reasoning_tokens: int) -> JSONDict:
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
        "total_tokens": input_tokens + output_tokens,
    }


def _stored(state: SimState, response_id: str) -> StoredResponse:
    stored = state.responses.get(response_id)
    if stored is None:
        raise APIError(404, f"Response with id '{response_id}' not found.", "response_id")
    return stored


def retrieve_response(
    state: SimState, request: RecordedRequest, params: dict[str, str]
) -> Response | StreamPlan:
    """The response as it stands; with ``stream=true`` the events of a background response
    after ``starting_after``, then live ones until its terminal event."""
    query = request.query
    with state.lock:
        stored = _stored(state, params["id"])
    if query.get("stream", "").lower() not in ("true", "1"):
        return Response.json(stored.current())
    job = stored.job
    if job is None:
        raise invalid(
            "stream",
            f"Response '{params['id']}' was not created with background=true: only background "
            "responses can be streamed again.",
            None,
        )
    raw = query.get("starting_after") or "-1"
    try:
        after = int(raw)
    except ValueError:
        raise invalid(
            "starting_after", f"Invalid 'starting_after': expected an integer, got '{raw}'."
        ) from None
    start = max(0, after + 1)
    events = job.events[start:]
    closing = max(0, len(job.events) - 1 - start)
    return StreamPlan(events, closing, None, error_events(start), job.release_from(start))


def delete_response(state: SimState, request: RecordedRequest, params: dict[str, str]) -> Response:
    response_id = params["id"]
    with state.lock:
        stored = _stored(state, response_id)
        del state.responses[response_id]
    if stored.job is not None:
        stored.job.cancel()
    return Response.json({"id": response_id, "object": "response", "deleted": True})


def cancel_response(state: SimState, request: RecordedRequest, params: dict[str, str]) -> Response:
    """Cancel a background response; one that already ended is returned as it is."""
    with state.lock:
        stored = _stored(state, params["id"])
    if stored.job is None:
        raise APIError(400, "Cannot cancel a synchronous response.")
    return Response.json(stored.job.cancel())


def list_input_items(state: SimState, request: RecordedRequest, params: dict[str, str]) -> Response:
    with state.lock:
        items = list(_stored(state, params["id"]).input_items)
    return Response.json(paginate(items, request.query, 20, 100, "desc"))


def count_input_tokens(
    state: SimState, request: RecordedRequest, params: dict[str, str]
) -> Response:
    body = json_object(request)
    instructions = _optional_str(body, "instructions")
    read_tools(body.get("tools"))
    read_text(body.get("text"))
    raw_input = body.get("input")
    _, prior, items = _context(state, {**body, "input": [] if raw_input is None else raw_input})
    tokens = context_tokens([*prior, *items], instructions)
    return Response.json({"object": "response.input_tokens", "input_tokens": tokens})


def compact_response(state: SimState, request: RecordedRequest, params: dict[str, str]) -> Response:
    """Keep the user messages, and fold the rest into one opaque ``compaction`` item."""
    body = json_object(request)
    model = required_model(body)
    instructions = _optional_str(body, "instructions")
    _, prior, items = _context(state, body)
    state.remember_model(model)
    context = [*prior, *_with_ids(state, items)]
    kept = [item for item in context if item.get("type") == "message" and item["role"] == "user"]
    summary = " | ".join(item_text(item) for item in context if item not in kept)
    encrypted = base64.b64encode(dump_json({"summary": summary})).decode()
    compaction = {
        "id": f"cmp_fake{state.next_number('cmp')}",
        "type": "compaction",
        "encrypted_content": encrypted,
    }
    usage = _usage(context_tokens(context, instructions), count_tokens(summary), 0)
    state.use_tokens(usage["total_tokens"])
    return Response.json(
        {
            "id": f"resp_fake{state.next_number('resp')}",
            "object": "response.compaction",
            "output": [*kept, compaction],
            "created_at": int(time.time()),
            "usage": usage,
        }
    )


def _flag(body: JSONDict, name: str, default: bool) -> bool:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise _wrong_type(name, "a boolean", value)
    return value


def _optional_str(body: JSONDict, name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise _wrong_type(name, "a string", value)
    return value


def _wrong_type(param: str, expected: str, value: Any) -> APIError:
    return invalid(
        param,
        f"Invalid type for '{param}': expected {expected}, but got {json_type(value)} instead.",
        "invalid_type",
    )
