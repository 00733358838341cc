"""The output items of a Responses reply, and the SSE events that stream a response.

Each event is ``event: <type>`` plus one JSON ``data:`` line with ``type`` and a
``sequence_number`` counting from 0; a stream ends with its terminal event
(``response.completed``, ``.failed`` or ``.incomplete``), never with ``[DONE]``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ._api import dump_json
from ._background import response_view
from ._content import JSONDict

_TERMINAL_EVENTS = {
    "completed": "response.completed",
    "failed": "response.failed",
    "incomplete": "response.incomplete",
}
STREAM_ERROR_MESSAGE = (
    "The server had an error while processing your request. Sorry about that! "
    "(simulated stream error)"
)


@dataclass(frozen=True)
class Output:
    """One output item as it ends, and the pieces its text (or arguments) streams in."""

    item: JSONDict
    pieces: list[str]


def message_item(item_id: str, text: str | None, refusal: str | None, status: str) -> JSONDict:
    """An assistant message: one ``output_text`` part, or a ``refusal`` part."""
    part: JSONDict
    if refusal is not None:
        part = {"type": "refusal", "refusal": refusal}
    else:
        part = {"type": "output_text", "annotations": [], "logprobs": [], "text": text or ""}
    return {
        "id": item_id,
        "type": "message",
        "status": status,
        "content": [part],
        "role": "assistant",
    }


def reasoning_item(item_id: str, summary: str) -> JSONDict:
    return {
        "id": item_id,
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": summary}],
    }


def call_item(item_id: str, call_id: str, name: str, arguments: str, status: str) -> JSONDict:
    return {
        "id": item_id,
        "type": "function_call",
        "status": status,
        "arguments": arguments,
        "call_id": call_id,
        "name": name,
    }


def sse(event: JSONDict) -> bytes:
    return b"event: " + str(event["type"]).encode() + b"\ndata: " + dump_json(event) + b"\n\n"


def error_event(sequence_number: int) -> bytes:
    """The stream-level ``error`` event (what the ``"error_event"`` stream fault sends)."""
    return sse(
        {
            "type": "error",
            "code": "server_error",
            "message": STREAM_ERROR_MESSAGE,
            "param": None,
            "sequence_number": sequence_number,
        }
    )


def error_events(start: int) -> Callable[[int], bytes]:
    """Error events numbered for a stream whose first event has sequence number ``start``."""
    return lambda index: error_event(start + index)


def stream_events(
    final: JSONDict, outputs: Sequence[Output], background: bool
) -> tuple[list[bytes], int]:
    """The events of a response, in OpenAI's order, and the index of ``response.in_progress``.

    A background response opens with ``response.created`` and ``response.queued`` (status
    ``queued``); any other with ``response.created`` (status ``in_progress``).
    """
    events: list[JSONDict] = []

    def add(kind: str, **fields: Any) -> None:
        events.append({"type": kind, **fields})

    in_progress = response_view(final, "in_progress")
    if background:
        queued = response_view(final, "queued")
        add("response.created", response=queued)
        add("response.queued", response=queued)
    else:
        add("response.created", response=in_progress)
    in_progress_at = len(events)
    add("response.in_progress", response=in_progress)
    for index, output in enumerate(outputs):
        events.extend(_item_events(index, output))
    add(_TERMINAL_EVENTS[final["status"]], response=final)
    for number, event in enumerate(events):
        event["sequence_number"] = number
    return [sse(event) for event in events], in_progress_at


def _item_events(output_index: int, output: Output) -> list[JSONDict]:
    item = output.item
    item_id = item["id"]
    at = {"item_id": item_id, "output_index": output_index}
    kind = item["type"]
    events: list[JSONDict] = []
    if kind == "reasoning":
        text = item["summary"][0]["text"]
        opening = dict(item, summary=[])
        part = {**at, "summary_index": 0}
        events.append(
            {"type": "response.output_item.added", "output_index": output_index, "item": opening}
        )
        events.append(
            {
                "type": "response.reasoning_summary_part.added",
                **part,
                "part": {"type": "summary_text", "text": ""},
            }
        )
        events.extend(
            {"type": "response.reasoning_summary_text.delta", **part, "delta": piece}
            for piece in output.pieces
        )
        events.append({"type": "response.reasoning_summary_text.done", **part, "text": text})
        events.append(
            {
                "type": "response.reasoning_summary_part.done",
                **part,
                "part": {"type": "summary_text", "text": text},
            }
        )
    elif kind == "function_call":
        opening = dict(item, status="in_progress", arguments="")
        events.append(
            {"type": "response.output_item.added", "output_index": output_index, "item": opening}
        )
        events.extend(
            {"type": "response.function_call_arguments.delta", **at, "delta": piece}
            for piece in output.pieces
        )
        events.append(
            {
                "type": "response.function_call_arguments.done",
                **at,
                "name": item["name"],
                "arguments": item["arguments"],
            }
        )
    else:
        opening = dict(item, status="in_progress", content=[])
        events.append(
            {"type": "response.output_item.added", "output_index": output_index, "item": opening}
        )
        events.extend(
            _content_events({**at, "content_index": 0}, item["content"][0], output.pieces)
        )
    events.append({"type": "response.output_item.done", "output_index": output_index, "item": item})
    return events


def _content_events(at: JSONDict, part: JSONDict, pieces: list[str]) -> list[JSONDict]:
    """The events of one message content part: added, deltas, done."""
    if part["type"] == "refusal":
        empty: JSONDict = {"type": "refusal", "refusal": ""}
        deltas = [{"type": "response.refusal.delta", **at, "delta": piece} for piece in pieces]
        done = {"type": "response.refusal.done", **at, "refusal": part["refusal"]}
    else:
        empty = dict(part, text="")
        deltas = [
            {"type": "response.output_text.delta", **at, "delta": piece, "logprobs": []}
            for piece in pieces
        ]
        done = {"type": "response.output_text.done", **at, "text": part["text"], "logprobs": []}
    return [
        {"type": "response.content_part.added", **at, "part": empty},
        *deltas,
        done,
        {"type": "response.content_part.done", **at, "part": part},
    ]
