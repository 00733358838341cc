"""The generated request ``TypedDict`` classes (``aikit.types._spec``) follow OpenAI's spec.

The spec is read here with its own small ``$ref``/``allOf`` walk, not the generator's code, so a
bug in ``tools/gen_types.py`` cannot vouch for itself.
"""

from __future__ import annotations

import ast
import functools
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any

import attrs
import pytest
import yaml

from aikit import parameters
from aikit.objects import OpenAITool
from aikit.types import _spec

ROOT = Path(__file__).resolve().parent.parent
SPEC_PATH = ROOT / "tests" / "prism" / "openai-openapi.aikit-v2.prism.yaml"

#: operationId -> (generated class, fields aikit takes as positional arguments or own keywords)
TABLE: dict[str, tuple[str, frozenset[str]]] = {
    "createChatCompletion": ("ChatCompletionCreateFields", frozenset({"messages", "stream"})),
    "listChatCompletions": ("ChatCompletionListFields", frozenset()),
    "getChatCompletionMessages": ("ChatCompletionMessagesListFields", frozenset()),
    "createEmbedding": ("EmbeddingCreateFields", frozenset({"input", "model"})),
    "createImage": ("ImageGenerateFields", frozenset({"prompt"})),
    "createModeration": ("ModerationCreateFields", frozenset({"input", "model"})),
    "createFile": ("FileCreateFields", frozenset({"file", "purpose"})),
    "listFiles": ("FileListFields", frozenset()),
    "createResponse": ("ResponseCreateFields", frozenset({"input", "stream"})),
    "getResponse": ("ResponseRetrieveFields", frozenset({"stream"})),
    "listInputItems": ("ResponseInputItemsListFields", frozenset()),
    "Getinputtokencounts": ("ResponseInputTokensCountFields", frozenset({"input"})),
    "Compactconversation": ("ResponseCompactFields", frozenset({"input"})),
    "createBatch": ("BatchCreateFields", frozenset()),
    "listBatches": ("BatchListFields", frozenset()),
    "createUpload": ("UploadCreateFields", frozenset()),
    "createSpeech": ("SpeechCreateFields", frozenset()),
    "createTranscription": ("TranscriptionCreateFields", frozenset({"file"})),
    "createTranslation": ("TranslationCreateFields", frozenset({"file"})),
}

#: operationId -> the attrs parameter class that should accept every non-excluded spec field
PARAMETER_CLASSES = {
    "createChatCompletion": "OpenAIChatCompletionsParameters",
    "createEmbedding": "OpenAIEmbeddingsParameters",
    "createImage": "OpenAIImageParameters",
    "createModeration": "OpenAIModerationParameters",
    "createFile": "OpenAIFileParameters",
    "listFiles": "OpenAIFileListParameters",
    "listChatCompletions": "OpenAIChatCompletionsListParameters",
    "getChatCompletionMessages": "OpenAIChatCompletionsMessagesParameters",
}


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


def properties(schema: dict[str, Any]) -> set[str]:
    """Property names of an object schema, ``allOf`` parts merged."""
    schema = resolve(schema)
    names = set(schema.get("properties", {}))
    for part in schema.get("allOf", []):
        names |= properties(part)
    return names


@functools.cache
def spec_fields(operation_id: str) -> frozenset[str]:
    """Body properties of the operation, or its query parameters when it has no body."""
    for item in spec()["paths"].values():
        for op in item.values():
            if isinstance(op, dict) and op.get("operationId") == operation_id:
                body = op.get("requestBody")
                if body:
                    media = resolve(body)["content"].values()
                    return frozenset(set().union(*(properties(m["schema"]) for m in media)))
                params = [resolve(p) for p in op.get("parameters") or []]
                return frozenset(p["name"] for p in params if p["in"] == "query")
    raise AssertionError(f"operationId {operation_id} is not in the spec")


def annotation(cls: type, field: str) -> str:
    """The annotation's source (TypedDict keeps string annotations as ``ForwardRef``)."""
    value = cls.__annotations__[field]
    return value.__forward_arg__ if isinstance(value, typing.ForwardRef) else str(value)


def normalized(source: str) -> str:
    """Source as ``from __future__ import annotations`` stores it (``ast.unparse``: 'quotes')."""
    return ast.unparse(ast.parse(source, mode="eval"))


