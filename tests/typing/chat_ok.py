"""A user program that must type-check under ``mypy --strict`` with no error at all.

Checked by tests/test_typing.py (never run): ``reveal_type(x)  # R: T`` means mypy must reveal
exactly ``T`` once module qualifiers are removed.
"""

from typing import Any

from typing_extensions import reveal_type

from aikit import (
    ChatStream,
    Headers,
    OpenAI,
    OpenAIChatCompletionsParameters,
    OpenAIChatCompletionsResult,
    OpenAIChatCompletionsStreamResult,
    OpenAIChatHelper,
    OpenAIChoice,
    OpenAIEmbeddingsResult,
    OpenAIError,
    OpenAIFileListResult,
    OpenAIFileResult,
    OpenAIImagesResult,
    OpenAIMessage,
    OpenAIModelListResult,
    OpenAIModelResult,
    OpenAIModerationResult,
    OpenAIResult,
    OpenAIVision,
    OpenAIVisionHelper,
    RateLimit,
)

client = OpenAI("sk-test", "http://127.0.0.1:1/v1")
msgs: list[dict[str, str]] = [{"role": "user", "content": "hi"}]
history: list[OpenAIMessage] = [OpenAIMessage(role="user", content="hi")]

# -- create(): keyword options, unmodelled body fields, the result's accessors ----------------
r = client.chat.completions.create(
    [{"role": "user", "content": "hi"}],
    model="gpt-4o-mini", temperature=0.5, max_tokens=10, seed=1, stop=["x"],
)
reveal_type(r)  # R: OpenAIChatCompletionsResult
reveal_type(client.chat.completions.create(history))  # R: OpenAIChatCompletionsResult
reveal_type(r.choices)  # R: list[OpenAIChoice]
reveal_type(r.choice)  # R: OpenAIChoice | None
reveal_type(r.choices[0].message)  # R: OpenAIMessage | None
reveal_type(r.choices[0].text)  # R: str
reveal_type(r.usage)  # R: dict[str, Any] | None
reveal_type(r.headers)  # R: Headers | None
reveal_type(r.rate_limit)  # R: RateLimit | None
reveal_type(r.errors)  # R: list[OpenAIError]
reveal_type(r.success)  # R: bool

first: OpenAIChoice | None = r.choice
if first is not None and first.message is not None:
    print(first.message.text)
headers: Headers | None = r.headers
limits: RateLimit | None = r.rate_limit
problems: list[OpenAIError] = r.errors
usage: dict[str, Any] | None = r.usage

s = client.chat.completions.create(msgs, stream=True)
reveal_type(s)  # R: OpenAIChatCompletionsStreamResult

client.chat.completions.create(
    msgs,
    extra_body={"top_k": 40},
    extra_query={"api-version": "2024"},
    extra_headers={"X-A": "b"},
    timeout=5.0,
    deadline=30,
    max_retries=0,
    throw=True,
)

# -- stream(): chunks on this thread -------------------------------------------------------
with client.chat.completions.stream(msgs) as stream:
    reveal_type(stream)  # R: ChatStream
    for chunk in stream:
        reveal_type(chunk)  # R: OpenAIChatCompletionsStreamResult
        if chunk.choice is not None and chunk.choice.delta is not None:
            print(chunk.choice.delta.text, end="")
reveal_type(stream.result)  # R: OpenAIChatCompletionsStreamResult
kept: ChatStream = stream


# -- callbacks, typed by the result class they receive --------------------------------------
def on_chat(result: OpenAIChatCompletionsResult) -> None:
    print(result.success)


def on_chunk(chunk: OpenAIChatCompletionsStreamResult) -> None:
    print(chunk.choices[0].text if chunk.choices else "")


client.chat.completions.create(msgs, {"onResponse": on_chat, "model": "x"})
client.chat.completions.create(msgs, on_response=on_chat)
client.chat.completions.create(msgs, stream=True, on_data=on_chunk)
client.chat.completions.create(msgs, stream=True, on_data=on_chunk, on_terminate=on_chat)

# -- parameters and data objects ---------------------------------------------------------
params = OpenAIChatCompletionsParameters(model="m", temperature=0.2)
reveal_type(client.chat.completions.create(msgs, params))  # R: OpenAIChatCompletionsResult

OpenAIMessage(role="user", content="hi")
OpenAIMessage({"role": "user", "content": "hi"})
reveal_type(OpenAIMessage(role="user").text)  # R: str

# -- helpers ----------------------------------------------------------------------------
helper = client.chat.create("You are terse.")
reveal_type(helper)  # R: OpenAIChatHelper
reveal_type(helper.prompt("hi"))  # R: OpenAIChatCompletionsResult
kept_helper: OpenAIChatHelper = helper

reveal_type(client.chat.vision)  # R: OpenAIVision
vision = client.chat.vision.create("https://example.invalid/a.png")
reveal_type(vision)  # R: OpenAIVisionHelper
reveal_type(vision.prompt("what is it?"))  # R: OpenAIChatCompletionsResult
kept_vision: tuple[OpenAIVision, OpenAIVisionHelper] = (client.chat.vision, vision)

# -- the other endpoints ---------------------------------------------------------------
e = client.embeddings.create("x", "text-embedding-3-small", dimensions=8)
reveal_type(e)  # R: OpenAIEmbeddingsResult
reveal_type(e.vector)  # R: list[float] | None
reveal_type(client.images.generate("a cat", size="256x256"))  # R: OpenAIImagesResult
reveal_type(client.moderations.create("x"))  # R: OpenAIModerationResult
reveal_type(client.models.list())  # R: OpenAIModelListResult
reveal_type(client.models.retrieve("m"))  # R: OpenAIModelResult
reveal_type(client.files.list(purpose="batch", limit=2))  # R: OpenAIFileListResult
reveal_type(client.files.create(b"data", "batch", filename="a.jsonl"))  # R: OpenAIFileResult
reveal_type(client.chat.completions.list(limit=2))  # R: OpenAIResult

typed: tuple[
    OpenAIResult, OpenAIEmbeddingsResult, OpenAIImagesResult, OpenAIModerationResult,
    OpenAIModelListResult, OpenAIModelResult, OpenAIFileListResult, OpenAIFileResult,
] = (
    client.chat.completions.retrieve("chatcmpl-1"),
    e,
    client.images.generate("a dog"),
    client.moderations.create("x"),
    client.models.list(),
    client.models.retrieve("m"),
    client.files.list(),
    client.files.retrieve("file-1"),
)
