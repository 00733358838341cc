"""Parameter classes: constructor forms, validation, and the body()/query()/form_fields() rules.

The spec checks validate produced request bodies against OpenAI's OpenAPI schemas (the copy
vendored in tests/prism/) with ``jsonschema``.
"""

from __future__ import annotations

import pathlib
from typing import Any

import pytest

from aikit.objects import OpenAIMessage, OpenAITool
from aikit.parameters import (
    OpenAIChatCompletionsListParameters,
    OpenAIChatCompletionsMessagesParameters,
    OpenAIChatCompletionsParameters,
    OpenAIEmbeddingsParameters,
    OpenAIFileListParameters,
    OpenAIFileParameters,
    OpenAIImageParameters,
    OpenAIModerationParameters,
    OpenAIParameters,
)

SPEC_PATH = pathlib.Path(__file__).parent / "prism" / "openai-openapi.aikit-v1.prism.yaml"

ENDPOINT_CLASSES = [
    OpenAIChatCompletionsParameters,
    OpenAIChatCompletionsListParameters,
    OpenAIChatCompletionsMessagesParameters,
    OpenAIEmbeddingsParameters,
    OpenAIImageParameters,
    OpenAIModerationParameters,
    OpenAIFileParameters,
    OpenAIFileListParameters,
]

EXECUTION = {
    "on_response": print,
    "on_error": print,
    "on_terminate": print,
    "formula": print,
    "on_data": print,
    "throw": True,
    "timeout": 5,
    "max_retries": 0,
    "extra_headers": {"X-A": "b"},
    "owner": "worker",
    "http_agent": object(),
}

EXECUTION_4D = {
    "onResponse": print,
    "onError": print,
    "onTerminate": print,
    "formula": print,
    "onData": print,
    "throw": True,
    "timeout": 5,
    "maxRetries": 1,
    "extraHeaders": {"X-A": "b"},
    "httpAgent": object(),
}


def _sent_keys(params: OpenAIParameters) -> set[str]:
    keys = set(params.body())
    for method in ("query", "form_fields"):
        if hasattr(params, method):
            keys |= {k for k, _ in getattr(params, method)()}
    return keys


# -- shared behaviour -----------------------------------------------------------------------


@pytest.mark.parametrize("cls", ENDPOINT_CLASSES)
@pytest.mark.parametrize("execution", [EXECUTION, EXECUTION_4D], ids=["snake", "camel"])
def test_execution_keys_are_never_sent(
    cls: type[OpenAIParameters], execution: dict[str, Any]
) -> None:
    params = cls(execution)
    assert params.on_response is print
    assert params.throw is True
    sent = _sent_keys(params)
    for key in (*EXECUTION, *EXECUTION_4D):
        assert key not in sent


@pytest.mark.parametrize("cls", ENDPOINT_CLASSES)
def test_coerce_accepts_none_dict_instance_and_kwargs(cls: type[OpenAIParameters]) -> None:
    assert isinstance(cls.coerce(None), cls)
    assert cls.coerce({"maxRetries": 3}).max_retries == 3
    base = OpenAIParameters(timeout=2.0)
    assert cls.coerce(base, max_retries=1).timeout == 2.0
    same = cls()
    assert cls.coerce(same) is same
    with pytest.raises(TypeError, match="`params`"):
        cls.coerce(42)


@pytest.mark.parametrize("cls", ENDPOINT_CLASSES)
def test_misspelt_callback_is_an_error_not_a_field(cls: type[OpenAIParameters]) -> None:
    with pytest.raises(ValueError, match="onResponse"):
        cls({"onRespose": print})


def test_base_body_is_user_then_unmodelled_keys() -> None:
    assert OpenAIParameters().body() == {}
    assert OpenAIParameters({"user": "u1", "seed": 3, "skip": None}).body() == {
        "user": "u1", "seed": 3
    }
    with pytest.raises(TypeError, match="unexpected keyword argument 'seed'"):
        OpenAIParameters(seed=3)  # type: ignore[call-arg]


