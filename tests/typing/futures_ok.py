"""A user program that must type-check under ``mypy --strict`` with no error at all: futures,
``await`` on a result, ``on_retry`` and exclusive groups.

Checked by tests/test_typing.py (never run).
"""

import asyncio
from concurrent.futures import Future

from typing_extensions import reveal_type

from aikit import OpenAI, OpenAIChatCompletionsResult, OpenAIModelListResult, RetryInfo, process

client = OpenAI("sk-test", "http://127.0.0.1:1/v1")


def retried(info: RetryInfo) -> None:
    reveal_type(info.attempt)  # R: int
    reveal_type(info.delay)  # R: float
    reveal_type(info.error.status)  # R: int | None


def show(result: OpenAIChatCompletionsResult) -> None:
    print(result.choice)


r = client.chat.completions.create(
    [{"role": "user", "content": "a"}], group="suggest", exclusive=True, on_response=show,
    on_retry=retried,
)
future = r.future()
reveal_type(future)  # R: Future[OpenAIChatCompletionsResult]
done: Future[OpenAIChatCompletionsResult] = future
reveal_type(done.result(30).choice)  # R: OpenAIChoice | None
listed = client.models.list(on_retry=lambda info: info.attempt)
reveal_type(listed.future().result())  # R: OpenAIModelListResult


async def main() -> None:
    process.asyncio.attach()
    answer = await client.chat.completions.create(
        [{"role": "user", "content": "hi"}], on_terminate=lambda result: None
    )
    reveal_type(answer)  # R: OpenAIChatCompletionsResult
    models: OpenAIModelListResult = await client.models.list()
    print(models.models)


asyncio.run(main())
