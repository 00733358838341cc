"""Delta accumulation: 4D's merge rules with its gotchas fixed, and whole-stream folding."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aikit._accumulate import ChoiceAccumulator, merge_delta


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, index: int = 0,
          **extra: Any) -> dict[str, Any]:  # fmt: skip
    choice: dict[str, Any] = {"index": index, "delta": delta or {}, "finish_reason": finish}
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "gpt-4o-mini",
        "choices": [choice],
        **extra,
    }


def fold(*chunks: dict[str, Any]) -> ChoiceAccumulator:
    acc = ChoiceAccumulator()
    for c in chunks:
        acc.add(c)
    return acc


# --- merge_delta -------------------------------------------------------------------------------


def test_strings_concatenate() -> None:
    acc: dict[str, Any] = {}
    for piece in ("Hel", "lo", "", " world"):
        merge_delta(acc, {"content": piece})
    assert acc == {"content": "Hello world"}


def test_merge_returns_and_mutates_acc() -> None:
    acc: dict[str, Any] = {"content": "a"}
    assert merge_delta(acc, {"content": "b"}) is acc
    assert merge_delta(acc, None) is acc == {"content": "ab"}


def test_role_index_type_are_replaced() -> None:
    acc: dict[str, Any] = {}
    for _ in range(3):
        merge_delta(acc, {"role": "assistant", "index": 0, "type": "function"})
    assert acc == {"role": "assistant", "index": 0, "type": "function"}


def test_id_and_name_are_not_concatenated() -> None:
    acc: dict[str, Any] = {}
    merge_delta(acc, {"id": "call_1", "function": {"name": "get", "arguments": "{"}})
    merge_delta(acc, {"id": "call_1", "function": {"name": "get", "arguments": "}"}})
    merge_delta(acc, {"id": "", "function": {"name": "", "arguments": ""}})
    assert acc == {"id": "call_1", "function": {"name": "get", "arguments": "{}"}}
    merge_delta(acc, {"id": "call_2"})  # a different non-empty value replaces
    assert acc["id"] == "call_2"


def test_numbers_add_but_bools_replace() -> None:
    acc: dict[str, Any] = {"n": 1, "x": 0.5, "flag": True}
    merge_delta(acc, {"n": 2, "x": 0.25, "flag": False})
    assert acc == {"n": 3, "x": 0.75, "flag": False}


def test_later_none_does_not_erase_text() -> None:
    acc: dict[str, Any] = {}
    merge_delta(acc, {"content": "kept", "refusal": None})
    merge_delta(acc, {"content": None, "refusal": None})
    assert acc == {"content": "kept", "refusal": None}
    merge_delta(acc, {"refusal": "no"})
    assert acc["refusal"] == "no"


def test_dicts_merge_recursively() -> None:
    acc: dict[str, Any] = {}
    merge_delta(acc, {"audio": {"id": "a1", "data": "AAA", "transcript": "he"}})
    merge_delta(acc, {"audio": {"data": "BBB", "transcript": "llo"}})
    assert acc == {"audio": {"id": "a1", "data": "AAABBB", "transcript": "hello"}}


def test_lists_of_scalars_extend_and_unindexed_dicts_append() -> None:
    acc: dict[str, Any] = {"tags": ["a"], "content": [{"token": "x"}]}
    merge_delta(acc, {"tags": ["b", 1], "content": [{"token": "y"}]})
    assert acc == {"tags": ["a", "b", 1], "content": [{"token": "x"}, {"token": "y"}]}


def test_tool_calls_merge_by_index_and_keep_index() -> None:
    acc: dict[str, Any] = {}
    merge_delta(acc, {"tool_calls": [{"index": 1, "id": "c1", "function": {"arguments": "["}}]})
    merge_delta(acc, {"tool_calls": [{"index": 0, "id": "c0", "function": {"arguments": "{"}}]})
    merge_delta(acc, {"tool_calls": [{"index": 1, "function": {"arguments": "]"}}]})
    merge_delta(acc, {"tool_calls": [{"index": 0, "function": {"arguments": "}"}}]})
    assert acc["tool_calls"] == [
        {"index": 1, "id": "c1", "function": {"arguments": "[]"}},
        {"index": 0, "id": "c0", "function": {"arguments": "{}"}},
    ]


def test_type_mismatch_replaces() -> None:
    acc: dict[str, Any] = {"content": "text"}
    merge_delta(acc, {"content": [{"type": "text", "text": "parts"}]})
    assert acc == {"content": [{"type": "text", "text": "parts"}]}


def test_merge_never_aliases_the_delta() -> None:
    delta: dict[str, Any] = {"tool_calls": [{"index": 0, "function": {"arguments": "a"}}]}
    acc: dict[str, Any] = {}
    merge_delta(acc, delta)
    merge_delta(acc, {"tool_calls": [{"index": 0, "function": {"arguments": "b"}}]})
    assert delta == {"tool_calls": [{"index": 0, "function": {"arguments": "a"}}]}


# --- ChoiceAccumulator -----------------------------------------------------------------------


def test_text_stream() -> None:
    acc = fold(
        chunk({"role": "assistant", "content": "", "refusal": None}),
        chunk({"content": "Hello"}),
        chunk({"content": ", world"}),
        chunk({}, finish="stop"),
    )
    assert acc.choices() == [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hello, world", "refusal": None},
            "finish_reason": "stop",
        }
    ]
    assert acc.finish_reason == "stop"
    assert acc.meta == {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "gpt-4o-mini",
    }
    assert acc.usage is None
    assert acc.chunks == 4


def test_empty_content_is_kept_and_missing_role_defaults() -> None:
    assert fold(chunk({"content": ""}, finish="stop")).choices()[0]["message"] == {
        "role": "assistant",
        "content": "",
    }
    assert fold(chunk({}, finish="length")).choices()[0]["message"] == {
        "role": "assistant",
        "content": None,
    }


def tool_delta(index: int, arguments: str, id: str | None = None, name: str | None = None
               ) -> dict[str, Any]:  # fmt: skip
    call: dict[str, Any] = {"index": index, "function": {"arguments": arguments}}
    if id is not None:
        call.update(id=id, type="function")
    if name is not None:
        call["function"]["name"] = name
    return {"tool_calls": [call]}


def test_tool_calls_split_over_many_deltas() -> None:
    args0 = json.dumps({"city": "Paris", "unit": "celsius"})
    args1 = json.dumps({"q": "caf\u00e9 \u2603"})
    chunks = [chunk({"role": "assistant", "content": None})]
    chunks.append(chunk(tool_delta(0, "", id="call_a", name="weather")))
    chunks += [chunk(tool_delta(0, args0[i : i + 3])) for i in range(0, len(args0), 3)]
    chunks.append(chunk(tool_delta(1, "", id="call_b", name="search")))
    chunks += [chunk(tool_delta(1, ch)) for ch in args1]
    chunks.append(chunk({}, finish="tool_calls"))
    (choice,) = fold(*chunks).choices()
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "call_a", "type": "function",
             "function": {"name": "weather", "arguments": args0}},
            {"id": "call_b", "type": "function",
             "function": {"name": "search", "arguments": args1}},
        ],
    }  # fmt: skip


def test_provider_repeating_role_id_name_in_every_delta() -> None:
    args = '{"a": 1}'
    chunks = [
        chunk({"role": "assistant", "content": "", **tool_delta(0, ch, id="call_x", name="fn")})
        for ch in args
    ]
    chunks.append(chunk({"role": "assistant"}, finish="tool_calls"))
    message = fold(*chunks).choices()[0]["message"]
    assert message["role"] == "assistant"
    assert message["content"] == ""
    assert message["tool_calls"] == [
        {"id": "call_x", "type": "function", "function": {"name": "fn", "arguments": args}}
    ]


def test_tool_calls_sorted_by_index_and_defaults_filled() -> None:
    acc = fold(
        chunk({"tool_calls": [{"index": 1, "function": {"arguments": "{}"}}]}),
        chunk({"tool_calls": [{"index": 0, "id": "c0", "function": {"name": "f"}}]}),
    )
    assert acc.choices()[0]["message"]["tool_calls"] == [
        {"id": "c0", "type": "function", "function": {"name": "f", "arguments": ""}},
        {"id": "", "type": "function", "function": {"name": "", "arguments": "{}"}},
    ]


def test_custom_tool_call_keeps_its_shape() -> None:
    acc = fold(
        chunk({"tool_calls": [{"index": 0, "id": "c", "type": "custom",
                               "custom": {"name": "sql", "input": "SELE"}}]}),
        chunk({"tool_calls": [{"index": 0, "custom": {"input": "CT 1"}}]}),
    )  # fmt: skip
    assert acc.choices()[0]["message"]["tool_calls"] == [
        {"id": "c", "type": "custom", "custom": {"name": "sql", "input": "SELECT 1"}}
    ]


def test_usage_chunk_with_empty_choices() -> None:
    usage = {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}
    acc = fold(
        chunk({"role": "assistant", "content": "Hi"}, usage=None),
        chunk({}, finish="stop", usage=None),
        {"id": "chatcmpl-1", "choices": [], "usage": usage, "system_fingerprint": "fp_1"},
    )
    assert acc.usage == usage
    assert acc.finish_reason == "stop"
    assert acc.meta["system_fingerprint"] == "fp_1"
    assert acc.choices() == [
        {"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}
    ]


def test_meta_skips_empty_values() -> None:
    # Azure's first chunk carries prompt_filter_results with empty id and model.
    acc = fold(
        {"id": "", "model": "", "created": 0, "choices": [], "prompt_filter_results": []},
        chunk({"content": "x"}),
    )
    assert acc.meta["id"] == "chatcmpl-1"
    assert acc.meta["model"] == "gpt-4o-mini"
    assert acc.meta["created"] == 1700000000


def test_n_equals_two_interleaved() -> None:
    acc = fold(
        chunk({"role": "assistant", "content": "A"}, index=1),
        chunk({"role": "assistant", "content": "B"}, index=0),
        chunk({"content": "a"}, index=1),
        chunk({"content": "b"}, index=0),
        chunk({}, finish="length", index=1),
        chunk({}, finish="stop", index=0),
    )
    choices = acc.choices()
    assert [(c["index"], c["message"]["content"], c["finish_reason"]) for c in choices] == [
        (0, "Bb", "stop"),
        (1, "Aa", "length"),
    ]
    assert acc.finish_reason == "stop"


def test_logprobs_accumulate() -> None:
    acc = fold(
        {"choices": [{"index": 0, "delta": {"content": "a"},
                      "logprobs": {"content": [{"token": "a", "logprob": -0.1}]}}]},
        {"choices": [{"index": 0, "delta": {"content": "b"},
                      "logprobs": {"content": [{"token": "b", "logprob": -0.2}]}}]},
    )  # fmt: skip
    assert acc.choices()[0]["logprobs"] == {
        "content": [{"token": "a", "logprob": -0.1}, {"token": "b", "logprob": -0.2}]
    }


def test_snapshots_are_independent_copies() -> None:
    acc = fold(chunk({"content": "a", "tool_calls": [{"index": 0, "function": {"name": "f"}}]}))
    first = acc.choices()
    first[0]["message"]["tool_calls"][0]["function"]["name"] = "mutated"
    acc.add(chunk({"content": "b"}))
    second = acc.choices()
    assert first[0]["message"]["content"] == "a"
    assert second[0]["message"]["content"] == "ab"
    assert second[0]["message"]["tool_calls"][0]["function"]["name"] == "f"


def test_text_then_non_text_value_replaces_like_merge_delta() -> None:
    acc = fold(chunk({"content": "abc"}), chunk({"content": None}))
    assert acc.choices()[0]["message"]["content"] == "abc"
    acc.add(chunk({"content": [{"type": "text", "text": "x"}]}))
    assert acc.choices()[0]["message"]["content"] == [{"type": "text", "text": "x"}]
    acc.add(chunk({"content": "y"}))
    assert acc.choices()[0]["message"]["content"] == "y"


def test_non_object_chunk_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="chunk"):
        ChoiceAccumulator().add([])  # type: ignore[arg-type]


def test_malformed_choices_are_ignored() -> None:
    acc = fold({"choices": None}, {"choices": ["x", {"index": "0", "delta": "no"}]})
    assert acc.choices() == [
        {"index": 0, "message": {"role": "assistant", "content": None}, "finish_reason": None}
    ]


json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=3))
delta_values = st.recursive(
    json_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["a", "b", "index", "id", "content"]), inner, max_size=3),
    ),
    max_leaves=8,
)
deltas = st.dictionaries(
    st.sampled_from(["role", "content", "refusal", "reasoning", "tool_calls", "name", "x"]),
    delta_values,
    max_size=4,
)


@settings(max_examples=150, deadline=None)
@given(st.lists(deltas, max_size=8))
def test_accumulator_message_equals_plain_merge(stream: list[dict[str, Any]]) -> None:
    """The text fast path of ChoiceAccumulator gives exactly what merge_delta gives."""
    expected: dict[str, Any] = {}
    acc = ChoiceAccumulator()
    for i, delta in enumerate(stream):
        merge_delta(expected, delta)
        acc.add({"choices": [{"index": 0, "delta": delta}]})
        if i % 3 == 0:
            acc.choices()  # snapshots in the middle must not disturb the result
    if not stream:
        return
    message = acc.choices()[0]["message"]
    tool_calls = expected.pop("tool_calls", None)
    if isinstance(tool_calls, list):
        dicts = [t for t in tool_calls if isinstance(t, dict)]
        assert len(message.pop("tool_calls", [])) == len(dicts)
    else:
        assert message.pop("tool_calls", None) == tool_calls
    assert message.pop("role") == (expected.pop("role", None) or "assistant")
    assert message.pop("content") == expected.pop("content", None)
    assert message == expected
