"""Merge streamed chat-completion deltas into whole messages (4D ``_accumulateDelta``, fixed).

The 4D rules (strings concatenate, numbers add, dicts merge, tool calls merge by ``index``) are
kept, with the fixes its commit history and gotchas point at:

- ``role``, ``index`` and ``type`` are replaced, never concatenated (providers repeat ``role``
  in every delta, 4D ``d7f299a``).
- ``id`` and ``name`` (a tool call's id, ``function.name``) are not concatenated either: OpenAI
  sends them only in the first delta of a tool call, but some providers repeat them in every
  delta. The first non-empty value is kept; a different non-empty value replaces it.
- A later ``None`` never erases accumulated text.
- Merged tool calls keep their ``index`` (4D dropped it on later deltas).
- Items of a list that carry no numeric ``index`` (``logprobs.content``) are appended, not
  ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["ChoiceAccumulator", "merge_delta"]

_REPLACE_KEYS = frozenset({"index", "type", "role"})
_IDENTITY_KEYS = frozenset({"id", "name"})
_NOT_TEXT = _REPLACE_KEYS | _IDENTITY_KEYS
_LEAVES = frozenset({str, int, float, bool})
#: Chunks whose meta a `ChoiceAccumulator` with ``deferred_meta`` reads in one go.
_META_BATCH = 32
_META_KEYS = ("id", "object", "model", "created", "system_fingerprint", "service_tier")


def merge_delta(acc: dict[str, Any], delta: Mapping[str, Any] | None) -> dict[str, Any]:
    """Merge ``delta`` into ``acc`` in place and return ``acc``.

    Values taken from ``delta`` are copied, so later merges never write into the caller's
    chunk objects.
    """
    if delta:
        for key, value in delta.items():
            _merge_value(acc, key, value)
    return acc


def _merge_value(acc: dict[str, Any], key: str, value: Any) -> None:
    old = acc.get(key)
    if old is None:
        acc[key] = _copy(value)
    elif value is None:
        return  # a later null does not erase what was accumulated
    elif key in _REPLACE_KEYS:
        acc[key] = _copy(value)
    elif key in _IDENTITY_KEYS:
        if value != "":
            acc[key] = _copy(value)
    elif (isinstance(old, str) and isinstance(value, str)) or (
        _is_number(old) and _is_number(value)
    ):
        acc[key] = old + value  # text concatenates, numbers add
    elif isinstance(old, dict) and _is_mapping(value):
        merge_delta(old, value)
    elif isinstance(old, list) and isinstance(value, list):
        _merge_list(old, value)
    else:
        acc[key] = _copy(value)


def _merge_list(acc: list[Any], items: list[Any]) -> None:
    for item in items:
        if _is_mapping(item) and _is_int(item.get("index")):
            index = item["index"]
            for slot in acc:
                if isinstance(slot, dict) and slot.get("index") == index:
                    merge_delta(slot, item)
                    break
            else:
                acc.append(_copy(item))
        else:
            acc.append(_copy(item))


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_mapping(value: object) -> bool:
    """``isinstance(value, Mapping)``, with the usual ``dict`` answered before the slow ABC."""
    return type(value) is dict or isinstance(value, Mapping)


def _copy(value: Any) -> Any:
    """Copy JSON-shaped containers (much cheaper than ``copy.deepcopy``)."""
    kind = type(value)
    if value is None or kind in _LEAVES:  # answered before the slow ABC check
        return value
    if kind is dict or isinstance(value, Mapping):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


class _Choice:
    """One choice being accumulated.

    Top-level text fields (``content``, ``refusal``, ``reasoning_content``...) are collected as
    lists of pieces and joined on demand, so a long answer costs O(n) rather than the O(n²) of
    repeated string concatenation. Everything else goes through `merge_delta`; the result is
    exactly what `merge_delta` alone would produce.
    """

    __slots__ = ("finish_reason", "index", "logprobs", "message", "text")

    def __init__(self, index: int) -> None:
        self.index = index
        self.message: dict[str, Any] = {}
        self.text: dict[str, list[str]] = {}
        self.finish_reason: Any = None
        self.logprobs: dict[str, Any] | None = None

    def merge(self, delta: Mapping[str, Any]) -> None:
        text = self.text
        for key, value in delta.items():
            if type(value) is str and key not in _NOT_TEXT:
                parts = text.get(key)
                if parts is None:
                    # Replaces a None or non-string value, as merge_delta would.
                    text[key] = [value]
                    self.message[key] = None  # placeholder keeps the key order
                else:
                    parts.append(value)
            elif key in text:
                if value is not None:  # a non-string value replaces the text
                    del text[key]
                    self.message[key] = _copy(value)
            else:
                _merge_value(self.message, key, value)

    def snapshot(self) -> dict[str, Any]:
        merged = _copy(self.message)
        for key, parts in self.text.items():
            joined = "".join(parts)
            parts[:] = [joined]  # compact, so repeated snapshots stay cheap
            merged[key] = joined
        message: dict[str, Any] = {
            "role": merged.pop("role", None) or "assistant",
            "content": merged.pop("content", None),
        }
        tool_calls = merged.pop("tool_calls", None)
        message.update(merged)
        if isinstance(tool_calls, list):
            calls = _tool_calls(tool_calls)
            if calls:
                message["tool_calls"] = calls
        elif tool_calls is not None:
            message["tool_calls"] = tool_calls
        choice: dict[str, Any] = {
            "index": self.index,
            "message": message,
            "finish_reason": self.finish_reason,
        }
        if self.logprobs is not None:
            choice["logprobs"] = _copy(self.logprobs)
        return choice


def _tool_calls(calls: list[Any]) -> list[Any]:
    """Sort merged tool calls by index and give them the non-streamed shape (no ``index``)."""
    ordered = sorted(
        (c for c in calls if isinstance(c, dict)),
        key=lambda c: c["index"] if _is_int(c.get("index")) else 1 << 62,
    )
    out: list[Any] = []
    for call in ordered:
        call = {k: v for k, v in call.items() if k != "index"}
        if call.get("id") is None:
            call["id"] = ""
        if call.get("type") is None:
            call["type"] = "custom" if "custom" in call else "function"
        if call["type"] == "function":
            function = call.get("function")
            if not isinstance(function, dict):
                function = call["function"] = {}
            if function.get("name") is None:
                function["name"] = ""
            if function.get("arguments") is None:
                function["arguments"] = ""
        out.append(call)
    return out


class ChoiceAccumulator:
    """Fold a stream of ``chat.completion.chunk`` dicts into final choices.

    Handles ``n > 1`` (choices are keyed by their ``index``) and the usage-only chunk that
    ``stream_options.include_usage`` adds at the end (``"choices": []``).
    """

    __slots__ = ("_choices", "_last_finish_reason", "_meta", "_pending", "chunks", "usage")

    def __init__(self, *, deferred_meta: bool = False) -> None:
        """``deferred_meta``: the chunks are kept unchanged after `add` (a stream's parsed
        chunks, read-only results once handed out), so their meta keys are read a batch at a
        time, from the last chunk back, rather than six lookups per chunk."""
        self._choices: dict[int, _Choice] = {}
        self._last_finish_reason: Any = None
        self._meta: dict[str, Any] = {}
        self._pending: list[Mapping[str, Any]] | None = [] if deferred_meta else None
        self.chunks = 0
        """Number of chunks added."""
        self.usage: dict[str, Any] | None = None
        """The last non-null ``usage`` seen."""

    @property
    def meta(self) -> dict[str, Any]:
        """``id``, ``object``, ``model``, ``created``, ``system_fingerprint``, ``service_tier``:
        the last non-empty value of each (Azure's first chunk has ``id: ""``, ``model: ""``)."""
        if self._pending:
            self._fold_meta()
        return self._meta

    def add(self, chunk: Mapping[str, Any]) -> None:
        """Merge one parsed chunk.

        Raises:
            TypeError: ``chunk`` is not a JSON object (a malformed chunk).
        """
        if type(chunk) is not dict and not isinstance(chunk, Mapping):
            raise TypeError(f"chunk must be a JSON object, not {type(chunk).__name__}")
        self.chunks += 1
        get = chunk.get
        pending = self._pending
        if pending is None:
            meta = self._meta
            for key in _META_KEYS:
                value = get(key)
                if value is not None and value != "":
                    meta[key] = value
        else:
            pending.append(chunk)
            if len(pending) >= _META_BATCH:
                self._fold_meta()
        usage = get("usage")
        if usage is not None:
            self.usage = _copy(usage)
        choices = get("choices")
        if not isinstance(choices, list):
            return
        states = self._choices
        for raw in choices:
            if type(raw) is not dict and not isinstance(raw, Mapping):
                continue
            index = raw.get("index", 0)
            if type(index) is not int and not _is_int(index):
                index = 0
            state = states.get(index)
            if state is None:
                state = states[index] = _Choice(index)
            delta = raw.get("delta")
            if type(delta) is dict or (delta is not None and isinstance(delta, Mapping)):
                state.merge(delta)
            finish_reason = raw.get("finish_reason")
            if finish_reason is not None:
                state.finish_reason = finish_reason
                self._last_finish_reason = finish_reason
            logprobs = raw.get("logprobs")
            if logprobs is not None and _is_mapping(logprobs):
                if state.logprobs is None:
                    state.logprobs = {}
                merge_delta(state.logprobs, logprobs)

    def _fold_meta(self) -> None:
        """Leave in ``meta`` what `add` would have left there chunk by chunk: each key's last
        non-empty value, and keys new to ``meta`` inserted in the order they first appeared."""
        pending = self._pending
        if not pending:
            return
        meta = self._meta
        new: list[tuple[int, int, str, Any]] = []
        for rank, key in enumerate(_META_KEYS):
            for chunk in reversed(pending):
                value = chunk.get(key)
                if value is not None and value != "":
                    break
            else:
                continue
            if key in meta:
                meta[key] = value
            else:
                first = next(i for i, c in enumerate(pending) if c.get(key) not in (None, ""))
                new.append((first, rank, key, value))
        for _, _, key, value in sorted(new, key=lambda item: item[:2]):
            meta[key] = value
        pending.clear()

    def choices(self) -> list[dict[str, Any]]:
        """The accumulated choices, sorted by index: ``{"index", "message", "finish_reason"}``.

        ``message`` has ``role`` (default "assistant"), ``content`` (None if no text arrived)
        and, when any were streamed, ``tool_calls`` sorted by index. ``logprobs`` is present
        when the stream carried some. The dicts are fresh copies.
        """
        return [self._choices[i].snapshot() for i in sorted(self._choices)]

    @property
    def finish_reason(self) -> Any:
        """Choice 0's finish reason, else the last one seen (None while streaming)."""
        first = self._choices.get(0)
        if first is not None and first.finish_reason is not None:
            return first.finish_reason
        return self._last_finish_reason