# -- chat completions -----------------------------------------------------------------------


def test_chat_defaults() -> None:
    p = OpenAIChatCompletionsParameters()
    assert p.model == "gpt-4o-mini"
    assert (p.stream, p.store, p.n, p.temperature, p.top_p, p.tools) == (
        False,
        False,
        None,
        None,
        None,
        None,
    )
    assert p.body() == {"model": "gpt-4o-mini"}
    assert OpenAIChatCompletionsParameters(model=None).model == "gpt-4o-mini"
    assert "model" not in OpenAIChatCompletionsParameters(model="").body()


def test_chat_temperature_zero_is_sent_top_p_zero_is_not() -> None:
    body = OpenAIChatCompletionsParameters(temperature=0, top_p=0).body()
    assert body["temperature"] == 0
    assert "top_p" not in body
    assert OpenAIChatCompletionsParameters(top_p=0.5).body()["top_p"] == 0.5
    assert "top_p" not in OpenAIChatCompletionsParameters(top_p=-1).body()


def test_chat_n_only_when_given() -> None:
    assert "n" not in OpenAIChatCompletionsParameters().body()
    assert OpenAIChatCompletionsParameters(n=1).body()["n"] == 1
    assert OpenAIChatCompletionsParameters({"n": 3}).body()["n"] == 3


def test_chat_simple_rules() -> None:
    body = OpenAIChatCompletionsParameters(
        max_completion_tokens=0, store=False, reasoning_effort="", service_tier=""
    ).body()
    assert body == {"model": "gpt-4o-mini"}
    body = OpenAIChatCompletionsParameters(
        max_completion_tokens=50,
        store=True,
        reasoning_effort="low",
        service_tier="flex",
        response_format={"type": "json_object"},
        tool_choice="none",
        prediction={"type": "content", "content": "x"},
        metadata={"k": "v"},
    ).body()
    assert body["max_completion_tokens"] == 50
    assert body["store"] is True
    assert body["reasoning_effort"] == "low"
    assert body["service_tier"] == "flex"
    assert body["response_format"] == {"type": "json_object"}
    assert body["tool_choice"] == "none"
    assert body["prediction"] == {"type": "content", "content": "x"}
    assert body["metadata"] == {"k": "v"}


def test_chat_stream_options_only_when_streaming() -> None:
    opts = {"include_usage": True}
    assert "stream_options" not in OpenAIChatCompletionsParameters(stream_options=opts).body()
    body = OpenAIChatCompletionsParameters(stream=True, stream_options=opts).body()
    assert body["stream"] is True
    assert body["stream_options"] == opts


def test_chat_key_order_follows_4d_then_passthrough() -> None:
    p = OpenAIChatCompletionsParameters(
        {
            "seed": 7,
            "service_tier": "auto",
            "prediction": {"type": "content", "content": "p"},
            "tool_choice": "auto",
            "tools": [{"name": "f"}],
            "response_format": {"type": "text"},
            "reasoning_effort": "low",
            "stream_options": {"include_usage": True},
            "stream": True,
            "store": True,
            "top_p": 0.9,
            "temperature": 0.2,
            "n": 2,
            "max_completion_tokens": 10,
            "model": "gpt-4o",
            "user": "u",
            "metadata": {"a": "b"},
        }
    )
    assert list(p.body()) == [
        "user",
        "model",
        "max_completion_tokens",
        "n",
        "temperature",
        "top_p",
        "store",
        "stream",
        "stream_options",
        "reasoning_effort",
        "response_format",
        "tools",
        "tool_choice",
        "prediction",
        "service_tier",
        "metadata",
        "seed",
    ]


