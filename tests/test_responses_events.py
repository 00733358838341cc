"""The generated Responses stream events (``aikit.types._events``) follow OpenAI's spec.

The spec is read here with its own small ``$ref``/``allOf`` walk, not the generator's code, so a
bug in ``tools/gen_types.py`` cannot vouch for itself. ``--check`` is run by test_types_spec.py.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import pytest
import yaml

from aikit.types import _events
from aikit.types._events import EVENT_CLASSES, OpenAIResponsesEvent, event_from_api

SPEC_PATH = Path(__file__).resolve().parent / "prism" / "openai-openapi.aikit-v2.prism.yaml"
#: Fields of every event, declared on the base class, not on each event class.
BASE_FIELDS = {"type", "sequence_number"}
#: Attributes of ``Record`` itself: the 4D ``data`` argument and ``extra``.
RECORD_FIELDS = {"_data", "extra"}


@functools.cache
def spec() -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with SPEC_PATH.open(encoding="utf-8") as stream:
        doc: dict[str, Any] = yaml.load(stream, Loader=loader)
    return doc


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    """Follow local ``$ref`` pointers (``#/components/...``) until a real node."""
    while "$ref" in node:
        target: Any = spec()
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def properties(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Properties of an object schema, ``allOf`` parts merged."""
    schema = resolve(schema)
    found: dict[str, dict[str, Any]] = {}
    for part in schema.get("allOf", []):
        found.update(properties(part))
    found.update(schema.get("properties", {}))
    return found


@functools.cache
def stream_events() -> dict[str, tuple[str, frozenset[str]]]:
    """Event type -> (schema name, property names) for each schema of ``ResponseStreamEvent``."""
    union = spec()["components"]["schemas"]["ResponseStreamEvent"]
    refs = union.get("anyOf") or union["oneOf"]
    found: dict[str, tuple[str, frozenset[str]]] = {}
    for ref in refs:
        props = properties(ref)
        (kind,) = resolve(props["type"])["enum"]
        assert kind not in found, f"two schemas for the event type {kind}"
        found[kind] = (ref["$ref"].rsplit("/", 1)[-1], frozenset(props))
    assert len(found) == len(refs)
    return found


EVENT_TYPES = sorted(stream_events())


def own_fields(cls: type) -> set[str]:
    """The attrs fields a class adds to the base event (and to ``Record``)."""
    return set(attrs.fields_dict(cls)) - BASE_FIELDS - RECORD_FIELDS


def test_every_spec_event_type_has_a_class() -> None:
    assert set(EVENT_CLASSES) == set(stream_events())
    assert len({id(cls) for cls in EVENT_CLASSES.values()}) == len(EVENT_CLASSES)


@pytest.mark.parametrize("kind", EVENT_TYPES)
def test_event_class_matches_its_schema(kind: str) -> None:
    schema_name, props = stream_events()[kind]
    cls = EVENT_CLASSES[kind]
    assert cls.__name__ == schema_name
    assert getattr(_events, schema_name) is cls
    assert issubclass(cls, OpenAIResponsesEvent) and cls is not OpenAIResponsesEvent
    assert kind == cls.TYPE
    assert own_fields(cls) == set(props) - BASE_FIELDS
    for field in attrs.fields(cls):
        if field.name not in RECORD_FIELDS | {"type"}:
            assert field.default is None, f"{schema_name}.{field.name} should default to None"
        assert field.validator is None, f"{schema_name}.{field.name} has a validator"


def test_base_event_fields() -> None:
    assert set(attrs.fields_dict(OpenAIResponsesEvent)) == BASE_FIELDS | RECORD_FIELDS
    event = OpenAIResponsesEvent()
    assert (event.type, event.sequence_number, event.extra) == ("", None, {})


def test_module_exports() -> None:
    expected = {"OpenAIResponsesEvent", "EVENT_CLASSES", "event_from_api"}
    expected |= {name for name, _ in stream_events().values()}
    assert set(_events.__all__) == expected
    assert _events.__all__ == sorted(_events.__all__)


@pytest.mark.parametrize("kind", EVENT_TYPES)
def test_event_from_api_builds_each_type(kind: str) -> None:
    schema_name, props = stream_events()[kind]
    sample: dict[str, Any] = dict.fromkeys(props)
    sample.update(type=kind, sequence_number=7)
    event = event_from_api(sample)
    assert type(event) is EVENT_CLASSES[kind]
    assert type(event).__name__ == schema_name
    assert event.type == kind
    assert event.sequence_number == 7
    assert event.extra == {}


def test_text_delta_values_and_round_trip() -> None:
    data = {
        "type": "response.output_text.delta",
        "item_id": "msg_1",
        "output_index": 0,
        "content_index": 1,
        "delta": "Hel",
        "sequence_number": 4,
        "logprobs": [{"token": "Hel", "logprob": -0.1}],
    }
    event = event_from_api(data)
    assert isinstance(event, _events.ResponseTextDeltaEvent)
    assert (event.item_id, event.output_index, event.content_index) == ("msg_1", 0, 1)
    assert event.delta == "Hel"
    assert event.logprobs == [{"token": "Hel", "logprob": -0.1}]
    assert event.to_dict() == data


def test_missing_fields_are_none() -> None:
    event = event_from_api({"type": "response.completed"})
    assert isinstance(event, _events.ResponseCompletedEvent)
    assert event.response is None and event.sequence_number is None


def test_unknown_type_gives_the_base_event() -> None:
    data = {"type": "response.something_new", "sequence_number": 3, "foo": 1, "bar": {"x": [1]}}
    event = event_from_api(data)
    assert type(event) is OpenAIResponsesEvent
    assert event.type == "response.something_new"
    assert event.sequence_number == 3
    assert event.extra == {"foo": 1, "bar": {"x": [1]}}


def test_unknown_keys_of_a_known_type_go_to_extra() -> None:
    event = event_from_api({"type": "error", "message": "boom", "provider_field": True})
    assert isinstance(event, _events.ResponseErrorEvent)
    assert event.message == "boom"
    assert event.extra == {"provider_field": True}


def test_non_string_type_is_kept_in_extra() -> None:
    event = event_from_api({"type": 5, "sequence_number": 2})
    assert type(event) is OpenAIResponsesEvent
    assert event.type == ""
    assert event.sequence_number == 2
    assert event.extra == {"type": 5}


def test_wrong_value_types_are_kept() -> None:
    """No validators: a server's odd value is stored as sent, never a reason to fail."""
    data = {
        "type": "response.output_text.delta",
        "delta": {"not": "a string"},
        "output_index": "zero",
        "logprobs": 5,
        "sequence_number": "1",
    }
    event = event_from_api(data)
    assert isinstance(event, _events.ResponseTextDeltaEvent)
    stored: tuple[Any, ...] = (event.delta, event.output_index, event.logprobs)
    assert stored == ({"not": "a string"}, "zero", 5)
    assert event.to_dict()["sequence_number"] == "1"


class _BrokenMapping(Mapping[str, Any]):
    """A mapping whose every read fails."""

    def __getitem__(self, key: str) -> Any:
        raise RuntimeError("broken")

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("broken")

    def __len__(self) -> int:
        return 1


GARBAGE: dict[str, Any] = {
    "empty": {},
    "type None": {"type": None},
    "type unhashable": {"type": ["response.completed"]},
    "bool number": {"type": "response.completed", "sequence_number": True},
    "int key": {"type": "response.output_text.delta", 1: "a key not a string"},
    "odd keys": {"type": "response.output_text.delta", "extra": "not a dict", "camelCase": 1},
    "object value": {"type": "response.completed", "response": object()},
    "mapping proxy": types.MappingProxyType({"type": "error", "message": "read-only"}),
    "broken mapping": _BrokenMapping(),
    "None": None,
    "str": "garbage",
    "list": [1, 2, 3],
}


@pytest.mark.parametrize("data", list(GARBAGE.values()), ids=list(GARBAGE))
def test_event_from_api_never_raises(data: Any) -> None:
    event = event_from_api(data)
    assert isinstance(event, OpenAIResponsesEvent)
    assert isinstance(event.type, str)


def test_fallback_keeps_what_it_can() -> None:
    data: dict[Any, Any] = {"type": "response.output_text.delta", 1: "x", "sequence_number": 9}
    event = event_from_api(data)
    assert type(event) is OpenAIResponsesEvent
    assert (event.type, event.sequence_number) == ("response.output_text.delta", 9)
    extra: dict[Any, Any] = event.extra
    assert extra == {1: "x"}
    assert event_from_api("garbage").extra == {"data": "garbage"}  # type: ignore[arg-type]
    proxy = event_from_api(types.MappingProxyType({"type": "error", "message": "m"}))
    assert isinstance(proxy, _events.ResponseErrorEvent) and proxy.message == "m"
