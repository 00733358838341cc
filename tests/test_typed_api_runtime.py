"""The typed API at run time, over sockets: the did-you-mean guard sends nothing, provider
extensions and ``extra_body``/``extra_query`` go on the wire as given, and every 4D form
(params dict with camelCase keys and callbacks, positional dict for data classes, Parameters
objects) still works beside the keyword form."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from aikit import (
    OpenAI,
    OpenAIChatCompletionsParameters,
    OpenAIChatCompletionsResult,
    OpenAIMessage,
    OpenAIModelListResult,
    OpenAITool,
)
from aikit.testing import FakeOpenAIServer

from .helpers import Recorder, in_worker

USER = [{"role": "user", "content": "hi"}]


# -- the did-you-mean guard -------------------------------------------------------------------

NEAR_MISSES: list[tuple[str, Callable[[OpenAI, dict[str, Any]], object], str, str]] = [
    ("chat", lambda c, kw: c.chat.completions.create(USER, **kw), "temprature", "temperature"),
    ("chat", lambda c, kw: c.chat.completions.create(USER, **kw), "max_tokns", "max_tokens"),
    ("chat", lambda c, kw: c.chat.completions.create(USER, **kw), "timout", "timeout"),
    ("chat", lambda c, kw: c.chat.completions.create(USER, **kw), "sede", "seed"),
    ("stream", lambda c, kw: c.chat.completions.stream(USER, **kw), "presense_penalty",
     "presence_penalty"),
    ("embeddings", lambda c, kw: c.embeddings.create("x", "m", **kw), "dimensons", "dimensions"),
    ("images", lambda c, kw: c.images.generate("a cat", **kw), "qualty", "quality"),
    ("files.list", lambda c, kw: c.files.list(**kw), "purpse", "purpose"),
    ("chat.list", lambda c, kw: c.chat.completions.list(**kw), "ordre", "order"),
    ("models", lambda c, kw: c.models.list(**kw), "max_retires", "max_retries"),
    ("helper", lambda c, kw: c.chat.create("s", **kw).prompt("hi"), "temperatur",
     "temperature"),
    ("vision", lambda c, kw: c.chat.vision.create("https://example.invalid/a.png").prompt(
        "what?", **kw), "top_pp", "top_p"),
]


@pytest.mark.parametrize(("endpoint", "call", "typo", "field"), NEAR_MISSES,
                         ids=[f"{e}-{t}" for e, _, t, _ in NEAR_MISSES])
def test_a_near_miss_raises_and_sends_nothing(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI, endpoint: str,
    call: Callable[[OpenAI, dict[str, Any]], object], typo: str, field: str,
) -> None:
    with pytest.raises(ValueError, match=f"did you mean '{field}'") as caught:
        call(aikit_client, {typo: 1})
    assert repr(typo) in str(caught.value) and "extra_body" in str(caught.value)
    assert aikit_server.requests == []


@pytest.mark.parametrize("params", [{"temprature": 0.5}, {"maxTokns": 5}],
                         ids=["snake", "camel"])
def test_a_near_miss_in_a_params_dict_raises_too(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI, params: dict[str, Any]
) -> None:
    with pytest.raises(ValueError, match="did you mean"):
        aikit_client.chat.completions.create(USER, params)
    with pytest.raises(ValueError, match="did you mean"):
        OpenAIChatCompletionsParameters(params)
    assert aikit_server.requests == []


def test_a_near_miss_in_callback_mode_raises_on_the_caller_and_sends_nothing(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    rec = Recorder()

    def call() -> None:
        aikit_client.chat.completions.create(USER, temprature=1, **rec.callbacks("on_terminate"))

    with pytest.raises(ValueError, match="temperature"):
        in_worker(call)
    assert rec.events == [] and aikit_server.requests == []


def test_provider_extensions_far_from_any_field_are_sent(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    extensions = {"min_p": 0.05, "repetition_penalty": 1.1, "keep_alive": "5m", "k": 3}
    result = aikit_client.chat.completions.create(USER, **extensions)  # type: ignore[call-overload]
    assert result.success, result.errors
    sent = aikit_server.requests[-1].json
    assert {k: sent[k] for k in extensions} == extensions


def test_every_spec_field_is_a_keyword_and_is_sent(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    result = aikit_client.chat.completions.create(
        USER, seed=7, stop=["\n"], max_tokens=5, frequency_penalty=0.5, logprobs=True,
        top_logprobs=2, parallel_tool_calls=False, safety_identifier="u-1",
    )
    assert result.success, result.errors
    sent = aikit_server.requests[-1].json
    assert (sent["seed"], sent["stop"], sent["max_tokens"], sent["frequency_penalty"]) == (
        7, ["\n"], 5, 0.5)
    assert (sent["logprobs"], sent["top_logprobs"], sent["parallel_tool_calls"]) == (
        True, 2, False)
    assert sent["safety_identifier"] == "u-1"


# -- extra_body and extra_query ---------------------------------------------------------------


def test_extra_body_is_sent_as_given_and_wins(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    result = aikit_client.chat.completions.create(
        USER, temperature=0.9, extra_body={"top_k": 40, "temperature": 0.1, "nested": {"a": [1]}}
    )
    assert result.success, result.errors
    sent = aikit_server.requests[-1].json
    assert (sent["top_k"], sent["temperature"], sent["nested"]) == (40, 0.1, {"a": [1]})
    assert "extra_body" not in sent


def test_extra_body_on_an_upload_is_a_form_field(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    result = aikit_client.files.create(b"{}\n", "batch", filename="a.jsonl",
                                       extra_body={"note": "x"})
    assert result.success, result.errors
    assert aikit_server.requests[-1].form["note"] == "x"


def test_extra_body_without_a_body_is_an_error_and_nothing_is_sent(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    with pytest.raises(ValueError, match="extra_body"):
        aikit_client.models.list(extra_body={"a": 1})
    assert aikit_server.requests == []


def test_extra_query_goes_on_every_kind_of_call(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    version = {"api-version": "2024-06-01"}
    assert aikit_client.models.list(extra_query=version).success
    assert aikit_server.requests[-1].query == version
    assert aikit_client.chat.completions.create(USER, extra_query=version).success
    assert aikit_server.requests[-1].query == version
    assert "api-version" not in aikit_server.requests[-1].json
    assert aikit_client.files.list(limit=2, extra_query={"x": True}).success
    assert aikit_server.requests[-1].query == {"limit": "2", "x": "true"}


# -- the 4D forms -----------------------------------------------------------------------------


def test_4d_params_dict_with_camel_case_keys_and_callbacks(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    got: list[tuple[str, int, Any]] = []
    done = threading.Event()

    def on_response(result: OpenAIChatCompletionsResult) -> None:
        got.append(("on_response", threading.get_ident(), result))

    def on_terminate(result: OpenAIChatCompletionsResult) -> None:
        got.append(("on_terminate", threading.get_ident(), result))
        done.set()

    params = {"onResponse": on_response, "onTerminate": on_terminate, "maxRetries": 0,
              "maxCompletionTokens": 7, "extraHeaders": {"X-From": "4d"}}
    _, ident = in_worker(lambda: aikit_client.chat.completions.create(USER, params))
    assert done.wait(10)
    assert [(n, t) for n, t, _ in got] == [("on_response", ident), ("on_terminate", ident)]
    assert got[0][2].choice is not None
    request = aikit_server.requests[-1]
    assert request.json["max_completion_tokens"] == 7
    assert request.headers["X-From"] == "4d"


def test_4d_formula_on_models_list(aikit_client: OpenAI) -> None:
    got: list[tuple[int, OpenAIModelListResult]] = []
    done = threading.Event()

    def receive(result: OpenAIModelListResult) -> None:
        got.append((threading.get_ident(), result))
        done.set()

    _, ident = in_worker(lambda: aikit_client.models.list({"formula": receive}))
    assert done.wait(10)
    assert got[0][0] == ident and got[0][1].success and got[0][1].models


def test_4d_positional_dicts_for_data_classes(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    message = OpenAIMessage({"role": "user", "content": "hi", "toolCallId": None})
    tool = OpenAITool({"type": "function", "function": {"name": "f", "parameters": {}}})
    result = aikit_client.chat.completions.create([message], tools=[tool])
    assert result.success, result.errors
    sent = aikit_server.requests[-1].json
    assert sent["messages"] == [{"role": "user", "content": "hi"}]
    assert sent["tools"] == [{"type": "function", "function": {"name": "f", "parameters": {}}}]


def test_parameters_objects_in_both_forms(
    aikit_server: FakeOpenAIServer, aikit_client: OpenAI
) -> None:
    typed = OpenAIChatCompletionsParameters(model="m-typed", temperature=0.2, seed=3)
    dict_form = OpenAIChatCompletionsParameters({"model": "m-dict", "maxCompletionTokens": 4,
                                                 "min_p": 5})
    assert aikit_client.chat.completions.create(USER, typed).success
    assert aikit_server.requests[-1].json["model"] == "m-typed"
    assert aikit_server.requests[-1].json["seed"] == 3
    assert aikit_client.chat.completions.create(USER, dict_form, temperature=1).success
    sent = aikit_server.requests[-1].json
    assert (sent["model"], sent["max_completion_tokens"], sent["min_p"], sent["temperature"]) == (
        "m-dict", 4, 5, 1)


def test_keywords_win_over_the_positional_dict() -> None:
    p = OpenAIChatCompletionsParameters({"model": "from-dict", "n": 2}, model="from-keyword")
    assert (p.model, p.n) == ("from-keyword", 2)
    m = OpenAIMessage({"role": "user", "content": "a"}, content="b")
    assert (m.role, m.content) == ("user", "b")


def test_unknown_keywords_and_attributes_are_errors() -> None:
    with pytest.raises(TypeError, match="'rol'"):
        OpenAIMessage(rol="user")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="'temprature'"):
        OpenAIChatCompletionsParameters(temprature=1)  # type: ignore[call-arg]
    message = OpenAIMessage({"role": "user", "reasoning_content": "r"})
    assert message.extra == {"reasoning_content": "r"}
    with pytest.raises(AttributeError):
        _ = message.reasoning_content  # type: ignore[attr-defined]
