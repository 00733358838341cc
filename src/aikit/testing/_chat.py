"""Chat completions: create (whole or streamed), and the stored-completion endpoints.

The reply is a scripted one (``reply_next``), a JSON instance of a ``json_schema`` response
format, or an echo of the conversation; a stream carries the same reply cut into OpenAI's chunk
sequence, so a test can compare both forms.
"""

from __future__ import annotations

import json
import time
from typing import Any

from ._api import (
    APIError,
    Response,
    StreamPlan,
    dump_json,
    int_param,
    invalid,
    json_object,
    json_type,
    missing,
    paginate,
    required_model,
)
from ._content import JSONDict, content_text, count_tokens, echo_reply, split_every, split_words
from ._faults import DONE_EVENT
from ._records import RecordedRequest
from ._schema_instance import schema_text
from ._state import SimState, StoredCompletion

_FINGERPRINT = "fp_aikit_fake"
_ROLES = ("system", "developer", "user", "assistant", "tool", "function")
_ARGUMENT_PIECE = 5


def create_chat_completion(
    state: SimState, request: RecordedRequest, params: dict[str, str]
) -> Response | StreamPlan:
    body = json_object(request)
    model = required_model(body)
    messages = body.get("messages")
    if messages is None:
        raise missing("messages")
    if not isinstance(messages, list):
        raise invalid(
            "messages",
            f"Invalid type for 'messages': expected an array, but got {json_type(messages)}.",
            "invalid_type",
        )
    if not messages:
        raise invalid(
            "messages",
            "Invalid 'messages': empty array. Expected an array with minimum length 1, "
            "but got an empty array instead.",
            "empty_array",
        )
    _validate_messages(messages)
    n = int_param(body.get("n"), "n", 1, 1, 128)
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise invalid("stream", "Invalid type for 'stream': expected a boolean.", "invalid_type")
    stream_options = body.get("stream_options")
    if stream_options is not None and not stream:
        raise invalid(
            "stream_options",
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            None,
        )
    tools = body.get("tools")
    if tools is not None and (not isinstance(tools, list) or not tools):
        raise invalid(
            "tools",
            "Invalid 'tools': empty array. Expected an array with minimum length 1, "
            "but got an empty array instead.",
            "empty_array",
        )
    metadata = body.get("metadata")
    if metadata is not None and (
        not isinstance(metadata, dict)
        or not all(isinstance(value, str) for value in metadata.values())
    ):
        raise invalid("metadata", "Invalid 'metadata': expected an object of strings.")
    state.remember_model(model)

    reply = state.take_reply()
    completion_id = f"chatcmpl-fake{state.next_number('chatcmpl')}"
    created = int(time.time())
    schema = _json_schema(body.get("response_format"))
    if reply.refusal is not None:
        content: str | None = None
    elif reply.text is not None:
        content = reply.text
    elif reply.chunks is not None:
        content = "".join(reply.chunks)
    elif reply.tool_calls:
        content = None
    elif schema is not None:
        content = schema_text(schema)
    else:
        content = echo_reply(messages)
    tool_calls = [
        {
            "id": call.id or f"call_{state.next_number('call')}",
            "type": "function",
            "function": {"name": call.name, "arguments": call.arguments},
        }
        for call in reply.tool_calls
    ]
    finish_reason = reply.finish_reason or ("tool_calls" if tool_calls else "stop")
    message: JSONDict = {"role": "assistant", "content": content, "refusal": reply.refusal}
    if tool_calls:
        message["tool_calls"] = tool_calls
    message["annotations"] = []

    if reply.usage is not None:
        usage = dict(reply.usage)
    else:
        prompt_tokens = sum(count_tokens(content_text(m.get("content"))) for m in messages)
        per_choice = count_tokens(content or reply.refusal or "") + sum(
            count_tokens(call.name) + count_tokens(call.arguments) for call in reply.tool_calls
        )
        usage = _usage(prompt_tokens, per_choice * n)
    total = usage.get("total_tokens")
    state.use_tokens(total if isinstance(total, int) else 0)

    completion: JSONDict = {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": index,
                "message": json.loads(dump_json(message)),
                "logprobs": None,
                "finish_reason": finish_reason,
            }
            for index in range(n)
        ],
        "usage": usage,
        "service_tier": "default",
        "system_fingerprint": _FINGERPRINT,
    }
    if body.get("store") is True:
        completion["metadata"] = dict(metadata or {})
        stored_messages = [
            dict(m, id=f"{completion_id}-{index}") for index, m in enumerate(messages)
        ]
        with state.lock:
            state.completions[completion_id] = StoredCompletion(
                json.loads(dump_json(completion)), json.loads(dump_json(stored_messages))
            )
    if not stream:
        return Response.json(completion)

    include_usage = isinstance(stream_options, dict) and stream_options.get("include_usage")
    if reply.refusal is not None:
        pieces = split_words(reply.refusal)
    elif reply.chunks is not None:
        pieces = list(reply.chunks)
    else:
        pieces = split_words(content or "")
    return _stream_plan(
        completion, pieces, content, reply.refusal, tool_calls, finish_reason, bool(include_usage)
    )