def test_chat_unmodelled_keys_are_passed_through() -> None:
    p = OpenAIChatCompletionsParameters(
        {"seed": 42, "stop": ["\n"], "max_tokens": 10, "parallel_tool_calls": False},
        frequency_penalty=0.5,
        logit_bias=None,
    )
    body = p.body()
    assert body["seed"] == 42
    assert body["stop"] == ["\n"]
    assert body["max_tokens"] == 10
    assert body["parallel_tool_calls"] is False
    assert body["frequency_penalty"] == 0.5
    assert "logit_bias" not in body
    assert p.seed == 42


def test_chat_tools_are_converted_and_empty_list_is_not_sent() -> None:
    assert "tools" not in OpenAIChatCompletionsParameters(tools=[]).body()
    p = OpenAIChatCompletionsParameters(
        tools=[
            {"name": "a", "parameters": {"type": "object"}},
            {"type": "function", "function": {"name": "b"}, "strict": True},
            OpenAITool(name="c", description="C"),
            {"type": "custom", "custom": {"name": "d"}},
            {"type": "web_search"},
        ]
    )
    assert all(isinstance(t, OpenAITool) for t in p.tools or [])
    assert p.body()["tools"] == [
        {"type": "function", "function": {"name": "a", "parameters": {"type": "object"}}},
        {"type": "function", "function": {"name": "b", "strict": True}},
        {"type": "function", "function": {"name": "c", "description": "C"}},
        {"type": "custom", "custom": {"name": "d"}},
        {"type": "web_search"},
    ]


def test_chat_tools_appended_later_are_sent() -> None:
    p = OpenAIChatCompletionsParameters(tools=[])
    assert p.tools is not None
    p.tools.append({"name": "late"})  # type: ignore[arg-type]
    assert p.body()["tools"] == [{"type": "function", "function": {"name": "late"}}]
    p.tools = [{"name": "set"}]  # type: ignore[list-item]
    assert isinstance(p.tools[0], OpenAITool)


def test_chat_validation_names_the_argument() -> None:
    cases: list[tuple[dict[str, Any], type[Exception], str]] = [
        ({"model": 4}, TypeError, "`model`"),
        ({"n": 0}, ValueError, "`n`"),
        ({"n": "2"}, TypeError, "`n`"),
        ({"n": True}, TypeError, "`n`"),
        ({"temperature": 2.5}, ValueError, "`temperature`"),
        ({"temperature": -1}, ValueError, "`temperature`"),
        ({"temperature": "hot"}, TypeError, "`temperature`"),
        ({"top_p": "x"}, TypeError, "`top_p`"),
        ({"tools": {"name": "f"}}, TypeError, "`tools`"),
        ({"tools": "f"}, TypeError, "`tools`"),
        ({"tools": [3]}, TypeError, r"`tools\[0\]`"),
        ({"stream_options": True}, TypeError, "`stream_options`"),
        ({"metadata": "k=v"}, TypeError, "`metadata`"),
    ]
    for kwargs, exc, name in cases:
        with pytest.raises(exc, match=name):
            OpenAIChatCompletionsParameters(**kwargs)
    p = OpenAIChatCompletionsParameters()
    with pytest.raises(ValueError, match="`temperature`"):
        p.temperature = 9


def test_chat_is_async_with_on_data_only_when_streaming() -> None:
    assert OpenAIChatCompletionsParameters({"onData": print}).is_async is False
    assert OpenAIChatCompletionsParameters({"onData": print, "stream": True}).is_async is True
    assert OpenAIChatCompletionsParameters({"formula": print}).is_async is True


# -- list endpoints -------------------------------------------------------------------------


def test_chat_list_query_rules() -> None:
    assert OpenAIChatCompletionsListParameters().query() == []
    p = OpenAIChatCompletionsListParameters(
        after="chatcmpl-1",
        limit=10,
        order="desc",
        model="gpt-4o",
        metadata={"team": "a b", "n": 1},
        user="u",
    )
    assert p.query() == [
        ("after", "chatcmpl-1"),
        ("limit", "10"),
        ("order", "desc"),
        ("model", "gpt-4o"),
        ("metadata[team]", "a b"),
        ("metadata[n]", "1"),
    ]
    assert p.body()["metadata[team]"] == "a b"
    assert OpenAIChatCompletionsListParameters(limit=0, after="", model="").query() == []


