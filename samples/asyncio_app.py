"""aikit callbacks delivered into a running asyncio event loop.

``process.asyncio.attach()`` (inside the running loop) makes the loop's thread a form process:
callbacks are scheduled with ``loop.call_soon_threadsafe`` and run on the loop thread between
tasks. So a callback may resolve an asyncio future or set an ``asyncio.Event`` directly (those
are not thread-safe, which is exactly why the thread matters) and coroutines simply await them.

    python samples/asyncio_app.py [--model gpt-4o-mini] [--self-test]
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Sequence

from _common import SELF_TEST_TIMEOUT, open_client, parse_args

from aikit import (
    OpenAI,
    OpenAIChatCompletionsResult,
    OpenAIChatCompletionsStreamResult,
    OpenAIError,
    process,
)

QUESTIONS = ["What is 6 times 7?", "Name a colour of the rainbow.", "Say hello in French."]


class App:
    """Runs on the loop thread; callbacks check that they run there too."""

    def __init__(self, client: OpenAI, model: str) -> None:
        self.client = client
        self.model = model
        self.loop = asyncio.get_running_loop()
        self.loop_thread = threading.get_ident()
        self.off_loop: list[str] = []  # callbacks that ran elsewhere (must stay empty)

    def _on_loop(self, what: str) -> None:
        if threading.get_ident() != self.loop_thread:
            self.off_loop.append(what)

    def ask(self, question: str) -> asyncio.Future[str]:
        """Start one callback-mode call; its on_response resolves the returned future."""
        future: asyncio.Future[str] = self.loop.create_future()

        def on_response(result: OpenAIChatCompletionsResult) -> None:
            self._on_loop("on_response")
            if not future.done():  # e.g. cancelled by a timeout
                future.set_result(result.choice.text if result.choice is not None else "")

        def on_error(result: OpenAIChatCompletionsResult) -> None:
            self._on_loop("on_error")
            if not future.done():
                future.set_exception(result.errors[0] if result.errors else OpenAIError(
                    f"HTTP status {result.status}"))

        self.client.chat.completions.create(
            [{"role": "user", "content": question}],
            model=self.model,
            on_response=on_response,
            on_error=on_error,
        )
        return future

    async def stream(self, prompt: str) -> OpenAIChatCompletionsStreamResult:
        """Stream one answer; tokens are printed from on_data, on the loop thread."""
        finished = asyncio.Event()

        def on_data(chunk: OpenAIChatCompletionsStreamResult) -> None:
            self._on_loop("on_data")
            if chunk.choice is not None:
                print(chunk.choice.text, end="", flush=True)

        def on_terminate(result: OpenAIChatCompletionsStreamResult) -> None:
            self._on_loop("on_terminate")
            finished.set()

        result = self.client.chat.completions.create(
            [{"role": "user", "content": prompt}],
            model=self.model,
            stream=True,
            on_data=on_data,
            on_terminate=on_terminate,
        )
        await finished.wait()
        print()
        return result


async def ticker(counter: list[int]) -> None:
    """Proves the loop stays free while requests are in flight."""
    while True:
        await asyncio.sleep(0.01)
        counter[0] += 1


async def run(client: OpenAI, model: str, timeout: float) -> bool:
    form = process.asyncio.attach()  # this loop's thread now receives aikit callbacks
    print(f"attached: {form!r}; current process kind: {process.current_process().kind}")
    app = App(client, model)
    ticks = [0]
    tick_task = asyncio.create_task(ticker(ticks))
    ok = True
    try:
        print(f"1. {len(QUESTIONS)} concurrent calls, each on_response resolving a future")
        try:
            answers = await asyncio.wait_for(
                asyncio.gather(*(app.ask(q) for q in QUESTIONS)), timeout
            )
        except OpenAIError as error:
            print(f"   a call failed: {error}")
            ok = False
        else:
            for question, answer in zip(QUESTIONS, answers, strict=True):
                print(f"   {question} -> {answer}")

        print("2. a streamed answer, tokens printed by on_data:")
        print("   ", end="")
        result = await asyncio.wait_for(app.stream("Tell me a very short story"), timeout)
        if result.success and result.choice is not None:
            print(f"   final text ({len(result.choice.text)} chars), "
                  f"finish reason {result.choice.finish_reason}")
        else:
            print(f"   stream failed: {result.errors[0] if result.errors else 'no result'}")
            ok = False
    except asyncio.TimeoutError:
        print(f"asyncio_app: timed out after {timeout:.0f} s")
        ok = False
    finally:
        tick_task.cancel()
        form.close()
    print(f"the loop ticked {ticks[0]} times meanwhile; "
          f"callbacks off the loop thread: {app.off_loop or 'none'}")
    return ok and not app.off_loop


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args("aikit callbacks delivered into an asyncio event loop.", argv)
    timeout = SELF_TEST_TIMEOUT if args.self_test else 300.0
    with open_client("asyncio_app") as client:
        ok = asyncio.run(run(client, args.model, timeout))
    print("asyncio_app: OK" if ok else "asyncio_app: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