def list_chat_completions(
    state: SimState, request: RecordedRequest, params: dict[str, str]
) -> Response:
    query = request.query
    filters = {
        key[len("metadata[") : -1]: value
        for key, value in query.items()
        if key.startswith("metadata[") and key.endswith("]")
    }
    model = query.get("model")
    with state.lock:
        items = [
            stored.completion
            for stored in state.completions.values()
            if (not model or stored.completion["model"] == model)
            and all(stored.completion.get("metadata", {}).get(k) == v for k, v in filters.items())
        ]
        return Response.json(paginate(items, query, 20, 100, "asc"))


def _stored_completion(state: SimState, completion_id: str) -> StoredCompletion:
    stored = state.completions.get(completion_id)
    if stored is None:
        raise APIError(404, f"No chat completion found with id '{completion_id}'.", "completion_id")
    return stored


def retrieve_chat_completion(
    state: SimState, request: RecordedRequest, params: dict[str, str]
) -> Response:
    with state.lock:
        return Response.json(_stored_completion(state, params["id"]).completion)


def update_chat_completion(
    state: SimState, request: RecordedRequest, params: dict[str, str]
) -> Response:
    body = json_object(request)
    metadata = body.get("metadata")
    if "metadata" not in body:
        raise missing("metadata")
    if metadata is not None and (
        not isinstance(metadata, dict)
        or not all(isinstance(value, str) for value in metadata.values())
    ):
        raise invalid("metadata", "Invalid 'metadata': expected an object of strings.")
    with state.lock:
        stored = _stored_completion(state, params["id"])
        stored.completion["metadata"] = dict(metadata or {})
        return Response.json(stored.completion)


def delete_chat_completion(
    state: SimState, request: RecordedRequest, params: dict[str, str]
) -> Response:
    completion_id = params["id"]
    with state.lock:
        _stored_completion(state, completion_id)
        del state.completions[completion_id]
    return Response.json(
        {"object": "chat.completion.deleted", "id": completion_id, "deleted": True}
    )


def list_chat_messages(
    state: SimState, request: RecordedRequest, params: dict[str, str]
) -> Response:
    with state.lock:
        stored = _stored_completion(state, params["id"])
        items = []
        for message in stored.messages:
            content = message.get("content")
            item = dict(message)
            item["content"] = content if isinstance(content, str) else None
            item["content_parts"] = content if isinstance(content, list) else None
            item.setdefault("name", None)
            items.append(item)
    return Response.json(paginate(items, request.query, 20, 100, "asc"))