def test_list_query_passthrough_and_booleans() -> None:
    p = OpenAIFileListParameters({"purpose": "batch", "include_deleted": True, "x": False})
    assert p.query() == [("purpose", "batch"), ("include_deleted", "true"), ("x", "false")]


def test_messages_and_file_list_queries() -> None:
    assert OpenAIChatCompletionsMessagesParameters(after="m1", limit=5, order="asc").query() == [
        ("after", "m1"),
        ("limit", "5"),
        ("order", "asc"),
    ]
    assert OpenAIFileListParameters(after="f", limit=2, purpose="assistants").query() == [
        ("after", "f"),
        ("limit", "2"),
        ("purpose", "assistants"),
    ]


def test_list_validation() -> None:
    with pytest.raises(ValueError, match="`order`"):
        OpenAIChatCompletionsListParameters(order="up")
    with pytest.raises(TypeError, match="`limit`"):
        OpenAIFileListParameters(limit="10")
    with pytest.raises(TypeError, match="`metadata`"):
        OpenAIChatCompletionsListParameters(metadata=["a"])


# -- embeddings, images, moderations, files -------------------------------------------------


def test_embeddings_body() -> None:
    assert OpenAIEmbeddingsParameters().body() == {}
    p = OpenAIEmbeddingsParameters(encoding_format="base64", dimensions=256, user="u")
    assert p.body() == {"user": "u", "encoding_format": "base64", "dimensions": 256}
    assert OpenAIEmbeddingsParameters({"encodingFormat": "float"}).body() == {
        "encoding_format": "float"
    }
    assert OpenAIEmbeddingsParameters(encoding_format="").body() == {}


def test_embeddings_validation() -> None:
    with pytest.raises(ValueError, match="`encoding_format`"):
        OpenAIEmbeddingsParameters(encoding_format="int8")
    with pytest.raises(ValueError, match="`dimensions`"):
        OpenAIEmbeddingsParameters(dimensions=0)
    with pytest.raises(TypeError, match="`dimensions`"):
        OpenAIEmbeddingsParameters(dimensions=1.5)


def test_image_defaults_follow_4d() -> None:
    p = OpenAIImageParameters()
    assert p.body() == {
        "model": "dall-e-2",
        "n": 1,
        "size": "1024x1024",
        "response_format": "url",
    }


def test_image_fields_sent_when_set() -> None:
    body = OpenAIImageParameters(
        model="dall-e-3",
        style="vivid",
        quality="hd",
        response_format="b64_json",
        user="u",
        moderation="low",
    ).body()
    assert body == {
        "user": "u",
        "model": "dall-e-3",
        "n": 1,
        "size": "1024x1024",
        "style": "vivid",
        "quality": "hd",
        "response_format": "b64_json",
        "moderation": "low",
    }


def test_image_gpt_models_do_not_get_the_default_url_format() -> None:
    body = OpenAIImageParameters(
        model="gpt-image-1", background="transparent", output_format="webp", output_compression=0
    ).body()
    assert "response_format" not in body
    assert body["background"] == "transparent"
    assert body["output_format"] == "webp"
    assert body["output_compression"] == 0


def test_image_validation() -> None:
    with pytest.raises(ValueError, match="`n`"):
        OpenAIImageParameters(n=0)
    with pytest.raises(ValueError, match="`response_format`"):
        OpenAIImageParameters(response_format="png")


def test_moderation_body_has_no_user() -> None:
    assert OpenAIModerationParameters(user="u").body() == {}
    assert OpenAIModerationParameters({"user": "u", "extra_field": 1}).body() == {"extra_field": 1}


