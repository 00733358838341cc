"""The running snapshot of a streamed response, built from its events.

The I/O thread adds events while the owner may read a snapshot (``stream_result.snapshot``) on
its own thread: both go through one lock, and a snapshot is a copy, so neither sees the other
half-done. Events the snapshot does not need (tool progress, audio) only advance nothing.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Mapping
from typing import Any

__all__ = ["ResponsesAccumulator"]

_LIFECYCLE = frozenset({
    "response.created", "response.queued", "response.in_progress", "response.completed",
    "response.failed", "response.incomplete",
})


class ResponsesAccumulator:
    """``add(event)`` for each event in order; ``snapshot()`` is the response so far."""

    __slots__ = ("_lock", "_response")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._response: dict[str, Any] = {}

    def add(self, event: Mapping[str, Any]) -> None:
        """Fold one event in; a malformed one (a wrong index, a missing item) is skipped."""
        kind = event.get("type")
        with self._lock:
            try:
                if kind in _LIFECYCLE:
                    self._lifecycle(event)
                elif kind == "response.output_text.delta":
                    part = self._part(event)
                    if part is not None:
                        part["text"] = (part.get("text") or "") + _text(event.get("delta"))
                elif kind == "response.function_call_arguments.delta":
                    item = self._item(event)
                    if item is not None:
                        item["arguments"] = (item.get("arguments") or "") + _text(
                            event.get("delta"))
                else:
                    self._other(kind, event)
            except (TypeError, KeyError, IndexError, AttributeError):
                pass  # an event out of shape changes nothing; the final response still will

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self._response)

    # -- folding ------------------------------------------------------------------------------
    def _lifecycle(self, event: Mapping[str, Any]) -> None:
        response = event.get("response")
        if not isinstance(response, Mapping):
            return
        if event.get("type") in ("response.completed", "response.failed",
                                 "response.incomplete") or not self._response:
            self._response = copy.deepcopy(dict(response))
        else:  # a status change: keep the output accumulated so far
            output = self._response.get("output")
            self._response = copy.deepcopy(dict(response))
            if output:
                self._response["output"] = output

    def _output(self) -> list[Any]:
        output = self._response.setdefault("output", [])
        if not isinstance(output, list):
            output = self._response["output"] = []
        return output

    def _item(self, event: Mapping[str, Any]) -> dict[str, Any] | None:
        index = event.get("output_index")
        output = self._output()
        if isinstance(index, int) and 0 <= index < len(output) and isinstance(output[index], dict):
            item: dict[str, Any] = output[index]
            return item
        return None

    def _part(self, event: Mapping[str, Any], key: str = "content") -> dict[str, Any] | None:
        item = self._item(event)
        index = event.get("content_index" if key == "content" else "summary_index")
        if item is None or not isinstance(index, int):
            return None
        parts = item.setdefault(key, [])
        while len(parts) <= index:
            parts.append({"type": "output_text" if key == "content" else "summary_text",
                          "text": ""})
        part: dict[str, Any] = parts[index]
        return part

    def _other(self, kind: object, event: Mapping[str, Any]) -> None:
        if kind in ("response.output_item.added", "response.output_item.done"):
            index, item = event.get("output_index"), event.get("item")
            if isinstance(index, int) and index >= 0 and isinstance(item, Mapping):
                output = self._output()
                while len(output) <= index:
                    output.append({})
                output[index] = copy.deepcopy(dict(item))
        elif kind in ("response.content_part.added", "response.content_part.done"):
            part = self._part(event)
            if part is not None and isinstance(event.get("part"), Mapping):
                part.clear()
                part.update(copy.deepcopy(dict(event["part"])))
        elif kind == "response.output_text.done":
            part = self._part(event)
            if part is not None:
                part["text"] = _text(event.get("text"))
        elif kind == "response.refusal.delta":
            part = self._part(event)
            if part is not None:
                part["type"] = "refusal"
                part.pop("text", None)
                part["refusal"] = (part.get("refusal") or "") + _text(event.get("delta"))
        elif kind == "response.refusal.done":
            part = self._part(event)
            if part is not None:
                part.update({"type": "refusal", "refusal": _text(event.get("refusal"))})
        elif kind == "response.function_call_arguments.done":
            item = self._item(event)
            if item is not None:
                item["arguments"] = _text(event.get("arguments"))
        elif kind in ("response.reasoning_summary_part.added",
                      "response.reasoning_summary_part.done"):
            part = self._part(event, "summary")
            if part is not None and isinstance(event.get("part"), Mapping):
                part.update(copy.deepcopy(dict(event["part"])))
        elif kind == "response.reasoning_summary_text.delta":
            part = self._part(event, "summary")
            if part is not None:
                part["text"] = (part.get("text") or "") + _text(event.get("delta"))
        elif kind == "response.reasoning_summary_text.done":
            part = self._part(event, "summary")
            if part is not None:
                part["text"] = _text(event.get("text"))


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