@pytest.mark.parametrize("operation_id", list(TABLE))
def test_class_fields_match_spec(operation_id: str) -> None:
    name, excluded = TABLE[operation_id]
    cls = getattr(_spec, name)
    keys = set(cls.__annotations__)
    expected = spec_fields(operation_id)
    missing = sorted(expected - keys - excluded)
    unknown = sorted((keys | excluded) - expected)
    assert not missing, f"{name} lacks spec fields of {operation_id}: {missing}"
    assert not unknown, f"{name} has fields that {operation_id} does not list: {unknown}"
    assert not keys & excluded, f"{name} keeps excluded fields {sorted(keys & excluded)}"
    assert cls.__optional_keys__ == keys, f"{name}: every field should be optional"
    assert _spec.SPEC_FIELDS[name] == expected
    assert _spec.EXCLUDED[name] == excluded


#: Classes of a second aikit method on an operation: (operationId, fields left out).
SECOND_CLASSES: dict[str, tuple[str, frozenset[str]]] = {
    "ChatCompletionParseFields": (
        "createChatCompletion", frozenset({"messages", "stream", "response_format"})),
}


@pytest.mark.parametrize("name", list(SECOND_CLASSES))
def test_second_classes_match_spec(name: str) -> None:
    operation_id, excluded = SECOND_CLASSES[name]
    cls = getattr(_spec, name)
    assert set(cls.__annotations__) | excluded == spec_fields(operation_id)
    assert not set(cls.__annotations__) & excluded


def test_module_lists_exactly_the_table() -> None:
    names = sorted([*(name for name, _ in TABLE.values()), *SECOND_CLASSES])
    assert _spec.__all__ == names
    assert set(_spec.SPEC_FIELDS) == set(_spec.EXCLUDED) == set(names)


def test_generated_module_is_current() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "gen_types.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_annotations_evaluate() -> None:
    """Every annotation is a valid expression at runtime (e.g. for ``typing.get_type_hints``)."""
    for name in _spec.__all__:
        hints = typing.get_type_hints(getattr(_spec, name), localns={"OpenAITool": OpenAITool})
        assert set(hints) == set(getattr(_spec, name).__annotations__)


@pytest.mark.parametrize(
    ("cls", "field", "expected"),
    [
        (_spec.ChatCompletionCreateFields, "temperature", "float | None"),
        (_spec.ChatCompletionCreateFields, "model", "str"),
        (_spec.ChatCompletionCreateFields, "metadata", "Mapping[str, str] | None"),
        (_spec.ChatCompletionCreateFields, "stop", "str | Sequence[str] | None"),
        (_spec.ChatCompletionCreateFields, "tools", "Sequence[OpenAITool | Mapping[str, Any]]"),
        (_spec.EmbeddingCreateFields, "encoding_format", 'Literal["float", "base64"]'),
        (_spec.ImageGenerateFields, "size", "str | None"),
        (_spec.TranscriptionCreateFields, "chunking_strategy",
         'Literal["auto"] | Mapping[str, Any] | None'),
        (_spec.SpeechCreateFields, "voice", "str | Mapping[str, Any]"),
    ],
)
def test_spot_types(cls: type, field: str, expected: str) -> None:
    assert annotation(cls, field) == normalized(expected)


def test_reasoning_effort_is_a_literal() -> None:
    hints = typing.get_type_hints(
        _spec.ChatCompletionCreateFields, localns={"OpenAITool": OpenAITool}
    )
    hint = hints["reasoning_effort"]
    literal, none = typing.get_args(hint)
    assert typing.get_origin(literal) is typing.Literal
    assert {"low", "medium", "high"} <= set(typing.get_args(literal))
    assert none is type(None)


@pytest.mark.parametrize(("operation_id", "class_name"), list(PARAMETER_CLASSES.items()))
def test_parameter_class_covers_spec(operation_id: str, class_name: str) -> None:
    cls = getattr(parameters, class_name)
    _, excluded = TABLE[operation_id]
    missing = sorted(spec_fields(operation_id) - excluded - set(attrs.fields_dict(cls)))
    assert not missing, f"parameters.{class_name} lacks spec fields of {operation_id}: {missing}"