def _usage(prompt_tokens: int, completion_tokens: int) -> JSONDict:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _validate_messages(messages: list[Any]) -> None:
    """The checks OpenAI makes that catch client bugs: roles, and tool calls paired up."""
    pending: dict[str, int] = {}
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise invalid(
                f"messages[{index}]",
                f"Invalid type for 'messages[{index}]': expected an object, but got "
                f"{json_type(message)} instead.",
                "invalid_type",
            )
        role = message.get("role")
        if role not in _ROLES:
            supported = ", ".join(f"'{r}'" for r in _ROLES)
            raise invalid(
                f"messages[{index}].role",
                f"Invalid value: '{role}'. Supported values are: {supported}.",
            )
        if role == "tool":
            call_id = message.get("tool_call_id")
            if not isinstance(call_id, str):
                raise missing(f"messages[{index}].tool_call_id")
            if call_id not in pending:
                if pending:
                    text = (
                        f"Invalid parameter: 'tool_call_id' of '{call_id}' not found in "
                        "'tool_calls' of previous message."
                    )
                else:
                    text = (
                        "Invalid parameter: messages with role 'tool' must be a response to a "
                        "preceeding message with 'tool_calls'."
                    )
                raise invalid(f"messages.[{index}].tool_call_id", text, None)
            del pending[call_id]
            continue
        _check_answered(pending)
        if role == "assistant" and isinstance(message.get("tool_calls"), list):
            for call in message["tool_calls"]:
                if isinstance(call, dict) and isinstance(call.get("id"), str):
                    pending[call["id"]] = index
    _check_answered(pending)


def _check_answered(pending: dict[str, int]) -> None:
    if pending:
        index = next(iter(pending.values()))
        raise invalid(
            f"messages.[{index}].role",
            "An assistant message with 'tool_calls' must be followed by tool messages "
            "responding to each 'tool_call_id'. The following tool_call_ids did not have "
            f"response messages: {', '.join(pending)}",
            None,
        )


def _json_schema(response_format: Any) -> Any:
    """The schema of a ``json_schema`` response format, else None."""
    if isinstance(response_format, dict) and response_format.get("type") == "json_schema":
        json_schema = response_format.get("json_schema")
        if isinstance(json_schema, dict) and isinstance(json_schema.get("schema"), dict):
            return json_schema["schema"]
    return None


def _stream_plan(
    completion: JSONDict,
    pieces: list[str],
    content: str | None,
    refusal: str | None,
    tool_calls: list[JSONDict],
    finish_reason: str,
    include_usage: bool,
) -> StreamPlan:
    """The SSE events of a streamed completion, in OpenAI's order (``[DONE]`` follows them)."""
    head = {
        "id": completion["id"],
        "object": "chat.completion.chunk",
        "created": completion["created"],
        "model": completion["model"],
        "service_tier": "default",
        "system_fingerprint": _FINGERPRINT,
    }

    def event(choices: list[JSONDict], usage: JSONDict | None = None) -> bytes:
        chunk = dict(head, choices=choices)
        if include_usage:
            chunk["usage"] = usage
        return b"data: " + dump_json(chunk) + b"\n\n"

    def delta(index: int, value: JSONDict, finish: str | None = None) -> list[JSONDict]:
        return [{"index": index, "delta": value, "logprobs": None, "finish_reason": finish}]

    events: list[bytes] = []
    closing: int | None = None
    key = "refusal" if refusal is not None else "content"
    for index in range(len(completion["choices"])):
        opening: JSONDict = {"role": "assistant", "content": "" if content is not None else None}
        if refusal is not None:
            opening["refusal"] = ""
        events.append(event(delta(index, opening)))
        events.extend(event(delta(index, {key: piece})) for piece in pieces)
        for position, call in enumerate(tool_calls):
            function = call["function"]
            call_opening = {
                "index": position,
                "id": call["id"],
                "type": "function",
                "function": {"name": function["name"], "arguments": ""},
            }
            events.append(event(delta(index, {"tool_calls": [call_opening]})))
            for piece in split_every(function["arguments"], _ARGUMENT_PIECE):
                part = {"index": position, "function": {"arguments": piece}}
                events.append(event(delta(index, {"tool_calls": [part]})))
        if closing is None:
            closing = len(events)
        events.append(event(delta(index, {}, finish_reason)))
    if include_usage:
        events.append(event([], completion["usage"]))
    return StreamPlan(events, len(events) if closing is None else closing, DONE_EVENT)