def test_file_parameters_form_fields() -> None:
    assert OpenAIFileParameters().form_fields() == []
    p = OpenAIFileParameters(
        filename="data.jsonl",
        expires_after={"anchor": "created_at", "seconds": 3600},
        user="u",
    )
    assert p.form_fields() == [
        ("expires_after[anchor]", "created_at"),
        ("expires_after[seconds]", "3600"),
    ]
    assert p.body() == {"expires_after": {"anchor": "created_at", "seconds": 3600}}
    assert OpenAIFileParameters({"expiresAfter": {"seconds": 7200}}).form_fields() == [
        ("expires_after[anchor]", "created_at"),
        ("expires_after[seconds]", "7200"),
    ]
    assert OpenAIFileParameters(expires_after={"anchor": "", "seconds": 0}).form_fields() == []
    with pytest.raises(TypeError, match="`expires_after`"):
        OpenAIFileParameters(expires_after=3600)
    with pytest.raises(TypeError, match="`filename`"):
        OpenAIFileParameters(filename=b"x")


# -- bodies against the OpenAPI spec (optional) ---------------------------------------------


@pytest.fixture(scope="module")
def spec_validator() -> Any:
    yaml = pytest.importorskip("yaml")
    jsonschema = pytest.importorskip("jsonschema")
    referencing = pytest.importorskip("referencing")
    from referencing.jsonschema import DRAFT202012

    with open(SPEC_PATH, encoding="utf-8") as fh:
        spec = yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    resource = referencing.Resource.from_contents(spec, default_specification=DRAFT202012)
    registry = referencing.Registry().with_resource("urn:openai-spec", resource)

    def validate(schema_name: str, instance: Any) -> None:
        schema = {"$ref": f"urn:openai-spec#/components/schemas/{schema_name}"}
        jsonschema.Draft202012Validator(schema, registry=registry).validate(instance)

    return validate


def test_chat_bodies_match_the_spec(spec_validator: Any) -> None:
    assistant = OpenAIMessage(
        role="assistant",
        tool_calls=[{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
    )
    user = OpenAIMessage(role="user", content="Describe")
    user.add_image_url("https://x/y.png", "low")
    user.add_file_id("file-1")
    messages = [
        OpenAIMessage(role="system", content="Be brief."),
        user,
        assistant,
        OpenAIMessage(role="tool", tool_call_id="c1", content="42"),
    ]
    params = OpenAIChatCompletionsParameters(
        temperature=0,
        n=2,
        stream=True,
        stream_options={"include_usage": True},
        tools=[
            {"name": "f", "parameters": {"type": "object", "properties": {}}, "strict": True},
            {"type": "custom", "name": "g", "format": {"type": "text"}},
        ],
        tool_choice="auto",
        seed=1,
        stop=["\n"],
        parallel_tool_calls=False,
        metadata={"k": "v"},
        user="end-user",
    )
    spec_validator(
        "CreateChatCompletionRequest",
        {**params.body(), "messages": [m.to_body() for m in messages]},
    )


def test_other_bodies_match_the_spec(spec_validator: Any) -> None:
    spec_validator(
        "CreateEmbeddingRequest",
        {
            **OpenAIEmbeddingsParameters(encoding_format="base64", dimensions=8).body(),
            "input": "hi",
            "model": "text-embedding-3-small",
        },
    )
    spec_validator("CreateImageRequest", {**OpenAIImageParameters().body(), "prompt": "a cat"})
    spec_validator(
        "CreateImageRequest",
        {**OpenAIImageParameters(model="gpt-image-1", quality="low").body(), "prompt": "a"},
    )
    spec_validator(
        "CreateModerationRequest",
        {**OpenAIModerationParameters(user="u").body(), "input": "x", "model": ""},
    )
    spec_validator(
        "CreateFileRequest",
        {
            **OpenAIFileParameters(expires_after={"seconds": 3600}, user="u").body(),
            "file": "bytes",
            "purpose": "batch",
        },
    )
